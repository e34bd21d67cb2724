//! The move of a hand-built deployment into a stack, as Terraform sees it:
//! the `adopt` argument that names each existing object, the `kept_names`
//! the adopted objects keep, and the instructions that take the old
//! hashicorp/aws addresses out of the configuration and the state. The
//! observing and the refusals are the engine's (`engine::adopt`).

use super::*;
use crate::engine::{Adoption, Kept};
use std::collections::BTreeSet;

pub const ADOPT: &str = "adopt";
pub const KEPT_NAMES: &str = "kept_names";

/// The two attributes every stack has for a move.
pub fn attributes() -> [Attribute; 2] {
    [
        Attribute::optional(
            ADOPT,
            Type::map(Type::object([
                ("id", Type::String),
                ("from", Type::list(Type::String)),
            ])),
            "Moves objects built by hand (or with hashicorp/aws) into the stack instead of creating new ones: component key (as in `resource_ids`) → `{ id = <the object's id>, from = [<the hashicorp/aws addresses that managed it>] }`. The plan lists each object taken, the in-place changes it gets (the stack's tags, settings that differ) and what the stack creates besides; a difference that would need a replacement is refused on the attribute to write. Adopted objects keep their names (`kept_names`). The plan's warning gives the `removed` blocks and `terraform state rm` commands for the `from` addresses. Only objects named here are ever taken; an object another stack owns never is. Once applied, an entry changes nothing in AWS and may be deleted.",
        ),
        Attribute::computed(
            KEPT_NAMES,
            Type::map(Type::map(Type::String)),
            "The names adopted objects keep where the stack's own differ, by component key: the stack never replaces an adopted object to rename it.",
        )
        .in_manifest(),
    ]
}

/// The adoptions the configuration names (entries with an unknown id are
/// left out: `unknown_ids` refuses them at plan).
pub fn adoptions(config: &Value) -> Vec<Adoption> {
    let Some(m) = config.get(ADOPT).as_map() else {
        return vec![];
    };
    m.iter()
        .filter_map(|(k, v)| {
            Some(Adoption {
                key: k.clone(),
                id: v.get("id").as_str()?.to_string(),
                from: v
                    .get("from")
                    .as_list()
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect(),
            })
        })
        .collect()
}

/// An adoption must name its object at plan: its id cannot wait for apply.
pub fn unknown_ids(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    if config.get(ADOPT).is_unknown() {
        d.error_at(
            Path::attr(ADOPT),
            "Adoption not known at plan",
            "`adopt` must be known at plan: the plan shows what each existing object gets.",
        );
    }
    for (k, v) in config.get(ADOPT).as_map().into_iter().flatten() {
        if v.is_unknown() || v.get("id").is_unknown() {
            d.error_at(
                Path::attr(ADOPT).then_key(k).then_attr("id"),
                "Adoption not known at plan",
                format!("the id of adopt[{k:?}] must be known at plan (an object that exists already); it is only known after apply here"),
            );
        }
    }
    d
}

/// The checks on `adopt` that need no AWS call: each id written, each
/// `from` a hashicorp/aws resource address, no address given twice.
pub fn adopt_diags(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in config.get(ADOPT).as_map().into_iter().flatten() {
        let at = Path::attr(ADOPT).then_key(k);
        if k.is_empty() || k.chars().any(|c| c.is_whitespace()) {
            d.error_at(
                at.clone(),
                "Invalid adopt",
                format!("{k:?} is not a component key: keys are as in `resource_ids` (`vpc`, `sg.alb`, `subnet.public.eu-west-1a`)"),
            );
        }
        if let Some(id) = v.get("id").as_str() {
            if id.trim().is_empty() || id.trim() != id {
                d.error_at(
                    at.clone(),
                    "Invalid adopt",
                    format!("adopt[{k:?}].id must name the existing object (its id, name or ARN as hashicorp/aws shows it), without spaces"),
                );
            }
        }
        for (i, f) in v.get("from").as_list().iter().enumerate() {
            let Some(f) = f.as_str() else { continue };
            // On the entry: Terraform 1.0 places a path into an object
            // inside a map literal on another line.
            let at = at.clone();
            if let Err(why) = resource_address(f) {
                d.error_at(
                    at,
                    "Invalid adopt",
                    format!("adopt[{k:?}].from[{i}]: {f:?} is not a hashicorp/aws resource address: {why}"),
                );
            } else if let Some(other) = seen.insert(f.to_string(), k.clone()) {
                d.error_at(
                    at,
                    "Invalid adopt",
                    format!(
                        "{f:?} is already given for adopt[{other:?}]: an address is removed once"
                    ),
                );
            }
        }
    }
    d
}

