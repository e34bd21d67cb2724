//! Listener.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A listener on the `alb` dependency.
pub struct Listener;

/// An ACM certificate just issued may not yet be found by the load
/// balancer; the target group just created (our graph creates the
/// listener as soon as the group's create returns) may not be found yet.
const CERTIFICATE_NOT_YET: NotYet =
    NotYet::code("CertificateNotFound", "Certificate 'arn:aws:acm:eu-west-1:123456789012:certificate/0b7e8f2a-4c1d-4e5f-9a6b-3c2d1e0f9a8b' not found");
const CREATE: Call = Call::retrying("elasticloadbalancing:CreateListener", ELBV2_PROPAGATION, &[CERTIFICATE_NOT_YET, TARGET_GROUP_NOT_YET]).why(
    "hashicorp/aws elbv2/listener.go retryListenerCreate: CertificateNotFound for the 5-minute create timeout; TargetGroupNotFound beyond it, since its target_group.go create waits until the group is found (elbv2PropagationTimeout) and ours returns at once",
);
const MODIFY: Call = Call::retrying("elasticloadbalancing:ModifyListener", ELBV2_PROPAGATION, &[CERTIFICATE_NOT_YET, TARGET_GROUP_NOT_YET])
    .why("hashicorp/aws elbv2/listener.go resourceListenerUpdate: CertificateNotFound for the 5-minute update timeout; TargetGroupNotFound beyond it, as on create");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("elasticloadbalancing:DescribeListeners"),
    MODIFY,
    Call::settled("elasticloadbalancing:DeleteListener"),
    Call::read("elasticloadbalancing:DescribeLoadBalancers"),
];

/// What a listener answers on, and what it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListenerInputs {
    /// The load balancer's name (how `find` reaches the listener).
    pub load_balancer: String,
    pub port: i32,
    pub action: ListenerAction,
    /// HTTPS with this certificate when set, else HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
}

impl Inputs for ListenerInputs {
    const KIND: &'static str = "elbv2_listener";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerAction {
    /// To the `tg` dependency.
    Forward,
    /// A permanent redirect to HTTPS on 443.
    RedirectHttps,
}

const LOAD_BALANCER: Need = Need::one(
    "load balancer",
    &[<crate::components::elb::LoadBalancerInputs as crate::engine::Inputs>::KIND],
);
/// Where a forward listener sends traffic (a redirect has none).
const FORWARD_TO: Need = Need::optional(
    "target group",
    &[<crate::components::elb::TargetGroupInputs as crate::engine::Inputs>::KIND],
);

fn listener_action(listener: &ListenerInputs, deps: &Records) -> Result<Action, OpError> {
    match listener.action {
        ListenerAction::RedirectHttps => Ok(Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build()),
        ListenerAction::Forward => Ok(Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(
                &FORWARD_TO
                    .maybe(deps)?
                    .ok_or_else(|| {
                        OpError::new("a forward listener needs its target group dependency")
                    })?
                    .id,
            )
            .build()),
    }
}

/// What the listener does, as `ListenerAction` names it (`none` for an
/// action the stack never sets: a difference).
fn action_of(l: &aws_sdk_elasticloadbalancingv2::types::Listener) -> &'static str {
    l.default_actions()
        .first()
        .and_then(|a| a.r#type())
        .map_or("none", |t| {
            if *t == ActionTypeEnum::Redirect {
                "redirect_https"
            } else {
                "forward"
            }
        })
}

