//! Node group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A managed node group of a cluster, over the subnets of its slot
/// `subnets`, its nodes acting as the role of its slot `role`.
pub struct NodeGroup;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeGroupInputs {
    /// The cluster's name.
    pub cluster: String,
    /// Carries a hash of what cannot change in place, so that a
    /// replacement gets a new name and can exist beside the old group.
    pub name: String,
    /// `ON_DEMAND` or `SPOT`.
    pub capacity_type: String,
    pub instance_types: Vec<String>,
    pub ami_type: String,
    pub min_size: i64,
    pub max_size: i64,
    /// The size at create and at each update; between updates the
    /// cluster autoscaler moves it.
    pub desired_size: i64,
    /// Kubernetes labels of the nodes.
    pub labels: BTreeMap<String, String>,
}

impl Inputs for NodeGroupInputs {
    const KIND: &'static str = "eks_node_group";
}

/// A node role created a moment before is not yet seen by EKS with the
/// trust policy that lets EC2 assume it, or not seen at all.
const CREATE: Call = Call::retrying(
    "eks:CreateNodegroup",
    PROPAGATION,
    &[
        NotYet::message(
            "InvalidParameterException",
            "were not found in the trust relationships of nodeRole",
            "Following required service principals [ec2.amazonaws.com] were not found in the trust relationships of nodeRole arn:aws:iam::123456789012:role/x",
        ),
        NotYet::message("InvalidParameterException", "does not exist", "nodeRole, arn:aws:iam::123456789012:role/x, does not exist"),
    ],
)
.why("beyond hashicorp/aws (eks/node_group.go creates without retry, as its roles are usually older than a node group): our graph creates the node role and the group in one apply, so we retry the role-propagation messages for propagationTimeout as eks/cluster.go resourceClusterCreate does for the cluster role");
/// EKS refuses a change to a node group while an update of it or of its
/// cluster (a version upgrade, a platform update EKS runs itself) is in
/// progress.
const IN_PROGRESS: NotYet = NotYet::message(
    "ResourceInUseException",
    "in progress",
    "Cannot update because cluster luneo-prod-eks-primary currently has update 9f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f in progress",
);
/// A scaling or labels change while such an update runs.
const UPDATE: Call = Call::retrying("eks:UpdateNodegroupConfig", Duration::from_secs(3600), &[IN_PROGRESS])
    .why("beyond hashicorp/aws (eks/node_group.go does not retry): the same ResourceInUseException 'in progress' that eks/cluster.go resourceClusterDelete retries for 60 minutes; ours ends at the node group's 60-minute update timeout");
/// A delete while such an update runs (the cluster's own delete waits for
/// its node groups to be gone).
const DELETE: Call = Call::retrying("eks:DeleteNodegroup", Duration::from_secs(3600), &[IN_PROGRESS])
    .why("beyond hashicorp/aws (eks/node_group.go does not retry): the same ResourceInUseException 'in progress' that eks/cluster.go resourceClusterDelete retries for 60 minutes; ours ends at the node group's 60-minute delete timeout");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("eks:DescribeNodegroup"),
    UPDATE,
    Call::read("eks:DescribeUpdate"),
    DELETE,
];

/// Why an adoption never takes a node group.
const NOT_ADOPTED: &str = "a node group's name carries its settings (create before destroy); the stack creates its own next to it: drain the hand-built group and delete it once the stack's nodes run";

impl NodeGroup {
    async fn describe(
        env: &E,
        cluster: &str,
        name: &str,
    ) -> Result<Option<aws_sdk_eks::types::Nodegroup>, OpError> {
        match env
            .ctx
            .eks()
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
        {
            Ok(o) => Ok(o.nodegroup().cloned()),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeNodegroup")(e)),
        }
    }

    fn observed(&self, inputs: &Json, g: &aws_sdk_eks::types::Nodegroup) -> Record {
        let mut inputs = inputs.clone();
        if let Some(s) = g.scaling_config() {
            observed(&mut inputs, "min_size", s.min_size());
            observed(&mut inputs, "max_size", s.max_size());
            // The desired size is the cluster autoscaler's to move between
            // min and max once the group exists: not drift.
        }
        observed(
            &mut inputs,
            "capacity_type",
            g.capacity_type().map(|c| c.as_str()),
        );
        inputs["instance_types"] = json!(g.instance_types());
        observed(&mut inputs, "ami_type", g.ami_type().map(|a| a.as_str()));
        let labels: BTreeMap<&String, &String> =
            g.labels().map(|l| l.iter().collect()).unwrap_or_default();
        inputs["labels"] = json!(labels);
        Record::new(
            self.name(),
            format!(
                "{}:{}",
                g.cluster_name().unwrap_or_default(),
                g.nodegroup_name().unwrap_or_default()
            ),
            inputs,
        )
        .with("arn", g.nodegroup_arn().unwrap_or_default())
    }

