//! SSM parameters: SecureString secrets (the value travels in
//! `Spec::secret`, the record keeps only its hash) and plain String
//! parameters (the stack manifest).

use super::tagging::TagRef;
use super::Tagging;
use super::{op, sha256_hex, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{Call, Inputs, Kind, OpError, Record, Records, Spec};
use aws_sdk_ssm::types::{ParameterType, Tag};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A parameter whose secure value travels in `Spec::secret`.
pub struct Parameter;

/// hashicorp/aws ssm/parameter.go retries none of these (only its read
/// after creating an `aws:ec2:image` parameter, which SSM validates
/// asynchronously: ours are text). A parameter's tags are written by the
/// PutParameter that creates it.
const CALLS: &[Call] = &[
    Call::settled("ssm:PutParameter"),
    Call::read("ssm:GetParameter"),
    Call::settled("ssm:DeleteParameter"),
];

/// What a plan compares of a parameter: a secure value's hash, a write-only
/// value's version, or a plain value itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParameterInputs {
    pub name: String,
    /// A SecureString (its value in `Spec::secret`), else a String.
    pub secure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_sha256: Option<String>,
    /// The configuration's version of a write-only value (None: unset);
    /// the value itself leaves no trace in the records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_version: Option<f64>,
    /// A plain parameter's value (the stack manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Inputs for ParameterInputs {
    const KIND: &'static str = "ssm_parameter";
}

impl ParameterInputs {
    /// A SecureString whose records keep the hash of `value`.
    pub fn secure(name: String, value: &str) -> ParameterInputs {
        ParameterInputs {
            name,
            secure: true,
            value_sha256: Some(sha256_hex(value)),
            value_version: None,
            value: None,
        }
    }
    /// A SecureString of a write-only value, compared by `version`.
    pub fn write_only(name: String, version: Option<f64>) -> ParameterInputs {
        ParameterInputs {
            name,
            secure: true,
            value_sha256: None,
            value_version: version,
            value: None,
        }
    }
    /// A String parameter, its value in the records.
    pub fn plain(name: String, value: String) -> ParameterInputs {
        ParameterInputs {
            name,
            secure: false,
            value_sha256: None,
            value_version: None,
            value: Some(value),
        }
    }
}

crate::aws::not_found_codes!("ParameterNotFound");

fn value_of(spec: &Spec, parameter: &ParameterInputs) -> String {
    spec.secret
        .clone()
        .or_else(|| parameter.value.clone())
        .unwrap_or_default()
}

fn ptype(parameter: &ParameterInputs) -> ParameterType {
    if parameter.secure {
        ParameterType::SecureString
    } else {
        ParameterType::String
    }
}

fn arn_of(env: &E, name: &str) -> String {
    format!(
        "arn:aws:ssm:{}:{}:parameter/{}",
        env.ctx.region,
        env.ctx.account_id,
        name.trim_start_matches('/')
    )
}

async fn fetch(env: &E, name: &str) -> Result<Option<aws_sdk_ssm::types::Parameter>, OpError> {
    match env
        .ctx
        .ssm()
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(o) => Ok(Some(o.parameter().cloned().unwrap_or_else(|| {
            aws_sdk_ssm::types::Parameter::builder().build()
        }))),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("GetParameter")(e)),
    }
}

/// `rec` with the parameter's value as its inputs hold it: a secure value
/// as its hash, a write-only one (`value_version`) not at all, a plain one
/// as it is.
fn seen(rec: &Record, p: &aws_sdk_ssm::types::Parameter) -> Record {
    let mut r = rec.clone();
    let v = p.value().unwrap_or_default();
    if rec.inputs.get("value_sha256").is_some() {
        r.inputs["value_sha256"] = json!(sha256_hex(v));
    } else if rec.inputs.get("value").is_some() {
        r.inputs["value"] = json!(v);
    }
    r
}

