//! Service.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A Fargate service of the `cluster` dependency running the `task`
/// dependency behind the `tg` dependency, in the `subnet*` dependencies
/// with the `sg*` dependency.
pub struct Service;

/// hashicorp/aws's `propagationTimeout + serviceCreateTimeout` (and
/// `+ serviceUpdateTimeout`): 2 + 2 minutes.
const SERVICE_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(240);
/// ECS validates the target group through a role (the service-linked role,
/// maybe created by this very call) that IAM has not yet propagated, and
/// sees a target group whose listener was just created as not yet behind a
/// load balancer.
const ROLE_NOT_YET: NotYet = NotYet::message(
    "InvalidParameterException",
    "verify that the ECS service role being passed has the proper permissions",
    "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.",
);
const LISTENER_NOT_YET: NotYet = NotYet::message(
    "InvalidParameterException",
    "does not have an associated load balancer",
    "The target group with targetGroupArn arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/kavak-dev-app/73e2d6bc24d8a067 does not have an associated load balancer.",
);
/// The cluster just created may not be found yet; the role, the listener
/// and the service-linked role may not have reached ECS.
const CREATE: Call = Call::retrying(
    "ecs:CreateService",
    SERVICE_PROPAGATION,
    &[
        NotYet::code("ClusterNotFoundException", "Cluster not found."),
        ROLE_NOT_YET,
        LISTENER_NOT_YET,
        NotYet::message(
            "InvalidParameterException",
            "Unable to assume the service linked role",
            "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
        ),
    ],
)
.why("hashicorp/aws ecs/service.go retryServiceCreate: ClusterNotFoundException and InvalidParameterException (service role, listener's load balancer, service-linked role) for propagationTimeout + serviceCreateTimeout");
/// The same propagation, on a target group or network configuration
/// changed in place (and on the drain before a delete).
const UPDATE: Call = Call::retrying("ecs:UpdateService", SERVICE_PROPAGATION, &[ROLE_NOT_YET, LISTENER_NOT_YET])
    .why("hashicorp/aws ecs/service.go resourceServiceUpdate: InvalidParameterException (service role, listener's load balancer) for propagationTimeout + serviceUpdateTimeout");
/// A deployment still in progress (a rollout the stack just started) keeps
/// the service from being deleted.
const DELETE: Call = Call::retrying(
    "ecs:DeleteService",
    std::time::Duration::from_secs(1200),
    &[
        NotYet::message("InvalidParameterException", "The service cannot be stopped while deployments are active.", "The service cannot be stopped while deployments are active."),
        NotYet::message("DependencyViolation", "has a dependent object", "The service arn:aws:ecs:eu-west-1:123456789012:service/kavak-dev/api has a dependent object."),
    ],
)
.why("hashicorp/aws ecs/service.go resourceServiceDelete: InvalidParameterException 'cannot be stopped while deployments are active' and DependencyViolation 'has a dependent object' for the 20-minute delete timeout (ours too)");
const CALLS: &[Call] = &[CREATE, UPDATE, DELETE, Call::read("ecs:DescribeServices")];

/// How many tasks run, and how a deployment goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceInputs {
    pub name: String,
    /// The cluster's name (how `find` reaches the service).
    pub cluster: String,
    /// Recorded as configured, never as observed: a count changed by
    /// autoscaling (or by hand) is left alone until the configuration
    /// changes it.
    pub desired_count: i32,
    /// Roll a failed deployment back (and fail the apply).
    pub circuit_breaker: bool,
    pub assign_public_ip: bool,
    /// Seconds the load balancer's health checks are ignored after a task
    /// starts.
    pub grace_period: i32,
    /// The container port the target group sends to.
    pub port: i32,
}

impl Inputs for ServiceInputs {
    const KIND: &'static str = "ecs_service";
}

const CLUSTER: Need = Need::one(
    "ECS cluster",
    &[<crate::components::ecs::ClusterInputs as crate::engine::Inputs>::KIND],
);
const TASK: Need = Need::one(
    "task definition",
    &[<crate::components::ecs::TaskDefinitionInputs as crate::engine::Inputs>::KIND],
);
const TARGET_GROUP: Need = Need::one(
    "target group",
    &[<crate::components::elb::TargetGroupInputs as crate::engine::Inputs>::KIND],
);

