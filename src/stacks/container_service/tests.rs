use super::*;
use crate::engine::{plan, topo_order, Action};
use crate::schema::{apply_defaults, Severity};
use crate::stacks::{as_recorded, OnValues};
use crate::value::Value;
use serde_json::json;

pub(crate) fn config(extra: &[(&str, Value)]) -> Value {
    let mut m = BTreeMap::new();
    m.insert("project_name".to_string(), Value::str("kavak-agent"));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    let mut c = Value::Object(m);
    let st = ContainerService::new();
    if let crate::value::Type::Object(attrs) = st.schema().block.value_type() {
        for k in attrs.keys() {
            if let Value::Object(m) = &mut c {
                m.entry(k.clone()).or_insert(Value::Null);
            }
        }
    }
    apply_defaults(&st.schema().block, &mut c);
    c
}

fn errors_at(c: &Value) -> Vec<(String, String)> {
    crate::stacks::validated(&ContainerService::new(), c)
        .0
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.summary))
        .collect()
}

/// Records as if every desired component existed with its inputs.
fn ctx() -> AwsContext {
    AwsContext::offline("us-east-1", "123456789012")
}

#[test]
fn defaults_are_valid_and_match_the_kavak_seed() {
    let c = config(&[]);
    assert!(errors_at(&c).is_empty(), "{:?}", errors_at(&c));
    let typed = ContainerService::new().config(&c);
    assert_eq!(typed.stack_id(), "kavak-agent-dev");
    assert_eq!(typed.db_name(), "kavak_agent");
    assert_eq!(typed.db_username(), "kavak_admin");
    assert_eq!(zones(&typed, "us-east-1"), vec!["us-east-1a", "us-east-1b"]);
    assert_eq!(
        subnet_cidrs(&typed, 2),
        (
            vec!["10.0.0.0/24".to_string(), "10.0.1.0/24".to_string()],
            vec!["10.0.10.0/24".to_string(), "10.0.11.0/24".to_string()]
        )
    );
    let specs = ContainerService::new().desired_of(&c, &ctx());
    let db = specs.iter().find(|s| s.key == "db").unwrap();
    assert_eq!(db.input("engine_version"), "15.4");
    assert_eq!(db.input("instance_class"), "db.t4g.micro");
    assert_eq!(db.input("allocated_storage"), 20);
    assert_eq!(db.input("max_allocated_storage"), 100);
    assert_eq!(db.input("publicly_accessible"), false);
    // Ephemeral: no snapshot, no backups, no protection, one node.
    assert_eq!(db.input("final_snapshot"), false);
    assert_eq!(db.input("backup_retention_days"), 0);
    assert_eq!(db.input("deletion_protection"), false);
    let cache = specs.iter().find(|s| s.key == "cache").unwrap();
    assert_eq!(cache.input("engine_version"), "7.0");
    assert_eq!(cache.input("at_rest_encryption"), true);
    assert_eq!(cache.input("nodes"), 1);
    let tg = specs.iter().find(|s| s.key == "tg").unwrap();
    assert_eq!(tg.input("port"), 8000);
    assert_eq!(tg.input("health_check_path"), "/health");
    let logs = specs.iter().find(|s| s.key == "logs").unwrap();
    assert_eq!(logs.str("name"), "/ecs/kavak-agent-dev-app");
    let svc = specs.iter().find(|s| s.key == "service").unwrap();
    assert_eq!(svc.input("desired_count"), 1);
    assert_eq!(svc.input("circuit_breaker"), true);
    // Single NAT in the first zone.
    assert!(specs.iter().any(|s| s.key == "nat.us-east-1a"));
    assert!(!specs.iter().any(|s| s.key == "nat.us-east-1b"));
}

