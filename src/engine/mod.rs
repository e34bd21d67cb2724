//! The stack engine: a stack is a graph of components (one AWS object each,
//! with a stable logical key). The engine diffs the desired graph against the
//! recorded one, shows the plan, and applies it in dependency order with
//! independent branches in parallel, recording exactly what exists after any
//! failure. It knows nothing of Terraform's wire format.

pub mod consistency;
mod graph;
pub mod inputs;
pub mod needs;
pub mod ownership;
#[cfg(test)]
mod tests;
pub mod timings;
pub mod waiter;

pub use consistency::{Call, Fault, NotYet, Retried, PROPAGATION};
pub use graph::topo_order;
pub use inputs::{Inputs, Reference, Template};
pub use needs::Need;
// `Desired`, `Handle`, `Dep` and `Slot` are defined below, beside `Spec`.
pub use ownership::{Tags, TAG_COMPONENT, TAG_STACK_ID};
pub use waiter::{Timeouts, Waiter, GONE};

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
    /// The tags the stack manages on the object (set at create or by the
    /// last tag update; after a refresh, as observed for those keys).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// Where the object is, when not in the stack's region: read, update
    /// and delete go there whatever the configuration says now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl Record {
    pub fn new(kind: &str, id: impl Into<String>, inputs: Json) -> Record {
        Record {
            kind: kind.to_string(),
            id: id.into(),
            inputs,
            outputs: BTreeMap::new(),
            deps: Vec::new(),
            tags: Tags::new(),
            region: None,
        }
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
    /// Not at all: the dependency is an order only (created before the
    /// dependent, deleted after it), not an input of it.
    Nothing,
}

/// One dependency of a spec: the component it comes after, how it reacts
/// when that one gets a new identity, and the slot it fills when the kind
/// tells its dependencies apart by role rather than by kind (a task
/// definition's `execution_role` and `task_role`, a replication's `source`
/// and `destination` buckets).
#[derive(Clone, Debug)]
pub struct Dep {
    pub key: String,
    pub on_change: OnDepChange,
    pub slot: Option<Slot>,
}

/// A named input whose value is a dependency (`one`) or a list of them:
/// the input holds the dependencies' names as the component sees them, so
/// that a dependency moved to another slot (a failover record's health
/// check after a switchover) is a change of that input, diffed and
/// recorded like any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub name: &'static str,
    pub many: bool,
}

/// A component added to the desired graph (`Desired::add`): the one way a
/// spec names a dependency. A handle exists only for a component that was
/// added, so a dependency on one never declared cannot be written, and its
/// kind travels with it for the needs check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle {
    key: String,
    kind: &'static str,
}

