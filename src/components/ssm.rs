//! SSM parameters: SecureString secrets (the value travels in
//! `Spec::secret`, the record keeps only its hash) and plain String
//! parameters (the stack manifest).

use super::tagging::TagRef;
use super::Tagging;
use super::{op, sha256_hex, spec_tags, E};
use crate::engine::{Kind, OpError, Record, Records, Spec};
use crate::provider::AwsContext;
use aws_sdk_ssm::types::{ParameterType, Tag};
use serde_json::json;

/// Inputs: `name`, `secure` (bool), and `value_sha256` or, for a
/// write-only value, `value_version` (what a plan compares); the value
/// itself in `Spec::secret` (or `value` for non-secure parameters).
pub struct Parameter;

crate::aws::not_found_codes!("ParameterNotFound");

fn value_of(spec: &Spec) -> String {
    spec.secret.clone().or_else(|| spec.input("value").as_str().map(str::to_string)).unwrap_or_default()
}

fn ptype(spec: &Spec) -> ParameterType {
    if spec.input("secure").as_bool().unwrap_or(true) {
        ParameterType::SecureString
    } else {
        ParameterType::String
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Parameter {
    fn name(&self) -> &'static str {
        "ssm_parameter"
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::SsmParameter(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "secure"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let tags: Vec<Tag> = spec_tags(env, spec).into_iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
        let name = spec.str("name");
        // Never overwrite: a parameter of that name that the engine's find
        // did not prove to be this stack's is someone else's.
        env.ctx.ssm().put_parameter().name(name).value(value_of(spec)).r#type(ptype(spec)).set_tags(Some(tags)).send().await.map_err(op("PutParameter"))?;
        let arn = format!("arn:aws:ssm:{}:{}:parameter/{}", env.ctx.region, env.ctx.account_id, name.trim_start_matches('/'));
        Ok(Record::new(self.name(), name, spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ssm().get_parameter().name(&rec.id).with_decryption(true).send().await {
            Ok(o) => {
                let mut r = rec.clone();
                let v = o.parameter().and_then(|p| p.value()).unwrap_or_default();
                // A secure value is recorded as its hash, a write-only one
                // (`value_version`) not at all, a plain one as it is.
                if rec.inputs.get("value_sha256").is_some() {
                    r.inputs["value_sha256"] = json!(sha256_hex(v));
                } else if rec.inputs.get("value").is_some() {
                    r.inputs["value"] = json!(v);
                }
                Ok(Some(r))
            }
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("GetParameter")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        env.ctx.ssm().put_parameter().name(&old.id).value(value_of(spec)).r#type(ptype(spec)).overwrite(true).send().await.map_err(op("PutParameter"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.ssm().delete_parameter().name(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteParameter")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("name"), spec.inputs.clone());
        Ok(self.read(env, &probe).await?.map(|r| {
            let arn = format!("arn:aws:ssm:{}:{}:parameter/{}", env.ctx.region, env.ctx.account_id, spec.str("name").trim_start_matches('/'));
            r.with("arn", arn)
        }))
    }
}
