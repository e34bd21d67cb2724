//! EKS: the cluster, its managed node groups, the OIDC provider that IRSA
//! roles trust, and the load balancers the AWS Load Balancer Controller
//! leaves behind for a cluster.

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, observed, op, sdk_wait, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Timeouts, Waiter, GONE, PROPAGATION,
};
use aws_sdk_eks::client::Waiters;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::time::Duration;

mod cluster;
pub use cluster::*;
mod node_group;
pub use node_group::*;
mod oidc_provider;
pub use oidc_provider::*;
mod controller_leftovers;
pub use controller_leftovers::*;

/// An update (version, endpoint access, logging, scaling, labels): one that
/// failed or was cancelled ends the wait with its errors.
const UPDATE_DONE: Waiter =
    Waiter::new("to finish", &["InProgress"], &["Successful"]).poll(Duration::from_secs(15));

fn missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::code_in(e, &["ResourceNotFoundException"])
}

/// A cluster's and a node group's subnets, in the slot `subnets` (the
/// order the stack gives them).
const SUBNETS: Need = super::need::SUBNETS.in_slot("subnets");
/// The role the cluster or the nodes act as, in the slot `role`.
const ROLE: Need = super::need::ROLE.in_slot("role");

fn subnet_ids(spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
    SUBNETS.ids_in(spec, deps)
}
mod tags;
pub(crate) use tags::*;
