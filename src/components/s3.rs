//! S3 bucket: versioned, encrypted, public access blocked, tagged, with a
//! lifecycle rule moving backups to Glacier.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, op, spec_tags, E};
use crate::aws::error_code;
use crate::engine::{Kind, Need, OpError, Record, Records, Spec};
use crate::provider::AwsContext;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionTransition, ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Transition, TransitionStorageClass, VersioningConfiguration,
};
use serde_json::json;

/// Inputs: `name`, `glacier_after_days` and `backup_prefix` (a lifecycle
/// rule for backups; none when both are null), `kms` (SSE-KMS with the
/// `kms` dependency's key), `force_destroy`.
pub struct Bucket;

/// The key of a bucket encrypted with SSE-KMS.
const BUCKET_KEY: Need = Need::optional("KMS key", &["kms_key"]);

fn missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, aws_smithy_runtime_api::http::Response>) -> bool {
    matches!(error_code(e).as_deref(), Some("NoSuchBucket") | Some("NotFound") | Some("404"))
        || matches!(e, aws_smithy_runtime_api::client::result::SdkError::ServiceError(se) if se.raw().status().as_u16() == 404)
}

impl Bucket {
    fn kms_key(spec: &Spec, deps: &Records) -> Result<Option<String>, OpError> {
        if spec.input("kms").as_bool() == Some(true) {
            Ok(Some(BUCKET_KEY.the(deps)?.out("arn").to_string()))
        } else {
            Ok(None)
        }
    }
    async fn configure(env: &E, spec: &Spec, kms_key: Option<&str>) -> Result<(), OpError> {
        let s3 = &env.ctx.s3();
        let name = spec.str("name");
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
            .send()
            .await
            .map_err(op("PutBucketVersioning"))?;
        s3.put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder().block_public_acls(true).block_public_policy(true).ignore_public_acls(true).restrict_public_buckets(true).build(),
            )
            .send()
            .await
            .map_err(op("PutPublicAccessBlock"))?;
        // SSE-KMS with the `kms` dependency's key when the spec has one
        // (`kms: true`), else SSE-S3.
        let by_default = match kms_key {
            Some(arn) => ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::AwsKms).kms_master_key_id(arn),
            None => ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256),
        };
        let sse = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default.build().map_err(bad("encryption"))?)
                    .bucket_key_enabled(kms_key.is_some())
                    .build(),
            )
            .build()
            .map_err(bad("encryption"))?;
        s3.put_bucket_encryption().bucket(name).server_side_encryption_configuration(sse).send().await.map_err(op("PutBucketEncryption"))?;
        if spec.input("glacier_after_days").is_null() && spec.input("backup_prefix").is_null() {
            // No lifecycle rule: the bucket holds artifacts, not backups.
            return Ok(());
        }
        let days = spec.input("glacier_after_days").as_i64().unwrap_or(30) as i32;
        let rule = LifecycleRule::builder()
            .id("backups-to-glacier")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(spec.str("backup_prefix")).build())
            .transitions(Transition::builder().days(days).storage_class(TransitionStorageClass::Glacier).build())
            .noncurrent_version_transitions(NoncurrentVersionTransition::builder().noncurrent_days(days).storage_class(TransitionStorageClass::Glacier).build())
            .build()
            .map_err(bad("lifecycle rule"))?;
        s3.put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(rule).build().map_err(bad("lifecycle"))?)
            .send()
            .await
            .map_err(op("PutBucketLifecycleConfiguration"))?;
        Ok(())
    }
}

/// True when the user opted to lose the bucket's objects with it (a
/// record written before the option existed did not).
fn force_destroy(rec: &Record) -> bool {
    rec.inputs["force_destroy"].as_bool().unwrap_or(false)
}

