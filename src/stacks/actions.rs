//! Day-two actions on a stack (protocol 6.10, Terraform 1.14+): each is
//! configured by the stack's id (`stack_id = awsstack_container_service.app.id`),
//! finds the stack's objects by their names and its stack-id tag (an object
//! that does not carry the tag is never acted on), streams what it does,
//! and leaves the stack's state untouched, so the next plan is empty.
//!
//! - `awsstack_redeploy`: a new deployment of a container service's ECS
//!   service (same task definition, fresh tasks), waiting for the steady
//!   state with the circuit breaker's verdict.
//! - `awsstack_snapshot`: an EBS snapshot of a Docker host's data volume,
//!   tagged with the stack id and a description, waited for until complete.
//! - `awsstack_run_command`: a shell command on a Docker host through SSM
//!   Run Command, its output streamed, failing on a non-zero exit.

use crate::aws::{AwsContext, Shared};
use crate::components::ec2::DataVolume;
use crate::components::ecs::Service;
use crate::components::tagging::TagRef;
use crate::engine::{Cloud, Env, OpError, TAG_COMPONENT, TAG_STACK_ID};
use crate::schema::{Attribute, Block, Diagnostic, Diagnostics, Schema};
use crate::tfplugin::{Action, Progress};
use crate::value::{Path, Type, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Every action of every stack.
pub fn all(shared: Arc<Shared>) -> Vec<Arc<dyn Action>> {
    vec![
        Arc::new(Redeploy {
            schema: redeploy_schema(),
            shared: shared.clone(),
        }),
        Arc::new(Snapshot {
            schema: snapshot_schema(),
            shared: shared.clone(),
        }),
        Arc::new(RunCommand {
            schema: run_command_schema(),
            shared,
        }),
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

/// The stack id of an action's configuration, checked as a stack id
/// (`<project>-<environment>`: lowercase letters, digits, hyphens).
fn stack_id(config: &Value) -> Result<Option<String>, Diagnostics> {
    let v = config.get("stack_id");
    if v.is_unknown() {
        return Ok(None);
    }
    let id = v.as_str().unwrap_or_default();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-');
    if ok {
        Ok(Some(id.to_string()))
    } else {
        let mut d = Diagnostics::default();
        d.error_at(
            Path::attr("stack_id"),
            "Invalid stack id",
            format!("{id:?} is not a stack id: lowercase letters, digits and hyphens, as a stack's `id` attribute holds"),
        );
        Err(d)
    }
}

/// The stack an action acts on (its id, known) and the configured context.
fn target(shared: &Shared, config: &Value) -> Result<(String, Arc<AwsContext>), Diagnostics> {
    let id = stack_id(config)?
        .ok_or_else(|| error("Unknown stack id", "the stack id is not known yet"))?;
    Ok((id, shared.context()?))
}

fn error(summary: &str, detail: impl Into<String>) -> Diagnostics {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::error(summary, detail).at(Path::attr("stack_id")));
    d
}

/// True when the object's tags name the stack `id`.
async fn carries(ctx: &AwsContext, r: &TagRef, id: &str) -> Result<bool, OpError> {
    Ok(ctx
        .read_tags(r)
        .await?
        .and_then(|t| t.get(TAG_STACK_ID).cloned())
        .as_deref()
        == Some(id))
}

fn redeploy_schema() -> Schema {
    Schema {
        version: 0,
        block: Block {
            description: "A new deployment of a container service's ECS service: same task definition, fresh tasks, waiting for the steady state (the circuit breaker's verdict fails the action).",
            attributes: vec![stack_id_attr("The container service's stack id (`awsstack_container_service.<name>.id`).")],
            blocks: vec![],
        },
    }
}

pub struct Redeploy {
    schema: Schema,
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Action for Redeploy {
    fn type_name(&self) -> &'static str {
        "awsstack_redeploy"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        stack_id(config).err().unwrap_or_default()
    }
    async fn invoke(&self, config: Value, progress: Progress) -> Diagnostics {
        let (id, ctx) = match target(&self.shared, &config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let env = env(ctx.clone(), &id);
        let (cluster, name) = (format!("{id}-cluster"), format!("{id}-app"));
        let service = match Service::describe(&env, &cluster, &name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return error(
                    "No such container service",
                    format!("no awsstack_container_service stack {id:?} in {}: its ECS service {name} does not exist in the cluster {cluster}", ctx.region),
                )
            }
            Err(e) => return error("Cannot redeploy", e.message),
        };
        let arn = service.service_arn().unwrap_or_default().to_string();
        match carries(&ctx, &TagRef::Ecs(arn), &id).await {
            Ok(true) => {}
            Ok(false) => {
                return error(
                    "Not the stack's service",
                    format!("the ECS service {name} does not carry the stack id {id:?} in {TAG_STACK_ID}: awsstack acts only on what a stack created"),
                )
            }
            Err(e) => return error("Cannot redeploy", e.message),
        }
        let task = service.task_definition().unwrap_or_default().to_string();
        progress
            .say(format!(
                "starting a new deployment of ECS service {name} ({} tasks of {})",
                service.desired_count(),
                short(&task)
            ))
            .await;
        if let Err(e) = ctx
            .ecs()
            .update_service()
            .cluster(&cluster)
            .service(&name)
            .force_new_deployment(true)
            .send()
            .await
        {
            return error(
                "Cannot redeploy",
                format!("UpdateService {name}: {}", crate::aws::error_text(&e)),
            );
        }
        progress
            .say(format!(
                "waiting for {name} to be stable (one deployment, every task running)"
            ))
            .await;
        match Service::wait_stable(&env, &cluster, &name, &task).await {
            Ok(s) => {
                progress
                    .say(format!(
                        "{name} is stable: {}/{} tasks of {} running",
                        s.running_count(),
                        s.desired_count(),
                        short(&task)
                    ))
                    .await;
                Diagnostics::default()
            }
            Err(e) => error("Redeploy failed", e.message),
        }
    }
}

/// `family:revision` of a task definition ARN.
fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn snapshot_schema() -> Schema {
    Schema {
        version: 0,
        block: Block {
            description: "A snapshot on demand of a Docker host's data volume, tagged with the stack id and a description, waited for until complete. The snapshot is kept: the stack's destroy does not delete it.",
            attributes: vec![
                stack_id_attr("The Docker host's stack id (`awsstack_docker_host.<name>.id`)."),
                Attribute::optional("description", Type::String, "The snapshot's description (\"on-demand snapshot\" by default)."),
            ],
            blocks: vec![],
        },
    }
}

pub struct Snapshot {
    schema: Schema,
    shared: Arc<Shared>,
}

/// The data volume's component key in a Docker host.
const DATA_VOLUME: &str = "volume.data";

#[tonic::async_trait]
impl Action for Snapshot {
    fn type_name(&self) -> &'static str {
        "awsstack_snapshot"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = stack_id(config).err().unwrap_or_default();
        if let Some(desc) = config.get("description").as_str() {
            if desc.len() > 255 {
                d.error_at(Path::attr("description"), "Description too long", format!("an EBS snapshot's description holds at most 255 characters, this one has {}", desc.len()));
            }
        }
        d
    }
    async fn invoke(&self, config: Value, progress: Progress) -> Diagnostics {
        let (id, ctx) = match target(&self.shared, &config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let ec2 = ctx.ec2();
        let filter = |k: &str, v: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{k}"))
                .values(v)
                .build()
        };
        let volumes = match ec2
            .describe_volumes()
            .filters(filter(TAG_STACK_ID, &id))
            .filters(filter(TAG_COMPONENT, DATA_VOLUME))
            .send()
            .await
        {
            Ok(o) => o
                .volumes()
                .iter()
                .filter_map(|v| v.volume_id().map(str::to_string))
                .collect::<Vec<_>>(),
            Err(e) => {
                return error(
                    "Cannot snapshot",
                    format!("DescribeVolumes: {}", crate::aws::error_text(&e)),
                )
            }
        };
        let [volume] = volumes.as_slice() else {
            return error(
                "No such Docker host",
                format!("no awsstack_docker_host stack {id:?} in {}: no data volume carries its stack id", ctx.region),
            );
        };
        let description = config
            .get("description")
            .as_str()
            .unwrap_or("on-demand snapshot")
            .to_string();
        let env = env(ctx.clone(), &id);
        let mut tags = env.tags_for("volume.data.snapshot");
        tags.insert("awsstack:snapshot-of".to_string(), volume.clone());
        progress
            .say(format!("snapshotting the data volume {volume} of {id}"))
            .await;
        let description = format!("awsstack {id}: {description}");
        let snapshot = match DataVolume::start_snapshot(&env, volume, tags, &description).await {
            Ok(s) => s,
            Err(e) => return error("Cannot snapshot", e.message),
        };
        progress
            .say(format!("waiting for snapshot {snapshot} to complete"))
            .await;
        match DataVolume::wait_snapshot(&env, &snapshot, "snapshot").await {
            Ok(()) => {
                progress.say(format!("snapshot {snapshot} of {volume} is complete (tagged {TAG_STACK_ID}={id}; kept after a destroy)")).await;
                Diagnostics::default()
            }
            Err(e) => error(
                "Snapshot failed",
                format!("{} (snapshot {snapshot} was started)", e.message),
            ),
        }
    }
}

fn run_command_schema() -> Schema {
    Schema {
        version: 0,
        block: Block {
            description: "A shell command on a Docker host through SSM Run Command (`aws ssm send-command` / `get-command-invocation` in the runbooks): its output streamed, a non-zero exit an error with the exit code and the last lines.",
            attributes: vec![
                stack_id_attr("The Docker host's stack id (`awsstack_docker_host.<name>.id`)."),
                Attribute::required("command", Type::String, "The shell command, run as root by the SSM agent (`AWS-RunShellScript`)."),
            ],
            blocks: vec![],
        },
    }
}

pub struct RunCommand {
    schema: Schema,
    shared: Arc<Shared>,
}

/// States of a command invocation: the ones that end the wait, and the
/// ones it goes on through (GONE: not yet visible to GetCommandInvocation).
const INVOCATION_DONE: crate::engine::Waiter = crate::engine::Waiter::new(
    "to finish",
    &["Pending", "InProgress", "Delayed", crate::engine::GONE],
    &["Success", "Failed", "Cancelled", "TimedOut", "Cancelling"],
)
.poll(Duration::from_secs(2));

/// The verdict on a finished invocation: Ok, or the exit code and the
/// last lines of what the command wrote.
fn verdict(status: &str, code: i32, stdout: &str, stderr: &str) -> Result<(), String> {
    if status == "Success" && code == 0 {
        return Ok(());
    }
    let tail = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    };
    let last = if stderr.trim().is_empty() {
        tail(stdout)
    } else {
        tail(stderr)
    };
    Err(format!(
        "the command ended {status} with exit code {code}; its last lines:\n{last}"
    ))
}

