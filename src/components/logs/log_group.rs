//! log group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A CloudWatch Logs group.
pub struct LogGroup;

/// A principal whose policy allows the retention's change by tag (ABAC)
/// is refused until the tags the group was created with reach IAM.
const PUT_RETENTION: Call = Call::retrying(
    "logs:PutRetentionPolicy",
    PROPAGATION,
    &[NotYet::message(
        "AccessDeniedException",
        "no identity-based policy allows the logs:PutRetentionPolicy action",
        "User: arn:aws:sts::123456789012:assumed-role/x/terraform is not authorized to perform: logs:PutRetentionPolicy on resource: arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/kavak:log-stream: because no identity-based policy allows the logs:PutRetentionPolicy action",
    )],
)
.why("hashicorp/aws logs/group.go resourceGroupCreate/Update: AccessDeniedException 'no identity-based policy allows the logs:PutRetentionPolicy action' for propagationTimeout (tag-based IAM, hashicorp/aws#27028)");
/// The same, on a group created without retention (we clear it then; a
/// create that hashicorp/aws does not make).
const DELETE_RETENTION: Call = Call::retrying(
    "logs:DeleteRetentionPolicy",
    PROPAGATION,
    &[NotYet::message(
        "AccessDeniedException",
        "no identity-based policy allows the logs:DeleteRetentionPolicy action",
        "User: arn:aws:sts::123456789012:assumed-role/x/terraform is not authorized to perform: logs:DeleteRetentionPolicy on resource: arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/kavak:log-stream: because no identity-based policy allows the logs:DeleteRetentionPolicy action",
    )],
)
.why("as PutRetentionPolicy (hashicorp/aws logs/group.go, hashicorp/aws#27028): our create clears the retention of a group just created and tagged, which hashicorp/aws never does");
/// A change still being applied to the group (its retention, its tags).
const DELETE: Call = Call::retrying(
    "logs:DeleteLogGroup",
    std::time::Duration::from_secs(60),
    &[NotYet::message("OperationAbortedException", "try again", "A conflicting operation is currently in progress against this resource. Please try again.")],
)
.why("hashicorp/aws logs/group.go resourceGroupDelete: OperationAbortedException 'try again' for 1 minute");
const CALLS: &[Call] = &[
    Call::settled("logs:CreateLogGroup"),
    Call::read("logs:DescribeLogGroups"),
    PUT_RETENTION,
    DELETE_RETENTION,
    DELETE,
];

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
    async fn describe(
        env: &E,
        name: &str,
    ) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>, OpError> {
        let o = env
            .ctx
            .logs()
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .map_err(op("DescribeLogGroups"))?;
        Ok(o.log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .cloned())
    }
    async fn set_retention(env: &E, group: &LogGroupInputs) -> Result<(), OpError> {
        let logs = &env.ctx.logs();
        match group.retention_days {
            Some(d) if d > 0 => {
                env.call(&PUT_RETENTION, || {
                    logs.put_retention_policy()
                        .log_group_name(&group.name)
                        .retention_in_days(d)
                        .send()
                })
                .await
                .map_err(failed)?;
            }
            _ => {
                env.call(&DELETE_RETENTION, || {
                    logs.delete_retention_policy()
                        .log_group_name(&group.name)
                        .send()
                })
                .await
                .map_err(failed)?;
            }
        }
        Ok(())
    }
}

/// The group's ARN as `create` records it (DescribeLogGroups's ends in `:*`).
fn arn(env: &E, name: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:{name}",
        env.ctx.region, env.ctx.account_id
    )
}

/// Its retention as the inputs hold it: 0 for none (forever).
fn retention(g: &aws_sdk_cloudwatchlogs::types::LogGroup) -> serde_json::Value {
    json!(g.retention_in_days().unwrap_or(0))
}

