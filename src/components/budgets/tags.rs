//! The tags of budgets's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const BUDGETS_GONE: Gone = Gone::codes(&["NotFoundException"]);

/// The tags of Budget `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_budget(ctx: &AwsContext, arn: &str) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.budgets().list_tags_for_resource().resource_arn(arn),
        "budgets:ListTagsForResource",
        BUDGETS_GONE,
        |o| pairs(o.resource_tags(), |t| (Some(t.key()), Some(t.value())))
    )
}

/// Sets `set` on Budget `arn`, leaving its other tags.
pub(crate) async fn tag_budget(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| {
            aws_sdk_budgets::types::ResourceTag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.budgets()
        .tag_resource()
        .resource_arn(arn)
        .set_resource_tags(Some(tags))
        .send()
        .await
        .map_err(op("budgets:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Budget `arn`.
pub(crate) async fn untag_budget(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.budgets()
        .untag_resource()
        .resource_arn(arn)
        .set_resource_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("budgets:UntagResource"))?;
    Ok(())
}
