//! Amazon ECR: the stack's image repository.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{Call, Kind, OpError, Record, Records, Spec};
use serde_json::json;

mod repository;
pub use repository::*;
mod tags;
pub(crate) use tags::*;