impl Handle {
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

/// The desired graph of a stack as it is built: each `add` returns the
/// handle later specs depend on. A builder made `within` a scope keys its
/// components under it and places them in its region (a network per
/// region of a stack).
#[derive(Default)]
pub struct Desired {
    specs: Vec<Spec>,
    scope: Option<String>,
    region: Option<String>,
}

impl Desired {
    pub fn new() -> Desired {
        Desired::default()
    }
    /// A builder whose components are keyed `scope/key` (a key that
    /// already has a scope keeps it) and placed in `region`.
    pub fn within(scope: &str, region: Option<&str>) -> Desired {
        Desired {
            specs: vec![],
            scope: Some(scope.to_string()),
            region: region.map(str::to_string),
        }
    }
    pub fn add(&mut self, mut spec: Spec) -> Handle {
        if let Some(scope) = &self.scope {
            if !spec.key.contains(SCOPE) {
                spec.key = format!("{scope}{SCOPE}{}", spec.key);
            }
        }
        if spec.region.is_none() {
            spec.region = self.region.clone();
        }
        spec.write_slots();
        let handle = Handle {
            key: spec.key.clone(),
            kind: spec.kind,
        };
        self.specs.push(spec);
        handle
    }
    /// The name under which a component of this builder sees `h` (its key,
    /// without the scope when they share it: `engine::dep_name`), for an
    /// input that names a dependency (a security group rule's source).
    pub fn name(&self, h: &Handle) -> String {
        match &self.scope {
            Some(scope) => dep_name(&format!("{scope}{SCOPE}"), &h.key).to_string(),
            None => h.key.clone(),
        }
    }
    /// The placeholder of `h`'s output `output` (`${secret.db.arn}`) in an
    /// input of a component of this builder that depends on `h`: filled
    /// at apply from the dependency's record; `needs::check` refuses one
    /// that names no dependency.
    pub fn output(&self, h: &Handle, output: &str) -> Reference {
        Reference {
            name: self.name(h),
            output: output.to_string(),
        }
    }
    /// The specs of another builder (a scope's), whose handles stay valid.
    pub fn append(&mut self, other: Desired) {
        self.specs.extend(other.specs);
    }
    pub fn specs(&self) -> &[Spec] {
        &self.specs
    }
    pub fn into_specs(self) -> Vec<Spec> {
        self.specs
    }
}

/// One desired component.
#[derive(Clone, Debug)]
pub struct Spec {
    pub key: String,
    pub kind: &'static str,
    pub deps: Vec<Dep>,
    /// Desired inputs; a null field means "whatever AWS or the recorded
    /// component has" (e.g. a looked-up image id).
    pub inputs: Json,
    /// A secret value the component writes to AWS: never recorded (the
    /// inputs carry its hash) and never logged.
    pub secret: Option<String>,
    /// The tags the component carries (filled by `Env::tag_specs`).
    pub tags: Tags,
    /// The configuration attribute that decides the component's AWS name,
    /// for kinds found by name: a name held by a foreign object is reported
    /// on it.
    pub named_by: Option<&'static str>,
    /// The region the component is placed in (None: the stack's region).
    pub region: Option<String>,
}

impl Spec {
    pub fn new(key: impl Into<String>, kind: &'static str, inputs: Json) -> Spec {
        Spec {
            key: key.into(),
            kind,
            deps: vec![],
            inputs,
            secret: None,
            tags: Tags::new(),
            named_by: None,
            region: None,
        }
    }
    fn push_dep(mut self, h: &Handle, on_change: OnDepChange, slot: Option<Slot>) -> Spec {
        self.deps.push(Dep {
            key: h.key.clone(),
            on_change,
            slot,
        });
        self
    }
    /// Comes after `h`, and is replaced when `h` gets a new identity.
    pub fn after(self, h: &Handle) -> Spec {
        self.push_dep(h, OnDepChange::Replace, None)
    }
    /// Comes after `h`, and is updated in place when `h` gets a new identity.
    pub fn after_update(self, h: &Handle) -> Spec {
        self.push_dep(h, OnDepChange::Update, None)
    }
    /// Comes after `h` and is deleted before it, nothing more: an order AWS
    /// imposes between objects that do not name each other (an Aurora
    /// secondary cluster joins its global database only once the primary
    /// has a writer instance).
    pub fn after_only(self, h: &Handle) -> Spec {
        self.push_dep(h, OnDepChange::Nothing, None)
    }
    /// Each of `hs`, as `after` or `after_update` (`replace` decides).
    pub fn after_each<'a>(
        self,
        hs: impl IntoIterator<Item = &'a Handle>,
        on_change: OnDepChange,
    ) -> Spec {
        hs.into_iter()
            .fold(self, |s, h| s.push_dep(h, on_change, None))
    }
    /// `h` fills the kind's slot `name` (an input naming one dependency).
    pub fn filling(self, name: &'static str, h: &Handle, on_change: OnDepChange) -> Spec {
        let mut s = self.push_dep(h, on_change, Some(Slot { name, many: false }));
        s.write_slots();
        s
    }
    /// `hs` fill the kind's list slot `name`, in this order (none: an
    /// empty list).
    pub fn filling_each<'a>(
        mut self,
        name: &'static str,
        hs: impl IntoIterator<Item = &'a Handle>,
        on_change: OnDepChange,
    ) -> Spec {
        self.inputs[name] = Json::Array(vec![]);
        let mut s = hs.into_iter().fold(self, |s, h| {
            s.push_dep(h, on_change, Some(Slot { name, many: true }))
        });
        s.write_slots();
        s
    }
    /// Writes each slot's input: the names its dependencies have as this
    /// component sees them (again after `Desired` scoped the key).
    fn write_slots(&mut self) {
        for d in &self.deps {
            if let Some(slot) = d.slot {
                if slot.many {
                    self.inputs[slot.name] = Json::Array(vec![]);
                }
            }
        }
        for d in self.deps.clone() {
            let Some(slot) = d.slot else { continue };
            let name = Json::String(dep_name(&self.key, &d.key).to_string());
            match (slot.many, self.inputs[slot.name].as_array_mut()) {
                (true, Some(names)) => names.push(name),
                _ => self.inputs[slot.name] = name,
            }
        }
    }
    /// A dependency by its key, for tests of graphs no handle can build
    /// (a cycle, a dependency on a component never declared).
    #[cfg(test)]
    pub fn dep(mut self, key: &str) -> Spec {
        self.deps.push(Dep {
            key: key.to_string(),
            on_change: OnDepChange::Replace,
            slot: None,
        });
        self
    }
    /// Places the component in `region` rather than the stack's.
    pub fn in_region(mut self, region: impl Into<String>) -> Spec {
        self.region = Some(region.into());
        self
    }
    /// A tag of this component only, besides the stack's.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Spec {
        self.tags.insert(key.into(), value.into());
        self
    }
    /// Declares the attribute that decides this component's AWS name.
    pub fn named_by(mut self, attribute: &'static str) -> Spec {
        self.named_by = Some(attribute);
        self
    }
    /// One input, for tests' assertions: a kind reads its inputs typed
    /// (`Spec::typed`).
    #[cfg(test)]
    pub fn input(&self, k: &str) -> &Json {
        &self.inputs[k]
    }
    #[cfg(test)]
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
    /// The configuration attribute the error is about, when one is.
    pub attribute: Option<String>,
}

