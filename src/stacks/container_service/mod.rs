//! `awsstack_container_service`: the container service of the Kavak seed
//! (ECS Fargate behind an ALB, RDS PostgreSQL, ElastiCache Redis, ECR,
//! Secrets Manager) as one resource.

pub mod config;
mod graph;
mod schema;
#[cfg(test)]
pub(crate) mod tests;

use crate::aws::AwsContext;
use crate::components::registry::all_kinds;
use crate::components::sha256_hex;
use crate::engine::{Desired, Kinds, Record, Spec};
use crate::schema::config::{Setting, ToValue};
use crate::schema::{validate as v, Diagnostics, Schema};
use crate::stacks::network::{self, NetworkHandles};
use crate::stacks::Stack;
use crate::value::{Path, Value};
use config::Config;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub struct ContainerService {
    schema: Schema,
    kinds: Arc<Kinds<AwsContext>>,
}

impl ContainerService {
    pub fn new() -> Self {
        ContainerService {
            schema: schema::schema(),
            kinds: Arc::new(all_kinds()),
        }
    }
}

impl Default for ContainerService {
    fn default() -> Self {
        Self::new()
    }
}

/// A name of at most `max` characters: `name` itself, or its start and a
/// short hash (load balancers and target groups allow 32, cache ids 40).
pub fn short_name(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let h = &sha256_hex(name)[..6];
    let head: String = name.chars().take(max - 7).collect();
    format!("{}-{h}", head.trim_end_matches('-'))
}

pub fn zones(c: &Config, region: &str) -> Vec<String> {
    let z = c.network.availability_zones.strings();
    if z.is_empty() {
        vec![format!("{region}a"), format!("{region}b")]
    } else {
        z
    }
}

/// The n-th block of `vpc` with `extra` more prefix bits (at most /28).
fn nth_block(vpc: &str, n: usize) -> Option<String> {
    let net = v::cidr(vpc).ok()?;
    let prefix = (net.prefix_len() + 8).min(28);
    net.subnets(prefix).ok()?.nth(n).map(|x| x.to_string())
}

/// (public, private) subnet CIDR blocks, one per zone.
pub fn subnet_cidrs(c: &Config, count: usize) -> (Vec<String>, Vec<String>) {
    let vpc = c.network.vpc_cidr.text();
    let public = match c.network.public_subnet_cidrs.strings() {
        l if !l.is_empty() => l,
        _ => (0..count).filter_map(|i| nth_block(vpc, i)).collect(),
    };
    let private = match c.network.private_subnet_cidrs.strings() {
        l if !l.is_empty() => l,
        _ => (0..count).filter_map(|i| nth_block(vpc, 10 + i)).collect(),
    };
    (public, private)
}

/// The stack's own network: a VPC, public and private subnets keyed by
/// zone (appending a zone adds, never replaces), an internet gateway, NAT
/// and route tables.
fn own_network(c: &Config, ctx: &AwsContext, g: &mut Desired) -> NetworkHandles {
    let zs = zones(c, &ctx.region);
    let (public_cidrs, private_cidrs) = subnet_cidrs(c, zs.len());
    let own = network::OwnNetwork {
        vpc_cidr: c.network.vpc_cidr.text(),
        zones: network::zone_blocks(&zs, &public_cidrs, &private_cidrs),
        nat: c
            .network
            .nat_gateways
            .known()
            .copied()
            .unwrap_or(network::NatGateways::Single),
        public_subnet_tags: vec![],
        private_subnet_tags: vec![],
        s3_endpoint: None,
    };
    network::add_own(g, &own).0
}

