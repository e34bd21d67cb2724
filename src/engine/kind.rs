//! The cloud and the component kinds the engine drives, and what it asks
//! of them beyond the four verbs (ownership, data-loss checks).

use super::*;

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
    /// Adoption (`adopt`): the object `id`, which the stack did not create,
    /// as AWS has it now, read-only, becoming the component of `spec`.
    /// Every `replace_fields` and `kept_fields` input is read from AWS,
    /// never copied from `spec` (a difference is what refuses the move);
    /// outputs are recorded as `create` records them; a slot names the
    /// dependency in `deps` whose id AWS shows, or the observed id when
    /// none has it (a difference, again). None: no such object. An error:
    /// the object cannot become this component (another type of object, a
    /// setting the stack does not manage). By default a kind takes none.
    async fn observe(
        &self,
        _env: &Env<C>,
        _spec: &Spec,
        _id: &str,
        _deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        Err(OpError::new(format!(
            "awsstack cannot take an existing {} yet",
            self.found_as()
        )))
    }
    /// Replace-only inputs the stack chooses itself (a name, a
    /// description): an adopted object keeps its own for good
    /// (`adopt::keep`) instead of being replaced to get the stack's.
    fn kept_fields(&self) -> &'static [&'static str] {
        &[]
    }
    /// Immutable objects whose "replacement" is a new revision of the same
    /// object (an ECS task definition): allowed for an adopted one.
    fn revisioned(&self) -> bool {
        false
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
            spec.region.as_deref(),
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

/// A kind's name and its plan-time input check, both from its inputs'
/// type: the name is written once, as `Inputs::KIND`. Used inside a
/// `Kind` impl: `crate::engine::typed_kind!(RepositoryInputs);`.
macro_rules! typed_kind {
    ($inputs:ty) => {
        fn name(&self) -> &'static str {
            <$inputs as $crate::engine::Inputs>::KIND
        }
        fn check_inputs(&self, inputs: &serde_json::Value) -> Result<(), String> {
            $crate::engine::inputs::check::<$inputs>(inputs)
        }
    };
}
pub(crate) use typed_kind;
