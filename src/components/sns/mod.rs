//! Amazon SNS: the alerts topic and its e-mail subscriptions.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::aws::code_in;
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, OpError, Record, Records, Spec};
use serde_json::json;

mod topic;
pub use topic::*;

/// The alarm topic that budget and alarm unit tests notify.
#[cfg(test)]
pub(crate) const TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:kauri-prod-alerts";

#[cfg(test)]
pub(crate) fn topic_deps() -> Records {
    [(
        "topic".to_string(),
        Record::new("sns_topic", TOPIC_ARN, json!({})),
    )]
    .into()
}
mod tags;
pub(crate) use tags::*;
