//! Route53: HTTPS health checks and failover records in an existing hosted
//! zone. Route53 is global; its objects live in the stack's region's view.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, failed, op, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Timeouts, Waiter, PROPAGATION,
};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecord,
    ResourceRecordSet, ResourceRecordSetFailover, RrType,
};
use serde_json::json;

mod health_check;
pub use health_check::*;
mod failover_record;
pub use failover_record::*;

/// A record change is done when every Route53 name server has it.
const CHANGE_INSYNC: Waiter = Waiter::new("to reach every name server", &["PENDING"], &["INSYNC"]);

/// A context whose Route 53 answers from mock rules, for the DNS kinds'
/// unit tests.
#[cfg(test)]
fn over(rules: &[&aws_smithy_mocks::Rule]) -> E {
    crate::components::mocked::env_over!(route53, aws_sdk_route53, rules)
}
mod tags;
pub(crate) use tags::*;