#[tonic::async_trait]
impl Kind<AwsContext> for LogGroup {
    crate::engine::typed_kind!(LogGroupInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Logs(env.ctx.arn("logs", &format!("log-group:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let group: LogGroupInputs = spec.typed()?;
        let name = group.name.as_str();
        env.ctx
            .logs()
            .create_log_group()
            .log_group_name(name)
            .set_tags(Some(spec_tags(env, spec).into_iter().collect()))
            .send()
            .await
            .map_err(op("CreateLogGroup"))?;
        let rec = Record::new(self.name(), name, spec.inputs.clone()).with("arn", arn(env, name));
        Self::set_retention(env, &group)
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|g| {
            let mut r = rec.clone();
            r.inputs["retention_days"] = retention(&g);
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
        Self::set_retention(env, &spec.typed()?).await?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let logs = &env.ctx.logs();
        match env
            .call(&DELETE, || {
                logs.delete_log_group().log_group_name(&rec.id).send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e.error, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let name = spec.typed::<LogGroupInputs>()?.name;
        Ok(Self::describe(env, &name).await?.map(|g| {
            let mut inputs = spec.inputs.clone();
            inputs["retention_days"] = retention(&g);
            Record::new(self.name(), &name, inputs).with("arn", arn(env, &name))
        }))
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the group's name (hashicorp/aws `aws_cloudwatch_log_group.id`)
    /// or its ARN (with or without the trailing `:*`).
    async fn observe(
        &self,
        env: &E,
        _: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let name = crate::components::subnet_groups::arn_tail(id, ":log-group:");
        let name = if name.len() < id.len() {
            name.strip_suffix(":*").unwrap_or(name)
        } else {
            name
        };
        Ok(Self::describe(env, name).await?.map(|g| {
            let name = g.log_group_name().unwrap_or(name);
            let inputs = json!({"name": name, "retention_days": retention(&g)});
            Record::new(self.name(), name, inputs).with("arn", arn(env, name))
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

    fn groups(
        names: &'static [&'static str],
    ) -> impl Fn() -> DescribeLogGroupsOutput + Send + Sync {
        move || {
            DescribeLogGroupsOutput::builder()
                .set_log_groups(Some(
                    names
                        .iter()
                        .map(|n| {
                            aws_sdk_cloudwatchlogs::types::LogGroup::builder()
                                .log_group_name(*n)
                                .retention_in_days(14)
                                .build()
                        })
                        .collect(),
                ))
                .build()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_group_is_found_by_its_exact_name_never_by_prefix() {
        let spec = Spec::new(
            "logs.api",
            "logs_log_group",
            json!({"name": "/ecs/kavak", "retention_days": 30}),
        );
        // DescribeLogGroups filters by prefix: a longer sibling is not ours.
        let sibling = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .then_output(groups(&["/ecs/kavak-dev"]));
        assert!(LogGroup
            .find(&logs_over(&[&sibling]), &spec)
            .await
            .unwrap()
            .is_none());
        let both = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .then_output(groups(&["/ecs/kavak", "/ecs/kavak-dev"]));
        let r = LogGroup
            .find(&logs_over(&[&both]), &spec)
            .await
            .unwrap()
            .expect("the exact name");
        assert_eq!(r.id, "/ecs/kavak");
        assert_eq!(
            r.inputs["retention_days"],
            json!(14),
            "the retention it has, for the plan to compare"
        );
        assert_eq!(
            r.out("arn"),
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/kavak"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn delete_of_a_log_group_already_gone_succeeds() {
        let gone = mock!(aws_sdk_cloudwatchlogs::Client::delete_log_group)
            .then_error(|| DeleteLogGroupError::generic(fault("ResourceNotFoundException")));
        let rec = Record::new(
            "logs_log_group",
            "/ecs/kavak",
            json!({"name": "/ecs/kavak", "retention_days": 30}),
        );
        LogGroup.delete(&logs_over(&[&gone]), &rec).await.unwrap();
        assert_eq!(gone.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delete_meeting_a_conflicting_change_is_retried_and_a_refusal_is_not() {
        use aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupOutput;
        let rec = Record::new(
            "logs_log_group",
            "/ecs/kavak",
            json!({"name": "/ecs/kavak", "retention_days": 30}),
        );
        let conflict = || {
            DeleteLogGroupError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("OperationAbortedException")
                    .message("A conflicting operation is currently in progress against this resource. Please try again.")
                    .build(),
            )
        };
        let retried = mock!(aws_sdk_cloudwatchlogs::Client::delete_log_group)
            .sequence()
            .error(conflict)
            .output(|| DeleteLogGroupOutput::builder().build())
            .build();
        LogGroup
            .delete(&logs_over(&[&retried]), &rec)
            .await
            .unwrap();
        assert_eq!(retried.num_calls(), 2);
        let denied = mock!(aws_sdk_cloudwatchlogs::Client::delete_log_group)
            .then_error(|| DeleteLogGroupError::generic(fault("AccessDeniedException")));
        assert!(
            LogGroup.delete(&logs_over(&[&denied]), &rec).await.is_err(),
            "a refusal is not a success"
        );
        assert_eq!(denied.num_calls(), 1, "not retried");
    }

    #[tokio::test(start_paused = true)]
    async fn observe_takes_a_name_or_arn_and_reports_the_groups_own_name_and_retention() {
        let spec = Spec::new(
            "logs",
            "logs_log_group",
            json!({"name": "/ecs/kavak-app", "retention_days": 30}),
        );
        for id in [
            "/ecs/kavak",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/kavak",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/kavak:*",
        ] {
            let d = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
                .match_requests(|r| r.log_group_name_prefix() == Some("/ecs/kavak"))
                .then_output(groups(&["/ecs/kavak", "/ecs/kavak-dev"]));
            let r = LogGroup
                .observe(&logs_over(&[&d]), &spec, id, &Records::new())
                .await
                .unwrap()
                .expect("the group exists");
            assert_eq!(r.id, "/ecs/kavak", "{id}");
            assert_eq!(
                r.inputs,
                json!({"name": "/ecs/kavak", "retention_days": 14}),
                "its own name (kept) and retention, not the configuration's"
            );
            assert_eq!(
                r.out("arn"),
                "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/kavak"
            );
        }
        let sibling = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .then_output(groups(&["/ecs/kavak-dev"]));
        assert!(LogGroup
            .observe(
                &logs_over(&[&sibling]),
                &spec,
                "/ecs/kavak",
                &Records::new()
            )
            .await
            .unwrap()
            .is_none());
    }
}
