//! Every component kind, registered once: a new kind is added here and in
//! its service's folder, nothing else.

use super::*;
use crate::aws::AwsContext;

/// Every component kind.
pub fn all_kinds() -> crate::engine::Kinds<AwsContext> {
    use std::sync::Arc;
    crate::engine::Kinds::new(vec![
        Arc::new(ec2::Vpc),
        Arc::new(ec2::ExistingVpc),
        Arc::new(ec2::ExistingSubnet),
        Arc::new(ec2::InternetGateway),
        Arc::new(ec2::Subnet),
        Arc::new(ec2::PUBLIC_ROUTE_TABLE),
        Arc::new(ec2::ROUTE_TABLE),
        Arc::new(ec2::NatGateway),
        Arc::new(ec2::SecurityGroup),
        Arc::new(ec2::Instance),
        Arc::new(ec2::DataVolume),
        Arc::new(ec2::ElasticIp),
        Arc::new(iam::Role),
        Arc::new(iam::InstanceProfile),
        Arc::new(s3::Bucket),
        Arc::new(ssm::Parameter),
        Arc::new(sns::Topic),
        Arc::new(budgets::Budget),
        Arc::new(cloudwatch::INSTANCE_ALARM),
        Arc::new(cloudwatch::METRIC_ALARM),
        Arc::new(scheduler::InstanceSchedule),
        Arc::new(ecr::Repository),
        Arc::new(logs::LogGroup),
        Arc::new(secrets::Secret),
        Arc::new(secrets::DbConnection),
        Arc::new(elb::LoadBalancer),
        Arc::new(elb::TargetGroup),
        Arc::new(elb::Listener),
        Arc::new(rds::DbSubnetGroup),
        Arc::new(rds::DbInstance),
        Arc::new(elasticache::CacheSubnetGroup),
        Arc::new(elasticache::Redis),
        Arc::new(ecs::Cluster),
        Arc::new(ecs::TaskDefinition),
        Arc::new(ecs::Service),
        Arc::new(dlm::SnapshotPolicy),
        Arc::new(s3::Replication),
        Arc::new(ec2::VpcEndpoint),
        Arc::new(kms::Key),
        Arc::new(eks::Cluster),
        Arc::new(eks::NodeGroup),
        Arc::new(eks::OidcProvider),
        Arc::new(eks::ControllerLeftovers),
        Arc::new(rds::GlobalCluster),
        Arc::new(rds::MemberCluster),
        Arc::new(rds::Instance),
        Arc::new(rds::Writer),
        Arc::new(route53::HealthCheck),
        Arc::new(route53::FailoverRecord),
    ])
}
