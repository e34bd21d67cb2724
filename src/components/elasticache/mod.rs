//! Amazon ElastiCache: the Redis replication group and its subnet group.

use super::subnet_groups::*;
use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Timeouts, Waiter, GONE,
};
use serde_json::{json, Value as Json};

mod subnet_group;
pub use subnet_group::*;
mod replication_group;
pub use replication_group::*;
mod tags;
pub(crate) use tags::*;
