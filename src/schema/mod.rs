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
/// A value configured (known or not) for an attribute only the provider
/// sets: Terraform leaves this check to the provider, and without it the
/// value would be silently ignored (`vpc_id = "vpc-..."` would not place a
/// stack in that network).
pub fn read_only_diags(block: &Block, config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    read_only_at(block, config, &crate::value::Path::default(), &mut d);
    d
}

fn read_only_at(block: &Block, v: &Value, at: &crate::value::Path, d: &mut Diagnostics) {
    for a in block.attributes.iter().filter(|a| a.computed && !a.optional && !a.required) {
        if !v.get(a.name).is_null() {
            d.error_at(at.clone().then_attr(a.name), "Read-only attribute", format!("\"{}\" is read-only: it is set by the provider. Remove it from the configuration.", a.name));
        }
    }
    for b in &block.blocks {
        let bv = v.get(b.name);
        match (b.nesting, bv) {
            (Nesting::Single, x) if !x.is_null() => read_only_at(&b.block, x, &at.clone().then_attr(b.name), d),
            (Nesting::List, Value::List(items)) => {
                for (i, it) in items.iter().enumerate() {
                    read_only_at(&b.block, it, &at.clone().then_attr(b.name).then_index(i), d);
                }
            }
            _ => {}
        }
    }
}

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

#[cfg(test)]
mod read_only_tests {
    use super::*;
    use crate::value::{Type, Value};

    #[test]
    fn a_configured_read_only_attribute_is_an_error_on_it_known_or_not() {
        let block = Block {
            description: "",
            attributes: vec![
                Attribute::optional("name", Type::String, ""),
                Attribute::optional_computed("zone", Type::String, ""),
                Attribute::computed("vpc_id", Type::String, ""),
            ],
            blocks: vec![NestedBlock {
                name: "rule",
                nesting: Nesting::List,
                max_items: 0,
                block: Block { description: "", attributes: vec![Attribute::computed("id", Type::String, "")], blocks: vec![] },
            }],
        };
        let mut cfg = Value::Object(Default::default());
        cfg.set_attr("name", Value::str("a"));
        cfg.set_attr("zone", Value::str("z"));
        assert!(read_only_diags(&block, &cfg).0.is_empty(), "optional and optional-computed values are the user's");
        cfg.set_attr("vpc_id", Value::Unknown);
        let mut rule = Value::Object(Default::default());
        rule.set_attr("id", Value::str("r-1"));
        cfg.set_attr("rule", Value::List(vec![Value::Object(Default::default()), rule]));
        let d = read_only_diags(&block, &cfg);
        let got: Vec<String> = d.0.iter().map(|x| x.path.as_ref().map(|p| p.to_string()).unwrap_or_default()).collect();
        assert_eq!(got, vec!["vpc_id".to_string(), "rule[1].id".to_string()]);
        assert!(d.0[0].detail.contains("\"vpc_id\" is read-only: it is set by the provider"), "{}", d.0[0].detail);
    }
}
