//! Tags of every service in one place: how each service's tagging API
//! reads, sets and removes the tags of one object. A kind only says how its
//! objects are named here (`Kind::tagging`); the engine diffs and applies.

use crate::aws::AwsContext;
use crate::engine::{Call, Cloud, OpError, Tags};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Every call of the tag API, for every service a kind tags through it
/// (reads, sets, removes), in the consistency catalog. None is retried: the
/// engine sets tags at create where the service allows it, and its tag
/// update (`converge_tags`) runs only on an object whose create completed,
/// or that was found and read back (an adoption), never on one AWS may not
/// show yet. hashicorp/aws adds no tag-API retry for any of these services
/// but EC2's (below); KMS's `waitTagsPropagated` (tags_gen.go) waits for
/// the new tags to read back, a read-after-write wait, not an error.
pub const CALLS: &[Call] = &[
    Call::read("ec2:DescribeTags"),
    Call::settled("ec2:CreateTags").why(
        "hashicorp/aws ec2 tags.go createTags retries *.NotFound (InvalidVpcID.NotFound, InvalidSubnetID.NotFound, ...) for eventualConsistencyTimeout (5m) because it tags an object in the same breath as its create; ours tag at create (TagSpecifications), and the engine's tag update runs only after the object's create completed or it was found and read back, so no NotFound is declared (tagging.rs has no Env to retry with)",
    ),
    Call::settled("ec2:DeleteTags"),
    Call::read("iam:ListRoleTags"),
    Call::settled("iam:TagRole"),
    Call::settled("iam:UntagRole"),
    Call::read("iam:GetInstanceProfile"),
    Call::settled("iam:TagInstanceProfile"),
    Call::settled("iam:UntagInstanceProfile"),
    Call::read("iam:ListOpenIDConnectProviderTags"),
    Call::settled("iam:TagOpenIDConnectProvider"),
    Call::settled("iam:UntagOpenIDConnectProvider"),
    // S3 replaces a bucket's whole tag set: a set or a removal reads it first.
    Call::read("s3:GetBucketTagging"),
    Call::settled("s3:PutBucketTagging"),
    Call::read("ssm:ListTagsForResource"),
    Call::settled("ssm:AddTagsToResource"),
    Call::settled("ssm:RemoveTagsFromResource"),
    Call::read("sns:ListTagsForResource"),
    Call::settled("sns:TagResource"),
    Call::settled("sns:UntagResource"),
    Call::read("budgets:ListTagsForResource"),
    Call::settled("budgets:TagResource"),
    Call::settled("budgets:UntagResource"),
    Call::read("cloudwatch:ListTagsForResource"),
    Call::settled("cloudwatch:TagResource"),
    Call::settled("cloudwatch:UntagResource"),
    Call::read("ecr:ListTagsForResource"),
    Call::settled("ecr:TagResource"),
    Call::settled("ecr:UntagResource"),
    Call::read("logs:ListTagsForResource"),
    Call::settled("logs:TagResource"),
    Call::settled("logs:UntagResource"),
    // A secret's tags come with its description.
    Call::read("secretsmanager:DescribeSecret"),
    Call::settled("secretsmanager:TagResource"),
    Call::settled("secretsmanager:UntagResource"),
    Call::read("elasticloadbalancing:DescribeTags"),
    Call::settled("elasticloadbalancing:AddTags"),
    Call::settled("elasticloadbalancing:RemoveTags"),
    Call::read("rds:ListTagsForResource"),
    Call::settled("rds:AddTagsToResource"),
    Call::settled("rds:RemoveTagsFromResource"),
    Call::read("elasticache:ListTagsForResource"),
    Call::settled("elasticache:AddTagsToResource"),
    Call::settled("elasticache:RemoveTagsFromResource"),
    Call::read("ecs:ListTagsForResource"),
    Call::settled("ecs:TagResource"),
    Call::settled("ecs:UntagResource"),
    Call::read("dlm:ListTagsForResource"),
    Call::settled("dlm:TagResource"),
    Call::settled("dlm:UntagResource"),
    Call::read("kms:ListResourceTags"),
    Call::settled("kms:TagResource"),
    Call::settled("kms:UntagResource"),
    Call::read("eks:ListTagsForResource"),
    Call::settled("eks:TagResource"),
    Call::settled("eks:UntagResource"),
    Call::read("route53:ListTagsForResource"),
    Call::settled("route53:ChangeTagsForResource"),
];

