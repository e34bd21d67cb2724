//! Rules on one attribute's own value, declared on the attribute in the
//! schema (`Attribute::rule`): checked at validate with no AWS call, the
//! diagnostic on the attribute (or the element) at fault, and shown in the
//! generated docs. Rules across attributes stay in each stack's `validate`.

use super::{Block, Diagnostics};
use crate::value::{Path, Value};

#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// One of these words (`summary`: the diagnostic's title).
    OneOf {
        summary: &'static str,
        words: &'static [&'static str],
    },
    /// A whole number from `lo` to `hi`.
    Whole { lo: f64, hi: f64 },
    /// A string that `check` accepts; on a list or a set each element, on
    /// a map each key (`Key`) or each value (`Text`).
    Text {
        summary: &'static str,
        check: fn(&str) -> Result<(), String>,
    },
    Key {
        summary: &'static str,
        check: fn(&str) -> Result<(), String>,
    },
    /// A number that `check` accepts.
    Number {
        summary: &'static str,
        check: fn(f64) -> Result<(), String>,
    },
}

impl Rule {
    /// The sentence the docs add to the attribute's description.
    pub fn doc(&self) -> Option<String> {
        match self {
            Rule::OneOf { words, .. } => Some(format!(
                "One of {}.",
                words
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Rule::Whole { lo, hi } => Some(format!("A whole number from {lo} to {hi}.")),
            Rule::Text { .. } | Rule::Key { .. } | Rule::Number { .. } => None,
        }
    }

    fn check(&self, name: &str, path: Path, v: &Value, d: &mut Diagnostics) {
        if v.is_unknown() || v.is_null() {
            return;
        }
        // A list's elements, each on its own index.
        if let (Value::List(items), Rule::OneOf { .. } | Rule::Number { .. }) = (v, self) {
            for (i, item) in items.iter().enumerate() {
                self.check(name, path.then_index(i), item, d);
            }
            return;
        }
        match self {
            Rule::OneOf { summary, words } => {
                if let Some(x) = v.as_str() {
                    if !words.contains(&x) {
                        let quoted: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
                        let (last, rest) = quoted.split_last().expect("a rule lists its words");
                        let choice = if rest.is_empty() {
                            last.clone()
                        } else {
                            format!("{} or {last}", rest.join(", "))
                        };
                        d.error_at(path, *summary, format!("{x:?}: use {choice}"));
                    }
                }
            }
            Rule::Whole { lo, hi } => {
                if let Some(n) = v.as_f64() {
                    if n.fract() != 0.0 || n < *lo || n > *hi {
                        d.error_at(
                            path,
                            "Value out of range",
                            format!("{name} must be a whole number between {lo} and {hi}, got {n}"),
                        );
                    }
                }
            }
            Rule::Text { summary, check } => match v {
                Value::String(s) => {
                    if let Err(e) = check(s) {
                        d.error_at(path, *summary, e);
                    }
                }
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(name, path.then_index(i), item, d);
                    }
                }
                Value::Map(m) | Value::Object(m) => {
                    for (k, item) in m {
                        self.check(name, path.then_key(k), item, d);
                    }
                }
                _ => {}
            },
            Rule::Number { summary, check } => {
                if let Some(n) = v.as_f64() {
                    if let Err(e) = check(n) {
                        d.error_at(path, *summary, e);
                    }
                }
            }
            Rule::Key { summary, check } => {
                for k in v.as_map().into_iter().flatten().map(|(k, _)| k) {
                    if let Err(e) = check(k) {
                        d.error_at(path.then_key(k), *summary, e);
                    }
                }
            }
        }
    }
}

/// Every attribute's rules over `config` (nested blocks included).
pub fn check(block: &Block, config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    check_block(block, config, Path::root(), &mut d);
    d
}

fn check_block(block: &Block, config: &Value, at: Path, d: &mut Diagnostics) {
    for a in &block.attributes {
        for r in &a.rules {
            r.check(a.name, at.then_attr(a.name), &config.get(a.name), d);
        }
    }
    for nb in &block.blocks {
        match config.get(nb.name) {
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_block(&nb.block, item, at.then_attr(nb.name).then_index(i), d);
                }
            }
            v @ Value::Object(_) => check_block(&nb.block, &v, at.then_attr(nb.name), d),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;
    use crate::value::Type;
    use std::collections::BTreeMap;

    #[test]
    fn each_rule_reports_on_its_attribute_or_element_and_skips_unknowns() {
        let block = Block {
            description: "",
            attributes: vec![
                Attribute::optional("profile", Type::String, "").rule(Rule::OneOf {
                    summary: "Invalid profile",
                    words: &["ephemeral", "production"],
                }),
                Attribute::optional("cpu", Type::Number, "").rule(Rule::Whole {
                    lo: 256.0,
                    hi: 16384.0,
                }),
                Attribute::optional("cidrs", Type::list(Type::String), "").rule(Rule::Text {
                    summary: "Invalid CIDR block",
                    check: |s| crate::schema::validate::cidr(s).map(|_| ()),
                }),
            ],
            blocks: vec![],
        };
        let config = |p: Value, cpu: Value, cidrs: Value| {
            Value::Object(BTreeMap::from([
                ("profile".to_string(), p),
                ("cpu".to_string(), cpu),
                ("cidrs".to_string(), cidrs),
            ]))
        };
        let d = check(
            &block,
            &config(
                Value::str("prod"),
                Value::Number(300.5),
                Value::List(vec![
                    Value::str("10.0.0.0/8"),
                    Value::str("10.0.0.1/8"),
                    Value::Unknown,
                ]),
            ),
        );
        let mut at: Vec<(String, String)> =
            d.0.iter()
                .map(|x| (x.path.clone().unwrap().to_string(), x.summary.clone()))
                .collect();
        at.sort();
        assert_eq!(
            at,
            [
                ("cidrs[1]".to_string(), "Invalid CIDR block".to_string()),
                ("cpu".to_string(), "Value out of range".to_string()),
                ("profile".to_string(), "Invalid profile".to_string()),
            ]
        );
        assert_eq!(
            d.0[0].detail,
            "\"prod\": use \"ephemeral\" or \"production\""
        );
        assert!(!check(
            &block,
            &config(Value::Unknown, Value::Unknown, Value::Unknown)
        )
        .has_errors());
        assert!(!check(
            &block,
            &config(Value::str("production"), Value::Number(512.0), Value::Null)
        )
        .has_errors());
    }
}
