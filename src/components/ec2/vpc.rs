//! VPC.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub struct Vpc;

/// A VPC just created may not yet be found by the attribute change that
/// follows it (hashicorp/aws `vpc_.go` waits for it, `waitVPCCreated`,
/// before `modifyVPCAttributesOnCreate`).
const MODIFY_ATTRIBUTE: Call = Call::retrying(
    "ec2:ModifyVpcAttribute",
    EC2_PROPAGATION,
    &[NotYet::code("InvalidVpcID.NotFound", "The vpc ID 'vpc-0e5b7b0f1c2d3e4f5' does not exist")],
)
.why("hashicorp/aws vpc_.go resourceVPCCreate waits for the new VPC (waitVPCCreated, then reads retried for ec2PropagationTimeout) before ModifyVpcAttribute; we retry the attribute call for ec2PropagationTimeout instead");
/// A VPC still holding what other services made in it (network
/// interfaces, gateways, security groups they leave) cannot be deleted yet.
const DELETE: Call = Call::retrying("ec2:DeleteVpc", DRAIN, &[NotYet::code("DependencyViolation", "The vpc 'vpc-0e5b7b0f1c2d3e4f5' has dependencies and cannot be deleted.")])
    .why("hashicorp/aws vpc_.go resourceVPCDelete: DependencyViolation retried for vpcDeletedTimeout, 5 minutes: our DRAIN");