impl OpError {
    pub fn new(message: impl Into<String>) -> OpError {
        OpError {
            message: message.into(),
            partial: None,
            attribute: None,
        }
    }
    pub fn at(mut self, attribute: Option<&str>) -> OpError {
        self.attribute = attribute.map(str::to_string);
        self
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
    /// Warnings for the user that operations raise (a kept final snapshot),
    /// shared by the environments of every region.
    pub warnings: Arc<Mutex<Vec<String>>>,
    /// The factor the stack's `timeouts` apply to every kind's default
    /// timeouts (1 unless the stack's are longer than the default).
    pub timeout_scale: f64,
    /// Set when the deadline is one operation's (its kind's default
    /// timeout, tighter than the stack's): what a timeout error names.
    pub bound: Option<String>,
}

impl<C> Clone for Env<C> {
    fn clone(&self) -> Self {
        Env {
            ctx: self.ctx.clone(),
            stack_id: self.stack_id.clone(),
            tags: self.tags.clone(),
            deadline: self.deadline,
            cancel: self.cancel.clone(),
            parallelism: self.parallelism,
            warnings: self.warnings.clone(),
            timeout_scale: self.timeout_scale,
            bound: self.bound.clone(),
        }
    }
}

impl<C> Env<C> {
    pub fn new(
        ctx: Arc<C>,
        stack_id: String,
        tags: Tags,
        deadline: Instant,
        cancel: watch::Receiver<bool>,
        parallelism: usize,
    ) -> Env<C> {
        Env {
            ctx,
            stack_id,
            tags,
            deadline,
            cancel,
            parallelism,
            warnings: Arc::new(Mutex::new(Vec::new())),
            timeout_scale: 1.0,
            bound: None,
        }
    }

    /// The environment of one `verb` of a `kind` object that may take
    /// `limit` (the kind's default, scaled by the stack's `timeouts`): its
    /// deadline is that or the stack's, whichever comes first.
    pub fn for_operation(&self, kind: &str, verb: &str, limit: Duration) -> Env<C> {
        let limit = limit.mul_f64(self.timeout_scale);
        let mut env = self.clone();
        let own = Instant::now() + limit;
        if own < self.deadline {
            env.deadline = own;
            env.bound = Some(format!(
                "the {verb} timeout of a {kind} ({})",
                waiter::human(limit)
            ));
        }
        env
    }

    /// How a timeout error ends: what set the deadline, and how to move it.
    pub fn timeout_advice(&self) -> String {
        match &self.bound {
            Some(b) => format!("{b} passed; a longer `timeouts` on the stack raises every component's in proportion"),
            None => "raise the `timeouts` of the stack".to_string(),
        }
    }

    /// Runs the declared waiter `w` on `object`: `look` returns its state
    /// and what the wait yields (None: the object is gone, state `GONE`).
    /// Ends with the value when a target state is reached (None when the
    /// target was `GONE`), with an error naming the state when the object
    /// reaches one the waiter does not expect, at the deadline, or at
    /// StopProvider.
    pub async fn wait<T, F, Fut>(
        &self,
        w: &Waiter,
        object: &str,
        mut look: F,
    ) -> Result<Option<T>, OpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<(String, T)>, OpError>>,
    {
        let what = format!("{object} {}", w.goal);
        self.poll(&what, w.poll, || {
            let seen = look();
            async {
                let (state, value) = match seen.await? {
                    Some((s, v)) => (s, Some(v)),
                    None => (GONE.to_string(), None),
                };
                match w.judge(&state) {
                    Some(true) => Ok(Some(value)),
                    Some(false) => Ok(None),
                    None => Err(OpError::new(format!(
                        "{object} is {state} (waiting for it {}: expected {})",
                        w.goal,
                        w.target.join(" or ")
                    ))),
                }
            }
        })
        .await
    }

    pub fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// The tags of the component `key`.
    pub fn tags_for(&self, key: &str) -> Tags {
        ownership::component_tags(&self.tags, &self.stack_id, key)
    }

