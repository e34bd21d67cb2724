//! Tags of every service in one place: how each service's tagging API
//! reads, sets and removes the tags of one object. A kind only says how its
//! objects are named here (`Kind::tagging`); the engine diffs and applies.

use super::op;
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
struct Gone {
    codes: &'static [&'static str],
    says: &'static [(&'static str, &'static str)],
}

impl Gone {
    const fn codes(codes: &'static [&'static str]) -> Gone {
        Gone { codes, says: &[] }
    }
    fn matches<Er: ProvideErrorMetadata, R>(&self, e: &SdkError<Er, R>) -> bool {
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

const IAM_GONE: Gone = Gone::codes(&["NoSuchEntity"]);
/// ListTagsForResource of a parameter that does not exist.
const SSM_GONE: Gone = Gone::codes(&["InvalidResourceId"]);
/// `ResourceNotFound` is the wire code of SNS's ResourceNotFoundException.
const SNS_GONE: Gone = Gone::codes(&["ResourceNotFound", "NotFound"]);
const BUDGETS_GONE: Gone = Gone::codes(&["NotFoundException"]);
const CLOUDWATCH_GONE: Gone = Gone::codes(&["ResourceNotFoundException", "ResourceNotFound"]);
const ECR_GONE: Gone = Gone::codes(&["RepositoryNotFoundException"]);
const LOGS_GONE: Gone = Gone::codes(&["ResourceNotFoundException"]);
const SECRETS_GONE: Gone = Gone::codes(&["ResourceNotFoundException"]);
const ELBV2_GONE: Gone = Gone::codes(&[
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
]);
const RDS_GONE: Gone = Gone::codes(&[
    "DBInstanceNotFound",
    "DBClusterNotFoundFault",
    "DBSubnetGroupNotFoundFault",
    "GlobalClusterNotFoundFault",
]);
const ELASTICACHE_GONE: Gone = Gone::codes(&[
    "CacheClusterNotFound",
    "ReplicationGroupNotFoundFault",
    "CacheSubnetGroupNotFoundFault",
]);
/// ECS says a missing object with its generic InvalidParameterException
/// (hashicorp/aws ecs generate.go: ParentNotFoundErrCode with "The specified
/// cluster is inactive"), which it also gives for final errors ("Long arn
/// format must be used for tagging operations"): matched by message.
const ECS_GONE: Gone = Gone {
    codes: &["ClusterNotFoundException", "ServiceNotFoundException"],
    says: &[
        (
            "InvalidParameterException",
            "The specified cluster is inactive",
        ),
        (
            "InvalidParameterException",
            "The specified resource is not found",
        ),
    ],
};
const DLM_GONE: Gone = Gone::codes(&["ResourceNotFoundException"]);
const KMS_GONE: Gone = Gone::codes(&["NotFoundException"]);
const EKS_GONE: Gone = Gone::codes(&["ResourceNotFoundException", "NotFoundException"]);
const ROUTE53_GONE: Gone = Gone::codes(&["NoSuchHealthCheck"]);

fn pairs<T>(
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
            Err(e) => Err(op($what)(e)),
        }
    };
}

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
        use aws_sdk_ec2::types::Filter;
        match r {
            TagRef::Ec2(id) => {
                let o = self
                    .ec2()
                    .describe_tags()
                    .filters(Filter::builder().name("resource-id").values(id).build())
                    .send()
                    .await
                    .map_err(op("ec2:DescribeTags"))?;
                Ok(Some(pairs(o.tags(), |t| (t.key(), t.value()))))
            }
            TagRef::IamRole(name) => read!(
                self.iam().list_role_tags().role_name(name),
                "iam:ListRoleTags",
                IAM_GONE,
                |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
            ),
            // GetInstanceProfile carries the tags (and every endpoint answers it).
            TagRef::IamInstanceProfile(name) => read!(
                self.iam()
                    .get_instance_profile()
                    .instance_profile_name(name),
                "iam:GetInstanceProfile",
                IAM_GONE,
                |o| pairs(
                    o.instance_profile().map(|p| p.tags()).unwrap_or_default(),
                    |t| (Some(t.key()), Some(t.value()))
                )
            ),
            TagRef::S3Bucket(name) => {
                match self.s3().get_bucket_tagging().bucket(name).send().await {
                    Ok(o) => Ok(Some(pairs(o.tag_set(), |t| {
                        (Some(t.key()), Some(t.value()))
                    }))),
                    Err(e) if crate::aws::code_in(&e, &["NoSuchTagSet"]) => Ok(Some(Tags::new())),
                    Err(e) if crate::aws::code_in(&e, &["NoSuchBucket"]) => Ok(None),
                    Err(e) => Err(op("s3:GetBucketTagging")(e)),
                }
            }
            TagRef::SsmParameter(name) => read!(
                self.ssm()
                    .list_tags_for_resource()
                    .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                    .resource_id(name),
                "ssm:ListTagsForResource",
                SSM_GONE,
                |o| pairs(o.tag_list(), |t| (Some(t.key()), Some(t.value())))
            ),
            TagRef::Sns(arn) => {
                read!(
                    self.sns().list_tags_for_resource().resource_arn(arn),
                    "sns:ListTagsForResource",
                    SNS_GONE,
                    |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
                )
            }
            TagRef::Budget(arn) => read!(
                self.budgets().list_tags_for_resource().resource_arn(arn),
                "budgets:ListTagsForResource",
                BUDGETS_GONE,
                |o| pairs(o.resource_tags(), |t| (Some(t.key()), Some(t.value())))
            ),
            TagRef::CloudWatch(arn) => read!(
                self.cloudwatch().list_tags_for_resource().resource_arn(arn),
                "cloudwatch:ListTagsForResource",
                CLOUDWATCH_GONE,
                |o| pairs(o.tags(), |t| (t.key(), t.value()))
            ),
            TagRef::Ecr(arn) => {
                read!(
                    self.ecr().list_tags_for_resource().resource_arn(arn),
                    "ecr:ListTagsForResource",
                    ECR_GONE,
                    |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
                )
            }
            TagRef::Logs(arn) => read!(
                self.logs().list_tags_for_resource().resource_arn(arn),
                "logs:ListTagsForResource",
                LOGS_GONE,
                |o| o.tags().cloned().unwrap_or_default().into_iter().collect()
            ),
            TagRef::SecretsManager(id) => {
                read!(
                    self.secrets().describe_secret().secret_id(id),
                    "secretsmanager:DescribeSecret",
                    SECRETS_GONE,
                    |o| pairs(o.tags(), |t| (t.key(), t.value()))
                )
            }
            TagRef::Elbv2(arn) => read!(
                self.elbv2().describe_tags().resource_arns(arn),
                "elasticloadbalancing:DescribeTags",
                ELBV2_GONE,
                |o| pairs(o.tag_descriptions().iter().flat_map(|d| d.tags()), |t| (
                    t.key(),
                    t.value()
                ))
            ),
            TagRef::Rds(arn) => {
                read!(
                    self.rds().list_tags_for_resource().resource_name(arn),
                    "rds:ListTagsForResource",
                    RDS_GONE,
                    |o| pairs(o.tag_list(), |t| (t.key(), t.value()))
                )
            }
            TagRef::ElastiCache(arn) => read!(
                self.elasticache()
                    .list_tags_for_resource()
                    .resource_name(arn),
                "elasticache:ListTagsForResource",
                ELASTICACHE_GONE,
                |o| pairs(o.tag_list(), |t| (t.key(), t.value()))
            ),
            TagRef::Ecs(arn) => read!(
                self.ecs().list_tags_for_resource().resource_arn(arn),
                "ecs:ListTagsForResource",
                ECS_GONE,
                |o| pairs(o.tags(), |t| (t.key(), t.value()))
            ),
            TagRef::Dlm(arn) => {
                read!(
                    self.dlm().list_tags_for_resource().resource_arn(arn),
                    "dlm:ListTagsForResource",
                    DLM_GONE,
                    |o| o.tags().cloned().unwrap_or_default().into_iter().collect()
                )
            }
            TagRef::Kms(id) => {
                read!(
                    self.kms().list_resource_tags().key_id(id),
                    "kms:ListResourceTags",
                    KMS_GONE,
                    |o| pairs(o.tags(), |t| (Some(t.tag_key()), Some(t.tag_value())))
                )
            }
            TagRef::Eks(arn) => {
                read!(
                    self.eks().list_tags_for_resource().resource_arn(arn),
                    "eks:ListTagsForResource",
                    EKS_GONE,
                    |o| o.tags().cloned().unwrap_or_default().into_iter().collect()
                )
            }
            TagRef::IamOidcProvider(arn) => {
                read!(
                    self.iam()
                        .list_open_id_connect_provider_tags()
                        .open_id_connect_provider_arn(arn),
                    "iam:ListOpenIDConnectProviderTags",
                    IAM_GONE,
                    |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))
                )
            }
            TagRef::Route53HealthCheck(id) => read!(
                self.route53()
                    .list_tags_for_resource()
                    .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
                    .resource_id(id),
                "route53:ListTagsForResource",
                ROUTE53_GONE,
                |o| pairs(
                    o.resource_tag_set().map(|s| s.tags()).unwrap_or_default(),
                    |t| (t.key(), t.value())
                )
            ),
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
        let each = set.iter();
        match r {
            TagRef::Ec2(id) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                    .collect();
                self.ec2()
                    .create_tags()
                    .resources(id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("ec2:CreateTags"))?;
            }
            TagRef::IamRole(name) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.iam()
                    .tag_role()
                    .role_name(name)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("iam:TagRole"))?;
            }
            TagRef::IamInstanceProfile(name) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.iam()
                    .tag_instance_profile()
                    .instance_profile_name(name)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("iam:TagInstanceProfile"))?;
            }
            TagRef::S3Bucket(name) => {
                // S3 replaces the whole set: keep the keys others set.
                let mut all = self.read_tags(r).await?.unwrap_or_default();
                all.extend(set.clone());
                self.put_bucket_tags(name, &all).await?;
            }
            TagRef::SsmParameter(name) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_ssm::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.ssm()
                    .add_tags_to_resource()
                    .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                    .resource_id(name)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("ssm:AddTagsToResource"))?;
            }
            TagRef::Sns(arn) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_sns::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.sns()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("sns:TagResource"))?;
            }
            TagRef::Budget(arn) => {
                let tags = each
                    .map(|(k, v)| {
                        aws_sdk_budgets::types::ResourceTag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.budgets()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_resource_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("budgets:TagResource"))?;
            }
            TagRef::CloudWatch(arn) => {
                let tags = each
                    .map(|(k, v)| {
                        aws_sdk_cloudwatch::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect();
                self.cloudwatch()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("cloudwatch:TagResource"))?;
            }
            TagRef::Ecr(arn) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.ecr()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("ecr:TagResource"))?;
            }
            TagRef::Logs(arn) => {
                self.logs()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(set.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(op("logs:TagResource"))?;
            }
            TagRef::SecretsManager(id) => {
                let tags = each
                    .map(|(k, v)| {
                        aws_sdk_secretsmanager::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect();
                self.secrets()
                    .tag_resource()
                    .secret_id(id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("secretsmanager:TagResource"))?;
            }
            TagRef::Elbv2(arn) => {
                let tags = each
                    .map(|(k, v)| {
                        aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect();
                self.elbv2()
                    .add_tags()
                    .resource_arns(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("elasticloadbalancing:AddTags"))?;
            }
            TagRef::Rds(arn) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
                    .collect();
                self.rds()
                    .add_tags_to_resource()
                    .resource_name(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("rds:AddTagsToResource"))?;
            }
            TagRef::ElastiCache(arn) => {
                let tags = each
                    .map(|(k, v)| {
                        aws_sdk_elasticache::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect();
                self.elasticache()
                    .add_tags_to_resource()
                    .resource_name(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("elasticache:AddTagsToResource"))?;
            }
            TagRef::Ecs(arn) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
                    .collect();
                self.ecs()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("ecs:TagResource"))?;
            }
            TagRef::Dlm(arn) => {
                self.dlm()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(set.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(op("dlm:TagResource"))?;
            }
            TagRef::Kms(id) => {
                let tags = each
                    .map(|(k, v)| {
                        aws_sdk_kms::types::Tag::builder()
                            .tag_key(k)
                            .tag_value(v)
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.kms()
                    .tag_resource()
                    .key_id(id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("kms:TagResource"))?;
            }
            TagRef::Eks(arn) => {
                self.eks()
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(set.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(op("eks:TagResource"))?;
            }
            TagRef::IamOidcProvider(arn) => {
                let tags = each
                    .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::bad("tag"))?;
                self.iam()
                    .tag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("iam:TagOpenIDConnectProvider"))?;
            }
            TagRef::Route53HealthCheck(id) => {
                let tags = each
                    .map(|(k, v)| {
                        aws_sdk_route53::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                    })
                    .collect();
                self.route53()
                    .change_tags_for_resource()
                    .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
                    .resource_id(id)
                    .set_add_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("route53:ChangeTagsForResource"))?;
            }
        }
        Ok(())
    }

    async fn untag(&self, r: &TagRef, keys: &[String]) -> Result<(), OpError> {
        let keys = keys.to_vec();
        match r {
            TagRef::Ec2(id) => {
                let tags = keys
                    .into_iter()
                    .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build())
                    .collect();
                self.ec2()
                    .delete_tags()
                    .resources(id)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("ec2:DeleteTags"))?;
            }
            TagRef::IamRole(name) => {
                self.iam()
                    .untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("iam:UntagRole"))?;
            }
            TagRef::IamInstanceProfile(name) => {
                self.iam()
                    .untag_instance_profile()
                    .instance_profile_name(name)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("iam:UntagInstanceProfile"))?;
            }
            TagRef::S3Bucket(name) => {
                let mut all = self.read_tags(r).await?.unwrap_or_default();
                all.retain(|k, _| !keys.contains(k));
                self.put_bucket_tags(name, &all).await?;
            }
            TagRef::SsmParameter(name) => {
                self.ssm()
                    .remove_tags_from_resource()
                    .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                    .resource_id(name)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("ssm:RemoveTagsFromResource"))?;
            }
            TagRef::Sns(arn) => {
                self.sns()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("sns:UntagResource"))?;
            }
            TagRef::Budget(arn) => {
                self.budgets()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_resource_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("budgets:UntagResource"))?;
            }
            TagRef::CloudWatch(arn) => {
                self.cloudwatch()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("cloudwatch:UntagResource"))?;
            }
            TagRef::Ecr(arn) => {
                self.ecr()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("ecr:UntagResource"))?;
            }
            TagRef::Logs(arn) => {
                self.logs()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("logs:UntagResource"))?;
            }
            TagRef::SecretsManager(id) => {
                self.secrets()
                    .untag_resource()
                    .secret_id(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("secretsmanager:UntagResource"))?;
            }
            TagRef::Elbv2(arn) => {
                self.elbv2()
                    .remove_tags()
                    .resource_arns(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("elasticloadbalancing:RemoveTags"))?;
            }
            TagRef::Rds(arn) => {
                self.rds()
                    .remove_tags_from_resource()
                    .resource_name(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("rds:RemoveTagsFromResource"))?;
            }
            TagRef::ElastiCache(arn) => {
                self.elasticache()
                    .remove_tags_from_resource()
                    .resource_name(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("elasticache:RemoveTagsFromResource"))?;
            }
            TagRef::Ecs(arn) => {
                self.ecs()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("ecs:UntagResource"))?;
            }
            TagRef::Dlm(arn) => {
                self.dlm()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("dlm:UntagResource"))?;
            }
            TagRef::Kms(id) => {
                self.kms()
                    .untag_resource()
                    .key_id(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("kms:UntagResource"))?;
            }
            TagRef::Eks(arn) => {
                self.eks()
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("eks:UntagResource"))?;
            }
            TagRef::IamOidcProvider(arn) => {
                self.iam()
                    .untag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("iam:UntagOpenIDConnectProvider"))?;
            }
            TagRef::Route53HealthCheck(id) => {
                self.route53()
                    .change_tags_for_resource()
                    .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
                    .resource_id(id)
                    .set_remove_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("route53:ChangeTagsForResource"))?;
            }
        }
        Ok(())
    }

    /// Replaces a bucket's whole tag set (S3 has no per-key tagging).
    pub async fn put_bucket_tags(&self, bucket: &str, tags: &Tags) -> Result<(), OpError> {
        use aws_sdk_s3::types::{Tag, Tagging};
        let set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(super::bad("tag"))?;
        self.s3()
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                Tagging::builder()
                    .set_tag_set(Some(set))
                    .build()
                    .map_err(super::bad("tagging"))?,
            )
            .send()
            .await
            .map_err(op("s3:PutBucketTagging"))?;
        Ok(())
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

    #[tokio::test]
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
