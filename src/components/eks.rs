//! EKS: the cluster, its managed node groups, the OIDC provider that IRSA
//! roles trust, and the load balancers the AWS Load Balancer Controller
//! leaves behind for a cluster.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, sdk_wait, spec_tags, E};
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Timeouts, Waiter};
use crate::provider::AwsContext;
use aws_sdk_eks::client::Waiters;
use serde_json::{json, Value as Json};
use std::time::Duration;

use super::json_strings as strings;

/// An update (version, endpoint access, logging, scaling, labels): one that
/// failed or was cancelled ends the wait with its errors.
const UPDATE_DONE: Waiter = Waiter::new("to finish", &["InProgress"], &["Successful"]).poll(Duration::from_secs(15));

fn missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::code_in(e, &["ResourceNotFoundException"])
}

/// A cluster's and a node group's subnets, in the slot `subnets` (the
/// order the stack gives them).
const SUBNETS: Need = super::need::SUBNETS.in_slot("subnets");
/// The role the cluster or the nodes act as, in the slot `role`.
const ROLE: Need = super::need::ROLE.in_slot("role");

fn subnet_ids(spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
    SUBNETS.ids_in(spec, deps)
}

// ---------------------------------------------------------------- cluster

/// Inputs: `name`, `version`, `endpoint_public`, `endpoint_private`,
/// `logs` (control-plane log types); slots `subnets` and `role` (the
/// cluster role).
pub struct Cluster;

