//! Resource and provider schemas, diagnostics, and the plan helpers that
//! every resource shares (computed values kept from state, replace paths).

mod diag;
pub mod docs;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, Severity};

use crate::value::{Type, Value};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: Type,
    pub description: &'static str,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    /// Changing this attribute replaces the whole stack.
    pub requires_replace: bool,
    /// Value used when the configuration leaves an optional attribute null.
    pub default: Option<Value>,
}

impl Attribute {
    fn new(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute { name, ty, description, required: false, optional: false, computed: false, sensitive: false, requires_replace: false, default: None }
    }
    pub fn required(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute { required: true, ..Self::new(name, ty, description) }
    }
    pub fn optional(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute { optional: true, ..Self::new(name, ty, description) }
    }
    /// Optional with a default: the default shows in the plan.
    pub fn with_default(name: &'static str, ty: Type, default: Value, description: &'static str) -> Self {
        Attribute { optional: true, computed: true, default: Some(default), ..Self::new(name, ty, description) }
    }
    /// Optional, and computed by the provider when left out.
    pub fn optional_computed(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute { optional: true, computed: true, ..Self::new(name, ty, description) }
    }
    pub fn computed(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute { computed: true, ..Self::new(name, ty, description) }
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.requires_replace = true;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nesting {
    Single,
    List,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: &'static str,
    pub nesting: Nesting,
    pub block: Block,
    pub max_items: i64,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

impl Block {
    /// The cty object type of this block's values.
    pub fn value_type(&self) -> Type {
        let mut m = BTreeMap::new();
        for a in &self.attributes {
            m.insert(a.name.to_string(), a.ty.clone());
        }
        for b in &self.blocks {
            let t = b.block.value_type();
            m.insert(
                b.name.to_string(),
                match b.nesting {
                    Nesting::Single => t,
                    Nesting::List => Type::list(t),
                },
            );
        }
        Type::Object(m)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Paths of every sensitive attribute (top level).
    pub fn sensitive_names(&self) -> Vec<&'static str> {
        self.attributes.iter().filter(|a| a.sensitive).map(|a| a.name).collect()
    }
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

/// Fills configured-null optional attributes with their defaults, at the top
/// level and inside nested blocks.
pub fn apply_defaults(block: &Block, v: &mut Value) {
    let Value::Object(m) = v else { return };
    for a in &block.attributes {
        if let Some(d) = &a.default {
            let e = m.entry(a.name.to_string()).or_insert(Value::Null);
            if e.is_null() {
                *e = d.clone();
            }
        }
    }
    for b in &block.blocks {
        if let Some(bv) = m.get_mut(b.name) {
            match b.nesting {
                Nesting::Single => apply_defaults(&b.block, bv),
                Nesting::List => {
                    if let Value::List(items) = bv {
                        for it in items {
                            apply_defaults(&b.block, it);
                        }
                    }
                }
            }
        }
    }
}
