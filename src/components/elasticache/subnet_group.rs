//! ElastiCache subnet group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

pub(super) fn cache_tags(env: &E, spec: &Spec) -> Vec<aws_sdk_elasticache::types::Tag> {
    spec_tags(env, spec)
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_elasticache::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// A subnet group over the subnets of its slot `subnets` (keys, so that
/// adding one updates it).
pub struct CacheSubnetGroup;

/// A replication group just deleted can still hold its cache subnet group
/// for a while: ElastiCache refuses the group's delete until it lets go.
const DELETE: Call = Call::retrying(
    "elasticache:DeleteCacheSubnetGroup",
    DRAIN,
    &[NotYet::code("CacheSubnetGroupInUse", "The requested cache subnet group is currently in use.")],
)
.why("hashicorp/aws elasticache/subnet_group.go resourceSubnetGroupDelete retries for 5 minutes, on DependencyViolation, a code DeleteCacheSubnetGroup does not return; the code ElastiCache gives for a group still held is CacheSubnetGroupInUse (API reference), retried here for the same 5 minutes (DRAIN)");
const CALLS: &[Call] = &[
    Call::settled("elasticache:CreateCacheSubnetGroup"),
    Call::settled("elasticache:ModifyCacheSubnetGroup"),
    DELETE,
    Call::read("elasticache:DescribeCacheSubnetGroups"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheSubnetGroupInputs {
    pub name: String,
}

impl Inputs for CacheSubnetGroupInputs {
    const KIND: &'static str = "elasticache_subnet_group";
}

/// The group `name` as ElastiCache has it: its name and its subnet ids
/// (None: it does not exist).
async fn describe(env: &E, name: &str) -> Result<Option<(String, Vec<String>)>, OpError> {
    match env
        .ctx
        .elasticache()
        .describe_cache_subnet_groups()
        .cache_subnet_group_name(name)
        .send()
        .await
    {
        Ok(o) => Ok(o.cache_subnet_groups().first().map(|g| {
            (
                g.cache_subnet_group_name().unwrap_or(name).to_string(),
                g.subnets()
                    .iter()
                    .filter_map(|x| x.subnet_identifier().map(str::to_string))
                    .collect(),
            )
        })),
        Err(e) if crate::aws::code_in(&e, &["CacheSubnetGroupNotFoundFault"]) => Ok(None),
        Err(e) => Err(op("DescribeCacheSubnetGroups")(e)),
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for CacheSubnetGroup {
    crate::engine::typed_kind!(CacheSubnetGroupInputs);
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
        Some(|env, r| {
            TagRef::ElastiCache(env.ctx.arn("elasticache", &format!("subnetgroup:{}", r.id)))
        })
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the group's name (hashicorp/aws `aws_elasticache_subnet_group.id`)
    /// or its ARN. Its subnets fill the slot.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        Ok(describe(env, arn_tail(id, ":subnetgroup:"))
            .await?
            .map(|(name, subnets)| observed_group(self.name(), spec, deps, &name, subnets)))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let name = spec.typed::<CacheSubnetGroupInputs>()?.name;
        env.ctx
            .elasticache()
            .create_cache_subnet_group()
            .cache_subnet_group_name(&name)
            .cache_subnet_group_description(format!("{} cache subnets", env.stack_id))
            .set_subnet_ids(Some(subnet_ids(spec, deps)?))
            .set_tags(Some(cache_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateCacheSubnetGroup"))?;
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
            .elasticache()
            .modify_cache_subnet_group()
            .cache_subnet_group_name(&old.id)
            .set_subnet_ids(Some(subnet_ids(spec, deps)?))
            .send()
            .await
            .map_err(op("ModifyCacheSubnetGroup"))?;
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
        let ec = env.ctx.elasticache();
        match env
            .call(&DELETE, || {
                ec.delete_cache_subnet_group()
                    .cache_subnet_group_name(&rec.id)
                    .send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e.error, &["CacheSubnetGroupNotFoundFault"]) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<CacheSubnetGroupInputs>()?.name,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_elasticache::operation::delete_cache_subnet_group::{
        DeleteCacheSubnetGroupError, DeleteCacheSubnetGroupOutput,
    };
    use aws_sdk_elasticache::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(elasticache, aws_sdk_elasticache, rules)
    }
    fn refused(code: &str, message: &str) -> DeleteCacheSubnetGroupError {
        DeleteCacheSubnetGroupError::generic(
            ErrorMetadata::builder().code(code).message(message).build(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_still_held_by_its_cache_is_retried_and_any_other_error_is_final() {
        let group = Record::new(
            "elasticache_subnet_group",
            "kavak-agent-prod-cache",
            json!({"name": "kavak-agent-prod-cache"}),
        );
        let in_use = DELETE.not_yet[0];
        let delete = mock!(Client::delete_cache_subnet_group)
            .match_requests(|r| r.cache_subnet_group_name() == Some("kavak-agent-prod-cache"))
            .sequence()
            .error(move || refused(in_use.code, in_use.says))
            .output(|| DeleteCacheSubnetGroupOutput::builder().build())
            .build();
        CacheSubnetGroup
            .delete(&env_over(&[&delete]), &group)
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");

        let delete = mock!(Client::delete_cache_subnet_group)
            .then_error(|| refused("InjectedFailure", "InjectedFailure"));
        let e = CacheSubnetGroup
            .delete(&env_over(&[&delete]), &group)
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("DeleteCacheSubnetGroup: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_groups_own_name_and_names_its_subnets_by_their_dependencies() {
        use aws_sdk_elasticache::operation::describe_cache_subnet_groups::{
            DescribeCacheSubnetGroupsError, DescribeCacheSubnetGroupsOutput,
        };
        use aws_sdk_elasticache::types::{CacheSubnetGroup as Group, Subnet};
        let mut g = crate::engine::Desired::new();
        let a = g.add(Spec::new("subnet.private.a", "ec2_subnet", json!({})));
        let b = g.add(Spec::new("subnet.private.b", "ec2_subnet", json!({})));
        let spec = Spec::new(
            "cache.subnets",
            "elasticache_subnet_group",
            json!({"name": "kavak-dev-redis"}),
        )
        .filling_each("subnets", [&a, &b], crate::engine::OnDepChange::Update);
        // Only the first subnet is the stack's (the second is not adopted).
        let deps: Records = [(
            "subnet.private.a".to_string(),
            Record::new("ec2_subnet", "subnet-a", json!({})),
        )]
        .into();
        let d = mock!(Client::describe_cache_subnet_groups)
            .match_requests(|r| r.cache_subnet_group_name() == Some("kavak-dev-redis-subnets"))
            .then_output(|| {
                DescribeCacheSubnetGroupsOutput::builder()
                    .cache_subnet_groups(
                        Group::builder()
                            .cache_subnet_group_name("kavak-dev-redis-subnets")
                            .subnets(Subnet::builder().subnet_identifier("subnet-b").build())
                            .subnets(Subnet::builder().subnet_identifier("subnet-a").build())
                            .build(),
                    )
                    .build()
            });
        let r = CacheSubnetGroup
            .observe(
                &env_over(&[&d]),
                &spec,
                "arn:aws:elasticache:eu-west-1:123456789012:subnetgroup:kavak-dev-redis-subnets",
                &deps,
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "kavak-dev-redis-subnets");
        assert_eq!(
            r.inputs,
            json!({"name": "kavak-dev-redis-subnets", "subnets": ["subnet.private.a", "subnet-b"]}),
            "its own name (kept); a subnet no dependency has by its id"
        );
        assert_eq!(r.out("subnet_ids"), "subnet-a,subnet-b");
        let missing = mock!(Client::describe_cache_subnet_groups).then_error(|| {
            DescribeCacheSubnetGroupsError::generic(mocked::fault("CacheSubnetGroupNotFoundFault"))
        });
        assert!(CacheSubnetGroup
            .observe(
                &env_over(&[&missing]),
                &spec,
                "kavak-dev-redis-subnets",
                &deps
            )
            .await
            .unwrap()
            .is_none());
    }
}
