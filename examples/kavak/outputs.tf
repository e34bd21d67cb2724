# Named as the seed's commands use them.
output "alb_dns_name" {
  value = awsstack_container_service.app.alb_dns_name
}

output "ecs_cluster_name" {
  value = awsstack_container_service.app.ecs_cluster_name
}

output "ecs_service_name" {
  value = awsstack_container_service.app.ecs_service_name
}

output "ecr_repository_url" {
  value = awsstack_container_service.app.ecr_repository_url
}

output "database_endpoint" {
  value = awsstack_container_service.app.database_endpoint
}

output "database_secret_arn" {
  value = awsstack_container_service.app.database_secret_arn
}

output "redis_endpoint" {
  value = awsstack_container_service.app.redis_endpoint
}

output "private_subnet_ids" {
  value = awsstack_container_service.app.private_subnet_ids
}

output "ecs_security_group_id" {
  value = awsstack_container_service.app.ecs_security_group_id
}

output "aws_region" {
  value = awsstack_container_service.app.aws_region
}

output "stack_id" {
  value = awsstack_container_service.app.id
}

output "resource_ids" {
  value = awsstack_container_service.app.resource_ids
}