impl Cluster {
    fn observe(&self, inputs: &Json, c: &aws_sdk_eks::types::Cluster) -> Record {
        let mut inputs = inputs.clone();
        inputs["version"] = json!(c.version());
        if let Some(v) = c.resources_vpc_config() {
            inputs["endpoint_public"] = json!(v.endpoint_public_access());
            inputs["endpoint_private"] = json!(v.endpoint_private_access());
        }
        let mut logs: Vec<String> = c
            .logging()
            .map(|l| l.cluster_logging().iter().filter(|s| s.enabled() == Some(true)).flat_map(|s| s.types().iter().map(|t| t.as_str().to_string())).collect())
            .unwrap_or_default();
        logs.sort();
        inputs["logs"] = json!(logs);
        Record::new(self.name(), c.name().unwrap_or_default(), inputs)
            .with("arn", c.arn().unwrap_or_default())
            .with("endpoint", c.endpoint().unwrap_or_default())
            .with("ca_data", c.certificate_authority().and_then(|a| a.data()).unwrap_or_default())
            .with("oidc_issuer", c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()).unwrap_or_default())
            .with("security_group", c.resources_vpc_config().and_then(|v| v.cluster_security_group_id()).unwrap_or_default())
    }

    async fn describe(env: &E, name: &str) -> Result<Option<aws_sdk_eks::types::Cluster>, OpError> {
        match env.ctx.eks().describe_cluster().name(name).send().await {
            Ok(o) => Ok(o.cluster().cloned()),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeCluster")(e)),
        }
    }

    fn logging(spec: &Spec) -> aws_sdk_eks::types::Logging {
        use aws_sdk_eks::types::{LogSetup, LogType, Logging};
        let all = ["api", "audit", "authenticator", "controllerManager", "scheduler"];
        let on = strings(spec.input("logs"));
        let enabled: Vec<LogType> = on.iter().map(|t| LogType::from(t.as_str())).collect();
        let disabled: Vec<LogType> = all.iter().filter(|t| !on.iter().any(|o| o == *t)).map(|t| LogType::from(*t)).collect();
        let mut b = Logging::builder();
        if !enabled.is_empty() {
            b = b.cluster_logging(LogSetup::builder().set_types(Some(enabled)).enabled(true).build());
        }
        if !disabled.is_empty() {
            b = b.cluster_logging(LogSetup::builder().set_types(Some(disabled)).enabled(false).build());
        }
        b.build()
    }

    async fn wait_active(&self, env: &E, name: &str, inputs: &Json) -> Result<Record, OpError> {
        let c = env.ctx.eks().clone();
        let n = name.to_string();
        sdk_wait(env, &format!("EKS cluster {name} to be active"), |max| async move { c.wait_until_cluster_active().name(n).wait(max).await }).await?;
        let c = Self::describe(env, name).await?.ok_or_else(|| OpError::new(format!("EKS cluster {name} disappeared")))?;
        Ok(self.observe(inputs, &c))
    }

    /// Waits for an update (version, endpoint, logging) to finish.
    async fn wait_update(env: &E, name: &str, update_id: &str) -> Result<(), OpError> {
        env.wait(&UPDATE_DONE, &format!("update {update_id} of EKS cluster {name}"), || async {
            let o = env.ctx.eks().describe_update().name(name).update_id(update_id).send().await.map_err(op("DescribeUpdate"))?;
            let Some(u) = o.update() else { return Ok(None) };
            let errors: Vec<&str> = u.errors().iter().filter_map(|e| e.error_message()).collect();
            if !errors.is_empty() {
                return Err(OpError::new(format!("update {update_id} of EKS cluster {name} failed: {}", errors.join("; "))));
            }
            Ok(Some((u.status().map(|s| s.as_str()).unwrap_or_default().to_string(), ())))
        })
        .await
        .map(|_| ())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Cluster {
    fn name(&self) -> &'static str {
        "eks_cluster"
    }
    fn needs(&self) -> &'static [Need] {
        &[SUBNETS, ROLE]
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
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_eks::types::VpcConfigRequest;
        let name = spec.str("name");
        let role = ROLE.the_in(spec, deps)?.out("arn").to_string();
        env.retry(
            Duration::from_secs(60),
            // A just-created role is not yet visible to EKS.
            |e: &aws_smithy_runtime_api::client::result::SdkError<_, _>| crate::aws::code_in(e, &["InvalidParameterException"]) && crate::aws::error_text(e).contains("role"),
            || {
                env.ctx
                    .eks()
                    .create_cluster()
                    .name(name)
                    .version(spec.str("version"))
                    .role_arn(&role)
                    .resources_vpc_config(
                        VpcConfigRequest::builder()
                            .set_subnet_ids(subnet_ids(spec, deps).ok())
                            .endpoint_public_access(spec.input("endpoint_public").as_bool().unwrap_or(true))
                            .endpoint_private_access(spec.input("endpoint_private").as_bool().unwrap_or(true))
                            .build(),
                    )
                    .logging(Self::logging(spec))
                    .set_tags(Some(spec_tags(env, spec).into_iter().collect()))
                    .send()
            },
        )
        .await
        .map_err(op("CreateCluster"))?;
        let rec = Record::new(self.name(), name, spec.inputs.clone());
        self.wait_active(env, name, &spec.inputs).await.map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|c| self.observe(&rec.inputs, &c)))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_eks::types::VpcConfigRequest;
        let name = &old.id;
        if spec.input("version") != &old.inputs["version"] {
            // One minor version at a time, as EKS requires (validated at plan).
            let o = env.ctx.eks().update_cluster_version().name(name).version(spec.str("version")).send().await.map_err(op("UpdateClusterVersion"))?;
            Self::wait_update(env, name, o.update().and_then(|u| u.id()).unwrap_or_default()).await?;
        }
        let access_changed = spec.input("endpoint_public") != &old.inputs["endpoint_public"] || spec.input("endpoint_private") != &old.inputs["endpoint_private"];
        if access_changed {
            let o = env
                .ctx
                .eks()
                .update_cluster_config()
                .name(name)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .endpoint_public_access(spec.input("endpoint_public").as_bool().unwrap_or(true))
                        .endpoint_private_access(spec.input("endpoint_private").as_bool().unwrap_or(true))
                        .build(),
                )
                .send()
                .await
                .map_err(op("UpdateClusterConfig"))?;
            Self::wait_update(env, name, o.update().and_then(|u| u.id()).unwrap_or_default()).await?;
        }
        if spec.input("logs") != &old.inputs["logs"] {
            let o = env.ctx.eks().update_cluster_config().name(name).logging(Self::logging(spec)).send().await.map_err(op("UpdateClusterConfig"))?;
            Self::wait_update(env, name, o.update().and_then(|u| u.id()).unwrap_or_default()).await?;
        }
        self.wait_active(env, name, &spec.inputs).await
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.eks().delete_cluster().name(&rec.id).send().await {
            Ok(_) => {}
            Err(e) if missing(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteCluster")(e)),
        }
        let c = env.ctx.eks().clone();
        let n = rec.id.clone();
        sdk_wait(env, &format!("EKS cluster {} to be deleted", rec.id), |max| async move { c.wait_until_cluster_deleted().name(n).wait(max).await }).await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, spec.str("name")).await?.map(|c| self.observe(&spec.inputs, &c)))
    }
}

