# Harena (seed 001): one host running ten services behind nginx. The
# lessons of the seed: every port was open to the internet, no backups, no
# HTTPS. Here only 80/443 are public (nginx terminates TLS), the services
# (3000-3008, Grafana 4000, Prometheus 9090) stay on the Docker network,
# Postgres and Redis are never exposed, SSH is closed (SSM Session Manager),
# and dumps go to the versioned bucket that tiers to Glacier.
terraform {
  required_version = ">= 1.0"
  required_providers {
    awsstack = { source = "awsstack/awsstack" }
  }
}

provider "awsstack" {
  region = var.aws_region
}

variable "aws_region" {
  type    = string
  default = "eu-west-1"
}

variable "environment" {
  type    = string
  default = "dev"
}

variable "ami_id" {
  type    = string
  default = null
}

variable "ssh_key_name" {
  type    = string
  default = null
}

variable "budget_notification_emails" {
  type    = list(string)
  default = []
}

variable "ssm_parameters" {
  description = "DATABASE_URL, REDIS_URL, BRIDGE_CLIENT_SECRET, OPENAI_API_KEY, ... (SecureString under /harena/)."
  type        = map(object({ value = string }))
  default     = {}
  sensitive   = true
}

variable "use_spot_instance" {
  type    = bool
  default = false
}

resource "awsstack_docker_host" "harena" {
  project_name      = "harena"
  environment       = var.environment
  instance_type     = "t3.large"
  ami_id            = var.ami_id
  ssh_key_name      = var.ssh_key_name
  use_spot_instance = var.use_spot_instance

  data_volume_size = 100
  data_directories = ["postgres", "redis", "elasticsearch", "grafana", "prometheus", "backups"]

  ssm_parameters             = var.ssm_parameters
  budget_notification_emails = var.budget_notification_emails
  glacier_transition_days    = 14

  # The team works from 08:00 to 20:00, Monday to Saturday.
  scheduler_start_expression = "cron(0 8 ? * MON-SAT *)"
  scheduler_stop_expression  = "cron(0 20 ? * MON-SAT *)"

  compose_file = file("${path.module}/docker-compose.yml")
}

output "instance_id" {
  value = awsstack_docker_host.harena.instance_id
}

output "public_ip" {
  value = awsstack_docker_host.harena.public_ip
}

output "security_group_id" {
  value = awsstack_docker_host.harena.security_group_id
}

output "ssm_session_command" {
  value = awsstack_docker_host.harena.ssm_session_command
}

output "bucket_name" {
  value = awsstack_docker_host.harena.bucket_name
}
