//! The platform's graph and validation, without AWS.

use super::*;
use crate::stacks::OnValues;

// The module's functions of a typed configuration, given the cty one.
fn typed(c: &Value) -> config::Config {
    MultiRegionPlatform::new().config(c)
}
fn validate_config(c: &Value) -> Diagnostics {
    super::validate_config(&typed(c))
}
fn components(c: &Value) -> Desired {
    super::components(&typed(c))
}
fn region_of(c: &Value, side: &str) -> String {
    super::region_of(&typed(c), side)
}
fn node_groups(c: &Value) -> Vec<NodeGroupConf> {
    super::node_groups(&typed(c))
}
fn user_password(c: &Value) -> bool {
    super::user_password(&typed(c))
}
use crate::schema::apply_defaults;
use crate::value::Value;
use std::collections::BTreeSet;

pub(crate) fn config(extra: &[(&str, Value)]) -> Value {
    let schema = schema::schema();
    let mut m = BTreeMap::new();
    m.insert("project_name".to_string(), Value::str("luneo"));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    let mut c = Value::Object(m);
    apply_defaults(&schema.block, &mut c);
    for a in &schema.block.attributes {
        if c.get(a.name).is_null() && !extra.iter().any(|(k, _)| *k == a.name) {
            c.set_attr(a.name, Value::Null);
        }
    }
    c
}

fn errors(c: &Value) -> Vec<(String, String)> {
    let mut d = crate::schema::rules::check(&schema::schema().block, c);
    d.extend(validate_config(c));
    d.0.into_iter()
        .filter(|d| d.severity == crate::schema::Severity::Error)
        .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.detail))
        .collect()
}

fn graph(c: &Value) -> BTreeMap<String, Spec> {
    components(c)
        .into_specs()
        .into_iter()
        .map(|s| (s.key.clone(), s))
        .collect()
}

#[test]
fn every_component_is_placed_in_its_region_and_depends_within_it() {
    let c = config(&[]);
    let g = graph(&c);
    for (k, s) in &g {
        let want = if k.starts_with("secondary/") {
            Some("us-east-1")
        } else if k.starts_with("primary/") || k.starts_with("global/db") {
            Some("eu-west-1")
        } else {
            None
        };
        assert_eq!(s.region.as_deref(), want, "{k}");
        for d in s.deps.iter().map(|d| &d.key) {
            assert!(
                g.contains_key(d),
                "{k} depends on {d}, which is not in the graph"
            );
        }
    }
    let specs: Vec<Spec> = g.values().cloned().collect();
    crate::engine::topo_order(&specs).expect("no cycle");
    crate::engine::needs::check(&crate::components::registry::all_kinds(), &specs)
        .expect("every kind gets what it needs");
    // Three zones, public and private, one NAT per region by default.
    for side in SIDES {
        assert_eq!(
            g.keys()
                .filter(|k| k.starts_with(&format!("{side}/subnet.")))
                .count(),
            6
        );
        assert_eq!(
            g.keys()
                .filter(|k| k.starts_with(&format!("{side}/nat.")))
                .count(),
            1
        );
        assert_eq!(
            g[&format!("{side}/subnet.public.{}a", region_of(&c, side))]
                .tags
                .get("kubernetes.io/role/elb")
                .map(String::as_str),
            Some("1")
        );
        assert_eq!(
            g[&format!("{side}/subnet.private.{}b", region_of(&c, side))]
                .tags
                .get(&format!("kubernetes.io/cluster/luneo-prod-eks-{side}"))
                .map(String::as_str),
            Some("shared")
        );
    }
    // The seed's pair of node groups in each region.
    assert_eq!(
        g["primary/nodes.ondemand"].str("capacity_type"),
        "ON_DEMAND"
    );
    assert_eq!(g["secondary/nodes.spot"].str("capacity_type"), "SPOT");
    // The secondary joins without credentials; the primary has them.
    assert!(g["secondary/db"].input("username").is_null() && g["secondary/db"].secret.is_none());
    assert_eq!(g["primary/db"].str("username"), "luneo_admin");
    assert!(
        g["primary/db"]
            .deps
            .iter()
            .any(|d| d.key == "primary/secret.db"),
        "a generated password"
    );
    // The secondary joins once the primary has its writer instance (an
    // order only: a new primary instance changes nothing of it).
    assert!(g["secondary/db"]
        .deps
        .iter()
        .any(|d| d.key == "primary/db.instance.1"
            && d.on_change == crate::engine::OnDepChange::Nothing));
    // No routing until both ingress hostnames exist.
    assert!(!g
        .keys()
        .any(|k| k.starts_with("global/dns") || k.starts_with("global/health")));
}

