//! Databases and caches: RDS subnet group and instance, ElastiCache subnet
//! group and Redis replication group.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Timeouts, Waiter, GONE};
use crate::provider::AwsContext;
use serde_json::{json, Value as Json};

/// A subnet group's subnets, in the slot `subnets`: one added or left out
/// is a change of that input.
const GROUP_SUBNETS: Need = super::need::SUBNETS.in_slot("subnets");

fn subnet_ids(spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
    GROUP_SUBNETS.ids_in(spec, deps)
}

fn sg_ids(deps: &Records) -> Vec<String> {
    super::need::SECURITY_GROUPS.ids(deps)
}

/// The subnet ids a subnet group was given, as recorded in its outputs.
fn with_subnets(r: Record, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
    let mut ids = subnet_ids(spec, deps)?;
    ids.sort();
    Ok(r.with("subnet_ids", ids.join(",")))
}

/// A subnet group read back: when its subnets are no longer the ones it
/// was given (changed out of band), `subnets` shows the observed ids, so
/// the plan updates the group back to the stack's subnets.
fn observe_subnets(rec: &Record, mut observed: Vec<String>) -> Record {
    let mut r = rec.clone();
    observed.sort();
    if !rec.out("subnet_ids").is_empty() && observed.join(",") != rec.out("subnet_ids") {
        r.inputs["subnets"] = json!(observed);
    }
    r
}

fn final_snapshot_id(rec: &Record) -> String {
    format!("{}-final-{}", rec.id, chrono::Utc::now().format("%Y%m%d%H%M%S"))
}

// ---------------------------------------------------------------- RDS

