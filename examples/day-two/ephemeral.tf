# Credentials that never reach the plan or the state (Terraform 1.10+).

# Luneo: instead of `aws eks update-kubeconfig --region us-east-1 --name luneo-prod-eks-secondary`
ephemeral "awsstack_eks_credentials" "secondary" {
  stack_id = awsstack_multi_region_platform.luneo.id
  region   = "us-east-1"
}

provider "kubernetes" {
  alias                  = "secondary"
  host                   = ephemeral.awsstack_eks_credentials.secondary.endpoint
  cluster_ca_certificate = ephemeral.awsstack_eks_credentials.secondary.cluster_ca_certificate
  token                  = ephemeral.awsstack_eks_credentials.secondary.token
}

# Kavak: the database URL for a provider or a write-only argument
ephemeral "awsstack_database_credentials" "db" {
  stack_id = awsstack_container_service.app.id
}

provider "postgresql" {
  host     = ephemeral.awsstack_database_credentials.db.host
  port     = ephemeral.awsstack_database_credentials.db.port
  username = ephemeral.awsstack_database_credentials.db.username
  password = ephemeral.awsstack_database_credentials.db.password
}
