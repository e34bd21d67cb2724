//! Instance.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An instance in the `subnet` dependency with the `sg*` dependencies and,
/// when there is one, the instance profile dependency.
pub struct Instance;

/// What the instance runs and on what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceInputs {
    /// None: Ubuntu 22.04 for the type's architecture, looked up at create
    /// and then recorded.
    pub ami: Option<String>,
    pub instance_type: String,
    /// A persistent spot request that stops, not terminates, on
    /// interruption.
    pub spot: bool,
    pub key_name: Option<String>,
    pub user_data: String,
    /// What a plan compares: a changed script replaces the instance.
    pub user_data_sha256: String,
    /// GiB of the encrypted gp3 root volume.
    pub root_volume_size: i32,
}

impl Inputs for InstanceInputs {
    const KIND: &'static str = "ec2_instance";
}

/// An instance profile just created, or the role just added to it, is not
/// yet visible to EC2 (AWS documents about ten seconds).
const RUN: Call = Call::retrying(
    "ec2:RunInstances",
    PROPAGATION,
    &[
        NotYet::message(
            "InvalidParameterValue",
            "Invalid IAM Instance Profile",
            "Value (s-web-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
        ),
        NotYet::message(
            "InvalidParameterValue",
            "has no associated IAM Roles",
            "IAM Instance Profile \"arn:aws:iam::123456789012:instance-profile/s-web-profile\" has no associated IAM Roles",
        ),
    ],
)
.why("hashicorp/aws ec2_instance.go resourceInstanceCreate: InvalidParameterValue 'Invalid IAM Instance Profile' and ' has no associated IAM Roles' retried for iamPropagationTimeout");
/// An instance whose type was just changed may be refused its start until
/// the change has reached its launch plan.
const START: Call = Call::retrying(
    "ec2:StartInstances",
    EC2_PROPAGATION,
    &[NotYet::message(
        "InvalidParameterValue",
        "LaunchPlan instance type does not match attribute value",
        "LaunchPlan instance type does not match attribute value t3.large",
    )],
)
.why("hashicorp/aws ec2_instance.go startInstance (after an instance type change, issue #16433): InvalidParameterValue 'LaunchPlan instance type does not match attribute value' retried for ec2PropagationTimeout");
const CALLS: &[Call] = &[
    RUN,
    START,
    Call::settled("ec2:StopInstances"),
    Call::settled("ec2:ModifyInstanceAttribute"),
    Call::settled("ec2:TerminateInstances"),
    Call::read("ec2:DescribeInstances"),
    Call::read("ec2:DescribeImages"),
];

/// The profile that gives an instance its role (none: no role).
const INSTANCE_PROFILE: Need = Need::optional(
    "instance profile",
    &[<crate::components::iam::InstanceProfileInputs as crate::engine::Inputs>::KIND],
);

async fn instance_state(
    env: &E,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::Instance>, OpError> {
    match env
        .ctx
        .ec2()
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
    {
        Ok(o) => Ok(o
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeInstances")(e)),
    }
}

const INSTANCE_RUNNING: Waiter =
    Waiter::new("to be running", &["pending", "stopped", GONE], &["running"]);
const INSTANCE_STOPPED: Waiter = Waiter::new(
    "to be stopped",
    &["pending", "running", "stopping"],
    &["stopped"],
);
const INSTANCE_TERMINATED: Waiter = Waiter::new(
    "to terminate",
    &["pending", "running", "shutting-down", "stopping", "stopped"],
    &["terminated", GONE],
);

/// Waits for the instance `id` as `w` declares; the instance as last seen
/// (None when the target was its absence).
async fn wait_instance(
    env: &E,
    id: &str,
    w: &Waiter,
) -> Result<Option<aws_sdk_ec2::types::Instance>, OpError> {
    env.wait(w, &format!("instance {id}"), || async {
        Ok(instance_state(env, id).await?.map(|i| {
            (
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str())
                    .unwrap_or_default()
                    .to_string(),
                i,
            )
        }))
    })
    .await
}

/// Ubuntu 22.04 for the instance type's architecture (Graviton families such
/// as t4g, m7g, c6gd are arm64).
pub fn architecture_of(instance_type: &str) -> &'static str {
    let family = instance_type.split('.').next().unwrap_or("");
    let after_gen: String = family
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .skip_while(|c| c.is_ascii_digit())
        .collect();
    if after_gen.starts_with('g') {
        "arm64"
    } else {
        "x86_64"
    }
}

