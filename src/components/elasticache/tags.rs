//! The tags of elasticache's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const ELASTICACHE_GONE: Gone = Gone::codes(&[
    "CacheClusterNotFound",
    "ReplicationGroupNotFoundFault",
    "CacheSubnetGroupNotFoundFault",
]);

/// The tags of ElastiCache `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_resource(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.elasticache()
            .list_tags_for_resource()
            .resource_name(arn),
        "elasticache:ListTagsForResource",
        ELASTICACHE_GONE,
        |o| pairs(o.tag_list(), |t| (t.key(), t.value()))
    )
}

/// Sets `set` on ElastiCache `arn`, leaving its other tags.
pub(crate) async fn tag_resource(ctx: &AwsContext, arn: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| {
            aws_sdk_elasticache::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    ctx.elasticache()
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("elasticache:AddTagsToResource"))?;
    Ok(())
}

/// Removes the tags `keys` from ElastiCache `arn`.
pub(crate) async fn untag_resource(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.elasticache()
        .remove_tags_from_resource()
        .resource_name(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("elasticache:RemoveTagsFromResource"))?;
    Ok(())
}