    /// Fills every spec's tags: the component's, then any the stack gave
    /// the spec itself (`Spec::tag`).
    pub fn tag_specs(&self, specs: &mut [Spec]) {
        for s in specs {
            let own = std::mem::take(&mut s.tags);
            s.tags = self.tags_for(&s.key);
            s.tags.extend(own);
        }
    }

    pub fn warn(&self, w: impl Into<String>) {
        self.warnings.lock().unwrap().push(w.into());
    }

    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap())
    }

    /// Runs `f` again while it fails with an error that `retryable` accepts
    /// (eventual consistency: a just-created role not yet visible to EC2, a
    /// dependency still being detached), with capped exponential backoff,
    /// for at most `budget` and never past the deadline. StopProvider ends
    /// the wait at once, with the last error.
    pub async fn retry<T, Er, F, Fut>(
        &self,
        budget: Duration,
        mut retryable: impl FnMut(&Er) -> bool,
        mut f: F,
    ) -> Result<T, Er>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Er>>,
    {
        let until = (Instant::now() + budget).min(self.deadline);
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0u32;
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if retryable(&e) && !self.cancelled() && Instant::now() + delay < until => {
                    attempt += 1;
                    tracing::debug!(
                        attempt,
                        "retrying after a retryable error (eventual consistency)"
                    );
                    let mut cancel = self.cancel.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = cancel.changed() => return Err(e),
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes the declared `call` with `f`, again while it fails with an
    /// error the declaration calls "not yet" (AWS catching up: a role not
    /// yet visible to EC2, an interface still draining), backing off (250 ms
    /// doubling to 5 s), for at most the declared time and never past the
    /// operation's deadline; StopProvider ends it at once. The final error
    /// says how long the declared error was retried (`Retried::explain`).
    pub async fn call<T, Er, F, Fut>(&self, call: &'static Call, mut f: F) -> Result<T, Retried<Er>>
    where
        Er: Fault,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Er>>,
    {
        let started = Instant::now();
        let until = (started + call.lasts).min(self.deadline);
        let mut delay = Duration::from_millis(250);
        let mut tries = 0u32;
        loop {
            tries += 1;
            let e = match f().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let fail = |e, ended| {
                Err(Retried {
                    error: e,
                    call,
                    tries,
                    elapsed: started.elapsed(),
                    ended,
                })
            };
            if !call.not_yet(&e) {
                return fail(e, None);
            }
            if self.cancelled() {
                return fail(e, Some(consistency::Ended::Stopped));
            }
            if Instant::now() + delay >= until {
                let ended = if until < started + call.lasts {
                    consistency::Ended::Deadline
                } else {
                    consistency::Ended::Propagation
                };
                return fail(e, Some(ended));
            }
            tracing::debug!(
                action = call.action,
                code = e.code().unwrap_or_default(),
                attempt = tries,
                "retrying: AWS is still catching up (eventual consistency)"
            );
            let mut cancel = self.cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.wait_for(|c| *c) => return fail(e, Some(consistency::Ended::Stopped)),
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Polls `check` until it returns `Some`, the deadline passes or the
    /// provider is stopped: a wait that is no state machine (an object's
    /// membership in another). Waits on an object's state are declared
    /// (`Env::wait`).
    pub async fn wait_until<T, F, Fut>(&self, what: &str, check: F) -> Result<T, OpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, OpError>>,
    {
        self.poll(what, Duration::from_secs(10), check).await
    }

    async fn poll<T, F, Fut>(
        &self,
        what: &str,
        max_pause: Duration,
        mut check: F,
    ) -> Result<T, OpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, OpError>>,
    {
        let mut delay = Duration::from_millis(200).min(max_pause);
        let started = Instant::now();
        loop {
            if let Some(v) = check().await? {
                return Ok(v);
            }
            if self.cancelled() {
                return Err(OpError::new(format!("cancelled while waiting for {what}")));
            }
            if Instant::now() + delay > self.deadline {
                return Err(OpError::new(format!(
                    "timeout while waiting for {what} (waited {:.0?}): {}",
                    started.elapsed(),
                    self.timeout_advice()
                )));
            }
            let mut cancel = self.cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.changed() => {}
            }
            delay = (delay * 3 / 2).min(max_pause);
        }
    }
}

/// What the engine needs of the cloud beyond the component kinds: the one
/// place that reads and writes tags, for every kind of every service.
#[tonic::async_trait]
pub trait Cloud: Send + Sync + 'static {
    /// How an object is named to its service's tagging API.
    type TagRef: Send + Sync;
    /// The region this cloud's clients talk to.
    fn region(&self) -> &str;
    /// The same account and settings in another region (built once, then
    /// shared).
    fn in_region(self: Arc<Self>, region: &str) -> Arc<Self>;
    /// The object's tags, or None when it no longer exists.
    async fn read_tags(&self, r: &Self::TagRef) -> Result<Option<Tags>, OpError>;
    /// Sets `set` and removes `remove`, leaving every other key.
    async fn update_tags(
        &self,
        r: &Self::TagRef,
        set: &Tags,
        remove: &[String],
    ) -> Result<(), OpError>;
}

/// Names a kind's recorded object to the tagging API.
pub type TagRefFn<C> = fn(&Env<C>, &Record) -> <C as Cloud>::TagRef;

/// The four verbs of one kind of component.
#[tonic::async_trait]
pub trait Kind<C: Cloud>: Send + Sync {
    fn name(&self) -> &'static str;
    /// The dependencies the kind cannot work without, checked when the
    /// graph is built (see `needs`).
    fn needs(&self) -> &'static [Need] {
        &[]
    }
    /// Input fields that AWS cannot change in place.
    fn replace_fields(&self) -> &'static [&'static str] {
        &[]
    }
    async fn create(&self, env: &Env<C>, spec: &Spec, deps: &Records) -> Result<Record, OpError>;
    /// The component as it is now in AWS, or None if it no longer exists.
    async fn read(&self, env: &Env<C>, rec: &Record) -> Result<Option<Record>, OpError>;
    async fn update(
        &self,
        env: &Env<C>,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError>;
    async fn delete(&self, env: &Env<C>, rec: &Record) -> Result<(), OpError>;
    /// Checks what in the spec's inputs names a dependency, outside slots
    /// and placeholders (a security group rule's `source`), against the
    /// names its dependencies have (`dep_name`); run by the graph check at
    /// plan, before any AWS call.
    fn check_spec(&self, _spec: &Spec, _dependencies: &[&str]) -> Result<(), String> {
        Ok(())
    }
    /// The outputs its records hold (besides `id`), that a dependent's
    /// `Reference` may name: checked at plan.
    fn outputs(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether a spec's inputs read as the kind's `Inputs` (`inputs::check`):
    /// run by the graph check at plan, before any AWS call.
    fn check_inputs(&self, _inputs: &Json) -> Result<(), String> {
        Ok(())
    }
    /// Brings a record written by an older awsstack to this version's
    /// inputs, so that an upgrade of the provider plans nothing by itself.
    /// Run on every record read from a private state: idempotent.
    fn upgrade(&self, _rec: &mut Record) {}
    /// Finds the component of `spec` in AWS by its tags or its deterministic
    /// name (import, and adoption after an interrupted create). Read-only:
    /// what it finds may be someone else's, and import calls it too. The
    /// engine then checks the owner before it adopts what was found, and
    /// `update` brings an adopted object to the spec.
    async fn find(&self, _env: &Env<C>, _spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(None)
    }
    /// What `find` returns, as a diagnostic names it: the kind's own object
    /// by default; a kind found through another object (the cleanup of an
    /// EKS cluster's leftovers, found as its cluster) names that one, so a
    /// foreign namesake is reported as what it is.
    fn found_as(&self) -> String {
        self.name().replace('_', " ")
    }
    /// How the tagging API names a recorded object of the kind; None for a
    /// kind AWS cannot tag. The engine then diffs, applies and refreshes the
    /// kind's tags through `Cloud`, as for every other kind.
    fn tagging(&self) -> Option<TagRefFn<C>> {
        None
    }
    fn taggable(&self) -> bool {
        self.tagging().is_some()
    }
    /// A replacement creates the new object before it deletes the old one
    /// (an EKS node group: the workloads move to the new nodes first). The
    /// kind then names each generation differently. The old object is kept
    /// in the records as `<key>#deposed` until it is deleted.
    fn create_before_destroy(&self) -> bool {
        false
    }
    /// What the plan says an in-place update of `fields` will do, when the
    /// field names alone would not tell (a database switchover or failover).
    fn describe_update(&self, _spec: &Spec, _rec: &Record, _fields: &[String]) -> Option<String> {
        None
    }
    /// The object's tags (all of them), or None when it no longer exists or
    /// the kind has none.
    async fn read_tags(&self, env: &Env<C>, rec: &Record) -> Result<Option<Tags>, OpError> {
        match self.tagging() {
            Some(f) => env.ctx.read_tags(&f(env, rec)).await,
            None => Ok(None),
        }
    }
    /// Sets `set` and removes `remove` on the object, leaving other keys.
    async fn update_tags(
        &self,
        env: &Env<C>,
        rec: &Record,
        set: &Tags,
        remove: &[String],
    ) -> Result<(), OpError> {
        match self.tagging() {
            Some(f) => env.ctx.update_tags(&f(env, rec), set, remove).await,
            None => Ok(()),
        }
    }
    /// Why deleting the recorded object now would lose data the user has
    /// not opted to lose (a bucket that holds objects without
    /// `force_destroy`). Checked at plan, before anything is deleted.
    async fn delete_blocker(
        &self,
        _env: &Env<C>,
        _rec: &Record,
    ) -> Result<Option<OpError>, OpError> {
        Ok(None)
    }
    /// What deleting the recorded object will delete besides it (objects
    /// others created that would block the delete, such as the load
    /// balancers an ingress controller made in the stack's subnets): shown
    /// at plan, so a destroy says everything it will remove.
    async fn delete_notice(&self, _env: &Env<C>, _rec: &Record) -> Result<Option<String>, OpError> {
        Ok(None)
    }
    /// An object the stack uses and does not own (a VPC or subnet of the
    /// user's own network): `create` only checks it and records it, and the
    /// engine never tags it, never deletes it (a delete forgets the record)
    /// and refuses to replace it (see `referenced_replacements`).
    fn referenced(&self) -> bool {
        false
    }
    /// How long one create, update or delete of the kind's object may take
    /// (its waits included): see `waiter`.
    /// Every AWS call the kind makes, with the errors by which AWS says
    /// "not yet" on it (see `consistency`): what `Env::call` retries, what
    /// the docs list as the IAM actions a stack needs, and what the fault
    /// proxy's realistic-AWS mode plays.
    fn calls(&self) -> &'static [Call] {
        &[]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::DEFAULT
    }
    /// The stack id an object that `find` returned belongs to (None: no
    /// stack's). By default its stack-id tag; a kind AWS cannot tag reads
    /// back a marker of its own.
    async fn owner(&self, env: &Env<C>, found: &Record) -> Result<Option<String>, OpError> {
        Ok(self
            .read_tags(env, found)
            .await?
            .and_then(|t| t.get(TAG_STACK_ID).cloned()))
    }
}

/// Every record read from a private state, brought to this version by its
/// kind (`Kind::upgrade`); a record of an unknown kind is left as it is
/// (the plan names it).
pub fn upgrade<C: Cloud>(kinds: &Kinds<C>, records: &mut Records) {
    for rec in records.values_mut() {
        if let Ok(kind) = kinds.get(&rec.kind) {
            kind.upgrade(rec);
        }
    }
}

/// The separator of a key's scope: a stack that builds the same components
/// twice (a network per region) keys them `primary/vpc`, `secondary/vpc`.
pub const SCOPE: char = '/';

/// The suffix of a replaced object kept until its successor exists (create
/// before destroy).
pub const DEPOSED: &str = "#deposed";

/// The name under which the component `key` sees its dependency `dep`: a
/// dependency of the same scope loses the scope, so that a kind written for
/// one network (its `vpc`, its `subnet.*`) serves every region of a stack.
pub fn dep_name<'a>(key: &str, dep: &'a str) -> &'a str {
    match (key.split_once(SCOPE), dep.split_once(SCOPE)) {
        (Some((scope, _)), Some((dep_scope, rest))) if scope == dep_scope => rest,
        _ => dep,
    }
}