/// How many object versions and delete markers the bucket holds (one page:
/// up to 1000), 0 when it no longer exists.
async fn object_count(env: &E, bucket: &str) -> Result<usize, OpError> {
    match env.ctx.s3().list_object_versions().bucket(bucket).max_keys(1000).send().await {
        Ok(l) => Ok(l.versions().len() + l.delete_markers().len()),
        Err(e) if missing(&e) => Ok(0),
        Err(e) => Err(op("ListObjectVersions")(e)),
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Bucket {
    fn name(&self) -> &'static str {
        "s3_bucket"
    }
    fn needs(&self) -> &'static [Need] {
        &[BUCKET_KEY]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::S3Bucket(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let s3 = &env.ctx.s3();
        let kms_key = Self::kms_key(spec, deps)?;
        let name = spec.str("name");
        // Tagged in the create call itself, so that an object left by an
        // interrupted apply carries the stack id (endpoints that ignore
        // these tags get them from PutBucketTagging just after).
        let tags = spec_tags(env, spec).into_iter().map(|(k, v)| aws_sdk_s3::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(bad("tag"))?;
        let mut conf = CreateBucketConfiguration::builder().set_tags(Some(tags));
        if env.ctx.region != "us-east-1" {
            conf = conf.location_constraint(BucketLocationConstraint::from(env.ctx.region.as_str()));
        }
        let req = s3.create_bucket().bucket(name).create_bucket_configuration(conf.build());
        // BucketAlreadyOwnedByYou is an error too: this account owns it, not
        // necessarily this stack (the engine's find adopts only its own).
        req.send().await.map_err(op("CreateBucket"))?;
        let rec = Record::new(self.name(), name, spec.inputs.clone()).with("arn", format!("arn:aws:s3:::{name}"));
        // Tagged first, so that an interrupted apply leaves a bucket the next
        // one can prove is its own.
        env.ctx.put_bucket_tags(name, &spec_tags(env, spec)).await.map_err(|e| e.partial(rec.clone()))?;
        Self::configure(env, spec, kms_key.as_deref()).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.s3().head_bucket().bucket(&rec.id).send().await {
            Ok(_) => {}
            Err(e) if missing(&e) => return Ok(None),
            Err(e) => return Err(op("HeadBucket")(e)),
        }
        let mut r = rec.clone();
        // An unreadable answer keeps the recorded value rather than failing
        // the whole refresh.
        match env.ctx.s3().get_bucket_versioning().bucket(&rec.id).send().await {
            Ok(v) => {
                tracing::debug!(bucket = %rec.id, status = ?v.status(), "bucket versioning");
                r.inputs["versioning"] = json!(v.status() == Some(&BucketVersioningStatus::Enabled));
            }
            Err(e) => tracing::warn!(bucket = %rec.id, "GetBucketVersioning: {}", crate::aws::error_text(&e)),
        }
        if let Ok(lc) = env.ctx.s3().get_bucket_lifecycle_configuration().bucket(&rec.id).send().await {
            let days = lc.rules().iter().find(|x| x.id() == Some("backups-to-glacier")).and_then(|x| x.transitions().first()).and_then(|t| t.days());
            r.inputs["glacier_after_days"] = json!(days);
        } else {
            r.inputs["glacier_after_days"] = json!(null);
        }
        Ok(Some(r))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        Self::configure(env, spec, Self::kms_key(spec, deps)?.as_deref()).await?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete_blocker(&self, env: &E, rec: &Record) -> Result<Option<OpError>, OpError> {
        if force_destroy(rec) {
            return Ok(None);
        }
        let n = object_count(env, &rec.id).await?;
        Ok((n > 0).then(|| {
            let n = if n >= 1000 { "1000 or more".to_string() } else { n.to_string() };
            OpError::new(format!(
                "the bucket {} holds {n} objects (versions included): destroying it would delete them. Nothing was deleted. Copy out what you need, then set force_destroy = true and apply before destroying.",
                rec.id
            ))
            .at(Some("force_destroy"))
        }))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let s3 = &env.ctx.s3();
        // The plan refuses this already; this holds if the bucket filled
        // up since.
        if let Some(e) = self.delete_blocker(env, rec).await? {
            return Err(e);
        }
        // Empty every version first: a versioned bucket must be empty.
        loop {
            let l = match s3.list_object_versions().bucket(&rec.id).send().await {
                Ok(l) => l,
                Err(e) if missing(&e) => return Ok(()),
                Err(e) => return Err(op("ListObjectVersions")(e)),
            };
            let mut ids: Vec<ObjectIdentifier> = vec![];
            for v in l.versions() {
                if let Some(k) = v.key() {
                    ids.extend(ObjectIdentifier::builder().key(k).set_version_id(v.version_id().map(str::to_string)).build().ok());
                }
            }
            for m in l.delete_markers() {
                if let Some(k) = m.key() {
                    ids.extend(ObjectIdentifier::builder().key(k).set_version_id(m.version_id().map(str::to_string)).build().ok());
                }
            }
            if ids.is_empty() {
                break;
            }
            s3.delete_objects().bucket(&rec.id).delete(Delete::builder().set_objects(Some(ids)).build().map_err(bad("delete"))?).send().await.map_err(op("DeleteObjects"))?;
        }
        match s3.delete_bucket().bucket(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if missing(&e) => Ok(()),
            Err(e) => Err(op("DeleteBucket")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        match env.ctx.s3().head_bucket().bucket(spec.str("name")).send().await {
            Ok(_) => Ok(Some(Record::new(self.name(), spec.str("name"), spec.inputs.clone()).with("arn", format!("arn:aws:s3:::{}", spec.str("name"))))),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(op("HeadBucket")(e)),
        }
    }
}

// ---------------------------------------------------------------- replication

/// Replication of one bucket to another (another region), Replication Time
/// Control and metrics on. Inputs: `rule_id`, `source_bucket` (its name);
/// slots `source` and `destination` (the buckets), `role` (the role S3
/// assumes) and `replica_kms` (the key that encrypts the replicas). Both
/// buckets are versioned before it exists (they are its dependencies, and a
/// bucket is versioned at create).
pub struct Replication;

const SOURCE: Need = Need::one("source bucket", &["s3_bucket"]).in_slot("source");
const DESTINATION: Need = Need::one("destination bucket", &["s3_bucket"]).in_slot("destination");
const REPLICATION_ROLE: Need = super::need::ROLE.in_slot("role");
const REPLICA_KEY: Need = Need::one("replica KMS key", &["kms_key"]).in_slot("replica_kms");

impl Replication {
    async fn put(env: &E, spec: &Spec, deps: &Records) -> Result<(), OpError> {
        use aws_sdk_s3::types::{
            DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination, EncryptionConfiguration, Metrics, MetricsStatus, ReplicationConfiguration, ReplicationRule,
            ReplicationRuleFilter, ReplicationRuleStatus, ReplicationTime, ReplicationTimeStatus, ReplicationTimeValue, SourceSelectionCriteria, SseKmsEncryptedObjects,
            SseKmsEncryptedObjectsStatus,
        };
        let source = &SOURCE.the_in(spec, deps)?.id;
        let dest = DESTINATION.the_in(spec, deps)?.out("arn").to_string();
        let role = REPLICATION_ROLE.the_in(spec, deps)?.out("arn").to_string();
        let replica_key = REPLICA_KEY.the_in(spec, deps)?.out("arn").to_string();
        let fifteen = || ReplicationTimeValue::builder().minutes(15).build();
        let rule = ReplicationRule::builder()
            .id(spec.str("rule_id"))
            .priority(1)
            .status(ReplicationRuleStatus::Enabled)
            .filter(ReplicationRuleFilter::builder().prefix("").build())
            .delete_marker_replication(DeleteMarkerReplication::builder().status(DeleteMarkerReplicationStatus::Enabled).build())
            .source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .sse_kms_encrypted_objects(SseKmsEncryptedObjects::builder().status(SseKmsEncryptedObjectsStatus::Enabled).build().map_err(bad("criteria"))?)
                    .build(),
            )
            .destination(
                Destination::builder()
                    .bucket(dest)
                    .replication_time(ReplicationTime::builder().status(ReplicationTimeStatus::Enabled).time(fifteen()).build().map_err(bad("replication time"))?)
                    .metrics(Metrics::builder().status(MetricsStatus::Enabled).event_threshold(fifteen()).build().map_err(bad("metrics"))?)
                    .encryption_configuration(EncryptionConfiguration::builder().replica_kms_key_id(replica_key).build())
                    .build()
                    .map_err(bad("destination"))?,
            )
            .build()
            .map_err(bad("replication rule"))?;
        let conf = ReplicationConfiguration::builder().role(role).rules(rule).build().map_err(bad("replication"))?;
        // A just-created role is not yet usable by S3.
        env.retry(
            std::time::Duration::from_secs(60),
            |e: &aws_smithy_runtime_api::client::result::SdkError<_, _>| crate::aws::code_in(e, &["InvalidRequest", "AccessDenied"]),
            || env.ctx.s3().put_bucket_replication().bucket(source).replication_configuration(conf.clone()).send(),
        )
        .await
        .map_err(op("PutBucketReplication"))?;
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Replication {
    fn name(&self) -> &'static str {
        "s3_bucket_replication"
    }
    fn needs(&self) -> &'static [Need] {
        &[SOURCE, DESTINATION, REPLICATION_ROLE, REPLICA_KEY]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        Self::put(env, spec, deps).await?;
        let source = SOURCE.the_in(spec, deps)?;
        Ok(Record::new(self.name(), &source.id, spec.inputs.clone()).with("destination", DESTINATION.the_in(spec, deps)?.id.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.s3().get_bucket_replication().bucket(&rec.id).send().await {
            Ok(o) => {
                let Some(c) = o.replication_configuration() else { return Ok(None) };
                let Some(rule) = c.rules().iter().find(|r| r.id() == rec.inputs["rule_id"].as_str()) else { return Ok(None) };
                let mut r = rec.clone();
                let rtc = rule.destination().and_then(|d| d.replication_time()).map(|t| t.status().as_str() == "Enabled").unwrap_or(false);
                r.inputs["rule_id"] =
                    if rtc && rule.status().as_str() == "Enabled" { rec.inputs["rule_id"].clone() } else { json!(format!("{} (changed)", rule.id().unwrap_or_default())) };
                Ok(Some(r))
            }
            Err(e) if crate::aws::code_in(&e, &["ReplicationConfigurationNotFoundError", "NoSuchBucket"]) => Ok(None),
            Err(e) => Err(op("GetBucketReplication")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        Self::put(env, spec, deps).await?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    /// Found on its source bucket (`source_bucket`), and owned by the
    /// bucket's owner: the rule is part of the bucket.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("source_bucket"), spec.inputs.clone());
        self.read(env, &probe).await
    }
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        use crate::engine::Cloud;
        Ok(env.ctx.read_tags(&TagRef::S3Bucket(found.id.clone())).await?.and_then(|t| t.get(crate::engine::TAG_STACK_ID).cloned()))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // Before either bucket goes: a bucket with a replication rule that
        // names a deleted destination fails its writes.
        match env.ctx.s3().delete_bucket_replication().bucket(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e, &["NoSuchBucket"]) || missing(&e) => Ok(()),
            Err(e) => Err(op("DeleteBucketReplication")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked;
    use super::*;
    use aws_sdk_s3::operation::list_object_versions::{ListObjectVersionsError, ListObjectVersionsOutput};
    use aws_sdk_s3::types::{DeleteMarkerEntry, ObjectVersion};
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(s3, aws_sdk_s3, rules)
    }

    fn bucket(force_destroy: bool) -> Record {
        Record::new("s3_bucket", "kauri-prod-123456789012", json!({"name": "kauri-prod-123456789012", "force_destroy": force_destroy}))
    }

    fn versions(n: usize) -> ListObjectVersionsOutput {
        let mut o = ListObjectVersionsOutput::builder();
        for i in 0..n {
            o = o.versions(ObjectVersion::builder().key(format!("backups/{i}.sql.gz")).version_id(format!("v{i}")).build());
        }
        o.delete_markers(DeleteMarkerEntry::builder().key("backups/old.sql.gz").version_id("dm").build()).build()
    }

    #[tokio::test]
    async fn a_bucket_holding_objects_is_not_emptied_without_force_destroy() {
        let list = mock!(Client::list_object_versions).then_output(|| versions(2));
        let delete_objects = mock!(Client::delete_objects).then_output(|| aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder().build());
        let e = Bucket.delete(&env_over(&[&list, &delete_objects]), &bucket(false)).await.unwrap_err();
        assert!(e.message.contains("holds 3 objects") && e.message.contains("Nothing was deleted"), "{}", e.message);
        assert_eq!(e.attribute.as_deref(), Some("force_destroy"));
        assert_eq!(delete_objects.num_calls(), 0, "not one object deleted");
    }

    #[tokio::test]
    async fn with_force_destroy_every_version_goes_then_the_bucket() {
        // The calls in order: list, delete that page, list (empty), delete the bucket.
        let list = mock!(Client::list_object_versions).then_output(|| versions(2));
        let listed_empty = mock!(Client::list_object_versions).then_output(|| ListObjectVersionsOutput::builder().build());
        let delete_objects = mock!(Client::delete_objects)
            .match_requests(|r| r.delete().map(|d| d.objects().len()) == Some(3))
            .then_output(|| aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder().build());
        let delete_bucket = mock!(Client::delete_bucket)
            .match_requests(|r| r.bucket() == Some("kauri-prod-123456789012"))
            .then_output(|| aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput::builder().build());
        Bucket.delete(&env_over(&[&list, &delete_objects, &listed_empty, &delete_bucket]), &bucket(true)).await.unwrap();
        assert_eq!((list.num_calls(), delete_objects.num_calls(), listed_empty.num_calls(), delete_bucket.num_calls()), (1, 1, 1, 1));
    }

    #[tokio::test]
    async fn a_bucket_already_gone_is_deleted() {
        // Counted for the destroy check, then listed to be emptied: gone both times.
        let list = mock!(Client::list_object_versions)
            .sequence()
            .error(|| ListObjectVersionsError::generic(ErrorMetadata::builder().code("NoSuchBucket").message("The specified bucket does not exist").build()))
            .times(2)
            .build();
        let delete_bucket = mock!(Client::delete_bucket).then_output(|| aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput::builder().build());
        Bucket.delete(&env_over(&[&list, &delete_bucket]), &bucket(false)).await.unwrap();
        assert_eq!((list.num_calls(), delete_bucket.num_calls()), (2, 0));
    }

    #[tokio::test]
    async fn a_name_another_account_holds_is_neither_free_nor_adopted() {
        // HeadBucket answers 403 for a bucket of another account: find must
        // not take that for "absent" (a create would fail later) nor adopt it.
        let head = mock!(Client::head_bucket).sequence().http_status(403, None).build();
        let spec = Spec::new("bucket", "s3_bucket", json!({"name": "kauri-prod-123456789012"}));
        let e = Bucket.find(&env_over(&[&head]), &spec).await.unwrap_err();
        assert!(e.message.contains("HeadBucket"), "{}", e.message);
        let gone = mock!(Client::head_bucket).sequence().http_status(404, None).build();
        assert!(Bucket.find(&env_over(&[&gone]), &spec).await.unwrap().is_none());
    }
}
