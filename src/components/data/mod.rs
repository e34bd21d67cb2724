//! Databases and caches: RDS subnet group and instance, ElastiCache subnet
//! group and Redis replication group.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Timeouts, Waiter, GONE,
};
use serde_json::{json, Value as Json};

mod rds_subnet_group;
pub use rds_subnet_group::*;
mod rds_instance;
pub use rds_instance::*;
mod elasticache_subnet_group;
pub use elasticache_subnet_group::*;
mod redis_replication_group;
pub use redis_replication_group::*;

/// How long a database or cache just deleted may still hold its subnet
/// group: the stack deletes the group as soon as the delete of what used
/// it has waited it out.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(300);

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
    format!(
        "{}-final-{}",
        rec.id,
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    )
}
