//! KMS key with its alias: one per region for a stack's encrypted data
//! (Aurora, S3). Rotation on; deletion is scheduled, never immediate.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, op, spec_tags, E};
use crate::engine::{Kind, OpError, Record, Records, Spec};
use crate::provider::AwsContext;
use aws_sdk_kms::types::{KeyState, Tag};
use serde_json::json;

/// Inputs: `alias` (`alias/...`), `description`, `rotation` (bool),
/// `deletion_window_days` (7-30).
pub struct Key;

fn key_missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::is_not_found(e)
}

impl Key {
    /// The key the alias names, unless it is scheduled for deletion.
    async fn by_alias(env: &E, alias: &str) -> Result<Option<String>, OpError> {
        let mut pages = env.ctx.kms().list_aliases().into_paginator().send();
        while let Some(p) = pages.next().await {
            for a in p.map_err(op("ListAliases"))?.aliases() {
                if a.alias_name() == Some(alias) {
                    return Ok(a.target_key_id().map(str::to_string));
                }
            }
        }
        Ok(None)
    }
    /// The key tagged with this stack's id and the component `key`, unless
    /// it is scheduled for deletion.
    async fn by_tags(env: &E, key: &str) -> Result<Option<String>, OpError> {
        use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};
        let mut pages = env.ctx.kms().list_keys().into_paginator().send();
        while let Some(p) = pages.next().await {
            for k in p.map_err(op("ListKeys"))?.keys() {
                let Some(id) = k.key_id() else { continue };
                let tags = match env.ctx.kms().list_resource_tags().key_id(id).send().await {
                    Ok(t) => t,
                    // AWS-managed keys refuse it: not ours.
                    Err(_) => continue,
                };
                let has = |k: &str, v: &str| tags.tags().iter().any(|t| t.tag_key() == k && t.tag_value() == v);
                if has(TAG_STACK_ID, &env.stack_id) && has(TAG_COMPONENT, key) {
                    let d = env.ctx.kms().describe_key().key_id(id).send().await.map_err(op("DescribeKey"))?;
                    if d.key_metadata().and_then(|m| m.key_state()) != Some(&KeyState::PendingDeletion) {
                        return Ok(Some(id.to_string()));
                    }
                }
            }
        }
        Ok(None)
    }
    async fn set_rotation(env: &E, id: &str, on: bool) -> Result<(), OpError> {
        if on {
            env.ctx.kms().enable_key_rotation().key_id(id).send().await.map_err(op("EnableKeyRotation"))?;
        } else {
            env.ctx.kms().disable_key_rotation().key_id(id).send().await.map_err(op("DisableKeyRotation"))?;
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Key {
    fn name(&self) -> &'static str {
        "kms_key"
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Kms(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["alias"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let tags = spec_tags(env, spec).into_iter().map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build()).collect::<Result<Vec<_>, _>>().map_err(bad("tag"))?;
        let o = env.ctx.kms().create_key().description(spec.str("description")).set_tags(Some(tags)).send().await.map_err(op("CreateKey"))?;
        let meta = o.key_metadata().ok_or_else(|| OpError::new("CreateKey returned no key"))?;
        let rec = Record::new(self.name(), meta.key_id(), spec.inputs.clone()).with("arn", meta.arn().unwrap_or_default());
        // From here on the key exists: every failure records it.
        Self::set_rotation(env, meta.key_id(), spec.input("rotation").as_bool().unwrap_or(true)).await.map_err(|e| e.partial(rec.clone()))?;
        env.ctx.kms().create_alias().alias_name(spec.str("alias")).target_key_id(meta.key_id()).send().await.map_err(|e| op("CreateAlias")(e).partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let o = match env.ctx.kms().describe_key().key_id(&rec.id).send().await {
            Ok(o) => o,
            Err(e) if key_missing(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeKey")(e)),
        };
        let Some(meta) = o.key_metadata() else { return Ok(None) };
        if matches!(meta.key_state(), Some(KeyState::PendingDeletion) | Some(KeyState::PendingReplicaDeletion)) {
            return Ok(None);
        }
        let mut r = rec.clone();
        let rot = env.ctx.kms().get_key_rotation_status().key_id(&rec.id).send().await.map_err(op("GetKeyRotationStatus"))?;
        r.inputs["rotation"] = json!(rot.key_rotation_enabled());
        if Self::by_alias(env, rec.inputs["alias"].as_str().unwrap_or_default()).await?.as_deref() != Some(rec.id.as_str()) {
            r.inputs["alias"] = serde_json::Value::Null;
        }
        r.outputs.insert("arn".into(), meta.arn().unwrap_or_default().to_string());
        Ok(Some(r))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        Self::set_rotation(env, &old.id, spec.input("rotation").as_bool().unwrap_or(true)).await?;
        if old.inputs["alias"].is_null() {
            // The alias was removed out of band: put it back.
            env.ctx.kms().create_alias().alias_name(spec.str("alias")).target_key_id(&old.id).send().await.map_err(op("CreateAlias"))?;
        }
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        if let Some(alias) = rec.inputs["alias"].as_str() {
            if Self::by_alias(env, alias).await?.as_deref() == Some(rec.id.as_str()) {
                match env.ctx.kms().delete_alias().alias_name(alias).send().await {
                    Ok(_) => {}
                    Err(e) if key_missing(&e) => {}
                    Err(e) => return Err(op("DeleteAlias")(e)),
                }
            }
        }
        // Scheduled, not immediate: snapshots and replicas encrypted with
        // the key stay readable during the window, and it can be cancelled.
        let days = rec.inputs["deletion_window_days"].as_i64().unwrap_or(30) as i32;
        match env.ctx.kms().schedule_key_deletion().key_id(&rec.id).pending_window_in_days(days).send().await {
            Ok(_) => Ok(()),
            Err(e) if key_missing(&e) || crate::aws::code_in(&e, &["KMSInvalidStateException"]) => Ok(()),
            Err(e) => Err(op("ScheduleKeyDeletion")(e)),
        }
    }
    /// By its alias; else (an apply interrupted between CreateKey and
    /// CreateAlias) by the stack's tags, which the key got at create.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let id = match Self::by_alias(env, spec.str("alias")).await? {
            Some(id) => Some(id),
            None => Self::by_tags(env, &spec.key).await?,
        };
        let Some(id) = id else { return Ok(None) };
        let probe = Record::new(self.name(), id, spec.inputs.clone());
        self.read(env, &probe).await
    }
}