async fn lookup_ubuntu(env: &E, instance_type: &str) -> Result<String, OpError> {
    let arch = architecture_of(instance_type);
    let name = format!(
        "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-{}-server-*",
        if arch == "arm64" { "arm64" } else { "amd64" }
    );
    let o = env
        .ctx
        .ec2()
        .describe_images()
        .owners("099720109477")
        .filters(Filter::builder().name("name").values(&name).build())
        .filters(Filter::builder().name("architecture").values(arch).build())
        .filters(Filter::builder().name("state").values("available").build())
        .send()
        .await
        .map_err(op("DescribeImages"))?;
    let mut imgs: Vec<_> = o.images().iter().collect();
    imgs.sort_by_key(|i| i.creation_date().unwrap_or_default().to_string());
    imgs.last()
        .and_then(|i| i.image_id())
        .map(str::to_string)
        .ok_or_else(|| {
            OpError::new(format!(
                "no Ubuntu 22.04 {arch} image found in {} (owner Canonical); set `ami_id`",
                env.ctx.region
            ))
        })
}

#[tonic::async_trait]
impl Kind<AwsContext> for Instance {
    crate::engine::typed_kind!(InstanceInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["availability_zone", "private_ip"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[
            crate::components::need::SUBNET,
            crate::components::need::SECURITY_GROUPS,
            INSTANCE_PROFILE,
        ]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(10, 10, 20)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    /// The root volume is part of the instance: it follows its tag changes
    /// (it keeps its own component key and Name).
    async fn update_tags(
        &self,
        env: &E,
        rec: &Record,
        set: &crate::engine::Tags,
        remove: &[String],
    ) -> Result<(), OpError> {
        use crate::engine::Cloud;
        env.ctx
            .update_tags(&TagRef::Ec2(rec.id.clone()), set, remove)
            .await?;
        let Some(i) = instance_state(env, &rec.id).await? else {
            return Ok(());
        };
        let set: crate::engine::Tags = set
            .iter()
            .filter(|(k, _)| k.as_str() != TAG_COMPONENT && k.as_str() != "Name")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let remove: Vec<String> = remove
            .iter()
            .filter(|k| k.as_str() != TAG_COMPONENT && k.as_str() != "Name")
            .cloned()
            .collect();
        for v in i
            .block_device_mappings()
            .iter()
            .filter_map(|m| m.ebs())
            .filter(|e| e.delete_on_termination() == Some(true))
            .filter_map(|e| e.volume_id())
        {
            env.ctx
                .update_tags(&TagRef::Ec2(v.to_string()), &set, &remove)
                .await?;
        }
        Ok(())
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &[
            "ami",
            "spot",
            "key_name",
            "user_data_sha256",
            "root_volume_size",
            "subnet",
        ]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let instance: InstanceInputs = spec.typed()?;
        let itype = instance.instance_type.clone();
        let ami = match &instance.ami {
            Some(a) => a.clone(),
            None => lookup_ubuntu(env, &itype).await?,
        };
        let ud64 = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(&instance.user_data)
        };
        let root = BlockDeviceMapping::builder()
            .device_name("/dev/sda1")
            .ebs(
                EbsBlockDevice::builder()
                    .volume_size(instance.root_volume_size)
                    .volume_type(VolumeType::Gp3)
                    .encrypted(true)
                    .delete_on_termination(true)
                    .build(),
            )
            .build();
        let profile = INSTANCE_PROFILE
            .maybe(deps)?
            .map(|r| r.id.clone())
            .unwrap_or_default();
        let sgs = crate::components::need::SECURITY_GROUPS.ids(deps);
        let subnet = crate::components::need::SUBNET.the(deps)?.id.clone();
        let (spot, key_name) = (instance.spot, &instance.key_name);
        let run = || {
            let mut req = ec2
                .run_instances()
                .image_id(&ami)
                .instance_type(aws_sdk_ec2::types::InstanceType::from(itype.as_str()))
                .min_count(1)
                .max_count(1)
                .subnet_id(&subnet)
                .set_security_group_ids(Some(sgs.clone()))
                .user_data(&ud64)
                .block_device_mappings(root.clone())
                .metadata_options(
                    InstanceMetadataOptionsRequest::builder()
                        .http_tokens(HttpTokensState::Required)
                        .http_endpoint(InstanceMetadataEndpointState::Enabled)
                        .build(),
                )
                .tag_specifications(tag_spec(env, spec, ResourceType::Instance))
                .tag_specifications(tag_spec_of(
                    tags_for(env, &format!("{}.root", spec.key)),
                    ResourceType::Volume,
                ));
            if !profile.is_empty() {
                req = req.iam_instance_profile(
                    IamInstanceProfileSpecification::builder()
                        .name(&profile)
                        .build(),
                );
            }
            if let Some(k) = key_name {
                req = req.key_name(k);
            }
            if spot {
                req = req.instance_market_options(
                    InstanceMarketOptionsRequest::builder()
                        .market_type(MarketType::Spot)
                        .spot_options(
                            SpotMarketOptions::builder()
                                .spot_instance_type(SpotInstanceType::Persistent)
                                .instance_interruption_behavior(InstanceInterruptionBehavior::Stop)
                                .build(),
                        )
                        .build(),
                );
            }
            req.send()
        };
        // A just-created instance profile takes a moment to be visible to EC2.
        let out = env.call(&RUN, run).await.map_err(failed)?;
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .unwrap_or_default()
            .to_string();
        let mut inputs = spec.inputs.clone();
        inputs["ami"] = json!(ami);
        let rec = Record::new(self.name(), &id, inputs.clone());
        let inst = wait_instance(env, &id, &INSTANCE_RUNNING)
            .await
            .map_err(|e| e.partial(rec.clone()))?
            .ok_or_else(|| OpError::new(format!("instance {id} vanished")).partial(rec.clone()))?;
        Ok(instance_record(rec, &inst))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let Some(i) = instance_state(env, &rec.id).await? else {
            return Ok(None);
        };
        let state = i.state().and_then(|s| s.name()).cloned();
        if matches!(
            state,
            Some(InstanceStateName::Terminated) | Some(InstanceStateName::ShuttingDown)
        ) {
            return Ok(None);
        }
        let mut r = rec.clone();
        if let Some(t) = i.instance_type() {
            r.inputs["instance_type"] = json!(t.as_str());
        }
        Ok(Some(instance_record(r, &i)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let instance: InstanceInputs = spec.typed()?;
        let want = instance.instance_type.as_str();
        let cur = instance_state(env, &old.id)
            .await?
            .ok_or_else(|| OpError::new(format!("instance {} no longer exists", old.id)))?;
        let mut inputs = spec.inputs.clone();
        inputs["ami"] = old.inputs["ami"].clone();
        let mut rec = Record {
            inputs,
            ..old.clone()
        };
        if cur.instance_type().map(|t| t.as_str()) != Some(want) {
            // Instance type changes need a stopped instance.
            let was_running =
                cur.state().and_then(|s| s.name()) == Some(&InstanceStateName::Running);
            ec2.stop_instances()
                .instance_ids(&old.id)
                .send()
                .await
                .map_err(op("StopInstances"))?;
            wait_instance(env, &old.id, &INSTANCE_STOPPED).await?;
            ec2.modify_instance_attribute()
                .instance_id(&old.id)
                .instance_type(AttributeValue::builder().value(want).build())
                .send()
                .await
                .map_err(op("ModifyInstanceAttribute"))?;
            if was_running {
                env.call(&START, || {
                    ec2.start_instances().instance_ids(&old.id).send()
                })
                .await
                .map_err(failed)?;
                let i = wait_instance(env, &old.id, &INSTANCE_RUNNING)
                    .await?
                    .ok_or_else(|| OpError::new(format!("instance {} vanished", old.id)))?;
                rec = instance_record(rec, &i);
            }
        }
        Ok(rec)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .ec2()
            .terminate_instances()
            .instance_ids(&rec.id)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("TerminateInstances")(e)),
        }
        wait_instance(env, &rec.id, &INSTANCE_TERMINATED)
            .await
            .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let mut f = own_filters(env, &spec.key);
        f.push(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .build(),
        );
        let o = env
            .ctx
            .ec2()
            .describe_instances()
            .set_filters(Some(f))
            .send()
            .await
            .map_err(op("DescribeInstances"))?;
        Ok(o.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .map(|i| {
                let mut inputs = spec.inputs.clone();
                inputs["ami"] = json!(i.image_id());
                instance_record(
                    Record::new(self.name(), i.instance_id().unwrap_or_default(), inputs),
                    i,
                )
            }))
    }
}

fn instance_record(mut rec: Record, i: &aws_sdk_ec2::types::Instance) -> Record {
    rec.outputs.insert(
        "private_ip".into(),
        i.private_ip_address().unwrap_or_default().to_string(),
    );
    rec.outputs.insert(
        "availability_zone".into(),
        i.placement()
            .and_then(|p| p.availability_zone())
            .unwrap_or_default()
            .to_string(),
    );
    rec
}
