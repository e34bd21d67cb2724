//! `awsstack_run_task`: a one-off task of a container service (Kavak's
//! `aws ecs run-task` for its migrations): the service's own task
//! definition (so its image, secrets and role), in the service's private
//! subnets with its security group, with a command override and extra
//! environment; its CloudWatch log lines streamed while it runs, a
//! non-zero exit an error with the exit code and the last lines.

use super::*;
use crate::schema::config::{read, FromBlock, Reader, Setting};
use aws_sdk_ecs::types::{ContainerOverride, KeyValuePair, LaunchType, TaskOverride};

pub(super) fn action(shared: Arc<Shared>) -> Arc<dyn Action> {
    Arc::new(RunTask {
        schema: run_task_schema(),
        shared,
    })
}

fn run_task_schema() -> Schema {
    Schema {
        version: 0,
        block: Block {
            description: "A one-off task of a container service (`aws ecs run-task` in the runbooks: migrations, a management command): the service's task definition (image, secrets, roles), its private subnets and security group, a command override and extra environment. Waits for the task to stop, streams its CloudWatch log lines, and fails with the exit code and the last lines when the container exits non-zero. With `lifecycle { action_trigger { events = [after_update] } }` on the stack, it runs after each deploy.",
            attributes: vec![
                stack_id_attr("The container service's stack id (`awsstack_container_service.<name>.id`)."),
                Attribute::optional("command", Type::list(Type::String), "The container's command for this run (`[\"python\", \"manage.py\", \"migrate\"]`); the image's own command when unset."),
                Attribute::optional("environment", Type::map(Type::String), "Environment variables added to the task definition's for this run."),
                Attribute::optional("timeout_minutes", Type::Number, "How long the task may run before the action fails (it is then stopped): 30 minutes by default, at most 1440."),
            ],
            blocks: vec![],
        },
    }
}

pub struct RunTask {
    schema: Schema,
    shared: Arc<Shared>,
}

/// The container every task definition of a container service runs.
const CONTAINER: &str = "app";

/// An ECS task's lifecycle: the states it passes through before STOPPED.
/// (The SDK's `tasks_stopped` waiter backs off to ten minutes between
/// looks; the run's log lines are read at each look, so this one keeps to
/// a few seconds.)
const TASK_STOPPED: crate::engine::Waiter = crate::engine::Waiter::new(
    "to stop",
    &[
        "PROVISIONING",
        "PENDING",
        "ACTIVATING",
        "RUNNING",
        "DEACTIVATING",
        "STOPPING",
        "DEPROVISIONING",
        crate::engine::GONE,
    ],
    &["STOPPED"],
)
.poll(Duration::from_secs(3));

/// The calls this action makes, for the catalog and the IAM list.
pub(super) const CALLS: &[crate::engine::Call] = &[
    crate::engine::Call::read("ecs:DescribeServices"),
    crate::engine::Call::read("ecs:DescribeTaskDefinition"),
    crate::engine::Call::settled("ecs:RunTask"),
    crate::engine::Call::read("ecs:DescribeTasks"),
    crate::engine::Call::settled("ecs:StopTask"),
    crate::engine::Call::read("logs:GetLogEvents"),
    crate::engine::Call::read("ecs:ListTagsForResource"),
];

/// How a stopped task ended: Ok, or why it failed with what it last wrote.
fn verdict(exit_code: Option<i32>, stop_reason: &str, lines: &[String]) -> Result<(), String> {
    let last = || lines[lines.len().saturating_sub(10)..].join("\n");
    match exit_code {
        Some(0) => Ok(()),
        Some(code) => Err(format!(
            "the container exited with code {code}; its last lines:\n{}",
            last()
        )),
        None => Err(format!(
            "the task stopped before its container exited: {stop_reason}{}",
            if lines.is_empty() {
                String::new()
            } else {
                format!("; its last lines:\n{}", last())
            }
        )),
    }
}

/// The action's arguments, typed (besides `stack_id`, which every action
/// reads alike).
pub(super) struct Arguments {
    command: Setting<Vec<Setting<String>>>,
    environment: Setting<std::collections::BTreeMap<String, Setting<String>>>,
    timeout_minutes: Setting<f64>,
}

impl FromBlock for Arguments {
    fn read(r: &Reader) -> Self {
        r.text("stack_id");
        Arguments {
            command: r.texts("command"),
            environment: r.text_map("environment"),
            timeout_minutes: r.number("timeout_minutes"),
        }
    }
}

impl Arguments {
    fn timeout(&self) -> Duration {
        let minutes = self.timeout_minutes.known().copied().unwrap_or(30.0);
        Duration::from_secs((minutes * 60.0) as u64)
    }
}

/// Where the awslogs driver writes a task's lines: the group of the task
/// definition's container and `<prefix>/<container>/<task id>`.
fn log_stream(
    def: &aws_sdk_ecs::types::TaskDefinition,
    task_arn: &str,
) -> Option<(String, String)> {
    let container = def
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(CONTAINER))?;
    let options = container.log_configuration()?.options()?;
    let group = options.get("awslogs-group")?.clone();
    let prefix = options.get("awslogs-stream-prefix")?;
    let task_id = task_arn.rsplit('/').next()?;
    Some((group, format!("{prefix}/{CONTAINER}/{task_id}")))
}