#[tonic::async_trait]
impl Kind<AwsContext> for Listener {
    crate::engine::typed_kind!(ListenerInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
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
    /// `id`: the ARN (hashicorp/aws `aws_lb_listener.id`). A listener of
    /// another load balancer than the stack's cannot move to it.
    async fn observe(
        &self,
        env: &E,
        _: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let o = match env
            .ctx
            .elbv2()
            .describe_listeners()
            .listener_arns(id)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeListeners")(e)),
        };
        let Some(l) = o.listeners().first() else {
            return Ok(None);
        };
        let lb = l.load_balancer_arn().unwrap_or_default();
        if let Ok(ours) = LOAD_BALANCER.the(deps) {
            if ours.id != lb {
                return Err(OpError::new(format!(
                    "it listens on {lb}, not on the stack's load balancer {}: a listener cannot move to another load balancer",
                    ours.id
                )));
            }
        }
        let mut inputs = json!({
            // The load balancer's name, which its ARN holds
            // (…:loadbalancer/app/NAME/ID).
            "load_balancer": lb.rsplit('/').nth(1).unwrap_or(lb),
            "port": l.port(),
            "action": action_of(l),
        });
        crate::components::observed(
            &mut inputs,
            "certificate_arn",
            l.certificates().first().and_then(|c| c.certificate_arn()),
        );
        crate::components::observed(&mut inputs, "ssl_policy", l.ssl_policy());
        Ok(Some(Record::new(
            self.name(),
            l.listener_arn().unwrap_or(id),
            inputs,
        )))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let listener: ListenerInputs = spec.typed()?;
        let mut req = env
            .ctx
            .elbv2()
            .create_listener()
            .load_balancer_arn(&LOAD_BALANCER.the(deps)?.id)
            .port(listener.port)
            .default_actions(listener_action(&listener, deps)?)
            .set_tags(Some(tags(env, spec)));
        req = match &listener.certificate_arn {
            Some(c) => req
                .protocol(ProtocolEnum::Https)
                .certificates(Certificate::builder().certificate_arn(c).build())
                .set_ssl_policy(listener.ssl_policy.clone()),
            None => req.protocol(ProtocolEnum::Http),
        };
        let o = env
            .call(&CREATE, || req.clone().send())
            .await
            .map_err(failed)?;
        let arn = o
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .unwrap_or_default()
            .to_string();
        Ok(Record::new(self.name(), &arn, spec.inputs.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .elbv2()
            .describe_listeners()
            .listener_arns(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o.listeners().first().map(|l| {
                let mut r = rec.clone();
                r.inputs["action"] = json!(action_of(l));
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeListeners")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let listener: ListenerInputs = spec.typed()?;
        let mut req = env
            .ctx
            .elbv2()
            .modify_listener()
            .listener_arn(&old.id)
            .default_actions(listener_action(&listener, deps)?);
        req = match &listener.certificate_arn {
            Some(c) => req
                .protocol(ProtocolEnum::Https)
                .certificates(Certificate::builder().certificate_arn(c).build())
                .set_ssl_policy(listener.ssl_policy.clone()),
            None => req.protocol(ProtocolEnum::Http),
        };
        env.call(&MODIFY, || req.clone().send())
            .await
            .map_err(failed)?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .elbv2()
            .delete_listener()
            .listener_arn(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteListener")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        // Through its load balancer (`load_balancer` input: its name), by port.
        let elb = &env.ctx.elbv2();
        let listener: ListenerInputs = spec.typed()?;
        let lb = match elb
            .describe_load_balancers()
            .names(&listener.load_balancer)
            .send()
            .await
        {
            Ok(o) => o
                .load_balancers()
                .first()
                .and_then(|l| l.load_balancer_arn())
                .map(str::to_string),
            Err(e) if not_found(&e) => None,
            Err(e) => return Err(op("DescribeLoadBalancers")(e)),
        };
        let Some(lb) = lb else {
            return Ok(None);
        };
        let o = elb
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .map_err(op("DescribeListeners"))?;
        Ok(o.listeners()
            .iter()
            .find(|l| l.port() == Some(listener.port))
            .map(|l| {
                Record::new(
                    self.name(),
                    l.listener_arn().unwrap_or_default(),
                    spec.inputs.clone(),
                )
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{plan, Desired};

    /// The plan's verdict on a graph of the listener alone: its inputs are
    /// checked before its needs (it lacks its load balancer).
    fn planned(listener: Spec) -> String {
        let mut g = Desired::new();
        g.add(listener);
        plan(
            &crate::components::registry::all_kinds(),
            &g.into_specs(),
            &Records::new(),
        )
        .unwrap_err()
    }

    #[test]
    fn inputs_that_do_not_read_as_a_listener_are_refused_at_plan() {
        let redirect = ListenerInputs {
            load_balancer: "app".into(),
            port: 80,
            action: ListenerAction::RedirectHttps,
            certificate_arn: None,
            ssl_policy: None,
        };
        let spec = Spec::of("listener.http", &redirect);
        assert_eq!(
            (spec.kind, &spec.inputs),
            (
                "elbv2_listener",
                &json!({"load_balancer": "app", "port": 80, "action": "redirect_https"})
            )
        );
        assert_eq!(planned(spec), "component listener.http (elbv2_listener) needs exactly one load balancer (elbv2_load_balancer) among its dependencies; found none");
        // An action the kind does not know, or a port that is not a number,
        // never reaches CreateListener.
        let err = planned(Spec::new(
            "listener.http",
            "elbv2_listener",
            json!({"load_balancer": "app", "port": 80, "action": "redirect"}),
        ));
        assert!(err.starts_with("component listener.http (elbv2_listener): its inputs do not read as a elbv2_listener: unknown variant `redirect`"), "{err}");
        let err = planned(Spec::new(
            "listener.http",
            "elbv2_listener",
            json!({"load_balancer": "app", "port": "80", "action": "forward"}),
        ));
        assert!(
            err.contains("invalid type: string \"80\", expected i32"),
            "{err}"
        );
    }

    /// CreateListener against aws-smithy-mocks: the declared "not yet"
    /// errors (the certificate just issued, the target group just created,
    /// not found yet) are retried until the listener is created; an error
    /// the declaration does not name is final.
    #[tokio::test(start_paused = true)]
    async fn create_retries_the_declared_not_yet_errors_but_not_an_undeclared_one() {
        use crate::components::mocked::{self, fault};
        use aws_sdk_elasticloadbalancingv2::operation::create_listener::{
            CreateListenerError, CreateListenerOutput,
        };
        use aws_sdk_elasticloadbalancingv2::Client;
        use aws_smithy_mocks::{mock, Rule};
        use aws_smithy_types::error::ErrorMetadata;
        const LB: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/kavak-dev/50dc6c495c0c9188";
        const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/kavak-dev-app/73e2d6bc24d8a067";
        const CERT: &str =
            "arn:aws:acm:eu-west-1:123456789012:certificate/0b7e8f2a-4c1d-4e5f-9a6b-3c2d1e0f9a8b";
        const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/kavak-dev/50dc6c495c0c9188/f2f7dc8efc522ab2";
        let over = |rules: &[&Rule]| -> E {
            mocked::env_over!(elbv2, aws_sdk_elasticloadbalancingv2, rules)
        };
        let says = |n: NotYet| {
            move || {
                CreateListenerError::generic(
                    ErrorMetadata::builder()
                        .code(n.code)
                        .message(n.says)
                        .build(),
                )
            }
        };
        let spec = Spec::of(
            "listener.https",
            &ListenerInputs {
                load_balancer: "kavak-dev".into(),
                port: 443,
                action: ListenerAction::Forward,
                certificate_arn: Some(CERT.into()),
                ssl_policy: None,
            },
        );
        let deps = Records::from([
            (
                "alb".to_string(),
                Record::new("elbv2_load_balancer", LB, json!({})),
            ),
            (
                "tg".to_string(),
                Record::new("elbv2_target_group", TG, json!({})).with("arn", TG),
            ),
        ]);
        let created = mock!(Client::create_listener)
            .match_requests(|r| {
                r.load_balancer_arn() == Some(LB)
                    && r.default_actions()
                        .first()
                        .and_then(|a| a.target_group_arn())
                        == Some(TG)
            })
            .sequence()
            .error(says(CERTIFICATE_NOT_YET))
            .error(says(TARGET_GROUP_NOT_YET))
            .output(|| {
                CreateListenerOutput::builder()
                    .listeners(
                        aws_sdk_elasticloadbalancingv2::types::Listener::builder()
                            .listener_arn(ARN)
                            .build(),
                    )
                    .build()
            })
            .build();
        let rec = Listener
            .create(&over(&[&created]), &spec, &deps)
            .await
            .unwrap();
        assert_eq!(created.num_calls(), 3, "both declared errors are retried");
        assert_eq!(rec.id, ARN);

        let refused = mock!(Client::create_listener)
            .then_error(|| CreateListenerError::generic(fault("InjectedFailure")));
        let e = Listener
            .create(&over(&[&refused]), &spec, &deps)
            .await
            .expect_err("an undeclared error is final");
        assert_eq!(refused.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("CreateListener: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_listeners_port_and_load_balancer_and_refuses_another_load_balancer(
    ) {
        use crate::components::mocked;
        use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
        use aws_sdk_elasticloadbalancingv2::Client;
        use aws_smithy_mocks::{mock, Rule};
        const LB: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/kavak-dev-alb/50dc6c495c0c9188";
        const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/kavak-dev-alb/50dc6c495c0c9188/f2f7dc8efc522ab2";
        let over = |rules: &[&Rule]| -> E {
            mocked::env_over!(elbv2, aws_sdk_elasticloadbalancingv2, rules)
        };
        let hand_made = || {
            mock!(Client::describe_listeners)
                .match_requests(|r| r.listener_arns() == [ARN])
                .then_output(|| {
                    DescribeListenersOutput::builder()
                        .listeners(
                            aws_sdk_elasticloadbalancingv2::types::Listener::builder()
                                .listener_arn(ARN)
                                .load_balancer_arn(LB)
                                .port(8080)
                                .protocol(ProtocolEnum::Http)
                                .default_actions(
                                    Action::builder().r#type(ActionTypeEnum::Forward).build(),
                                )
                                .build(),
                        )
                        .build()
                })
        };
        let spec = Spec::of(
            "listener.http",
            &ListenerInputs {
                load_balancer: "kavak-dev".into(),
                port: 80,
                action: ListenerAction::Forward,
                certificate_arn: None,
                ssl_policy: None,
            },
        );
        let deps = |lb: &str| {
            Records::from([(
                "alb".to_string(),
                Record::new("elbv2_load_balancer", lb, json!({})),
            )])
        };
        let d = hand_made();
        let r = Listener
            .observe(&over(&[&d]), &spec, ARN, &deps(LB))
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, ARN);
        assert_eq!(
            r.inputs,
            json!({"load_balancer": "kavak-dev-alb", "port": 8080, "action": "forward"}),
            "the port from AWS (a difference refuses the move), the load balancer's name as AWS has it"
        );
        let d = hand_made();
        let e = Listener
            .observe(
                &over(&[&d]),
                &spec,
                ARN,
                &deps(
                    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/1",
                ),
            )
            .await
            .unwrap_err();
        assert!(
            e.message.contains("cannot move to another load balancer"),
            "{}",
            e.message
        );
    }
}
