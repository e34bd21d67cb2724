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
