//! EC2 and VPC components.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, tags_for, E};
use crate::aws::error_code;
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Timeouts, Waiter, GONE};
use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};
use crate::provider::AwsContext;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, BlockDeviceMapping, DomainType, EbsBlockDevice, Filter, HttpTokensState, IamInstanceProfileSpecification, InstanceInterruptionBehavior,
    InstanceMarketOptionsRequest, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName, IpPermission, IpRange, MarketType, NatGatewayState,
    ResourceType, SpotInstanceType, SpotMarketOptions, Tag, TagSpecification, UserIdGroupPair, VolumeType, VpcAttributeName,
};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::time::Duration;

mod vpc;
pub use vpc::*;
mod internet_gateway;
pub use internet_gateway::*;
mod subnet;
pub use subnet::*;
mod route_table;
pub use route_table::*;
mod nat_gateway;
pub use nat_gateway::*;
mod security_group;
pub use security_group::*;
mod instance;
pub use instance::*;
mod ebs_data_volume;
pub use ebs_data_volume::*;
mod elastic_ip;
pub use elastic_ip::*;
mod vpc_endpoint;
pub use vpc_endpoint::*;

fn tag_spec(env: &E, spec: &Spec, rt: ResourceType) -> TagSpecification {
    tag_spec_of(spec_tags(env, spec), rt)
}

fn tag_spec_of(tags: BTreeMap<String, String>, rt: ResourceType) -> TagSpecification {
    let tags = tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    TagSpecification::builder().resource_type(rt).set_tags(Some(tags)).build()
}

fn own_filters(env: &E, key: &str) -> Vec<Filter> {
    vec![Filter::builder().name(format!("tag:{TAG_STACK_ID}")).values(&env.stack_id).build(), Filter::builder().name(format!("tag:{TAG_COMPONENT}")).values(key).build()]
}

/// True when `tags` name this stack and component.
fn own_tags(tags: &[Tag], env: &E, key: &str) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key() == Some(k) && t.value() == Some(v));
    has(TAG_STACK_ID, &env.stack_id) && has(TAG_COMPONENT, key)
}

fn not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    error_code(e).map(|c| c.contains("NotFound")).unwrap_or(false)
}

fn dependency_violation<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::code_in(e, &["DependencyViolation", "InvalidIPAddress.InUse", "IncorrectState", "VolumeInUse"])
}

const DEP_RETRY: Duration = Duration::from_secs(300);
