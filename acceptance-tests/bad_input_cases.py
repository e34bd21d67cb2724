"""The bad-input matrix: for every attribute of every stack (nested block
attributes included), at least one malformed value, the diagnostic summary
it must produce, and the attribute the diagnostic must point at.

Each case is (attribute path as in the schema, HCL body, summary,
attribute named in the diagnostic's source snippet). Type errors are
Terraform's own diagnostics; everything else is the provider's."""

TYPE = "Incorrect attribute value type"

DOCKER_HOST = [
    ("allow_public_database_ports", 'allow_public_database_ports = "sometimes"', TYPE, "allow_public_database_ports"),
    ("ami_id", 'ami_id = "ubuntu-24.04"', "Invalid AMI id", "ami_id"),
    ("availability_zone", 'availability_zone = "us-east-1a"', "Invalid availability zone", "availability_zone"),
    ("backup_prefix", 'backup_prefix = "/backups"', "Invalid prefix", "backup_prefix"),
    ("bucket_name", 'bucket_name = "Kauri_Backups"', "Invalid bucket name", "bucket_name"),
    ("budget_notification_emails", 'budget_notification_emails = ["ops@example.com", "not-an-email"]', "Invalid e-mail address", "budget_notification_emails"),
    ("compose_file", 'compose_file = "docker-compose.yml"', "Invalid compose file", "compose_file"),
    ("cpu_alarm_threshold", "cpu_alarm_threshold = 150", "Value out of range", "cpu_alarm_threshold"),
    ("data_directories", 'data_directories = ["postgres", "../etc"]', "Invalid directory", "data_directories"),
    ("data_volume_size", "data_volume_size = -5", "Value out of range", "data_volume_size"),
    ("enable_alarms", 'enable_alarms = "yes please"', TYPE, "enable_alarms"),
    ("enable_budgets", "enable_budgets = [true]", TYPE, "enable_budgets"),
    ("environment", 'environment = "Prod Env"', "Invalid environment", "environment"),
    ("force_destroy", 'force_destroy = "only if empty"', TYPE, "force_destroy"),
    ("glacier_transition_days", "glacier_transition_days = 0", "Value out of range", "glacier_transition_days"),
    ("http_ingress_cidrs", 'http_ingress_cidrs = ["0.0.0.0/33"]', "Invalid CIDR block", "http_ingress_cidrs"),
    ("instance_type", 'instance_type = "large"', "Invalid instance type", "instance_type"),
    ("project_name", 'project_name = "Kauri Project"', "Invalid project name", "project_name"),
    ("public_subnet_cidr", 'public_subnet_cidr = "10.9.0.0/25"', "Subnet does not fit the VPC", "public_subnet_cidr"),
    ("root_volume_size", "root_volume_size = 2", "Value out of range", "root_volume_size"),
    ("scheduler_enabled", 'scheduler_enabled = "on"', TYPE, "scheduler_enabled"),
    ("scheduler_start_expression", 'scheduler_start_expression = "cron(0 7 * * MON-FRI)"', "Invalid schedule expression", "scheduler_start_expression"),
    ("scheduler_stop_expression", 'scheduler_stop_expression = "every evening"', "Invalid schedule expression", "scheduler_stop_expression"),
    ("scheduler_timezone", 'scheduler_timezone = "Europe/Pariss"', "Invalid time zone", "scheduler_timezone"),
    ("skip_final_snapshot", "skip_final_snapshot = [false]", TYPE, "skip_final_snapshot"),
    ("ssh_ingress_cidrs", 'ssh_ingress_cidrs = ["1.2.3.4"]', "Invalid CIDR block", "ssh_ingress_cidrs"),
    ("ssh_key_name", 'ssh_key_name = ""', "Invalid key pair name", "ssh_key_name"),
    ("ssm_parameters", 'ssm_parameters = {\n    "db password" = { value = "x" }\n  }', "Invalid parameter name", "ssm_parameters"),
    # Write-only values: the checks that differ by Terraform version (1.0
    # refuses them, 1.11+ checks their content) are in test_write_only.py.
    ("ssm_parameters_wo", 'ssm_parameters_wo = ["API_KEY"]', TYPE, "ssm_parameters_wo"),
    ("ssm_parameters_wo_version", "ssm_parameters_wo_version = 2", "Version without values", "ssm_parameters_wo_version"),
    ("vpc_id", 'vpc_id = "vpc-NOTHEX"\n  subnet_id = "subnet-0123456789abcdef0"', "Invalid id", "vpc_id"),
    ("subnet_id", 'subnet_id = "sg-0123456789abcdef0"\n  vpc_id = "vpc-0123456789abcdef0"', "Invalid id", "subnet_id"),
    ("adopt", 'adopt = { "vpc" = { id = "vpc-0a1b2c3d", from = ["data.aws_vpc.main"] } }', "Invalid adopt", "adopt"),
    ("tags", 'tags = {\n    "aws:team" = "x"\n  }', "Invalid tag", "tags"),
    ("use_spot_instance", 'use_spot_instance = "cheap"', TYPE, "use_spot_instance"),
    ("vpc_cidr", 'vpc_cidr = "10.0.0.0/33"', "Invalid VPC CIDR block", "vpc_cidr"),
    # An attribute with a default written beside an existing network: refused (only what is written counts).
    ("vpc_cidr", 'vpc_cidr = "10.0.0.0/24"\n  vpc_id = "vpc-0123456789abcdef0"\n  subnet_id = "subnet-0123456789abcdef0"', "Conflicting arguments", "vpc_cidr"),
    ("availability_zone", 'availability_zone = "eu-west-1a"\n  vpc_id = "vpc-0123456789abcdef0"\n  subnet_id = "subnet-0123456789abcdef0"', "Conflicting arguments", "availability_zone"),
    ("backup.enabled", 'backup {\n    enabled = "daily"\n  }', TYPE, "enabled"),
    ("backup.retain_days", 'backup {\n    retain_days = 0\n  }', "Value out of range", "retain_days"),
    ("backup.time", 'backup {\n    time = "3am"\n  }', "Invalid backup time", "time"),
    ("budget.filter_by_project", 'budget {\n    name              = "b"\n    monthly_limit_usd = 10\n    filter_by_project = "maybe"\n  }', TYPE, "filter_by_project"),
    ("budget.monthly_limit_usd", 'budget {\n    name              = "b"\n    monthly_limit_usd = -10\n  }', "Invalid budget limit", "monthly_limit_usd"),
    ("budget.name", 'budget {\n    name              = "a:b"\n    monthly_limit_usd = 10\n  }', "Invalid budget name", "name"),
    ("port.cidr_blocks", 'port {\n    port        = 5432\n    cidr_blocks = ["0.0.0.0/0"]\n  }', "Database port open to the internet", "cidr_blocks"),
    ("port.description", 'port {\n    port        = 8080\n    cidr_blocks = ["10.0.0.0/8"]\n    description = "caf\u00e9 <admin>"\n  }', "Invalid description", "description"),
    ("port.port", 'port {\n    port        = 70000\n    cidr_blocks = ["10.0.0.0/8"]\n  }', "Invalid port", "port"),
    ("port.protocol", 'port {\n    port        = 8080\n    cidr_blocks = ["10.0.0.0/8"]\n    protocol    = "icmp"\n  }', "Invalid protocol", "protocol"),
    ("timeouts.create", 'timeouts {\n    create = "soon"\n  }', "Invalid timeout", "create"),
    ("timeouts.update", 'timeouts {\n    update = "-5m"\n  }', "Invalid timeout", "update"),
    ("timeouts.delete", 'timeouts {\n    delete = "200h"\n  }', "Invalid timeout", "delete"),
]

