//! metric alarm.

use super::*;
use crate::engine::{Inputs, Template};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An alarm whose actions notify the `topic` dependency. One struct, two
/// kind names: the Docker host's instance alarms predate the general one
/// and keep their name in states.
pub struct MetricAlarm(&'static str);

/// hashicorp/aws metric_alarm.go retries none of these (PutMetricAlarm
/// creates and updates, its tags included).
const CALLS: &[Call] = &[
    Call::settled("cloudwatch:PutMetricAlarm"),
    Call::read("cloudwatch:DescribeAlarms"),
    Call::settled("cloudwatch:DeleteAlarms"),
];

/// What an alarm watches and when it fires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmInputs {
    pub name: String,
    #[serde(default = "instance_namespace")]
    pub namespace: String,
    pub metric: String,
    /// `Average`, `Maximum`, ...
    pub statistic: String,
    pub threshold: f64,
    /// `GreaterThanThreshold`, ...
    pub comparison: String,
    /// Seconds per datapoint, and how many datapoints in a row fire it.
    pub period: i32,
    pub evaluation_periods: i32,
    /// name → value (references allowed: a cluster's `id`). None: the
    /// `InstanceId` of the `instance` dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<BTreeMap<String, Template>>,
}

/// The namespace of an instance's metrics: an instance alarm's, and the
/// default of records written before alarms recorded their namespace.
pub const INSTANCE_NAMESPACE: &str = "AWS/EC2";

fn instance_namespace() -> String {
    INSTANCE_NAMESPACE.to_string()
}

impl Inputs for AlarmInputs {
    const KIND: &'static str = "cloudwatch_metric_alarm";
}

/// An alarm on the `instance` dependency (the Docker host's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceAlarmInputs(pub AlarmInputs);

impl Inputs for InstanceAlarmInputs {
    const KIND: &'static str = "cloudwatch_instance_alarm";
}

/// The instance an alarm without dimensions watches.
const ALARMED_INSTANCE: Need = Need::optional(
    "instance",
    &[<crate::components::ec2::InstanceInputs as crate::engine::Inputs>::KIND],
);

pub const INSTANCE_ALARM: MetricAlarm = MetricAlarm(InstanceAlarmInputs::KIND);
pub const METRIC_ALARM: MetricAlarm = MetricAlarm(AlarmInputs::KIND);

