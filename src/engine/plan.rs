//! Desired graph vs recorded components: the changes.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    UpdateTags,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::UpdateTags => "update tags",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: String,
    pub kind: String,
    pub action: Action,
    pub reason: String,
}

impl Change {
    pub fn describe(&self) -> String {
        if self.reason.is_empty() {
            format!("{} {} ({})", self.action.verb(), self.key, self.kind)
        } else {
            format!(
                "{} {} ({}): {}",
                self.action.verb(),
                self.key,
                self.kind,
                self.reason
            )
        }
    }
}

/// Fields of `desired` that differ from `recorded` (null desired fields are
/// "don't care").
pub(crate) fn differing_fields(desired: &Json, recorded: &Json) -> Vec<String> {
    match (desired, recorded) {
        (Json::Object(d), Json::Object(r)) => d
            .iter()
            .filter(|(k, v)| !v.is_null() && r.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect(),
        _ if desired != recorded => vec!["*".into()],
        _ => vec![],
    }
}

/// The replacements in `changes` that involve an object the stack does not
/// own (a referenced VPC exchanged for another, or for one of the stack's
/// own, or the reverse): each would re-create everything that depends on it
/// (load balancer, database, cache) in another network, so a plan refuses
/// them. Each with the attribute that decides it.
pub fn referenced_replacements<C: Cloud>(
    kinds: &Kinds<C>,
    desired: &[Spec],
    recorded: &Records,
    changes: &[Change],
) -> Vec<(String, Option<&'static str>, String)> {
    let referenced = |k: &str| kinds.get(k).map(|k| k.referenced()).unwrap_or(false);
    let mut out = vec![];
    for c in changes.iter().filter(|c| c.action == Action::Replace) {
        let (Some(spec), Some(rec)) = (
            desired.iter().find(|s| s.key == c.key),
            recorded.get(&c.key),
        ) else {
            continue;
        };
        if referenced(spec.kind) || referenced(&rec.kind) {
            let what = match (referenced(&rec.kind), referenced(spec.kind)) {
                (false, true) => format!("{} is the stack's own ({}), and the configuration now names an existing one", c.key, rec.id),
                (true, false) => format!("{} is an existing one ({}) that the stack does not own, and the configuration now asks the stack to create its own", c.key, rec.id),
                _ => format!("{} would change from {} to another existing one", c.key, rec.id),
            };
            out.push((c.key.clone(), spec.named_by, what));
        }
    }
    out
}

/// Desired graph vs recorded components → the changes, in dependency order
/// (deletes last).
pub fn plan<C: Cloud>(
    kinds: &Kinds<C>,
    desired: &[Spec],
    recorded: &Records,
) -> Result<Vec<Change>, String> {
    let order = topo_order(desired)?;
    needs::check(kinds, desired)?;
    let by_key: BTreeMap<&str, &Spec> = desired.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut actions: BTreeMap<String, (Action, String)> = BTreeMap::new();
    for key in &order {
        let spec = by_key[key.as_str()];
        let kind = kinds.get(spec.kind).map_err(|e| e.message)?;
        let action = match recorded.get(key) {
            None => Some((Action::Create, String::new())),
            Some(rec) if rec.kind != spec.kind => {
                Some((Action::Replace, format!("kind changed from {}", rec.kind)))
            }
            Some(rec) if rec.region != spec.region => Some((
                Action::Replace,
                format!(
                    "region changed from {} to {}",
                    rec.region.as_deref().unwrap_or("the stack's"),
                    spec.region.as_deref().unwrap_or("the stack's")
                ),
            )),
            Some(rec) => {
                let diff = differing_fields(&spec.inputs, &rec.inputs);
                let forced = forced_fields(kind.as_ref(), spec, rec);
                if !forced.is_empty() {
                    Some((
                        Action::Replace,
                        format!(
                            "{} cannot change in place",
                            join(&forced.iter().collect::<Vec<_>>())
                        ),
                    ))
                } else {
                    // A dependency that gets a new identity.
                    let mut dep_action = None;
                    for Dep {
                        key: d,
                        on_change: how,
                        ..
                    } in &spec.deps
                    {
                        if let Some((a, _)) = actions.get(d) {
                            if matches!(a, Action::Create | Action::Replace)
                                && *how != OnDepChange::Nothing
                            {
                                let act = if *how == OnDepChange::Replace {
                                    Action::Replace
                                } else {
                                    Action::Update
                                };
                                if dep_action.as_ref().map(|(x, _)| act > *x).unwrap_or(true) {
                                    let how = if *a == Action::Create {
                                        "created"
                                    } else {
                                        "replaced"
                                    };
                                    dep_action = Some((act, format!("{d} is {how}")));
                                }
                            }
                        }
                    }
                    match (dep_action, diff.is_empty()) {
                        (Some((Action::Replace, r)), _) => Some((Action::Replace, r)),
                        (_, false) => Some((
                            Action::Update,
                            kind.describe_update(spec, rec, &diff)
                                .unwrap_or_else(|| join(&diff.iter().collect::<Vec<_>>())),
                        )),
                        (Some(x), true) => Some(x),
                        (None, true) => {
                            // Tags are diffed apart from the inputs: a tag-only
                            // change is an in-place tag update.
                            let (set, remove) = if kind.taggable() {
                                ownership::tag_diff(&spec.tags, &rec.tags)
                            } else {
                                Default::default()
                            };
                            let mut keys: Vec<String> = set.into_keys().chain(remove).collect();
                            keys.sort();
                            (!keys.is_empty()).then(|| (Action::UpdateTags, keys.join(", ")))
                        }
                    }
                }
            }
        };
        if let Some(a) = action {
            actions.insert(key.clone(), a);
        }
    }
    let mut changes: Vec<Change> = order
        .iter()
        .filter_map(|k| {
            actions.get(k).map(|(a, r)| Change {
                key: k.clone(),
                kind: by_key[k.as_str()].kind.to_string(),
                action: *a,
                reason: r.clone(),
            })
        })
        .collect();
    for (k, rec) in recorded.iter().rev() {
        if !by_key.contains_key(k.as_str()) {
            let reason = if k.ends_with(DEPOSED) {
                "replaced, deleted once its successor exists"
            } else {
                "no longer in the configuration"
            };
            changes.push(Change {
                key: k.clone(),
                kind: rec.kind.clone(),
                action: Action::Delete,
                reason: reason.into(),
            });
        }
    }
    Ok(changes)
}

pub(crate) fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Keys whose identity or outputs are not known until apply.
pub fn pending_keys(changes: &[Change]) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Replace))
        .map(|c| c.key.clone())
        .collect()
}
