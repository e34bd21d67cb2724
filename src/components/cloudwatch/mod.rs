//! CloudWatch alarms.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, Need, OpError, Record, Records, Spec};
use serde_json::json;

#[cfg(test)]
use super::sns::{topic_deps, TOPIC_ARN};

mod metric_alarm;
pub use metric_alarm::*;
mod tags;
pub(crate) use tags::*;
