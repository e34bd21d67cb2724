//! Internet gateway.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub struct InternetGateway;

/// A gateway just created may not yet be found by the attach that follows
/// it (hashicorp/aws `internet_gateway.go`: `attachInternetGateway` retries
/// `InvalidInternetGatewayID.NotFound` for `ec2PropagationTimeout`).
const ATTACH: Call =
    Call::retrying("ec2:AttachInternetGateway", PROPAGATION, &[NotYet::code("InvalidInternetGatewayID.NotFound", "The internetGateway ID 'igw-0d6c3e2a7e1f4b5a9' does not exist")])
        .why("hashicorp/aws internet_gateway.go attachInternetGateway: InvalidInternetGatewayID.NotFound for ec2PropagationTimeout");
/// A gateway still routing public addresses (NAT gateways, load balancers,
/// Elastic IPs being released) cannot be detached yet.
const DETACH: Call = Call::retrying(
    "ec2:DetachInternetGateway",
    DRAIN,
    &[NotYet::code(
        "DependencyViolation",
        "Network vpc-0e5b7b0f1c2d3e4f5 has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.",
    )],
)
.why("hashicorp/aws internet_gateway.go detachInternetGateway: DependencyViolation for the 15-minute detach timeout; ours is the 5-minute DRAIN since the stack deletes what maps addresses first");
const DELETE: Call = Call::retrying(
    "ec2:DeleteInternetGateway",
    DRAIN,
    &[NotYet::code(
        "DependencyViolation",
        "The internetGateway 'igw-0d6c3e2a7e1f4b5a9' has dependencies and cannot be deleted.",
    )],
)
.why(
    "hashicorp/aws internet_gateway.go delete: DependencyViolation retried for the delete timeout",
);
const CALLS: &[Call] = &[
    Call::settled("ec2:CreateInternetGateway"),
    ATTACH,
    DETACH,
    DELETE,
    Call::read("ec2:DescribeInternetGateways"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InternetGatewayInputs {
    /// Attached to the VPC dependency; read back, so a gateway detached
    /// out of band is drift that the update repairs.
    pub attached: bool,
}

impl Inputs for InternetGatewayInputs {
    const KIND: &'static str = "ec2_internet_gateway";
}

#[tonic::async_trait]
impl Kind<AwsContext> for InternetGateway {
    crate::engine::typed_kind!(InternetGatewayInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["vpc_id"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::VPC]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2
            .create_internet_gateway()
            .tag_specifications(tag_spec(env, spec, ResourceType::InternetGateway))
            .send()
            .await
            .map_err(op("CreateInternetGateway"))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_string();
        let vpc = &crate::components::need::VPC.the(deps)?.id;
        let rec = Record::new(self.name(), &id, spec.inputs.clone()).with("vpc_id", vpc);
        env.call(&ATTACH, || {
            ec2.attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(vpc)
                .send()
        })
        .await
        .map_err(|e| failed(e).partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .ec2()
            .describe_internet_gateways()
            .internet_gateway_ids(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o.internet_gateways().first().map(|g| {
                // Detached out of band, the gateway routes nothing: the
                // update attaches it again.
                let vpc = g
                    .attachments()
                    .first()
                    .and_then(|a| a.vpc_id())
                    .unwrap_or_default();
                let mut r = rec.clone().with("vpc_id", vpc);
                r.inputs["attached"] = json!(!vpc.is_empty());
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeInternetGateways")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let vpc = &crate::components::need::VPC.the(deps)?.id;
        if old.out("vpc_id") != vpc {
            if !old.out("vpc_id").is_empty() {
                let ec2 = env.ctx.ec2();
                env.call(&DETACH, || {
                    ec2.detach_internet_gateway()
                        .internet_gateway_id(&old.id)
                        .vpc_id(old.out("vpc_id"))
                        .send()
                })
                .await
                .map_err(failed)?;
            }
            let ec2 = env.ctx.ec2();
            env.call(&ATTACH, || {
                ec2.attach_internet_gateway()
                    .internet_gateway_id(&old.id)
                    .vpc_id(vpc)
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        }
        .with("vpc_id", vpc))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2
            .describe_internet_gateways()
            .internet_gateway_ids(&rec.id)
            .send()
            .await
        {
            for g in o.internet_gateways() {
                for a in g.attachments() {
                    if let Some(v) = a.vpc_id() {
                        let r = env
                            .call(&DETACH, || {
                                ec2.detach_internet_gateway()
                                    .internet_gateway_id(&rec.id)
                                    .vpc_id(v)
                                    .send()
                            })
                            .await;
                        if let Err(e) = r {
                            if !not_found(&e.error) {
                                return Err(failed(e));
                            }
                        }
                    }
                }
            }
        }
        match env
            .call(&DELETE, || {
                ec2.delete_internet_gateway()
                    .internet_gateway_id(&rec.id)
                    .send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    /// `read`'s view, where `attached` means attached to the stack's VPC:
    /// a gateway attached to no VPC is attached by the update, one
    /// attached to another VPC stays that VPC's.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), ec2_id(id), spec.inputs.clone());
        let Some(rec) = self.read(env, &probe).await? else {
            return Ok(None);
        };
        let vpc = rec.out("vpc_id").to_string();
        if !vpc.is_empty() {
            in_stack_vpc(
                deps,
                &format!("the internet gateway {}", rec.id),
                Some(&vpc),
            )?;
        }
        Ok(Some(rec))
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_internet_gateways()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeInternetGateways"))?;
        Ok(o.internet_gateways().first().map(|g| {
            let vpc = g
                .attachments()
                .first()
                .and_then(|a| a.vpc_id())
                .unwrap_or_default();
            let mut inputs = spec.inputs.clone();
            inputs["attached"] = json!(!vpc.is_empty());
            Record::new(
                self.name(),
                g.internet_gateway_id().unwrap_or_default(),
                inputs,
            )
            .with("vpc_id", vpc)
        }))
    }
}

/// AttachInternetGateway against aws-smithy-mocks: the gateway just created
/// not yet found is retried; any other error is final.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ec2::operation::attach_internet_gateway::{
        AttachInternetGatewayError, AttachInternetGatewayOutput,
    };
    use aws_sdk_ec2::operation::create_internet_gateway::CreateInternetGatewayOutput;
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }
    fn created() -> Rule {
        mock!(Client::create_internet_gateway).then_output(|| {
            CreateInternetGatewayOutput::builder()
                .internet_gateway(
                    aws_sdk_ec2::types::InternetGateway::builder()
                        .internet_gateway_id("igw-1")
                        .build(),
                )
                .build()
        })
    }
    fn refused(code: &'static str, message: &'static str) -> AttachInternetGatewayError {
        AttachInternetGatewayError::generic(
            ErrorMetadata::builder().code(code).message(message).build(),
        )
    }

    /// Adoption: a gateway attached to the stack's VPC is attached, one
    /// attached to none is not (the update attaches it), one attached to
    /// another VPC is refused; the VPC it is attached to is its output.
    #[tokio::test(start_paused = true)]
    async fn observe_takes_a_gateway_of_the_stack_s_vpc_or_of_none() {
        use aws_sdk_ec2::operation::describe_internet_gateways::{
            DescribeInternetGatewaysError, DescribeInternetGatewaysOutput,
        };
        use aws_sdk_ec2::types::{InternetGateway as Igw, InternetGatewayAttachment};
        let deps: Records = [(
            "vpc".to_string(),
            Record::new("ec2_vpc", "vpc-1", json!({})),
        )]
        .into_iter()
        .collect();
        let spec = Spec::of("igw", &InternetGatewayInputs { attached: true });
        let described = |vpc: Option<&'static str>| {
            mock!(Client::describe_internet_gateways)
                .match_requests(|r| r.internet_gateway_ids() == ["igw-1"])
                .then_output(move || {
                    let mut g = Igw::builder().internet_gateway_id("igw-1");
                    if let Some(v) = vpc {
                        g = g.attachments(InternetGatewayAttachment::builder().vpc_id(v).build());
                    }
                    DescribeInternetGatewaysOutput::builder()
                        .internet_gateways(g.build())
                        .build()
                })
        };
        let observe = |rule: Rule| {
            let deps = deps.clone();
            let spec = spec.clone();
            async move {
                InternetGateway
                    .observe(&env_over(&[&rule]), &spec, "igw-1", &deps)
                    .await
            }
        };
        let rec = observe(described(Some("vpc-1"))).await.unwrap().unwrap();
        assert_eq!(
            (&rec.inputs, rec.out("vpc_id")),
            (&json!({"attached": true}), "vpc-1")
        );
        let rec = observe(described(None)).await.unwrap().unwrap();
        assert_eq!(rec.inputs, json!({"attached": false}));
        let e = observe(described(Some("vpc-9"))).await.unwrap_err();
        assert!(e.message.contains("vpc-9"), "{}", e.message);
        let gone = mock!(Client::describe_internet_gateways).then_error(|| {
            DescribeInternetGatewaysError::generic(
                ErrorMetadata::builder()
                    .code("InvalidInternetGatewayID.NotFound")
                    .build(),
            )
        });
        assert!(observe(gone).await.unwrap().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn an_attach_not_yet_finding_the_new_gateway_is_retried_and_any_other_error_is_final() {
        let deps: Records = [(
            "vpc".to_string(),
            Record::new("ec2_vpc", "vpc-1", json!({})),
        )]
        .into_iter()
        .collect();
        let spec = Spec::of("igw", &InternetGatewayInputs { attached: true });
        let not_yet = ATTACH.not_yet[0];
        let (create, attach) = (
            created(),
            mock!(Client::attach_internet_gateway)
                .match_requests(|r| {
                    r.internet_gateway_id() == Some("igw-1") && r.vpc_id() == Some("vpc-1")
                })
                .sequence()
                .error(move || refused(not_yet.code, not_yet.says))
                .output(|| AttachInternetGatewayOutput::builder().build())
                .build(),
        );
        let rec = InternetGateway
            .create(&env_over(&[&create, &attach]), &spec, &deps)
            .await
            .unwrap();
        assert_eq!((rec.id.as_str(), rec.out("vpc_id")), ("igw-1", "vpc-1"));
        assert_eq!(attach.num_calls(), 2, "retried once, then attached");

        let (create, attach) = (
            created(),
            mock!(Client::attach_internet_gateway)
                .then_error(|| refused("InjectedFailure", "injected")),
        );
        let e = InternetGateway
            .create(&env_over(&[&create, &attach]), &spec, &deps)
            .await
            .unwrap_err();
        assert_eq!(attach.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("AttachInternetGateway: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
        assert_eq!(
            e.partial.map(|r| r.id).as_deref(),
            Some("igw-1"),
            "the gateway made is recorded"
        );
    }
}
