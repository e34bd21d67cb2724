//! Subnet.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub struct Subnet;

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
    fn name(&self) -> &'static str {
        "ec2_subnet"
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
    fn check_inputs(&self, inputs: &Json) -> Result<(), String> {
        crate::engine::inputs::check::<SubnetInputs>(inputs)
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
        let id = s.and_then(|s| s.subnet_id()).unwrap_or_default().to_string();
        let az = s.and_then(|s| s.availability_zone()).unwrap_or_default().to_string();
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = json!(az);
        let rec = Record::new(self.name(), &id, inputs).with("availability_zone", &az);
        if subnet.public {
            // Recorded as not public until AWS has said yes: the next
            // apply then sets it.
            let mut before = rec.clone();
            before.inputs["public"] = json!(false);
            set_public_ips(env, &id, true).await.map_err(|e| e.partial(before))?;
        }
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_subnets().subnet_ids(&rec.id).send().await {
            Ok(o) => Ok(o.subnets().first().map(|s| {
                let mut r = rec.clone();
                r.inputs["cidr"] = json!(s.cidr_block());
                r.inputs["availability_zone"] = json!(s.availability_zone());
                if rec.inputs.get("public").is_some() {
                    r.inputs["public"] = json!(s.map_public_ip_on_launch().unwrap_or(false));
                }
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeSubnets")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        let public = spec.typed::<SubnetInputs>()?.public;
        if old.inputs.get("public").and_then(|v| v.as_bool()) != Some(public) {
            set_public_ips(env, &old.id, public).await?;
        }
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = old.inputs["availability_zone"].clone();
        Ok(Record { inputs, ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.retry(DEP_RETRY, dependency_violation, || env.ctx.ec2().delete_subnet().subnet_id(&rec.id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteSubnet")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_subnets().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeSubnets"))?;
        Ok(o.subnets().first().map(|s| {
            let mut inputs = spec.inputs.clone();
            inputs["cidr"] = json!(s.cidr_block());
            inputs["availability_zone"] = json!(s.availability_zone());
            Record::new(self.name(), s.subnet_id().unwrap_or_default(), inputs).with("availability_zone", s.availability_zone().unwrap_or_default())
        }))
    }
}

/// Whether instances launched in the subnet get a public address.
async fn set_public_ips(env: &E, subnet: &str, on: bool) -> Result<(), OpError> {
    env.ctx
        .ec2()
        .modify_subnet_attribute()
        .subnet_id(subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map_err(op("ModifySubnetAttribute"))?;
    Ok(())
}
