//! Target group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An IP target group in the `vpc` dependency.
pub struct TargetGroup;

/// The group just created may not be found yet by the attributes' change
/// that follows it.
const MODIFY_ATTRIBUTES: Call = Call::retrying("elasticloadbalancing:ModifyTargetGroupAttributes", ELBV2_PROPAGATION, &[TARGET_GROUP_NOT_YET]).why(
    "hashicorp/aws elbv2/target_group.go resourceTargetGroupCreate waits RetryWhenNotFound(elbv2PropagationTimeout) for the new group before ModifyTargetGroupAttributes; we retry the modify itself for as long",
);
/// The listener (or the ECS service) the stack just deleted still holds
/// the group a while.
const DELETE: Call = Call::retrying(
    "elasticloadbalancing:DeleteTargetGroup",
    PROPAGATION,
    &[NotYet::message(
        "ResourceInUse",
        "is currently in use by a listener or a rule",
        "Target group 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/kavak-dev-app/73e2d6bc24d8a067' is currently in use by a listener or a rule",
    )],
)
.why("hashicorp/aws elbv2/target_group.go resourceTargetGroupDelete: ResourceInUse 'is currently in use by a listener or a rule' for 2 minutes");
const CALLS: &[Call] = &[
    Call::settled("elasticloadbalancing:CreateTargetGroup"),
    Call::read("elasticloadbalancing:DescribeTargetGroups"),
    Call::settled("elasticloadbalancing:ModifyTargetGroup"),
    MODIFY_ATTRIBUTES,
    DELETE,
];

/// Where the targets listen and how their health is checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetGroupInputs {
    pub name: String,
    pub port: i32,
    pub health_check_path: String,
    /// HTTP codes the health check accepts (`200-399`).
    pub health_check_matcher: String,
    /// Seconds a deregistered target keeps its connections (AWS's 300 when
    /// None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration_delay: Option<i32>,
}

impl Inputs for TargetGroupInputs {
    const KIND: &'static str = "elbv2_target_group";
}

