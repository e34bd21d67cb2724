//! What the RDS and ElastiCache subnet groups (and what uses them) share:
//! their subnets in a slot, the drain after a delete, the security groups
//! of their users, the name of a final snapshot; and what an adoption
//! (`Kind::observe`) reads the same way in every kind: a slot's names,
//! a name inside an ARN.

use crate::engine::{Need, OpError, Record, Records, Spec};
use serde_json::{json, Value as Json};

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

/// What a slot of an adopted object names (`Kind::observe`): each AWS id
/// the object shows as the dependency in `deps` whose record has that id
/// (or that ARN), the id itself where none has it (a difference the plan
/// shows). A list keeps the spec's order for the names it holds, the
/// others after them, so that the same set reads as the same list. Shared
/// by every kind whose subnets (or roles) fill a slot.
pub(crate) fn observed_slot(spec: &Spec, slot: &str, deps: &Records, ids: &[String]) -> Json {
    let name_of = |id: &str| {
        deps.iter()
            .find(|(_, r)| r.id == id || r.out("arn") == id)
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    match &spec.inputs[slot] {
        Json::Array(order) => {
            let at = |n: &String| {
                order
                    .iter()
                    .position(|o| o.as_str() == Some(n.as_str()))
                    .unwrap_or(usize::MAX)
            };
            let mut names: Vec<String> = ids.iter().map(|i| name_of(i)).collect();
            names.sort_by(|a, b| at(a).cmp(&at(b)).then_with(|| a.cmp(b)));
            json!(names)
        }
        _ => ids.first().map_or(Json::Null, |i| json!(name_of(i))),
    }
}

/// A subnet group as an adopted object (`Kind::observe`): the name AWS
/// has, its subnets as the slot names them, and the subnet ids it holds as
/// `create` records them (so that the update that follows compares them).
pub(crate) fn observed_group(
    kind: &str,
    spec: &Spec,
    deps: &Records,
    name: &str,
    mut subnets: Vec<String>,
) -> Record {
    let inputs = json!({
        "name": name,
        "subnets": observed_slot(spec, "subnets", deps, &subnets),
    });
    subnets.sort();
    Record::new(kind, name, inputs).with("subnet_ids", subnets.join(","))
}

/// The part of `id` after `marker` when `id` is an ARN that has it (the
/// name in `arn:aws:rds:eu-west-1:123456789012:subgrp:NAME`), else `id`:
/// how an adopted object's id, given as its hashicorp/aws `id` or its ARN,
/// becomes the name the kind records.
pub(crate) fn arn_tail<'a>(id: &'a str, marker: &str) -> &'a str {
    match id.strip_prefix("arn:").and_then(|_| id.split_once(marker)) {
        Some((_, tail)) => tail,
        None => id,
    }
}

pub(crate) fn final_snapshot_id(rec: &Record) -> String {
    format!(
        "{}-final-{}",
        rec.id,
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    )
}
