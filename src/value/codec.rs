//! cty's msgpack encoding (the wire format of `DynamicValue.msgpack`) and its
//! JSON encoding (state files handed to `UpgradeResourceState`).
//!
//! Unknown values are msgpack extension values (type 0, or type 12 for
//! refined unknowns, whose refinements we drop); objects are maps keyed by
//! attribute name; sets are arrays.

use super::{Path, Type, Value};
use rmpv::Value as Mp;
use std::collections::BTreeMap;

/// Error decoding a value, with the path where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub path: Path,
    pub message: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.0.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn err(path: &Path, message: impl Into<String>) -> DecodeError {
    DecodeError {
        path: path.clone(),
        message: message.into(),
    }
}

pub fn encode_msgpack(v: &Value, t: &Type) -> Vec<u8> {
    let mp = to_mp(v, t);
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &mp).expect("writing to a Vec cannot fail");
    out
}

fn to_mp(v: &Value, t: &Type) -> Mp {
    match v {
        Value::Null => return Mp::Nil,
        Value::Unknown => return Mp::Ext(0, vec![0]),
        _ => {}
    }
    match (t, v) {
        (Type::String, Value::String(s)) => Mp::String(s.clone().into()),
        (Type::String, Value::Number(n)) => Mp::String(fmt_number(*n).into()),
        (Type::String, Value::Bool(b)) => Mp::String(b.to_string().into()),
        (Type::Number, Value::Number(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Mp::from(*n as i64)
            } else {
                Mp::F64(*n)
            }
        }
        (Type::Bool, Value::Bool(b)) => Mp::Boolean(*b),
        (Type::List(e) | Type::Set(e), Value::List(items)) => {
            Mp::Array(items.iter().map(|i| to_mp(i, e)).collect())
        }
        (Type::Map(e), Value::Map(m) | Value::Object(m)) => Mp::Map(
            m.iter()
                .map(|(k, v)| (Mp::String(k.clone().into()), to_mp(v, e)))
                .collect(),
        ),
        (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => Mp::Map(
            attrs
                .iter()
                .map(|(k, at)| {
                    let av = m.get(k).cloned().unwrap_or(Value::Null);
                    (Mp::String(k.clone().into()), to_mp(&av, at))
                })
                .collect(),
        ),
        // A value that does not fit its type is a programming error in a
        // stack; encode null rather than crash the provider.
        _ => Mp::Nil,
    }
}

fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

pub fn decode_msgpack(bytes: &[u8], t: &Type) -> Result<Value, DecodeError> {
    let mut cur = bytes;
    let mp = rmpv::decode::read_value(&mut cur)
        .map_err(|e| err(&Path::root(), format!("invalid msgpack: {e}")))?;
    if !cur.is_empty() {
        return Err(err(&Path::root(), "trailing bytes after msgpack value"));
    }
    from_mp(&mp, t, &Path::root())
}

fn from_mp(mp: &Mp, t: &Type, path: &Path) -> Result<Value, DecodeError> {
    match mp {
        Mp::Nil => return Ok(Value::Null),
        Mp::Ext(_, _) => return Ok(Value::Unknown),
        _ => {}
    }
    match t {
        Type::String => match mp {
            Mp::String(s) => s
                .as_str()
                .map(|s| Value::String(s.to_string()))
                .ok_or_else(|| err(path, "string is not valid UTF-8")),
            Mp::Boolean(b) => Ok(Value::String(b.to_string())),
            Mp::Integer(i) => Ok(Value::String(i.to_string())),
            _ => Err(err(path, "string required")),
        },
        Type::Number => match mp {
            Mp::Integer(i) => i
                .as_f64()
                .map(Value::Number)
                .ok_or_else(|| err(path, "invalid number")),
            Mp::F32(f) => Ok(Value::Number(*f as f64)),
            Mp::F64(f) => Ok(Value::Number(*f)),
            Mp::String(s) => s
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .map(Value::Number)
                .ok_or_else(|| err(path, "number required")),
            _ => Err(err(path, "number required")),
        },
        Type::Bool => match mp {
            Mp::Boolean(b) => Ok(Value::Bool(*b)),
            Mp::String(s) if s.as_str() == Some("true") => Ok(Value::Bool(true)),
            Mp::String(s) if s.as_str() == Some("false") => Ok(Value::Bool(false)),
            _ => Err(err(path, "bool required")),
        },
        Type::List(e) | Type::Set(e) => match mp {
            Mp::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, it)| from_mp(it, e, &path.then_index(i)))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            _ => Err(err(path, "list required")),
        },
        Type::Map(e) => match mp {
            Mp::Map(entries) => {
                let mut m = BTreeMap::new();
                for (k, v) in entries {
                    let k = k
                        .as_str()
                        .ok_or_else(|| err(path, "map key must be a string"))?;
                    m.insert(k.to_string(), from_mp(v, e, &path.then_key(k))?);
                }
                Ok(Value::Map(m))
            }
            _ => Err(err(path, "map required")),
        },
        Type::Object(attrs) => match mp {
            Mp::Map(entries) => {
                let mut m = BTreeMap::new();
                for (k, v) in entries {
                    let k = k
                        .as_str()
                        .ok_or_else(|| err(path, "object key must be a string"))?;
                    let at = attrs
                        .get(k)
                        .ok_or_else(|| err(path, format!("unsupported attribute {k:?}")))?;
                    m.insert(k.to_string(), from_mp(v, at, &path.then_attr(k))?);
                }
                for k in attrs.keys() {
                    m.entry(k.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(m))
            }
            _ => Err(err(path, "object required")),
        },
    }
}

