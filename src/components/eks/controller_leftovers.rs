//! Controller leftovers.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// What the AWS Load Balancer Controller creates for the Kubernetes
/// ingresses and services of a cluster: load balancers, target groups and
/// security groups tagged `elbv2.k8s.aws/cluster = <cluster>`. Terraform
/// never created them, yet they hold the VPC's subnets and so block its
/// deletion. This component exists before the cluster and is deleted after
/// it (the controller is gone) and before the network: its delete removes
/// exactly those objects, and nothing untagged.
pub struct ControllerLeftovers;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControllerLeftoversInputs {
    /// The cluster's name: the value of the controller's tag.
    pub cluster: String,
}

impl Inputs for ControllerLeftoversInputs {
    const KIND: &'static str = "eks_lb_controller_leftovers";
}

pub const CONTROLLER_CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

/// A target group stays in use by its load balancer's listeners and rules
/// a moment after the load balancer is gone.
const DELETE_TARGET_GROUP: Call = Call::retrying(
    "elasticloadbalancing:DeleteTargetGroup",
    PROPAGATION,
    &[NotYet::message(
        "ResourceInUse",
        "is currently in use by a listener or a rule",
        "Target group 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/k8s-default-web-0a1b2c3d4e/50dc6c495c0c9188' is currently in use by a listener or a rule",
    )],
)
.why("hashicorp/aws elbv2/target_group.go resourceTargetGroupDelete: ResourceInUse 'is currently in use by a listener or a rule' for 2 minutes");
/// The load balancers' network interfaces go a little after them, and hold
/// the security groups meanwhile.
const DELETE_SECURITY_GROUP: Call = Call::retrying(
    "ec2:DeleteSecurityGroup",
    Duration::from_secs(300),
    &[
        NotYet::code("DependencyViolation", "resource sg-0a1b2c3d4e5f67890 has a dependent object"),
        NotYet::code(
            "InvalidGroup.InUse",
            "The specified security group can't be deleted because it's in use by another security group. You can remove dependencies by modifying or deleting rules in the affected security groups.",
        ),
    ],
)
.why("hashicorp/aws ec2/vpc_security_group.go resourceSecurityGroupDelete: DependencyViolation and InvalidGroup.InUse for the 15-minute delete timeout; ours is 5 minutes, as the load balancers were waited for first");
const CALLS: &[Call] = &[
    Call::read("elasticloadbalancing:DescribeLoadBalancers"),
    Call::read("elasticloadbalancing:DescribeTargetGroups"),
    Call::read("elasticloadbalancing:DescribeTags"),
    Call::settled("elasticloadbalancing:DeleteLoadBalancer"),
    DELETE_TARGET_GROUP,
    Call::read("ec2:DescribeSecurityGroups"),
    DELETE_SECURITY_GROUP,
    Call::read("eks:DescribeCluster"),
];

