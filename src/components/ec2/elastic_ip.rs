//! Elastic IP.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An Elastic IP associated with the `instance` dependency.
pub struct ElasticIp;

/// The instance an address is associated with; none for a NAT gateway's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ElasticIpInputs {
    /// Some(true): associated with the instance dependency, read back so
    /// that an address taken off the instance out of band is drift. None
    /// for a NAT gateway's address, which the gateway associates itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated: Option<bool>,
    /// What the address is for (`nat`), for whoever reads the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

impl Inputs for ElasticIpInputs {
    const KIND: &'static str = "ec2_elastic_ip";
}

const ATTACHED_INSTANCE: Need = Need::optional("instance", &["ec2_instance"]);

#[tonic::async_trait]
impl Kind<AwsContext> for ElasticIp {
    fn name(&self) -> &'static str {
        "ec2_elastic_ip"
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["instance_id", "public_ip"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[ATTACHED_INSTANCE]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn check_inputs(&self, inputs: &Json) -> Result<(), String> {
        crate::engine::inputs::check::<ElasticIpInputs>(inputs)
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2.allocate_address().domain(DomainType::Vpc).tag_specifications(tag_spec(env, spec, ResourceType::ElasticIp)).send().await.map_err(op("AllocateAddress"))?;
        let id = out.allocation_id().unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone()).with("public_ip", out.public_ip().unwrap_or_default());
        // Without an instance dependency the address is for a NAT gateway,
        // which associates it itself.
        let Some(inst) = ATTACHED_INSTANCE.maybe(deps)?.map(|d| &d.id) else {
            return Ok(rec);
        };
        ec2.associate_address().allocation_id(&id).instance_id(inst).send().await.map_err(|e| OpError::from(op("AssociateAddress")(e)).partial(rec.clone()))?;
        Ok(rec.with("instance_id", inst))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_addresses().allocation_ids(&rec.id).send().await {
            Ok(o) => Ok(o.addresses().first().map(|a| {
                let mut r = rec.clone();
                // Some answers carry an empty InstanceId once disassociated.
                let instance = a.instance_id().unwrap_or_default();
                r.inputs["associated"] = json!(!instance.is_empty());
                r.outputs.insert("instance_id".into(), instance.to_string());
                r.outputs.insert("public_ip".into(), a.public_ip().unwrap_or_default().to_string());
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeAddresses")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let Some(inst) = ATTACHED_INSTANCE.maybe(deps)?.map(|d| &d.id) else {
            return Ok(Record { inputs: spec.inputs.clone(), ..old.clone() });
        };
        env.ctx.ec2().associate_address().allocation_id(&old.id).instance_id(inst).allow_reassociation(true).send().await.map_err(op("AssociateAddress"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() }.with("instance_id", inst))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2.describe_addresses().allocation_ids(&rec.id).send().await {
            for a in o.addresses() {
                if let Some(assoc) = a.association_id() {
                    let _ = ec2.disassociate_address().association_id(assoc).send().await;
                }
            }
        }
        match env.retry(DEP_RETRY, dependency_violation, || ec2.release_address().allocation_id(&rec.id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("ReleaseAddress")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_addresses().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeAddresses"))?;
        Ok(o.addresses().first().map(|a| {
            Record::new(self.name(), a.allocation_id().unwrap_or_default(), spec.inputs.clone())
                .with("public_ip", a.public_ip().unwrap_or_default())
                .with("instance_id", a.instance_id().unwrap_or_default())
        }))
    }
}
