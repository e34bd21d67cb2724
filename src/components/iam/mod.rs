//! IAM role (with managed and inline policies) and instance profile.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, NotYet, OpError, Record, Records, Spec, Waiter, GONE, PROPAGATION,
};
use aws_sdk_iam::types::Tag;
use serde_json::json;
use std::time::Duration;

mod role;
pub use role::*;
mod instance_profile;
pub use instance_profile::*;

fn no_such<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::code_in(e, &["NoSuchEntity"])
}

/// IAM's answer while another request changes the same object (hashicorp/aws
/// retries it on CreateRole, AttachRolePolicy and DetachRolePolicy).
const CONCURRENT: NotYet = NotYet::code(
    "ConcurrentModification",
    "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.",
);
mod tags;
pub(crate) use tags::*;
