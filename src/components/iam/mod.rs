//! IAM role (with managed and inline policies) and instance profile.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::aws::error_code;
use crate::engine::{Kind, OpError, Record, Records, Spec};
use crate::provider::AwsContext;
use aws_sdk_iam::types::Tag;
use serde_json::json;
use std::time::Duration;

mod role;
pub use role::*;
mod instance_profile;
pub use instance_profile::*;

fn no_such<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::code_in(e, &["NoSuchEntity"])
}
