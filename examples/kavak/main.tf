# Kavak AI Sales Agent (seed 004): ECS Fargate behind an ALB, RDS
# PostgreSQL 15.4, ElastiCache Redis 7.0, ECR, Secrets Manager and
# CloudWatch Logs in private subnets over two zones, one resource.
resource "awsstack_container_service" "app" {
  project_name = var.project_name
  env          = var.env
  owner        = lookup(var.tags, "owner", null)
  profile      = var.profile

  vpc_cidr     = "10.0.0.0/16"
  nat_gateways = "single"

  container_image   = var.container_image
  container_port    = 8000
  cpu               = 256
  memory            = 512
  desired_count     = var.desired_count
  health_check_path = "/health"
  certificate_arn   = var.certificate_arn

  # Populated after the first apply with `aws secretsmanager
  # put-secret-value`, or here.
  app_secrets       = ["openai-api-key", "twilio-auth-token"]
  app_secret_values = var.app_secret_values

  environment = {
    LOG_LEVEL = "info"
  }

  db_engine_version    = "15.4"
  db_instance_class    = "db.t4g.micro"
  db_allocated_storage = 20
  db_name              = "kavak_agent"
  db_username          = "kavak_admin"
  deletion_protection  = var.deletion_protection

  redis_engine_version = "7.0"
  redis_node_type      = "cache.t4g.micro"

  log_retention_days = 14

  timeouts {
    create = "45m"
    delete = "45m"
  }
}