#[test]
fn production_profile_protects_and_replicates() {
    let c = config(&[("profile", Value::str("production"))]);
    assert!(errors_at(&c).is_empty(), "{:?}", errors_at(&c));
    let specs = ContainerService::new().desired_of(&c, &ctx());
    let db = specs.iter().find(|s| s.key == "db").unwrap();
    assert_eq!(db.input("final_snapshot"), true);
    assert_eq!(db.input("backup_retention_days"), 7);
    assert_eq!(db.input("deletion_protection"), true);
    assert_eq!(db.input("multi_az"), true);
    let cache = specs.iter().find(|s| s.key == "cache").unwrap();
    assert_eq!(cache.input("failover"), true);
    assert_eq!(cache.input("nodes"), 2);
    assert_eq!(cache.input("snapshot_retention_days"), 7);
    // Destroy is refused while protection is on, at the attribute.
    let d = ContainerService::new().check_destroy_of(&c);
    assert!(d.has_errors());
    assert_eq!(
        d.0[0].path.as_ref().map(|p| p.to_string()).as_deref(),
        Some("deletion_protection")
    );
    let off = config(&[
        ("profile", Value::str("production")),
        ("deletion_protection", Value::Bool(false)),
    ]);
    assert!(!ContainerService::new().check_destroy_of(&off).has_errors());
    assert!(!ContainerService::new()
        .check_destroy_of(&config(&[]))
        .has_errors());
}

#[test]
fn graph_is_acyclic_wired_and_keeps_secrets_out_of_inputs() {
    let mut vals = BTreeMap::new();
    vals.insert("openai-api-key".to_string(), Value::str("sk-very-secret"));
    let c = config(&[
        (
            "app_secrets",
            Value::string_list(["openai-api-key", "twilio-auth-token"]),
        ),
        ("app_secret_values", Value::Map(vals)),
    ]);
    let specs = ContainerService::new().desired_of(&c, &ctx());
    let order = topo_order(&specs).unwrap();
    crate::engine::needs::check(&crate::components::registry::all_kinds(), &specs)
        .expect("every kind gets what it needs");
    for k in [
        "vpc",
        "igw",
        "subnet.public.us-east-1a",
        "subnet.private.us-east-1b",
        "rtb.public",
        "rtb.private",
        "eip.nat.us-east-1a",
        "nat.us-east-1a",
        "sg.alb",
        "sg.ecs",
        "sg.db",
        "sg.redis",
        "ecr",
        "logs",
        "secret.db",
        "secret.app.openai-api-key",
        "secret.app.twilio-auth-token",
        "db.subnets",
        "db",
        "db.connection",
        "cache.subnets",
        "cache",
        "alb",
        "tg",
        "listener.http",
        "role.execution",
        "role.task",
        "cluster",
        "task",
        "service",
        "manifest",
    ] {
        assert!(order.iter().any(|o| o == k), "missing {k}");
    }
    for s in &specs {
        assert!(
            !s.inputs.to_string().contains("sk-very-secret"),
            "{} leaks the secret",
            s.key
        );
    }
    let openai = specs
        .iter()
        .find(|s| s.key == "secret.app.openai-api-key")
        .unwrap();
    assert_eq!(openai.secret.as_deref(), Some("sk-very-secret"));
    assert_eq!(openai.str("name"), "kavak-agent-dev-openai-api-key");
    let twilio = specs
        .iter()
        .find(|s| s.key == "secret.app.twilio-auth-token")
        .unwrap();
    assert!(
        twilio.secret.is_none() && twilio.input("value_sha256").is_null(),
        "a secret without a value is managed outside"
    );
    // The task gets DATABASE_URL and the app secrets from Secrets Manager, REDIS_URL from the cache.
    let task = specs.iter().find(|s| s.key == "task").unwrap();
    assert_eq!(
        task.input("secrets")["DATABASE_URL"],
        "${secret.db.arn}:url::"
    );
    assert_eq!(
        task.input("secrets")["OPENAI_API_KEY"],
        "${secret.app.openai-api-key.arn}"
    );
    assert_eq!(
        task.input("environment")["REDIS_URL"],
        "redis://${cache.address}:${cache.port}/0"
    );
    assert_eq!(task.input("environment")["STATE_CACHE"], "redis");
    assert_eq!(
        task.input("environment")["TWILIO_IDEMPOTENCY_ENABLED"],
        "true"
    );
    assert_eq!(task.input("image"), "${ecr.url}:latest");
    // Security groups chain internet → ALB → tasks → database/cache.
    let rules = |k: &str| {
        specs
            .iter()
            .find(|s| s.key == k)
            .unwrap()
            .input("rules")
            .clone()
    };
    assert_eq!(
        rules("sg.alb").as_array().unwrap().len(),
        1,
        "only 80 without a certificate"
    );
    assert_eq!(rules("sg.ecs")[0]["source"], "sg.alb");
    assert_eq!(rules("sg.ecs")[0]["from_port"], 8000);
    assert_eq!(rules("sg.db")[0]["source"], "sg.ecs");
    assert_eq!(rules("sg.redis")[0]["source"], "sg.ecs");
    // Independent branches really are independent of the network.
    for k in ["ecr", "logs", "secret.db", "role.task", "cluster"] {
        assert!(
            specs.iter().find(|s| s.key == k).unwrap().deps.is_empty(),
            "{k} should have no dependency"
        );
    }
}

