//! `awsstack_redeploy`: a new deployment of a container service's ECS
//! service, waited for until steady.

use super::*;

/// The calls this action makes, for the catalog and its IAM list.
pub(super) const CALLS: &[crate::engine::Call] = &[
    crate::engine::Call::read("ecs:DescribeServices"),
    crate::engine::Call::read("ecs:ListTagsForResource"),
    crate::engine::Call::settled("ecs:UpdateService"),
];

pub(super) fn action(shared: Arc<Shared>) -> Arc<dyn Action> {
    Arc::new(Redeploy {
        schema: redeploy_schema(),
        shared,
    })
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
