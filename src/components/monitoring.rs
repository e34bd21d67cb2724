//! FinOps and monitoring: SNS topic and e-mail subscriptions, AWS Budgets,
//! CloudWatch alarms, EventBridge Scheduler schedules.

use super::tagging::TagRef;
use super::Tagging;
use super::{bad, op, spec_tags, E};
use crate::aws::code_in;
use crate::engine::{Kind, Need, OpError, Record, Records, Spec};
use crate::provider::AwsContext;
use serde_json::json;
use std::time::Duration;

// ---------------------------------------------------------------- SNS topic + e-mail subscriptions

/// Inputs: `name`, `emails` (subscribed with protocol email).
pub struct Topic;

impl Topic {
    async fn subscribe_missing(env: &E, arn: &str, emails: &[String]) -> Result<(), OpError> {
        let l = env.ctx.sns().list_subscriptions_by_topic().topic_arn(arn).send().await.map_err(op("ListSubscriptionsByTopic"))?;
        let have: Vec<String> = l.subscriptions().iter().filter_map(|s| s.endpoint().map(str::to_string)).collect();
        for e in emails.iter().filter(|e| !have.contains(e)) {
            env.ctx.sns().subscribe().topic_arn(arn).protocol("email").endpoint(e).send().await.map_err(op("Subscribe"))?;
        }
        for s in l.subscriptions() {
            if let (Some(ep), Some(sarn)) = (s.endpoint(), s.subscription_arn()) {
                if !emails.iter().any(|e| e == ep) && sarn.starts_with("arn:") {
                    env.ctx.sns().unsubscribe().subscription_arn(sarn).send().await.map_err(op("Unsubscribe"))?;
                }
            }
        }
        Ok(())
    }
}

fn emails(spec: &Spec) -> Vec<String> {
    super::json_strings(spec.input("emails"))
}

