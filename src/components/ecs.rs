//! ECS: cluster, Fargate task definition and service.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, E};
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Timeouts, Waiter, GONE};
use crate::provider::AwsContext;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration, KeyValuePair, LaunchType, LoadBalancer,
    LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, PortMapping, PropagateTags, Secret as EcsSecret, Tag, TransportProtocol,
};
use serde_json::{json, Value as Json};

/// Its desired count of the wanted task definition runs, in one deployment
/// (a failed rollout ends the wait at once, with the circuit breaker's
/// reason).
const SERVICE_STABLE: Waiter = Waiter::new("to be stable", &["deploying"], &["steady"]);
/// Deleted once its tasks are gone: AWS keeps a drained service listed as
/// INACTIVE for a while.
const SERVICE_DELETED: Waiter = Waiter::new("to be deleted", &["ACTIVE", "DRAINING"], &["drained", "INACTIVE", GONE]);

fn tags(env: &E, spec: &Spec) -> Vec<Tag> {
    spec_tags(env, spec).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

crate::aws::not_found_codes!("ClusterNotFoundException", "ServiceNotFoundException");

/// ECS answers a task definition that does not exist with the generic
/// ClientException; only that message means not-found (a ClientException
/// can also be a refused request, which must not pass as "already gone").
fn task_definition_missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    let message = match e {
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(se) => se.err().message().unwrap_or_default().to_ascii_lowercase(),
        _ => return false,
    };
    crate::aws::code_in(e, &["ClientException"]) && (message.contains("unable to describe task definition") || message.contains("does not exist") || message.contains("not found"))
}

/// Replaces `${key.output}` placeholders with dependency values.
fn render(s: &str, deps: &Records) -> String {
    crate::components::iam::render(s, deps)
}

// ---------------------------------------------------------------- Cluster

/// Inputs: `name`, `container_insights`.
pub struct Cluster;

