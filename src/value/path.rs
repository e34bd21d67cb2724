use std::fmt;

/// One step of an attribute path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Attr(String),
    Key(String),
    Index(i64),
}

/// A path to an attribute inside a resource's value, as diagnostics and
/// `requires_replace` carry it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<Step>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }
    pub fn attr(name: &str) -> Path {
        Path(vec![Step::Attr(name.to_string())])
    }
    pub fn then_attr(&self, name: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Attr(name.to_string()));
        p
    }
    pub fn then_key(&self, key: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Key(key.to_string()));
        p
    }
    pub fn then_index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Index(i as i64));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Step::Attr(a) if i == 0 => write!(f, "{a}")?,
                Step::Attr(a) => write!(f, ".{a}")?,
                Step::Key(k) => write!(f, "[{k:?}]")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}
