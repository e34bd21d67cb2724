//! Amazon RDS: a PostgreSQL instance and its subnet group (the container
//! service), and Aurora Global Database (the platform): the global cluster,
//! its member clusters (one per region), their instances, and which region
//! writes. Created and deleted in the order AWS requires: the global
//! cluster before its members; the secondary once the primary writes; each
//! member detached and available before it is deleted, readers before the
//! writer; the global cluster once it is empty.

use super::subnet_groups::*;
use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, sdk_wait, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Timeouts, Waiter, GONE, PROPAGATION,
};
use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::types::{GlobalCluster as Global, Tag};
use serde_json::{json, Value as Json};
use std::time::Duration;

mod subnet_group;
pub use subnet_group::*;
mod instance;
pub use instance::*;
mod global_cluster;
pub use global_cluster::*;
mod member_cluster;
pub use member_cluster::*;
mod cluster_instance;
pub use cluster_instance::*;
mod writer;
pub use writer::*;

fn rds_tags(env: &E, spec: &Spec) -> Vec<Tag> {
    spec_tags(env, spec)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A member just switched over or failed over, or still busy after it
/// joined, refuses to leave its global cluster until it is available.
const REMOVE_FROM_GLOBAL: Call = Call::retrying(
    "rds:RemoveFromGlobalCluster",
    Duration::from_secs(600),
    &[NotYet::code("InvalidDBClusterStateFault", "The requested operation can't be performed while the cluster is in this state.")],
)
.why("hashicorp/aws rds/global_cluster.go resourceGlobalClusterDelete and cluster.go resourceClusterDelete remove a member once, then wait for it to leave and be available; our destroy detaches right after a switchover or a member's create settles, when RDS still refuses with InvalidDBClusterStateFault, so we retry it for 10 minutes (as before)");
/// The Aurora reads every kind of the global database makes (the SDK's
/// cluster waiters describe the cluster).
const DESCRIBE_GLOBAL: Call = Call::read("rds:DescribeGlobalClusters");
const DESCRIBE_CLUSTERS: Call = Call::read("rds:DescribeDBClusters");

const GLOBAL_AVAILABLE: Waiter = Waiter::new(
    "to be available",
    &["creating", "modifying", GONE],
    &["available"],
)
.poll(Duration::from_secs(15));
const GLOBAL_DELETED: Waiter = Waiter::new(
    "to be deleted",
    &["available", "deleting", "modifying"],
    &[GONE],
)
.poll(Duration::from_secs(15));

async fn global_state(env: &E, id: &str) -> Result<Option<(String, ())>, OpError> {
    Ok(describe_global(env, id)
        .await?
        .map(|g| (g.status().unwrap_or_default().to_string(), ())))
}

/// The global cluster `id` as AWS describes it (the filter is applied here
/// too: not every endpoint honours the identifier).
pub async fn describe_global(env: &E, id: &str) -> Result<Option<Global>, OpError> {
    match env
        .ctx
        .rds()
        .describe_global_clusters()
        .global_cluster_identifier(id)
        .send()
        .await
    {
        Ok(o) => Ok(o
            .global_clusters()
            .iter()
            .find(|g| g.global_cluster_identifier() == Some(id))
            .cloned()),
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
    g.global_cluster_members()
        .iter()
        .find(|m| m.is_writer() == Some(true))
        .and_then(|m| m.db_cluster_arn())
        .map(|a| arn_region(a).to_string())
}

/// Takes the member `arn` out of the global cluster with the clients of its
/// region (`ctx`) and waits until it has left and is available on its own:
/// only then can it be deleted.
async fn detach(env: &E, ctx: &AwsContext, global: &str, arn: &str) -> Result<(), OpError> {
    let id = arn.rsplit(':').next().unwrap_or_default().to_string();
    let rds = ctx.rds();
    match env
        .call(&REMOVE_FROM_GLOBAL, || {
            rds.remove_from_global_cluster()
                .global_cluster_identifier(global)
                .db_cluster_identifier(arn)
                .send()
        })
        .await
    {
        Ok(_) => {}
        // Already out (hashicorp/aws takes these for done as well).
        Err(e) if crate::aws::code_in(&e.error, &["GlobalClusterNotFoundFault"]) => {}
        Err(e)
            if crate::aws::code_in(&e.error, &["InvalidParameterValue"])
                && crate::aws::error_text(&e.error).contains("is not found in global cluster") => {}
        Err(e) => return Err(failed(e)),
    }
    env.wait_until(
        &format!("Aurora cluster {id} to leave {global}"),
        || async {
            Ok(describe_global(env, global)
                .await?
                .map(|g| {
                    !g.global_cluster_members()
                        .iter()
                        .any(|m| m.db_cluster_arn() == Some(arn))
                })
                .unwrap_or(true)
                .then_some(()))
        },
    )
    .await?;
    let rds = ctx.rds().clone();
    let i = id.clone();
    sdk_wait(
        env,
        &format!("Aurora cluster {id} to be available after leaving {global}"),
        |max| async move {
            rds.wait_until_db_cluster_available()
                .db_cluster_identifier(i)
                .wait(max)
                .await
        },
    )
    .await?;
    Ok(())
}

/// `detach` (what the member cluster's and the writer's deletes call)
/// against aws-smithy-mocks: RemoveFromGlobalCluster's "not yet" retried.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
    use aws_sdk_rds::operation::describe_global_clusters::DescribeGlobalClustersOutput;
    use aws_sdk_rds::operation::remove_from_global_cluster::{
        RemoveFromGlobalClusterError, RemoveFromGlobalClusterOutput,
    };
    use aws_sdk_rds::types::DbCluster;
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    const ARN: &str = "arn:aws:rds:eu-west-2:123456789012:cluster:luneo-prod-secondary";

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }

    #[tokio::test(start_paused = true)]
    async fn a_member_still_busy_is_detached_once_it_settles_and_any_other_error_is_final() {
        let busy = REMOVE_FROM_GLOBAL.not_yet[0];
        let remove = mock!(Client::remove_from_global_cluster)
            .match_requests(|r| {
                r.global_cluster_identifier() == Some("luneo-prod")
                    && r.db_cluster_identifier() == Some(ARN)
            })
            .sequence()
            .error(move || {
                RemoveFromGlobalClusterError::generic(
                    ErrorMetadata::builder()
                        .code(busy.code)
                        .message(busy.says)
                        .build(),
                )
            })
            .output(|| RemoveFromGlobalClusterOutput::builder().build())
            .build();
        // Then it has left (no longer a member) and is available on its own.
        let left = mock!(Client::describe_global_clusters).then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .global_clusters(
                    Global::builder()
                        .global_cluster_identifier("luneo-prod")
                        .status("available")
                        .build(),
                )
                .build()
        });
        let available = mock!(Client::describe_db_clusters).then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(
                    DbCluster::builder()
                        .db_cluster_identifier("luneo-prod-secondary")
                        .status("available")
                        .build(),
                )
                .build()
        });
        let env = env_over(&[&remove, &left, &available]);
        detach(&env, &env.ctx, "luneo-prod", ARN).await.unwrap();
        assert_eq!(
            (remove.num_calls(), left.num_calls(), available.num_calls()),
            (2, 1, 1),
            "retried once, then detached"
        );

        let remove = mock!(Client::remove_from_global_cluster)
            .then_error(|| RemoveFromGlobalClusterError::generic(fault("InjectedFailure")));
        let env = env_over(&[&remove]);
        let e = detach(&env, &env.ctx, "luneo-prod", ARN).await.unwrap_err();
        assert_eq!(remove.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("RemoveFromGlobalCluster: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }
}
mod tags;
pub(crate) use tags::*;
