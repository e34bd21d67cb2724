//! The tags of ssm's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

/// ListTagsForResource of a parameter that does not exist.
const SSM_GONE: Gone = Gone::codes(&["InvalidResourceId"]);

/// The tags of SsmParameter `name`, or None when it no longer exists.
pub(crate) async fn read_tags_parameter(
    ctx: &AwsContext,
    name: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.ssm()
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(name),
        "ssm:ListTagsForResource",
        SSM_GONE,
        |o| pairs(o.tag_list(), |t| (Some(t.key()), Some(t.value())))
    )
}

/// Sets `set` on SsmParameter `name`, leaving its other tags.
pub(crate) async fn tag_parameter(ctx: &AwsContext, name: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_ssm::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.ssm()
        .add_tags_to_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("ssm:AddTagsToResource"))?;
    Ok(())
}

/// Removes the tags `keys` from SsmParameter `name`.
pub(crate) async fn untag_parameter(
    ctx: &AwsContext,
    name: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.ssm()
        .remove_tags_from_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("ssm:RemoveTagsFromResource"))?;
    Ok(())
}
