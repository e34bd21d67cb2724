//! Task definition.

use super::*;
use crate::engine::{Inputs, Template};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Fargate task definition with one essential container `app`. The
/// execution and task roles fill the slots `execution_role` and
/// `task_role`. Every change registers a new revision (a replacement:
/// task definitions are immutable).
pub struct TaskDefinition;

/// hashicorp/aws ecs/task_definition.go retries none of these: ECS checks
/// the roles' ARNs, not whether they can be assumed yet (the service's
/// tasks are what assume them, and their start is retried by ECS).
const CALLS: &[Call] = &[
    Call::settled("ecs:RegisterTaskDefinition"),
    Call::read("ecs:DescribeTaskDefinition"),
    Call::settled("ecs:DeregisterTaskDefinition"),
];

/// What a task definition is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskDefinitionInputs {
    pub family: String,
    /// Fargate CPU units and memory (MiB).
    pub cpu: i64,
    pub memory: i64,
    /// The container image (a repository's `url` reference allowed).
    pub image: Template,
    /// The port the container listens on.
    pub port: i64,
    /// Environment variables (references allowed: a cache's address).
    #[serde(default)]
    pub environment: BTreeMap<String, Template>,
    /// Variables read from Secrets Manager: name → `valueFrom`.
    #[serde(default)]
    pub secrets: BTreeMap<String, Template>,
    pub log_group: String,
    /// `X86_64` or `ARM64`.
    pub architecture: String,
}

impl Inputs for TaskDefinitionInputs {
    const KIND: &'static str = "ecs_task_definition";
}

/// The role ECS uses to pull the image, read the secrets and write logs.
const EXECUTION_ROLE: Need = crate::components::need::ROLE.in_slot("execution_role");
/// The role the application's code acts as.
const TASK_ROLE: Need = crate::components::need::ROLE.in_slot("task_role");

