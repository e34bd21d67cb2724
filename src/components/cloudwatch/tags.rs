//! The tags of cloudwatch's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const CLOUDWATCH_GONE: Gone = Gone::codes(&["ResourceNotFoundException", "ResourceNotFound"]);

/// The tags of CloudWatch `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_alarm(ctx: &AwsContext, arn: &str) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.cloudwatch().list_tags_for_resource().resource_arn(arn),
        "cloudwatch:ListTagsForResource",
        CLOUDWATCH_GONE,
        |o| pairs(o.tags(), |t| (t.key(), t.value()))
    )
}

/// Sets `set` on CloudWatch `arn`, leaving its other tags.
pub(crate) async fn tag_alarm(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| {
            aws_sdk_cloudwatch::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    ctx.cloudwatch()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("cloudwatch:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from CloudWatch `arn`.
pub(crate) async fn untag_alarm(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.cloudwatch()
        .untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("cloudwatch:UntagResource"))?;
    Ok(())
}
