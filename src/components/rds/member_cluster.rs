//! Member cluster.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A member cluster of a global database in its region. Dependencies: `kms`
/// (this region's key), `sg*` (its security groups), and for the primary
/// the password: `Spec::secret`, or the generated one of its secret
/// dependency.
pub struct MemberCluster;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberClusterInputs {
    pub id: String,
    pub engine: String,
    pub engine_version: String,
    pub global_cluster: String,
    pub role: MemberRole,
    /// The master user (the primary's; None for a secondary).
    pub username: Option<String>,
    /// The subnet group's name: another group replaces the cluster.
    pub subnet_group: String,
    pub deletion_protection: bool,
    pub backup_retention_days: i64,
    /// Destroy keeps a final snapshot of the cluster that wrote.
    pub final_snapshot: bool,
    /// What a plan compares of a master password given in the
    /// configuration: its hash, or the version of a write-only one (which
    /// leaves no trace in the records). None for both: generated.
    pub password_sha256: Option<String>,
    pub password_version: Option<f64>,
}

impl Inputs for MemberClusterInputs {
    const KIND: &'static str = "rds_global_member_cluster";
}

/// How a member cluster is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    /// Created with the master credentials: the first writer.
    Primary,
    /// Joins without them (AWS takes the primary's).
    Secondary,
}

/// The KMS key of the cluster's storage in its region.
const KEY: Need = Need::one(
    "KMS key",
    &[<crate::components::kms::KeyInputs as crate::engine::Inputs>::KIND],
);
/// The global database's kind (a dependency, never a need: it is named by
/// identifier).
const GLOBAL_KIND: &str = <super::GlobalClusterInputs as crate::engine::Inputs>::KIND;
/// The generated credentials (the primary, when no password is given).
const MASTER_SECRET: Need = Need::optional(
    "credentials secret",
    &[<crate::components::secrets::SecretInputs as crate::engine::Inputs>::KIND],
);

/// A cluster still modifying (a change just made, a member that has just
/// left its global cluster) refuses another change until it is available.
const MODIFY: Call = Call::retrying(
    "rds:ModifyDBCluster",
    Duration::from_secs(300),
    &[NotYet::code("InvalidDBClusterStateFault", "The requested operation can't be performed while the cluster is in this state.")],
)
.why("hashicorp/aws rds/cluster.go resourceClusterUpdate: InvalidDBClusterStateFault retried for 5 minutes (as its delete does when it turns deletion protection off); its IAM-role retry is left out: no role is passed");
/// A cluster that has just left its global cluster is promoting (not yet
/// available, so no final snapshot), or is still listed as a member; one
/// whose deletion protection was just turned off may still be protected.
const DELETE: Call = Call::retrying(
    "rds:DeleteDBCluster",
    PROPAGATION,
    &[
        NotYet::message(
            "InvalidDBClusterStateFault",
            "currently in the available state",
            "Can't create a snapshot because the database cluster luneo-prod-primary isn't currently in the available state.",
        ),
        NotYet::message(
            "InvalidDBClusterStateFault",
            "cluster is a part of a global cluster",
            "This cluster is a part of a global cluster, please remove it from globalcluster first",
        ),
        NotYet::message("InvalidParameterCombination", "disable deletion pro", "Cannot delete protected Cluster, please disable deletion protection and try again."),
    ],
)
.why("hashicorp/aws rds/cluster.go resourceClusterDelete: for 2 minutes, InvalidDBClusterStateFault 'is not currently in the available state' (ours also matches the 'isn't currently' wording of provider #40333) and 'cluster is a part of a global cluster', and InvalidParameterCombination 'disable deletion pro' after turning protection off");
const CALLS: &[Call] = &[
    Call::read("secretsmanager:GetSecretValue"),
    DESCRIBE_GLOBAL,
    DESCRIBE_CLUSTERS,
    Call::settled("rds:CreateDBCluster"),
    MODIFY,
    REMOVE_FROM_GLOBAL,
    DELETE,
];

fn cluster_missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::code_in(e, &["DBClusterNotFoundFault"])
}

