//! The tags of secrets's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const SECRETS_GONE: Gone = Gone::codes(&["ResourceNotFoundException"]);

/// The tags of SecretsManager `id`, or None when it no longer exists.
pub(crate) async fn read_tags_secret(ctx: &AwsContext, id: &str) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.secrets().describe_secret().secret_id(id),
        "secretsmanager:DescribeSecret",
        SECRETS_GONE,
        |o| pairs(o.tags(), |t| (t.key(), t.value()))
    )
}

/// Sets `set` on SecretsManager `id`, leaving its other tags.
pub(crate) async fn tag_secret(ctx: &AwsContext, id: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    ctx.secrets()
        .tag_resource()
        .secret_id(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("secretsmanager:TagResource"))?;
    Ok(())
}

/// Removes the tags `keys` from SecretsManager `id`.
pub(crate) async fn untag_secret(
    ctx: &AwsContext,
    id: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.secrets()
        .untag_resource()
        .secret_id(id)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("secretsmanager:UntagResource"))?;
    Ok(())
}
