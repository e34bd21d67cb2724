//! log group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A CloudWatch Logs group.
pub struct LogGroup;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogGroupInputs {
    pub name: String,
    /// Days the events are kept (a value CloudWatch Logs accepts); None or
    /// 0: forever.
    pub retention_days: Option<i32>,
}

impl Inputs for LogGroupInputs {
    const KIND: &'static str = "logs_log_group";
}

impl LogGroup {
    async fn describe(env: &E, name: &str) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>, OpError> {
        let o = env.ctx.logs().describe_log_groups().log_group_name_prefix(name).send().await.map_err(op("DescribeLogGroups"))?;
        Ok(o.log_groups().iter().find(|g| g.log_group_name() == Some(name)).cloned())
    }
    async fn set_retention(env: &E, group: &LogGroupInputs) -> Result<(), OpError> {
        match group.retention_days {
            Some(d) if d > 0 => {
                env.ctx.logs().put_retention_policy().log_group_name(&group.name).retention_in_days(d).send().await.map_err(op("PutRetentionPolicy"))?;
            }
            _ => {
                env.ctx.logs().delete_retention_policy().log_group_name(&group.name).send().await.map_err(op("DeleteRetentionPolicy"))?;
            }
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for LogGroup {
    fn name(&self) -> &'static str {
        "logs_log_group"
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Logs(env.ctx.arn("logs", &format!("log-group:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn check_inputs(&self, inputs: &serde_json::Value) -> Result<(), String> {
        crate::engine::inputs::check::<LogGroupInputs>(inputs)
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let group: LogGroupInputs = spec.typed()?;
        let name = group.name.as_str();
        env.ctx.logs().create_log_group().log_group_name(name).set_tags(Some(spec_tags(env, spec).into_iter().collect())).send().await.map_err(op("CreateLogGroup"))?;
        let arn = format!("arn:aws:logs:{}:{}:log-group:{}", env.ctx.region, env.ctx.account_id, name);
        let rec = Record::new(self.name(), name, spec.inputs.clone()).with("arn", arn);
        Self::set_retention(env, &group).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|g| {
            let mut r = rec.clone();
            r.inputs["retention_days"] = json!(g.retention_in_days().unwrap_or(0));
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        Self::set_retention(env, &spec.typed()?).await?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.logs().delete_log_group().log_group_name(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(op("DeleteLogGroup")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let name = spec.typed::<LogGroupInputs>()?.name;
        Ok(Self::describe(env, &name).await?.map(|g| {
            let mut inputs = spec.inputs.clone();
            inputs["retention_days"] = json!(g.retention_in_days().unwrap_or(0));
            let arn = format!("arn:aws:logs:{}:{}:log-group:{name}", env.ctx.region, env.ctx.account_id);
            Record::new(self.name(), &name, inputs).with("arn", arn)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupError;
    use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
    use aws_smithy_mocks::{mock, Rule};

    fn logs_over(rules: &[&Rule]) -> E {
        mocked::env_over!(logs, aws_sdk_cloudwatchlogs, rules)
    }

    fn groups(names: &'static [&'static str]) -> impl Fn() -> DescribeLogGroupsOutput + Send + Sync {
        move || {
            DescribeLogGroupsOutput::builder()
                .set_log_groups(Some(names.iter().map(|n| aws_sdk_cloudwatchlogs::types::LogGroup::builder().log_group_name(*n).retention_in_days(14).build()).collect()))
                .build()
        }
    }

    #[tokio::test]
    async fn a_log_group_is_found_by_its_exact_name_never_by_prefix() {
        let spec = Spec::new("logs.api", "logs_log_group", json!({"name": "/ecs/kavak", "retention_days": 30}));
        // DescribeLogGroups filters by prefix: a longer sibling is not ours.
        let sibling = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups).then_output(groups(&["/ecs/kavak-dev"]));
        assert!(LogGroup.find(&logs_over(&[&sibling]), &spec).await.unwrap().is_none());
        let both = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups).then_output(groups(&["/ecs/kavak", "/ecs/kavak-dev"]));
        let r = LogGroup.find(&logs_over(&[&both]), &spec).await.unwrap().expect("the exact name");
        assert_eq!(r.id, "/ecs/kavak");
        assert_eq!(r.inputs["retention_days"], json!(14), "the retention it has, for the plan to compare");
        assert_eq!(r.out("arn"), "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/kavak");
    }

    #[tokio::test]
    async fn delete_of_a_log_group_already_gone_succeeds() {
        let gone = mock!(aws_sdk_cloudwatchlogs::Client::delete_log_group).then_error(|| DeleteLogGroupError::generic(fault("ResourceNotFoundException")));
        let rec = Record::new("logs_log_group", "/ecs/kavak", json!({"name": "/ecs/kavak", "retention_days": 30}));
        LogGroup.delete(&logs_over(&[&gone]), &rec).await.unwrap();
        assert_eq!(gone.num_calls(), 1);
    }
}
