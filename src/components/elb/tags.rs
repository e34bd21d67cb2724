//! The tags of elb's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const ELBV2_GONE: Gone = Gone::codes(&[
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
]);

/// The tags of Elbv2 `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_resource(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.elbv2().describe_tags().resource_arns(arn),
        "elasticloadbalancing:DescribeTags",
        ELBV2_GONE,
        |o| pairs(o.tag_descriptions().iter().flat_map(|d| d.tags()), |t| (
            t.key(),
            t.value()
        ))
    )
}

/// Sets `set` on Elbv2 `arn`, leaving its other tags.
pub(crate) async fn tag_resource(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| {
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    ctx.elbv2()
        .add_tags()
        .resource_arns(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("elasticloadbalancing:AddTags"))?;
    Ok(())
}

/// Removes the tags `keys` from Elbv2 `arn`.
pub(crate) async fn untag_resource(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.elbv2()
        .remove_tags()
        .resource_arns(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("elasticloadbalancing:RemoveTags"))?;
    Ok(())
}
