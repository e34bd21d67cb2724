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