#[test]
fn adding_a_zone_replaces_nothing() {
    let two = config(&[
        ("nat_gateways", Value::str("per_az")),
        (
            "availability_zones",
            Value::string_list(["us-east-1a", "us-east-1b"]),
        ),
    ]);
    let three = config(&[
        ("nat_gateways", Value::str("per_az")),
        (
            "availability_zones",
            Value::string_list(["us-east-1a", "us-east-1b", "us-east-1c"]),
        ),
    ]);
    let st = ContainerService::new();
    let recorded = as_recorded(&st.desired_of(&two, &ctx()));
    let changes = plan(&*st.kinds(), &st.desired_of(&three, &ctx()), &recorded).unwrap();
    assert!(!changes.is_empty());
    for c in &changes {
        assert!(
            !matches!(c.action, Action::Replace | Action::Delete),
            "{}",
            c.describe()
        );
    }
    for k in [
        "subnet.public.us-east-1c",
        "subnet.private.us-east-1c",
        "nat.us-east-1c",
        "rtb.private.us-east-1c",
    ] {
        assert!(
            changes
                .iter()
                .any(|c| c.key == k && c.action == Action::Create),
            "{k} not created"
        );
    }
    assert!(st.validate_change_of(&two, &three).0.is_empty());
    // Reordering zones is caught at plan time.
    let swapped = config(&[(
        "availability_zones",
        Value::string_list(["us-east-1b", "us-east-1a"]),
    )]);
    assert!(st.validate_change_of(&two, &swapped).has_errors());
}

#[test]
fn scaling_and_new_image_update_in_place() {
    let st = ContainerService::new();
    let recorded = as_recorded(&st.desired_of(&config(&[]), &ctx()));
    let changes = plan(
        &*st.kinds(),
        &st.desired_of(&config(&[("desired_count", Value::Number(3.0))]), &ctx()),
        &recorded,
    )
    .unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}"); // service + manifest
    assert!(changes
        .iter()
        .any(|c| c.key == "service" && c.action == Action::Update));
    let changes = plan(
        &*st.kinds(),
        &st.desired_of(
            &config(&[("container_image", Value::str("nginx:1.27"))]),
            &ctx(),
        ),
        &recorded,
    )
    .unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c.key == "task" && c.action == Action::Replace),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c.key == "service" && c.action == Action::Update),
        "{changes:?}"
    );
    assert!(
        !changes
            .iter()
            .any(|c| c.key == "db" || c.key == "cache" || c.key == "alb"),
        "{changes:?}"
    );
}

