//! RDS subnet group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub(super) fn rds_tags(env: &E, spec: &Spec) -> Vec<aws_sdk_rds::types::Tag> {
    spec_tags(env, spec)
        .into_iter()
        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// A subnet group over the subnets of its slot `subnets` (keys, so that
/// adding one updates it).
pub struct DbSubnetGroup;

/// A database just deleted (its delete waited until RDS no longer finds
/// it) can still hold its subnet group for a while: RDS refuses the
/// group's delete until it lets go.
const DELETE: Call = Call::retrying(
    "rds:DeleteDBSubnetGroup",
    DRAIN,
    &[NotYet::code(
        "InvalidDBSubnetGroupStateFault",
        "Cannot delete the subnet group 'kavak-agent-prod-db' because at least one database instance: kavak-agent-prod-db is still using it.",
    )],
)
.why("hashicorp/aws rds/subnet_group.go resourceSubnetGroupDelete deletes once, then waits 3 minutes for the group to be gone; Terraform deleting the group right after the instance's delete still meets InvalidDBSubnetGroupStateFault (anomalyco/sst#4026, #6592), so we retry it for the 5-minute DRAIN");
const CALLS: &[Call] = &[
    Call::settled("rds:CreateDBSubnetGroup"),
    Call::settled("rds:ModifyDBSubnetGroup"),
    DELETE,
    Call::read("rds:DescribeDBSubnetGroups"),
];

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
    fn calls(&self) -> &'static [Call] {
        CALLS
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
        with_subnets(
            Record::new(self.name(), &name, spec.inputs.clone()),
            spec,
            deps,
        )
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .rds()
            .describe_db_subnet_groups()
            .db_subnet_group_name(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o.db_subnet_groups().first().map(|g| {
                observe_subnets(
                    rec,
                    g.subnets()
                        .iter()
                        .filter_map(|x| x.subnet_identifier().map(str::to_string))
                        .collect(),
                )
            })),
            Err(e) if crate::aws::code_in(&e, &["DBSubnetGroupNotFoundFault"]) => Ok(None),
            Err(e) => Err(op("DescribeDBSubnetGroups")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        env.ctx
            .rds()
            .modify_db_subnet_group()
            .db_subnet_group_name(&old.id)
            .set_subnet_ids(Some(subnet_ids(spec, deps)?))
            .send()
            .await
            .map_err(op("ModifyDBSubnetGroup"))?;
        with_subnets(
            Record {
                inputs: spec.inputs.clone(),
                ..old.clone()
            },
            spec,
            deps,
        )
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let rds = env.ctx.rds();
        match env
            .call(&DELETE, || {
                rds.delete_db_subnet_group()
                    .db_subnet_group_name(&rec.id)
                    .send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e.error, &["DBSubnetGroupNotFoundFault"]) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<DbSubnetGroupInputs>()?.name,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
}
