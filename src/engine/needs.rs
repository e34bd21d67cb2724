//! What a kind needs from its dependencies, declared beside the kind and
//! checked when the graph is built (`plan`): a stack that forgets one, or
//! gives two where one is meant, fails at plan with the component named,
//! never mid-apply after half the stack exists. A need is filled by the
//! *kind* of a dependency (a NAT gateway's subnet is the one `ec2_subnet`
//! among its dependencies), not by a key's spelling, so renaming a key
//! cannot silently detach it.

use super::{Cloud, Kinds, OpError, Record, Records, Spec};
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
}

impl Need {
    pub const fn one(what: &'static str, kinds: &'static [&'static str]) -> Need {
        Need { what, kinds, count: Count::One }
    }
    pub const fn optional(what: &'static str, kinds: &'static [&'static str]) -> Need {
        Need { what, kinds, count: Count::AtMostOne }
    }
    pub const fn some(what: &'static str, kinds: &'static [&'static str]) -> Need {
        Need { what, kinds, count: Count::AtLeastOne }
    }
    fn fills(&self, kind: &str) -> bool {
        self.kinds.contains(&kind)
    }
    fn matching<'a>(&self, deps: &'a Records) -> impl Iterator<Item = &'a Record> + 'a {
        let need = *self;
        deps.values().filter(move |r| need.fills(&r.kind))
    }
    /// The dependency that fills a `one` need. The graph check makes a
    /// missing or second one impossible; an error, never a panic, if not.
    pub fn the<'a>(&self, deps: &'a Records) -> Result<&'a Record, OpError> {
        let mut found = self.matching(deps);
        match (found.next(), found.next()) {
            (Some(r), None) => Ok(r),
            (None, _) => Err(OpError::new(format!("missing {} dependency", self.what))),
            (Some(_), Some(_)) => Err(OpError::new(format!("more than one {} dependency", self.what))),
        }
    }
    /// The dependency that fills an `optional` need, if any.
    pub fn maybe<'a>(&self, deps: &'a Records) -> Result<Option<&'a Record>, OpError> {
        let mut found = self.matching(deps);
        match (found.next(), found.next()) {
            (r, None) => Ok(r),
            (_, Some(_)) => Err(OpError::new(format!("more than one {} dependency", self.what))),
        }
    }
    /// The AWS ids of the dependencies that fill a `some` need, in key order.
    pub fn ids(&self, deps: &Records) -> Vec<String> {
        self.matching(deps).map(|r| r.id.clone()).collect()
    }
}

/// Checks every component's dependencies against its kind's needs; the
/// first mismatch as a message naming the component, the need and the
/// dependencies found.
pub fn check<C: Cloud>(kinds: &Kinds<C>, desired: &[Spec]) -> Result<(), String> {
    let kind_of: BTreeMap<&str, &str> = desired.iter().map(|s| (s.key.as_str(), s.kind)).collect();
    for spec in desired {
        let Ok(kind) = kinds.get(spec.kind) else { continue };
        for need in kind.needs() {
            let filling: Vec<&str> = spec.deps.iter().map(|(d, _)| d.as_str()).filter(|d| kind_of.get(d).is_some_and(|k| need.fills(k))).collect();
            let wrong = match need.count {
                Count::One => filling.len() != 1,
                Count::AtMostOne => filling.len() > 1,
                Count::AtLeastOne => filling.is_empty(),
            };
            if wrong {
                let found = if filling.is_empty() { "none".to_string() } else { filling.join(", ") };
                let wanted = match need.count {
                    Count::One => "exactly one",
                    Count::AtMostOne => "at most one",
                    Count::AtLeastOne => "at least one",
                };
                return Err(format!("component {} ({}) needs {wanted} {} ({}) among its dependencies; found {found}", spec.key, spec.kind, need.what, need.kinds.join(" or ")));
            }
        }
    }
    Ok(())
}
