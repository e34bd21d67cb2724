# Luneo multi-region platform (seed 003): active/passive between
# eu-west-1 and us-east-1 — two VPCs over three zones with a shared NAT and
# S3 endpoints, EKS with on-demand and spot node groups and IRSA for the
# AWS Load Balancer Controller, an Aurora PostgreSQL Global Database with a
# KMS key per region, replicated buckets, Route53 failover with HTTPS health
# checks and alarms on replication lag and backlog: one resource.
resource "awsstack_multi_region_platform" "luneo" {
  project_name = var.project_name
  env          = var.env
  owner        = lookup(var.tags, "owner", null)
  profile      = var.profile

  primary_region   = var.primary_region
  secondary_region = var.secondary_region
  writer_region    = var.writer_region
  allow_data_loss  = var.allow_data_loss

  primary_vpc_cidr   = "10.10.0.0/16"
  secondary_vpc_cidr = "10.20.0.0/16"
  nat_gateways       = "single"

  kubernetes_version = var.kubernetes_version

  node_group {
    name           = "ondemand"
    capacity_type  = "ON_DEMAND"
    instance_types = var.eks_ondemand_instance_types
    min_size       = 2
    desired_size   = 3
    max_size       = 6
    # The passive region runs scaled down until a drill or a failover.
    secondary_desired_size = 2
    labels = {
      capacity = "ondemand"
    }
  }

  node_group {
    name                   = "spot"
    capacity_type          = "SPOT"
    instance_types         = var.eks_spot_instance_types
    min_size               = 0
    desired_size           = 2
    max_size               = 10
    secondary_desired_size = 0
    labels = {
      capacity = "spot"
    }
  }

  db_engine_version           = "15.4"
  db_master_password          = var.db_master_password
  db_primary_instance_class   = var.db_primary_instance_class
  db_secondary_instance_class = var.db_secondary_instance_class

  artifact_bucket_suffix = var.artifact_bucket_suffix
  force_destroy          = var.force_destroy

  hosted_zone_id                 = var.hosted_zone_id
  record_name                    = var.record_name
  primary_ingress_hostname       = var.primary_ingress_hostname
  secondary_ingress_hostname     = var.secondary_ingress_hostname
  primary_health_check_domain    = var.primary_health_check_domain
  secondary_health_check_domain  = var.secondary_health_check_domain
  health_check_path              = var.health_check_path
  health_check_failure_threshold = 3

  alarm_emails                    = var.alarm_emails
  replication_backlog_alarm_bytes = 524288000

  timeouts {
    create = "2h"
    update = "2h"
    delete = "2h"
  }
}
