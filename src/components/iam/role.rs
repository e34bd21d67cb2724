//! role.

use super::*;
use crate::engine::{Inputs, Template};
use serde::{Deserialize, Serialize};

/// An IAM role with the managed policies the stack attaches and one inline
/// policy (`awsstack`).
pub struct Role;

/// A trust policy that names a principal IAM does not see yet (the OIDC
/// provider of a cluster made a moment before, for IRSA; a role just
/// created) is refused as malformed until the principal propagates.
const INVALID_PRINCIPAL: NotYet = NotYet::message(
    "MalformedPolicyDocument",
    "Invalid principal in policy",
    "Invalid principal in policy: \"Federated\":\"arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE\"",
);
/// The role's own create, with its trust policy.
const CREATE: Call = Call::retrying("iam:CreateRole", PROPAGATION, &[INVALID_PRINCIPAL, CONCURRENT])
    .why("hashicorp/aws iam/role.go retryCreateRole: MalformedPolicyDocument 'Invalid principal in policy' and ConcurrentModification for propagationTimeout");
/// The same on a trust policy replaced by an update.
const UPDATE_TRUST: Call = Call::retrying("iam:UpdateAssumeRolePolicy", PROPAGATION, &[INVALID_PRINCIPAL])
    .why("hashicorp/aws iam/role.go resourceRoleUpdate: MalformedPolicyDocument 'Invalid principal in policy' for propagationTimeout");
/// IAM refuses a second change to a role's attachments while one is under way.
const ATTACH: Call = Call::retrying("iam:AttachRolePolicy", PROPAGATION, &[CONCURRENT])
    .why("hashicorp/aws iam/role_policy_attachment.go attachPolicyToRole: ConcurrentModification for propagationTimeout");
/// The same on a detach.
const DETACH: Call = Call::retrying("iam:DetachRolePolicy", PROPAGATION, &[CONCURRENT])
    .why("hashicorp/aws iam/role_policy_attachment.go detachPolicyFromRole: ConcurrentModification for propagationTimeout");
/// The policies and instance profiles just detached from the role take a
/// moment to let go of it.
const DELETE: Call = Call::retrying(
    "iam:DeleteRole",
    PROPAGATION,
    &[NotYet::code(
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
    )],
)
.why("hashicorp/aws iam/role.go deleteRole: DeleteConflict for propagationTimeout");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("iam:GetRole"),
    Call::read("iam:ListAttachedRolePolicies"),
    ATTACH,
    DETACH,
    Call::settled("iam:PutRolePolicy"),
    Call::settled("iam:DeleteRolePolicy"),
    Call::read("iam:ListRolePolicies"),
    UPDATE_TRUST,
    Call::read("iam:ListInstanceProfilesForRole"),
    Call::settled("iam:RemoveRoleFromInstanceProfile"),
    DELETE,
];

/// What a role is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleInputs {
    pub name: String,
    /// The service that may assume it (`ec2.amazonaws.com`), unless
    /// `trust_policy` says who may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_service: Option<String>,
    /// A whole trust policy (JSON text), e.g. an OIDC provider's for IRSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<Template>,
    /// ARNs of the managed policies the stack attaches.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// The inline policy (JSON text); None: none.
    #[serde(default)]
    pub inline_policy: Option<Template>,
}

impl Inputs for RoleInputs {
    const KIND: &'static str = "iam_role";
}

impl RoleInputs {
    /// A role `service` may assume, with these managed policies.
    pub fn for_service(
        name: impl Into<String>,
        service: &str,
        managed_policies: &[&str],
    ) -> RoleInputs {
        RoleInputs {
            name: name.into(),
            trust_service: Some(service.to_string()),
            trust_policy: None,
            managed_policies: managed_policies.iter().map(|p| p.to_string()).collect(),
            inline_policy: None,
        }
    }
    /// A role whose trust is the policy `trust` (references allowed).
    pub fn trusting(name: impl Into<String>, trust: &serde_json::Value) -> RoleInputs {
        RoleInputs {
            name: name.into(),
            trust_service: None,
            trust_policy: Some(Template(trust.to_string())),
            managed_policies: vec![],
            inline_policy: None,
        }
    }
    /// With `policy` (references allowed) as its inline policy.
    pub fn with_inline(mut self, policy: &serde_json::Value) -> RoleInputs {
        self.inline_policy = Some(Template(policy.to_string()));
        self
    }
}

