//! The manifest parameter of a stack (`/stacks/awsstack/<id>/manifest`):
//! the configuration an import or a list reads back.

use super::*;

/// The SSM parameter that records a stack's configuration (without secrets),
/// so that `terraform import <stack id>` can rebuild it.
/// Where every stack keeps its manifest.
pub const MANIFEST_ROOT: &str = "/stacks/awsstack/";

/// See `manifest_json`.
const ADDED_LATER: &[&str] = &[adopt::KEPT_NAMES];

pub fn manifest_name(stack_id: &str) -> String {
    format!("{MANIFEST_ROOT}{stack_id}/manifest")
}

/// The component that holds the stack's manifest (`manifest_name`).
pub fn manifest_spec(schema: &Schema, config: &Value, stack_id: &str) -> Spec {
    Spec::of(
        "manifest",
        &crate::components::ssm::ParameterInputs::plain(
            manifest_name(stack_id),
            manifest_json(schema, config),
        ),
    )
}

/// The configuration's input attributes as JSON, sensitive values nulled
/// (map keys kept so their values can be read back from AWS).
pub fn manifest_json(schema: &Schema, config: &Value) -> String {
    let mut m = serde_json::Map::new();
    for a in &schema.block.attributes {
        // Computed values (including optional ones the provider computes
        // when unset) are rebuilt from the components on import; looked-up
        // ones (zones) are kept as they were settled.
        if a.computed && a.default.is_none() && !a.from_config && !a.looked_up && !a.in_manifest {
            continue;
        }
        // Write-only values exist in the configuration only.
        if a.write_only {
            continue;
        }
        let v = config.get(a.name);
        // Attributes newer than the manifests already written are left
        // out while unset: upgrading the provider changes no manifest.
        if v.is_null() && ADDED_LATER.contains(&a.name) {
            continue;
        }
        // Where adopted objects came from matters once, at the move: an
        // imported stack has them all in its records already.
        if a.name == adopt::ADOPT {
            continue;
        }
        let j = if a.sensitive {
            match v.as_map() {
                Some(map) => serde_json::Value::Object(
                    map.keys()
                        .map(|k| (k.clone(), serde_json::Value::Null))
                        .collect(),
                ),
                None => serde_json::Value::Null,
            }
        } else {
            crate::value::to_json(v)
        };
        m.insert(a.name.to_string(), j);
    }
    for b in &schema.block.blocks {
        m.insert(
            b.name.to_string(),
            crate::value::to_json(config.get(b.name)),
        );
    }
    serde_json::Value::Object(m).to_string()
}

/// The stack's components for `config` (its defaults filled), with the
/// manifest where the stack keeps it (`Stack::manifests`).
pub fn with_manifests<S: Stack>(stack: &S, config: &Value, ctx: &AwsContext) -> Vec<Spec> {
    let typed = stack.config(config);
    let mut specs = stack.desired(&typed, ctx);
    let stack_id = stack.stack_id(&typed);
    for (key, region) in stack.manifests(&typed, ctx) {
        let mut manifest = manifest_spec(stack.schema(), config, &stack_id);
        manifest.key = key;
        if let Some(r) = region {
            manifest = manifest.in_region(r);
        }
        specs.push(manifest);
    }
    specs
}
