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

/// An address just allocated may not yet be found by the association
/// that follows it, nor an instance just started be ready for it.
const ASSOCIATE: Call = Call::retrying(
    "ec2:AssociateAddress",
    EC2_PROPAGATION,
    &[
        NotYet::code("InvalidAllocationID.NotFound", "The allocation ID 'eipalloc-0a1b2c3d4e5f67890' does not exist"),
        NotYet::message("InvalidInstanceID", "pending instance", "The pending instance 'i-0a1b2c3d4e5f67890' is not in a valid state for this operation."),
    ],
)
.why("hashicorp/aws ec2_eip.go resourceEIPCreate: InvalidAllocationID.NotFound retried for the create timeout; associateEIP: InvalidInstanceID 'pending instance' retried for ec2PropagationTimeout; ours is ec2PropagationTimeout for both");
/// The address of a NAT gateway just deleted, or of an instance it was
/// just taken off, stays mapped for a while: AWS refuses its release as in
/// use, or (the NAT gateway's interface being AWS's) as not permitted.
const RELEASE: Call = Call::retrying(
    "ec2:ReleaseAddress",
    DRAIN,
    &[
        NotYet::code("InvalidIPAddress.InUse", "The specified IP address is already in use."),
        NotYet::message("AuthFailure", "permission to access the specified resource", "You do not have permission to access the specified resource."),
    ],
)
.why("hashicorp/aws ec2_eip.go resourceEIPDelete does not retry ReleaseAddress; AWS answers InvalidIPAddress.InUse while the disassociation has not landed and AuthFailure while a deleted NAT gateway's interface still holds the address (hashicorp/aws issue #13763 on destroy; eformat/sno-for-100#9 right after the NAT gateway's deletion), so we retry both for the 5-minute DRAIN");
const CALLS: &[Call] = &[
    Call::settled("ec2:AllocateAddress"),
    ASSOCIATE,
    Call::settled("ec2:DisassociateAddress"),
    RELEASE,
    Call::read("ec2:DescribeAddresses"),
];

const ATTACHED_INSTANCE: Need = Need::optional(
    "instance",
    &[<crate::components::ec2::InstanceInputs as crate::engine::Inputs>::KIND],
);

#[tonic::async_trait]
impl Kind<AwsContext> for ElasticIp {
    crate::engine::typed_kind!(ElasticIpInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
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
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(env, spec, ResourceType::ElasticIp))
            .send()
            .await
            .map_err(op("AllocateAddress"))?;
        let id = out.allocation_id().unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone())
            .with("public_ip", out.public_ip().unwrap_or_default());
        // Without an instance dependency the address is for a NAT gateway,
        // which associates it itself.
        let Some(inst) = ATTACHED_INSTANCE.maybe(deps)?.map(|d| &d.id) else {
            return Ok(rec);
        };
        env.call(&ASSOCIATE, || {
            ec2.associate_address()
                .allocation_id(&id)
                .instance_id(inst)
                .send()
        })
        .await
        .map_err(|e| failed(e).partial(rec.clone()))?;
        Ok(rec.with("instance_id", inst))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .ec2()
            .describe_addresses()
            .allocation_ids(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o.addresses().first().map(|a| {
                let mut r = rec.clone();
                // Some answers carry an empty InstanceId once disassociated.
                let instance = a.instance_id().unwrap_or_default();
                r.inputs["associated"] = json!(!instance.is_empty());
                r.outputs.insert("instance_id".into(), instance.to_string());
                r.outputs.insert(
                    "public_ip".into(),
                    a.public_ip().unwrap_or_default().to_string(),
                );
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeAddresses")(e)),
        }
    }
    /// `read`'s view, where `associated` means with the stack's instance:
    /// an address on no instance or on another one is moved to it by the
    /// update. A NAT gateway's address records no association (the
    /// gateway makes it).
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), ec2_id(id), spec.inputs.clone());
        let Some(mut rec) = self.read(env, &probe).await? else {
            return Ok(None);
        };
        if spec.inputs.get("associated").is_some() {
            let instance = ATTACHED_INSTANCE.maybe(deps)?.map(|r| r.id.as_str());
            rec.inputs["associated"] = json!(instance == Some(rec.out("instance_id")));
        } else if let Some(inputs) = rec.inputs.as_object_mut() {
            inputs.remove("associated");
        }
        Ok(Some(rec))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let Some(inst) = ATTACHED_INSTANCE.maybe(deps)?.map(|d| &d.id) else {
            return Ok(Record {
                inputs: spec.inputs.clone(),
                ..old.clone()
            });
        };
        let ec2 = &env.ctx.ec2();
        env.call(&ASSOCIATE, || {
            ec2.associate_address()
                .allocation_id(&old.id)
                .instance_id(inst)
                .allow_reassociation(true)
                .send()
        })
        .await
        .map_err(failed)?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        }
        .with("instance_id", inst))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2
            .describe_addresses()
            .allocation_ids(&rec.id)
            .send()
            .await
        {
            for a in o.addresses() {
                if let Some(assoc) = a.association_id() {
                    let _ = ec2
                        .disassociate_address()
                        .association_id(assoc)
                        .send()
                        .await;
                }
            }
        }
        match env
            .call(&RELEASE, || {
                ec2.release_address().allocation_id(&rec.id).send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_addresses()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeAddresses"))?;
        Ok(o.addresses().first().map(|a| {
            Record::new(
                self.name(),
                a.allocation_id().unwrap_or_default(),
                spec.inputs.clone(),
            )
            .with("public_ip", a.public_ip().unwrap_or_default())
            .with("instance_id", a.instance_id().unwrap_or_default())
        }))
    }
}

