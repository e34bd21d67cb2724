//! FinOps and monitoring: SNS topic and e-mail subscriptions, AWS Budgets,
//! CloudWatch alarms, EventBridge Scheduler schedules.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, op, spec_tags, E};
use crate::aws::code_in;
use crate::engine::{Kind, Need, OpError, Record, Records, Spec};
use crate::provider::AwsContext;
use serde_json::json;
use std::time::Duration;

mod sns_topic;
pub use sns_topic::*;
mod budget;
pub use budget::*;
mod metric_alarm;
pub use metric_alarm::*;
mod instance_schedule;
pub use instance_schedule::*;
