//! What a kind needs from its dependencies, declared beside the kind and
//! checked when the graph is built (`plan`): a stack that forgets one, or
//! gives two where one is meant, fails at plan with the component named,
//! never mid-apply after half the stack exists. A need is filled by the
//! *kind* of a dependency (a NAT gateway's subnet is the one `ec2_subnet`
//! among its dependencies), not by a key's spelling, so renaming a key
//! cannot silently detach it.
//!
//! A kind that needs two dependencies of one kind in different roles (a task
//! definition's execution and task roles, a replication's source and
//! destination buckets) declares a need per *slot*: the stack fills it with
//! `Spec::filling`, the spec's input of that name holds the dependency's
//! name, and the kind takes it with `the_in` / `ids_in` / `maybe_in`.

use super::{dep_name, Cloud, Kinds, OpError, Record, Records, Spec};
use std::collections::BTreeMap;

/// How many dependencies fill a need.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Count {
    One,
    AtMostOne,
    AtLeastOne,
}

/// One need of a kind: `what` it is (for messages), the kinds that fill
/// it, and how many.
#[derive(Clone, Copy, Debug)]
pub struct Need {
    pub what: &'static str,
    pub kinds: &'static [&'static str],
    pub count: Count,
    /// The slot (an input of the spec) that names the dependencies filling
    /// the need; None: any dependency of the kinds, outside every slot.
    pub slot: Option<&'static str>,
}

impl Need {
    pub const fn one(what: &'static str, kinds: &'static [&'static str]) -> Need {
        Need {
            what,
            kinds,
            count: Count::One,
            slot: None,
        }
    }
    pub const fn optional(what: &'static str, kinds: &'static [&'static str]) -> Need {
        Need {
            what,
            kinds,
            count: Count::AtMostOne,
            slot: None,
        }
    }
    pub const fn some(what: &'static str, kinds: &'static [&'static str]) -> Need {
        Need {
            what,
            kinds,
            count: Count::AtLeastOne,
            slot: None,
        }
    }
    /// The same need, filled through the slot `name` (an input of the
    /// spec) rather than by any dependency of its kinds.
    pub const fn in_slot(self, name: &'static str) -> Need {
        Need {
            slot: Some(name),
            ..self
        }
    }
    fn fills(&self, kind: &str) -> bool {
        self.kinds.contains(&kind)
    }
    fn matching<'a>(&self, deps: &'a Records) -> impl Iterator<Item = &'a Record> + 'a {
        let need = *self;
        // A slotted need is only ever filled through its slot.
        deps.values()
            .filter(move |r| need.slot.is_none() && need.fills(&r.kind))
    }
    fn exactly_one<'a>(
        &self,
        mut found: impl Iterator<Item = &'a Record>,
    ) -> Result<&'a Record, OpError> {
        match (found.next(), found.next()) {
            (Some(r), None) => Ok(r),
            (None, _) => Err(OpError::new(format!("missing {} dependency", self.what))),
            (Some(_), Some(_)) => Err(OpError::new(format!(
                "more than one {} dependency",
                self.what
            ))),
        }
    }
    fn at_most_one<'a>(
        &self,
        mut found: impl Iterator<Item = &'a Record>,
    ) -> Result<Option<&'a Record>, OpError> {
        match (found.next(), found.next()) {
            (r, None) => Ok(r),
            (_, Some(_)) => Err(OpError::new(format!(
                "more than one {} dependency",
                self.what
            ))),
        }
    }
    /// The dependency that fills a `one` need. The graph check makes a
    /// missing or second one impossible; an error, never a panic, if not.
    pub fn the<'a>(&self, deps: &'a Records) -> Result<&'a Record, OpError> {
        self.exactly_one(self.matching(deps))
    }
    /// The dependency that fills an `optional` need, if any.
    pub fn maybe<'a>(&self, deps: &'a Records) -> Result<Option<&'a Record>, OpError> {
        self.at_most_one(self.matching(deps))
    }
    /// The AWS ids of the dependencies that fill a `some` need, in key order.
    pub fn ids(&self, deps: &Records) -> Vec<String> {
        self.matching(deps).map(|r| r.id.clone()).collect()
    }
    /// The dependencies a slotted need's input names, in its order; a name
    /// that is not a dependency of a kind that fills the need is an error.
    pub fn in_spec<'a>(&self, spec: &Spec, deps: &'a Records) -> Result<Vec<&'a Record>, OpError> {
        let Some(slot) = self.slot else {
            return Ok(self.matching(deps).collect());
        };
        let names: Vec<&str> = match &spec.inputs[slot] {
            serde_json::Value::String(n) => vec![n.as_str()],
            serde_json::Value::Array(ns) => ns.iter().filter_map(|n| n.as_str()).collect(),
            _ => vec![],
        };
        names
            .into_iter()
            .map(|n| match deps.get(n) {
                Some(r) if self.fills(&r.kind) => Ok(r),
                Some(r) => Err(OpError::new(format!(
                    "{slot} names {n}, a {} where a {} ({}) is needed",
                    r.kind,
                    self.what,
                    self.kinds.join(" or ")
                ))),
                None => Err(OpError::new(format!(
                    "{slot} names {n}, which is not a dependency"
                ))),
            })
            .collect()
    }
    /// `the`, through the need's slot.
    pub fn the_in<'a>(&self, spec: &Spec, deps: &'a Records) -> Result<&'a Record, OpError> {
        self.exactly_one(self.in_spec(spec, deps)?.into_iter())
    }
    /// `maybe`, through the need's slot.
    pub fn maybe_in<'a>(
        &self,
        spec: &Spec,
        deps: &'a Records,
    ) -> Result<Option<&'a Record>, OpError> {
        self.at_most_one(self.in_spec(spec, deps)?.into_iter())
    }
    /// `ids`, through the need's slot, in the slot's order.
    pub fn ids_in(&self, spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
        Ok(self
            .in_spec(spec, deps)?
            .into_iter()
            .map(|r| r.id.clone())
            .collect())
    }
}