/// Reads the lines written since the last read (`token`), oldest first.
/// A stream not created yet (the task has not started) has no lines.
async fn new_lines(
    ctx: &AwsContext,
    stream: &(String, String),
    token: &mut Option<String>,
) -> Result<Vec<String>, OpError> {
    let mut lines = vec![];
    loop {
        let page = ctx
            .logs()
            .get_log_events()
            .log_group_name(&stream.0)
            .log_stream_name(&stream.1)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) if crate::aws::code_in(&e, &["ResourceNotFoundException"]) => return Ok(lines),
            Err(e) => {
                return Err(OpError::new(format!(
                    "GetLogEvents {}: {}",
                    stream.1,
                    crate::aws::error_text(&e)
                )))
            }
        };
        let before = lines.len();
        lines.extend(
            page.events()
                .iter()
                .filter_map(|e| e.message().map(|m| m.trim_end().to_string())),
        );
        // The same token back means the end of what is written so far.
        let next = page.next_forward_token().map(str::to_string);
        let end = next == *token || lines.len() == before;
        *token = next;
        if end {
            return Ok(lines);
        }
    }
}

#[tonic::async_trait]
impl Action for RunTask {
    fn type_name(&self) -> &'static str {
        "awsstack_run_task"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = stack_id(config).err().unwrap_or_default();
        let args: Arguments = read(&self.schema.block, config);
        if args.command.known().is_some_and(Vec::is_empty) {
            d.error_at(
                Path::attr("command"),
                "Empty command",
                "the command is an empty list: leave it unset to run the image's own command",
            );
        }
        for (name, _) in args.environment.entries() {
            let ok = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                d.error_at(
                    Path::attr("environment").then_key(name),
                    "Invalid environment variable name",
                    format!("{name:?} is not an environment variable name: letters, digits and underscores, not starting with a digit"),
                );
            }
        }
        if let Some(&m) = args.timeout_minutes.known() {
            if m.fract() != 0.0 || !(1.0..=1440.0).contains(&m) {
                d.error_at(
                    Path::attr("timeout_minutes"),
                    "Invalid timeout",
                    format!("{m} is not a whole number of minutes from 1 to 1440"),
                );
            }
        }
        d
    }
    async fn invoke(&self, config: Value, progress: Progress) -> Diagnostics {
        let (id, ctx) = match target(&self.shared, &config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let args: Arguments = read(&self.schema.block, &config);
        let mut env = env(ctx.clone(), &id);
        env.deadline = tokio::time::Instant::now() + args.timeout();
        let (cluster, name) = (format!("{id}-cluster"), format!("{id}-app"));
        let service = match Service::describe(&env, &cluster, &name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return error(
                    "No such container service",
                    format!("no awsstack_container_service stack {id:?} in {}: its ECS service {name} does not exist in the cluster {cluster}", ctx.region),
                )
            }
            Err(e) => return error("Cannot run the task", e.message),
        };
        match carries(&ctx, &TagRef::Ecs(service.service_arn().unwrap_or_default().into()), &id).await {
            Ok(true) => {}
            Ok(false) => {
                return error(
                    "Not the stack's service",
                    format!("the ECS service {name} does not carry the stack id {id:?} in {TAG_STACK_ID}: awsstack acts only on what a stack created"),
                )
            }
            Err(e) => return error("Cannot run the task", e.message),
        }
        let task_definition = service.task_definition().unwrap_or_default().to_string();
        let def = match ctx
            .ecs()
            .describe_task_definition()
            .task_definition(&task_definition)
            .send()
            .await
        {
            Ok(o) => o.task_definition,
            Err(e) => {
                return error(
                    "Cannot run the task",
                    format!(
                        "DescribeTaskDefinition {task_definition}: {}",
                        crate::aws::error_text(&e)
                    ),
                )
            }
        };
        let mut container = ContainerOverride::builder().name(CONTAINER);
        let words = args.command.strings();
        if !words.is_empty() {
            container = container.set_command(Some(words.clone()));
        }
        for (k, v) in args.environment.entries() {
            container =
                container.environment(KeyValuePair::builder().name(k).value(v.text()).build());
        }
        let what = match words.as_slice() {
            [] => "the image's command".to_string(),
            words => words.join(" "),
        };
        progress
            .say(format!(
                "running {what} as a one-off task of {} in {cluster}",
                short(&task_definition)
            ))
            .await;
        let ran = ctx
            .ecs()
            .run_task()
            .cluster(&cluster)
            .task_definition(&task_definition)
            .launch_type(LaunchType::Fargate)
            .set_network_configuration(service.network_configuration().cloned())
            .overrides(
                TaskOverride::builder()
                    .container_overrides(container.build())
                    .build(),
            )
            .started_by("awsstack_run_task")
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(TAG_STACK_ID)
                    .value(&id)
                    .build(),
            )
            .send()
            .await;
        let task_arn = match ran {
            Ok(o) => match (o.tasks().first(), o.failures().first()) {
                (Some(t), _) => t.task_arn().unwrap_or_default().to_string(),
                (None, Some(f)) => {
                    return error(
                        "The task did not start",
                        format!(
                            "RunTask: {} {}",
                            f.reason().unwrap_or("failed"),
                            f.detail().unwrap_or_default()
                        ),
                    )
                }
                (None, None) => return error("The task did not start", "RunTask answered no task"),
            },
            Err(e) => {
                return error(
                    "Cannot run the task",
                    format!("RunTask: {}", crate::aws::error_text(&e)),
                )
            }
        };
        let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
        progress
            .say(format!("task {task_id} started; its lines follow"))
            .await;
        let stream = def.as_ref().and_then(|d| log_stream(d, &task_arn));
        let token = tokio::sync::Mutex::new(None::<String>);
        let lines = tokio::sync::Mutex::new(Vec::<String>::new());
        // Reads and streams what the task wrote since the last look.
        let follow = || async {
            let Some(stream) = &stream else { return Ok(()) };
            let fresh = new_lines(&ctx, stream, &mut *token.lock().await).await?;
            for line in &fresh {
                progress.say(line.clone()).await;
            }
            lines.lock().await.extend(fresh);
            Ok::<(), OpError>(())
        };
        let stopped = env
            .wait(&TASK_STOPPED, &format!("task {task_id}"), || async {
                follow().await?;
                let o = ctx
                    .ecs()
                    .describe_tasks()
                    .cluster(&cluster)
                    .tasks(&task_arn)
                    .send()
                    .await
                    .map_err(|e| {
                        OpError::new(format!("DescribeTasks: {}", crate::aws::error_text(&e)))
                    })?;
                Ok(o.tasks()
                    .first()
                    .map(|t| (t.last_status().unwrap_or("PENDING").to_string(), t.clone())))
            })
            .await;
        let task = match stopped {
            Ok(Some(t)) => t,
            Ok(None) => return error("Task lost", format!("the task {task_id} disappeared")),
            Err(e) => {
                // Timed out or interrupted: the task must not run on unseen.
                let _ = ctx
                    .ecs()
                    .stop_task()
                    .cluster(&cluster)
                    .task(&task_arn)
                    .reason("awsstack_run_task ended before the task")
                    .send()
                    .await;
                return error(
                    "Task failed",
                    format!("{} (the task {task_id} was stopped)", e.message),
                );
            }
        };
        // The lines written between the last look and the stop.
        if let Err(e) = follow().await {
            progress
                .say(format!("(last log lines unread: {})", e.message))
                .await;
        }
        let exit_code = task
            .containers()
            .iter()
            .find(|c| c.name() == Some(CONTAINER))
            .and_then(|c| c.exit_code());
        let reason = task
            .stopped_reason()
            .unwrap_or("no reason given")
            .to_string();
        let lines = lines.into_inner();
        match verdict(exit_code, &reason, &lines) {
            Ok(()) => {
                progress.say(format!("task {task_id} exited 0")).await;
                Diagnostics::default()
            }
            Err(e) => error("Task failed", format!("task {task_id}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_code_other_than_zero_or_none_fails_with_the_last_lines() {
        let lines: Vec<String> = (1..=12).map(|i| format!("migration {i}")).collect();
        assert_eq!(
            verdict(Some(0), "Essential container in task exited", &lines),
            Ok(())
        );
        let e = verdict(Some(2), "Essential container in task exited", &lines).unwrap_err();
        assert!(
            e.contains("code 2")
                && e.contains("migration 12")
                && e.contains("migration 3")
                && !e.contains("migration 2\n"),
            "{e}"
        );
        let e = verdict(None, "CannotPullContainerError: image not found", &[]).unwrap_err();
        assert!(
            e.contains("before its container exited: CannotPullContainerError"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_command_environment_or_timeout_is_refused_on_its_attribute() {
        let action = action(Arc::new(Shared::default()));
        let config = |extra: &[(&str, Value)]| {
            let mut m = BTreeMap::from([("stack_id".to_string(), Value::str("kavak-agent-dev"))]);
            for (k, v) in extra {
                m.insert(k.to_string(), v.clone());
            }
            Value::Object(m)
        };
        assert!(!action
            .validate(&config(&[(
                "command",
                Value::string_list(["alembic", "upgrade", "head"])
            )]))
            .has_errors());
        let d = action.validate(&config(&[("command", Value::List(vec![]))]));
        assert_eq!(d.0[0].path, Some(Path::attr("command")), "{d:?}");
        let env = Value::Map(BTreeMap::from([("1BAD".to_string(), Value::str("x"))]));
        let d = action.validate(&config(&[("environment", env)]));
        assert_eq!(
            d.0[0].path,
            Some(Path::attr("environment").then_key("1BAD")),
            "{d:?}"
        );
        let d = action.validate(&config(&[("timeout_minutes", Value::Number(0.5))]));
        assert_eq!(d.0[0].path, Some(Path::attr("timeout_minutes")), "{d:?}");
    }
}
