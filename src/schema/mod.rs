//! Resource and provider schemas, diagnostics, and the plan helpers that
//! every resource shares (computed values kept from state, replace paths).

pub mod config;
mod diag;
pub mod docs;
pub mod rules;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use rules::Rule;

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
    /// Terraform >= 1.11 keeps the value out of the plan and the state: the
    /// provider sees it in the configuration only. Named `<x>_wo`, with a
    /// `<x>_wo_version` whose change is what sends a new value.
    pub write_only: bool,
    /// Optional and computed, and what the stack builds depends on whether
    /// the configuration sets it (`vpc_id`: an existing network, else the
    /// stack's own): the stack sees the configuration's value, never the
    /// prior state's computed one that Terraform proposes in its place.
    pub from_config: bool,
    /// Optional; unset, the provider looks the value up once, when the
    /// stack is created, and keeps it (so it is computed, and part of the
    /// import manifest).
    pub looked_up: bool,
    /// Computed, and decided once by the provider for good (the names
    /// adopted objects keep): part of the import manifest, so that an
    /// import rebuilds the same stack.
    pub in_manifest: bool,
    /// Rules on the attribute's own value (`rules::check` at validate).
    pub rules: Vec<Rule>,
}

impl Attribute {
    fn new(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute {
            name,
            ty,
            description,
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            requires_replace: false,
            default: None,
            write_only: false,
            from_config: false,
            looked_up: false,
            in_manifest: false,
            rules: vec![],
        }
    }
    pub fn required(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute {
            required: true,
            ..Self::new(name, ty, description)
        }
    }
    pub fn optional(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute {
            optional: true,
            ..Self::new(name, ty, description)
        }
    }
    /// Optional with a default: the default shows in the plan.
    pub fn with_default(
        name: &'static str,
        ty: Type,
        default: Value,
        description: &'static str,
    ) -> Self {
        Attribute {
            optional: true,
            computed: true,
            default: Some(default),
            ..Self::new(name, ty, description)
        }
    }
    /// Optional, and computed by the provider when left out.
    pub fn optional_computed(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute {
            optional: true,
            computed: true,
            ..Self::new(name, ty, description)
        }
    }
    pub fn computed(name: &'static str, ty: Type, description: &'static str) -> Self {
        Attribute {
            computed: true,
            ..Self::new(name, ty, description)
        }
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Write-only (and sensitive, for the Terraform versions that would
    /// show it: they are refused anyway).
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self.sensitive = true;
        self
    }
    /// Optional and computed, decided by the configuration (see the field).
    pub fn from_config(mut self) -> Self {
        self.optional = true;
        self.computed = true;
        self.from_config = true;
        self
    }
    /// Optional, looked up when unset and then kept (see the field).
    pub fn looked_up(mut self) -> Self {
        self.optional = true;
        self.computed = true;
        self.looked_up = true;
        self
    }
    /// Computed and kept in the import manifest (see the field).
    pub fn in_manifest(mut self) -> Self {
        self.in_manifest = true;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.requires_replace = true;
        self
    }
    /// A rule on the attribute's own value (see `rules`).
    pub fn rule(mut self, r: Rule) -> Self {
        self.rules.push(r);
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
    /// Nested block `name` of the value `v` of this block, or, when the
    /// block is absent, what it reads configured empty: its attributes'
    /// defaults. So a stack writes an absent block's defaults nowhere but
    /// on the schema.
    pub fn nested_or_defaults(&self, name: &str, v: &Value) -> Value {
        let found = v.get(name);
        if !found.is_null() {
            return found.clone();
        }
        let mut empty = Value::Object(Default::default());
        if let Some(b) = self.blocks.iter().find(|b| b.name == name) {
            apply_defaults(&b.block, &mut empty);
        }
        empty
    }
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
        self.attributes
            .iter()
            .filter(|a| a.sensitive)
            .map(|a| a.name)
            .collect()
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
    for a in block
        .attributes
        .iter()
        .filter(|a| a.computed && !a.optional && !a.required)
    {
        if !v.get(a.name).is_null() {
            d.error_at(at.clone().then_attr(a.name), "Read-only attribute", format!("\"{}\" is read-only: it is set by the provider. Remove it from the configuration.", a.name));
        }
    }
    for b in &block.blocks {
        let bv = v.get(b.name);
        match (b.nesting, bv) {
            (Nesting::Single, x) if !x.is_null() => {
                read_only_at(&b.block, x, &at.clone().then_attr(b.name), d)
            }
            (Nesting::List, Value::List(items)) => {
                for (i, it) in items.iter().enumerate() {
                    read_only_at(&b.block, it, &at.clone().then_attr(b.name).then_index(i), d);
                }
            }
            _ => {}
        }
    }
}

/// The checks of write-only attributes (top level), at validate and plan:
/// refused when the client keeps them in the state (Terraform < 1.11 does
/// not set `write_only_attributes_allowed`), each needs its `_version`
/// (the only thing Terraform compares between plans), and each replaces
/// the sensitive attribute of the same base name rather than mixing with it.
/// Values are never echoed.
///
/// At validate (`at_plan` false) unknown values are skipped, as for every
/// check; at plan an unknown write-only value counts as set when the client
/// would store it, since it will be known at apply.
pub fn write_only_diags(
    block: &Block,
    config: &Value,
    allowed: bool,
    at_plan: bool,
) -> Diagnostics {
    let mut d = Diagnostics::default();
    let known = |name: &str| !config.get(name).is_null() && !config.get(name).is_unknown();
    for a in block.attributes.iter().filter(|a| a.write_only) {
        let value = config.get(a.name);
        let version = format!("{}_version", a.name);
        if value.is_unknown() {
            if at_plan && !allowed {
                d.error_at(
                    crate::value::Path::attr(a.name),
                    "Write-only argument needs Terraform 1.11",
                    format!("`{}` is a write-only argument: its value is kept out of the plan and the state, which needs Terraform 1.11 or later.", a.name),
                );
            }
            continue;
        }
        if value.is_null() {
            if known(&version) {
                d.error_at(
                    crate::value::Path::attr(&version),
                    "Version without values",
                    format!("`{version}` is set but `{}` is not: set both (the version says when the write-only values change).", a.name),
                );
            }
            continue;
        }
        let path = crate::value::Path::attr(a.name);
        let base = a.name.strip_suffix("_wo").unwrap_or(a.name);
        let kept = block.attribute(base).map(|b| b.name);
        if !allowed {
            let instead = kept.map(|k| format!(" With this Terraform, use `{k}` instead (sensitive: hidden in the plan output, but stored in the state)."));
            d.error_at(
                path,
                "Write-only argument needs Terraform 1.11",
                format!(
                    "`{}` is a write-only argument: its value is kept out of the plan and the state, which needs Terraform 1.11 or later. This Terraform does not support write-only arguments and would store it in the state, so awsstack refuses it.{}",
                    a.name,
                    instead.unwrap_or_default()
                ),
            );
            continue;
        }
        if config.get(&version).is_null() {
            d.error_at(
                path.clone(),
                "Missing version",
                format!(
                    "`{}` needs `{version}`: Terraform does not keep write-only values, so a change of `{version}` (any number, e.g. 1, then 2) is what sends new values to AWS.",
                    a.name
                ),
            );
        }
        if let Some(k) = kept.filter(|k| known(k)) {
            d.error_at(path, "Conflicting arguments", format!("`{}` and `{k}` set the same values: use one of them (`{}` keeps the values out of the state).", a.name, a.name));
        }
    }
    d
}

/// `state` without write-only values: Terraform >= 1.11 requires them null
/// in every plan and state the provider returns.
pub fn null_write_only(block: &Block, state: &mut Value) {
    if let Value::Object(m) = state {
        for a in block.attributes.iter().filter(|a| a.write_only) {
            if let Some(v) = m.get_mut(a.name) {
                *v = Value::Null;
            }
        }
    }
}

/// What a stack builds from: `planned` with the configuration's own values
/// of the write-only attributes (never returned to Terraform) and of the
/// attributes decided by the configuration (`from_config`).
pub fn stack_view(block: &Block, planned: &Value, config: &Value) -> Value {
    let mut v = planned.clone();
    for a in block
        .attributes
        .iter()
        .filter(|a| a.write_only || a.from_config)
    {
        v.set_attr(a.name, config.get(a.name).clone());
    }
    v
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
                block: Block {
                    description: "",
                    attributes: vec![Attribute::computed("id", Type::String, "")],
                    blocks: vec![],
                },
            }],
        };
        let mut cfg = Value::Object(Default::default());
        cfg.set_attr("name", Value::str("a"));
        cfg.set_attr("zone", Value::str("z"));
        assert!(
            read_only_diags(&block, &cfg).0.is_empty(),
            "optional and optional-computed values are the user's"
        );
        cfg.set_attr("vpc_id", Value::Unknown);
        let mut rule = Value::Object(Default::default());
        rule.set_attr("id", Value::str("r-1"));
        cfg.set_attr(
            "rule",
            Value::List(vec![Value::Object(Default::default()), rule]),
        );
        let d = read_only_diags(&block, &cfg);
        let got: Vec<String> =
            d.0.iter()
                .map(|x| x.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
                .collect();
        assert_eq!(got, vec!["vpc_id".to_string(), "rule[1].id".to_string()]);
        assert!(
            d.0[0]
                .detail
                .contains("\"vpc_id\" is read-only: it is set by the provider"),
            "{}",
            d.0[0].detail
        );
    }

    #[test]
    fn an_absent_block_reads_as_its_defaults_and_a_present_one_as_configured() {
        let backup = Block {
            description: "",
            attributes: vec![
                Attribute::with_default("time", Type::String, Value::str("03:00"), ""),
                Attribute::optional("note", Type::String, ""),
            ],
            blocks: vec![],
        };
        let block = Block {
            description: "",
            attributes: vec![],
            blocks: vec![NestedBlock {
                name: "backup",
                nesting: Nesting::Single,
                max_items: 1,
                block: backup,
            }],
        };
        let absent = block.nested_or_defaults("backup", &Value::Object(Default::default()));
        assert_eq!(absent.get("time").as_str(), Some("03:00"));
        assert!(absent.get("note").is_null());
        let mut set = Value::Object(Default::default());
        set.set_attr("time", Value::str("22:30"));
        let mut cfg = Value::Object(Default::default());
        cfg.set_attr("backup", set.clone());
        assert_eq!(block.nested_or_defaults("backup", &cfg), set);
    }
}