// ---------------------------------------------------------------- node group

/// Inputs: `cluster`, `name` (carries a hash of what cannot change in
/// place, so that a replacement gets a new name), `capacity_type`,
/// `instance_types`, `ami_type`, `min_size`, `max_size`, `desired_size`,
/// `labels`, `subnets` (dependency names), `role` (the dependency name of
/// the node role).
pub struct NodeGroup;

impl NodeGroup {
    async fn describe(env: &E, cluster: &str, name: &str) -> Result<Option<aws_sdk_eks::types::Nodegroup>, OpError> {
        match env.ctx.eks().describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await {
            Ok(o) => Ok(o.nodegroup().cloned()),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(op("DescribeNodegroup")(e)),
        }
    }

    fn observe(&self, inputs: &Json, g: &aws_sdk_eks::types::Nodegroup) -> Record {
        let mut inputs = inputs.clone();
        if let Some(s) = g.scaling_config() {
            inputs["min_size"] = json!(s.min_size());
            inputs["max_size"] = json!(s.max_size());
            // The desired size is the cluster autoscaler's to move between
            // min and max once the group exists: not drift.
        }
        inputs["capacity_type"] = json!(g.capacity_type().map(|c| c.as_str()));
        inputs["instance_types"] = json!(g.instance_types());
        inputs["ami_type"] = json!(g.ami_type().map(|a| a.as_str()));
        let labels: serde_json::Map<String, Json> = g.labels().map(|l| l.iter().map(|(k, v)| (k.clone(), json!(v))).collect()).unwrap_or_default();
        inputs["labels"] = Json::Object(labels);
        Record::new(self.name(), format!("{}:{}", g.cluster_name().unwrap_or_default(), g.nodegroup_name().unwrap_or_default()), inputs)
            .with("arn", g.nodegroup_arn().unwrap_or_default())
    }

    fn names(rec: &Record) -> (String, String) {
        let (c, n) = rec.id.split_once(':').unwrap_or(("", &rec.id));
        (c.to_string(), n.to_string())
    }

    fn scaling(spec: &Spec) -> aws_sdk_eks::types::NodegroupScalingConfig {
        aws_sdk_eks::types::NodegroupScalingConfig::builder()
            .min_size(spec.input("min_size").as_i64().unwrap_or(1) as i32)
            .max_size(spec.input("max_size").as_i64().unwrap_or(3) as i32)
            .desired_size(spec.input("desired_size").as_i64().unwrap_or(1) as i32)
            .build()
    }

