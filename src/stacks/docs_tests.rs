//! The docs in `docs/` are generated from the schemas; this test fails when
//! they are stale (`AWSSTACK_UPDATE_DOCS=1 cargo test docs` rewrites them).

use crate::schema::docs::{check_generated as check, page, resource_page};
use crate::stacks::{
    container_service::ContainerService, docker_host::DockerHost,
    multi_region_platform::MultiRegionPlatform, OnValues, Stack,
};
use crate::value::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The kinds a stack builds over `configs` (its defaults and the variants
/// that add kinds), for the IAM actions its page lists.
fn kinds_of<S: Stack>(stack: &S, configs: &[Value]) -> BTreeSet<&'static str> {
    let ctx = crate::aws::AwsContext::offline("eu-west-1", "123456789012");
    configs
        .iter()
        .flat_map(|c| stack.desired_of(c, &ctx))
        .map(|s| s.kind)
        .collect()
}

#[test]
fn docs_are_generated_from_the_schema() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/kauri/main.tf")).unwrap();
    let h = DockerHost::new();
    let extra = "\n## What it creates\n\nVPC, internet gateway, public subnet and route table (or, with `vpc_id` and `subnet_id`, none of them: the host goes in that existing subnet, checked at plan, and the network is never changed or deleted); a security group (80/443 from `http_ingress_cidrs`, 22 only from `ssh_ingress_cidrs`, each `port` from its own CIDR blocks; database ports never open to 0.0.0.0/0 unless `allow_public_database_ports`); IAM role and instance profile; the EC2 instance (IMDSv2, encrypted gp3 root) with a gp3 data volume at `/data` and an Elastic IP; the S3 bucket; SSM parameters; the SNS topic; budgets; CPU and status-check alarms; the scheduler role and start/stop schedules; and a manifest parameter `/stacks/awsstack/<stack id>/manifest` used by import. Every sub-resource is tagged `awsstack:stack-id`, `awsstack:component`, `Project`, `Environment`, plus `tags` and the provider's `default_tags`.\n\n`terraform plan` lists the sub-resource changes in the `changes` attribute (create, update tags, update, replace, delete, with the reason; or the drift found by refresh).\n\n## Data on destroy\n\n`terraform destroy` never throws data away silently. A bucket that holds objects (versions included) is not emptied unless `force_destroy = true` has been applied: otherwise the destroy is refused at plan, naming the bucket and its object count, and nothing is deleted. The data volume (Postgres, Redis, Chroma under `/data`) is kept as a final snapshot, tagged with the stack id, and the destroy ends with a warning naming it; `skip_final_snapshot = true` destroys it without one.\n\n## Tags and ownership\n\nA change of `tags`, of the provider's `default_tags` or of the project or environment tags is an in-place `update tags` of each sub-resource; tags that others add to the resources are left alone, and a managed tag removed out of band is shown as drift and put back. `tags_all` shows the merged tags. The stack only ever adopts objects that carry its `awsstack:stack-id` (after an interrupted apply, or by import): an object of another team with a name the stack would use (its bucket, role, parameters...) is reported on the attribute that decides that name, and never modified or deleted. Rules, policy attachments and routes that other Terraform resources add to the stack's security group, role and route table are left in place and are not drift; a rule the stack did not declare that opens SSH or a database port to the internet gives a plan warning.\n";
    let variants = [
        crate::stacks::docker_host::tests::config(&[]),
        crate::stacks::docker_host::tests::config(&[
            ("vpc_id", Value::str("vpc-1")),
            ("subnet_id", Value::str("subnet-1")),
        ]),
    ];
    let extra = format!(
        "{extra}{}",
        crate::components::catalog::iam_section(kinds_of(&h, &variants))
    );
    check(
        "docs/resources/docker_host.md",
        resource_page(h.type_name(), h.schema(), &example, &extra),
    );
    let example = std::fs::read_to_string(root.join("examples/kavak/main.tf")).unwrap();
    let cs = ContainerService::new();
    let extra = "\n## What it creates\n\nA VPC with a public and a private subnet per availability zone (keyed by zone: appending a zone adds subnets and, with `per_az`, a NAT gateway, and replaces nothing), an internet gateway, NAT gateways and route tables (none of these with `vpc_id`, `public_subnet_ids` and `private_subnet_ids`: the stack then goes in that existing network, checked at plan, and never changes or deletes it); security groups chaining internet → ALB (80, and 443 with `certificate_arn`) → tasks (`container_port`) → PostgreSQL (5432) and Redis (6379); an ECR repository with scan on push; a CloudWatch Logs group `/ecs/<project_name>-<env>-app`; Secrets Manager secrets for the database credentials (password generated in AWS, never in the state or the logs; `url` added once the database exists) and for each of `app_secrets`; an RDS subnet group and PostgreSQL instance (gp3, encrypted, private); an ElastiCache subnet group and Redis replication group (encrypted at rest, private); the ALB, its target group (health check `health_check_path`) and listeners; the task execution role (pulls images, writes logs, reads the stack's secrets only) and the task role; the ECS cluster, Fargate task definition (`DATABASE_URL` and the app secrets from Secrets Manager, `REDIS_URL`, `STATE_CACHE=redis`, `TWILIO_IDEMPOTENCY_ENABLED=true`) and service (private subnets, no public IP, circuit breaker with rollback); and the manifest parameter `/stacks/awsstack/<stack id>/manifest` used by import.\n\nIndependent parts (registry, logs, secrets, roles, cluster, database, cache, load balancer) are created concurrently; apply waits for the database and the cache to be available and for the service to be stable (running = desired in one deployment) within `timeouts`.\n\n## Profiles\n\n| | `ephemeral` (default) | `production` |\n|---|---|---|\n| RDS final snapshot | no | yes |\n| RDS backups | 0 days | 7 days |\n| Deletion protection | off | on (destroy is refused until it is turned off) |\n| RDS Multi-AZ | no | yes |\n| Redis | one node | primary + replica, automatic failover, 7-day snapshots |\n| Secrets on destroy | deleted at once | recoverable for 7 days (restored by the next apply) |\n| Container Insights | off | on |\n\n## Scaling\n\n`desired_count` is an in-place update. The provider records the count you configured, not the one it observes: a count changed by autoscaling or `aws ecs update-service` is left alone until you change `desired_count`.\n";
    let variants = [
        crate::stacks::container_service::tests::config(&[]),
        crate::stacks::container_service::tests::config(&[
            ("profile", Value::str("production")),
            (
                "certificate_arn",
                Value::str("arn:aws:acm:eu-west-1:123456789012:certificate/x"),
            ),
        ]),
        crate::stacks::container_service::tests::config(&[
            ("vpc_id", Value::str("vpc-1")),
            (
                "public_subnet_ids",
                Value::List(vec![Value::str("subnet-1"), Value::str("subnet-2")]),
            ),
            (
                "private_subnet_ids",
                Value::List(vec![Value::str("subnet-3"), Value::str("subnet-4")]),
            ),
        ]),
    ];
    let extra = format!(
        "{extra}{}",
        crate::components::catalog::iam_section(kinds_of(&cs, &variants))
    );
    check(
        "docs/resources/container_service.md",
        resource_page(cs.type_name(), cs.schema(), &example, &extra),
    );
    let example = std::fs::read_to_string(root.join("examples/luneo/main.tf")).unwrap();
    let mr = MultiRegionPlatform::new();
    let variants = [crate::stacks::multi_region_platform::tests::config(&[])];
    let extra = format!(
        "{}{}",
        include_str!("multi_region_platform/docs.md"),
        crate::components::catalog::iam_section(kinds_of(&mr, &variants))
    );
    check(
        "docs/resources/multi_region_platform.md",
        resource_page(mr.type_name(), mr.schema(), &example, &extra),
    );
}

