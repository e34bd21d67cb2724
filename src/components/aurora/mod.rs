//! Aurora Global Database: the global cluster, its member clusters (one
//! per region), their instances, and which region writes. Created and
//! deleted in the order AWS requires: the global cluster before its
//! members; the secondary once the primary writes; each member detached
//! and available before it is deleted, readers before the writer; the
//! global cluster once it is empty.

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

mod global_cluster;
pub use global_cluster::*;
mod member_cluster;
pub use member_cluster::*;
mod instance;
pub use instance::*;
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