#[test]
fn bad_inputs_point_at_their_attribute() {
    let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
        (
            vec![("project_name", Value::str("Kavak_Agent"))],
            "project_name",
        ),
        (vec![("env", Value::str("dev!"))], "env"),
        (vec![("profile", Value::str("prod"))], "profile"),
        (
            vec![
                ("cpu", Value::Number(256.0)),
                ("memory", Value::Number(4096.0)),
            ],
            "memory",
        ),
        (vec![("cpu", Value::Number(300.0))], "cpu"),
        (
            vec![
                ("cpu", Value::Number(1024.0)),
                ("memory", Value::Number(1024.0)),
            ],
            "memory",
        ),
        (
            vec![("db_engine_version", Value::str("fifteen"))],
            "db_engine_version",
        ),
        (
            vec![("redis_engine_version", Value::str("7.x.y"))],
            "redis_engine_version",
        ),
        (vec![("vpc_cidr", Value::str("10.0.0.0/8"))], "vpc_cidr"),
        (vec![("vpc_cidr", Value::str("10.0.0.0/26"))], "vpc_cidr"),
        (
            vec![(
                "public_subnet_cidrs",
                Value::string_list(["10.0.0.0/24", "10.1.0.0/24"]),
            )],
            "public_subnet_cidrs[1]",
        ),
        (
            vec![
                (
                    "public_subnet_cidrs",
                    Value::string_list(["10.0.0.0/24", "10.0.1.0/24"]),
                ),
                (
                    "private_subnet_cidrs",
                    Value::string_list(["10.0.0.0/25", "10.0.2.0/24"]),
                ),
            ],
            "private_subnet_cidrs[0]",
        ),
        (
            vec![("private_subnet_cidrs", Value::string_list(["10.0.10.0/24"]))],
            "private_subnet_cidrs",
        ),
        (
            vec![("desired_count", Value::Number(-1.0))],
            "desired_count",
        ),
        (vec![("desired_count", Value::Number(1.5))], "desired_count"),
        (
            vec![("health_check_path", Value::str("health"))],
            "health_check_path",
        ),
        (
            vec![("app_secrets", Value::string_list(["openai api key"]))],
            "app_secrets[0]",
        ),
        (
            vec![("app_secrets", Value::string_list(["a-b", "a_b"]))],
            "app_secrets[1]",
        ),
        (
            vec![("app_secrets", Value::string_list(["database-url"]))],
            "app_secrets[0]",
        ),
        (
            vec![(
                "app_secret_values",
                Value::Map(BTreeMap::from([("nope".to_string(), Value::str("x"))])),
            )],
            "app_secret_values[\"nope\"]",
        ),
        (
            vec![(
                "environment",
                Value::Map(BTreeMap::from([("1BAD".to_string(), Value::str("x"))])),
            )],
            "environment[\"1BAD\"]",
        ),
        (
            vec![(
                "environment",
                Value::Map(BTreeMap::from([(
                    "DATABASE_URL".to_string(),
                    Value::str("x"),
                )])),
            )],
            "environment[\"DATABASE_URL\"]",
        ),
        (
            vec![("availability_zones", Value::string_list(["us-east-1a"]))],
            "availability_zones",
        ),
        (
            vec![(
                "availability_zones",
                Value::string_list(["us-east-1a", "us-east-1a"]),
            )],
            "availability_zones[1]",
        ),
        (
            vec![("container_port", Value::Number(70000.0))],
            "container_port",
        ),
        (
            vec![("log_retention_days", Value::Number(10.0))],
            "log_retention_days",
        ),
        (
            vec![("certificate_arn", Value::str("not-an-arn"))],
            "certificate_arn",
        ),
        (
            vec![
                ("db_allocated_storage", Value::Number(50.0)),
                ("db_max_allocated_storage", Value::Number(30.0)),
            ],
            "db_max_allocated_storage",
        ),
        (vec![("db_username", Value::str("admin"))], "db_username"),
        (
            vec![("db_instance_class", Value::str("t4g.micro"))],
            "db_instance_class",
        ),
        (vec![("nat_gateways", Value::str("two"))], "nat_gateways"),
        (
            vec![("alb_ingress_cidrs", Value::string_list(["0.0.0.0/33"]))],
            "alb_ingress_cidrs[0]",
        ),
    ];
    for (extra, at) in cases {
        let c = config(&extra);
        let errs = errors_at(&c);
        assert!(
            errs.iter().any(|(p, _)| p == at),
            "{extra:?}: expected an error at {at}, got {errs:?}"
        );
    }
}