/// An object as its service's tagging API names it.
#[derive(Clone, Debug, PartialEq)]
pub enum TagRef {
    /// Any EC2 resource id (VPC, subnet, route table, gateway, group,
    /// instance, volume, address).
    Ec2(String),
    IamRole(String),
    IamInstanceProfile(String),
    S3Bucket(String),
    SsmParameter(String),
    /// By ARN, for the services whose tagging API takes one.
    Sns(String),
    Budget(String),
    CloudWatch(String),
    Ecr(String),
    Logs(String),
    SecretsManager(String),
    Elbv2(String),
    Rds(String),
    ElastiCache(String),
    Ecs(String),
    Dlm(String),
    /// By key id.
    Kms(String),
    Eks(String),
    IamOidcProvider(String),
    /// By health check id.
    Route53HealthCheck(String),
}

/// How one service's tag read says the object does not exist: its own
/// not-found codes, and the (code, message fragment) pairs where it says so
/// with a generic code. Nothing else reads as gone: a tag read refused for
/// want of permission, throttled, or failing on a parameter is an error
/// (reported by `op`), never an object with no tags, which would make an
/// object of the stack look foreign, or one gone.
pub(crate) struct Gone {
    pub(crate) codes: &'static [&'static str],
    pub(crate) says: &'static [(&'static str, &'static str)],
}

impl Gone {
    pub(crate) const fn codes(codes: &'static [&'static str]) -> Gone {
        Gone { codes, says: &[] }
    }
    pub(crate) fn matches<Er: ProvideErrorMetadata, R>(&self, e: &SdkError<Er, R>) -> bool {
        if crate::aws::is_permission_denied(e) {
            return false;
        }
        let Some(code) = crate::aws::error_code(e) else {
            return false;
        };
        let message = crate::engine::Fault::message(e)
            .unwrap_or_default()
            .to_lowercase();
        self.codes.contains(&code.as_str())
            || self
                .says
                .iter()
                .any(|(c, fragment)| *c == code && message.contains(&fragment.to_lowercase()))
    }
}

pub(crate) fn pairs<T>(
    tags: impl IntoIterator<Item = T>,
    kv: impl Fn(&T) -> (Option<&str>, Option<&str>),
) -> Tags {
    tags.into_iter()
        .filter_map(|t| {
            let (k, v) = kv(&t);
            k.map(|k| (k.to_string(), v.unwrap_or_default().to_string()))
        })
        .collect()
}

/// Reads with `$call`, mapping the service's not-found (`$gone`) to None.
macro_rules! read {
    ($call:expr, $what:literal, $gone:expr, |$o:ident| $tags:expr) => {
        match $call.send().await {
            Ok($o) => Ok(Some($tags)),
            Err(e) if $gone.matches(&e) => Ok(None),
            Err(e) => Err($crate::components::op($what)(e)),
        }
    };
}
pub(crate) use read;

#[tonic::async_trait]
impl Cloud for AwsContext {
    type TagRef = TagRef;

    fn region(&self) -> &str {
        &self.region
    }

    fn in_region(self: std::sync::Arc<Self>, region: &str) -> std::sync::Arc<Self> {
        self.region_context(region)
    }

