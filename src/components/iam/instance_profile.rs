//! instance profile.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An instance profile holding the `role` dependency.
pub struct InstanceProfile;

/// A role created a moment before is not yet found by the instance profile
/// that takes it in.
const ADD_ROLE: Call =
    Call::retrying("iam:AddRoleToInstanceProfile", PROPAGATION, &[NotYet::message("NoSuchEntity", "The role with name", "The role with name kauri-prod-host cannot be found.")])
        .why("hashicorp/aws iam/instance_profile.go instanceProfileAddRole: NoSuchEntity 'The role with name' for propagationTimeout");
/// A profile just created shows in IAM's reads a little later: the create
/// waits for it before adding the role (hashicorp/aws
/// `resourceInstanceProfileCreate`: `RetryWhenNotFound` on
/// `findInstanceProfileByName`).
const VISIBLE: Waiter =
    Waiter::new("to be visible to IAM", &[GONE], &["visible"]).poll(Duration::from_secs(2));
const CALLS: &[Call] = &[
    Call::settled("iam:CreateInstanceProfile"),
    Call::read("iam:GetInstanceProfile"),
    ADD_ROLE,
    Call::settled("iam:RemoveRoleFromInstanceProfile"),
    Call::settled("iam:DeleteInstanceProfile"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceProfileInputs {
    pub name: String,
    /// Holds its role (read as false when the role was removed from it out
    /// of band: drift, repaired by adding it back).
    pub has_role: bool,
}

impl Inputs for InstanceProfileInputs {
    const KIND: &'static str = "iam_instance_profile";
}

#[tonic::async_trait]
impl Kind<AwsContext> for InstanceProfile {
    crate::engine::typed_kind!(InstanceProfileInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn", "role"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::ROLE]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::IamInstanceProfile(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let iam = &env.ctx.iam();
        let name = spec.typed::<InstanceProfileInputs>()?.name;
        let tags: Vec<Tag> = spec_tags(env, spec)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let out = iam
            .create_instance_profile()
            .instance_profile_name(&name)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateInstanceProfile"))?;
        let arn = out
            .instance_profile()
            .map(|p| p.arn().to_string())
            .unwrap_or_default();
        let rec = Record::new(self.name(), &name, spec.inputs.clone()).with("arn", &arn);
        let role = &crate::components::need::ROLE.the(deps)?.id;
        env.wait(&VISIBLE, &format!("instance profile {name}"), || async {
            match iam
                .get_instance_profile()
                .instance_profile_name(&name)
                .send()
                .await
            {
                Ok(_) => Ok(Some(("visible".to_string(), ()))),
                Err(e) if no_such(&e) => Ok(None),
                Err(e) => Err(op("GetInstanceProfile")(e)),
            }
        })
        .await
        .map_err(|e| e.partial(rec.clone()))?;
        env.call(&ADD_ROLE, || {
            iam.add_role_to_instance_profile()
                .instance_profile_name(&name)
                .role_name(role)
                .send()
        })
        .await
        .map_err(|e| failed(e).partial(rec.clone()))?;
        Ok(rec.with("role", role))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(get_profile(env, &rec.id).await?.map(|p| {
            let mut r = rec.clone();
            r.inputs["has_role"] = json!(!roles_of(&p).is_empty());
            r
        }))
    }
    /// Its name as IAM has it (kept); `has_role` when it holds the stack's
    /// role (one holding another role gets the stack's from the update),
    /// and the role it holds as its output.
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
        let Some(p) = get_profile(env, name).await? else {
            return Ok(None);
        };
        let roles = roles_of(&p);
        let role = crate::components::need::ROLE.the(deps).ok();
        let mut inputs = spec.inputs.clone();
        inputs["name"] = json!(p.instance_profile_name());
        inputs["has_role"] = json!(role.is_some_and(|r| roles.contains(&r.id)));
        let holds = roles.first().map(String::as_str).unwrap_or_default();
        Ok(Some(
            Record::new(self.name(), p.instance_profile_name(), inputs)
                .with("arn", p.arn())
                .with("role", holds),
        ))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let iam = &env.ctx.iam();
        let roles = get_profile(env, &old.id)
            .await?
            .map(|p| roles_of(&p))
            .ok_or_else(|| OpError::new(format!("instance profile {} no longer exists", old.id)))?;
        let role = &crate::components::need::ROLE.the(deps)?.id;
        for r in roles.iter().filter(|r| *r != role) {
            iam.remove_role_from_instance_profile()
                .instance_profile_name(&old.id)
                .role_name(r)
                .send()
                .await
                .map_err(op("RemoveRoleFromInstanceProfile"))?;
        }
        if !roles.contains(role) {
            env.call(&ADD_ROLE, || {
                iam.add_role_to_instance_profile()
                    .instance_profile_name(&old.id)
                    .role_name(role)
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        }
        .with("role", role))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let iam = &env.ctx.iam();
        if let Ok(o) = iam
            .get_instance_profile()
            .instance_profile_name(&rec.id)
            .send()
            .await
        {
            for r in o
                .instance_profile()
                .map(|p| p.roles().to_vec())
                .unwrap_or_default()
            {
                let _ = iam
                    .remove_role_from_instance_profile()
                    .instance_profile_name(&rec.id)
                    .role_name(r.role_name())
                    .send()
                    .await;
            }
        }
        match iam
            .delete_instance_profile()
            .instance_profile_name(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if no_such(&e) => Ok(()),
            Err(e) => Err(op("DeleteInstanceProfile")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let name = spec.typed::<InstanceProfileInputs>()?.name;
        Ok(get_profile(env, &name)
            .await?
            .map(|p| Record::new(self.name(), &name, spec.inputs.clone()).with("arn", p.arn())))
    }
}

async fn get_profile(
    env: &E,
    name: &str,
) -> Result<Option<aws_sdk_iam::types::InstanceProfile>, OpError> {
    match env
        .ctx
        .iam()
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        Ok(o) => o
            .instance_profile()
            .map(|p| Some(p.clone()))
            .ok_or_else(|| OpError::new(format!("GetInstanceProfile answered no profile {name}"))),
        Err(e) if no_such(&e) => Ok(None),
        Err(e) => Err(op("GetInstanceProfile")(e)),
    }
}

/// The roles the profile holds (one at most).
fn roles_of(p: &aws_sdk_iam::types::InstanceProfile) -> Vec<String> {
    p.roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .collect()
}

/// The instance profile's create against aws-smithy-mocks: the role just
/// created, not found yet by AddRoleToInstanceProfile, is waited for; an
/// error the declaration does not name is final.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_iam::operation::add_role_to_instance_profile::{
        AddRoleToInstanceProfileError, AddRoleToInstanceProfileOutput,
    };
    use aws_sdk_iam::operation::create_instance_profile::CreateInstanceProfileOutput;
    use aws_sdk_iam::operation::get_instance_profile::GetInstanceProfileOutput;
    use aws_sdk_iam::types::InstanceProfile as IamProfile;
    use aws_sdk_iam::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(iam, aws_sdk_iam, rules)
    }

    /// The profile as IAM reports it just after its create: no role yet.
    fn profile() -> IamProfile {
        IamProfile::builder()
            .path("/")
            .instance_profile_name("kauri-prod-host")
            .instance_profile_id("AIPA1")
            .arn("arn:aws:iam::123456789012:instance-profile/kauri-prod-host")
            .create_date(aws_smithy_types::DateTime::from_secs(0))
            .set_roles(Some(vec![]))
            .build()
            .unwrap()
    }

    /// CreateInstanceProfile, then the profile visible to GetInstanceProfile.
    fn created() -> (Rule, Rule) {
        (
            mock!(Client::create_instance_profile).then_output(|| {
                CreateInstanceProfileOutput::builder()
                    .instance_profile(profile())
                    .build()
            }),
            mock!(Client::get_instance_profile).then_output(|| {
                GetInstanceProfileOutput::builder()
                    .instance_profile(profile())
                    .build()
            }),
        )
    }

    /// Adoption: the profile's own name (kept), whether it holds the
    /// stack's role, the role it holds and its ARN as outputs.
    #[tokio::test(start_paused = true)]
    async fn observe_keeps_the_profile_s_name_and_sees_whether_it_holds_the_stack_s_role() {
        let holding = |role: &'static str| {
            mock!(Client::get_instance_profile)
                .match_requests(|r| r.instance_profile_name() == Some("kauri-demo-app"))
                .then_output(move || {
                    let r = aws_sdk_iam::types::Role::builder()
                        .role_name(role)
                        .arn(format!("arn:aws:iam::123456789012:role/{role}"))
                        .path("/")
                        .role_id("AROA1")
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap();
                    let p = IamProfile::builder()
                        .path("/")
                        .instance_profile_name("kauri-demo-app")
                        .instance_profile_id("AIPA1")
                        .arn("arn:aws:iam::123456789012:instance-profile/kauri-demo-app")
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .roles(r)
                        .build()
                        .unwrap();
                    GetInstanceProfileOutput::builder()
                        .instance_profile(p)
                        .build()
                })
        };
        let spec = Spec::of(
            "instance_profile.host",
            &InstanceProfileInputs {
                name: "s-host".into(),
                has_role: true,
            },
        );
        let deps = Records::from([(
            "role.host".to_string(),
            Record::new("iam_role", "kauri-demo-app", json!({})),
        )]);
        let get = holding("kauri-demo-app");
        let rec = InstanceProfile
            .observe(&over(&[&get]), &spec, "kauri-demo-app", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (&rec.id[..], &rec.inputs),
            (
                "kauri-demo-app",
                &json!({"name": "kauri-demo-app", "has_role": true})
            )
        );
        assert_eq!(
            (rec.out("role"), rec.out("arn")),
            (
                "kauri-demo-app",
                "arn:aws:iam::123456789012:instance-profile/kauri-demo-app"
            )
        );
        let get = holding("someone-else");
        let rec = InstanceProfile
            .observe(&over(&[&get]), &spec, "kauri-demo-app", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.inputs["has_role"], json!(false));
    }

    #[tokio::test(start_paused = true)]
    async fn create_waits_for_a_role_not_yet_found_but_not_for_an_undeclared_error() {
        let spec = Spec::of(
            "profile.host",
            &InstanceProfileInputs {
                name: "kauri-prod-host".into(),
                has_role: true,
            },
        );
        let deps = Records::from([(
            "role.host".to_string(),
            Record::new("iam_role", "kauri-prod-host", json!({}))
                .with("arn", "arn:aws:iam::123456789012:role/kauri-prod-host"),
        )]);
        // The role just created: not found once (ADD_ROLE's declared error), then added.
        let (create, visible) = created();
        let add = mock!(Client::add_role_to_instance_profile)
            .match_requests(|r| {
                r.instance_profile_name() == Some("kauri-prod-host")
                    && r.role_name() == Some("kauri-prod-host")
            })
            .sequence()
            .error(|| {
                let n = ADD_ROLE.not_yet[0];
                AddRoleToInstanceProfileError::generic(
                    ErrorMetadata::builder()
                        .code(n.code)
                        .message(n.says)
                        .build(),
                )
            })
            .output(|| AddRoleToInstanceProfileOutput::builder().build())
            .build();
        let rec = InstanceProfile
            .create(&over(&[&create, &visible, &add]), &spec, &deps)
            .await
            .unwrap();
        assert_eq!(add.num_calls(), 2, "the role not yet found is retried");
        assert_eq!(rec.out("role"), "kauri-prod-host");

        let (create, visible) = created();
        let refused = mock!(Client::add_role_to_instance_profile)
            .then_error(|| AddRoleToInstanceProfileError::generic(fault("InjectedFailure")));
        let e = InstanceProfile
            .create(&over(&[&create, &visible, &refused]), &spec, &deps)
            .await
            .expect_err("an undeclared error is final");
        assert_eq!(refused.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("AddRoleToInstanceProfile: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }
}
