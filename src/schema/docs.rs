//! Markdown documentation in the Terraform registry's layout, generated
//! from a schema.

use super::{Attribute, Block, Nesting, Schema};
use crate::value::{to_json, Type};

fn type_name(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
    }
}

fn attr_line(a: &Attribute) -> String {
    let mut extra = vec![type_name(&a.ty)];
    if a.write_only {
        extra.push("[Write-only](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments), Terraform 1.11+".into());
    } else if a.sensitive {
        extra.push("Sensitive".into());
    }
    if a.requires_replace {
        extra.push("Forces replacement".into());
    }
    let mut line = format!("- `{}` ({}) {}", a.name, extra.join(", "), a.description);
    for doc in a.rules.iter().filter_map(|r| r.doc()) {
        line.push_str(&format!(" {doc}"));
    }
    if let Some(d) = &a.default {
        line.push_str(&format!(" Default: `{}`.", to_json(d)));
    }
    line
}

fn block_section(out: &mut String, b: &Block, title_prefix: &str) {
    let groups: [(&str, Box<dyn Fn(&Attribute) -> bool>); 3] = [
        ("Required", Box::new(|a: &Attribute| a.required)),
        ("Optional", Box::new(|a: &Attribute| a.optional)),
        (
            "Read-Only",
            Box::new(|a: &Attribute| a.computed && !a.optional),
        ),
    ];
    for (title, pred) in groups.iter() {
        let attrs: Vec<&Attribute> = b.attributes.iter().filter(|a| pred(a)).collect();
        let blocks: Vec<_> = if *title == "Optional" {
            b.blocks.iter().collect()
        } else {
            vec![]
        };
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        out.push_str(&format!("\n### {title_prefix}{title}\n\n"));
        for a in attrs {
            out.push_str(&attr_line(a));
            out.push('\n');
        }
        for nb in blocks {
            let kind = match nb.nesting {
                Nesting::Single => "Block, at most one",
                Nesting::List => "Block List",
            };
            out.push_str(&format!(
                "- `{}` ({kind}) {} (see [below for nested schema](#nestedblock--{}))\n",
                nb.name, nb.block.description, nb.name
            ));
        }
    }
    for nb in &b.blocks {
        out.push_str(&format!(
            "\n<a id=\"nestedblock--{}\"></a>\n### Nested Schema for `{}`\n",
            nb.name, nb.name
        ));
        let mut inner = String::new();
        block_section(&mut inner, &nb.block, "");
        out.push_str(&inner.replace("\n### ", "\n#### "));
    }
}

/// A resource page: front matter, description, example, schema.
pub fn resource_page(type_name: &str, schema: &Schema, example: &str, extra: &str) -> String {
    let short = type_name.trim_start_matches("awsstack_");
    let mut out = format!(
        "---\npage_title: \"{type_name} Resource - awsstack\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n\n# {type_name} (Resource)\n\n{}\n\n## Example Usage\n\n```terraform\n{}\n```\n{extra}\n<!-- generated from the provider schema: cargo test docs -- with AWSSTACK_UPDATE_DOCS=1 to refresh -->\n## Schema\n",
        schema.block.description.split(". ").next().unwrap_or(""),
        schema.block.description,
        example.trim_end()
    );
    block_section(&mut out, &schema.block, "");
    out.push_str(&format!("\n## Import\n\n```shell\nterraform import {type_name}.example <stack id>   # e.g. kauri-demo\n```\n\nor, with Terraform 1.5+:\n\n```terraform\nimport {{\n  to = {type_name}.example\n  id = \"kauri-demo\"\n}}\n```\n"));
    let _ = short;
    out
}

/// An action's or an ephemeral resource's page (`kind`: "Action",
/// "Ephemeral Resource"): front matter, description, example, schema.
pub fn page(kind: &str, type_name: &str, schema: &Schema, example: &str, extra: &str) -> String {
    let mut out = format!(
        "---\npage_title: \"{type_name} {kind} - awsstack\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n\n# {type_name} ({kind})\n\n{}\n\n## Example Usage\n\n```terraform\n{}\n```\n{extra}\n<!-- generated from the provider schema: cargo test docs -- with AWSSTACK_UPDATE_DOCS=1 to refresh -->\n## Schema\n",
        schema.block.description.split(". ").next().unwrap_or(""),
        schema.block.description,
        example.trim_end()
    );
    block_section(&mut out, &schema.block, "");
    out
}

/// The provider page.
pub fn provider_page(schema: &Schema, example: &str, extra: &str) -> String {
    let mut out = format!(
        "---\npage_title: \"awsstack Provider\"\ndescription: |-\n  {}\n---\n\n# awsstack Provider\n\n{}\n\n## Example Usage\n\n```terraform\n{}\n```\n{extra}\n## Schema\n",
        schema.block.description,
        schema.block.description,
        example.trim_end()
    );
    block_section(&mut out, &schema.block, "");
    out
}

/// Compares a generated page with the file `rel` of the repository, or
/// rewrites it when `AWSSTACK_UPDATE_DOCS` is set (the docs tests).
#[cfg(test)]
pub fn check_generated(rel: &str, content: String) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    if std::env::var("AWSSTACK_UPDATE_DOCS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == content,
        "{rel} is stale: run AWSSTACK_UPDATE_DOCS=1 cargo test docs"
    );
}
