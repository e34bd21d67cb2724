//! The tags of ec2's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::pairs;
use crate::engine::{OpError, Tags};

/// The tags of Ec2 `id`, or None when it no longer exists.
pub(crate) async fn read_tags_resource(
    ctx: &AwsContext,
    id: &str,
) -> Result<Option<Tags>, OpError> {
    use aws_sdk_ec2::types::Filter;
    let o = ctx
        .ec2()
        .describe_tags()
        .filters(Filter::builder().name("resource-id").values(id).build())
        .send()
        .await
        .map_err(op("ec2:DescribeTags"))?;
    Ok(Some(pairs(o.tags(), |t| (t.key(), t.value()))))
}

/// Sets `set` on Ec2 `id`, leaving its other tags.
pub(crate) async fn tag_resource(ctx: &AwsContext, id: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
        .collect();
    ctx.ec2()
        .create_tags()
        .resources(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("ec2:CreateTags"))?;
    Ok(())
}

/// Removes the tags `keys` from Ec2 `id`.
pub(crate) async fn untag_resource(
    ctx: &AwsContext,
    id: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    let tags = keys
        .into_iter()
        .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build())
        .collect();
    ctx.ec2()
        .delete_tags()
        .resources(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("ec2:DeleteTags"))?;
    Ok(())
}
