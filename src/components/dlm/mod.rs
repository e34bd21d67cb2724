//! Data Lifecycle Manager: scheduled EBS snapshots of the volumes that
//! carry a stack's backup tag.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{Call, Inputs, Kind, NotYet, OpError, Record, Records, Spec, PROPAGATION};
use aws_sdk_dlm::types::{
    CreateRule, IntervalUnitValues, PolicyDetails, PolicyTypeValues, ResourceTypeValues,
    RetainRule, Schedule, SettablePolicyStateValues, Tag,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The tag a volume carries to be backed up by its stack's policy (value:
/// the stack id). DLM targets volumes by tag.
pub const TAG_BACKUP: &str = "awsstack:backup";

/// A daily snapshot policy over the volumes tagged `awsstack:backup =
/// <stack id>`, run as the `role` dependency.
pub struct SnapshotPolicy;

/// When the snapshots are taken and how many are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPolicyInputs {
    /// `HH:MM`, UTC.
    pub time: String,
    /// Snapshots kept (one a day).
    pub retain: i32,
    pub enabled: bool,
}

impl Inputs for SnapshotPolicyInputs {
    const KIND: &'static str = "dlm_snapshot_policy";
}

crate::aws::not_found_codes!("ResourceNotFoundException");

/// The execution role, just created (or just given its policy), cannot yet
/// be assumed by DLM, which checks it when the policy is created or changed.
const ROLE_NOT_YET: NotYet =
    NotYet::message("InvalidRequestException", "role", "Provided role arn:aws:iam::123456789012:role/x cannot be assumed by principal 'dlm.amazonaws.com'.");
const CREATE: Call = Call::retrying("dlm:CreateLifecyclePolicy", PROPAGATION, &[ROLE_NOT_YET])
    .why("hashicorp/aws dlm/lifecycle_policy.go resourceLifecyclePolicyCreate: InvalidRequestException retried for 2 minutes (createRetryTimeout); ours only when the message names the role, since the code also says a policy is malformed");
const UPDATE: Call = Call::retrying("dlm:UpdateLifecyclePolicy", PROPAGATION, &[ROLE_NOT_YET])
    .why("beyond hashicorp/aws (lifecycle_policy.go updates once): the update follows the role's replacement or policy change at once in our graph, the same IAM propagation as the create");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("dlm:GetLifecyclePolicy"),
    Call::read("dlm:GetLifecyclePolicies"),
    UPDATE,
    Call::settled("dlm:DeleteLifecyclePolicy"),
];

/// The description carries the stack id: the marker of a policy's owner
/// besides its tags.
fn description(env: &E) -> String {
    format!(
        "awsstack {}: daily snapshots of the data volume",
        env.stack_id
    )
}

fn state(policy: &SnapshotPolicyInputs) -> SettablePolicyStateValues {
    if policy.enabled {
        SettablePolicyStateValues::Enabled
    } else {
        SettablePolicyStateValues::Disabled
    }
}

fn details(env: &E, policy: &SnapshotPolicyInputs) -> PolicyDetails {
    let create = CreateRule::builder()
        .interval(24)
        .interval_unit(IntervalUnitValues::Hours)
        .times(&policy.time)
        .build();
    let retain = RetainRule::builder().count(policy.retain).build();
    let snapshot_tag = Tag::builder()
        .key(crate::engine::TAG_STACK_ID)
        .value(&env.stack_id)
        .build();
    let schedule = Schedule::builder()
        .name("daily")
        .create_rule(create)
        .retain_rule(retain)
        .copy_tags(true)
        .tags_to_add(snapshot_tag)
        .build();
    PolicyDetails::builder()
        .policy_type(PolicyTypeValues::EbsSnapshotManagement)
        .resource_types(ResourceTypeValues::Volume)
        .target_tags(Tag::builder().key(TAG_BACKUP).value(&env.stack_id).build())
        .schedules(schedule)
        .build()
}