CONTAINER_SERVICE = [
    ("alb_ingress_cidrs", 'alb_ingress_cidrs = ["everyone"]', "Invalid CIDR block", "alb_ingress_cidrs"),
    ("app_secret_values", 'app_secret_values = {\n    "stripe-key" = "x"\n  }', "Unknown secret", "app_secret_values"),
    ("app_secret_values_wo", 'app_secret_values_wo = ["stripe-key"]', TYPE, "app_secret_values_wo"),
    ("app_secret_values_wo_version", "app_secret_values_wo_version = 1", "Version without values", "app_secret_values_wo_version"),
    ("vpc_id", 'vpc_id = "vpc-0123"\n  public_subnet_ids = ["subnet-0a000000000000001", "subnet-0a000000000000002"]\n  private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Invalid VPC id", "vpc_id"),
    ("public_subnet_ids", 'public_subnet_ids = ["subnet-0a000000000000001", "subnet 2"]\n  vpc_id = "vpc-0123456789abcdef0"\n  private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Invalid subnet id", "public_subnet_ids"),
    ("private_subnet_ids", 'private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Missing vpc_id", "private_subnet_ids"),
    ("app_secrets", 'app_secrets = ["openai api key"]', "Invalid secret name", "app_secrets"),
    ("availability_zones", 'availability_zones = ["eu-west-1a", "us-east-1b"]', "Invalid availability zone", "availability_zones"),
    ("certificate_arn", 'certificate_arn = "arn:aws:iam::123456789012:server-certificate/x"', "Invalid certificate ARN", "certificate_arn"),
    ("circuit_breaker", 'circuit_breaker = "on"', TYPE, "circuit_breaker"),
    ("container_image", 'container_image = "My Image:latest"', "Invalid image", "container_image"),
    ("container_port", "container_port = 70000", "Invalid port", "container_port"),
    ("cpu", "cpu = 300", "CPU and memory Fargate rejects", "cpu"),
    ("cpu_architecture", 'cpu_architecture = "sparc"', "Invalid CPU architecture", "cpu_architecture"),
    ("db_allocated_storage", "db_allocated_storage = 5", "Value out of range", "db_allocated_storage"),
    ("db_engine_version", 'db_engine_version = "fifteen"', "Invalid engine version", "db_engine_version"),
    ("db_instance_class", 'db_instance_class = "t4g.micro"', "Invalid instance class", "db_instance_class"),
    ("db_max_allocated_storage", "db_max_allocated_storage = 10", "Value out of range", "db_max_allocated_storage"),
    ("db_name", 'db_name = "1app"', "Invalid database name", "db_name"),
    ("db_username", 'db_username = "admin user"', "Invalid database user name", "db_username"),
    ("deletion_protection", 'deletion_protection = "please"', TYPE, "deletion_protection"),
    ("desired_count", "desired_count = -1", "Value out of range", "desired_count"),
    ("env", 'env = "Prod!"', "Invalid environment", "env"),
    ("environment", 'environment = {\n    DATABASE_URL = "postgres://x"\n  }', "Reserved variable", "environment"),
    ("health_check_matcher", 'health_check_matcher = "ok"', "Invalid matcher", "health_check_matcher"),
    ("health_check_path", 'health_check_path = "health"', "Invalid health check path", "health_check_path"),
    ("log_retention_days", "log_retention_days = 13", "Invalid log retention", "log_retention_days"),
    ("memory", "cpu = 256\n  memory = 4096", "CPU and memory Fargate rejects", "memory"),
    ("nat_gateways", 'nat_gateways = "two"', "Invalid NAT mode", "nat_gateways"),
    ("nat_gateways", 'nat_gateways = "single"\n  vpc_id = "vpc-0123456789abcdef0"\n  public_subnet_ids = ["subnet-0a000000000000001", "subnet-0a000000000000002"]\n  private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Conflicting arguments", "nat_gateways"),
    ("owner", 'owner = "bob#1"', "Invalid tag", "owner"),
    ("private_subnet_cidrs", 'public_subnet_cidrs = ["10.0.0.0/24", "10.0.1.0/24"]\n  private_subnet_cidrs = ["10.0.0.0/25", "10.0.2.0/24"]', "Overlapping subnets", "private_subnet_cidrs"),
    ("profile", 'profile = "prod"', "Invalid profile", "profile"),
    ("project_name", 'project_name = ""', "Invalid project name", "project_name"),
    ("public_subnet_cidrs", 'vpc_cidr = "10.0.0.0/16"\n  public_subnet_cidrs = ["10.1.0.0/24", "10.0.1.0/24"]', "Subnet does not fit the VPC", "public_subnet_cidrs"),
    ("redis_engine_version", 'redis_engine_version = "seven"', "Invalid engine version", "redis_engine_version"),
    ("redis_node_type", 'redis_node_type = "t4g.micro"', "Invalid node type", "redis_node_type"),
    ("adopt", 'adopt = { "vpc" = { id = "vpc-0a1b2c3d", from = ["data.aws_vpc.main"] } }', "Invalid adopt", "adopt"),
    ("tags", 'tags = {\n    "aws:team" = "x"\n  }', "Invalid tag", "tags"),
    ("task_role_policy_arns", 'task_role_policy_arns = ["AmazonS3ReadOnlyAccess"]', "Invalid policy ARN", "task_role_policy_arns"),
    ("vpc_cidr", 'vpc_cidr = "10.0.0.0/8"', "Invalid VPC CIDR block", "vpc_cidr"),
    ("timeouts.create", 'timeouts {\n    create = "soon"\n  }', "Invalid timeout", "create"),
    ("timeouts.update", 'timeouts {\n    update = "0s"\n  }', "Invalid timeout", "update"),
    ("timeouts.delete", 'timeouts {\n    delete = "1 hour"\n  }', "Invalid timeout", "delete"),
]


MULTI_REGION_PLATFORM = [
    ("alarm_emails", 'alarm_emails = ["sre@luneo.app", "not-an-email"]', "Invalid email", "alarm_emails"),
    ("allow_data_loss", 'allow_data_loss = "if needed"', TYPE, "allow_data_loss"),
    ("artifact_bucket_suffix", 'artifact_bucket_suffix = "Artifacts_"', "Invalid bucket suffix", "artifact_bucket_suffix"),
    ("cluster_log_types", 'cluster_log_types = ["api", "everything"]', "Invalid log type", "cluster_log_types"),
    ("db_engine_version", 'db_engine_version = "fifteen"', "Invalid engine version", "db_engine_version"),
    ("db_master_password", 'db_master_password = "short"', "Invalid master password", "db_master_password"),
    ("db_master_password_wo", 'db_master_password_wo = ["hunter22"]', TYPE, "db_master_password_wo"),
    ("db_master_password_wo_version", "db_master_password_wo_version = 1", "Version without values", "db_master_password_wo_version"),
    ("db_master_username", 'db_master_username = "postgres"', "Invalid master user name", "db_master_username"),
    ("db_primary_instance_class", 'db_primary_instance_class = "r6g.large"', "Invalid instance class", "db_primary_instance_class"),
    ("db_primary_instance_count", "db_primary_instance_count = 16", "Invalid instance count", "db_primary_instance_count"),
    ("db_secondary_instance_class", 'db_secondary_instance_class = "db.huge"', "Invalid instance class", "db_secondary_instance_class"),
    ("db_secondary_instance_count", "db_secondary_instance_count = 0", "Invalid instance count", "db_secondary_instance_count"),
    ("deletion_protection", 'deletion_protection = "always"', TYPE, "deletion_protection"),
    ("endpoint_private_access", "endpoint_private_access = [true]", TYPE, "endpoint_private_access"),
    ("endpoint_public_access", 'endpoint_public_access = "open"', TYPE, "endpoint_public_access"),
    ("env", 'env = "Prod Env"', "Invalid environment", "env"),
    ("force_destroy", 'force_destroy = "only if empty"', TYPE, "force_destroy"),
    ("health_check_failure_threshold", "health_check_failure_threshold = 11", "Value out of range", "health_check_failure_threshold"),
    ("health_check_path", 'health_check_path = "health"', "Invalid health check path", "health_check_path"),
    ("hosted_zone_id", 'hosted_zone_id = "zone-1"', "Invalid hosted zone id", "hosted_zone_id"),
    ("kubernetes_version", 'kubernetes_version = "1.x"', "Invalid Kubernetes version", "kubernetes_version"),
    ("nat_gateways", 'nat_gateways = "none"', "Invalid NAT mode", "nat_gateways"),
    ("owner", 'owner = "caf\u00e9 <platform>"', "Invalid tag", "owner"),
    ("primary_availability_zones", 'primary_availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]', "Invalid availability zone", "primary_availability_zones"),
    ("primary_health_check_domain", 'primary_health_check_domain = "not a host"', "Invalid hostname", "primary_health_check_domain"),
    ("primary_ingress_hostname", 'primary_ingress_hostname = "-lb-.elb"', "Invalid hostname", "primary_ingress_hostname"),
    ("primary_region", 'primary_region = "mars-1"', "Unknown region", "primary_region"),
    ("primary_private_subnet_ids", 'primary_private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Missing primary_vpc_id", "primary_private_subnet_ids"),
    ("primary_public_subnet_ids", 'primary_public_subnet_ids = ["subnet-0a000000000000001", "subnet 2"]\n  primary_vpc_id = "vpc-0123456789abcdef0"\n  primary_private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Invalid subnet id", "primary_public_subnet_ids"),
    ("primary_vpc_cidr", 'primary_vpc_cidr = "10.0.0.0/8"', "Invalid VPC CIDR block", "primary_vpc_cidr"),
    ("primary_vpc_cidr", 'primary_vpc_cidr = "10.10.0.0/16"\n  primary_vpc_id = "vpc-0123456789abcdef0"\n  primary_public_subnet_ids = ["subnet-0a000000000000001", "subnet-0a000000000000002"]\n  primary_private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Conflicting arguments", "primary_vpc_cidr"),
    ("primary_vpc_id", 'primary_vpc_id = "vpc-0123"\n  primary_public_subnet_ids = ["subnet-0a000000000000001", "subnet-0a000000000000002"]\n  primary_private_subnet_ids = ["subnet-0b000000000000001", "subnet-0b000000000000002"]', "Invalid VPC id", "primary_vpc_id"),
    ("profile", 'profile = "staging"', "Invalid profile", "profile"),
    ("project_name", 'project_name = "Luneo Platform"', "Invalid project name", "project_name"),
    ("record_name", 'record_name = "api..luneo.app"', "Invalid hostname", "record_name"),
    ("replication_backlog_alarm_bytes", "replication_backlog_alarm_bytes = -1", "Value out of range", "replication_backlog_alarm_bytes"),
    ("replication_lag_alarm_ms", "replication_lag_alarm_ms = 0", "Value out of range", "replication_lag_alarm_ms"),
    ("rpo_lag_alarm_ms", "rpo_lag_alarm_ms = 0.5", "Value out of range", "rpo_lag_alarm_ms"),
    ("secondary_availability_zones", 'secondary_availability_zones = ["us-east-1a", "us-east-1a", "us-east-1b"]', "Duplicate availability zone", "secondary_availability_zones"),
    ("secondary_health_check_domain", 'secondary_health_check_domain = "health check"', "Invalid hostname", "secondary_health_check_domain"),
    ("secondary_ingress_hostname", 'secondary_ingress_hostname = "lb_1.elb.amazonaws.com"', "Invalid hostname", "secondary_ingress_hostname"),
    ("secondary_region", 'secondary_region = "eu-west-1"', "Same region twice", "secondary_region"),
    ("secondary_private_subnet_ids", 'secondary_private_subnet_ids = ["subnet-0d000000000000001", "sg-0d000000000000002"]\n  secondary_vpc_id = "vpc-0fedcba9876543210"\n  secondary_public_subnet_ids = ["subnet-0c000000000000001", "subnet-0c000000000000002"]', "Invalid subnet id", "secondary_private_subnet_ids"),
    ("secondary_public_subnet_ids", 'secondary_public_subnet_ids = ["subnet-0c000000000000001", "subnet-0c000000000000002"]', "Missing secondary_vpc_id", "secondary_public_subnet_ids"),
    ("secondary_vpc_cidr", 'secondary_vpc_cidr = "10.10.128.0/17"', "Overlapping VPCs", "secondary_vpc_cidr"),
    ("secondary_vpc_id", 'secondary_vpc_id = "vpc_0fedcba9876543210"\n  secondary_public_subnet_ids = ["subnet-0c000000000000001", "subnet-0c000000000000002"]\n  secondary_private_subnet_ids = ["subnet-0d000000000000001", "subnet-0d000000000000002"]', "Invalid VPC id", "secondary_vpc_id"),
    ("skip_final_snapshot", "skip_final_snapshot = [false]", TYPE, "skip_final_snapshot"),
    ("adopt", 'adopt = { "vpc" = { id = "vpc-0a1b2c3d", from = ["data.aws_vpc.main"] } }', "Invalid adopt", "adopt"),
    ("tags", 'tags = {\n    "aws:team" = "x"\n  }', "Invalid tag", "tags"),
    ("writer_region", 'writer_region = "ap-south-1"', "Invalid writer region", "writer_region"),
    ("node_group.ami_type", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5.xlarge"]\n    ami_type       = "UBUNTU"\n  }', "Invalid AMI type", "ami_type"),
    ("node_group.capacity_type", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5.xlarge"]\n    capacity_type  = "RESERVED"\n  }', "Invalid capacity type", "capacity_type"),
    ("node_group.desired_size", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5.xlarge"]\n    min_size       = 2\n    desired_size   = 1\n  }', "Invalid sizes", "desired_size"),
    ("node_group.instance_types", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5 xlarge"]\n  }', "Invalid instance type", "instance_types"),
    ("node_group.labels", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5.xlarge"]\n    labels         = { kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk = "x" }\n  }', "Invalid label", "labels"),
    ("node_group.max_size", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5.xlarge"]\n    min_size       = 3\n    max_size       = 2\n  }', "Invalid sizes", "max_size"),
    ("node_group.min_size", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5.xlarge"]\n    min_size       = -1\n  }', "Invalid size", "min_size"),
    ("node_group.name", 'node_group {\n    name           = "GPU nodes"\n    instance_types = ["g5.xlarge"]\n  }', "Invalid node group name", "name"),
    ("node_group.secondary_desired_size", 'node_group {\n    name           = "gpu"\n    instance_types = ["g5.xlarge"]\n    max_size       = 4\n    secondary_desired_size = 5\n  }', "Invalid sizes", "secondary_desired_size"),
    ("timeouts.create", 'timeouts {\n    create = "forever"\n  }', "Invalid timeout", "create"),
    ("timeouts.update", 'timeouts {\n    update = "0s"\n  }', "Invalid timeout", "update"),
    ("timeouts.delete", 'timeouts {\n    delete = "1 hour"\n  }', "Invalid timeout", "delete"),
]

MATRIX = {"awsstack_docker_host": DOCKER_HOST, "awsstack_container_service": CONTAINER_SERVICE, "awsstack_multi_region_platform": MULTI_REGION_PLATFORM}

# What every resource of the type needs besides the case's body.
REQUIRED = {
    "awsstack_docker_host": {"project_name": '"badinput"', "ami_id": '"ami-12c6146b"'},
    "awsstack_container_service": {"project_name": '"badinput"'},
    "awsstack_multi_region_platform": {"project_name": '"badinput"'},
}


def read_only_value(type_) -> str:
    """A well-typed HCL value for a read-only attribute of `type_` (the
    schema's JSON type), so that the only error is the provider's."""
    if type_ == "string":
        return '"x"'
    if type_ == "number":
        return "1"
    if type_ == "bool":
        return "true"
    kind, inner = type_
    if kind in ("list", "set"):
        return f"[{read_only_value(inner)}]"
    return f"{{ k = {read_only_value(inner)} }}"


def read_only_cases(block: dict) -> list:
    """One case per attribute only the provider sets, from the schema."""
    return [
        (name, f"{name} = {read_only_value(a['type'])}", "Read-only attribute", name)
        for name, a in sorted(block.get("attributes", {}).items())
        if a.get("computed") and not a.get("optional") and not a.get("required")
    ]


def resource_block(rtype: str, name: str, body: str) -> str:
    lines = [f"  {k} = {v}" for k, v in REQUIRED[rtype].items() if not body.startswith(k + " ")]
    return f'resource "{rtype}" "{name}" {{\n' + "\n".join(lines) + f"\n  {body}\n}}\n"
