//! Day-two actions on a stack (protocol 6.10, Terraform 1.14+): each is
//! configured by the stack's id (`stack_id = awsstack_container_service.app.id`),
//! finds the stack's objects by their names and its stack-id tag (an object
//! that does not carry the tag is never acted on), streams what it does,
//! and leaves the stack's state untouched, so the next plan is empty.
//!
//! - `awsstack_redeploy`: a new deployment of a container service's ECS
//!   service (same task definition, fresh tasks), waiting for the steady
//!   state with the circuit breaker's verdict.
//! - `awsstack_snapshot`: a snapshot of a Docker host's data volume (EBS)
//!   or a container service's database (RDS), tagged with the stack id and
//!   a description, waited for until complete.
//! - `awsstack_run_command`: a shell command on a Docker host through SSM
//!   Run Command, its output streamed, failing on a non-zero exit.
//! - `awsstack_run_task`: a one-off task of a container service (its
//!   migrations), its log lines streamed, failing on a non-zero exit.
//! - `awsstack_dr_drill`: a switchover of a platform's global database to
//!   the other region and back, after a pre-flight check, measured.

use crate::aws::{AwsContext, Shared};
use crate::components::ec2::DataVolume;
use crate::components::ecs::Service;
use crate::components::tagging::TagRef;
use crate::engine::{Env, OpError, TAG_COMPONENT, TAG_STACK_ID};
use crate::schema::{Attribute, Block, Diagnostic, Diagnostics, Schema};
use crate::tfplugin::{Action, Progress};
use crate::value::{Path, Type, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

mod dr_drill;
mod redeploy;
mod run_command;
mod run_task;
mod snapshot;

/// Every action of every stack.
pub fn all(shared: Arc<Shared>) -> Vec<Arc<dyn Action>> {
    vec![
        redeploy::action(shared.clone()),
        snapshot::action(shared.clone()),
        run_command::action(shared.clone()),
        run_task::action(shared.clone()),
        dr_drill::action(shared),
    ]
}

/// The AWS calls each action makes (by its type name): for the catalog
/// (`terraform-provider-awsstack catalog`) and each action's IAM list.
pub fn calls() -> Vec<(&'static str, &'static [crate::engine::Call])> {
    vec![
        ("awsstack_redeploy", redeploy::CALLS),
        ("awsstack_snapshot", snapshot::CALLS),
        ("awsstack_run_command", run_command::CALLS),
        ("awsstack_run_task", run_task::CALLS),
        ("awsstack_dr_drill", dr_drill::CALLS),
    ]
}

fn stack_id_attr(of: &'static str) -> Attribute {
    Attribute::required("stack_id", Type::String, of)
}

/// How long an action may run (the stack's default timeout).
const ACTION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The environment an action runs its waits in: the provider's context,
/// StopProvider, a deadline.
fn env(ctx: Arc<AwsContext>, stack_id: &str) -> Env<AwsContext> {
    let cancel = ctx.cancel.clone();
    Env::new(
        ctx,
        stack_id.to_string(),
        BTreeMap::new(),
        tokio::time::Instant::now() + ACTION_TIMEOUT,
        cancel,
        1,
    )
}

/// The stack id of an action's configuration (the check every stack-id
/// argument shares).
fn stack_id(config: &Value) -> Result<Option<String>, Diagnostics> {
    crate::stacks::stack_id_argument(config)
}

/// The stack an action acts on (its id, known) and the configured context.
fn target(shared: &Shared, config: &Value) -> Result<(String, Arc<AwsContext>), Diagnostics> {
    let id = stack_id(config)?
        .ok_or_else(|| error("Unknown stack id", "the stack id is not known yet"))?;
    Ok((id, shared.context()?))
}

/// `family:revision` of a task definition ARN.
fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn error(summary: &str, detail: impl Into<String>) -> Diagnostics {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::error(summary, detail).at(Path::attr("stack_id")));
    d
}

/// True when the object's tags name the stack `id`.
async fn carries(ctx: &AwsContext, r: &TagRef, id: &str) -> Result<bool, OpError> {
    crate::stacks::carries_stack_id(ctx, r, id).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_actions_arguments_agree_with_its_schema() {
        use crate::schema::config::agreement;
        let shared = Arc::new(Shared::default());
        let block = |a: Arc<dyn Action>| a.schema().block.clone();
        let checks = [
            agreement::<run_task::Arguments>(&block(run_task::action(shared.clone()))),
            agreement::<run_command::Arguments>(&block(run_command::action(shared.clone()))),
            agreement::<snapshot::Arguments>(&block(snapshot::action(shared.clone()))),
            agreement::<dr_drill::Arguments>(&block(dr_drill::action(shared.clone()))),
        ];
        for c in checks {
            assert_eq!(c, Ok(()));
        }
    }

    use super::*;

    #[test]
    fn a_bad_stack_id_or_description_is_refused_on_its_attribute() {
        let shared = Arc::new(Shared::default());
        let actions = all(shared);
        let config = |id: &str, desc: Option<&str>| {
            let mut m = BTreeMap::from([("stack_id".to_string(), Value::str(id))]);
            m.insert(
                "description".to_string(),
                desc.map(Value::str).unwrap_or(Value::Null),
            );
            Value::Object(m)
        };
        for a in &actions {
            let d = a.validate(&config("Kavak Agent", None));
            assert!(
                d.has_errors() && d.0[0].path == Some(Path::attr("stack_id")),
                "{}: {d:?}",
                a.type_name()
            );
            assert!(!a.validate(&config("kavak-agent-dev", None)).has_errors());
        }
        let mut blank = BTreeMap::from([("stack_id".to_string(), Value::str("harena-dev"))]);
        blank.insert("command".to_string(), Value::str("  "));
        let d = actions[2].validate(&Value::Object(blank));
        assert!(
            d.0.iter().any(|d| d.path == Some(Path::attr("command"))),
            "{d:?}"
        );
        let long = "x".repeat(256);
        let d = actions[1].validate(&config("kauri-demo", Some(&long)));
        assert!(
            d.has_errors() && d.0[0].path == Some(Path::attr("description")),
            "{d:?}"
        );
    }
}
