//! Replication.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// Replication of one bucket to another (another region), Replication Time
/// Control and metrics on: slots `source` and `destination` (the buckets), `role` (the role S3
/// assumes) and `replica_kms` (the key that encrypts the replicas). Both
/// buckets are versioned before it exists (they are its dependencies, and a
/// bucket is versioned at create).
pub struct Replication;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicationInputs {
    /// The id of its one rule on the source bucket.
    pub rule_id: String,
    /// The source bucket's name: how `find` reaches the rule before the
    /// bucket's record is at hand.
    pub source_bucket: String,
}

impl Inputs for ReplicationInputs {
    const KIND: &'static str = "s3_bucket_replication";
}

const SOURCE: Need = Need::one("source bucket", &["s3_bucket"]).in_slot("source");
const DESTINATION: Need = Need::one("destination bucket", &["s3_bucket"]).in_slot("destination");
const REPLICATION_ROLE: Need = crate::components::need::ROLE.in_slot("role");
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
            .id(spec.typed::<ReplicationInputs>()?.rule_id)
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
    fn outputs(&self) -> &'static [&'static str] {
        &["destination"]
    }
    fn needs(&self) -> &'static [Need] {
        &[SOURCE, DESTINATION, REPLICATION_ROLE, REPLICA_KEY]
    }
    fn check_inputs(&self, inputs: &serde_json::Value) -> Result<(), String> {
        crate::engine::inputs::check::<ReplicationInputs>(inputs)
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
        let probe = Record::new(self.name(), spec.typed::<ReplicationInputs>()?.source_bucket, spec.inputs.clone());
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
