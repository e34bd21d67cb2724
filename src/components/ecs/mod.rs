//! ECS: cluster, Fargate task definition and service.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Timeouts, Waiter, GONE, PROPAGATION,
};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition,
    DeploymentCircuitBreaker, DeploymentConfiguration, KeyValuePair, LaunchType, LoadBalancer,
    LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, PortMapping, PropagateTags,
    Secret as EcsSecret, Tag, TransportProtocol,
};
use serde_json::{json, Value as Json};

mod cluster;
pub use cluster::*;
mod task_definition;
pub use task_definition::*;
mod service;
pub use service::*;

/// Its desired count of the wanted task definition runs, in one deployment
/// (a failed rollout ends the wait at once, with the circuit breaker's
/// reason).
const SERVICE_STABLE: Waiter = Waiter::new("to be stable", &["deploying"], &["steady"]);
/// Deleted once its tasks are gone: AWS keeps a drained service listed as
/// INACTIVE for a while.
const SERVICE_DELETED: Waiter = Waiter::new(
    "to be deleted",
    &["ACTIVE", "DRAINING"],
    &["drained", "INACTIVE", GONE],
);

fn tags(env: &E, spec: &Spec) -> Vec<Tag> {
    spec_tags(env, spec)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

crate::aws::not_found_codes!("ClusterNotFoundException", "ServiceNotFoundException");

/// ECS answers a task definition that does not exist with the generic
/// ClientException; only that message means not-found (a ClientException
/// can also be a refused request, which must not pass as "already gone").
fn task_definition_missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    let message = match e {
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(se) => {
            se.err().message().unwrap_or_default().to_ascii_lowercase()
        }
        _ => return false,
    };
    crate::aws::code_in(e, &["ClientException"])
        && (message.contains("unable to describe task definition")
            || message.contains("does not exist")
            || message.contains("not found"))
}
mod tags;
pub(crate) use tags::*;
