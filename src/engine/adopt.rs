//! Adoption: a deliberate move of hand-built objects into a stack.
//!
//! The ownership rule (only objects tagged with the stack's id are ever
//! taken) is right for accidents and leaves a deliberate move no path. An
//! adoption names each existing object explicitly (component key → AWS
//! id). The plan observes it read-only (`Kind::observe`) and merges what it
//! finds into the records, so the ordinary `plan` decides what happens to
//! it: an in-place update, a tag update, or nothing. A replacement of an
//! adopted object is refused (`refusals`): the move never replaces or
//! deletes what it takes. The names the stack would have chosen give way
//! to the object's own for good (`keep`).

use super::*;

/// One object named for adoption: the component key it becomes, its AWS
/// id, and the hashicorp/aws addresses that managed it (shown in the
/// removal instructions, never read).
#[derive(Clone, Debug, PartialEq)]
pub struct Adoption {
    pub key: String,
    pub id: String,
    pub from: Vec<String>,
}

/// The names an adopted object keeps, per component key: field → value.
pub type Kept = BTreeMap<String, BTreeMap<String, String>>;

/// What observing the adoptions found.
#[derive(Debug, Default)]
pub struct Observation {
    /// The adopted objects, as records to merge into the recorded ones.
    pub records: Records,
    /// The names each adopted object keeps where the stack's differ.
    pub kept: Kept,
    /// Adoptions that cannot be made, each with why.
    pub refusals: Vec<Refusal>,
}

/// An adoption the plan refuses, with the configuration attribute that
/// decides it when there is one (else the adoption's own entry).
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub key: String,
    pub message: String,
    pub attribute: Option<&'static str>,
}

/// Observes each adoption not yet recorded, in dependency order (so that a
/// dependent sees its adopted dependencies in `deps`). `desired` has the
/// kept names of earlier moves applied. An object another stack owns is
/// refused; one without a stack tag (or with this stack's) is taken.
pub async fn observe_all<C: Cloud>(
    env: &Arc<Env<C>>,
    kinds: &Kinds<C>,
    desired: &[Spec],
    recorded: &Records,
    adoptions: &[Adoption],
) -> Result<Observation, String> {
    let mut out = Observation::default();
    let by_key: BTreeMap<&str, &Spec> = desired.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut seen_ids: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    let mut pending = vec![];
    for a in adoptions {
        let refuse = |m: String| Refusal {
            key: a.key.clone(),
            message: m,
            attribute: None,
        };
        if !by_key.contains_key(a.key.as_str()) {
            let mut keys: Vec<&str> = by_key.keys().copied().collect();
            keys.retain(|k| !k.ends_with("manifest"));
            out.refusals.push(refuse(format!(
                "this configuration has no component {:?}; its components are: {}",
                a.key,
                keys.join(", ")
            )));
            continue;
        }
        // Ids are unique per kind only (a role and its instance profile
        // may share a name).
        let kind = by_key[a.key.as_str()].kind;
        if let Some(other) = seen_ids.insert((kind, a.id.as_str()), a.key.as_str()) {
            out.refusals.push(refuse(format!(
                "{} is already named for {other}: one object becomes one component",
                a.id
            )));
            continue;
        }
        match recorded.get(&a.key) {
            // Moved by an earlier apply: the entry may stay as a record of
            // where the object came from.
            Some(rec) if rec.id == a.id => continue,
            // A revisioned object taken earlier has had new revisions since.
            Some(rec)
                if kinds
                    .get(&rec.kind)
                    .map(|k| k.revisioned())
                    .unwrap_or(false) =>
            {
                continue
            }
            Some(rec) => out.refusals.push(refuse(format!(
                "the stack already has {} as {}; an adoption only takes an object for a component the stack does not have yet",
                a.key, rec.id
            ))),
            None => pending.push(a),
        }
    }
    let order = topo_order(desired)?;
    // Each dependent is observed against the names its adopted
    // dependencies keep.
    let mut specs = desired.to_vec();
    for key in &order {
        let Some(a) = pending.iter().find(|a| &a.key == key) else {
            continue;
        };
        let spec = &specs
            .iter()
            .find(|s| &s.key == key)
            .expect("ordered")
            .clone();
        let refuse = |m: String, attribute: Option<&'static str>| Refusal {
            key: a.key.clone(),
            message: m,
            attribute,
        };
        let kind = kinds.get(spec.kind).map_err(|e| e.message)?;
        let mut known = recorded.clone();
        known.extend(out.records.clone());
        let deps = dependency_records_present(spec, &known);
        let env = placed(env, spec.region.as_deref());
        let mut rec = match kind.observe(&env, spec, &a.id, &deps).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                out.refusals.push(refuse(
                    format!("there is no {} {:?} to take", kind.found_as(), a.id),
                    None,
                ));
                continue;
            }
            Err(e) => {
                out.refusals.push(refuse(
                    format!(
                        "{} {:?} cannot be taken: {}",
                        kind.found_as(),
                        a.id,
                        e.message
                    ),
                    None,
                ));
                continue;
            }
        };
        match kind.owner(&env, &rec).await {
            Ok(Some(owner)) if owner != env.stack_id => {
                out.refusals.push(refuse(
                    format!(
                        "{} {:?} belongs to the awsstack stack {owner:?}: a move takes only objects no stack owns",
                        kind.found_as(),
                        a.id
                    ),
                    None,
                ));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                out.refusals.push(refuse(e.message, None));
                continue;
            }
        }
        if kind.taggable() {
            // Every tag the stack wants is diffed against what the object
            // has: the plan shows the stack's tags added in place.
            let observed = kind.read_tags(&env, &rec).await.ok().flatten();
            rec.tags =
                ownership::managed_view(&observed.unwrap_or_default(), &Tags::new(), &spec.tags);
        }
        rec.region = spec.region.clone();
        rec.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
        let mut kept = BTreeMap::new();
        for f in kind.kept_fields() {
            if let (Some(have), Some(want)) = (rec.inputs[*f].as_str(), spec.inputs[*f].as_str()) {
                if have != want {
                    kept.insert(f.to_string(), have.to_string());
                }
            }
        }
        if !kept.is_empty() {
            out.kept.insert(key.clone(), kept);
            keep(&mut specs, kinds, &out.kept);
        }
        out.records.insert(key.clone(), rec);
    }
    Ok(out)
}

