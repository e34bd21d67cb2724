//! KMS key with its alias: one per region for a stack's encrypted data
//! (Aurora, S3). Rotation on; deletion is scheduled, never immediate.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{Call, Inputs, Kind, NotYet, OpError, Record, Records, Spec};
use aws_sdk_kms::types::{KeyState, Tag};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// A symmetric key found by its alias.
pub struct Key;

/// hashicorp/aws's `keyRotationUpdatedTimeout`: how long KMS may take to
/// find a key just created from its rotation and alias calls.
const KEY_PROPAGATION: Duration = Duration::from_secs(600);
/// A key just created is not yet found by the calls that follow it.
const KEY_NOT_FOUND: NotYet = NotYet::code("NotFoundException", "Key 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist");
/// Nor yet seen enabled by the rotation calls.
const KEY_DISABLED: NotYet = NotYet::code(
    "DisabledException",
    "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab is disabled.",
);
/// Rotation turned on right after CreateKey (or by an update); its
/// DisableKeyRotation twin likewise.
const ENABLE_ROTATION: Call = Call::retrying("kms:EnableKeyRotation", KEY_PROPAGATION, &[KEY_NOT_FOUND, KEY_DISABLED])
    .why("hashicorp/aws kms/key.go updateKeyRotationEnabled: NotFoundException and DisabledException for keyRotationUpdatedTimeout (10 minutes)");
const DISABLE_ROTATION: Call = Call::retrying("kms:DisableKeyRotation", KEY_PROPAGATION, &[KEY_NOT_FOUND, KEY_DISABLED])
    .why("hashicorp/aws kms/key.go updateKeyRotationEnabled: NotFoundException and DisabledException for keyRotationUpdatedTimeout (10 minutes)");
/// The alias of a key created a moment before.
const CREATE_ALIAS: Call = Call::retrying("kms:CreateAlias", KEY_PROPAGATION, &[KEY_NOT_FOUND])
    .why("hashicorp/aws kms/alias.go resourceAliasCreate: NotFoundException for keyRotationUpdatedTimeout (10 minutes)");
const CALLS: &[Call] = &[
    Call::settled("kms:CreateKey"),
    ENABLE_ROTATION,
    DISABLE_ROTATION,
    CREATE_ALIAS,
    Call::read("kms:DescribeKey"),
    Call::read("kms:GetKeyRotationStatus"),
    Call::read("kms:ListAliases"),
    Call::read("kms:ListKeys"),
    Call::read("kms:ListResourceTags"),
    Call::settled("kms:UpdateKeyDescription"),
    Call::settled("kms:DeleteAlias"),
    Call::settled("kms:ScheduleKeyDeletion"),
];

/// What a key is called, and how it rotates and goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyInputs {
    /// `alias/...`. A record's is null when the alias was removed out of
    /// band (drift: put back).
    pub alias: String,
    pub description: String,
    /// Yearly automatic rotation.
    pub rotation: bool,
    /// Days (7-30) between a destroy and the key's deletion (None: 30, the
    /// longest AWS allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_window_days: Option<i32>,
}

impl Inputs for KeyInputs {
    const KIND: &'static str = "kms_key";
}

