//! The tags of rds's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const RDS_GONE: Gone = Gone::codes(&[
    "DBInstanceNotFound",
    "DBClusterNotFoundFault",
    "DBSubnetGroupNotFoundFault",
    "GlobalClusterNotFoundFault",
]);

/// The tags of Rds `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_resource(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.rds().list_tags_for_resource().resource_name(arn),
        "rds:ListTagsForResource",
        RDS_GONE,
        |o| pairs(o.tag_list(), |t| (t.key(), t.value()))
    )
}

/// Sets `set` on Rds `arn`, leaving its other tags.
pub(crate) async fn tag_resource(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
        .collect();
    ctx.rds()
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("rds:AddTagsToResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Rds `arn`.
pub(crate) async fn untag_resource(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.rds()
        .remove_tags_from_resource()
        .resource_name(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("rds:RemoveTagsFromResource"))?;
    Ok(())
}
