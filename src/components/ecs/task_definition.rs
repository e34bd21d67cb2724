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
        // The roles too: a revision names them (a role the stack has not
        // yet is a new revision, not a record that only says so).
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
            "execution_role",
            "task_role",
        ]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["family"]
    }
    /// Its replacement registers a new revision of the family (and
    /// deregisters the old one): allowed for an adopted one.
    fn revisioned(&self) -> bool {
        true
    }
    /// `id`: the revision's ARN (hashicorp/aws
    /// `aws_ecs_task_definition.arn`) or `family:revision`; a family alone
    /// is its latest active revision. A text of the configuration (the
    /// image `${ecr.url}:latest`) that renders from the dependencies to
    /// what the revision has reads as that text; the roles fill the slots.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let t = match env
            .ctx
            .ecs()
            .describe_task_definition()
            .task_definition(id)
            .send()
            .await
        {
            Ok(o) => o.task_definition().cloned(),
            Err(e) if task_definition_missing(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeTaskDefinition")(e)),
        };
        let Some(t) = t else {
            return Ok(None);
        };
        let arn = t.task_definition_arn().unwrap_or(id);
        if t.status() != Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active) {
            return Err(OpError::new(format!(
                "{arn} is deregistered (INACTIVE): no service can be moved to it"
            )));
        }
        let containers = t.container_definitions();
        let Some(c) = containers
            .iter()
            .find(|c| c.name() == Some("app"))
            .or(containers.first())
        else {
            return Err(OpError::new(format!("{arn} has no container")));
        };
        let wanted: TaskDefinitionInputs = spec.typed()?;
        let as_configured = |want: Option<&Template>, have: &str| match want {
            Some(w) if w.render(deps).ok().as_deref() == Some(have) => json!(w.0),
            _ => json!(have),
        };
        let environment: serde_json::Map<String, Json> = c
            .environment()
            .iter()
            .filter_map(|kv| Some((kv.name()?, kv.value().unwrap_or_default())))
            .map(|(k, v)| (k.to_string(), as_configured(wanted.environment.get(k), v)))
            .collect();
        let secrets: serde_json::Map<String, Json> = c
            .secrets()
            .iter()
            .map(|x| {
                (
                    x.name().to_string(),
                    as_configured(wanted.secrets.get(x.name()), x.value_from()),
                )
            })
            .collect();
        let number = |v: Option<&str>| v.and_then(|v| v.parse::<i64>().ok());
        let role = |slot: &str, arn: Option<&str>| {
            let arns: Vec<String> = arn.map(str::to_string).into_iter().collect();
            crate::components::subnet_groups::observed_slot(spec, slot, deps, &arns)
        };
        let inputs = json!({
            "family": t.family(),
            "cpu": number(t.cpu()),
            "memory": number(t.memory()),
            "image": as_configured(Some(&wanted.image), c.image().unwrap_or_default()),
            "port": c.port_mappings().first().and_then(|p| p.container_port()),
            "environment": environment,
            "secrets": secrets,
            "log_group": c
                .log_configuration()
                .and_then(|l| l.options())
                .and_then(|o| o.get("awslogs-group")),
            // Fargate's default when the revision names none.
            "architecture": t
                .runtime_platform()
                .and_then(|p| p.cpu_architecture())
                .map_or("X86_64", |a| a.as_str()),
            "execution_role": role("execution_role", t.execution_role_arn()),
            "task_role": role("task_role", t.task_role_arn()),
        });
        Ok(Some(Record::new(self.name(), arn, inputs).with("arn", arn)))
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
    use std::collections::BTreeMap;

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

    /// The hand-made revision 3 of kavak-dev-app.
    fn hand_made() -> Rule {
        use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
        use aws_sdk_ecs::types::TaskDefinition as Revision;
        mock!(Client::describe_task_definition)
            .match_requests(|r| r.task_definition() == Some("kavak-dev-app:3"))
            .then_output(|| {
                let c = ContainerDefinition::builder()
                    .name("app")
                    .image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/kavak-dev-app:latest")
                    .port_mappings(PortMapping::builder().container_port(8000).build())
                    .environment(KeyValuePair::builder().name("LOG_LEVEL").value("info").build())
                    .environment(
                        KeyValuePair::builder()
                            .name("REDIS_URL")
                            .value("redis://redis.local:6379")
                            .build(),
                    )
                    .secrets(
                        EcsSecret::builder()
                            .name("DATABASE_URL")
                            .value_from("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC:DATABASE_URL::")
                            .build()
                            .unwrap(),
                    )
                    .log_configuration(
                        LogConfiguration::builder()
                            .log_driver(LogDriver::Awslogs)
                            .options("awslogs-group", "/ecs/kavak-dev-app")
                            .build()
                            .unwrap(),
                    )
                    .build();
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(
                        Revision::builder()
                            .task_definition_arn(
                                "arn:aws:ecs:eu-west-1:123456789012:task-definition/kavak-dev-app:3",
                            )
                            .family("kavak-dev-app")
                            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                            .cpu("256")
                            .memory("512")
                            .execution_role_arn("arn:aws:iam::123456789012:role/kavak-dev-ecs-execution")
                            .task_role_arn("arn:aws:iam::123456789012:role/someone-elses")
                            .container_definitions(c)
                            .build(),
                    )
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_revision_and_keeps_the_configurations_text_where_it_renders_the_same(
    ) {
        use crate::engine::{Desired, OnDepChange::Replace};
        let mut g = Desired::new();
        let exec = g.add(Spec::new("role.execution", "iam_role", json!({})));
        let task = g.add(Spec::new("role.task", "iam_role", json!({})));
        let wanted = TaskDefinitionInputs {
            family: "kavak-dev-web".into(),
            cpu: 256,
            memory: 1024,
            image: Template::from("${ecr.url}:latest"),
            port: 8000,
            environment: BTreeMap::from([
                ("LOG_LEVEL".to_string(), Template::from("info")),
                (
                    "REDIS_URL".to_string(),
                    Template::from("redis://${cache.address}:${cache.port}/0"),
                ),
            ]),
            secrets: BTreeMap::from([(
                "DATABASE_URL".to_string(),
                Template::from("${secret.db.arn}:url::"),
            )]),
            log_group: "/ecs/kavak-dev-app".into(),
            architecture: "X86_64".into(),
        };
        let spec = Spec::of("task", &wanted)
            .filling("execution_role", &exec, Replace)
            .filling("task_role", &task, Replace);
        let deps = Records::from([
            (
                "role.execution".to_string(),
                Record::new("iam_role", "kavak-dev-ecs-execution", json!({})).with(
                    "arn",
                    "arn:aws:iam::123456789012:role/kavak-dev-ecs-execution",
                ),
            ),
            (
                "role.task".to_string(),
                Record::new("iam_role", "kavak-dev-ecs-task", json!({}))
                    .with("arn", "arn:aws:iam::123456789012:role/kavak-dev-ecs-task"),
            ),
            (
                "ecr".to_string(),
                Record::new("ecr_repository", "kavak-dev-app", json!({})).with(
                    "url",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/kavak-dev-app",
                ),
            ),
            (
                "cache".to_string(),
                Record::new("elasticache_redis", "kavak-dev-redis", json!({}))
                    .with("address", "redis.local")
                    .with("port", "6379"),
            ),
            (
                "secret.db".to_string(),
                Record::new(
                    "secretsmanager_secret",
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC",
                    json!({}),
                )
                .with(
                    "arn",
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC",
                ),
            ),
        ]);
        let d = hand_made();
        let r = TaskDefinition
            .observe(&env_over(&[&d]), &spec, "kavak-dev-app:3", &deps)
            .await
            .unwrap()
            .expect("it exists");
        const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/kavak-dev-app:3";
        assert_eq!((r.id.as_str(), r.out("arn")), (ARN, ARN));
        assert_eq!(
            r.inputs,
            json!({
                "family": "kavak-dev-app", "cpu": 256, "memory": 512,
                "image": "${ecr.url}:latest", "port": 8000,
                "environment": {"LOG_LEVEL": "info", "REDIS_URL": "redis://redis.local:6379"},
                "secrets": {"DATABASE_URL": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC:DATABASE_URL::"},
                "log_group": "/ecs/kavak-dev-app", "architecture": "X86_64",
                "execution_role": "role.execution",
                "task_role": "arn:aws:iam::123456789012:role/someone-elses",
            }),
            "the same image as configured; another memory, REDIS_URL, secret and task role as AWS has them"
        );
        let mut forced = crate::engine::forced_fields(&TaskDefinition, &spec, &r);
        forced.sort();
        assert_eq!(
            forced,
            ["environment", "family", "memory", "secrets", "task_role"],
            "a new revision, which a move allows: {}",
            TaskDefinition.revisioned()
        );
        assert!(TaskDefinition.revisioned());
        let missing = mock!(Client::describe_task_definition).then_error(|| {
            DescribeTaskDefinitionError::generic(client_exception(
                "Unable to describe task definition.",
            ))
        });
        assert!(TaskDefinition
            .observe(&env_over(&[&missing]), &spec, "kavak-dev-app:3", &deps)
            .await
            .unwrap()
            .is_none());
    }
}