impl ControllerLeftovers {
    /// (load balancers, target groups) tagged for `cluster`, by ARN.
    async fn tagged(env: &E, cluster: &str) -> Result<(Vec<String>, Vec<String>), OpError> {
        let elb = &env.ctx.elbv2();
        let mut lbs = vec![];
        let mut pages = elb.describe_load_balancers().into_paginator().send();
        while let Some(p) = pages.next().await {
            lbs.extend(
                p.map_err(op("DescribeLoadBalancers"))?
                    .load_balancers()
                    .iter()
                    .filter_map(|l| l.load_balancer_arn().map(str::to_string)),
            );
        }
        let mut tgs = vec![];
        let mut pages = elb.describe_target_groups().into_paginator().send();
        while let Some(p) = pages.next().await {
            tgs.extend(
                p.map_err(op("DescribeTargetGroups"))?
                    .target_groups()
                    .iter()
                    .filter_map(|t| t.target_group_arn().map(str::to_string)),
            );
        }
        let mut out = (vec![], vec![]);
        for (all, into) in [(lbs, &mut out.0), (tgs, &mut out.1)] {
            for chunk in all.chunks(20) {
                let o = elb
                    .describe_tags()
                    .set_resource_arns(Some(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(op("DescribeTags"))?;
                for d in o.tag_descriptions() {
                    if d.tags().iter().any(|t| {
                        t.key() == Some(CONTROLLER_CLUSTER_TAG) && t.value() == Some(cluster)
                    }) {
                        into.extend(d.resource_arn().map(str::to_string));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn security_groups(env: &E, cluster: &str) -> Result<Vec<String>, OpError> {
        use aws_sdk_ec2::types::Filter;
        let o = env
            .ctx
            .ec2()
            .describe_security_groups()
            .filters(
                Filter::builder()
                    .name(format!("tag:{CONTROLLER_CLUSTER_TAG}"))
                    .values(cluster)
                    .build(),
            )
            .send()
            .await
            .map_err(op("DescribeSecurityGroups"))?;
        // Checked again here: not every endpoint applies tag filters.
        Ok(o.security_groups()
            .iter()
            .filter(|g| {
                g.tags()
                    .iter()
                    .any(|t| t.key() == Some(CONTROLLER_CLUSTER_TAG) && t.value() == Some(cluster))
            })
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect())
    }

    /// Every leftover of `cluster`, described for the plan.
    pub async fn list(env: &E, cluster: &str) -> Result<Vec<String>, OpError> {
        let (lbs, tgs) = Self::tagged(env, cluster).await?;
        let sgs = Self::security_groups(env, cluster).await?;
        Ok(lbs
            .iter()
            .map(|a| format!("load balancer {a}"))
            .chain(tgs.iter().map(|a| format!("target group {a}")))
            .chain(sgs.iter().map(|g| format!("security group {g}")))
            .collect())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for ControllerLeftovers {
    crate::engine::typed_kind!(ControllerLeftoversInputs);
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(10, 10, 20)
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    async fn create(&self, _: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        Ok(Record::new(
            self.name(),
            spec.typed::<ControllerLeftoversInputs>()?.cluster,
            spec.inputs.clone(),
        ))
    }
    async fn read(&self, _: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Some(rec.clone()))
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
    async fn delete_notice(&self, env: &E, rec: &Record) -> Result<Option<String>, OpError> {
        let l = Self::list(env, &rec.id).await?;
        Ok((!l.is_empty()).then(|| format!("what the AWS Load Balancer Controller created for cluster {} (tagged {CONTROLLER_CLUSTER_TAG}): {}", rec.id, l.join(", "))))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let cluster = &rec.id;
        let (lbs, tgs) = Self::tagged(env, cluster).await?;
        for arn in &lbs {
            tracing::info!(load_balancer = %arn, cluster = %cluster, "deleting a load balancer the controller created");
            match env
                .ctx
                .elbv2()
                .delete_load_balancer()
                .load_balancer_arn(arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if crate::aws::is_not_found(&e) => {}
                Err(e) => return Err(op("DeleteLoadBalancer")(e)),
            }
        }
        for arn in &lbs {
            env.wait(
                &crate::components::elb::LB_DELETED,
                &format!("load balancer {arn}"),
                || crate::components::elb::lb_state(env, arn),
            )
            .await?;
        }
        for arn in &tgs {
            match env
                .call(&DELETE_TARGET_GROUP, || {
                    env.ctx
                        .elbv2()
                        .delete_target_group()
                        .target_group_arn(arn)
                        .send()
                })
                .await
            {
                Ok(_) => {}
                Err(e) if crate::aws::is_not_found(&e.error) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        for g in Self::security_groups(env, cluster).await? {
            // The load balancers' network interfaces go a little after them.
            match env
                .call(&DELETE_SECURITY_GROUP, || {
                    env.ctx.ec2().delete_security_group().group_id(&g).send()
                })
                .await
            {
                Ok(_) => {}
                Err(e) if crate::aws::is_not_found(&e.error) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        Ok(())
    }
    /// Found as its cluster: a foreign cluster of the name is reported as
    /// the EKS cluster it is (and the cleanup of its leftovers, which would
    /// delete another owner's load balancers, is never adopted).
    fn found_as(&self) -> String {
        "eks cluster".into()
    }
    /// Never taken: nothing in AWS is this component (the default refusal
    /// would read as a refusal of the cluster, which `found_as` names).
    async fn observe(
        &self,
        _: &E,
        _: &Spec,
        _: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        Err(OpError::new(
            "this component is no object in AWS but the stack's cleanup of what the cluster's AWS Load Balancer Controller leaves behind, made with the cluster: adopt the cluster itself and leave this component out of `adopt`",
        ))
    }
    /// Nothing in AWS to find: the component is the cleanup of its
    /// cluster's leftovers, found (import, adoption) with its cluster.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let cluster = spec.typed::<ControllerLeftoversInputs>()?.cluster;
        Ok(Cluster::describe(env, &cluster)
            .await?
            .map(|_| Record::new(self.name(), cluster, spec.inputs.clone())))
    }
    /// The cluster's owner.
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        use crate::engine::Cloud;
        env.ctx
            .read_tags(&TagRef::Eks(
                env.ctx.arn("eks", &format!("cluster/{}", found.id)),
            ))
            .await
            .map(|t| t.and_then(|t| t.get(crate::engine::TAG_STACK_ID).cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput;
    use aws_sdk_eks::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_eks::types::Cluster as EksCluster;
    use aws_sdk_eks::Client;
    use aws_smithy_mocks::mock;

    /// Another owner's cluster holding the name: the cleanup of its
    /// leftovers (which would delete that owner's load balancers) is not
    /// adopted, and the diagnostic names the EKS cluster it found.
    #[tokio::test(start_paused = true)]
    async fn a_foreign_cluster_of_the_name_is_refused_as_the_eks_cluster_it_is() {
        let describe = mock!(Client::describe_cluster)
            .match_requests(|r| r.name() == Some("s-eks-primary"))
            .then_output(|| {
                DescribeClusterOutput::builder()
                    .cluster(EksCluster::builder().name("s-eks-primary").build())
                    .build()
            });
        let tags = mock!(Client::list_tags_for_resource).then_output(|| {
            ListTagsForResourceOutput::builder()
                .tags("team", "data")
                .build()
        });
        let env = mocked::env_over!(eks, aws_sdk_eks, &[&describe, &tags]);
        let spec = Spec::of(
            "primary/lb_controller.leftovers",
            &ControllerLeftoversInputs {
                cluster: "s-eks-primary".into(),
            },
        )
        .named_by("project_name");
        let e = crate::engine::find_owned(&ControllerLeftovers, &env, &spec)
            .await
            .unwrap_err();
        assert!(e.message.starts_with("the eks cluster \"s-eks-primary\" already exists and was not created by this stack"), "{}", e.message);
        assert_eq!(tags.num_calls(), 1);
    }

    /// Adoption never takes the cleanup: its refusal says it is no AWS
    /// object (the default one would read as a refusal of the cluster).
    #[tokio::test(start_paused = true)]
    async fn observe_refuses_saying_the_component_is_no_aws_object() {
        let env = mocked::env_over!(eks, aws_sdk_eks, &[] as &[&aws_smithy_mocks::Rule]);
        let spec = Spec::of(
            "primary/lb_controller.leftovers",
            &ControllerLeftoversInputs {
                cluster: "s-eks-primary".into(),
            },
        );
        let e = ControllerLeftovers
            .observe(&env, &spec, "s-eks-primary", &Records::new())
            .await
            .unwrap_err();
        assert!(
            e.message.starts_with("this component is no object in AWS")
                && e.message.contains("adopt the cluster itself"),
            "{}",
            e.message
        );
    }
}