#[test]
fn secret_values_are_never_echoed_in_diagnostics() {
    let c = config(&[
        ("app_secrets", Value::string_list(["k"])),
        (
            "app_secret_values",
            Value::Map(BTreeMap::from([("k".to_string(), Value::str(""))])),
        ),
    ]);
    let d = crate::stacks::validated(&ContainerService::new(), &c);
    assert!(d.has_errors());
    let c = config(&[
        ("app_secrets", Value::string_list(["k"])),
        (
            "app_secret_values",
            Value::Map(BTreeMap::from([(
                "zz".to_string(),
                Value::str("hunter2-secret"),
            )])),
        ),
    ]);
    for diag in crate::stacks::validated(&ContainerService::new(), &c).0 {
        assert!(!diag.detail.contains("hunter2") && !diag.summary.contains("hunter2"));
    }
}

#[test]
fn names_fit_aws_limits() {
    assert_eq!(short_name("kavak-agent-dev-alb", 32), "kavak-agent-dev-alb");
    let long = short_name("a-very-long-project-name-production-alb", 32);
    assert!(long.len() <= 32, "{long}");
    assert_ne!(
        long,
        short_name("a-very-long-project-name-production-alc", 32)
    );
    assert!(fargate_memory_ok(256, 512).is_ok());
    assert!(fargate_memory_ok(512, 3072).is_ok());
    assert!(fargate_memory_ok(8192, 20480).is_ok());
    assert!(fargate_memory_ok(8192, 17408).is_err());
    assert_eq!(env_var_name("openai-api-key"), "OPENAI_API_KEY");
}

#[test]
fn an_existing_network_is_referenced_and_the_stack_builds_none_of_its_own() {
    let public = Value::string_list(["subnet-0a000000000000001", "subnet-0a000000000000002"]);
    let private = Value::string_list(["subnet-0b000000000000001", "subnet-0b000000000000002"]);
    let c = config(&[
        ("vpc_id", Value::str("vpc-0123456789abcdef0")),
        ("public_subnet_ids", public),
        ("private_subnet_ids", private),
    ]);
    assert!(errors_at(&c).is_empty(), "{:?}", errors_at(&c));
    let specs = ContainerService::new().desired_of(&c, &ctx());
    let kinds: BTreeSet<&str> = specs.iter().map(|s| s.kind).collect();
    for owned in [
        "ec2_vpc",
        "ec2_subnet",
        "ec2_internet_gateway",
        "ec2_nat_gateway",
        "ec2_route_table",
        "ec2_elastic_ip",
    ] {
        assert!(
            !kinds.contains(owned),
            "an existing network gets no {owned}"
        );
    }
    let vpc = specs.iter().find(|s| s.key == "vpc").unwrap();
    assert_eq!(
        (vpc.kind, vpc.input("id").as_str()),
        (network::EXISTING_VPC, Some("vpc-0123456789abcdef0"))
    );
    // Every consumer of the network still finds its dependencies.
    let alb = specs.iter().find(|s| s.key == "alb").unwrap();
    assert_eq!(
        alb.input("subnets"),
        &json!([
            "subnet.public.subnet-0a000000000000001",
            "subnet.public.subnet-0a000000000000002"
        ])
    );
    let db_subnets = specs.iter().find(|s| s.key == "db.subnets").unwrap();
    assert_eq!(
        db_subnets.input("subnets"),
        &json!([
            "subnet.private.subnet-0b000000000000001",
            "subnet.private.subnet-0b000000000000002"
        ])
    );
    assert!(topo_order(&specs).is_ok());
    crate::engine::needs::check(&crate::components::registry::all_kinds(), &specs)
        .expect("every kind gets what it needs");
    // The engine never deletes a referenced object, and refuses to swap it.
    let kinds_reg = all_kinds();
    assert!(
        kinds_reg.get(network::EXISTING_VPC).unwrap().referenced()
            && kinds_reg
                .get(network::EXISTING_SUBNET)
                .unwrap()
                .referenced()
    );
    let own = ContainerService::new().desired_of(&config(&[]), &ctx());
    let recorded = as_recorded(&own);
    let changes = plan(&kinds_reg, &specs, &recorded).unwrap();
    let refused = crate::engine::referenced_replacements(&kinds_reg, &specs, &recorded, &changes);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (refused[0].0.as_str(), refused[0].1),
        ("vpc", Some("vpc_id"))
    );
    let back = plan(&kinds_reg, &own, &as_recorded(&specs)).unwrap();
    assert_eq!(
        crate::engine::referenced_replacements(&kinds_reg, &own, &as_recorded(&specs), &back).len(),
        1,
        "existing → own is refused too"
    );
}