/// The environment of a component placed in `region` (None: the stack's
/// region): the same stack, deadline, cancellation and warnings, with the
/// cloud of that region.
pub fn placed<C: Cloud>(env: &Arc<Env<C>>, region: Option<&str>) -> Arc<Env<C>> {
    match region {
        Some(r) if r != env.ctx.region() => Arc::new(Env {
            ctx: env.ctx.clone().in_region(r),
            ..(**env).clone()
        }),
        _ => env.clone(),
    }
}

/// The data-loss checks of the components that `keys` would delete: one
/// error per component that holds data the user has not opted to lose.
pub async fn delete_blockers<C: Cloud>(
    env: &Arc<Env<C>>,
    kinds: &Kinds<C>,
    recorded: &Records,
    keys: &[String],
) -> Vec<ApplyError> {
    let mut out = vec![];
    for key in keys {
        let Some(rec) = recorded.get(key) else {
            continue;
        };
        let Ok(kind) = kinds.get(&rec.kind) else {
            continue;
        };
        match kind
            .delete_blocker(&placed(env, rec.region.as_deref()), rec)
            .await
        {
            Ok(None) => {}
            Ok(Some(e)) | Err(e) => out.push(ApplyError {
                key: key.clone(),
                action: Action::Delete,
                message: e.message,
                attribute: e.attribute,
            }),
        }
    }
    out
}