/// `openai-api-key` → `OPENAI_API_KEY`.
pub fn env_var_name(secret: &str) -> String {
    secret
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() {
                ch.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Fargate's CPU → accepted memory sizes (MiB).
pub fn fargate_memory_ok(cpu: i64, mem: i64) -> Result<(), String> {
    let (lo, hi, step): (i64, i64, i64) = match cpu {
        256 => {
            return if [512, 1024, 2048].contains(&mem) {
                Ok(())
            } else {
                Err(format!(
                    "Fargate accepts 512, 1024 or 2048 MiB with 256 CPU units, got {mem}"
                ))
            };
        }
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => {
            return Err(format!(
                "Fargate accepts 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units, got {cpu}"
            ))
        }
    };
    if mem < lo || mem > hi || (mem - lo) % step != 0 {
        return Err(format!(
            "Fargate accepts {lo} to {hi} MiB in steps of {step} with {cpu} CPU units, got {mem}"
        ));
    }
    Ok(())
}

/// Variables the stack sets itself and the user cannot override.
const RESERVED_ENV: &[&str] = &["DATABASE_URL", "REDIS_URL"];

/// The own network's blocks: the VPC, its zones, and subnets that fit it
/// without overlapping.
fn validate_network(c: &Config, d: &mut Diagnostics) {
    let n = &c.network;
    let vpc = n.vpc_cidr.as_str().map(|x| {
        (
            x,
            v::vpc_cidr(x).and_then(|net| {
                if net.prefix_len() > 24 {
                    Err(format!(
                        "the VPC must be /24 or larger to hold two subnets per zone, got /{}",
                        net.prefix_len()
                    ))
                } else {
                    Ok(net)
                }
            }),
        )
    });
    if let Some((_, Err(e))) = &vpc {
        d.error_at(Path::attr("vpc_cidr"), "Invalid VPC CIDR block", e.clone());
    }
    let mut n_zones = 2;
    if let Some(zs) = n.availability_zones.known() {
        n_zones = zs.len();
        if zs.len() < 2 {
            d.error_at(
                Path::attr("availability_zones"),
                "Too few availability zones",
                "a load balancer and a database subnet group need at least two availability zones",
            );
        }
        let mut seen = BTreeSet::new();
        for (i, z) in zs.iter().enumerate() {
            if let Some(z) = z.as_str() {
                if !seen.insert(z) {
                    d.error_at(
                        Path::attr("availability_zones").then_index(i),
                        "Duplicate availability zone",
                        format!("{z} is listed twice"),
                    );
                }
            }
        }
    }
    let mut all_nets: Vec<(Path, ipnet::Ipv4Net)> = vec![];
    for (attr, l) in [
        ("public_subnet_cidrs", &n.public_subnet_cidrs),
        ("private_subnet_cidrs", &n.private_subnet_cidrs),
    ] {
        let Some(l) = l.known() else { continue };
        if l.len() != n_zones && !n.availability_zones.is_unknown() {
            d.error_at(
                Path::attr(attr),
                "Wrong number of subnets",
                format!(
                    "{attr} needs one CIDR block per availability zone ({n_zones}), got {}",
                    l.len()
                ),
            );
        }
        for (i, x) in l.iter().enumerate() {
            let Some(x) = x.as_str() else { continue };
            let p = Path::attr(attr).then_index(i);
            match v::cidr(x) {
                Err(e) => d.error_at(p, "Invalid subnet CIDR block", e),
                Ok(net) if net.prefix_len() > 28 || net.prefix_len() < 16 => d.error_at(
                    p,
                    "Invalid subnet CIDR block",
                    format!(
                        "a subnet must be between /16 and /28, got /{}",
                        net.prefix_len()
                    ),
                ),
                Ok(net) => {
                    if let Some((vc, Ok(_))) = &vpc {
                        if let Err(e) = v::cidr_within(x, vc) {
                            d.error_at(p.clone(), "Subnet does not fit the VPC", e);
                        }
                    }
                    all_nets.push((p, net));
                }
            }
        }
    }
    for i in 0..all_nets.len() {
        for j in 0..i {
            let (a, b) = (&all_nets[i].1, &all_nets[j].1);
            if a.contains(&b.network()) || b.contains(&a.network()) {
                d.error_at(
                    all_nets[i].0.clone(),
                    "Overlapping subnets",
                    format!("{a} overlaps {b}"),
                );
            }
        }
    }
    if let Some((_, Ok(net))) = &vpc {
        if n.public_subnet_cidrs.is_unset() || n.private_subnet_cidrs.is_unset() {
            let room = 1usize << ((net.prefix_len() + 8).min(28) - net.prefix_len());
            if 10 + n_zones > room {
                d.error_at(
                    Path::attr("vpc_cidr"),
                    "VPC too small",
                    format!("{net} cannot hold the default subnets of {n_zones} zones; use a larger VPC or set public_subnet_cidrs and private_subnet_cidrs"),
                );
            }
        }
    }
}

/// CPU and memory that Fargate accepts together.
fn validate_fargate_size(c: &Config, d: &mut Diagnostics) {
    // Whole numbers within their schema ranges (the rules report the
    // others): what the cross-field check compares.
    let within =
        |s: &Setting<i64>, lo: i64, hi: i64| s.known().copied().filter(|n| (lo..=hi).contains(n));
    let cpu = within(&c.service.cpu, 256, 16384);
    let mem = within(&c.service.memory, 512, 122880);
    const CPUS: [i64; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];
    if let Some(cpu) = cpu {
        if let Err(e) =
            fargate_memory_ok(cpu, mem.unwrap_or(if cpu == 256 { 512 } else { i64::MAX }))
        {
            if mem.is_some() || !CPUS.contains(&cpu) {
                let at = if CPUS.contains(&cpu) { "memory" } else { "cpu" };
                d.error_at(Path::attr(at), "CPU and memory Fargate rejects", e);
            }
        }
    }
}

/// Application secrets, their values and the container's variables: each
/// variable set once, none of the stack's own.
fn validate_variables(c: &Config, d: &mut Diagnostics) {
    let s = &c.service;
    let secret_names: Vec<String> = s.app_secrets.strings();
    let mut env_names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, x) in secret_names.iter().enumerate() {
        let p = Path::attr("app_secrets").then_index(i);
        if x.is_empty()
            || x.len() > 128
            || !x
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "/_+=.@-".contains(ch))
        {
            d.error_at(p, "Invalid secret name", format!("{x:?}: Secrets Manager names use letters, digits and /_+=.@- (1-128 characters here)"));
            continue;
        }
        if x.ends_with('-')
            || x.len() > 6
                && x.as_bytes()[x.len() - 7] == b'-'
                && x[x.len() - 6..]
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric())
        {
            // Secrets Manager appends -XXXXXX to ARNs; a name ending like
            // that makes partial ARNs ambiguous.
            d.error_at(p, "Invalid secret name", format!("{x:?} ends with a hyphen followed by six characters, which Secrets Manager reserves for its ARN suffix"));
            continue;
        }
        let var = env_var_name(x);
        if RESERVED_ENV.contains(&var.as_str()) {
            d.error_at(
                p,
                "Reserved variable",
                format!("{x:?} would be injected as {var}, which the stack sets itself"),
            );
        } else if let Some(j) = env_names.insert(var.clone(), i) {
            d.error_at(
                p,
                "Duplicate secret variable",
                format!("{x:?} and app_secrets[{j}] both become the variable {var}"),
            );
        }
    }
    for (attr, values) in [
        ("app_secret_values", &s.app_secret_values),
        ("app_secret_values_wo", &s.app_secret_values_wo),
    ] {
        for (k, val) in values.entries() {
            if !secret_names.contains(k) && !s.app_secrets.is_unknown() {
                d.error_at(
                    Path::attr(attr).then_key(k),
                    "Unknown secret",
                    format!("{k:?} is not listed in app_secrets"),
                );
            }
            if let Some(x) = val.as_str() {
                if x.is_empty() || x.len() > 65536 {
                    // Never echo the value.
                    d.error_at(
                        Path::attr(attr).then_key(k),
                        "Invalid secret value",
                        "a secret value must be 1-65536 characters",
                    );
                }
            }
        }
    }
    for (k, _) in s.environment.entries() {
        let ok = v::is_identifier(k, 255)
            || k.starts_with('_')
                && k[1..]
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if !ok {
            d.error_at(
                Path::attr("environment").then_key(k),
                "Invalid variable name",
                format!("{k:?}: use letters, digits and '_', not starting with a digit"),
            );
        } else if RESERVED_ENV.contains(&k.as_str()) {
            d.error_at(
                Path::attr("environment").then_key(k),
                "Reserved variable",
                format!("{k} is set by the stack (from Secrets Manager or the cache endpoint)"),
            );
        } else if env_names.contains_key(k) {
            d.error_at(
                Path::attr("environment").then_key(k),
                "Variable set twice",
                format!("{k} is already injected from an app secret"),
            );
        }
    }
}