impl MemberCluster {
    pub(crate) async fn describe(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbCluster>, OpError> {
        match env
            .ctx
            .rds()
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .db_clusters()
                .iter()
                .find(|c| c.db_cluster_identifier() == Some(id))
                .cloned()),
            Err(e) if cluster_missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeDBClusters")(e)),
        }
    }

    fn observed(&self, inputs: &Json, c: &aws_sdk_rds::types::DbCluster) -> Record {
        let mut inputs = inputs.clone();
        crate::components::observed(&mut inputs, "deletion_protection", c.deletion_protection());
        crate::components::observed(
            &mut inputs,
            "backup_retention_days",
            c.backup_retention_period(),
        );
        Record::new(
            self.name(),
            c.db_cluster_identifier().unwrap_or_default(),
            inputs,
        )
        .with("arn", c.db_cluster_arn().unwrap_or_default())
        .with("endpoint", c.endpoint().unwrap_or_default())
        .with("reader_endpoint", c.reader_endpoint().unwrap_or_default())
        .with("port", c.port().unwrap_or(5432).to_string())
    }

    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let rds = env.ctx.rds().clone();
        let i = id.to_string();
        sdk_wait(
            env,
            &format!("Aurora cluster {id} to be available"),
            |max| async move {
                rds.wait_until_db_cluster_available()
                    .db_cluster_identifier(i)
                    .wait(max)
                    .await
            },
        )
        .await?;
        let c = Self::describe(env, id)
            .await?
            .ok_or_else(|| OpError::new(format!("Aurora cluster {id} disappeared")))?;
        Ok(self.observed(inputs, &c))
    }

    async fn password(env: &E, spec: &Spec, deps: &Records) -> Result<String, OpError> {
        if let Some(p) = &spec.secret {
            return Ok(p.clone());
        }
        let secret = MASTER_SECRET.maybe(deps)?.ok_or_else(|| OpError::new("the primary cluster needs its master password or its credentials secret dependency"))?;
        let o = env
            .ctx
            .secrets()
            .get_secret_value()
            .secret_id(&secret.id)
            .send()
            .await
            .map_err(op("GetSecretValue"))?;
        let v: Json =
            serde_json::from_str(o.secret_string().unwrap_or_default()).unwrap_or(Json::Null);
        v["password"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| OpError::new("the database secret has no password"))
    }

    /// Waits (a waiter on the global resource) until the global cluster
    /// has an available writer: a secondary can only join then.
    async fn wait_for_writer(env: &E, global: &str) -> Result<(), OpError> {
        env.wait_until(
            &format!("global cluster {global} to have a writer"),
            || async {
                let Some(g) = describe_global(env, global).await? else {
                    return Err(OpError::new(format!(
                        "global cluster {global} does not exist"
                    )));
                };
                Ok((g.status() == Some("available") && writer_region(&g).is_some()).then_some(()))
            },
        )
        .await
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for MemberCluster {
    crate::engine::typed_kind!(MemberClusterInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn", "endpoint", "port", "reader_endpoint"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[KEY, crate::components::need::SECURITY_GROUPS, MASTER_SECRET]
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
        &[
            "id",
            "engine",
            "global_cluster",
            "role",
            "username",
            "subnet_group",
        ]
    }
    // No kept id: the global writer names the members by id in a map
    // (region → id) that a kept id cannot reach. A hand-built member moves
    // when it has the stack's identifier.
    /// The Aurora cluster named by its identifier or ARN: a member of the
    /// global database the configuration names, with encrypted storage.
    /// Its identifier, engine, version, subnet group, settings and
    /// role as AWS has them: the writer is the `primary` (with its master
    /// user), a reader the `secondary` (which takes the primary's).
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(c) = Self::describe(env, arn_tail(id, ":cluster:"))
            .await?
            .filter(|c| c.status() != Some("deleting"))
        else {
            return Ok(None);
        };
        if c.storage_encrypted() == Some(false) {
            return Err(OpError::new(
                "its storage is not encrypted, and the stack's clusters are: storage cannot be encrypted in place",
            ));
        }
        // The global database as recorded (adopted before it, under the
        // identifier it keeps), else as the configuration names it.
        let global = deps
            .values()
            .find(|r| r.kind == GLOBAL_KIND)
            .map(|r| r.id.as_str())
            .or(spec.inputs["global_cluster"].as_str())
            .unwrap_or_default();
        let arn = c.db_cluster_arn().unwrap_or_default();
        let g = describe_global(env, global).await?;
        let Some(member) = g.as_ref().and_then(|g| {
            g.global_cluster_members()
                .iter()
                .find(|m| m.db_cluster_arn() == Some(arn))
        }) else {
            let now = match c.global_cluster_identifier() {
                Some(other) if other != global => format!("a member of {other}"),
                _ => "in no global database".to_string(),
            };
            return Err(OpError::new(format!(
                "it is {now}, not a member of the global database {global}: a cluster joins a global database only at its create"
            )));
        };
        let writer = member.is_writer() == Some(true);
        let inputs = json!({
            "id": c.db_cluster_identifier(),
            "engine": c.engine(),
            "engine_version": c.engine_version(),
            "global_cluster": g.as_ref().and_then(|g| g.global_cluster_identifier()),
            "role": if writer { MemberRole::Primary } else { MemberRole::Secondary },
            // A reader shows the primary's master user, which it took
            // rather than was given: the stack's secondary names none.
            "username": if writer { c.master_username() } else { None },
            "subnet_group": c.db_subnet_group(),
            // Decided at the delete, from the record: AWS holds nothing
            // of it before.
            "final_snapshot": spec.inputs["final_snapshot"],
            // AWS never shows a password: the update sets the configured
            // one (a hash or version that differs) in place.
            "password_sha256": null,
            "password_version": null,
        });
        Ok(Some(self.observed(&inputs, &c)))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let member: MemberClusterInputs = spec.typed()?;
        let (id, global) = (member.id.as_str(), member.global_cluster.as_str());
        let kms = KEY.the(deps)?.out("arn").to_string();
        let sgs = crate::components::need::SECURITY_GROUPS.ids(deps);
        let mut req = env
            .ctx
            .rds()
            .create_db_cluster()
            .db_cluster_identifier(id)
            .engine(&member.engine)
            .engine_version(&member.engine_version)
            .global_cluster_identifier(global)
            .storage_encrypted(true)
            .kms_key_id(kms)
            .set_vpc_security_group_ids(Some(sgs))
            .db_subnet_group_name(&member.subnet_group)
            .deletion_protection(member.deletion_protection)
            .backup_retention_period(member.backup_retention_days as i32)
            .copy_tags_to_snapshot(true)
            .set_tags(Some(rds_tags(env, spec)));
        if member.role == MemberRole::Primary {
            req = req
                .set_master_username(member.username.clone())
                .master_user_password(Self::password(env, spec, deps).await?);
        } else {
            // AWS rejects master credentials on a secondary: it takes the
            // primary's. It can only join a global cluster that writes.
            Self::wait_for_writer(env, global).await?;
        }
        req.send().await.map_err(op("CreateDBCluster"))?;
        let rec = Record::new(self.name(), id, spec.inputs.clone());
        self.wait_available(env, id, &spec.inputs)
            .await
            .map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id)
            .await?
            .filter(|c| c.status() != Some("deleting"))
            .map(|c| self.observed(&rec.inputs, &c)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let member: MemberClusterInputs = spec.typed()?;
        let mut req = env
            .ctx
            .rds()
            .modify_db_cluster()
            .db_cluster_identifier(&old.id)
            .deletion_protection(member.deletion_protection)
            .backup_retention_period(member.backup_retention_days as i32)
            .apply_immediately(true);
        // A new master password (its hash, or the version of a write-only
        // one, changed): set in place, never logged.
        let had: MemberClusterInputs = old.typed()?;
        let password_changed = member.password_sha256 != had.password_sha256
            || member.password_version != had.password_version;
        if let Some(p) = spec.secret.as_ref().filter(|_| password_changed) {
            req = req.master_user_password(p);
        }
        env.call(&MODIFY, || req.clone().send())
            .await
            .map_err(failed)?;
        self.wait_available(env, &old.id, &spec.inputs).await
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let member: MemberClusterInputs = rec.typed()?;
        let id = &rec.id;
        let Some(c) = Self::describe(env, id).await? else {
            return Ok(());
        };
        let arn = c.db_cluster_arn().unwrap_or_default().to_string();
        let global = member.global_cluster.clone();
        // Readers leave first: the writer component detaches them before the
        // members' deletes (waiting here would hold an engine slot while a
        // reader's delete waits for one).
        let mut was_writer = false;
        if let Some(g) = describe_global(env, &global).await? {
            if let Some(m) = g
                .global_cluster_members()
                .iter()
                .find(|m| m.db_cluster_arn() == Some(arn.as_str()))
            {
                was_writer = m.is_writer() == Some(true);
                if was_writer && g.global_cluster_members().len() > 1 {
                    return Err(OpError::new(format!("{id} writes for {global}, which still has other members: they leave first (run destroy again)")));
                }
                detach(env, &env.ctx, &global, &arn).await?;
            }
        }
        if c.deletion_protection() == Some(true) {
            let rds = env.ctx.rds();
            env.call(&MODIFY, || {
                rds.modify_db_cluster()
                    .db_cluster_identifier(id)
                    .deletion_protection(false)
                    .apply_immediately(true)
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        // The data: a final snapshot of the cluster that wrote, unless the
        // user opted out (a reader holds a copy of the same data).
        let snapshot = member.final_snapshot && (was_writer || member.role == MemberRole::Primary);
        let mut req = env.ctx.rds().delete_db_cluster().db_cluster_identifier(id);
        req = if snapshot {
            req.skip_final_snapshot(false)
                .final_db_snapshot_identifier(format!(
                    "{id}-final-{}",
                    chrono::Utc::now().format("%Y%m%d%H%M%S")
                ))
        } else {
            req.skip_final_snapshot(true)
        };
        match env.call(&DELETE, || req.clone().send()).await {
            Ok(_) => {}
            Err(e) if cluster_missing(&e.error) => return Ok(()),
            Err(e) => return Err(failed(e)),
        }
        if snapshot {
            env.warn(format!("Aurora cluster {id} was deleted; its data is kept in a final snapshot ({id}-final-...)"));
        }
        let rds = env.ctx.rds().clone();
        let i = id.clone();
        sdk_wait(
            env,
            &format!("Aurora cluster {id} to be deleted"),
            |max| async move {
                rds.wait_until_db_cluster_deleted()
                    .db_cluster_identifier(i)
                    .wait(max)
                    .await
            },
        )
        .await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(
            Self::describe(env, &spec.typed::<MemberClusterInputs>()?.id)
                .await?
                .map(|c| self.observed(&spec.inputs, &c)),
        )
    }
}

/// The member cluster's update against aws-smithy-mocks: the master
/// password is sent only when its version (or hash) changed.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
    use aws_sdk_rds::operation::describe_global_clusters::DescribeGlobalClustersOutput;
    use aws_sdk_rds::operation::modify_db_cluster::ModifyDbClusterOutput;
    use aws_sdk_rds::types::DbCluster;
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }

    fn member(password_version: f64) -> MemberClusterInputs {
        MemberClusterInputs {
            id: "luneo-prod-primary".into(),
            engine: "aurora-postgresql".into(),
            engine_version: "15.4".into(),
            global_cluster: "luneo-prod".into(),
            role: MemberRole::Primary,
            username: Some("luneo_admin".into()),
            subnet_group: "luneo-prod-primary".into(),
            deletion_protection: true,
            backup_retention_days: 7,
            final_snapshot: true,
            password_sha256: None,
            password_version: Some(password_version),
        }
    }

    /// An available cluster as AWS reports it, without the fields it may
    /// leave out (deletion protection, retention).
    fn available() -> DescribeDbClustersOutput {
        DescribeDbClustersOutput::builder()
            .db_clusters(
                DbCluster::builder()
                    .db_cluster_identifier("luneo-prod-primary")
                    .status("available")
                    .build(),
            )
            .build()
    }

    /// Updates a record of version 1 to `version`, with the write-only
    /// password given; whether ModifyDBCluster carried a password.
    async fn password_sent(version: f64) -> bool {
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = sent.clone();
        let modify = mock!(Client::modify_db_cluster)
            .match_requests(move |r| {
                seen.store(
                    r.master_user_password().is_some(),
                    std::sync::atomic::Ordering::SeqCst,
                );
                true
            })
            .then_output(|| ModifyDbClusterOutput::builder().build());
        let describe = mock!(Client::describe_db_clusters)
            .sequence()
            .output(available)
            .times(2)
            .build();
        let mut spec = Spec::of("primary/db", &member(version));
        spec.secret = Some("correct horse battery staple".into());
        let old = Record::new(
            "rds_global_member_cluster",
            "luneo-prod-primary",
            serde_json::to_value(member(1.0)).unwrap(),
        );
        let rec = MemberCluster
            .update(
                &env_over(&[&modify, &describe]),
                &spec,
                &old,
                &Records::default(),
            )
            .await
            .unwrap();
        assert!(
            rec.typed::<MemberClusterInputs>()
                .unwrap()
                .deletion_protection,
            "a field AWS left out keeps its planned value"
        );
        assert_eq!(modify.num_calls(), 1);
        sent.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test(start_paused = true)]
    async fn the_master_password_is_sent_only_when_its_version_changed() {
        assert!(password_sent(2.0).await, "a new version sets the password");
        assert!(!password_sent(1.0).await, "the same version leaves it");
    }

    fn said(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
        aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build()
    }
    /// The cluster as the delete first finds it (protected or not).
    fn cluster(protected: bool) -> Rule {
        mock!(Client::describe_db_clusters).then_output(move || {
            DescribeDbClustersOutput::builder()
                .db_clusters(
                    DbCluster::builder()
                        .db_cluster_identifier("luneo-prod-primary")
                        .db_cluster_arn(
                            "arn:aws:rds:eu-west-1:123456789012:cluster:luneo-prod-primary",
                        )
                        .status("available")
                        .deletion_protection(protected)
                        .build(),
                )
                .build()
        })
    }
    /// No global cluster left: nothing to detach from.
    fn no_global() -> Rule {
        mock!(Client::describe_global_clusters)
            .then_output(|| DescribeGlobalClustersOutput::builder().build())
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_still_busy_or_not_yet_available_is_retried_and_any_other_error_is_final() {
        use crate::components::mocked::fault;
        use aws_sdk_rds::operation::delete_db_cluster::{
            DeleteDBClusterError, DeleteDbClusterOutput,
        };
        use aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError;
        use aws_sdk_rds::operation::modify_db_cluster::ModifyDBClusterError;
        let rec = Record::new(
            "rds_global_member_cluster",
            "luneo-prod-primary",
            serde_json::to_value(member(1.0)).unwrap(),
        );
        // Deletion protection turned off while the cluster is still busy,
        // then the delete (with its final snapshot) before it is available.
        let busy = MODIFY.not_yet[0];
        let modify = mock!(Client::modify_db_cluster)
            .match_requests(|r| r.deletion_protection() == Some(false))
            .sequence()
            .error(move || ModifyDBClusterError::generic(said(busy.code, busy.says)))
            .output(|| ModifyDbClusterOutput::builder().build())
            .build();
        let unavailable = DELETE.not_yet[0];
        let delete = mock!(Client::delete_db_cluster)
            .sequence()
            .error(move || DeleteDBClusterError::generic(said(unavailable.code, unavailable.says)))
            .output(|| DeleteDbClusterOutput::builder().build())
            .build();
        let gone = mock!(Client::describe_db_clusters)
            .then_error(|| DescribeDBClustersError::generic(fault("DBClusterNotFoundFault")));
        let (found, alone) = (cluster(true), no_global());
        MemberCluster
            .delete(&env_over(&[&found, &alone, &modify, &delete, &gone]), &rec)
            .await
            .unwrap();
        assert_eq!(
            (modify.num_calls(), delete.num_calls(), gone.num_calls()),
            (2, 2, 1),
            "each retried once, then deleted"
        );

        // Any other error on either call is final.
        let (found, alone) = (cluster(true), no_global());
        let modify = mock!(Client::modify_db_cluster)
            .then_error(|| ModifyDBClusterError::generic(fault("InjectedFailure")));
        let e = MemberCluster
            .delete(&env_over(&[&found, &alone, &modify]), &rec)
            .await
            .unwrap_err();
        assert_eq!(modify.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("ModifyDBCluster: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
        let (found, alone) = (cluster(false), no_global());
        let delete = mock!(Client::delete_db_cluster)
            .then_error(|| DeleteDBClusterError::generic(fault("InjectedFailure")));
        let e = MemberCluster
            .delete(&env_over(&[&found, &alone, &delete]), &rec)
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("DeleteDBCluster: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    const TEAM_ARN: &str = "arn:aws:rds:eu-west-1:123456789012:cluster:team-db-eu";

    /// DescribeDBClusters of the hand-made cluster team-db-eu, a member
    /// (as it says) of `global`.
    fn hand_made(encrypted: bool, global: &'static str) -> Rule {
        mock!(Client::describe_db_clusters)
            .match_requests(|r| r.db_cluster_identifier() == Some("team-db-eu"))
            .then_output(move || {
                DescribeDbClustersOutput::builder()
                    .db_clusters(
                        DbCluster::builder()
                            .db_cluster_identifier("team-db-eu")
                            .db_cluster_arn(TEAM_ARN)
                            .status("available")
                            .storage_encrypted(encrypted)
                            .engine("aurora-postgresql")
                            .engine_version("15.5")
                            .master_username("team_admin")
                            .db_subnet_group("team-db-subnets")
                            .deletion_protection(false)
                            .backup_retention_period(3)
                            .endpoint("team-db-eu.cluster-x.eu-west-1.rds.amazonaws.com")
                            .reader_endpoint("team-db-eu.cluster-ro-x.eu-west-1.rds.amazonaws.com")
                            .port(5432)
                            .global_cluster_identifier(global)
                            .build(),
                    )
                    .build()
            })
    }
    /// DescribeGlobalClusters of luneo-prod: team-db-eu a member (the
    /// writer or a reader), or `members` none of it.
    fn luneo_prod(member: Option<bool>) -> Rule {
        use aws_sdk_rds::types::GlobalClusterMember;
        mock!(Client::describe_global_clusters)
            .match_requests(|r| r.global_cluster_identifier() == Some("luneo-prod"))
            .then_output(move || {
                let mut g = Global::builder()
                    .global_cluster_identifier("luneo-prod")
                    .status("available");
                if let Some(writer) = member {
                    g = g.global_cluster_members(
                        GlobalClusterMember::builder()
                            .db_cluster_arn(TEAM_ARN)
                            .is_writer(writer)
                            .build(),
                    );
                }
                DescribeGlobalClustersOutput::builder()
                    .global_clusters(g.build())
                    .build()
            })
    }

    /// Adoption: identifier (kept), engine, version, subnet group, settings
    /// and role from AWS (the writer is the primary, with its master user;
    /// a reader the secondary, without); the final snapshot the
    /// configuration's; the password fields null, so that the update sets
    /// a configured password; the outputs as create records them.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_member_and_its_role_in_the_global_database_from_aws() {
        let spec = Spec::of("primary/db", &member(1.0));
        let (d, g) = (hand_made(true, "luneo-prod"), luneo_prod(Some(true)));
        let r = MemberCluster
            .observe(&env_over(&[&d, &g]), &spec, TEAM_ARN, &Records::new())
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "team-db-eu");
        assert_eq!(
            r.inputs,
            json!({
                "id": "team-db-eu", "engine": "aurora-postgresql", "engine_version": "15.5",
                "global_cluster": "luneo-prod", "role": "primary", "username": "team_admin",
                "subnet_group": "team-db-subnets", "deletion_protection": false,
                "backup_retention_days": 3, "final_snapshot": true,
                "password_sha256": null, "password_version": null,
            })
        );
        assert_eq!(
            (
                r.out("arn"),
                r.out("endpoint"),
                r.out("reader_endpoint"),
                r.out("port")
            ),
            (
                TEAM_ARN,
                "team-db-eu.cluster-x.eu-west-1.rds.amazonaws.com",
                "team-db-eu.cluster-ro-x.eu-west-1.rds.amazonaws.com",
                "5432"
            )
        );
        assert!(r.typed::<MemberClusterInputs>().is_ok());
        assert!(
            MemberCluster.kept_fields().is_empty(),
            "the writer cannot follow a kept id"
        );

        // The global database adopted before it under the identifier it
        // keeps is the one asked, whatever the configuration still says.
        let mut other = spec.clone();
        other.inputs["global_cluster"] = json!("luneo-prod-aurora");
        let deps: Records = [(
            "global/db".to_string(),
            Record::new("rds_global_cluster", "luneo-prod", json!({})),
        )]
        .into();
        let (d, g) = (hand_made(true, "luneo-prod"), luneo_prod(Some(false)));
        let r = MemberCluster
            .observe(&env_over(&[&d, &g]), &other, "team-db-eu", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (&r.inputs["role"], &r.inputs["username"]),
            (&json!("secondary"), &json!(null)),
            "a reader is a secondary, which names no master user"
        );
    }

    /// A cluster outside the configuration's global database, or with
    /// unencrypted storage, is refused with why.
    #[tokio::test(start_paused = true)]
    async fn observe_refuses_a_cluster_outside_the_global_database_or_unencrypted() {
        let spec = Spec::of("primary/db", &member(1.0));
        let (d, g) = (hand_made(true, "team-global"), luneo_prod(None));
        let e = MemberCluster
            .observe(&env_over(&[&d, &g]), &spec, "team-db-eu", &Records::new())
            .await
            .unwrap_err();
        assert!(
            e.message.contains(
                "it is a member of team-global, not a member of the global database luneo-prod"
            ),
            "{}",
            e.message
        );
        let d = hand_made(false, "luneo-prod");
        let e = MemberCluster
            .observe(&env_over(&[&d]), &spec, "team-db-eu", &Records::new())
            .await
            .unwrap_err();
        assert!(e.message.contains("not encrypted"), "{}", e.message);
    }
}
