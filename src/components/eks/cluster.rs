//! Cluster.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An EKS control plane over the subnets of its slot `subnets`, acting as
/// the role of its slot `role`.
pub struct Cluster;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInputs {
    pub name: String,
    /// Kubernetes `major.minor`.
    pub version: String,
    pub endpoint_public: bool,
    pub endpoint_private: bool,
    /// The control-plane log types turned on, sorted; the others are off.
    pub logs: Vec<String>,
}

impl Inputs for ClusterInputs {
    const KIND: &'static str = "eks_cluster";
}

/// Every control-plane log type EKS knows.
const LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// A role created a moment before (or whose policies were just attached)
/// is not yet usable by EKS: CreateCluster refuses it, in one of these
/// words, until IAM catches up.
const CREATE: Call = Call::retrying(
    "eks:CreateCluster",
    PROPAGATION,
    &[
        NotYet::message("InvalidParameterException", "does not exist", "roleArn, arn:aws:iam::123456789012:role/x, does not exist"),
        NotYet::message("InvalidParameterException", "Error in role params", "Error in role params"),
        NotYet::message(
            "InvalidParameterException",
            "Role could not be assumed because the trusted entity is not correct",
            "Role could not be assumed because the trusted entity is not correct",
        ),
        NotYet::message(
            "InvalidParameterException",
            "The provided role doesn't have the Amazon EKS Managed Policies associated with it",
            "The provided role doesn't have the Amazon EKS Managed Policies associated with it. Please ensure the following policy is attached: arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        ),
        NotYet::message("InvalidParameterException", "IAM role's policy must include", "IAM role's policy must include the `ec2:DescribeSubnets` action"),
    ],
)
.why("hashicorp/aws eks/cluster.go resourceClusterCreate: these five InvalidParameterException messages for propagationTimeout");
/// EKS refuses to delete a cluster while an update is in progress (one of
/// ours, or a platform update EKS runs itself): the delete first waits for
/// the updates it can see (`wait_quiet`), this covers the one that starts
/// in between.
const DELETE: Call = Call::retrying(
    "eks:DeleteCluster",
    Duration::from_secs(3600),
    &[NotYet::message("ResourceInUseException", "in progress", "Cannot delete because cluster luneo-prod-eks-primary currently has an update in progress")],
)
.why("hashicorp/aws eks/cluster.go resourceClusterDelete: ResourceInUseException 'in progress' for 60 minutes; ours ends at the cluster's delete timeout (15 minutes) first");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("eks:DescribeCluster"),
    Call::settled("eks:UpdateClusterVersion"),
    Call::settled("eks:UpdateClusterConfig"),
    Call::read("eks:DescribeUpdate"),
    Call::read("eks:ListNodegroups"),
    Call::read("eks:ListUpdates"),
    DELETE,
];

