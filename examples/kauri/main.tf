# Kauri (seed 000): one t4g.large Docker host for the whole stack
# (chatbot, user service, frontend, Postgres, Redis, ChromaDB, Grafana),
# EBS gp3 80 GiB at /data, versioned S3 with Glacier tiering, SSM
# parameters, Budgets + SNS, CloudWatch alarms and a weekday start/stop.
resource "awsstack_docker_host" "kauri" {
  project_name      = var.project_name
  environment       = var.environment
  vpc_cidr          = "10.42.0.0/24"
  instance_type     = var.instance_type
  ami_id            = var.ami_id
  use_spot_instance = var.use_spot_instance
  ssh_key_name      = var.ssh_key_name
  ssh_ingress_cidrs = var.ssh_ingress_cidrs

  # Grafana, restricted.
  port {
    port        = 3000
    cidr_blocks = var.grafana_cidrs
    description = "Grafana"
  }

  data_volume_size = 80
  data_directories = ["postgres", "redis", "chroma", "models"]

  ssm_parameters             = var.ssm_parameters
  budget_notification_emails = var.budget_notification_emails
  enable_budgets             = var.enable_budgets

  budget {
    name              = "global"
    monthly_limit_usd = 30
    filter_by_project = false
  }
  budget {
    name              = "kauri"
    monthly_limit_usd = 18
  }

  scheduler_start_expression = var.scheduler_start_expression
  scheduler_stop_expression  = var.scheduler_stop_expression
  scheduler_timezone         = "Europe/Paris"

  compose_file = file("${path.module}/docker-compose.yml")

  tags = {
    CostCenter = "demos"
  }
}