/// Checks `address` is a managed hashicorp/aws resource address,
/// `[module.NAME.]*aws_TYPE.NAME[KEY]`; returns it without its instance
/// key (what a `removed` block takes).
pub fn resource_address(address: &str) -> Result<String, String> {
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .next()
                .map(|c| c.is_ascii_alphabetic() || c == '_')
                .unwrap_or(false)
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let (base, key) = match address.find('[') {
        Some(i) if address.ends_with(']') => {
            (&address[..i], Some(&address[i + 1..address.len() - 1]))
        }
        Some(_) => {
            return Err("an instance key is written `[0]` or `[\"name\"]` at the end".into())
        }
        None => (address, None),
    };
    if let Some(k) = key {
        let quoted = k.len() >= 2 && k.starts_with('"') && k.ends_with('"');
        if !(quoted || (!k.is_empty() && k.chars().all(|c| c.is_ascii_digit()))) {
            return Err(format!(
                "the instance key [{k}] is neither a number nor a quoted string"
            ));
        }
    }
    let parts: Vec<&str> = base.split('.').collect();
    if parts.first() == Some(&"data") {
        return Err("a data source is read, not managed: nothing to remove".into());
    }
    let mut rest = &parts[..];
    while rest.len() > 2 && rest[0] == "module" {
        if !ident(rest[1]) {
            return Err(format!("{:?} is not a module name (a module instance key cannot be given: its `removed` block goes in that module)", rest[1]));
        }
        rest = &rest[2..];
    }
    match rest {
        [ty, name] if ty.starts_with("aws_") && ident(ty) && ident(name) => Ok(base.to_string()),
        [ty, _] if !ty.starts_with("aws_") => Err(format!(
            "{ty:?} is not a hashicorp/aws resource type (aws_...)"
        )),
        _ => Err("write it as `aws_TYPE.NAME`, optionally inside `module.NAME.` and with an instance key".into()),
    }
}

/// The kept names of a state or plan (`kept_names`).
pub fn kept_names(config: &Value) -> Kept {
    config
        .get(KEPT_NAMES)
        .as_map()
        .into_iter()
        .flatten()
        .map(|(k, fields)| {
            (
                k.clone(),
                fields
                    .as_map()
                    .into_iter()
                    .flatten()
                    .filter_map(|(f, v)| Some((f.clone(), v.as_str()?.to_string())))
                    .collect(),
            )
        })
        .collect()
}

/// `kept` as the `kept_names` attribute (null when nothing is kept, as in
/// a state written before moves existed).
pub fn kept_value(kept: &Kept) -> Value {
    if kept.is_empty() {
        return Value::Null;
    }
    Value::Map(
        kept.iter()
            .map(|(k, f)| {
                (
                    k.clone(),
                    Value::Map(f.iter().map(|(f, v)| (f.clone(), Value::str(v))).collect()),
                )
            })
            .collect(),
    )
}

/// What the user does with the old addresses once the plan is right: the
/// `removed` blocks (Terraform 1.7 and later) and the `terraform state rm`
/// command (earlier), and the `adopt` map with literal ids (references to
/// the removed resources would no longer resolve).
pub fn removal_text(type_name: &str, adopted: &[(&Adoption, &str)]) -> Option<String> {
    let addresses: Vec<&str> = adopted
        .iter()
        .flat_map(|(a, _)| a.from.iter().map(String::as_str))
        .collect();
    if adopted.is_empty() {
        return None;
    }
    let mut removed: Vec<String> = addresses
        .iter()
        .filter_map(|a| resource_address(a).ok())
        .collect();
    removed.dedup();
    let mut seen = std::collections::BTreeSet::new();
    removed.retain(|a| seen.insert(a.clone()));
    let mut t = String::new();
    if !addresses.is_empty() {
        t.push_str(&format!(
            "The {n} hashicorp/aws addresses below managed the objects this {type_name} takes. Delete their blocks from the configuration, and drop them from the state without destroying anything:\n\nTerraform 1.7 and later, in place of the deleted blocks:\n\n",
            n = addresses.len()
        ));
        for a in &removed {
            t.push_str(&format!(
                "removed {{\n  from = {a}\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
            ));
        }
        t.push_str("\nTerraform before 1.7, before the apply:\n\n  terraform state rm");
        for a in &addresses {
            t.push_str(&format!(" '{a}'"));
        }
        t.push_str("\n\n");
    }
    t.push_str("With the old blocks gone, write `adopt` with literal ids:\n\n  adopt = {\n");
    for (a, id) in adopted {
        let from = a
            .from
            .iter()
            .map(|f| format!("{f:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        t.push_str(&format!(
            "    {:?} = {{ id = {:?}, from = [{from}] }}\n",
            a.key, id
        ));
    }
    t.push_str("  }\n");
    Some(t)
}

