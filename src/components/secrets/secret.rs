//! secret.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A secret whose value is `Spec::secret`, generated credentials, or
/// managed outside Terraform.
pub struct Secret;

/// A secret of the same name deleted without recovery (a replacement, a
/// destroy then an apply) holds its name until the deletion completes.
const CREATE: Call = Call::retrying(
    "secretsmanager:CreateSecret",
    PROPAGATION,
    &[
        NotYet::message("InvalidRequestException", "scheduled for deletion", "You can't create this secret because a secret with this name is already scheduled for deletion."),
        NotYet::message("InvalidRequestException", "was deleted", "You can't perform this operation on the secret because it was deleted."),
    ],
)
.why("hashicorp/aws secretsmanager/secret.go resourceSecretCreate: InvalidRequestException 'scheduled for deletion' / 'was deleted' for propagationTimeout");
/// A secret just restored (adopted while scheduled for deletion) may
/// still be refused as deleted by the update that follows.
const UPDATE: Call = Call::retrying(
    "secretsmanager:UpdateSecret",
    PROPAGATION,
    &[NotYet::message(
        "InvalidRequestException",
        "marked for deletion",
        "You can't perform this operation on the secret because it was marked for deletion.",
    )],
)
.why("beyond hashicorp/aws, which never restores a secret (its secret_version.go reads 'marked for deletion' as gone): our adoption calls RestoreSecret then UpdateSecret at once; propagationTimeout as its other secret retries");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("secretsmanager:DescribeSecret"),
    Call::read("secretsmanager:GetSecretValue"),
    Call::settled("secretsmanager:RestoreSecret"),
    UPDATE,
    PUT_VALUE,
    Call::settled("secretsmanager:RemoveRegionsFromReplication"),
    Call::settled("secretsmanager:DeleteSecret"),
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretInputs {
    pub name: String,
    pub description: String,
    /// Days a destroyed secret can still be restored (under 7: deleted at
    /// once).
    pub recovery_days: i64,
    /// The hash of the value in `Spec::secret`, what a plan compares; None
    /// (with no version): the value is managed outside Terraform (e.g.
    /// `aws secretsmanager put-secret-value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_sha256: Option<String>,
    /// The configuration's version of a write-only value: the value leaves
    /// no trace in the records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_version: Option<f64>,
    /// Fields stored as JSON with a generated `password` (database
    /// credentials), written once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<BTreeMap<String, String>>,
    /// Regions the secret is replicated to (a database that can become the
    /// writer there reads it locally).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_regions: Vec<String>,
}

impl Inputs for SecretInputs {
    const KIND: &'static str = "secretsmanager_secret";
}

/// The output of a secret `find` saw scheduled for deletion: adopted, it is
/// restored by `update`.
const SCHEDULED_FOR_DELETION: &str = "scheduled_for_deletion";

fn replicas(
    secret: &SecretInputs,
) -> Option<Vec<aws_sdk_secretsmanager::types::ReplicaRegionType>> {
    let l: Vec<_> = secret
        .replica_regions
        .iter()
        .map(|r| {
            aws_sdk_secretsmanager::types::ReplicaRegionType::builder()
                .region(r)
                .build()
        })
        .collect();
    (!l.is_empty()).then_some(l)
}

/// What the database connection (`DbConnection`) reads from generated
/// credentials besides the password.
const CONNECTION_FIELDS: &[&str] = &["username", "dbname"];

