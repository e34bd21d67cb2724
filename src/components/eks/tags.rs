//! The tags of eks's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{read, Gone};
use crate::engine::{OpError, Tags};

const EKS_GONE: Gone = Gone::codes(&["ResourceNotFoundException", "NotFoundException"]);

/// The tags of Eks `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_resource(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.eks().list_tags_for_resource().resource_arn(arn),
        "eks:ListTagsForResource",
        EKS_GONE,
        |o| o.tags().cloned().unwrap_or_default().into_iter().collect()
    )
}

/// Sets `set` on Eks `arn`, leaving its other tags.
pub(crate) async fn tag_resource(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    ctx.eks()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(set.clone().into_iter().collect()))
        .send()
        .await
        .map_err(op("eks:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Eks `arn`.
pub(crate) async fn untag_resource(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.eks()
        .untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("eks:UntagResource"))?;
    Ok(())
}