fn key_missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
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
                let has = |k: &str, v: &str| {
                    tags.tags()
                        .iter()
                        .any(|t| t.tag_key() == k && t.tag_value() == v)
                };
                if has(TAG_STACK_ID, &env.stack_id) && has(TAG_COMPONENT, key) {
                    let d = env
                        .ctx
                        .kms()
                        .describe_key()
                        .key_id(id)
                        .send()
                        .await
                        .map_err(op("DescribeKey"))?;
                    if d.key_metadata().and_then(|m| m.key_state())
                        != Some(&KeyState::PendingDeletion)
                    {
                        return Ok(Some(id.to_string()));
                    }
                }
            }
        }
        Ok(None)
    }
    /// The aliases that name the key `id`, sorted.
    async fn aliases_of(env: &E, id: &str) -> Result<Vec<String>, OpError> {
        let mut out = vec![];
        let mut pages = env
            .ctx
            .kms()
            .list_aliases()
            .key_id(id)
            .into_paginator()
            .send();
        while let Some(p) = pages.next().await {
            for a in p.map_err(op("ListAliases"))?.aliases() {
                // ListAliases filtered by key: an endpoint that ignores the
                // filter lists every alias.
                if a.target_key_id() == Some(id) {
                    out.extend(a.alias_name().map(str::to_string));
                }
            }
        }
        out.sort();
        Ok(out)
    }
    async fn set_rotation(env: &E, id: &str, on: bool) -> Result<(), OpError> {
        let kms = env.ctx.kms();
        if on {
            env.call(&ENABLE_ROTATION, || {
                kms.enable_key_rotation().key_id(id).send()
            })
            .await
            .map_err(failed)?;
        } else {
            env.call(&DISABLE_ROTATION, || {
                kms.disable_key_rotation().key_id(id).send()
            })
            .await
            .map_err(failed)?;
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Key {
    crate::engine::typed_kind!(KeyInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Kms(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["alias"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["alias"]
    }
    /// A key named by its id, its ARN, or an alias (`alias/x`, or its
    /// ARN): a symmetric, enabled, customer-managed key with key material
    /// from KMS (which rotates), and with an alias (the stack finds its key
    /// by its alias; the one the configuration gives, else the one the
    /// adoption names, else the first). Its description follows the
    /// stack's in place.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyUsageType, OriginType};
        let o = match env.ctx.kms().describe_key().key_id(id).send().await {
            Ok(o) => o,
            Err(e) if key_missing(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeKey")(e)),
        };
        let Some(meta) = o.key_metadata() else {
            return Ok(None);
        };
        let refuse = |why: &str| Err(OpError::new(why));
        if meta.key_manager() == Some(&KeyManagerType::Aws) {
            return refuse("it is an AWS managed key; the stack's key is a customer managed key");
        }
        if meta
            .key_spec()
            .is_some_and(|s| s != &KeySpec::SymmetricDefault)
            || meta
                .key_usage()
                .is_some_and(|u| u != &KeyUsageType::EncryptDecrypt)
        {
            return refuse(&format!(
                "it is a {} key for {}; the stack's encrypts data: a symmetric (SYMMETRIC_DEFAULT) ENCRYPT_DECRYPT key",
                meta.key_spec().map_or("?", |s| s.as_str()),
                meta.key_usage().map_or("?", |u| u.as_str())
            ));
        }
        if meta.origin().is_some_and(|o| o != &OriginType::AwsKms) {
            return refuse(&format!(
                "its key material comes from {}, which KMS cannot rotate; the stack's key rotates",
                meta.origin().map_or("?", |o| o.as_str())
            ));
        }
        match meta.key_state() {
            None | Some(KeyState::Enabled) => {}
            Some(KeyState::PendingDeletion) | Some(KeyState::PendingReplicaDeletion) => {
                return refuse(
                    "it is scheduled for deletion: cancel the deletion (aws kms cancel-key-deletion, then enable-key) before the move",
                )
            }
            Some(s) => {
                return refuse(&format!(
                    "it is {}: enable it (aws kms enable-key) before the move",
                    s.as_str()
                ))
            }
        }
        let key_id = meta.key_id();
        let aliases = Self::aliases_of(env, key_id).await?;
        let wanted = [spec.inputs["alias"].as_str(), Some(id)];
        let Some(alias) = wanted
            .into_iter()
            .flatten()
            .find(|a| aliases.iter().any(|x| x == a))
            .or(aliases.first().map(String::as_str))
        else {
            return refuse(&format!(
                "it has no alias, and the stack finds its key by one: give it one (aws kms create-alias --alias-name {} --target-key-id {key_id}), then adopt it",
                spec.inputs["alias"].as_str().unwrap_or("alias/...")
            ));
        };
        let rotation = env
            .ctx
            .kms()
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .map_err(op("GetKeyRotationStatus"))?;
        let mut inputs = json!({
            "alias": alias,
            "description": meta.description().unwrap_or_default(),
            "rotation": rotation.key_rotation_enabled(),
        });
        // Read at the delete only: AWS holds nothing of it before.
        if let Some(days) = spec.inputs.get("deletion_window_days") {
            inputs["deletion_window_days"] = days.clone();
        }
        Ok(Some(
            Record::new(self.name(), key_id, inputs).with("arn", meta.arn().unwrap_or_default()),
        ))
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let key: KeyInputs = spec.typed()?;
        let tags = spec_tags(env, spec)
            .into_iter()
            .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad("tag"))?;
        let o = env
            .ctx
            .kms()
            .create_key()
            .description(&key.description)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateKey"))?;
        let meta = o
            .key_metadata()
            .ok_or_else(|| OpError::new("CreateKey returned no key"))?;
        let rec = Record::new(self.name(), meta.key_id(), spec.inputs.clone())
            .with("arn", meta.arn().unwrap_or_default());
        // From here on the key exists: every failure records it.
        Self::set_rotation(env, meta.key_id(), key.rotation)
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        let kms = env.ctx.kms();
        env.call(&CREATE_ALIAS, || {
            kms.create_alias()
                .alias_name(&key.alias)
                .target_key_id(meta.key_id())
                .send()
        })
        .await
        .map_err(|e| failed(e).partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let o = match env.ctx.kms().describe_key().key_id(&rec.id).send().await {
            Ok(o) => o,
            Err(e) if key_missing(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeKey")(e)),
        };
        let Some(meta) = o.key_metadata() else {
            return Ok(None);
        };
        if matches!(
            meta.key_state(),
            Some(KeyState::PendingDeletion) | Some(KeyState::PendingReplicaDeletion)
        ) {
            return Ok(None);
        }
        let mut r = rec.clone();
        let rot = env
            .ctx
            .kms()
            .get_key_rotation_status()
            .key_id(&rec.id)
            .send()
            .await
            .map_err(op("GetKeyRotationStatus"))?;
        r.inputs["rotation"] = json!(rot.key_rotation_enabled());
        if Self::by_alias(env, rec.inputs["alias"].as_str().unwrap_or_default())
            .await?
            .as_deref()
            != Some(rec.id.as_str())
        {
            r.inputs["alias"] = serde_json::Value::Null;
        }
        r.outputs
            .insert("arn".into(), meta.arn().unwrap_or_default().to_string());
        Ok(Some(r))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let key: KeyInputs = spec.typed()?;
        Self::set_rotation(env, &old.id, key.rotation).await?;
        // Only an adopted key has another description than the stack's.
        if old.inputs["description"].as_str() != Some(key.description.as_str()) {
            env.ctx
                .kms()
                .update_key_description()
                .key_id(&old.id)
                .description(&key.description)
                .send()
                .await
                .map_err(op("UpdateKeyDescription"))?;
        }
        if old.inputs["alias"].is_null() {
            // The alias was removed out of band: put it back.
            let kms = env.ctx.kms();
            env.call(&CREATE_ALIAS, || {
                kms.create_alias()
                    .alias_name(&key.alias)
                    .target_key_id(&old.id)
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
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
        // (Read from the record as JSON: its alias may be null.)
        let days = rec.inputs["deletion_window_days"]
            .as_i64()
            .map_or(30, |d| d as i32);
        match env
            .ctx
            .kms()
            .schedule_key_deletion()
            .key_id(&rec.id)
            .pending_window_in_days(days)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if key_missing(&e) || crate::aws::code_in(&e, &["KMSInvalidStateException"]) => {
                Ok(())
            }
            Err(e) => Err(op("ScheduleKeyDeletion")(e)),
        }
    }
    /// By its alias; else (an apply interrupted between CreateKey and
    /// CreateAlias) by the stack's tags, which the key got at create.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let id = match Self::by_alias(env, &spec.typed::<KeyInputs>()?.alias).await? {
            Some(id) => Some(id),
            None => Self::by_tags(env, &spec.key).await?,
        };
        let Some(id) = id else { return Ok(None) };
        let probe = Record::new(self.name(), id, spec.inputs.clone());
        self.read(env, &probe).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked::{self, fault};
    use super::*;
    use aws_sdk_kms::operation::delete_alias::DeleteAliasOutput;
    use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
    use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
    use aws_sdk_kms::operation::list_aliases::ListAliasesOutput;
    use aws_sdk_kms::operation::list_keys::ListKeysOutput;
    use aws_sdk_kms::operation::list_resource_tags::{
        ListResourceTagsError, ListResourceTagsOutput,
    };
    use aws_sdk_kms::operation::schedule_key_deletion::{
        ScheduleKeyDeletionError, ScheduleKeyDeletionOutput,
    };
    use aws_sdk_kms::types::{AliasListEntry, KeyListEntry, KeyMetadata};
    use aws_smithy_mocks::{mock, Rule};

    const ALIAS: &str = "alias/luneo-prod-aurora";

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(kms, aws_sdk_kms, rules)
    }
    fn spec() -> Spec {
        Spec::new(
            "kms.aurora",
            "kms_key",
            json!({"alias": ALIAS, "description": "Aurora", "rotation": true, "deletion_window_days": 7}),
        )
    }
    fn aliases(target: &'static str) -> impl Fn() -> ListAliasesOutput + Send + Sync {
        move || {
            ListAliasesOutput::builder()
                .aliases(
                    AliasListEntry::builder()
                        .alias_name("alias/luneo-prod-aurora-old")
                        .target_key_id("k-other")
                        .build(),
                )
                .aliases(
                    AliasListEntry::builder()
                        .alias_name(ALIAS)
                        .target_key_id(target)
                        .build(),
                )
                .build()
        }
    }
    fn described(state: KeyState) -> impl Fn() -> DescribeKeyOutput + Send + Sync {
        move || {
            DescribeKeyOutput::builder()
                .key_metadata(
                    KeyMetadata::builder()
                        .key_id("k-1")
                        .arn("arn:aws:kms:eu-west-1:123456789012:key/k-1")
                        .key_state(state.clone())
                        .build()
                        .unwrap(),
                )
                .build()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn found_by_its_alias_with_rotation_drift_shown() {
        let list = mock!(aws_sdk_kms::Client::list_aliases).then_output(aliases("k-1"));
        let describe = mock!(aws_sdk_kms::Client::describe_key)
            .match_requests(|r| r.key_id() == Some("k-1"))
            .then_output(described(KeyState::Enabled));
        let rotation = mock!(aws_sdk_kms::Client::get_key_rotation_status).then_output(|| {
            GetKeyRotationStatusOutput::builder()
                .key_rotation_enabled(false)
                .build()
        });
        let again = mock!(aws_sdk_kms::Client::list_aliases).then_output(aliases("k-1"));
        let r = Key
            .find(&over(&[&list, &describe, &rotation, &again]), &spec())
            .await
            .unwrap()
            .expect("the aliased key");
        assert_eq!(r.id, "k-1");
        assert_eq!(
            r.inputs["rotation"],
            json!(false),
            "rotation turned off out of band is drift"
        );
        assert_eq!(r.inputs["alias"], json!(ALIAS));
        assert_eq!(r.out("arn"), "arn:aws:kms:eu-west-1:123456789012:key/k-1");
    }

    /// A hand-made key as DescribeKey shows it (asked by `asked`).
    fn hand_made(
        asked: &'static str,
        state: KeyState,
        manager: aws_sdk_kms::types::KeyManagerType,
    ) -> Rule {
        mock!(aws_sdk_kms::Client::describe_key)
            .match_requests(move |r| r.key_id() == Some(asked))
            .then_output(move || {
                DescribeKeyOutput::builder()
                    .key_metadata(
                        KeyMetadata::builder()
                            .key_id("k-9")
                            .arn("arn:aws:kms:eu-west-1:123456789012:key/k-9")
                            .description("team data")
                            .key_state(state.clone())
                            .key_manager(manager.clone())
                            .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
                            .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
                            .origin(aws_sdk_kms::types::OriginType::AwsKms)
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
    }
    /// ListAliases of the key k-9: `names`.
    fn aliases_of_k9(names: &'static [&'static str]) -> Rule {
        mock!(aws_sdk_kms::Client::list_aliases)
            .match_requests(|r| r.key_id() == Some("k-9"))
            .then_output(move || {
                let mut o = ListAliasesOutput::builder();
                for n in names {
                    o = o.aliases(
                        AliasListEntry::builder()
                            .alias_name(*n)
                            .target_key_id("k-9")
                            .build(),
                    );
                }
                o.build()
            })
    }

    /// Adoption: the alias (kept), description and rotation as AWS has
    /// them, whichever way the key is named; the deletion window, which
    /// AWS holds nowhere before a delete, is the configuration's.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_alias_description_and_rotation_from_aws() {
        use aws_sdk_kms::types::KeyManagerType;
        let describe = hand_made(
            "alias/team-data",
            KeyState::Enabled,
            KeyManagerType::Customer,
        );
        let aliases = aliases_of_k9(&["alias/old", "alias/team-data"]);
        let rotation = mock!(aws_sdk_kms::Client::get_key_rotation_status)
            .match_requests(|r| r.key_id() == Some("k-9"))
            .then_output(|| {
                GetKeyRotationStatusOutput::builder()
                    .key_rotation_enabled(false)
                    .build()
            });
        let r = Key
            .observe(
                &over(&[&describe, &aliases, &rotation]),
                &spec(),
                "alias/team-data",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "k-9", "recorded by its key id, as create does");
        assert_eq!(
            r.inputs,
            json!({"alias": "alias/team-data", "description": "team data", "rotation": false, "deletion_window_days": 7}),
            "the alias the adoption names, of the key's two"
        );
        assert_eq!(r.out("arn"), "arn:aws:kms:eu-west-1:123456789012:key/k-9");
        assert!(r.typed::<KeyInputs>().is_ok());
        assert_eq!(Key.kept_fields(), &["alias"]);

        // The configuration's alias wins when the key has it.
        let describe = hand_made("k-9", KeyState::Enabled, KeyManagerType::Customer);
        let aliases = aliases_of_k9(&["alias/a", ALIAS]);
        let rotation = mock!(aws_sdk_kms::Client::get_key_rotation_status).then_output(|| {
            GetKeyRotationStatusOutput::builder()
                .key_rotation_enabled(true)
                .build()
        });
        let r = Key
            .observe(
                &over(&[&describe, &aliases, &rotation]),
                &spec(),
                "k-9",
                &Records::new(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.inputs["alias"], json!(ALIAS));

        let gone = mock!(aws_sdk_kms::Client::describe_key).then_error(|| {
            aws_sdk_kms::operation::describe_key::DescribeKeyError::generic(fault(
                "NotFoundException",
            ))
        });
        assert!(Key
            .observe(&over(&[&gone]), &spec(), "k-0", &Records::new())
            .await
            .unwrap()
            .is_none());
    }

    /// A key that cannot become the stack's is refused, each with why.
    #[tokio::test(start_paused = true)]
    async fn observe_refuses_a_key_without_alias_managed_by_aws_or_not_enabled() {
        use aws_sdk_kms::types::KeyManagerType;
        let refused = |rules: &[&Rule]| {
            let env = over(rules);
            async move {
                Key.observe(&env, &spec(), "k-9", &Records::new())
                    .await
                    .unwrap_err()
                    .message
            }
        };
        let (describe, none) = (
            hand_made("k-9", KeyState::Enabled, KeyManagerType::Customer),
            aliases_of_k9(&[]),
        );
        let e = refused(&[&describe, &none]).await;
        assert!(e.contains("it has no alias") && e.contains(ALIAS), "{e}");
        let managed = hand_made("k-9", KeyState::Enabled, KeyManagerType::Aws);
        let e = refused(&[&managed]).await;
        assert!(e.contains("AWS managed key"), "{e}");
        let pending = hand_made("k-9", KeyState::PendingDeletion, KeyManagerType::Customer);
        let e = refused(&[&pending]).await;
        assert!(e.contains("scheduled for deletion"), "{e}");
        let disabled = hand_made("k-9", KeyState::Disabled, KeyManagerType::Customer);
        let e = refused(&[&disabled]).await;
        assert!(e.contains("it is Disabled"), "{e}");
    }

    /// An adopted key's description becomes the stack's in place; the
    /// stack's own key (the same description) is not touched.
    #[tokio::test(start_paused = true)]
    async fn update_sets_the_description_only_when_it_differs() {
        use aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput;
        use aws_sdk_kms::operation::update_key_description::UpdateKeyDescriptionOutput;
        let mut adopted = Record::new("kms_key", "k-9", spec().inputs);
        adopted.inputs["description"] = json!("team data");
        let rotation = mock!(aws_sdk_kms::Client::enable_key_rotation)
            .then_output(|| EnableKeyRotationOutput::builder().build());
        let describe = mock!(aws_sdk_kms::Client::update_key_description)
            .match_requests(|r| r.key_id() == Some("k-9") && r.description() == Some("Aurora"))
            .then_output(|| UpdateKeyDescriptionOutput::builder().build());
        let r = Key
            .update(
                &over(&[&rotation, &describe]),
                &spec(),
                &adopted,
                &Records::new(),
            )
            .await
            .unwrap();
        assert_eq!(describe.num_calls(), 1);
        assert_eq!(r.inputs["description"], json!("Aurora"));
        // Played in order: an UpdateKeyDescription would find no rule.
        let rotation = mock!(aws_sdk_kms::Client::enable_key_rotation)
            .then_output(|| EnableKeyRotationOutput::builder().build());
        Key.update(&over(&[&rotation]), &spec(), &r, &Records::new())
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_pending_deletion_is_gone_not_adopted() {
        let list = mock!(aws_sdk_kms::Client::list_aliases).then_output(aliases("k-1"));
        let describe = mock!(aws_sdk_kms::Client::describe_key)
            .then_output(described(KeyState::PendingDeletion));
        assert!(Key
            .find(&over(&[&list, &describe]), &spec())
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn without_its_alias_only_a_key_tagged_by_this_stack_and_component_is_found() {
        use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};
        let tag = |k: &str, v: &str| {
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .unwrap()
        };
        let no_alias = mock!(aws_sdk_kms::Client::list_aliases)
            .then_output(|| ListAliasesOutput::builder().build());
        let keys = mock!(aws_sdk_kms::Client::list_keys).then_output(|| {
            ListKeysOutput::builder()
                .keys(KeyListEntry::builder().key_id("k-aws").build())
                .keys(KeyListEntry::builder().key_id("k-theirs").build())
                .keys(KeyListEntry::builder().key_id("k-1").build())
                .build()
        });
        // An AWS-managed key refuses ListResourceTags: skipped, not an error.
        let managed = mock!(aws_sdk_kms::Client::list_resource_tags)
            .then_error(|| ListResourceTagsError::generic(fault("AccessDeniedException")));
        // Another stack's key for the same component key is foreign.
        let theirs = mock!(aws_sdk_kms::Client::list_resource_tags).then_output(move || {
            ListResourceTagsOutput::builder()
                .tags(tag(TAG_STACK_ID, "other"))
                .tags(tag(TAG_COMPONENT, "kms.aurora"))
                .build()
        });
        let ours = mock!(aws_sdk_kms::Client::list_resource_tags).then_output(move || {
            ListResourceTagsOutput::builder()
                .tags(tag(TAG_STACK_ID, "s"))
                .tags(tag(TAG_COMPONENT, "kms.aurora"))
                .build()
        });
        let pending =
            mock!(aws_sdk_kms::Client::describe_key).then_output(described(KeyState::Enabled));
        let read =
            mock!(aws_sdk_kms::Client::describe_key).then_output(described(KeyState::Enabled));
        let rotation = mock!(aws_sdk_kms::Client::get_key_rotation_status).then_output(|| {
            GetKeyRotationStatusOutput::builder()
                .key_rotation_enabled(true)
                .build()
        });
        let still_no_alias = mock!(aws_sdk_kms::Client::list_aliases)
            .then_output(|| ListAliasesOutput::builder().build());
        let env = over(&[
            &no_alias,
            &keys,
            &managed,
            &theirs,
            &ours,
            &pending,
            &read,
            &rotation,
            &still_no_alias,
        ]);
        let r = Key
            .find(&env, &spec())
            .await
            .unwrap()
            .expect("the stack's own key");
        assert_eq!(r.id, "k-1");
        assert!(
            r.inputs["alias"].is_null(),
            "the alias is missing: the plan puts it back"
        );
        assert_eq!(theirs.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn delete_drops_only_its_own_alias_and_schedules_the_key_never_immediately() {
        let rec = Record::new("kms_key", "k-1", spec().inputs);
        // The alias now names another key: it is left alone.
        // The rules are played in order: a DeleteAlias here would meet the
        // ScheduleKeyDeletion rule and fail the test.
        let moved = mock!(aws_sdk_kms::Client::list_aliases).then_output(aliases("k-2"));
        let schedule = mock!(aws_sdk_kms::Client::schedule_key_deletion)
            .match_requests(|r| r.key_id() == Some("k-1") && r.pending_window_in_days() == Some(7))
            .then_output(|| ScheduleKeyDeletionOutput::builder().build());
        Key.delete(&over(&[&moved, &schedule]), &rec).await.unwrap();
        assert_eq!(schedule.num_calls(), 1);

        // Ours: deleted first; the key already scheduled counts as done.
        let mine = mock!(aws_sdk_kms::Client::list_aliases).then_output(aliases("k-1"));
        let drop_alias = mock!(aws_sdk_kms::Client::delete_alias)
            .match_requests(|r| r.alias_name() == Some(ALIAS))
            .then_output(|| DeleteAliasOutput::builder().build());
        let already = mock!(aws_sdk_kms::Client::schedule_key_deletion)
            .then_error(|| ScheduleKeyDeletionError::generic(fault("KMSInvalidStateException")));
        Key.delete(&over(&[&mine, &drop_alias, &already]), &rec)
            .await
            .unwrap();
        assert_eq!(drop_alias.num_calls(), 1);

        let denied = mock!(aws_sdk_kms::Client::list_aliases).then_output(aliases("k-2"));
        let refused = mock!(aws_sdk_kms::Client::schedule_key_deletion)
            .then_error(|| ScheduleKeyDeletionError::generic(fault("AccessDeniedException")));
        assert!(
            Key.delete(&over(&[&denied, &refused]), &rec).await.is_err(),
            "a refused deletion is not a success"
        );
    }

    /// A key just created is not yet found by its rotation and alias calls:
    /// the declared NotFoundException is retried until they pass. An alias
    /// another key holds is no such delay: it fails at once, and the key
    /// that was created is recorded.
    #[tokio::test(start_paused = true)]
    async fn create_waits_for_the_new_key_to_be_found_but_not_past_an_undeclared_error() {
        use aws_sdk_kms::operation::create_alias::{CreateAliasError, CreateAliasOutput};
        use aws_sdk_kms::operation::create_key::CreateKeyOutput;
        use aws_sdk_kms::operation::enable_key_rotation::{
            EnableKeyRotationError, EnableKeyRotationOutput,
        };
        use aws_smithy_types::error::ErrorMetadata;
        const NOT_FOUND: &str = "Key 'arn:aws:kms:eu-west-1:123456789012:key/k-1' does not exist";
        let meta = |code: &'static str, message: &'static str| {
            ErrorMetadata::builder().code(code).message(message).build()
        };
        let created = || {
            mock!(aws_sdk_kms::Client::create_key).then_output(|| {
                CreateKeyOutput::builder()
                    .key_metadata(
                        KeyMetadata::builder()
                            .key_id("k-1")
                            .arn("arn:aws:kms:eu-west-1:123456789012:key/k-1")
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
        };
        let key = created();
        let rotation = mock!(aws_sdk_kms::Client::enable_key_rotation)
            .sequence()
            .error(move || EnableKeyRotationError::generic(meta("NotFoundException", NOT_FOUND)))
            .output(|| EnableKeyRotationOutput::builder().build())
            .build();
        let alias = mock!(aws_sdk_kms::Client::create_alias)
            .sequence()
            .error(move || CreateAliasError::generic(meta("NotFoundException", NOT_FOUND)))
            .output(|| CreateAliasOutput::builder().build())
            .build();
        let rec = Key
            .create(&over(&[&key, &rotation, &alias]), &spec(), &Records::new())
            .await
            .unwrap();
        assert_eq!(rec.id, "k-1");
        assert_eq!(
            (rotation.num_calls(), alias.num_calls()),
            (2, 2),
            "NotFoundException is retried on both"
        );

        let key = created();
        let rotation = mock!(aws_sdk_kms::Client::enable_key_rotation)
            .then_output(|| EnableKeyRotationOutput::builder().build());
        const TAKEN: &str = "An alias with the name arn:aws:kms:eu-west-1:123456789012:alias/luneo-prod-aurora already exists";
        let taken = mock!(aws_sdk_kms::Client::create_alias)
            .then_error(move || CreateAliasError::generic(meta("AlreadyExistsException", TAKEN)));
        let e = Key
            .create(&over(&[&key, &rotation, &taken]), &spec(), &Records::new())
            .await
            .unwrap_err();
        assert_eq!(taken.num_calls(), 1, "an undeclared error is not retried");
        assert_eq!(
            e.partial.map(|r| r.id).as_deref(),
            Some("k-1"),
            "the key exists: it is recorded"
        );
    }
}
mod tags;
pub(crate) use tags::*;
