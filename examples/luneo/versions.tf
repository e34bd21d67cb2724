terraform {
  required_version = ">= 1.0"
  required_providers {
    awsstack = {
      source = "awsstack/awsstack"
    }
  }

  # The seed's state backend: a bucket and a DynamoDB lock table that exist
  # before the first `terraform init` (scripts/demo.sh luneo creates them
  # on the emulator).
  backend "s3" {
    bucket         = "luneo-terraform-state"
    key            = "aws-multi-region/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "luneo-terraform-locks"
    encrypt        = true
  }
}

# One provider: the stack places each component in its own region. The
# provider's region holds the stack's manifest (for `terraform import`).
provider "awsstack" {
  region = var.primary_region

  default_tags {
    tags = var.tags
  }
}