/// Every write-only attribute `<x>_wo` has its `<x>_wo_version` (the
/// generic checks rely on the name).
#[test]
fn write_only_attributes_come_with_their_version() {
    let shared = std::sync::Arc::new(crate::aws::Shared::default());
    for r in crate::stacks::all(shared) {
        let block = &r.schema().block;
        for a in block.attributes.iter().filter(|a| a.write_only) {
            assert!(
                a.name.ends_with("_wo") && a.optional && !a.computed,
                "{}.{}",
                r.type_name(),
                a.name
            );
            let v = block
                .attribute(&format!("{}_version", a.name))
                .unwrap_or_else(|| panic!("{}.{} has no _version", r.type_name(), a.name));
            assert!(v.optional && !v.write_only && !v.sensitive);
        }
    }
}

/// Each action's and ephemeral resource's page: its schema, its block from
/// `examples/day-two/`, and (actions) the IAM actions it calls.
#[test]
fn action_and_ephemeral_docs_are_generated_from_the_schema() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::sync::Arc::new(crate::aws::Shared::default());
    let block_of = |file: &str, head: &str| {
        let text = std::fs::read_to_string(root.join("examples/day-two").join(file)).unwrap();
        let start = text
            .find(head)
            .unwrap_or_else(|| panic!("{head} in {file}"));
        // The block ends at the first line that closes it.
        let end = start + text[start..].find("\n}\n").unwrap() + 3;
        // With the comment lines right above it.
        let before: Vec<&str> = text[..start]
            .lines()
            .rev()
            .take_while(|l| l.starts_with('#'))
            .collect();
        let mut out: String = before.into_iter().rev().map(|l| format!("{l}\n")).collect();
        out.push_str(&text[start..end]);
        out
    };
    let calls: std::collections::BTreeMap<_, _> =
        crate::stacks::actions::calls().into_iter().collect();
    for a in crate::stacks::actions::all(shared.clone()) {
        let name = a.type_name();
        let example = block_of("actions.tf", &format!("action \"{name}\""));
        let extra = crate::components::catalog::iam_section_of_calls(calls[name]);
        check(
            &format!("docs/actions/{}.md", name.trim_start_matches("awsstack_")),
            page("Action", name, a.schema(), &example, &format!("\nInvoke it with `terraform apply -invoke=action.{name}.<name>` (Terraform 1.14+), or from a resource's `lifecycle {{ action_trigger {{ ... }} }}`. It leaves every stack's state as it was: the next plan is empty.\n{extra}")),
        );
    }
    for e in crate::stacks::credentials::all(shared) {
        let name = e.type_name();
        let example = block_of("ephemeral.tf", &format!("ephemeral \"{name}\""));
        check(
            &format!("docs/ephemeral-resources/{}.md", name.trim_start_matches("awsstack_")),
            page("Ephemeral Resource", name, e.schema(), &example, "\nTerraform 1.10+: its values exist only during a run and reach no plan or state; Terraform 1.0 to 1.9 do not know ephemeral resources (the stacks work as before).\n"),
        );
    }
}

