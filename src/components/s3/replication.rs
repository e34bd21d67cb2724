//! Replication.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// Replication of one bucket to another (another region), Replication Time
/// Control and metrics on: slots `source` and `destination` (the buckets), `role` (the role S3
/// assumes) and `replica_kms` (the key that encrypts the replicas). Both
/// buckets are versioned before it exists (they are its dependencies, and a
/// bucket is versioned at create), and the rule is put once S3 shows their
/// versioning Enabled.
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

const SOURCE: Need = Need::one(
    "source bucket",
    &[<crate::components::s3::BucketInputs as crate::engine::Inputs>::KIND],
)
.in_slot("source");
const DESTINATION: Need = Need::one(
    "destination bucket",
    &[<crate::components::s3::BucketInputs as crate::engine::Inputs>::KIND],
)
.in_slot("destination");
const REPLICATION_ROLE: Need = crate::components::need::ROLE.in_slot("role");
const REPLICA_KEY: Need = Need::one(
    "replica KMS key",
    &[<crate::components::kms::KeyInputs as crate::engine::Inputs>::KIND],
)
.in_slot("replica_kms");

/// S3 accepts a replication rule only once versioning shows as Enabled on
/// both buckets; just after the buckets' creates, GetBucketVersioning can
/// still show none (Disabled) or no bucket at all. A bucket Suspended out
/// of band fails the wait at once, named.
const VERSIONING_ENABLED: Waiter = Waiter::new(
    "to show versioning Enabled",
    &["Disabled", GONE],
    &["Enabled"],
)
.poll(std::time::Duration::from_secs(5));

/// Even once GetBucketVersioning shows Enabled, the put may not yet see
/// the bucket or its versioning.
const PUT_REPLICATION: Call = Call::retrying(
    "s3:PutBucketReplication",
    PROPAGATION,
    &[
        JUST_CREATED,
        NotYet::message("InvalidRequest", "Versioning must be 'Enabled' on the bucket", "Versioning must be 'Enabled' on the bucket to apply a replication configuration"),
        NotYet::message("InvalidRequest", "Destination bucket must have versioning enabled", "Destination bucket must have versioning enabled."),
    ],
)
.why("hashicorp/aws s3/bucket_replication_configuration.go create and update: NoSuchBucket and InvalidRequest 'Versioning must be 'Enabled' on the bucket' retried for propagationTimeout (2 minutes); also the destination's 'Destination bucket must have versioning enabled.' (beyond hashicorp/aws: both buckets are created in the same apply, terraform-aws-modules/terraform-aws-s3-bucket#172). S3 does not assume the role at this call, so no role error is declared (nor by hashicorp/aws)");
const CALLS: &[Call] = &[
    GET_VERSIONING,
    PUT_REPLICATION,
    Call::read("s3:GetBucketReplication"),
    Call::settled("s3:DeleteBucketReplication"),
];

/// Waits until `bucket` (with the client of its region) shows versioning
/// Enabled.
async fn versioning_enabled(env: &E, s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), OpError> {
    env.wait(&VERSIONING_ENABLED, &format!("bucket {bucket}"), || async {
        match env
            .call(&GET_VERSIONING, || {
                s3.get_bucket_versioning().bucket(bucket).send()
            })
            .await
        {
            Ok(v) => Ok(Some((
                v.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "Disabled".to_string()),
                (),
            ))),
            Err(e) if missing(&e.error) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    })
    .await
    .map(|_| ())
}

