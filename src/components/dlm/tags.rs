//! The tags of dlm's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{read, Gone};
use crate::engine::{OpError, Tags};

const DLM_GONE: Gone = Gone::codes(&["ResourceNotFoundException"]);

/// The tags of Dlm `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_policy(ctx: &AwsContext, arn: &str) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.dlm().list_tags_for_resource().resource_arn(arn),
        "dlm:ListTagsForResource",
        DLM_GONE,
        |o| o.tags().cloned().unwrap_or_default().into_iter().collect()
    )
}

/// Sets `set` on Dlm `arn`, leaving its other tags.
pub(crate) async fn tag_policy(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    ctx.dlm()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(set.clone().into_iter().collect()))
        .send()
        .await
        .map_err(op("dlm:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Dlm `arn`.
pub(crate) async fn untag_policy(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.dlm()
        .untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("dlm:UntagResource"))?;
    Ok(())
}