async fn attached_policies(env: &E, role: &str) -> Result<Vec<String>, OpError> {
    let mut out = vec![];
    let mut pages = env
        .ctx
        .iam()
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        out.extend(
            page.map_err(op("ListAttachedRolePolicies"))?
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
    }
    Ok(out)
}

async fn get_role(env: &E, name: &str) -> Result<Option<aws_sdk_iam::types::Role>, OpError> {
    match env.ctx.iam().get_role().role_name(name).send().await {
        Ok(o) => o
            .role()
            .map(|r| Some(r.clone()))
            .ok_or_else(|| OpError::new(format!("GetRole answered no role {name}"))),
        Err(e) if no_such(&e) => Ok(None),
        Err(e) => Err(op("GetRole")(e)),
    }
}

/// `rec` with the role's ARN, and of its declared managed policies those
/// attached: others' are not the stack's business (and not drift).
async fn seen(
    env: &E,
    mut rec: Record,
    role: &aws_sdk_iam::types::Role,
) -> Result<Record, OpError> {
    rec.outputs.insert("arn".into(), role.arn().to_string());
    let have = attached_policies(env, &rec.id).await?;
    let declared: Vec<String> = rec
        .typed::<RoleInputs>()?
        .managed_policies
        .into_iter()
        .filter(|p| have.contains(p))
        .collect();
    rec.inputs["managed_policies"] = json!(declared);
    Ok(rec)
}

/// IAM's percent-encoded policy documents, decoded.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if b[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A policy document as JSON, in the form IAM reads the same: a list of
/// one as that one (`"Action": ["sts:AssumeRole"]`, one statement), no
/// empty `Sid`. Text that is no JSON is compared as text.
fn policy_value(doc: &str) -> serde_json::Value {
    fn canonical(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value::{Array, Object};
        match v {
            Array(mut a) if a.len() == 1 => canonical(a.remove(0)),
            Array(a) => Array(a.into_iter().map(canonical).collect()),
            Object(o) => Object(
                o.into_iter()
                    .filter(|(k, v)| !(k == "Sid" && v.as_str() == Some("")))
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            ),
            v => v,
        }
    }
    canonical(serde_json::from_str(doc).unwrap_or_else(|_| json!(doc)))
}

/// The trust policy: `trust_policy` when given, else one that trusts
/// `trust_service`.
fn trust_document(role: &RoleInputs, deps: &Records) -> Result<String, OpError> {
    match &role.trust_policy {
        Some(p) => p.render(deps),
        None => Ok(trust(role.trust_service.as_deref().unwrap_or_default())),
    }
}

fn trust(service: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}).to_string()
}