#[tonic::async_trait]
impl Kind<AwsContext> for Topic {
    fn name(&self) -> &'static str {
        "sns_topic"
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Sns(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let tags: Vec<aws_sdk_sns::types::Tag> = spec_tags(env, spec).into_iter().filter_map(|(k, v)| aws_sdk_sns::types::Tag::builder().key(k).value(v).build().ok()).collect();
        let out = env.ctx.sns().create_topic().name(spec.str("name")).set_tags(Some(tags)).send().await.map_err(op("CreateTopic"))?;
        let arn = out.topic_arn().unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn);
        Self::subscribe_missing(env, &arn, &emails(spec)).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.sns().get_topic_attributes().topic_arn(&rec.id).send().await {
            Ok(_) => {
                let mut r = rec.clone();
                let l = env.ctx.sns().list_subscriptions_by_topic().topic_arn(&rec.id).send().await.map_err(op("ListSubscriptionsByTopic"))?;
                let mut have: Vec<String> = l.subscriptions().iter().filter_map(|s| s.endpoint().map(str::to_string)).collect();
                have.sort();
                r.inputs["emails"] = json!(have);
                Ok(Some(r))
            }
            Err(e) if code_in(&e, &["NotFound", "NotFoundException"]) => Ok(None),
            Err(e) => Err(op("GetTopicAttributes")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        Self::subscribe_missing(env, &old.id, &emails(spec)).await?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        if let Ok(l) = env.ctx.sns().list_subscriptions_by_topic().topic_arn(&rec.id).send().await {
            for s in l.subscriptions() {
                if let Some(sarn) = s.subscription_arn().filter(|a| a.starts_with("arn:")) {
                    let _ = env.ctx.sns().unsubscribe().subscription_arn(sarn).send().await;
                }
            }
        }
        match env.ctx.sns().delete_topic().topic_arn(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code_in(&e, &["NotFound", "NotFoundException"]) => Ok(()),
            Err(e) => Err(op("DeleteTopic")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let arn = format!("arn:aws:sns:{}:{}:{}", env.ctx.region, env.ctx.account_id, spec.str("name"));
        let probe = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn);
        self.read(env, &probe).await
    }
}

// ---------------------------------------------------------------- Budgets

/// Inputs: `name`, `limit_usd`, `project_tag` (null = whole account),
/// `threshold_percent`; notifies the `topic` dependency.
pub struct Budget;

impl Budget {
    fn budget(spec: &Spec) -> Result<aws_sdk_budgets::types::Budget, OpError> {
        use aws_sdk_budgets::types::*;
        let mut b = Budget::builder()
            .budget_name(spec.str("name"))
            .budget_limit(Spend::builder().amount(format!("{}", spec.input("limit_usd").as_f64().unwrap_or(0.0))).unit("USD").build().map_err(bad("budget limit"))?)
            .time_unit(TimeUnit::Monthly)
            .budget_type(BudgetType::Cost);
        if let Some(p) = spec.input("project_tag").as_str() {
            #[allow(deprecated)]
            let nb = b.cost_filters("TagKeyValue", vec![format!("user:Project${p}")]);
            b = nb;
        }
        b.build().map_err(bad("budget"))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Budget {
    fn name(&self) -> &'static str {
        "budget"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::TOPIC]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Budget(format!("arn:aws:budgets::{}:budget/{}", env.ctx.account_id, r.id)))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_budgets::types::*;
        let topic = &super::need::TOPIC.the(deps)?.id;
        let n = NotificationWithSubscribers::builder()
            .notification(
                Notification::builder()
                    .notification_type(NotificationType::Actual)
                    .comparison_operator(ComparisonOperator::GreaterThan)
                    .threshold(spec.input("threshold_percent").as_f64().unwrap_or(80.0))
                    .threshold_type(ThresholdType::Percentage)
                    .build()
                    .map_err(bad("notification"))?,
            )
            .subscribers(Subscriber::builder().subscription_type(SubscriptionType::Sns).address(topic).build().map_err(bad("subscriber"))?)
            .build()
            .map_err(bad("notification"))?;
        // Tagged at create, so that an interrupted apply leaves a budget the
        // next one can prove is its own (the engine's find runs first).
        let tags = spec_tags(env, spec).into_iter().map(|(k, v)| ResourceTag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(bad("tag"))?;
        env.ctx
            .budgets()
            .create_budget()
            .account_id(&env.ctx.account_id)
            .budget(Self::budget(spec)?)
            .notifications_with_subscribers(n)
            .set_resource_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateBudget"))?;
        Ok(Record::new(self.name(), spec.str("name"), spec.inputs.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.budgets().describe_budget().account_id(&env.ctx.account_id).budget_name(&rec.id).send().await {
            Ok(o) => {
                let mut r = rec.clone();
                if let Some(amount) = o.budget().and_then(|b| b.budget_limit()).map(|l| l.amount()) {
                    if let Ok(a) = amount.parse::<f64>() {
                        r.inputs["limit_usd"] = json!(a);
                    }
                }
                Ok(Some(r))
            }
            Err(e) if code_in(&e, &["NotFoundException"]) => Ok(None),
            Err(e) => Err(op("DescribeBudget")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        if spec.inputs == old.inputs {
            return Ok(Record { id: spec.str("name").to_string(), ..old.clone() });
        }
        env.ctx.budgets().update_budget().account_id(&env.ctx.account_id).new_budget(Self::budget(spec)?).send().await.map_err(op("UpdateBudget"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.budgets().delete_budget().account_id(&env.ctx.account_id).budget_name(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code_in(&e, &["NotFoundException"]) => Ok(()),
            Err(e) => Err(op("DeleteBudget")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("name"), spec.inputs.clone());
        self.read(env, &probe).await
    }
}

// ---------------------------------------------------------------- CloudWatch alarm on the instance

/// Inputs: `name`, `namespace` (default AWS/EC2), `metric`, `statistic`,
/// `threshold`, `comparison`, `period`, `evaluation_periods`,
/// `dimensions` (name → value, `${dep.output}` placeholders allowed; by
/// default InstanceId of the `instance` dependency); actions to the
/// `topic` dependency. One struct, two kind names: the Docker host's
/// instance alarms predate the general one and keep their name in states.
pub struct MetricAlarm(&'static str);

/// The instance an alarm without dimensions watches.
const ALARMED_INSTANCE: Need = Need::optional("instance", &["ec2_instance"]);

pub const INSTANCE_ALARM: MetricAlarm = MetricAlarm("cloudwatch_instance_alarm");
pub const METRIC_ALARM: MetricAlarm = MetricAlarm("cloudwatch_metric_alarm");

impl MetricAlarm {
    async fn put(env: &E, spec: &Spec, deps: &Records) -> Result<(), OpError> {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
        let tags: Vec<Tag> = spec_tags(env, spec).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        env.ctx
            .cloudwatch()
            .put_metric_alarm()
            .alarm_name(spec.str("name"))
            .alarm_description(format!("awsstack {}: {}", env.stack_id, spec.key))
            .namespace(spec.input("namespace").as_str().unwrap_or("AWS/EC2"))
            .metric_name(spec.str("metric"))
            .set_dimensions(Some(match spec.input("dimensions").as_object() {
                Some(m) => m.iter().map(|(k, v)| Dimension::builder().name(k).value(super::iam::render(v.as_str().unwrap_or_default(), deps)).build()).collect(),
                None => vec![Dimension::builder()
                    .name("InstanceId")
                    .value(&ALARMED_INSTANCE.maybe(deps)?.ok_or_else(|| OpError::new("an alarm without dimensions needs its instance dependency"))?.id)
                    .build()],
            }))
            .statistic(Statistic::from(spec.str("statistic")))
            .period(spec.input("period").as_i64().unwrap_or(300) as i32)
            .evaluation_periods(spec.input("evaluation_periods").as_i64().unwrap_or(2) as i32)
            .threshold(spec.input("threshold").as_f64().unwrap_or(0.0))
            .comparison_operator(ComparisonOperator::from(spec.str("comparison")))
            .alarm_actions(&super::need::TOPIC.the(deps)?.id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("PutMetricAlarm"))?;
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for MetricAlarm {
    fn name(&self) -> &'static str {
        self.0
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::TOPIC, ALARMED_INSTANCE]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::CloudWatch(env.ctx.arn("cloudwatch", &format!("alarm:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        Self::put(env, spec, deps).await?;
        Ok(Record::new(self.name(), spec.str("name"), spec.inputs.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let o = env.ctx.cloudwatch().describe_alarms().alarm_names(&rec.id).send().await.map_err(op("DescribeAlarms"))?;
        Ok(o.metric_alarms().first().map(|a| {
            let mut r = rec.clone();
            r.inputs["threshold"] = json!(a.threshold());
            if let Some(arn) = a.alarm_arn() {
                r.outputs.insert("arn".into(), arn.to_string());
            }
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        Self::put(env, spec, deps).await?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        env.ctx.cloudwatch().delete_alarms().alarm_names(&rec.id).send().await.map_err(op("DeleteAlarms"))?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("name"), spec.inputs.clone());
        self.read(env, &probe).await
    }
}

// ---------------------------------------------------------------- EventBridge Scheduler: start/stop the instance

/// Inputs: `name`, `expression`, `timezone`, `action` ("start" | "stop"),
/// `enabled`; targets the `instance` dependency with the `role` dependency.
pub struct InstanceSchedule;

impl InstanceSchedule {
    fn parts(env: &E, spec: &Spec, deps: &Records) -> Result<(aws_sdk_scheduler::types::FlexibleTimeWindow, aws_sdk_scheduler::types::Target), OpError> {
        use aws_sdk_scheduler::types::*;
        let api = if spec.str("action") == "start" { "startInstances" } else { "stopInstances" };
        let fw = FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off).build().map_err(bad("time window"))?;
        let target = Target::builder()
            .arn(format!("arn:aws:scheduler:::aws-sdk:ec2:{api}"))
            .role_arn(super::need::ROLE.the(deps)?.out("arn"))
            .input(json!({"InstanceIds": [super::need::INSTANCE.the(deps)?.id]}).to_string())
            .build()
            .map_err(bad("target"))?;
        let _ = env;
        Ok((fw, target))
    }
    /// AWS cannot tag a schedule: its description carries the stack id
    /// instead, the marker `owner` reads back.
    fn marker(env: &E, spec: &Spec) -> String {
        format!("awsstack {}: {} the instance", env.stack_id, spec.str("action"))
    }
    fn state(spec: &Spec) -> aws_sdk_scheduler::types::ScheduleState {
        if spec.input("enabled").as_bool().unwrap_or(true) {
            aws_sdk_scheduler::types::ScheduleState::Enabled
        } else {
            aws_sdk_scheduler::types::ScheduleState::Disabled
        }
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for InstanceSchedule {
    fn name(&self) -> &'static str {
        "scheduler_instance_schedule"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::ROLE, super::need::INSTANCE]
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let (fw, target) = Self::parts(env, spec, deps)?;
        // The scheduler's role may not be assumable for a few seconds.
        let out = env
            .retry(
                Duration::from_secs(60),
                |e| code_in(e, &["ValidationException"]) && format!("{e:?}").contains("role"),
                || {
                    env.ctx
                        .scheduler()
                        .create_schedule()
                        .name(spec.str("name"))
                        .schedule_expression(spec.str("expression"))
                        .schedule_expression_timezone(spec.str("timezone"))
                        .flexible_time_window(fw.clone())
                        .target(target.clone())
                        .state(Self::state(spec))
                        .description(Self::marker(env, spec))
                        .send()
                },
            )
            .await;
        // A name already taken is an error: the engine's find, which runs
        // first, adopts only a schedule that carries this stack's marker.
        let arn = out.map_err(op("CreateSchedule"))?.schedule_arn().to_string();
        Ok(Record::new(self.name(), spec.str("name"), spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.scheduler().get_schedule().name(&rec.id).send().await {
            Ok(o) => {
                let mut r = rec.clone();
                r.inputs["expression"] = json!(o.schedule_expression());
                r.inputs["timezone"] = json!(o.schedule_expression_timezone());
                r.inputs["enabled"] = json!(o.state() != Some(&aws_sdk_scheduler::types::ScheduleState::Disabled));
                if let Some(a) = o.arn() {
                    r.outputs.insert("arn".into(), a.to_string());
                }
                Ok(Some(r))
            }
            Err(e) if code_in(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(op("GetSchedule")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let (fw, target) = Self::parts(env, spec, deps)?;
        env.ctx
            .scheduler()
            .update_schedule()
            .name(&old.id)
            .schedule_expression(spec.str("expression"))
            .schedule_expression_timezone(spec.str("timezone"))
            .flexible_time_window(fw)
            .target(target)
            .state(Self::state(spec))
            .description(Self::marker(env, spec))
            .send()
            .await
            .map_err(op("UpdateSchedule"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.scheduler().delete_schedule().name(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code_in(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(op("DeleteSchedule")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.str("name"), spec.inputs.clone());
        self.read(env, &probe).await
    }
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        match env.ctx.scheduler().get_schedule().name(&found.id).send().await {
            Ok(o) => Ok(o.description().and_then(|d| d.strip_prefix("awsstack ")).and_then(|d| d.split_once(':')).map(|(id, _)| id.to_string())),
            Err(e) if code_in(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(op("GetSchedule")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mocked::{self, fault};
    use super::*;
    use aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesError;
    use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicOutput;
    use aws_sdk_sns::operation::subscribe::SubscribeOutput;
    use aws_sdk_sns::operation::unsubscribe::UnsubscribeOutput;
    use aws_sdk_sns::types::Subscription;
    use aws_smithy_mocks::{mock, Rule};

    const ARN: &str = "arn:aws:sns:eu-west-1:123456789012:kauri-prod-alerts";

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(sns, aws_sdk_sns, rules)
    }
    fn subscription(email: &str, arn: &str) -> Subscription {
        Subscription::builder().endpoint(email).protocol("email").subscription_arn(arn).topic_arn(ARN).build()
    }

    #[tokio::test]
    async fn update_subscribes_the_new_address_and_unsubscribes_the_removed_one_only() {
        let spec = Spec::new("topic", "sns_topic", json!({"name": "kauri-prod-alerts", "emails": ["ops@kauri.example", "new@kauri.example"]}));
        let old = Record::new("sns_topic", ARN, json!({"name": "kauri-prod-alerts", "emails": ["ops@kauri.example", "old@kauri.example"]}));
        // A subscription still pending confirmation has no ARN yet: it
        // cannot be unsubscribed, and is not an error.
        let listed = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic).then_output(|| {
            ListSubscriptionsByTopicOutput::builder()
                .subscriptions(subscription("ops@kauri.example", &format!("{ARN}:1")))
                .subscriptions(subscription("old@kauri.example", &format!("{ARN}:2")))
                .subscriptions(subscription("pending@kauri.example", "PendingConfirmation"))
                .build()
        });
        let subscribe = mock!(aws_sdk_sns::Client::subscribe)
            .match_requests(|r| r.endpoint() == Some("new@kauri.example") && r.protocol() == Some("email"))
            .then_output(|| SubscribeOutput::builder().subscription_arn("pending confirmation").build());
        let unsubscribe =
            mock!(aws_sdk_sns::Client::unsubscribe).match_requests(|r| r.subscription_arn() == Some(&format!("{ARN}:2"))).then_output(|| UnsubscribeOutput::builder().build());
        Topic.update(&over(&[&listed, &subscribe, &unsubscribe]), &spec, &old, &Records::new()).await.unwrap();
        assert_eq!((subscribe.num_calls(), unsubscribe.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_missing_topic_is_gone_and_a_refusal_is_an_error() {
        let rec = Record::new("sns_topic", ARN, json!({"name": "kauri-prod-alerts", "emails": []}));
        let gone = mock!(aws_sdk_sns::Client::get_topic_attributes).then_error(|| GetTopicAttributesError::generic(fault("NotFound")));
        assert!(Topic.read(&over(&[&gone]), &rec).await.unwrap().is_none());
        let denied = mock!(aws_sdk_sns::Client::get_topic_attributes).then_error(|| GetTopicAttributesError::generic(fault("AuthorizationError")));
        assert!(Topic.read(&over(&[&denied]), &rec).await.is_err());
    }

    // ------------------------------------------------------------ Budget

    const TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:kauri-prod-alerts";

    fn topic_deps() -> Records {
        [("topic".to_string(), Record::new("sns_topic", TOPIC_ARN, json!({})))].into()
    }
    fn budgets_over(rules: &[&Rule]) -> E {
        mocked::env_over!(budgets, aws_sdk_budgets, rules)
    }
    fn budget_spec(limit: f64) -> Spec {
        Spec::new("budget.project", "budget", json!({"name": "kauri-prod-project", "limit_usd": limit, "project_tag": "kauri", "threshold_percent": 80.0}))
            .tag(crate::engine::TAG_STACK_ID, "s")
    }

    #[tokio::test]
    async fn a_budget_notifies_its_topic_is_scoped_to_the_project_and_tagged_at_create() {
        use aws_sdk_budgets::operation::create_budget::CreateBudgetOutput;
        let create = mock!(aws_sdk_budgets::Client::create_budget)
            .match_requests(|r| {
                let b = r.budget().unwrap();
                let n = &r.notifications_with_subscribers()[0];
                #[allow(deprecated)]
                let filter = b.cost_filters().and_then(|f| f.get("TagKeyValue")).cloned();
                r.account_id() == Some("123456789012")
                    && b.budget_limit().map(|l| (l.amount(), l.unit())) == Some(("50", "USD"))
                    && filter == Some(vec!["user:Project$kauri".to_string()])
                    && n.subscribers()[0].address() == TOPIC_ARN
                    && n.notification().map(|x| x.threshold()) == Some(80.0)
                    && r.resource_tags().iter().any(|t| t.key() == crate::engine::TAG_STACK_ID && t.value() == "s")
            })
            .then_output(|| CreateBudgetOutput::builder().build());
        let rec = Budget.create(&budgets_over(&[&create]), &budget_spec(50.0), &topic_deps()).await.unwrap();
        assert_eq!((create.num_calls(), rec.id.as_str()), (1, "kauri-prod-project"));
    }

    #[tokio::test]
    async fn a_budget_limit_changed_out_of_band_is_drift_and_only_a_change_is_sent() {
        use aws_sdk_budgets::operation::describe_budget::{DescribeBudgetError, DescribeBudgetOutput};
        use aws_sdk_budgets::operation::update_budget::UpdateBudgetOutput;
        use aws_sdk_budgets::types::{Budget as AwsBudget, BudgetType, Spend, TimeUnit};
        let rec = Record::new("budget", "kauri-prod-project", budget_spec(50.0).inputs);
        let raised = mock!(aws_sdk_budgets::Client::describe_budget).then_output(|| {
            let limit = Spend::builder().amount("75.0").unit("USD").build().unwrap();
            DescribeBudgetOutput::builder()
                .budget(AwsBudget::builder().budget_name("kauri-prod-project").budget_limit(limit).time_unit(TimeUnit::Monthly).budget_type(BudgetType::Cost).build().unwrap())
                .build()
        });
        assert_eq!(Budget.read(&budgets_over(&[&raised]), &rec).await.unwrap().unwrap().inputs["limit_usd"], 75.0, "the plan puts 50 back");
        let gone = mock!(aws_sdk_budgets::Client::describe_budget).then_error(|| DescribeBudgetError::generic(fault("NotFoundException")));
        assert!(Budget.read(&budgets_over(&[&gone]), &rec).await.unwrap().is_none());
        let denied = mock!(aws_sdk_budgets::Client::describe_budget).then_error(|| DescribeBudgetError::generic(fault("AccessDeniedException")));
        assert!(Budget.read(&budgets_over(&[&denied]), &rec).await.is_err(), "a refusal is an error, never gone");
        // Unchanged inputs (a tag-only update): no call at all.
        Budget.update(&budgets_over(&[]), &budget_spec(50.0), &rec, &topic_deps()).await.unwrap();
        let update = mock!(aws_sdk_budgets::Client::update_budget)
            .match_requests(|r| r.new_budget().and_then(|b| b.budget_limit()).map(|l| l.amount()) == Some("60"))
            .then_output(|| UpdateBudgetOutput::builder().build());
        let updated = Budget.update(&budgets_over(&[&update]), &budget_spec(60.0), &rec, &topic_deps()).await.unwrap();
        assert_eq!((update.num_calls(), updated.inputs["limit_usd"].as_f64()), (1, Some(60.0)));
    }

    #[tokio::test]
    async fn deleting_a_budget_already_gone_succeeds_and_a_refusal_fails() {
        use aws_sdk_budgets::operation::delete_budget::DeleteBudgetError;
        let rec = Record::new("budget", "kauri-prod-project", json!({}));
        let gone = mock!(aws_sdk_budgets::Client::delete_budget).then_error(|| DeleteBudgetError::generic(fault("NotFoundException")));
        Budget.delete(&budgets_over(&[&gone]), &rec).await.unwrap();
        let denied = mock!(aws_sdk_budgets::Client::delete_budget).then_error(|| DeleteBudgetError::generic(fault("AccessDeniedException")));
        assert!(Budget.delete(&budgets_over(&[&denied]), &rec).await.is_err());
    }

    // ------------------------------------------------------------ Alarms

    fn cloudwatch_over(rules: &[&Rule]) -> E {
        mocked::env_over!(cloudwatch, aws_sdk_cloudwatch, rules)
    }

    #[tokio::test]
    async fn an_instance_alarm_watches_its_instance_and_notifies_its_topic() {
        use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
        let spec = Spec::new(
            "alarm.cpu",
            "cloudwatch_instance_alarm",
            json!({"name": "kauri-prod-cpu-high", "metric": "CPUUtilization", "statistic": "Average", "threshold": 80.0, "comparison": "GreaterThanThreshold", "period": 300, "evaluation_periods": 2}),
        );
        let mut deps = topic_deps();
        deps.insert("instance".into(), Record::new("ec2_instance", "i-0abc", json!({})));
        let put = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
            .match_requests(|r| {
                r.namespace() == Some("AWS/EC2")
                    && r.dimensions().iter().map(|d| (d.name(), d.value())).collect::<Vec<_>>() == vec![(Some("InstanceId"), Some("i-0abc"))]
                    && r.alarm_actions() == [TOPIC_ARN.to_string()]
                    && r.alarm_description() == Some("awsstack s: alarm.cpu")
                    && r.threshold() == Some(80.0)
            })
            .then_output(|| PutMetricAlarmOutput::builder().build());
        INSTANCE_ALARM.create(&cloudwatch_over(&[&put]), &spec, &deps).await.unwrap();
        assert_eq!(put.num_calls(), 1);
        // Without dimensions and without an instance: an error, not an
        // alarm on nothing.
        let err = INSTANCE_ALARM.create(&cloudwatch_over(&[]), &spec, &topic_deps()).await.unwrap_err();
        assert!(err.message.contains("needs its instance dependency"), "{}", err.message);
    }

    #[tokio::test]
    async fn a_metric_alarm_renders_its_dimensions_from_its_dependencies() {
        use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
        let spec = Spec::new(
            "primary/alarm.replication_lag",
            "cloudwatch_metric_alarm",
            json!({"name": "luneo-lag", "namespace": "AWS/RDS", "metric": "AuroraGlobalDBReplicationLag", "dimensions": {"DBClusterIdentifier": "${db.id}"}, "statistic": "Maximum", "threshold": 1000.0, "comparison": "GreaterThanThreshold", "period": 60, "evaluation_periods": 5}),
        );
        let mut deps = topic_deps();
        deps.insert("db".into(), Record::new("rds_global_member_cluster", "luneo-primary", json!({})));
        let put = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
            .match_requests(|r| {
                r.namespace() == Some("AWS/RDS")
                    && r.dimensions().iter().map(|d| (d.name(), d.value())).collect::<Vec<_>>() == vec![(Some("DBClusterIdentifier"), Some("luneo-primary"))]
            })
            .then_output(|| PutMetricAlarmOutput::builder().build());
        METRIC_ALARM.create(&cloudwatch_over(&[&put]), &spec, &deps).await.unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_alarm_threshold_changed_out_of_band_is_drift_and_a_missing_alarm_is_gone() {
        use aws_sdk_cloudwatch::operation::describe_alarms::{DescribeAlarmsError, DescribeAlarmsOutput};
        use aws_sdk_cloudwatch::types::MetricAlarm as AwsAlarm;
        let rec = Record::new("cloudwatch_instance_alarm", "kauri-prod-cpu-high", json!({"threshold": 80.0}));
        let raised = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    AwsAlarm::builder().alarm_name("kauri-prod-cpu-high").alarm_arn("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:kauri-prod-cpu-high").threshold(95.0).build(),
                )
                .build()
        });
        let read = INSTANCE_ALARM.read(&cloudwatch_over(&[&raised]), &rec).await.unwrap().unwrap();
        assert_eq!((read.inputs["threshold"].as_f64(), read.out("arn")), (Some(95.0), "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:kauri-prod-cpu-high"));
        let none = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| DescribeAlarmsOutput::builder().build());
        assert!(INSTANCE_ALARM.read(&cloudwatch_over(&[&none]), &rec).await.unwrap().is_none());
        let denied = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_error(|| DescribeAlarmsError::generic(fault("AccessDenied")));
        assert!(INSTANCE_ALARM.read(&cloudwatch_over(&[&denied]), &rec).await.is_err());
    }

    // ------------------------------------------------------------ Scheduler

    fn scheduler_over(rules: &[&Rule]) -> E {
        mocked::env_over!(scheduler, aws_sdk_scheduler, rules)
    }
    fn schedule_deps() -> Records {
        [
            ("instance".to_string(), Record::new("ec2_instance", "i-0abc", json!({}))),
            ("role.scheduler".to_string(), Record::new("iam_role", "kauri-prod-scheduler", json!({})).with("arn", "arn:aws:iam::123456789012:role/kauri-prod-scheduler")),
        ]
        .into()
    }
    fn schedule_spec(action: &str) -> Spec {
        Spec::new(
            format!("schedule.{action}"),
            "scheduler_instance_schedule",
            json!({"name": format!("kauri-prod-{action}"), "expression": "cron(0 8 ? * MON-FRI *)", "timezone": "Indian/Antananarivo", "action": action, "enabled": true}),
        )
    }

    #[tokio::test]
    async fn a_schedule_starts_its_instance_with_its_role_and_carries_the_stack_s_marker() {
        use aws_sdk_scheduler::operation::create_schedule::{CreateScheduleError, CreateScheduleOutput};
        // The role just created is not assumable yet: retried, not failed.
        let not_yet = mock!(aws_sdk_scheduler::Client::create_schedule).then_error(|| {
            CreateScheduleError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ValidationException")
                    .message("The execution role you provide must allow AWS EventBridge Scheduler to assume the role")
                    .build(),
            )
        });
        let create = mock!(aws_sdk_scheduler::Client::create_schedule)
            .match_requests(|r| {
                let t = r.target().unwrap();
                t.arn() == "arn:aws:scheduler:::aws-sdk:ec2:startInstances"
                    && t.role_arn() == "arn:aws:iam::123456789012:role/kauri-prod-scheduler"
                    && t.input() == Some(r#"{"InstanceIds":["i-0abc"]}"#)
                    && r.description() == Some("awsstack s: start the instance")
                    && r.schedule_expression_timezone() == Some("Indian/Antananarivo")
            })
            .then_output(|| CreateScheduleOutput::builder().schedule_arn("arn:aws:scheduler:eu-west-1:123456789012:schedule/default/kauri-prod-start").build().unwrap());
        let rec = InstanceSchedule.create(&scheduler_over(&[&not_yet, &create]), &schedule_spec("start"), &schedule_deps()).await.unwrap();
        assert_eq!((not_yet.num_calls(), create.num_calls()), (1, 1));
        assert_eq!(rec.out("arn"), "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/kauri-prod-start");
        // A name already taken is an error, never an overwrite.
        let taken = mock!(aws_sdk_scheduler::Client::create_schedule).then_error(|| CreateScheduleError::generic(fault("ConflictException")));
        assert!(InstanceSchedule.create(&scheduler_over(&[&taken]), &schedule_spec("stop"), &schedule_deps()).await.is_err());
    }

    #[tokio::test]
    async fn a_schedule_s_owner_is_read_from_its_marker() {
        use aws_sdk_scheduler::operation::get_schedule::{GetScheduleError, GetScheduleOutput};
        let found = Record::new("scheduler_instance_schedule", "kauri-prod-start", json!({}));
        let described =
            |d: &'static str| mock!(aws_sdk_scheduler::Client::get_schedule).then_output(move || GetScheduleOutput::builder().name("kauri-prod-start").description(d).build());
        let ours = described("awsstack s: start the instance");
        assert_eq!(InstanceSchedule.owner(&scheduler_over(&[&ours]), &found).await.unwrap().as_deref(), Some("s"));
        let theirs = described("awsstack kauri-staging: start the instance");
        assert_eq!(InstanceSchedule.owner(&scheduler_over(&[&theirs]), &found).await.unwrap().as_deref(), Some("kauri-staging"));
        let hand_made = described("starts the dev box at 8");
        assert_eq!(InstanceSchedule.owner(&scheduler_over(&[&hand_made]), &found).await.unwrap(), None, "a team's own schedule is no stack's");
        let gone = mock!(aws_sdk_scheduler::Client::get_schedule).then_error(|| GetScheduleError::generic(fault("ResourceNotFoundException")));
        assert_eq!(InstanceSchedule.owner(&scheduler_over(&[&gone]), &found).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_schedule_disabled_out_of_band_is_drift_and_one_already_deleted_is_gone() {
        use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
        use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
        use aws_sdk_scheduler::types::ScheduleState;
        let rec = Record::new("scheduler_instance_schedule", "kauri-prod-start", schedule_spec("start").inputs);
        let disabled = mock!(aws_sdk_scheduler::Client::get_schedule).then_output(|| {
            GetScheduleOutput::builder()
                .name("kauri-prod-start")
                .schedule_expression("cron(0 9 ? * MON-FRI *)")
                .schedule_expression_timezone("Indian/Antananarivo")
                .state(ScheduleState::Disabled)
                .build()
        });
        let read = InstanceSchedule.read(&scheduler_over(&[&disabled]), &rec).await.unwrap().unwrap();
        assert_eq!((read.inputs["enabled"].as_bool(), read.inputs["expression"].as_str()), (Some(false), Some("cron(0 9 ? * MON-FRI *)")));
        let gone = mock!(aws_sdk_scheduler::Client::delete_schedule).then_error(|| DeleteScheduleError::generic(fault("ResourceNotFoundException")));
        InstanceSchedule.delete(&scheduler_over(&[&gone]), &rec).await.unwrap();
        let denied = mock!(aws_sdk_scheduler::Client::delete_schedule).then_error(|| DeleteScheduleError::generic(fault("AccessDeniedException")));
        assert!(InstanceSchedule.delete(&scheduler_over(&[&denied]), &rec).await.is_err());
    }
}
