//! Node group.

use super::*;

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
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
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
