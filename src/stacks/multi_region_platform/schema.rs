//! `awsstack_multi_region_platform` schema.

use crate::schema::validate as v;
use crate::schema::{Attribute as A, Block, NestedBlock, Nesting, Rule, Schema};
use crate::stacks::common_attributes;
use crate::value::{Type, Value};

pub const VERSION: i64 = 0;

pub fn schema() -> Schema {
    let s = Type::String;
    let n = Type::Number;
    let b = Type::Bool;
    let ls = Type::list(Type::String);
    let ms = Type::map(Type::String);
    let node_group = Block {
        description: "A managed node group, in each region's cluster. A change EKS cannot make in place (instance types, capacity type, AMI type) replaces this node group only: the new one is active before the old one is deleted.",
        attributes: vec![
            A::required("name", s.clone(), "Name of the group inside the stack (lowercase letters, digits, hyphens); the node group is `<project_name>-<env>-<name>-<hash>`, the hash changing with what forces a new group.").rule(Rule::Text { summary: "Invalid node group name", check: v::node_group_name }),
            A::with_default("capacity_type", s.clone(), Value::str("ON_DEMAND"), "`ON_DEMAND` or `SPOT`.").rule(Rule::OneOf { summary: "Invalid capacity type", words: &["ON_DEMAND", "SPOT"] }),
            A::required("instance_types", ls.clone(), "EC2 instance types (e.g. `[\"m6i.large\"]`, `[\"g5.xlarge\"]` for GPU work).").rule(Rule::Text { summary: "Invalid instance type", check: v::instance_type }),
            A::with_default("ami_type", s.clone(), Value::str("AL2023_x86_64_STANDARD"), "EKS AMI type (`AL2023_x86_64_STANDARD`, `AL2023_ARM_64_STANDARD`, `AL2023_x86_64_NVIDIA`, `BOTTLEROCKET_x86_64`, ...).").rule(Rule::OneOf { summary: "Invalid AMI type", words: super::kubernetes::AMI_TYPES }),
            A::with_default("min_size", n.clone(), Value::Number(1.0), "Minimum number of nodes."),
            A::with_default("max_size", n.clone(), Value::Number(3.0), "Maximum number of nodes."),
            A::with_default("desired_size", n.clone(), Value::Number(2.0), "Nodes at creation in the writer region (the cluster autoscaler moves it afterwards between min and max)."),
            A::optional("secondary_desired_size", n.clone(), "Nodes at creation in the passive region (a scaled-down standby); defaults to `desired_size`."),
            A::optional("labels", ms.clone(), "Kubernetes labels of the nodes.").rule(Rule::Key { summary: "Invalid label", check: v::label_key }),
        ],
        blocks: vec![],
    };
    let mut block = Block {
        description: "An active/passive platform across two regions as one resource (the Luneo seed): per region a VPC over three zones (public and private subnets, internet gateway, NAT, an S3 gateway endpoint, subnet tags for load balancers), an EKS cluster with an OIDC provider for IRSA, managed node groups (on-demand and spot by default) and the IAM role of the AWS Load Balancer Controller; an Aurora PostgreSQL Global Database (a KMS key per region, the primary cluster with the master credentials, the secondary without), versioned KMS-encrypted buckets with replication primary → secondary (Replication Time Control), Route53 failover records with HTTPS health checks, SNS topics and CloudWatch alarms on replication lag and backlog. `writer_region` says which region writes: changing it is a planned switchover (or, with `allow_data_loss`, a failover), never a replacement, and a switchover made outside Terraform shows as a change of `writer_region`. Tested against moto only: LocalStack's community runtime has no EKS or RDS.",
        attributes: vec![
            A::required("project_name", s.clone(), "Project name: lowercase letters, digits and hyphens. Used in every name (`<project_name>-<env>-...`) and the `project` tag.").force_new().rule(Rule::Text { summary: "Invalid project name", check: v::project_name }),
            A::with_default("env", s.clone(), Value::str("prod"), "Environment name (`env` tag, part of every name and of the stack id).").force_new().rule(Rule::Text { summary: "Invalid environment", check: v::environment }),
            A::optional("owner", s.clone(), "Owner or team (`owner` tag).").rule(Rule::Text { summary: "Invalid tag", check: v::tag_value }),
            A::with_default("profile", s.clone(), Value::str("production"), "`production` (deletion protection on the global database, 7-day backups, final snapshot of the writer on delete) or `ephemeral` (none of these: for apply/destroy cycles).").rule(Rule::OneOf { summary: "Invalid profile", words: super::config::Profile::WORDS }),
            // Regions and network.
            A::with_default("primary_region", s.clone(), Value::str("eu-west-1"), "Region of the primary (active at creation).").force_new(),
            A::with_default("secondary_region", s.clone(), Value::str("us-east-1"), "Region of the secondary (passive at creation).").force_new(),
            A::optional("writer_region", s.clone(), "The region that writes (primary or secondary region); defaults to the primary. Changing it switches the global database over (planned, no data loss) and moves the PRIMARY failover record to that region's ingress. A switchover done outside Terraform shows here as a change."),
            A::with_default("allow_data_loss", b.clone(), Value::Bool(false), "Make a change of `writer_region` a failover (`FailoverGlobalCluster` with data loss allowed) rather than a switchover: for a writer region that is down. Writes not yet replicated are lost."),
            A::with_default("primary_vpc_cidr", s.clone(), Value::str("10.10.0.0/16"), "CIDR block of the primary VPC (/16 to /20)."),
            A::with_default("secondary_vpc_cidr", s.clone(), Value::str("10.20.0.0/16"), "CIDR block of the secondary VPC (/16 to /20); must not overlap the primary's."),
            A::optional("primary_availability_zones", ls.clone(), "Three zones of the primary region. When unset, a new stack takes the region's first three available zones (looked up at plan, then kept; a region with fewer is refused at plan); a stack created before zones were kept keeps the `a`, `b` and `c` zones it was built with. Configured zones are checked at plan against the zones the region offers the account. Unset with `primary_vpc_id`, it stays null.").looked_up(),
            A::optional("secondary_availability_zones", ls.clone(), "Three zones of the secondary region. When unset, a new stack takes the region's first three available zones (looked up at plan, then kept; a region with fewer is refused at plan); a stack created before zones were kept keeps the `a`, `b` and `c` zones it was built with. Configured zones are checked at plan against the zones the region offers the account. Unset with `secondary_vpc_id`, it stays null.").looked_up(),
            A::with_default("nat_gateways", s.clone(), Value::str("single"), "`single` (one NAT gateway per region, shared by the zones) or `per_az`.").rule(Rule::OneOf { summary: "Invalid NAT mode", words: &["single", "per_az"] }),
            A::optional("primary_vpc_id", s.clone(), "An existing VPC of the primary region to place its half of the platform in (e.g. `module.vpc.vpc_id`), with `primary_public_subnet_ids` and `primary_private_subnet_ids`: the stack then creates no VPC, subnet, internet gateway, NAT gateway, route table or S3 endpoint there, and never changes or deletes the network's. Checked at plan (read-only): the subnets exist, are in this VPC and span two zones; a private subnet without a default route gets a warning. The load balancers the controller makes find the subnets by their `kubernetes.io/role/elb` and `kubernetes.io/role/internal-elb` tags, which the network's owner sets (terraform-aws-modules/vpc: `public_subnet_tags`). When unset, the id of the stack's own VPC. A live stack cannot move between its own network and an existing one (refused at plan).").from_config(),
            A::optional("secondary_vpc_id", s.clone(), "The same as `primary_vpc_id`, in the secondary region, with `secondary_public_subnet_ids` and `secondary_private_subnet_ids`. Each region is placed on its own: one may use an existing network and the other the stack's.").from_config(),
            A::optional("primary_private_subnet_ids", ls.clone(), "With `primary_vpc_id`: existing subnets for the nodes and the database (at least two zones; a default route, through NAT, so that nodes reach the EKS API and the registries). When unset, the ids of the stack's own private subnets, in zone order.").from_config(),
            A::optional("secondary_private_subnet_ids", ls.clone(), "With `secondary_vpc_id`: as `primary_private_subnet_ids`.").from_config(),
            A::optional("primary_public_subnet_ids", ls.clone(), "With `primary_vpc_id`: existing subnets for internet-facing load balancers (at least two zones, a default route to an internet gateway). When unset, the ids of the stack's own public subnets, in zone order.").from_config(),
            A::optional("secondary_public_subnet_ids", ls.clone(), "With `secondary_vpc_id`: as `primary_public_subnet_ids`.").from_config(),
            // EKS.
            A::with_default("kubernetes_version", s.clone(), Value::str("1.29"), "Kubernetes version of both clusters (major.minor). Upgrading is an in-place update, one minor version at a time. A version past its end of standard support gives a plan warning with the date and the extra cost."),
            A::with_default("endpoint_public_access", b.clone(), Value::Bool(true), "Public endpoint of the Kubernetes API."),
            A::with_default("endpoint_private_access", b.clone(), Value::Bool(true), "Private endpoint of the Kubernetes API (inside the VPC)."),
            A::with_default("cluster_log_types", ls.clone(), Value::string_list(["api", "audit", "authenticator"]), "Control-plane logs sent to CloudWatch Logs (`api`, `audit`, `authenticator`, `controllerManager`, `scheduler`).").rule(Rule::OneOf { summary: "Invalid log type", words: &["api", "audit", "authenticator", "controllerManager", "scheduler"] }),
            // Aurora.
            A::with_default("db_engine_version", s.clone(), Value::str("15.4"), "Aurora PostgreSQL version (major.minor).").rule(Rule::Text { summary: "Invalid engine version", check: v::aurora_engine_version }),
            A::with_default("db_master_username", s.clone(), Value::str("luneo_admin"), "Master user of the primary cluster.").rule(Rule::Text { summary: "Invalid master user name", check: v::aurora_master_user }),
            A::optional("db_master_password", s.clone(), "Master password (8-128 printable characters, no `/`, `\"`, `@` or space). When unset, a password is generated and kept in Secrets Manager (`<project_name>-<env>-db-master`), replicated to the secondary region. Stored in the Terraform state: with Terraform 1.11 or later prefer `db_master_password_wo`.").sensitive().rule(Rule::Text { summary: "Invalid master password", check: v::master_password }),
            A::optional("db_master_password_wo", s.clone(), "Write-only (Terraform 1.11 or later): the master password, as `db_master_password` but never in the plan or the state. Change `db_master_password_wo_version` to set a new one. Cannot be set with `db_master_password`.").write_only().rule(Rule::Text { summary: "Invalid master password", check: v::master_password }),
            A::optional("db_master_password_wo_version", n.clone(), "Version of `db_master_password_wo`: changing it sets the password again (rotation)."),
            A::with_default("db_primary_instance_class", s.clone(), Value::str("db.r6g.large"), "Instance class in the primary region.").rule(Rule::Text { summary: "Invalid instance class", check: v::rds_instance_class }),
            A::with_default("db_secondary_instance_class", s.clone(), Value::str("db.r6g.large"), "Instance class in the secondary region.").rule(Rule::Text { summary: "Invalid instance class", check: v::rds_instance_class }),
            A::with_default("db_primary_instance_count", n.clone(), Value::Number(1.0), "Instances of the primary cluster (1-15)."),
            A::with_default("db_secondary_instance_count", n.clone(), Value::Number(1.0), "Instances of the secondary cluster (1-15): a cluster without an instance cannot be switched over to."),
            A::optional("deletion_protection", b.clone(), "Deletion protection of the global database; defaults to true for the `production` profile. While it is on, destroy is refused at plan."),
            A::with_default("skip_final_snapshot", b.clone(), Value::Bool(false), "Delete the writer cluster without a final snapshot (its data is then lost)."),
            // Storage.
            A::with_default("artifact_bucket_suffix", s.clone(), Value::str("artifacts"), "Suffix of the bucket names (`<project_name>-<env>-<suffix>-<region>`), for global uniqueness."),
            A::with_default("force_destroy", b.clone(), Value::Bool(false), "Let destroy delete the buckets with their objects. Without it, a destroy of buckets that hold objects is refused at plan."),
            // Routing.
            A::optional("hosted_zone_id", s.clone(), "Existing public Route53 hosted zone of `record_name`; no records when unset.").rule(Rule::Text { summary: "Invalid hosted zone id", check: v::hosted_zone_id }),
            A::optional("record_name", s.clone(), "Name of the failover records (e.g. `api.luneo.app`).").rule(Rule::Text { summary: "Invalid hostname", check: v::hostname }),
            A::optional("primary_ingress_hostname", s.clone(), "DNS name of the primary region's ingress load balancer (known once the Kubernetes ingress is deployed). The records and checks are created once both ingress hostnames are set.").rule(Rule::Text { summary: "Invalid hostname", check: v::hostname_or_empty }),
            A::optional("secondary_ingress_hostname", s.clone(), "DNS name of the secondary region's ingress load balancer.").rule(Rule::Text { summary: "Invalid hostname", check: v::hostname_or_empty }),
            A::optional("primary_health_check_domain", s.clone(), "Domain the primary's HTTPS health check requests (with SNI); defaults to `primary_ingress_hostname`.").rule(Rule::Text { summary: "Invalid hostname", check: v::hostname }),
            A::optional("secondary_health_check_domain", s.clone(), "Domain the secondary's HTTPS health check requests; defaults to `secondary_ingress_hostname`.").rule(Rule::Text { summary: "Invalid hostname", check: v::hostname }),
            A::with_default("health_check_path", s.clone(), Value::str("/health"), "Path of the HTTPS health checks.").rule(Rule::Text { summary: "Invalid health check path", check: v::health_check_path }),
            A::with_default("health_check_failure_threshold", n.clone(), Value::Number(3.0), "Consecutive failures before Route53 fails over (1-10); checks run every 30 seconds.").rule(Rule::Number { summary: "Value out of range", check: v::failure_threshold }),
            // Observability.
            A::with_default("alarm_emails", ls.clone(), Value::List(vec![]), "Email addresses subscribed to each region's alarm topic.").rule(Rule::Text { summary: "Invalid email", check: v::email }),
            A::with_default("replication_lag_alarm_ms", n.clone(), Value::Number(1000.0), "Alarm when `AuroraGlobalDBReplicationLag` exceeds this many milliseconds."),
            A::with_default("rpo_lag_alarm_ms", n.clone(), Value::Number(60000.0), "Alarm when `AuroraGlobalDBRPOLag` exceeds this many milliseconds."),
            A::with_default("replication_backlog_alarm_bytes", n.clone(), Value::Number(524288000.0), "Alarm when S3 `BytesPendingReplication` exceeds this (default 500 MB)."),
            // Computed.
            A::computed("primary_cluster_name", s.clone(), "EKS cluster of the primary region (`<project_name>-<env>-eks-primary`)."),
            A::computed("secondary_cluster_name", s.clone(), "EKS cluster of the secondary region."),
            A::computed("primary_cluster_endpoint", s.clone(), "Kubernetes API endpoint of the primary cluster."),
            A::computed("secondary_cluster_endpoint", s.clone(), "Kubernetes API endpoint of the secondary cluster."),
            A::computed("primary_cluster_ca_data", s.clone(), "Base64 CA certificate of the primary cluster."),
            A::computed("secondary_cluster_ca_data", s.clone(), "Base64 CA certificate of the secondary cluster."),
            A::computed("primary_oidc_issuer", s.clone(), "OIDC issuer URL of the primary cluster."),
            A::computed("secondary_oidc_issuer", s.clone(), "OIDC issuer URL of the secondary cluster."),
            A::computed("primary_oidc_provider_arn", s.clone(), "IAM OIDC provider of the primary cluster (for IRSA roles)."),
            A::computed("secondary_oidc_provider_arn", s.clone(), "IAM OIDC provider of the secondary cluster."),
            A::computed("primary_lb_controller_role_arn", s.clone(), "IAM role of the AWS Load Balancer Controller in the primary cluster (annotate its service account with it)."),
            A::computed("secondary_lb_controller_role_arn", s.clone(), "IAM role of the AWS Load Balancer Controller in the secondary cluster."),
            A::computed("global_cluster_id", s.clone(), "Aurora global cluster identifier."),
            A::computed("db_writer_endpoint", s.clone(), "Writer endpoint of the cluster that writes now."),
            A::computed("db_primary_reader_endpoint", s.clone(), "Reader endpoint of the primary region's cluster."),
            A::computed("db_secondary_reader_endpoint", s.clone(), "Reader endpoint of the secondary region's cluster."),
            A::computed("db_master_secret_arn", s.clone(), "Secrets Manager secret of the generated master password (null when `db_master_password` is set)."),
            A::computed("current_writer_region", s.clone(), "The region whose Aurora cluster writes, as last applied or read."),
            A::computed("primary_bucket_name", s.clone(), "Bucket of the primary region (replicated to the secondary)."),
            A::computed("secondary_bucket_name", s.clone(), "Bucket of the secondary region (replica)."),
            A::computed("record_fqdn", s.clone(), "Name of the failover records (null until they exist)."),
            A::computed("health_check_ids", ms.clone(), "Route53 health check ids by region."),
            A::computed("alarm_topic_arns", ms.clone(), "SNS alarm topics by region."),
            A::computed("kubeconfig_commands", ls.clone(), "The `aws eks update-kubeconfig` commands of both clusters (the secondary with an alias)."),
        ],
        blocks: vec![NestedBlock { name: "node_group", nesting: Nesting::List, max_items: 0, block: node_group }],
    };
    common_attributes(&mut block);
    Schema {
        version: VERSION,
        block,
    }
}
