terraform {
  required_version = ">= 1.0"
  required_providers {
    awsstack = {
      source = "awsstack/awsstack"
    }
  }
}

provider "awsstack" {
  region = var.aws_region

  default_tags {
    tags = {
      ManagedBy = "terraform"
      Owner     = var.owner
    }
  }
}
