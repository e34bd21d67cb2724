//! Typed stack configurations, read once from the cty value.
//!
//! A stack's configuration is a struct (`<stack>/config.rs`) whose fields
//! are `Setting`s: an attribute is unset, not known until apply (a value
//! computed by another resource), or known. The struct is read through a
//! `Reader` over the schema block, which checks that each attribute read
//! exists in the schema with the type the field asks for. `agreement`
//! (run by each stack's tests) then checks the other way: every attribute
//! the configuration may set is read by the struct. So renaming an
//! attribute on one side only fails a test, never compiles into a silent
//! null.

use super::{Block, Nesting};
use crate::value::{Type, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// One configured attribute: unset (null), unknown until apply, or known.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Setting<T> {
    #[default]
    Unset,
    Unknown,
    Known(T),
}

impl<T> Setting<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Setting::Known(v) => Some(v),
            _ => None,
        }
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Setting::Unknown)
    }
    pub fn is_unset(&self) -> bool {
        matches!(self, Setting::Unset)
    }
    /// Set in the configuration, known or not.
    pub fn is_set(&self) -> bool {
        !self.is_unset()
    }
    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Setting<U> {
        match self {
            Setting::Unset => Setting::Unset,
            Setting::Unknown => Setting::Unknown,
            Setting::Known(v) => Setting::Known(f(v)),
        }
    }
}

impl<T: Clone + Default> Setting<T> {
    /// The known value, or the type's default: what a stack reads where
    /// the schema gives the attribute a default (so it is known once the
    /// configuration is, at plan and apply).
    pub fn value(&self) -> T {
        self.known().cloned().unwrap_or_default()
    }
}

impl Setting<String> {
    pub fn as_str(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
    /// The known text, or "" (see `value`).
    pub fn text(&self) -> &str {
        self.as_str().unwrap_or("")
    }
    /// The known text, owned, when there is one.
    pub fn owned(&self) -> Option<String> {
        self.known().cloned()
    }
}

impl<T> Setting<Vec<Setting<T>>> {
    /// The items of a known list (none when unset or unknown).
    pub fn items(&self) -> &[Setting<T>] {
        self.known().map(Vec::as_slice).unwrap_or(&[])
    }
}

impl<T: Clone> Setting<Vec<Setting<T>>> {
    /// The known items of the list.
    pub fn known_items(&self) -> Vec<T> {
        self.items()
            .iter()
            .filter_map(|i| i.known().cloned())
            .collect()
    }
}

impl Setting<Vec<Setting<String>>> {
    /// The known strings of the list.
    pub fn strings(&self) -> Vec<String> {
        self.known_items()
    }
}

impl<T> Setting<BTreeMap<String, Setting<T>>> {
    /// The entries of a known map (none when unset or unknown).
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Setting<T>)> {
        self.known().into_iter().flatten()
    }
}

/// A setting's value back as cty (outputs that repeat the configuration).
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::str(self)
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(ToValue::to_value).collect())
    }
}

impl<T: ToValue> ToValue for Setting<T> {
    fn to_value(&self) -> Value {
        match self {
            Setting::Unset => Value::Null,
            Setting::Unknown => Value::Unknown,
            Setting::Known(v) => v.to_value(),
        }
    }
}

/// A struct read from a block's value (the whole configuration, or one
/// nested block).
pub trait FromBlock: Sized {
    fn read(r: &Reader) -> Self;
}

/// A word of a fixed set (`profile`, `nat_gateways`): its schema rule
/// (`Rule::OneOf`) refuses any other at validate, so an unrecognised word
/// reads as unset.
pub trait Word: FromStr {}

/// Reads the attributes of one block's value, checking each against the
/// block's schema.
pub struct Reader<'a> {
    block: &'a Block,
    /// Reading an object value (`object_map`'s items): its fields' types,
    /// in place of the block's attributes.
    object: Option<&'a BTreeMap<String, Type>>,
    value: &'a Value,
    /// What was read, for `agreement`: `name` or `block.name`.
    read: RefCell<BTreeSet<String>>,
    /// Attributes read that the schema lacks, or with another type.
    faults: RefCell<Vec<String>>,
    prefix: String,
}

