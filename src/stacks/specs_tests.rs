//! The component graph of reference configurations of each stack, kept in
//! `src/stacks/testdata/specs.txt`: a refactoring that changes what a
//! stack builds fails here, and an intended change is rewritten with
//! `AWSSTACK_UPDATE_DOCS=1 cargo test specs`, for review in the diff.
use crate::value::Value;

fn dump(name: &str, specs: Vec<crate::engine::Spec>, out: &mut String) {
    let mut specs = specs;
    specs.sort_by(|a, b| a.key.cmp(&b.key));
    out.push_str(&format!("## {name}\n"));
    for s in specs {
        out.push_str(&format!("{s:?}\n"));
    }
}

#[test]
fn specs_of_the_reference_configurations_are_as_recorded() {
    use crate::stacks::container_service::{tests::config as cs, ContainerService};
    use crate::stacks::docker_host::{tests::config as dh, DockerHost};
    use crate::stacks::multi_region_platform::{tests::config as mp, MultiRegionPlatform};
    let ctx = crate::aws::AwsContext::offline("eu-west-1", "123456789012");
    let l = |xs: &[&str]| Value::string_list(xs.iter().copied());
    let m = |xs: &[(&str, &str)]| {
        Value::Map(
            xs.iter()
                .map(|(k, v)| (k.to_string(), Value::str(*v)))
                .collect(),
        )
    };
    let obj = |xs: Vec<(&str, Value)>| {
        Value::Object(xs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    let mut out = String::new();
    let d = DockerHost::new();
    let variants: Vec<(&str, Value)> = vec![
        ("dh default", dh(&[])),
        (
            "dh ports budgets",
            dh(&[
                (
                    "port",
                    Value::List(vec![obj(vec![
                        ("port", Value::Number(3000.0)),
                        ("cidr_blocks", l(&["10.1.0.0/16"])),
                        ("protocol", Value::str("tcp")),
                        ("description", Value::str("x")),
                    ])]),
                ),
                (
                    "budget",
                    Value::List(vec![obj(vec![
                        ("name", Value::str("b1")),
                        ("monthly_limit_usd", Value::Number(12.0)),
                        ("filter_by_project", Value::Bool(false)),
                    ])]),
                ),
                (
                    "backup",
                    obj(vec![
                        ("enabled", Value::Bool(true)),
                        ("time", Value::str("04:00")),
                        ("retain_days", Value::Number(3.0)),
                    ]),
                ),
                (
                    "ssm_parameters",
                    Value::Map(
                        [("a".to_string(), obj(vec![("value", Value::str("s1"))]))]
                            .into_iter()
                            .collect(),
                    ),
                ),
                ("ssm_parameters_wo", m(&[("b", "s2")])),
                ("ssm_parameters_wo_version", Value::Number(2.0)),
                ("compose_file", Value::str("services: {}\n")),
                ("ssh_key_name", Value::str("k")),
                ("ssh_ingress_cidrs", l(&["1.2.3.4/32"])),
                ("availability_zone", Value::str("eu-west-1b")),
                ("ami_id", Value::str("ami-12345678")),
                ("bucket_name", Value::str("my-bucket-x")),
                ("force_destroy", Value::Bool(true)),
                ("skip_final_snapshot", Value::Bool(true)),
            ]),
        ),
        (
            "dh off",
            dh(&[
                (
                    "backup",
                    obj(vec![
                        ("enabled", Value::Bool(false)),
                        ("time", Value::str("03:00")),
                        ("retain_days", Value::Number(7.0)),
                    ]),
                ),
                ("enable_budgets", Value::Bool(false)),
                ("enable_alarms", Value::Bool(false)),
                ("scheduler_enabled", Value::Bool(false)),
                ("vpc_id", Value::str("vpc-0123456789abcdef0")),
                ("subnet_id", Value::str("subnet-0123456789abcdef0")),
            ]),
        ),
    ];
    for (n, c) in variants {
        dump(n, DESIRED(&d, &c, &ctx), &mut out);
    }
    let s = ContainerService::new();
    let variants: Vec<(&str, Value)> = vec![
        ("cs default", cs(&[])),
        (
            "cs prod",
            cs(&[
                ("profile", Value::str("production")),
                (
                    "certificate_arn",
                    Value::str("arn:aws:acm:eu-west-1:123456789012:certificate/abc"),
                ),
                ("app_secrets", l(&["openai-api-key", "twilio"])),
                ("app_secret_values", m(&[("openai-api-key", "v1")])),
                ("app_secret_values_wo", m(&[("twilio", "v2")])),
                ("app_secret_values_wo_version", Value::Number(3.0)),
                ("environment", m(&[("A", "1"), ("STATE_CACHE", "x")])),
                (
                    "availability_zones",
                    l(&["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
                ),
                ("nat_gateways", Value::str("per_az")),
                ("container_image", Value::str("nginx:1")),
                ("cpu", Value::Number(1024.0)),
                ("memory", Value::Number(4096.0)),
                ("cpu_architecture", Value::str("ARM64")),
                (
                    "task_role_policy_arns",
                    l(&["arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/A"]),
                ),
                ("db_name", Value::str("dbx")),
                ("db_username", Value::str("ux")),
                ("deletion_protection", Value::Bool(false)),
                ("alb_ingress_cidrs", l(&["10.0.0.0/8", "1.1.1.1/32"])),
            ]),
        ),
        (
            "cs existing",
            cs(&[
                ("vpc_id", Value::str("vpc-0123456789abcdef0")),
                (
                    "public_subnet_ids",
                    l(&["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
                ),
                (
                    "private_subnet_ids",
                    l(&["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]),
                ),
                ("nat_gateways", Value::str("none")),
            ]),
        ),
    ];
    for (n, c) in variants {
        dump(n, DESIRED(&s, &c, &ctx), &mut out);
    }
    let p = MultiRegionPlatform::new();
    let variants: Vec<(&str, Value)> = vec![
        ("mp default", mp(&[])),
        (
            "mp custom",
            mp(&[
                ("profile", Value::str("ephemeral")),
                ("writer_region", Value::str("us-east-1")),
                ("hosted_zone_id", Value::str("Z0123456789ABC")),
                ("record_name", Value::str("api.example.com.")),
                ("primary_ingress_hostname", Value::str("a.example.com")),
                ("secondary_ingress_hostname", Value::str("b.example.com")),
                ("secondary_health_check_domain", Value::str("h.example.com")),
                ("db_master_password", Value::str("supersecret123")),
                ("alarm_emails", l(&["a@b.c"])),
                (
                    "node_group",
                    Value::List(vec![obj(vec![
                        ("name", Value::str("gpu")),
                        ("capacity_type", Value::str("SPOT")),
                        ("instance_types", l(&["g5.xlarge"])),
                        ("ami_type", Value::str("AL2_x86_64_GPU")),
                        ("min_size", Value::Number(1.0)),
                        ("max_size", Value::Number(4.0)),
                        ("desired_size", Value::Number(2.0)),
                        ("secondary_desired_size", Value::Number(1.0)),
                        ("labels", m(&[("x", "y")])),
                    ])]),
                ),
                (
                    "primary_availability_zones",
                    l(&["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
                ),
                ("db_secondary_instance_count", Value::Number(2.0)),
                ("force_destroy", Value::Bool(true)),
            ]),
        ),
        (
            "mp existing wo",
            mp(&[
                ("primary_vpc_id", Value::str("vpc-0123456789abcdef0")),
                (
                    "primary_public_subnet_ids",
                    l(&["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
                ),
                (
                    "primary_private_subnet_ids",
                    l(&["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]),
                ),
                ("db_master_password_wo", Value::str("supersecret123")),
                ("db_master_password_wo_version", Value::Number(4.0)),
                ("nat_gateways", Value::str("per_az")),
            ]),
        ),
    ];
    for (n, c) in variants {
        dump(n, DESIRED(&p, &c, &ctx), &mut out);
    }
    crate::schema::docs::check_generated("src/stacks/testdata/specs.txt", out);
}
#[allow(non_snake_case)]
fn DESIRED<S: crate::stacks::OnValues>(
    s: &S,
    c: &Value,
    ctx: &crate::aws::AwsContext,
) -> Vec<crate::engine::Spec> {
    s.desired_of(c, ctx)
}