#[tonic::async_trait]
impl Kind<AwsContext> for SnapshotPolicy {
    crate::engine::typed_kind!(SnapshotPolicyInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["role"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::ROLE]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Dlm(env.ctx.arn("dlm", &format!("policy/{}", r.id))))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let policy: SnapshotPolicyInputs = spec.typed()?;
        let role = super::need::ROLE.the(deps)?.out("arn").to_string();
        let req = env
            .ctx
            .dlm()
            .create_lifecycle_policy()
            .execution_role_arn(&role)
            .description(description(env))
            .state(state(&policy))
            .policy_details(details(env, &policy))
            .set_tags(Some(spec_tags(env, spec).into_iter().collect()));
        let out = env
            .call(&CREATE, || req.clone().send())
            .await
            .map_err(failed)?;
        let id = out.policy_id().unwrap_or_default().to_string();
        Ok(Record::new(self.name(), id, spec.inputs.clone()).with("role", role))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .dlm()
            .get_lifecycle_policy()
            .policy_id(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o.policy().map(|p| {
                let mut r = rec.clone();
                let schedule = p.policy_details().and_then(|d| d.schedules().first());
                r.inputs["time"] = json!(schedule
                    .and_then(|s| s.create_rule())
                    .and_then(|c| c.times().first())
                    .cloned()
                    .unwrap_or_default());
                r.inputs["retain"] = json!(schedule
                    .and_then(|s| s.retain_rule())
                    .and_then(|x| x.count())
                    .unwrap_or(0));
                r.inputs["enabled"] = json!(p.state().map(|s| s.as_str()) == Some("ENABLED"));
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("GetLifecyclePolicy")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let policy: SnapshotPolicyInputs = spec.typed()?;
        let role = super::need::ROLE.the(deps)?.out("arn").to_string();
        let req = env
            .ctx
            .dlm()
            .update_lifecycle_policy()
            .policy_id(&old.id)
            .execution_role_arn(&role)
            .description(description(env))
            .state(state(&policy))
            .policy_details(details(env, &policy));
        env.call(&UPDATE, || req.clone().send())
            .await
            .map_err(failed)?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        }
        .with("role", role))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // The snapshots it made stay (they are the backups).
        match env
            .ctx
            .dlm()
            .delete_lifecycle_policy()
            .policy_id(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteLifecyclePolicy")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .dlm()
            .get_lifecycle_policies()
            .target_tags(format!("{TAG_BACKUP}={}", env.stack_id))
            .send()
            .await
            .map_err(op("GetLifecyclePolicies"))?;
        Ok(o.policies()
            .iter()
            .find(|p| p.description() == Some(description(env).as_str()))
            .and_then(|p| p.policy_id())
            .map(|id| Record::new(self.name(), id, spec.inputs.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked::{self, fault};
    use super::*;
    use aws_sdk_dlm::operation::create_lifecycle_policy::{
        CreateLifecyclePolicyError, CreateLifecyclePolicyOutput,
    };
    use aws_sdk_dlm::operation::delete_lifecycle_policy::{
        DeleteLifecyclePolicyError, DeleteLifecyclePolicyOutput,
    };
    use aws_sdk_dlm::operation::get_lifecycle_policies::GetLifecyclePoliciesOutput;
    use aws_sdk_dlm::types::LifecyclePolicySummary;
    use aws_smithy_mocks::{mock, Rule};

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(dlm, aws_sdk_dlm, rules)
    }
    fn spec() -> Spec {
        Spec::new(
            "backup",
            "dlm_snapshot_policy",
            json!({"time": "03:00", "retain": 7, "enabled": true}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn found_only_by_this_stack_s_marker_among_the_policies_on_its_backup_tag() {
        // Another policy targets the same tag (a team's own): its
        // description is not this stack's marker, so it is never taken.
        let list = mock!(aws_sdk_dlm::Client::get_lifecycle_policies)
            .match_requests(|r| r.target_tags() == ["awsstack:backup=s"])
            .then_output(|| {
                GetLifecyclePoliciesOutput::builder()
                    .policies(
                        LifecyclePolicySummary::builder()
                            .policy_id("policy-theirs")
                            .description("nightly snapshots")
                            .build(),
                    )
                    .policies(
                        LifecyclePolicySummary::builder()
                            .policy_id("policy-1")
                            .description("awsstack s: daily snapshots of the data volume")
                            .build(),
                    )
                    .build()
            });
        let r = SnapshotPolicy
            .find(&over(&[&list]), &spec())
            .await
            .unwrap()
            .expect("the stack's policy");
        assert_eq!(r.id, "policy-1");
        let only_theirs = mock!(aws_sdk_dlm::Client::get_lifecycle_policies).then_output(|| {
            GetLifecyclePoliciesOutput::builder()
                .policies(
                    LifecyclePolicySummary::builder()
                        .policy_id("policy-theirs")
                        .description("nightly snapshots")
                        .build(),
                )
                .build()
        });
        assert!(SnapshotPolicy
            .find(&over(&[&only_theirs]), &spec())
            .await
            .unwrap()
            .is_none());
    }

    fn role() -> Records {
        Records::from([(
            "role".to_string(),
            Record::new("iam_role", "s-dlm", json!({}))
                .with("arn", "arn:aws:iam::123456789012:role/s-dlm"),
        )])
    }

    fn refused(message: &'static str) -> Rule {
        mock!(aws_sdk_dlm::Client::create_lifecycle_policy).then_error(move || {
            CreateLifecyclePolicyError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("InvalidRequestException")
                    .message(message)
                    .build(),
            )
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_role_not_yet_assumable_is_waited_for_and_a_bad_policy_is_not() {
        // The role just created: refused once (CREATE), then created.
        let not_yet = refused("Provided role arn:aws:iam::123456789012:role/s-dlm cannot be assumed by principal 'dlm.amazonaws.com'.");
        let created = mock!(aws_sdk_dlm::Client::create_lifecycle_policy)
            .match_requests(|r| {
                r.execution_role_arn() == Some("arn:aws:iam::123456789012:role/s-dlm")
            })
            .then_output(|| {
                CreateLifecyclePolicyOutput::builder()
                    .policy_id("policy-1")
                    .build()
            });
        let r = SnapshotPolicy
            .create(&over(&[&not_yet, &created]), &spec(), &role())
            .await
            .unwrap();
        assert_eq!(
            (r.id.as_str(), not_yet.num_calls(), created.num_calls()),
            ("policy-1", 1, 1)
        );
        // The same code for a bad schedule is final: one call, its error.
        let bad = refused("Times must be in the format HH:MM");
        let e = SnapshotPolicy
            .create(&over(&[&bad]), &spec(), &role())
            .await
            .unwrap_err();
        assert!(
            e.message
                .starts_with("CreateLifecyclePolicy: InvalidRequestException: Times"),
            "{}",
            e.message
        );
        assert_eq!(bad.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn delete_of_a_policy_already_gone_succeeds_and_a_refusal_fails() {
        let rec = Record::new("dlm_snapshot_policy", "policy-1", spec().inputs);
        let deleted = mock!(aws_sdk_dlm::Client::delete_lifecycle_policy)
            .match_requests(|r| r.policy_id() == Some("policy-1"))
            .then_output(|| DeleteLifecyclePolicyOutput::builder().build());
        SnapshotPolicy
            .delete(&over(&[&deleted]), &rec)
            .await
            .unwrap();
        assert_eq!(deleted.num_calls(), 1);
        let gone = mock!(aws_sdk_dlm::Client::delete_lifecycle_policy)
            .then_error(|| DeleteLifecyclePolicyError::generic(fault("ResourceNotFoundException")));
        SnapshotPolicy.delete(&over(&[&gone]), &rec).await.unwrap();
        let refused = mock!(aws_sdk_dlm::Client::delete_lifecycle_policy)
            .then_error(|| DeleteLifecyclePolicyError::generic(fault("AccessDeniedException")));
        assert!(SnapshotPolicy
            .delete(&over(&[&refused]), &rec)
            .await
            .is_err());
    }
}
mod tags;
pub(crate) use tags::*;
