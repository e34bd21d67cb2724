//! The tags of kms's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const KMS_GONE: Gone = Gone::codes(&["NotFoundException"]);

/// The tags of Kms `id`, or None when it no longer exists.
pub(crate) async fn read_tags_key(ctx: &AwsContext, id: &str) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.kms().list_resource_tags().key_id(id),
        "kms:ListResourceTags",
        KMS_GONE,
        |o| pairs(o.tags(), |t| (Some(t.tag_key()), Some(t.tag_value())))
    )
}

/// Sets `set` on Kms `id`, leaving its other tags.
pub(crate) async fn tag_key(ctx: &AwsContext, id: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| {
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.kms()
        .tag_resource()
        .key_id(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("kms:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from Kms `id`.
pub(crate) async fn untag_key(
    ctx: &AwsContext,
    id: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.kms()
        .untag_resource()
        .key_id(id)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("kms:UntagResource"))?;
    Ok(())
}
