use super::*;
use crate::stacks::OnValues;

// The module's functions of a typed configuration, given the cty one.
fn typed(c: &Value) -> config::Config {
    DockerHost::new().config(c)
}
fn subnet_cidr(c: &Value) -> String {
    super::subnet_cidr(&typed(c))
}
fn stack_id_of(c: &Value) -> String {
    typed(c).stack_id()
}
fn budgets(c: &Value) -> Vec<(String, f64, bool)> {
    super::budgets(&typed(c))
}
fn render_user_data(c: &Value, region: &str) -> String {
    super::render_user_data(&typed(c), region)
}
use crate::engine::topo_order;
use crate::schema::{apply_defaults, Severity};
use crate::value::Value;

pub(crate) fn config(extra: &[(&str, Value)]) -> Value {
    let mut m = BTreeMap::new();
    m.insert("project_name".to_string(), Value::str("kauri"));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    let mut c = Value::Object(m);
    let h = DockerHost::new();
    // every attribute present (null when unset), then defaults
    if let crate::value::Type::Object(attrs) = h.schema().block.value_type() {
        for k in attrs.keys() {
            if let Value::Object(m) = &mut c {
                m.entry(k.clone()).or_insert(Value::Null);
            }
        }
    }
    apply_defaults(&h.schema().block, &mut c);
    c
}

fn port_block(port: f64, cidr: &str) -> Value {
    Value::Object(BTreeMap::from([
        ("port".to_string(), Value::Number(port)),
        ("cidr_blocks".to_string(), Value::string_list([cidr])),
        ("protocol".to_string(), Value::str("tcp")),
        ("description".to_string(), Value::str("")),
    ]))
}

fn errors_at(c: &Value) -> Vec<(String, String)> {
    crate::stacks::validated(&DockerHost::new(), c)
        .0
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.summary))
        .collect()
}

#[test]
fn defaults_are_valid_and_match_the_kauri_seed() {
    let c = config(&[]);
    assert!(errors_at(&c).is_empty(), "{:?}", errors_at(&c));
    assert_eq!(c.get("instance_type"), &Value::str("t4g.large"));
    assert_eq!(c.get("data_volume_size"), &Value::Number(80.0));
    assert_eq!(subnet_cidr(&c), "10.0.0.0/25");
    assert_eq!(stack_id_of(&c), "kauri-dev");
    let b = budgets(&c);
    assert_eq!(
        b,
        vec![
            ("global".to_string(), 30.0, false),
            ("kauri".to_string(), 18.0, true)
        ]
    );
}

#[test]
fn bad_inputs_point_at_their_attribute() {
    let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
        (vec![("project_name", Value::str(""))], "project_name"),
        (
            vec![("project_name", Value::str("Kauri_AI"))],
            "project_name",
        ),
        (vec![("vpc_cidr", Value::str("10.0.0.0/33"))], "vpc_cidr"),
        (
            vec![("public_subnet_cidr", Value::str("10.9.0.0/25"))],
            "public_subnet_cidr",
        ),
        (
            vec![("instance_type", Value::str("large"))],
            "instance_type",
        ),
        (
            vec![(
                "scheduler_start_expression",
                Value::str("cron(0 7 * * MON-FRI)"),
            )],
            "scheduler_start_expression",
        ),
        (
            vec![("scheduler_timezone", Value::str("Mars/Olympus"))],
            "scheduler_timezone",
        ),
        (
            vec![(
                "budget_notification_emails",
                Value::string_list(["ops@example.com", "nope"]),
            )],
            "budget_notification_emails[1]",
        ),
        (
            vec![("port", Value::List(vec![port_block(70000.0, "10.0.0.0/8")]))],
            "port[0].port",
        ),
        (
            vec![(
                "port",
                Value::List(vec![port_block(3000.0, "10.0.0.300/8")]),
            )],
            "port[0].cidr_blocks[0]",
        ),
        (
            vec![("port", Value::List(vec![port_block(5432.0, "0.0.0.0/0")]))],
            "port[0].cidr_blocks[0]",
        ),
        (
            vec![("port", Value::List(vec![port_block(80.0, "10.0.0.0/8")]))],
            "port[0].port",
        ),
        (
            vec![("bucket_name", Value::str("Not_A_Bucket"))],
            "bucket_name",
        ),
        (
            vec![("ssh_ingress_cidrs", Value::string_list(["1.2.3.4"]))],
            "ssh_ingress_cidrs[0]",
        ),
        (
            vec![("data_volume_size", Value::Number(0.0))],
            "data_volume_size",
        ),
        (vec![("ami_id", Value::str("ubuntu"))], "ami_id"),
    ];
    for (extra, path) in cases {
        let errs = errors_at(&config(&extra));
        assert!(
            errs.iter().any(|(p, _)| p == path),
            "expected an error at {path}, got {errs:?}"
        );
    }
}

