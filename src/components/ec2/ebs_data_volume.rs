//! EBS data volume.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An encrypted gp3 volume attached to the `instance` dependency, in its
/// zone (recorded as `availability_zone`); survives instance replacement.
pub struct DataVolume;

/// The data volume's size, where it is attached, and what a destroy keeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataVolumeInputs {
    /// GiB: it grows in place, never shrinks.
    pub size: i32,
    /// The device name on the instance (`/dev/sdf`).
    pub device: String,
    /// Attached to the instance (read as false when someone detached it:
    /// drift, repaired by attaching it again).
    pub attached: bool,
    /// A snapshot, kept after the destroy, is taken before the delete. A
    /// record without it predates the choice and keeps its data.
    #[serde(default = "keep_data")]
    pub final_snapshot: bool,
}

fn keep_data() -> bool {
    true
}

impl Inputs for DataVolumeInputs {
    const KIND: &'static str = "ebs_data_volume";
}

/// A volume just detached may still be reported attached by the delete
/// that follows.
const DELETE: Call = Call::retrying("ec2:DeleteVolume", DRAIN, &[NotYet::code("VolumeInUse", "Volume vol-0a1b2c3d4e5f67890 is currently attached to i-0a1b2c3d4e5f67890")])
    .why("hashicorp/aws ebs_volume.go resourceEBSVolumeDelete: VolumeInUse retried for the delete timeout; ours is the 5-minute DRAIN");
const CALLS: &[Call] = &[
    Call::settled("ec2:CreateVolume"),
    Call::settled("ec2:AttachVolume"),
    Call::settled("ec2:DetachVolume"),
    Call::settled("ec2:ModifyVolume"),
    Call::settled("ec2:CreateSnapshot"),
    DELETE,
    Call::read("ec2:DescribeVolumes"),
    Call::read("ec2:DescribeSnapshots"),
];

