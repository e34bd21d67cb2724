//! Instance.

use super::*;
use super::{DELETE_DB_INSTANCE, MODIFY_DB_INSTANCE};
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An instance of an Aurora cluster (the first is the writer).
pub struct Instance;

/// The database calls of a cluster's instance, declared with the
/// standalone database's (one declaration per action).
const CALLS: &[Call] = &[
    Call::settled("rds:CreateDBInstance"),
    Call::read("rds:DescribeDBInstances"),
    MODIFY_DB_INSTANCE,
    DELETE_DB_INSTANCE,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInstanceInputs {
    pub id: String,
    /// The cluster's identifier.
    pub cluster: String,
    pub engine: String,
    pub instance_class: String,
}

impl Inputs for ClusterInstanceInputs {
    const KIND: &'static str = "rds_cluster_instance";
}

impl Instance {
    async fn describe(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, OpError> {
        match env
            .ctx
            .rds()
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.db_instances().first().cloned()),
            Err(e)
                if crate::aws::code_in(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) =>
            {
                Ok(None)
            }
            Err(e) => Err(op("DescribeDBInstances")(e)),
        }
    }
    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let rds = env.ctx.rds().clone();
        let i = id.to_string();
        sdk_wait(
            env,
            &format!("Aurora instance {id} to be available"),
            |max| async move {
                rds.wait_until_db_instance_available()
                    .db_instance_identifier(i)
                    .wait(max)
                    .await
            },
        )
        .await?;
        let d = Self::describe(env, id)
            .await?
            .ok_or_else(|| OpError::new(format!("Aurora instance {id} disappeared")))?;
        let mut inputs = inputs.clone();
        crate::components::observed(&mut inputs, "instance_class", d.db_instance_class());
        Ok(Record::new(self.name(), id, inputs)
            .with("arn", d.db_instance_arn().unwrap_or_default()))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Instance {
    crate::engine::typed_kind!(ClusterInstanceInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(90, 90, 90)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(env.ctx.arn("rds", &format!("db:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "cluster", "engine"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["id"]
    }
    /// The instance named by its identifier or ARN: an instance of an
    /// Aurora cluster, its identifier (kept), cluster, engine and class as
    /// AWS has them.
    async fn observe(
        &self,
        env: &E,
        _: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(d) = Self::describe(env, arn_tail(id, ":db:"))
            .await?
            .filter(|d| d.db_instance_status() != Some("deleting"))
        else {
            return Ok(None);
        };
        let Some(cluster) = d.db_cluster_identifier() else {
            return Err(OpError::new(
                "it is a database of its own, not an instance of an Aurora cluster",
            ));
        };
        let inputs = json!({
            "id": d.db_instance_identifier(),
            "cluster": cluster,
            "engine": d.engine(),
            "instance_class": d.db_instance_class(),
        });
        Ok(Some(
            Record::new(
                self.name(),
                d.db_instance_identifier().unwrap_or_default(),
                inputs,
            )
            .with("arn", d.db_instance_arn().unwrap_or_default()),
        ))
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let instance: ClusterInstanceInputs = spec.typed()?;
        let id = &instance.id;
        env.ctx
            .rds()
            .create_db_instance()
            .db_instance_identifier(id)
            .db_cluster_identifier(&instance.cluster)
            .engine(&instance.engine)
            .db_instance_class(&instance.instance_class)
            .publicly_accessible(false)
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateDBInstance"))?;
        let rec = Record::new(self.name(), id, spec.inputs.clone());
        self.wait_available(env, id, &spec.inputs)
            .await
            .map_err(|e| e.partial(rec))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id)
            .await?
            .filter(|d| d.db_instance_status() != Some("deleting"))
            .map(|d| {
                let mut r = rec.clone();
                crate::components::observed(&mut r.inputs, "instance_class", d.db_instance_class());
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
        let req = env
            .ctx
            .rds()
            .modify_db_instance()
            .db_instance_identifier(&old.id)
            .db_instance_class(spec.typed::<ClusterInstanceInputs>()?.instance_class)
            .apply_immediately(true);
        env.call(&MODIFY_DB_INSTANCE, || req.clone().send())
            .await
            .map_err(failed)?;
        self.wait_available(env, &old.id, &spec.inputs).await
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // A cluster's instance has no snapshot of its own: the cluster's is taken.
        let rds = env.ctx.rds();
        match env
            .call(&DELETE_DB_INSTANCE, || {
                rds.delete_db_instance()
                    .db_instance_identifier(&rec.id)
                    .send()
            })
            .await
        {
            Ok(_) => {}
            Err(e)
                if crate::aws::code_in(
                    &e.error,
                    &["DBInstanceNotFound", "DBInstanceNotFoundFault"],
                ) =>
            {
                return Ok(())
            }
            // Already on its way out (hashicorp/aws cluster_instance.go waits it out too).
            Err(e)
                if crate::aws::code_in(&e.error, &["InvalidDBInstanceState"])
                    && crate::aws::error_text(&e.error).contains("is already being deleted") => {}
            Err(e) => return Err(failed(e)),
        }
        let rds = env.ctx.rds().clone();
        let i = rec.id.clone();
        sdk_wait(
            env,
            &format!("Aurora instance {} to be deleted", rec.id),
            |max| async move {
                rds.wait_until_db_instance_deleted()
                    .db_instance_identifier(i)
                    .wait(max)
                    .await
            },
        )
        .await?;
        Ok(())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<ClusterInstanceInputs>()?.id,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await.map(|r| {
            r.map(|mut r| {
                r.inputs = spec.inputs.clone();
                r
            })
        })
    }
}

/// An Aurora cluster's instance against aws-smithy-mocks: what
/// CreateDBInstance carries, the SDK waiter's wait for `available` (its
/// 30-second pauses taken at once and written down), the declared "not
/// yet" of ModifyDBInstance and DeleteDBInstance, and a read of an
/// instance gone.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use crate::engine::TAG_COMPONENT;
    use aws_sdk_rds::operation::create_db_instance::{
        CreateDBInstanceError, CreateDbInstanceOutput,
    };
    use aws_sdk_rds::operation::delete_db_instance::{
        DeleteDBInstanceError, DeleteDbInstanceOutput,
    };
    use aws_sdk_rds::operation::describe_db_instances::{
        DescribeDBInstancesError, DescribeDbInstancesOutput,
    };
    use aws_sdk_rds::operation::modify_db_instance::{
        ModifyDBInstanceError, ModifyDbInstanceOutput,
    };
    use aws_sdk_rds::types::DbInstance as RdsInstance;
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;
    use std::sync::{Arc, Mutex};

    const ID: &str = "luneo-prod-primary-1";
    const ARN: &str = "arn:aws:rds:eu-west-1:123456789012:db:luneo-prod-primary-1";

    /// The RDS waiters' shortest pause (their `min_delay`).
    const PACE: Duration = Duration::from_secs(30);

    /// The SDK waiters' clock: a waiter's pause (`PACE` or more) is written
    /// down and ends at once, so a wait of minutes runs in no time; a
    /// shorter sleep (the SDK's timeouts and stalled-stream checks, which
    /// the mocked calls never reach) is tokio's.
    #[derive(Clone, Debug, Default)]
    struct Slept(Arc<Mutex<Vec<Duration>>>);

    impl aws_sdk_rds::config::AsyncSleep for Slept {
        fn sleep(&self, d: Duration) -> aws_sdk_rds::config::Sleep {
            if d < PACE {
                return aws_sdk_rds::config::Sleep::new(tokio::time::sleep(d));
            }
            self.0.lock().unwrap().push(d);
            aws_sdk_rds::config::Sleep::new(std::future::ready(()))
        }
    }

    impl Slept {
        fn pauses(&self) -> Vec<Duration> {
            self.0.lock().unwrap().clone()
        }
    }

    /// The environment with the RDS client answered by `rules`, in order,
    /// its pauses on `Slept`, and the kind's 90 minutes to finish.
    fn env_over(rules: &[&Rule]) -> (E, Slept) {
        let slept = Slept::default();
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        let client = Client::from_conf(
            aws_sdk_rds::config::Builder::from(&crate::aws::test_sdk_config())
                .interceptor(interceptor)
                .sleep_impl(slept.clone())
                .build(),
        );
        let mut ctx = AwsContext::for_tests();
        ctx.clients.rds = std::sync::OnceLock::from(client);
        (mocked::env(ctx, Duration::from_secs(90 * 60)), slept)
    }

    fn said(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    fn inputs(class: &str) -> ClusterInstanceInputs {
        ClusterInstanceInputs {
            id: ID.into(),
            cluster: "luneo-prod-primary".into(),
            engine: "aurora-postgresql".into(),
            instance_class: class.into(),
        }
    }

    fn spec(class: &str) -> Spec {
        Spec::of("primary/db.1", &inputs(class))
    }

    fn record() -> Record {
        Record::new("rds_cluster_instance", ID, json!(inputs("db.r6g.large"))).with("arn", ARN)
    }

    /// The instance as DescribeDBInstances reports it in `status`.
    fn instance(status: &str, class: &str) -> DescribeDbInstancesOutput {
        DescribeDbInstancesOutput::builder()
            .db_instances(
                RdsInstance::builder()
                    .db_instance_identifier(ID)
                    .db_cluster_identifier("luneo-prod-primary")
                    .db_instance_status(status)
                    .db_instance_class(class)
                    .db_instance_arn(ARN)
                    .build(),
            )
            .build()
    }

    /// DescribeDBInstances of the instance answering each of `statuses`.
    fn described(statuses: &'static [&'static str], class: &'static str) -> Rule {
        let mut seq = mock!(Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some(ID))
            .sequence();
        for status in statuses {
            seq = seq.output(move || instance(status, class));
        }
        seq.build()
    }

    fn gone() -> Rule {
        mock!(Client::describe_db_instances).then_error(|| {
            DescribeDBInstancesError::generic(said(
                "DBInstanceNotFound",
                "DBInstance luneo-prod-primary-1 not found.",
            ))
        })
    }

    #[tokio::test(start_paused = true)]
    async fn create_sends_the_instance_of_its_cluster_and_waits_until_it_is_available() {
        let create = mock!(Client::create_db_instance)
            .match_requests(|r| {
                r.db_instance_identifier() == Some(ID)
                    && r.db_cluster_identifier() == Some("luneo-prod-primary")
                    && r.engine() == Some("aurora-postgresql")
                    && r.db_instance_class() == Some("db.r6g.large")
                    && r.publicly_accessible() == Some(false)
                    && r.tags().iter().any(|t| {
                        t.key() == Some(TAG_COMPONENT) && t.value() == Some("primary/db.1")
                    })
            })
            .then_output(|| CreateDbInstanceOutput::builder().build());
        // Three looks of the waiter, then the read of what it became.
        let describe = described(
            &[
                "creating",
                "configuring-enhanced-monitoring",
                "available",
                "available",
            ],
            "db.r6g.large",
        );
        let (env, slept) = env_over(&[&create, &describe]);
        let rec = Instance
            .create(&env, &spec("db.r6g.large"), &Records::default())
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 1);
        assert_eq!(describe.num_calls(), 4, "looked until available");
        let pauses = slept.pauses();
        assert_eq!(
            pauses.len(),
            2,
            "a pause after each look short of available"
        );
        assert_eq!(rec.kind, "rds_cluster_instance");
        assert_eq!(rec.id, ID);
        assert_eq!(rec.out("arn"), ARN);
        assert_eq!(rec.inputs["instance_class"], json!("db.r6g.large"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_that_fails_ends_the_wait_for_available_and_is_recorded() {
        let create = mock!(Client::create_db_instance)
            .then_output(|| CreateDbInstanceOutput::builder().build());
        // No read after: a failed wait must not go on.
        let describe = described(&["creating", "failed"], "db.r6g.large");
        let (env, _) = env_over(&[&create, &describe]);
        let e = Instance
            .create(&env, &spec("db.r6g.large"), &Records::default())
            .await
            .unwrap_err();
        assert_eq!(describe.num_calls(), 2, "a failure state ends the wait");
        assert!(
            e.message
                .contains("waiting for Aurora instance luneo-prod-primary-1 to be available"),
            "{}",
            e.message
        );
        assert_eq!(
            e.partial.map(|r| r.id).as_deref(),
            Some(ID),
            "recorded, so that the next apply or destroy deletes it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_create_is_final_after_one_call_with_nothing_to_wait_for() {
        let create = mock!(Client::create_db_instance).then_error(|| {
            CreateDBInstanceError::generic(said(
                "DBInstanceAlreadyExists",
                "DB instance already exists",
            ))
        });
        let (env, _) = env_over(&[&create]);
        let e = Instance
            .create(&env, &spec("db.r6g.large"), &Records::default())
            .await
            .unwrap_err();
        assert_eq!(create.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("CreateDBInstance: DBInstanceAlreadyExists")
                && e.partial.is_none(),
            "{}",
            e.message
        );
    }

    /// ModifyDBInstance: a storage change still optimizing (declared) is
    /// retried, then the instance is waited for and read back; any other
    /// refusal is final after one call.
    #[tokio::test(start_paused = true)]
    async fn a_class_change_retries_its_declared_not_yet_and_any_other_error_is_final() {
        let optimizing = MODIFY_DB_INSTANCE.not_yet[0];
        let modify = mock!(Client::modify_db_instance)
            .match_requests(|r| {
                r.db_instance_identifier() == Some(ID)
                    && r.db_instance_class() == Some("db.r6g.xlarge")
                    && r.apply_immediately() == Some(true)
            })
            .sequence()
            .error(move || ModifyDBInstanceError::generic(said(optimizing.code, optimizing.says)))
            .output(|| ModifyDbInstanceOutput::builder().build())
            .build();
        let describe = described(&["modifying", "available", "available"], "db.r6g.xlarge");
        let (env, _) = env_over(&[&modify, &describe]);
        let rec = Instance
            .update(&env, &spec("db.r6g.xlarge"), &record(), &Records::default())
            .await
            .unwrap();
        assert_eq!(modify.num_calls(), 2, "retried once, then modified");
        assert_eq!(describe.num_calls(), 3, "waited until available again");
        assert_eq!(rec.inputs["instance_class"], json!("db.r6g.xlarge"));
        assert_eq!(rec.out("arn"), ARN);

        let modify = mock!(Client::modify_db_instance).then_error(|| {
            ModifyDBInstanceError::generic(said(
                "InvalidDBInstanceState",
                "Database instance is not in available state.",
            ))
        });
        let (env, _) = env_over(&[&modify]);
        let e = Instance
            .update(&env, &spec("db.r6g.xlarge"), &record(), &Records::default())
            .await
            .unwrap_err();
        assert_eq!(modify.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("ModifyDBInstance: InvalidDBInstanceState")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    /// DeleteDBInstance: the last instance of a primary with a replica
    /// still attached (declared) is retried, then waited for until gone;
    /// the same code for another reason is final after one call.
    #[tokio::test(start_paused = true)]
    async fn a_delete_refused_while_a_replica_is_attached_is_retried_and_any_other_error_is_final()
    {
        let attached = DELETE_DB_INSTANCE.not_yet[0];
        let delete = mock!(Client::delete_db_instance)
            .match_requests(|r| r.db_instance_identifier() == Some(ID))
            .sequence()
            .error(move || DeleteDBInstanceError::generic(said(attached.code, attached.says)))
            .output(|| DeleteDbInstanceOutput::builder().build())
            .build();
        let (deleting, gone) = (described(&["deleting"], "db.r6g.large"), gone());
        let (env, slept) = env_over(&[&delete, &deleting, &gone]);
        Instance.delete(&env, &record()).await.unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");
        assert_eq!(
            (deleting.num_calls(), gone.num_calls(), slept.pauses().len()),
            (1, 1, 1),
            "waited until gone"
        );

        let delete = mock!(Client::delete_db_instance).then_error(|| {
            DeleteDBInstanceError::generic(said(
                "InvalidDBClusterStateFault",
                "Cluster luneo-prod-primary is in backing-up state.",
            ))
        });
        let (env, _) = env_over(&[&delete]);
        let e = Instance.delete(&env, &record()).await.unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("DeleteDBInstance: InvalidDBClusterStateFault")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_already_gone_or_going_is_deleted_without_error() {
        // Gone: nothing to wait for (no describe rule).
        let delete = mock!(Client::delete_db_instance).then_error(|| {
            DeleteDBInstanceError::generic(said(
                "DBInstanceNotFound",
                "DBInstance luneo-prod-primary-1 not found.",
            ))
        });
        let (env, _) = env_over(&[&delete]);
        Instance.delete(&env, &record()).await.unwrap();
        assert_eq!(delete.num_calls(), 1);

        // Already being deleted: waited for like its own delete.
        let delete = mock!(Client::delete_db_instance).then_error(|| {
            DeleteDBInstanceError::generic(said(
                "InvalidDBInstanceState",
                "Instance luneo-prod-primary-1 is already being deleted.",
            ))
        });
        let gone = gone();
        let (env, _) = env_over(&[&delete, &gone]);
        Instance.delete(&env, &record()).await.unwrap();
        assert_eq!((delete.num_calls(), gone.num_calls()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_instance_gone_or_being_deleted_reads_as_none() {
        let gone = gone();
        let (env, _) = env_over(&[&gone]);
        assert!(Instance.read(&env, &record()).await.unwrap().is_none());
        assert_eq!(gone.num_calls(), 1);

        let deleting = described(&["deleting"], "db.r6g.large");
        let (env, _) = env_over(&[&deleting]);
        assert!(Instance.read(&env, &record()).await.unwrap().is_none());

        // There: the class as AWS reports it (changed out of band: drift).
        let there = described(&["available"], "db.r6g.2xlarge");
        let (env, _) = env_over(&[&there]);
        let r = Instance
            .read(&env, &record())
            .await
            .unwrap()
            .expect("the instance exists");
        assert_eq!(r.inputs["instance_class"], json!("db.r6g.2xlarge"));
        assert_eq!(r.id, ID);

        let refused = mock!(Client::describe_db_instances).then_error(|| {
            DescribeDBInstancesError::generic(said(
                "AccessDenied",
                "User is not authorized to perform: rds:DescribeDBInstances",
            ))
        });
        let (env, _) = env_over(&[&refused]);
        let e = Instance.read(&env, &record()).await.unwrap_err();
        assert!(
            e.message.starts_with("DescribeDBInstances: "),
            "{}",
            e.message
        );
    }

    /// Adoption: the identifier (kept), cluster, engine and class as AWS
    /// has them, named by identifier or ARN; the ARN output as create
    /// records it. A database outside any cluster is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_instance_and_its_cluster_from_aws() {
        let hand_made = |cluster: Option<&'static str>| {
            mock!(Client::describe_db_instances)
                .match_requests(|r| r.db_instance_identifier() == Some("team-db-eu-a"))
                .then_output(move || {
                    DescribeDbInstancesOutput::builder()
                        .db_instances(
                            RdsInstance::builder()
                                .db_instance_identifier("team-db-eu-a")
                                .db_instance_arn(
                                    "arn:aws:rds:eu-west-1:123456789012:db:team-db-eu-a",
                                )
                                .db_instance_status("available")
                                .set_db_cluster_identifier(cluster.map(str::to_string))
                                .engine("aurora-postgresql")
                                .db_instance_class("db.r6g.xlarge")
                                .build(),
                        )
                        .build()
                })
        };
        let d = hand_made(Some("team-db-eu"));
        let (env, _) = env_over(&[&d]);
        let r = Instance
            .observe(
                &env,
                &spec("db.r6g.large"),
                "arn:aws:rds:eu-west-1:123456789012:db:team-db-eu-a",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "team-db-eu-a");
        assert_eq!(
            r.inputs,
            json!({"id": "team-db-eu-a", "cluster": "team-db-eu", "engine": "aurora-postgresql", "instance_class": "db.r6g.xlarge"})
        );
        assert_eq!(
            r.out("arn"),
            "arn:aws:rds:eu-west-1:123456789012:db:team-db-eu-a"
        );
        assert_eq!(Instance.kept_fields(), &["id"]);
        let alone = hand_made(None);
        let (env, _) = env_over(&[&alone]);
        let e = Instance
            .observe(&env, &spec("db.r6g.large"), "team-db-eu-a", &Records::new())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("not an instance of an Aurora cluster"),
            "{}",
            e.message
        );
    }
}
