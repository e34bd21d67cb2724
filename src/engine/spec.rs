//! The desired graph: specs, their dependencies and the handles that name
//! them.

use super::*;

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
    /// The configuration attribute that decides each input field, where
    /// one does (a subnet's `cidr` from `public_subnet_cidrs`): a move
    /// refused on that field is reported on it (`adopt::refusals`).
    pub attributes: Vec<(&'static str, &'static str)>,
    /// Inputs that hold a dependency's AWS name (a database's subnet group,
    /// a listener's load balancer): input field → dependency key. Such an
    /// input follows the name an adopted dependency keeps (`adopt::keep`).
    pub names: Vec<(&'static str, String)>,
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
            attributes: vec![],
            names: vec![],
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
    /// The input `field` holds the AWS name of `h`, one of its dependencies.
    pub fn naming(mut self, field: &'static str, h: &Handle) -> Spec {
        self.names.push((field, h.key.clone()));
        self
    }
    /// Declares the configuration attribute that decides the input `field`.
    pub fn field_from(mut self, field: &'static str, attribute: &'static str) -> Spec {
        self.attributes.push((field, attribute));
        self
    }
    /// The configuration attribute that decides the input `field`, if declared.
    pub fn attribute_of(&self, field: &str) -> Option<&'static str> {
        self.attributes
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, a)| *a)
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