impl MetricAlarm {
    async fn put(env: &E, spec: &Spec, alarm: &AlarmInputs, deps: &Records) -> Result<(), OpError> {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
        let tags: Vec<Tag> = spec_tags(env, spec)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let dimensions = match &alarm.dimensions {
            Some(m) => m
                .iter()
                .map(|(k, v)| Ok(Dimension::builder().name(k).value(v.render(deps)?).build()))
                .collect::<Result<Vec<_>, OpError>>()?,
            None => vec![Dimension::builder()
                .name("InstanceId")
                .value(
                    &ALARMED_INSTANCE
                        .maybe(deps)?
                        .ok_or_else(|| {
                            OpError::new(
                                "an alarm without dimensions needs its instance dependency",
                            )
                        })?
                        .id,
                )
                .build()],
        };
        env.ctx
            .cloudwatch()
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(format!("awsstack {}: {}", env.stack_id, spec.key))
            .namespace(&alarm.namespace)
            .metric_name(&alarm.metric)
            .set_dimensions(Some(dimensions))
            .statistic(Statistic::from(alarm.statistic.as_str()))
            .period(alarm.period)
            .evaluation_periods(alarm.evaluation_periods)
            .threshold(alarm.threshold)
            .comparison_operator(ComparisonOperator::from(alarm.comparison.as_str()))
            .alarm_actions(&crate::components::need::TOPIC.the(deps)?.id)
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
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::TOPIC, ALARMED_INSTANCE]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::CloudWatch(env.ctx.arn("cloudwatch", &format!("alarm:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn check_inputs(&self, inputs: &serde_json::Value) -> Result<(), String> {
        crate::engine::inputs::check::<AlarmInputs>(inputs)
    }
    /// `namespace` was left out of instance alarms before it had its
    /// default on the inputs.
    fn upgrade(&self, rec: &mut Record) {
        crate::engine::inputs::fill_defaults::<AlarmInputs>(&mut rec.inputs);
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let alarm: AlarmInputs = spec.typed()?;
        Self::put(env, spec, &alarm, deps).await?;
        Ok(Record::new(self.name(), alarm.name, spec.inputs.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe(env, &rec.id).await?.map(|a| seen(rec, &a)))
    }
    /// The alarm by its name or ARN: its name (kept) and when it fires as
    /// AWS has them. Refused when it watches another metric, or other
    /// dimensions than the spec's (another instance) once these exist;
    /// until then the spec's stand, and the update points it at them.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let name = match id
            .strip_prefix("arn:")
            .and_then(|a| a.split_once(":alarm:"))
        {
            Some((_, name)) => name,
            None => id,
        };
        let Some(a) = describe(env, name).await? else {
            return Ok(None);
        };
        let want: AlarmInputs = spec.typed()?;
        let (namespace, metric) = (a.namespace().unwrap_or("-"), a.metric_name().unwrap_or("-"));
        if (namespace, metric) != (want.namespace.as_str(), want.metric.as_str()) {
            return Err(OpError::new(format!(
                "{name} watches {namespace} {metric}, and {} watches {} {}",
                spec.key, want.namespace, want.metric
            )));
        }
        let wanted: Option<BTreeMap<String, String>> = match &want.dimensions {
            Some(m) => m
                .iter()
                .map(|(k, v)| v.render(deps).map(|v| (k.clone(), v)))
                .collect::<Result<_, _>>()
                .ok(),
            None => ALARMED_INSTANCE
                .maybe(deps)?
                .map(|i| BTreeMap::from([("InstanceId".to_string(), i.id.clone())])),
        };
        let have: BTreeMap<String, String> = a
            .dimensions()
            .iter()
            .map(|d| {
                let part = |p: Option<&str>| p.unwrap_or_default().to_string();
                (part(d.name()), part(d.value()))
            })
            .collect();
        if wanted.as_ref().is_some_and(|w| *w != have) {
            return Err(OpError::new(format!(
                "{name} watches {have:?}, and {} watches {:?}",
                spec.key,
                wanted.unwrap_or_default()
            )));
        }
        let mut inputs = spec.inputs.clone();
        inputs["name"] = json!(a.alarm_name().unwrap_or(name));
        inputs["statistic"] = json!(a.statistic().map(|s| s.as_str()));
        inputs["comparison"] = json!(a.comparison_operator().map(|c| c.as_str()));
        inputs["period"] = json!(a.period());
        inputs["evaluation_periods"] = json!(a.evaluation_periods());
        let rec = Record::new(self.name(), a.alarm_name().unwrap_or(name), inputs);
        Ok(Some(seen(&rec, &a)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        Self::put(env, spec, &spec.typed()?, deps).await?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        env.ctx
            .cloudwatch()
            .delete_alarms()
            .alarm_names(&rec.id)
            .send()
            .await
            .map_err(op("DeleteAlarms"))?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<AlarmInputs>()?.name,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
}

async fn describe(
    env: &E,
    name: &str,
) -> Result<Option<aws_sdk_cloudwatch::types::MetricAlarm>, OpError> {
    let o = env
        .ctx
        .cloudwatch()
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(op("DescribeAlarms"))?;
    Ok(o.metric_alarms().first().cloned())
}

/// `rec` with the alarm's threshold and ARN as AWS has them.
fn seen(rec: &Record, a: &aws_sdk_cloudwatch::types::MetricAlarm) -> Record {
    let mut r = rec.clone();
    r.inputs["threshold"] = json!(a.threshold());
    if let Some(arn) = a.alarm_arn() {
        r.outputs.insert("arn".into(), arn.to_string());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_smithy_mocks::{mock, Rule};

    fn cloudwatch_over(rules: &[&Rule]) -> E {
        mocked::env_over!(cloudwatch, aws_sdk_cloudwatch, rules)
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_alarm_watches_its_instance_and_notifies_its_topic() {
        use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
        let spec = Spec::new(
            "alarm.cpu",
            "cloudwatch_instance_alarm",
            json!({"name": "kauri-prod-cpu-high", "metric": "CPUUtilization", "statistic": "Average", "threshold": 80.0, "comparison": "GreaterThanThreshold", "period": 300, "evaluation_periods": 2}),
        );
        let mut deps = topic_deps();
        deps.insert(
            "instance".into(),
            Record::new("ec2_instance", "i-0abc", json!({})),
        );
        let put = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
            .match_requests(|r| {
                r.namespace() == Some("AWS/EC2")
                    && r.dimensions()
                        .iter()
                        .map(|d| (d.name(), d.value()))
                        .collect::<Vec<_>>()
                        == vec![(Some("InstanceId"), Some("i-0abc"))]
                    && r.alarm_actions() == [TOPIC_ARN.to_string()]
                    && r.alarm_description() == Some("awsstack s: alarm.cpu")
                    && r.threshold() == Some(80.0)
            })
            .then_output(|| PutMetricAlarmOutput::builder().build());
        INSTANCE_ALARM
            .create(&cloudwatch_over(&[&put]), &spec, &deps)
            .await
            .unwrap();
        assert_eq!(put.num_calls(), 1);
        // Without dimensions and without an instance: an error, not an
        // alarm on nothing.
        let err = INSTANCE_ALARM
            .create(&cloudwatch_over(&[]), &spec, &topic_deps())
            .await
            .unwrap_err();
        assert!(
            err.message.contains("needs its instance dependency"),
            "{}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_metric_alarm_renders_its_dimensions_from_its_dependencies() {
        use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
        let spec = Spec::new(
            "primary/alarm.replication_lag",
            "cloudwatch_metric_alarm",
            json!({"name": "luneo-lag", "namespace": "AWS/RDS", "metric": "AuroraGlobalDBReplicationLag", "dimensions": {"DBClusterIdentifier": "${db.id}"}, "statistic": "Maximum", "threshold": 1000.0, "comparison": "GreaterThanThreshold", "period": 60, "evaluation_periods": 5}),
        );
        let mut deps = topic_deps();
        deps.insert(
            "db".into(),
            Record::new("rds_global_member_cluster", "luneo-primary", json!({})),
        );
        let put = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
            .match_requests(|r| {
                r.namespace() == Some("AWS/RDS")
                    && r.dimensions()
                        .iter()
                        .map(|d| (d.name(), d.value()))
                        .collect::<Vec<_>>()
                        == vec![(Some("DBClusterIdentifier"), Some("luneo-primary"))]
            })
            .then_output(|| PutMetricAlarmOutput::builder().build());
        METRIC_ALARM
            .create(&cloudwatch_over(&[&put]), &spec, &deps)
            .await
            .unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    /// Adoption: the alarm's own name (kept) and when it fires as AWS has
    /// them; an alarm on another instance is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_keeps_the_alarm_s_name_and_refuses_one_on_another_instance() {
        use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
        use aws_sdk_cloudwatch::types::{
            ComparisonOperator, Dimension, MetricAlarm as AwsAlarm, Statistic,
        };
        const ARN: &str = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:kauri-demo-status-check";
        let on = |instance: &'static str| {
            mock!(aws_sdk_cloudwatch::Client::describe_alarms)
                .match_requests(|r| r.alarm_names() == ["kauri-demo-status-check"])
                .then_output(move || {
                    let a = AwsAlarm::builder()
                        .alarm_name("kauri-demo-status-check")
                        .alarm_arn(ARN)
                        .namespace("AWS/EC2")
                        .metric_name("StatusCheckFailed")
                        .dimensions(
                            Dimension::builder()
                                .name("InstanceId")
                                .value(instance)
                                .build(),
                        )
                        .statistic(Statistic::Maximum)
                        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                        .threshold(0.0)
                        .period(60)
                        .evaluation_periods(3)
                        .build();
                    DescribeAlarmsOutput::builder().metric_alarms(a).build()
                })
        };
        let spec = Spec::new(
            "alarm.status",
            "cloudwatch_instance_alarm",
            json!({"name": "s-status-check-failed", "namespace": "AWS/EC2", "metric": "StatusCheckFailed", "statistic": "Maximum", "threshold": 1.0, "comparison": "GreaterThanOrEqualToThreshold", "period": 60, "evaluation_periods": 2}),
        );
        let mut deps = topic_deps();
        deps.insert(
            "instance".into(),
            Record::new("ec2_instance", "i-1", json!({})),
        );
        let rule = on("i-1");
        let rec = INSTANCE_ALARM
            .observe(&cloudwatch_over(&[&rule]), &spec, ARN, &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (rec.id.as_str(), rec.out("arn")),
            ("kauri-demo-status-check", ARN)
        );
        assert_eq!(
            rec.inputs,
            json!({"name": "kauri-demo-status-check", "namespace": "AWS/EC2", "metric": "StatusCheckFailed", "statistic": "Maximum", "threshold": 0.0, "comparison": "GreaterThanThreshold", "period": 60, "evaluation_periods": 3})
        );
        let rule = on("i-9");
        let e = INSTANCE_ALARM
            .observe(&cloudwatch_over(&[&rule]), &spec, ARN, &deps)
            .await
            .unwrap_err();
        assert!(e.message.contains("i-9"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_threshold_changed_out_of_band_is_drift_and_a_missing_alarm_is_gone() {
        use aws_sdk_cloudwatch::operation::describe_alarms::{
            DescribeAlarmsError, DescribeAlarmsOutput,
        };
        use aws_sdk_cloudwatch::types::MetricAlarm as AwsAlarm;
        let rec = Record::new(
            "cloudwatch_instance_alarm",
            "kauri-prod-cpu-high",
            json!({"threshold": 80.0}),
        );
        let raised = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    AwsAlarm::builder()
                        .alarm_name("kauri-prod-cpu-high")
                        .alarm_arn(
                            "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:kauri-prod-cpu-high",
                        )
                        .threshold(95.0)
                        .build(),
                )
                .build()
        });
        let read = INSTANCE_ALARM
            .read(&cloudwatch_over(&[&raised]), &rec)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (read.inputs["threshold"].as_f64(), read.out("arn")),
            (
                Some(95.0),
                "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:kauri-prod-cpu-high"
            )
        );
        let none = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
            .then_output(|| DescribeAlarmsOutput::builder().build());
        assert!(INSTANCE_ALARM
            .read(&cloudwatch_over(&[&none]), &rec)
            .await
            .unwrap()
            .is_none());
        let denied = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
            .then_error(|| DescribeAlarmsError::generic(fault("AccessDenied")));
        assert!(INSTANCE_ALARM
            .read(&cloudwatch_over(&[&denied]), &rec)
            .await
            .is_err());
    }
}
