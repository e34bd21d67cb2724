//! RDS subnet group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub(super) fn rds_tags(env: &E, spec: &Spec) -> Vec<aws_sdk_rds::types::Tag> {
    spec_tags(env, spec).into_iter().map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build()).collect()
}

/// A subnet group over the subnets of its slot `subnets` (keys, so that
/// adding one updates it).
pub struct DbSubnetGroup;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbSubnetGroupInputs {
    pub name: String,
}

impl Inputs for DbSubnetGroupInputs {
    const KIND: &'static str = "rds_subnet_group";
}

#[tonic::async_trait]
impl Kind<AwsContext> for DbSubnetGroup {
    fn name(&self) -> &'static str {
        "rds_subnet_group"
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["subnet_ids"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[GROUP_SUBNETS]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(env.ctx.arn("rds", &format!("subgrp:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn check_inputs(&self, inputs: &Json) -> Result<(), String> {
        crate::engine::inputs::check::<DbSubnetGroupInputs>(inputs)
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let name = spec.typed::<DbSubnetGroupInputs>()?.name;
        env.ctx
            .rds()
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(format!("{} database subnets", env.stack_id))
            .set_subnet_ids(Some(subnet_ids(spec, deps)?))
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateDBSubnetGroup"))?;
        with_subnets(Record::new(self.name(), &name, spec.inputs.clone()), spec, deps)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.rds().describe_db_subnet_groups().db_subnet_group_name(&rec.id).send().await {
            Ok(o) => Ok(o.db_subnet_groups().first().map(|g| observe_subnets(rec, g.subnets().iter().filter_map(|x| x.subnet_identifier().map(str::to_string)).collect()))),
            Err(e) if crate::aws::code_in(&e, &["DBSubnetGroupNotFoundFault"]) => Ok(None),
            Err(e) => Err(op("DescribeDBSubnetGroups")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        env.ctx.rds().modify_db_subnet_group().db_subnet_group_name(&old.id).set_subnet_ids(Some(subnet_ids(spec, deps)?)).send().await.map_err(op("ModifyDBSubnetGroup"))?;
        with_subnets(Record { inputs: spec.inputs.clone(), ..old.clone() }, spec, deps)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let r = env
            .retry(
                std::time::Duration::from_secs(300),
                |e| crate::aws::code_in(e, &["InvalidDBSubnetGroupStateFault"]),
                || env.ctx.rds().delete_db_subnet_group().db_subnet_group_name(&rec.id).send(),
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e, &["DBSubnetGroupNotFoundFault"]) => Ok(()),
            Err(e) => Err(op("DeleteDBSubnetGroup")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(self.name(), spec.typed::<DbSubnetGroupInputs>()?.name, spec.inputs.clone());
        self.read(env, &probe).await
    }
}
