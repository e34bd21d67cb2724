//! FinOps and monitoring: SNS topic and e-mail subscriptions, AWS Budgets,
//! CloudWatch alarms, EventBridge Scheduler schedules.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, failed, op, spec_tags, E};
use crate::aws::code_in;
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, Need, NotYet, OpError, Record, Records, Spec, PROPAGATION};
use serde_json::json;

mod sns_topic;
pub use sns_topic::*;
mod budget;
pub use budget::*;
mod metric_alarm;
pub use metric_alarm::*;
mod instance_schedule;
pub use instance_schedule::*;

/// The alarm topic that budget and alarm unit tests notify.
#[cfg(test)]
const TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:kauri-prod-alerts";

#[cfg(test)]
fn topic_deps() -> Records {
    [(
        "topic".to_string(),
        Record::new("sns_topic", TOPIC_ARN, json!({})),
    )]
    .into()
}