impl Service {
    pub(crate) async fn describe(
        env: &E,
        cluster: &str,
        name: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Service>, OpError> {
        match env
            .ctx
            .ecs()
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .services()
                .iter()
                .find(|s| s.status() != Some("INACTIVE"))
                .cloned()),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeServices")(e)),
        }
    }

    fn network(deps: &Records, public_ip: bool) -> Result<NetworkConfiguration, OpError> {
        let (subnets, sgs) = (
            crate::components::need::SUBNETS.ids(deps),
            crate::components::need::SECURITY_GROUPS.ids(deps),
        );
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(subnets))
            .set_security_groups(Some(sgs))
            .assign_public_ip(if public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(crate::components::bad("network configuration"))?;
        Ok(NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build())
    }

    fn deployment(service: &ServiceInputs) -> DeploymentConfiguration {
        let on = service.circuit_breaker;
        DeploymentConfiguration::builder()
            .deployment_circuit_breaker(
                DeploymentCircuitBreaker::builder()
                    .enable(on)
                    .rollback(on)
                    .build(),
            )
            .maximum_percent(200)
            .minimum_healthy_percent(100)
            .build()
    }

    /// Waits until the service runs its desired count of the wanted task
    /// definition in a single deployment; fails as soon as the deployment
    /// fails (the circuit breaker rolled it back).
    pub(crate) async fn wait_stable(
        env: &E,
        cluster: &str,
        name: &str,
        task: &str,
    ) -> Result<aws_sdk_ecs::types::Service, OpError> {
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
    crate::engine::typed_kind!(ServiceInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &[
            "arn",
            "cluster",
            "observed_desired_count",
            "running_count",
            "task_definition",
        ]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[
            CLUSTER,
            TASK,
            TARGET_GROUP,
            crate::components::need::SUBNETS,
            crate::components::need::SECURITY_GROUPS,
        ]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
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
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the ARN (hashicorp/aws `aws_ecs_service.id`; with or without
    /// the cluster's name in it), `cluster/name`, or the name (in the
    /// stack's cluster). Only a Fargate service (launch type FARGATE)
    /// deployed by ECS, sending to the stack's target group, container and
    /// port: the stack changes none of those in place.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let ours = match CLUSTER.the(deps) {
            Ok(c) => c.id.clone(),
            Err(_) => spec.typed::<ServiceInputs>()?.cluster,
        };
        // service/CLUSTER/NAME (the long ARN), service/NAME (the old one).
        let path = crate::components::subnet_groups::arn_tail(id, ":service/");
        let (cluster, name) = match path.split_once('/') {
            Some((cluster, name)) => (cluster.to_string(), name),
            None => (ours, path),
        };
        let Some(s) = Self::describe(env, &cluster, name).await? else {
            return Ok(None);
        };
        if s.launch_type() != Some(&LaunchType::Fargate) {
            return Err(OpError::new(format!(
                "it runs on {}; the stack's service has the launch type FARGATE, which a service cannot change to",
                match s.launch_type() {
                    Some(t) => format!("the launch type {}", t.as_str()),
                    None => "a capacity provider strategy".to_string(),
                }
            )));
        }
        if let Some(c) = s
            .deployment_controller()
            .map(|c| c.r#type())
            .filter(|t| **t != aws_sdk_ecs::types::DeploymentControllerType::Ecs)
        {
            return Err(OpError::new(format!(
                "its deployments are made by {}; the stack deploys a new task definition through ECS",
                c.as_str()
            )));
        }
        // The stack never changes a service's load balancing (its update
        // sends none): the service must already send to the stack's target
        // group, container and port.
        let never = "awsstack never changes a service's load balancing";
        let Some(lb) = s.load_balancers().first() else {
            return Err(OpError::new(format!(
                "it has no load balancer, and the stack's service sends to its target group: {never}"
            )));
        };
        if let Ok(tg) = TARGET_GROUP.the(deps) {
            if lb.target_group_arn() != Some(tg.id.as_str()) {
                return Err(OpError::new(format!(
                    "it sends to {}, not to the stack's target group {}: {never}",
                    lb.target_group_arn().unwrap_or("no target group"),
                    tg.id
                )));
            }
        }
        if lb.container_name() != Some("app") {
            return Err(OpError::new(format!(
                "its load balancer sends to the container {}, and the stack's task definition names its container app: {never}",
                lb.container_name().unwrap_or("(none)")
            )));
        }
        let port = spec.typed::<ServiceInputs>()?.port;
        if lb.container_port() != Some(port) {
            return Err(OpError::new(format!(
                "its load balancer sends to the container's port {}, and the configuration's is {port}: {never}",
                lb.container_port().map_or("(none)".to_string(), |p| p.to_string())
            )));
        }
        let cluster = s
            .cluster_arn()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or(&cluster)
            .to_string();
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        let inputs = json!({
            "name": s.service_name(),
            "cluster": cluster,
            // The count it runs: the configuration's is set by the update
            // that follows when they differ.
            "desired_count": s.desired_count(),
            // No deployment circuit breaker shown: none.
            "circuit_breaker": s
                .deployment_configuration()
                .and_then(|d| d.deployment_circuit_breaker())
                .is_some_and(|cb| cb.enable() && cb.rollback()),
            "assign_public_ip": vpc.and_then(|v| v.assign_public_ip()) == Some(&AssignPublicIp::Enabled),
            "grace_period": s.health_check_grace_period_seconds().unwrap_or(0),
            "port": lb.container_port(),
        });
        Ok(Some(self.record(inputs, &s, &cluster)))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let service: ServiceInputs = spec.typed()?;
        let cluster = CLUSTER.the(deps)?.id.clone();
        let task = TASK.the(deps)?.id.clone();
        let lb = LoadBalancer::builder()
            .target_group_arn(&TARGET_GROUP.the(deps)?.id)
            .container_name("app")
            .container_port(service.port)
            .build();
        let (network, tag_list) = (
            Self::network(deps, service.assign_public_ip)?,
            tags(env, spec),
        );
        let ecs = &env.ctx.ecs();
        let o = env
            .call(&CREATE, || {
                ecs.create_service()
                    .cluster(&cluster)
                    .service_name(&service.name)
                    .task_definition(&task)
                    .desired_count(service.desired_count)
                    .launch_type(LaunchType::Fargate)
                    .network_configuration(network.clone())
                    .load_balancers(lb.clone())
                    .health_check_grace_period_seconds(service.grace_period)
                    .deployment_configuration(Self::deployment(&service))
                    .propagate_tags(PropagateTags::Service)
                    .enable_ecs_managed_tags(true)
                    .set_tags(Some(tag_list.clone()))
                    .send()
            })
            .await
            .map_err(failed)?;
        let s = o
            .service()
            .ok_or_else(|| OpError::new("CreateService returned no service"))?;
        let partial = self.record(spec.inputs.clone(), s, &cluster);
        let s = Self::wait_stable(env, &cluster, &service.name, &task)
            .await
            .map_err(|e| e.partial(partial))?;
        Ok(self.record(spec.inputs.clone(), &s, &cluster))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let cluster = rec.out("cluster").to_string();
        Ok(Self::describe(env, &cluster, &rec.id).await?.map(|s| {
            // desired_count stays as configured (see the type's comment).
            let mut r = self.record(rec.inputs.clone(), &s, &cluster);
            // A response without the setting says nothing about it.
            if let Some(cb) = s
                .deployment_configuration()
                .and_then(|d| d.deployment_circuit_breaker())
            {
                r.inputs["circuit_breaker"] = json!(cb.enable() && cb.rollback());
            }
            r
        }))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let service: ServiceInputs = spec.typed()?;
        let cluster = CLUSTER.the(deps)?.id.clone();
        let task = TASK.the(deps)?.id.clone();
        let req = env
            .ctx
            .ecs()
            .update_service()
            .cluster(&cluster)
            .service(&old.id)
            .task_definition(&task)
            .network_configuration(Self::network(deps, service.assign_public_ip)?)
            .health_check_grace_period_seconds(service.grace_period)
            .deployment_configuration(Self::deployment(&service));
        // Only when the configuration changed it: never reset a count that
        // autoscaling set.
        let count = (old.typed::<ServiceInputs>()?.desired_count != service.desired_count)
            .then_some(service.desired_count);
        env.call(&UPDATE, || req.clone().set_desired_count(count).send())
            .await
            .map_err(failed)?;
        let s = Self::wait_stable(env, &cluster, &old.id, &task).await?;
        Ok(self.record(spec.inputs.clone(), &s, &cluster))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let cluster = rec.out("cluster").to_string();
        let ecs = &env.ctx.ecs();
        if Self::describe(env, &cluster, &rec.id).await?.is_none() {
            return Ok(());
        }
        let _ = env
            .call(&UPDATE, || {
                ecs.update_service()
                    .cluster(&cluster)
                    .service(&rec.id)
                    .desired_count(0)
                    .send()
            })
            .await;
        match env
            .call(&DELETE, || {
                ecs.delete_service()
                    .cluster(&cluster)
                    .service(&rec.id)
                    .force(true)
                    .send()
            })
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e.error) => return Ok(()),
            Err(e) => return Err(failed(e)),
        }
        env.wait(
            &SERVICE_DELETED,
            &format!("ECS service {}", rec.id),
            || async {
                Ok(Self::describe(env, &cluster, &rec.id).await?.map(|s| {
                    let drained = s.status() == Some("DRAINING") && s.running_count() == 0;
                    (
                        if drained {
                            "drained"
                        } else {
                            s.status().unwrap_or_default()
                        }
                        .to_string(),
                        (),
                    )
                }))
            },
        )
        .await
        .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let service: ServiceInputs = spec.typed()?;
        // The configured count is recorded, not the observed one (which
        // autoscaling may own): an import does not plan to reset it.
        Ok(Self::describe(env, &service.cluster, &service.name)
            .await?
            .map(|s| self.record(spec.inputs.clone(), &s, &service.cluster)))
    }
}

