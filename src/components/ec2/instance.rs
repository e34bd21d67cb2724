//! Instance.

use super::*;
use crate::engine::Inputs;
use aws_sdk_ec2::types::{InstanceAttributeName, InstanceLifecycleType};
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
    // What an adoption reads of an instance the stack did not launch.
    Call::read("ec2:DescribeInstanceAttribute"),
    Call::read("ec2:DescribeVolumes"),
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
    fn kept_fields(&self) -> &'static [&'static str] {
        &["user_data_sha256"]
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
        Ok(live_instance(env, &rec.id)
            .await?
            .map(|i| seen(rec.clone(), &i)))
    }
    /// Every launch setting as AWS has it: the image, the market, the
    /// key, the hash of its user data (kept: the instance keeps the
    /// script it was launched with), the root volume's size and its
    /// subnet. Refused when it lacks one of the stack's security groups or
    /// has another instance profile: the update changes neither.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(i) = live_instance(env, ec2_id(id)).await? else {
            return Ok(None);
        };
        let id = i.instance_id().unwrap_or_default();
        let mut inputs = spec.inputs.clone();
        let subnet = i.subnet_id().unwrap_or_default();
        match crate::components::need::SUBNET.the(deps) {
            // The `subnet` slot, when the spec has one, names the dependency
            // that has the instance's subnet (or holds the subnet's id).
            _ if spec.inputs.get("subnet").is_some() => {
                let named = deps.iter().find(|(_, r)| r.id == subnet);
                inputs["subnet"] = json!(named.map_or(subnet, |(k, _)| k.as_str()));
            }
            Ok(s) if s.id != subnet => {
                return Err(OpError::new(format!(
                    "the instance {id} is in the subnet {subnet}, not in the stack's {}",
                    s.id
                )))
            }
            _ => {}
        }
        // The instance's groups are its network interfaces' (an instance
        // launched with an interface specification may list them only
        // there).
        let groups: Vec<&str> = i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .chain(
                i.network_interfaces()
                    .iter()
                    .flat_map(|n| n.groups())
                    .filter_map(|g| g.group_id()),
            )
            .collect();
        for sg in crate::components::need::SECURITY_GROUPS.ids(deps) {
            if !groups.contains(&sg.as_str()) {
                return Err(OpError::new(format!(
                    "the instance {id} is not in the stack's security group {sg}, and awsstack sets security groups only on an instance it launches"
                )));
            }
        }
        if let Some(p) = INSTANCE_PROFILE.maybe(deps)? {
            let have = i
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .and_then(|a| a.rsplit('/').next());
            if have != Some(p.id.as_str()) {
                return Err(OpError::new(format!(
                    "the instance {id} has the instance profile {}, not the stack's {}, and awsstack sets it only on an instance it launches",
                    have.unwrap_or("none"),
                    p.id
                )));
            }
        }
        inputs["ami"] = json!(i.image_id());
        inputs["spot"] = json!(i.instance_lifecycle() == Some(&InstanceLifecycleType::Spot));
        inputs["key_name"] = json!(i.key_name());
        // `user_data` itself stays the spec's: only its hash is compared,
        // and no update writes it.
        inputs["user_data_sha256"] =
            json!(crate::components::sha256_hex(&user_data(env, id).await?));
        inputs["root_volume_size"] = json!(root_volume_size(env, &i).await?);
        Ok(Some(seen(Record::new(self.name(), id, inputs), &i)))
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
            // Instance type changes need a stopped instance. One still
            // starting (`pending`) was on its way to running: it is
            // started again too, not left stopped.
            let was_running = matches!(
                cur.state().and_then(|s| s.name()),
                Some(InstanceStateName::Running | InstanceStateName::Pending)
            );
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

/// The instance `id` unless it is terminated or on its way there.
async fn live_instance(env: &E, id: &str) -> Result<Option<aws_sdk_ec2::types::Instance>, OpError> {
    Ok(instance_state(env, id).await?.filter(|i| {
        !matches!(
            i.state().and_then(|s| s.name()),
            Some(InstanceStateName::Terminated) | Some(InstanceStateName::ShuttingDown)
        )
    }))
}

