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

/// The group `name` as RDS has it: its name and its subnet ids (None: it
/// does not exist).
async fn describe(env: &E, name: &str) -> Result<Option<(String, Vec<String>)>, OpError> {
    match env
        .ctx
        .rds()
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
    {
        Ok(o) => Ok(o.db_subnet_groups().first().map(|g| {
            (
                g.db_subnet_group_name().unwrap_or(name).to_string(),
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

#[tonic::async_trait]
impl Kind<AwsContext> for DbSubnetGroup {
    crate::engine::typed_kind!(DbSubnetGroupInputs);
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
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the group's name (hashicorp/aws `aws_db_subnet_group.id`) or
    /// its ARN. Its subnets fill the slot.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        Ok(describe(env, arn_tail(id, ":subgrp:"))
            .await?
            .map(|(name, subnets)| observed_group(self.name(), spec, deps, &name, subnets)))
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
        Ok(describe(env, &rec.id)
            .await?
            .map(|(_, subnets)| observe_subnets(rec, subnets)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_rds::operation::delete_db_subnet_group::{
        DeleteDBSubnetGroupError, DeleteDbSubnetGroupOutput,
    };
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }
    fn refused(code: &str, message: &str) -> DeleteDBSubnetGroupError {
        DeleteDBSubnetGroupError::generic(
            ErrorMetadata::builder().code(code).message(message).build(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_still_held_by_its_database_is_retried_and_any_other_error_is_final() {
        let group = Record::new(
            "rds_subnet_group",
            "kavak-agent-prod-db",
            json!({"name": "kavak-agent-prod-db"}),
        );
        let held = DELETE.not_yet[0];
        let delete = mock!(Client::delete_db_subnet_group)
            .match_requests(|r| r.db_subnet_group_name() == Some("kavak-agent-prod-db"))
            .sequence()
            .error(move || refused(held.code, held.says))
            .output(|| DeleteDbSubnetGroupOutput::builder().build())
            .build();
        DbSubnetGroup
            .delete(&env_over(&[&delete]), &group)
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");

        let delete = mock!(Client::delete_db_subnet_group)
            .then_error(|| refused("InjectedFailure", "InjectedFailure"));
        let e = DbSubnetGroup
            .delete(&env_over(&[&delete]), &group)
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("DeleteDBSubnetGroup: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_groups_own_name_and_names_its_subnets_by_their_dependencies() {
        use aws_sdk_rds::operation::describe_db_subnet_groups::{
            DescribeDBSubnetGroupsError, DescribeDbSubnetGroupsOutput,
        };
        use aws_sdk_rds::types::{DbSubnetGroup as Group, Subnet};
        let mut g = crate::engine::Desired::new();
        let a = g.add(Spec::new("subnet.private.a", "ec2_subnet", json!({})));
        let b = g.add(Spec::new("subnet.private.b", "ec2_subnet", json!({})));
        let spec = Spec::new(
            "db.subnets",
            "rds_subnet_group",
            json!({"name": "kavak-dev-db"}),
        )
        .filling_each("subnets", [&a, &b], crate::engine::OnDepChange::Update);
        let deps: Records = [
            ("subnet.private.a", "subnet-a"),
            ("subnet.private.b", "subnet-b"),
        ]
        .into_iter()
        .map(|(k, id)| (k.to_string(), Record::new("ec2_subnet", id, json!({}))))
        .collect();
        let described = |subnets: &'static [&'static str]| {
            mock!(Client::describe_db_subnet_groups)
                .match_requests(|r| r.db_subnet_group_name() == Some("kavak-dev-db-subnets"))
                .then_output(move || {
                    DescribeDbSubnetGroupsOutput::builder()
                        .db_subnet_groups(
                            Group::builder()
                                .db_subnet_group_name("kavak-dev-db-subnets")
                                .set_subnets(Some(
                                    subnets
                                        .iter()
                                        .map(|s| Subnet::builder().subnet_identifier(*s).build())
                                        .collect(),
                                ))
                                .build(),
                        )
                        .build()
                })
        };
        // Listed in another order: the same set reads as the slot's list.
        let d = described(&["subnet-b", "subnet-a"]);
        let r = DbSubnetGroup
            .observe(
                &env_over(&[&d]),
                &spec,
                "arn:aws:rds:eu-west-1:123456789012:subgrp:kavak-dev-db-subnets",
                &deps,
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "kavak-dev-db-subnets");
        assert_eq!(
            r.inputs,
            json!({"name": "kavak-dev-db-subnets", "subnets": ["subnet.private.a", "subnet.private.b"]}),
            "its own name (kept), its subnets as the slot names them"
        );
        assert_eq!(r.out("subnet_ids"), "subnet-a,subnet-b");
        // A subnet the stack does not have: its id, an update to the stack's.
        let d = described(&["subnet-a", "subnet-z"]);
        let r = DbSubnetGroup
            .observe(&env_over(&[&d]), &spec, "kavak-dev-db-subnets", &deps)
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.inputs["subnets"], json!(["subnet.private.a", "subnet-z"]));
        let missing = mock!(Client::describe_db_subnet_groups).then_error(|| {
            DescribeDBSubnetGroupsError::generic(mocked::fault("DBSubnetGroupNotFoundFault"))
        });
        assert!(DbSubnetGroup
            .observe(&env_over(&[&missing]), &spec, "kavak-dev-db-subnets", &deps)
            .await
            .unwrap()
            .is_none());
    }
}