impl Cluster {
    fn observed(&self, inputs: &Json, c: &aws_sdk_eks::types::Cluster) -> Record {
        let mut inputs = inputs.clone();
        observed(&mut inputs, "version", c.version());
        if let Some(v) = c.resources_vpc_config() {
            inputs["endpoint_public"] = json!(v.endpoint_public_access());
            inputs["endpoint_private"] = json!(v.endpoint_private_access());
        }
        let mut logs: Vec<String> = c
            .logging()
            .map(|l| {
                l.cluster_logging()
                    .iter()
                    .filter(|s| s.enabled() == Some(true))
                    .flat_map(|s| s.types().iter().map(|t| t.as_str().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        logs.sort();
        inputs["logs"] = json!(logs);
        Record::new(self.name(), c.name().unwrap_or_default(), inputs)
            .with("arn", c.arn().unwrap_or_default())
            .with("endpoint", c.endpoint().unwrap_or_default())
            .with(
                "ca_data",
                c.certificate_authority()
                    .and_then(|a| a.data())
                    .unwrap_or_default(),
            )
            .with(
                "oidc_issuer",
                c.identity()
                    .and_then(|i| i.oidc())
                    .and_then(|o| o.issuer())
                    .unwrap_or_default(),
            )
            .with(
                "security_group",
                c.resources_vpc_config()
                    .and_then(|v| v.cluster_security_group_id())
                    .unwrap_or_default(),
            )
    }

    pub(super) async fn describe(
        env: &E,
        name: &str,
    ) -> Result<Option<aws_sdk_eks::types::Cluster>, OpError> {
        match env.ctx.eks().describe_cluster().name(name).send().await {
            Ok(o) => Ok(o.cluster().cloned()),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeCluster")(e)),
        }
    }

    fn logging(cluster: &ClusterInputs) -> aws_sdk_eks::types::Logging {
        use aws_sdk_eks::types::{LogSetup, LogType, Logging};
        let on = &cluster.logs;
        let enabled: Vec<LogType> = on.iter().map(|t| LogType::from(t.as_str())).collect();
        let disabled: Vec<LogType> = LOG_TYPES
            .iter()
            .filter(|t| !on.iter().any(|o| o == *t))
            .map(|t| LogType::from(*t))
            .collect();
        let mut b = Logging::builder();
        if !enabled.is_empty() {
            b = b.cluster_logging(
                LogSetup::builder()
                    .set_types(Some(enabled))
                    .enabled(true)
                    .build(),
            );
        }
        if !disabled.is_empty() {
            b = b.cluster_logging(
                LogSetup::builder()
                    .set_types(Some(disabled))
                    .enabled(false)
                    .build(),
            );
        }
        b.build()
    }

    async fn wait_active(&self, env: &E, name: &str, inputs: &Json) -> Result<Record, OpError> {
        let c = env.ctx.eks().clone();
        let n = name.to_string();
        sdk_wait(
            env,
            &format!("EKS cluster {name} to be active"),
            |max| async move { c.wait_until_cluster_active().name(n).wait(max).await },
        )
        .await?;
        let c = Self::describe(env, name)
            .await?
            .ok_or_else(|| OpError::new(format!("EKS cluster {name} disappeared")))?;
        Ok(self.observed(inputs, &c))
    }

    /// Waits for an update (version, endpoint, logging) to finish.
    async fn wait_update(env: &E, name: &str, update_id: &str) -> Result<(), OpError> {
        env.wait(
            &UPDATE_DONE,
            &format!("update {update_id} of EKS cluster {name}"),
            || async {
                let o = env
                    .ctx
                    .eks()
                    .describe_update()
                    .name(name)
                    .update_id(update_id)
                    .send()
                    .await
                    .map_err(op("DescribeUpdate"))?;
                let Some(u) = o.update() else { return Ok(None) };
                let errors: Vec<&str> = u
                    .errors()
                    .iter()
                    .filter_map(|e| e.error_message())
                    .collect();
                if !errors.is_empty() {
                    return Err(OpError::new(format!(
                        "update {update_id} of EKS cluster {name} failed: {}",
                        errors.join("; ")
                    )));
                }
                Ok(Some((
                    u.status()
                        .map(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    (),
                )))
            },
        )
        .await
        .map(|_| ())
    }

    /// Waits until the cluster holds no node group and has no update in
    /// progress, both of which make DeleteCluster fail with
    /// ResourceInUseException: the stack's node groups are deleted by their
    /// own components (maybe at the same moment), and an update may be one
    /// EKS runs itself. Not a state of the cluster (DescribeCluster shows it
    /// ACTIVE throughout), so a wait on lists rather than a `Waiter`.
    async fn wait_quiet(env: &E, name: &str) -> Result<(), OpError> {
        use aws_sdk_eks::types::UpdateStatus;
        // Updates seen finished are not described again at the next look.
        let finished = std::sync::Mutex::new(std::collections::BTreeSet::<String>::new());
        env.wait_until(&format!("EKS cluster {name} to have no node group and no update in progress"), || async {
            let eks = env.ctx.eks();
            match eks.list_nodegroups().cluster_name(name).send().await {
                Ok(o) if !o.nodegroups().is_empty() => {
                    tracing::debug!(cluster = name, nodegroups = ?o.nodegroups(), "waiting for the node groups to go before deleting the cluster");
                    return Ok(None);
                }
                Ok(_) => {}
                // The cluster is gone already: the delete that follows says so.
                Err(e) if missing(&e) => return Ok(Some(())),
                Err(e) => return Err(op("ListNodegroups")(e)),
            }
            let mut ids: Vec<String> = vec![];
            let mut pages = eks.list_updates().name(name).into_paginator().send();
            while let Some(page) = pages.next().await {
                match page {
                    Ok(p) => ids.extend(p.update_ids().iter().cloned()),
                    Err(e) if missing(&e) => return Ok(Some(())),
                    Err(e) => return Err(op("ListUpdates")(e)),
                }
            }
            for id in ids {
                if finished.lock().unwrap().contains(&id) {
                    continue;
                }
                let o = match eks.describe_update().name(name).update_id(&id).send().await {
                    Ok(o) => o,
                    Err(e) if missing(&e) => continue,
                    Err(e) => return Err(op("DescribeUpdate")(e)),
                };
                if o.update().and_then(|u| u.status()) == Some(&UpdateStatus::InProgress) {
                    tracing::debug!(cluster = name, update = %id, "waiting for an update to finish before deleting the cluster");
                    return Ok(None);
                }
                finished.lock().unwrap().insert(id);
            }
            Ok(Some(()))
        })
        .await
    }
}

/// A Kubernetes `major.minor` as numbers, to compare (an unreadable one:
/// zero).
fn minor_version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[tonic::async_trait]
impl Kind<AwsContext> for Cluster {
    crate::engine::typed_kind!(ClusterInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &[
            "arn",
            "ca_data",
            "endpoint",
            "oidc_issuer",
            "security_group",
        ]
    }
    fn needs(&self) -> &'static [Need] {
        &[SUBNETS, ROLE]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn timeouts(&self) -> Timeouts {
        // terraform-provider-aws's defaults.
        Timeouts::minutes(30, 60, 15)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Eks(env.ctx.arn("eks", &format!("cluster/{}", r.id))))
    }
    /// The control plane keeps everything else through an update: a
    /// version upgrade, endpoint access and logging change in place.
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "subnets"]
    }
    // No kept name: the load balancer controller's leftovers are found by
    // the cluster's name, and they are built before the cluster exists
    // (they cannot follow a kept one). A hand-built cluster moves when it
    // has the stack's name.
    /// The cluster named (its name, or its ARN): its name, version,
    /// endpoint access and logs as AWS has them, its subnets and role as
    /// the slots name them. One that runs a newer Kubernetes than the
    /// configuration's is refused: a version never goes down.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        use aws_sdk_eks::types::ClusterStatus;
        let name = crate::components::subnet_groups::arn_tail(id, ":cluster/");
        let Some(c) = Self::describe(env, name)
            .await?
            .filter(|c| c.status() != Some(&ClusterStatus::Deleting))
        else {
            return Ok(None);
        };
        let version = c.version().unwrap_or_default();
        let wanted = spec.inputs["version"].as_str().unwrap_or_default();
        if minor_version(version) > minor_version(wanted) {
            return Err(OpError::new(format!(
                "it runs Kubernetes {version}, newer than the configuration's {wanted}, and a version never goes down: write {version} as the Kubernetes version to take it"
            )));
        }
        let vpc = c.resources_vpc_config();
        let subnets: Vec<String> = vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default();
        let roles: Vec<String> = c.role_arn().map(str::to_string).into_iter().collect();
        let slot = |name: &str, ids: &[String]| {
            crate::components::subnet_groups::observed_slot(spec, name, deps, ids)
        };
        let inputs = json!({
            "name": c.name(),
            "version": version,
            "role": slot("role", &roles),
            "subnets": slot("subnets", &subnets),
        });
        Ok(Some(self.observed(&inputs, &c)))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_eks::types::VpcConfigRequest;
        let cluster: ClusterInputs = spec.typed()?;
        let name = &cluster.name;
        let role = ROLE.the_in(spec, deps)?.out("arn").to_string();
        env.call(&CREATE, || {
            env.ctx
                .eks()
                .create_cluster()
                .name(name)
                .version(&cluster.version)
                .role_arn(&role)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .set_subnet_ids(subnet_ids(spec, deps).ok())
                        .endpoint_public_access(cluster.endpoint_public)
                        .endpoint_private_access(cluster.endpoint_private)
                        .build(),
                )
                .logging(Self::logging(&cluster))
                .set_tags(Some(spec_tags(env, spec).into_iter().collect()))
                .send()
        })
        .await
        .map_err(failed)?;
        let rec = Record::new(self.name(), name, spec.inputs.clone());
        self.wait_active(env, name, &spec.inputs)
            .await
            .map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id)
            .await?
            .map(|c| self.observed(&rec.inputs, &c)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        use aws_sdk_eks::types::VpcConfigRequest;
        let name = &old.id;
        let (want, had): (ClusterInputs, ClusterInputs) = (spec.typed()?, old.typed()?);
        if want.version != had.version {
            // One minor version at a time, as EKS requires (validated at plan).
            let o = env
                .ctx
                .eks()
                .update_cluster_version()
                .name(name)
                .version(&want.version)
                .send()
                .await
                .map_err(op("UpdateClusterVersion"))?;
            Self::wait_update(
                env,
                name,
                o.update().and_then(|u| u.id()).unwrap_or_default(),
            )
            .await?;
        }
        if (want.endpoint_public, want.endpoint_private)
            != (had.endpoint_public, had.endpoint_private)
        {
            let o = env
                .ctx
                .eks()
                .update_cluster_config()
                .name(name)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .endpoint_public_access(want.endpoint_public)
                        .endpoint_private_access(want.endpoint_private)
                        .build(),
                )
                .send()
                .await
                .map_err(op("UpdateClusterConfig"))?;
            Self::wait_update(
                env,
                name,
                o.update().and_then(|u| u.id()).unwrap_or_default(),
            )
            .await?;
        }
        if want.logs != had.logs {
            let o = env
                .ctx
                .eks()
                .update_cluster_config()
                .name(name)
                .logging(Self::logging(&want))
                .send()
                .await
                .map_err(op("UpdateClusterConfig"))?;
            Self::wait_update(
                env,
                name,
                o.update().and_then(|u| u.id()).unwrap_or_default(),
            )
            .await?;
        }
        self.wait_active(env, name, &spec.inputs).await
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        Self::wait_quiet(env, &rec.id).await?;
        let eks = env.ctx.eks();
        match env
            .call(&DELETE, || eks.delete_cluster().name(&rec.id).send())
            .await
        {
            Ok(_) => {}
            Err(e) if missing(&e.error) => return Ok(()),
            Err(e) => return Err(failed(e)),
        }
        let c = env.ctx.eks().clone();
        let n = rec.id.clone();
        sdk_wait(
            env,
            &format!("EKS cluster {} to be deleted", rec.id),
            |max| async move { c.wait_until_cluster_deleted().name(n).wait(max).await },
        )
        .await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &spec.typed::<ClusterInputs>()?.name)
            .await?
            .map(|c| self.observed(&spec.inputs, &c)))
    }
}

