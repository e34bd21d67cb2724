//! AWS component kinds: one AWS object each, with create/read/update/delete
//! and find-by-tag. Shared by every stack.

pub mod budgets;
pub mod catalog;
pub mod cloudwatch;
pub mod dlm;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod eks;
pub mod elasticache;
pub mod elb;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod rds;
pub mod registry;
pub mod route53;
pub mod s3;
pub mod scheduler;
pub mod secrets;
pub mod sns;
pub mod ssm;
mod subnet_groups;
pub mod tagging;

use crate::aws::AwsContext;
use crate::engine::{Env, OpError, Retried};
use std::collections::BTreeMap;

pub type E = Env<AwsContext>;

/// How a kind names its objects to the tagging API (None: untaggable).
pub type Tagging = Option<crate::engine::TagRefFn<AwsContext>>;

/// The AWS name of a component: `<stack id>-<key>` with dots as hyphens.
pub fn aws_name(env: &E, key: &str) -> String {
    crate::engine::ownership::aws_name(&env.stack_id, key)
}

/// The stack's tags plus the component key and a Name, for a component
/// that is not a spec of the graph (a final snapshot).
pub fn tags_for(env: &E, key: &str) -> BTreeMap<String, String> {
    env.tags_for(key)
}

/// The tags a component is created with: its spec's (the stack's tags, its
/// key, a Name, and any tag the stack adds to it).
pub fn spec_tags(env: &E, spec: &crate::engine::Spec) -> BTreeMap<String, String> {
    if spec.tags.is_empty() {
        env.tags_for(&spec.key)
    } else {
        spec.tags.clone()
    }
}

type SdkError<E2> =
    aws_smithy_runtime_api::client::result::SdkError<E2, aws_smithy_runtime_api::http::Response>;

/// Maps an SDK error to an OpError with a readable message; a refused
/// permission is said as one (see `aws::permission_text`).
pub fn op<E2>(what: &str) -> impl Fn(SdkError<E2>) -> OpError + '_
where
    E2: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| {
        if crate::aws::is_permission_denied(&e) {
            OpError::new(format!(
                "{what}: {}",
                crate::aws::permission_text(what, &crate::aws::error_text(&e))
            ))
        } else {
            OpError::new(format!("{what}: {}", crate::aws::error_text(&e)))
        }
    }
}

/// Maps the final failure of a declared call (`Env::call`) to an OpError:
/// the operation, AWS's error, and how long a "not yet" was retried; a
/// refused permission names the IAM action.
pub fn failed<E2>(r: Retried<SdkError<E2>>) -> OpError
where
    E2: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = crate::aws::error_text(&r.error);
    if crate::aws::is_permission_denied(&r.error) {
        OpError::new(format!(
            "{}: {}",
            r.call.operation(),
            crate::aws::permission_text(&catalog::iam_action(r.call), &text)
        ))
    } else {
        OpError::new(r.explain(&text))
    }
}

/// Maps an SDK builder error (a required field missing) to an OpError.
pub fn bad<E2: std::fmt::Display>(what: &'static str) -> impl Fn(E2) -> OpError {
    move |e| OpError::new(format!("{what}: {e}"))
}

/// The strings of a JSON array input (an absent or non-array input: none).
/// Writes into a record's inputs a value AWS `reported`. One AWS left out
/// keeps the recorded (or planned) value, so the record still reads as its
/// kind's typed inputs.
pub fn observed<T: serde::Serialize>(
    inputs: &mut serde_json::Value,
    key: &str,
    reported: Option<T>,
) {
    if let Some(v) = reported {
        inputs[key] = serde_json::json!(v);
    }
}

