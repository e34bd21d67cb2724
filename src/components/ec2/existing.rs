//! A network of the user's (a VPC and subnets made by a module such as
//! terraform-aws-modules/vpc, or by the team's own HCL) that a stack is
//! placed in. The kinds are `referenced`: the engine never tags,
//! modifies or deletes them; `stacks::network::check` proves at plan, with
//! read-only calls, that they can carry the stack.

use crate::aws::AwsContext;
use crate::components::{op, E};
use crate::engine::{Call, Inputs, Kind, OpError, Record, Records, Spec};
use aws_sdk_ec2::types::Subnet;
use serde::{Deserialize, Serialize};

pub const EXISTING_VPC: &str = "ec2_existing_vpc";
pub const EXISTING_SUBNET: &str = "ec2_existing_subnet";

fn missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::error_code(e)
        .map(|c| c.contains("NotFound"))
        .unwrap_or(false)
}

pub(crate) async fn describe_vpc(
    ctx: &AwsContext,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::Vpc>, OpError> {
    match ctx.ec2().describe_vpcs().vpc_ids(id).send().await {
        Ok(o) => Ok(o.vpcs().first().cloned()),
        Err(e) if missing(&e) => Ok(None),
        Err(e) => Err(op("DescribeVpcs")(e)),
    }
}

pub(crate) async fn describe_subnet(ctx: &AwsContext, id: &str) -> Result<Option<Subnet>, OpError> {
    match ctx.ec2().describe_subnets().subnet_ids(id).send().await {
        Ok(o) => Ok(o.subnets().first().cloned()),
        Err(e) if missing(&e) => Ok(None),
        Err(e) => Err(op("DescribeSubnets")(e)),
    }
}

/// A VPC of the user's. Outputs: `cidr`.
pub struct ExistingVpc;

/// Reads only: the VPC itself, and the routes `check` proves its subnets'
/// roles by.
const EXISTING_VPC_CALLS: &[Call] = &[
    Call::read("ec2:DescribeVpcs"),
    Call::read("ec2:DescribeRouteTables"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExistingVpcInputs {
    pub id: String,
}

impl Inputs for ExistingVpcInputs {
    const KIND: &'static str = EXISTING_VPC;
}

#[tonic::async_trait]
impl Kind<AwsContext> for ExistingVpc {
    crate::engine::typed_kind!(ExistingVpcInputs);
    fn calls(&self) -> &'static [Call] {
        EXISTING_VPC_CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["cidr"]
    }
    fn referenced(&self) -> bool {
        true
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let id = &spec.typed::<ExistingVpcInputs>()?.id;
        let vpc = describe_vpc(&env.ctx, id).await?.ok_or_else(|| {
            OpError::new(format!("the VPC {id} does not exist in {}", env.ctx.region))
                .at(spec.named_by)
        })?;
        Ok(Record::new(self.name(), id, spec.inputs.clone())
            .with("cidr", vpc.cidr_block().unwrap_or_default()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe_vpc(&env.ctx, &rec.id).await?.map(|_| rec.clone()))
    }
    async fn update(
        &self,
        _: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, _: &E, _: &Record) -> Result<(), OpError> {
        // Never called (the kind is referenced); nothing to do either way.
        Ok(())
    }
}

/// A subnet of the user's. Outputs: `availability_zone`.
pub struct ExistingSubnet;

/// Reads only: the subnet (and every subnet `check` looks at).
const EXISTING_SUBNET_CALLS: &[Call] = &[Call::read("ec2:DescribeSubnets")];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExistingSubnetInputs {
    pub id: String,
    /// The VPC it must be in.
    pub vpc: String,
}

impl Inputs for ExistingSubnetInputs {
    const KIND: &'static str = EXISTING_SUBNET;
}

#[tonic::async_trait]
impl Kind<AwsContext> for ExistingSubnet {
    crate::engine::typed_kind!(ExistingSubnetInputs);
    fn calls(&self) -> &'static [Call] {
        EXISTING_SUBNET_CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["availability_zone"]
    }
    fn referenced(&self) -> bool {
        true
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "vpc"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let ExistingSubnetInputs { id, vpc } = &spec.typed()?;
        let vpc = vpc.as_str();
        let s = describe_subnet(&env.ctx, id).await?.ok_or_else(|| {
            OpError::new(format!(
                "the subnet {id} does not exist in {}",
                env.ctx.region
            ))
            .at(spec.named_by)
        })?;
        if s.vpc_id() != Some(vpc) {
            return Err(OpError::new(format!(
                "the subnet {id} is in {}, not in {vpc}",
                s.vpc_id().unwrap_or("another VPC")
            ))
            .at(spec.named_by));
        }
        Ok(Record::new(self.name(), id, spec.inputs.clone()).with(
            "availability_zone",
            s.availability_zone().unwrap_or_default(),
        ))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe_subnet(&env.ctx, &rec.id)
            .await?
            .map(|_| rec.clone()))
    }
    async fn update(
        &self,
        _: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, _: &E, _: &Record) -> Result<(), OpError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ec2::operation::describe_subnets::{DescribeSubnetsError, DescribeSubnetsOutput};
    use aws_sdk_ec2::operation::describe_vpcs::{DescribeVpcsError, DescribeVpcsOutput};
    use aws_sdk_ec2::types::Vpc;
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }

    fn not_found(code: &'static str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message("does not exist")
            .build()
    }

    fn vpc_spec() -> Spec {
        Spec::of("vpc", &ExistingVpcInputs { id: "vpc-1".into() }).named_by("vpc_id")
    }

    fn subnet_spec() -> Spec {
        let inputs = ExistingSubnetInputs {
            id: "subnet-1".into(),
            vpc: "vpc-1".into(),
        };
        Spec::of("subnet.private.subnet-1", &inputs).named_by("private_subnet_ids")
    }

    #[tokio::test(start_paused = true)]
    async fn an_existing_vpc_is_recorded_with_its_block_and_a_missing_one_is_refused_on_its_attribute(
    ) {
        let found = mock!(Client::describe_vpcs)
            .match_requests(|r| r.vpc_ids() == ["vpc-1"])
            .then_output(|| {
                DescribeVpcsOutput::builder()
                    .vpcs(
                        Vpc::builder()
                            .vpc_id("vpc-1")
                            .cidr_block("10.8.0.0/16")
                            .build(),
                    )
                    .build()
            });
        let rec = ExistingVpc
            .create(&env_over(&[&found]), &vpc_spec(), &Records::new())
            .await
            .unwrap();
        assert_eq!((rec.id.as_str(), rec.out("cidr")), ("vpc-1", "10.8.0.0/16"));

        let missing = mock!(Client::describe_vpcs)
            .then_error(|| DescribeVpcsError::generic(not_found("InvalidVpcID.NotFound")));
        let e = ExistingVpc
            .create(&env_over(&[&missing]), &vpc_spec(), &Records::new())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("the VPC vpc-1 does not exist"),
            "{}",
            e.message
        );
        assert_eq!(e.attribute.as_deref(), Some("vpc_id"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_subnet_of_another_vpc_or_none_is_refused_on_its_attribute() {
        let subnet_in = |vpc: &'static str| {
            mock!(Client::describe_subnets).then_output(move || {
                DescribeSubnetsOutput::builder()
                    .subnets(
                        aws_sdk_ec2::types::Subnet::builder()
                            .subnet_id("subnet-1")
                            .vpc_id(vpc)
                            .availability_zone("eu-west-1b")
                            .build(),
                    )
                    .build()
            })
        };
        let ours = subnet_in("vpc-1");
        let rec = ExistingSubnet
            .create(&env_over(&[&ours]), &subnet_spec(), &Records::new())
            .await
            .unwrap();
        assert_eq!(rec.out("availability_zone"), "eu-west-1b");

        let other = subnet_in("vpc-2");
        let e = ExistingSubnet
            .create(&env_over(&[&other]), &subnet_spec(), &Records::new())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("is in vpc-2, not in vpc-1"),
            "{}",
            e.message
        );
        assert_eq!(e.attribute.as_deref(), Some("private_subnet_ids"));

        let missing = mock!(Client::describe_subnets)
            .then_error(|| DescribeSubnetsError::generic(not_found("InvalidSubnetID.NotFound")));
        let e = ExistingSubnet
            .create(&env_over(&[&missing]), &subnet_spec(), &Records::new())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("the subnet subnet-1 does not exist"),
            "{}",
            e.message
        );
    }
}
