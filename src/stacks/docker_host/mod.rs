//! `awsstack_docker_host`: the single-box Docker host of the Kauri, Harena
//! and KoproGo seeds, as one resource.

pub mod config;
mod graph;
mod schema;
#[cfg(test)]
pub(crate) mod tests;
mod user_data;

use crate::aws::AwsContext;
use crate::components::ec2::{sort_rules, IngressRule};
use crate::components::registry::all_kinds;
use crate::engine::{Kinds, Record, Spec};
use crate::schema::{validate as v, Diagnostics, Schema};
use crate::stacks::network;
use crate::stacks::Stack;
use crate::value::{Path, Value};
use config::Config;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use user_data::render as render_user_data;

/// EC2's limit on user data, in bytes before base64.
pub const USER_DATA_LIMIT: usize = 16 * 1024;
/// A region name as long as any (the user data names its region once):
/// validation, which does not know the region yet, sizes the worst case.
const LONGEST_REGION: &str = "ap-southeast-7";

/// A compose file's content (not its name), that the user data can carry.
fn compose_file(x: &str) -> Result<(), String> {
    let t = x.trim();
    if t.is_empty() {
        return Err("the compose file is empty".into());
    }
    if !t.contains('\n') && !t.contains(':') && (t.ends_with(".yml") || t.ends_with(".yaml")) {
        return Err(format!("{t:?} looks like a file name: compose_file takes the file's content, e.g. compose_file = file(\"{t}\")"));
    }
    if x.lines().any(|l| l.trim() == user_data::COMPOSE_EOF) {
        return Err(format!(
            "a line of the compose file is {:?}, which the user data uses to end it",
            user_data::COMPOSE_EOF
        ));
    }
    Ok(())
}

/// Ports that are databases or caches: never open to the internet unless
/// the user says so explicitly.
pub const DATABASE_PORTS: &[u16] = &[
    1433, 1521, 3306, 5432, 5984, 6379, 7474, 8086, 9042, 9200, 9300, 11211, 27017, 28015,
];

pub struct DockerHost {
    schema: Schema,
    kinds: Arc<Kinds<AwsContext>>,
}

impl DockerHost {
    pub fn new() -> Self {
        DockerHost {
            schema: schema::schema(),
            kinds: Arc::new(all_kinds()),
        }
    }
}

impl Default for DockerHost {
    fn default() -> Self {
        Self::new()
    }
}

/// The public subnet: `public_subnet_cidr`, or the first half of the VPC.
pub fn subnet_cidr(c: &Config) -> String {
    if let Some(x) = c.network.public_subnet_cidr.as_str() {
        return x.to_string();
    }
    match v::cidr(c.network.vpc_cidr.text()) {
        Ok(net) if net.prefix_len() < 28 => net
            .subnets(net.prefix_len() + 1)
            .ok()
            .and_then(|mut i| i.next())
            .map(|n| n.to_string())
            .unwrap_or_else(|| net.to_string()),
        Ok(net) => net.to_string(),
        Err(_) => String::new(),
    }
}

pub fn bucket_name_of(c: &Config, ctx: &AwsContext) -> String {
    match c.data.bucket_name.as_str() {
        Some(b) => b.to_string(),
        None => format!(
            "{}-{}",
            c.stack_id(),
            if ctx.account_id.is_empty() {
                "data".to_string()
            } else {
                ctx.account_id.clone()
            }
        ),
    }
}

/// Budgets as (suffix, limit, filter by project).
fn budgets(c: &Config) -> Vec<(String, f64, bool)> {
    if c.watch.enable_budgets.known() == Some(&false) {
        return vec![];
    }
    let blocks = c.watch.budgets.known().map(Vec::as_slice).unwrap_or(&[]);
    if blocks.is_empty() {
        return vec![
            ("global".into(), 30.0, false),
            (c.project_name.value(), 18.0, true),
        ];
    }
    blocks
        .iter()
        .map(|b| {
            (
                b.name.value(),
                b.monthly_limit_usd.value(),
                b.filter_by_project.value(),
            )
        })
        .collect()
}