#[test]
fn public_database_port_needs_explicit_consent_and_warns() {
    let c = config(&[
        ("port", Value::List(vec![port_block(5432.0, "0.0.0.0/0")])),
        ("allow_public_database_ports", Value::Bool(true)),
    ]);
    let d = crate::stacks::validated(&DockerHost::new(), &c);
    assert!(!d.has_errors());
    assert!(d
        .0
        .iter()
        .any(|x| x.severity == Severity::Warning && x.summary.contains("Database port")));
}

#[test]
fn unknown_values_are_not_errors() {
    let c = config(&[
        ("vpc_cidr", Value::Unknown),
        ("budget_notification_emails", Value::Unknown),
    ]);
    assert!(errors_at(&c).is_empty());
}

#[test]
fn graph_is_acyclic_and_complete() {
    let ctx = AwsContext::offline("eu-west-1", "123456789012");
    let mut secrets = BTreeMap::new();
    secrets.insert(
        "OPENAI_API_KEY".to_string(),
        Value::Object(BTreeMap::from([(
            "value".to_string(),
            Value::str("sk-very-secret"),
        )])),
    );
    let c = config(&[
        ("ssm_parameters", Value::Map(secrets)),
        ("ssh_ingress_cidrs", Value::string_list(["203.0.113.0/24"])),
    ]);
    let specs = DockerHost::new().desired_of(&c, &ctx);
    let order = topo_order(&specs).unwrap();
    crate::engine::needs::check(&crate::components::registry::all_kinds(), &specs)
        .expect("every kind gets what it needs");
    for k in [
        "vpc",
        "igw",
        "subnet.public",
        "rtb.public",
        "sg.host",
        "role.host",
        "instance_profile.host",
        "instance",
        "volume.data",
        "eip",
        "bucket",
        "param.OPENAI_API_KEY",
        "topic",
        "budget.global",
        "budget.kauri",
        "alarm.cpu",
        "alarm.status",
        "role.scheduler",
        "schedule.start",
        "schedule.stop",
        "manifest",
    ] {
        assert!(order.iter().any(|o| o == k), "missing {k}");
    }
    // Secrets never land in recorded inputs or the user data.
    for s in &specs {
        assert!(
            !s.inputs.to_string().contains("sk-very-secret"),
            "{} leaks the secret",
            s.key
        );
    }
    let param = specs
        .iter()
        .find(|s| s.key == "param.OPENAI_API_KEY")
        .unwrap();
    assert_eq!(param.secret.as_deref(), Some("sk-very-secret"));
    assert_eq!(param.str("name"), "/kauri/OPENAI_API_KEY");
    // 22 only from the given CIDR, 80/443 open.
    let sg = specs.iter().find(|s| s.key == "sg.host").unwrap();
    let rules = sg.input("rules").as_array().unwrap();
    let ssh = rules.iter().find(|r| r["from_port"] == 22).unwrap();
    assert_eq!(ssh["cidrs"], serde_json::json!(["203.0.113.0/24"]));
    assert!(rules.iter().any(|r| r["from_port"] == 443));
    assert_eq!(rules.len(), 3);
    // No SSH rule at all by default.
    let specs = DockerHost::new().desired_of(&config(&[]), &ctx);
    let sg = specs.iter().find(|s| s.key == "sg.host").unwrap();
    assert!(!sg
        .input("rules")
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["from_port"] == 22));
}

#[test]
fn user_data_installs_docker_mounts_data_and_reads_ssm() {
    let c = config(&[(
        "compose_file",
        Value::str("services:\n  web:\n    image: nginx\n"),
    )]);
    let ud = render_user_data(&c, "eu-west-1");
    assert!(ud.starts_with("#!/bin/bash"));
    assert!(ud.contains("docker-compose-v2"));
    assert!(ud.contains("/data/postgres") && ud.contains("/data/redis"));
    assert!(ud.contains("get-parameters-by-path") && ud.contains("'/kauri/'"));
    assert!(ud.contains("docker compose up -d"));
    assert!(ud.contains("image: nginx"));
}

