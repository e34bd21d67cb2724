variable "aws_region" {
  description = "AWS region (Kauri runs in eu-west-1)."
  type        = string
  default     = "eu-west-1"
}

variable "project_name" {
  type    = string
  default = "kauri"
}

variable "environment" {
  type    = string
  default = "demo"
}

variable "owner" {
  type    = string
  default = "kauri-team"
}

variable "ssh_key_name" {
  description = "Existing EC2 key pair (null: SSM Session Manager only)."
  type        = string
  default     = null
}

variable "ssh_ingress_cidrs" {
  description = "Who may reach port 22 (empty: closed)."
  type        = list(string)
  default     = []
}

variable "grafana_cidrs" {
  description = "Who may reach Grafana on port 3000."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "instance_type" {
  type    = string
  default = "t4g.large"
}

variable "ami_id" {
  description = "AMI override (default: latest Ubuntu 22.04 arm64)."
  type        = string
  default     = null
}

variable "use_spot_instance" {
  type    = bool
  default = false
}

variable "budget_notification_emails" {
  type    = list(string)
  default = []
}

variable "ssm_parameters" {
  description = "Secrets for /kauri/<NAME> (SecureString)."
  type        = map(object({ value = string }))
  default     = {}
  sensitive   = true
}

variable "scheduler_start_expression" {
  type    = string
  default = "cron(0 7 ? * MON-FRI *)"
}

variable "scheduler_stop_expression" {
  type    = string
  default = "cron(0 21 ? * MON-FRI *)"
}

variable "enable_budgets" {
  description = "AWS Budgets (global 30 USD, kauri 18 USD)."
  type        = bool
  default     = true
}
