//! `awsstack_container_service` schema.

use super::config::{CpuArchitecture, Profile};
use crate::schema::validate as v;
use crate::schema::{Attribute as A, Block, Rule, Schema};
use crate::stacks::common_attributes;
use crate::stacks::network::NatGateways;
use crate::value::{Type, Value};

pub const VERSION: i64 = 0;

pub fn schema() -> Schema {
    let s = Type::String;
    let n = Type::Number;
    let b = Type::Bool;
    let ls = Type::list(Type::String);
    let ms = Type::map(Type::String);
    let mut block = Block {
        description: "A container service as one resource: a VPC with public and private subnets over two or more availability zones and NAT, an ECR repository, an Application Load Balancer, an ECS Fargate cluster, task definition and service (deployment circuit breaker with rollback, logs in CloudWatch), RDS PostgreSQL with generated credentials in Secrets Manager, ElastiCache Redis, application secrets in Secrets Manager, and least-privilege security groups (ALB from the internet, tasks from the ALB only, database and cache from the tasks only). Names follow `<project_name>-<env>-<resource>`; every AWS resource carries the `project`, `env` and `owner` tags. Apply waits until the service is stable.",
        attributes: vec![
            A::required("project_name", s.clone(), "Project name: lowercase letters, digits and hyphens. Used in every name (`<project_name>-<env>-...`) and the `project` tag.").force_new().rule(Rule::Text { summary: "Invalid project name", check: v::project_name }),
            A::with_default("env", s.clone(), Value::str("dev"), "Environment name (`env` tag, part of every name and of the stack id).").force_new().rule(Rule::Text { summary: "Invalid environment", check: v::environment }),
            A::optional("owner", s.clone(), "Owner or team (`owner` tag).").rule(Rule::Text { summary: "Invalid tag", check: v::owner }),
            A::with_default("profile", s.clone(), Value::str("ephemeral"), "`ephemeral` (no final snapshots, no backups, no deletion protection, single database and cache node: for apply/destroy cycles) or `production` (final snapshots, 7-day backups, deletion protection, Multi-AZ database, Redis with a replica and automatic failover, Container Insights, secrets recoverable for 7 days).").rule(Rule::OneOf { summary: "Invalid profile", words: Profile::WORDS }),
            // Network.
            A::with_default("vpc_cidr", s.clone(), Value::str("10.0.0.0/16"), "CIDR block of the VPC (/16 to /24)."),
            A::optional("availability_zones", ls.clone(), "Availability zones (at least two). When unset, a new stack takes the region's first two available zones (looked up at plan, then kept: a later change in the region's zone list never moves the network); a stack created before zones were kept keeps the `a` and `b` zones it was built with. Configured zones are checked at plan against the zones the region offers the account. Append a zone to grow: existing subnets and NAT gateways are kept. Unset with `vpc_id`, it stays null.").looked_up(),
            A::optional("public_subnet_cidrs", ls.clone(), "One CIDR block per availability zone for the public subnets (ALB, NAT). Defaults to /24-sized blocks (`vpc_cidr` prefix + 8, at most /28) numbered 0, 1, ... by zone position."),
            A::optional("private_subnet_cidrs", ls.clone(), "One CIDR block per availability zone for the private subnets (tasks, database, cache). Defaults to blocks numbered 10, 11, ... by zone position."),
            A::with_default("nat_gateways", s.clone(), Value::str("single"), "`single` (one NAT gateway, in the first zone), `per_az` (one per zone: no cross-zone dependency) or `none` (private subnets without internet access: the tasks then need VPC endpoints to pull images).").rule(Rule::OneOf { summary: "Invalid NAT mode", words: NatGateways::WORDS }),
            A::with_default("alb_ingress_cidrs", ls.clone(), Value::string_list(["0.0.0.0/0"]), "CIDR blocks allowed to reach the load balancer (80, and 443 with `certificate_arn`).").rule(Rule::Text { summary: "Invalid CIDR block", check: v::cidr_block }),
            A::optional("certificate_arn", s.clone(), "ACM certificate ARN: adds an HTTPS listener on 443 and turns port 80 into a redirect to HTTPS.").rule(Rule::Text { summary: "Invalid certificate ARN", check: v::acm_certificate_arn }),
            // Service.
            A::optional("container_image", s.clone(), "Container image. Defaults to `<ecr_repository_url>:latest`, the stack's own repository.").rule(Rule::Text { summary: "Invalid image", check: v::image_reference }),
            A::with_default("container_port", n.clone(), Value::Number(8000.0), "Port the container listens on (target group and task security group).").rule(Rule::Number { summary: "Invalid port", check: v::tcp_port }),
            A::with_default("cpu", n.clone(), Value::Number(256.0), "Fargate task CPU units (256, 512, 1024, 2048, 4096, 8192, 16384).").rule(Rule::Whole { lo: 256.0, hi: 16384.0 }),
            A::with_default("memory", n.clone(), Value::Number(512.0), "Fargate task memory in MiB; must be a combination Fargate accepts for `cpu`.").rule(Rule::Whole { lo: 512.0, hi: 122880.0 }),
            A::with_default("cpu_architecture", s.clone(), Value::str("X86_64"), "`X86_64` or `ARM64` (Graviton).").rule(Rule::OneOf { summary: "Invalid CPU architecture", words: CpuArchitecture::WORDS }),
            A::with_default("desired_count", n.clone(), Value::Number(1.0), "Number of tasks. Changing it is an in-place update; a count changed by autoscaling is never reset unless this value changes.").rule(Rule::Whole { lo: 0.0, hi: 1000.0 }),
            A::with_default("health_check_path", s.clone(), Value::str("/health"), "Path of the target group's HTTP health check.").rule(Rule::Text { summary: "Invalid health check path", check: v::http_path }),
            A::with_default("health_check_matcher", s.clone(), Value::str("200-399"), "HTTP codes the health check accepts.").rule(Rule::Text { summary: "Invalid matcher", check: v::http_matcher }),
            A::optional("environment", ms.clone(), "Extra environment variables of the container (`REDIS_URL`, `STATE_CACHE=redis` and `TWILIO_IDEMPOTENCY_ENABLED=true` are injected, and can be overridden here except `REDIS_URL`)."),
            A::with_default("app_secrets", ls.clone(), Value::List(vec![]), "Names of application secrets (e.g. `openai-api-key`): each becomes the Secrets Manager secret `<project_name>-<env>-<name>`, injected into the container as an upper-case variable (`OPENAI_API_KEY`). Set values with `app_secret_values` or later with `aws secretsmanager put-secret-value`."),
            A::optional("app_secret_values", ms.clone(), "Values of some of the `app_secrets`, by name. A secret without a value here is left as it is in AWS. Stored in the Terraform state: with Terraform 1.11 or later prefer `app_secret_values_wo`.").sensitive(),
            A::optional("app_secret_values_wo", ms.clone(), "Write-only (Terraform 1.11 or later): values of some of the `app_secrets`, as `app_secret_values` but never in the plan or the state. Terraform does not compare them: change `app_secret_values_wo_version` to send new values. Cannot be set with `app_secret_values`.").write_only(),
            A::optional("app_secret_values_wo_version", n.clone(), "Version of `app_secret_values_wo`: changing it writes the values again (rotation)."),
            A::with_default("log_retention_days", n.clone(), Value::Number(14.0), "Retention of the `/ecs/<project_name>-<env>-app` log group (a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, ...).").rule(Rule::Number { summary: "Invalid log retention", check: v::log_retention }),
            A::with_default("circuit_breaker", b.clone(), Value::Bool(true), "ECS deployment circuit breaker with rollback: a deployment whose tasks do not start is rolled back and apply fails."),
            A::optional("task_role_policy_arns", ls.clone(), "Managed policies attached to the task role (what the application itself may call).").rule(Rule::Text { summary: "Invalid policy ARN", check: v::iam_policy_arn }),
            // Database.
            A::with_default("db_engine_version", s.clone(), Value::str("15.4"), "PostgreSQL version (major.minor). Upgrades are applied in place.").rule(Rule::Text { summary: "Invalid engine version", check: v::engine_version }),
            A::with_default("db_instance_class", s.clone(), Value::str("db.t4g.micro"), "RDS instance class.").rule(Rule::Text { summary: "Invalid instance class", check: v::rds_instance_class }),
            A::with_default("db_allocated_storage", n.clone(), Value::Number(20.0), "Initial storage in GiB (gp3, encrypted). It can grow, never shrink.").rule(Rule::Whole { lo: 20.0, hi: 65536.0 }),
            A::with_default("db_max_allocated_storage", n.clone(), Value::Number(100.0), "Storage autoscaling limit in GiB.").rule(Rule::Whole { lo: 20.0, hi: 65536.0 }),
            A::optional("db_name", s.clone(), "Database name; defaults to `project_name` with `_` for `-`.").rule(Rule::Text { summary: "Invalid database name", check: v::database_name }),
            A::optional("db_username", s.clone(), "Master user name; defaults to the first word of `project_name` followed by `_admin`.").rule(Rule::Text { summary: "Invalid database user name", check: v::database_user }),
            A::optional("deletion_protection", b.clone(), "Deletion protection of the database; defaults to true for the `production` profile. While it is on, destroy is refused."),
            // Cache.
            A::with_default("redis_engine_version", s.clone(), Value::str("7.0"), "Redis version (major.minor).").rule(Rule::Text { summary: "Invalid engine version", check: v::engine_version }),
            A::with_default("redis_node_type", s.clone(), Value::str("cache.t4g.micro"), "ElastiCache node type.").rule(Rule::Text { summary: "Invalid node type", check: v::cache_node_type }),
            // Computed.
            A::computed("alb_dns_name", s.clone(), "DNS name of the load balancer (`curl http://$ALB_DNS/health`)."),
            A::computed("alb_arn", s.clone(), "ARN of the load balancer."),
            A::computed("alb_zone_id", s.clone(), "Route 53 zone id of the load balancer (for alias records)."),
            A::computed("target_group_arn", s.clone(), "ARN of the target group."),
            A::computed("ecs_cluster_name", s.clone(), "ECS cluster name (`<project_name>-<env>-cluster`)."),
            A::computed("ecs_service_name", s.clone(), "ECS service name."),
            A::computed("task_definition_arn", s.clone(), "ARN of the current task definition revision."),
            A::computed("log_group_name", s.clone(), "CloudWatch Logs group of the container."),
            A::computed("ecr_repository_url", s.clone(), "URL of the ECR repository (`docker push <url>:latest`)."),
            A::computed("database_endpoint", s.clone(), "Database endpoint, `address:port`."),
            A::computed("database_address", s.clone(), "Database host name."),
            A::computed("database_secret_arn", s.clone(), "ARN of the Secrets Manager secret holding the database credentials (`username`, `password`, `host`, `port`, `dbname`, `url`)."),
            A::computed("redis_endpoint", s.clone(), "Redis primary endpoint address."),
            A::computed("redis_url", s.clone(), "The `REDIS_URL` given to the container."),
            A::optional("vpc_id", s.clone(), "An existing VPC to place the stack in (e.g. `module.vpc.vpc_id`), with `public_subnet_ids` and `private_subnet_ids`: the stack then creates no VPC, subnet, internet gateway, NAT gateway or route table, and never changes or deletes the network's. Checked at plan (read-only): the subnets exist, are in this VPC and span two zones; a private subnet without a default route gets a warning. When unset, the id of the stack's own VPC. A live stack cannot move between its own network and an existing one (refused at plan).").from_config(),
            A::optional("public_subnet_ids", ls.clone(), "With `vpc_id`: existing subnets for the load balancer (at least two zones, a default route to an internet gateway). When unset, the ids of the stack's own public subnets, in zone order.").from_config(),
            A::optional("private_subnet_ids", ls.clone(), "With `vpc_id`: existing subnets for the tasks, the database and the cache (at least two zones; a default route, through NAT, so that tasks can pull images). When unset, the ids of the stack's own private subnets, in zone order.").from_config(),
            A::computed("ecs_security_group_id", s.clone(), "Security group of the tasks."),
            A::computed("alb_security_group_id", s.clone(), "Security group of the load balancer."),
            A::computed("app_secret_arns", ms.clone(), "ARN of each application secret, by name."),
            A::computed("aws_region", s.clone(), "Region of the stack."),
        ],
        blocks: vec![],
    };
    common_attributes(&mut block);
    Schema {
        version: VERSION,
        block,
    }
}