    async fn read_tags(&self, r: &TagRef) -> Result<Option<Tags>, OpError> {
        match r {
            TagRef::Ec2(x) => super::ec2::read_tags_resource(self, x).await,
            TagRef::IamRole(x) => super::iam::read_tags_role(self, x).await,
            TagRef::IamInstanceProfile(x) => super::iam::read_tags_instance_profile(self, x).await,
            TagRef::S3Bucket(x) => super::s3::read_tags_bucket(self, x).await,
            TagRef::SsmParameter(x) => super::ssm::read_tags_parameter(self, x).await,
            TagRef::Sns(x) => super::sns::read_tags_topic(self, x).await,
            TagRef::Budget(x) => super::budgets::read_tags_budget(self, x).await,
            TagRef::CloudWatch(x) => super::cloudwatch::read_tags_alarm(self, x).await,
            TagRef::Ecr(x) => super::ecr::read_tags_repository(self, x).await,
            TagRef::Logs(x) => super::logs::read_tags_log_group(self, x).await,
            TagRef::SecretsManager(x) => super::secrets::read_tags_secret(self, x).await,
            TagRef::Elbv2(x) => super::elb::read_tags_resource(self, x).await,
            TagRef::Rds(x) => super::rds::read_tags_resource(self, x).await,
            TagRef::ElastiCache(x) => super::elasticache::read_tags_resource(self, x).await,
            TagRef::Ecs(x) => super::ecs::read_tags_resource(self, x).await,
            TagRef::Dlm(x) => super::dlm::read_tags_policy(self, x).await,
            TagRef::Kms(x) => super::kms::read_tags_key(self, x).await,
            TagRef::Eks(x) => super::eks::read_tags_resource(self, x).await,
            TagRef::IamOidcProvider(x) => super::iam::read_tags_oidc_provider(self, x).await,
            TagRef::Route53HealthCheck(x) => super::route53::read_tags_health_check(self, x).await,
        }
    }

    async fn update_tags(&self, r: &TagRef, set: &Tags, remove: &[String]) -> Result<(), OpError> {
        if !remove.is_empty() {
            self.untag(r, remove).await?;
        }
        if !set.is_empty() {
            self.tag(r, set).await?;
        }
        Ok(())
    }
}

impl AwsContext {
    async fn tag(&self, r: &TagRef, set: &Tags) -> Result<(), OpError> {
        match r {
            TagRef::Ec2(x) => super::ec2::tag_resource(self, x, set).await,
            TagRef::IamRole(x) => super::iam::tag_role(self, x, set).await,
            TagRef::IamInstanceProfile(x) => super::iam::tag_instance_profile(self, x, set).await,
            TagRef::S3Bucket(x) => super::s3::tag_bucket(self, x, set).await,
            TagRef::SsmParameter(x) => super::ssm::tag_parameter(self, x, set).await,
            TagRef::Sns(x) => super::sns::tag_topic(self, x, set).await,
            TagRef::Budget(x) => super::budgets::tag_budget(self, x, set).await,
            TagRef::CloudWatch(x) => super::cloudwatch::tag_alarm(self, x, set).await,
            TagRef::Ecr(x) => super::ecr::tag_repository(self, x, set).await,
            TagRef::Logs(x) => super::logs::tag_log_group(self, x, set).await,
            TagRef::SecretsManager(x) => super::secrets::tag_secret(self, x, set).await,
            TagRef::Elbv2(x) => super::elb::tag_resource(self, x, set).await,
            TagRef::Rds(x) => super::rds::tag_resource(self, x, set).await,
            TagRef::ElastiCache(x) => super::elasticache::tag_resource(self, x, set).await,
            TagRef::Ecs(x) => super::ecs::tag_resource(self, x, set).await,
            TagRef::Dlm(x) => super::dlm::tag_policy(self, x, set).await,
            TagRef::Kms(x) => super::kms::tag_key(self, x, set).await,
            TagRef::Eks(x) => super::eks::tag_resource(self, x, set).await,
            TagRef::IamOidcProvider(x) => super::iam::tag_oidc_provider(self, x, set).await,
            TagRef::Route53HealthCheck(x) => super::route53::tag_health_check(self, x, set).await,
        }
    }

