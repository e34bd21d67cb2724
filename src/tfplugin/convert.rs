//! Conversions between our value/schema layer and the wire messages.

use super::proto::tfplugin6 as pb;
use crate::schema::{Attribute, Block, Diagnostic, Diagnostics, Nesting, Schema, Severity};
use crate::value::{self, Path, Step, Type, Value};

pub fn schema_to_pb(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block_to_pb(&s.block)),
    }
}

fn block_to_pb(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attr_to_pb).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.name.to_string(),
                block: Some(block_to_pb(&nb.block)),
                nesting: match nb.nesting {
                    Nesting::Single => pb::schema::nested_block::NestingMode::Single as i32,
                    Nesting::List => pb::schema::nested_block::NestingMode::List as i32,
                },
                min_items: 0,
                // Terraform wants min == max in single mode: 0/0 means optional.
                max_items: if nb.nesting == Nesting::Single {
                    0
                } else {
                    nb.max_items
                },
            })
            .collect(),
        description: b.description.to_string(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
    }
}

fn attr_to_pb(a: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: a.name.to_string(),
        r#type: serde_json::to_vec(&a.ty.to_json()).expect("type JSON"),
        nested_type: None,
        description: a.description.to_string(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: a.write_only,
    }
}

pub fn path_to_pb(p: &Path) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    Step::Attr(a) => Selector::AttributeName(a.clone()),
                    Step::Key(k) => Selector::ElementKeyString(k.clone()),
                    Step::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

pub fn diags_to_pb(d: &Diagnostics) -> Vec<pb::Diagnostic> {
    d.0.iter().map(diag_to_pb).collect()
}

fn diag_to_pb(d: &Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error as i32,
            Severity::Warning => pb::diagnostic::Severity::Warning as i32,
        },
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        attribute: d.path.as_ref().map(path_to_pb),
    }
}

/// Decodes a DynamicValue (msgpack, or JSON when that is what was sent).
/// A missing value is null.
pub fn decode(dv: Option<&pb::DynamicValue>, t: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let r = if !dv.msgpack.is_empty() {
        value::decode_msgpack(&dv.msgpack, t)
    } else if !dv.json.is_empty() {
        value::decode_json(&dv.json, t)
    } else {
        return Ok(Value::Null);
    };
    r.map_err(|e| {
        let mut d = Diagnostics::default();
        let diag = Diagnostic::error(
            format!("Invalid {what}"),
            format!("The provider could not decode the {what} sent by Terraform: {e}"),
        );
        d.push(if e.path.0.is_empty() {
            diag
        } else {
            diag.at(e.path)
        });
        d
    })
}

pub fn encode(v: &Value, t: &Type) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: value::encode_msgpack(v, t),
        json: Vec::new(),
    }
}