/// A known value as JSON (unknowns become null).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null | Value::Unknown => J::Null,
        Value::String(s) => J::String(s.clone()),
        Value::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                J::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n)
                    .map(J::Number)
                    .unwrap_or(J::Null)
            }
        }
        Value::Bool(b) => J::Bool(*b),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) | Value::Object(m) => {
            J::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// Decodes a JSON-encoded value (Terraform's state format). Attributes that
/// the type no longer has are dropped; missing ones are null, which is what
/// a schema upgrade wants.
pub fn decode_json(bytes: &[u8], t: &Type) -> Result<Value, DecodeError> {
    let j: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| err(&Path::root(), format!("invalid JSON: {e}")))?;
    from_json(&j, t, &Path::root())
}

fn from_json(j: &serde_json::Value, t: &Type, path: &Path) -> Result<Value, DecodeError> {
    use serde_json::Value as J;
    if j.is_null() {
        return Ok(Value::Null);
    }
    match t {
        Type::String => match j {
            J::String(s) => Ok(Value::String(s.clone())),
            J::Bool(b) => Ok(Value::String(b.to_string())),
            J::Number(n) => Ok(Value::String(n.to_string())),
            _ => Err(err(path, "string required")),
        },
        Type::Number => match j {
            J::Number(n) => n
                .as_f64()
                .map(Value::Number)
                .ok_or_else(|| err(path, "invalid number")),
            J::String(s) => s
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::Number)
                .ok_or_else(|| err(path, "number required")),
            _ => Err(err(path, "number required")),
        },
        Type::Bool => match j {
            J::Bool(b) => Ok(Value::Bool(*b)),
            J::String(s) if s == "true" => Ok(Value::Bool(true)),
            J::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(err(path, "bool required")),
        },
        Type::List(e) | Type::Set(e) => match j {
            J::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, it)| from_json(it, e, &path.then_index(i)))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            _ => Err(err(path, "list required")),
        },
        Type::Map(e) => match j {
            J::Object(o) => o
                .iter()
                .map(|(k, v)| Ok((k.clone(), from_json(v, e, &path.then_key(k))?)))
                .collect::<Result<BTreeMap<_, _>, _>>()
                .map(Value::Map),
            _ => Err(err(path, "map required")),
        },
        Type::Object(attrs) => match j {
            J::Object(o) => {
                let mut m = BTreeMap::new();
                for (k, at) in attrs {
                    let v = match o.get(k) {
                        Some(jv) => from_json(jv, at, &path.then_attr(k))?,
                        None => Value::Null,
                    };
                    m.insert(k.clone(), v);
                }
                Ok(Value::Object(m))
            }
            _ => Err(err(path, "object required")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("on", Type::Bool),
            ("tags", Type::map(Type::String)),
            ("cidrs", Type::list(Type::String)),
            ("ports", Type::set(Type::Number)),
            (
                "rules",
                Type::list(Type::object([
                    ("port", Type::Number),
                    ("cidr", Type::String),
                ])),
            ),
        ])
    }

    fn arb_prim(t: Type) -> BoxedStrategy<Value> {
        let base = match t {
            Type::String => any::<String>().prop_map(Value::String).boxed(),
            Type::Number => prop_oneof![
                any::<i32>().prop_map(|i| Value::Number(i as f64)),
                (-1e12f64..1e12).prop_map(Value::Number)
            ]
            .boxed(),
            Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            _ => unreachable!(),
        };
        prop_oneof![8 => base, 1 => Just(Value::Null), 1 => Just(Value::Unknown)].boxed()
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        (
            arb_prim(Type::String),
            arb_prim(Type::Number),
            arb_prim(Type::Bool),
            prop::collection::btree_map("[a-z]{1,5}", arb_prim(Type::String), 0..4),
            prop::collection::vec(arb_prim(Type::String), 0..4),
            prop::collection::vec(arb_prim(Type::Number), 0..4),
            prop::collection::vec((arb_prim(Type::Number), arb_prim(Type::String)), 0..3),
        )
            .prop_map(|(n, c, o, tags, cidrs, ports, rules)| {
                let mut m = BTreeMap::new();
                m.insert("name".into(), n);
                m.insert("count".into(), c);
                m.insert("on".into(), o);
                m.insert("tags".into(), Value::Map(tags));
                m.insert("cidrs".into(), Value::List(cidrs));
                m.insert("ports".into(), Value::List(ports));
                m.insert(
                    "rules".into(),
                    Value::List(
                        rules
                            .into_iter()
                            .map(|(p, c)| {
                                Value::Object(
                                    [("port".to_string(), p), ("cidr".to_string(), c)]
                                        .into_iter()
                                        .collect(),
                                )
                            })
                            .collect(),
                    ),
                );
                Value::Object(m)
            })
    }

    proptest! {
        #[test]
        fn msgpack_round_trip(v in arb_value()) {
            let t = sample_type();
            let bytes = encode_msgpack(&v, &t);
            prop_assert_eq!(decode_msgpack(&bytes, &t).unwrap(), v);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_msgpack(&bytes, &sample_type());
            let _ = decode_json(&bytes, &sample_type());
        }
    }

    #[test]
    fn unknown_is_ext_zero() {
        let b = encode_msgpack(&Value::Unknown, &Type::String);
        assert_eq!(b, vec![0xd4, 0, 0]);
        // refined unknowns (ext 12) decode as unknown too
        assert_eq!(
            decode_msgpack(&[0xc7, 1, 12, 0x80], &Type::String).unwrap(),
            Value::Unknown
        );
    }

    #[test]
    fn json_upgrade_drops_removed_and_nulls_new() {
        let t = Type::object([("a", Type::String), ("b", Type::Number)]);
        let v = decode_json(br#"{"a":"x","old":1}"#, &t).unwrap();
        assert_eq!(v.get("a"), &Value::str("x"));
        assert_eq!(v.get("b"), &Value::Null);
    }

    #[test]
    fn type_errors_carry_paths() {
        let t = Type::object([("rules", Type::list(Type::object([("port", Type::Number)])))]);
        let e = decode_json(br#"{"rules":[{"port":"abc"}]}"#, &t).unwrap_err();
        assert_eq!(e.path.to_string(), "rules[0].port");
    }
}