impl<'a> Reader<'a> {
    pub fn new(block: &'a Block, value: &'a Value) -> Self {
        Reader {
            object: None,
            block,
            value,
            read: RefCell::default(),
            faults: RefCell::default(),
            prefix: String::new(),
        }
    }

    fn raw(&self, name: &str, want: &Type) -> &'a Value {
        self.read
            .borrow_mut()
            .insert(format!("{}{name}", self.prefix));
        let declared = match self.object {
            Some(fields) => fields.get(name),
            None => self.block.attribute(name).map(|a| &a.ty),
        };
        match declared {
            None => self.fault(format!("{}{name} is not in the schema", self.prefix)),
            Some(ty) if ty != want => self.fault(format!(
                "{}{name} is a {ty:?} in the schema, read as a {want:?}",
                self.prefix
            )),
            Some(_) => {}
        }
        self.value.get(name)
    }

    fn fault(&self, f: String) {
        self.faults.borrow_mut().push(f);
    }

    pub fn text(&self, name: &str) -> Setting<String> {
        setting(self.raw(name, &Type::String), |v| {
            v.as_str().map(str::to_string)
        })
    }
    pub fn number(&self, name: &str) -> Setting<f64> {
        setting(self.raw(name, &Type::Number), Value::as_f64)
    }
    /// A number that a `Rule::Whole` keeps whole; any other reads as unset
    /// (the rule reports it).
    pub fn whole(&self, name: &str) -> Setting<i64> {
        setting(self.raw(name, &Type::Number), |v| {
            v.as_f64().filter(|n| n.fract() == 0.0).map(|n| n as i64)
        })
    }
    pub fn flag(&self, name: &str) -> Setting<bool> {
        setting(self.raw(name, &Type::Bool), Value::as_bool)
    }
    pub fn word<W: Word>(&self, name: &str) -> Setting<W> {
        setting(self.raw(name, &Type::String), |v| {
            v.as_str().and_then(|s| s.parse().ok())
        })
    }
    pub fn texts(&self, name: &str) -> Setting<Vec<Setting<String>>> {
        setting(self.raw(name, &Type::list(Type::String)), |v| {
            Some(
                v.as_list()
                    .iter()
                    .map(|i| setting(i, |x| x.as_str().map(str::to_string)))
                    .collect(),
            )
        })
    }
    pub fn text_map(&self, name: &str) -> Setting<BTreeMap<String, Setting<String>>> {
        setting(self.raw(name, &Type::map(Type::String)), |v| {
            v.as_map().map(|m| {
                m.iter()
                    .map(|(k, i)| (k.clone(), setting(i, |x| x.as_str().map(str::to_string))))
                    .collect()
            })
        })
    }
    /// A map attribute whose values are objects of `ty`, each read by
    /// `item` through a reader over the object's fields, so that a field
    /// `ty` lacks is a fault like an attribute the schema lacks (read once
    /// on no value when the map is empty, for `agreement`).
    pub fn object_map<T>(
        &self,
        name: &str,
        ty: &Type,
        item: impl Fn(&Reader) -> T,
    ) -> Setting<BTreeMap<String, Setting<T>>> {
        let no_fields = BTreeMap::new();
        let fields = match ty {
            Type::Object(fields) => fields,
            _ => &no_fields,
        };
        let read_one = |v: &Value| self.part(name, &EMPTY, Some(fields), v, &item);
        let raw = self.raw(name, &Type::map(ty.clone()));
        let entries = raw.as_map().filter(|m| !m.is_empty());
        if entries.is_none() {
            let _ = read_one(&Value::Null);
        }
        setting(raw, |v| {
            v.as_map().map(|m| {
                m.iter()
                    .map(|(k, i)| {
                        let s = match i {
                            Value::Null => Setting::Unset,
                            Value::Unknown => Setting::Unknown,
                            o => Setting::Known(read_one(o)),
                        };
                        (k.clone(), s)
                    })
                    .collect()
            })
        })
    }

    fn nested(&self, name: &str, nesting: Nesting) -> Option<&'a Block> {
        self.read
            .borrow_mut()
            .insert(format!("{}{name}", self.prefix));
        match self.block.blocks.iter().find(|b| b.name == name) {
            Some(b) if b.nesting == nesting => Some(&b.block),
            Some(_) => {
                self.fault(format!(
                    "{}{name} is nested otherwise in the schema",
                    self.prefix
                ));
                None
            }
            None => {
                self.fault(format!(
                    "{}{name} is not a block of the schema",
                    self.prefix
                ));
                None
            }
        }
    }

    fn child<T: FromBlock>(&self, name: &str, block: &'a Block, v: &'a Value) -> T {
        self.part(name, block, None, v, T::read)
    }

    /// Reads `value`, the part `name` of this value (a nested block's, or
    /// an object of `object`'s fields), through a reader whose reads and
    /// faults become this one's.
    fn part<'b, T>(
        &self,
        name: &str,
        block: &'b Block,
        object: Option<&'b BTreeMap<String, Type>>,
        value: &'b Value,
        read: impl FnOnce(&Reader<'b>) -> T,
    ) -> T {
        let r = Reader {
            object,
            block,
            value,
            read: RefCell::default(),
            faults: RefCell::default(),
            prefix: format!("{}{name}.", self.prefix),
        };
        let t = read(&r);
        self.read.borrow_mut().extend(r.read.into_inner());
        self.faults.borrow_mut().extend(r.faults.into_inner());
        t
    }

    /// A block nested as a list: each configured block, in order.
    pub fn blocks<T: FromBlock>(&self, name: &str) -> Setting<Vec<T>> {
        let Some(block) = self.nested(name, Nesting::List) else {
            return Setting::Unset;
        };
        match self.value.get(name) {
            Value::Null => Setting::Unset,
            Value::Unknown => Setting::Unknown,
            v => Setting::Known(
                v.as_list()
                    .iter()
                    .map(|item| self.child(name, block, item))
                    .collect(),
            ),
        }
    }

    /// A single nested block; an absent one reads with its defaults
    /// (`Block::nested_or_defaults`), so a stack writes them nowhere but
    /// on the schema.
    pub fn single<T: FromBlock>(&self, name: &str) -> T {
        let Some(block) = self.nested(name, Nesting::Single) else {
            return self.child(name, &EMPTY, &Value::Null);
        };
        let v = self.block.nested_or_defaults(name, self.value);
        self.part(name, block, None, &v, T::read)
    }
}

