//! Global cluster.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An Aurora global database (storage encrypted): its member clusters are
/// `rds_global_member_cluster`s.
pub struct GlobalCluster;

/// A global cluster refuses its delete while a member is still in it: one
/// that has just been removed takes a while to leave.
const DELETE: Call = Call::retrying(
    "rds:DeleteGlobalCluster",
    Duration::from_secs(30 * 60),
    &[NotYet::message("InvalidGlobalClusterStateFault", "is not empty", "Global Cluster arn:aws:rds::123456789012:global-cluster:luneo-prod-global is not empty")],
)
.why("hashicorp/aws rds/global_cluster.go resourceGlobalClusterDelete: InvalidGlobalClusterStateFault 'is not empty' retried for the rest of the delete timeout, at least 5 minutes (globalClusterClusterDeleteTimeout); ours is the 30-minute delete timeout");
const CALLS: &[Call] = &[
    Call::settled("rds:CreateGlobalCluster"),
    DESCRIBE_GLOBAL,
    Call::settled("rds:ModifyGlobalCluster"),
    DELETE,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalClusterInputs {
    pub id: String,
    pub engine: String,
    /// Read back: a version upgraded out of band is drift.
    pub engine_version: String,
    pub deletion_protection: bool,
}

impl Inputs for GlobalClusterInputs {
    const KIND: &'static str = "rds_global_cluster";
}

/// `rec` with what AWS shows of the global cluster `g`: its version and
/// deletion protection, its ARN and endpoint.
fn seen(mut r: Record, g: &Global) -> Record {
    r.inputs["deletion_protection"] = json!(g.deletion_protection());
    r.inputs["engine_version"] = json!(g.engine_version());
    r.outputs.insert(
        "arn".into(),
        g.global_cluster_arn().unwrap_or_default().to_string(),
    );
    r.outputs.insert(
        "endpoint".into(),
        g.endpoint().unwrap_or_default().to_string(),
    );
    r
}

#[tonic::async_trait]
impl Kind<AwsContext> for GlobalCluster {
    crate::engine::typed_kind!(GlobalClusterInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn timeouts(&self) -> Timeouts {
        // terraform-provider-aws's defaults: members join and leave within it.
        Timeouts::minutes(30, 120, 30)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| {
            TagRef::Rds(format!(
                "arn:aws:rds::{}:global-cluster:{}",
                env.ctx.account_id, r.id
            ))
        })
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "engine"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let global: GlobalClusterInputs = spec.typed()?;
        let id = &global.id;
        env.ctx
            .rds()
            .create_global_cluster()
            .global_cluster_identifier(id)
            .engine(&global.engine)
            .engine_version(&global.engine_version)
            .storage_encrypted(true)
            .deletion_protection(global.deletion_protection)
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateGlobalCluster"))?;
        let rec = Record::new(self.name(), id, spec.inputs.clone());
        env.wait(&GLOBAL_AVAILABLE, &format!("global cluster {id}"), || {
            global_state(env, id)
        })
        .await
        .map_err(|e| e.partial(rec.clone()))?;
        self.read(env, &rec)
            .await?
            .ok_or_else(|| OpError::new(format!("global cluster {id} disappeared")).partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe_global(env, &rec.id)
            .await?
            .map(|g| seen(rec.clone(), &g)))
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["id"]
    }
    /// The global database named by its identifier or ARN: its identifier
    /// (kept), engine and version as AWS has them. Its storage must be
    /// encrypted, as the stack's is: that cannot change in place.
    async fn observe(
        &self,
        env: &E,
        _: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let id = arn_tail(id, ":global-cluster:");
        let Some(g) = describe_global(env, id)
            .await?
            .filter(|g| g.status() != Some("deleting"))
        else {
            return Ok(None);
        };
        if g.storage_encrypted() == Some(false) {
            return Err(OpError::new(
                "its storage is not encrypted, and the stack's global database is: storage cannot be encrypted in place",
            ));
        }
        let inputs = json!({
            "id": g.global_cluster_identifier(),
            "engine": g.engine(),
        });
        Ok(Some(seen(Record::new(self.name(), id, inputs), &g)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        env.ctx
            .rds()
            .modify_global_cluster()
            .global_cluster_identifier(&old.id)
            .deletion_protection(spec.typed::<GlobalClusterInputs>()?.deletion_protection)
            .send()
            .await
            .map_err(op("ModifyGlobalCluster"))?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // Members leave first (they depend on it); one still detaching
        // makes AWS refuse for a little while.
        let rds = env.ctx.rds();
        match env
            .call(&DELETE, || {
                rds.delete_global_cluster()
                    .global_cluster_identifier(&rec.id)
                    .send()
            })
            .await
        {
            Ok(_) => {}
            Err(e) if crate::aws::code_in(&e.error, &["GlobalClusterNotFoundFault"]) => {
                return Ok(())
            }
            Err(e) => return Err(failed(e)),
        }
        env.wait(
            &GLOBAL_DELETED,
            &format!("global cluster {}", rec.id),
            || global_state(env, &rec.id),
        )
        .await
        .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<GlobalClusterInputs>()?.id,
            spec.inputs.clone(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_rds::operation::delete_global_cluster::{
        DeleteGlobalClusterError, DeleteGlobalClusterOutput,
    };
    use aws_sdk_rds::operation::describe_global_clusters::{
        DescribeGlobalClustersError, DescribeGlobalClustersOutput,
    };
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }

    fn global() -> Record {
        Record::new(
            "rds_global_cluster",
            "luneo-prod-global",
            json!({"id": "luneo-prod-global", "deletion_protection": false}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn the_global_cluster_is_deleted_once_its_members_have_left() {
        // A member still detaching: AWS refuses the delete for a little
        // while (DELETE's "is not empty"); the delete is retried, then
        // waited for.
        let refused = mock!(Client::delete_global_cluster).then_error(|| {
            DeleteGlobalClusterError::generic(
                ErrorMetadata::builder()
                    .code("InvalidGlobalClusterStateFault")
                    .message("Global Cluster arn:aws:rds::123456789012:global-cluster:luneo-prod-global is not empty")
                    .build(),
            )
        });
        let deleted = mock!(Client::delete_global_cluster)
            .match_requests(|r| r.global_cluster_identifier() == Some("luneo-prod-global"))
            .then_output(|| DeleteGlobalClusterOutput::builder().build());
        let gone = mock!(Client::describe_global_clusters).then_error(|| {
            DescribeGlobalClustersError::generic(fault("GlobalClusterNotFoundFault"))
        });
        GlobalCluster
            .delete(&env_over(&[&refused, &deleted, &gone]), &global())
            .await
            .unwrap();
        assert_eq!(
            (refused.num_calls(), deleted.num_calls(), gone.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn another_refusal_of_the_delete_is_not_retried() {
        // The same code for another reason is final: one call, its error.
        let refused = mock!(Client::delete_global_cluster).then_error(|| {
            DeleteGlobalClusterError::generic(
                ErrorMetadata::builder()
                    .code("InvalidGlobalClusterStateFault")
                    .message("Global Cluster luneo-prod-global is in modifying state")
                    .build(),
            )
        });
        let e = GlobalCluster
            .delete(&env_over(&[&refused]), &global())
            .await
            .unwrap_err();
        assert!(
            e.message
                .starts_with("DeleteGlobalCluster: InvalidGlobalClusterStateFault"),
            "{}",
            e.message
        );
        assert_eq!(refused.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_global_cluster_already_gone_is_deleted() {
        let gone = mock!(Client::delete_global_cluster)
            .then_error(|| DeleteGlobalClusterError::generic(fault("GlobalClusterNotFoundFault")));
        GlobalCluster
            .delete(&env_over(&[&gone]), &global())
            .await
            .unwrap();
        assert_eq!(gone.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn deletion_protection_blocks_the_destroy_on_its_attribute() {
        let protected = mock!(Client::describe_global_clusters).then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .global_clusters(
                    Global::builder()
                        .global_cluster_identifier("luneo-prod-global")
                        .status("available")
                        .deletion_protection(true)
                        .build(),
                )
                .build()
        });
        let e = GlobalCluster
            .delete_blocker(&env_over(&[&protected]), &global())
            .await
            .unwrap()
            .expect("refused");
        assert!(
            e.message
                .contains("luneo-prod-global has deletion protection on: nothing was deleted"),
            "{}",
            e.message
        );
        assert_eq!(e.attribute.as_deref(), Some("deletion_protection"));
    }

    /// DescribeGlobalClusters of the hand-made global database,
    /// `encrypted` or not.
    fn hand_made(encrypted: bool) -> Rule {
        mock!(Client::describe_global_clusters)
            .match_requests(|r| r.global_cluster_identifier() == Some("team-aurora"))
            .then_output(move || {
                DescribeGlobalClustersOutput::builder()
                    .global_clusters(
                        Global::builder()
                            .global_cluster_identifier("team-aurora")
                            .global_cluster_arn(
                                "arn:aws:rds::123456789012:global-cluster:team-aurora",
                            )
                            .endpoint("team-aurora.global-x.global.rds.amazonaws.com")
                            .status("available")
                            .engine("aurora-postgresql")
                            .engine_version("15.5")
                            .storage_encrypted(encrypted)
                            .deletion_protection(true)
                            .build(),
                    )
                    .build()
            })
    }

    /// Adoption: the identifier (kept), engine, version and deletion
    /// protection as AWS has them, named by identifier or ARN; the outputs
    /// as create records them. Unencrypted storage is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_global_database_from_aws() {
        let spec = Spec::of(
            "global/db",
            &GlobalClusterInputs {
                id: "luneo-prod-aurora".into(),
                engine: "aurora-postgresql".into(),
                engine_version: "15.4".into(),
                deletion_protection: false,
            },
        );
        let d = hand_made(true);
        let r = GlobalCluster
            .observe(
                &env_over(&[&d]),
                &spec,
                "arn:aws:rds::123456789012:global-cluster:team-aurora",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "team-aurora");
        assert_eq!(
            r.inputs,
            json!({"id": "team-aurora", "engine": "aurora-postgresql", "engine_version": "15.5", "deletion_protection": true})
        );
        assert_eq!(
            (r.out("arn"), r.out("endpoint")),
            (
                "arn:aws:rds::123456789012:global-cluster:team-aurora",
                "team-aurora.global-x.global.rds.amazonaws.com"
            )
        );
        assert!(r.typed::<GlobalClusterInputs>().is_ok());
        assert_eq!(GlobalCluster.kept_fields(), &["id"]);
        let plain = hand_made(false);
        let e = GlobalCluster
            .observe(&env_over(&[&plain]), &spec, "team-aurora", &Records::new())
            .await
            .unwrap_err();
        assert!(e.message.contains("not encrypted"), "{}", e.message);
        let gone = mock!(Client::describe_global_clusters).then_error(|| {
            DescribeGlobalClustersError::generic(fault("GlobalClusterNotFoundFault"))
        });
        assert!(GlobalCluster
            .observe(&env_over(&[&gone]), &spec, "team-aurora", &Records::new())
            .await
            .unwrap()
            .is_none());
    }
}
