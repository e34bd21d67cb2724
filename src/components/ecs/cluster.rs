//! Cluster.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An ECS cluster (Fargate: no instances).
pub struct Cluster;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInputs {
    pub name: String,
    /// CloudWatch Container Insights (billed metrics per task).
    pub container_insights: bool,
}

impl Inputs for ClusterInputs {
    const KIND: &'static str = "ecs_cluster";
}

fn insights(cluster: &ClusterInputs) -> &'static str {
    if cluster.container_insights {
        "enabled"
    } else {
        "disabled"
    }
}

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
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Ecs(env.ctx.arn("ecs", &format!("cluster/{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn check_inputs(&self, inputs: &Json) -> Result<(), String> {
        crate::engine::inputs::check::<ClusterInputs>(inputs)
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName};
        let cluster: ClusterInputs = spec.typed()?;
        let insights = insights(&cluster);
        let o = env
            .ctx
            .ecs()
            .create_cluster()
            .cluster_name(&cluster.name)
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value(insights).build())
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateCluster"))?;
        let arn = o.cluster().and_then(|c| c.cluster_arn()).unwrap_or_default();
        Ok(Record::new(self.name(), &cluster.name, spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|_| rec.clone()))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName};
        let (want, had): (ClusterInputs, ClusterInputs) = (spec.typed()?, old.typed()?);
        if want.container_insights == had.container_insights {
            return Ok(Record { inputs: spec.inputs.clone(), ..old.clone() });
        }
        let insights = insights(&want);
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
        let name = spec.typed::<ClusterInputs>()?.name;
        Ok(Self::describe(env, &name).await?.map(|c| Record::new(self.name(), &name, spec.inputs.clone()).with("arn", c.cluster_arn().unwrap_or_default())))
    }
}
