//! `awsstack_run_command`: a shell command on a Docker host through SSM
//! Run Command.

use super::*;
use crate::schema::config::{read, FromBlock, Reader, Setting};

/// The calls this action makes, for the catalog and its IAM list.
pub(super) const CALLS: &[crate::engine::Call] = &[
    crate::engine::Call::read("ec2:DescribeInstances"),
    crate::engine::Call::settled("ssm:SendCommand"),
    crate::engine::Call::read("ssm:GetCommandInvocation"),
];

pub(super) fn action(shared: Arc<Shared>) -> Arc<dyn Action> {
    Arc::new(RunCommand {
        schema: run_command_schema(),
        shared,
    })
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
        let args: Arguments = read(&self.schema.block, config);
        if args.command.as_str().is_some_and(|c| c.trim().is_empty()) {
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
        let args: Arguments = read(&self.schema.block, &config);
        let command = args.command.value();
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

/// The action's arguments, typed (besides `stack_id`, which every action
/// reads alike).
pub(super) struct Arguments {
    command: Setting<String>,
}

impl FromBlock for Arguments {
    fn read(r: &Reader) -> Self {
        r.text("stack_id");
        Arguments {
            command: r.text("command"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