impl Stack for ContainerService {
    type Config = Config;
    fn type_name(&self) -> &'static str {
        "awsstack_container_service"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, c: &Config) -> Diagnostics {
        let mut d = Diagnostics::default();
        if let (Some(p), Some(e)) = (c.project_name.as_str(), c.env.as_str()) {
            // `<project>-<env>-db-credentials` and friends must stay within
            // the RDS identifier limit (63).
            if p.len() + e.len() > 48 {
                d.error_at(
                    Path::attr("env"),
                    "Name too long",
                    format!("project_name and env together are {} characters; keep them within 48 so that every AWS name fits", p.len() + e.len()),
                );
            }
        }
        validate_network(c, &mut d);
        validate_fargate_size(c, &mut d);
        validate_variables(c, &mut d);
        let db = &c.database;
        // Within their schema range (the rule reports the others).
        let within = |s: &Setting<i64>| s.known().copied().filter(|n| (20..=65536).contains(n));
        if let (Some(a), Some(m)) = (
            within(&db.allocated_storage),
            within(&db.max_allocated_storage),
        ) {
            if m < a {
                d.error_at(
                    Path::attr("db_max_allocated_storage"),
                    "Storage limit below the allocation",
                    format!("db_max_allocated_storage ({m}) must be at least db_allocated_storage ({a})"),
                );
            }
        }
        // The default database name (a rule checks a configured one).
        // (An unknown db_name may still turn out null: checked as unset.)
        if let (None, Some(p)) = (db.name.as_str(), c.project_name.as_str()) {
            if p.starts_with(|ch: char| ch.is_ascii_digit()) {
                d.error_at(
                    Path::attr("project_name"),
                    "Invalid default database name",
                    "the default database name comes from project_name, which starts with a digit; set db_name",
                );
            }
        }
        let n = &c.network;
        d.extend(crate::stacks::existing_network_diags(
            &crate::stacks::ExistingNetwork {
                vpc: ("vpc_id", &n.vpc_id),
                subnets: [
                    ("public_subnet_ids", &n.public_subnet_ids),
                    ("private_subnet_ids", &n.private_subnet_ids),
                ],
            },
            &[
                ("availability_zones", n.availability_zones.is_set()),
                ("public_subnet_cidrs", n.public_subnet_cidrs.is_set()),
                ("private_subnet_cidrs", n.private_subnet_cidrs.is_set()),
            ],
        ));
        d
    }

    fn aws_checks<'a>(
        &'a self,
        ctx: &'a Arc<AwsContext>,
        c: &'a Config,
    ) -> crate::stacks::BoxFuture<'a, Diagnostics> {
        Box::pin(async move {
            let known = |l: &Setting<Vec<Setting<String>>>| {
                l.known().is_some_and(|l| l.iter().all(|i| !i.is_unknown())) || l.is_unset()
            };
            let n = &c.network;
            let Some((vpc, public, private)) = c
                .existing_network()
                .filter(|_| known(&n.public_subnet_ids) && known(&n.private_subnet_ids))
            else {
                return Diagnostics::default();
            };
            let groups = [
                network::SubnetGroup {
                    attribute: "public_subnet_ids",
                    single: false,
                    ids: public,
                    role: network::Role::Public,
                    min_zones: 2,
                },
                network::SubnetGroup {
                    attribute: "private_subnet_ids",
                    single: false,
                    ids: private,
                    role: network::Role::Private,
                    min_zones: 2,
                },
            ];
            network::check(ctx, "vpc_id", vpc, &groups).await
        })
    }
    fn own_network_only(&self) -> Vec<(&'static str, &'static [&'static str])> {
        vec![("vpc_id", &["vpc_cidr", "nat_gateways"])]
    }
    fn network_zones(&self, c: &Config, provider_region: &str) -> Vec<crate::stacks::NetworkZones> {
        if c.existing_network().is_some() {
            return Vec::new();
        }
        let source = if c.network.availability_zones.is_unset() {
            network::ZoneSource::Default
        } else {
            network::ZoneSource::List
        };
        vec![crate::stacks::NetworkZones {
            region: provider_region.to_string(),
            attribute: "availability_zones",
            zones: zones(c, provider_region),
            source,
        }]
    }
    fn zones(&self, c: &Config) -> Vec<(Path, String)> {
        c.network
            .availability_zones
            .items()
            .iter()
            .enumerate()
            .filter_map(|(i, z)| {
                z.owned()
                    .map(|z| (Path::attr("availability_zones").then_index(i), z))
            })
            .collect()
    }
    fn validate_change(&self, prior: &Config, c: &Config) -> Diagnostics {
        let mut d = Diagnostics::default();
        if let (Some(old), Some(new)) = (
            prior.database.allocated_storage.known(),
            c.database.allocated_storage.known(),
        ) {
            if new < old {
                d.error_at(
                    Path::attr("db_allocated_storage"),
                    "Database storage cannot shrink",
                    format!("RDS storage can grow but not shrink: {old} GiB → {new} GiB. Keep {old} or more."),
                );
            }
        }
        let old_z = prior.network.availability_zones.strings();
        let new_z = c.network.availability_zones.strings();
        if !old_z.is_empty() && !new_z.is_empty() && !c.network.availability_zones.is_unknown() {
            for (i, z) in old_z.iter().enumerate() {
                if let Some(p) = new_z.iter().position(|x| x == z) {
                    if p != i && c.network.public_subnet_cidrs.is_unset() {
                        d.error_at(
                            Path::attr("availability_zones").then_index(p),
                            "Availability zones reordered",
                            format!("{z} moved from position {i} to {p}: its default subnet CIDR blocks follow the position, so its subnets would be replaced. Append new zones at the end."),
                        );
                        break;
                    }
                }
            }
        }
        d
    }

    fn stack_id(&self, c: &Config) -> String {
        c.stack_id()
    }

    fn tags(&self, c: &Config) -> BTreeMap<String, String> {
        let mut t = BTreeMap::from([
            ("project".to_string(), c.project_name.text().to_string()),
            ("env".to_string(), c.env.text().to_string()),
        ]);
        if let Some(o) = c.owner.as_str() {
            t.insert("owner".into(), o.to_string());
        }
        t
    }

    fn desired(&self, c: &Config, ctx: &AwsContext) -> Vec<Spec> {
        graph::build(c, ctx)
    }

    fn kinds(&self) -> Arc<Kinds<AwsContext>> {
        self.kinds.clone()
    }

    fn outputs(
        &self,
        c: &Config,
        ctx: &AwsContext,
        get: &dyn Fn(&str) -> Option<Record>,
    ) -> BTreeMap<&'static str, Value> {
        let id_of = |k: &str| get(k).map(|r| Value::str(r.id)).unwrap_or(Value::Unknown);
        let out_of = |k: &str, o: &str| {
            get(k)
                .map(|r| Value::str(r.out(o)))
                .unwrap_or(Value::Unknown)
        };
        let id = c.stack_id();
        let zs = zones(c, &ctx.region);
        let mut m = BTreeMap::new();
        m.insert("alb_dns_name", out_of("alb", "dns_name"));
        m.insert("alb_arn", id_of("alb"));
        m.insert("alb_zone_id", out_of("alb", "zone_id"));
        m.insert("target_group_arn", id_of("tg"));
        m.insert("ecs_cluster_name", Value::str(format!("{id}-cluster")));
        m.insert("ecs_service_name", Value::str(format!("{id}-app")));
        m.insert("task_definition_arn", id_of("task"));
        m.insert("log_group_name", Value::str(format!("/ecs/{id}-app")));
        m.insert("ecr_repository_url", out_of("ecr", "url"));
        let (addr, port) = (out_of("db", "address"), out_of("db", "port"));
        m.insert(
            "database_endpoint",
            match (addr.as_str(), port.as_str()) {
                (Some(a), Some(p)) => Value::str(format!("{a}:{p}")),
                _ => Value::Unknown,
            },
        );
        m.insert("database_address", addr);
        m.insert("database_secret_arn", id_of("secret.db"));
        let redis = out_of("cache", "address");
        m.insert(
            "redis_url",
            match (redis.as_str(), get("cache")) {
                (Some(a), Some(r)) => Value::str(format!("redis://{a}:{}/0", r.out("port"))),
                _ => Value::Unknown,
            },
        );
        m.insert("redis_endpoint", redis);
        // An existing network's ids are the configuration's, as given.
        let n = &c.network;
        let existing = match get("vpc") {
            Some(r) => r.kind == network::EXISTING_VPC,
            None => n.vpc_id.is_set(),
        };
        if existing {
            m.insert("vpc_id", n.vpc_id.to_value());
            m.insert("public_subnet_ids", n.public_subnet_ids.to_value());
            m.insert("private_subnet_ids", n.private_subnet_ids.to_value());
        } else {
            m.insert("vpc_id", id_of("vpc"));
            let ids = |prefix: &str| {
                let l: Vec<Value> = zs
                    .iter()
                    .map(|z| id_of(&format!("subnet.{prefix}.{z}")))
                    .collect();
                if l.iter().any(|x| x.is_unknown()) {
                    Value::Unknown
                } else {
                    Value::List(l)
                }
            };
            m.insert("public_subnet_ids", ids("public"));
            m.insert("private_subnet_ids", ids("private"));
        }
        m.insert("ecs_security_group_id", id_of("sg.ecs"));
        m.insert("alb_security_group_id", id_of("sg.alb"));
        let secrets: BTreeMap<String, Value> = c
            .service
            .app_secrets
            .strings()
            .into_iter()
            .map(|n| (n.clone(), id_of(&format!("secret.app.{n}"))))
            .collect();
        m.insert("app_secret_arns", Value::Map(secrets));
        m.insert("aws_region", Value::str(&ctx.region));
        m
    }

    fn check_destroy(&self, state: &Config) -> Diagnostics {
        let mut d = Diagnostics::default();
        if state.deletion_protection() {
            d.error_at(
                Path::attr("deletion_protection"),
                "Deletion protection is on",
                format!(
                    "the database of {} is protected (profile = {:?}). Nothing was deleted. To destroy the stack, set deletion_protection = false and apply first.",
                    state.stack_id(),
                    state.profile.known().map_or("", |p| p.as_str())
                ),
            );
        }
        d
    }

    fn restore_secrets<'a>(
        &'a self,
        ctx: &'a AwsContext,
        config: &'a mut Value,
    ) -> crate::stacks::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let typed = self.config(config);
            let Some(names) = typed
                .service
                .app_secret_values
                .known()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
            else {
                return Ok(());
            };
            let id = typed.stack_id();
            let mut restored = BTreeMap::new();
            for n in names {
                let o = ctx
                    .secrets()
                    .get_secret_value()
                    .secret_id(format!("{id}-{n}"))
                    .send()
                    .await
                    .map_err(|e| {
                        format!("reading secret {id}-{n}: {}", crate::aws::error_text(&e))
                    })?;
                restored.insert(n, Value::str(o.secret_string().unwrap_or_default()));
            }
            config.set_attr("app_secret_values", Value::Map(restored));
            Ok(())
        })
    }
}
