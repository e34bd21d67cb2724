//! Dependency ordering and a bounded parallel executor.

use super::Spec;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use tokio::sync::watch;

/// Keys of `specs` in dependency order; an error names a component declared
/// twice, a missing dependency or a cycle. This is where a stack's graph is
/// checked before anything runs: a mistake in a stack is an error of plan,
/// never a panic or a half-done apply.
pub fn topo_order(specs: &[Spec]) -> Result<Vec<String>, String> {
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for s in specs {
        if !keys.insert(s.key.as_str()) {
            return Err(format!("component {} is declared twice", s.key));
        }
    }
    for s in specs {
        let mut seen = BTreeSet::new();
        for d in s.deps.iter().map(|d| &d.key) {
            if !seen.insert(d.as_str()) {
                return Err(format!(
                    "component {} declares its dependency {d} twice",
                    s.key
                ));
            }
        }
        for d in s.deps.iter().map(|d| &d.key) {
            if !keys.contains(d.as_str()) {
                return Err(format!(
                    "component {} depends on unknown component {d}",
                    s.key
                ));
            }
        }
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < specs.len() {
        let before = order.len();
        for s in specs {
            if !done.contains(&s.key) && s.deps.iter().all(|d| done.contains(&d.key)) {
                done.insert(s.key.clone());
                order.push(s.key.clone());
            }
        }
        if order.len() == before {
            let stuck: Vec<&str> = specs
                .iter()
                .filter(|s| !done.contains(&s.key))
                .map(|s| s.key.as_str())
                .collect();
            return Err(format!("dependency cycle among {}", stuck.join(", ")));
        }
    }
    Ok(order)
}

/// The length of the longest chain of keys that wait (transitively) on each
/// key, itself included: the work that cannot start before it ends.
pub fn heights(waits: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, usize> {
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, ws) in waits {
        for d in ws {
            dependents.entry(d.as_str()).or_default().push(k.as_str());
        }
    }
    fn height<'a>(
        k: &'a str,
        deps: &BTreeMap<&'a str, Vec<&'a str>>,
        memo: &mut BTreeMap<&'a str, usize>,
        visiting: &mut BTreeSet<&'a str>,
    ) -> usize {
        if let Some(h) = memo.get(k) {
            return *h;
        }
        if !visiting.insert(k) {
            return 0; // a cycle: the caller reports it
        }
        let h = 1 + deps
            .get(k)
            .map(|v| {
                v.iter()
                    .map(|d| height(d, deps, memo, visiting))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        visiting.remove(k);
        memo.insert(k, h);
        h
    }
    let mut memo = BTreeMap::new();
    let mut visiting = BTreeSet::new();
    waits
        .keys()
        .map(|k| (k.clone(), height(k, &dependents, &mut memo, &mut visiting)))
        .collect()
}

/// Runs `f(key)` for every key once all the keys it waits for have finished
/// successfully, at most `limit` at a time, the ready key with the longest
/// chain behind it first (critical path first). After the first failure (or
/// a cancel) nothing new starts; what is running finishes. Returns the
/// errors.
pub async fn run<E, F, Fut>(
    mut waits: BTreeMap<String, Vec<String>>,
    limit: usize,
    cancel: watch::Receiver<bool>,
    f: F,
) -> Vec<E>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: From<Cancelled>,
{
    let priority = heights(&waits);
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    let mut errors = Vec::new();
    loop {
        if errors.is_empty() && !*cancel.borrow() {
            let mut ready: Vec<String> = waits
                .iter()
                .filter(|(_, w)| w.iter().all(|d| done.contains(d)))
                .map(|(k, _)| k.clone())
                .collect();
            ready.sort_by_key(|k| {
                (
                    std::cmp::Reverse(priority.get(k).copied().unwrap_or(0)),
                    k.clone(),
                )
            });
            for k in ready {
                if running.len() >= limit {
                    break;
                }
                waits.remove(&k);
                let fut = f(k.clone());
                running.push(async move { (k, fut.await) });
            }
        }
        match running.next().await {
            Some((k, Ok(()))) => {
                done.insert(k);
            }
            Some((_, Err(e))) => errors.push(e),
            None => break,
        }
    }
    if errors.is_empty() && !waits.is_empty() {
        errors.push(E::from(Cancelled(waits.keys().cloned().collect())));
    }
    errors
}

/// Work that never started because the provider was stopped.
pub struct Cancelled(pub Vec<String>);

impl From<Cancelled> for super::ApplyError {
    fn from(c: Cancelled) -> Self {
        super::ApplyError {
            key: c.0.join(", "),
            action: super::Action::Create,
            message: "not started: the operation was cancelled (StopProvider / interrupt)".into(),
            attribute: None,
        }
    }
}