#[test]
fn the_writer_region_moves_the_primary_record_and_the_desired_sizes_only() {
    let with = |w: &str| {
        config(&[
            ("hosted_zone_id", Value::str("Z0123456789ABC")),
            ("record_name", Value::str("api.luneo.app")),
            (
                "primary_ingress_hostname",
                Value::str("p.elb.amazonaws.com"),
            ),
            (
                "secondary_ingress_hostname",
                Value::str("s.elb.amazonaws.com"),
            ),
            ("writer_region", Value::str(w)),
        ])
    };
    let (a, b) = (graph(&with("eu-west-1")), graph(&with("us-east-1")));
    assert_eq!(a["global/dns.primary"].str("value"), "p.elb.amazonaws.com");
    assert_eq!(b["global/dns.primary"].str("value"), "s.elb.amazonaws.com");
    assert_eq!(b["global/dns.primary"].str("check"), "health.secondary");
    assert_eq!(b["global/db.writer"].str("writer_region"), "us-east-1");
    let changed: Vec<&String> = a.keys().filter(|k| a[*k].inputs != b[*k].inputs).collect();
    assert_eq!(
        changed,
        vec!["global/db.writer", "global/dns.primary", "global/dns.secondary", "primary/nodes.spot", "secondary/nodes.spot"],
        "nothing else changes with the writer (the default on-demand group runs its minimum in both regions)"
    );
}

#[test]
fn a_node_group_is_renamed_only_by_what_forces_a_new_one() {
    let g = |types: &[&str], max: f64| {
        let mut b = BTreeMap::new();
        b.insert("name".to_string(), Value::str("gpu"));
        b.insert(
            "instance_types".to_string(),
            Value::string_list(types.iter().copied()),
        );
        b.insert("max_size".to_string(), Value::Number(max));
        let c = config(&[("node_group", Value::List(vec![Value::Object(b)]))]);
        node_groups(&c)[0].aws_name("luneo-prod")
    };
    assert_eq!(g(&["g5.xlarge"], 3.0), g(&["g5.xlarge"], 5.0));
    assert_ne!(g(&["g5.xlarge"], 3.0), g(&["g5.2xlarge"], 3.0));
    assert!(g(&["g5.xlarge"], 3.0).starts_with("luneo-prod-gpu-"));
}

#[test]
fn subnets_fit_the_vpc_without_overlap() {
    let (private, public) = subnet_cidrs("10.10.0.0/16");
    assert_eq!(
        private,
        vec!["10.10.0.0/19", "10.10.32.0/19", "10.10.64.0/19"]
    );
    assert_eq!(
        public,
        vec!["10.10.128.0/22", "10.10.132.0/22", "10.10.136.0/22"]
    );
    let (private, public) = subnet_cidrs("10.1.16.0/20");
    assert_eq!((private.len(), public.len()), (3, 3));
}