fn security_rules(c: &Config) -> Vec<IngressRule> {
    let mut rules = vec![];
    let mut http = c.access.http_ingress_cidrs.strings();
    if !http.is_empty() {
        http.sort();
        rules.push(IngressRule::tcp_from_cidrs(80, http.clone(), "HTTP"));
        rules.push(IngressRule::tcp_from_cidrs(443, http, "HTTPS"));
    }
    let mut ssh = c.access.ssh_ingress_cidrs.strings();
    if !ssh.is_empty() {
        ssh.sort();
        rules.push(IngressRule::tcp_from_cidrs(22, ssh, "SSH"));
    }
    for p in c.access.ports.known().into_iter().flatten() {
        let port = p.port.value() as i64;
        let mut cidrs = p.cidr_blocks.strings();
        cidrs.sort();
        let rule = IngressRule::tcp_from_cidrs(port, cidrs, p.description.text());
        rules.push(IngressRule {
            protocol: p.protocol.value(),
            ..rule
        });
    }
    sort_rules(&mut rules);
    rules
}

fn ssm_names(c: &Config) -> Vec<String> {
    let s = &c.secrets;
    let mut names: Vec<String> = s
        .ssm_parameters
        .entries()
        .map(|(k, _)| k.clone())
        .chain(s.ssm_parameters_wo.entries().map(|(k, _)| k.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn param_arn(ctx: &AwsContext, c: &Config, name: &str) -> String {
    format!(
        "arn:aws:ssm:{}:{}:parameter/{}/{}",
        ctx.region,
        ctx.account_id,
        c.project_name.text(),
        name
    )
}

/// The extra ports: each opened once, none of the stack's own, each to
/// CIDR blocks, and database ports open to the internet only on request.
fn validate_ports(c: &Config, d: &mut Diagnostics) {
    let allow_db = c.access.allow_public_database_ports.known() == Some(&true);
    let mut seen: BTreeMap<(u16, String), usize> = BTreeMap::new();
    for reserved in [80u16, 443] {
        seen.insert((reserved, "tcp".into()), usize::MAX);
    }
    if !c.access.ssh_ingress_cidrs.items().is_empty() {
        seen.insert((22, "tcp".into()), usize::MAX);
    }
    for (i, p) in c.access.ports.known().into_iter().flatten().enumerate() {
        let base = Path::attr("port").then_index(i);
        let proto = p.protocol.as_str().unwrap_or("tcp").to_string();
        // A valid port (the schema's rule reports the others).
        let port = p.port.known().and_then(|n| v::port(*n).ok());
        if let Some(n) = port {
            if let Some(prev) = seen.insert((n, proto.clone()), i) {
                let why = if prev == usize::MAX {
                    "it is managed by the stack (80/443 via http_ingress_cidrs, 22 via ssh_ingress_cidrs)".to_string()
                } else {
                    format!("port[{prev}] opens it already")
                };
                d.error_at(
                    base.then_attr("port"),
                    "Duplicate port",
                    format!("port {n}/{proto} is opened twice: {why}"),
                );
            }
        }
        let cidrs = p.cidr_blocks.items();
        if cidrs.is_empty() && !p.cidr_blocks.is_unknown() {
            d.error_at(
                base.then_attr("cidr_blocks"),
                "No CIDR blocks",
                "each port must list the CIDR blocks allowed to reach it",
            );
        }
        for (j, x) in cidrs.iter().enumerate() {
            let Some(x) = x.as_str() else { continue };
            let at = base.then_attr("cidr_blocks").then_index(j);
            if let Err(e) = v::cidr(x) {
                d.error_at(at, "Invalid CIDR block", e);
            } else if let Some(n) = port.filter(|n| x == "0.0.0.0/0" && DATABASE_PORTS.contains(n))
            {
                if allow_db {
                    d.warning_at(at, "Database port open to the internet", format!("port {n} is a database/cache port and is opened to 0.0.0.0/0 because allow_public_database_ports = true. Prefer an SSM tunnel or a restricted CIDR."));
                } else {
                    d.error_at(
                        at,
                        "Database port open to the internet",
                        format!("port {n} is a database/cache port; opening it to 0.0.0.0/0 is refused. Restrict the CIDR blocks, or set allow_public_database_ports = true if you really mean it."),
                    );
                }
            }
        }
    }
}

impl Stack for DockerHost {
    type Config = Config;
    fn type_name(&self) -> &'static str {
        "awsstack_docker_host"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, c: &Config) -> Diagnostics {
        let mut d = Diagnostics::default();
        let n = &c.network;
        // An existing network is both ids.
        for ((a, set), (other, given)) in [
            (("vpc_id", &n.vpc_id), ("subnet_id", &n.subnet_id)),
            (("subnet_id", &n.subnet_id), ("vpc_id", &n.vpc_id)),
        ] {
            if set.known().is_some() && given.is_unset() {
                d.error_at(Path::attr(other), "Missing argument", format!("{a} places the host in an existing network: set {other} too (the subnet of the host, in that VPC)"));
            }
        }
        let vpc = n.vpc_cidr.as_str().map(v::vpc_cidr);
        if let Some(Err(e)) = &vpc {
            d.error_at(Path::attr("vpc_cidr"), "Invalid VPC CIDR block", e.clone());
        }
        if let Some(x) = n.public_subnet_cidr.as_str() {
            match v::cidr(x) {
                Err(e) => d.error_at(
                    Path::attr("public_subnet_cidr"),
                    "Invalid subnet CIDR block",
                    e,
                ),
                Ok(net) => {
                    if net.prefix_len() > 28 {
                        d.error_at(
                            Path::attr("public_subnet_cidr"),
                            "Invalid subnet CIDR block",
                            format!("a subnet must be /28 or larger, got /{}", net.prefix_len()),
                        );
                    }
                    if let (Some(Ok(_)), Some(vc)) = (&vpc, n.vpc_cidr.as_str()) {
                        if let Err(e) = v::cidr_within(x, vc) {
                            d.error_at(
                                Path::attr("public_subnet_cidr"),
                                "Subnet does not fit the VPC",
                                e,
                            );
                        }
                    }
                }
            }
        }
        validate_ports(c, &mut d);
        // The default bucket name (a rule checks a configured one).
        if let (None, Some(p), Some(e)) = (
            c.data.bucket_name.as_str(),
            c.project_name.as_str(),
            c.environment.as_str(),
        ) {
            if p.len() + e.len() + 14 > 63 {
                d.error_at(
                    Path::attr("environment"),
                    "Name too long",
                    "project_name and environment are too long for the default bucket name (<project>-<environment>-<account id>, 63 characters); shorten them or set bucket_name",
                );
            }
        }
        for (attr, values, value_path) in [
            ("ssm_parameters", &c.secrets.ssm_parameters, Some("value")),
            ("ssm_parameters_wo", &c.secrets.ssm_parameters_wo, None),
        ] {
            for (k, value) in values.entries() {
                if let Err(e) = v::ssm_parameter_name(k) {
                    d.error_at(Path::attr(attr).then_key(k), "Invalid parameter name", e);
                }
                let at = match value_path {
                    Some(inner) => Path::attr(attr).then_key(k).then_attr(inner),
                    None => Path::attr(attr).then_key(k),
                };
                if let Some(x) = value.as_str() {
                    if x.is_empty() || x.len() > 4096 {
                        // Never echo the value: it is a secret.
                        d.error_at(
                            at,
                            "Invalid parameter value",
                            "an SSM parameter value must be 1-4096 characters",
                        );
                    }
                }
            }
        }
        if let Some(x) = c.host.compose_file.as_str() {
            if let Err(e) = compose_file(x) {
                d.error_at(Path::attr("compose_file"), "Invalid compose file", e);
            } else if !c.data.data_directories.is_unknown() && !c.project_name.is_unknown() {
                // EC2 refuses user data over 16 KB at RunInstances: refuse
                // it here, before any sub-resource exists.
                let n = user_data::render(c, LONGEST_REGION).len();
                if n > USER_DATA_LIMIT {
                    d.error_at(Path::attr("compose_file"), "Compose file too large", format!("the host's user data would be {n} bytes with this compose file; EC2 accepts at most {USER_DATA_LIMIT}. Keep large files in the stack's bucket and fetch them at boot."));
                }
            }
        }
        d
    }

    fn own_network_only(&self) -> Vec<(&'static str, &'static [&'static str])> {
        vec![(
            "vpc_id",
            &["vpc_cidr", "public_subnet_cidr", "availability_zone"],
        )]
    }
    /// Unset, AWS picks the subnet's zone: only a configured one is checked.
    fn network_zones(&self, c: &Config, provider_region: &str) -> Vec<crate::stacks::NetworkZones> {
        match (
            c.network.subnet_id.as_str(),
            c.network.availability_zone.as_str(),
        ) {
            (None, Some(z)) => vec![crate::stacks::NetworkZones {
                region: provider_region.to_string(),
                attribute: "availability_zone",
                zones: vec![z.to_string()],
                source: network::ZoneSource::Single,
            }],
            _ => Vec::new(),
        }
    }
    fn zones(&self, c: &Config) -> Vec<(Path, String)> {
        c.network
            .availability_zone
            .owned()
            .map(|z| (Path::attr("availability_zone"), z))
            .into_iter()
            .collect()
    }
    fn validate_change(&self, prior: &Config, c: &Config) -> Diagnostics {
        let mut d = Diagnostics::default();
        if let (Some(old), Some(new)) = (
            prior.data.data_volume_size.known(),
            c.data.data_volume_size.known(),
        ) {
            if new < old {
                d.error_at(Path::attr("data_volume_size"), "Data volume cannot shrink", format!("EBS volumes can grow but not shrink: {old} GiB → {new} GiB. Keep {old} or more."));
            }
        }
        d
    }

    fn stack_id(&self, c: &Config) -> String {
        c.stack_id()
    }

    fn tags(&self, c: &Config) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("Project".to_string(), c.project_name.value()),
            ("Environment".to_string(), c.environment.value()),
        ])
    }

    fn aws_checks<'a>(
        &'a self,
        ctx: &'a Arc<AwsContext>,
        c: &'a Config,
    ) -> crate::stacks::BoxFuture<'a, Diagnostics> {
        Box::pin(async move {
            let Some((vpc, subnet)) = c.existing_network() else {
                return Diagnostics::default();
            };
            let group = network::SubnetGroup {
                attribute: "subnet_id",
                single: true,
                ids: vec![subnet.to_string()],
                role: network::Role::Public,
                min_zones: 1,
            };
            network::check(ctx, "vpc_id", vpc, &[group]).await
        })
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
        let mut m = BTreeMap::new();
        let public_ip = out_of("eip", "public_ip");
        let instance_id = id_of("instance");
        m.insert("instance_id", instance_id.clone());
        m.insert("public_ip", public_ip.clone());
        m.insert(
            "public_dns",
            match public_ip.as_str() {
                Some(ip) if !ip.is_empty() => {
                    let dashed = ip.replace('.', "-");
                    Value::str(if ctx.region == "us-east-1" {
                        format!("ec2-{dashed}.compute-1.amazonaws.com")
                    } else {
                        format!("ec2-{dashed}.{}.compute.amazonaws.com", ctx.region)
                    })
                }
                Some(_) => Value::str(""),
                None => Value::Unknown,
            },
        );
        m.insert("private_ip", out_of("instance", "private_ip"));
        m.insert("vpc_id", id_of("vpc"));
        m.insert("subnet_id", id_of("subnet.public"));
        m.insert("security_group_id", id_of("sg.host"));
        let bucket = bucket_name_of(c, ctx);
        m.insert("bucket_arn", Value::str(format!("arn:aws:s3:::{bucket}")));
        m.insert("bucket_name", Value::str(bucket));
        m.insert("sns_topic_arn", id_of("topic"));
        m.insert("iam_role_name", Value::str(format!("{id}-host")));
        m.insert("instance_profile_name", Value::str(format!("{id}-host")));
        // Write-only parameters are named only in the configuration, which a
        // refresh does not see: those already listed stay while they exist.
        let mut names = ssm_names(c);
        for (k, _) in c.secrets.ssm_parameter_arns.entries() {
            if get(&format!("param.{k}")).is_some() && !names.contains(k) {
                names.push(k.clone());
            }
        }
        m.insert(
            "ssm_parameter_arns",
            Value::Map(
                names
                    .into_iter()
                    .map(|n| (n.clone(), Value::str(param_arn(ctx, c, &n))))
                    .collect(),
            ),
        );
        m.insert(
            "ssh_command",
            match public_ip.as_str() {
                Some(ip) => Value::str(match c.access.ssh_key_name.as_str() {
                    Some(k) => format!("ssh -i ~/.ssh/{k}.pem ubuntu@{ip}"),
                    None => format!("ssh ubuntu@{ip}"),
                }),
                None => Value::Unknown,
            },
        );
        m.insert(
            "ssm_session_command",
            match instance_id.as_str() {
                Some(i) => Value::str(format!(
                    "aws ssm start-session --target {i} --region {}",
                    ctx.region
                )),
                None => Value::Unknown,
            },
        );
        m.insert("user_data", Value::str(user_data::render(c, &ctx.region)));
        m.insert("public_subnet_cidr", Value::str(subnet_cidr(c)));
        m.insert(
            "availability_zone",
            match c.network.availability_zone.as_str() {
                Some(z) => Value::str(z),
                None => get("subnet.public")
                    .map(|r| Value::str(r.out("availability_zone")))
                    .unwrap_or(Value::Unknown),
            },
        );
        m.insert(
            "ami_id",
            match c.host.ami_id.as_str() {
                Some(a) => Value::str(a),
                None => get("instance")
                    .and_then(|r| r.inputs["ami"].as_str().map(Value::str))
                    .unwrap_or(Value::Unknown),
            },
        );
        m
    }

    /// Version 0 (development snapshots before 0.1) named two attributes
    /// differently and kept no `changes`/`resource_ids`.
    fn upgrade_state(
        &self,
        from: i64,
        mut state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        if from < 1 {
            if let Some(o) = state.as_object_mut() {
                for (old, new) in [
                    ("timezone", "scheduler_timezone"),
                    ("alert_emails", "budget_notification_emails"),
                ] {
                    if let Some(v) = o.remove(old) {
                        o.insert(new.to_string(), v);
                    }
                }
                o.entry("changes").or_insert(json!([]));
                o.entry("resource_ids").or_insert(json!({}));
            }
        }
        Ok(state)
    }

    fn restore_secrets<'a>(
        &'a self,
        ctx: &'a AwsContext,
        config: &'a mut Value,
    ) -> crate::stacks::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let typed = self.config(config);
            let Some(names) = typed
                .secrets
                .ssm_parameters
                .known()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
            else {
                return Ok(());
            };
            let project = typed.project_name.value();
            let mut restored = BTreeMap::new();
            for n in names {
                let o = ctx
                    .ssm()
                    .get_parameter()
                    .name(format!("/{project}/{n}"))
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "reading parameter /{project}/{n}: {}",
                            crate::aws::error_text(&e)
                        )
                    })?;
                let val = o
                    .parameter()
                    .and_then(|p| p.value())
                    .unwrap_or_default()
                    .to_string();
                restored.insert(
                    n,
                    Value::Object(BTreeMap::from([("value".to_string(), Value::str(val))])),
                );
            }
            config.set_attr("ssm_parameters", Value::Map(restored));
            Ok(())
        })
    }
}