    async fn untag(&self, r: &TagRef, keys: &[String]) -> Result<(), OpError> {
        let keys = keys.to_vec();
        match r {
            TagRef::Ec2(x) => super::ec2::untag_resource(self, x, keys).await,
            TagRef::IamRole(x) => super::iam::untag_role(self, x, keys).await,
            TagRef::IamInstanceProfile(x) => {
                super::iam::untag_instance_profile(self, x, keys).await
            }
            TagRef::S3Bucket(x) => super::s3::untag_bucket(self, x, keys).await,
            TagRef::SsmParameter(x) => super::ssm::untag_parameter(self, x, keys).await,
            TagRef::Sns(x) => super::sns::untag_topic(self, x, keys).await,
            TagRef::Budget(x) => super::budgets::untag_budget(self, x, keys).await,
            TagRef::CloudWatch(x) => super::cloudwatch::untag_alarm(self, x, keys).await,
            TagRef::Ecr(x) => super::ecr::untag_repository(self, x, keys).await,
            TagRef::Logs(x) => super::logs::untag_log_group(self, x, keys).await,
            TagRef::SecretsManager(x) => super::secrets::untag_secret(self, x, keys).await,
            TagRef::Elbv2(x) => super::elb::untag_resource(self, x, keys).await,
            TagRef::Rds(x) => super::rds::untag_resource(self, x, keys).await,
            TagRef::ElastiCache(x) => super::elasticache::untag_resource(self, x, keys).await,
            TagRef::Ecs(x) => super::ecs::untag_resource(self, x, keys).await,
            TagRef::Dlm(x) => super::dlm::untag_policy(self, x, keys).await,
            TagRef::Kms(x) => super::kms::untag_key(self, x, keys).await,
            TagRef::Eks(x) => super::eks::untag_resource(self, x, keys).await,
            TagRef::IamOidcProvider(x) => super::iam::untag_oidc_provider(self, x, keys).await,
            TagRef::Route53HealthCheck(x) => {
                super::route53::untag_health_check(self, x, keys).await
            }
        }
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn said(code: &'static str, message: &'static str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    /// ECS's tag read, answered once with `code` and `message`.
    async fn ecs_read(code: &'static str, message: &'static str) -> Result<Option<Tags>, OpError> {
        use aws_sdk_ecs::operation::list_tags_for_resource::ListTagsForResourceError;
        let rule: Rule = mock!(aws_sdk_ecs::Client::list_tags_for_resource)
            .then_error(move || ListTagsForResourceError::generic(said(code, message)));
        let rules: &[&Rule] = &[&rule];
        let env = mocked::env_over!(ecs, aws_sdk_ecs, rules);
        env.ctx
            .read_tags(&TagRef::Ecs(
                "arn:aws:ecs:eu-west-1:123456789012:service/kavak/api".into(),
            ))
            .await
    }

    /// IAM's tag read of a role, answered once with `code`.
    async fn role_read(code: &'static str) -> Result<Option<Tags>, OpError> {
        use aws_sdk_iam::operation::list_role_tags::ListRoleTagsError;
        let message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:ListRoleTags";
        let rule: Rule = mock!(aws_sdk_iam::Client::list_role_tags)
            .then_error(move || ListRoleTagsError::generic(said(code, message)));
        let rules: &[&Rule] = &[&rule];
        let env = mocked::env_over!(iam, aws_sdk_iam, rules);
        env.ctx
            .read_tags(&TagRef::IamRole("kauri-prod-scheduler".into()))
            .await
    }

    #[tokio::test(start_paused = true)]
    async fn only_a_service_s_own_not_found_reads_as_gone_and_a_refused_read_is_an_error() {
        // ECS says a missing object with its generic code: read by message.
        assert_eq!(
            ecs_read(
                "InvalidParameterException",
                "The specified cluster is inactive. Specify an active cluster and try again."
            )
            .await
            .unwrap(),
            None
        );
        assert_eq!(
            ecs_read("ServiceNotFoundException", "Service not found.")
                .await
                .unwrap(),
            None
        );
        // The same code for a final error is an error, never an object with
        // no tags (which would make the stack's own object look foreign).
        let err = ecs_read(
            "InvalidParameterException",
            "Long arn format must be used for tagging operations",
        )
        .await
        .unwrap_err();
        assert!(err.message.contains("Long arn format"), "{}", err.message);
        // A refused permission is said as one, naming the action.
        let err = ecs_read("AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:ListTagsForResource").await.unwrap_err();
        assert!(
            err.message.contains("permission denied")
                && err.message.contains("ecs:ListTagsForResource"),
            "{}",
            err.message
        );
        assert_eq!(role_read("NoSuchEntity").await.unwrap(), None);
        for code in [
            "AccessDenied",
            "UnauthorizedOperation",
            "InvalidParameterException",
        ] {
            assert!(
                role_read(code).await.is_err(),
                "{code} must not read as gone"
            );
        }
    }

    #[test]
    fn every_tag_call_is_declared_well() {
        for c in CALLS {
            crate::engine::consistency::check(c).unwrap();
        }
    }
}