/// Each attribute rule sits on an attribute of a type it reads: a word or
/// text rule on strings (or lists or maps of them), a number rule on
/// numbers, a key rule on a map.
#[test]
fn attribute_rules_fit_their_attribute_types() {
    use crate::schema::{Block, Rule};
    use crate::value::Type;
    fn leaf(t: &Type) -> &Type {
        match t {
            Type::List(e) | Type::Set(e) | Type::Map(e) => leaf(e),
            t => t,
        }
    }
    fn walk(owner: &str, b: &Block, n: &mut usize) {
        for a in &b.attributes {
            for r in &a.rules {
                *n += 1;
                let ok = match r {
                    Rule::OneOf { .. } | Rule::Text { .. } => *leaf(&a.ty) == Type::String,
                    Rule::Whole { .. } | Rule::Number { .. } => *leaf(&a.ty) == Type::Number,
                    Rule::Key { .. } => matches!(a.ty, Type::Map(_)),
                };
                assert!(ok, "{owner}.{}: {r:?} on {:?}", a.name, a.ty);
            }
        }
        for nb in &b.blocks {
            walk(&format!("{owner}.{}", nb.name), &nb.block, n);
        }
    }
    let shared = std::sync::Arc::new(crate::aws::Shared::default());
    let mut n = 0;
    for r in crate::stacks::all(shared) {
        walk(r.type_name(), &r.schema().block, &mut n);
    }
    assert!(n >= 70, "{n} rules");
}
