//! The house's layers, kept: each folder of `src/` uses only the folders
//! of lower layers, so no arrow runs back up and there is no circle. A
//! `use` that breaks this fails here, naming the file and the folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each folder's layer: a folder may use only folders of lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("value", 0),
    ("engine", 0),
    ("schema", 1),
    ("aws", 2),
    ("tfplugin", 2),
    ("plugin", 3),
    ("components", 3),
    ("stacks", 4),
    ("provider", 5),
];

/// The top-level modules a source text names as `crate::<m>`, including
/// inside `use crate::{a, b::c}` groups.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let word = |s: &str| {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect::<String>()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            for item in body.split(',') {
                let w = word(item.trim());
                if !w.is_empty() {
                    out.insert(w);
                }
            }
        } else {
            let w = word(rest);
            if !w.is_empty() {
                out.insert(w);
            }
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_folder_uses_a_folder_of_its_own_layer_or_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    let mut arrows = 0;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let Some(folder) = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .filter(|_| rel.components().count() > 1)
        else {
            continue; // lib.rs, main.rs and this file sit above every layer
        };
        let own = *layer
            .get(folder)
            .unwrap_or_else(|| panic!("{folder} has no layer in LAYERS"));
        for used in crate_uses(&std::fs::read_to_string(f).unwrap()) {
            if used == folder {
                continue;
            }
            arrows += 1;
            match layer.get(used.as_str()) {
                Some(&l) if l < own => {}
                _ => wrong.push(format!("{} uses crate::{used}", rel.display())),
            }
        }
    }
    assert!(arrows > 20, "the scan found the uses ({arrows})");
    assert!(
        wrong.is_empty(),
        "uses running back up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scan_reads_groups_and_paths() {
    let uses = crate_uses("use crate::{engine::Env, aws};\nlet x = crate::value::Value::Null;");
    assert_eq!(
        uses,
        ["aws", "engine", "value"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}