#[cfg(test)]
mod write_only_tests {
    use super::*;
    use crate::value::Type;

    fn block() -> Block {
        Block {
            description: "",
            attributes: vec![
                Attribute::optional("secret", Type::String, "").sensitive(),
                Attribute::optional("secret_wo", Type::String, "").write_only(),
                Attribute::optional("secret_wo_version", Type::Number, ""),
                Attribute::optional("vpc_id", Type::String, "").from_config(),
                Attribute::optional("name", Type::String, ""),
            ],
            blocks: vec![],
        }
    }

    fn obj(items: &[(&str, Value)]) -> Value {
        let mut m = BTreeMap::new();
        for a in &block().attributes {
            m.insert(a.name.to_string(), Value::Null);
        }
        for (k, v) in items {
            m.insert(k.to_string(), v.clone());
        }
        Value::Object(m)
    }

    fn summaries(d: &Diagnostics) -> Vec<(String, String)> {
        d.0.iter()
            .map(|x| {
                (
                    x.path.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                    x.summary.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn write_only_values_need_a_client_that_keeps_them_out_of_the_state() {
        let c = obj(&[
            ("secret_wo", Value::str("hunter22")),
            ("secret_wo_version", Value::Number(1.0)),
        ]);
        assert!(write_only_diags(&block(), &c, true, false).0.is_empty());
        let old = write_only_diags(&block(), &c, false, false);
        assert_eq!(
            summaries(&old),
            vec![(
                "secret_wo".to_string(),
                "Write-only argument needs Terraform 1.11".to_string()
            )]
        );
        assert!(
            old.0[0].detail.contains("use `secret` instead")
                && !old.0[0].detail.contains("hunter22")
        );
        // An unknown value: skipped at validate, refused at plan (it will
        // be known, and stored, at apply).
        assert!(write_only_diags(
            &block(),
            &obj(&[("secret_wo", Value::Unknown)]),
            false,
            false
        )
        .0
        .is_empty());
        assert!(write_only_diags(
            &block(),
            &obj(&[("secret_wo", Value::Unknown)]),
            false,
            true
        )
        .has_errors());
        assert!(
            write_only_diags(&block(), &obj(&[("secret_wo", Value::Unknown)]), true, true)
                .0
                .is_empty()
        );
        assert!(
            write_only_diags(&block(), &obj(&[("name", Value::str("x"))]), false, true)
                .0
                .is_empty(),
            "nothing write-only set: nothing to say"
        );
    }

    #[test]
    fn a_write_only_value_goes_with_its_version_and_alone() {
        let no_version = write_only_diags(
            &block(),
            &obj(&[("secret_wo", Value::str("hunter22"))]),
            true,
            true,
        );
        assert_eq!(
            summaries(&no_version),
            vec![("secret_wo".to_string(), "Missing version".to_string())]
        );
        let version_only = write_only_diags(
            &block(),
            &obj(&[("secret_wo_version", Value::Number(1.0))]),
            true,
            true,
        );
        assert_eq!(
            summaries(&version_only),
            vec![(
                "secret_wo_version".to_string(),
                "Version without values".to_string()
            )]
        );
        let both = write_only_diags(
            &block(),
            &obj(&[
                ("secret", Value::str("a")),
                ("secret_wo", Value::str("b")),
                ("secret_wo_version", Value::Number(1.0)),
            ]),
            true,
            true,
        );
        assert_eq!(
            summaries(&both),
            vec![("secret_wo".to_string(), "Conflicting arguments".to_string())]
        );
    }

    #[test]
    fn the_stack_sees_the_configurations_write_only_and_decided_values_and_terraform_never_does() {
        let planned = obj(&[
            ("secret_wo", Value::str("proposed")),
            ("vpc_id", Value::str("vpc-from-prior-state")),
            ("name", Value::str("n")),
        ]);
        let config = obj(&[
            ("secret_wo", Value::str("hunter22")),
            ("name", Value::str("n")),
        ]);
        let view = stack_view(&block(), &planned, &config);
        assert_eq!(view.get("secret_wo"), &Value::str("hunter22"));
        assert!(
            view.get("vpc_id").is_null(),
            "unset in the configuration: the stack builds its own"
        );
        let mut state = view.clone();
        null_write_only(&block(), &mut state);
        assert!(state.get("secret_wo").is_null());
        assert_eq!(state.get("name"), &Value::str("n"));
    }
}
