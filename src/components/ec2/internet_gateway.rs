//! Internet gateway.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub struct InternetGateway;

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
    fn name(&self) -> &'static str {
        "ec2_internet_gateway"
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["vpc_id"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::VPC]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn check_inputs(&self, inputs: &Json) -> Result<(), String> {
        crate::engine::inputs::check::<InternetGatewayInputs>(inputs)
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2.create_internet_gateway().tag_specifications(tag_spec(env, spec, ResourceType::InternetGateway)).send().await.map_err(op("CreateInternetGateway"))?;
        let id = out.internet_gateway().and_then(|g| g.internet_gateway_id()).unwrap_or_default().to_string();
        let vpc = &crate::components::need::VPC.the(deps)?.id;
        let rec = Record::new(self.name(), &id, spec.inputs.clone()).with("vpc_id", vpc);
        ec2.attach_internet_gateway().internet_gateway_id(&id).vpc_id(vpc).send().await.map_err(|e| OpError::from(op("AttachInternetGateway")(e)).partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_internet_gateways().internet_gateway_ids(&rec.id).send().await {
            Ok(o) => Ok(o.internet_gateways().first().map(|g| {
                // Detached out of band, the gateway routes nothing: the
                // update attaches it again.
                let vpc = g.attachments().first().and_then(|a| a.vpc_id()).unwrap_or_default();
                let mut r = rec.clone().with("vpc_id", vpc);
                r.inputs["attached"] = json!(!vpc.is_empty());
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeInternetGateways")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let vpc = &crate::components::need::VPC.the(deps)?.id;
        if old.out("vpc_id") != vpc {
            if !old.out("vpc_id").is_empty() {
                env.ctx.ec2().detach_internet_gateway().internet_gateway_id(&old.id).vpc_id(old.out("vpc_id")).send().await.map_err(op("DetachInternetGateway"))?;
            }
            env.ctx.ec2().attach_internet_gateway().internet_gateway_id(&old.id).vpc_id(vpc).send().await.map_err(op("AttachInternetGateway"))?;
        }
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() }.with("vpc_id", vpc))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2.describe_internet_gateways().internet_gateway_ids(&rec.id).send().await {
            for g in o.internet_gateways() {
                for a in g.attachments() {
                    if let Some(v) = a.vpc_id() {
                        let r = env.retry(DEP_RETRY, dependency_violation, || ec2.detach_internet_gateway().internet_gateway_id(&rec.id).vpc_id(v).send()).await;
                        if let Err(e) = r {
                            if !not_found(&e) {
                                return Err(op("DetachInternetGateway")(e));
                            }
                        }
                    }
                }
            }
        }
        match ec2.delete_internet_gateway().internet_gateway_id(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteInternetGateway")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_internet_gateways().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeInternetGateways"))?;
        Ok(o.internet_gateways().first().map(|g| {
            let vpc = g.attachments().first().and_then(|a| a.vpc_id()).unwrap_or_default();
            let mut inputs = spec.inputs.clone();
            inputs["attached"] = json!(!vpc.is_empty());
            Record::new(self.name(), g.internet_gateway_id().unwrap_or_default(), inputs).with("vpc_id", vpc)
        }))
    }
}
