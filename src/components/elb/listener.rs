//! Listener.

use super::*;

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
