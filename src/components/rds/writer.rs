//! Writer.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which region of a global database writes. Reading it reads `IsWriter` back, so a switchover or
/// failover made outside Terraform shows as a change of `writer_region`;
/// changing it switches over (planned, no data loss) or, with
/// `allow_data_loss`, fails over (for a writer region that is down).
pub struct Writer;

const CALLS: &[Call] = &[
    DESCRIBE_GLOBAL,
    DESCRIBE_CLUSTERS,
    Call::settled("rds:FailoverGlobalCluster"),
    Call::settled("rds:SwitchoverGlobalCluster"),
    REMOVE_FROM_GLOBAL,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriterInputs {
    pub global_cluster: String,
    pub writer_region: String,
    /// Region → the identifier of its member cluster.
    pub members: BTreeMap<String, String>,
    /// A change of `writer_region` fails over (for a writer region that is
    /// down, losing what was not replicated) rather than switches over.
    pub allow_data_loss: bool,
}

impl Inputs for WriterInputs {
    const KIND: &'static str = "rds_global_writer";
}

impl Writer {
    async fn ensure(env: &E, spec: &Spec) -> Result<String, OpError> {
        let writer: WriterInputs = spec.typed()?;
        let global = writer.global_cluster.as_str();
        let want = writer.writer_region.clone();
        let g = describe_global(env, global)
            .await?
            .ok_or_else(|| OpError::new(format!("global cluster {global} does not exist")))?;
        if writer_region(&g).as_deref() == Some(want.as_str()) {
            return Ok(want);
        }
        let target_id = writer
            .members
            .get(&want)
            .ok_or_else(|| OpError::new(format!("no member cluster in {want}")))?;
        Self::switch_to(env, global, &want, target_id, writer.allow_data_loss).await?;
        Ok(want)
    }

    /// Makes the member `target_id` (in region `want`) the writer of the
    /// global cluster `global`: a switchover (planned, replication catches
    /// up first), or with `allow_data_loss` a failover; waits until it
    /// writes and is available. The writer's updates and the DR drill
    /// (`awsstack_dr_drill`) both go through here.
    pub async fn switch_to(
        env: &E,
        global: &str,
        want: &str,
        target_id: &str,
        allow_data_loss: bool,
    ) -> Result<(), OpError> {
        let target = format!(
            "arn:aws:rds:{want}:{}:cluster:{target_id}",
            env.ctx.account_id
        );
        if allow_data_loss {
            tracing::warn!(global, to = %want, "failing over the global database (allow_data_loss)");
            env.ctx
                .rds()
                .failover_global_cluster()
                .global_cluster_identifier(global)
                .target_db_cluster_identifier(&target)
                .allow_data_loss(true)
                .send()
                .await
                .map_err(op("FailoverGlobalCluster"))?;
        } else {
            tracing::info!(global, to = %want, "switching the global database over");
            env.ctx
                .rds()
                .switchover_global_cluster()
                .global_cluster_identifier(global)
                .target_db_cluster_identifier(&target)
                .send()
                .await
                .map_err(op("SwitchoverGlobalCluster"))?;
        }
        // Done when the target writes and everything is available again.
        env.wait_until(
            &format!("{target_id} to become the writer of {global}"),
            || async {
                let g = describe_global(env, global).await?;
                Ok(g.filter(|g| {
                    g.status() == Some("available") && writer_region(g).as_deref() == Some(want)
                })
                .map(|_| ()))
            },
        )
        .await?;
        let rds = env.ctx.clone().region_context(want).rds().clone();
        let t = target_id.to_string();
        sdk_wait(
            env,
            &format!("Aurora cluster {target_id} to be available as the writer"),
            |max| async move {
                rds.wait_until_db_cluster_available()
                    .db_cluster_identifier(t)
                    .wait(max)
                    .await
            },
        )
        .await?;
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Writer {
    crate::engine::typed_kind!(WriterInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn timeouts(&self) -> Timeouts {
        // A switchover or failover of the global database.
        Timeouts::minutes(30, 30, 30)
    }
    fn describe_update(&self, spec: &Spec, rec: &Record, fields: &[String]) -> Option<String> {
        if !fields.iter().any(|f| f == "writer_region") {
            return None;
        }
        let writer: WriterInputs = spec.typed().ok()?;
        let was: WriterInputs = rec.typed().ok()?;
        let (from, to) = (&was.writer_region, &writer.writer_region);
        Some(if writer.allow_data_loss {
            format!("failover of the global database from {from} to {to} (allow_data_loss: writes not yet replicated to {to} are lost)")
        } else {
            format!("switchover of the global database from {from} to {to} (planned: replication catches up first, no data loss)")
        })
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let w = Self::ensure(env, spec).await?;
        let mut inputs = spec.inputs.clone();
        inputs["writer_region"] = json!(w);
        Ok(Record::new(
            self.name(),
            spec.typed::<WriterInputs>()?.global_cluster,
            inputs,
        ))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let Some(g) = describe_global(env, &rec.id).await? else {
            return Ok(None);
        };
        let mut r = rec.clone();
        if let Some(w) = writer_region(&g) {
            r.inputs["writer_region"] = json!(w);
        }
        Ok(Some(r))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let w = Self::ensure(env, spec).await?;
        let mut inputs = spec.inputs.clone();
        inputs["writer_region"] = json!(w);
        Ok(Record {
            inputs,
            ..old.clone()
        })
    }
    /// The writer of an existing global cluster (import, adoption), owned
    /// by the global cluster's owner.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<WriterInputs>()?.global_cluster,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        GlobalCluster.owner(env, found).await
    }
    /// Runs first on destroy (it depends on every member): detaches the
    /// readers from the global cluster, each then available on its own, so
    /// that every member's delete finds itself alone or detached. Waiting
    /// inside the writer's delete instead would hold a slot of the engine
    /// for as long as the readers' deletes wait for one.
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let Some(g) = describe_global(env, &rec.id).await? else {
            return Ok(());
        };
        let readers: Vec<String> = g
            .global_cluster_members()
            .iter()
            .filter(|m| m.is_writer() != Some(true))
            .filter_map(|m| m.db_cluster_arn().map(str::to_string))
            .collect();
        for arn in readers {
            detach(
                env,
                &env.ctx.clone().region_context(arn_region(&arn)),
                &rec.id,
                &arn,
            )
            .await?;
        }
        Ok(())
    }
}
