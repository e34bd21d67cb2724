//! What the engine records of each component, and an operation's failure.

use super::*;

/// What the engine remembers of one component that exists in AWS.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub kind: String,
    pub id: String,
    /// The inputs the component was created or last updated with (or, after
    /// a refresh, observed in AWS).
    pub inputs: Json,
    /// Attributes AWS assigned (ARN, address, DNS name...).
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    #[serde(default)]
    pub deps: Vec<String>,
    /// The tags the stack manages on the object (set at create or by the
    /// last tag update; after a refresh, as observed for those keys).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// Where the object is, when not in the stack's region: read, update
    /// and delete go there whatever the configuration says now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What the last read of the object found worth a plan warning (a rule
    /// someone else added that opens a database port to the internet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Record {
    pub fn new(kind: &str, id: impl Into<String>, inputs: Json) -> Record {
        Record {
            kind: kind.to_string(),
            id: id.into(),
            inputs,
            outputs: BTreeMap::new(),
            deps: Vec::new(),
            tags: Tags::new(),
            region: None,
            warnings: Vec::new(),
        }
    }
    pub fn with(mut self, k: &str, v: impl Into<String>) -> Record {
        self.outputs.insert(k.to_string(), v.into());
        self
    }
    pub fn out(&self, k: &str) -> &str {
        self.outputs.get(k).map(String::as_str).unwrap_or("")
    }
}

pub type Records = BTreeMap<String, Record>;

/// An operation's failure; `partial` is what was created before it failed,
/// so that it is recorded and never leaked.
#[derive(Debug)]
pub struct OpError {
    pub message: String,
    pub partial: Option<Record>,
    /// The configuration attribute the error is about, when one is.
    pub attribute: Option<String>,
}

impl OpError {
    pub fn new(message: impl Into<String>) -> OpError {
        OpError {
            message: message.into(),
            partial: None,
            attribute: None,
        }
    }
    pub fn at(mut self, attribute: Option<&str>) -> OpError {
        self.attribute = attribute.map(str::to_string);
        self
    }
    pub fn partial(mut self, r: Record) -> OpError {
        self.partial = Some(r);
        self
    }
}

impl<T: std::fmt::Display> From<T> for OpError {
    fn from(e: T) -> Self {
        OpError::new(e.to_string())
    }
}
