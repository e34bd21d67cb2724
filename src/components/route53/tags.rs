//! The tags of route53's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const ROUTE53_GONE: Gone = Gone::codes(&["NoSuchHealthCheck"]);

/// The tags of Route53HealthCheck `id`, or None when it no longer exists.
pub(crate) async fn read_tags_health_check(
    ctx: &AwsContext,
    id: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.route53()
            .list_tags_for_resource()
            .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
            .resource_id(id),
        "route53:ListTagsForResource",
        ROUTE53_GONE,
        |o| pairs(
            o.resource_tag_set().map(|s| s.tags()).unwrap_or_default(),
            |t| (t.key(), t.value())
        )
    )
}

/// Sets `set` on Route53HealthCheck `id`, leaving its other tags.
pub(crate) async fn tag_health_check(
    ctx: &AwsContext,
    id: &str,
    set: &Tags,
) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| {
            aws_sdk_route53::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    ctx.route53()
        .change_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
        .resource_id(id)
        .set_add_tags(Some(tags))
        .send()
        .await
        .map_err(op("route53:ChangeTagsForResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Route53HealthCheck `id`.
pub(crate) async fn untag_health_check(
    ctx: &AwsContext,
    id: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.route53()
        .change_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
        .resource_id(id)
        .set_remove_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("route53:ChangeTagsForResource"))?;
    Ok(())
}