/// What the deletes of `keys` will remove besides the components
/// themselves, one line per component that says so.
pub async fn delete_notices<C: Cloud>(
    env: &Arc<Env<C>>,
    kinds: &Kinds<C>,
    recorded: &Records,
    keys: &[String],
) -> Vec<String> {
    let mut out = vec![];
    for key in keys {
        let Some(rec) = recorded.get(key) else {
            continue;
        };
        let Ok(kind) = kinds.get(&rec.kind) else {
            continue;
        };
        match kind
            .delete_notice(&placed(env, rec.region.as_deref()), rec)
            .await
        {
            Ok(Some(n)) => out.push(format!("delete {key}: {n}")),
            Ok(None) => {}
            Err(e) => out.push(format!(
                "delete {key}: could not list what it will also delete ({})",
                e.message
            )),
        }
    }
    out
}

/// Finds the component of `spec` and proves it is this stack's: Ok(None)
/// when nothing exists, an error on the naming attribute when a foreign
/// object holds the name (it is then never touched).
pub async fn find_owned<C: Cloud>(
    kind: &dyn Kind<C>,
    env: &Env<C>,
    spec: &Spec,
) -> Result<Option<Record>, OpError> {
    let Some(mut found) = kind.find(env, spec).await? else {
        return Ok(None);
    };
    let owner = kind.owner(env, &found).await?;
    if owner.as_deref() != Some(env.stack_id.as_str()) {
        return Err(OpError::new(ownership::foreign_object_message(
            &kind.found_as(),
            &found.id,
            owner.as_deref(),
            spec.named_by,
        ))
        .at(spec.named_by));
    }
    if kind.taggable() {
        if let Some(t) = kind.read_tags(env, &found).await? {
            found.tags = ownership::managed_view(&t, &Tags::new(), &spec.tags);
        }
    }
    Ok(Some(found))
}

