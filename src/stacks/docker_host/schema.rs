//! `awsstack_docker_host` schema.

use crate::schema::validate as v;
use crate::schema::{Attribute as A, Block, NestedBlock, Nesting, Rule, Schema};
use crate::stacks::common_attributes;
use crate::value::{Type, Value};

pub const VERSION: i64 = 1;

pub fn schema() -> Schema {
    let s = Type::String;
    let n = Type::Number;
    let b = Type::Bool;
    let ls = Type::list(Type::String);
    let mut block = Block {
        description: "One Docker host with everything a small team needs around it: a dedicated VPC and public subnet, a minimal security group, an EC2 instance (IMDSv2, encrypted gp3) with a separate data volume mounted at `/data` and an Elastic IP, an IAM instance profile (SSM, CloudWatch agent, the stack's bucket and parameters), a versioned and encrypted S3 bucket with Glacier tiering for backups, SSM SecureString parameters, an SNS topic with e-mail alerts, AWS Budgets, CloudWatch alarms and an EventBridge Scheduler start/stop schedule. Cloud-init installs Docker and the compose plugin, mounts the data volume and starts your compose file.",
        attributes: vec![
            A::required("project_name", s.clone(), "Project name: lowercase letters, digits and hyphens. Used in every name (`<project>-<environment>-...`), the `Project` tag and the SSM path `/<project>/`.").force_new().rule(Rule::Text { summary: "Invalid project name", check: v::project_name }),
            A::with_default("environment", s.clone(), Value::str("dev"), "Environment name (`Environment` tag, part of the stack id).").force_new().rule(Rule::Text { summary: "Invalid environment", check: v::environment }),
            A::with_default("vpc_cidr", s.clone(), Value::str("10.0.0.0/24"), "CIDR block of the dedicated VPC (/16 to /28)."),
            A::optional_computed("public_subnet_cidr", s.clone(), "CIDR block of the public subnet; defaults to the first half of `vpc_cidr`."),
            A::optional_computed("availability_zone", s.clone(), "Availability zone of the subnet, instance and data volume; AWS picks one when unset. A configured zone is checked at plan against the zones the region offers the account."),
            A::with_default("instance_type", s.clone(), Value::str("t4g.large"), "EC2 instance type. Changing it stops the instance, changes the type and starts it again (in place).").rule(Rule::Text { summary: "Invalid instance type", check: v::instance_type }),
            A::optional_computed("ami_id", s.clone(), "AMI to boot. Defaults to the latest Ubuntu 22.04 image (Canonical) for the instance type's architecture, looked up once at creation.").rule(Rule::Text { summary: "Invalid AMI id", check: v::ami_id }),
            A::with_default("use_spot_instance", b.clone(), Value::Bool(false), "Run the host as a persistent Spot instance (stopped, not terminated, on interruption)."),
            A::optional("ssh_key_name", s.clone(), "Existing EC2 key pair for SSH. SSM Session Manager works without one.").rule(Rule::Text { summary: "Invalid key pair name", check: v::key_pair_name }),
            A::with_default("ssh_ingress_cidrs", ls.clone(), Value::List(vec![]), "CIDR blocks allowed to reach SSH (22). Empty (the default) keeps port 22 closed: use `ssm_session_command`.").rule(Rule::Text { summary: "Invalid CIDR block", check: v::cidr_block }),
            A::with_default("http_ingress_cidrs", ls.clone(), Value::string_list(["0.0.0.0/0"]), "CIDR blocks allowed to reach HTTP (80) and HTTPS (443).").rule(Rule::Text { summary: "Invalid CIDR block", check: v::cidr_block }),
            A::with_default("allow_public_database_ports", b.clone(), Value::Bool(false), "Allow a `port` block to open a database or cache port (5432, 3306, 6379, 27017, 9200, ...) to 0.0.0.0/0. Off by default; when on, the plan warns."),
            A::with_default("root_volume_size", n.clone(), Value::Number(20.0), "Root volume size in GiB (encrypted gp3).").rule(Rule::Whole { lo: 8.0, hi: 16384.0 }),
            A::with_default("data_volume_size", n.clone(), Value::Number(80.0), "Data volume size in GiB (encrypted gp3, mounted at /data). It can grow in place, never shrink.").rule(Rule::Whole { lo: 1.0, hi: 16384.0 }),
            A::with_default("data_directories", ls.clone(), Value::string_list(["postgres", "redis", "chroma"]), "Directories created under /data at boot.").rule(Rule::Text { summary: "Invalid directory", check: v::relative_directory }),
            A::optional("compose_file", s.clone(), "A docker-compose file written to `/opt/<project>/compose.yaml` and started at boot, with the SSM parameters in its `.env`."),
            A::optional("ssm_parameters", Type::map(Type::object([("value", Type::String)])), "Secrets stored as SecureString parameters under `/<project>/<name>` and written to the compose `.env` at boot. Stored in the Terraform state: with Terraform 1.11 or later prefer `ssm_parameters_wo`.").sensitive(),
            A::optional("ssm_parameters_wo", Type::map(Type::String), "Write-only (Terraform 1.11 or later): SecureString parameters by name, as `ssm_parameters` but never in the plan or the state. Terraform does not compare them: change `ssm_parameters_wo_version` to send new values. Cannot be set with `ssm_parameters`.").write_only(),
            A::optional("ssm_parameters_wo_version", n.clone(), "Version of `ssm_parameters_wo`: changing it writes the values again (rotation)."),
            A::optional_computed("bucket_name", s.clone(), "Name of the stack's S3 bucket; defaults to `<project>-<environment>-<account id>`.").rule(Rule::Text { summary: "Invalid bucket name", check: v::bucket_name }),
            A::with_default("force_destroy", b.clone(), Value::Bool(false), "Let `terraform destroy` (or a bucket rename) delete the bucket's objects with it. Off by default: a destroy of a bucket that holds objects is refused at plan, naming the bucket and its object count, and nothing is deleted. Apply the change before destroying."),
            A::with_default("skip_final_snapshot", b.clone(), Value::Bool(false), "Destroy the data volume without a final snapshot. By default destroy first snapshots it (tagged with the stack id and kept after the destroy, which ends with a warning naming it)."),
            A::with_default("glacier_transition_days", n.clone(), Value::Number(30.0), "Days after which objects under `backup_prefix` (and old versions) move to Glacier.").rule(Rule::Whole { lo: 1.0, hi: 36500.0 }),
            A::with_default("backup_prefix", s.clone(), Value::str("backups/"), "Key prefix of the backups that move to Glacier.").rule(Rule::Text { summary: "Invalid prefix", check: v::key_prefix }),
            A::with_default("budget_notification_emails", ls.clone(), Value::List(vec![]), "E-mail addresses subscribed to the stack's SNS topic (budgets and alarms).").rule(Rule::Text { summary: "Invalid e-mail address", check: v::email }),
            A::with_default("enable_budgets", b.clone(), Value::Bool(true), "Create the AWS Budgets (the `budget` blocks, or a 30 USD global and an 18 USD project budget)."),
            A::with_default("cpu_alarm_threshold", n.clone(), Value::Number(80.0), "Average CPU percentage over 2x5 minutes that raises the CPU alarm.").rule(Rule::Whole { lo: 1.0, hi: 100.0 }),
            A::with_default("enable_alarms", b.clone(), Value::Bool(true), "Create the CloudWatch CPU and status-check alarms."),
            A::with_default("scheduler_enabled", b.clone(), Value::Bool(true), "Start and stop the instance on the scheduler expressions."),
            A::with_default("scheduler_start_expression", s.clone(), Value::str("cron(0 7 ? * MON-FRI *)"), "EventBridge Scheduler expression that starts the instance.").rule(Rule::Text { summary: "Invalid schedule expression", check: v::schedule_expression }),
            A::with_default("scheduler_stop_expression", s.clone(), Value::str("cron(0 21 ? * MON-FRI *)"), "EventBridge Scheduler expression that stops the instance.").rule(Rule::Text { summary: "Invalid schedule expression", check: v::schedule_expression }),
            A::with_default("scheduler_timezone", s.clone(), Value::str("Europe/Paris"), "IANA time zone of the scheduler expressions.").rule(Rule::Text { summary: "Invalid time zone", check: v::time_zone }),
            // Computed.
            A::computed("instance_id", s.clone(), "EC2 instance id."),
            A::computed("public_ip", s.clone(), "The Elastic IP address."),
            A::computed("public_dns", s.clone(), "Public DNS name of the Elastic IP."),
            A::computed("private_ip", s.clone(), "Private IP address of the instance."),
            A::optional("vpc_id", s.clone(), "An existing VPC to place the host in (e.g. `module.vpc.vpc_id`), with `subnet_id`: the stack then creates no VPC, subnet, internet gateway or route table, and never changes or deletes the network's. Checked at plan (read-only): the subnet exists and is in this VPC; a subnet without a default route to an internet gateway gets a warning (the Elastic IP would not be reachable). When unset, the id of the stack's own VPC. A live stack cannot move between its own network and an existing one (refused at plan).").from_config().rule(Rule::Text { summary: "Invalid id", check: v::vpc_id }),
            A::optional("subnet_id", s.clone(), "With `vpc_id`: the existing public subnet of the host. When unset, the id of the stack's own subnet.").from_config().rule(Rule::Text { summary: "Invalid id", check: v::subnet_id }),
            A::computed("security_group_id", s.clone(), "Security group id."),
            A::computed("bucket_arn", s.clone(), "ARN of the S3 bucket."),
            A::computed("sns_topic_arn", s.clone(), "ARN of the alerts SNS topic."),
            A::computed("iam_role_name", s.clone(), "Name of the instance's IAM role."),
            A::computed("instance_profile_name", s.clone(), "Name of the IAM instance profile."),
            A::computed("ssm_parameter_arns", Type::map(s.clone()), "ARN of each SSM parameter, by name."),
            A::computed("ssh_command", s.clone(), "SSH command line for the host."),
            A::computed("ssm_session_command", s.clone(), "AWS CLI command that opens an SSM session on the host (no SSH needed)."),
            A::computed("user_data", s.clone(), "The cloud-init user data the provider rendered."),
        ],
        blocks: vec![
            NestedBlock {
                name: "port",
                nesting: Nesting::List,
                max_items: 0,
                block: Block {
                    description: "An extra inbound port, open only to its own CIDR blocks (e.g. 3000 restricted to an office).",
                    attributes: vec![
                        A::required("port", n.clone(), "Port number (1-65535).").rule(Rule::Number { summary: "Invalid port", check: v::tcp_port }),
                        A::required("cidr_blocks", ls.clone(), "CIDR blocks allowed to reach it."),
                        A::with_default("protocol", s.clone(), Value::str("tcp"), "`tcp` or `udp`.").rule(Rule::OneOf { summary: "Invalid protocol", words: &["tcp", "udp"] }),
                        A::with_default("description", s.clone(), Value::str(""), "Rule description.").rule(Rule::Text { summary: "Invalid description", check: v::rule_description }),
                    ],
                    blocks: vec![],
                },
            },
            NestedBlock {
                name: "backup",
                nesting: Nesting::Single,
                max_items: 1,
                block: Block {
                    description: "Scheduled snapshots of the data volume (a Data Lifecycle Manager policy with its IAM role). Without the block: daily at 03:00 UTC, 7 snapshots kept. `backup { enabled = false }` turns them off. Snapshots the policy made are kept when it is removed.",
                    attributes: vec![
                        A::with_default("enabled", b.clone(), Value::Bool(true), "Take the scheduled snapshots."),
                        A::with_default("time", s.clone(), Value::str("03:00"), "Time of the daily snapshot, `HH:MM` in UTC.").rule(Rule::Text { summary: "Invalid backup time", check: v::time_of_day }),
                        A::with_default("retain_days", n.clone(), Value::Number(7.0), "How many daily snapshots to keep (1-1000).").rule(Rule::Whole { lo: 1.0, hi: 1000.0 }),
                    ],
                    blocks: vec![],
                },
            },
            NestedBlock {
                name: "budget",
                nesting: Nesting::List,
                max_items: 0,
                block: Block {
                    description: "A monthly cost budget notifying the SNS topic at 80%. Without any block, a 30 USD global and an 18 USD project budget are created.",
                    attributes: vec![
                        A::required("name", s.clone(), "Budget name (prefixed with the stack id).").rule(Rule::Text { summary: "Invalid budget name", check: v::budget_name }),
                        A::required("monthly_limit_usd", n.clone(), "Monthly limit in USD.").rule(Rule::Number { summary: "Invalid budget limit", check: v::budget_limit }),
                        A::with_default("filter_by_project", b.clone(), Value::Bool(true), "Only count costs tagged `Project=<project_name>`."),
                    ],
                    blocks: vec![],
                },
            },
        ],
    };
    common_attributes(&mut block);
    Schema {
        version: VERSION,
        block,
    }
}
