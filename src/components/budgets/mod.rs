//! AWS Budgets: the stack's monthly budgets.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, op, spec_tags, E};
use crate::aws::code_in;
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, OpError, Record, Records, Spec};
use serde_json::json;

#[cfg(test)]
use super::sns::{topic_deps, TOPIC_ARN};

mod budget;
pub use budget::*;
mod tags;
pub(crate) use tags::*;