#[test]
fn bad_input_is_refused_on_its_attribute() {
    let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
        (
            vec![("secondary_region", Value::str("eu-west-1"))],
            "secondary_region",
        ),
        (
            vec![("primary_region", Value::str("mars-1"))],
            "primary_region",
        ),
        (
            vec![("secondary_vpc_cidr", Value::str("10.10.128.0/17"))],
            "secondary_vpc_cidr",
        ),
        (
            vec![("primary_vpc_cidr", Value::str("10.0.0.0/8"))],
            "primary_vpc_cidr",
        ),
        (
            vec![("kubernetes_version", Value::str("1.x"))],
            "kubernetes_version",
        ),
        (
            vec![("db_engine_version", Value::str("fifteen"))],
            "db_engine_version",
        ),
        (
            vec![("db_secondary_instance_count", Value::Number(0.0))],
            "db_secondary_instance_count",
        ),
        (
            vec![("db_primary_instance_class", Value::str("r6g.large"))],
            "db_primary_instance_class",
        ),
        (
            vec![
                ("hosted_zone_id", Value::str("zone-1")),
                ("record_name", Value::str("api.luneo.app")),
            ],
            "hosted_zone_id",
        ),
        (
            vec![("primary_ingress_hostname", Value::str("not a host"))],
            "primary_ingress_hostname",
        ),
        (
            vec![("health_check_path", Value::str("health"))],
            "health_check_path",
        ),
        (
            vec![("health_check_failure_threshold", Value::Number(11.0))],
            "health_check_failure_threshold",
        ),
        (
            vec![("writer_region", Value::str("ap-south-1"))],
            "writer_region",
        ),
        (
            vec![(
                "primary_availability_zones",
                Value::string_list(["us-east-1a", "us-east-1b", "us-east-1c"]),
            )],
            "primary_availability_zones[0]",
        ),
    ];
    for (extra, path) in cases {
        let e = errors(&config(&extra));
        assert!(e.iter().any(|(p, _)| p == path), "{path}: {e:?}");
    }
    let mut b = BTreeMap::new();
    b.insert("name".to_string(), Value::str("gpu"));
    b.insert(
        "instance_types".to_string(),
        Value::string_list(["g5 xlarge"]),
    );
    b.insert("min_size".to_string(), Value::Number(3.0));
    b.insert("desired_size".to_string(), Value::Number(2.0));
    b.insert("max_size".to_string(), Value::Number(5.0));
    b.insert("capacity_type".to_string(), Value::str("RESERVED"));
    let e = errors(&config(&[(
        "node_group",
        Value::List(vec![Value::Object(b)]),
    )]));
    for path in [
        "node_group[0].instance_types[0]",
        "node_group[0].desired_size",
        "node_group[0].capacity_type",
    ] {
        assert!(e.iter().any(|(p, _)| p == path), "{path}: {e:?}");
    }
    assert!(
        errors(&config(&[])).is_empty(),
        "{:?}",
        errors(&config(&[]))
    );
}

