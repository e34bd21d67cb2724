//! Load balancer.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// Its subnets, in the slot `subnets` (one added is an update).
const LB_SUBNETS: crate::engine::Need = crate::components::need::SUBNETS.in_slot("subnets");

/// An internet-facing ALB in the subnets of its slot `subnets`, with the
/// `sg*` dependencies.
pub struct LoadBalancer;

/// hashicorp/aws elbv2/load_balancer.go retries none of these: a load
/// balancer just created that DescribeLoadBalancers does not find yet is
/// waited for (`LB_ACTIVE` counts "gone" as pending), and its subnets and
/// security groups are created and waited for before it.
const CALLS: &[Call] = &[
    Call::settled("elasticloadbalancing:CreateLoadBalancer"),
    Call::read("elasticloadbalancing:DescribeLoadBalancers"),
    Call::settled("elasticloadbalancing:SetSubnets"),
    Call::settled("elasticloadbalancing:SetSecurityGroups"),
    Call::settled("elasticloadbalancing:DeleteLoadBalancer"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerInputs {
    /// At most 32 characters: also how `find` reaches it.
    pub name: String,
}

impl Inputs for LoadBalancerInputs {
    const KIND: &'static str = "elbv2_load_balancer";
}

impl LoadBalancer {
    fn record(
        &self,
        inputs: serde_json::Value,
        lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer,
    ) -> Record {
        Record::new(
            self.name(),
            lb.load_balancer_arn().unwrap_or_default(),
            inputs,
        )
        .with("arn", lb.load_balancer_arn().unwrap_or_default())
        .with("dns_name", lb.dns_name().unwrap_or_default())
        .with("zone_id", lb.canonical_hosted_zone_id().unwrap_or_default())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for LoadBalancer {
    crate::engine::typed_kind!(LoadBalancerInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn", "dns_name", "zone_id"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[LB_SUBNETS, crate::components::need::SECURITY_GROUPS]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Elbv2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the ARN (hashicorp/aws `aws_lb.id`) or the name. Only an
    /// internet-facing application load balancer, which the stack's is
    /// (neither can change in place); its subnets fill the slot.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let req = env.ctx.elbv2().describe_load_balancers();
        let req = if id.starts_with("arn:") {
            req.load_balancer_arns(id)
        } else {
            req.names(id)
        };
        let o = match req.send().await {
            Ok(o) => o,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeLoadBalancers")(e)),
        };
        let Some(lb) = o.load_balancers().first() else {
            return Ok(None);
        };
        if lb.r#type() != Some(&LoadBalancerTypeEnum::Application) {
            return Err(OpError::new(format!(
                "it is a {} load balancer; the stack's is an application load balancer",
                lb.r#type().map_or("typeless", |t| t.as_str())
            )));
        }
        // No scheme shown is CreateLoadBalancer's default, internet-facing.
        if lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal) {
            return Err(OpError::new(
                "it is internal; the stack's load balancer is internet-facing, which an existing one cannot become",
            ));
        }
        let subnets: Vec<String> = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_string))
            .collect();
        let inputs = json!({
            "name": lb.load_balancer_name(),
            "subnets": crate::components::subnet_groups::observed_slot(spec, "subnets", deps, &subnets),
        });
        Ok(Some(self.record(inputs, lb)))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let elb = &env.ctx.elbv2();
        let name = spec.typed::<LoadBalancerInputs>()?.name;
        let o = elb
            .create_load_balancer()
            .name(&name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .ip_address_type(IpAddressType::Ipv4)
            .set_subnets(Some(LB_SUBNETS.ids_in(spec, deps)?))
            .set_security_groups(Some(crate::components::need::SECURITY_GROUPS.ids(deps)))
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateLoadBalancer"))?;
        let lb = o
            .load_balancers()
            .first()
            .ok_or_else(|| OpError::new("CreateLoadBalancer returned no load balancer"))?;
        let rec = self.record(spec.inputs.clone(), lb);
        let arn = rec.id.clone();
        env.wait(&LB_ACTIVE, &format!("load balancer {name}"), || {
            lb_state(env, &arn)
        })
        .await
        .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .elbv2()
            .describe_load_balancers()
            .load_balancer_arns(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .load_balancers()
                .first()
                .map(|lb| self.record(rec.inputs.clone(), lb))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeLoadBalancers")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let elb = &env.ctx.elbv2();
        elb.set_subnets()
            .load_balancer_arn(&old.id)
            .set_subnets(Some(LB_SUBNETS.ids_in(spec, deps)?))
            .send()
            .await
            .map_err(op("SetSubnets"))?;
        elb.set_security_groups()
            .load_balancer_arn(&old.id)
            .set_security_groups(Some(crate::components::need::SECURITY_GROUPS.ids(deps)))
            .send()
            .await
            .map_err(op("SetSecurityGroups"))?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let elb = &env.ctx.elbv2();
        match elb
            .delete_load_balancer()
            .load_balancer_arn(&rec.id)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteLoadBalancer")(e)),
        }
        env.wait(&LB_DELETED, &format!("load balancer {}", rec.id), || {
            lb_state(env, &rec.id)
        })
        .await
        .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .elbv2()
            .describe_load_balancers()
            .names(spec.typed::<LoadBalancerInputs>()?.name)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .load_balancers()
                .first()
                .map(|lb| self.record(spec.inputs.clone(), lb))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeLoadBalancers")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_elasticloadbalancingv2::operation::delete_load_balancer::{
        DeleteLoadBalancerError, DeleteLoadBalancerOutput,
    };
    use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::{
        DescribeLoadBalancersError, DescribeLoadBalancersOutput,
    };
    use aws_sdk_elasticloadbalancingv2::types::{
        LoadBalancer as Lb, LoadBalancerState, LoadBalancerStateEnum,
    };
    use aws_smithy_mocks::{mock, Rule};

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/kavak-dev/50dc6c495c0c9188";

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(elbv2, aws_sdk_elasticloadbalancingv2, rules)
    }
    fn described(
        state: LoadBalancerStateEnum,
    ) -> impl Fn() -> DescribeLoadBalancersOutput + Send + Sync {
        move || {
            DescribeLoadBalancersOutput::builder()
                .load_balancers(
                    Lb::builder()
                        .load_balancer_arn(ARN)
                        .dns_name("kavak-dev-1.eu-west-1.elb.amazonaws.com")
                        .state(LoadBalancerState::builder().code(state.clone()).build())
                        .build(),
                )
                .build()
        }
    }
    fn missing() -> DescribeLoadBalancersError {
        DescribeLoadBalancersError::generic(fault("LoadBalancerNotFound"))
    }
    fn rec() -> Record {
        Record::new("elbv2_load_balancer", ARN, json!({"name": "kavak-dev"}))
    }

    #[tokio::test(start_paused = true)]
    async fn delete_waits_until_the_load_balancer_is_gone() {
        // Its network interfaces hold the subnets and security groups until
        // it is gone: the delete of those must not start before.
        let delete = mock!(aws_sdk_elasticloadbalancingv2::Client::delete_load_balancer)
            .match_requests(|r| r.load_balancer_arn() == Some(ARN))
            .then_output(|| DeleteLoadBalancerOutput::builder().build());
        let still = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .then_output(described(LoadBalancerStateEnum::Active));
        let gone = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .then_error(missing);
        LoadBalancer
            .delete(&over(&[&delete, &still, &gone]), &rec())
            .await
            .unwrap();
        assert_eq!((still.num_calls(), gone.num_calls()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn delete_of_a_load_balancer_already_gone_succeeds_and_a_refusal_fails() {
        let gone = mock!(aws_sdk_elasticloadbalancingv2::Client::delete_load_balancer)
            .then_error(|| DeleteLoadBalancerError::generic(fault("LoadBalancerNotFound")));
        LoadBalancer.delete(&over(&[&gone]), &rec()).await.unwrap();
        let protected = mock!(aws_sdk_elasticloadbalancingv2::Client::delete_load_balancer)
            .then_error(|| DeleteLoadBalancerError::generic(fault("OperationNotPermitted")));
        let e = LoadBalancer
            .delete(&over(&[&protected]), &rec())
            .await
            .expect_err("deletion protection is not success");
        assert!(e.message.contains("DeleteLoadBalancer"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn found_by_its_name_with_its_dns_name_or_not_at_all() {
        let spec = Spec::new(
            "alb",
            "elbv2_load_balancer",
            json!({"name": "kavak-dev", "subnets": []}),
        );
        let found = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .match_requests(|r| r.names() == ["kavak-dev"])
            .then_output(described(LoadBalancerStateEnum::Active));
        let r = LoadBalancer
            .find(&over(&[&found]), &spec)
            .await
            .unwrap()
            .expect("found");
        assert_eq!(
            (r.id.as_str(), r.out("dns_name")),
            (ARN, "kavak-dev-1.eu-west-1.elb.amazonaws.com")
        );
        let none = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .then_error(missing);
        assert!(LoadBalancer
            .find(&over(&[&none]), &spec)
            .await
            .unwrap()
            .is_none());
    }

    /// The hand-made load balancer: `scheme`, `kind`, in subnets 1 and 9.
    fn hand_made(scheme: LoadBalancerSchemeEnum, kind: LoadBalancerTypeEnum) -> Rule {
        use aws_sdk_elasticloadbalancingv2::types::AvailabilityZone;
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .match_requests(|r| r.load_balancer_arns() == [ARN])
            .then_output(move || {
                DescribeLoadBalancersOutput::builder()
                    .load_balancers(
                        Lb::builder()
                            .load_balancer_arn(ARN)
                            .load_balancer_name("kavak-dev-alb")
                            .dns_name("kavak-dev-1.eu-west-1.elb.amazonaws.com")
                            .canonical_hosted_zone_id("Z32O12XQLNTSW2")
                            .r#type(kind.clone())
                            .scheme(scheme.clone())
                            .availability_zones(
                                AvailabilityZone::builder().subnet_id("subnet-9").build(),
                            )
                            .availability_zones(
                                AvailabilityZone::builder().subnet_id("subnet-1").build(),
                            )
                            .build(),
                    )
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_load_balancers_own_name_and_subnets() {
        let mut g = crate::engine::Desired::new();
        let a = g.add(Spec::new("subnet.public.a", "ec2_subnet", json!({})));
        let b = g.add(Spec::new("subnet.public.b", "ec2_subnet", json!({})));
        let spec = Spec::new("alb", "elbv2_load_balancer", json!({"name": "kavak-dev"}))
            .filling_each("subnets", [&a, &b], crate::engine::OnDepChange::Update);
        let deps: Records = [(
            "subnet.public.a".to_string(),
            Record::new("ec2_subnet", "subnet-1", json!({})),
        )]
        .into();
        let d = hand_made(
            LoadBalancerSchemeEnum::InternetFacing,
            LoadBalancerTypeEnum::Application,
        );
        let r = LoadBalancer
            .observe(&over(&[&d]), &spec, ARN, &deps)
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, ARN);
        assert_eq!(
            r.inputs,
            json!({"name": "kavak-dev-alb", "subnets": ["subnet.public.a", "subnet-9"]}),
            "its own name (kept); a subnet no dependency has by its id"
        );
        assert_eq!(
            (r.out("arn"), r.out("dns_name"), r.out("zone_id")),
            (
                ARN,
                "kavak-dev-1.eu-west-1.elb.amazonaws.com",
                "Z32O12XQLNTSW2"
            )
        );
        let d = hand_made(
            LoadBalancerSchemeEnum::Internal,
            LoadBalancerTypeEnum::Application,
        );
        let e = LoadBalancer
            .observe(&over(&[&d]), &spec, ARN, &deps)
            .await
            .unwrap_err();
        assert!(e.message.contains("internal"), "{}", e.message);
        let d = hand_made(
            LoadBalancerSchemeEnum::InternetFacing,
            LoadBalancerTypeEnum::Network,
        );
        let e = LoadBalancer
            .observe(&over(&[&d]), &spec, ARN, &deps)
            .await
            .unwrap_err();
        assert!(
            e.message.starts_with("it is a network load balancer"),
            "{}",
            e.message
        );
        let by_name = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .match_requests(|r| r.names() == ["kavak-dev-alb"])
            .then_error(missing);
        assert!(LoadBalancer
            .observe(&over(&[&by_name]), &spec, "kavak-dev-alb", &deps)
            .await
            .unwrap()
            .is_none());
    }
}