pub(super) async fn volume(
    env: &E,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::Volume>, OpError> {
    match env.ctx.ec2().describe_volumes().volume_ids(id).send().await {
        Ok(o) => Ok(o.volumes().first().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeVolumes")(e)),
    }
}

/// The instance the volume is attached to ("" for none).
fn attached_to(v: &aws_sdk_ec2::types::Volume) -> &str {
    v.attachments()
        .first()
        .and_then(|a| a.instance_id())
        .unwrap_or_default()
}

/// `rec` with the volume's size and attachment as AWS has them.
fn seen(rec: &Record, v: &aws_sdk_ec2::types::Volume) -> Record {
    let mut r = rec.clone();
    r.inputs["size"] = json!(v.size());
    r.inputs["attached"] = json!(!attached_to(v).is_empty());
    r.with("instance_id", attached_to(v))
}

const VOLUME_IN_USE: Waiter = Waiter::new("to be attached", &["available"], &["in-use"]);
/// Made, or detached.
const VOLUME_AVAILABLE: Waiter = Waiter::new(
    "to be available",
    &["creating", "in-use", GONE],
    &["available"],
);
const SNAPSHOT_COMPLETED: Waiter = Waiter::new("to complete", &["pending"], &["completed"]);

async fn wait_volume(env: &E, id: &str, w: &Waiter) -> Result<(), OpError> {
    env.wait(w, &format!("volume {id}"), || async {
        Ok(volume(env, id).await?.map(|v| {
            (
                v.state()
                    .map(|s| s.as_str())
                    .unwrap_or_default()
                    .to_string(),
                (),
            )
        }))
    })
    .await
    .map(|_| ())
}

impl DataVolume {
    async fn attach(env: &E, id: &str, instance: &str, device: &str) -> Result<(), OpError> {
        env.ctx
            .ec2()
            .attach_volume()
            .volume_id(id)
            .instance_id(instance)
            .device(device)
            .send()
            .await
            .map_err(op("AttachVolume"))?;
        wait_volume(env, id, &VOLUME_IN_USE).await
    }
    async fn detach(env: &E, id: &str) -> Result<(), OpError> {
        // Name the instance and device of the current attachment explicitly.
        let Some(v) = volume(env, id).await? else {
            return Ok(());
        };
        let Some(a) = v.attachments().first() else {
            return Ok(());
        };
        let req = env
            .ctx
            .ec2()
            .detach_volume()
            .volume_id(id)
            .set_instance_id(a.instance_id().map(str::to_string))
            .set_device(a.device().map(str::to_string));
        match req.send().await {
            Ok(_) => wait_volume(env, id, &VOLUME_AVAILABLE).await,
            Err(e) if not_found(&e) || error_code(&e).as_deref() == Some("IncorrectState") => {
                Ok(())
            }
            Err(e) => Err(op("DetachVolume")(e)),
        }
    }
}

/// The tag that marks a final snapshot with the volume it keeps.
const TAG_FINAL_SNAPSHOT_OF: &str = "awsstack:final-snapshot-of";

impl DataVolume {
    /// Starts a snapshot of `volume` with `tags` (the final one, or one an
    /// action takes on demand); its id.
    pub(crate) async fn start_snapshot(
        env: &E,
        volume: &str,
        tags: BTreeMap<String, String>,
        description: &str,
    ) -> Result<String, OpError> {
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::Snapshot)
            .set_tags(Some(
                tags.into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .build();
        let out = env
            .ctx
            .ec2()
            .create_snapshot()
            .volume_id(volume)
            .description(description)
            .tag_specifications(spec)
            .send()
            .await
            .map_err(op("CreateSnapshot"))?;
        Ok(out.snapshot_id().unwrap_or_default().to_string())
    }

    /// Waits until the snapshot `id` is complete (`what` names it).
    pub(crate) async fn wait_snapshot(env: &E, id: &str, what: &str) -> Result<(), OpError> {
        let ec2 = env.ctx.ec2();
        env.wait(&SNAPSHOT_COMPLETED, &format!("{what} {id}"), || async {
            let o = ec2
                .describe_snapshots()
                .snapshot_ids(id)
                .send()
                .await
                .map_err(op("DescribeSnapshots"))?;
            Ok(o.snapshots().first().map(|s| {
                let state = s.state().map(|s| s.as_str()).unwrap_or_default();
                (state.to_string(), ())
            }))
        })
        .await
        .map(|_| ())
    }

    /// The final snapshot of the volume, completed: the one an interrupted
    /// destroy already started, or a new one.
    async fn final_snapshot(env: &E, rec: &Record) -> Result<String, OpError> {
        let ec2 = &env.ctx.ec2();
        let f = Filter::builder()
            .name(format!("tag:{TAG_FINAL_SNAPSHOT_OF}"))
            .values(&rec.id)
            .build();
        let o = ec2
            .describe_snapshots()
            .owner_ids("self")
            .filters(f)
            .send()
            .await
            .map_err(op("DescribeSnapshots"))?;
        let id = match o.snapshots().iter().find(|s| {
            s.tags().iter().any(|t| {
                t.key() == Some(TAG_FINAL_SNAPSHOT_OF) && t.value() == Some(rec.id.as_str())
            })
        }) {
            Some(s) => s.snapshot_id().unwrap_or_default().to_string(),
            None => {
                let mut tags = tags_for(env, "volume.data.final-snapshot");
                tags.insert(TAG_FINAL_SNAPSHOT_OF.to_string(), rec.id.clone());
                let description = format!(
                    "awsstack {}: final snapshot of the data volume {}",
                    env.stack_id, rec.id
                );
                Self::start_snapshot(env, &rec.id, tags, &description).await?
            }
        };
        Self::wait_snapshot(env, &id, "final snapshot")
            .await
            .map_err(|e| {
                OpError::new(format!(
                    "{}: the volume {} was not deleted",
                    e.message, rec.id
                ))
            })?;
        Ok(id)
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for DataVolume {
    crate::engine::typed_kind!(DataVolumeInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["instance_id"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::INSTANCE]
    }
    fn timeouts(&self) -> Timeouts {
        // A delete takes the final snapshot of the whole volume first.
        Timeouts::minutes(10, 10, 60)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["availability_zone"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let volume: DataVolumeInputs = spec.typed()?;
        let inst = &crate::components::need::INSTANCE.the(deps)?;
        let az = inst.out("availability_zone").to_string();
        let out = env
            .ctx
            .ec2()
            .create_volume()
            .availability_zone(&az)
            .size(volume.size)
            .volume_type(VolumeType::Gp3)
            .encrypted(true)
            .tag_specifications(tag_spec(env, spec, ResourceType::Volume))
            .send()
            .await
            .map_err(op("CreateVolume"))?;
        let id = out.volume_id().unwrap_or_default().to_string();
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = json!(az);
        let rec = Record::new(self.name(), &id, inputs).with("instance_id", "");
        wait_volume(env, &id, &VOLUME_AVAILABLE)
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Self::attach(env, &id, &inst.id, &volume.device)
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec.with("instance_id", &inst.id))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(volume(env, &rec.id).await?.map(|v| seen(rec, &v)))
    }
    /// Its size and zone as AWS has them, attached to the stack's
    /// instance or to none (the update attaches it). Refused when it is
    /// larger than the configuration's (a volume never shrinks), attached
    /// to another instance, or in another zone than the stack's instance.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(v) = volume(env, ec2_id(id)).await? else {
            return Ok(None);
        };
        let id = v.volume_id().unwrap_or_default();
        let (size, want) = (
            v.size().unwrap_or(0),
            spec.typed::<DataVolumeInputs>()?.size,
        );
        if size > want {
            let write = spec
                .attribute_of("size")
                .map(|a| format!("; write {a} = {size} to keep it"))
                .unwrap_or_default();
            return Err(OpError::new(format!(
                "the volume {id} is {size} GiB and the configuration gives {want} GiB: a volume never shrinks{write}"
            )));
        }
        let instance = crate::components::need::INSTANCE.the(deps).ok();
        let attached = attached_to(&v);
        if !attached.is_empty() && instance.map(|i| i.id.as_str()) != Some(attached) {
            return Err(OpError::new(format!(
                "the volume {id} is attached to {attached}, which is not the stack's instance: awsstack does not take a volume off an instance it does not have"
            )));
        }
        let az = v.availability_zone().unwrap_or_default();
        let zone = instance
            .map(|i| i.out("availability_zone"))
            .unwrap_or_default();
        if !zone.is_empty() && zone != az {
            return Err(OpError::new(format!(
                "the volume {id} is in {az} and the stack's instance in {zone}: it cannot be attached"
            )));
        }
        // `device` (where the stack attaches it) and `final_snapshot` (what
        // its destroy keeps) are the stack's: AWS does not show them.
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = json!(az);
        Ok(Some(seen(&Record::new(self.name(), id, inputs), &v)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let inst = &crate::components::need::INSTANCE.the(deps)?;
        let cur = volume(env, &old.id)
            .await?
            .ok_or_else(|| OpError::new(format!("volume {} no longer exists", old.id)))?;
        let volume: DataVolumeInputs = spec.typed()?;
        if cur.size().unwrap_or(0) < volume.size {
            env.ctx
                .ec2()
                .modify_volume()
                .volume_id(&old.id)
                .size(volume.size)
                .send()
                .await
                .map_err(op("ModifyVolume"))?;
        }
        let attached = cur
            .attachments()
            .first()
            .and_then(|a| a.instance_id())
            .map(str::to_string);
        if attached.as_deref() != Some(inst.id.as_str()) {
            if attached.is_some() {
                Self::detach(env, &old.id).await?;
            }
            Self::attach(env, &old.id, &inst.id, &volume.device).await?;
        }
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = old.inputs["availability_zone"].clone();
        Ok(Record {
            inputs,
            ..old.clone()
        }
        .with("instance_id", &inst.id))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let Some(current) = volume(env, &rec.id).await? else {
            return Ok(());
        };
        // The data (databases, uploads) outlives the stack unless the user
        // opted out.
        if rec.typed::<DataVolumeInputs>()?.final_snapshot {
            let snap = Self::final_snapshot(env, rec).await?;
            env.warn(format!(
                "the data volume {} was kept as the final snapshot {snap}, tagged {}={}: it survives the destroy and is billed until you delete it (`aws ec2 delete-snapshot --snapshot-id {snap}`). Set skip_final_snapshot = true to destroy without one.",
                rec.id, crate::engine::TAG_STACK_ID, env.stack_id
            ));
        }
        // A snapshot does not change the attachment: one describe serves both.
        if !current.attachments().is_empty() {
            Self::detach(env, &rec.id).await?;
        }
        let ec2 = &env.ctx.ec2();
        match env
            .call(&DELETE, || ec2.delete_volume().volume_id(&rec.id).send())
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
            .describe_volumes()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeVolumes"))?;
        Ok(o.volumes().first().map(|v| {
            let mut inputs = spec.inputs.clone();
            inputs["availability_zone"] = json!(v.availability_zone());
            let attached = v
                .attachments()
                .first()
                .and_then(|a| a.instance_id())
                .unwrap_or_default();
            Record::new(self.name(), v.volume_id().unwrap_or_default(), inputs)
                .with("instance_id", attached)
        }))
    }
}

/// DeleteVolume against aws-smithy-mocks: a volume just detached still
/// reported in use is retried; any other error is final.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ec2::operation::delete_volume::{DeleteVolumeError, DeleteVolumeOutput};
    use aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput;
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }
    /// The volume, available and attached to nothing.
    fn described() -> Rule {
        mock!(Client::describe_volumes)
            .match_requests(|r| r.volume_ids() == ["vol-1"])
            .then_output(|| {
                DescribeVolumesOutput::builder()
                    .volumes(
                        aws_sdk_ec2::types::Volume::builder()
                            .volume_id("vol-1")
                            .state(aws_sdk_ec2::types::VolumeState::Available)
                            .build(),
                    )
                    .build()
            })
    }
    fn refused(code: &'static str, message: &'static str) -> DeleteVolumeError {
        DeleteVolumeError::generic(ErrorMetadata::builder().code(code).message(message).build())
    }

    /// `vol-1` in eu-west-1a, of `size` GiB, attached to `instance`.
    fn hand_built(size: i32, instance: Option<&'static str>) -> Rule {
        mock!(Client::describe_volumes)
            .match_requests(|r| r.volume_ids() == ["vol-1"])
            .then_output(move || {
                let mut v = aws_sdk_ec2::types::Volume::builder()
                    .volume_id("vol-1")
                    .size(size)
                    .availability_zone("eu-west-1a")
                    .volume_type(VolumeType::Gp2);
                if let Some(i) = instance {
                    v = v.attachments(
                        aws_sdk_ec2::types::VolumeAttachment::builder()
                            .instance_id(i)
                            .device("/dev/sdh")
                            .build(),
                    );
                }
                DescribeVolumesOutput::builder().volumes(v.build()).build()
            })
    }

    /// Adoption: the zone (replace-only) and size as AWS has them, the
    /// attachment to the stack's instance as its output; a volume larger
    /// than configured, or on another instance, is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_takes_a_volume_of_the_stack_s_instance_that_need_not_shrink() {
        let spec = Spec::of(
            "volume.data",
            &DataVolumeInputs {
                size: 80,
                device: "/dev/sdf".into(),
                attached: true,
                final_snapshot: true,
            },
        )
        .field_from("size", "data_volume_size");
        let deps: Records = [(
            "instance".to_string(),
            Record::new("ec2_instance", "i-1", json!({})).with("availability_zone", "eu-west-1a"),
        )]
        .into();
        let observe = |rule: Rule| {
            let (spec, deps) = (spec.clone(), deps.clone());
            async move {
                DataVolume
                    .observe(&env_over(&[&rule]), &spec, "vol-1", &deps)
                    .await
            }
        };
        let rec = observe(hand_built(60, Some("i-1"))).await.unwrap().unwrap();
        assert_eq!(
            rec.inputs,
            json!({"size": 60, "device": "/dev/sdf", "attached": true, "final_snapshot": true, "availability_zone": "eu-west-1a"})
        );
        assert_eq!(rec.out("instance_id"), "i-1");
        let rec = observe(hand_built(80, None)).await.unwrap().unwrap();
        assert_eq!(
            (&rec.inputs["attached"], rec.out("instance_id")),
            (&json!(false), "")
        );
        let e = observe(hand_built(100, Some("i-1"))).await.unwrap_err();
        assert!(
            e.message
                .contains("never shrinks; write data_volume_size = 100"),
            "{}",
            e.message
        );
        let e = observe(hand_built(80, Some("i-9"))).await.unwrap_err();
        assert!(e.message.contains("attached to i-9"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn a_volume_still_reported_in_use_is_retried_and_any_other_error_is_final() {
        // No final snapshot, so the delete makes only these two calls.
        let rec = Record::new(
            "ebs_data_volume",
            "vol-1",
            json!({"size": 10, "device": "/dev/sdf", "attached": false, "final_snapshot": false}),
        );
        let not_yet = DELETE.not_yet[0];
        let (describe, delete) = (
            described(),
            mock!(Client::delete_volume)
                .match_requests(|r| r.volume_id() == Some("vol-1"))
                .sequence()
                .error(move || refused(not_yet.code, not_yet.says))
                .output(|| DeleteVolumeOutput::builder().build())
                .build(),
        );
        DataVolume
            .delete(&env_over(&[&describe, &delete]), &rec)
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");

        let (describe, delete) = (
            described(),
            mock!(Client::delete_volume).then_error(|| refused("InjectedFailure", "injected")),
        );
        let e = DataVolume
            .delete(&env_over(&[&describe, &delete]), &rec)
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("DeleteVolume: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }
}
