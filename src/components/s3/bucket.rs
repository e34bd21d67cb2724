//! Bucket.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A versioned bucket, public access blocked, encrypted.
pub struct Bucket;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketInputs {
    pub name: String,
    /// Versioning is always turned on; Some(true) makes it part of the
    /// compared state, so a bucket whose versioning was suspended out of
    /// band is drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<bool>,
    /// Days after which backups (and old versions) go to Glacier; with
    /// `backup_prefix`, a lifecycle rule. None for both: no rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glacier_after_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_prefix: Option<String>,
    /// SSE-KMS with the KMS key dependency's key, else SSE-S3.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kms: bool,
    /// Destroy deletes the objects with the bucket; else a bucket that
    /// holds objects is refused at plan (a record written before the
    /// option existed did not opt in).
    #[serde(default)]
    pub force_destroy: bool,
}

impl Inputs for BucketInputs {
    const KIND: &'static str = "s3_bucket";
}

/// The key of a bucket encrypted with SSE-KMS.
const BUCKET_KEY: Need = Need::optional(
    "KMS key",
    &[<crate::components::kms::KeyInputs as crate::engine::Inputs>::KIND],
);

/// What S3 answers about a bucket it has just created but does not yet
/// show everywhere.
pub(super) const JUST_CREATED: NotYet =
    NotYet::code("NoSuchBucket", "The specified bucket does not exist");
const OPERATION_ABORTED: NotYet = NotYet::code("OperationAborted", "A conflicting conditional operation is currently in progress against this resource. Please try again.");

/// A name just freed (the bucket a replace has just deleted) or a bucket
/// another request is still changing is refused for a while.
const CREATE: Call = Call::retrying("s3:CreateBucket", std::time::Duration::from_secs(600), &[OPERATION_ABORTED])
    .why("hashicorp/aws s3/bucket.go resourceBucketCreate: OperationAborted retried for the create timeout; ours is the kind's 10-minute create timeout");
/// A bucket just created may not be found yet by the calls that configure
/// it (S3's consistency model for bucket operations).
const PUT_VERSIONING: Call = Call::retrying("s3:PutBucketVersioning", PROPAGATION, &[JUST_CREATED])
    .why("hashicorp/aws s3/bucket_versioning.go resourceBucketVersioningCreate: NoSuchBucket retried for 2 minutes (bucket.go's update: for its timeout)");
const PUT_PUBLIC_ACCESS_BLOCK: Call = Call::retrying("s3:PutPublicAccessBlock", PROPAGATION, &[JUST_CREATED])
    .why("hashicorp/aws s3/bucket_public_access_block.go create: NoSuchBucket retried for bucketPropagationTimeout (2 minutes)");
const PUT_ENCRYPTION: Call = Call::retrying("s3:PutBucketEncryption", PROPAGATION, &[JUST_CREATED, OPERATION_ABORTED])
    .why("hashicorp/aws s3/bucket_server_side_encryption_configuration.go create: NoSuchBucket and OperationAborted retried for bucketPropagationTimeout (2 minutes)");
const PUT_LIFECYCLE: Call = Call::retrying("s3:PutBucketLifecycleConfiguration", PROPAGATION, &[JUST_CREATED])
    .why("hashicorp/aws s3/bucket_lifecycle_configuration.go create: NoSuchBucket retried for bucketPropagationTimeout (2 minutes)");
/// A bucket just created (or just configured) may answer NoSuchBucket to
/// the reads of its configuration: the refresh after a create, and the
/// replication's wait for versioning.
pub(super) const GET_VERSIONING: Call = Call::retrying("s3:GetBucketVersioning", PROPAGATION, &[JUST_CREATED])
    .reading()
    .why("hashicorp/aws s3/bucket.go resourceBucketRead: retryWhenNoSuchBucketError around findBucketVersioning; bucket_versioning.go waitForBucketVersioningStatus (bucketPropagationTimeout, 2 minutes)");
const GET_LIFECYCLE: Call = Call::retrying("s3:GetBucketLifecycleConfiguration", PROPAGATION, &[JUST_CREATED])
    .reading()
    .why("hashicorp/aws s3/bucket.go resourceBucketRead: retryWhenNoSuchBucketError around findBucketLifecycleConfiguration");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("s3:HeadBucket"),
    PUT_VERSIONING,
    PUT_PUBLIC_ACCESS_BLOCK,
    PUT_ENCRYPTION,
    PUT_LIFECYCLE,
    GET_VERSIONING,
    GET_LIFECYCLE,
    Call::read("s3:ListObjectVersions"),
    Call::settled("s3:DeleteObjects"),
    Call::settled("s3:DeleteBucket"),
];