/// DeleteService against aws-smithy-mocks: the declared "not yet" errors
/// (a deployment still active, a dependent object) are retried until the
/// delete goes through; an error the declaration does not name is final.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_ecs::operation::delete_service::{DeleteServiceError, DeleteServiceOutput};
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
    use aws_sdk_ecs::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(ecs, aws_sdk_ecs, rules)
    }

    /// The error AWS gives for the declared "not yet" `n`, as it words it.
    fn says(n: &NotYet) -> DeleteServiceError {
        DeleteServiceError::generic(
            ErrorMetadata::builder()
                .code(n.code)
                .message(n.says)
                .build(),
        )
    }

    /// DescribeServices answering with the service in `status`.
    fn described(status: &'static str) -> Rule {
        mock!(Client::describe_services).then_output(move || {
            DescribeServicesOutput::builder()
                .services(
                    aws_sdk_ecs::types::Service::builder()
                        .service_name("api")
                        .status(status)
                        .running_count(0)
                        .build(),
                )
                .build()
        })
    }

    fn scaled_down() -> Rule {
        mock!(Client::update_service)
            .match_requests(|r| r.desired_count() == Some(0))
            .then_output(|| UpdateServiceOutput::builder().build())
    }

    #[tokio::test(start_paused = true)]
    async fn delete_retries_the_declared_not_yet_errors_but_not_an_undeclared_one() {
        let rec = Record::new(
            "ecs_service",
            "api",
            json!({"name": "api", "cluster": "kavak-dev", "desired_count": 2, "circuit_breaker": true,
                   "assign_public_ip": false, "grace_period": 60, "port": 8000}),
        )
        .with("cluster", "kavak-dev");
        // A deployment still active, then a dependent object: retried, then deleted.
        let (active, scale, after) = (described("ACTIVE"), scaled_down(), described("INACTIVE"));
        let delete = mock!(Client::delete_service)
            .match_requests(|r| r.cluster() == Some("kavak-dev") && r.service() == Some("api"))
            .sequence()
            .error(|| says(&DELETE.not_yet[0]))
            .error(|| says(&DELETE.not_yet[1]))
            .output(|| DeleteServiceOutput::builder().build())
            .build();
        Service
            .delete(&over(&[&active, &scale, &delete, &after]), &rec)
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 3, "both declared errors are retried");
        assert_eq!(after.num_calls(), 1, "then the service is waited out");

        let (active, scale) = (described("ACTIVE"), scaled_down());
        let refused = mock!(Client::delete_service)
            .then_error(|| DeleteServiceError::generic(fault("InjectedFailure")));
        let e = Service
            .delete(&over(&[&active, &scale, &refused]), &rec)
            .await
            .expect_err("an undeclared error is final");
        assert_eq!(refused.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("DeleteService: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    /// The hand-made service, run with `launch` and sending to tg-1.
    fn hand_made(launch: Option<LaunchType>) -> Rule {
        mock!(Client::describe_services)
            .match_requests(|r| {
                r.cluster() == Some("kavak-dev-cluster") && r.services() == ["kavak-dev-service"]
            })
            .then_output(move || {
                DescribeServicesOutput::builder()
                    .services(
                        aws_sdk_ecs::types::Service::builder()
                            .service_name("kavak-dev-service")
                            .service_arn("arn:aws:ecs:eu-west-1:123456789012:service/kavak-dev-cluster/kavak-dev-service")
                            .cluster_arn("arn:aws:ecs:eu-west-1:123456789012:cluster/kavak-dev-cluster")
                            .status("ACTIVE")
                            .set_launch_type(launch.clone())
                            .task_definition("arn:aws:ecs:eu-west-1:123456789012:task-definition/kavak-dev-app:3")
                            .desired_count(1)
                            .running_count(1)
                            .load_balancers(
                                LoadBalancer::builder()
                                    .target_group_arn("tg-1")
                                    .container_name("app")
                                    .container_port(8000)
                                    .build(),
                            )
                            .network_configuration(
                                NetworkConfiguration::builder()
                                    .awsvpc_configuration(
                                        AwsVpcConfiguration::builder()
                                            .subnets("subnet-1")
                                            .assign_public_ip(AssignPublicIp::Disabled)
                                            .build()
                                            .unwrap(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_services_own_name_cluster_and_settings() {
        let spec = Spec::new(
            "service",
            "ecs_service",
            json!({"name": "kavak-dev-app", "cluster": "kavak-dev-cluster", "desired_count": 2,
                   "circuit_breaker": true, "assign_public_ip": false, "grace_period": 60, "port": 8000}),
        );
        let deps = |tg: &str| {
            Records::from([
                (
                    "cluster".to_string(),
                    Record::new("ecs_cluster", "kavak-dev-cluster", json!({})),
                ),
                (
                    "tg".to_string(),
                    Record::new("elbv2_target_group", tg, json!({})),
                ),
            ])
        };
        for id in [
            "arn:aws:ecs:eu-west-1:123456789012:service/kavak-dev-cluster/kavak-dev-service",
            "arn:aws:ecs:eu-west-1:123456789012:service/kavak-dev-service",
            "kavak-dev-service",
        ] {
            let d = hand_made(Some(LaunchType::Fargate));
            let r = Service
                .observe(&over(&[&d]), &spec, id, &deps("tg-1"))
                .await
                .unwrap()
                .expect("it exists");
            assert_eq!(r.id, "kavak-dev-service", "{id}");
            assert_eq!(
                r.inputs,
                json!({"name": "kavak-dev-service", "cluster": "kavak-dev-cluster", "desired_count": 1,
                       "circuit_breaker": false, "assign_public_ip": false, "grace_period": 0, "port": 8000}),
                "its own name (kept) and settings, for the update to bring to the configuration's"
            );
            assert_eq!(
                (r.out("arn"), r.out("cluster"), r.out("task_definition")),
                (
                    "arn:aws:ecs:eu-west-1:123456789012:service/kavak-dev-cluster/kavak-dev-service",
                    "kavak-dev-cluster",
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/kavak-dev-app:3"
                )
            );
            assert!(r.typed::<ServiceInputs>().is_ok());
        }
        for launch in [Some(LaunchType::Ec2), None] {
            let d = hand_made(launch);
            let e = Service
                .observe(&over(&[&d]), &spec, "kavak-dev-service", &deps("tg-1"))
                .await
                .unwrap_err();
            assert!(e.message.contains("launch type FARGATE"), "{}", e.message);
        }
        let d = hand_made(Some(LaunchType::Fargate));
        let e = Service
            .observe(&over(&[&d]), &spec, "kavak-dev-service", &deps("tg-2"))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("not to the stack's target group tg-2"),
            "{}",
            e.message
        );
        let mut on_8080 = spec.clone();
        on_8080.inputs["port"] = json!(8080);
        let d = hand_made(Some(LaunchType::Fargate));
        let e = Service
            .observe(&over(&[&d]), &on_8080, "kavak-dev-service", &deps("tg-1"))
            .await
            .unwrap_err();
        assert!(
            e.message
                .contains("port 8000, and the configuration's is 8080"),
            "{}",
            e.message
        );
    }
}
