//! Subnet.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub struct Subnet;

/// A subnet just created may not yet be found by the attribute change that
/// follows it (hashicorp/aws `vpc_subnet.go` waits for it,
/// `waitSubnetAvailable`, before `modifySubnetAttributesOnCreate`).
const MODIFY_ATTRIBUTE: Call = Call::retrying(
    "ec2:ModifySubnetAttribute",
    EC2_PROPAGATION,
    &[NotYet::code("InvalidSubnetID.NotFound", "The subnet ID 'subnet-0a1b2c3d4e5f67890' does not exist")],
)
.why("hashicorp/aws vpc_subnet.go resourceSubnetCreate waits for the new subnet (waitSubnetAvailable) before ModifySubnetAttribute; we retry the attribute call for ec2PropagationTimeout instead");
/// A subnet still holding the network interfaces of a load balancer, a NAT
/// gateway, tasks or a Lambda function cannot be deleted until they go.
const DELETE: Call = Call::retrying(
    "ec2:DeleteSubnet",
    DRAIN,
    &[NotYet::code("DependencyViolation", "The subnet 'subnet-0a1b2c3d4e5f67890' has dependencies and cannot be deleted.")],
)
.why("hashicorp/aws vpc_subnet.go resourceSubnetDelete: DependencyViolation retried for the 20-minute delete timeout (after deleteLingeringENIs); ours is the 5-minute DRAIN, then the error names the interfaces left");
const CALLS: &[Call] = &[
    Call::settled("ec2:CreateSubnet"),
    MODIFY_ATTRIBUTE,
    DELETE,
    Call::read("ec2:DescribeSubnets"),
    // What a delete refused past its bound names (`naming_interfaces`).
    Call::read("ec2:DescribeNetworkInterfaces"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubnetInputs {
    pub cidr: String,
    /// None: the zone AWS picks, then recorded.
    pub availability_zone: Option<String>,
    /// Instances launched in it get a public address.
    pub public: bool,
}

impl Inputs for SubnetInputs {
    const KIND: &'static str = "ec2_subnet";
}

#[tonic::async_trait]
impl Kind<AwsContext> for Subnet {
    crate::engine::typed_kind!(SubnetInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["availability_zone"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::VPC]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(10, 10, 20)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["cidr", "availability_zone"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let subnet: SubnetInputs = spec.typed()?;
        let ec2 = &env.ctx.ec2();
        let req = ec2
            .create_subnet()
            .vpc_id(&crate::components::need::VPC.the(deps)?.id)
            .cidr_block(&subnet.cidr)
            .set_availability_zone(subnet.availability_zone)
            .tag_specifications(tag_spec(env, spec, ResourceType::Subnet));
        let out = req.send().await.map_err(op("CreateSubnet"))?;
        let s = out.subnet();
        let id = s
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_string();
        let az = s
            .and_then(|s| s.availability_zone())
            .unwrap_or_default()
            .to_string();
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = json!(az);
        let rec = Record::new(self.name(), &id, inputs).with("availability_zone", &az);
        if subnet.public {
            // Recorded as not public until AWS has said yes: the next
            // apply then sets it.
            let mut before = rec.clone();
            before.inputs["public"] = json!(false);
            set_public_ips(env, &id, true)
                .await
                .map_err(|e| e.partial(before))?;
        }
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(described(env, &rec.id).await?.map(|s| seen(rec, &s)))
    }
    /// Every input as `read` observes it, in the stack's VPC only.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(s) = described(env, ec2_id(id)).await? else {
            return Ok(None);
        };
        let id = s.subnet_id().unwrap_or_default();
        in_stack_vpc(deps, &format!("the subnet {id}"), s.vpc_id())?;
        let rec = seen(&Record::new(self.name(), id, spec.inputs.clone()), &s);
        Ok(Some(rec.with(
            "availability_zone",
            s.availability_zone().unwrap_or_default(),
        )))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let public = spec.typed::<SubnetInputs>()?.public;
        if old.inputs.get("public").and_then(|v| v.as_bool()) != Some(public) {
            set_public_ips(env, &old.id, public).await?;
        }
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = old.inputs["availability_zone"].clone();
        Ok(Record {
            inputs,
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        match env
            .call(&DELETE, || ec2.delete_subnet().subnet_id(&rec.id).send())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) if outlasted(&e) => {
                Err(naming_interfaces(env, failed(e), "subnet-id", &rec.id).await)
            }
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_subnets()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeSubnets"))?;
        Ok(o.subnets().first().map(|s| {
            let mut inputs = spec.inputs.clone();
            inputs["cidr"] = json!(s.cidr_block());
            inputs["availability_zone"] = json!(s.availability_zone());
            Record::new(self.name(), s.subnet_id().unwrap_or_default(), inputs).with(
                "availability_zone",
                s.availability_zone().unwrap_or_default(),
            )
        }))
    }
}

async fn described(env: &E, id: &str) -> Result<Option<aws_sdk_ec2::types::Subnet>, OpError> {
    match env.ctx.ec2().describe_subnets().subnet_ids(id).send().await {
        Ok(o) => Ok(o.subnets().first().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeSubnets")(e)),
    }
}

/// `rec` with the subnet's inputs as AWS has them.
fn seen(rec: &Record, s: &aws_sdk_ec2::types::Subnet) -> Record {
    let mut r = rec.clone();
    r.inputs["cidr"] = json!(s.cidr_block());
    r.inputs["availability_zone"] = json!(s.availability_zone());
    if rec.inputs.get("public").is_some() {
        r.inputs["public"] = json!(s.map_public_ip_on_launch().unwrap_or(false));
    }
    r
}

/// Whether instances launched in the subnet get a public address.
async fn set_public_ips(env: &E, subnet: &str, on: bool) -> Result<(), OpError> {
    let ec2 = &env.ctx.ec2();
    env.call(&MODIFY_ATTRIBUTE, || {
        ec2.modify_subnet_attribute()
            .subnet_id(subnet)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
            .send()
    })
    .await
    .map_err(failed)?;
    Ok(())
}

/// DeleteSubnet against aws-smithy-mocks: `DependencyViolation` (network
/// interfaces still draining) is retried and any other error is final; one
/// that outlasts its bound names the interfaces still in the subnet.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_ec2::operation::delete_subnet::{DeleteSubnetError, DeleteSubnetOutput};
    use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
    use aws_sdk_ec2::types::{NetworkInterface, NetworkInterfaceType};
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }
    fn subnet() -> Record {
        Record::new("ec2_subnet", "subnet-1", json!({}))
    }
    fn refused(code: &'static str) -> DeleteSubnetError {
        DeleteSubnetError::generic(fault(code))
    }

    #[tokio::test(start_paused = true)]
    async fn dependency_violation_is_retried_and_any_other_error_is_final() {
        let delete = mock!(Client::delete_subnet)
            .match_requests(|r| r.subnet_id() == Some("subnet-1"))
            .sequence()
            .error(|| refused("DependencyViolation"))
            .output(|| DeleteSubnetOutput::builder().build())
            .build();
        Subnet
            .delete(&env_over(&[&delete]), &subnet())
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");

        let delete = mock!(Client::delete_subnet).then_error(|| refused("InvalidParameterValue"));
        let e = Subnet
            .delete(&env_over(&[&delete]), &subnet())
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("DeleteSubnet: InvalidParameterValue")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    /// Adoption: the CIDR block and zone (replace-only) and the public
    /// flag as AWS has them, the zone as the output instances read; a
    /// subnet of another VPC than the stack's is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_cidr_zone_and_public_from_aws_in_the_stack_s_vpc_only() {
        use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
        let described = |vpc: &'static str| {
            mock!(Client::describe_subnets)
                .match_requests(|r| r.subnet_ids() == ["subnet-1"])
                .then_output(move || {
                    DescribeSubnetsOutput::builder()
                        .subnets(
                            aws_sdk_ec2::types::Subnet::builder()
                                .subnet_id("subnet-1")
                                .vpc_id(vpc)
                                .cidr_block("10.42.0.0/25")
                                .availability_zone("eu-west-1b")
                                .map_public_ip_on_launch(false)
                                .build(),
                        )
                        .build()
                })
        };
        let spec = Spec::of(
            "subnet.public",
            &SubnetInputs {
                cidr: "10.0.0.0/25".into(),
                availability_zone: Some("eu-west-1a".into()),
                public: true,
            },
        );
        let deps: Records = [(
            "vpc".to_string(),
            Record::new("ec2_vpc", "vpc-1", json!({})),
        )]
        .into();
        let describe = described("vpc-1");
        let rec = Subnet
            .observe(&env_over(&[&describe]), &spec, "subnet-1", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rec.inputs,
            json!({"cidr": "10.42.0.0/25", "availability_zone": "eu-west-1b", "public": false})
        );
        assert_eq!(rec.out("availability_zone"), "eu-west-1b");
        let elsewhere = described("vpc-9");
        let e = Subnet
            .observe(&env_over(&[&elsewhere]), &spec, "subnet-1", &deps)
            .await
            .unwrap_err();
        assert!(e.message.contains("vpc-9"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dependency_violation_past_its_bound_names_the_interfaces_left() {
        let delete = mock!(Client::delete_subnet)
            .sequence()
            .error(|| refused("DependencyViolation"))
            .repeatedly()
            .build();
        let describe = mock!(Client::describe_network_interfaces)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.name() == Some("subnet-id") && f.values() == ["subnet-1"])
            })
            .then_output(|| {
                let nlb = NetworkInterface::builder()
                    .network_interface_id("eni-1")
                    .description("ELB net/web/50dc6c495c0c9188")
                    .requester_id("amazon-elb")
                    .interface_type(NetworkInterfaceType::NetworkLoadBalancer);
                let left = NetworkInterface::builder()
                    .network_interface_id("eni-2")
                    .requester_id("amazon-elb")
                    .interface_type(NetworkInterfaceType::Interface);
                DescribeNetworkInterfacesOutput::builder()
                    .network_interfaces(nlb.build())
                    .network_interfaces(left.build())
                    .build()
            });
        // Each rule answers as often as asked: the delete is retried until the deadline.
        let interceptor = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(&delete)
            .with_rule(&describe);
        let mut ctx = AwsContext::for_tests();
        ctx.clients.ec2 = std::sync::OnceLock::from(Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&crate::aws::test_sdk_config())
                .interceptor(interceptor)
                .build(),
        ));
        let e = Subnet
            .delete(&mocked::env(ctx, Duration::from_millis(700)), &subnet())
            .await
            .unwrap_err();
        assert!(
            delete.num_calls() >= 2,
            "retried: {} calls",
            delete.num_calls()
        );
        assert_eq!(describe.num_calls(), 1);
        assert!(
            e.message.starts_with("DeleteSubnet: DependencyViolation")
                && e.message.contains("still not ready"),
            "{}",
            e.message
        );
        let named =
            "still in the subnet subnet-1: eni-1 (ELB net/web/50dc6c495c0c9188, interface type network_load_balancer), eni-2 (requested by amazon-elb, interface type interface)";
        assert!(e.message.contains(named), "{}", e.message);
    }
}
