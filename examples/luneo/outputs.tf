# Named as the seed's post-apply steps use them.
output "kubeconfig_commands" {
  value = awsstack_multi_region_platform.luneo.kubeconfig_commands
}

output "eks_primary_cluster_name" {
  value = awsstack_multi_region_platform.luneo.primary_cluster_name
}

output "eks_secondary_cluster_name" {
  value = awsstack_multi_region_platform.luneo.secondary_cluster_name
}

output "eks_primary_endpoint" {
  value = awsstack_multi_region_platform.luneo.primary_cluster_endpoint
}

output "eks_secondary_endpoint" {
  value = awsstack_multi_region_platform.luneo.secondary_cluster_endpoint
}

output "lb_controller_role_arns" {
  value = {
    (var.primary_region)   = awsstack_multi_region_platform.luneo.primary_lb_controller_role_arn
    (var.secondary_region) = awsstack_multi_region_platform.luneo.secondary_lb_controller_role_arn
  }
}

output "aurora_global_cluster_id" {
  value = awsstack_multi_region_platform.luneo.global_cluster_id
}

output "aurora_writer_endpoint" {
  value = awsstack_multi_region_platform.luneo.db_writer_endpoint
}

output "aurora_reader_endpoints" {
  value = {
    (var.primary_region)   = awsstack_multi_region_platform.luneo.db_primary_reader_endpoint
    (var.secondary_region) = awsstack_multi_region_platform.luneo.db_secondary_reader_endpoint
  }
}

output "writer_region" {
  value = awsstack_multi_region_platform.luneo.current_writer_region
}

output "artifact_buckets" {
  value = {
    (var.primary_region)   = awsstack_multi_region_platform.luneo.primary_bucket_name
    (var.secondary_region) = awsstack_multi_region_platform.luneo.secondary_bucket_name
  }
}

output "route53_record" {
  value = awsstack_multi_region_platform.luneo.record_fqdn
}

output "health_check_ids" {
  value = awsstack_multi_region_platform.luneo.health_check_ids
}

output "stack_id" {
  value = awsstack_multi_region_platform.luneo.id
}