static EMPTY: Block = Block {
    description: "",
    attributes: Vec::new(),
    blocks: Vec::new(),
};

fn setting<T>(v: &Value, known: impl FnOnce(&Value) -> Option<T>) -> Setting<T> {
    match v {
        Value::Null => Setting::Unset,
        Value::Unknown => Setting::Unknown,
        v => known(v).map(Setting::Known).unwrap_or(Setting::Unset),
    }
}

/// `value` (a configuration of `block`, defaults filled or not) as `T`.
pub fn read<T: FromBlock>(block: &Block, value: &Value) -> T {
    T::read(&Reader::new(block, value))
}

/// Attributes every stack has, read by the generic layer (`tags`,
/// `timeouts`, `adopt`) or set by the provider.
const COMMON: &[&str] = &["tags", "timeouts", "adopt"];

/// Whether `T` and `block` agree: every attribute `T` reads is in the
/// schema with the type it reads, and every attribute or block the
/// configuration may set is read (nested list blocks given one element),
/// besides `COMMON`. The faults, or the attributes left unread.
pub fn agreement<T: FromBlock>(block: &Block) -> Result<(), Vec<String>> {
    let sample = sample(block);
    let r = Reader::new(block, &sample);
    let _ = T::read(&r);
    let mut faults = r.faults.into_inner();
    let read = r.read.into_inner();
    let mut settable = BTreeSet::new();
    settable_names(block, "", &mut settable);
    for name in settable.difference(&read) {
        let top = name.split('.').next().unwrap_or(name);
        if !COMMON.contains(&top) {
            faults.push(format!(
                "{name} is in the schema but the configuration struct never reads it"
            ));
        }
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(faults)
    }
}

fn settable_names(block: &Block, prefix: &str, out: &mut BTreeSet<String>) {
    for a in &block.attributes {
        if a.required || a.optional {
            out.insert(format!("{prefix}{}", a.name));
        }
    }
    for b in &block.blocks {
        out.insert(format!("{prefix}{}", b.name));
        settable_names(&b.block, &format!("{prefix}{}.", b.name), out);
    }
}