#[tonic::async_trait]
impl Kind<AwsContext> for TargetGroup {
    crate::engine::typed_kind!(TargetGroupInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::VPC]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Elbv2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "port"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the ARN (hashicorp/aws `aws_lb_target_group.id`) or the name.
    /// Only an HTTP group of IP targets (what the stack creates for Fargate
    /// tasks; neither can change in place), in the stack's VPC.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let req = env.ctx.elbv2().describe_target_groups();
        let req = if id.starts_with("arn:") {
            req.target_group_arns(id)
        } else {
            req.names(id)
        };
        let o = match req.send().await {
            Ok(o) => o,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeTargetGroups")(e)),
        };
        let Some(t) = o.target_groups().first() else {
            return Ok(None);
        };
        if t.target_type() != Some(&TargetTypeEnum::Ip) {
            return Err(OpError::new(format!(
                "its targets are of type {}; the stack's target group takes the Fargate tasks' addresses (type ip), which a target group cannot change to",
                t.target_type().map_or("unknown", |k| k.as_str())
            )));
        }
        if t.protocol() != Some(&ProtocolEnum::Http) {
            return Err(OpError::new(format!(
                "its protocol is {}; the stack's target group is HTTP, which a target group cannot change to",
                t.protocol().map_or("unknown", |p| p.as_str())
            )));
        }
        if let Ok(vpc) = crate::components::need::VPC.the(deps) {
            if t.vpc_id() != Some(vpc.id.as_str()) {
                return Err(OpError::new(format!(
                    "it is in {}, not in the stack's VPC {}: a target group cannot move to another VPC",
                    t.vpc_id().unwrap_or("no VPC"),
                    vpc.id
                )));
            }
        }
        let arn = t.target_group_arn().unwrap_or_default();
        let mut inputs = json!({
            "name": t.target_group_name(),
            "port": t.port(),
            "health_check_path": t.health_check_path().unwrap_or_default(),
            "health_check_matcher": t.matcher().and_then(|m| m.http_code()).unwrap_or_default(),
        });
        if spec.inputs["deregistration_delay"].is_number() {
            // An attribute of the group, which its describe does not show:
            // null, so that the update that follows sets the configured one.
            inputs["deregistration_delay"] = serde_json::Value::Null;
        }
        Ok(Some(Record::new(self.name(), arn, inputs).with("arn", arn)))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let group: TargetGroupInputs = spec.typed()?;
        let elb = &env.ctx.elbv2();
        let o = elb
            .create_target_group()
            .name(&group.name)
            .protocol(ProtocolEnum::Http)
            .port(group.port)
            .vpc_id(&crate::components::need::VPC.the(deps)?.id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(&group.health_check_path)
            .matcher(
                Matcher::builder()
                    .http_code(&group.health_check_matcher)
                    .build(),
            )
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateTargetGroup"))?;
        let arn = o
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .unwrap_or_default()
            .to_string();
        let rec = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn);
        if let Some(d) = group.deregistration_delay {
            set_deregistration_delay(env, &arn, d)
                .await
                .map_err(|e| e.partial(rec.clone()))?;
        }
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .elbv2()
            .describe_target_groups()
            .target_group_arns(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o.target_groups().first().map(|t| {
                let mut r = rec.clone();
                r.inputs["health_check_path"] = json!(t.health_check_path().unwrap_or_default());
                r.inputs["port"] = json!(t.port().unwrap_or(0));
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeTargetGroups")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let group: TargetGroupInputs = spec.typed()?;
        env.ctx
            .elbv2()
            .modify_target_group()
            .target_group_arn(&old.id)
            .health_check_path(&group.health_check_path)
            .matcher(
                Matcher::builder()
                    .http_code(&group.health_check_matcher)
                    .build(),
            )
            .send()
            .await
            .map_err(op("ModifyTargetGroup"))?;
        let had = old.typed::<TargetGroupInputs>()?.deregistration_delay;
        if let Some(d) = group.deregistration_delay.filter(|d| had != Some(*d)) {
            set_deregistration_delay(env, &old.id, d).await?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let elb = &env.ctx.elbv2();
        match env
            .call(&DELETE, || {
                elb.delete_target_group().target_group_arn(&rec.id).send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .elbv2()
            .describe_target_groups()
            .names(&spec.typed::<TargetGroupInputs>()?.name)
            .send()
            .await
        {
            Ok(o) => Ok(o.target_groups().first().map(|t| {
                let arn = t.target_group_arn().unwrap_or_default();
                Record::new(self.name(), arn, spec.inputs.clone()).with("arn", arn)
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeTargetGroups")(e)),
        }
    }
}

/// Seconds a deregistered target keeps its connections.
async fn set_deregistration_delay(env: &E, arn: &str, seconds: i32) -> Result<(), OpError> {
    use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
    let elb = &env.ctx.elbv2();
    let delay = TargetGroupAttribute::builder()
        .key("deregistration_delay.timeout_seconds")
        .value(seconds.to_string())
        .build();
    env.call(&MODIFY_ATTRIBUTES, || {
        elb.modify_target_group_attributes()
            .target_group_arn(arn)
            .attributes(delay.clone())
            .send()
    })
    .await
    .map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_elasticloadbalancingv2::operation::modify_target_group::ModifyTargetGroupOutput;
    use aws_sdk_elasticloadbalancingv2::operation::modify_target_group_attributes::ModifyTargetGroupAttributesOutput;
    use aws_sdk_elasticloadbalancingv2::Client;
    use aws_smithy_mocks::{mock, Rule};

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/kavak-dev-app/73e2d6bc24d8a067";

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(elbv2, aws_sdk_elasticloadbalancingv2, rules)
    }

    fn group(delay: i32) -> TargetGroupInputs {
        TargetGroupInputs {
            name: "kavak-dev-app".into(),
            port: 8000,
            health_check_path: "/health".into(),
            health_check_matcher: "200-399".into(),
            deregistration_delay: Some(delay),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_sets_the_deregistration_delay_only_when_it_changed() {
        let old = Record::new(
            "elbv2_target_group",
            ARN,
            serde_json::to_value(group(30)).unwrap(),
        );
        let modify = || {
            mock!(Client::modify_target_group)
                .match_requests(|r| r.health_check_path() == Some("/health"))
                .then_output(|| ModifyTargetGroupOutput::builder().build())
        };
        let unchanged = modify();
        TargetGroup
            .update(
                &over(&[&unchanged]),
                &Spec::of("tg", &group(30)),
                &old,
                &Records::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            unchanged.num_calls(),
            1,
            "an unchanged delay is not sent (the mock refuses any other call)"
        );
        let (changed, delay) = (
            modify(),
            mock!(Client::modify_target_group_attributes)
                .match_requests(|r| {
                    r.attributes().iter().any(|a| {
                        a.key() == Some("deregistration_delay.timeout_seconds")
                            && a.value() == Some("5")
                    })
                })
                .then_output(|| ModifyTargetGroupAttributesOutput::builder().build()),
        );
        let rec = TargetGroup
            .update(
                &over(&[&changed, &delay]),
                &Spec::of("tg", &group(5)),
                &old,
                &Records::new(),
            )
            .await
            .unwrap();
        assert_eq!((changed.num_calls(), delay.num_calls()), (1, 1));
        assert_eq!(rec.inputs["deregistration_delay"], 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_still_in_use_is_deleted_once_freed_and_a_refusal_is_not_retried() {
        use aws_sdk_elasticloadbalancingv2::operation::delete_target_group::{
            DeleteTargetGroupError, DeleteTargetGroupOutput,
        };
        let rec = Record::new(
            "elbv2_target_group",
            ARN,
            serde_json::to_value(group(30)).unwrap(),
        );
        // The listener the stack just deleted still holds it: retried.
        let freed = mock!(Client::delete_target_group)
            .sequence()
            .error(|| {
                DeleteTargetGroupError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ResourceInUse")
                        .message(format!(
                            "Target group '{ARN}' is currently in use by a listener or a rule"
                        ))
                        .build(),
                )
            })
            .output(|| DeleteTargetGroupOutput::builder().build())
            .build();
        TargetGroup.delete(&over(&[&freed]), &rec).await.unwrap();
        assert_eq!(freed.num_calls(), 2);
        let denied = mock!(Client::delete_target_group)
            .then_error(|| DeleteTargetGroupError::generic(mocked::fault("AccessDenied")));
        let e = TargetGroup
            .delete(&over(&[&denied]), &rec)
            .await
            .expect_err("a refusal is final");
        assert!(e.message.contains("DeleteTargetGroup"), "{}", e.message);
        assert_eq!(denied.num_calls(), 1, "not retried");
    }

    /// The hand-made group: `kind` targets in vpc-1.
    fn hand_made(kind: TargetTypeEnum) -> Rule {
        use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
        mock!(Client::describe_target_groups)
            .match_requests(|r| r.target_group_arns() == [ARN])
            .then_output(move || {
                DescribeTargetGroupsOutput::builder()
                    .target_groups(
                        aws_sdk_elasticloadbalancingv2::types::TargetGroup::builder()
                            .target_group_arn(ARN)
                            .target_group_name("kavak-dev-tg")
                            .port(8000)
                            .protocol(ProtocolEnum::Http)
                            .target_type(kind.clone())
                            .vpc_id("vpc-1")
                            .health_check_path("/health")
                            .matcher(Matcher::builder().http_code("200").build())
                            .build(),
                    )
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_groups_own_name_port_and_health_check() {
        let mut wanted = group(30);
        wanted.port = 8080;
        let spec = Spec::of("tg", &wanted);
        let deps: Records = [(
            "vpc".to_string(),
            Record::new("ec2_vpc", "vpc-1", json!({})),
        )]
        .into();
        let d = hand_made(TargetTypeEnum::Ip);
        let r = TargetGroup
            .observe(&over(&[&d]), &spec, ARN, &deps)
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!((r.id.as_str(), r.out("arn")), (ARN, ARN));
        assert_eq!(
            r.inputs,
            json!({"name": "kavak-dev-tg", "port": 8000, "health_check_path": "/health",
                   "health_check_matcher": "200", "deregistration_delay": null}),
            "name (kept) and port from AWS: the port differs, which refuses the move"
        );
        assert_eq!(
            r.typed::<TargetGroupInputs>().unwrap().deregistration_delay,
            None,
            "unknown: the update sets it"
        );
        let d = hand_made(TargetTypeEnum::Instance);
        let e = TargetGroup
            .observe(&over(&[&d]), &spec, ARN, &deps)
            .await
            .unwrap_err();
        assert!(e.message.contains("of type instance"), "{}", e.message);
        let other_vpc: Records = [(
            "vpc".to_string(),
            Record::new("ec2_vpc", "vpc-2", json!({})),
        )]
        .into();
        let d = hand_made(TargetTypeEnum::Ip);
        let e = TargetGroup
            .observe(&over(&[&d]), &spec, ARN, &other_vpc)
            .await
            .unwrap_err();
        assert!(
            e.message.contains("not in the stack's VPC vpc-2"),
            "{}",
            e.message
        );
    }
}
