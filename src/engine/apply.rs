//! Applying changes: deletes in reverse dependency order, then creates and
//! updates in order, independent branches concurrently.

use super::*;

#[derive(Debug)]
pub struct ApplyError {
    pub key: String,
    pub action: Action,
    pub message: String,
    /// The configuration attribute the error is about, when one is.
    pub attribute: Option<String>,
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.action.verb(), self.key, self.message)
    }
}

/// How many component operations may run at once (`AWSSTACK_PARALLELISM`,
/// default 8; 1 runs the graph sequentially).
pub fn parallelism() -> usize {
    std::env::var("AWSSTACK_PARALLELISM")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(8)
}

/// Applies `changes`: first every delete (and the delete half of each
/// replace) in reverse dependency order, then creates and updates in
/// dependency order, independent branches concurrently. Returns the records
/// of what exists afterwards, whatever happened, and the errors.
pub async fn apply<C: Cloud>(
    env: Arc<Env<C>>,
    kinds: Arc<Kinds<C>>,
    desired: &[Spec],
    recorded: Records,
    changes: &[Change],
) -> (Records, Vec<ApplyError>) {
    let records = Arc::new(Mutex::new(recorded.clone()));
    let mut errors = Vec::new();
    let action_of: BTreeMap<String, Action> =
        changes.iter().map(|c| (c.key.clone(), c.action)).collect();

    // Replaced objects of a create-before-destroy kind, and those left
    // deposed by an earlier apply, are deleted last, once their successors
    // exist; unless what they depend on is itself deleted first (then the
    // dependency's delete needs them gone).
    let mut to_delete: BTreeSet<String> = changes
        .iter()
        .filter(|c| {
            c.action == Action::Delete && !c.key.ends_with(DEPOSED)
                || c.action == Action::Replace
                    && !kinds
                        .get(&c.kind)
                        .map(|k| k.create_before_destroy())
                        .unwrap_or(false)
        })
        .map(|c| c.key.clone())
        .collect();
    let mut deposed: BTreeSet<String> = BTreeSet::new();
    let later: Vec<&Change> = changes
        .iter()
        .filter(|c| {
            !to_delete.contains(&c.key) && matches!(c.action, Action::Delete | Action::Replace)
        })
        .collect();
    for c in later {
        if recorded[&c.key].deps.iter().any(|d| to_delete.contains(d)) {
            to_delete.insert(c.key.clone());
        } else if c.action == Action::Replace {
            let new_key = format!("{}{DEPOSED}", c.key);
            let mut r = records.lock().unwrap();
            if let Some(old) = r.remove(&c.key) {
                r.insert(new_key.clone(), old);
            }
            deposed.insert(new_key);
        } else {
            deposed.insert(c.key.clone());
        }
    }

    // Phase 1: deletes, dependents first.
    errors.extend(delete_keys(&env, &kinds, &records, &recorded, &to_delete, &action_of).await);
    if !errors.is_empty() {
        let r = records.lock().unwrap().clone();
        return (r, errors);
    }

    // Phase 2: creates and updates.
    let by_key: BTreeMap<String, Spec> =
        desired.iter().map(|s| (s.key.clone(), s.clone())).collect();
    let work: BTreeMap<String, Action> = changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .map(|c| (c.key.clone(), c.action))
        .collect();
    let waits: BTreeMap<String, Vec<String>> = work
        .keys()
        .map(|k| {
            (
                k.clone(),
                by_key[k]
                    .deps
                    .iter()
                    .filter(|d| work.contains_key(&d.key))
                    .map(|d| d.key.clone())
                    .collect(),
            )
        })
        .collect();
    let errs = graph::run(waits, env.parallelism, env.cancel.clone(), |key: String| {
        let (env, kinds, records) = (env.clone(), kinds.clone(), records.clone());
        let (spec, action) = (by_key[&key].clone(), work[&key]);
        async move { apply_one(&env, &kinds, &records, spec, action).await }
    })
    .await;
    errors.extend(errs);

    // Phase 3: the deposed objects, now that their successors exist.
    if errors.is_empty() && !deposed.is_empty() {
        let snapshot = records.lock().unwrap().clone();
        errors.extend(delete_keys(&env, &kinds, &records, &snapshot, &deposed, &action_of).await);
    }
    let mut r = records.lock().unwrap().clone();
    if !errors.is_empty() {
        discover(&env, &kinds, desired, &mut r).await;
    }
    // The recorded dependencies decide the order of a later destroy: they
    // follow the graph as it is now, also for a component this apply did
    // not touch (a stack whose graph gained an order since its records
    // were written).
    for spec in desired {
        if let Some(rec) = r.get_mut(&spec.key) {
            rec.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
        }
    }
    (r, errors)
}

