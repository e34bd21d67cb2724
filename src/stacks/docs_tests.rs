//! The docs in `docs/` are generated from the schemas; this test fails when
//! they are stale (`AWSSTACK_UPDATE_DOCS=1 cargo test docs` rewrites them).

use crate::provider::provider_schema;
use crate::schema::docs::{provider_page, resource_page};
use crate::stacks::{docker_host::DockerHost, Stack};
use std::path::PathBuf;

fn check(rel: &str, content: String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    if std::env::var("AWSSTACK_UPDATE_DOCS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(on_disk == content, "{rel} is stale: run AWSSTACK_UPDATE_DOCS=1 cargo test docs");
}

#[test]
fn docs_are_generated_from_the_schema() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/kauri/main.tf")).unwrap();
    let h = DockerHost::new();
    let extra = "\n## What it creates\n\nVPC, internet gateway, public subnet and route table; a security group (80/443 from `http_ingress_cidrs`, 22 only from `ssh_ingress_cidrs`, each `port` from its own CIDR blocks; database ports never open to 0.0.0.0/0 unless `allow_public_database_ports`); IAM role and instance profile; the EC2 instance (IMDSv2, encrypted gp3 root) with a gp3 data volume at `/data` and an Elastic IP; the S3 bucket; SSM parameters; the SNS topic; budgets; CPU and status-check alarms; the scheduler role and start/stop schedules; and a manifest parameter `/stacks/awsstack/<stack id>/manifest` used by import. Every sub-resource is tagged `awsstack:stack-id`, `awsstack:component`, `Project`, `Environment`, plus `tags` and the provider's `default_tags`.\n\n`terraform plan` lists the sub-resource changes in the `changes` attribute (create, update, replace, delete, with the reason; or the drift found by refresh).\n";
    check("docs/resources/docker_host.md", resource_page(h.type_name(), h.schema(), &example, extra));
    let provider_example = "provider \"awsstack\" {\n  region = \"eu-west-1\"\n\n  default_tags {\n    tags = { ManagedBy = \"terraform\" }\n  }\n\n  # A local emulator (or set AWS_ENDPOINT_URL):\n  # endpoint = \"http://127.0.0.1:4566\"\n}";
    let extra = "\nCredentials come from the standard AWS chain (environment, shared files, SSO, instance role) unless `access_key`/`secret_key` or `profile` are set. `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` are honoured; `endpoints` and `endpoint` take precedence. Custom endpoints switch S3 to path-style addressing.\n";
    check("docs/index.md", provider_page(&provider_schema(), provider_example, extra));
}