/// The fields of generated credentials (`wanted`: the configuration's
/// `generate`) as the secret `name` being adopted holds them in `value`: a
/// field with another value differs, which refuses the move. A field the
/// connection does not read that the secret lacks (`engine`: hand-made
/// credentials seldom have it) contradicts nothing and reads as the
/// configuration's: credentials are never rewritten in place, so the secret
/// stays as it is. A value that holds no password is no credentials at all.
fn generated(
    name: &str,
    wanted: &BTreeMap<String, String>,
    value: Option<&str>,
) -> Result<BTreeMap<String, String>, OpError> {
    let held: Json = value
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or(Json::Null);
    if !held["password"].is_string() {
        return Err(OpError::new(format!(
            "its value holds no credentials (a JSON object with a password): awsstack generates them only for a secret it creates, and a database made with others would not accept new ones; put the database's username, password and dbname in {name} first, or leave it out of adopt"
        )));
    }
    Ok(wanted
        .iter()
        .filter_map(|(k, want)| match &held[k.as_str()] {
            Json::String(v) => Some((k.clone(), v.clone())),
            Json::Null if CONNECTION_FIELDS.contains(&k.as_str()) => None,
            Json::Null => Some((k.clone(), want.clone())),
            other => Some((k.clone(), other.to_string())),
        })
        .collect())
}

impl Secret {
    fn initial_value(spec: &Spec, secret: &SecretInputs) -> Option<String> {
        if let Some(fields) = &secret.generate {
            let mut m = fields.clone();
            m.insert("password".into(), generate_password());
            return Some(json!(m).to_string());
        }
        spec.secret.clone()
    }

