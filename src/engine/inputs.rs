//! Typed component inputs and references to dependencies' outputs.
//!
//! A kind's inputs are a serde struct (`Inputs`): a stack builds a spec
//! from one (`Spec::of`, which also fixes the kind, so inputs cannot be
//! given to the wrong kind), the kind reads them back (`Spec::typed`),
//! and a default lives once, on the struct's field. They travel as JSON
//! because the engine diffs and records them field by field, the same
//! JSON older states hold.
//!
//! A value AWS assigns to a dependency (a secret's ARN, a cache's
//! address) is a `Reference` (`Desired::output`), written into text as
//! `${name.output}`. The graph check refuses, at plan, a reference to a
//! component that is not a dependency or to an output its kind does not
//! declare (`Kind::outputs`); `Template::render` fills it at apply from
//! the dependency's record, and fails, before the AWS call, when the
//! record has no such value rather than send the placeholder to AWS.

use super::{OpError, Records, Spec};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::fmt;

/// The inputs of one kind.
pub trait Inputs: Serialize + DeserializeOwned {
    /// The kind (`Kind::name`) these inputs are for.
    const KIND: &'static str;
}

/// Whether `inputs` read as `I`: what a kind's `check_inputs` runs at plan.
pub fn check<I: Inputs>(inputs: &Json) -> Result<(), String> {
    I::deserialize(inputs)
        .map(|_| ())
        .map_err(|e| format!("its inputs do not read as a {}: {e}", I::KIND))
}

/// Gives a record written by an older version the fields it lacks, with
/// the defaults `I` gives them, and leaves every field it has (a slot, a
/// value read from AWS): what `Kind::upgrade` runs for a kind whose
/// inputs gained a defaulted field, so that the provider's upgrade plans
/// nothing by itself. Idempotent.
pub fn fill_defaults<I: Inputs>(inputs: &mut Json) {
    let Ok(typed) = I::deserialize(&*inputs) else {
        return;
    };
    if let (Ok(Json::Object(full)), Json::Object(have)) = (serde_json::to_value(&typed), inputs) {
        for (k, v) in full {
            have.entry(k).or_insert(v);
        }
    }
}

impl Spec {
    /// A spec of `I`'s kind with these inputs.
    pub fn of<I: Inputs>(key: impl Into<String>, inputs: &I) -> Spec {
        // A derived Serialize of plain fields cannot fail; were it to, the
        // null inputs fail the plan's input check, before any AWS call.
        Spec::new(
            key,
            I::KIND,
            serde_json::to_value(inputs).unwrap_or(Json::Null),
        )
    }
    /// The spec's inputs as its kind's struct.
    pub fn typed<I: Inputs>(&self) -> Result<I, OpError> {
        typed(&self.key, &self.inputs)
    }
}

impl super::Record {
    /// The recorded inputs as the kind's struct (a record of an older
    /// version reads with the defaults of the fields it lacks).
    pub fn typed<I: Inputs>(&self) -> Result<I, OpError> {
        typed(&self.id, &self.inputs)
    }
}

fn typed<I: Inputs>(what: &str, inputs: &Json) -> Result<I, OpError> {
    I::deserialize(inputs).map_err(|e| {
        OpError::new(format!(
            "the inputs of {what} do not read as a {}: {e}",
            I::KIND
        ))
    })
}

/// One output of a dependency, as a component sees it: `name` is the
/// dependency's name for that component (`Desired::name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub output: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{{}.{}}}", self.name, self.output)
    }
}