#[test]
fn shrinking_the_data_volume_is_refused_at_plan() {
    let prior = config(&[]);
    let next = config(&[("data_volume_size", Value::Number(40.0))]);
    let d = DockerHost::new().validate_change_of(&prior, &next);
    assert_eq!(
        d.0[0].path.as_ref().unwrap().to_string(),
        "data_volume_size"
    );
}

#[test]
fn graviton_types_are_arm64() {
    use crate::components::ec2::architecture_of;
    assert_eq!(architecture_of("t4g.large"), "arm64");
    assert_eq!(architecture_of("c6gd.xlarge"), "arm64");
    assert_eq!(architecture_of("t3.large"), "x86_64");
    assert_eq!(architecture_of("m7i-flex.large"), "x86_64");
}

#[test]
fn compose_file_is_content_that_fits_the_user_data() {
    let ok = "services:\n  web:\n    image: nginx\n";
    assert!(errors_at(&config(&[("compose_file", Value::str(ok))])).is_empty());
    for bad in [
        "",
        "  \n",
        "docker-compose.yml",
        "compose.yaml",
        &format!("{ok}{}\nx: 1\n", user_data::COMPOSE_EOF),
    ] {
        let errs = errors_at(&config(&[("compose_file", Value::str(bad))]));
        assert_eq!(
            errs,
            vec![(
                "compose_file".to_string(),
                "Invalid compose file".to_string()
            )],
            "{bad:?}"
        );
    }
    // Just under and just over EC2's 16 KB once rendered.
    let base = render_user_data(
        &config(&[("compose_file", Value::str("x: 1"))]),
        "ap-southeast-7",
    )
    .len();
    let fits = format!("x: {}", "y".repeat(USER_DATA_LIMIT - base + 1));
    assert_eq!(
        render_user_data(
            &config(&[("compose_file", Value::str(&fits))]),
            "ap-southeast-7"
        )
        .len(),
        USER_DATA_LIMIT
    );
    assert!(errors_at(&config(&[("compose_file", Value::str(&fits))])).is_empty());
    let over = format!("x: {}", "y".repeat(USER_DATA_LIMIT - base + 2));
    assert_eq!(
        errors_at(&config(&[("compose_file", Value::str(&over))])),
        vec![(
            "compose_file".to_string(),
            "Compose file too large".to_string()
        )]
    );
}

#[test]
fn an_instance_alarm_recorded_before_its_namespace_had_a_default_is_upgraded_to_no_change() {
    let st = DockerHost::new();
    let desired = st.desired_of(
        &config(&[]),
        &AwsContext::offline("us-east-1", "123456789012"),
    );
    let mut recorded = crate::stacks::as_recorded(&desired);
    // Before the typed inputs, an instance alarm's namespace was the kind's
    // default and was not recorded.
    for key in ["alarm.cpu", "alarm.status"] {
        assert_eq!(recorded[key].inputs["namespace"], "AWS/EC2");
        recorded
            .get_mut(key)
            .unwrap()
            .inputs
            .as_object_mut()
            .unwrap()
            .remove("namespace");
    }
    let changes = crate::engine::plan(&*st.kinds(), &desired, &recorded).unwrap();
    assert_eq!(
        changes
            .iter()
            .filter(|c| c.key.starts_with("alarm."))
            .count(),
        2,
        "without the upgrade the namespace would be a change: {changes:?}"
    );
    crate::engine::upgrade(&st.kinds(), &mut recorded);
    crate::engine::upgrade(&st.kinds(), &mut recorded);
    assert_eq!(
        crate::engine::plan(&*st.kinds(), &desired, &recorded).unwrap(),
        vec![],
        "the upgrade plans nothing, and is idempotent"
    );
}

#[test]
fn config_agrees_with_schema() {
    // Every attribute the configuration may set is read by the typed
    // configuration, and every one it reads is in the schema with that type.
    assert_eq!(
        crate::schema::config::agreement::<config::Config>(&schema::schema().block),
        Ok(())
    );
}
