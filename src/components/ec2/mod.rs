//! EC2 and VPC components.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, tags_for, E};
use crate::aws::error_code;
use crate::aws::AwsContext;
use crate::engine::consistency::Ended;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Retried, Spec, Timeouts, Waiter, GONE,
    PROPAGATION,
};
use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, BlockDeviceMapping, DomainType, EbsBlockDevice, Filter,
    HttpTokensState, IamInstanceProfileSpecification, InstanceInterruptionBehavior,
    InstanceMarketOptionsRequest, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceStateName, IpPermission, IpRange, MarketType, NatGatewayState, ResourceType,
    SpotInstanceType, SpotMarketOptions, Tag, TagSpecification, UserIdGroupPair, VolumeType,
    VpcAttributeName,
};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::time::Duration;

mod vpc;
pub use vpc::*;
mod existing;
pub use existing::*;
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
    let tags = tags
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags))
        .build()
}

fn own_filters(env: &E, key: &str) -> Vec<Filter> {
    vec![
        Filter::builder()
            .name(format!("tag:{TAG_STACK_ID}"))
            .values(&env.stack_id)
            .build(),
        Filter::builder()
            .name(format!("tag:{TAG_COMPONENT}"))
            .values(key)
            .build(),
    ]
}

/// True when `tags` name this stack and component.
fn own_tags(tags: &[Tag], env: &E, key: &str) -> bool {
    let has = |k: &str, v: &str| {
        tags.iter()
            .any(|t| t.key() == Some(k) && t.value() == Some(v))
    };
    has(TAG_STACK_ID, &env.stack_id) && has(TAG_COMPONENT, key)
}

fn not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    error_code(e)
        .map(|c| c.contains("NotFound"))
        .unwrap_or(false)
}

/// How long EC2 may take to show what was just made to the calls that
/// name it (hashicorp/aws `ec2PropagationTimeout`, 5 minutes): a subnet,
/// route table or allocation just created answering `*.NotFound`.
const EC2_PROPAGATION: Duration = Duration::from_secs(300);
/// How long the network interfaces and mapped addresses that other
/// services (load balancers, NAT gateways, Fargate tasks, EKS) leave
/// behind may take to go: a delete meets `DependencyViolation` meanwhile.
const DRAIN: Duration = Duration::from_secs(300);

/// True when a declared "not yet" outlasted its bound (the declared time
/// or the operation's deadline), rather than the provider being stopped.
fn outlasted<Er>(r: &Retried<Er>) -> bool {
    matches!(r.ended, Some(Ended::Propagation) | Some(Ended::Deadline))
}

/// `err` (a delete of the subnet or security group `id` that AWS kept
/// refusing with `DependencyViolation`) with the network interfaces still
/// in it (`filter`: `subnet-id` or `group-id`) and what owns each: what
/// the user has to delete, or wait for, before the next destroy.
async fn naming_interfaces(env: &E, mut err: OpError, filter: &str, id: &str) -> OpError {
    let what = if filter == "subnet-id" {
        "subnet"
    } else {
        "security group"
    };
    let f = Filter::builder().name(filter).values(id).build();
    match env
        .ctx
        .ec2()
        .describe_network_interfaces()
        .filters(f)
        .send()
        .await
    {
        Ok(o) if o.network_interfaces().is_empty() => {
            let rest = if filter == "subnet-id" {
                ""
            } else {
                " (a rule of another security group that names it may be what holds it)"
            };
            err.message.push_str(&format!(". No network interface is in the {what} {id} any more{rest}: the next destroy may delete it"));
        }
        Ok(o) => {
            let list: Vec<String> = o.network_interfaces().iter().map(interface_owner).collect();
            err.message.push_str(&format!(
                ". Network interfaces still in the {what} {id}: {}. Each goes with what made it (a load balancer, an ECS task, a Lambda function, an EKS cluster, a VPC endpoint): delete that first; one left `available` by a deleted service can be deleted with `aws ec2 delete-network-interface`",
                list.join(", ")
            ));
        }
        Err(e) => err.message.push_str(&format!(
            ". The network interfaces still in the {what} {id} could not be listed: {}",
            op("DescribeNetworkInterfaces")(e).message
        )),
    }
    err
}

/// A network interface and what owns it: `eni-… (ELB app/web/…, interface
/// type network_load_balancer)`; its requester or instance when it has no
/// description.
fn interface_owner(n: &aws_sdk_ec2::types::NetworkInterface) -> String {
    let id = n.network_interface_id().unwrap_or("an interface");
    let owner = n
        .description()
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .or_else(|| {
            n.requester_id()
                .filter(|r| !r.is_empty())
                .map(|r| format!("requested by {r}"))
        })
        .or_else(|| {
            n.attachment()
                .and_then(|a| a.instance_id())
                .map(|i| format!("attached to {i}"))
        })
        .unwrap_or_else(|| "no owner named".to_string());
    let kind = n
        .interface_type()
        .map(|t| t.as_str())
        .unwrap_or("interface");
    format!("{id} ({owner}, interface type {kind})")
}
mod tags;
pub(crate) use tags::*;
