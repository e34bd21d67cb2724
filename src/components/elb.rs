//! Application load balancer, target group and listeners (ELBv2).

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Waiter, GONE};
use crate::provider::AwsContext;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
    Tag, TargetTypeEnum,
};
use serde_json::json;

pub const LB_ACTIVE: Waiter = Waiter::new("to be active", &["provisioning", GONE], &["active"]);
/// Its network interfaces hold the subnets and security groups until it is
/// gone.
pub const LB_DELETED: Waiter = Waiter::new("to be deleted", &["active", "active_impaired", "provisioning", "failed"], &[GONE]);

/// The load balancer `arn`'s state code (None: it does not exist).
pub async fn lb_state(env: &E, arn: &str) -> Result<Option<(String, ())>, OpError> {
    match env.ctx.elbv2().describe_load_balancers().load_balancer_arns(arn).send().await {
        Ok(o) => Ok(o.load_balancers().first().map(|l| (l.state().and_then(|s| s.code()).map(|c| c.as_str()).unwrap_or_default().to_string(), ()))),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeLoadBalancers")(e)),
    }
}

fn tags(env: &E, spec: &Spec) -> Vec<Tag> {
    spec_tags(env, spec).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

crate::aws::not_found_codes!("LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound");

// ---------------------------------------------------------------- Load balancer

/// An internet-facing ALB in the `subnet*` dependencies with the `sg*`
/// dependency. Inputs: `name`, `idle_timeout`; slot `subnets`.
/// Its subnets, in the slot `subnets` (one added is an update).
const LB_SUBNETS: crate::engine::Need = super::need::SUBNETS.in_slot("subnets");

pub struct LoadBalancer;

impl LoadBalancer {
    fn record(&self, inputs: serde_json::Value, lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer) -> Record {
        Record::new(self.name(), lb.load_balancer_arn().unwrap_or_default(), inputs)
            .with("arn", lb.load_balancer_arn().unwrap_or_default())
            .with("dns_name", lb.dns_name().unwrap_or_default())
            .with("zone_id", lb.canonical_hosted_zone_id().unwrap_or_default())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for LoadBalancer {
    fn name(&self) -> &'static str {
        "elbv2_load_balancer"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[LB_SUBNETS, super::need::SECURITY_GROUPS]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Elbv2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let elb = &env.ctx.elbv2();
        let o = elb
            .create_load_balancer()
            .name(spec.str("name"))
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .ip_address_type(IpAddressType::Ipv4)
            .set_subnets(Some(LB_SUBNETS.ids_in(spec, deps)?))
            .set_security_groups(Some(super::need::SECURITY_GROUPS.ids(deps)))
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateLoadBalancer"))?;
        let lb = o.load_balancers().first().ok_or_else(|| OpError::new("CreateLoadBalancer returned no load balancer"))?;
        let rec = self.record(spec.inputs.clone(), lb);
        let arn = rec.id.clone();
        env.wait(&LB_ACTIVE, &format!("load balancer {}", spec.str("name")), || lb_state(env, &arn)).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.elbv2().describe_load_balancers().load_balancer_arns(&rec.id).send().await {
            Ok(o) => Ok(o.load_balancers().first().map(|lb| self.record(rec.inputs.clone(), lb))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeLoadBalancers")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let elb = &env.ctx.elbv2();
        elb.set_subnets().load_balancer_arn(&old.id).set_subnets(Some(LB_SUBNETS.ids_in(spec, deps)?)).send().await.map_err(op("SetSubnets"))?;
        elb.set_security_groups().load_balancer_arn(&old.id).set_security_groups(Some(super::need::SECURITY_GROUPS.ids(deps))).send().await.map_err(op("SetSecurityGroups"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let elb = &env.ctx.elbv2();
        match elb.delete_load_balancer().load_balancer_arn(&rec.id).send().await {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteLoadBalancer")(e)),
        }
        env.wait(&LB_DELETED, &format!("load balancer {}", rec.id), || lb_state(env, &rec.id)).await.map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        match env.ctx.elbv2().describe_load_balancers().names(spec.str("name")).send().await {
            Ok(o) => Ok(o.load_balancers().first().map(|lb| self.record(spec.inputs.clone(), lb))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeLoadBalancers")(e)),
        }
    }
}

// ---------------------------------------------------------------- Target group

/// An IP target group in the `vpc` dependency. Inputs: `name`, `port`,
/// `health_check_path`, `health_check_matcher`, `deregistration_delay`.
pub struct TargetGroup;

#[tonic::async_trait]
impl Kind<AwsContext> for TargetGroup {
    fn name(&self) -> &'static str {
        "elbv2_target_group"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::VPC]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Elbv2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "port"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let elb = &env.ctx.elbv2();
        let o = elb
            .create_target_group()
            .name(spec.str("name"))
            .protocol(ProtocolEnum::Http)
            .port(spec.input("port").as_i64().unwrap_or(80) as i32)
            .vpc_id(&super::need::VPC.the(deps)?.id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(spec.str("health_check_path"))
            .matcher(Matcher::builder().http_code(spec.str("health_check_matcher")).build())
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateTargetGroup"))?;
        let arn = o.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn);
        if let Some(d) = spec.input("deregistration_delay").as_i64() {
            use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
            elb.modify_target_group_attributes()
                .target_group_arn(&arn)
                .attributes(TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value(d.to_string()).build())
                .send()
                .await
                .map_err(|e| OpError::from(op("ModifyTargetGroupAttributes")(e)).partial(rec.clone()))?;
        }
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.elbv2().describe_target_groups().target_group_arns(&rec.id).send().await {
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
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        env.ctx
            .elbv2()
            .modify_target_group()
            .target_group_arn(&old.id)
            .health_check_path(spec.str("health_check_path"))
            .matcher(Matcher::builder().http_code(spec.str("health_check_matcher")).build())
            .send()
            .await
            .map_err(op("ModifyTargetGroup"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let r = env
            .retry(std::time::Duration::from_secs(120), |e| crate::aws::code_in(e, &["ResourceInUse"]), || env.ctx.elbv2().delete_target_group().target_group_arn(&rec.id).send())
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteTargetGroup")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        match env.ctx.elbv2().describe_target_groups().names(spec.str("name")).send().await {
            Ok(o) => Ok(o.target_groups().first().map(|t| {
                let arn = t.target_group_arn().unwrap_or_default();
                Record::new(self.name(), arn, spec.inputs.clone()).with("arn", arn)
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeTargetGroups")(e)),
        }
    }
}

// ---------------------------------------------------------------- Listener

/// A listener on the `alb` dependency. Inputs: `load_balancer` (name), `port`, `action`
/// (`forward` to the `tg` dependency, or `redirect_https`),
/// `certificate_arn` (HTTPS when set), `ssl_policy`.
pub struct Listener;

const LOAD_BALANCER: Need = Need::one("load balancer", &["elbv2_load_balancer"]);
/// Where a forward listener sends traffic (a redirect has none).
const FORWARD_TO: Need = Need::optional("target group", &["elbv2_target_group"]);

fn listener_action(spec: &Spec, deps: &Records) -> Result<Action, OpError> {
    match spec.str("action") {
        "redirect_https" => Ok(Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(RedirectActionConfig::builder().protocol("HTTPS").port("443").status_code(RedirectActionStatusCodeEnum::Http301).build())
            .build()),
        _ => Ok(Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(&FORWARD_TO.maybe(deps)?.ok_or_else(|| OpError::new("a forward listener needs its target group dependency"))?.id)
            .build()),
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Listener {
    fn name(&self) -> &'static str {
        "elbv2_listener"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[LOAD_BALANCER, FORWARD_TO]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Elbv2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["port"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let mut req = env
            .ctx
            .elbv2()
            .create_listener()
            .load_balancer_arn(&LOAD_BALANCER.the(deps)?.id)
            .port(spec.input("port").as_i64().unwrap_or(80) as i32)
            .default_actions(listener_action(spec, deps)?)
            .set_tags(Some(tags(env, spec)));
        req = match spec.input("certificate_arn").as_str() {
            Some(c) => req.protocol(ProtocolEnum::Https).certificates(Certificate::builder().certificate_arn(c).build()).ssl_policy(spec.str("ssl_policy")),
            None => req.protocol(ProtocolEnum::Http),
        };
        let o = req.send().await.map_err(op("CreateListener"))?;
        let arn = o.listeners().first().and_then(|l| l.listener_arn()).unwrap_or_default().to_string();
        Ok(Record::new(self.name(), &arn, spec.inputs.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.elbv2().describe_listeners().listener_arns(&rec.id).send().await {
            Ok(o) => Ok(o.listeners().first().map(|l| {
                let mut r = rec.clone();
                let action = l.default_actions().first().and_then(|a| a.r#type()).map(|t| if *t == ActionTypeEnum::Redirect { "redirect_https" } else { "forward" });
                r.inputs["action"] = json!(action.unwrap_or("none"));
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeListeners")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let mut req = env.ctx.elbv2().modify_listener().listener_arn(&old.id).default_actions(listener_action(spec, deps)?);
        req = match spec.input("certificate_arn").as_str() {
            Some(c) => req.protocol(ProtocolEnum::Https).certificates(Certificate::builder().certificate_arn(c).build()).ssl_policy(spec.str("ssl_policy")),
            None => req.protocol(ProtocolEnum::Http),
        };
        req.send().await.map_err(op("ModifyListener"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.elbv2().delete_listener().listener_arn(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteListener")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        // Through its load balancer (`load_balancer` input: its name), by port.
        let elb = &env.ctx.elbv2();
        let lb = match elb.describe_load_balancers().names(spec.str("load_balancer")).send().await {
            Ok(o) => o.load_balancers().first().and_then(|l| l.load_balancer_arn()).map(str::to_string),
            Err(e) if not_found(&e) => None,
            Err(e) => return Err(op("DescribeLoadBalancers")(e)),
        };
        let Some(lb) = lb else {
            return Ok(None);
        };
        let o = elb.describe_listeners().load_balancer_arn(lb).send().await.map_err(op("DescribeListeners"))?;
        let port = spec.input("port").as_i64().unwrap_or(80) as i32;
        Ok(o.listeners().iter().find(|l| l.port() == Some(port)).map(|l| Record::new(self.name(), l.listener_arn().unwrap_or_default(), spec.inputs.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked::{self, fault};
    use super::*;
    use aws_sdk_elasticloadbalancingv2::operation::delete_load_balancer::{DeleteLoadBalancerError, DeleteLoadBalancerOutput};
    use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::{DescribeLoadBalancersError, DescribeLoadBalancersOutput};
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancer as Lb, LoadBalancerState, LoadBalancerStateEnum};
    use aws_smithy_mocks::{mock, Rule};

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/kavak-dev/50dc6c495c0c9188";

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(elbv2, aws_sdk_elasticloadbalancingv2, rules)
    }
    fn described(state: LoadBalancerStateEnum) -> impl Fn() -> DescribeLoadBalancersOutput + Send + Sync {
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

    #[tokio::test]
    async fn delete_waits_until_the_load_balancer_is_gone() {
        // Its network interfaces hold the subnets and security groups until
        // it is gone: the delete of those must not start before.
        let delete = mock!(aws_sdk_elasticloadbalancingv2::Client::delete_load_balancer)
            .match_requests(|r| r.load_balancer_arn() == Some(ARN))
            .then_output(|| DeleteLoadBalancerOutput::builder().build());
        let still = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers).then_output(described(LoadBalancerStateEnum::Active));
        let gone = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers).then_error(missing);
        LoadBalancer.delete(&over(&[&delete, &still, &gone]), &rec()).await.unwrap();
        assert_eq!((still.num_calls(), gone.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn delete_of_a_load_balancer_already_gone_succeeds_and_a_refusal_fails() {
        let gone = mock!(aws_sdk_elasticloadbalancingv2::Client::delete_load_balancer).then_error(|| DeleteLoadBalancerError::generic(fault("LoadBalancerNotFound")));
        LoadBalancer.delete(&over(&[&gone]), &rec()).await.unwrap();
        let protected = mock!(aws_sdk_elasticloadbalancingv2::Client::delete_load_balancer).then_error(|| DeleteLoadBalancerError::generic(fault("OperationNotPermitted")));
        let e = LoadBalancer.delete(&over(&[&protected]), &rec()).await.expect_err("deletion protection is not success");
        assert!(e.message.contains("DeleteLoadBalancer"), "{}", e.message);
    }

    #[tokio::test]
    async fn found_by_its_name_with_its_dns_name_or_not_at_all() {
        let spec = Spec::new("alb", "elbv2_load_balancer", json!({"name": "kavak-dev", "subnets": []}));
        let found = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .match_requests(|r| r.names() == ["kavak-dev"])
            .then_output(described(LoadBalancerStateEnum::Active));
        let r = LoadBalancer.find(&over(&[&found]), &spec).await.unwrap().expect("found");
        assert_eq!((r.id.as_str(), r.out("dns_name")), (ARN, "kavak-dev-1.eu-west-1.elb.amazonaws.com"));
        let none = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers).then_error(missing);
        assert!(LoadBalancer.find(&over(&[&none]), &spec).await.unwrap().is_none());
    }
}