pub(super) fn missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    e: &aws_smithy_runtime_api::client::result::SdkError<
        Er,
        aws_smithy_runtime_api::http::Response,
    >,
) -> bool {
    matches!(
        error_code(e).as_deref(),
        Some("NoSuchBucket") | Some("NotFound") | Some("404")
    ) || matches!(e, aws_smithy_runtime_api::client::result::SdkError::ServiceError(se) if se.raw().status().as_u16() == 404)
}

impl Bucket {
    fn kms_key(bucket: &BucketInputs, deps: &Records) -> Result<Option<String>, OpError> {
        if bucket.kms {
            Ok(Some(BUCKET_KEY.the(deps)?.out("arn").to_string()))
        } else {
            Ok(None)
        }
    }
    async fn configure(
        env: &E,
        bucket: &BucketInputs,
        kms_key: Option<&str>,
    ) -> Result<(), OpError> {
        let s3 = &env.ctx.s3();
        let name = &bucket.name;
        let versioning = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .build();
        env.call(&PUT_VERSIONING, || {
            s3.put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(versioning.clone())
                .send()
        })
        .await
        .map_err(failed)?;
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .block_public_policy(true)
            .ignore_public_acls(true)
            .restrict_public_buckets(true)
            .build();
        env.call(&PUT_PUBLIC_ACCESS_BLOCK, || {
            s3.put_public_access_block()
                .bucket(name)
                .public_access_block_configuration(block.clone())
                .send()
        })
        .await
        .map_err(failed)?;
        // SSE-KMS with the `kms` dependency's key when the spec has one
        // (`kms: true`), else SSE-S3.
        let by_default = match kms_key {
            Some(arn) => ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(arn),
            None => {
                ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
            }
        };
        let sse = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        by_default.build().map_err(bad("encryption"))?,
                    )
                    .bucket_key_enabled(kms_key.is_some())
                    .build(),
            )
            .build()
            .map_err(bad("encryption"))?;
        env.call(&PUT_ENCRYPTION, || {
            s3.put_bucket_encryption()
                .bucket(name)
                .server_side_encryption_configuration(sse.clone())
                .send()
        })
        .await
        .map_err(failed)?;
        if bucket.glacier_after_days.is_none() && bucket.backup_prefix.is_none() {
            // No lifecycle rule: the bucket holds artifacts, not backups.
            return Ok(());
        }
        let days = bucket.glacier_after_days.unwrap_or(30) as i32;
        let rule = LifecycleRule::builder()
            .id("backups-to-glacier")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(bucket.backup_prefix.as_deref().unwrap_or_default())
                    .build(),
            )
            .transitions(
                Transition::builder()
                    .days(days)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            )
            .noncurrent_version_transitions(
                NoncurrentVersionTransition::builder()
                    .noncurrent_days(days)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            )
            .build()
            .map_err(bad("lifecycle rule"))?;
        let lifecycle = BucketLifecycleConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(bad("lifecycle"))?;
        env.call(&PUT_LIFECYCLE, || {
            s3.put_bucket_lifecycle_configuration()
                .bucket(name)
                .lifecycle_configuration(lifecycle.clone())
                .send()
        })
        .await
        .map_err(failed)?;
        Ok(())
    }
}

/// True when the user opted to lose the bucket's objects with it (a
/// record written before the option existed did not).
fn force_destroy(rec: &Record) -> bool {
    rec.typed::<BucketInputs>()
        .map(|b| b.force_destroy)
        .unwrap_or(false)
}

/// How many object versions and delete markers the bucket holds (one page:
/// up to 1000), 0 when it no longer exists.
async fn object_count(env: &E, bucket: &str) -> Result<usize, OpError> {
    match env
        .ctx
        .s3()
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1000)
        .send()
        .await
    {
        Ok(l) => Ok(l.versions().len() + l.delete_markers().len()),
        Err(e) if missing(&e) => Ok(0),
        Err(e) => Err(op("ListObjectVersions")(e)),
    }
}

/// What a look at a bucket finds: `read`'s record, and what only an
/// adoption reads.
struct Looked {
    record: Record,
    /// Where S3 says the bucket is.
    region: Option<String>,
    /// The prefix of its backups rule (None: no such rule).
    backup_prefix: Option<String>,
}

