//! Application load balancer, target group and listeners (ELBv2).

use super::tagging::TagRef;
use super::Tagging;
use super::{failed, op, spec_tags, E};
use crate::aws::AwsContext;
use crate::engine::{
    Call, Kind, Need, NotYet, OpError, Record, Records, Spec, Waiter, GONE, PROPAGATION,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Tag, TargetTypeEnum,
};
use serde_json::json;

mod load_balancer;
pub use load_balancer::*;
mod target_group;
pub use target_group::*;
mod listener;
pub use listener::*;

/// hashicorp/aws's `elbv2PropagationTimeout` (5 minutes): how long a target
/// group just created may go unfound (also its listener's create and
/// update timeouts).
const ELBV2_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(300);
/// A target group just created, not yet found by the call that names it.
const TARGET_GROUP_NOT_YET: NotYet =
    NotYet::code("TargetGroupNotFound", "One or more target groups not found");

pub const LB_ACTIVE: Waiter = Waiter::new("to be active", &["provisioning", GONE], &["active"]);
/// Its network interfaces hold the subnets and security groups until it is
/// gone.
pub const LB_DELETED: Waiter = Waiter::new(
    "to be deleted",
    &["active", "active_impaired", "provisioning", "failed"],
    &[GONE],
);

/// The load balancer `arn`'s state code (None: it does not exist).
pub async fn lb_state(env: &E, arn: &str) -> Result<Option<(String, ())>, OpError> {
    match env
        .ctx
        .elbv2()
        .describe_load_balancers()
        .load_balancer_arns(arn)
        .send()
        .await
    {
        Ok(o) => Ok(o.load_balancers().first().map(|l| {
            (
                l.state()
                    .and_then(|s| s.code())
                    .map(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string(),
                (),
            )
        })),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeLoadBalancers")(e)),
    }
}

fn tags(env: &E, spec: &Spec) -> Vec<Tag> {
    spec_tags(env, spec)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

crate::aws::not_found_codes!(
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound"
);
mod tags;
pub(crate) use tags::*;
