//! Secrets Manager: application secrets (value optional, from
//! `Spec::secret`, only its hash recorded), generated database credentials,
//! and the database connection fields added once the database exists.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, sha256_hex, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, Need, NotYet, OpError, Record, Records, Spec, PROPAGATION};
use aws_sdk_secretsmanager::types::Tag;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value as Json};

mod secret;
pub use secret::*;
mod db_connection;
pub use db_connection::*;

crate::aws::not_found_codes!("ResourceNotFoundException");

/// A secret just created (or restored) may not be found yet by the value's
/// write that follows it.
const PUT_VALUE: Call = Call::retrying(
    "secretsmanager:PutSecretValue",
    PROPAGATION,
    &[NotYet::code("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")],
)
.why("hashicorp/aws secretsmanager/secret.go create waits RetryWhenNotFound(propagationTimeout) until the new secret is found, so secret_version.go's PutSecretValue never meets it unfound; ours returns at once, so the put retries for as long");

/// A random password that RDS and URLs accept (letters and digits).
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// What the secrets kinds' unit tests share: the secret they play with and
/// a context whose Secrets Manager answers from mock rules.
#[cfg(test)]
mod mocks {
    use super::E;
    use aws_smithy_mocks::Rule;

    pub const ARN: &str =
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:kavak-dev-db-AbCdEf";

    pub fn over(rules: &[&Rule]) -> E {
        crate::components::mocked::env_over!(secrets, aws_sdk_secretsmanager, rules)
    }
}
#[cfg(test)]
use mocks::{over, ARN};

/// PutSecretValue's "not yet" against aws-smithy-mocks, through the
/// connection's write (a GetSecretValue, then the put).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::fault;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_sdk_secretsmanager::operation::put_secret_value::{
        PutSecretValueError, PutSecretValueOutput,
    };
    use aws_sdk_secretsmanager::Client;
    use aws_smithy_mocks::{mock, Rule};

    fn credentials() -> Rule {
        mock!(Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .arn(ARN)
                .secret_string(
                    json!({"username": "app", "password": "s3cr3t-Pa55", "dbname": "kavak"})
                        .to_string(),
                )
                .build()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_secret_not_found_yet_by_the_put_is_retried_and_any_other_error_is_final() {
        let deps: Records = [
            (
                "secret.db".to_string(),
                Record::new("secretsmanager_secret", ARN, json!({})).with("name", "kavak-dev-db"),
            ),
            (
                "db".to_string(),
                Record::new("rds_instance", "kavak-dev-db", json!({}))
                    .with("address", "db.internal")
                    .with("port", "5432"),
            ),
        ]
        .into();
        let spec = Spec::new(
            "db.connection",
            "secretsmanager_db_connection",
            json!({"secret_name": "kavak-dev-db", "connection": "complete"}),
        );
        let unfound = PUT_VALUE.not_yet[0];
        let get = credentials();
        let put = mock!(Client::put_secret_value)
            .match_requests(|r| r.secret_id() == Some(ARN))
            .sequence()
            .error(move || {
                PutSecretValueError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code(unfound.code)
                        .message(unfound.says)
                        .build(),
                )
            })
            .output(|| PutSecretValueOutput::builder().build())
            .build();
        DbConnection
            .create(&over(&[&get, &put]), &spec, &deps)
            .await
            .unwrap();
        assert_eq!(put.num_calls(), 2, "retried once, then written");

        let get = credentials();
        let put = mock!(Client::put_secret_value)
            .then_error(|| PutSecretValueError::generic(fault("InjectedFailure")));
        let e = DbConnection
            .create(&over(&[&get, &put]), &spec, &deps)
            .await
            .unwrap_err();
        assert_eq!(put.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("PutSecretValue: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }
}
mod tags;
pub(crate) use tags::*;