#[test]
fn an_existing_network_needs_all_three_ids_and_no_own_network_shape() {
    let only_vpc = config(&[("vpc_id", Value::str("vpc-0123456789abcdef0"))]);
    let e = errors_at(&only_vpc);
    assert!(
        e.iter().any(|(p, _)| p == "public_subnet_ids")
            && e.iter().any(|(p, _)| p == "private_subnet_ids"),
        "{e:?}"
    );
    let subnets_only = config(&[(
        "private_subnet_ids",
        Value::string_list(["subnet-0b000000000000001"]),
    )]);
    assert!(errors_at(&subnets_only)
        .iter()
        .any(|(p, s)| p == "private_subnet_ids" && s == "Missing vpc_id"));
    let mixed = config(&[
        ("vpc_id", Value::str("vpc-0123456789abcdef0")),
        (
            "public_subnet_ids",
            Value::string_list(["subnet-0a000000000000001", "not-a-subnet"]),
        ),
        (
            "private_subnet_ids",
            Value::string_list(["subnet-0b000000000000001"]),
        ),
        (
            "availability_zones",
            Value::string_list(["us-east-1a", "us-east-1b"]),
        ),
    ]);
    let e = errors_at(&mixed);
    assert!(e.iter().any(|(p, _)| p == "public_subnet_ids[1]"), "{e:?}");
    assert!(
        e.iter()
            .any(|(p, s)| p == "availability_zones" && s == "Conflicting arguments"),
        "{e:?}"
    );
    let bad_vpc = config(&[
        ("vpc_id", Value::str("sg-0123")),
        (
            "public_subnet_ids",
            Value::string_list(["subnet-0a000000000000001"]),
        ),
        (
            "private_subnet_ids",
            Value::string_list(["subnet-0b000000000000001"]),
        ),
    ]);
    assert!(errors_at(&bad_vpc)
        .iter()
        .any(|(p, s)| p == "vpc_id" && s == "Invalid VPC id"));
}

#[test]
fn a_write_only_secret_value_leaves_only_its_version_in_the_inputs() {
    let c = config(&[
        ("app_secrets", Value::string_list(["openai-api-key"])),
        (
            "app_secret_values_wo",
            Value::string_map([("openai-api-key", "sk-write-only")]),
        ),
        ("app_secret_values_wo_version", Value::Number(2.0)),
    ]);
    assert!(errors_at(&c).is_empty(), "{:?}", errors_at(&c));
    let specs = ContainerService::new().desired_of(&c, &ctx());
    let s = specs
        .iter()
        .find(|s| s.key == "secret.app.openai-api-key")
        .unwrap();
    assert_eq!(s.secret.as_deref(), Some("sk-write-only"));
    assert_eq!(s.input("value_version"), 2.0);
    assert!(
        s.inputs.get("value_sha256").is_none(),
        "not even a hash of a write-only value is recorded"
    );
    assert!(!s.inputs.to_string().contains("sk-write-only"));
    let manifest = specs.iter().find(|s| s.key == "manifest").unwrap();
    assert!(!manifest
        .input("value")
        .as_str()
        .unwrap()
        .contains("sk-write-only"));
    assert!(
        !manifest
            .input("value")
            .as_str()
            .unwrap()
            .contains("app_secret_values_wo\""),
        "write-only attributes stay out of the manifest"
    );
}