    pub(super) async fn current_value(env: &E, id: &str) -> Result<Option<String>, OpError> {
        match env
            .ctx
            .secrets()
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.secret_string().map(str::to_string)),
            // A secret created without a value has no version yet; a
            // deleted one refuses reads.
            Err(e)
                if crate::aws::code_in(
                    &e,
                    &["ResourceNotFoundException", "InvalidRequestException"],
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(op("GetSecretValue")(e)),
        }
    }

    fn record(&self, spec: &Spec, secret: &SecretInputs, arn: &str) -> Record {
        Record::new(self.name(), arn, spec.inputs.clone())
            .with("arn", arn)
            .with("name", &secret.name)
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Secret {
    crate::engine::typed_kind!(SecretInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn", "name"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::SecretsManager(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "generate"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the secret's ARN (hashicorp/aws `aws_secretsmanager_secret.id`)
    /// or its name. Generated credentials (`generate`) are observed from
    /// the value the secret holds, and so is the value's hash.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let wanted: SecretInputs = spec.typed()?;
        let d = match env
            .ctx
            .secrets()
            .describe_secret()
            .secret_id(id)
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeSecret")(e)),
        };
        let (arn, name) = (d.arn().unwrap_or_default(), d.name().unwrap_or_default());
        if let Some(when) = d.deleted_date() {
            return Err(OpError::new(format!(
                "it is scheduled for deletion (since {when}): restore it first (aws secretsmanager restore-secret --secret-id {arn}), or leave it out of adopt"
            )));
        }
        let mut inputs = json!({
            "name": name,
            "description": d.description().unwrap_or_default(),
            // When a destroy deletes it: AWS holds nothing of it before a
            // delete, which reads it from the record; the configuration's.
            "recovery_days": wanted.recovery_days,
        });
        let mut replicas: Vec<String> = d
            .replication_status()
            .iter()
            .filter_map(|r| r.region().map(str::to_string))
            .collect();
        if !replicas.is_empty() {
            let at = |r: &String| wanted.replica_regions.iter().position(|w| w == r);
            replicas.sort_by_key(|r| (at(r).unwrap_or(usize::MAX), r.clone()));
            inputs["replica_regions"] = json!(replicas);
        }
        // The value is read only to compare it with the configuration (its
        // hash, the fields of generated credentials): it is never
        // recorded, returned or logged.
        let value = if wanted.value_sha256.is_some() || wanted.generate.is_some() {
            Self::current_value(env, arn).await?
        } else {
            None
        };
        if wanted.value_sha256.is_some() {
            inputs["value_sha256"] = value
                .as_deref()
                .map_or(Json::Null, |v| json!(sha256_hex(v)));
        }
        if wanted.value_version.is_some() {
            // A write-only value leaves nothing to compare with: null, so
            // that the update that follows writes it where it differs.
            inputs["value_version"] = Json::Null;
        }
        if let Some(fields) = &wanted.generate {
            inputs["generate"] = json!(generated(name, fields, value.as_deref())?);
        }
        Ok(Some(
            Record::new(self.name(), arn, inputs)
                .with("arn", arn)
                .with("name", name),
        ))
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let secret: SecretInputs = spec.typed()?;
        let tags: Vec<Tag> = spec_tags(env, spec)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        // Generated once: every attempt writes the same credentials.
        let req = env
            .ctx
            .secrets()
            .create_secret()
            .name(&secret.name)
            .description(&secret.description)
            .set_secret_string(Self::initial_value(spec, &secret))
            .set_add_replica_regions(replicas(&secret))
            .set_tags(Some(tags));
        let o = env
            .call(&CREATE, || req.clone().send())
            .await
            .map_err(failed)?;
        Ok(self.record(spec, &secret, o.arn().unwrap_or_default()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let d = match env
            .ctx
            .secrets()
            .describe_secret()
            .secret_id(&rec.id)
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeSecret")(e)),
        };
        if d.deleted_date().is_some() {
            return Ok(None);
        }
        let mut r = rec.clone();
        if rec.inputs["value_sha256"].is_string() {
            r.inputs["value_sha256"] = match Self::current_value(env, &rec.id).await? {
                Some(v) => json!(sha256_hex(&v)),
                None => Json::Null,
            };
        }
        Ok(Some(r))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let secret: SecretInputs = spec.typed()?;
        let sm = &env.ctx.secrets();
        if old.out(SCHEDULED_FOR_DELETION) == "true" {
            sm.restore_secret()
                .secret_id(&old.id)
                .send()
                .await
                .map_err(op("RestoreSecret"))?;
        }
        env.call(&UPDATE, || {
            sm.update_secret()
                .secret_id(&old.id)
                .description(&secret.description)
                .send()
        })
        .await
        .map_err(failed)?;
        let current = Self::current_value(env, &old.id).await?;
        let wanted = match (&spec.secret, secret.generate.is_some()) {
            (Some(v), _) if current.as_deref() != Some(v.as_str()) => Some(v.clone()),
            // Generated credentials are written once (adoption of a secret
            // that lost its value included); never regenerated in place.
            (_, true)
                if current
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<Json>(c).ok())
                    .map(|j| j["password"].is_null())
                    .unwrap_or(true) =>
            {
                Self::initial_value(spec, &secret)
            }
            _ => None,
        };
        if let Some(v) = wanted {
            env.call(&PUT_VALUE, || {
                sm.put_secret_value()
                    .secret_id(&old.id)
                    .secret_string(&v)
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        let mut rec = Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        };
        rec.outputs.remove(SCHEDULED_FOR_DELETION);
        Ok(rec)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let SecretInputs {
            recovery_days: days,
            replica_regions: regions,
            ..
        } = rec.typed()?;
        // AWS deletes a secret only once its replicas are gone.
        if !regions.is_empty() {
            match env
                .ctx
                .secrets()
                .remove_regions_from_replication()
                .secret_id(&rec.id)
                .set_remove_replica_regions(Some(regions))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e)
                    if not_found(&e) || crate::aws::code_in(&e, &["InvalidParameterException"]) => {
                }
                Err(e) => return Err(op("RemoveRegionsFromReplication")(e)),
            }
        }
        let mut req = env.ctx.secrets().delete_secret().secret_id(&rec.id);
        req = if days >= 7 {
            req.recovery_window_in_days(days)
        } else {
            req.force_delete_without_recovery(true)
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteSecret")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let secret: SecretInputs = spec.typed()?;
        let sm = &env.ctx.secrets();
        let d = match sm.describe_secret().secret_id(&secret.name).send().await {
            Ok(d) => d,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeSecret")(e)),
        };
        let mut r = self.record(spec, &secret, d.arn().unwrap_or_default());
        if d.deleted_date().is_some() {
            // Scheduled for deletion (by an earlier destroy, or by its
            // owner): its name cannot be reused before the window ends.
            // Found, not restored: `find` changes nothing, and the engine
            // adopts only a secret carrying this stack's id, whose `update`
            // then restores it. Someone else's is reported as taken.
            r = r.with(SCHEDULED_FOR_DELETION, "true");
        }
        if secret.value_sha256.is_some() {
            r.inputs["value_sha256"] = match Self::current_value(env, &r.id).await? {
                Some(v) => json!(sha256_hex(&v)),
                None => Json::Null,
            };
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::fault;
    use aws_sdk_secretsmanager::operation::delete_secret::{DeleteSecretError, DeleteSecretOutput};
    use aws_sdk_secretsmanager::operation::describe_secret::{
        DescribeSecretError, DescribeSecretOutput,
    };
    use aws_sdk_secretsmanager::operation::restore_secret::RestoreSecretOutput;
    use aws_smithy_mocks::mock;
    use aws_smithy_types::DateTime;

    fn spec(recovery_days: i64) -> Spec {
        Spec::new(
            "secret.db",
            "secretsmanager_secret",
            json!({"name": "kavak-dev-db", "description": "db", "recovery_days": recovery_days, "generate": {"username": "app"}}),
        )
    }
    /// The secret, scheduled for deletion, tagged with stack `owner`.
    fn scheduled(owner: &'static str) -> impl Fn() -> DescribeSecretOutput + Send + Sync {
        move || {
            DescribeSecretOutput::builder()
                .arn(ARN)
                .name("kavak-dev-db")
                .deleted_date(DateTime::from_secs(1_700_000_000))
                .tags(
                    Tag::builder()
                        .key(crate::engine::TAG_STACK_ID)
                        .value(owner)
                        .build(),
                )
                .build()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn find_of_a_secret_scheduled_for_deletion_changes_nothing_whoever_owns_it() {
        // Played in order: a RestoreSecret here (or in an import, or at
        // plan) would find no rule and fail the test.
        for owner in ["s", "another-stack"] {
            let d = mock!(aws_sdk_secretsmanager::Client::describe_secret)
                .then_output(scheduled(owner));
            let r = Secret
                .find(&over(&[&d]), &spec(0))
                .await
                .unwrap()
                .expect("the name is taken");
            assert_eq!(
                (r.id.as_str(), r.out(SCHEDULED_FOR_DELETION)),
                (ARN, "true"),
                "left for the engine's ownership check"
            );
            assert_eq!(d.num_calls(), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn adopting_a_secret_scheduled_for_deletion_restores_it_first() {
        let found = Record::new("secretsmanager_secret", ARN, spec(0).inputs)
            .with(SCHEDULED_FOR_DELETION, "true");
        let restore = mock!(aws_sdk_secretsmanager::Client::restore_secret)
            .match_requests(|r| r.secret_id() == Some(ARN))
            .then_output(|| RestoreSecretOutput::builder().arn(ARN).build());
        let update = mock!(aws_sdk_secretsmanager::Client::update_secret).then_output(|| {
            aws_sdk_secretsmanager::operation::update_secret::UpdateSecretOutput::builder()
                .arn(ARN)
                .build()
        });
        // Its generated credentials are still there: not regenerated.
        let value = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
            aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput::builder()
                .secret_string(r#"{"username":"app","password":"kept"}"#)
                .build()
        });
        let r = Secret
            .update(
                &over(&[&restore, &update, &value]),
                &spec(0),
                &found,
                &Records::new(),
            )
            .await
            .unwrap();
        assert_eq!(restore.num_calls(), 1);
        assert_eq!(
            r.out(SCHEDULED_FOR_DELETION),
            "",
            "restored: no longer marked"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn read_of_a_deleted_or_missing_secret_is_gone() {
        let rec = Record::new("secretsmanager_secret", ARN, spec(0).inputs);
        let d = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(scheduled("s"));
        assert!(Secret.read(&over(&[&d]), &rec).await.unwrap().is_none());
        let missing = mock!(aws_sdk_secretsmanager::Client::describe_secret)
            .then_error(|| DescribeSecretError::generic(fault("ResourceNotFoundException")));
        assert!(Secret
            .read(&over(&[&missing]), &rec)
            .await
            .unwrap()
            .is_none());
        let denied = mock!(aws_sdk_secretsmanager::Client::describe_secret)
            .then_error(|| DescribeSecretError::generic(fault("AccessDeniedException")));
        assert!(Secret.read(&over(&[&denied]), &rec).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn delete_keeps_the_recovery_window_it_was_given() {
        let at_once = mock!(aws_sdk_secretsmanager::Client::delete_secret)
            .match_requests(|r| {
                r.force_delete_without_recovery() == Some(true)
                    && r.recovery_window_in_days().is_none()
            })
            .then_output(|| DeleteSecretOutput::builder().build());
        Secret
            .delete(
                &over(&[&at_once]),
                &Record::new("secretsmanager_secret", ARN, spec(0).inputs),
            )
            .await
            .unwrap();
        assert_eq!(at_once.num_calls(), 1);
        let windowed = mock!(aws_sdk_secretsmanager::Client::delete_secret)
            .match_requests(|r| {
                r.recovery_window_in_days() == Some(14)
                    && r.force_delete_without_recovery().is_none()
            })
            .then_output(|| DeleteSecretOutput::builder().build());
        Secret
            .delete(
                &over(&[&windowed]),
                &Record::new("secretsmanager_secret", ARN, spec(14).inputs),
            )
            .await
            .unwrap();
        assert_eq!(windowed.num_calls(), 1);
        let gone = mock!(aws_sdk_secretsmanager::Client::delete_secret)
            .then_error(|| DeleteSecretError::generic(fault("ResourceNotFoundException")));
        Secret
            .delete(
                &over(&[&gone]),
                &Record::new("secretsmanager_secret", ARN, spec(0).inputs),
            )
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_meeting_its_namesake_still_being_deleted_is_retried_and_a_taken_name_is_not()
    {
        use aws_sdk_secretsmanager::operation::create_secret::{
            CreateSecretError, CreateSecretOutput,
        };
        let scheduled = || {
            CreateSecretError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("InvalidRequestException")
                    .message("You can't create this secret because a secret with this name is already scheduled for deletion.")
                    .build(),
            )
        };
        let created = mock!(aws_sdk_secretsmanager::Client::create_secret)
            .sequence()
            .error(scheduled)
            .output(|| CreateSecretOutput::builder().arn(ARN).build())
            .build();
        let r = Secret
            .create(&over(&[&created]), &spec(0), &Records::new())
            .await
            .unwrap();
        assert_eq!((r.id.as_str(), created.num_calls()), (ARN, 2));
        let taken = mock!(aws_sdk_secretsmanager::Client::create_secret)
            .then_error(|| CreateSecretError::generic(fault("ResourceExistsException")));
        assert!(Secret
            .create(&over(&[&taken]), &spec(0), &Records::new())
            .await
            .is_err());
        assert_eq!(taken.num_calls(), 1, "not retried");
    }

    /// DescribeSecret of the hand-made credentials secret.
    fn hand_made() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(|| {
            DescribeSecretOutput::builder()
                .arn(ARN)
                .name("kavak-dev-database")
                .build()
        })
    }
    /// GetSecretValue answering `value`.
    fn holding(value: &'static str) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some(ARN))
            .then_output(move || {
                aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput::builder()
                    .arn(ARN)
                    .secret_string(value)
                    .build()
            })
    }
    fn credentials_spec() -> Spec {
        Spec::new(
            "secret.db",
            "secretsmanager_secret",
            json!({"name": "kavak-dev-db-credentials", "description": "kavak-dev PostgreSQL credentials", "recovery_days": 0,
                   "generate": {"username": "kavak_admin", "engine": "postgres", "dbname": "kavak_agent"}}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reads_generated_credentials_from_the_value_the_secret_holds() {
        // The hand-made secret: the same user and database, no engine, a
        // host and a URL besides.
        let (d, v) = (
            hand_made(),
            holding(
                r#"{"username":"kavak_admin","password":"p","host":"db","port":5432,"dbname":"kavak_agent","DATABASE_URL":"postgresql://x"}"#,
            ),
        );
        let r = Secret
            .observe(
                &over(&[&d, &v]),
                &credentials_spec(),
                "kavak-dev-database",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            (r.id.as_str(), r.out("arn"), r.out("name")),
            (ARN, ARN, "kavak-dev-database")
        );
        assert_eq!(
            r.inputs,
            json!({"name": "kavak-dev-database", "description": "", "recovery_days": 0,
                   "generate": {"username": "kavak_admin", "engine": "postgres", "dbname": "kavak_agent"}}),
            "its own name (kept); the credentials match; the description is updated"
        );
        assert!(
            !r.inputs.to_string().contains("\"p\""),
            "the value itself is never recorded"
        );
        // Another user: a difference, which refuses the move.
        let (d, v) = (
            hand_made(),
            holding(r#"{"username":"admin","password":"p","dbname":"kavak_agent"}"#),
        );
        let r = Secret
            .observe(&over(&[&d, &v]), &credentials_spec(), ARN, &Records::new())
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            r.inputs["generate"],
            json!({"username": "admin", "engine": "postgres", "dbname": "kavak_agent"})
        );
        // No database name: missing, a difference too.
        let (d, v) = (
            hand_made(),
            holding(r#"{"username":"kavak_admin","password":"p"}"#),
        );
        let r = Secret
            .observe(&over(&[&d, &v]), &credentials_spec(), ARN, &Records::new())
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            r.inputs["generate"],
            json!({"username": "kavak_admin", "engine": "postgres"})
        );
        // No password: no credentials at all.
        let (d, v) = (hand_made(), holding(r#"{"token":"t"}"#));
        let e = Secret
            .observe(&over(&[&d, &v]), &credentials_spec(), ARN, &Records::new())
            .await
            .unwrap_err();
        assert!(e.message.contains("holds no credentials"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn observe_compares_a_value_by_its_hash_and_refuses_a_secret_being_deleted() {
        let app = |value: &str| {
            Spec::new(
                "secret.app.openai-api-key",
                "secretsmanager_secret",
                json!({"name": "kavak-dev-openai-api-key", "description": "d", "recovery_days": 0,
                       "value_sha256": sha256_hex(value)}),
            )
        };
        let (d, v) = (hand_made(), holding("sk-1"));
        let r = Secret
            .observe(&over(&[&d, &v]), &app("sk-1"), ARN, &Records::new())
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            r.inputs["value_sha256"],
            json!(sha256_hex("sk-1")),
            "the same value"
        );
        let (d, v) = (hand_made(), holding("sk-1"));
        let r = Secret
            .observe(&over(&[&d, &v]), &app("sk-2"), ARN, &Records::new())
            .await
            .unwrap()
            .expect("it exists");
        assert_ne!(r.inputs["value_sha256"], app("sk-2").inputs["value_sha256"]);
        assert!(!r.inputs.to_string().contains("sk-1"));

        let d = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(scheduled("s"));
        let e = Secret
            .observe(&over(&[&d]), &app("sk-1"), ARN, &Records::new())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("scheduled for deletion"),
            "{}",
            e.message
        );
        let missing = mock!(aws_sdk_secretsmanager::Client::describe_secret)
            .then_error(|| DescribeSecretError::generic(fault("ResourceNotFoundException")));
        assert!(Secret
            .observe(&over(&[&missing]), &app("sk-1"), ARN, &Records::new())
            .await
            .unwrap()
            .is_none());
    }
}
