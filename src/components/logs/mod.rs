//! CloudWatch Logs: the containers' log group.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, NotYet, OpError, Record, Records, Spec, PROPAGATION};
use serde_json::json;

mod log_group;
pub use log_group::*;
mod tags;
pub(crate) use tags::*;
