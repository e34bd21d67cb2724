output "instance_id" {
  value = awsstack_docker_host.kauri.instance_id
}

output "elastic_ip" {
  description = "ssh ubuntu@<ip>, and the address Cloudflare points at."
  value       = awsstack_docker_host.kauri.public_ip
}

output "public_dns" {
  value = awsstack_docker_host.kauri.public_dns
}

output "bucket_name" {
  description = "aws s3 sync base_connaissances/ s3://<bucket>/"
  value       = awsstack_docker_host.kauri.bucket_name
}

output "sns_topic_arn" {
  value = awsstack_docker_host.kauri.sns_topic_arn
}

output "security_group_id" {
  value = awsstack_docker_host.kauri.security_group_id
}

output "vpc_id" {
  value = awsstack_docker_host.kauri.vpc_id
}

output "ssm_parameter_arns" {
  value = awsstack_docker_host.kauri.ssm_parameter_arns
}

output "ssh_command" {
  value = awsstack_docker_host.kauri.ssh_command
}

output "ssm_session_command" {
  value = awsstack_docker_host.kauri.ssm_session_command
}

output "stack_id" {
  value = awsstack_docker_host.kauri.id
}

output "resource_ids" {
  value = awsstack_docker_host.kauri.resource_ids
}
