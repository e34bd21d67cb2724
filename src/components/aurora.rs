//! Aurora Global Database: the global cluster, its member clusters (one
//! per region), their instances, and which region writes. Created and
//! deleted in the order AWS requires: the global cluster before its
//! members; the secondary once the primary writes; each member detached
//! and available before it is deleted, readers before the writer; the
//! global cluster once it is empty.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, sdk_wait, spec_tags, E};
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Timeouts, Waiter, GONE};
use crate::provider::AwsContext;
use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::types::{GlobalCluster as Global, Tag};
use serde_json::{json, Value as Json};
use std::time::Duration;

fn rds_tags(env: &E, spec: &Spec) -> Vec<Tag> {
    spec_tags(env, spec).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

const GLOBAL_AVAILABLE: Waiter = Waiter::new("to be available", &["creating", "modifying", GONE], &["available"]).poll(Duration::from_secs(15));
const GLOBAL_DELETED: Waiter = Waiter::new("to be deleted", &["available", "deleting", "modifying"], &[GONE]).poll(Duration::from_secs(15));

async fn global_state(env: &E, id: &str) -> Result<Option<(String, ())>, OpError> {
    Ok(describe_global(env, id).await?.map(|g| (g.status().unwrap_or_default().to_string(), ())))
}

/// The global cluster `id` as AWS describes it (the filter is applied here
/// too: not every endpoint honours the identifier).
pub async fn describe_global(env: &E, id: &str) -> Result<Option<Global>, OpError> {
    match env.ctx.rds().describe_global_clusters().global_cluster_identifier(id).send().await {
        Ok(o) => Ok(o.global_clusters().iter().find(|g| g.global_cluster_identifier() == Some(id)).cloned()),
        Err(e) if crate::aws::code_in(&e, &["GlobalClusterNotFoundFault"]) => Ok(None),
        Err(e) => Err(op("DescribeGlobalClusters")(e)),
    }
}

/// The region of an RDS ARN (`arn:aws:rds:<region>:...`).
pub fn arn_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

/// The region whose member writes, if any.
pub fn writer_region(g: &Global) -> Option<String> {
    g.global_cluster_members().iter().find(|m| m.is_writer() == Some(true)).and_then(|m| m.db_cluster_arn()).map(|a| arn_region(a).to_string())
}

/// Takes the member `arn` out of the global cluster with the clients of its
/// region (`ctx`) and waits until it has left and is available on its own:
/// only then can it be deleted.
async fn detach(env: &E, ctx: &AwsContext, global: &str, arn: &str) -> Result<(), OpError> {
    let id = arn.rsplit(':').next().unwrap_or_default().to_string();
    env.retry(
        Duration::from_secs(600),
        |e: &aws_smithy_runtime_api::client::result::SdkError<_, _>| crate::aws::code_in(e, &["InvalidDBClusterStateFault"]),
        || ctx.rds().remove_from_global_cluster().global_cluster_identifier(global).db_cluster_identifier(arn).send(),
    )
    .await
    .map_err(op("RemoveFromGlobalCluster"))?;
    env.wait_until(&format!("Aurora cluster {id} to leave {global}"), || async {
        Ok(describe_global(env, global).await?.map(|g| !g.global_cluster_members().iter().any(|m| m.db_cluster_arn() == Some(arn))).unwrap_or(true).then_some(()))
    })
    .await?;
    let rds = ctx.rds().clone();
    let i = id.clone();
    sdk_wait(env, &format!("Aurora cluster {id} to be available after leaving {global}"), |max| async move {
        rds.wait_until_db_cluster_available().db_cluster_identifier(i).wait(max).await
    })
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- global cluster

/// Inputs: `id`, `engine`, `engine_version`, `deletion_protection`.
pub struct GlobalCluster;

#[tonic::async_trait]
impl Kind<AwsContext> for GlobalCluster {
    fn name(&self) -> &'static str {
        "rds_global_cluster"
    }
    fn timeouts(&self) -> Timeouts {
        // terraform-provider-aws's defaults: members join and leave within it.
        Timeouts::minutes(30, 120, 30)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(format!("arn:aws:rds::{}:global-cluster:{}", env.ctx.account_id, r.id)))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "engine"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let id = spec.str("id");
        env.ctx
            .rds()
            .create_global_cluster()
            .global_cluster_identifier(id)
            .engine(spec.str("engine"))
            .engine_version(spec.str("engine_version"))
            .storage_encrypted(true)
            .deletion_protection(spec.input("deletion_protection").as_bool().unwrap_or(false))
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateGlobalCluster"))?;
        let rec = Record::new(self.name(), id, spec.inputs.clone());
        env.wait(&GLOBAL_AVAILABLE, &format!("global cluster {id}"), || global_state(env, id)).await.map_err(|e| e.partial(rec.clone()))?;
        self.read(env, &rec).await?.ok_or_else(|| OpError::new(format!("global cluster {id} disappeared")).partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe_global(env, &rec.id).await?.map(|g| {
            let mut r = rec.clone();
            r.inputs["deletion_protection"] = json!(g.deletion_protection());
            r.inputs["engine_version"] = json!(g.engine_version());
            r.outputs.insert("arn".into(), g.global_cluster_arn().unwrap_or_default().to_string());
            r.outputs.insert("endpoint".into(), g.endpoint().unwrap_or_default().to_string());
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        env.ctx
            .rds()
            .modify_global_cluster()
            .global_cluster_identifier(&old.id)
            .deletion_protection(spec.input("deletion_protection").as_bool().unwrap_or(false))
            .send()
            .await
            .map_err(op("ModifyGlobalCluster"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // Members leave first (they depend on it); one still detaching
        // makes AWS refuse for a little while.
        let r = env
            .retry(
                Duration::from_secs(600),
                |e: &aws_smithy_runtime_api::client::result::SdkError<_, _>| crate::aws::code_in(e, &["InvalidGlobalClusterStateFault"]),
                || env.ctx.rds().delete_global_cluster().global_cluster_identifier(&rec.id).send(),
            )
            .await;
        match r {
            Ok(_) => {}
            Err(e) if crate::aws::code_in(&e, &["GlobalClusterNotFoundFault"]) => return Ok(()),
            Err(e) => return Err(op("DeleteGlobalCluster")(e)),
        }
        env.wait(&GLOBAL_DELETED, &format!("global cluster {}", rec.id), || global_state(env, &rec.id)).await.map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("id"), spec.inputs.clone());
        self.read(env, &probe).await
    }
    async fn delete_blocker(&self, env: &E, rec: &Record) -> Result<Option<OpError>, OpError> {
        Ok(match describe_global(env, &rec.id).await? {
            Some(g) if g.deletion_protection() == Some(true) => Some(
                OpError::new(format!(
                    "the global database {} has deletion protection on: nothing was deleted. Set deletion_protection = false (or profile = \"ephemeral\") and apply first.",
                    rec.id
                ))
                .at(Some("deletion_protection")),
            ),
            _ => None,
        })
    }
}

// ---------------------------------------------------------------- member cluster

/// Inputs: `id`, `engine`, `engine_version`, `global_cluster`, `role`
/// ("primary": created with the master credentials; "secondary": joins
/// without them), `username`, `subnet_group`, `deletion_protection`,
/// `backup_retention_days`, `final_snapshot`. Dependencies: `kms` (this
/// region's key), `sg*` (its security groups), and for the primary the
/// password: `Spec::secret`, or the generated one of its secret dependency.
pub struct MemberCluster;

/// The KMS key of the cluster's storage in its region.
const KEY: Need = Need::one("KMS key", &["kms_key"]);
/// The generated credentials (the primary, when no password is given).
const MASTER_SECRET: Need = Need::optional("credentials secret", &["secretsmanager_secret"]);

fn cluster_missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::code_in(e, &["DBClusterNotFoundFault"])
}

impl MemberCluster {
    async fn describe(env: &E, id: &str) -> Result<Option<aws_sdk_rds::types::DbCluster>, OpError> {
        match env.ctx.rds().describe_db_clusters().db_cluster_identifier(id).send().await {
            Ok(o) => Ok(o.db_clusters().iter().find(|c| c.db_cluster_identifier() == Some(id)).cloned()),
            Err(e) if cluster_missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeDBClusters")(e)),
        }
    }

    fn observe(&self, inputs: &Json, c: &aws_sdk_rds::types::DbCluster) -> Record {
        let mut inputs = inputs.clone();
        inputs["deletion_protection"] = json!(c.deletion_protection());
        inputs["backup_retention_days"] = json!(c.backup_retention_period());
        Record::new(self.name(), c.db_cluster_identifier().unwrap_or_default(), inputs)
            .with("arn", c.db_cluster_arn().unwrap_or_default())
            .with("endpoint", c.endpoint().unwrap_or_default())
            .with("reader_endpoint", c.reader_endpoint().unwrap_or_default())
            .with("port", c.port().unwrap_or(5432).to_string())
    }

    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let rds = env.ctx.rds().clone();
        let i = id.to_string();
        sdk_wait(env, &format!("Aurora cluster {id} to be available"), |max| async move { rds.wait_until_db_cluster_available().db_cluster_identifier(i).wait(max).await }).await?;
        let c = Self::describe(env, id).await?.ok_or_else(|| OpError::new(format!("Aurora cluster {id} disappeared")))?;
        Ok(self.observe(inputs, &c))
    }

    async fn password(env: &E, spec: &Spec, deps: &Records) -> Result<String, OpError> {
        if let Some(p) = &spec.secret {
            return Ok(p.clone());
        }
        let secret = MASTER_SECRET.maybe(deps)?.ok_or_else(|| OpError::new("the primary cluster needs its master password or its credentials secret dependency"))?;
        let o = env.ctx.secrets().get_secret_value().secret_id(&secret.id).send().await.map_err(op("GetSecretValue"))?;
        let v: Json = serde_json::from_str(o.secret_string().unwrap_or_default()).unwrap_or(Json::Null);
        v["password"].as_str().map(str::to_string).ok_or_else(|| OpError::new("the database secret has no password"))
    }

    /// Waits (a waiter on the global resource) until the global cluster
    /// has an available writer: a secondary can only join then.
    async fn wait_for_writer(env: &E, global: &str) -> Result<(), OpError> {
        env.wait_until(&format!("global cluster {global} to have a writer"), || async {
            let Some(g) = describe_global(env, global).await? else {
                return Err(OpError::new(format!("global cluster {global} does not exist")));
            };
            Ok((g.status() == Some("available") && writer_region(&g).is_some()).then_some(()))
        })
        .await
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for MemberCluster {
    fn name(&self) -> &'static str {
        "rds_global_member_cluster"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[KEY, super::need::SECURITY_GROUPS, MASTER_SECRET]
    }
    fn timeouts(&self) -> Timeouts {
        // terraform-provider-aws's aws_rds_cluster defaults (a secondary's
        // first replication takes long).
        Timeouts::minutes(120, 120, 120)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(env.ctx.arn("rds", &format!("cluster:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "engine", "global_cluster", "role", "username", "subnet_group"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let id = spec.str("id");
        let global = spec.str("global_cluster");
        let kms = KEY.the(deps)?.out("arn").to_string();
        let sgs = super::need::SECURITY_GROUPS.ids(deps);
        let mut req = env
            .ctx
            .rds()
            .create_db_cluster()
            .db_cluster_identifier(id)
            .engine(spec.str("engine"))
            .engine_version(spec.str("engine_version"))
            .global_cluster_identifier(global)
            .storage_encrypted(true)
            .kms_key_id(kms)
            .set_vpc_security_group_ids(Some(sgs))
            .db_subnet_group_name(spec.str("subnet_group"))
            .deletion_protection(spec.input("deletion_protection").as_bool().unwrap_or(false))
            .backup_retention_period(spec.input("backup_retention_days").as_i64().unwrap_or(7) as i32)
            .copy_tags_to_snapshot(true)
            .set_tags(Some(rds_tags(env, spec)));
        if spec.str("role") == "primary" {
            req = req.master_username(spec.str("username")).master_user_password(Self::password(env, spec, deps).await?);
        } else {
            // AWS rejects master credentials on a secondary: it takes the
            // primary's. It can only join a global cluster that writes.
            Self::wait_for_writer(env, global).await?;
        }
        req.send().await.map_err(op("CreateDBCluster"))?;
        let rec = Record::new(self.name(), id, spec.inputs.clone());
        self.wait_available(env, id, &spec.inputs).await.map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.filter(|c| c.status() != Some("deleting")).map(|c| self.observe(&rec.inputs, &c)))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        let mut req = env
            .ctx
            .rds()
            .modify_db_cluster()
            .db_cluster_identifier(&old.id)
            .deletion_protection(spec.input("deletion_protection").as_bool().unwrap_or(false))
            .backup_retention_period(spec.input("backup_retention_days").as_i64().unwrap_or(7) as i32)
            .apply_immediately(true);
        // A new master password (its hash, or the version of a write-only
        // one, changed): set in place, never logged.
        let changed = |k: &str| spec.input(k) != old.inputs.get(k).unwrap_or(&serde_json::Value::Null);
        if let Some(p) = spec.secret.as_ref().filter(|_| changed("password_sha256") || changed("password_version")) {
            req = req.master_user_password(p);
        }
        req.send().await.map_err(op("ModifyDBCluster"))?;
        self.wait_available(env, &old.id, &spec.inputs).await
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let id = &rec.id;
        let Some(c) = Self::describe(env, id).await? else { return Ok(()) };
        let arn = c.db_cluster_arn().unwrap_or_default().to_string();
        let global = rec.inputs["global_cluster"].as_str().unwrap_or_default().to_string();
        // Readers leave first: the writer component detaches them before the
        // members' deletes (waiting here would hold an engine slot while a
        // reader's delete waits for one).
        let mut was_writer = false;
        if let Some(g) = describe_global(env, &global).await? {
            if let Some(m) = g.global_cluster_members().iter().find(|m| m.db_cluster_arn() == Some(arn.as_str())) {
                was_writer = m.is_writer() == Some(true);
                if was_writer && g.global_cluster_members().len() > 1 {
                    return Err(OpError::new(format!("{id} writes for {global}, which still has other members: they leave first (run destroy again)")));
                }
                detach(env, &env.ctx, &global, &arn).await?;
            }
        }
        if c.deletion_protection() == Some(true) {
            env.ctx.rds().modify_db_cluster().db_cluster_identifier(id).deletion_protection(false).apply_immediately(true).send().await.map_err(op("ModifyDBCluster"))?;
        }
        // The data: a final snapshot of the cluster that wrote, unless the
        // user opted out (a reader holds a copy of the same data).
        let snapshot = rec.inputs["final_snapshot"].as_bool().unwrap_or(true) && (was_writer || rec.inputs["role"] == "primary");
        let mut req = env.ctx.rds().delete_db_cluster().db_cluster_identifier(id);
        req = if snapshot {
            req.skip_final_snapshot(false).final_db_snapshot_identifier(format!("{id}-final-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")))
        } else {
            req.skip_final_snapshot(true)
        };
        match req.send().await {
            Ok(_) => {}
            Err(e) if cluster_missing(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteDBCluster")(e)),
        }
        if snapshot {
            env.warn(format!("Aurora cluster {id} was deleted; its data is kept in a final snapshot ({id}-final-...)"));
        }
        let rds = env.ctx.rds().clone();
        let i = id.clone();
        sdk_wait(env, &format!("Aurora cluster {id} to be deleted"), |max| async move { rds.wait_until_db_cluster_deleted().db_cluster_identifier(i).wait(max).await }).await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, spec.str("id")).await?.map(|c| self.observe(&spec.inputs, &c)))
    }
}

// ---------------------------------------------------------------- instance

/// Inputs: `id`, `cluster`, `engine`, `instance_class`.
pub struct Instance;

impl Instance {
    async fn describe(env: &E, id: &str) -> Result<Option<aws_sdk_rds::types::DbInstance>, OpError> {
        match env.ctx.rds().describe_db_instances().db_instance_identifier(id).send().await {
            Ok(o) => Ok(o.db_instances().first().cloned()),
            Err(e) if crate::aws::code_in(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => Ok(None),
            Err(e) => Err(op("DescribeDBInstances")(e)),
        }
    }
    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let rds = env.ctx.rds().clone();
        let i = id.to_string();
        sdk_wait(env, &format!("Aurora instance {id} to be available"), |max| async move { rds.wait_until_db_instance_available().db_instance_identifier(i).wait(max).await })
            .await?;
        let d = Self::describe(env, id).await?.ok_or_else(|| OpError::new(format!("Aurora instance {id} disappeared")))?;
        let mut inputs = inputs.clone();
        inputs["instance_class"] = json!(d.db_instance_class());
        Ok(Record::new(self.name(), id, inputs).with("arn", d.db_instance_arn().unwrap_or_default()))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Instance {
    fn name(&self) -> &'static str {
        "rds_cluster_instance"
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(90, 90, 90)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(env.ctx.arn("rds", &format!("db:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "cluster", "engine"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let id = spec.str("id");
        env.ctx
            .rds()
            .create_db_instance()
            .db_instance_identifier(id)
            .db_cluster_identifier(spec.str("cluster"))
            .engine(spec.str("engine"))
            .db_instance_class(spec.str("instance_class"))
            .publicly_accessible(false)
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateDBInstance"))?;
        let rec = Record::new(self.name(), id, spec.inputs.clone());
        self.wait_available(env, id, &spec.inputs).await.map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.filter(|d| d.db_instance_status() != Some("deleting")).map(|d| {
            let mut r = rec.clone();
            r.inputs["instance_class"] = json!(d.db_instance_class());
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        env.ctx
            .rds()
            .modify_db_instance()
            .db_instance_identifier(&old.id)
            .db_instance_class(spec.str("instance_class"))
            .apply_immediately(true)
            .send()
            .await
            .map_err(op("ModifyDBInstance"))?;
        self.wait_available(env, &old.id, &spec.inputs).await
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // A cluster's instance has no snapshot of its own: the cluster's is taken.
        match env.ctx.rds().delete_db_instance().db_instance_identifier(&rec.id).send().await {
            Ok(_) => {}
            Err(e) if crate::aws::code_in(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => return Ok(()),
            Err(e) => return Err(op("DeleteDBInstance")(e)),
        }
        let rds = env.ctx.rds().clone();
        let i = rec.id.clone();
        sdk_wait(env, &format!("Aurora instance {} to be deleted", rec.id), |max| async move { rds.wait_until_db_instance_deleted().db_instance_identifier(i).wait(max).await })
            .await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("id"), spec.inputs.clone());
        self.read(env, &probe).await.map(|r| {
            r.map(|mut r| {
                r.inputs = spec.inputs.clone();
                r
            })
        })
    }
}

// ---------------------------------------------------------------- writer

/// Which region of a global database writes. Inputs: `global_cluster`,
/// `writer_region`, `members` (region → cluster identifier),
/// `allow_data_loss`. Reading it reads `IsWriter` back, so a switchover or
/// failover made outside Terraform shows as a change of `writer_region`;
/// changing it switches over (planned, no data loss) or, with
/// `allow_data_loss`, fails over (for a writer region that is down).
pub struct Writer;

impl Writer {
    async fn ensure(env: &E, spec: &Spec) -> Result<String, OpError> {
        let global = spec.str("global_cluster");
        let want = spec.str("writer_region").to_string();
        let g = describe_global(env, global).await?.ok_or_else(|| OpError::new(format!("global cluster {global} does not exist")))?;
        if writer_region(&g).as_deref() == Some(want.as_str()) {
            return Ok(want);
        }
        let target_id = spec.input("members")[&want].as_str().ok_or_else(|| OpError::new(format!("no member cluster in {want}")))?;
        let target = format!("arn:aws:rds:{want}:{}:cluster:{target_id}", env.ctx.account_id);
        if spec.input("allow_data_loss").as_bool() == Some(true) {
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
        env.wait_until(&format!("{target_id} to become the writer of {global}"), || async {
            let g = describe_global(env, global).await?;
            Ok(g.filter(|g| g.status() == Some("available") && writer_region(g).as_deref() == Some(want.as_str())).map(|_| ()))
        })
        .await?;
        let rds = env.ctx.clone().region_context(&want).rds().clone();
        let t = target_id.to_string();
        sdk_wait(env, &format!("Aurora cluster {target_id} to be available as the writer"), |max| async move {
            rds.wait_until_db_cluster_available().db_cluster_identifier(t).wait(max).await
        })
        .await?;
        Ok(want)
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Writer {
    fn name(&self) -> &'static str {
        "rds_global_writer"
    }
    fn timeouts(&self) -> Timeouts {
        // A switchover or failover of the global database.
        Timeouts::minutes(30, 30, 30)
    }
    fn describe_update(&self, spec: &Spec, rec: &Record, fields: &[String]) -> Option<String> {
        if !fields.iter().any(|f| f == "writer_region") {
            return None;
        }
        let (from, to) = (rec.inputs["writer_region"].as_str().unwrap_or("?"), spec.str("writer_region"));
        Some(if spec.input("allow_data_loss").as_bool() == Some(true) {
            format!("failover of the global database from {from} to {to} (allow_data_loss: writes not yet replicated to {to} are lost)")
        } else {
            format!("switchover of the global database from {from} to {to} (planned: replication catches up first, no data loss)")
        })
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let w = Self::ensure(env, spec).await?;
        let mut inputs = spec.inputs.clone();
        inputs["writer_region"] = json!(w);
        Ok(Record::new(self.name(), spec.str("global_cluster"), inputs))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let Some(g) = describe_global(env, &rec.id).await? else { return Ok(None) };
        let mut r = rec.clone();
        if let Some(w) = writer_region(&g) {
            r.inputs["writer_region"] = json!(w);
        }
        Ok(Some(r))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        let w = Self::ensure(env, spec).await?;
        let mut inputs = spec.inputs.clone();
        inputs["writer_region"] = json!(w);
        Ok(Record { inputs, ..old.clone() })
    }
    /// The writer of an existing global cluster (import, adoption), owned
    /// by the global cluster's owner.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("global_cluster"), spec.inputs.clone());
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
        let Some(g) = describe_global(env, &rec.id).await? else { return Ok(()) };
        let readers: Vec<String> = g.global_cluster_members().iter().filter(|m| m.is_writer() != Some(true)).filter_map(|m| m.db_cluster_arn().map(str::to_string)).collect();
        for arn in readers {
            detach(env, &env.ctx.clone().region_context(arn_region(&arn)), &rec.id, &arn).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked::{self, fault};
    use super::*;
    use aws_sdk_rds::operation::delete_global_cluster::{DeleteGlobalClusterError, DeleteGlobalClusterOutput};
    use aws_sdk_rds::operation::describe_global_clusters::{DescribeGlobalClustersError, DescribeGlobalClustersOutput};
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }

    fn global() -> Record {
        Record::new("rds_global_cluster", "luneo-prod-global", json!({"id": "luneo-prod-global", "deletion_protection": false}))
    }

    #[tokio::test]
    async fn the_global_cluster_is_deleted_once_its_members_have_left() {
        // A member still detaching: AWS refuses the delete for a little
        // while (provider #26236); the delete is retried, then waited for.
        let refused = mock!(Client::delete_global_cluster).then_error(|| DeleteGlobalClusterError::generic(fault("InvalidGlobalClusterStateFault")));
        let deleted = mock!(Client::delete_global_cluster)
            .match_requests(|r| r.global_cluster_identifier() == Some("luneo-prod-global"))
            .then_output(|| DeleteGlobalClusterOutput::builder().build());
        let gone = mock!(Client::describe_global_clusters).then_error(|| DescribeGlobalClustersError::generic(fault("GlobalClusterNotFoundFault")));
        GlobalCluster.delete(&env_over(&[&refused, &deleted, &gone]), &global()).await.unwrap();
        assert_eq!((refused.num_calls(), deleted.num_calls(), gone.num_calls()), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_global_cluster_already_gone_is_deleted() {
        let gone = mock!(Client::delete_global_cluster).then_error(|| DeleteGlobalClusterError::generic(fault("GlobalClusterNotFoundFault")));
        GlobalCluster.delete(&env_over(&[&gone]), &global()).await.unwrap();
        assert_eq!(gone.num_calls(), 1);
    }

    #[tokio::test]
    async fn deletion_protection_blocks_the_destroy_on_its_attribute() {
        let protected = mock!(Client::describe_global_clusters).then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .global_clusters(Global::builder().global_cluster_identifier("luneo-prod-global").status("available").deletion_protection(true).build())
                .build()
        });
        let e = GlobalCluster.delete_blocker(&env_over(&[&protected]), &global()).await.unwrap().expect("refused");
        assert!(e.message.contains("luneo-prod-global has deletion protection on: nothing was deleted"), "{}", e.message);
        assert_eq!(e.attribute.as_deref(), Some("deletion_protection"));
    }
}