pub struct Kinds<C: Cloud>(pub BTreeMap<&'static str, Arc<dyn Kind<C>>>);

impl<C: Cloud> Kinds<C> {
    pub fn new(list: Vec<Arc<dyn Kind<C>>>) -> Self {
        Kinds(list.into_iter().map(|k| (k.name(), k)).collect())
    }
    pub fn get(&self, name: &str) -> Result<&Arc<dyn Kind<C>>, OpError> {
        self.0
            .get(name)
            .ok_or_else(|| OpError::new(format!("unknown component kind {name}")))
    }
}

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
fn differing_fields(desired: &Json, recorded: &Json) -> Vec<String> {
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
                let forced: Vec<&String> = diff
                    .iter()
                    .filter(|f| kind.replace_fields().contains(&f.as_str()) || f.as_str() == "*")
                    .collect();
                if !forced.is_empty() {
                    Some((
                        Action::Replace,
                        format!("{} cannot change in place", join(&forced)),
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

fn join(v: &[&String]) -> String {
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
        let env = env.clone();
        let kinds = kinds.clone();
        let records = records.clone();
        let spec = by_key[&key].clone();
        let action = work[&key];
        async move {
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
            let env = placed(&env, spec.region.as_deref()).for_operation(kind.name(), verb, limit);
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
                _ => match find_owned(kind.as_ref(), &env, &spec).await {
                    // Left behind by an interrupted earlier apply, and
                    // proved to be this stack's: adopt it rather than create
                    // a duplicate.
                    Ok(Some(found)) => {
                        tracing::info!(component = %key, id = %found.id, "adopting existing");
                        // What the interrupted create did not get to (a
                        // subnet's public-IP setting, say) shows in a read;
                        // the update then repairs it.
                        let found = match kind.read(&env, &found).await {
                            Ok(Some(seen)) => Record {
                                tags: found.tags.clone(),
                                ..seen
                            },
                            _ => found,
                        };
                        match kind.update(&env, &spec, &found, &deps).await {
                            Ok(rec) => converge_tags(kind.as_ref(), &env, &spec, rec).await,
                            Err(e) => Err(if e.partial.is_none() {
                                e.partial(found)
                            } else {
                                e
                            }),
                        }
                    }
                    Ok(None) => {
                        tracing::info!(component = %key, "creating");
                        kind.create(&env, &spec, &deps).await.map(|mut rec| {
                            if kind.taggable() {
                                rec.tags = spec.tags.clone();
                            }
                            rec
                        })
                    }
                    // A foreign object holds the name, or the lookup failed:
                    // nothing is created.
                    Err(e) => Err(e),
                },
            };
            timings::record(
                &key,
                action,
                started,
                spec.deps.iter().map(|d| d.key.as_str()),
            );
            match result {
                Ok(mut rec) => {
                    rec.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
                    rec.region = spec.region.clone();
                    records.lock().unwrap().insert(key.clone(), rec);
                    Ok(())
                }
                Err(e) => {
                    if let Some(mut p) = e.partial {
                        p.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
                        p.region = spec.region.clone();
                        records.lock().unwrap().insert(key.clone(), p);
                    }
                    Err(ApplyError {
                        attribute: e.attribute,
                        ..fail(e.message)
                    })
                }
            }
        }
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

/// The records of the dependencies of `spec`, under the names it sees them
/// by; Err names the first one not recorded.
fn dependency_records(spec: &Spec, records: &Records) -> Result<Records, String> {
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

/// Records the components of `desired` that exist and are this stack's but
/// that `records` lacks, so that a failed apply leaves a state that records
/// every sub-resource that exists, whatever the apply reached. Terraform
/// taints a stack whose create failed and replaces it without handing its
/// private state to either half: the destroy half sees no record (and
/// deletes nothing), the create half starts from none and adopts again what
/// it reaches; what it does not reach before failing would be in no state
/// at all, and a destroy would leave it. Dependencies first: a component
/// whose dependencies are not all recorded was never created. Only objects
/// that carry this stack's id are recorded (`find_owned`), each once.
pub async fn discover<C: Cloud>(
    env: &Arc<Env<C>>,
    kinds: &Kinds<C>,
    desired: &[Spec],
    records: &mut Records,
) {
    let Ok(order) = topo_order(desired) else {
        return;
    };
    let by_key: BTreeMap<&str, &Spec> = desired.iter().map(|s| (s.key.as_str(), s)).collect();
    for key in order {
        if env.cancelled()
            || records.contains_key(&key)
            || records.contains_key(&format!("{key}{DEPOSED}"))
        {
            continue;
        }
        let spec = by_key[key.as_str()];
        let (Ok(kind), Ok(deps)) = (kinds.get(spec.kind), dependency_records(spec, records)) else {
            continue;
        };
        let env = placed(env, spec.region.as_deref());
        // A referenced kind's create only looks its object up.
        let found = if kind.referenced() {
            kind.create(&env, spec, &deps).await.map(Some)
        } else {
            find_owned(kind.as_ref(), &env, spec).await
        };
        let Ok(Some(found)) = found else { continue };
        if records
            .values()
            .any(|r| r.kind == found.kind && r.id == found.id)
        {
            continue;
        }
        let mut rec = match kind.read(&env, &found).await {
            Ok(Some(seen)) => Record {
                tags: found.tags.clone(),
                ..seen
            },
            _ => found,
        };
        tracing::info!(component = %key, id = %rec.id, "recording existing after a failed apply");
        rec.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
        rec.region = spec.region.clone();
        records.insert(key, rec);
    }
}

/// Deletes the recorded components `keys`, each after every component of
/// the set that depends on it, independent ones concurrently; a deleted
/// component leaves `records`.
async fn delete_keys<C: Cloud>(
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
async fn converge_tags<C: Cloud>(
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

/// Refreshes every recorded component concurrently; drops the ones that no
/// longer exist. Returns the refreshed records and a description of drift.
pub async fn refresh<C: Cloud>(
    env: Arc<Env<C>>,
    kinds: Arc<Kinds<C>>,
    recorded: Records,
) -> Result<(Records, Vec<String>), String> {
    use futures::stream::{self, StreamExt};
    let results: Vec<(String, Record, Result<Option<Record>, OpError>)> =
        stream::iter(recorded.into_iter())
            .map(|(key, rec)| {
                let env = env.clone();
                let kinds = kinds.clone();
                async move {
                    let env = placed(&env, rec.region.as_deref());
                    let r = match kinds.get(&rec.kind) {
                        Ok(k) => match k.read(&env, &rec).await {
                            Ok(Some(mut new)) if k.taggable() => {
                                match k.read_tags(&env, &new).await {
                                    Ok(Some(observed)) => {
                                        new.tags = ownership::managed_view(
                                            &observed,
                                            &rec.tags,
                                            &env.tags_for(&key),
                                        );
                                        Ok(Some(new))
                                    }
                                    Ok(None) => Ok(Some(new)),
                                    Err(e) => Err(e),
                                }
                            }
                            other => other,
                        },
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
                new.region = old.region.clone();
                let mut fields = differing_fields(&old.inputs, &new.inputs);
                // A state written before tags were recorded has none to compare.
                if !old.tags.is_empty() {
                    let (set, remove) = ownership::tag_diff(&old.tags, &new.tags);
                    fields.extend(set.into_keys().chain(remove).map(|k| format!("tag {k}")));
                }
                if !fields.is_empty() {
                    drift.push(format!(
                        "{key} ({}) changed outside Terraform: {}",
                        old.kind,
                        fields.join(", ")
                    ));
                }
                out.insert(key, new);
            }
            Ok(None) => drift.push(format!(
                "{key} ({}) was deleted outside Terraform",
                old.kind
            )),
            Err(e) => return Err(format!("reading {key}: {}", e.message)),
        }
    }
    drift.sort();
    Ok((out, drift))
}