/// The bucket of `rec` as AWS has it (None: no such bucket). An unreadable
/// answer keeps the recorded value rather than failing the whole refresh.
async fn look(env: &E, rec: &Record) -> Result<Option<Looked>, OpError> {
    let head = match env.ctx.s3().head_bucket().bucket(&rec.id).send().await {
        Ok(h) => h,
        Err(e) if missing(&e) => return Ok(None),
        Err(e) => return Err(op("HeadBucket")(e)),
    };
    let mut r = rec.clone();
    let s3 = env.ctx.s3();
    match env
        .call(&GET_VERSIONING, || {
            s3.get_bucket_versioning().bucket(&rec.id).send()
        })
        .await
    {
        Ok(v) => {
            tracing::debug!(bucket = %rec.id, status = ?v.status(), "bucket versioning");
            r.inputs["versioning"] = json!(v.status() == Some(&BucketVersioningStatus::Enabled));
        }
        Err(e) => {
            tracing::warn!(bucket = %rec.id, "GetBucketVersioning: {}", crate::aws::error_text(&e.error))
        }
    }
    let lifecycle = env
        .call(&GET_LIFECYCLE, || {
            s3.get_bucket_lifecycle_configuration()
                .bucket(&rec.id)
                .send()
        })
        .await
        .ok();
    let backups = lifecycle.as_ref().and_then(|lc| {
        lc.rules()
            .iter()
            .find(|x| x.id() == Some("backups-to-glacier"))
    });
    r.inputs["glacier_after_days"] = json!(backups
        .and_then(|x| x.transitions().first())
        .and_then(|t| t.days()));
    Ok(Some(Looked {
        record: r,
        region: head.bucket_region().map(str::to_string),
        backup_prefix: backups
            .and_then(|x| x.filter())
            .and_then(|f| f.prefix())
            .map(str::to_string),
    }))
}