/// A value of `block` with every attribute null and each nested block
/// present once, so that reading it reaches every nested attribute.
fn sample(block: &Block) -> Value {
    let mut m = BTreeMap::new();
    for b in &block.blocks {
        let inner = sample(&b.block);
        m.insert(
            b.name.to_string(),
            match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Value::List(vec![inner]),
            },
        );
    }
    Value::Object(m)
}

/// An enum of the words an attribute accepts, each written once: parsed
/// by `Reader::word`, listed by `WORDS` for the attribute's
/// `Rule::OneOf`, and written back by `as_str`.
macro_rules! words {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name { $($(#[$vm])* $variant),+ }
        impl $name {
            pub const WORDS: &'static [&'static str] = &[$($word),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }
        }
        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($word => Ok(Self::$variant),)+ _ => Err(()) }
            }
        }
        impl $crate::schema::config::Word for $name {}
    };
}
pub(crate) use words;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};

    fn block() -> Block {
        Block {
            description: "",
            attributes: vec![
                Attribute::required("name", Type::String, ""),
                Attribute::optional("size", Type::Number, ""),
                Attribute::computed("arn", Type::String, ""),
            ],
            blocks: vec![NestedBlock {
                name: "port",
                nesting: Nesting::List,
                max_items: 0,
                block: Block {
                    description: "",
                    attributes: vec![Attribute::optional("number", Type::Number, "")],
                    blocks: vec![],
                },
            }],
        }
    }

    struct Port {
        number: Setting<i64>,
    }
    impl FromBlock for Port {
        fn read(r: &Reader) -> Self {
            Port {
                number: r.whole("number"),
            }
        }
    }
    struct Good {
        name: Setting<String>,
        size: Setting<f64>,
        ports: Setting<Vec<Port>>,
    }
    impl FromBlock for Good {
        fn read(r: &Reader) -> Self {
            Good {
                name: r.text("name"),
                size: r.number("size"),
                ports: r.blocks("port"),
            }
        }
    }

    #[test]
    fn an_object_field_the_type_lacks_is_a_fault_even_with_no_value() {
        let ty = Type::object([("value", Type::String)]);
        let block = Block {
            description: "",
            attributes: vec![Attribute::optional("params", Type::map(ty), "")],
            blocks: vec![],
        };
        struct Params;
        impl FromBlock for Params {
            fn read(r: &Reader) -> Self {
                let ty = Type::object([("value", Type::String)]);
                r.object_map("params", &ty, |o| o.text("valeu"));
                Params
            }
        }
        let faults = agreement::<Params>(&block).unwrap_err();
        assert_eq!(faults, ["params.valeu is not in the schema"]);
    }

    #[test]
    fn settings_carry_unset_unknown_and_known() {
        let v = Value::Object(BTreeMap::from([
            ("name".to_string(), Value::str("a")),
            ("size".to_string(), Value::Unknown),
            (
                "port".to_string(),
                Value::List(vec![Value::Object(BTreeMap::from([(
                    "number".to_string(),
                    Value::Number(8.5),
                )]))]),
            ),
        ]));
        let g: Good = read(&block(), &v);
        assert_eq!(g.name, Setting::Known("a".to_string()));
        assert!(g.size.is_unknown());
        // Not whole: the rule reports it; the struct reads it unset.
        assert!(g.ports.known().unwrap()[0].number.is_unset());
        assert_eq!(agreement::<Good>(&block()), Ok(()));
    }

    #[test]
    fn a_struct_and_a_schema_that_disagree_fail_agreement() {
        struct Renamed;
        impl FromBlock for Renamed {
            fn read(r: &Reader) -> Self {
                r.text("name");
                r.text("sizes");
                r.text("size");
                Renamed
            }
        }
        let faults = agreement::<Renamed>(&block()).unwrap_err();
        assert!(
            faults.iter().any(|f| f == "sizes is not in the schema"),
            "{faults:?}"
        );
        assert!(
            faults.iter().any(|f| f.starts_with("size is a Number")),
            "{faults:?}"
        );
        assert!(
            faults
                .iter()
                .any(|f| f == "port is in the schema but the configuration struct never reads it"),
            "{faults:?}"
        );
    }
}
