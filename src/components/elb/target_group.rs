//! Target group.

use super::*;

/// An IP target group in the `vpc` dependency. Inputs: `name`, `port`,
/// `health_check_path`, `health_check_matcher`, `deregistration_delay`.
pub struct TargetGroup;

#[tonic::async_trait]
impl Kind<AwsContext> for TargetGroup {
    fn name(&self) -> &'static str {
        "elbv2_target_group"
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::VPC]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Elbv2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "port"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let elb = &env.ctx.elbv2();
        let o = elb
            .create_target_group()
            .name(spec.str("name"))
            .protocol(ProtocolEnum::Http)
            .port(spec.input("port").as_i64().unwrap_or(80) as i32)
            .vpc_id(&crate::components::need::VPC.the(deps)?.id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(spec.str("health_check_path"))
            .matcher(Matcher::builder().http_code(spec.str("health_check_matcher")).build())
            .set_tags(Some(tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateTargetGroup"))?;
        let arn = o.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn);
        if let Some(d) = spec.input("deregistration_delay").as_i64() {
            use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
            elb.modify_target_group_attributes()
                .target_group_arn(&arn)
                .attributes(TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value(d.to_string()).build())
                .send()
                .await
                .map_err(|e| OpError::from(op("ModifyTargetGroupAttributes")(e)).partial(rec.clone()))?;
        }
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.elbv2().describe_target_groups().target_group_arns(&rec.id).send().await {
            Ok(o) => Ok(o.target_groups().first().map(|t| {
                let mut r = rec.clone();
                r.inputs["health_check_path"] = json!(t.health_check_path().unwrap_or_default());
                r.inputs["port"] = json!(t.port().unwrap_or(0));
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeTargetGroups")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        env.ctx
            .elbv2()
            .modify_target_group()
            .target_group_arn(&old.id)
            .health_check_path(spec.str("health_check_path"))
            .matcher(Matcher::builder().http_code(spec.str("health_check_matcher")).build())
            .send()
            .await
            .map_err(op("ModifyTargetGroup"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let r = env
            .retry(std::time::Duration::from_secs(120), |e| crate::aws::code_in(e, &["ResourceInUse"]), || env.ctx.elbv2().delete_target_group().target_group_arn(&rec.id).send())
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteTargetGroup")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        match env.ctx.elbv2().describe_target_groups().names(spec.str("name")).send().await {
            Ok(o) => Ok(o.target_groups().first().map(|t| {
                let arn = t.target_group_arn().unwrap_or_default();
                Record::new(self.name(), arn, spec.inputs.clone()).with("arn", arn)
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeTargetGroups")(e)),
        }
    }
}
