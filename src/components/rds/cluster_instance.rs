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
        inputs["instance_class"] = json!(d.db_instance_class());
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
                r.inputs["instance_class"] = json!(d.db_instance_class());
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
