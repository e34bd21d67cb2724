//! The tags of iam's objects: how its tagging API reads, sets and
//! removes them (`tagging::TagRef` names the object), and how it says an
//! object is gone.

use crate::aws::AwsContext;
use crate::components::op;
use crate::components::tagging::{pairs, read, Gone};
use crate::engine::{OpError, Tags};

const IAM_GONE: Gone = Gone::codes(&["NoSuchEntity"]);

/// The tags of IamRole `name`, or None when it no longer exists.
pub(crate) async fn read_tags_role(ctx: &AwsContext, name: &str) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.iam().list_role_tags().role_name(name),
        "iam:ListRoleTags",
        IAM_GONE,
        |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
    )
}

/// Sets `set` on IamRole `name`, leaving its other tags.
pub(crate) async fn tag_role(ctx: &AwsContext, name: &str, set: &Tags) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.iam()
        .tag_role()
        .role_name(name)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("iam:TagRole"))?;
    Ok(())
}

/// Removes the tags `keys` from IamRole `name`.
pub(crate) async fn untag_role(
    ctx: &AwsContext,
    name: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.iam()
        .untag_role()
        .role_name(name)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("iam:UntagRole"))?;
    Ok(())
}

/// GetInstanceProfile carries the tags (and every endpoint answers it).
/// The tags of IamInstanceProfile `name`, or None when it no longer exists.
pub(crate) async fn read_tags_instance_profile(
    ctx: &AwsContext,
    name: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.iam().get_instance_profile().instance_profile_name(name),
        "iam:GetInstanceProfile",
        IAM_GONE,
        |o| pairs(
            o.instance_profile().map(|p| p.tags()).unwrap_or_default(),
            |t| (Some(t.key()), Some(t.value()))
        )
    )
}

/// Sets `set` on IamInstanceProfile `name`, leaving its other tags.
pub(crate) async fn tag_instance_profile(
    ctx: &AwsContext,
    name: &str,
    set: &Tags,
) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.iam()
        .tag_instance_profile()
        .instance_profile_name(name)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("iam:TagInstanceProfile"))?;
    Ok(())
}

/// Removes the tags `keys` from IamInstanceProfile `name`.
pub(crate) async fn untag_instance_profile(
    ctx: &AwsContext,
    name: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.iam()
        .untag_instance_profile()
        .instance_profile_name(name)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("iam:UntagInstanceProfile"))?;
    Ok(())
}

/// The tags of IamOidcProvider `arn`, or None when it no longer exists.
pub(crate) async fn read_tags_oidc_provider(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<Tags>, OpError> {
    read!(
        ctx.iam()
            .list_open_id_connect_provider_tags()
            .open_id_connect_provider_arn(arn),
        "iam:ListOpenIDConnectProviderTags",
        IAM_GONE,
        |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
    )
}

/// Sets `set` on IamOidcProvider `arn`, leaving its other tags.
pub(crate) async fn tag_oidc_provider(
    ctx: &AwsContext,
    arn: &str,
    set: &Tags,
) -> Result<(), OpError> {
    let each = set.iter();
    let tags = each
        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(crate::components::bad("tag"))?;
    ctx.iam()
        .tag_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(op("iam:TagOpenIDConnectProvider"))?;
    Ok(())
}

/// Removes the tags `keys` from IamOidcProvider `arn`.
pub(crate) async fn untag_oidc_provider(
    ctx: &AwsContext,
    arn: &str,
    keys: Vec<String>,
) -> Result<(), OpError> {
    ctx.iam()
        .untag_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(op("iam:UntagOpenIDConnectProvider"))?;
    Ok(())
}