impl TaskDefinition {
    fn container(
        task: &TaskDefinitionInputs,
        deps: &Records,
        region: &str,
    ) -> Result<ContainerDefinition, OpError> {
        let mut env_vars: Vec<KeyValuePair> = vec![];
        for (k, v) in &task.environment {
            env_vars.push(
                KeyValuePair::builder()
                    .name(k)
                    .value(v.render(deps)?)
                    .build(),
            );
        }
        let mut secrets: Vec<EcsSecret> = vec![];
        for (k, v) in &task.secrets {
            secrets.push(
                EcsSecret::builder()
                    .name(k)
                    .value_from(v.render(deps)?)
                    .build()
                    .map_err(crate::components::bad("container secret"))?,
            );
        }
        let logs = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", &task.log_group)
            .options("awslogs-region", region)
            .options("awslogs-stream-prefix", "app")
            .build()
            .map_err(crate::components::bad("log configuration"))?;
        Ok(ContainerDefinition::builder()
            .name("app")
            .image(task.image.render(deps)?)
            .essential(true)
            .port_mappings(
                PortMapping::builder()
                    .container_port(task.port as i32)
                    .protocol(TransportProtocol::Tcp)
                    .build(),
            )
            .set_environment(Some(env_vars))
            .set_secrets(Some(secrets))
            .log_configuration(logs)
            .build())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for TaskDefinition {
    crate::engine::typed_kind!(TaskDefinitionInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [Need] {
        &[EXECUTION_ROLE, TASK_ROLE]
    }
    /// Records written before the roles were slots (private state version
    /// 1) name them in their dependencies only: the slots' inputs are
    /// filled from there, so that the upgrade plans nothing.
    fn upgrade(&self, rec: &mut Record) {
        for (slot, key) in [
            ("execution_role", "role.execution"),
            ("task_role", "role.task"),
        ] {
            if rec.inputs.get(slot).is_none() && rec.deps.iter().any(|d| d == key) {
                rec.inputs[slot] = json!(key);
            }
        }
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ecs(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &[
            "family",
            "cpu",
            "memory",
            "image",
            "port",
            "environment",
            "secrets",
            "log_group",
            "architecture",
        ]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{CpuArchitecture, OsFamily, RuntimePlatform};
        let task: TaskDefinitionInputs = spec.typed()?;
        let arch = if task.architecture == "ARM64" {
            CpuArchitecture::Arm64
        } else {
            CpuArchitecture::X8664
        };
        let o = env
            .ctx
            .ecs()
            .register_task_definition()
            .family(&task.family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(task.cpu.to_string())
            .memory(task.memory.to_string())
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(arch)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .execution_role_arn(EXECUTION_ROLE.the_in(spec, deps)?.out("arn"))
            .task_role_arn(TASK_ROLE.the_in(spec, deps)?.out("arn"))
            .container_definitions(Self::container(&task, deps, &env.ctx.region)?)
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("RegisterTaskDefinition"))?;
        let arn = o
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .unwrap_or_default();
        Ok(Record::new(self.name(), arn, spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .ecs()
            .describe_task_definition()
            .task_definition(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .task_definition()
                .filter(|t| t.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active))
                .map(|_| rec.clone())),
            Err(e) if task_definition_missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeTaskDefinition")(e)),
        }
    }
    async fn update(
        &self,
        _: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // A service still running it keeps running (the revision becomes
        // INACTIVE) until it is moved to the new one.
        match env
            .ctx
            .ecs()
            .deregister_task_definition()
            .task_definition(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if task_definition_missing(&e) => Ok(()),
            Err(e) => Err(op("DeregisterTaskDefinition")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        // The latest active revision of the family, if it is tagged as ours.
        let task: TaskDefinitionInputs = spec.typed()?;
        match env
            .ctx
            .ecs()
            .describe_task_definition()
            .task_definition(&task.family)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
        {
            Ok(o) => {
                let ours = o.tags().iter().any(|t| {
                    t.key() == Some(crate::engine::TAG_STACK_ID)
                        && t.value() == Some(env.stack_id.as_str())
                });
                // Only an active revision that matches what can be compared
                // without the dependencies (size, literal image).
                let matches = |t: &aws_sdk_ecs::types::TaskDefinition| {
                    let image = t
                        .container_definitions()
                        .first()
                        .and_then(|c| c.image())
                        .unwrap_or_default();
                    t.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                        && t.cpu() == Some(task.cpu.to_string().as_str())
                        && t.memory() == Some(task.memory.to_string().as_str())
                        && (!task.image.references().is_empty() || image == task.image.0)
                };
                Ok(o.task_definition()
                    .filter(|t| ours && matches(t))
                    .and_then(|t| t.task_definition_arn())
                    .map(|arn| Record::new(self.name(), arn, spec.inputs.clone()).with("arn", arn)))
            }
            Err(e) if task_definition_missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeTaskDefinition")(e)),
        }
    }
}

/// ECS's generic ClientException against aws-smithy-mocks: only its
/// "does not exist" message means gone; any other refusal fails the
/// delete instead of passing as "already gone".
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ecs::operation::deregister_task_definition::DeregisterTaskDefinitionError;
    use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError;
    use aws_sdk_ecs::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ecs, aws_sdk_ecs, rules)
    }

    fn client_exception(message: &'static str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code("ClientException")
            .message(message)
            .build()
    }

    fn record() -> Record {
        Record::new(
            "ecs_task_definition",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3",
            json!({}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_definition_already_gone_is_deleted() {
        let deregister = mock!(Client::deregister_task_definition)
            .match_requests(|r| {
                r.task_definition()
                    == Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3")
            })
            .then_error(|| {
                DeregisterTaskDefinitionError::generic(client_exception(
                    "Unable to describe task definition.",
                ))
            });
        TaskDefinition
            .delete(&env_over(&[&deregister]), &record())
            .await
            .unwrap();
        assert_eq!(deregister.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_deregistration_is_an_error_not_gone() {
        let deregister = mock!(Client::deregister_task_definition).then_error(|| {
            DeregisterTaskDefinitionError::generic(client_exception(
                "User is not authorized to perform this action.",
            ))
        });
        let e = TaskDefinition
            .delete(&env_over(&[&deregister]), &record())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("DeregisterTaskDefinition") && e.message.contains("not authorized"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn read_of_a_missing_revision_is_none_and_a_refusal_is_an_error() {
        let missing = mock!(Client::describe_task_definition).then_error(|| {
            DescribeTaskDefinitionError::generic(client_exception(
                "Unable to describe task definition.",
            ))
        });
        assert!(TaskDefinition
            .read(&env_over(&[&missing]), &record())
            .await
            .unwrap()
            .is_none());
        let refused = mock!(Client::describe_task_definition).then_error(|| {
            DescribeTaskDefinitionError::generic(client_exception("Invalid revision number."))
        });
        assert!(TaskDefinition
            .read(&env_over(&[&refused]), &record())
            .await
            .is_err());
    }
}