fn rds_tags(env: &E, spec: &Spec) -> Vec<aws_sdk_rds::types::Tag> {
    spec_tags(env, spec).into_iter().map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Inputs: `name`, `subnets` (keys, so that adding one updates it).
pub struct DbSubnetGroup;

#[tonic::async_trait]
impl Kind<AwsContext> for DbSubnetGroup {
    fn name(&self) -> &'static str {
        "rds_subnet_group"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[GROUP_SUBNETS]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(env.ctx.arn("rds", &format!("subgrp:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        env.ctx
            .rds()
            .create_db_subnet_group()
            .db_subnet_group_name(spec.str("name"))
            .db_subnet_group_description(format!("{} database subnets", env.stack_id))
            .set_subnet_ids(Some(subnet_ids(spec, deps)?))
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateDBSubnetGroup"))?;
        with_subnets(Record::new(self.name(), spec.str("name"), spec.inputs.clone()), spec, deps)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.rds().describe_db_subnet_groups().db_subnet_group_name(&rec.id).send().await {
            Ok(o) => Ok(o.db_subnet_groups().first().map(|g| observe_subnets(rec, g.subnets().iter().filter_map(|x| x.subnet_identifier().map(str::to_string)).collect()))),
            Err(e) if crate::aws::code_in(&e, &["DBSubnetGroupNotFoundFault"]) => Ok(None),
            Err(e) => Err(op("DescribeDBSubnetGroups")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        env.ctx.rds().modify_db_subnet_group().db_subnet_group_name(&old.id).set_subnet_ids(Some(subnet_ids(spec, deps)?)).send().await.map_err(op("ModifyDBSubnetGroup"))?;
        with_subnets(Record { inputs: spec.inputs.clone(), ..old.clone() }, spec, deps)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let r = env
            .retry(
                std::time::Duration::from_secs(300),
                |e| crate::aws::code_in(e, &["InvalidDBSubnetGroupStateFault"]),
                || env.ctx.rds().delete_db_subnet_group().db_subnet_group_name(&rec.id).send(),
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e, &["DBSubnetGroupNotFoundFault"]) => Ok(()),
            Err(e) => Err(op("DeleteDBSubnetGroup")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("name"), spec.inputs.clone());
        self.read(env, &probe).await
    }
}

/// A PostgreSQL instance in its `rds_subnet_group` dependency with the `sg*`
/// dependency, its master password read from the `secret*` dependency.
/// Inputs: `identifier`, `engine`, `engine_version`, `instance_class`,
/// `allocated_storage`, `max_allocated_storage`, `db_name`, `username`,
/// `backup_retention_days`, `multi_az`, `deletion_protection`,
/// `final_snapshot`.
pub struct DbInstance;

const DB_SUBNET_GROUP: Need = Need::one("DB subnet group", &["rds_subnet_group"]);

fn db_not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::code_in(e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"])
}

/// The states a database passes through while it is made or changed
/// (terraform-provider-aws's list); any other (`failed`,
/// `incompatible-network`, `storage-full`...) ends the wait with an error.
const DB_BUSY: &[&str] = &[
    "backing-up",
    "configuring-enhanced-monitoring",
    "configuring-iam-database-auth",
    "configuring-log-exports",
    "creating",
    "maintenance",
    "modifying",
    "moving-to-vpc",
    "rebooting",
    "renaming",
    "resetting-master-credentials",
    "starting",
    "storage-config-upgrade",
    "storage-initializing",
    "storage-optimization",
    "upgrading",
    GONE,
];
const DB_AVAILABLE: Waiter = Waiter::new("to be available", DB_BUSY, &["available"]).poll(std::time::Duration::from_secs(15));
const DB_DELETED: Waiter = Waiter::new(
    "to be deleted",
    &["available", "backing-up", "creating", "deleting", "modifying", "rebooting", "starting", "stopped", "stopping", "storage-optimization", "upgrading"],
    &[GONE],
)
.poll(std::time::Duration::from_secs(15));

impl DbInstance {
    async fn state(env: &E, id: &str) -> Result<Option<(String, aws_sdk_rds::types::DbInstance)>, OpError> {
        Ok(Self::describe(env, id).await?.map(|d| (d.db_instance_status().unwrap_or_default().to_string(), d)))
    }

    async fn describe(env: &E, id: &str) -> Result<Option<aws_sdk_rds::types::DbInstance>, OpError> {
        match env.ctx.rds().describe_db_instances().db_instance_identifier(id).send().await {
            Ok(o) => Ok(o.db_instances().first().cloned()),
            Err(e) if db_not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeDBInstances")(e)),
        }
    }

    fn observe(&self, inputs: &Json, d: &aws_sdk_rds::types::DbInstance) -> Record {
        let mut inputs = inputs.clone();
        inputs["engine_version"] = json!(d.engine_version());
        inputs["instance_class"] = json!(d.db_instance_class());
        inputs["allocated_storage"] = json!(d.allocated_storage());
        inputs["backup_retention_days"] = json!(d.backup_retention_period());
        inputs["multi_az"] = json!(d.multi_az());
        inputs["deletion_protection"] = json!(d.deletion_protection());
        inputs["publicly_accessible"] = json!(d.publicly_accessible());
        let ep = d.endpoint();
        Record::new(self.name(), d.db_instance_identifier().unwrap_or_default(), inputs)
            .with("arn", d.db_instance_arn().unwrap_or_default())
            .with("address", ep.and_then(|e| e.address()).unwrap_or_default())
            .with("port", ep.and_then(|e| e.port()).unwrap_or(5432).to_string())
    }

    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let d = env.wait(&DB_AVAILABLE, &format!("database {id}"), || Self::state(env, id)).await?;
        d.map(|d| self.observe(inputs, &d)).ok_or_else(|| OpError::new(format!("database {id} vanished")))
    }

    async fn master_password(env: &E, deps: &Records) -> Result<String, OpError> {
        let secret = super::need::SECRET.the(deps)?.id.clone();
        let o = env.ctx.secrets().get_secret_value().secret_id(&secret).send().await.map_err(op("GetSecretValue"))?;
        let v: Json = serde_json::from_str(o.secret_string().unwrap_or_default()).unwrap_or(Json::Null);
        v["password"].as_str().map(str::to_string).ok_or_else(|| OpError::new("the database secret has no password"))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for DbInstance {
    fn name(&self) -> &'static str {
        "rds_instance"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::SECRET, DB_SUBNET_GROUP, super::need::SECURITY_GROUPS]
    }
    fn timeouts(&self) -> Timeouts {
        // terraform-provider-aws's defaults: a Multi-AZ change or a final
        // snapshot takes long.
        Timeouts::minutes(40, 80, 60)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(env.ctx.arn("rds", &format!("db:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["identifier", "engine", "db_name", "username", "subnet_group"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let password = Self::master_password(env, deps).await?;
        let id = spec.str("identifier");
        env.ctx
            .rds()
            .create_db_instance()
            .db_instance_identifier(id)
            .engine(spec.str("engine"))
            .engine_version(spec.str("engine_version"))
            .db_instance_class(spec.str("instance_class"))
            .allocated_storage(spec.input("allocated_storage").as_i64().unwrap_or(20) as i32)
            .max_allocated_storage(spec.input("max_allocated_storage").as_i64().unwrap_or(100) as i32)
            .storage_type("gp3")
            .storage_encrypted(true)
            .db_name(spec.str("db_name"))
            .master_username(spec.str("username"))
            .master_user_password(password)
            .db_subnet_group_name(&DB_SUBNET_GROUP.the(deps)?.id)
            .set_vpc_security_group_ids(Some(sg_ids(deps)))
            .publicly_accessible(false)
            .backup_retention_period(spec.input("backup_retention_days").as_i64().unwrap_or(0) as i32)
            .multi_az(spec.input("multi_az").as_bool().unwrap_or(false))
            .deletion_protection(spec.input("deletion_protection").as_bool().unwrap_or(false))
            .copy_tags_to_snapshot(true)
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateDBInstance"))?;
        let partial = Record::new(self.name(), id, spec.inputs.clone());
        let mut rec = self.wait_available(env, id, &spec.inputs).await.map_err(|e| e.partial(partial))?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.filter(|d| d.db_instance_status() != Some("deleting")).map(|d| self.observe(&rec.inputs, &d)))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let o = &old.inputs;
        let i = &spec.inputs;
        let mut req = env.ctx.rds().modify_db_instance().db_instance_identifier(&old.id).apply_immediately(true);
        if i["engine_version"] != o["engine_version"] {
            req = req.engine_version(spec.str("engine_version")).allow_major_version_upgrade(true);
        }
        if i["instance_class"] != o["instance_class"] {
            req = req.db_instance_class(spec.str("instance_class"));
        }
        if i["allocated_storage"] != o["allocated_storage"] {
            req = req.allocated_storage(i["allocated_storage"].as_i64().unwrap_or(20) as i32);
        }
        req = req
            .max_allocated_storage(i["max_allocated_storage"].as_i64().unwrap_or(100) as i32)
            .backup_retention_period(i["backup_retention_days"].as_i64().unwrap_or(0) as i32)
            .multi_az(i["multi_az"].as_bool().unwrap_or(false))
            .deletion_protection(i["deletion_protection"].as_bool().unwrap_or(false))
            .publicly_accessible(false)
            .set_vpc_security_group_ids(Some(sg_ids(deps)));
        req.send().await.map_err(op("ModifyDBInstance"))?;
        let mut rec = self.wait_available(env, &old.id, &spec.inputs).await?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let mut req = env.ctx.rds().delete_db_instance().db_instance_identifier(&rec.id);
        req = if rec.inputs["final_snapshot"].as_bool() == Some(true) {
            req.skip_final_snapshot(false).final_db_snapshot_identifier(final_snapshot_id(rec)).delete_automated_backups(false)
        } else {
            req.skip_final_snapshot(true).delete_automated_backups(true)
        };
        match req.send().await {
            Ok(_) => {}
            Err(e) if db_not_found(&e) => return Ok(()),
            Err(e) if crate::aws::code_in(&e, &["InvalidDBInstanceState"]) => {}
            Err(e) => return Err(op("DeleteDBInstance")(e)),
        }
        env.wait(&DB_DELETED, &format!("database {}", rec.id), || Self::state(env, &rec.id)).await.map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, spec.str("identifier")).await?.filter(|d| d.db_instance_status() != Some("deleting")).map(|d| {
            let mut r = self.observe(&spec.inputs, &d);
            r.inputs["final_snapshot"] = spec.inputs["final_snapshot"].clone();
            r
        }))
    }
}

// ---------------------------------------------------------------- ElastiCache

fn cache_tags(env: &E, spec: &Spec) -> Vec<aws_sdk_elasticache::types::Tag> {
    spec_tags(env, spec).into_iter().map(|(k, v)| aws_sdk_elasticache::types::Tag::builder().key(k).value(v).build()).collect()
}

/// Inputs: `name`, `subnets` (keys).
pub struct CacheSubnetGroup;

#[tonic::async_trait]
impl Kind<AwsContext> for CacheSubnetGroup {
    fn name(&self) -> &'static str {
        "elasticache_subnet_group"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[GROUP_SUBNETS]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::ElastiCache(env.ctx.arn("elasticache", &format!("subnetgroup:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        env.ctx
            .elasticache()
            .create_cache_subnet_group()
            .cache_subnet_group_name(spec.str("name"))
            .cache_subnet_group_description(format!("{} cache subnets", env.stack_id))
            .set_subnet_ids(Some(subnet_ids(spec, deps)?))
            .set_tags(Some(cache_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateCacheSubnetGroup"))?;
        with_subnets(Record::new(self.name(), spec.str("name"), spec.inputs.clone()), spec, deps)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.elasticache().describe_cache_subnet_groups().cache_subnet_group_name(&rec.id).send().await {
            Ok(o) => Ok(o.cache_subnet_groups().first().map(|g| observe_subnets(rec, g.subnets().iter().filter_map(|x| x.subnet_identifier().map(str::to_string)).collect()))),
            Err(e) if crate::aws::code_in(&e, &["CacheSubnetGroupNotFoundFault"]) => Ok(None),
            Err(e) => Err(op("DescribeCacheSubnetGroups")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        env.ctx
            .elasticache()
            .modify_cache_subnet_group()
            .cache_subnet_group_name(&old.id)
            .set_subnet_ids(Some(subnet_ids(spec, deps)?))
            .send()
            .await
            .map_err(op("ModifyCacheSubnetGroup"))?;
        with_subnets(Record { inputs: spec.inputs.clone(), ..old.clone() }, spec, deps)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let r = env
            .retry(
                std::time::Duration::from_secs(300),
                |e| crate::aws::code_in(e, &["CacheSubnetGroupInUse"]),
                || env.ctx.elasticache().delete_cache_subnet_group().cache_subnet_group_name(&rec.id).send(),
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e, &["CacheSubnetGroupNotFoundFault"]) => Ok(()),
            Err(e) => Err(op("DeleteCacheSubnetGroup")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("name"), spec.inputs.clone());
        self.read(env, &probe).await
    }
}

/// A Redis replication group in its `elasticache_subnet_group` dependency with the
/// `sg*` dependency. Inputs: `id`, `engine_version`, `node_type`,
/// `nodes`, `failover`, `snapshot_retention_days`, `final_snapshot`.
pub struct Redis;

const CACHE_SUBNET_GROUP: Need = Need::one("cache subnet group", &["elasticache_subnet_group"]);

fn rg_not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::code_in(e, &["ReplicationGroupNotFoundFault"])
}

const REDIS_AVAILABLE: Waiter = Waiter::new("to be available", &["creating", "modifying", "snapshotting", GONE], &["available"]).poll(std::time::Duration::from_secs(15));
const REDIS_DELETED: Waiter = Waiter::new("to be deleted", &["available", "creating", "deleting", "modifying", "snapshotting"], &[GONE]).poll(std::time::Duration::from_secs(15));

impl Redis {
    async fn state(env: &E, id: &str) -> Result<Option<(String, aws_sdk_elasticache::types::ReplicationGroup)>, OpError> {
        Ok(Self::describe(env, id).await?.map(|g| (g.status().unwrap_or_default().to_string(), g)))
    }

    async fn describe(env: &E, id: &str) -> Result<Option<aws_sdk_elasticache::types::ReplicationGroup>, OpError> {
        match env.ctx.elasticache().describe_replication_groups().replication_group_id(id).send().await {
            Ok(o) => Ok(o.replication_groups().first().cloned()),
            Err(e) if rg_not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeReplicationGroups")(e)),
        }
    }

    fn observe(&self, inputs: &Json, g: &aws_sdk_elasticache::types::ReplicationGroup) -> Record {
        use aws_sdk_elasticache::types::AutomaticFailoverStatus;
        let mut inputs = inputs.clone();
        inputs["failover"] = json!(matches!(g.automatic_failover(), Some(AutomaticFailoverStatus::Enabled) | Some(AutomaticFailoverStatus::Enabling)));
        inputs["at_rest_encryption"] = json!(g.at_rest_encryption_enabled().unwrap_or(false));
        if let Some(n) = g.snapshot_retention_limit() {
            inputs["snapshot_retention_days"] = json!(n);
        }
        let ep = g.node_groups().first().and_then(|n| n.primary_endpoint()).or(g.configuration_endpoint());
        Record::new(self.name(), g.replication_group_id().unwrap_or_default(), inputs)
            .with("arn", g.arn().unwrap_or_default())
            .with("address", ep.and_then(|e| e.address()).unwrap_or_default())
            .with("port", ep.and_then(|e| e.port()).unwrap_or(6379).to_string())
    }

    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let g = env.wait(&REDIS_AVAILABLE, &format!("Redis replication group {id}"), || Self::state(env, id)).await?;
        g.map(|g| self.observe(inputs, &g)).ok_or_else(|| OpError::new(format!("Redis replication group {id} vanished")))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Redis {
    fn name(&self) -> &'static str {
        "elasticache_redis"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[CACHE_SUBNET_GROUP, super::need::SECURITY_GROUPS]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(60, 40, 45)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::ElastiCache(env.ctx.arn("elasticache", &format!("replicationgroup:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "at_rest_encryption", "subnet_group"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let id = spec.str("id");
        let failover = spec.input("failover").as_bool().unwrap_or(false);
        env.ctx
            .elasticache()
            .create_replication_group()
            .replication_group_id(id)
            .replication_group_description(format!("{} Redis", env.stack_id))
            .engine("redis")
            .engine_version(spec.str("engine_version"))
            .cache_node_type(spec.str("node_type"))
            .num_cache_clusters(spec.input("nodes").as_i64().unwrap_or(1) as i32)
            .automatic_failover_enabled(failover)
            .multi_az_enabled(failover)
            .at_rest_encryption_enabled(spec.input("at_rest_encryption").as_bool().unwrap_or(true))
            .cache_subnet_group_name(&CACHE_SUBNET_GROUP.the(deps)?.id)
            .set_security_group_ids(Some(sg_ids(deps)))
            .snapshot_retention_limit(spec.input("snapshot_retention_days").as_i64().unwrap_or(0) as i32)
            .port(6379)
            .set_tags(Some(cache_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateReplicationGroup"))?;
        let partial = Record::new(self.name(), id, spec.inputs.clone());
        let mut rec = self.wait_available(env, id, &spec.inputs).await.map_err(|e| e.partial(partial))?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.filter(|g| g.status() != Some("deleting")).map(|g| self.observe(&rec.inputs, &g)))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let i = &spec.inputs;
        let failover = i["failover"].as_bool().unwrap_or(false);
        let ec = &env.ctx.elasticache();
        let want_nodes = i["nodes"].as_i64().unwrap_or(1) as i32;
        if i["nodes"] != old.inputs["nodes"] && want_nodes > old.inputs["nodes"].as_i64().unwrap_or(1) as i32 {
            ec.increase_replica_count().replication_group_id(&old.id).new_replica_count(want_nodes - 1).apply_immediately(true).send().await.map_err(op("IncreaseReplicaCount"))?;
            self.wait_available(env, &old.id, i).await?;
        }
        let mut req = ec
            .modify_replication_group()
            .replication_group_id(&old.id)
            .apply_immediately(true)
            .automatic_failover_enabled(failover)
            .multi_az_enabled(failover)
            .snapshot_retention_limit(i["snapshot_retention_days"].as_i64().unwrap_or(0) as i32)
            .set_security_group_ids(Some(sg_ids(deps)));
        if i["node_type"] != old.inputs["node_type"] {
            req = req.cache_node_type(spec.str("node_type"));
        }
        if i["engine_version"] != old.inputs["engine_version"] {
            req = req.engine_version(spec.str("engine_version"));
        }
        req.send().await.map_err(op("ModifyReplicationGroup"))?;
        self.wait_available(env, &old.id, i).await?;
        if i["nodes"] != old.inputs["nodes"] && want_nodes < old.inputs["nodes"].as_i64().unwrap_or(1) as i32 {
            ec.decrease_replica_count().replication_group_id(&old.id).new_replica_count(want_nodes - 1).apply_immediately(true).send().await.map_err(op("DecreaseReplicaCount"))?;
        }
        let mut rec = self.wait_available(env, &old.id, i).await?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let mut req = env.ctx.elasticache().delete_replication_group().replication_group_id(&rec.id);
        if rec.inputs["final_snapshot"].as_bool() == Some(true) {
            req = req.final_snapshot_identifier(final_snapshot_id(rec));
        }
        match req.send().await {
            Ok(_) => {}
            Err(e) if rg_not_found(&e) => return Ok(()),
            Err(e) if crate::aws::code_in(&e, &["InvalidReplicationGroupState"]) => {}
            Err(e) => return Err(op("DeleteReplicationGroup")(e)),
        }
        env.wait(&REDIS_DELETED, &format!("Redis replication group {}", rec.id), || Self::state(env, &rec.id)).await.map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, spec.str("id")).await?.filter(|g| g.status() != Some("deleting")).map(|g| {
            let mut r = self.observe(&spec.inputs, &g);
            r.inputs["final_snapshot"] = spec.inputs["final_snapshot"].clone();
            r
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked;
    use super::*;
    use aws_sdk_rds::operation::delete_db_instance::DeleteDbInstanceOutput;
    use aws_sdk_rds::operation::describe_db_instances::{DescribeDBInstancesError, DescribeDbInstancesOutput};
    use aws_sdk_rds::types::DbInstance as RdsInstance;
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }

    fn database(final_snapshot: bool) -> Record {
        Record::new("rds_instance", "kavak-agent-prod-db", json!({"identifier": "kavak-agent-prod-db", "final_snapshot": final_snapshot}))
    }

    fn gone() -> Rule {
        mock!(Client::describe_db_instances)
            .then_error(|| DescribeDBInstancesError::generic(ErrorMetadata::builder().code("DBInstanceNotFound").message("DBInstance kavak-agent-prod-db not found.").build()))
    }

    #[tokio::test]
    async fn production_keeps_a_final_snapshot_and_its_backups() {
        let delete = mock!(Client::delete_db_instance)
            .match_requests(|r| {
                r.skip_final_snapshot() == Some(false)
                    && r.final_db_snapshot_identifier().is_some_and(|s| s.starts_with("kavak-agent-prod-db-final-"))
                    && r.delete_automated_backups() == Some(false)
            })
            .then_output(|| DeleteDbInstanceOutput::builder().build());
        let gone = gone();
        DbInstance.delete(&env_over(&[&delete, &gone]), &database(true)).await.unwrap();
        assert_eq!((delete.num_calls(), gone.num_calls()), (1, 1), "deleted with a snapshot, then waited for until gone");
    }

    #[tokio::test]
    async fn ephemeral_deletes_without_a_snapshot() {
        let delete = mock!(Client::delete_db_instance)
            .match_requests(|r| r.skip_final_snapshot() == Some(true) && r.final_db_snapshot_identifier().is_none())
            .then_output(|| DeleteDbInstanceOutput::builder().build());
        let gone = gone();
        DbInstance.delete(&env_over(&[&delete, &gone]), &database(false)).await.unwrap();
        assert_eq!(delete.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_database_being_deleted_is_not_taken_for_the_stacks() {
        // A namesake on its way out (an earlier stack's) is not adopted as
        // this stack's database.
        let deleting = mock!(Client::describe_db_instances).then_output(|| {
            DescribeDbInstancesOutput::builder().db_instances(RdsInstance::builder().db_instance_identifier("kavak-agent-prod-db").db_instance_status("deleting").build()).build()
        });
        let spec = Spec::new("db", "rds_instance", database(true).inputs);
        assert!(DbInstance.find(&env_over(&[&deleting]), &spec).await.unwrap().is_none());
        assert_eq!(deleting.num_calls(), 1);
    }
}