/// The cluster's waits against aws-smithy-mocks: a cluster that ends
/// FAILED (which the emulator never plays) fails the create with its name,
/// and a delete of a cluster already gone waits for nothing.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_eks::operation::delete_cluster::DeleteClusterError;
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput;
    use aws_sdk_eks::operation::describe_update::DescribeUpdateOutput;
    use aws_sdk_eks::operation::list_nodegroups::{ListNodegroupsError, ListNodegroupsOutput};
    use aws_sdk_eks::operation::list_updates::ListUpdatesOutput;
    use aws_sdk_eks::types::{
        Cluster as EksCluster, ClusterStatus, Identity, Oidc, Update, UpdateStatus,
    };
    use aws_sdk_eks::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(eks, aws_sdk_eks, rules)
    }

    fn cluster(status: ClusterStatus) -> DescribeClusterOutput {
        let oidc = Identity::builder()
            .oidc(
                Oidc::builder()
                    .issuer("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC")
                    .build(),
            )
            .build();
        DescribeClusterOutput::builder()
            .cluster(
                EksCluster::builder()
                    .name("luneo-prod-eks-primary")
                    .status(status)
                    .endpoint("https://abc.eks")
                    .identity(oidc)
                    .build(),
            )
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn an_active_cluster_is_recorded_with_its_endpoint_and_issuer() {
        // The waiter's poll, then the read of what it became.
        let describe = mock!(Client::describe_cluster)
            .match_requests(|r| r.name() == Some("luneo-prod-eks-primary"))
            .sequence()
            .output(|| cluster(ClusterStatus::Active))
            .times(2)
            .build();
        let rec = Cluster
            .wait_active(
                &env_over(&[&describe]),
                "luneo-prod-eks-primary",
                &json!({}),
            )
            .await
            .unwrap();
        assert_eq!(rec.id, "luneo-prod-eks-primary");
        assert_eq!(rec.out("endpoint"), "https://abc.eks");
        assert_eq!(
            rec.out("oidc_issuer"),
            "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"
        );
    }

    /// A hand-built cluster as DescribeCluster shows it, at `version`.
    fn hand_built(version: &'static str) -> Rule {
        use aws_sdk_eks::types::{Certificate, LogSetup, LogType, Logging, VpcConfigResponse};
        mock!(Client::describe_cluster)
            .match_requests(|r| r.name() == Some("team-eks"))
            .then_output(move || {
                let logs = Logging::builder()
                    .cluster_logging(
                        LogSetup::builder()
                            .types(LogType::Audit)
                            .types(LogType::Api)
                            .enabled(true)
                            .build(),
                    )
                    .cluster_logging(
                        LogSetup::builder()
                            .types(LogType::Scheduler)
                            .enabled(false)
                            .build(),
                    )
                    .build();
                DescribeClusterOutput::builder()
                    .cluster(
                        EksCluster::builder()
                            .name("team-eks")
                            .arn("arn:aws:eks:eu-west-1:123456789012:cluster/team-eks")
                            .status(ClusterStatus::Active)
                            .version(version)
                            .role_arn("arn:aws:iam::123456789012:role/team-eks-cluster")
                            .endpoint("https://team.eks")
                            .certificate_authority(Certificate::builder().data("CA").build())
                            .identity(
                                Identity::builder()
                                    .oidc(Oidc::builder().issuer("https://oidc/id/T").build())
                                    .build(),
                            )
                            .resources_vpc_config(
                                VpcConfigResponse::builder()
                                    .subnet_ids("subnet-2")
                                    .subnet_ids("subnet-1")
                                    .subnet_ids("subnet-9")
                                    .endpoint_public_access(false)
                                    .endpoint_private_access(true)
                                    .cluster_security_group_id("sg-eks")
                                    .build(),
                            )
                            .logging(logs)
                            .build(),
                    )
                    .build()
            })
    }

    /// The spec of the platform's cluster (Kubernetes 1.30, public
    /// endpoint, no logs) over two private subnets and a public one, and
    /// the records of the dependencies that exist: two private subnets
    /// and the role.
    fn adopting() -> (Spec, Records) {
        use crate::engine::OnDepChange::Replace;
        let mut g = crate::engine::Desired::new();
        let role = g.add(Spec::new("role.cluster", "iam_role", json!({})));
        let subnets: Vec<_> = ["subnet.private.a", "subnet.private.b", "subnet.public.a"]
            .iter()
            .map(|k| g.add(Spec::new(*k, "ec2_subnet", json!({}))))
            .collect();
        let inputs = ClusterInputs {
            name: "luneo-prod-eks-primary".into(),
            version: "1.30".into(),
            endpoint_public: true,
            endpoint_private: false,
            logs: vec![],
        };
        let spec = Spec::of("cluster", &inputs)
            .filling("role", &role, Replace)
            .filling_each("subnets", &subnets, Replace);
        let deps: Records = [
            (
                "role.cluster".to_string(),
                Record::new("iam_role", "team-eks-cluster", json!({}))
                    .with("arn", "arn:aws:iam::123456789012:role/team-eks-cluster"),
            ),
            (
                "subnet.private.a".to_string(),
                Record::new("ec2_subnet", "subnet-1", json!({})),
            ),
            (
                "subnet.private.b".to_string(),
                Record::new("ec2_subnet", "subnet-2", json!({})),
            ),
        ]
        .into();
        (spec, deps)
    }

    /// Adoption: the name, version, endpoint access and logs as AWS
    /// has them; the subnets and the role as the slots name the
    /// dependencies that have them (a subnet none has: its id); the
    /// outputs as create records them.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_cluster_from_aws_with_its_subnets_named_by_the_slot() {
        let (spec, deps) = adopting();
        let describe = hand_built("1.29");
        let r = Cluster
            .observe(
                &env_over(&[&describe]),
                &spec,
                "arn:aws:eks:eu-west-1:123456789012:cluster/team-eks",
                &deps,
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "team-eks");
        assert_eq!(
            r.inputs,
            json!({
                "name": "team-eks", "version": "1.29", "endpoint_public": false,
                "endpoint_private": true, "logs": ["api", "audit"], "role": "role.cluster",
                "subnets": ["subnet.private.a", "subnet.private.b", "subnet-9"],
            })
        );
        assert_eq!(
            (
                r.out("arn"),
                r.out("endpoint"),
                r.out("ca_data"),
                r.out("oidc_issuer"),
                r.out("security_group")
            ),
            (
                "arn:aws:eks:eu-west-1:123456789012:cluster/team-eks",
                "https://team.eks",
                "CA",
                "https://oidc/id/T",
                "sg-eks"
            )
        );
        assert!(r.typed::<ClusterInputs>().is_ok());
        assert!(
            Cluster.kept_fields().is_empty(),
            "the leftovers cannot follow a kept name"
        );
    }

    /// A cluster newer than the configuration's version is refused (a
    /// version never goes down); one as new is taken. Versions compare as
    /// numbers.
    #[tokio::test(start_paused = true)]
    async fn observe_refuses_a_cluster_newer_than_the_configurations_version() {
        let (spec, deps) = adopting();
        let describe = hand_built("1.31");
        let e = Cluster
            .observe(&env_over(&[&describe]), &spec, "team-eks", &deps)
            .await
            .unwrap_err();
        assert!(
            e.message
                .contains("Kubernetes 1.31, newer than the configuration's 1.30")
                && e.message.contains("never goes down"),
            "{}",
            e.message
        );
        let describe = hand_built("1.30");
        assert!(Cluster
            .observe(&env_over(&[&describe]), &spec, "team-eks", &deps)
            .await
            .is_ok());
        assert!(minor_version("1.10") > minor_version("1.9"));
        let gone = mock!(Client::describe_cluster).then_error(|| {
            aws_sdk_eks::operation::describe_cluster::DescribeClusterError::generic(
                ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .message("No cluster found for name: team-eks.")
                    .build(),
            )
        });
        assert!(Cluster
            .observe(&env_over(&[&gone]), &spec, "team-eks", &deps)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_cluster_fails_the_wait_naming_it() {
        let describe =
            mock!(Client::describe_cluster).then_output(|| cluster(ClusterStatus::Failed));
        let e = Cluster
            .wait_active(
                &env_over(&[&describe]),
                "luneo-prod-eks-primary",
                &json!({}),
            )
            .await
            .unwrap_err();
        assert!(
            e.message
                .contains("EKS cluster luneo-prod-eks-primary to be active"),
            "{}",
            e.message
        );
        assert_eq!(
            describe.num_calls(),
            1,
            "a failure state ends the wait at once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deleting_a_cluster_already_gone_waits_for_nothing() {
        let gone = || {
            ErrorMetadata::builder()
                .code("ResourceNotFoundException")
                .message("No cluster found for name: luneo-prod-eks-primary.")
                .build()
        };
        let groups =
            mock!(Client::list_nodegroups).then_error(move || ListNodegroupsError::generic(gone()));
        let delete =
            mock!(Client::delete_cluster).then_error(move || DeleteClusterError::generic(gone()));
        let describe =
            mock!(Client::describe_cluster).then_output(|| cluster(ClusterStatus::Deleting));
        Cluster
            .delete(
                &env_over(&[&groups, &delete, &describe]),
                &Record::new("eks_cluster", "luneo-prod-eks-primary", json!({})),
            )
            .await
            .unwrap();
        assert_eq!(describe.num_calls(), 0);
    }

    /// The delete waits until the last node group is gone and the update in
    /// progress is done, then retries the declared ResourceInUseException
    /// ("... currently has an update in progress"); a ResourceInUseException
    /// without that wording is not the declared one and fails at once.
    #[tokio::test(start_paused = true)]
    async fn delete_waits_for_node_groups_and_updates_and_retries_only_an_update_in_progress() {
        let fault = |code: &'static str, message: &'static str| {
            move || {
                DeleteClusterError::generic(
                    ErrorMetadata::builder().code(code).message(message).build(),
                )
            }
        };
        let strings =
            |v: &[&str]| -> Option<Vec<String>> { Some(v.iter().map(|s| s.to_string()).collect()) };
        let groups = |names: &'static [&'static str]| {
            mock!(Client::list_nodegroups).then_output(move || {
                ListNodegroupsOutput::builder()
                    .set_nodegroups(strings(names))
                    .build()
            })
        };
        let updates = |ids: &'static [&'static str]| {
            mock!(Client::list_updates).then_output(move || {
                ListUpdatesOutput::builder()
                    .set_update_ids(strings(ids))
                    .build()
            })
        };
        let update = |status: UpdateStatus| {
            mock!(Client::describe_update).then_output(move || {
                DescribeUpdateOutput::builder()
                    .update(Update::builder().id("u-1").status(status.clone()).build())
                    .build()
            })
        };
        let rec = Record::new("eks_cluster", "luneo-prod-eks-primary", json!({}));
        let (one_group, no_group, u1, running) = (
            groups(&["luneo-prod-spot-1a2b3c"]),
            groups(&[]),
            updates(&["u-1"]),
            update(UpdateStatus::InProgress),
        );
        let (no_group_again, u1_again, done) = (
            groups(&[]),
            updates(&["u-1"]),
            update(UpdateStatus::Successful),
        );
        let delete = mock!(Client::delete_cluster)
            .sequence()
            .error(fault("ResourceInUseException", "Cannot delete because cluster luneo-prod-eks-primary currently has an update in progress"))
            .error(fault("ResourceNotFoundException", "No cluster found for name: luneo-prod-eks-primary."))
            .build();
        let env = env_over(&[
            &one_group,
            &no_group,
            &u1,
            &running,
            &no_group_again,
            &u1_again,
            &done,
            &delete,
        ]);
        Cluster.delete(&env, &rec).await.unwrap();
        assert_eq!(
            (running.num_calls(), done.num_calls()),
            (1, 1),
            "the update was looked at until it finished"
        );
        assert_eq!(delete.num_calls(), 2, "an update in progress is retried");

        let (no_group, none) = (groups(&[]), updates(&[]));
        let refused = mock!(Client::delete_cluster).then_error(fault(
            "ResourceInUseException",
            "Cluster has nodegroups attached",
        ));
        let e = Cluster
            .delete(&env_over(&[&no_group, &none, &refused]), &rec)
            .await
            .unwrap_err();
        assert_eq!(refused.num_calls(), 1, "an undeclared error is not retried");
        assert!(e.message.starts_with("DeleteCluster: "), "{}", e.message);
    }
}
