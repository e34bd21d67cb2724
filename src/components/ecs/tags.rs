//! The tags of ecs's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

/// ECS says a missing object with its generic InvalidParameterException
/// (hashicorp/aws ecs generate.go: ParentNotFoundErrCode with "The specified
/// cluster is inactive"), which it also gives for final errors ("Long arn
/// format must be used for tagging operations"): matched by message.
const ECS_GONE: Gone = Gone {
    codes: &["ClusterNotFoundException", "ServiceNotFoundException"],
    says: &[
        (
            "InvalidParameterException",
            "The specified cluster is inactive",
        ),
        (
            "InvalidParameterException",
            "The specified resource is not found",
        ),
    ],
};

/// The tags of Ecs `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_resource(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.ecs().list_tags_for_resource().resource_arn(arn),
        "ecs:ListTagsForResource",
        ECS_GONE,
        |o| pairs(o.tags(), |t| (t.key(), t.value()))
    )
}

/// Sets `set` on Ecs `arn`, leaving its other tags.
pub(crate) async fn tag_resource(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        .collect();
    ctx.ecs()
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("ecs:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Ecs `arn`.
pub(crate) async fn untag_resource(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.ecs()
        .untag_resource()
        .resource_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("ecs:UntagResource"))?;
    Ok(())
}
