terraform {
  required_version = ">= 1.0"
  required_providers {
    awsstack = {
      source = "awsstack/awsstack"
    }
  }
}

# The seed's providers.tf: region and default tags (project, env, owner).
provider "awsstack" {
  region = var.aws_region

  default_tags {
    tags = var.tags
  }
}