impl Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Text that may hold references (`redis://${cache.address}:${cache.port}/0`,
/// an IAM policy naming a bucket's ARN).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Template(pub String);

impl From<String> for Template {
    fn from(s: String) -> Template {
        Template(s)
    }
}

impl From<&str> for Template {
    fn from(s: &str) -> Template {
        Template(s.to_string())
    }
}

impl From<Reference> for Template {
    fn from(r: Reference) -> Template {
        Template(r.to_string())
    }
}

impl Template {
    /// The references in the text, in order.
    pub fn references(&self) -> Vec<Reference> {
        spans(&self.0).into_iter().map(|(_, r)| r).collect()
    }
    /// The text with each reference replaced by the value the dependency's
    /// record holds (`deps` by the names the component sees them by; `id`
    /// is the record's id). A reference with no value is an error naming
    /// it: the text never reaches AWS with a placeholder in it.
    pub fn render(&self, deps: &Records) -> Result<String, OpError> {
        let mut out = String::with_capacity(self.0.len());
        let mut at = 0;
        for ((start, end), r) in spans(&self.0) {
            let value = deps.get(&r.name).and_then(|rec| {
                if r.output == "id" {
                    Some(rec.id.as_str())
                } else {
                    rec.outputs.get(&r.output).map(String::as_str)
                }
            });
            match value {
                Some(v) if !v.is_empty() => {
                    out.push_str(&self.0[at..start]);
                    out.push_str(v);
                    at = end;
                }
                _ => {
                    return Err(OpError::new(format!(
                        "{r} has no value: {} is not a dependency with that output",
                        r.name
                    )))
                }
            }
        }
        out.push_str(&self.0[at..]);
        Ok(out)
    }
}

/// Where each reference is in `s` (byte span of `${…}`) and what it names.
/// A reference is `${name.output}` with a dotted name of key characters:
/// an IAM policy variable (`${aws:username}`) or a shell expansion in user
/// data (`${name##*/}`, `${HOME}`) is not one.
fn spans(s: &str) -> Vec<((usize, usize), Reference)> {
    let mut out = vec![];
    let mut from = 0;
    while let Some(start) = s[from..].find("${").map(|i| from + i) {
        let Some(len) = s[start + 2..].find('}') else {
            break;
        };
        let inner = &s[start + 2..start + 2 + len];
        let end = start + 3 + len;
        if inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        {
            if let Some((name, output)) = inner.rsplit_once('.') {
                if !name.is_empty() && !output.is_empty() {
                    out.push((
                        (start, end),
                        Reference {
                            name: name.to_string(),
                            output: output.to_string(),
                        },
                    ));
                }
            }
        }
        from = end;
    }
    out
}

/// The references in every string of `inputs`.
pub fn references(inputs: &Json) -> Vec<Reference> {
    let mut out = vec![];
    let mut values = vec![inputs];
    while let Some(v) = values.pop() {
        match v {
            Json::String(s) => out.extend(spans(s).into_iter().map(|(_, r)| r)),
            Json::Array(a) => values.extend(a),
            Json::Object(m) => values.extend(m.values()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Record;

    fn deps() -> Records {
        Records::from([(
            "cache".to_string(),
            Record::new("redis", "rg-1", Json::Null)
                .with("address", "cache.local")
                .with("port", "6379"),
        )])
    }

    #[test]
    fn a_template_renders_its_references_and_leaves_other_dollars() {
        let t = Template::from(
            "redis://${cache.address}:${cache.port}/0 ${aws:username} ${name##*/} ${cache.id}",
        );
        assert_eq!(
            t.render(&deps()).unwrap(),
            "redis://cache.local:6379/0 ${aws:username} ${name##*/} rg-1"
        );
        assert_eq!(
            t.references()
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>(),
            ["${cache.address}", "${cache.port}", "${cache.id}"]
        );
    }

    #[test]
    fn a_reference_without_a_value_is_an_error_not_a_placeholder_sent_to_aws() {
        let e = Template::from("${cache.adress}")
            .render(&deps())
            .unwrap_err();
        assert!(
            e.message.contains("${cache.adress} has no value"),
            "{}",
            e.message
        );
        assert!(Template::from("${db.arn}:url::").render(&deps()).is_err());
    }

    #[test]
    fn dotted_names_keep_their_scope_and_the_output_is_the_last_part() {
        let r = references(
            &serde_json::json!({"a": ["${secret.db.arn}"], "b": {"c": "x ${eu/bucket.data.arn}/*"}}),
        );
        let mut seen: Vec<(String, String)> = r.into_iter().map(|r| (r.name, r.output)).collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("eu/bucket.data".to_string(), "arn".to_string()),
                ("secret.db".to_string(), "arn".to_string())
            ]
        );
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Volume {
        size: i32,
        #[serde(default = "iops")]
        iops: i32,
    }
    fn iops() -> i32 {
        3000
    }
    impl Inputs for Volume {
        const KIND: &'static str = "volume";
    }

    #[test]
    fn typed_inputs_fix_the_kind_and_read_back_with_their_defaults() {
        let spec = Spec::of(
            "data",
            &Volume {
                size: 80,
                iops: 4000,
            },
        );
        assert_eq!(
            (spec.kind, spec.typed::<Volume>().unwrap()),
            (
                "volume",
                Volume {
                    size: 80,
                    iops: 4000
                }
            )
        );
        // A record written before `iops` existed reads with its default.
        let old = Record::new("volume", "vol-1", serde_json::json!({"size": 20}));
        assert_eq!(
            old.typed::<Volume>().unwrap(),
            Volume {
                size: 20,
                iops: 3000
            }
        );
        // Its upgrade gives it the default, keeps what it has, and is
        // idempotent.
        let mut inputs = serde_json::json!({"size": 20, "slot": "role"});
        fill_defaults::<Volume>(&mut inputs);
        assert_eq!(
            inputs,
            serde_json::json!({"size": 20, "slot": "role", "iops": 3000})
        );
        let again = inputs.clone();
        fill_defaults::<Volume>(&mut inputs);
        assert_eq!(inputs, again);
        let bad = serde_json::json!({"size": "big"});
        assert!(check::<Volume>(&bad)
            .unwrap_err()
            .contains("do not read as a volume"));
        assert!(Record::new("volume", "vol-2", bad)
            .typed::<Volume>()
            .unwrap_err()
            .message
            .contains("vol-2"));
    }
}