/// Declares, for the components whose key is `key` (or starts with it,
/// for a key ending in `.`), the configuration attribute that decides
/// each listed input field: a move refused on the field is reported on
/// that attribute (`Spec::field_from`).
pub fn fields_from(specs: &mut [Spec], decided: &[(&str, &'static str, &'static str)]) {
    for s in specs.iter_mut() {
        for (key, field, attribute) in decided {
            let matches = if key.ends_with('.') {
                s.key.starts_with(key)
            } else {
                s.key == *key
            };
            if matches && s.inputs.get(*field).is_some() {
                s.attributes.push((field, attribute));
            }
        }
    }
}

/// The adoptions of one plan: those the configuration names, and the
/// keys observed now (not recorded before).
pub(super) struct Moved {
    pub adoptions: Vec<Adoption>,
    pub adopted: BTreeSet<String>,
}

impl Moved {
    pub fn keys(&self) -> BTreeSet<String> {
        self.adopted.clone()
    }
    pub fn is_empty(&self) -> bool {
        self.adopted.is_empty()
    }
    fn taken(&self) -> impl Iterator<Item = &Adoption> {
        self.adoptions
            .iter()
            .filter(|a| self.adopted.contains(&a.key))
    }
    /// The plan's `changes`: one line per object taken (with what it
    /// gets), then the other changes (what the stack creates besides).
    pub fn describe(&self, changes: &[engine::Change], records: &Records) -> Vec<String> {
        let mut out = vec![];
        for a in self.taken() {
            let rec = &records[&a.key];
            let from = if a.from.is_empty() {
                String::new()
            } else {
                format!(" from {}", a.from.join(", "))
            };
            let what = match changes.iter().find(|c| c.key == a.key) {
                Some(c) if c.reason.is_empty() => c.action.verb().to_string(),
                Some(c) if c.action == Action::Replace => {
                    format!("new revision ({}), the taken one retired", c.reason)
                }
                Some(c) => format!("{} {}", c.action.verb(), c.reason),
                None => "no change".to_string(),
            };
            out.push(format!(
                "adopt {} ({}) {}{from}: {what}",
                a.key, rec.kind, rec.id
            ));
        }
        out.extend(
            changes
                .iter()
                .filter(|c| !self.adopted.contains(&c.key))
                .map(|c| c.describe()),
        );
        out
    }
    pub fn removal_text(&self, type_name: &str, records: &Records) -> Option<String> {
        let pairs: Vec<(&Adoption, &str)> = self
            .taken()
            .map(|a| (a, records[&a.key].id.as_str()))
            .collect();
        removal_text(type_name, &pairs)
    }
}

/// The refusals of a move as plan errors: on the attribute that decides
/// the value to write, else on the adoption's own entry.
pub fn refusal_diags(refused: &[engine::Refusal], adoptions: &[Adoption]) -> Diagnostics {
    let mut d = Diagnostics::default();
    for r in refused {
        let from = adoptions
            .iter()
            .find(|a| a.key == r.key)
            .filter(|a| !a.from.is_empty())
            .map(|a| format!(" (managed by {})", a.from.join(", ")))
            .unwrap_or_default();
        let path = match r.attribute {
            Some(a) => Path::attr(a),
            None => Path::attr(ADOPT).then_key(&r.key).then_attr("id"),
        };
        d.error_at(
            path,
            format!("Cannot adopt {}", r.key),
            format!(
                "{}{from}.\n\nNothing was changed: a move takes objects as they are or not at all.",
                r.message
            ),
        );
    }
    d
}

