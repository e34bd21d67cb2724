//! The stack engine: a stack is a graph of components (one AWS object each,
//! with a stable logical key). The engine diffs the desired graph against the
//! recorded one, shows the plan, and applies it in dependency order with
//! independent branches in parallel, recording exactly what exists after any
//! failure. It knows nothing of Terraform's wire format.

mod graph;
#[cfg(test)]
mod tests;
pub mod timings;

pub use graph::topo_order;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What the engine remembers of one component that exists in AWS.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub kind: String,
    pub id: String,
    /// The inputs the component was created or last updated with (or, after
    /// a refresh, observed in AWS).
    pub inputs: Json,
    /// Attributes AWS assigned (ARN, address, DNS name...).
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    #[serde(default)]
    pub deps: Vec<String>,
}

impl Record {
    pub fn new(kind: &str, id: impl Into<String>, inputs: Json) -> Record {
        Record { kind: kind.to_string(), id: id.into(), inputs, outputs: BTreeMap::new(), deps: Vec::new() }
    }
    pub fn with(mut self, k: &str, v: impl Into<String>) -> Record {
        self.outputs.insert(k.to_string(), v.into());
        self
    }
    pub fn out(&self, k: &str) -> &str {
        self.outputs.get(k).map(String::as_str).unwrap_or("")
    }
}

pub type Records = BTreeMap<String, Record>;

/// How a dependent reacts when a dependency gets a new identity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OnDepChange {
    Replace,
    Update,
}

/// One desired component.
#[derive(Clone, Debug)]
pub struct Spec {
    pub key: String,
    pub kind: &'static str,
    pub deps: Vec<(String, OnDepChange)>,
    /// Desired inputs; a null field means "whatever AWS or the recorded
    /// component has" (e.g. a looked-up image id).
    pub inputs: Json,
    /// A secret value the component writes to AWS: never recorded (the
    /// inputs carry its hash) and never logged.
    pub secret: Option<String>,
}

impl Spec {
    pub fn new(key: impl Into<String>, kind: &'static str, inputs: Json) -> Spec {
        Spec { key: key.into(), kind, deps: vec![], inputs, secret: None }
    }
    pub fn dep(mut self, key: impl Into<String>) -> Spec {
        self.deps.push((key.into(), OnDepChange::Replace));
        self
    }
    pub fn dep_update(mut self, key: impl Into<String>) -> Spec {
        self.deps.push((key.into(), OnDepChange::Update));
        self
    }
    pub fn input(&self, k: &str) -> &Json {
        &self.inputs[k]
    }
    pub fn str(&self, k: &str) -> &str {
        self.inputs[k].as_str().unwrap_or("")
    }
}

/// An operation's failure; `partial` is what was created before it failed,
/// so that it is recorded and never leaked.
#[derive(Debug)]
pub struct OpError {
    pub message: String,
    pub partial: Option<Record>,
}

impl OpError {
    pub fn new(message: impl Into<String>) -> OpError {
        OpError { message: message.into(), partial: None }
    }
    pub fn partial(mut self, r: Record) -> OpError {
        self.partial = Some(r);
        self
    }
}

impl<T: std::fmt::Display> From<T> for OpError {
    fn from(e: T) -> Self {
        OpError::new(e.to_string())
    }
}

/// What every component operation can see.
pub struct Env<C> {
    pub ctx: Arc<C>,
    pub stack_id: String,
    /// Tags for every component (stack id, project, environment, user and
    /// provider default tags).
    pub tags: BTreeMap<String, String>,
    pub deadline: Instant,
    pub cancel: watch::Receiver<bool>,
    /// How many component operations may run at once (1 = sequential).
    pub parallelism: usize,
}

impl<C> Env<C> {
    pub fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Polls `check` until it returns `Some`, the deadline passes or the
    /// provider is stopped.
    pub async fn wait_until<T, F, Fut>(&self, what: &str, mut check: F) -> Result<T, OpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, OpError>>,
    {
        let mut delay = Duration::from_millis(200);
        let started = Instant::now();
        loop {
            if let Some(v) = check().await? {
                return Ok(v);
            }
            if self.cancelled() {
                return Err(OpError::new(format!("cancelled while waiting for {what}")));
            }
            if Instant::now() + delay > self.deadline {
                return Err(OpError::new(format!("timeout while waiting for {what} (waited {:.0?}); raise the `timeouts` of the stack", started.elapsed())));
            }
            let mut cancel = self.cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.changed() => {}
            }
            delay = (delay * 3 / 2).min(Duration::from_secs(10));
        }
    }
}