/// Checks every component's dependencies against its kind's needs; the
/// first mismatch as a message naming the component, the need and the
/// dependencies found.
pub fn check<C: Cloud>(kinds: &Kinds<C>, desired: &[Spec]) -> Result<(), String> {
    let kind_of: BTreeMap<&str, &str> = desired.iter().map(|s| (s.key.as_str(), s.kind)).collect();
    for spec in desired {
        let Ok(kind) = kinds.get(spec.kind) else {
            continue;
        };
        let needs = kind.needs();
        // A slot the kind does not declare would be a dependency no need
        // accounts for, seen by a need of its kind outside every slot.
        if let Some(d) = spec.deps.iter().find(|d| {
            d.slot
                .is_some_and(|s| !needs.iter().any(|n| n.slot == Some(s.name)))
        }) {
            return Err(format!(
                "component {} ({}) has no slot {} for its dependency {}",
                spec.key,
                spec.kind,
                d.slot.map(|s| s.name).unwrap_or_default(),
                d.key
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        if let Some(d) = spec
            .deps
            .iter()
            .find(|d| !names.insert(dep_name(&spec.key, &d.key)))
        {
            return Err(format!(
                "component {} ({}) sees two dependencies named {}",
                spec.key,
                spec.kind,
                dep_name(&spec.key, &d.key)
            ));
        }
        kind.check_inputs(&spec.inputs)
            .map_err(|e| format!("component {} ({}): {e}", spec.key, spec.kind))?;
        for r in super::inputs::references(&spec.inputs) {
            let Some(dep) = spec
                .deps
                .iter()
                .find(|d| dep_name(&spec.key, &d.key) == r.name)
            else {
                return Err(format!("component {} ({}) refers to {r}, which is the output of none of its dependencies", spec.key, spec.kind));
            };
            let of = kind_of
                .get(dep.key.as_str())
                .copied()
                .unwrap_or("unknown kind");
            let declared = kinds.get(of).map(|k| k.outputs()).unwrap_or_default();
            if r.output != "id" && !declared.contains(&r.output.as_str()) {
                return Err(format!(
                    "component {} ({}) refers to {r}, an output a {of} does not have (it has: id{})",
                    spec.key,
                    spec.kind,
                    declared.iter().map(|o| format!(", {o}")).collect::<String>()
                ));
            }
        }
        let names: Vec<&str> = names.into_iter().collect();
        kind.check_spec(spec, &names)
            .map_err(|e| format!("component {} ({}): {e}", spec.key, spec.kind))?;
        for need in needs {
            let filling: Vec<&str> = spec
                .deps
                .iter()
                .filter(|d| d.slot.map(|s| s.name) == need.slot)
                .map(|d| d.key.as_str())
                .filter(|d| kind_of.get(d).is_some_and(|k| need.fills(k)))
                .collect();
            let stray: Vec<&str> = spec
                .deps
                .iter()
                .filter(|d| d.slot.is_some() && d.slot.map(|s| s.name) == need.slot)
                .map(|d| d.key.as_str())
                .filter(|d| !filling.contains(d))
                .collect();
            let wrong = !stray.is_empty()
                || match need.count {
                    Count::One => filling.len() != 1,
                    Count::AtMostOne => filling.len() > 1,
                    Count::AtLeastOne => filling.is_empty(),
                };
            if wrong {
                let found = if filling.is_empty() && stray.is_empty() {
                    "none".to_string()
                } else {
                    filling
                        .iter()
                        .chain(&stray)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let wanted = match need.count {
                    Count::One => "exactly one",
                    Count::AtMostOne => "at most one",
                    Count::AtLeastOne => "at least one",
                };
                let place = need
                    .slot
                    .map(|s| format!(" in its slot {s}"))
                    .unwrap_or_else(|| " among its dependencies".into());
                return Err(format!(
                    "component {} ({}) needs {wanted} {} ({}){place}; found {found}",
                    spec.key,
                    spec.kind,
                    need.what,
                    need.kinds.join(" or ")
                ));
            }
        }
    }
    Ok(())
}