impl<S: Stack> StackResource<S> {
    /// Observes the objects `adopt` names that the stack does not have
    /// yet, adds them to `recorded` and their kept names to `work` (so the
    /// graph built from `work` names them as they are). Refusals stop the
    /// plan with nothing changed.
    pub(super) async fn adopt_step(
        &self,
        ctx: &Arc<AwsContext>,
        planned: &Value,
        work: &mut Value,
        recorded: &mut Records,
    ) -> Result<Moved, Diagnostics> {
        let adoptions = adoptions(work);
        let mut moved = Moved {
            adoptions,
            adopted: BTreeSet::new(),
        };
        if moved.adoptions.is_empty() {
            return Ok(moved);
        }
        let env = self.env(ctx.clone(), planned, "update");
        let desired = self.desired(&env, work, ctx);
        let seen = engine::observe_all(
            &env,
            &self.stack.kinds(),
            &desired,
            recorded,
            &moved.adoptions,
        )
        .await
        .map_err(|e| {
            let mut d = Diagnostics::default();
            d.push(Diagnostic::error("Invalid stack graph", e));
            d
        })?;
        if !seen.refusals.is_empty() {
            return Err(refusal_diags(&seen.refusals, &moved.adoptions));
        }
        let mut kept = kept_names(work);
        kept.extend(seen.kept);
        work.set_attr(KEPT_NAMES, kept_value(&kept));
        moved.adopted = seen.records.keys().cloned().collect();
        recorded.extend(seen.records);
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_addresses_are_checked_and_lose_their_instance_key() {
        assert_eq!(resource_address("aws_vpc.main"), Ok("aws_vpc.main".into()));
        assert_eq!(
            resource_address("aws_subnet.public[0]"),
            Ok("aws_subnet.public".into())
        );
        assert_eq!(
            resource_address("module.net.aws_subnet.public[\"a\"]"),
            Ok("module.net.aws_subnet.public".into())
        );
        for bad in [
            "aws_vpc",
            "data.aws_ami.ubuntu",
            "google_compute_network.main",
            "aws_subnet.public[x]",
            "aws_subnet.public[0",
            "module.net[0].aws_vpc.main",
            "",
        ] {
            assert!(resource_address(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn entry(id: &str, from: &[&str]) -> Value {
        Value::Object(BTreeMap::from([
            ("id".to_string(), Value::str(id)),
            (
                "from".to_string(),
                Value::List(from.iter().map(|f| Value::str(*f)).collect()),
            ),
        ]))
    }

    #[test]
    fn adopt_entries_are_checked_on_their_attribute() {
        let config = Value::Object(BTreeMap::from([(
            ADOPT.to_string(),
            Value::Map(BTreeMap::from([
                ("vpc".to_string(), entry("", &["aws_vpc.main"])),
                (
                    "igw".to_string(),
                    entry("igw-1", &["aws_vpc.main", "data.aws_x.y"]),
                ),
            ])),
        )]));
        let d = adopt_diags(&config);
        let paths: Vec<String> =
            d.0.iter()
                .map(|d| format!("{}", d.path.clone().unwrap_or_default()))
                .collect();
        assert_eq!(
            paths,
            [r#"adopt["igw"]"#, r#"adopt["vpc"]"#, r#"adopt["vpc"]"#]
        );
        let details: Vec<&str> = d.0.iter().map(|d| d.detail.as_str()).collect();
        assert!(
            details[0].contains(r#"adopt["igw"].from[1]: "data.aws_x.y""#),
            "{details:?}"
        );
        assert!(
            details[1].contains("must name the existing object"),
            "{details:?}"
        );
        // The address given twice is reported once, on its second use.
        assert!(
            details[2].contains(r#"is already given for adopt["igw"]"#),
            "{details:?}"
        );
    }

    #[test]
    fn the_removal_text_gives_removed_blocks_state_rm_and_literal_ids() {
        let a = Adoption {
            key: "subnet.public.eu-west-1a".into(),
            id: "subnet-1".into(),
            from: vec!["aws_subnet.public[0]".into()],
        };
        let b = Adoption {
            key: "subnet.public.eu-west-1b".into(),
            id: "subnet-2".into(),
            from: vec!["aws_subnet.public[1]".into()],
        };
        let t = removal_text(
            "awsstack_container_service",
            &[(&a, "subnet-1"), (&b, "subnet-2")],
        )
        .unwrap();
        assert_eq!(t.matches("from = aws_subnet.public\n").count(), 1, "{t}");
        assert!(
            t.contains("terraform state rm 'aws_subnet.public[0]' 'aws_subnet.public[1]'"),
            "{t}"
        );
        assert!(t.contains(r#""subnet.public.eu-west-1b" = { id = "subnet-2", from = ["aws_subnet.public[1]"] }"#), "{t}");
        assert_eq!(removal_text("x", &[]), None);
    }
}
