//! Cluster.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An ECS cluster (Fargate: no instances).
pub struct Cluster;

/// ECS's service-linked role, created by AWS on the account's first ECS
/// call, may not yet be assumable by the cluster that follows.
const CREATE: Call = Call::retrying(
    "ecs:CreateCluster",
    PROPAGATION,
    &[NotYet::message(
        "InvalidParameterException",
        "Unable to assume the service linked role",
        "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
    )],
)
.why("hashicorp/aws ecs/cluster.go retryClusterCreate: InvalidParameterException 'Unable to assume the service linked role' for propagationTimeout");
/// The services the stack just deleted (still draining) and their tasks
/// (still stopping) hold the cluster a while.
const DELETE: Call = Call::retrying(
    "ecs:DeleteCluster",
    std::time::Duration::from_secs(300),
    &[
        NotYet::code("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active."),
        NotYet::code("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active."),
    ],
)
.why("hashicorp/aws ecs/cluster.go resourceClusterDelete: ClusterContainsServices/Tasks (also ContainerInstances, UpdateInProgress: no instances on Fargate) for the 10-minute clusterDeleteTimeout; ours is 5 minutes since the service's delete waits for it to drain first");
const CALLS: &[Call] = &[
    CREATE,
    Call::settled("ecs:UpdateClusterSettings"),
    DELETE,
    Call::read("ecs:DescribeClusters"),
];

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
        let o = env
            .ctx
            .ecs()
            .describe_clusters()
            .clusters(name)
            .send()
            .await
            .map_err(op("DescribeClusters"))?;
        // Deleted clusters stay listed as INACTIVE for a while.
        Ok(o.clusters()
            .iter()
            .find(|c| c.status() == Some("ACTIVE"))
            .cloned())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Cluster {
    crate::engine::typed_kind!(ClusterInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Ecs(env.ctx.arn("ecs", &format!("cluster/{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the ARN (hashicorp/aws `aws_ecs_cluster.id`) or the name.
    async fn observe(
        &self,
        env: &E,
        _: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ecs()
            .describe_clusters()
            .clusters(id)
            .include(aws_sdk_ecs::types::ClusterField::Settings)
            .send()
            .await
            .map_err(op("DescribeClusters"))?;
        // Deleted clusters stay listed as INACTIVE for a while.
        let Some(c) = o.clusters().iter().find(|c| c.status() == Some("ACTIVE")) else {
            return Ok(None);
        };
        let name = c.cluster_name().unwrap_or_default();
        // `enhanced` observability includes Container Insights; no setting: off.
        let insights = c.settings().iter().any(|s| {
            s.name() == Some(&aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                && matches!(s.value(), Some("enabled" | "enhanced"))
        });
        Ok(Some(
            Record::new(
                self.name(),
                name,
                json!({"name": name, "container_insights": insights}),
            )
            .with("arn", c.cluster_arn().unwrap_or_default()),
        ))
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName};
        let cluster: ClusterInputs = spec.typed()?;
        let insights = insights(&cluster);
        let ecs = &env.ctx.ecs();
        let tag_list = tags(env, spec);
        let o = env
            .call(&CREATE, || {
                ecs.create_cluster()
                    .cluster_name(&cluster.name)
                    .settings(
                        ClusterSetting::builder()
                            .name(ClusterSettingName::ContainerInsights)
                            .value(insights)
                            .build(),
                    )
                    .set_tags(Some(tag_list.clone()))
                    .send()
            })
            .await
            .map_err(failed)?;
        let arn = o
            .cluster()
            .and_then(|c| c.cluster_arn())
            .unwrap_or_default();
        Ok(Record::new(self.name(), &cluster.name, spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|_| rec.clone()))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName};
        let (want, had): (ClusterInputs, ClusterInputs) = (spec.typed()?, old.typed()?);
        if want.container_insights == had.container_insights {
            return Ok(Record {
                inputs: spec.inputs.clone(),
                ..old.clone()
            });
        }
        let insights = insights(&want);
        env.ctx
            .ecs()
            .update_cluster_settings()
            .cluster(&old.id)
            .settings(
                ClusterSetting::builder()
                    .name(ClusterSettingName::ContainerInsights)
                    .value(insights)
                    .build(),
            )
            .send()
            .await
            .map_err(op("UpdateClusterSettings"))?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ecs = &env.ctx.ecs();
        match env
            .call(&DELETE, || ecs.delete_cluster().cluster(&rec.id).send())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let name = spec.typed::<ClusterInputs>()?.name;
        Ok(Self::describe(env, &name).await?.map(|c| {
            Record::new(self.name(), &name, spec.inputs.clone())
                .with("arn", c.cluster_arn().unwrap_or_default())
        }))
    }
}

/// DeleteCluster against aws-smithy-mocks: a cluster still holding the
/// services and tasks the stack just deleted is retried; a refusal is not.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_ecs::operation::delete_cluster::{DeleteClusterError, DeleteClusterOutput};
    use aws_sdk_ecs::Client;
    use aws_smithy_mocks::{mock, Rule};

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(ecs, aws_sdk_ecs, rules)
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_still_draining_is_deleted_once_empty_and_a_refusal_is_not_retried() {
        let rec = Record::new(
            "ecs_cluster",
            "kavak-dev",
            json!({"name": "kavak-dev", "container_insights": false}),
        );
        let draining = mock!(Client::delete_cluster)
            .sequence()
            .error(|| DeleteClusterError::generic(fault("ClusterContainsServicesException")))
            .error(|| DeleteClusterError::generic(fault("ClusterContainsTasksException")))
            .output(|| DeleteClusterOutput::builder().build())
            .build();
        Cluster.delete(&over(&[&draining]), &rec).await.unwrap();
        assert_eq!(draining.num_calls(), 3);
        let denied = mock!(Client::delete_cluster)
            .then_error(|| DeleteClusterError::generic(fault("AccessDeniedException")));
        let e = Cluster
            .delete(&over(&[&denied]), &rec)
            .await
            .expect_err("a refusal is final");
        assert!(e.message.contains("DeleteCluster"), "{}", e.message);
        assert_eq!(denied.num_calls(), 1, "not retried");
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_clusters_own_name_and_container_insights() {
        use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
        use aws_sdk_ecs::types::{
            Cluster as EcsCluster, ClusterField, ClusterSetting, ClusterSettingName,
        };
        const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/kavak-dev-cluster";
        let spec = Spec::new(
            "cluster",
            "ecs_cluster",
            json!({"name": "kavak-dev", "container_insights": false}),
        );
        let described = |status: &'static str| {
            mock!(Client::describe_clusters)
                .match_requests(|r| {
                    r.clusters() == [ARN] && r.include() == [ClusterField::Settings]
                })
                .then_output(move || {
                    DescribeClustersOutput::builder()
                        .clusters(
                            EcsCluster::builder()
                                .cluster_arn(ARN)
                                .cluster_name("kavak-dev-cluster")
                                .status(status)
                                .settings(
                                    ClusterSetting::builder()
                                        .name(ClusterSettingName::ContainerInsights)
                                        .value("enabled")
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                })
        };
        let d = described("ACTIVE");
        let r = Cluster
            .observe(&over(&[&d]), &spec, ARN, &Records::new())
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!((r.id.as_str(), r.out("arn")), ("kavak-dev-cluster", ARN));
        assert_eq!(
            r.inputs,
            json!({"name": "kavak-dev-cluster", "container_insights": true}),
            "its own name (kept) and setting"
        );
        let d = described("INACTIVE");
        assert!(Cluster
            .observe(&over(&[&d]), &spec, ARN, &Records::new())
            .await
            .unwrap()
            .is_none());
    }
}