impl Replication {
    async fn put(env: &E, spec: &Spec, deps: &Records) -> Result<(), OpError> {
        use aws_sdk_s3::types::{
            DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination,
            EncryptionConfiguration, Metrics, MetricsStatus, ReplicationConfiguration,
            ReplicationRule, ReplicationRuleFilter, ReplicationRuleStatus, ReplicationTime,
            ReplicationTimeStatus, ReplicationTimeValue, SourceSelectionCriteria,
            SseKmsEncryptedObjects, SseKmsEncryptedObjectsStatus,
        };
        let source = &SOURCE.the_in(spec, deps)?.id;
        let destination = DESTINATION.the_in(spec, deps)?;
        let dest = destination.out("arn").to_string();
        let role = REPLICATION_ROLE.the_in(spec, deps)?.out("arn").to_string();
        let replica_key = REPLICA_KEY.the_in(spec, deps)?.out("arn").to_string();
        let fifteen = || ReplicationTimeValue::builder().minutes(15).build();
        let rule_id = spec.typed::<ReplicationInputs>()?.rule_id;
        let rule = ReplicationRule::builder()
            .id(&rule_id)
            .priority(1)
            .status(ReplicationRuleStatus::Enabled)
            .filter(ReplicationRuleFilter::builder().prefix("").build())
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(DeleteMarkerReplicationStatus::Enabled)
                    .build(),
            )
            .source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .sse_kms_encrypted_objects(
                        SseKmsEncryptedObjects::builder()
                            .status(SseKmsEncryptedObjectsStatus::Enabled)
                            .build()
                            .map_err(bad("criteria"))?,
                    )
                    .build(),
            )
            .destination(
                Destination::builder()
                    .bucket(dest)
                    .replication_time(
                        ReplicationTime::builder()
                            .status(ReplicationTimeStatus::Enabled)
                            .time(fifteen())
                            .build()
                            .map_err(bad("replication time"))?,
                    )
                    .metrics(
                        Metrics::builder()
                            .status(MetricsStatus::Enabled)
                            .event_threshold(fifteen())
                            .build()
                            .map_err(bad("metrics"))?,
                    )
                    .encryption_configuration(
                        EncryptionConfiguration::builder()
                            .replica_kms_key_id(replica_key)
                            .build(),
                    )
                    .build()
                    .map_err(bad("destination"))?,
            )
            .build()
            .map_err(bad("replication rule"))?;
        let conf = ReplicationConfiguration::builder()
            .role(role)
            .rules(rule)
            .build()
            .map_err(bad("replication"))?;
        // Versioning visible as Enabled on both buckets first (the
        // destination read with the clients of its region).
        let s3 = env.ctx.s3();
        versioning_enabled(env, s3, source).await?;
        let there = match destination.region.as_deref() {
            Some(r) => env.ctx.clone().region_context(r),
            None => env.ctx.clone(),
        };
        versioning_enabled(env, there.s3(), &destination.id).await?;
        env.call(&PUT_REPLICATION, || {
            s3.put_bucket_replication()
                .bucket(source)
                .replication_configuration(conf.clone())
                .send()
        })
        .await
        .map_err(failed)?;
        // Then found by the reads that follow (hashicorp/aws waits the same
        // way: RetryWhenNotFound on the configuration after the put).
        env.wait_until(
            &format!("replication rule {rule_id} of bucket {source} to be found"),
            || async {
                match s3.get_bucket_replication().bucket(source).send().await {
                    Ok(o) => Ok(o
                        .replication_configuration()
                        .is_some_and(|c| c.rules().iter().any(|r| r.id() == Some(rule_id.as_str())))
                        .then_some(())),
                    Err(e)
                        if crate::aws::code_in(
                            &e,
                            &["ReplicationConfigurationNotFoundError", "NoSuchBucket"],
                        ) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(op("GetBucketReplication")(e)),
                }
            },
        )
        .await
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Replication {
    crate::engine::typed_kind!(ReplicationInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["destination"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [Need] {
        &[SOURCE, DESTINATION, REPLICATION_ROLE, REPLICA_KEY]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        Self::put(env, spec, deps).await?;
        let source = SOURCE.the_in(spec, deps)?;
        Ok(Record::new(self.name(), &source.id, spec.inputs.clone())
            .with("destination", DESTINATION.the_in(spec, deps)?.id.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .s3()
            .get_bucket_replication()
            .bucket(&rec.id)
            .send()
            .await
        {
            Ok(o) => {
                let Some(c) = o.replication_configuration() else {
                    return Ok(None);
                };
                let Some(rule) = c
                    .rules()
                    .iter()
                    .find(|r| r.id() == rec.inputs["rule_id"].as_str())
                else {
                    return Ok(None);
                };
                let mut r = rec.clone();
                let rtc = rule
                    .destination()
                    .and_then(|d| d.replication_time())
                    .map(|t| t.status().as_str() == "Enabled")
                    .unwrap_or(false);
                r.inputs["rule_id"] = if rtc && rule.status().as_str() == "Enabled" {
                    rec.inputs["rule_id"].clone()
                } else {
                    json!(format!("{} (changed)", rule.id().unwrap_or_default()))
                };
                Ok(Some(r))
            }
            Err(e)
                if crate::aws::code_in(
                    &e,
                    &["ReplicationConfigurationNotFoundError", "NoSuchBucket"],
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(op("GetBucketReplication")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        Self::put(env, spec, deps).await?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    /// Found on its source bucket (`source_bucket`), and owned by the
    /// bucket's owner: the rule is part of the bucket.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<ReplicationInputs>()?.source_bucket,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        use crate::engine::Cloud;
        Ok(env
            .ctx
            .read_tags(&TagRef::S3Bucket(found.id.clone()))
            .await?
            .and_then(|t| t.get(crate::engine::TAG_STACK_ID).cloned()))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // Before either bucket goes: a bucket with a replication rule that
        // names a deleted destination fails its writes.
        match env
            .ctx
            .s3()
            .delete_bucket_replication()
            .bucket(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e, &["NoSuchBucket"]) || missing(&e) => Ok(()),
            Err(e) => Err(op("DeleteBucketReplication")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
    use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
    use aws_sdk_s3::operation::put_bucket_replication::{
        PutBucketReplicationError, PutBucketReplicationOutput,
    };
    use aws_sdk_s3::types::{
        Destination, ReplicationConfiguration, ReplicationRule, ReplicationRuleStatus,
    };
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(s3, aws_sdk_s3, rules)
    }

    fn spec() -> Spec {
        Spec::new(
            "replication",
            "s3_bucket_replication",
            json!({"rule_id": "to-secondary", "source_bucket": "luneo-primary", "source": "src", "destination": "dst", "role": "role", "replica_kms": "key"}),
        )
    }

    fn deps() -> Records {
        let dep =
            |kind: &str, id: &str, arn: &str| Record::new(kind, id, json!({})).with("arn", arn);
        Records::from([
            (
                "src".to_string(),
                dep("s3_bucket", "luneo-primary", "arn:aws:s3:::luneo-primary"),
            ),
            (
                "dst".to_string(),
                dep(
                    "s3_bucket",
                    "luneo-secondary",
                    "arn:aws:s3:::luneo-secondary",
                ),
            ),
            (
                "role".to_string(),
                dep(
                    "iam_role",
                    "luneo-s3-replication",
                    "arn:aws:iam::123456789012:role/luneo-s3-replication",
                ),
            ),
            (
                "key".to_string(),
                dep(
                    "kms_key",
                    "k",
                    "arn:aws:kms:us-west-2:123456789012:key/0d6c3e2a-7e1f-4b5a-9c3d-2e1f4b5a9c3d",
                ),
            ),
        ])
    }

    fn versioning(status: Option<BucketVersioningStatus>) -> Rule {
        mock!(Client::get_bucket_versioning).then_output(move || {
            GetBucketVersioningOutput::builder()
                .set_status(status.clone())
                .build()
        })
    }

    fn refused(message: &'static str) -> Rule {
        mock!(Client::put_bucket_replication).then_error(move || {
            PutBucketReplicationError::generic(
                ErrorMetadata::builder()
                    .code("InvalidRequest")
                    .message(message)
                    .build(),
            )
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_rule_is_put_once_both_buckets_show_versioning_and_the_put_is_retried_while_s3_catches_up(
    ) {
        // The source shows no versioning yet, then Enabled; the destination
        // Enabled; the first put is still refused (PUT_REPLICATION), the
        // second passes, and the rule is then found.
        let (not_yet, enabled, dest_enabled) = (
            versioning(None),
            versioning(Some(BucketVersioningStatus::Enabled)),
            versioning(Some(BucketVersioningStatus::Enabled)),
        );
        let still_refused = refused(
            "Versioning must be 'Enabled' on the bucket to apply a replication configuration",
        );
        let put = mock!(Client::put_bucket_replication)
            .match_requests(|r| r.bucket() == Some("luneo-primary"))
            .then_output(|| PutBucketReplicationOutput::builder().build());
        let found = mock!(Client::get_bucket_replication).then_output(|| {
            let rule = ReplicationRule::builder()
                .id("to-secondary")
                .status(ReplicationRuleStatus::Enabled)
                .destination(
                    Destination::builder()
                        .bucket("arn:aws:s3:::luneo-secondary")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap();
            GetBucketReplicationOutput::builder()
                .replication_configuration(
                    ReplicationConfiguration::builder()
                        .role("r")
                        .rules(rule)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let env = env_over(&[
            &not_yet,
            &enabled,
            &dest_enabled,
            &still_refused,
            &put,
            &found,
        ]);
        let rec = Replication.create(&env, &spec(), &deps()).await.unwrap();
        assert_eq!(
            (rec.id.as_str(), rec.out("destination")),
            ("luneo-primary", "luneo-secondary")
        );
        let calls = [
            &not_yet,
            &enabled,
            &dest_enabled,
            &still_refused,
            &put,
            &found,
        ]
        .map(|r| r.num_calls());
        assert_eq!(calls, [1; 6]);
    }

    #[tokio::test(start_paused = true)]
    async fn another_refusal_of_the_rule_is_not_retried() {
        let (source, destination) = (
            versioning(Some(BucketVersioningStatus::Enabled)),
            versioning(Some(BucketVersioningStatus::Enabled)),
        );
        let locked =
            refused("Replication configuration cannot be applied to an Object Lock enabled bucket");
        let e = Replication
            .create(
                &env_over(&[&source, &destination, &locked]),
                &spec(),
                &deps(),
            )
            .await
            .unwrap_err();
        assert!(
            e.message.starts_with(
                "PutBucketReplication: InvalidRequest: Replication configuration cannot be applied"
            ),
            "{}",
            e.message
        );
        assert_eq!(locked.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_whose_versioning_is_suspended_fails_the_wait_at_once() {
        let suspended = versioning(Some(BucketVersioningStatus::Suspended));
        let e = Replication
            .create(&env_over(&[&suspended]), &spec(), &deps())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("luneo-primary is Suspended"),
            "{}",
            e.message
        );
    }
}