pub fn json_strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The dependencies kinds need, by the kinds that fill them (see
/// `engine::needs`): declared by each kind's `needs`, checked when the graph
/// is built, looked up at apply with `the`, `maybe` or `ids`.
pub mod need {
    use crate::engine::Need;
    const SUBNET_KINDS: &[&str] = &[
        <super::ec2::SubnetInputs as crate::engine::Inputs>::KIND,
        super::ec2::EXISTING_SUBNET,
    ];
    const SG_KINDS: &[&str] = &[<super::ec2::SecurityGroupInputs as crate::engine::Inputs>::KIND];
    pub const VPC: Need = Need::one(
        "VPC",
        &[
            <crate::components::ec2::VpcInputs as crate::engine::Inputs>::KIND,
            super::ec2::EXISTING_VPC,
        ],
    );
    pub const SUBNET: Need = Need::one("subnet", SUBNET_KINDS);
    pub const SUBNETS: Need = Need::some("subnet", SUBNET_KINDS);
    pub const SECURITY_GROUPS: Need = Need::some("security group", SG_KINDS);
    pub const ROLE: Need = Need::one(
        "IAM role",
        &[<crate::components::iam::RoleInputs as crate::engine::Inputs>::KIND],
    );
    pub const INSTANCE: Need = Need::one(
        "instance",
        &[<crate::components::ec2::InstanceInputs as crate::engine::Inputs>::KIND],
    );
    pub const SECRET: Need = Need::one(
        "secret",
        &[<crate::components::secrets::SecretInputs as crate::engine::Inputs>::KIND],
    );
    pub const TOPIC: Need = Need::one(
        "SNS topic",
        &[<crate::components::sns::TopicInputs as crate::engine::Inputs>::KIND],
    );
}

/// Runs one of the SDK's own waiters (`wait(max)`) for at most the time
/// left before the stack's deadline; StopProvider ends it at once. The
/// waiter's failure states (a cluster that became FAILED) are errors.
pub async fn sdk_wait<T, Er, Fut>(
    env: &E,
    what: &str,
    wait: impl FnOnce(std::time::Duration) -> Fut,
) -> Result<T, OpError>
where
    Fut: std::future::Future<Output = Result<T, Er>>,
    Er: std::error::Error + Send + Sync + 'static,
{
    let left = env
        .deadline
        .saturating_duration_since(tokio::time::Instant::now());
    if left.is_zero() {
        return Err(OpError::new(format!(
            "timeout before waiting for {what}: {}",
            env.timeout_advice()
        )));
    }
    let mut cancel = env.cancel.clone();
    tokio::select! {
        r = wait(left) => r.map_err(|e| {
            // The SDK's waiter gives up with its own error at `max`: that is
            // the deadline, named as every other wait names it.
            if tokio::time::Instant::now() + std::time::Duration::from_secs(1) >= env.deadline {
                OpError::new(format!("timeout while waiting for {what}: {}", env.timeout_advice()))
            } else {
                OpError::new(format!("waiting for {what}: {}", aws_smithy_types::error::display::DisplayErrorContext(&e)))
            }
        }),
        _ = cancel.wait_for(|c| *c) => Err(OpError::new(format!("cancelled while waiting for {what}"))),
    }
}

/// Unit tests of kinds against aws-smithy-mocks: one service's client
/// answers from rules, the rest of the context never reaches a network.
#[cfg(test)]
pub mod mocked {
    use super::E;
    use crate::aws::AwsContext;
    use crate::engine::Env;
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::time::Instant;

    /// A service error with `code` (and the code as its message): what the
    /// kinds' error classifiers read.
    pub fn fault(code: &'static str) -> aws_smithy_types::error::ErrorMetadata {
        aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message(code)
            .build()
    }

    /// A service client whose calls are answered by `rules`, in order.
    macro_rules! client {
        ($krate:ident, $rules:expr) => {{
            let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new()
                .rule_mode(aws_smithy_mocks::RuleMode::Sequential);
            for rule in $rules {
                interceptor = interceptor.with_rule(rule);
            }
            $krate::Client::from_conf(
                $krate::config::Builder::from(&crate::aws::test_sdk_config())
                    .interceptor(interceptor)
                    .build(),
            )
        }};
    }
    pub(crate) use client;

    /// The environment of stack "s" with one service's client (the one the
    /// context's `$field()` returns, of crate `$krate`) answered by `rules`,
    /// a minute to finish.
    macro_rules! env_over {
        ($field:ident, $krate:ident, $rules:expr) => {{
            let mut ctx = crate::aws::AwsContext::for_tests();
            ctx.clients.$field =
                std::sync::OnceLock::from($crate::components::mocked::client!($krate, $rules));
            $crate::components::mocked::env(ctx, std::time::Duration::from_secs(60))
        }};
    }
    pub(crate) use env_over;

    /// The environment of stack "s" over `ctx`, with `within` to finish.
    pub fn env(ctx: AwsContext, within: Duration) -> E {
        let cancel = ctx.cancel.clone();
        Env::new(
            Arc::new(ctx),
            "s".into(),
            BTreeMap::new(),
            Instant::now() + within,
            cancel,
            1,
        )
    }
}