#[tonic::async_trait]
impl Action for RunCommand {
    fn type_name(&self) -> &'static str {
        "awsstack_run_command"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = stack_id(config).err().unwrap_or_default();
        if config
            .get("command")
            .as_str()
            .is_some_and(|c| c.trim().is_empty())
        {
            d.error_at(
                Path::attr("command"),
                "Empty command",
                "the command to run is empty",
            );
        }
        d
    }
    async fn invoke(&self, config: Value, progress: Progress) -> Diagnostics {
        let (id, ctx) = match target(&self.shared, &config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let command = config
            .get("command")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let filter = |k: String, v: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(k)
                .values(v)
                .build()
        };
        let found = ctx
            .ec2()
            .describe_instances()
            .filters(filter(format!("tag:{TAG_STACK_ID}"), &id))
            .filters(filter(format!("tag:{TAG_COMPONENT}"), "instance"))
            .filters(filter("instance-state-name".to_string(), "running"))
            .send()
            .await;
        let instances: Vec<String> = match found {
            Ok(o) => o
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .filter_map(|i| i.instance_id().map(str::to_string))
                .collect(),
            Err(e) => {
                return error(
                    "Cannot run the command",
                    format!("DescribeInstances: {}", crate::aws::error_text(&e)),
                )
            }
        };
        let [instance] = instances.as_slice() else {
            return error(
                "No such Docker host",
                format!("no running awsstack_docker_host instance of stack {id:?} in {} (a host stopped outside its schedule must be started first)", ctx.region),
            );
        };
        progress
            .say(format!("running on {instance} ({id}) through SSM"))
            .await;
        let ssm = ctx.ssm();
        let sent = ssm
            .send_command()
            .instance_ids(instance)
            .document_name("AWS-RunShellScript")
            .parameters("commands", vec![command])
            .comment(format!("awsstack {id}: awsstack_run_command"))
            .send()
            .await;
        let command_id = match sent {
            Ok(o) => o
                .command()
                .and_then(|c| c.command_id())
                .unwrap_or_default()
                .to_string(),
            Err(e) => {
                return error(
                    "Cannot run the command",
                    format!("SendCommand: {}", crate::aws::error_text(&e)),
                )
            }
        };
        let env = env(ctx.clone(), &id);
        let waited = env
            .wait(
                &INVOCATION_DONE,
                &format!("command {command_id} on {instance}"),
                || async {
                    match ssm
                        .get_command_invocation()
                        .command_id(&command_id)
                        .instance_id(instance)
                        .send()
                        .await
                    {
                        Ok(o) => Ok(Some((
                            o.status()
                                .map(|s| s.as_str())
                                .unwrap_or("Pending")
                                .to_string(),
                            (
                                o.status()
                                    .map(|s| s.as_str().to_string())
                                    .unwrap_or_default(),
                                o.response_code(),
                                o.standard_output_content().unwrap_or_default().to_string(),
                                o.standard_error_content().unwrap_or_default().to_string(),
                            ),
                        ))),
                        Err(e) if crate::aws::code_in(&e, &["InvocationDoesNotExist"]) => Ok(None),
                        Err(e) => Err(OpError::new(format!(
                            "GetCommandInvocation: {}",
                            crate::aws::error_text(&e)
                        ))),
                    }
                },
            )
            .await;
        let (status, code, stdout, stderr) = match waited {
            Ok(Some(v)) => v,
            Ok(None) => {
                return error(
                    "Command lost",
                    format!("the invocation of {command_id} on {instance} disappeared"),
                )
            }
            Err(e) => return error("Command failed", e.message),
        };
        for line in stdout.lines() {
            progress.say(line.to_string()).await;
        }
        match verdict(&status, code, &stdout, &stderr) {
            Ok(()) => {
                progress
                    .say(format!("command {command_id} on {instance} exited 0"))
                    .await;
                Diagnostics::default()
            }
            Err(e) => error("Command failed", e),
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn a_non_zero_exit_is_an_error_with_the_code_and_the_last_lines() {
        assert_eq!(verdict("Success", 0, "migrated\n", ""), Ok(()));
        let out: String = (1..=15).map(|i| format!("line {i}\n")).collect();
        let e = verdict("Failed", 3, &out, "").unwrap_err();
        assert!(
            e.contains("exit code 3")
                && e.contains("line 15")
                && e.contains("line 6")
                && !e.contains("line 5\n"),
            "{e}"
        );
        let e = verdict("Failed", 1, "ok so far", "psql: connection refused").unwrap_err();
        assert!(e.ends_with("psql: connection refused"), "{e}");
    }
}
