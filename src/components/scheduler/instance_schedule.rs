//! instance schedule.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An EventBridge Scheduler schedule that starts or stops the `instance`
/// dependency, run as the `role` dependency.
pub struct InstanceSchedule;

/// The role the schedule runs as, when just created (the stack's), is not
/// yet assumable by EventBridge Scheduler, which checks it at once: IAM is
/// catching up. Only that message: a ValidationException for a bad
/// expression or time zone is final.
const ROLE_NOT_ASSUMABLE: &[NotYet] = &[NotYet::message(
    "ValidationException",
    "must allow AWS EventBridge Scheduler to assume the role",
    "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.",
)];
const CREATE: Call = Call::retrying("scheduler:CreateSchedule", PROPAGATION, ROLE_NOT_ASSUMABLE)
    .why("hashicorp/aws scheduler/schedule.go retryWhenIAMNotPropagated: ValidationException 'The execution role you provide must allow AWS EventBridge Scheduler to assume the role.' for iamPropagationTimeout (2m)");
/// An update names the role again (a replaced role is a new one).
const UPDATE: Call = Call::retrying("scheduler:UpdateSchedule", PROPAGATION, ROLE_NOT_ASSUMABLE)
    .why("hashicorp/aws scheduler/schedule.go resourceScheduleUpdate: retryWhenIAMNotPropagated, the same ValidationException for iamPropagationTimeout (2m)");
const CALLS: &[Call] = &[
    CREATE,
    Call::read("scheduler:GetSchedule"),
    UPDATE,
    Call::settled("scheduler:DeleteSchedule"),
];

/// When the schedule runs, and what it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleInputs {
    pub name: String,
    /// `cron(...)` or `rate(...)`, in `timezone` (`Europe/Paris`).
    pub expression: String,
    pub timezone: String,
    pub action: PowerAction,
    pub enabled: bool,
}

impl Inputs for ScheduleInputs {
    const KIND: &'static str = "scheduler_instance_schedule";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    Start,
    Stop,
}

impl PowerAction {
    /// As the configuration and the schedule's marker name it.
    pub fn word(self) -> &'static str {
        match self {
            PowerAction::Start => "start",
            PowerAction::Stop => "stop",
        }
    }
}

