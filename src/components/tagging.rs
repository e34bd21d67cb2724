//! Tags of every service in one place: how each service's tagging API
//! reads, sets and removes the tags of one object. A kind only says how its
//! objects are named here (`Kind::tagging`); the engine diffs and applies.

use super::op;
use crate::engine::{Cloud, OpError, Tags};
use crate::provider::AwsContext;

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

fn not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::is_not_found(e)
        || crate::aws::code_in(
            e,
            &[
                "InvalidParameterException",
                "DBInstanceNotFound",
                "ReplicationGroupNotFoundFault",
                "LoadBalancerNotFound",
                "TargetGroupNotFound",
                "NoSuchHealthCheck",
                "NotFoundException",
            ],
        )
}

fn pairs<T>(tags: impl IntoIterator<Item = T>, kv: impl Fn(&T) -> (Option<&str>, Option<&str>)) -> Tags {
    tags.into_iter()
        .filter_map(|t| {
            let (k, v) = kv(&t);
            k.map(|k| (k.to_string(), v.unwrap_or_default().to_string()))
        })
        .collect()
}

/// Reads with `$call`, mapping not-found to None.
macro_rules! read {
    ($call:expr, $what:literal, |$o:ident| $tags:expr) => {
        match $call.send().await {
            Ok($o) => Ok(Some($tags)),
            Err(e) if not_found(&e) => Ok(None),
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
                let o = self.ec2().describe_tags().filters(Filter::builder().name("resource-id").values(id).build()).send().await.map_err(op("DescribeTags"))?;
                Ok(Some(pairs(o.tags(), |t| (t.key(), t.value()))))
            }
            TagRef::IamRole(name) => read!(self.iam().list_role_tags().role_name(name), "ListRoleTags", |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))),
            // GetInstanceProfile carries the tags (and every endpoint answers it).
            TagRef::IamInstanceProfile(name) => read!(self.iam().get_instance_profile().instance_profile_name(name), "GetInstanceProfile", |o| pairs(
                o.instance_profile().map(|p| p.tags()).unwrap_or_default(),
                |t| (Some(t.key()), Some(t.value()))
            )),
            TagRef::S3Bucket(name) => match self.s3().get_bucket_tagging().bucket(name).send().await {
                Ok(o) => Ok(Some(pairs(o.tag_set(), |t| (Some(t.key()), Some(t.value()))))),
                Err(e) if crate::aws::code_in(&e, &["NoSuchTagSet"]) => Ok(Some(Tags::new())),
                Err(e) if crate::aws::code_in(&e, &["NoSuchBucket"]) => Ok(None),
                Err(e) => Err(op("GetBucketTagging")(e)),
            },
            TagRef::SsmParameter(name) => read!(
                self.ssm().list_tags_for_resource().resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter).resource_id(name),
                "ListTagsForResource",
                |o| pairs(o.tag_list(), |t| (Some(t.key()), Some(t.value())))
            ),
            TagRef::Sns(arn) => read!(self.sns().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))),
            TagRef::Budget(arn) => {
                read!(self.budgets().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| pairs(o.resource_tags(), |t| (Some(t.key()), Some(t.value()))))
            }
            TagRef::CloudWatch(arn) => read!(self.cloudwatch().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| pairs(o.tags(), |t| (t.key(), t.value()))),
            TagRef::Ecr(arn) => read!(self.ecr().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| pairs(o.tags(), |t| (Some(t.key()), Some(t.value())))),
            TagRef::Logs(arn) => {
                read!(self.logs().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| o.tags().cloned().unwrap_or_default().into_iter().collect())
            }
            TagRef::SecretsManager(id) => read!(self.secrets().describe_secret().secret_id(id), "DescribeSecret", |o| pairs(o.tags(), |t| (t.key(), t.value()))),
            TagRef::Elbv2(arn) => {
                read!(self.elbv2().describe_tags().resource_arns(arn), "DescribeTags", |o| pairs(o.tag_descriptions().iter().flat_map(|d| d.tags()), |t| (t.key(), t.value())))
            }
            TagRef::Rds(arn) => read!(self.rds().list_tags_for_resource().resource_name(arn), "ListTagsForResource", |o| pairs(o.tag_list(), |t| (t.key(), t.value()))),
            TagRef::ElastiCache(arn) => {
                read!(self.elasticache().list_tags_for_resource().resource_name(arn), "ListTagsForResource", |o| pairs(o.tag_list(), |t| (t.key(), t.value())))
            }
            TagRef::Ecs(arn) => read!(self.ecs().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| pairs(o.tags(), |t| (t.key(), t.value()))),
            TagRef::Dlm(arn) => {
                read!(self.dlm().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| o.tags().cloned().unwrap_or_default().into_iter().collect())
            }
            TagRef::Kms(id) => read!(self.kms().list_resource_tags().key_id(id), "ListResourceTags", |o| pairs(o.tags(), |t| (Some(t.tag_key()), Some(t.tag_value())))),
            TagRef::Eks(arn) => {
                read!(self.eks().list_tags_for_resource().resource_arn(arn), "ListTagsForResource", |o| o.tags().cloned().unwrap_or_default().into_iter().collect())
            }
            TagRef::IamOidcProvider(arn) => read!(self.iam().list_open_id_connect_provider_tags().open_id_connect_provider_arn(arn), "ListOpenIDConnectProviderTags", |o| pairs(
                o.tags(),
                |t| (Some(t.key()), Some(t.value()))
            )),
            TagRef::Route53HealthCheck(id) => read!(
                self.route53().list_tags_for_resource().resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck).resource_id(id),
                "ListTagsForResource",
                |o| pairs(o.resource_tag_set().map(|s| s.tags()).unwrap_or_default(), |t| (t.key(), t.value()))
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
                let tags = each.map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build()).collect();
                self.ec2().create_tags().resources(id).set_tags(Some(tags)).send().await.map_err(op("CreateTags"))?;
            }
            TagRef::IamRole(name) => {
                let tags = each.map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.iam().tag_role().role_name(name).set_tags(Some(tags)).send().await.map_err(op("TagRole"))?;
            }
            TagRef::IamInstanceProfile(name) => {
                let tags = each.map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.iam().tag_instance_profile().instance_profile_name(name).set_tags(Some(tags)).send().await.map_err(op("TagInstanceProfile"))?;
            }
            TagRef::S3Bucket(name) => {
                // S3 replaces the whole set: keep the keys others set.
                let mut all = self.read_tags(r).await?.unwrap_or_default();
                all.extend(set.clone());
                self.put_bucket_tags(name, &all).await?;
            }
            TagRef::SsmParameter(name) => {
                let tags = each.map(|(k, v)| aws_sdk_ssm::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.ssm()
                    .add_tags_to_resource()
                    .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                    .resource_id(name)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("AddTagsToResource"))?;
            }
            TagRef::Sns(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_sns::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.sns().tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(op("TagResource"))?;
            }
            TagRef::Budget(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_budgets::types::ResourceTag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.budgets().tag_resource().resource_arn(arn).set_resource_tags(Some(tags)).send().await.map_err(op("TagResource"))?;
            }
            TagRef::CloudWatch(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_cloudwatch::types::Tag::builder().key(k).value(v).build()).collect();
                self.cloudwatch().tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(op("TagResource"))?;
            }
            TagRef::Ecr(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.ecr().tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(op("TagResource"))?;
            }
            TagRef::Logs(arn) => {
                self.logs().tag_resource().resource_arn(arn).set_tags(Some(set.clone().into_iter().collect())).send().await.map_err(op("TagResource"))?;
            }
            TagRef::SecretsManager(id) => {
                let tags = each.map(|(k, v)| aws_sdk_secretsmanager::types::Tag::builder().key(k).value(v).build()).collect();
                self.secrets().tag_resource().secret_id(id).set_tags(Some(tags)).send().await.map_err(op("TagResource"))?;
            }
            TagRef::Elbv2(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(k).value(v).build()).collect();
                self.elbv2().add_tags().resource_arns(arn).set_tags(Some(tags)).send().await.map_err(op("AddTags"))?;
            }
            TagRef::Rds(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build()).collect();
                self.rds().add_tags_to_resource().resource_name(arn).set_tags(Some(tags)).send().await.map_err(op("AddTagsToResource"))?;
            }
            TagRef::ElastiCache(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_elasticache::types::Tag::builder().key(k).value(v).build()).collect();
                self.elasticache().add_tags_to_resource().resource_name(arn).set_tags(Some(tags)).send().await.map_err(op("AddTagsToResource"))?;
            }
            TagRef::Ecs(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build()).collect();
                self.ecs().tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(op("TagResource"))?;
            }
            TagRef::Dlm(arn) => {
                self.dlm().tag_resource().resource_arn(arn).set_tags(Some(set.clone().into_iter().collect())).send().await.map_err(op("TagResource"))?;
            }
            TagRef::Kms(id) => {
                let tags = each.map(|(k, v)| aws_sdk_kms::types::Tag::builder().tag_key(k).tag_value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.kms().tag_resource().key_id(id).set_tags(Some(tags)).send().await.map_err(op("TagResource"))?;
            }
            TagRef::Eks(arn) => {
                self.eks().tag_resource().resource_arn(arn).set_tags(Some(set.clone().into_iter().collect())).send().await.map_err(op("TagResource"))?;
            }
            TagRef::IamOidcProvider(arn) => {
                let tags = each.map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
                self.iam().tag_open_id_connect_provider().open_id_connect_provider_arn(arn).set_tags(Some(tags)).send().await.map_err(op("TagOpenIDConnectProvider"))?;
            }
            TagRef::Route53HealthCheck(id) => {
                let tags = each.map(|(k, v)| aws_sdk_route53::types::Tag::builder().key(k).value(v).build()).collect();
                self.route53()
                    .change_tags_for_resource()
                    .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
                    .resource_id(id)
                    .set_add_tags(Some(tags))
                    .send()
                    .await
                    .map_err(op("ChangeTagsForResource"))?;
            }
        }
        Ok(())
    }

    async fn untag(&self, r: &TagRef, keys: &[String]) -> Result<(), OpError> {
        let keys = keys.to_vec();
        match r {
            TagRef::Ec2(id) => {
                let tags = keys.into_iter().map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build()).collect();
                self.ec2().delete_tags().resources(id).set_tags(Some(tags)).send().await.map_err(op("DeleteTags"))?;
            }
            TagRef::IamRole(name) => {
                self.iam().untag_role().role_name(name).set_tag_keys(Some(keys)).send().await.map_err(op("UntagRole"))?;
            }
            TagRef::IamInstanceProfile(name) => {
                self.iam().untag_instance_profile().instance_profile_name(name).set_tag_keys(Some(keys)).send().await.map_err(op("UntagInstanceProfile"))?;
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
                    .map_err(op("RemoveTagsFromResource"))?;
            }
            TagRef::Sns(arn) => {
                self.sns().untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::Budget(arn) => {
                self.budgets().untag_resource().resource_arn(arn).set_resource_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::CloudWatch(arn) => {
                self.cloudwatch().untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::Ecr(arn) => {
                self.ecr().untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::Logs(arn) => {
                self.logs().untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::SecretsManager(id) => {
                self.secrets().untag_resource().secret_id(id).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::Elbv2(arn) => {
                self.elbv2().remove_tags().resource_arns(arn).set_tag_keys(Some(keys)).send().await.map_err(op("RemoveTags"))?;
            }
            TagRef::Rds(arn) => {
                self.rds().remove_tags_from_resource().resource_name(arn).set_tag_keys(Some(keys)).send().await.map_err(op("RemoveTagsFromResource"))?;
            }
            TagRef::ElastiCache(arn) => {
                self.elasticache().remove_tags_from_resource().resource_name(arn).set_tag_keys(Some(keys)).send().await.map_err(op("RemoveTagsFromResource"))?;
            }
            TagRef::Ecs(arn) => {
                self.ecs().untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::Dlm(arn) => {
                self.dlm().untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::Kms(id) => {
                self.kms().untag_resource().key_id(id).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::Eks(arn) => {
                self.eks().untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagResource"))?;
            }
            TagRef::IamOidcProvider(arn) => {
                self.iam().untag_open_id_connect_provider().open_id_connect_provider_arn(arn).set_tag_keys(Some(keys)).send().await.map_err(op("UntagOpenIDConnectProvider"))?;
            }
            TagRef::Route53HealthCheck(id) => {
                self.route53()
                    .change_tags_for_resource()
                    .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
                    .resource_id(id)
                    .set_remove_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(op("ChangeTagsForResource"))?;
            }
        }
        Ok(())
    }

    /// Replaces a bucket's whole tag set (S3 has no per-key tagging).
    pub async fn put_bucket_tags(&self, bucket: &str, tags: &Tags) -> Result<(), OpError> {
        use aws_sdk_s3::types::{Tag, Tagging};
        let set = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>().map_err(super::bad("tag"))?;
        self.s3()
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(Tagging::builder().set_tag_set(Some(set)).build().map_err(super::bad("tagging"))?)
            .send()
            .await
            .map_err(op("PutBucketTagging"))?;
        Ok(())
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{resource}", self.region, self.account_id)
    }
}
