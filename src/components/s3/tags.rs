//! The tags of s3's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::pairs;
use crate::engine::{OpError, Tags};

/// The tags of S3Bucket `name`, or None when it no longer exists.
pub(crate) async fn read_tags_bucket(
    ctx: &AwsContext,
    name: &str,
) -> Result<Option<Tags>, OpError> {
    match ctx.s3().get_bucket_tagging().bucket(name).send().await {
        Ok(o) => Ok(Some(pairs(o.tag_set(), |t| {
            (Some(t.key()), Some(t.value()))
        }))),
        Err(e) if crate::aws::code_in(&e, &["NoSuchTagSet"]) => Ok(Some(Tags::new())),
        Err(e) if crate::aws::code_in(&e, &["NoSuchBucket"]) => Ok(None),
        Err(e) => Err(op("s3:GetBucketTagging")(e)),
    }
}

/// Sets `set` on S3Bucket `name`, leaving its other tags.
pub(crate) async fn tag_bucket(ctx: &AwsContext, name: &str, set: &Tags) -> Result<(), OpError> {
    // S3 replaces the whole set: keep the keys others set.
    let mut all = read_tags_bucket(ctx, name).await?.unwrap_or_default();
    all.extend(set.clone());
    put_bucket_tags(ctx, name, &all).await?;
    Ok(())
}

/// Removes the tags `keys` from S3Bucket `name`.
pub(crate) async fn untag_bucket(
    ctx: &AwsContext,
    name: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    let mut all = read_tags_bucket(ctx, name).await?.unwrap_or_default();
    all.retain(|k, _| !keys.contains(k));
    put_bucket_tags(ctx, name, &all).await?;
    Ok(())
}

/// Replaces a bucket's whole tag set (S3 has no per-key tagging).
pub(crate) async fn put_bucket_tags(
    ctx: &AwsContext,
    bucket: &str,
    tags: &Tags,
) -> Result<(), OpError> {
    use aws_sdk_s3::types::{Tag, Tagging};
    let set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.s3()
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(set))
                .build()
                .map_err(crate::components::bad("tagging"))?,
        )
        .send()
        .await
        .map_err(op("s3:PutBucketTagging"))?;
    Ok(())
}
