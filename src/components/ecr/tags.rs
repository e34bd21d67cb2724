//! The tags of ecr's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const ECR_GONE: Gone = Gone::codes(&["RepositoryNotFoundException"]);

/// The tags of Ecr `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_repository(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.ecr().list_tags_for_resource().resource_arn(arn),
        "ecr:ListTagsForResource",
        ECR_GONE,
        |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
    )
}

/// Sets `set` on Ecr `arn`, leaving its other tags.
pub(crate) async fn tag_repository(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.ecr()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("ecr:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Ecr `arn`.
pub(crate) async fn untag_repository(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.ecr()
        .untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("ecr:UntagResource"))?;
    Ok(())
}