const CALLS: &[Call] = &[
    Call::settled("ec2:CreateVpc"),
    MODIFY_ATTRIBUTE,
    DELETE,
    Call::read("ec2:DescribeVpcs"),
    Call::read("ec2:DescribeVpcAttribute"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VpcInputs {
    pub cidr: String,
    /// Public DNS names for instances with public addresses (what the
    /// Docker host's outputs give); read back, so turning it off out of
    /// band is drift.
    pub dns_hostnames: bool,
}

impl Inputs for VpcInputs {
    const KIND: &'static str = "ec2_vpc";
}

#[tonic::async_trait]
impl Kind<AwsContext> for Vpc {
    crate::engine::typed_kind!(VpcInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["cidr"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let vpc: VpcInputs = spec.typed()?;
        let ec2 = &env.ctx.ec2();
        let out = ec2
            .create_vpc()
            .cidr_block(&vpc.cidr)
            .tag_specifications(tag_spec(env, spec, ResourceType::Vpc))
            .send()
            .await
            .map_err(op("CreateVpc"))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone());
        if vpc.dns_hostnames {
            // Recorded as off until AWS has said yes: the next apply sets it.
            let mut before = rec.clone();
            before.inputs["dns_hostnames"] = json!(false);
            set_dns_hostnames(env, &id)
                .await
                .map_err(|e| e.partial(before))?;
        }
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let cidr = match env.ctx.ec2().describe_vpcs().vpc_ids(&rec.id).send().await {
            Ok(o) => match o.vpcs().first() {
                Some(v) => v.cidr_block().unwrap_or_default().to_string(),
                None => return Ok(None),
            },
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeVpcs")(e)),
        };
        let mut r = rec.clone();
        r.inputs["cidr"] = json!(cidr);
        // Instances get public DNS names only with this attribute on.
        let a = env
            .ctx
            .ec2()
            .describe_vpc_attribute()
            .vpc_id(&rec.id)
            .attribute(VpcAttributeName::EnableDnsHostnames)
            .send()
            .await
            .map_err(op("DescribeVpcAttribute"))?;
        r.inputs["dns_hostnames"] = json!(a
            .enable_dns_hostnames()
            .and_then(|v| v.value())
            .unwrap_or(false));
        Ok(Some(r))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        if spec.typed::<VpcInputs>()?.dns_hostnames
            && old.inputs["dns_hostnames"].as_bool() != Some(true)
        {
            set_dns_hostnames(env, &old.id).await?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        match env
            .call(&DELETE, || ec2.delete_vpc().vpc_id(&rec.id).send())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    /// Both inputs as `read` observes them.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), ec2_id(id), spec.inputs.clone());
        self.read(env, &probe).await
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_vpcs()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeVpcs"))?;
        Ok(o.vpcs().first().map(|v| {
            Record::new(
                self.name(),
                v.vpc_id().unwrap_or_default(),
                json!({"cidr": v.cidr_block()}),
            )
        }))
    }
}

/// The EC2 id an adoption names: hashicorp/aws's `id` (`vpc-0a1…`) as it
/// is, or the object's ARN (`arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0a1…`).
pub(super) fn ec2_id(id: &str) -> &str {
    match id.strip_prefix("arn:") {
        Some(arn) => arn.rsplit('/').next().unwrap_or(id),
        None => id,
    }
}

/// Refuses an object that is in another VPC than the stack's (when the
/// stack's VPC exists): no EC2 object moves to another VPC in place.
pub(super) fn in_stack_vpc(deps: &Records, what: &str, vpc: Option<&str>) -> Result<(), OpError> {
    match (crate::components::need::VPC.the(deps), vpc) {
        (Ok(v), Some(have)) if v.id != have => Err(OpError::new(format!(
            "{what} is in the VPC {have}, not in the stack's VPC {}",
            v.id
        ))),
        _ => Ok(()),
    }
}

async fn set_dns_hostnames(env: &E, vpc: &str) -> Result<(), OpError> {
    let ec2 = &env.ctx.ec2();
    env.call(&MODIFY_ATTRIBUTE, || {
        ec2.modify_vpc_attribute()
            .vpc_id(vpc)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
            .send()
    })
    .await
    .map_err(failed)?;
    Ok(())
}

/// DNS hostnames are turned on only when asked, and recorded as on only
/// once AWS said yes.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_ec2::operation::create_vpc::CreateVpcOutput;
    use aws_sdk_ec2::operation::delete_vpc::{DeleteVpcError, DeleteVpcOutput};
    use aws_sdk_ec2::operation::modify_vpc_attribute::{
        ModifyVpcAttributeError, ModifyVpcAttributeOutput,
    };
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }
    fn created() -> Rule {
        mock!(Client::create_vpc)
            .match_requests(|r| r.cidr_block() == Some("10.0.0.0/16"))
            .then_output(|| {
                CreateVpcOutput::builder()
                    .vpc(aws_sdk_ec2::types::Vpc::builder().vpc_id("vpc-1").build())
                    .build()
            })
    }
    fn spec(dns_hostnames: bool) -> Spec {
        Spec::of(
            "vpc",
            &VpcInputs {
                cidr: "10.0.0.0/16".into(),
                dns_hostnames,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn dns_hostnames_are_set_only_when_asked_and_recorded_only_once_set() {
        let (create, modify) = (
            created(),
            mock!(Client::modify_vpc_attribute)
                .then_output(|| ModifyVpcAttributeOutput::builder().build()),
        );
        let rec = Vpc
            .create(
                &env_over(&[&create, &modify]),
                &spec(false),
                &Records::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            (rec.id.as_str(), modify.num_calls()),
            ("vpc-1", 0),
            "not asked: left as AWS made it"
        );

        let (create, modify) = (
            created(),
            mock!(Client::modify_vpc_attribute)
                .then_output(|| ModifyVpcAttributeOutput::builder().build()),
        );
        let rec = Vpc
            .create(&env_over(&[&create, &modify]), &spec(true), &Records::new())
            .await
            .unwrap();
        assert_eq!(
            (modify.num_calls(), &rec.inputs["dns_hostnames"]),
            (1, &json!(true))
        );

        let (create, refused) = (
            created(),
            mock!(Client::modify_vpc_attribute)
                .then_error(|| ModifyVpcAttributeError::generic(fault("UnauthorizedOperation"))),
        );
        let e = Vpc
            .create(
                &env_over(&[&create, &refused]),
                &spec(true),
                &Records::new(),
            )
            .await
            .unwrap_err();
        let partial = e.partial.expect("the VPC exists: it is recorded");
        assert_eq!(
            partial.inputs["dns_hostnames"],
            json!(false),
            "recorded as off, so that the next apply sets it"
        );
    }

    /// Adoption: the CIDR block (replace-only) and the DNS attribute as
    /// AWS has them, whatever the spec says; the ARN names the same VPC;
    /// a VPC AWS does not know is none.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_cidr_and_dns_hostnames_from_aws() {
        use aws_sdk_ec2::operation::describe_vpc_attribute::DescribeVpcAttributeOutput;
        use aws_sdk_ec2::operation::describe_vpcs::{DescribeVpcsError, DescribeVpcsOutput};
        let vpcs = mock!(Client::describe_vpcs)
            .match_requests(|r| r.vpc_ids() == ["vpc-1"])
            .then_output(|| {
                DescribeVpcsOutput::builder()
                    .vpcs(
                        aws_sdk_ec2::types::Vpc::builder()
                            .vpc_id("vpc-1")
                            .cidr_block("10.42.0.0/24")
                            .build(),
                    )
                    .build()
            });
        let dns = mock!(Client::describe_vpc_attribute)
            .match_requests(|r| r.vpc_id() == Some("vpc-1"))
            .then_output(|| {
                DescribeVpcAttributeOutput::builder()
                    .enable_dns_hostnames(AttributeBooleanValue::builder().value(false).build())
                    .build()
            });
        let rec = Vpc
            .observe(
                &env_over(&[&vpcs, &dns]),
                &spec(true),
                "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            (rec.id.as_str(), &rec.inputs),
            (
                "vpc-1",
                &json!({"cidr": "10.42.0.0/24", "dns_hostnames": false})
            )
        );

        let gone = mock!(Client::describe_vpcs)
            .then_error(|| DescribeVpcsError::generic(fault("InvalidVpcID.NotFound")));
        assert!(Vpc
            .observe(&env_over(&[&gone]), &spec(true), "vpc-1", &Records::new())
            .await
            .unwrap()
            .is_none());
    }

    /// DeleteVpc: what other services left in the VPC is waited out (the
    /// declared DependencyViolation retried); any other error is final.
    #[tokio::test(start_paused = true)]
    async fn a_vpc_with_dependencies_left_is_retried_and_any_other_error_is_final() {
        let refused = |code: &'static str, message: &'static str| {
            DeleteVpcError::generic(ErrorMetadata::builder().code(code).message(message).build())
        };
        let rec = Record::new(
            "ec2_vpc",
            "vpc-1",
            json!({"cidr": "10.0.0.0/16", "dns_hostnames": true}),
        );
        let not_yet = DELETE.not_yet[0];
        let delete = mock!(Client::delete_vpc)
            .match_requests(|r| r.vpc_id() == Some("vpc-1"))
            .sequence()
            .error(move || refused(not_yet.code, not_yet.says))
            .output(|| DeleteVpcOutput::builder().build())
            .build();
        Vpc.delete(&env_over(&[&delete]), &rec).await.unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");

        let delete =
            mock!(Client::delete_vpc).then_error(move || refused("InjectedFailure", "injected"));
        let e = Vpc.delete(&env_over(&[&delete]), &rec).await.unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("DeleteVpc: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }
}
