//! EventBridge Scheduler: the instance's start and stop schedules.

use super::{bad, failed, op, E};
use crate::aws::code_in;
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, NotYet, OpError, Record, Records, Spec, PROPAGATION};
use serde_json::json;

mod instance_schedule;
pub use instance_schedule::*;
