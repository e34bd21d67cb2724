//! Application load balancer, target group and listeners (ELBv2).

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Waiter, GONE};
use crate::provider::AwsContext;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
    Tag, TargetTypeEnum,
};
use serde_json::json;

mod load_balancer;
pub use load_balancer::*;
mod target_group;
pub use target_group::*;
mod listener;
pub use listener::*;

pub const LB_ACTIVE: Waiter = Waiter::new("to be active", &["provisioning", GONE], &["active"]);
/// Its network interfaces hold the subnets and security groups until it is
/// gone.
pub const LB_DELETED: Waiter = Waiter::new("to be deleted", &["active", "active_impaired", "provisioning", "failed"], &[GONE]);

/// The load balancer `arn`'s state code (None: it does not exist).
pub async fn lb_state(env: &E, arn: &str) -> Result<Option<(String, ())>, OpError> {
    match env.ctx.elbv2().describe_load_balancers().load_balancer_arns(arn).send().await {
        Ok(o) => Ok(o.load_balancers().first().map(|l| (l.state().and_then(|s| s.code()).map(|c| c.as_str()).unwrap_or_default().to_string(), ()))),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeLoadBalancers")(e)),
    }
}

fn tags(env: &E, spec: &Spec) -> Vec<Tag> {
    spec_tags(env, spec).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

crate::aws::not_found_codes!("LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound");