impl Cluster {
    async fn describe(env: &E, name: &str) -> Result<Option<aws_sdk_ecs::types::Cluster>, OpError> {
        let o = env.ctx.ecs().describe_clusters().clusters(name).send().await.map_err(op("DescribeClusters"))?;
        // Deleted clusters stay listed as INACTIVE for a while.
        Ok(o.clusters().iter().find(|c| c.status() == Some("ACTIVE")).cloned())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Cluster {
    fn name(&self) -> &'static str {
        "ecs_cluster"
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Ecs(env.ctx.arn("ecs", &format!("cluster/{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName};
        let insights = if spec.input("container_insights").as_bool() == Some(true) { "enabled" } else { "disabled" };
        let o = env
            .ctx
            .ecs()
            .create_cluster()
            .cluster_name(spec.str("name"))
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(insights).build())
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateCluster"))?;
        let arn = o.cluster().and_then(|c| c.cluster_arn()).unwrap_or_default();
        Ok(Record::new(self.name(), spec.str("name"), spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|_| rec.clone()))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName};
        if spec.input("container_insights") == &old.inputs["container_insights"] {
            return Ok(Record { inputs: spec.inputs.clone(), ..old.clone() });
        }
        let insights = if spec.input("container_insights").as_bool() == Some(true) { "enabled" } else { "disabled" };
        env.ctx
            .ecs()
            .update_cluster_settings()
            .cluster(&old.id)
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(insights).build())
            .send()
            .await
            .map_err(op("UpdateClusterSettings"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let r = env
            .retry(
                std::time::Duration::from_secs(300),
                |e| crate::aws::code_in(e, &["ClusterContainsServicesException", "ClusterContainsTasksException"]),
                || env.ctx.ecs().delete_cluster().cluster(&rec.id).send(),
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteCluster")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, spec.str("name")).await?.map(|c| Record::new(self.name(), spec.str("name"), spec.inputs.clone()).with("arn", c.cluster_arn().unwrap_or_default())))
    }
}

// ---------------------------------------------------------------- Task definition

/// A Fargate task definition with one essential container `app`. Inputs:
/// `family`, `cpu`, `memory`, `image`, `port`, `environment` ({name:
/// value}, values may hold `${dep.output}` placeholders), `secrets`
/// ({name: valueFrom with placeholders}), `log_group`, `architecture`.
/// The execution and task roles fill the slots `execution_role` and
/// `task_role`. Every change registers a new revision (a replacement:
/// task definitions are immutable).
pub struct TaskDefinition;

/// The role ECS uses to pull the image, read the secrets and write logs.
const EXECUTION_ROLE: Need = super::need::ROLE.in_slot("execution_role");
/// The role the application's code acts as.
const TASK_ROLE: Need = super::need::ROLE.in_slot("task_role");

impl TaskDefinition {
    fn container(spec: &Spec, deps: &Records, region: &str) -> Result<ContainerDefinition, OpError> {
        let mut env_vars: Vec<KeyValuePair> = vec![];
        if let Some(m) = spec.input("environment").as_object() {
            for (k, v) in m {
                env_vars.push(KeyValuePair::builder().name(k).value(render(v.as_str().unwrap_or_default(), deps)).build());
            }
        }
        let mut secrets: Vec<EcsSecret> = vec![];
        if let Some(m) = spec.input("secrets").as_object() {
            for (k, v) in m {
                secrets.push(EcsSecret::builder().name(k).value_from(render(v.as_str().unwrap_or_default(), deps)).build().map_err(super::bad("container secret"))?);
            }
        }
        let logs = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", spec.str("log_group"))
            .options("awslogs-region", region)
            .options("awslogs-stream-prefix", "app")
            .build()
            .map_err(super::bad("log configuration"))?;
        let port = spec.input("port").as_i64().unwrap_or(8000) as i32;
        Ok(ContainerDefinition::builder()
            .name("app")
            .image(render(spec.str("image"), deps))
            .essential(true)
            .port_mappings(PortMapping::builder().container_port(port).protocol(TransportProtocol::Tcp).build())
            .set_environment(Some(env_vars))
            .set_secrets(Some(secrets))
            .log_configuration(logs)
            .build())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for TaskDefinition {
    fn name(&self) -> &'static str {
        "ecs_task_definition"
    }
    fn needs(&self) -> &'static [Need] {
        &[EXECUTION_ROLE, TASK_ROLE]
    }
    /// Records written before the roles were slots (private state version
    /// 1) name them in their dependencies only: the slots' inputs are
    /// filled from there, so that the upgrade plans nothing.
    fn upgrade(&self, rec: &mut Record) {
        for (slot, key) in [("execution_role", "role.execution"), ("task_role", "role.task")] {
            if rec.inputs.get(slot).is_none() && rec.deps.iter().any(|d| d == key) {
                rec.inputs[slot] = json!(key);
            }
        }
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ecs(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["family", "cpu", "memory", "image", "port", "environment", "secrets", "log_group", "architecture"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{CpuArchitecture, OsFamily, RuntimePlatform};
        let arch = if spec.str("architecture") == "ARM64" { CpuArchitecture::Arm64 } else { CpuArchitecture::X8664 };
        let o = env
            .ctx
            .ecs()
            .register_task_definition()
            .family(spec.str("family"))
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(spec.input("cpu").as_i64().unwrap_or(256).to_string())
            .memory(spec.input("memory").as_i64().unwrap_or(512).to_string())
            .runtime_platform(RuntimePlatform::builder().cpu_architecture(arch).operating_system_family(OsFamily::Linux).build())
            .execution_role_arn(EXECUTION_ROLE.the_in(spec, deps)?.out("arn"))
            .task_role_arn(TASK_ROLE.the_in(spec, deps)?.out("arn"))
            .container_definitions(Self::container(spec, deps, &env.ctx.region)?)
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("RegisterTaskDefinition"))?;
        let arn = o.task_definition().and_then(|t| t.task_definition_arn()).unwrap_or_default();
        Ok(Record::new(self.name(), arn, spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ecs().describe_task_definition().task_definition(&rec.id).send().await {
            Ok(o) => Ok(o.task_definition().filter(|t| t.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active)).map(|_| rec.clone())),
            Err(e) if task_definition_missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeTaskDefinition")(e)),
        }
    }
    async fn update(&self, _: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // A service still running it keeps running (the revision becomes
        // INACTIVE) until it is moved to the new one.
        match env.ctx.ecs().deregister_task_definition().task_definition(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if task_definition_missing(&e) => Ok(()),
            Err(e) => Err(op("DeregisterTaskDefinition")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        // The latest active revision of the family, if it is tagged as ours.
        match env.ctx.ecs().describe_task_definition().task_definition(spec.str("family")).include(aws_sdk_ecs::types::TaskDefinitionField::Tags).send().await {
            Ok(o) => {
                let ours = o.tags().iter().any(|t| t.key() == Some(crate::engine::TAG_STACK_ID) && t.value() == Some(env.stack_id.as_str()));
                // Only an active revision that matches what can be compared
                // without the dependencies (size, literal image).
                let matches = |t: &aws_sdk_ecs::types::TaskDefinition| {
                    let image = t.container_definitions().first().and_then(|c| c.image()).unwrap_or_default();
                    t.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                        && t.cpu() == Some(spec.input("cpu").to_string().as_str())
                        && t.memory() == Some(spec.input("memory").to_string().as_str())
                        && (spec.str("image").contains("${") || image == spec.str("image"))
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

// ---------------------------------------------------------------- Service

/// A Fargate service of the `cluster` dependency running the `task`
/// dependency behind the `tg` dependency, in the `subnet*` dependencies
/// with the `sg*` dependency. Inputs: `name`, `desired_count`,
/// `circuit_breaker`, `assign_public_ip`, `grace_period`.
///
/// `desired_count` is recorded as configured, never as observed: a count
/// changed by autoscaling (or by hand) is left alone until the
/// configuration changes it.
pub struct Service;

const CLUSTER: Need = Need::one("ECS cluster", &["ecs_cluster"]);
const TASK: Need = Need::one("task definition", &["ecs_task_definition"]);
const TARGET_GROUP: Need = Need::one("target group", &["elbv2_target_group"]);

impl Service {
    async fn describe(env: &E, cluster: &str, name: &str) -> Result<Option<aws_sdk_ecs::types::Service>, OpError> {
        match env.ctx.ecs().describe_services().cluster(cluster).services(name).send().await {
            Ok(o) => Ok(o.services().iter().find(|s| s.status() != Some("INACTIVE")).cloned()),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeServices")(e)),
        }
    }

    fn network(deps: &Records, public_ip: bool) -> Result<NetworkConfiguration, OpError> {
        let (subnets, sgs) = (super::need::SUBNETS.ids(deps), super::need::SECURITY_GROUPS.ids(deps));
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(subnets))
            .set_security_groups(Some(sgs))
            .assign_public_ip(if public_ip { AssignPublicIp::Enabled } else { AssignPublicIp::Disabled })
            .build()
            .map_err(super::bad("network configuration"))?;
        Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
    }

    fn deployment(spec: &Spec) -> DeploymentConfiguration {
        let on = spec.input("circuit_breaker").as_bool().unwrap_or(true);
        DeploymentConfiguration::builder()
            .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(on).rollback(on).build())
            .maximum_percent(200)
            .minimum_healthy_percent(100)
            .build()
    }

    /// Waits until the service runs its desired count of the wanted task
    /// definition in a single deployment; fails as soon as the deployment
    /// fails (the circuit breaker rolled it back).
    async fn wait_stable(env: &E, cluster: &str, name: &str, task: &str) -> Result<aws_sdk_ecs::types::Service, OpError> {
        use aws_sdk_ecs::types::DeploymentRolloutState;
        let s = env
            .wait(&SERVICE_STABLE, &format!("ECS service {name}"), || async {
                let Some(s) = Self::describe(env, cluster, name).await? else {
                    return Ok(None);
                };
                let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
                if let Some(p) = primary {
                    if p.rollout_state() == Some(&DeploymentRolloutState::Failed) {
                        return Err(OpError::new(format!(
                            "the deployment of {} failed: {} (the circuit breaker rolls back to the previous task definition)",
                            task,
                            p.rollout_state_reason().unwrap_or("tasks failed to start")
                        )));
                    }
                }
                let on_task = primary.map(|p| p.task_definition() == Some(task)).unwrap_or(false);
                let stable = s.deployments().len() == 1 && on_task && s.running_count() == s.desired_count();
                Ok(Some((if stable { "steady" } else { "deploying" }.to_string(), s)))
            })
            .await?;
        s.ok_or_else(|| OpError::new(format!("ECS service {name} disappeared")))
    }

    fn record(&self, inputs: Json, s: &aws_sdk_ecs::types::Service, cluster: &str) -> Record {
        Record::new(self.name(), s.service_name().unwrap_or_default(), inputs)
            .with("arn", s.service_arn().unwrap_or_default())
            .with("cluster", cluster)
            .with("task_definition", s.task_definition().unwrap_or_default())
            .with("running_count", s.running_count().to_string())
            .with("observed_desired_count", s.desired_count().to_string())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Service {
    fn name(&self) -> &'static str {
        "ecs_service"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[CLUSTER, TASK, TARGET_GROUP, super::need::SUBNETS, super::need::SECURITY_GROUPS]
    }
    fn timeouts(&self) -> Timeouts {
        // terraform-provider-aws's defaults: a rollout waits for healthy tasks.
        Timeouts::minutes(20, 20, 20)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ecs(r.out("arn").to_string()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let cluster = CLUSTER.the(deps)?.id.clone();
        let task = TASK.the(deps)?.id.clone();
        let container_port = spec.input("port").as_i64().unwrap_or(8000) as i32;
        let lb = LoadBalancer::builder().target_group_arn(&TARGET_GROUP.the(deps)?.id).container_name("app").container_port(container_port).build();
        let o = env
            .ctx
            .ecs()
            .create_service()
            .cluster(&cluster)
            .service_name(spec.str("name"))
            .task_definition(&task)
            .desired_count(spec.input("desired_count").as_i64().unwrap_or(1) as i32)
            .launch_type(LaunchType::Fargate)
            .network_configuration(Self::network(deps, spec.input("assign_public_ip").as_bool().unwrap_or(false))?)
            .load_balancers(lb)
            .health_check_grace_period_seconds(spec.input("grace_period").as_i64().unwrap_or(60) as i32)
            .deployment_configuration(Self::deployment(spec))
            .propagate_tags(PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateService"))?;
        let s = o.service().ok_or_else(|| OpError::new("CreateService returned no service"))?;
        let partial = self.record(spec.inputs.clone(), s, &cluster);
        let s = Self::wait_stable(env, &cluster, spec.str("name"), &task).await.map_err(|e| e.partial(partial))?;
        Ok(self.record(spec.inputs.clone(), &s, &cluster))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let cluster = rec.out("cluster").to_string();
        Ok(Self::describe(env, &cluster, &rec.id).await?.map(|s| {
            // desired_count stays as configured (see the type's comment).
            let mut r = self.record(rec.inputs.clone(), &s, &cluster);
            // A response without the setting says nothing about it.
            if let Some(cb) = s.deployment_configuration().and_then(|d| d.deployment_circuit_breaker()) {
                r.inputs["circuit_breaker"] = json!(cb.enable() && cb.rollback());
            }
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let cluster = CLUSTER.the(deps)?.id.clone();
        let task = TASK.the(deps)?.id.clone();
        let mut req = env
            .ctx
            .ecs()
            .update_service()
            .cluster(&cluster)
            .service(&old.id)
            .task_definition(&task)
            .network_configuration(Self::network(deps, spec.input("assign_public_ip").as_bool().unwrap_or(false))?)
            .health_check_grace_period_seconds(spec.input("grace_period").as_i64().unwrap_or(60) as i32)
            .deployment_configuration(Self::deployment(spec));
        // Only when the configuration changed it: never reset a count that
        // autoscaling set.
        if spec.input("desired_count") != &old.inputs["desired_count"] {
            req = req.desired_count(spec.input("desired_count").as_i64().unwrap_or(1) as i32);
        }
        req.send().await.map_err(op("UpdateService"))?;
        let s = Self::wait_stable(env, &cluster, &old.id, &task).await?;
        Ok(self.record(spec.inputs.clone(), &s, &cluster))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let cluster = rec.out("cluster").to_string();
        let ecs = &env.ctx.ecs();
        if Self::describe(env, &cluster, &rec.id).await?.is_none() {
            return Ok(());
        }
        let _ = ecs.update_service().cluster(&cluster).service(&rec.id).desired_count(0).send().await;
        match ecs.delete_service().cluster(&cluster).service(&rec.id).force(true).send().await {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteService")(e)),
        }
        env.wait(&SERVICE_DELETED, &format!("ECS service {}", rec.id), || async {
            Ok(Self::describe(env, &cluster, &rec.id).await?.map(|s| {
                let drained = s.status() == Some("DRAINING") && s.running_count() == 0;
                (if drained { "drained" } else { s.status().unwrap_or_default() }.to_string(), ())
            }))
        })
        .await
        .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let cluster = spec.str("cluster");
        // The configured count is recorded, not the observed one (which
        // autoscaling may own): an import does not plan to reset it.
        Ok(Self::describe(env, cluster, spec.str("name")).await?.map(|s| self.record(spec.inputs.clone(), &s, cluster)))
    }
}

/// ECS's generic ClientException against aws-smithy-mocks: only its
/// "does not exist" message means gone; any other refusal fails the
/// delete instead of passing as "already gone".
#[cfg(test)]
mod tests {
    use super::super::mocked;
    use super::*;
    use aws_sdk_ecs::operation::deregister_task_definition::DeregisterTaskDefinitionError;
    use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError;
    use aws_sdk_ecs::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ecs, aws_sdk_ecs, rules)
    }

    fn client_exception(message: &'static str) -> ErrorMetadata {
        ErrorMetadata::builder().code("ClientException").message(message).build()
    }

    fn record() -> Record {
        Record::new("ecs_task_definition", "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3", json!({}))
    }

    #[tokio::test]
    async fn a_task_definition_already_gone_is_deleted() {
        let deregister = mock!(Client::deregister_task_definition)
            .match_requests(|r| r.task_definition() == Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3"))
            .then_error(|| DeregisterTaskDefinitionError::generic(client_exception("Unable to describe task definition.")));
        TaskDefinition.delete(&env_over(&[&deregister]), &record()).await.unwrap();
        assert_eq!(deregister.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_refused_deregistration_is_an_error_not_gone() {
        let deregister =
            mock!(Client::deregister_task_definition).then_error(|| DeregisterTaskDefinitionError::generic(client_exception("User is not authorized to perform this action.")));
        let e = TaskDefinition.delete(&env_over(&[&deregister]), &record()).await.unwrap_err();
        assert!(e.message.contains("DeregisterTaskDefinition") && e.message.contains("not authorized"), "{}", e.message);
    }

    #[tokio::test]
    async fn read_of_a_missing_revision_is_none_and_a_refusal_is_an_error() {
        let missing = mock!(Client::describe_task_definition).then_error(|| DescribeTaskDefinitionError::generic(client_exception("Unable to describe task definition.")));
        assert!(TaskDefinition.read(&env_over(&[&missing]), &record()).await.unwrap().is_none());
        let refused = mock!(Client::describe_task_definition).then_error(|| DescribeTaskDefinitionError::generic(client_exception("Invalid revision number.")));
        assert!(TaskDefinition.read(&env_over(&[&refused]), &record()).await.is_err());
    }
}