impl InstanceSchedule {
    fn parts(
        schedule: &ScheduleInputs,
        deps: &Records,
    ) -> Result<
        (
            aws_sdk_scheduler::types::FlexibleTimeWindow,
            aws_sdk_scheduler::types::Target,
        ),
        OpError,
    > {
        use aws_sdk_scheduler::types::*;
        let api = match schedule.action {
            PowerAction::Start => "startInstances",
            PowerAction::Stop => "stopInstances",
        };
        let fw = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(bad("time window"))?;
        let target = Target::builder()
            .arn(format!("arn:aws:scheduler:::aws-sdk:ec2:{api}"))
            .role_arn(crate::components::need::ROLE.the(deps)?.out("arn"))
            .input(
                json!({"InstanceIds": [crate::components::need::INSTANCE.the(deps)?.id]})
                    .to_string(),
            )
            .build()
            .map_err(bad("target"))?;
        Ok((fw, target))
    }
    /// AWS cannot tag a schedule: its description carries the stack id
    /// instead, the marker `owner` reads back.
    fn marker(env: &E, schedule: &ScheduleInputs) -> String {
        format!(
            "awsstack {}: {} the instance",
            env.stack_id,
            schedule.action.word()
        )
    }
    fn state(schedule: &ScheduleInputs) -> aws_sdk_scheduler::types::ScheduleState {
        if schedule.enabled {
            aws_sdk_scheduler::types::ScheduleState::Enabled
        } else {
            aws_sdk_scheduler::types::ScheduleState::Disabled
        }
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for InstanceSchedule {
    crate::engine::typed_kind!(ScheduleInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[
            crate::components::need::ROLE,
            crate::components::need::INSTANCE,
        ]
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let schedule: ScheduleInputs = spec.typed()?;
        let (fw, target) = Self::parts(&schedule, deps)?;
        let scheduler = env.ctx.scheduler();
        let out = env
            .call(&CREATE, || {
                scheduler
                    .create_schedule()
                    .name(&schedule.name)
                    .schedule_expression(&schedule.expression)
                    .schedule_expression_timezone(&schedule.timezone)
                    .flexible_time_window(fw.clone())
                    .target(target.clone())
                    .state(Self::state(&schedule))
                    .description(Self::marker(env, &schedule))
                    .send()
            })
            .await;
        // A name already taken is an error: the engine's find, which runs
        // first, adopts only a schedule that carries this stack's marker.
        let arn = out.map_err(failed)?.schedule_arn().to_string();
        Ok(Record::new(self.name(), &schedule.name, spec.inputs.clone()).with("arn", arn))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .scheduler()
            .get_schedule()
            .name(&rec.id)
            .send()
            .await
        {
            Ok(o) => {
                let mut r = rec.clone();
                r.inputs["expression"] = json!(o.schedule_expression());
                r.inputs["timezone"] = json!(o.schedule_expression_timezone());
                r.inputs["enabled"] =
                    json!(o.state() != Some(&aws_sdk_scheduler::types::ScheduleState::Disabled));
                if let Some(a) = o.arn() {
                    r.outputs.insert("arn".into(), a.to_string());
                }
                Ok(Some(r))
            }
            Err(e) if code_in(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(op("GetSchedule")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let schedule: ScheduleInputs = spec.typed()?;
        let (fw, target) = Self::parts(&schedule, deps)?;
        let scheduler = env.ctx.scheduler();
        env.call(&UPDATE, || {
            scheduler
                .update_schedule()
                .name(&old.id)
                .schedule_expression(&schedule.expression)
                .schedule_expression_timezone(&schedule.timezone)
                .flexible_time_window(fw.clone())
                .target(target.clone())
                .state(Self::state(&schedule))
                .description(Self::marker(env, &schedule))
                .send()
        })
        .await
        .map_err(failed)?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .scheduler()
            .delete_schedule()
            .name(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code_in(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(op("DeleteSchedule")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<ScheduleInputs>()?.name,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        match env
            .ctx
            .scheduler()
            .get_schedule()
            .name(&found.id)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .description()
                .and_then(|d| d.strip_prefix("awsstack "))
                .and_then(|d| d.split_once(':'))
                .map(|(id, _)| id.to_string())),
            Err(e) if code_in(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(op("GetSchedule")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_smithy_mocks::{mock, Rule};

    fn scheduler_over(rules: &[&Rule]) -> E {
        mocked::env_over!(scheduler, aws_sdk_scheduler, rules)
    }
    fn schedule_deps() -> Records {
        [
            (
                "instance".to_string(),
                Record::new("ec2_instance", "i-0abc", json!({})),
            ),
            (
                "role.scheduler".to_string(),
                Record::new("iam_role", "kauri-prod-scheduler", json!({}))
                    .with("arn", "arn:aws:iam::123456789012:role/kauri-prod-scheduler"),
            ),
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

    #[tokio::test(start_paused = true)]
    async fn a_schedule_starts_its_instance_with_its_role_and_carries_the_stack_s_marker() {
        use aws_sdk_scheduler::operation::create_schedule::{
            CreateScheduleError, CreateScheduleOutput,
        };
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
        let rec = InstanceSchedule
            .create(
                &scheduler_over(&[&not_yet, &create]),
                &schedule_spec("start"),
                &schedule_deps(),
            )
            .await
            .unwrap();
        assert_eq!((not_yet.num_calls(), create.num_calls()), (1, 1));
        assert_eq!(
            rec.out("arn"),
            "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/kauri-prod-start"
        );
        // A name already taken is an error, never an overwrite; and a
        // ValidationException of another cause (a bad expression) is final
        // too: only the role's is AWS catching up. Neither is retried (a
        // second call would succeed here).
        let created = || {
            mock!(aws_sdk_scheduler::Client::create_schedule).then_output(|| {
                CreateScheduleOutput::builder()
                    .schedule_arn(
                        "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/kauri-prod-stop",
                    )
                    .build()
                    .unwrap()
            })
        };
        let taken = mock!(aws_sdk_scheduler::Client::create_schedule)
            .then_error(|| CreateScheduleError::generic(fault("ConflictException")));
        let after_taken = created();
        assert!(InstanceSchedule
            .create(
                &scheduler_over(&[&taken, &after_taken]),
                &schedule_spec("stop"),
                &schedule_deps()
            )
            .await
            .is_err());
        assert_eq!(
            (taken.num_calls(), after_taken.num_calls()),
            (1, 0),
            "not retried"
        );
        let bad_cron = mock!(aws_sdk_scheduler::Client::create_schedule).then_error(|| {
            let said = aws_smithy_types::error::ErrorMetadata::builder()
                .code("ValidationException")
                .message("Invalid Schedule Expression cron(0 8 ? * MON-FRI).");
            CreateScheduleError::generic(said.build())
        });
        let after_bad = created();
        let err = InstanceSchedule
            .create(
                &scheduler_over(&[&bad_cron, &after_bad]),
                &schedule_spec("stop"),
                &schedule_deps(),
            )
            .await
            .unwrap_err();
        assert!(
            err.message.contains("Invalid Schedule Expression"),
            "{}",
            err.message
        );
        assert_eq!(
            (bad_cron.num_calls(), after_bad.num_calls()),
            (1, 0),
            "not retried"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_schedule_s_owner_is_read_from_its_marker() {
        use aws_sdk_scheduler::operation::get_schedule::{GetScheduleError, GetScheduleOutput};
        let found = Record::new("scheduler_instance_schedule", "kauri-prod-start", json!({}));
        let described = |d: &'static str| {
            mock!(aws_sdk_scheduler::Client::get_schedule).then_output(move || {
                GetScheduleOutput::builder()
                    .name("kauri-prod-start")
                    .description(d)
                    .build()
            })
        };
        let ours = described("awsstack s: start the instance");
        assert_eq!(
            InstanceSchedule
                .owner(&scheduler_over(&[&ours]), &found)
                .await
                .unwrap()
                .as_deref(),
            Some("s")
        );
        let theirs = described("awsstack kauri-staging: start the instance");
        assert_eq!(
            InstanceSchedule
                .owner(&scheduler_over(&[&theirs]), &found)
                .await
                .unwrap()
                .as_deref(),
            Some("kauri-staging")
        );
        let hand_made = described("starts the dev box at 8");
        assert_eq!(
            InstanceSchedule
                .owner(&scheduler_over(&[&hand_made]), &found)
                .await
                .unwrap(),
            None,
            "a team's own schedule is no stack's"
        );
        let gone = mock!(aws_sdk_scheduler::Client::get_schedule)
            .then_error(|| GetScheduleError::generic(fault("ResourceNotFoundException")));
        assert_eq!(
            InstanceSchedule
                .owner(&scheduler_over(&[&gone]), &found)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_schedule_disabled_out_of_band_is_drift_and_one_already_deleted_is_gone() {
        use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
        use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
        use aws_sdk_scheduler::types::ScheduleState;
        let rec = Record::new(
            "scheduler_instance_schedule",
            "kauri-prod-start",
            schedule_spec("start").inputs,
        );
        let disabled = mock!(aws_sdk_scheduler::Client::get_schedule).then_output(|| {
            GetScheduleOutput::builder()
                .name("kauri-prod-start")
                .schedule_expression("cron(0 9 ? * MON-FRI *)")
                .schedule_expression_timezone("Indian/Antananarivo")
                .state(ScheduleState::Disabled)
                .build()
        });
        let read = InstanceSchedule
            .read(&scheduler_over(&[&disabled]), &rec)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                read.inputs["enabled"].as_bool(),
                read.inputs["expression"].as_str()
            ),
            (Some(false), Some("cron(0 9 ? * MON-FRI *)"))
        );
        let gone = mock!(aws_sdk_scheduler::Client::delete_schedule)
            .then_error(|| DeleteScheduleError::generic(fault("ResourceNotFoundException")));
        InstanceSchedule
            .delete(&scheduler_over(&[&gone]), &rec)
            .await
            .unwrap();
        let denied = mock!(aws_sdk_scheduler::Client::delete_schedule)
            .then_error(|| DeleteScheduleError::generic(fault("AccessDeniedException")));
        assert!(InstanceSchedule
            .delete(&scheduler_over(&[&denied]), &rec)
            .await
            .is_err());
    }
}