/// ReleaseAddress against aws-smithy-mocks: an address still mapped (in
/// use, or held by a deleted NAT gateway's interface) is retried; any other
/// error is final.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ec2::operation::describe_addresses::DescribeAddressesOutput;
    use aws_sdk_ec2::operation::release_address::{ReleaseAddressError, ReleaseAddressOutput};
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }
    /// The address, no longer associated with anything.
    fn described() -> Rule {
        mock!(Client::describe_addresses)
            .match_requests(|r| r.allocation_ids() == ["eipalloc-1"])
            .then_output(|| DescribeAddressesOutput::builder().build())
    }
    fn refused(code: &'static str, message: &'static str) -> ReleaseAddressError {
        ReleaseAddressError::generic(ErrorMetadata::builder().code(code).message(message).build())
    }

    /// Adoption: the address and the instance it is on as AWS has them;
    /// associated only when that instance is the stack's.
    #[tokio::test(start_paused = true)]
    async fn observe_records_the_address_and_whether_it_is_on_the_stack_s_instance() {
        let on = |instance: &'static str| {
            mock!(Client::describe_addresses)
                .match_requests(|r| r.allocation_ids() == ["eipalloc-1"])
                .then_output(move || {
                    DescribeAddressesOutput::builder()
                        .addresses(
                            aws_sdk_ec2::types::Address::builder()
                                .allocation_id("eipalloc-1")
                                .public_ip("203.0.113.7")
                                .instance_id(instance)
                                .build(),
                        )
                        .build()
                })
        };
        let spec = Spec::of(
            "eip",
            &ElasticIpInputs {
                associated: Some(true),
                purpose: None,
            },
        );
        let deps: Records = [(
            "instance".to_string(),
            Record::new("ec2_instance", "i-1", json!({})),
        )]
        .into();
        let rule = on("i-1");
        let rec = ElasticIp
            .observe(&env_over(&[&rule]), &spec, "eipalloc-1", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (&rec.inputs, rec.out("public_ip"), rec.out("instance_id")),
            (&json!({"associated": true}), "203.0.113.7", "i-1")
        );
        let rule = on("i-9");
        let rec = ElasticIp
            .observe(&env_over(&[&rule]), &spec, "eipalloc-1", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rec.inputs,
            json!({"associated": false}),
            "on another instance: the update moves it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_still_mapped_is_released_once_free_and_any_other_error_is_final() {
        let rec = Record::new("ec2_elastic_ip", "eipalloc-1", json!({}));
        let (in_use, held) = (RELEASE.not_yet[0], RELEASE.not_yet[1]);
        let (describe, release) = (
            described(),
            mock!(Client::release_address)
                .match_requests(|r| r.allocation_id() == Some("eipalloc-1"))
                .sequence()
                .error(move || refused(in_use.code, in_use.says))
                .error(move || refused(held.code, held.says))
                .output(|| ReleaseAddressOutput::builder().build())
                .build(),
        );
        ElasticIp
            .delete(&env_over(&[&describe, &release]), &rec)
            .await
            .unwrap();
        assert_eq!(release.num_calls(), 3, "retried twice, then released");

        let (describe, release) = (
            described(),
            mock!(Client::release_address).then_error(|| refused("InjectedFailure", "injected")),
        );
        let e = ElasticIp
            .delete(&env_over(&[&describe, &release]), &rec)
            .await
            .unwrap_err();
        assert_eq!(release.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("ReleaseAddress: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }
}
