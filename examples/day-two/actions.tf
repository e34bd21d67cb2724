# Day two from the seeds' runbooks, as actions (Terraform 1.14+):
#   terraform apply -invoke=action.awsstack_run_task.migrate
# Each is configured from the stack, so no id is pasted from `terraform output`.

# Kavak: `aws ecs run-task ... --overrides '{"containerOverrides":[{"command":["alembic","upgrade","head"]}]}'`
action "awsstack_run_task" "migrate" {
  config {
    stack_id = awsstack_container_service.app.id
    command  = ["alembic", "upgrade", "head"]
  }
}

# Kavak: `aws ecs update-service --force-new-deployment`
action "awsstack_redeploy" "app" {
  config {
    stack_id = awsstack_container_service.app.id
  }
}

# Harena: `aws ssm send-command` / `aws ssm get-command-invocation`
action "awsstack_run_command" "backup" {
  config {
    stack_id = awsstack_docker_host.harena.id
    command  = "docker compose -f /opt/harena/compose.yaml exec -T postgres pg_dumpall -U postgres > /data/backup.sql"
  }
}

# Harena: `aws ec2 create-snapshot`; Kavak: `aws rds create-db-snapshot`
action "awsstack_snapshot" "before_upgrade" {
  config {
    stack_id    = awsstack_docker_host.harena.id
    description = "before the Postgres 16 upgrade"
  }
}

# Luneo: the semestrial "Aurora promotion and back"
action "awsstack_dr_drill" "semestrial" {
  config {
    stack_id                    = awsstack_multi_region_platform.luneo.id
    max_replication_lag_seconds = 30
  }
}

# Migrations after each deploy: the stack triggers its own action.
resource "awsstack_container_service" "app" {
  project_name = "kavak-agent"
  # ...

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.awsstack_run_task.migrate]
    }
  }
}
