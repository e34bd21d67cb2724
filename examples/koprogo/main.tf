# KoproGo (seed 002): a small host with Docker Compose, Traefik and Let's
# Encrypt on 80/443, SSH restricted to the maintainers, daily PostgreSQL
# dumps to S3 (Glacier after 30 days), health checks by CloudWatch.
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

variable "ami_id" {
  type    = string
  default = null
}

variable "ssh_key_name" {
  type    = string
  default = null
}

variable "ssh_ingress_cidrs" {
  type    = list(string)
  default = ["198.51.100.0/24"]
}

variable "budget_notification_emails" {
  type    = list(string)
  default = []
}

variable "ssm_parameters" {
  type      = map(object({ value = string }))
  default   = {}
  sensitive = true
}

resource "awsstack_docker_host" "koprogo" {
  project_name      = "koprogo"
  environment       = "prod"
  instance_type     = "t4g.medium"
  ami_id            = var.ami_id
  ssh_key_name      = var.ssh_key_name
  ssh_ingress_cidrs = var.ssh_ingress_cidrs

  data_volume_size = 40
  data_directories = ["postgres", "traefik", "backups"]

  ssm_parameters             = var.ssm_parameters
  budget_notification_emails = var.budget_notification_emails

  budget {
    name              = "koprogo"
    monthly_limit_usd = 10
  }

  # Production: always on.
  scheduler_enabled = false

  compose_file = file("${path.module}/docker-compose.yml")
}

output "public_ip" {
  value = awsstack_docker_host.koprogo.public_ip
}

output "ssh_command" {
  value = awsstack_docker_host.koprogo.ssh_command
}

output "bucket_name" {
  value = awsstack_docker_host.koprogo.bucket_name
}