/// `rec` with the instance's type and where it runs, as AWS has them.
fn seen(mut rec: Record, i: &aws_sdk_ec2::types::Instance) -> Record {
    if let Some(t) = i.instance_type() {
        rec.inputs["instance_type"] = json!(t.as_str());
    }
    instance_record(rec, i)
}

/// The user data the instance `id` was launched with (none: empty).
async fn user_data(env: &E, id: &str) -> Result<String, OpError> {
    use base64::Engine as _;
    let o = env
        .ctx
        .ec2()
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
        .map_err(op("DescribeInstanceAttribute"))?;
    let encoded = o.user_data().and_then(|v| v.value()).unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| OpError::new(format!("the user data of {id} does not decode: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// GiB of the instance's root volume.
async fn root_volume_size(env: &E, i: &aws_sdk_ec2::types::Instance) -> Result<i32, OpError> {
    let id = i.instance_id().unwrap_or_default();
    let root = i
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name().is_some() && m.device_name() == i.root_device_name())
        .and_then(|m| m.ebs())
        .and_then(|e| e.volume_id())
        .ok_or_else(|| OpError::new(format!("the instance {id} has no EBS root volume")))?;
    volume(env, root)
        .await?
        .and_then(|v| v.size())
        .ok_or_else(|| OpError::new(format!("the root volume {root} of {id} was not found")))
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

/// The instance against aws-smithy-mocks: what RunInstances carries, the
/// wait until it runs, the declared "not yet" of a new instance profile and
/// of a start after a type change, and a read of an instance gone.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ec2::operation::describe_images::DescribeImagesOutput;
    use aws_sdk_ec2::operation::describe_instances::{
        DescribeInstancesError, DescribeInstancesOutput,
    };
    use aws_sdk_ec2::operation::modify_instance_attribute::ModifyInstanceAttributeOutput;
    use aws_sdk_ec2::operation::run_instances::{
        RunInstancesError, RunInstancesInput, RunInstancesOutput,
    };
    use aws_sdk_ec2::operation::start_instances::{StartInstancesError, StartInstancesOutput};
    use aws_sdk_ec2::operation::stop_instances::StopInstancesOutput;
    use aws_sdk_ec2::types::{Image, InstanceState, InstanceType, Placement, Reservation};
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;
    use std::sync::{Arc, Mutex};

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }

    fn said(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    fn inputs(ami: Option<&str>, instance_type: &str) -> InstanceInputs {
        InstanceInputs {
            ami: ami.map(str::to_string),
            instance_type: instance_type.into(),
            spot: true,
            key_name: Some("ops".into()),
            user_data: "#!/bin/sh\necho hello\n".into(),
            user_data_sha256: crate::components::sha256_hex("#!/bin/sh\necho hello\n"),
            root_volume_size: 30,
        }
    }

    /// Its subnet, two security groups and an instance profile.
    fn deps() -> Records {
        [
            ("subnet.a", "ec2_subnet", "subnet-1"),
            ("sg.app", "ec2_security_group", "sg-1"),
            ("sg.ssh", "ec2_security_group", "sg-2"),
            ("profile", "iam_instance_profile", "s-web-profile"),
        ]
        .into_iter()
        .map(|(k, kind, id)| (k.to_string(), Record::new(kind, id, json!({}))))
        .collect()
    }

    /// The instance `i-1` as DescribeInstances reports it in `state`.
    fn described(state: InstanceStateName, itype: InstanceType) -> DescribeInstancesOutput {
        described_at(state, itype, "10.0.1.17")
    }

    fn described_at(
        state: InstanceStateName,
        itype: InstanceType,
        ip: &str,
    ) -> DescribeInstancesOutput {
        DescribeInstancesOutput::builder()
            .reservations(
                Reservation::builder()
                    .instances(
                        aws_sdk_ec2::types::Instance::builder()
                            .instance_id("i-1")
                            .image_id("ami-1")
                            .instance_type(itype)
                            .state(InstanceState::builder().name(state).build())
                            .private_ip_address(ip)
                            .placement(Placement::builder().availability_zone("eu-west-1a").build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn launched() -> RunInstancesOutput {
        RunInstancesOutput::builder()
            .instances(
                aws_sdk_ec2::types::Instance::builder()
                    .instance_id("i-1")
                    .build(),
            )
            .build()
    }

    /// A RunInstances rule answering `launched`, keeping the request.
    fn run_kept() -> (Rule, Arc<Mutex<Option<RunInstancesInput>>>) {
        let kept = Arc::new(Mutex::new(None));
        let seen = kept.clone();
        let rule = mock!(Client::run_instances)
            .match_requests(move |r| {
                *seen.lock().unwrap() = Some(r.clone());
                true
            })
            .then_output(launched);
        (rule, kept)
    }

    fn tag<'a>(spec: &'a TagSpecification, key: &str) -> Option<&'a str> {
        spec.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
    }

    #[tokio::test(start_paused = true)]
    async fn create_runs_the_instance_with_its_inputs_and_records_where_it_runs() {
        let (run, kept) = run_kept();
        // Not yet visible to DescribeInstances, then pending, then running.
        let describe = mock!(Client::describe_instances)
            .match_requests(|r| r.instance_ids() == ["i-1"])
            .sequence()
            .error(|| {
                DescribeInstancesError::generic(said(
                    "InvalidInstanceID.NotFound",
                    "The instance ID 'i-1' does not exist",
                ))
            })
            .output(|| described(InstanceStateName::Pending, InstanceType::T3Small))
            .output(|| described(InstanceStateName::Running, InstanceType::T3Small))
            .build();
        let spec = Spec::of("web", &inputs(Some("ami-1"), "t3.small"));
        let rec = Instance
            .create(&env_over(&[&run, &describe]), &spec, &deps())
            .await
            .unwrap();
        assert_eq!(describe.num_calls(), 3, "waited until running");
        assert_eq!(rec.id, "i-1");
        assert_eq!(rec.kind, "ec2_instance");
        assert_eq!(rec.out("private_ip"), "10.0.1.17");
        assert_eq!(rec.out("availability_zone"), "eu-west-1a");
        assert_eq!(rec.inputs["ami"], json!("ami-1"));
        assert_eq!(rec.inputs["instance_type"], json!("t3.small"));

        let r = kept.lock().unwrap().take().expect("RunInstances sent");
        assert_eq!(r.image_id(), Some("ami-1"));
        assert_eq!(r.instance_type(), Some(&InstanceType::T3Small));
        assert_eq!((r.min_count(), r.max_count()), (Some(1), Some(1)));
        assert_eq!(r.subnet_id(), Some("subnet-1"));
        assert_eq!(r.security_group_ids(), ["sg-1", "sg-2"]);
        assert_eq!(r.key_name(), Some("ops"));
        assert_eq!(
            r.iam_instance_profile().and_then(|p| p.name()),
            Some("s-web-profile")
        );
        {
            use base64::Engine as _;
            let ud = base64::engine::general_purpose::STANDARD
                .decode(r.user_data().expect("user data"))
                .unwrap();
            assert_eq!(ud, b"#!/bin/sh\necho hello\n");
        }
        let root = r.block_device_mappings().first().expect("a root volume");
        let ebs = root.ebs().expect("an EBS root volume");
        assert_eq!(root.device_name(), Some("/dev/sda1"));
        assert_eq!(ebs.volume_size(), Some(30));
        assert_eq!(ebs.volume_type(), Some(&VolumeType::Gp3));
        assert_eq!(ebs.encrypted(), Some(true));
        assert_eq!(ebs.delete_on_termination(), Some(true));
        assert_eq!(
            r.metadata_options().and_then(|m| m.http_tokens()),
            Some(&HttpTokensState::Required),
            "IMDSv2 only"
        );
        let market = r.instance_market_options().expect("a spot request");
        let spot = market.spot_options().expect("spot options");
        assert_eq!(market.market_type(), Some(&MarketType::Spot));
        assert_eq!(
            spot.spot_instance_type(),
            Some(&SpotInstanceType::Persistent)
        );
        assert_eq!(
            spot.instance_interruption_behavior(),
            Some(&InstanceInterruptionBehavior::Stop)
        );
        let of = |rt: ResourceType| {
            r.tag_specifications()
                .iter()
                .find(|t| t.resource_type() == Some(&rt))
                .unwrap_or_else(|| panic!("no tags for {rt:?}"))
        };
        let (instance, volume) = (of(ResourceType::Instance), of(ResourceType::Volume));
        assert_eq!(tag(instance, TAG_COMPONENT), Some("web"));
        assert_eq!(tag(instance, TAG_STACK_ID), Some("s"));
        assert_eq!(tag(volume, TAG_COMPONENT), Some("web.root"));
        assert_eq!(tag(volume, TAG_STACK_ID), Some("s"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_on_demand_instance_without_profile_or_key_sends_neither() {
        let (run, kept) = run_kept();
        let describe = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Running, InstanceType::T3Small));
        let mut plain = inputs(Some("ami-1"), "t3.small");
        plain.spot = false;
        plain.key_name = None;
        let mut deps = deps();
        deps.remove("profile");
        Instance
            .create(
                &env_over(&[&run, &describe]),
                &Spec::of("web", &plain),
                &deps,
            )
            .await
            .unwrap();
        let r = kept.lock().unwrap().take().expect("RunInstances sent");
        assert!(r.instance_market_options().is_none(), "{r:?}");
        assert!(r.iam_instance_profile().is_none(), "{r:?}");
        assert!(r.key_name().is_none(), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_ami_the_newest_ubuntu_of_the_types_architecture_is_run_and_recorded() {
        let images = mock!(Client::describe_images)
            .match_requests(|r| {
                let has = |name: &str, value: &str| {
                    r.filters()
                        .iter()
                        .any(|f| f.name() == Some(name) && f.values() == [value])
                };
                r.owners() == ["099720109477"]
                    && has("architecture", "arm64")
                    && has(
                        "name",
                        "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-arm64-server-*",
                    )
            })
            .then_output(|| {
                let image = |id: &str, created: &str| {
                    Image::builder().image_id(id).creation_date(created).build()
                };
                DescribeImagesOutput::builder()
                    .images(image("ami-older", "2024-01-10T00:00:00.000Z"))
                    .images(image("ami-newest", "2024-06-01T00:00:00.000Z"))
                    .images(image("ami-old", "2023-11-02T00:00:00.000Z"))
                    .build()
            });
        let run = mock!(Client::run_instances)
            .match_requests(|r| {
                r.image_id() == Some("ami-newest")
                    && r.instance_type() == Some(&InstanceType::T4gSmall)
            })
            .then_output(launched);
        let describe = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Running, InstanceType::T4gSmall));
        let rec = Instance
            .create(
                &env_over(&[&images, &run, &describe]),
                &Spec::of("web", &inputs(None, "t4g.small")),
                &deps(),
            )
            .await
            .unwrap();
        assert_eq!(run.num_calls(), 1);
        assert_eq!(
            rec.inputs["ami"],
            json!("ami-newest"),
            "the image looked up is recorded, so that a newer one replaces nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_that_terminates_at_launch_fails_the_create_and_is_recorded() {
        let run = mock!(Client::run_instances).then_output(launched);
        let describe = mock!(Client::describe_instances)
            .sequence()
            .output(|| described(InstanceStateName::Pending, InstanceType::T3Small))
            .output(|| described(InstanceStateName::Terminated, InstanceType::T3Small))
            .build();
        let e = Instance
            .create(
                &env_over(&[&run, &describe]),
                &Spec::of("web", &inputs(Some("ami-1"), "t3.small")),
                &deps(),
            )
            .await
            .unwrap_err();
        assert!(
            e.message.contains("instance i-1 is terminated") && e.message.contains("running"),
            "{}",
            e.message
        );
        assert_eq!(e.partial.map(|r| r.id).as_deref(), Some("i-1"));
    }

    /// RunInstances: an instance profile not yet visible to EC2 (either
    /// declared wording) is retried; the same code for another reason is
    /// final after one call, with nothing to wait for.
    #[tokio::test(start_paused = true)]
    async fn a_profile_not_yet_visible_is_retried_and_any_other_error_is_final() {
        let (invalid, no_role) = (RUN.not_yet[0], RUN.not_yet[1]);
        let run = mock!(Client::run_instances)
            .match_requests(|r| {
                r.iam_instance_profile().and_then(|p| p.name()) == Some("s-web-profile")
            })
            .sequence()
            .error(move || RunInstancesError::generic(said(invalid.code, invalid.says)))
            .error(move || RunInstancesError::generic(said(no_role.code, no_role.says)))
            .output(launched)
            .build();
        let describe = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Running, InstanceType::T3Small));
        let spec = Spec::of("web", &inputs(Some("ami-1"), "t3.small"));
        let rec = Instance
            .create(&env_over(&[&run, &describe]), &spec, &deps())
            .await
            .unwrap();
        assert_eq!(rec.id, "i-1");
        assert_eq!(
            (run.num_calls(), describe.num_calls()),
            (3, 1),
            "retried twice, then run and waited for"
        );

        // No describe rule: a wait would find none and fail the test.
        let run = mock!(Client::run_instances).then_error(|| {
            RunInstancesError::generic(said(
                "InvalidParameterValue",
                "Value (t3.huge) for parameter instanceType is invalid.",
            ))
        });
        let e = Instance
            .create(&env_over(&[&run]), &spec, &deps())
            .await
            .unwrap_err();
        assert_eq!(run.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("RunInstances: InvalidParameterValue")
                && !e.message.contains("still not ready")
                && e.partial.is_none(),
            "{}",
            e.message
        );
    }

    fn record() -> Record {
        Record::new(
            "ec2_instance",
            "i-1",
            json!(inputs(Some("ami-1"), "t3.small")),
        )
        .with("private_ip", "10.0.1.17")
        .with("availability_zone", "eu-west-1a")
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_gone_or_terminated_reads_as_none() {
        let gone = mock!(Client::describe_instances).then_error(|| {
            DescribeInstancesError::generic(said(
                "InvalidInstanceID.NotFound",
                "The instance ID 'i-1' does not exist",
            ))
        });
        assert!(Instance
            .read(&env_over(&[&gone]), &record())
            .await
            .unwrap()
            .is_none());
        assert_eq!(gone.num_calls(), 1);
        for state in [
            InstanceStateName::ShuttingDown,
            InstanceStateName::Terminated,
        ] {
            let s = state.clone();
            let ending = mock!(Client::describe_instances)
                .then_output(move || described(s.clone(), InstanceType::T3Small));
            assert!(
                Instance
                    .read(&env_over(&[&ending]), &record())
                    .await
                    .unwrap()
                    .is_none(),
                "{state:?}"
            );
        }
        // Any other error is an error, not a disappearance.
        let refused = mock!(Client::describe_instances).then_error(|| {
            DescribeInstancesError::generic(said(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ))
        });
        let e = Instance
            .read(&env_over(&[&refused]), &record())
            .await
            .unwrap_err();
        assert!(e.message.contains("DescribeInstances"), "{}", e.message);
    }

    /// A hand-built `i-1`: its own image, on demand, its own key and user
    /// data, a 30 GiB root volume, in `subnet-1` with `sg-1` and the
    /// profile `kauri-demo-app`.
    fn hand_built() -> Rule {
        use aws_sdk_ec2::types::{
            EbsInstanceBlockDevice, GroupIdentifier, IamInstanceProfile, InstanceBlockDeviceMapping,
        };
        mock!(Client::describe_instances)
            .match_requests(|r| r.instance_ids() == ["i-1"])
            .then_output(|| {
                let i = aws_sdk_ec2::types::Instance::builder()
                    .instance_id("i-1")
                    .image_id("ami-hand")
                    .instance_type(InstanceType::T3Medium)
                    .key_name("kauri")
                    .subnet_id("subnet-1")
                    .security_groups(GroupIdentifier::builder().group_id("sg-1").build())
                    .iam_instance_profile(
                        IamInstanceProfile::builder()
                            .arn("arn:aws:iam::123456789012:instance-profile/kauri-demo-app")
                            .build(),
                    )
                    .root_device_name("/dev/sda1")
                    .block_device_mappings(
                        InstanceBlockDeviceMapping::builder()
                            .device_name("/dev/sda1")
                            .ebs(
                                EbsInstanceBlockDevice::builder()
                                    .volume_id("vol-root")
                                    .build(),
                            )
                            .build(),
                    )
                    .state(
                        InstanceState::builder()
                            .name(InstanceStateName::Running)
                            .build(),
                    )
                    .private_ip_address("10.42.0.5")
                    .placement(Placement::builder().availability_zone("eu-west-1a").build())
                    .build();
                DescribeInstancesOutput::builder()
                    .reservations(Reservation::builder().instances(i).build())
                    .build()
            })
    }

    /// Adoption: every replace-only input (and the kept hash of its user
    /// data) as AWS has it, whatever the spec says; the outputs as a
    /// create records them. An instance outside one of the stack's
    /// security groups is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_launch_settings_from_aws() {
        use aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput;
        use aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput;
        use base64::Engine as _;
        let script = "#!/bin/bash\necho hand-built\n";
        let attribute = mock!(Client::describe_instance_attribute)
            .match_requests(|r| {
                r.instance_id() == Some("i-1")
                    && r.attribute() == Some(&InstanceAttributeName::UserData)
            })
            .then_output(move || {
                DescribeInstanceAttributeOutput::builder()
                    .user_data(
                        AttributeValue::builder()
                            .value(base64::engine::general_purpose::STANDARD.encode(script))
                            .build(),
                    )
                    .build()
            });
        let volumes = mock!(Client::describe_volumes)
            .match_requests(|r| r.volume_ids() == ["vol-root"])
            .then_output(|| {
                DescribeVolumesOutput::builder()
                    .volumes(aws_sdk_ec2::types::Volume::builder().size(30).build())
                    .build()
            });
        let mut spec = inputs(Some("ami-1"), "t3.small");
        spec.root_volume_size = 20;
        let spec = Spec::of("instance", &spec);
        let mut deps = deps();
        deps.remove("sg.ssh");
        deps.insert(
            "profile".into(),
            Record::new("iam_instance_profile", "kauri-demo-app", json!({})),
        );
        deps.insert(
            "subnet.a".into(),
            Record::new("ec2_subnet", "subnet-1", json!({})),
        );
        let rec = Instance
            .observe(
                &env_over(&[&hand_built(), &attribute, &volumes]),
                &spec,
                "arn:aws:ec2:eu-west-1:123456789012:instance/i-1",
                &deps,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.id, "i-1");
        let mut want = spec.inputs.clone();
        want["ami"] = json!("ami-hand");
        want["instance_type"] = json!("t3.medium");
        want["spot"] = json!(false);
        want["key_name"] = json!("kauri");
        want["user_data_sha256"] = json!(crate::components::sha256_hex(script));
        want["root_volume_size"] = json!(30);
        assert_eq!(rec.inputs, want);
        assert_eq!(
            (rec.out("private_ip"), rec.out("availability_zone")),
            ("10.42.0.5", "eu-west-1a")
        );

        deps.insert(
            "sg.ssh".into(),
            Record::new("ec2_security_group", "sg-2", json!({})),
        );
        let e = Instance
            .observe(&env_over(&[&hand_built()]), &spec, "i-1", &deps)
            .await
            .unwrap_err();
        assert!(e.message.contains("security group sg-2"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_reports_a_type_changed_out_of_band() {
        let describe = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Stopped, InstanceType::T3Large));
        let r = Instance
            .read(&env_over(&[&describe]), &record())
            .await
            .unwrap()
            .expect("a stopped instance still exists");
        assert_eq!(r.inputs["instance_type"], json!("t3.large"));
        assert_eq!(r.inputs["ami"], json!("ami-1"));
    }

    /// A type change: the running instance is stopped, its type changed,
    /// and started again, the start retried while the launch plan still
    /// has the old type (START's "not yet"); another refusal of the start
    /// is final after one call.
    #[tokio::test(start_paused = true)]
    async fn a_type_change_stops_modifies_and_restarts_retrying_only_a_stale_launch_plan() {
        let steps = |start: Rule| {
            let now = mock!(Client::describe_instances)
                .then_output(|| described(InstanceStateName::Running, InstanceType::T3Small));
            let stop = mock!(Client::stop_instances)
                .match_requests(|r| r.instance_ids() == ["i-1"])
                .then_output(|| StopInstancesOutput::builder().build());
            let stopped = mock!(Client::describe_instances)
                .then_output(|| described(InstanceStateName::Stopped, InstanceType::T3Small));
            let modify = mock!(Client::modify_instance_attribute)
                .match_requests(|r| {
                    r.instance_id() == Some("i-1")
                        && r.instance_type().and_then(|v| v.value()) == Some("t3.large")
                })
                .then_output(|| ModifyInstanceAttributeOutput::builder().build());
            vec![now, stop, stopped, modify, start]
        };
        let stale = START.not_yet[0];
        let start = mock!(Client::start_instances)
            .match_requests(|r| r.instance_ids() == ["i-1"])
            .sequence()
            .error(move || StartInstancesError::generic(said(stale.code, stale.says)))
            .output(|| StartInstancesOutput::builder().build())
            .build();
        let running = mock!(Client::describe_instances).then_output(|| {
            described_at(
                InstanceStateName::Running,
                InstanceType::T3Large,
                "10.0.1.99",
            )
        });
        let mut rules = steps(start.clone());
        rules.push(running);
        let rules: Vec<&Rule> = rules.iter().collect();
        let spec = Spec::of("web", &inputs(Some("ami-1"), "t3.large"));
        let rec = Instance
            .update(&env_over(&rules), &spec, &record(), &deps())
            .await
            .unwrap();
        assert_eq!(start.num_calls(), 2, "retried once, then started");
        assert_eq!(rec.inputs["instance_type"], json!("t3.large"));
        assert_eq!(
            rec.out("private_ip"),
            "10.0.1.99",
            "read again once running"
        );

        let start = mock!(Client::start_instances).then_error(|| {
            StartInstancesError::generic(said(
                "InsufficientInstanceCapacity",
                "We currently do not have sufficient t3.large capacity in the Availability Zone you requested (eu-west-1a).",
            ))
        });
        let rules = steps(start.clone());
        let rules: Vec<&Rule> = rules.iter().collect();
        let e = Instance
            .update(&env_over(&rules), &spec, &record(), &deps())
            .await
            .unwrap_err();
        assert_eq!(start.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("StartInstances: InsufficientInstanceCapacity")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    /// An instance still starting when its type changes is started again
    /// after the change, not left stopped.
    #[tokio::test(start_paused = true)]
    async fn a_type_change_of_a_starting_instance_starts_it_again() {
        let now = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Pending, InstanceType::T3Small));
        let stop =
            mock!(Client::stop_instances).then_output(|| StopInstancesOutput::builder().build());
        let stopped = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Stopped, InstanceType::T3Small));
        let modify = mock!(Client::modify_instance_attribute)
            .then_output(|| ModifyInstanceAttributeOutput::builder().build());
        let start = mock!(Client::start_instances)
            .match_requests(|r| r.instance_ids() == ["i-1"])
            .then_output(|| StartInstancesOutput::builder().build());
        let running = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Running, InstanceType::T3Large));
        let spec = Spec::of("web", &inputs(Some("ami-1"), "t3.large"));
        Instance
            .update(
                &env_over(&[&now, &stop, &stopped, &modify, &start, &running]),
                &spec,
                &record(),
                &deps(),
            )
            .await
            .unwrap();
        assert_eq!(start.num_calls(), 1, "started again");
        assert_eq!(running.num_calls(), 1, "waited until running");
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_type_changes_nothing() {
        // Only the look at the instance: a stop would find no rule.
        let describe = mock!(Client::describe_instances)
            .then_output(|| described(InstanceStateName::Running, InstanceType::T3Small));
        let rec = Instance
            .update(
                &env_over(&[&describe]),
                &Spec::of("web", &inputs(Some("ami-1"), "t3.small")),
                &record(),
                &deps(),
            )
            .await
            .unwrap();
        assert_eq!(describe.num_calls(), 1);
        assert_eq!(rec.id, "i-1");
    }
}
