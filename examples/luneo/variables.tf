variable "project_name" {
  type    = string
  default = "luneo"
}

variable "env" {
  type    = string
  default = "prod"
}

variable "profile" {
  description = "production: deletion protection, backups, final snapshot; ephemeral: none (drills on a copy)."
  type        = string
  default     = "production"
}

variable "primary_region" {
  type    = string
  default = "eu-west-1"
}

variable "secondary_region" {
  type    = string
  default = "us-east-1"
}

variable "writer_region" {
  description = "The region that writes (a planned switchover when changed). The semestrial DR drill is the awsstack_dr_drill action (examples/day-two)."
  type        = string
  default     = null
}

variable "allow_data_loss" {
  description = "Fail over (the writer region is down) instead of switching over."
  type        = bool
  default     = false
}

variable "hosted_zone_id" {
  description = "The existing public Route53 zone of record_name."
  type        = string
}

variable "record_name" {
  type    = string
  default = "api.luneo.app"
}

variable "primary_ingress_hostname" {
  description = "DNS name of the ingress load balancer in the primary cluster (after the Kubernetes manifests are applied)."
  type        = string
  default     = ""
}

variable "secondary_ingress_hostname" {
  type    = string
  default = ""
}

variable "primary_health_check_domain" {
  type    = string
  default = null
}

variable "secondary_health_check_domain" {
  type    = string
  default = null
}

variable "health_check_path" {
  type    = string
  default = "/health"
}

variable "db_master_password" {
  description = "Aurora master password; generated and kept in Secrets Manager when null. Never commit it: TF_VAR_db_master_password."
  type        = string
  default     = null
  sensitive   = true
}

variable "artifact_bucket_suffix" {
  type    = string
  default = "artifacts"
}

variable "db_primary_instance_class" {
  type    = string
  default = "db.r6g.large"
}

variable "db_secondary_instance_class" {
  type    = string
  default = "db.r6g.large"
}

variable "eks_ondemand_instance_types" {
  type    = list(string)
  default = ["m6i.large"]
}

variable "eks_spot_instance_types" {
  type    = list(string)
  default = ["m6i.large", "m5.large", "m5a.large"]
}

variable "kubernetes_version" {
  type    = string
  default = "1.29"
}

variable "alarm_emails" {
  type    = list(string)
  default = ["platform@sre.luneo.app"]
}

variable "force_destroy" {
  description = "Let destroy delete the artifact buckets with their objects."
  type        = bool
  default     = false
}

variable "tags" {
  type = map(string)
  default = {
    owner = "platform@sre.luneo.app"
  }
}
