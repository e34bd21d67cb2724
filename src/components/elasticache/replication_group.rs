//! Redis replication group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A Redis replication group in its `elasticache_subnet_group` dependency with the
/// `sg*` dependency.
pub struct Redis;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RedisInputs {
    /// At most 40 characters.
    pub id: String,
    pub engine_version: String,
    pub node_type: String,
    /// Cache clusters: a primary and `nodes - 1` replicas.
    pub nodes: i64,
    /// Automatic failover and Multi-AZ (needs a replica).
    pub failover: bool,
    pub at_rest_encryption: bool,
    /// The subnet group's name: a change of group replaces the cache.
    pub subnet_group: String,
    pub snapshot_retention_days: i64,
    /// Destroy keeps a final snapshot.
    pub final_snapshot: bool,
}

impl Inputs for RedisInputs {
    const KIND: &'static str = "elasticache_redis";
}

const CACHE_SUBNET_GROUP: Need = Need::one(
    "cache subnet group",
    &[<crate::components::elasticache::CacheSubnetGroupInputs as crate::engine::Inputs>::KIND],
);

fn rg_not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::code_in(e, &["ReplicationGroupNotFoundFault"])
}

/// A replication group whose cache clusters are still being created or
/// deleted, or which is taking a snapshot, refuses its delete until they
/// are done.
const DELETE: Call = Call::retrying(
    "elasticache:DeleteReplicationGroup",
    std::time::Duration::from_secs(600),
    &[NotYet::code("InvalidReplicationGroupState", "Cache cluster kavak-agent-prod-002 is not in a valid state to be deleted.")],
)
.why("hashicorp/aws elasticache/replication_group.go resourceReplicationGroupDelete: InvalidReplicationGroupState retried for 10 minutes ('should give any creating/deleting cache clusters or snapshots time to complete')");
const CALLS: &[Call] = &[
    Call::settled("elasticache:CreateReplicationGroup"),
    Call::read("elasticache:DescribeReplicationGroups"),
    Call::settled("elasticache:IncreaseReplicaCount"),
    Call::settled("elasticache:ModifyReplicationGroup"),
    Call::settled("elasticache:DecreaseReplicaCount"),
    DELETE,
    // Adoption only: a member's subnet group and version, and whether an
    // id that is no replication group is a cache cluster.
    Call::read("elasticache:DescribeCacheClusters"),
];

const REDIS_AVAILABLE: Waiter = Waiter::new(
    "to be available",
    &["creating", "modifying", "snapshotting", GONE],
    &["available"],
)
.poll(std::time::Duration::from_secs(15));
const REDIS_DELETED: Waiter = Waiter::new(
    "to be deleted",
    &[
        "available",
        "creating",
        "deleting",
        "modifying",
        "snapshotting",
    ],
    &[GONE],
)
.poll(std::time::Duration::from_secs(15));

impl Redis {
    async fn state(
        env: &E,
        id: &str,
    ) -> Result<Option<(String, aws_sdk_elasticache::types::ReplicationGroup)>, OpError> {
        Ok(Self::describe(env, id)
            .await?
            .map(|g| (g.status().unwrap_or_default().to_string(), g)))
    }

    async fn describe(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_elasticache::types::ReplicationGroup>, OpError> {
        match env
            .ctx
            .elasticache()
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.replication_groups().first().cloned()),
            Err(e) if rg_not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeReplicationGroups")(e)),
        }
    }

    fn observed(&self, inputs: &Json, g: &aws_sdk_elasticache::types::ReplicationGroup) -> Record {
        use aws_sdk_elasticache::types::AutomaticFailoverStatus;
        let mut inputs = inputs.clone();
        inputs["failover"] = json!(matches!(
            g.automatic_failover(),
            Some(AutomaticFailoverStatus::Enabled) | Some(AutomaticFailoverStatus::Enabling)
        ));
        inputs["at_rest_encryption"] = json!(g.at_rest_encryption_enabled().unwrap_or(false));
        if let Some(n) = g.snapshot_retention_limit() {
            inputs["snapshot_retention_days"] = json!(n);
        }
        let ep = g
            .node_groups()
            .first()
            .and_then(|n| n.primary_endpoint())
            .or(g.configuration_endpoint());
        Record::new(
            self.name(),
            g.replication_group_id().unwrap_or_default(),
            inputs,
        )
        .with("arn", g.arn().unwrap_or_default())
        .with("address", ep.and_then(|e| e.address()).unwrap_or_default())
        .with(
            "port",
            ep.and_then(|e| e.port()).unwrap_or(6379).to_string(),
        )
    }

    /// The cache cluster `id` (None: it does not exist).
    async fn cache_cluster(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_elasticache::types::CacheCluster>, OpError> {
        match env
            .ctx
            .elasticache()
            .describe_cache_clusters()
            .cache_cluster_id(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.cache_clusters().first().cloned()),
            Err(e) if crate::aws::code_in(&e, &["CacheClusterNotFound"]) => Ok(None),
            Err(e) => Err(op("DescribeCacheClusters")(e)),
        }
    }

    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let g = env
            .wait(
                &REDIS_AVAILABLE,
                &format!("Redis replication group {id}"),
                || Self::state(env, id),
            )
            .await?;
        g.map(|g| self.observed(inputs, &g))
            .ok_or_else(|| OpError::new(format!("Redis replication group {id} vanished")))
    }
}