#[test]
fn upgrades_go_one_minor_version_at_a_time_and_engine_upgrades_are_refused() {
    let p = MultiRegionPlatform::new();
    let at = |v: &str, db: &str| {
        config(&[
            ("kubernetes_version", Value::str(v)),
            ("db_engine_version", Value::str(db)),
        ])
    };
    let paths = |d: Diagnostics| {
        d.0.into_iter()
            .map(|d| d.path.map(|p| p.to_string()).unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert!(paths(p.validate_change_of(&at("1.29", "15.4"), &at("1.30", "15.4"))).is_empty());
    assert_eq!(
        paths(p.validate_change_of(&at("1.29", "15.4"), &at("1.31", "15.4"))),
        vec!["kubernetes_version"]
    );
    assert_eq!(
        paths(p.validate_change_of(&at("1.30", "15.4"), &at("1.29", "15.4"))),
        vec!["kubernetes_version"]
    );
    assert_eq!(
        paths(p.validate_change_of(&at("1.29", "15.4"), &at("1.29", "16.1"))),
        vec!["db_engine_version"]
    );
}

#[test]
fn a_write_only_master_password_leaves_only_its_version() {
    let c = config(&[
        ("db_master_password_wo", Value::str("Wr1te-0nly-pass")),
        ("db_master_password_wo_version", Value::Number(3.0)),
    ]);
    assert!(errors(&c).is_empty(), "{:?}", errors(&c));
    let g = graph(&c);
    let member = &g["primary/db"];
    assert_eq!(member.secret.as_deref(), Some("Wr1te-0nly-pass"));
    assert_eq!(member.input("password_version"), 3.0);
    assert!(
        member.input("password_sha256").is_null(),
        "not even a hash of a write-only password is recorded"
    );
    assert!(
        !g.contains_key("primary/secret.db"),
        "the user's password: no generated secret"
    );
    assert!(!member.inputs.to_string().contains("Wr1te-0nly-pass"));
    assert!(
        !crate::stacks::manifest_json(&schema::schema(), &c).contains("Wr1te-0nly-pass"),
        "nor in the import manifest"
    );
    // What Terraform keeps (the plan, without the value) decides the same
    // outputs: no generated secret to name.
    let mut planned = c.clone();
    planned.set_attr("db_master_password_wo", Value::Null);
    assert!(user_password(&planned));
    let bad = config(&[
        ("db_master_password_wo", Value::str("short")),
        ("db_master_password_wo_version", Value::Number(1.0)),
    ]);
    assert!(errors(&bad)
        .iter()
        .any(|(p, d)| p == "db_master_password_wo" && !d.contains("short")));
}

#[test]
fn a_region_in_an_existing_network_references_it_and_owns_nothing_of_it() {
    let ids = |xs: &[&str]| Value::string_list(xs.iter().map(|x| x.to_string()));
    let c = config(&[
        ("secondary_vpc_id", Value::str("vpc-0a000000000000001")),
        (
            "secondary_public_subnet_ids",
            ids(&["subnet-0a000000000000001", "subnet-0a000000000000002"]),
        ),
        (
            "secondary_private_subnet_ids",
            ids(&["subnet-0a000000000000003", "subnet-0a000000000000004"]),
        ),
    ]);
    assert!(errors(&c).is_empty(), "{:?}", errors(&c));
    let g = graph(&c);
    let kinds_in = |side: &str| {
        g.iter()
            .filter(|(k, _)| k.starts_with(&format!("{side}/")))
            .map(|(_, s)| s.kind)
            .collect::<BTreeSet<_>>()
    };
    // The secondary region creates no network object and references the
    // team's; the primary keeps its own network.
    for owned in [
        "ec2_vpc",
        "ec2_subnet",
        "ec2_internet_gateway",
        "ec2_nat_gateway",
        "ec2_elastic_ip",
        "ec2_route_table",
        "ec2_vpc_endpoint",
    ] {
        assert!(
            !kinds_in("secondary").contains(owned),
            "secondary creates a {owned}"
        );
        assert!(
            kinds_in("primary").contains(owned),
            "primary lacks its {owned}"
        );
    }
    assert_eq!(g["secondary/vpc"].kind, network::EXISTING_VPC);
    assert_eq!(g["secondary/vpc"].region.as_deref(), Some("us-east-1"));
    let subnet = &g["secondary/subnet.private.subnet-0a000000000000003"];
    assert_eq!(
        (subnet.kind, subnet.region.as_deref()),
        (network::EXISTING_SUBNET, Some("us-east-1"))
    );
    assert!(
        subnet.deps.iter().any(|d| d.key == "secondary/vpc"),
        "scoped with its dependencies: {:?}",
        subnet.deps
    );
    // The cluster, its nodes and the database sit in the given subnets.
    let private = [
        "subnet.private.subnet-0a000000000000003",
        "subnet.private.subnet-0a000000000000004",
    ];
    assert_eq!(
        strings_of(g["secondary/db.subnets"].input("subnets")),
        private
    );
    assert_eq!(
        strings_of(g["secondary/nodes.ondemand"].input("subnets")),
        private
    );
    assert_eq!(strings_of(g["secondary/cluster"].input("subnets")).len(), 4);
    // The team's subnets are shared: the database admits the cluster's
    // security group, not their blocks; the primary keeps its block rule.
    let rule = &g["secondary/sg.db"].input("rules")[0];
    assert_eq!(
        (rule["source"].as_str(), rule["cidrs"].is_null()),
        (Some("cluster"), true)
    );
    assert!(g["secondary/sg.db"]
        .deps
        .iter()
        .any(|d| d.key == "secondary/cluster"));
    assert!(g["primary/sg.db"].input("rules")[0]["source"].is_null());
    let specs: Vec<Spec> = g.values().cloned().collect();
    crate::engine::topo_order(&specs).expect("every dependency exists, no cycle");
    crate::engine::needs::check(&crate::components::registry::all_kinds(), &specs)
        .expect("every kind gets what it needs");
}

#[test]
fn an_existing_network_needs_its_subnets_and_no_zones_of_its_own() {
    let c = config(&[
        ("primary_vpc_id", Value::str("vpc-0a000000000000001")),
        (
            "primary_availability_zones",
            Value::string_list(["eu-west-1a".to_string()]),
        ),
    ]);
    let d = crate::stacks::validated(&MultiRegionPlatform::new(), &c);
    let at: Vec<String> =
        d.0.iter()
            .filter_map(|x| x.path.as_ref().map(|p| p.to_string()))
            .collect();
    for a in [
        "primary_public_subnet_ids",
        "primary_private_subnet_ids",
        "primary_availability_zones",
    ] {
        assert!(at.iter().any(|p| p == a), "no error at {a}: {at:?}");
    }
    let c = config(&[(
        "secondary_private_subnet_ids",
        Value::string_list(["subnet-0a000000000000003".to_string()]),
    )]);
    let d = crate::stacks::validated(&MultiRegionPlatform::new(), &c);
    assert!(
        d.0.iter().any(|x| x.summary == "Missing secondary_vpc_id"),
        "{:?}",
        d.0
    );
}

fn strings_of(j: &serde_json::Value) -> Vec<String> {
    j.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

#[test]
fn moving_a_live_region_into_an_existing_network_is_refused_on_its_vpc_attribute() {
    // The stack as applied with its own network in both regions.
    let recorded: Records = graph(&config(&[]))
        .into_iter()
        .map(|(k, s)| {
            let mut r = crate::engine::Record::new(s.kind, format!("id-{k}"), s.inputs.clone());
            r.region = s.region.clone();
            (k, r)
        })
        .collect();
    let ids = |xs: &[&str]| Value::string_list(xs.iter().map(|x| x.to_string()));
    let moved = config(&[
        ("primary_vpc_id", Value::str("vpc-0a000000000000001")),
        (
            "primary_public_subnet_ids",
            ids(&["subnet-0a000000000000001", "subnet-0a000000000000002"]),
        ),
        (
            "primary_private_subnet_ids",
            ids(&["subnet-0a000000000000003", "subnet-0a000000000000004"]),
        ),
    ]);
    let desired: Vec<Spec> = graph(&moved).into_values().collect();
    let kinds = crate::components::registry::all_kinds();
    let changes = crate::engine::plan(&kinds, &desired, &recorded).unwrap();
    let refused = crate::engine::referenced_replacements(&kinds, &desired, &recorded, &changes);
    let vpc = refused
        .iter()
        .find(|(k, _, _)| k == "primary/vpc")
        .unwrap_or_else(|| panic!("not refused: {refused:?}"));
    assert_eq!(vpc.1, Some("primary_vpc_id"));
    assert!(
        vpc.2.contains("the stack's own (id-primary/vpc)"),
        "{}",
        vpc.2
    );
    // The secondary keeps its own network: nothing of it is refused.
    assert!(
        refused.iter().all(|(k, _, _)| k.starts_with("primary/")),
        "{refused:?}"
    );
}

#[test]
fn the_manifest_is_kept_in_both_regions_keyed_by_side_whatever_the_providers_region() {
    let c = config(&[]);
    let stack = MultiRegionPlatform::new();
    let placed = |provider: &str| -> Vec<(String, Option<String>)> {
        let ctx = crate::aws::AwsContext::offline(provider, "123456789012");
        stack
            .desired_of(&c, &ctx)
            .into_iter()
            .filter(|s| s.key.ends_with("manifest"))
            .map(|s| (s.key, s.region))
            .collect()
    };
    assert_eq!(
        placed("eu-west-1"),
        [
            ("manifest".to_string(), None),
            (
                "secondary/manifest".to_string(),
                Some("us-east-1".to_string())
            ),
        ],
        "a provider of the primary region: its manifest recorded as before"
    );
    assert_eq!(
        placed("us-east-1"),
        [
            ("manifest".to_string(), Some("eu-west-1".to_string())),
            ("secondary/manifest".to_string(), None),
        ]
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