#[tonic::async_trait]
impl Kind<AwsContext> for Bucket {
    crate::engine::typed_kind!(BucketInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
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
        let bucket: BucketInputs = spec.typed()?;
        let kms_key = Self::kms_key(&bucket, deps)?;
        let name = &bucket.name;
        // Tagged in the create call itself, so that an object left by an
        // interrupted apply carries the stack id (endpoints that ignore
        // these tags get them from PutBucketTagging just after).
        let tags = spec_tags(env, spec)
            .into_iter()
            .map(|(k, v)| aws_sdk_s3::types::Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad("tag"))?;
        let mut conf = CreateBucketConfiguration::builder().set_tags(Some(tags));
        if env.ctx.region != "us-east-1" {
            conf =
                conf.location_constraint(BucketLocationConstraint::from(env.ctx.region.as_str()));
        }
        let req = s3
            .create_bucket()
            .bucket(name)
            .create_bucket_configuration(conf.build());
        // BucketAlreadyOwnedByYou is an error too: this account owns it, not
        // necessarily this stack (the engine's find adopts only its own).
        env.call(&CREATE, || req.clone().send())
            .await
            .map_err(failed)?;
        let rec = Record::new(self.name(), name, spec.inputs.clone())
            .with("arn", format!("arn:aws:s3:::{name}"));
        // Found before anything else touches it (hashicorp/aws waits the
        // same way: RetryWhenNotFound on HeadBucket after CreateBucket).
        env.wait_until(&format!("bucket {name} to be found"), || async {
            match s3.head_bucket().bucket(name).send().await {
                Ok(_) => Ok(Some(())),
                Err(e) if missing(&e) => Ok(None),
                Err(e) => Err(op("HeadBucket")(e)),
            }
        })
        .await
        .map_err(|e| e.partial(rec.clone()))?;
        // Tagged first, so that an interrupted apply leaves a bucket the next
        // one can prove is its own.
        super::put_bucket_tags(&env.ctx, name, &spec_tags(env, spec))
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Self::configure(env, &bucket, kms_key.as_deref())
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(look(env, rec).await?.map(|l| l.record))
    }
    /// The bucket's name, versioning and backups rule as AWS has them, in
    /// the stack's region only. `kms` is left out (SSE-S3): a spec that
    /// wants SSE-KMS has the update write it, as it writes the encryption,
    /// public access block and lifecycle on every update. `force_destroy`
    /// is the stack's choice for its destroy, no setting of the bucket.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let name = match id.strip_prefix("arn:") {
            Some(arn) => arn.rsplit(':').next().unwrap_or(id),
            None => id,
        };
        let probe = Record::new(self.name(), name, spec.inputs.clone());
        let Some(looked) = look(env, &probe).await? else {
            return Ok(None);
        };
        if let Some(region) = looked.region.filter(|r| *r != env.ctx.region) {
            return Err(OpError::new(format!(
                "the bucket {name} is in {region}, and the stack's bucket goes in {}",
                env.ctx.region
            )));
        }
        let mut rec = looked.record;
        rec.inputs["name"] = json!(name);
        rec.inputs["backup_prefix"] = json!(looked.backup_prefix);
        if let Some(inputs) = rec.inputs.as_object_mut() {
            inputs.remove("kms");
        }
        Ok(Some(rec.with("arn", format!("arn:aws:s3:::{name}"))))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let bucket: BucketInputs = spec.typed()?;
        Self::configure(env, &bucket, Self::kms_key(&bucket, deps)?.as_deref()).await?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
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
                    ids.extend(
                        ObjectIdentifier::builder()
                            .key(k)
                            .set_version_id(v.version_id().map(str::to_string))
                            .build()
                            .ok(),
                    );
                }
            }
            for m in l.delete_markers() {
                if let Some(k) = m.key() {
                    ids.extend(
                        ObjectIdentifier::builder()
                            .key(k)
                            .set_version_id(m.version_id().map(str::to_string))
                            .build()
                            .ok(),
                    );
                }
            }
            if ids.is_empty() {
                break;
            }
            s3.delete_objects()
                .bucket(&rec.id)
                .delete(
                    Delete::builder()
                        .set_objects(Some(ids))
                        .build()
                        .map_err(bad("delete"))?,
                )
                .send()
                .await
                .map_err(op("DeleteObjects"))?;
        }
        match s3.delete_bucket().bucket(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if missing(&e) => Ok(()),
            Err(e) => Err(op("DeleteBucket")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let name = spec.typed::<BucketInputs>()?.name;
        match env.ctx.s3().head_bucket().bucket(&name).send().await {
            Ok(_) => Ok(Some(
                Record::new(self.name(), &name, spec.inputs.clone())
                    .with("arn", format!("arn:aws:s3:::{name}")),
            )),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(op("HeadBucket")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_s3::operation::list_object_versions::{
        ListObjectVersionsError, ListObjectVersionsOutput,
    };
    use aws_sdk_s3::types::{DeleteMarkerEntry, ObjectVersion};
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(s3, aws_sdk_s3, rules)
    }

    fn bucket(force_destroy: bool) -> Record {
        Record::new(
            "s3_bucket",
            "kauri-prod-123456789012",
            json!({"name": "kauri-prod-123456789012", "force_destroy": force_destroy}),
        )
    }

    fn versions(n: usize) -> ListObjectVersionsOutput {
        let mut o = ListObjectVersionsOutput::builder();
        for i in 0..n {
            o = o.versions(
                ObjectVersion::builder()
                    .key(format!("backups/{i}.sql.gz"))
                    .version_id(format!("v{i}"))
                    .build(),
            );
        }
        o.delete_markers(
            DeleteMarkerEntry::builder()
                .key("backups/old.sql.gz")
                .version_id("dm")
                .build(),
        )
        .build()
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_holding_objects_is_not_emptied_without_force_destroy() {
        let list = mock!(Client::list_object_versions).then_output(|| versions(2));
        let delete_objects = mock!(Client::delete_objects).then_output(|| {
            aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder().build()
        });
        let e = Bucket
            .delete(&env_over(&[&list, &delete_objects]), &bucket(false))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("holds 3 objects") && e.message.contains("Nothing was deleted"),
            "{}",
            e.message
        );
        assert_eq!(e.attribute.as_deref(), Some("force_destroy"));
        assert_eq!(delete_objects.num_calls(), 0, "not one object deleted");
    }

    #[tokio::test(start_paused = true)]
    async fn with_force_destroy_every_version_goes_then_the_bucket() {
        // The calls in order: list, delete that page, list (empty), delete the bucket.
        let list = mock!(Client::list_object_versions).then_output(|| versions(2));
        let listed_empty = mock!(Client::list_object_versions)
            .then_output(|| ListObjectVersionsOutput::builder().build());
        let delete_objects = mock!(Client::delete_objects)
            .match_requests(|r| r.delete().map(|d| d.objects().len()) == Some(3))
            .then_output(|| {
                aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder().build()
            });
        let delete_bucket = mock!(Client::delete_bucket)
            .match_requests(|r| r.bucket() == Some("kauri-prod-123456789012"))
            .then_output(|| {
                aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput::builder().build()
            });
        Bucket
            .delete(
                &env_over(&[&list, &delete_objects, &listed_empty, &delete_bucket]),
                &bucket(true),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                list.num_calls(),
                delete_objects.num_calls(),
                listed_empty.num_calls(),
                delete_bucket.num_calls()
            ),
            (1, 1, 1, 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_already_gone_is_deleted() {
        // Counted for the destroy check, then listed to be emptied: gone both times.
        let list = mock!(Client::list_object_versions)
            .sequence()
            .error(|| {
                ListObjectVersionsError::generic(
                    ErrorMetadata::builder()
                        .code("NoSuchBucket")
                        .message("The specified bucket does not exist")
                        .build(),
                )
            })
            .times(2)
            .build();
        let delete_bucket = mock!(Client::delete_bucket).then_output(|| {
            aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput::builder().build()
        });
        Bucket
            .delete(&env_over(&[&list, &delete_bucket]), &bucket(false))
            .await
            .unwrap();
        assert_eq!((list.num_calls(), delete_bucket.num_calls()), (2, 0));
    }

    /// Adoption: the bucket's own name (replace-only, decided by the
    /// configuration: never kept), versioning and backups rule as AWS has
    /// them; the ARN names the same bucket; no bucket, none.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_name_versioning_and_backups_rule_from_aws() {
        use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
        use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
        use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
        const NAME: &str = "kauri-demo-123456789012-eu-west-1";
        let head = mock!(Client::head_bucket)
            .match_requests(|r| r.bucket() == Some(NAME))
            .then_output(|| {
                HeadBucketOutput::builder()
                    .bucket_region("eu-west-1")
                    .build()
            });
        let versioning = mock!(Client::get_bucket_versioning).then_output(|| {
            GetBucketVersioningOutput::builder()
                .status(BucketVersioningStatus::Suspended)
                .build()
        });
        let lifecycle = mock!(Client::get_bucket_lifecycle_configuration).then_output(|| {
            let rule = LifecycleRule::builder()
                .id("backups-to-glacier")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("dumps/").build())
                .transitions(
                    Transition::builder()
                        .days(60)
                        .storage_class(TransitionStorageClass::Glacier)
                        .build(),
                )
                .build()
                .unwrap();
            GetBucketLifecycleConfigurationOutput::builder()
                .rules(rule)
                .build()
        });
        let spec = Spec::of(
            "bucket",
            &BucketInputs {
                name: "kauri-demo-123456789012".into(),
                versioning: Some(true),
                glacier_after_days: Some(30),
                backup_prefix: Some("backups/".into()),
                kms: true,
                force_destroy: true,
            },
        );
        let rec = Bucket
            .observe(
                &env_over(&[&head, &versioning, &lifecycle]),
                &spec,
                &format!("arn:aws:s3:::{NAME}"),
                &Records::new(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.id, NAME);
        assert_eq!(
            rec.inputs,
            json!({"name": NAME, "versioning": false, "glacier_after_days": 60, "backup_prefix": "dumps/", "force_destroy": true})
        );
        assert_eq!(rec.out("arn"), format!("arn:aws:s3:::{NAME}"));

        let gone = mock!(Client::head_bucket)
            .sequence()
            .http_status(404, None)
            .build();
        assert!(Bucket
            .observe(&env_over(&[&gone]), &spec, NAME, &Records::new())
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_name_another_account_holds_is_neither_free_nor_adopted() {
        // HeadBucket answers 403 for a bucket of another account: find must
        // not take that for "absent" (a create would fail later) nor adopt it.
        let head = mock!(Client::head_bucket)
            .sequence()
            .http_status(403, None)
            .build();
        let spec = Spec::new(
            "bucket",
            "s3_bucket",
            json!({"name": "kauri-prod-123456789012"}),
        );
        let e = Bucket.find(&env_over(&[&head]), &spec).await.unwrap_err();
        assert!(e.message.contains("HeadBucket"), "{}", e.message);
        let gone = mock!(Client::head_bucket)
            .sequence()
            .http_status(404, None)
            .build();
        assert!(Bucket
            .find(&env_over(&[&gone]), &spec)
            .await
            .unwrap()
            .is_none());
    }
}