/// A running version as the configuration spells it when it is that one
/// (`7.0` runs as `7.0.7`, `6.x` as `6.2.6`), else as AWS shows it.
fn same_version(configured: &str, running: &str) -> String {
    let family = configured.strip_suffix('x').unwrap_or(configured);
    let within = running.starts_with(family)
        && (family.ends_with('.') || running[family.len()..].starts_with('.'));
    if running == configured || within {
        configured.to_string()
    } else {
        running.to_string()
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Redis {
    crate::engine::typed_kind!(RedisInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["address", "arn", "port"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[CACHE_SUBNET_GROUP, crate::components::need::SECURITY_GROUPS]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(60, 40, 45)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| {
            TagRef::ElastiCache(
                env.ctx
                    .arn("elasticache", &format!("replicationgroup:{}", r.id)),
            )
        })
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "at_rest_encryption", "subnet_group"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["id"]
    }
    /// `id`: the replication group's id or its ARN. A cache cluster of
    /// that id is another type of object (hashicorp/aws's
    /// `aws_elasticache_cluster`): it cannot become a replication group in
    /// place. Its subnet group and version are its member clusters'.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let id = arn_tail(id, ":replicationgroup:");
        let g = match Self::describe(env, id).await? {
            Some(g) if g.status() == Some("deleting") => return Ok(None),
            Some(g) => g,
            None => {
                return match Self::cache_cluster(env, id).await? {
                    Some(c) => Err(OpError::new(match c.replication_group_id() {
                        Some(group) => format!(
                            "{id} is a cache cluster of the replication group {group}, not a replication group; adopt {group}"
                        ),
                        None => format!(
                            "{id} is a cache cluster, not a replication group; the stack's Redis is a replication group, which a cache cluster cannot become in place (create one from a snapshot of it and adopt that, or let the stack create its own)"
                        ),
                    })),
                    None => Ok(None),
                };
            }
        };
        if g.cluster_enabled() == Some(true) {
            return Err(OpError::new(
                "its cluster mode is enabled (shards); the stack's Redis is a single shard, reached at its primary endpoint",
            ));
        }
        let member = match g.member_clusters().first() {
            Some(m) => Self::cache_cluster(env, m).await?,
            None => None,
        };
        let wanted: RedisInputs = spec.typed()?;
        // Starts from the configuration's inputs for `final_snapshot`, which
        // AWS holds nothing of before a delete (the delete reads it from
        // the record); every other field is AWS's, below.
        let mut r = self.observed(&spec.inputs, &g);
        r.inputs["id"] = json!(r.id);
        r.inputs["snapshot_retention_days"] = json!(g.snapshot_retention_limit().unwrap_or(0));
        crate::components::observed(&mut r.inputs, "node_type", g.cache_node_type());
        // AWS always lists a group's members; moto lists none, so the
        // fields only a member shows (subnet group, version, count) stay
        // the configuration's there.
        if let Some(c) = member {
            r.inputs["subnet_group"] = json!(c.cache_subnet_group_name());
            r.inputs["nodes"] = json!(g.member_clusters().len());
            crate::components::observed(
                &mut r.inputs,
                "engine_version",
                c.engine_version()
                    .map(|v| same_version(&wanted.engine_version, v)),
            );
        }
        Ok(Some(r))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let cache: RedisInputs = spec.typed()?;
        let (id, failover) = (&cache.id, cache.failover);
        env.ctx
            .elasticache()
            .create_replication_group()
            .replication_group_id(id)
            .replication_group_description(format!("{} Redis", env.stack_id))
            .engine("redis")
            .engine_version(&cache.engine_version)
            .cache_node_type(&cache.node_type)
            .num_cache_clusters(cache.nodes as i32)
            .automatic_failover_enabled(failover)
            .multi_az_enabled(failover)
            .at_rest_encryption_enabled(cache.at_rest_encryption)
            .cache_subnet_group_name(&CACHE_SUBNET_GROUP.the(deps)?.id)
            .set_security_group_ids(Some(sg_ids(deps)))
            .snapshot_retention_limit(cache.snapshot_retention_days as i32)
            .port(6379)
            .set_tags(Some(cache_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateReplicationGroup"))?;
        let partial = Record::new(self.name(), id, spec.inputs.clone());
        let mut rec = self
            .wait_available(env, id, &spec.inputs)
            .await
            .map_err(|e| e.partial(partial))?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id)
            .await?
            .filter(|g| g.status() != Some("deleting"))
            .map(|g| self.observed(&rec.inputs, &g)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let cache: RedisInputs = spec.typed()?;
        let i = &spec.inputs;
        let failover = cache.failover;
        let ec = &env.ctx.elasticache();
        let (want_nodes, had_nodes) =
            (cache.nodes as i32, old.typed::<RedisInputs>()?.nodes as i32);
        // Each change starts from an available group (hashicorp/aws waits
        // before each one too: a tag change or a snapshot may be running).
        self.wait_available(env, &old.id, i).await?;
        if want_nodes > had_nodes {
            ec.increase_replica_count()
                .replication_group_id(&old.id)
                .new_replica_count(want_nodes - 1)
                .apply_immediately(true)
                .send()
                .await
                .map_err(op("IncreaseReplicaCount"))?;
            self.wait_available(env, &old.id, i).await?;
        }
        let mut req = ec
            .modify_replication_group()
            .replication_group_id(&old.id)
            .apply_immediately(true)
            .automatic_failover_enabled(failover)
            .multi_az_enabled(failover)
            .snapshot_retention_limit(cache.snapshot_retention_days as i32)
            .set_security_group_ids(Some(sg_ids(deps)));
        if i["node_type"] != old.inputs["node_type"] {
            req = req.cache_node_type(&cache.node_type);
        }
        if i["engine_version"] != old.inputs["engine_version"] {
            req = req.engine_version(&cache.engine_version);
        }
        req.send().await.map_err(op("ModifyReplicationGroup"))?;
        self.wait_available(env, &old.id, i).await?;
        if want_nodes < had_nodes {
            ec.decrease_replica_count()
                .replication_group_id(&old.id)
                .new_replica_count(want_nodes - 1)
                .apply_immediately(true)
                .send()
                .await
                .map_err(op("DecreaseReplicaCount"))?;
        }
        let mut rec = self.wait_available(env, &old.id, i).await?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let mut req = env
            .ctx
            .elasticache()
            .delete_replication_group()
            .replication_group_id(&rec.id);
        if rec.typed::<RedisInputs>()?.final_snapshot {
            req = req.final_snapshot_identifier(final_snapshot_id(rec));
        }
        match env.call(&DELETE, || req.clone().send()).await {
            Ok(_) => {}
            Err(e) if rg_not_found(&e.error) => return Ok(()),
            // Still refused after the declared time: already deleting, or
            // busy for longer; the wait below sees which.
            Err(e) if crate::aws::code_in(&e.error, &["InvalidReplicationGroupState"]) => {}
            Err(e) => return Err(failed(e)),
        }
        env.wait(
            &REDIS_DELETED,
            &format!("Redis replication group {}", rec.id),
            || Self::state(env, &rec.id),
        )
        .await
        .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &spec.typed::<RedisInputs>()?.id)
            .await?
            .filter(|g| g.status() != Some("deleting"))
            .map(|g| {
                let mut r = self.observed(&spec.inputs, &g);
                r.inputs["final_snapshot"] = spec.inputs["final_snapshot"].clone();
                r
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_elasticache::operation::delete_replication_group::{
        DeleteReplicationGroupError, DeleteReplicationGroupOutput,
    };
    use aws_sdk_elasticache::operation::describe_replication_groups::DescribeReplicationGroupsError;
    use aws_sdk_elasticache::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(elasticache, aws_sdk_elasticache, rules)
    }

    fn cache(final_snapshot: bool) -> Record {
        let inputs = RedisInputs {
            id: "kavak-agent-prod".into(),
            engine_version: "7.1".into(),
            node_type: "cache.t4g.micro".into(),
            nodes: 2,
            failover: true,
            at_rest_encryption: true,
            subnet_group: "kavak-agent-prod".into(),
            snapshot_retention_days: 7,
            final_snapshot,
        };
        Record::new("elasticache_redis", "kavak-agent-prod", json!(inputs))
    }

    fn delete_with_snapshot(snapshot: bool) -> Rule {
        mock!(Client::delete_replication_group)
            .match_requests(move |r| {
                r.final_snapshot_identifier()
                    .is_some_and(|s| s.starts_with("kavak-agent-prod-final-"))
                    == snapshot
            })
            .then_output(|| DeleteReplicationGroupOutput::builder().build())
    }

    fn gone() -> Rule {
        mock!(Client::describe_replication_groups).then_error(|| {
            DescribeReplicationGroupsError::generic(
                ErrorMetadata::builder()
                    .code("ReplicationGroupNotFoundFault")
                    .message("ReplicationGroup kavak-agent-prod not found.")
                    .build(),
            )
        })
    }

    #[tokio::test(start_paused = true)]
    async fn delete_keeps_a_final_snapshot_only_when_the_record_asks_for_one() {
        for snapshot in [true, false] {
            let (delete, gone) = (delete_with_snapshot(snapshot), gone());
            Redis
                .delete(&env_over(&[&delete, &gone]), &cache(snapshot))
                .await
                .unwrap();
            assert_eq!(
                (delete.num_calls(), gone.num_calls()),
                (1, 1),
                "final snapshot {snapshot}: deleted as asked, then waited for until gone"
            );
        }
    }

    fn refused(code: &'static str, message: &'static str) -> Rule {
        mock!(Client::delete_replication_group).then_error(move || {
            DeleteReplicationGroupError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            )
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_still_busy_is_deleted_once_it_is_done_and_another_refusal_is_final() {
        // A snapshot still running: refused once (DELETE), then deleted and
        // waited for until gone.
        let busy = refused(
            "InvalidReplicationGroupState",
            "Cache cluster kavak-agent-prod-002 is not in a valid state to be deleted.",
        );
        let (delete, gone) = (delete_with_snapshot(true), gone());
        Redis
            .delete(&env_over(&[&busy, &delete, &gone]), &cache(true))
            .await
            .unwrap();
        assert_eq!(
            (busy.num_calls(), delete.num_calls(), gone.num_calls()),
            (1, 1, 1)
        );
        // An error that is no "not yet": one call, its error.
        let bad = refused(
            "InvalidParameterValue",
            "The final snapshot name is not valid.",
        );
        let e = Redis
            .delete(&env_over(&[&bad]), &cache(true))
            .await
            .unwrap_err();
        assert!(
            e.message
                .starts_with("DeleteReplicationGroup: InvalidParameterValue"),
            "{}",
            e.message
        );
        assert_eq!(bad.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_that_does_not_read_is_never_deleted_without_its_snapshot() {
        let delete = delete_with_snapshot(false);
        let old = Record::new(
            "elasticache_redis",
            "kavak-agent-prod",
            json!({"id": "kavak-agent-prod", "nodes": 2}),
        );
        assert!(Redis.delete(&env_over(&[&delete]), &old).await.is_err());
        assert_eq!(delete.num_calls(), 0);
    }

    /// The seed's replication group: one node, Redis 7.0.7, `encrypted` at
    /// rest or not, listed with its member when `member`.
    fn seeded(encrypted: bool, member: bool) -> Rule {
        use aws_sdk_elasticache::operation::describe_replication_groups::DescribeReplicationGroupsOutput;
        use aws_sdk_elasticache::types::{
            AutomaticFailoverStatus, Endpoint, NodeGroup, ReplicationGroup,
        };
        mock!(Client::describe_replication_groups)
            .match_requests(|r| r.replication_group_id() == Some("kavak-dev-redis"))
            .then_output(move || {
                let g = ReplicationGroup::builder()
                    .replication_group_id("kavak-dev-redis")
                    .arn("arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:kavak-dev-redis")
                    .status("available")
                    .automatic_failover(AutomaticFailoverStatus::Disabled)
                    .at_rest_encryption_enabled(encrypted)
                    .snapshot_retention_limit(0)
                    .cache_node_type("cache.t4g.micro")
                    .cluster_enabled(false)
                    .node_groups(
                        NodeGroup::builder()
                            .primary_endpoint(
                                Endpoint::builder().address("redis.local").port(6379).build(),
                            )
                            .build(),
                    );
                let g = if member {
                    g.member_clusters("kavak-dev-redis-001")
                } else {
                    g
                };
                DescribeReplicationGroupsOutput::builder()
                    .replication_groups(g.build())
                    .build()
            })
    }
    fn cache_cluster(group: Option<&'static str>) -> Rule {
        use aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersOutput;
        mock!(Client::describe_cache_clusters).then_output(move || {
            DescribeCacheClustersOutput::builder()
                .cache_clusters(
                    aws_sdk_elasticache::types::CacheCluster::builder()
                        .cache_cluster_id("kavak-dev-redis-001")
                        .engine("redis")
                        .engine_version("7.0.7")
                        .cache_subnet_group_name("kavak-dev-redis-subnets")
                        .set_replication_group_id(group.map(str::to_string))
                        .build(),
                )
                .build()
        })
    }
    fn stack_cache() -> Spec {
        Spec::of(
            "cache",
            &RedisInputs {
                id: "kavak-dev-cache".into(),
                engine_version: "7.0".into(),
                node_type: "cache.t4g.small".into(),
                nodes: 1,
                failover: false,
                at_rest_encryption: true,
                subnet_group: "kavak-dev-cache".into(),
                snapshot_retention_days: 0,
                final_snapshot: false,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_groups_own_id_encryption_and_its_members_subnet_group() {
        let (g, c) = (seeded(false, true), cache_cluster(Some("kavak-dev-redis")));
        let r = Redis
            .observe(
                &env_over(&[&g, &c]),
                &stack_cache(),
                "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:kavak-dev-redis",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "kavak-dev-redis");
        assert_eq!(
            r.inputs,
            json!({
                "id": "kavak-dev-redis", "engine_version": "7.0", "node_type": "cache.t4g.micro",
                "nodes": 1, "failover": false, "at_rest_encryption": false,
                "subnet_group": "kavak-dev-redis-subnets", "snapshot_retention_days": 0,
                "final_snapshot": false,
            }),
            "id (kept), encryption and subnet group from AWS: a difference refuses the move"
        );
        assert_eq!((r.out("address"), r.out("port")), ("redis.local", "6379"));
        assert!(r.typed::<RedisInputs>().is_ok());
        // No member listed (moto): no DescribeCacheClusters (the mock would
        // refuse it), the member's fields as configured.
        let g = seeded(true, false);
        let r = Redis
            .observe(
                &env_over(&[&g]),
                &stack_cache(),
                "kavak-dev-redis",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            (
                &r.inputs["subnet_group"],
                &r.inputs["at_rest_encryption"],
                &r.inputs["id"]
            ),
            (
                &json!("kavak-dev-cache"),
                &json!(true),
                &json!("kavak-dev-redis")
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn observe_refuses_a_cache_cluster_and_finds_nothing_where_nothing_is() {
        let not_a_group = || {
            mock!(Client::describe_replication_groups).then_error(|| {
                DescribeReplicationGroupsError::generic(mocked::fault(
                    "ReplicationGroupNotFoundFault",
                ))
            })
        };
        let (g, c) = (not_a_group(), cache_cluster(None));
        let e = Redis
            .observe(
                &env_over(&[&g, &c]),
                &stack_cache(),
                "kavak-dev-redis",
                &Records::new(),
            )
            .await
            .unwrap_err();
        assert!(
            e.message
                .starts_with("kavak-dev-redis is a cache cluster, not a replication group;"),
            "{}",
            e.message
        );
        let (g, c) = (not_a_group(), cache_cluster(Some("kavak-dev-redis-rg")));
        let e = Redis
            .observe(
                &env_over(&[&g, &c]),
                &stack_cache(),
                "kavak-dev-redis-001",
                &Records::new(),
            )
            .await
            .unwrap_err();
        assert!(
            e.message.contains("adopt kavak-dev-redis-rg"),
            "{}",
            e.message
        );
        let none = mock!(Client::describe_cache_clusters).then_error(|| {
            aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersError::generic(
                mocked::fault("CacheClusterNotFound"),
            )
        });
        let g = not_a_group();
        assert!(Redis
            .observe(
                &env_over(&[&g, &none]),
                &stack_cache(),
                "kavak-dev-redis",
                &Records::new()
            )
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_running_version_reads_as_the_configured_one_it_is() {
        assert_eq!(same_version("7.0", "7.0.7"), "7.0");
        assert_eq!(same_version("6.x", "6.2.6"), "6.x");
        assert_eq!(same_version("7.0", "7.0"), "7.0");
        assert_eq!(same_version("7.0", "7.1.0"), "7.1.0");
        assert_eq!(same_version("7", "70.1"), "70.1");
        assert_eq!(same_version("7.1", "7.10.0"), "7.10.0");
    }
}