/// Creates or updates the component of `spec` (`action`) once its
/// dependencies exist, and records what exists afterwards, also when it
/// fails part-way (`OpError::partial`).
async fn apply_one<C: Cloud>(
    env: &Arc<Env<C>>,
    kinds: &Kinds<C>,
    records: &Mutex<Records>,
    spec: Spec,
    action: Action,
) -> Result<(), ApplyError> {
    let key = spec.key.clone();
    let fail = |m: String| ApplyError {
        key: key.clone(),
        action,
        message: m,
        attribute: None,
    };
    let kind = kinds.get(spec.kind).map_err(|e| fail(e.message))?;
    let deps = dependency_records(&spec, &records.lock().unwrap())
        .map_err(|d| fail(format!("dependency {d} does not exist")))?;
    let old = records.lock().unwrap().get(&key).cloned();
    let limits = kind.timeouts();
    let (verb, limit) = match action {
        Action::Update | Action::UpdateTags => ("update", limits.update),
        _ => ("create", limits.create),
    };
    let env = placed(env, spec.region.as_deref()).for_operation(kind.name(), verb, limit);
    let started = std::time::SystemTime::now();
    let result = match (&old, action) {
        (Some(old), Action::UpdateTags) => {
            tracing::info!(component = %key, "updating tags");
            converge_tags(kind.as_ref(), &env, &spec, old.clone()).await
        }
        (Some(old), Action::Update) => {
            tracing::info!(component = %key, "updating");
            match kind.update(&env, &spec, old, &deps).await {
                Ok(rec) => converge_tags(kind.as_ref(), &env, &spec, rec).await,
                Err(e) => Err(e),
            }
        }
        _ => create_or_adopt(kind.as_ref(), &env, &spec, &deps).await,
    };
    timings::record(
        &key,
        action,
        started,
        spec.deps.iter().map(|d| d.key.as_str()),
    );
    let placed_record = |mut rec: Record| {
        rec.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
        rec.region = spec.region.clone();
        rec
    };
    match result {
        Ok(rec) => {
            records
                .lock()
                .unwrap()
                .insert(key.clone(), placed_record(rec));
            Ok(())
        }
        Err(e) => {
            if let Some(p) = e.partial {
                records
                    .lock()
                    .unwrap()
                    .insert(key.clone(), placed_record(p));
            }
            Err(ApplyError {
                attribute: e.attribute,
                ..fail(e.message)
            })
        }
    }
}

/// A create: the object left behind by an interrupted earlier apply, once
/// proved to be this stack's, is adopted (read, then updated to the spec)
/// rather than duplicated; otherwise it is created. A foreign object
/// holding the name, or a failed lookup, creates nothing.
async fn create_or_adopt<C: Cloud>(
    kind: &dyn Kind<C>,
    env: &Env<C>,
    spec: &Spec,
    deps: &Records,
) -> Result<Record, OpError> {
    let Some(found) = find_owned(kind, env, spec).await? else {
        tracing::info!(component = %spec.key, "creating");
        let mut rec = kind.create(env, spec, deps).await?;
        if kind.taggable() {
            rec.tags = spec.tags.clone();
        }
        return Ok(rec);
    };
    tracing::info!(component = %spec.key, id = %found.id, "adopting existing");
    // What the interrupted create did not get to (a subnet's public-IP
    // setting, say) shows in a read; the update then repairs it.
    let found = match kind.read(env, &found).await {
        Ok(Some(seen)) => Record {
            tags: found.tags.clone(),
            ..seen
        },
        _ => found,
    };
    match kind.update(env, spec, &found, deps).await {
        Ok(rec) => converge_tags(kind, env, spec, rec).await,
        Err(e) if e.partial.is_none() => Err(e.partial(found)),
        Err(e) => Err(e),
    }
}

