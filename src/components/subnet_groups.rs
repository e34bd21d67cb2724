//! What the RDS and ElastiCache subnet groups (and what uses them) share:
//! their subnets in a slot, the drain after a delete, the security groups
//! of their users, the name of a final snapshot.

use crate::engine::{Need, OpError, Record, Records, Spec};
use serde_json::json;

/// How long a database or cache just deleted may still hold its subnet
/// group: the stack deletes the group as soon as the delete of what used
/// it has waited it out.
pub(crate) const DRAIN: std::time::Duration = std::time::Duration::from_secs(300);

/// A subnet group's subnets, in the slot `subnets`: one added or left out
/// is a change of that input.
pub(crate) const GROUP_SUBNETS: Need = super::need::SUBNETS.in_slot("subnets");

pub(crate) fn subnet_ids(spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
    GROUP_SUBNETS.ids_in(spec, deps)
}

pub(crate) fn sg_ids(deps: &Records) -> Vec<String> {
    super::need::SECURITY_GROUPS.ids(deps)
}

/// The subnet ids a subnet group was given, as recorded in its outputs.
pub(crate) fn with_subnets(r: Record, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
    let mut ids = subnet_ids(spec, deps)?;
    ids.sort();
    Ok(r.with("subnet_ids", ids.join(",")))
}

/// A subnet group read back: when its subnets are no longer the ones it
/// was given (changed out of band), `subnets` shows the observed ids, so
/// the plan updates the group back to the stack's subnets.
pub(crate) fn observe_subnets(rec: &Record, mut observed: Vec<String>) -> Record {
    let mut r = rec.clone();
    observed.sort();
    if !rec.out("subnet_ids").is_empty() && observed.join(",") != rec.out("subnet_ids") {
        r.inputs["subnets"] = json!(observed);
    }
    r
}

pub(crate) fn final_snapshot_id(rec: &Record) -> String {
    format!(
        "{}-final-{}",
        rec.id,
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    )
}