/// The records of `spec`'s dependencies that exist (recorded or adopted),
/// keyed as its kind sees them; one still to be created is left out.
fn dependency_records_present(spec: &Spec, records: &Records) -> Records {
    spec.deps
        .iter()
        .filter_map(|d| {
            records
                .get(&d.key)
                .map(|r| (dep_name(&spec.key, &d.key).to_string(), r.clone()))
        })
        .collect()
}

/// Gives each spec the names its adopted object keeps (`Kept`), and each
/// input that holds such a name (`Spec::naming`: a database's subnet
/// group, a listener's load balancer) the kept name instead.
pub fn keep(specs: &mut [Spec], kinds: &Kinds<impl Cloud>, kept: &Kept) {
    let mut renamed: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for s in specs.iter_mut() {
        let Some(fields) = kept.get(&s.key) else {
            continue;
        };
        let allowed = kinds.get(s.kind).map(|k| k.kept_fields()).unwrap_or(&[]);
        for (f, v) in fields {
            if !allowed.contains(&f.as_str()) {
                continue;
            }
            if let Some(old) = s.inputs[f.as_str()].as_str() {
                if old != v {
                    renamed
                        .entry(s.key.clone())
                        .or_default()
                        .push((old.to_string(), v.clone()));
                }
            }
            s.inputs[f.as_str()] = Json::String(v.clone());
        }
    }
    for s in specs.iter_mut() {
        for (field, dep) in s.names.clone() {
            for (old, new) in renamed.get(&dep).into_iter().flatten() {
                if s.inputs[field].as_str() == Some(old.as_str()) {
                    s.inputs[field] = Json::String(new.clone());
                }
            }
        }
    }
}

/// The changes the plan refuses for adopted components: a replacement
/// (the move never replaces what it takes), a delete. Each names the
/// fields, the object's values and the configuration's, and the
/// configuration attribute that decides the field when the spec says.
pub fn refusals<C: Cloud>(
    kinds: &Kinds<C>,
    desired: &[Spec],
    merged: &Records,
    adopted: &BTreeSet<String>,
    changes: &[Change],
) -> Vec<Refusal> {
    let mut out = vec![];
    for c in changes.iter().filter(|c| adopted.contains(&c.key)) {
        if c.action != Action::Replace {
            continue;
        }
        let (Some(spec), Some(rec)) = (desired.iter().find(|s| s.key == c.key), merged.get(&c.key))
        else {
            continue;
        };
        let Ok(kind) = kinds.get(spec.kind) else {
            continue;
        };
        if kind.revisioned() {
            continue;
        }
        let forced = forced_fields(kind.as_ref(), spec, rec);
        if forced.is_empty() {
            out.push(Refusal {
                key: c.key.clone(),
                message: format!(
                    "{} ({}) would be replaced: {}. A move never replaces what it takes; adopt that one too, or leave {} out of `adopt`",
                    c.key, rec.id, c.reason, c.key
                ),
                attribute: None,
            });
            continue;
        }
        for f in forced {
            let attribute = spec.attribute_of(&f);
            let write = match attribute {
                Some(a) => format!("write {} in `{a}` to keep it", rec.inputs[f.as_str()]),
                None => "the stack cannot set it to what the object has; this object cannot move into this configuration".to_string(),
            };
            out.push(Refusal {
                key: c.key.clone(),
                message: format!(
                    "{} ({}) has {f} = {}, and the configuration gives {}: {f} cannot change without replacing it, and a move never replaces what it takes. {write}",
                    c.key, rec.id, rec.inputs[f.as_str()], spec.inputs[f.as_str()]
                ),
                attribute,
            });
        }
    }
    out
}

/// The fields of `spec` whose difference from `rec` AWS cannot change in
/// place (what makes `plan` replace a component).
pub(crate) fn forced_fields<C: Cloud>(
    kind: &dyn Kind<C>,
    spec: &Spec,
    rec: &Record,
) -> Vec<String> {
    differing_fields(&spec.inputs, &rec.inputs)
        .into_iter()
        .filter(|f| kind.replace_fields().contains(&f.as_str()) || f.as_str() == "*")
        .collect()
}
