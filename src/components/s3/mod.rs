//! S3 bucket: versioned, encrypted, public access blocked, tagged, with a
//! lifecycle rule moving backups to Glacier.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, failed, op, spec_tags, E};
use crate::aws::error_code;
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Waiter, GONE, PROPAGATION,
};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, Delete, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionTransition, ObjectIdentifier, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Transition, TransitionStorageClass, VersioningConfiguration,
};
use serde_json::json;

mod bucket;
pub use bucket::*;
mod replication;
pub use replication::*;
mod tags;
pub(crate) use tags::*;