#[test]
fn a_task_definition_recorded_before_its_roles_were_slots_is_upgraded_to_no_change() {
    let st = ContainerService::new();
    let desired = st.desired_of(&config(&[]), &ctx());
    let mut recorded = as_recorded(&desired);
    let task = recorded.get_mut("task").unwrap();
    assert_eq!(
        (
            task.inputs["execution_role"].as_str(),
            task.inputs["task_role"].as_str()
        ),
        (Some("role.execution"), Some("role.task"))
    );
    // Private state version 1 named the roles in the dependencies only.
    for slot in ["execution_role", "task_role"] {
        task.inputs.as_object_mut().unwrap().remove(slot);
    }
    let changes = plan(&*st.kinds(), &desired, &recorded).unwrap();
    assert!(
        changes.iter().any(|c| c.key == "task"),
        "without the upgrade the new slots would be a change: {changes:?}"
    );
    crate::engine::upgrade(&st.kinds(), &mut recorded);
    crate::engine::upgrade(&st.kinds(), &mut recorded);
    assert_eq!(
        plan(&*st.kinds(), &desired, &recorded).unwrap(),
        vec![],
        "the upgrade plans nothing, and is idempotent"
    );
}

/// ECS refuses a service whose target group no listener uses yet: the
/// service comes after the listener that forwards to it, the HTTPS one
/// when there is a certificate (the HTTP one then only redirects).
#[test]
fn the_service_comes_after_the_listener_that_forwards_to_its_target_group() {
    let cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    for (c, forwarding) in [
        (config(&[]), "listener.http"),
        (
            config(&[("certificate_arn", Value::str(cert))]),
            "listener.https",
        ),
    ] {
        let specs = ContainerService::new().desired_of(&c, &ctx());
        let service = specs.iter().find(|s| s.key == "service").unwrap();
        assert!(
            service.deps.iter().any(|d| d.key == forwarding),
            "{forwarding}: {:?}",
            service.deps.iter().map(|d| &d.key).collect::<Vec<_>>()
        );
        let order = topo_order(&specs).unwrap();
        let at = |k: &str| order.iter().position(|x| x == k).unwrap();
        assert!(at(forwarding) < at("service"));
    }
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

/// The names hand-built objects keep (`adopt`): each dependent that names
/// one by its name follows it, and a plan over records holding the kept
/// names is empty (the move is not replaced on the next plan).
#[test]
fn kept_names_reach_every_dependent_that_names_them() {
    let st = ContainerService::new();
    let kinds = st.kinds();
    let kept: crate::engine::Kept = [
        ("db.subnets", "name", "kavak-agent-db-subnets"),
        ("cache.subnets", "name", "kavak-agent-redis-subnets"),
        ("secret.db", "name", "kavak-agent-database"),
        ("logs", "name", "/ecs/kavak-hand-app"),
        ("alb", "name", "kavak-hand-alb"),
        ("cluster", "name", "kavak-hand-cluster"),
        ("sg.alb", "name", "kavak-agent-alb-sg"),
    ]
    .iter()
    .map(|(k, f, v)| (k.to_string(), [(f.to_string(), v.to_string())].into()))
    .collect();
    let mut specs = st.desired_of(&config(&[]), &ctx());
    crate::engine::keep(&mut specs, &kinds, &kept);
    let input = |key: &str, field: &str| {
        specs.iter().find(|s| s.key == key).unwrap().inputs[field]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(input("db", "subnet_group"), "kavak-agent-db-subnets");
    assert_eq!(input("cache", "subnet_group"), "kavak-agent-redis-subnets");
    assert_eq!(
        input("db.connection", "secret_name"),
        "kavak-agent-database"
    );
    assert_eq!(input("listener.http", "load_balancer"), "kavak-hand-alb");
    assert_eq!(input("sg.alb", "name"), "kavak-agent-alb-sg");
    // What was not kept keeps the stack's name.
    assert_eq!(input("db", "identifier"), "kavak-agent-dev-db");
    assert_eq!(input("ecr", "name"), "kavak-agent-dev-app");
    let recorded = as_recorded(&specs);
    let mut again = st.desired_of(&config(&[]), &ctx());
    crate::engine::keep(&mut again, &kinds, &kept);
    assert!(plan(&*kinds, &again, &recorded).unwrap().is_empty());
}
