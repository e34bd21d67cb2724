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

/// The writer of a global database against aws-smithy-mocks: left alone
/// when its region already writes, switched over (or failed over) and
/// waited for when another does, its readers detached on destroy with
/// RemoveFromGlobalCluster's "not yet" retried, and a read of a global
/// cluster gone. The test context's region is eu-west-1: the member the
/// writer waits for there is on the mocked client.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
    use aws_sdk_rds::operation::describe_global_clusters::{
        DescribeGlobalClustersError, DescribeGlobalClustersOutput,
    };
    use aws_sdk_rds::operation::failover_global_cluster::FailoverGlobalClusterOutput;
    use aws_sdk_rds::operation::remove_from_global_cluster::{
        RemoveFromGlobalClusterError, RemoveFromGlobalClusterOutput,
    };
    use aws_sdk_rds::operation::switchover_global_cluster::{
        SwitchoverGlobalClusterError, SwitchoverGlobalClusterOutput,
    };
    use aws_sdk_rds::types::{DbCluster, GlobalClusterMember};
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    const PRIMARY: &str = "arn:aws:rds:us-east-1:123456789012:cluster:luneo-prod-primary";
    const SECONDARY: &str = "arn:aws:rds:eu-west-1:123456789012:cluster:luneo-prod-secondary";

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }

    fn said(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    fn inputs(writer_region: &str, allow_data_loss: bool) -> WriterInputs {
        WriterInputs {
            global_cluster: "luneo-prod".into(),
            writer_region: writer_region.into(),
            members: BTreeMap::from([
                ("us-east-1".to_string(), "luneo-prod-primary".to_string()),
                ("eu-west-1".to_string(), "luneo-prod-secondary".to_string()),
            ]),
            allow_data_loss,
        }
    }

    fn spec(writer_region: &str, allow_data_loss: bool) -> Spec {
        Spec::of("writer", &inputs(writer_region, allow_data_loss))
    }

    fn record(writer_region: &str) -> Record {
        Record::new(
            "rds_global_writer",
            "luneo-prod",
            json!(inputs(writer_region, false)),
        )
    }

    /// The global cluster in `status`, `writer` (an ARN) writing, with
    /// `members` (ARNs).
    fn global(
        status: &'static str,
        writer: &'static str,
        members: &'static [&'static str],
    ) -> Rule {
        mock!(Client::describe_global_clusters)
            .match_requests(|r| r.global_cluster_identifier() == Some("luneo-prod"))
            .then_output(move || described(status, writer, members))
    }

    fn described(status: &str, writer: &str, members: &[&str]) -> DescribeGlobalClustersOutput {
        let members = members
            .iter()
            .map(|arn| {
                GlobalClusterMember::builder()
                    .db_cluster_arn(*arn)
                    .is_writer(*arn == writer)
                    .build()
            })
            .collect();
        DescribeGlobalClustersOutput::builder()
            .global_clusters(
                Global::builder()
                    .global_cluster_identifier("luneo-prod")
                    .status(status)
                    .set_global_cluster_members(Some(members))
                    .build(),
            )
            .build()
    }

    /// The member cluster in eu-west-1, available (the SDK waiter's look).
    fn secondary_available() -> Rule {
        mock!(Client::describe_db_clusters)
            .match_requests(|r| r.db_cluster_identifier() == Some("luneo-prod-secondary"))
            .then_output(|| {
                DescribeDbClustersOutput::builder()
                    .db_clusters(
                        DbCluster::builder()
                            .db_cluster_identifier("luneo-prod-secondary")
                            .status("available")
                            .build(),
                    )
                    .build()
            })
    }

    const BOTH: &[&str] = &[PRIMARY, SECONDARY];

    #[tokio::test(start_paused = true)]
    async fn a_writer_already_in_the_wanted_region_is_left_as_it_is() {
        // Only the look: a switchover or failover would find no rule.
        for (want, writer) in [("eu-west-1", SECONDARY), ("us-east-1", PRIMARY)] {
            let describe = global("available", writer, BOTH);
            let rec = Writer
                .create(
                    &env_over(&[&describe]),
                    &spec(want, false),
                    &Records::default(),
                )
                .await
                .unwrap();
            assert_eq!(describe.num_calls(), 1);
            assert_eq!(rec.kind, "rds_global_writer");
            assert_eq!(rec.id, "luneo-prod");
            assert_eq!(rec.inputs["writer_region"], json!(want));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_writer_in_another_region_is_switched_over_and_waited_for() {
        let before = global("available", PRIMARY, BOTH);
        let switch = mock!(Client::switchover_global_cluster)
            .match_requests(|r| {
                r.global_cluster_identifier() == Some("luneo-prod")
                    && r.target_db_cluster_identifier() == Some(SECONDARY)
            })
            .then_output(|| SwitchoverGlobalClusterOutput::builder().build());
        // Switching over: still the primary, then the secondary but not yet
        // available, then done.
        let during = mock!(Client::describe_global_clusters)
            .sequence()
            .output(|| described("switching-over", PRIMARY, BOTH))
            .output(|| described("switching-over", SECONDARY, BOTH))
            .output(|| described("available", SECONDARY, BOTH))
            .build();
        let member = secondary_available();
        let rec = Writer
            .update(
                &env_over(&[&before, &switch, &during, &member]),
                &spec("eu-west-1", false),
                &record("us-east-1"),
                &Records::default(),
            )
            .await
            .unwrap();
        assert_eq!(switch.num_calls(), 1);
        assert_eq!(
            (during.num_calls(), member.num_calls()),
            (3, 1),
            "waited until the secondary writes, all available, then for the member"
        );
        assert_eq!(rec.id, "luneo-prod");
        assert_eq!(rec.inputs["writer_region"], json!("eu-west-1"));
    }

    #[tokio::test(start_paused = true)]
    async fn with_allow_data_loss_a_writer_in_another_region_is_failed_over() {
        let before = global("available", PRIMARY, BOTH);
        // No SwitchoverGlobalCluster rule: a switchover would fail the test.
        let failover = mock!(Client::failover_global_cluster)
            .match_requests(|r| {
                r.global_cluster_identifier() == Some("luneo-prod")
                    && r.target_db_cluster_identifier() == Some(SECONDARY)
                    && r.allow_data_loss() == Some(true)
            })
            .then_output(|| FailoverGlobalClusterOutput::builder().build());
        let after = global("available", SECONDARY, BOTH);
        let member = secondary_available();
        let rec = Writer
            .update(
                &env_over(&[&before, &failover, &after, &member]),
                &spec("eu-west-1", true),
                &record("us-east-1"),
                &Records::default(),
            )
            .await
            .unwrap();
        assert_eq!((failover.num_calls(), member.num_calls()), (1, 1));
        assert_eq!(rec.inputs["writer_region"], json!("eu-west-1"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wanted_region_without_a_member_is_an_error_before_any_switchover() {
        let describe = global("available", PRIMARY, BOTH);
        let e = Writer
            .update(
                &env_over(&[&describe]),
                &spec("ap-southeast-2", false),
                &record("us-east-1"),
                &Records::default(),
            )
            .await
            .unwrap_err();
        assert!(
            e.message.contains("no member cluster in ap-southeast-2"),
            "{}",
            e.message
        );
        let gone = mock!(Client::describe_global_clusters).then_error(|| {
            DescribeGlobalClustersError::generic(said(
                "GlobalClusterNotFoundFault",
                "Global cluster luneo-prod not found.",
            ))
        });
        let e = Writer
            .create(
                &env_over(&[&gone]),
                &spec("eu-west-1", false),
                &Records::default(),
            )
            .await
            .unwrap_err();
        assert!(
            e.message
                .contains("global cluster luneo-prod does not exist"),
            "{}",
            e.message
        );
    }

    /// SwitchoverGlobalCluster is settled: a refusal is final after one
    /// call, and nothing is waited for.
    #[tokio::test(start_paused = true)]
    async fn a_refused_switchover_is_final_after_one_call() {
        let before = global("available", PRIMARY, BOTH);
        let switch = mock!(Client::switchover_global_cluster).then_error(|| {
            SwitchoverGlobalClusterError::generic(said(
                "InvalidGlobalClusterStateFault",
                "Global cluster luneo-prod is in modifying state.",
            ))
        });
        let e = Writer
            .update(
                &env_over(&[&before, &switch]),
                &spec("eu-west-1", false),
                &record("us-east-1"),
                &Records::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(switch.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("SwitchoverGlobalCluster: InvalidGlobalClusterStateFault"),
            "{}",
            e.message
        );
    }

    /// Destroy detaches the readers, never the writer: the reader (in the
    /// context's region) is removed, RemoveFromGlobalCluster's "member still
    /// busy" retried, then it is waited for until it has left and is
    /// available; any other refusal is final after one call.
    #[tokio::test(start_paused = true)]
    async fn delete_detaches_each_reader_retrying_a_busy_member_and_any_other_error_is_final() {
        let busy = REMOVE_FROM_GLOBAL.not_yet[0];
        let before = global("available", PRIMARY, BOTH);
        let remove = mock!(Client::remove_from_global_cluster)
            .match_requests(|r| {
                r.global_cluster_identifier() == Some("luneo-prod")
                    && r.db_cluster_identifier() == Some(SECONDARY)
            })
            .sequence()
            .error(move || RemoveFromGlobalClusterError::generic(said(busy.code, busy.says)))
            .output(|| RemoveFromGlobalClusterOutput::builder().build())
            .build();
        let left = global("available", PRIMARY, &[PRIMARY]);
        let member = secondary_available();
        Writer
            .delete(
                &env_over(&[&before, &remove, &left, &member]),
                &record("us-east-1"),
            )
            .await
            .unwrap();
        assert_eq!(remove.num_calls(), 2, "retried once, then detached");
        assert_eq!((left.num_calls(), member.num_calls()), (1, 1));

        let before = global("available", PRIMARY, BOTH);
        let remove = mock!(Client::remove_from_global_cluster).then_error(|| {
            RemoveFromGlobalClusterError::generic(said(
                "InvalidGlobalClusterStateFault",
                "Global cluster luneo-prod is in modifying state.",
            ))
        });
        let e = Writer
            .delete(&env_over(&[&before, &remove]), &record("us-east-1"))
            .await
            .unwrap_err();
        assert_eq!(remove.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("RemoveFromGlobalCluster: InvalidGlobalClusterStateFault")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_global_cluster_gone_reads_as_none_and_deletes_as_done() {
        let gone = || {
            mock!(Client::describe_global_clusters).then_error(|| {
                DescribeGlobalClustersError::generic(said(
                    "GlobalClusterNotFoundFault",
                    "Global cluster luneo-prod not found.",
                ))
            })
        };
        let (read, delete) = (gone(), gone());
        assert!(Writer
            .read(&env_over(&[&read]), &record("us-east-1"))
            .await
            .unwrap()
            .is_none());
        Writer
            .delete(&env_over(&[&delete]), &record("us-east-1"))
            .await
            .unwrap();
        assert_eq!((read.num_calls(), delete.num_calls()), (1, 1));

        // An answer that names another global cluster only is not this one.
        let other = mock!(Client::describe_global_clusters).then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .global_clusters(
                    Global::builder()
                        .global_cluster_identifier("luneo-staging")
                        .status("available")
                        .build(),
                )
                .build()
        });
        assert!(Writer
            .read(&env_over(&[&other]), &record("us-east-1"))
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_reports_a_switchover_made_outside_terraform() {
        let describe = global("available", SECONDARY, BOTH);
        let r = Writer
            .read(&env_over(&[&describe]), &record("us-east-1"))
            .await
            .unwrap()
            .expect("the global cluster exists");
        assert_eq!(r.inputs["writer_region"], json!("eu-west-1"));
        assert_eq!(r.id, "luneo-prod");
    }
}