#[tonic::async_trait]
impl Kind<AwsContext> for Parameter {
    crate::engine::typed_kind!(ParameterInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::SsmParameter(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "secure"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let tags: Vec<Tag> = spec_tags(env, spec)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let parameter: ParameterInputs = spec.typed()?;
        let name = &parameter.name;
        // Never overwrite: a parameter of that name that the engine's find
        // did not prove to be this stack's is someone else's.
        env.ctx
            .ssm()
            .put_parameter()
            .name(name)
            .value(value_of(spec, &parameter))
            .r#type(ptype(&parameter))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("PutParameter"))?;
        Ok(Record::new(self.name(), name, spec.inputs.clone()).with("arn", arn_of(env, name)))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(fetch(env, &rec.id).await?.map(|p| seen(rec, &p)))
    }
    /// Its name and type as SSM has them; its value compared as `read`
    /// compares it, and a write-only value's version standing only when
    /// the value is the configuration's (else null: the update writes it).
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        // An ARN names `/a/b` as `parameter/a/b`, and `a` as `parameter/a`.
        let name = match id
            .strip_prefix("arn:")
            .and_then(|a| a.split_once(":parameter/"))
        {
            Some((_, n)) if n.contains('/') => format!("/{n}"),
            Some((_, n)) => n.to_string(),
            None => id.to_string(),
        };
        let Some(p) = fetch(env, &name).await? else {
            return Ok(None);
        };
        let name = p.name().unwrap_or(name.as_str());
        let mut rec = seen(&Record::new(self.name(), name, spec.inputs.clone()), &p);
        rec.inputs["name"] = json!(name);
        rec.inputs["secure"] = json!(p.r#type() == Some(&ParameterType::SecureString));
        if rec.inputs.get("value_version").is_some() && spec.secret.as_deref() != p.value() {
            rec.inputs["value_version"] = json!(null);
        }
        Ok(Some(rec.with("arn", arn_of(env, name))))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let parameter: ParameterInputs = spec.typed()?;
        env.ctx
            .ssm()
            .put_parameter()
            .name(&old.id)
            .value(value_of(spec, &parameter))
            .r#type(ptype(&parameter))
            .overwrite(true)
            .send()
            .await
            .map_err(op("PutParameter"))?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.ssm().delete_parameter().name(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteParameter")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let name = spec.typed::<ParameterInputs>()?.name;
        let probe = Record::new(self.name(), &name, spec.inputs.clone());
        Ok(self
            .read(env, &probe)
            .await?
            .map(|r| r.with("arn", arn_of(env, &name))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked::{self, fault};
    use super::*;
    use aws_sdk_ssm::operation::delete_parameter::DeleteParameterError;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_smithy_mocks::{mock, Rule};

    const NAME: &str = "/kauri/prod/db-password";

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(ssm, aws_sdk_ssm, rules)
    }
    fn secret_spec() -> Spec {
        let mut s = Spec::of("param.db", &ParameterInputs::secure(NAME.into(), "s3cr3t"));
        s.secret = Some("s3cr3t".into());
        s
    }

    #[tokio::test(start_paused = true)]
    async fn create_writes_a_secure_string_and_never_overwrites() {
        let put = mock!(aws_sdk_ssm::Client::put_parameter)
            .match_requests(|r| {
                r.name() == Some(NAME)
                    && r.value() == Some("s3cr3t")
                    && r.r#type() == Some(&ParameterType::SecureString)
                    && r.overwrite() != Some(true)
            })
            .then_output(|| PutParameterOutput::builder().version(1).build());
        let r = Parameter
            .create(&over(&[&put]), &secret_spec(), &Records::new())
            .await
            .unwrap();
        assert_eq!(r.id, NAME);
        assert_eq!(
            r.out("arn"),
            "arn:aws:ssm:eu-west-1:123456789012:parameter/kauri/prod/db-password"
        );
        assert!(
            !serde_json::to_string(&r).unwrap().contains("s3cr3t"),
            "the record keeps the hash, never the value"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn read_compares_the_hash_of_the_secure_value() {
        let changed = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.with_decryption() == Some(true))
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(
                        aws_sdk_ssm::types::Parameter::builder()
                            .name(NAME)
                            .value("changed by hand")
                            .build(),
                    )
                    .build()
            });
        let rec = Record::new("ssm_parameter", NAME, secret_spec().inputs);
        let r = Parameter
            .read(&over(&[&changed]), &rec)
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            r.inputs["value_sha256"],
            json!(sha256_hex("changed by hand")),
            "a value changed out of band is drift"
        );
        assert!(!serde_json::to_string(&r)
            .unwrap()
            .contains("changed by hand"));
    }

    fn holding(ptype: ParameterType, value: &'static str) -> Rule {
        mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some(NAME) && r.with_decryption() == Some(true))
            .then_output(move || {
                GetParameterOutput::builder()
                    .parameter(
                        aws_sdk_ssm::types::Parameter::builder()
                            .name(NAME)
                            .r#type(ptype.clone())
                            .value(value)
                            .build(),
                    )
                    .build()
            })
    }

    /// Adoption: name and type (replace-only) as SSM has them, the value
    /// compared by its hash; a write-only value's version stands only
    /// when SSM holds the configuration's value.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_name_type_and_value_from_aws() {
        let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/kauri/prod/db-password";
        let get = holding(ParameterType::String, "old");
        let rec = Parameter
            .observe(&over(&[&get]), &secret_spec(), arn, &Records::new())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (rec.id.as_str(), &rec.inputs, rec.out("arn")),
            (
                NAME,
                &json!({"name": NAME, "secure": false, "value_sha256": sha256_hex("old")}),
                arn
            )
        );
        let write_only = |secret: &str| {
            let mut s = Spec::of(
                "param.db",
                &ParameterInputs::write_only(NAME.into(), Some(2.0)),
            );
            s.secret = Some(secret.into());
            s
        };
        for (secret, version) in [("old", json!(2.0)), ("new", json!(null))] {
            let get = holding(ParameterType::SecureString, "old");
            let rec = Parameter
                .observe(&over(&[&get]), &write_only(secret), NAME, &Records::new())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                rec.inputs,
                json!({"name": NAME, "secure": true, "value_version": version}),
                "{secret}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_parameter_is_gone_and_other_errors_are_errors() {
        let gone = mock!(aws_sdk_ssm::Client::get_parameter)
            .then_error(|| GetParameterError::generic(fault("ParameterNotFound")));
        assert!(Parameter
            .find(&over(&[&gone]), &secret_spec())
            .await
            .unwrap()
            .is_none());
        let denied = mock!(aws_sdk_ssm::Client::get_parameter)
            .then_error(|| GetParameterError::generic(fault("AccessDeniedException")));
        assert!(
            Parameter
                .find(&over(&[&denied]), &secret_spec())
                .await
                .is_err(),
            "unreadable is not absent"
        );

        let rec = Record::new("ssm_parameter", NAME, secret_spec().inputs);
        let deleted = mock!(aws_sdk_ssm::Client::delete_parameter)
            .then_error(|| DeleteParameterError::generic(fault("ParameterNotFound")));
        Parameter.delete(&over(&[&deleted]), &rec).await.unwrap();
        let refused = mock!(aws_sdk_ssm::Client::delete_parameter)
            .then_error(|| DeleteParameterError::generic(fault("AccessDeniedException")));
        assert!(Parameter.delete(&over(&[&refused]), &rec).await.is_err());
    }
}
mod tags;
pub(crate) use tags::*;