    async fn wait_active(&self, env: &E, cluster: &str, name: &str, inputs: &Json) -> Result<Record, OpError> {
        let c = env.ctx.eks().clone();
        let (cl, n) = (cluster.to_string(), name.to_string());
        sdk_wait(env, &format!("node group {name} to be active"), |max| async move { c.wait_until_nodegroup_active().cluster_name(cl).nodegroup_name(n).wait(max).await }).await?;
        let g = Self::describe(env, cluster, name).await?.ok_or_else(|| OpError::new(format!("node group {name} disappeared")))?;
        Ok(self.observe(inputs, &g))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for NodeGroup {
    fn name(&self) -> &'static str {
        "eks_node_group"
    }
    fn needs(&self) -> &'static [Need] {
        &[SUBNETS, ROLE]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(60, 60, 60)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Eks(r.out("arn").to_string()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["cluster", "name", "capacity_type", "instance_types", "ami_type", "subnets"]
    }
    /// The workloads move to the new nodes before the old ones drain.
    fn create_before_destroy(&self) -> bool {
        true
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_eks::types::{AmiTypes, CapacityTypes};
        let (cluster, name) = (spec.str("cluster"), spec.str("name"));
        let role = ROLE.the_in(spec, deps)?.out("arn").to_string();
        let labels: std::collections::HashMap<String, String> =
            spec.input("labels").as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()).unwrap_or_default();
        env.retry(
            Duration::from_secs(60),
            |e: &aws_smithy_runtime_api::client::result::SdkError<_, _>| crate::aws::code_in(e, &["InvalidParameterException"]) && crate::aws::error_text(e).contains("role"),
            || {
                env.ctx
                    .eks()
                    .create_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .node_role(&role)
                    .set_subnets(subnet_ids(spec, deps).ok())
                    .scaling_config(Self::scaling(spec))
                    .set_instance_types(Some(strings(spec.input("instance_types"))))
                    .capacity_type(CapacityTypes::from(spec.str("capacity_type")))
                    .ami_type(AmiTypes::from(spec.str("ami_type")))
                    .set_labels(Some(labels.clone()))
                    .set_tags(Some(spec_tags(env, spec).into_iter().collect()))
                    .send()
            },
        )
        .await
        .map_err(op("CreateNodegroup"))?;
        let rec = Record::new(self.name(), format!("{cluster}:{name}"), spec.inputs.clone());
        self.wait_active(env, cluster, name, &spec.inputs).await.map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let (c, n) = Self::names(rec);
        Ok(Self::describe(env, &c, &n).await?.map(|g| {
            let mut r = self.observe(&rec.inputs, &g);
            r.tags = rec.tags.clone();
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_eks::types::UpdateLabelsPayload;
        let (c, n) = Self::names(old);
        let want: serde_json::Map<String, Json> = spec.input("labels").as_object().cloned().unwrap_or_default();
        let had: serde_json::Map<String, Json> = old.inputs["labels"].as_object().cloned().unwrap_or_default();
        let set: std::collections::HashMap<String, String> =
            want.iter().filter(|(k, v)| had.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect();
        let remove: Vec<String> = had.keys().filter(|k| !want.contains_key(*k)).cloned().collect();
        let mut req = env.ctx.eks().update_nodegroup_config().cluster_name(&c).nodegroup_name(&n).scaling_config(Self::scaling(spec));
        if !set.is_empty() || !remove.is_empty() {
            req = req.labels(
                UpdateLabelsPayload::builder().set_add_or_update_labels((!set.is_empty()).then_some(set)).set_remove_labels((!remove.is_empty()).then_some(remove)).build(),
            );
        }
        let o = req.send().await.map_err(op("UpdateNodegroupConfig"))?;
        if let Some(id) = o.update().and_then(|u| u.id()) {
            env.wait(&UPDATE_DONE, &format!("update {id} of node group {n}"), || async {
                match env.ctx.eks().describe_update().name(&c).nodegroup_name(&n).update_id(id).send().await {
                    Ok(d) => Ok(d.update().map(|u| (u.status().map(|s| s.as_str()).unwrap_or_default().to_string(), ()))),
                    // An update AWS no longer lists: the node group's own
                    // status (waited for next) says when it is done.
                    Err(e) if missing(&e) => Ok(Some(("Successful".to_string(), ()))),
                    Err(e) => Err(op("DescribeUpdate")(e)),
                }
            })
            .await?;
        }
        let mut r = self.wait_active(env, &c, &n, &spec.inputs).await?;
        r.outputs = old.outputs.clone();
        Ok(r)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let (c, n) = Self::names(rec);
        match env.ctx.eks().delete_nodegroup().cluster_name(&c).nodegroup_name(&n).send().await {
            Ok(_) => {}
            Err(e) if missing(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteNodegroup")(e)),
        }
        let cl = env.ctx.eks().clone();
        let (c2, n2) = (c.clone(), n.clone());
        sdk_wait(env, &format!("node group {n} to be deleted"), |max| async move { cl.wait_until_nodegroup_deleted().cluster_name(c2).nodegroup_name(n2).wait(max).await }).await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, spec.str("cluster"), spec.str("name")).await?.map(|g| self.observe(&spec.inputs, &g)))
    }
}

// ---------------------------------------------------------------- OIDC provider

/// The IAM OIDC provider of the `cluster` dependency's issuer, for IRSA.
/// Inputs: `cluster` (name), `client_ids`. Outputs: `arn`, `issuer_host`.
pub struct OidcProvider;

const CLUSTER: Need = Need::one("EKS cluster", &["eks_cluster"]);

/// The thumbprint of the root CA of every EKS OIDC issuer (IAM no longer
/// checks it for these, but the API still asks for one).
const EKS_OIDC_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

impl OidcProvider {
    fn arn_for(env: &E, issuer: &str) -> String {
        format!("arn:aws:iam::{}:oidc-provider/{}", env.ctx.account_id, issuer.trim_start_matches("https://"))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for OidcProvider {
    fn name(&self) -> &'static str {
        "iam_oidc_provider"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[CLUSTER]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::IamOidcProvider(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["cluster"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let issuer = CLUSTER.the(deps)?.out("oidc_issuer").to_string();
        if issuer.is_empty() {
            return Err(OpError::new(format!("EKS cluster {} reports no OIDC issuer", spec.str("cluster"))));
        }
        let tags =
            spec_tags(env, spec).into_iter().map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
        let o = env
            .ctx
            .iam()
            .create_open_id_connect_provider()
            .url(&issuer)
            .set_client_id_list(Some(strings(spec.input("client_ids"))))
            .thumbprint_list(EKS_OIDC_THUMBPRINT)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateOpenIDConnectProvider"))?;
        let arn = o.open_id_connect_provider_arn().unwrap_or_default().to_string();
        Ok(Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn).with("issuer_host", issuer.trim_start_matches("https://")))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.iam().get_open_id_connect_provider().open_id_connect_provider_arn(&rec.id).send().await {
            Ok(o) => {
                let mut r = rec.clone();
                let mut ids: Vec<String> = o.client_id_list().to_vec();
                ids.sort();
                r.inputs["client_ids"] = json!(ids);
                Ok(Some(r))
            }
            Err(e) if crate::aws::is_not_found(&e) => Ok(None),
            Err(e) => Err(op("GetOpenIDConnectProvider")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        let want = strings(spec.input("client_ids"));
        let have = strings(&old.inputs["client_ids"]);
        for id in want.iter().filter(|i| !have.contains(i)) {
            env.ctx
                .iam()
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(&old.id)
                .client_id(id)
                .send()
                .await
                .map_err(op("AddClientIDToOpenIDConnectProvider"))?;
        }
        for id in have.iter().filter(|i| !want.contains(i)) {
            env.ctx
                .iam()
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(&old.id)
                .client_id(id)
                .send()
                .await
                .map_err(op("RemoveClientIDFromOpenIDConnectProvider"))?;
        }
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.iam().delete_open_id_connect_provider().open_id_connect_provider_arn(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::is_not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteOpenIDConnectProvider")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        // The provider is named by its cluster's issuer.
        let Some(c) = Cluster::describe(env, spec.str("cluster")).await? else { return Ok(None) };
        let Some(issuer) = c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()) else { return Ok(None) };
        let arn = Self::arn_for(env, issuer);
        let probe = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn).with("issuer_host", issuer.trim_start_matches("https://"));
        self.read(env, &probe).await
    }
}

// ---------------------------------------------------------------- controller leftovers

/// What the AWS Load Balancer Controller creates for the Kubernetes
/// ingresses and services of a cluster: load balancers, target groups and
/// security groups tagged `elbv2.k8s.aws/cluster = <cluster>`. Terraform
/// never created them, yet they hold the VPC's subnets and so block its
/// deletion. This component exists before the cluster and is deleted after
/// it (the controller is gone) and before the network: its delete removes
/// exactly those objects, and nothing untagged. Inputs: `cluster`.
pub struct ControllerLeftovers;

pub const CONTROLLER_CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

impl ControllerLeftovers {
    /// (load balancers, target groups) tagged for `cluster`, by ARN.
    async fn tagged(env: &E, cluster: &str) -> Result<(Vec<String>, Vec<String>), OpError> {
        let elb = &env.ctx.elbv2();
        let mut lbs = vec![];
        let mut pages = elb.describe_load_balancers().into_paginator().send();
        while let Some(p) = pages.next().await {
            lbs.extend(p.map_err(op("DescribeLoadBalancers"))?.load_balancers().iter().filter_map(|l| l.load_balancer_arn().map(str::to_string)));
        }
        let mut tgs = vec![];
        let mut pages = elb.describe_target_groups().into_paginator().send();
        while let Some(p) = pages.next().await {
            tgs.extend(p.map_err(op("DescribeTargetGroups"))?.target_groups().iter().filter_map(|t| t.target_group_arn().map(str::to_string)));
        }
        let mut out = (vec![], vec![]);
        for (all, into) in [(lbs, &mut out.0), (tgs, &mut out.1)] {
            for chunk in all.chunks(20) {
                let o = elb.describe_tags().set_resource_arns(Some(chunk.to_vec())).send().await.map_err(op("DescribeTags"))?;
                for d in o.tag_descriptions() {
                    if d.tags().iter().any(|t| t.key() == Some(CONTROLLER_CLUSTER_TAG) && t.value() == Some(cluster)) {
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
            .filters(Filter::builder().name(format!("tag:{CONTROLLER_CLUSTER_TAG}")).values(cluster).build())
            .send()
            .await
            .map_err(op("DescribeSecurityGroups"))?;
        // Checked again here: not every endpoint applies tag filters.
        Ok(o.security_groups()
            .iter()
            .filter(|g| g.tags().iter().any(|t| t.key() == Some(CONTROLLER_CLUSTER_TAG) && t.value() == Some(cluster)))
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
    fn name(&self) -> &'static str {
        "eks_lb_controller_leftovers"
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(10, 10, 20)
    }
    async fn create(&self, _: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        Ok(Record::new(self.name(), spec.str("cluster"), spec.inputs.clone()))
    }
    async fn read(&self, _: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Some(rec.clone()))
    }
    async fn update(&self, _: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
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
            match env.ctx.elbv2().delete_load_balancer().load_balancer_arn(arn).send().await {
                Ok(_) => {}
                Err(e) if crate::aws::is_not_found(&e) => {}
                Err(e) => return Err(op("DeleteLoadBalancer")(e)),
            }
        }
        for arn in &lbs {
            env.wait(&super::elb::LB_DELETED, &format!("load balancer {arn}"), || super::elb::lb_state(env, arn)).await?;
        }
        for arn in &tgs {
            match env
                .retry(
                    Duration::from_secs(120),
                    |e: &aws_smithy_runtime_api::client::result::SdkError<_, _>| crate::aws::code_in(e, &["ResourceInUse"]),
                    || env.ctx.elbv2().delete_target_group().target_group_arn(arn).send(),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if crate::aws::is_not_found(&e) => {}
                Err(e) => return Err(op("DeleteTargetGroup")(e)),
            }
        }
        for g in Self::security_groups(env, cluster).await? {
            // The load balancers' network interfaces go a little after them.
            match env
                .retry(
                    Duration::from_secs(300),
                    |e: &aws_smithy_runtime_api::client::result::SdkError<_, _>| crate::aws::code_in(e, &["DependencyViolation"]),
                    || env.ctx.ec2().delete_security_group().group_id(&g).send(),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if crate::aws::is_not_found(&e) => {}
                Err(e) => return Err(op("DeleteSecurityGroup")(e)),
            }
        }
        Ok(())
    }
    /// Nothing in AWS to find: the component is the cleanup of its
    /// cluster's leftovers, found (import, adoption) with its cluster.
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(Cluster::describe(env, spec.str("cluster")).await?.map(|_| Record::new(self.name(), spec.str("cluster"), spec.inputs.clone())))
    }
    /// The cluster's owner.
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        use crate::engine::Cloud;
        env.ctx.read_tags(&TagRef::Eks(env.ctx.arn("eks", &format!("cluster/{}", found.id)))).await.map(|t| t.and_then(|t| t.get(crate::engine::TAG_STACK_ID).cloned()))
    }
}

/// The cluster's waits against aws-smithy-mocks: a cluster that ends
/// FAILED (which the emulator never plays) fails the create with its name,
/// and a delete of a cluster already gone waits for nothing.
#[cfg(test)]
mod tests {
    use super::super::mocked;
    use super::*;
    use aws_sdk_eks::operation::delete_cluster::DeleteClusterError;
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput;
    use aws_sdk_eks::types::{Cluster as EksCluster, ClusterStatus, Identity, Oidc};
    use aws_sdk_eks::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(eks, aws_sdk_eks, rules)
    }

    fn cluster(status: ClusterStatus) -> DescribeClusterOutput {
        let oidc = Identity::builder().oidc(Oidc::builder().issuer("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC").build()).build();
        DescribeClusterOutput::builder().cluster(EksCluster::builder().name("luneo-prod-eks-primary").status(status).endpoint("https://abc.eks").identity(oidc).build()).build()
    }

    #[tokio::test]
    async fn an_active_cluster_is_recorded_with_its_endpoint_and_issuer() {
        // The waiter's poll, then the read of what it became.
        let describe =
            mock!(Client::describe_cluster).match_requests(|r| r.name() == Some("luneo-prod-eks-primary")).sequence().output(|| cluster(ClusterStatus::Active)).times(2).build();
        let rec = Cluster.wait_active(&env_over(&[&describe]), "luneo-prod-eks-primary", &json!({})).await.unwrap();
        assert_eq!(rec.id, "luneo-prod-eks-primary");
        assert_eq!(rec.out("endpoint"), "https://abc.eks");
        assert_eq!(rec.out("oidc_issuer"), "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC");
    }

    #[tokio::test]
    async fn a_failed_cluster_fails_the_wait_naming_it() {
        let describe = mock!(Client::describe_cluster).then_output(|| cluster(ClusterStatus::Failed));
        let e = Cluster.wait_active(&env_over(&[&describe]), "luneo-prod-eks-primary", &json!({})).await.unwrap_err();
        assert!(e.message.contains("EKS cluster luneo-prod-eks-primary to be active"), "{}", e.message);
        assert_eq!(describe.num_calls(), 1, "a failure state ends the wait at once");
    }

    #[tokio::test]
    async fn deleting_a_cluster_already_gone_waits_for_nothing() {
        let delete = mock!(Client::delete_cluster).then_error(|| {
            DeleteClusterError::generic(ErrorMetadata::builder().code("ResourceNotFoundException").message("No cluster found for name: luneo-prod-eks-primary.").build())
        });
        let describe = mock!(Client::describe_cluster).then_output(|| cluster(ClusterStatus::Deleting));
        Cluster.delete(&env_over(&[&delete, &describe]), &Record::new("eks_cluster", "luneo-prod-eks-primary", json!({}))).await.unwrap();
        assert_eq!(describe.num_calls(), 0);
    }
}
