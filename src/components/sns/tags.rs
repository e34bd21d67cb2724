//! The tags of sns's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

/// `ResourceNotFound` is the wire code of SNS's ResourceNotFoundException.
const SNS_GONE: Gone = Gone::codes(&["ResourceNotFound", "NotFound"]);

/// The tags of Sns `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_topic(ctx: &AwsContext, arn: &str) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.sns().list_tags_for_resource().resource_arn(arn),
        "sns:ListTagsForResource",
        SNS_GONE,
        |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
    )
}

/// Sets `set` on Sns `arn`, leaving its other tags.
pub(crate) async fn tag_topic(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_sns::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.sns()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("sns:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Sns `arn`.
pub(crate) async fn untag_topic(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.sns()
        .untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("sns:UntagResource"))?;
    Ok(())
}