    fn names(rec: &Record) -> (String, String) {
        let (c, n) = rec.id.split_once(':').unwrap_or(("", &rec.id));
        (c.to_string(), n.to_string())
    }

    fn scaling(group: &NodeGroupInputs) -> aws_sdk_eks::types::NodegroupScalingConfig {
        aws_sdk_eks::types::NodegroupScalingConfig::builder()
            .min_size(group.min_size as i32)
            .max_size(group.max_size as i32)
            .desired_size(group.desired_size as i32)
            .build()
    }

    async fn wait_active(
        &self,
        env: &E,
        cluster: &str,
        name: &str,
        inputs: &Json,
    ) -> Result<Record, OpError> {
        let c = env.ctx.eks().clone();
        let (cl, n) = (cluster.to_string(), name.to_string());
        sdk_wait(
            env,
            &format!("node group {name} to be active"),
            |max| async move {
                c.wait_until_nodegroup_active()
                    .cluster_name(cl)
                    .nodegroup_name(n)
                    .wait(max)
                    .await
            },
        )
        .await?;
        let g = Self::describe(env, cluster, name)
            .await?
            .ok_or_else(|| OpError::new(format!("node group {name} disappeared")))?;
        Ok(self.observed(inputs, &g))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for NodeGroup {
    crate::engine::typed_kind!(NodeGroupInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn needs(&self) -> &'static [Need] {
        &[SUBNETS, ROLE]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(60, 60, 60)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Eks(r.out("arn").to_string()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &[
            "cluster",
            "name",
            "capacity_type",
            "instance_types",
            "ami_type",
            "subnets",
        ]
    }
    /// The workloads move to the new nodes before the old ones drain.
    /// Never taken: the stack names each generation after its settings.
    async fn observe(
        &self,
        _: &E,
        _: &Spec,
        _: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        Err(OpError::new(NOT_ADOPTED))
    }
    fn create_before_destroy(&self) -> bool {
        true
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_eks::types::{AmiTypes, CapacityTypes};
        let group: NodeGroupInputs = spec.typed()?;
        let (cluster, name) = (group.cluster.as_str(), group.name.as_str());
        let role = ROLE.the_in(spec, deps)?.out("arn").to_string();
        let labels: std::collections::HashMap<String, String> =
            group.labels.clone().into_iter().collect();
        env.call(&CREATE, || {
            env.ctx
                .eks()
                .create_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .node_role(&role)
                .set_subnets(subnet_ids(spec, deps).ok())
                .scaling_config(Self::scaling(&group))
                .set_instance_types(Some(group.instance_types.clone()))
                .capacity_type(CapacityTypes::from(group.capacity_type.as_str()))
                .ami_type(AmiTypes::from(group.ami_type.as_str()))
                .set_labels(Some(labels.clone()))
                .set_tags(Some(spec_tags(env, spec).into_iter().collect()))
                .send()
        })
        .await
        .map_err(failed)?;
        let rec = Record::new(
            self.name(),
            format!("{cluster}:{name}"),
            spec.inputs.clone(),
        );
        self.wait_active(env, cluster, name, &spec.inputs)
            .await
            .map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let (c, n) = Self::names(rec);
        Ok(Self::describe(env, &c, &n).await?.map(|g| {
            let mut r = self.observed(&rec.inputs, &g);
            r.tags = rec.tags.clone();
            r
        }))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        use aws_sdk_eks::types::UpdateLabelsPayload;
        let (c, n) = Self::names(old);
        let (want, had): (NodeGroupInputs, NodeGroupInputs) = (spec.typed()?, old.typed()?);
        let set: std::collections::HashMap<String, String> = want
            .labels
            .iter()
            .filter(|(k, v)| had.labels.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let remove: Vec<String> = had
            .labels
            .keys()
            .filter(|k| !want.labels.contains_key(*k))
            .cloned()
            .collect();
        let mut req = env
            .ctx
            .eks()
            .update_nodegroup_config()
            .cluster_name(&c)
            .nodegroup_name(&n)
            .scaling_config(Self::scaling(&want));
        if !set.is_empty() || !remove.is_empty() {
            req = req.labels(
                UpdateLabelsPayload::builder()
                    .set_add_or_update_labels((!set.is_empty()).then_some(set))
                    .set_remove_labels((!remove.is_empty()).then_some(remove))
                    .build(),
            );
        }
        let o = env
            .call(&UPDATE, || req.clone().send())
            .await
            .map_err(failed)?;
        if let Some(id) = o.update().and_then(|u| u.id()) {
            env.wait(
                &UPDATE_DONE,
                &format!("update {id} of node group {n}"),
                || async {
                    match env
                        .ctx
                        .eks()
                        .describe_update()
                        .name(&c)
                        .nodegroup_name(&n)
                        .update_id(id)
                        .send()
                        .await
                    {
                        Ok(d) => Ok(d.update().map(|u| {
                            (
                                u.status()
                                    .map(|s| s.as_str())
                                    .unwrap_or_default()
                                    .to_string(),
                                (),
                            )
                        })),
                        // An update AWS no longer lists: the node group's own
                        // status (waited for next) says when it is done.
                        Err(e) if missing(&e) => Ok(Some(("Successful".to_string(), ()))),
                        Err(e) => Err(op("DescribeUpdate")(e)),
                    }
                },
            )
            .await?;
        }
        let mut r = self.wait_active(env, &c, &n, &spec.inputs).await?;
        r.outputs = old.outputs.clone();
        Ok(r)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let (c, n) = Self::names(rec);
        let eks = env.ctx.eks();
        match env
            .call(&DELETE, || {
                eks.delete_nodegroup()
                    .cluster_name(&c)
                    .nodegroup_name(&n)
                    .send()
            })
            .await
        {
            Ok(_) => {}
            Err(e) if missing(&e.error) => return Ok(()),
            Err(e) => return Err(failed(e)),
        }
        let cl = env.ctx.eks().clone();
        let (c2, n2) = (c.clone(), n.clone());
        sdk_wait(
            env,
            &format!("node group {n} to be deleted"),
            |max| async move {
                cl.wait_until_nodegroup_deleted()
                    .cluster_name(c2)
                    .nodegroup_name(n2)
                    .wait(max)
                    .await
            },
        )
        .await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let group: NodeGroupInputs = spec.typed()?;
        Ok(Self::describe(env, &group.cluster, &group.name)
            .await?
            .map(|g| self.observed(&spec.inputs, &g)))
    }
}

/// The node group's update against aws-smithy-mocks: only the labels that
/// changed are sent, and the recorded inputs keep what AWS did not report.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_eks::operation::describe_nodegroup::DescribeNodegroupOutput;
    use aws_sdk_eks::operation::describe_update::DescribeUpdateOutput;
    use aws_sdk_eks::operation::update_nodegroup_config::UpdateNodegroupConfigOutput;
    use aws_sdk_eks::types::{Nodegroup, NodegroupStatus, Update, UpdateStatus};
    use aws_sdk_eks::Client;
    use aws_smithy_mocks::{mock, Rule};

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(eks, aws_sdk_eks, rules)
    }

    fn inputs(labels: &[(&str, &str)]) -> NodeGroupInputs {
        NodeGroupInputs {
            cluster: "luneo-prod-eks-primary".into(),
            name: "luneo-prod-spot-1a2b3c".into(),
            capacity_type: "SPOT".into(),
            instance_types: vec!["m6i.large".into()],
            ami_type: "AL2023_x86_64_STANDARD".into(),
            min_size: 0,
            max_size: 10,
            desired_size: 2,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// An active group as AWS reports it: no scaling configuration, no
    /// capacity type, no AMI type (fields AWS may leave out).
    fn active() -> DescribeNodegroupOutput {
        DescribeNodegroupOutput::builder()
            .nodegroup(
                Nodegroup::builder()
                    .cluster_name("luneo-prod-eks-primary")
                    .nodegroup_name("luneo-prod-spot-1a2b3c")
                    .status(NodegroupStatus::Active)
                    .instance_types("m6i.large")
                    .labels("capacity", "burst")
                    .labels("team", "web")
                    .build(),
            )
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_sends_only_the_labels_that_changed_and_records_what_aws_left_out() {
        let old_inputs = inputs(&[
            ("capacity", "spot"),
            ("awsstack/node-group", "spot"),
            ("retired", "yes"),
        ]);
        let new_inputs = inputs(&[
            ("capacity", "burst"),
            ("awsstack/node-group", "spot"),
            ("team", "web"),
        ]);
        let update = mock!(Client::update_nodegroup_config)
            .match_requests(|r| {
                let labels = r.labels().expect("labels changed");
                let set = labels.add_or_update_labels().expect("labels set");
                set.len() == 2
                    && set.get("capacity").map(String::as_str) == Some("burst")
                    && set.get("team").map(String::as_str) == Some("web")
                    && labels.remove_labels() == ["retired"]
            })
            .then_output(|| {
                UpdateNodegroupConfigOutput::builder()
                    .update(Update::builder().id("u-1").build())
                    .build()
            });
        let done = mock!(Client::describe_update).then_output(|| {
            DescribeUpdateOutput::builder()
                .update(
                    Update::builder()
                        .id("u-1")
                        .status(UpdateStatus::Successful)
                        .build(),
                )
                .build()
        });
        let describe = mock!(Client::describe_nodegroup)
            .sequence()
            .output(active)
            .times(2)
            .build();
        let spec = Spec::of("nodes.spot", &new_inputs);
        let old = Record::new(
            "eks_node_group",
            "luneo-prod-eks-primary:luneo-prod-spot-1a2b3c",
            serde_json::to_value(&old_inputs).unwrap(),
        );
        let env = env_over(&[&update, &done, &describe]);
        let rec = NodeGroup
            .update(&env, &spec, &old, &Records::default())
            .await
            .unwrap();
        assert_eq!(
            update.num_calls(),
            1,
            "the update's labels were not the changed ones"
        );
        let recorded: NodeGroupInputs = rec.typed().unwrap();
        assert_eq!(
            recorded.capacity_type, "SPOT",
            "a field AWS left out keeps its planned value"
        );
        assert_eq!((recorded.min_size, recorded.max_size), (0, 10));
        assert_eq!(recorded.labels.get("team").map(String::as_str), Some("web"));
        assert!(!recorded.labels.contains_key("retired"));
    }

    /// The declared ResourceInUseException ("... update ... in progress")
    /// is retried until the delete goes through (here: the group is found
    /// gone); an error the declaration does not name fails at once.
    #[tokio::test(start_paused = true)]
    async fn delete_retries_an_update_in_progress_but_not_an_undeclared_error() {
        use aws_sdk_eks::operation::delete_nodegroup::DeleteNodegroupError;
        use aws_smithy_types::error::ErrorMetadata;
        let fault = |code: &'static str, message: &'static str| {
            move || {
                DeleteNodegroupError::generic(
                    ErrorMetadata::builder().code(code).message(message).build(),
                )
            }
        };
        let rec = Record::new(
            "eks_node_group",
            "luneo-prod-eks-primary:luneo-prod-spot-1a2b3c",
            serde_json::to_value(inputs(&[])).unwrap(),
        );
        let delete = mock!(Client::delete_nodegroup)
            .sequence()
            .error(fault("ResourceInUseException", "Cannot update because cluster luneo-prod-eks-primary currently has update 9f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f in progress"))
            .error(fault("ResourceNotFoundException", "No node group found for name: luneo-prod-spot-1a2b3c."))
            .build();
        NodeGroup.delete(&env_over(&[&delete]), &rec).await.unwrap();
        assert_eq!(delete.num_calls(), 2, "an update in progress is retried");

        let refused = mock!(Client::delete_nodegroup).then_error(fault(
            "InvalidRequestException",
            "Nodegroup luneo-prod-spot-1a2b3c is not in a state that allows deletion",
        ));
        let e = NodeGroup
            .delete(&env_over(&[&refused]), &rec)
            .await
            .unwrap_err();
        assert_eq!(refused.num_calls(), 1, "an undeclared error is not retried");
        assert!(e.message.starts_with("DeleteNodegroup: "), "{}", e.message);
    }

    /// Adoption never takes a node group, for the reason the refusal
    /// gives; no AWS call is made.
    #[tokio::test(start_paused = true)]
    async fn observe_refuses_every_node_group_with_why() {
        let e = NodeGroup
            .observe(
                &env_over(&[]),
                &Spec::of("nodes.spot", &inputs(&[])),
                "team-eks:team-nodes",
                &Records::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            e.message,
            "a node group's name carries its settings (create before destroy); the stack creates its own next to it: drain the hand-built group and delete it once the stack's nodes run"
        );
    }
}