/// The four verbs of one kind of component.
#[tonic::async_trait]
pub trait Kind<C: Send + Sync>: Send + Sync {
    fn name(&self) -> &'static str;
    /// Input fields that AWS cannot change in place.
    fn replace_fields(&self) -> &'static [&'static str] {
        &[]
    }
    async fn create(&self, env: &Env<C>, spec: &Spec, deps: &Records) -> Result<Record, OpError>;
    /// The component as it is now in AWS, or None if it no longer exists.
    async fn read(&self, env: &Env<C>, rec: &Record) -> Result<Option<Record>, OpError>;
    async fn update(&self, env: &Env<C>, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError>;
    async fn delete(&self, env: &Env<C>, rec: &Record) -> Result<(), OpError>;
    /// Finds the component of `spec` in AWS by its tags or its deterministic
    /// name (import, and adoption after an interrupted create).
    async fn find(&self, _env: &Env<C>, _spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(None)
    }
}

pub struct Kinds<C>(pub BTreeMap<&'static str, Arc<dyn Kind<C>>>);

impl<C: Send + Sync> Kinds<C> {
    pub fn new(list: Vec<Arc<dyn Kind<C>>>) -> Self {
        Kinds(list.into_iter().map(|k| (k.name(), k)).collect())
    }
    pub fn get(&self, name: &str) -> Result<&Arc<dyn Kind<C>>, OpError> {
        self.0.get(name).ok_or_else(|| OpError::new(format!("unknown component kind {name}")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Create => "create",
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
            format!("{} {} ({}): {}", self.action.verb(), self.key, self.kind, self.reason)
        }
    }
}

/// Fields of `desired` that differ from `recorded` (null desired fields are
/// "don't care").
fn differing_fields(desired: &Json, recorded: &Json) -> Vec<String> {
    match (desired, recorded) {
        (Json::Object(d), Json::Object(r)) => d.iter().filter(|(k, v)| !v.is_null() && r.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect(),
        _ if desired != recorded => vec!["*".into()],
        _ => vec![],
    }
}

/// Desired graph vs recorded components → the changes, in dependency order
/// (deletes last).
pub fn plan<C: Send + Sync>(kinds: &Kinds<C>, desired: &[Spec], recorded: &Records) -> Result<Vec<Change>, String> {
    let order = topo_order(desired)?;
    let by_key: BTreeMap<&str, &Spec> = desired.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut actions: BTreeMap<String, (Action, String)> = BTreeMap::new();
    for key in &order {
        let spec = by_key[key.as_str()];
        let kind = kinds.get(spec.kind).map_err(|e| e.message)?;
        let action = match recorded.get(key) {
            None => Some((Action::Create, String::new())),
            Some(rec) if rec.kind != spec.kind => Some((Action::Replace, format!("kind changed from {}", rec.kind))),
            Some(rec) => {
                let diff = differing_fields(&spec.inputs, &rec.inputs);
                let forced: Vec<&String> = diff.iter().filter(|f| kind.replace_fields().contains(&f.as_str()) || f.as_str() == "*").collect();
                if !forced.is_empty() {
                    Some((Action::Replace, format!("{} cannot change in place", join(&forced))))
                } else {
                    // A dependency that gets a new identity.
                    let mut dep_action = None;
                    for (d, how) in &spec.deps {
                        if let Some((a, _)) = actions.get(d) {
                            if matches!(a, Action::Create | Action::Replace) {
                                let act = if *how == OnDepChange::Replace { Action::Replace } else { Action::Update };
                                if dep_action.as_ref().map(|(x, _)| act > *x).unwrap_or(true) {
                                    let how = if *a == Action::Create { "created" } else { "replaced" };
                                    dep_action = Some((act, format!("{d} is {how}")));
                                }
                            }
                        }
                    }
                    match (dep_action, diff.is_empty()) {
                        (Some((Action::Replace, r)), _) => Some((Action::Replace, r)),
                        (_, false) => Some((Action::Update, join(&diff.iter().collect::<Vec<_>>()))),
                        (Some(x), true) => Some(x),
                        (None, true) => None,
                    }
                }
            }
        };
        if let Some(a) = action {
            actions.insert(key.clone(), a);
        }
    }
    let mut changes: Vec<Change> =
        order.iter().filter_map(|k| actions.get(k).map(|(a, r)| Change { key: k.clone(), kind: by_key[k.as_str()].kind.to_string(), action: *a, reason: r.clone() })).collect();
    for (k, rec) in recorded.iter().rev() {
        if !by_key.contains_key(k.as_str()) {
            changes.push(Change { key: k.clone(), kind: rec.kind.clone(), action: Action::Delete, reason: "no longer in the configuration".into() });
        }
    }
    Ok(changes)
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Keys whose identity or outputs are not known until apply.
pub fn pending_keys(changes: &[Change]) -> BTreeSet<String> {
    changes.iter().filter(|c| matches!(c.action, Action::Create | Action::Replace)).map(|c| c.key.clone()).collect()
}

#[derive(Debug)]
pub struct ApplyError {
    pub key: String,
    pub action: Action,
    pub message: String,
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.action.verb(), self.key, self.message)
    }
}

/// How many component operations may run at once (`AWSSTACK_PARALLELISM`,
/// default 8; 1 runs the graph sequentially).
pub fn parallelism() -> usize {
    std::env::var("AWSSTACK_PARALLELISM").ok().and_then(|v| v.parse().ok()).filter(|n| *n >= 1).unwrap_or(8)
}

/// Applies `changes`: first every delete (and the delete half of each
/// replace) in reverse dependency order, then creates and updates in
/// dependency order, independent branches concurrently. Returns the records
/// of what exists afterwards, whatever happened, and the errors.
pub async fn apply<C: Send + Sync + 'static>(env: Arc<Env<C>>, kinds: Arc<Kinds<C>>, desired: &[Spec], recorded: Records, changes: &[Change]) -> (Records, Vec<ApplyError>) {
    let records = Arc::new(Mutex::new(recorded.clone()));
    let mut errors = Vec::new();

    // Phase 1: deletes, dependents first.
    let to_delete: BTreeSet<String> = changes.iter().filter(|c| matches!(c.action, Action::Delete | Action::Replace)).map(|c| c.key.clone()).collect();
    if !to_delete.is_empty() {
        // k must wait for every recorded component in the set that depends on it.
        let mut waits: BTreeMap<String, Vec<String>> = to_delete.iter().map(|k| (k.clone(), vec![])).collect();
        for k in &to_delete {
            for d in &recorded[k].deps {
                if to_delete.contains(d) {
                    waits.get_mut(d).unwrap().push(k.clone());
                }
            }
        }
        let action_of: BTreeMap<String, Action> = changes.iter().map(|c| (c.key.clone(), c.action)).collect();
        let errs = graph::run(waits, env.parallelism, env.cancel.clone(), |key: String| {
            let env = env.clone();
            let kinds = kinds.clone();
            let records = records.clone();
            let rec = recorded[&key].clone();
            let action = action_of[&key];
            async move {
                let kind = kinds.get(&rec.kind).map_err(|e| ApplyError { key: key.clone(), action, message: e.message })?;
                tracing::info!(component = %key, "deleting");
                let started = std::time::SystemTime::now();
                let r = kind.delete(&env, &rec).await;
                timings::record(&key, action, started, rec.deps.iter().map(String::as_str));
                match r {
                    Ok(()) => {
                        records.lock().unwrap().remove(&key);
                        Ok(())
                    }
                    Err(e) => Err(ApplyError { key, action, message: e.message }),
                }
            }
        })
        .await;
        errors.extend(errs);
        if !errors.is_empty() {
            let r = records.lock().unwrap().clone();
            return (r, errors);
        }
    }

    // Phase 2: creates and updates.
    let by_key: BTreeMap<String, Spec> = desired.iter().map(|s| (s.key.clone(), s.clone())).collect();
    let work: BTreeMap<String, Action> = changes.iter().filter(|c| c.action != Action::Delete).map(|c| (c.key.clone(), c.action)).collect();
    let waits: BTreeMap<String, Vec<String>> =
        work.keys().map(|k| (k.clone(), by_key[k].deps.iter().filter(|(d, _)| work.contains_key(d)).map(|(d, _)| d.clone()).collect())).collect();
    let errs = graph::run(waits, env.parallelism, env.cancel.clone(), |key: String| {
        let env = env.clone();
        let kinds = kinds.clone();
        let records = records.clone();
        let spec = by_key[&key].clone();
        let action = work[&key];
        async move {
            let fail = |m: String| ApplyError { key: key.clone(), action, message: m };
            let kind = kinds.get(spec.kind).map_err(|e| fail(e.message))?;
            let deps: Records = {
                let r = records.lock().unwrap();
                let mut deps = Records::new();
                for (d, _) in &spec.deps {
                    match r.get(d) {
                        Some(rec) => {
                            deps.insert(d.clone(), rec.clone());
                        }
                        None => return Err(fail(format!("dependency {d} does not exist"))),
                    }
                }
                deps
            };
            let old = records.lock().unwrap().get(&key).cloned();
            let started = std::time::SystemTime::now();
            let result = match (&old, action) {
                (Some(old), Action::Update) => {
                    tracing::info!(component = %key, "updating");
                    kind.update(&env, &spec, old, &deps).await
                }
                _ => match kind.find(&env, &spec).await {
                    // Left behind by an interrupted earlier apply: adopt it
                    // rather than create a duplicate.
                    Ok(Some(found)) => {
                        tracing::info!(component = %key, id = %found.id, "adopting existing");
                        // What the interrupted create did not get to (a
                        // subnet's public-IP setting, say) shows in a read;
                        // the update then repairs it.
                        let found = match kind.read(&env, &found).await {
                            Ok(Some(seen)) => seen,
                            _ => found,
                        };
                        kind.update(&env, &spec, &found, &deps).await.map_err(|e| if e.partial.is_none() { e.partial(found) } else { e })
                    }
                    _ => {
                        tracing::info!(component = %key, "creating");
                        kind.create(&env, &spec, &deps).await
                    }
                },
            };
            timings::record(&key, action, started, spec.deps.iter().map(|(d, _)| d.as_str()));
            match result {
                Ok(mut rec) => {
                    rec.deps = spec.deps.iter().map(|(d, _)| d.clone()).collect();
                    records.lock().unwrap().insert(key.clone(), rec);
                    Ok(())
                }
                Err(e) => {
                    if let Some(mut p) = e.partial {
                        p.deps = spec.deps.iter().map(|(d, _)| d.clone()).collect();
                        records.lock().unwrap().insert(key.clone(), p);
                    }
                    Err(fail(e.message))
                }
            }
        }
    })
    .await;
    errors.extend(errs);
    let r = records.lock().unwrap().clone();
    (r, errors)
}

/// Refreshes every recorded component concurrently; drops the ones that no
/// longer exist. Returns the refreshed records and a description of drift.
pub async fn refresh<C: Send + Sync + 'static>(env: Arc<Env<C>>, kinds: Arc<Kinds<C>>, recorded: Records) -> Result<(Records, Vec<String>), String> {
    use futures::stream::{self, StreamExt};
    let results: Vec<(String, Record, Result<Option<Record>, OpError>)> = stream::iter(recorded.into_iter())
        .map(|(key, rec)| {
            let env = env.clone();
            let kinds = kinds.clone();
            async move {
                let r = match kinds.get(&rec.kind) {
                    Ok(k) => k.read(&env, &rec).await,
                    Err(e) => Err(e),
                };
                (key, rec, r)
            }
        })
        .buffer_unordered(env.parallelism)
        .collect()
        .await;
    let mut out = Records::new();
    let mut drift = Vec::new();
    for (key, old, r) in results {
        match r {
            Ok(Some(mut new)) => {
                new.deps = old.deps.clone();
                let fields = differing_fields(&old.inputs, &new.inputs);
                if !fields.is_empty() {
                    drift.push(format!("{key} ({}) changed outside Terraform: {}", old.kind, fields.join(", ")));
                }
                out.insert(key, new);
            }
            Ok(None) => drift.push(format!("{key} ({}) was deleted outside Terraform", old.kind)),
            Err(e) => return Err(format!("reading {key}: {}", e.message)),
        }
    }
    drift.sort();
    Ok((out, drift))
}