impl Role {
    /// Attaches the declared managed policies; detaches only those the stack
    /// declared before (`previously`) and no longer wants. Policies that
    /// others attach to the role are left attached.
    async fn sync_policies(
        env: &E,
        role: &RoleInputs,
        deps: &Records,
        previously: &[String],
    ) -> Result<(), OpError> {
        let iam = &env.ctx.iam();
        let name = role.name.as_str();
        let have = attached_policies(env, name).await?;
        let want = &role.managed_policies;
        for arn in want.iter().filter(|a| !have.contains(a)) {
            env.call(&ATTACH, || {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        for arn in have
            .iter()
            .filter(|a| !want.contains(a) && previously.contains(a))
        {
            env.call(&DETACH, || {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        match &role.inline_policy {
            Some(p) => {
                iam.put_role_policy()
                    .role_name(name)
                    .policy_name("awsstack")
                    .policy_document(p.render(deps)?)
                    .send()
                    .await
                    .map_err(op("PutRolePolicy"))?;
            }
            None => {
                let _ = iam
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name("awsstack")
                    .send()
                    .await;
            }
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Role {
    crate::engine::typed_kind!(RoleInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::IamRole(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let role: RoleInputs = spec.typed()?;
        let tags: Vec<Tag> = spec_tags(env, spec)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let trust = trust_document(&role, deps)?;
        let iam = env.ctx.iam();
        let out = env
            .call(&CREATE, || {
                iam.create_role()
                    .role_name(&role.name)
                    .assume_role_policy_document(&trust)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map_err(failed)?;
        let arn = out.role().map(|r| r.arn().to_string()).unwrap_or_default();
        let rec = Record::new(self.name(), &role.name, spec.inputs.clone()).with("arn", &arn);
        Self::sync_policies(env, &role, deps, &[])
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match get_role(env, &rec.id).await? {
            Some(role) => Ok(Some(seen(env, rec.clone(), &role).await?)),
            None => Ok(None),
        }
    }
    /// Its name as IAM has it (kept), the declared managed policies it
    /// has, and its trust policy: the spec's when the role's says the same,
    /// else null (the update writes it). The `awsstack` inline policy of a
    /// role the stack did not make is null: the update writes it; the
    /// role's own inline policies stay.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let name = match id.strip_prefix("arn:") {
            Some(arn) => arn.rsplit('/').next().unwrap_or(id),
            None => id,
        };
        let Some(role) = get_role(env, name).await? else {
            return Ok(None);
        };
        let mut inputs = spec.inputs.clone();
        inputs["name"] = json!(role.role_name());
        inputs["inline_policy"] = json!(null);
        let have = role
            .assume_role_policy_document()
            .map(|d| policy_value(&percent_decoded(d)));
        let want = trust_document(&spec.typed::<RoleInputs>()?, deps)
            .ok()
            .map(|d| policy_value(&d));
        if have.is_none() || have != want {
            for f in ["trust_service", "trust_policy"] {
                if inputs.get(f).is_some() {
                    inputs[f] = json!(null);
                }
            }
        }
        let rec = Record::new(self.name(), role.role_name(), inputs);
        Ok(Some(seen(env, rec, &role).await?))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let role: RoleInputs = spec.typed()?;
        let trust = trust_document(&role, deps)?;
        let iam = env.ctx.iam();
        env.call(&UPDATE_TRUST, || {
            iam.update_assume_role_policy()
                .role_name(&old.id)
                .policy_document(&trust)
                .send()
        })
        .await
        .map_err(failed)?;
        Self::sync_policies(
            env,
            &role,
            deps,
            &old.typed::<RoleInputs>()?.managed_policies,
        )
        .await?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let iam = &env.ctx.iam();
        if let Ok(a) = iam
            .list_attached_role_policies()
            .role_name(&rec.id)
            .send()
            .await
        {
            for p in a.attached_policies() {
                if let Some(arn) = p.policy_arn() {
                    env.call(&DETACH, || {
                        iam.detach_role_policy()
                            .role_name(&rec.id)
                            .policy_arn(arn)
                            .send()
                    })
                    .await
                    .map_err(failed)?;
                }
            }
        }
        if let Ok(l) = iam.list_role_policies().role_name(&rec.id).send().await {
            for p in l.policy_names() {
                iam.delete_role_policy()
                    .role_name(&rec.id)
                    .policy_name(p)
                    .send()
                    .await
                    .map_err(op("DeleteRolePolicy"))?;
            }
        }
        if let Ok(l) = iam
            .list_instance_profiles_for_role()
            .role_name(&rec.id)
            .send()
            .await
        {
            for p in l.instance_profiles() {
                let _ = iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(p.instance_profile_name())
                    .role_name(&rec.id)
                    .send()
                    .await;
            }
        }
        match env
            .call(&DELETE, || iam.delete_role().role_name(&rec.id).send())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if no_such(&e.error) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let name = spec.typed::<RoleInputs>()?.name;
        Ok(get_role(env, &name)
            .await?
            .map(|r| Record::new(self.name(), &name, spec.inputs.clone()).with("arn", r.arn())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_iam::operation::get_role::GetRoleOutput;
    use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
    use aws_sdk_iam::types::{AttachedPolicy, Role as IamRole};
    use aws_sdk_iam::Client;
    use aws_smithy_mocks::{mock, Rule};

    const OURS_BEFORE: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
    const OURS_NOW: &str = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy";
    const THEIRS: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(iam, aws_sdk_iam, rules)
    }

    fn attached(
        arns: &'static [&'static str],
    ) -> impl Fn() -> ListAttachedRolePoliciesOutput + Send + Sync {
        move || {
            ListAttachedRolePoliciesOutput::builder()
                .set_attached_policies(Some(
                    arns.iter()
                        .map(|a| AttachedPolicy::builder().policy_arn(*a).build())
                        .collect(),
                ))
                .build()
        }
    }

    fn role(policies: &[&str]) -> Record {
        Record::new(
            "iam_role",
            "kauri-prod-host",
            json!({"name": "kauri-prod-host", "trust_service": "ec2.amazonaws.com", "managed_policies": policies}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_detaches_only_what_the_stack_attached_before() {
        // The stack attached OURS_BEFORE, now declares OURS_NOW; another
        // Terraform resource attached THEIRS: it stays.
        let trust = mock!(Client::update_assume_role_policy).then_output(|| aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyOutput::builder().build());
        let list = mock!(Client::list_attached_role_policies)
            .then_output(attached(&[OURS_BEFORE, THEIRS]));
        let attach = mock!(Client::attach_role_policy)
            .match_requests(|r| r.policy_arn() == Some(OURS_NOW))
            .then_output(|| {
                aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput::builder()
                    .build()
            });
        let detach = mock!(Client::detach_role_policy)
            .match_requests(|r| r.policy_arn() == Some(OURS_BEFORE))
            .then_output(|| {
                aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput::builder()
                    .build()
            });
        let no_inline = mock!(Client::delete_role_policy).then_output(|| {
            aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput::builder().build()
        });
        let env = env_over(&[&trust, &list, &attach, &detach, &no_inline]);
        let spec = Spec::new("role.host", "iam_role", role(&[OURS_NOW]).inputs);
        let rec = Role
            .update(&env, &spec, &role(&[OURS_BEFORE]), &Records::new())
            .await
            .unwrap();
        assert_eq!(
            (attach.num_calls(), detach.num_calls()),
            (1, 1),
            "one attach, one detach: THEIRS was not detached"
        );
        assert_eq!(rec.inputs["managed_policies"], json!([OURS_NOW]));
    }

    #[tokio::test(start_paused = true)]
    async fn read_shows_a_declared_policy_detached_and_ignores_foreign_ones() {
        let get = || {
            GetRoleOutput::builder()
                .role(
                    IamRole::builder()
                        .role_name("kauri-prod-host")
                        .arn("arn:aws:iam::123456789012:role/kauri-prod-host")
                        .path("/")
                        .role_id("AROA1")
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
        };
        // Both declared attached, plus a foreign one: no drift.
        let (g1, l1) = (
            mock!(Client::get_role).then_output(get),
            mock!(Client::list_attached_role_policies).then_output(attached(&[
                OURS_BEFORE,
                OURS_NOW,
                THEIRS,
            ])),
        );
        let r = Role
            .read(&env_over(&[&g1, &l1]), &role(&[OURS_BEFORE, OURS_NOW]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.inputs["managed_policies"], json!([OURS_BEFORE, OURS_NOW]));
        assert_eq!(
            r.out("arn"),
            "arn:aws:iam::123456789012:role/kauri-prod-host"
        );
        // One declared policy detached out of band: drift, the rest unchanged.
        let (g2, l2) = (
            mock!(Client::get_role).then_output(get),
            mock!(Client::list_attached_role_policies).then_output(attached(&[OURS_NOW, THEIRS])),
        );
        let r = Role
            .read(&env_over(&[&g2, &l2]), &role(&[OURS_BEFORE, OURS_NOW]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.inputs["managed_policies"], json!([OURS_NOW]));
    }

    /// Every character but letters and digits as `%XX`, as IAM returns
    /// policy documents.
    fn percent_encoded(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// Adoption: the role's own name (kept), the declared managed policies
    /// it has, the trust as the spec's only when the role's says the same
    /// (a list of one or a lone statement is the same), and the `awsstack`
    /// inline policy to write; a role IAM does not know is none.
    #[tokio::test(start_paused = true)]
    async fn observe_keeps_the_role_s_name_and_compares_its_trust() {
        let trusting = |service: &'static str| {
            let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Principal": {"Service": [service]}, "Action": "sts:AssumeRole"}]});
            mock!(Client::get_role)
                .match_requests(|r| r.role_name() == Some("kauri-demo-app"))
                .then_output(move || {
                    GetRoleOutput::builder()
                        .role(
                            IamRole::builder()
                                .role_name("kauri-demo-app")
                                .arn("arn:aws:iam::123456789012:role/kauri-demo-app")
                                .path("/")
                                .role_id("AROA1")
                                .create_date(aws_smithy_types::DateTime::from_secs(0))
                                .assume_role_policy_document(percent_encoded(&doc.to_string()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
        };
        let spec = Spec::of(
            "role.host",
            &RoleInputs::for_service("s-host", "ec2.amazonaws.com", &[OURS_BEFORE, OURS_NOW])
                .with_inline(&json!({"Version": "2012-10-17", "Statement": []})),
        );
        let observe = |get: Rule| {
            let spec = spec.clone();
            async move {
                let list = mock!(Client::list_attached_role_policies)
                    .then_output(attached(&[OURS_BEFORE, THEIRS]));
                Role.observe(
                    &env_over(&[&get, &list]),
                    &spec,
                    "arn:aws:iam::123456789012:role/kauri-demo-app",
                    &Records::new(),
                )
                .await
                .unwrap()
                .unwrap()
            }
        };
        let rec = observe(trusting("ec2.amazonaws.com")).await;
        assert_eq!(rec.id, "kauri-demo-app");
        assert_eq!(
            rec.inputs,
            json!({"name": "kauri-demo-app", "trust_service": "ec2.amazonaws.com", "managed_policies": [OURS_BEFORE], "inline_policy": null})
        );
        assert_eq!(
            rec.out("arn"),
            "arn:aws:iam::123456789012:role/kauri-demo-app"
        );
        let rec = observe(trusting("lambda.amazonaws.com")).await;
        assert_eq!(
            rec.inputs["trust_service"],
            json!(null),
            "another trust: written by the update"
        );

        let gone = mock!(Client::get_role).then_error(|| {
            aws_sdk_iam::operation::get_role::GetRoleError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("NoSuchEntity")
                    .build(),
            )
        });
        assert!(Role
            .observe(
                &env_over(&[&gone]),
                &spec,
                "kauri-demo-app",
                &Records::new()
            )
            .await
            .unwrap()
            .is_none());
    }

    /// The declared DeleteConflict (what was just detached still holding
    /// the role) is retried until the delete passes; an error the
    /// declaration does not name fails the delete at once.
    #[tokio::test(start_paused = true)]
    async fn delete_waits_out_a_delete_conflict_but_not_an_undeclared_error() {
        use aws_sdk_iam::operation::delete_role::{DeleteRoleError, DeleteRoleOutput};
        use aws_sdk_iam::operation::list_instance_profiles_for_role::ListInstanceProfilesForRoleOutput;
        use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
        use aws_smithy_types::error::ErrorMetadata;
        let fault = |code: &'static str, message: &'static str| {
            move || {
                DeleteRoleError::generic(
                    ErrorMetadata::builder().code(code).message(message).build(),
                )
            }
        };
        let nothing_attached = || {
            (
                mock!(Client::list_attached_role_policies).then_output(attached(&[])),
                mock!(Client::list_role_policies).then_output(|| {
                    ListRolePoliciesOutput::builder()
                        .set_policy_names(Some(vec![]))
                        .build()
                        .unwrap()
                }),
                mock!(Client::list_instance_profiles_for_role).then_output(|| {
                    ListInstanceProfilesForRoleOutput::builder()
                        .set_instance_profiles(Some(vec![]))
                        .build()
                        .unwrap()
                }),
            )
        };
        let (a, p, i) = nothing_attached();
        let delete = mock!(Client::delete_role)
            .sequence()
            .error(fault(
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
            ))
            .output(|| DeleteRoleOutput::builder().build())
            .build();
        Role.delete(&env_over(&[&a, &p, &i, &delete]), &role(&[]))
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 2, "DeleteConflict is retried");

        let (a, p, i) = nothing_attached();
        let refused = mock!(Client::delete_role).then_error(fault(
            "UnmodifiableEntity",
            "Cannot perform the operation on the protected role 'kauri-prod-host'",
        ));
        let e = Role
            .delete(&env_over(&[&a, &p, &i, &refused]), &role(&[]))
            .await
            .unwrap_err();
        assert_eq!(refused.num_calls(), 1, "an undeclared error is not retried");
        assert!(e.message.starts_with("DeleteRole: "), "{}", e.message);
    }
}