/// The records of the dependencies of `spec`, under the names it sees them
/// by; Err names the first one not recorded.
pub(crate) fn dependency_records(spec: &Spec, records: &Records) -> Result<Records, String> {
    let mut deps = Records::new();
    for Dep { key: d, .. } in &spec.deps {
        let rec = records.get(d).ok_or_else(|| d.clone())?;
        deps.insert(dep_name(&spec.key, d).to_string(), rec.clone());
    }
    Ok(deps)
}

/// A destroy: every recorded component deleted.
pub fn destroy_all(recorded: &Records) -> Vec<Change> {
    recorded
        .iter()
        .map(|(k, r)| Change {
            key: k.clone(),
            kind: r.kind.clone(),
            action: Action::Delete,
            reason: String::new(),
        })
        .collect()
}

/// Deletes the recorded components `keys`, each after every component of
/// the set that depends on it, independent ones concurrently; a deleted
/// component leaves `records`.
pub(crate) async fn delete_keys<C: Cloud>(
    env: &Arc<Env<C>>,
    kinds: &Arc<Kinds<C>>,
    records: &Arc<Mutex<Records>>,
    recorded: &Records,
    keys: &BTreeSet<String>,
    action_of: &BTreeMap<String, Action>,
) -> Vec<ApplyError> {
    if keys.is_empty() {
        return vec![];
    }
    // k must wait for every recorded component in the set that depends on it.
    let mut waits: BTreeMap<String, Vec<String>> =
        keys.iter().map(|k| (k.clone(), vec![])).collect();
    for k in keys {
        for d in &recorded[k].deps {
            if keys.contains(d) {
                waits.get_mut(d).unwrap().push(k.clone());
            }
        }
    }
    graph::run(waits, env.parallelism, env.cancel.clone(), |key: String| {
        let env = env.clone();
        let kinds = kinds.clone();
        let records = records.clone();
        let rec = recorded[&key].clone();
        let action = action_of
            .get(&key)
            .or_else(|| action_of.get(key.trim_end_matches(DEPOSED)))
            .copied()
            .unwrap_or(Action::Delete);
        async move {
            let kind = kinds.get(&rec.kind).map_err(|e| ApplyError {
                key: key.clone(),
                action,
                message: e.message,
                attribute: None,
            })?;
            tracing::info!(component = %key, "deleting");
            let started = std::time::SystemTime::now();
            let env = placed(&env, rec.region.as_deref()).for_operation(
                kind.name(),
                "delete",
                kind.timeouts().delete,
            );
            // Not the stack's to delete: forgetting it is the whole delete.
            let r = if kind.referenced() {
                Ok(())
            } else {
                kind.delete(&env, &rec).await
            };
            timings::record(&key, action, started, rec.deps.iter().map(String::as_str));
            match r {
                Ok(()) => {
                    records.lock().unwrap().remove(&key);
                    Ok(())
                }
                Err(e) => Err(ApplyError {
                    key,
                    action,
                    message: e.message,
                    attribute: e.attribute,
                }),
            }
        }
    })
    .await
}

/// Brings the tags of `rec` to the spec's (set what differs, remove what
/// the stack set before and no longer wants); other keys are left alone.
pub(crate) async fn converge_tags<C: Cloud>(
    kind: &dyn Kind<C>,
    env: &Env<C>,
    spec: &Spec,
    mut rec: Record,
) -> Result<Record, OpError> {
    if !kind.taggable() {
        return Ok(rec);
    }
    let (set, remove) = ownership::tag_diff(&spec.tags, &rec.tags);
    if !set.is_empty() || !remove.is_empty() {
        if let Err(e) = kind.update_tags(env, &rec, &set, &remove).await {
            // The update itself happened: record it, with the old tags.
            let partial = rec.clone();
            return Err(if e.partial.is_none() {
                e.partial(partial)
            } else {
                e
            });
        }
    }
    rec.tags = spec.tags.clone();
    Ok(rec)
}
