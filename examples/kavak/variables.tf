variable "project_name" {
  description = "Project name, the first part of every resource name (`<project_name>-<env>-<resource>`)."
  type        = string
  default     = "kavak-agent"
}

variable "env" {
  description = "Environment name (dev, staging, prod...)."
  type        = string
  default     = "dev"
}

variable "aws_region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags on every resource (project, env, owner)."
  type        = map(string)
  default = {
    project = "kavak-agent"
    env     = "dev"
    owner   = "ai-sales-team"
  }
}

variable "profile" {
  description = "ephemeral (apply/destroy cycles: no snapshots, no backups, no deletion protection) or production."
  type        = string
  default     = "ephemeral"
}

variable "container_image" {
  description = "Image to run; null runs <ecr_repository_url>:latest (push it after the first apply)."
  type        = string
  default     = null
}

variable "desired_count" {
  description = "Number of tasks."
  type        = number
  default     = 1
}

variable "app_secret_values" {
  description = "Values of the application secrets (optional: they can be set later with aws secretsmanager put-secret-value)."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on 443 (null: HTTP on 80 only, as the MVP)."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Database deletion protection (null: on for the production profile)."
  type        = bool
  default     = null
}
