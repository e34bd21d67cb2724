//! DB connection.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// Adds the database's address to its credentials secret (`secret*`
/// dependency, `secret_name` input), with a ready-made `url`
/// (`postgresql://user:password@host:port/dbname`), once the database
/// (`db` dependency) exists. The secret value never leaves AWS except in
/// that write.
pub struct DbConnection;

/// Its value is read then written back whole (hashicorp/aws's
/// secret_version.go retries neither). The write follows a read that found
/// the secret; it is declared as the secret's own writes are (`PUT_VALUE`).
const CALLS: &[Call] = &[
    Call::read("secretsmanager:GetSecretValue"),
    PUT_VALUE,
    Call::read("secretsmanager:DescribeSecret"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbConnectionInputs {
    /// The credentials secret's name: how `find` reaches it.
    pub secret_name: String,
    /// Read back: `missing` when the secret lost its connection fields (a
    /// value put out of band), which the update writes again.
    pub connection: ConnectionFields,
}

impl Inputs for DbConnectionInputs {
    const KIND: &'static str = "secretsmanager_db_connection";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionFields {
    Complete,
    Missing,
}

const DATABASE: Need = Need::one(
    "database",
    &[<crate::components::rds::DbInstanceInputs as crate::engine::Inputs>::KIND],
);

impl DbConnection {
    fn parts(deps: &Records) -> Result<(&Record, &Record), OpError> {
        Ok((
            crate::components::need::SECRET.the(deps)?,
            DATABASE.the(deps)?,
        ))
    }

    async fn write(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let (secret, db) = Self::parts(deps)?;
        let current = Secret::current_value(env, &secret.id)
            .await?
            .ok_or_else(|| {
                OpError::new(format!("the secret {} has no value", secret.out("name")))
            })?;
        let mut v: Json = serde_json::from_str(&current).map_err(|_| {
            OpError::new(format!(
                "the secret {} is not a JSON object",
                secret.out("name")
            ))
        })?;
        let (host, port) = (db.out("address").to_string(), db.out("port").to_string());
        let url = format!(
            "postgresql://{}:{}@{}:{}/{}",
            v["username"].as_str().unwrap_or_default(),
            v["password"].as_str().unwrap_or_default(),
            host,
            port,
            v["dbname"].as_str().unwrap_or_default()
        );
        v["host"] = json!(host);
        v["port"] = json!(port.parse::<i64>().unwrap_or(5432));
        v["url"] = json!(url);
        let (sm, value) = (&env.ctx.secrets(), v.to_string());
        env.call(&PUT_VALUE, || {
            sm.put_secret_value()
                .secret_id(&secret.id)
                .secret_string(&value)
                .send()
        })
        .await
        .map_err(failed)?;
        Ok(Record::new(
            self.name(),
            format!("{}#connection", secret.id),
            spec.inputs.clone(),
        )
        .with("secret_arn", &secret.id)
        .with("host", host))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for DbConnection {
    crate::engine::typed_kind!(DbConnectionInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["address", "host", "name", "port", "secret_arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::SECRET, DATABASE]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        self.write(env, spec, deps).await
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let Some(current) = Secret::current_value(env, rec.out("secret_arn")).await? else {
            return Ok(None);
        };
        let v: Json = serde_json::from_str(&current).unwrap_or(Json::Null);
        let mut r = rec.clone();
        let complete = v["host"].as_str() == Some(rec.out("host")) && v["url"].is_string();
        r.inputs["connection"] = json!(if complete {
            ConnectionFields::Complete
        } else {
            ConnectionFields::Missing
        });
        Ok(Some(r))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        _: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        self.write(env, spec, deps).await
    }
    async fn delete(&self, _: &E, _: &Record) -> Result<(), OpError> {
        // The fields go with the secret.
        Ok(())
    }
    /// Not an object of its own: its owner is the secret's.
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        use crate::engine::Cloud;
        Ok(env
            .ctx
            .read_tags(&TagRef::SecretsManager(found.out("secret_arn").to_string()))
            .await?
            .and_then(|t| t.get(crate::engine::TAG_STACK_ID).cloned()))
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        // Through the secret (`secret_name` input): complete once it has a url.
        let secret_name = spec.typed::<DbConnectionInputs>()?.secret_name;
        let Some(current) = Secret::current_value(env, &secret_name).await? else {
            return Ok(None);
        };
        let v: Json = serde_json::from_str(&current).unwrap_or(Json::Null);
        let (Some(host), true) = (v["host"].as_str(), v["url"].is_string()) else {
            return Ok(None);
        };
        let arn = match env
            .ctx
            .secrets()
            .describe_secret()
            .secret_id(&secret_name)
            .send()
            .await
        {
            Ok(d) => d.arn().unwrap_or_default().to_string(),
            Err(e) => return Err(op("DescribeSecret")(e)),
        };
        Ok(Some(
            Record::new(
                self.name(),
                format!("{arn}#connection"),
                spec.inputs.clone(),
            )
            .with("secret_arn", arn)
            .with("host", host),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::fault;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
    use aws_smithy_mocks::mock;

    fn connection_deps() -> Records {
        [
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
        .into()
    }
    fn connection_spec() -> Spec {
        Spec::new(
            "db.connection",
            "secretsmanager_db_connection",
            json!({"secret_name": "kavak-dev-db", "connection": "complete"}),
        )
    }
    fn value(
        v: Json,
    ) -> impl Fn() -> aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput
           + Send
           + Sync {
        move || {
            aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput::builder()
                .arn(ARN)
                .secret_string(v.to_string())
                .build()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_connection_is_written_into_the_secret_and_never_into_the_record() {
        let generated = json!({"username": "app", "password": "s3cr3t-Pa55", "dbname": "kavak"});
        let get =
            mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(value(generated));
        let put = mock!(aws_sdk_secretsmanager::Client::put_secret_value)
            .match_requests(|r| {
                let v: Json =
                    serde_json::from_str(r.secret_string().unwrap_or_default()).unwrap_or_default();
                r.secret_id() == Some(ARN)
                    && v["url"] == "postgresql://app:s3cr3t-Pa55@db.internal:5432/kavak"
                    && v["host"] == "db.internal"
                    && v["port"] == 5432
                    && v["password"] == "s3cr3t-Pa55"
            })
            .then_output(|| {
                aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueOutput::builder()
                    .build()
            });
        let rec = DbConnection
            .create(&over(&[&get, &put]), &connection_spec(), &connection_deps())
            .await
            .unwrap();
        assert_eq!(
            put.num_calls(),
            1,
            "the password, host, port and url are kept together in the secret"
        );
        assert_eq!(
            (rec.id.as_str(), rec.out("host")),
            (format!("{ARN}#connection").as_str(), "db.internal")
        );
        let recorded = serde_json::to_string(&rec).unwrap();
        assert!(
            !recorded.contains("s3cr3t"),
            "the password never reaches the record: {recorded}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_secret_without_a_value_or_that_is_not_json_fails_the_write_naming_it() {
        let empty = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .then_error(|| GetSecretValueError::generic(fault("ResourceNotFoundException")));
        let err = DbConnection
            .create(&over(&[&empty]), &connection_spec(), &connection_deps())
            .await
            .unwrap_err();
        assert!(
            err.message.contains("kavak-dev-db has no value"),
            "{}",
            err.message
        );
        let garbled = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
            aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput::builder()
                .secret_string("not json")
                .build()
        });
        let err = DbConnection
            .create(&over(&[&garbled]), &connection_spec(), &connection_deps())
            .await
            .unwrap_err();
        assert!(
            err.message.contains("not a JSON object") && !err.message.contains("not json"),
            "the value itself is never echoed: {}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn read_shows_a_connection_removed_out_of_band_as_missing() {
        let rec = Record::new(
            "secretsmanager_db_connection",
            format!("{ARN}#connection"),
            json!({"connection": "complete"}),
        )
        .with("secret_arn", ARN)
        .with("host", "db.internal");
        let complete = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(value(
            json!({"host": "db.internal", "url": "postgresql://x"}),
        ));
        assert_eq!(
            DbConnection
                .read(&over(&[&complete]), &rec)
                .await
                .unwrap()
                .unwrap()
                .inputs["connection"],
            "complete"
        );
        // Someone rotated the password by hand and wrote only the pair back.
        let stripped = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .then_output(value(json!({"username": "app", "password": "x"})));
        assert_eq!(
            DbConnection
                .read(&over(&[&stripped]), &rec)
                .await
                .unwrap()
                .unwrap()
                .inputs["connection"],
            "missing",
            "drift the next apply repairs"
        );
        let moved = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(value(
            json!({"host": "other.internal", "url": "postgresql://x"}),
        ));
        assert_eq!(
            DbConnection
                .read(&over(&[&moved]), &rec)
                .await
                .unwrap()
                .unwrap()
                .inputs["connection"],
            "missing"
        );
        let gone = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .then_error(|| GetSecretValueError::generic(fault("ResourceNotFoundException")));
        assert!(
            DbConnection
                .read(&over(&[&gone]), &rec)
                .await
                .unwrap()
                .is_none(),
            "it goes with its secret"
        );
        let denied = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .then_error(|| GetSecretValueError::generic(fault("AccessDeniedException")));
        assert!(
            DbConnection.read(&over(&[&denied]), &rec).await.is_err(),
            "a refusal is an error, never gone"
        );
    }
}
