//! `awsstack_multi_region_platform`: the active/passive platform of the
//! Luneo seed (EKS, Aurora PostgreSQL Global Database, S3 replication,
//! Route53 failover, alarms) across two regions as one resource.
//!
//! Every component is placed in its region; the two regions' networks and
//! clusters are the same components under the scopes `primary/` and
//! `secondary/`, which the engine strips when a component looks up its own
//! region's dependencies (`vpc`, `subnet.*`, `kms`). What spans both
//! regions (the global database, its writer, the failover records) is
//! under `global/`.

pub mod config;
mod kubernetes;
mod schema;
#[cfg(test)]
pub(crate) mod tests;

use crate::aws::AwsContext;
use crate::components::cloudwatch::AlarmInputs;
use crate::components::ec2::{IngressRule, SecurityGroupInputs};
use crate::components::eks::{
    ClusterInputs, ControllerLeftoversInputs, NodeGroupInputs, OidcProviderInputs,
};
use crate::components::iam::RoleInputs;
use crate::components::kms::KeyInputs;
use crate::components::rds::{
    ClusterInstanceInputs, DbSubnetGroupInputs, GlobalClusterInputs, MemberClusterInputs,
    MemberRole, WriterInputs,
};
use crate::components::registry::all_kinds;
use crate::components::route53::{FailoverRecordInputs, HealthCheckInputs};
use crate::components::s3::{BucketInputs, ReplicationInputs};
use crate::components::secrets::SecretInputs;
use crate::components::sha256_hex;
use crate::components::sns::TopicInputs;
use crate::engine::{
    Desired, Handle, Kinds, OnDepChange::Replace, OnDepChange::Update, Record, Records, Spec,
    Template,
};
use crate::schema::config::Setting;
use crate::schema::{validate as v, Diagnostics, Schema};
use crate::stacks::network;
use crate::stacks::network::NetworkHandles;
use crate::stacks::Stack;
use crate::value::{Path, Value};
use config::Config;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct MultiRegionPlatform {
    schema: Schema,
    kinds: Arc<Kinds<AwsContext>>,
}

impl MultiRegionPlatform {
    pub fn new() -> Self {
        MultiRegionPlatform {
            schema: schema::schema(),
            kinds: Arc::new(all_kinds()),
        }
    }
}

impl Default for MultiRegionPlatform {
    fn default() -> Self {
        Self::new()
    }
}

const ENGINE: &str = "aurora-postgresql";
const LB_CONTROLLER_POLICY: &str = include_str!("lb_controller_policy.json");
const LB_CONTROLLER_ACCOUNT: &str =
    "system:serviceaccount:kube-system:aws-load-balancer-controller";

/// The regions AWS offers EKS and Aurora Global Database in (commercial
/// partition).
pub(crate) const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-east-1",
    "sa-east-1",
    "me-south-1",
    "me-central-1",
    "af-south-1",
    "il-central-1",
];

/// The two regions of the stack, as (scope, attribute prefix).
pub const SIDES: [&str; 2] = ["primary", "secondary"];

pub fn region_of(c: &Config, side: &str) -> String {
    let d = if side == "primary" {
        "eu-west-1"
    } else {
        "us-east-1"
    };
    c.side(side).region.as_str().unwrap_or(d).to_string()
}

/// The region that should write: `writer_region`, or the primary.
pub fn writer_region(c: &Config) -> String {
    c.writer_region
        .owned()
        .unwrap_or_else(|| region_of(c, "primary"))
}

fn writer_side(c: &Config) -> &'static str {
    if writer_region(c) == region_of(c, "secondary") {
        "secondary"
    } else {
        "primary"
    }
}

pub fn zones(c: &Config, side: &str) -> Vec<String> {
    let z = c.side(side).availability_zones.strings();
    if z.is_empty() {
        let r = region_of(c, side);
        ["a", "b", "c"].iter().map(|l| format!("{r}{l}")).collect()
    } else {
        z
    }
}

/// (private, public) subnet blocks of a VPC: private subnets are the first
/// three eighths (room for pods: the VPC CNI gives each pod an address),
/// public ones /6-smaller blocks of the fifth eighth.
pub fn subnet_cidrs(vpc: &str) -> (Vec<String>, Vec<String>) {
    let Ok(net) = v::cidr(vpc) else {
        return (vec![], vec![]);
    };
    let eighths: Vec<ipnet::Ipv4Net> = net
        .subnets(net.prefix_len() + 3)
        .map(|i| i.collect())
        .unwrap_or_default();
    let private = eighths.iter().take(3).map(|n| n.to_string()).collect();
    let public = eighths
        .get(4)
        .and_then(|e| e.subnets(e.prefix_len() + 3).ok())
        .map(|i| i.take(3).map(|n| n.to_string()).collect())
        .unwrap_or_default();
    (private, public)
}

/// `(vpc_id, public_subnet_ids, private_subnet_ids)` of a region placed in
/// an existing network (the configuration sets `<side>_vpc_id`).
fn existing_network<'a>(c: &'a Config, side: &str) -> Option<(&'a str, Vec<String>, Vec<String>)> {
    let s = c.side(side);
    s.vpc_id.as_str().map(|id| {
        (
            id,
            s.public_subnet_ids.strings(),
            s.private_subnet_ids.strings(),
        )
    })
}

/// The attributes that place `side` in an existing network: its VPC, then
/// its public and private subnets.
fn network_attributes(side: &str) -> (&'static str, &'static str, &'static str) {
    if side == "primary" {
        (
            "primary_vpc_id",
            "primary_public_subnet_ids",
            "primary_private_subnet_ids",
        )
    } else {
        (
            "secondary_vpc_id",
            "secondary_public_subnet_ids",
            "secondary_private_subnet_ids",
        )
    }
}

/// The keys (in the side's scope) of the region's (public, private)
/// subnets: the stack's own, one per zone, or the referenced ones.
pub fn subnet_keys(c: &Config, side: &str) -> (Vec<String>, Vec<String>) {
    let keys = |role: &str, ids: &[String]| {
        let mut out: Vec<String> = vec![];
        for k in ids.iter().map(|id| format!("subnet.{role}.{id}")) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out
    };
    match existing_network(c, side) {
        Some((_, public, private)) => (keys("public", &public), keys("private", &private)),
        None => {
            let zs = zones(c, side);
            (keys("public", &zs), keys("private", &zs))
        }
    }
}

pub fn cluster_name(c: &Config, side: &str) -> String {
    format!("{}-eks-{side}", c.stack_id())
}

fn member_id(c: &Config, side: &str) -> String {
    format!("{}-aurora-{side}", c.stack_id())
}

fn bucket_name(c: &Config, side: &str) -> String {
    format!(
        "{}-{}-{}",
        c.stack_id(),
        c.artifact_bucket_suffix.text(),
        region_of(c, side)
    )
}

/// A node group as configured, with the defaults of the seed's pair.
#[derive(Clone, Debug)]
pub struct NodeGroupConf {
    pub name: String,
    pub capacity_type: String,
    pub instance_types: Vec<String>,
    pub ami_type: String,
    pub min: i64,
    pub max: i64,
    pub desired: i64,
    pub secondary_desired: i64,
    pub labels: BTreeMap<String, String>,
}

pub fn node_groups(c: &Config) -> Vec<NodeGroupConf> {
    let blocks = c
        .kubernetes
        .node_groups
        .known()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if blocks.is_empty() {
        // The seed: on-demand for the steady load, spot for the burst.
        let pair =
            |name: &str, capacity: &str, types: &[&str], min: i64, desired: i64, max: i64| {
                NodeGroupConf {
                    name: name.into(),
                    capacity_type: capacity.into(),
                    instance_types: types.iter().map(|t| t.to_string()).collect(),
                    ami_type: "AL2023_x86_64_STANDARD".into(),
                    min,
                    max,
                    desired,
                    secondary_desired: min,
                    labels: [("capacity".to_string(), name.to_string())]
                        .into_iter()
                        .collect(),
                }
            };
        return vec![
            pair("ondemand", "ON_DEMAND", &["m6i.large"], 2, 2, 6),
            pair(
                "spot",
                "SPOT",
                &["m6i.large", "m5.large", "m5a.large"],
                0,
                2,
                10,
            ),
        ];
    }
    blocks
        .iter()
        .map(|b| {
            let desired = b.desired_size.value() as i64;
            NodeGroupConf {
                name: b.name.value(),
                capacity_type: b.capacity_type.value(),
                instance_types: b.instance_types.strings(),
                ami_type: b
                    .ami_type
                    .owned()
                    .unwrap_or_else(|| "AL2023_x86_64_STANDARD".to_string()),
                min: b.min_size.value() as i64,
                max: b.max_size.value() as i64,
                desired,
                secondary_desired: b
                    .secondary_desired_size
                    .known()
                    .map(|n| *n as i64)
                    .unwrap_or(desired),
                labels: b
                    .labels
                    .entries()
                    .map(|(k, x)| (k.clone(), x.value()))
                    .collect(),
            }
        })
        .collect()
}

impl NodeGroupConf {
    /// The AWS name: a new one whenever EKS would need a new group, so that
    /// the replacement can exist next to the group it replaces.
    pub fn aws_name(&self, stack_id: &str) -> String {
        let identity = format!(
            "{}|{}|{}",
            self.capacity_type,
            self.instance_types.join(","),
            self.ami_type
        );
        format!("{stack_id}-{}-{}", self.name, &sha256_hex(&identity)[..6])
    }
}

/// The routing is created once both ingress hostnames are known.
fn routing_ready(c: &Config) -> bool {
    let hostname = |s: &config::Side| s.ingress_hostname.as_str().is_some_and(|h| !h.is_empty());
    c.routing.hosted_zone_id.as_str().is_some() && hostname(&c.primary) && hostname(&c.secondary)
}

fn health_domain(c: &Config, side: &str) -> String {
    let s = c.side(side);
    s.health_check_domain
        .owned()
        .unwrap_or_else(|| s.ingress_hostname.value())
}

impl Stack for MultiRegionPlatform {
    type Config = Config;
    fn type_name(&self) -> &'static str {
        "awsstack_multi_region_platform"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, c: &Config) -> Diagnostics {
        let mut d = validate_config(c);
        for side in SIDES {
            let (vpc, public, private) = network_attributes(side);
            let s = c.side(side);
            let zones = if side == "primary" {
                "primary_availability_zones"
            } else {
                "secondary_availability_zones"
            };
            d.extend(crate::stacks::existing_network_diags(
                &crate::stacks::ExistingNetwork {
                    vpc: (vpc, &s.vpc_id),
                    subnets: [
                        (public, &s.public_subnet_ids),
                        (private, &s.private_subnet_ids),
                    ],
                },
                &[(zones, s.availability_zones.is_set())],
            ));
        }
        d
    }

    /// Each region placed in an existing network: its VPC and subnets
    /// exist there and can carry the cluster and the database.
    fn aws_checks<'a>(
        &'a self,
        ctx: &'a Arc<AwsContext>,
        c: &'a Config,
    ) -> crate::stacks::BoxFuture<'a, Diagnostics> {
        Box::pin(async move {
            let mut d = Diagnostics::default();
            let unknown = |l: &Setting<Vec<Setting<String>>>| {
                l.is_unknown() || l.items().iter().any(Setting::is_unknown)
            };
            for side in SIDES {
                let (vpc_attribute, public_attribute, private_attribute) = network_attributes(side);
                let s = c.side(side);
                if unknown(&s.public_subnet_ids) || unknown(&s.private_subnet_ids) {
                    continue;
                }
                let Some((vpc, public, private)) = existing_network(c, side) else {
                    continue;
                };
                let groups = [
                    network::SubnetGroup {
                        attribute: public_attribute,
                        single: false,
                        ids: public,
                        role: network::Role::Public,
                        min_zones: 2,
                    },
                    network::SubnetGroup {
                        attribute: private_attribute,
                        single: false,
                        ids: private,
                        role: network::Role::Private,
                        min_zones: 2,
                    },
                ];
                let region = ctx.clone().region_context(&region_of(c, side));
                d.extend(network::check(&region, vpc_attribute, vpc, &groups).await);
            }
            d
        })
    }

    /// (`nat_gateways` serves both regions: it still shapes the other one.)
    fn own_network_only(&self) -> Vec<(&'static str, &'static [&'static str])> {
        vec![
            ("primary_vpc_id", &["primary_vpc_cidr"]),
            ("secondary_vpc_id", &["secondary_vpc_cidr"]),
        ]
    }
    /// The zones of each region the stack builds its own network in.
    fn network_zones(
        &self,
        c: &Config,
        _provider_region: &str,
    ) -> Vec<crate::stacks::NetworkZones> {
        SIDES
            .iter()
            .filter(|side| existing_network(c, side).is_none())
            .map(|side| {
                let attribute = if *side == "primary" {
                    "primary_availability_zones"
                } else {
                    "secondary_availability_zones"
                };
                let source = if c.side(side).availability_zones.is_unset() {
                    network::ZoneSource::Default
                } else {
                    network::ZoneSource::List
                };
                crate::stacks::NetworkZones {
                    region: region_of(c, side),
                    attribute,
                    zones: zones(c, side),
                    source,
                }
            })
            .collect()
    }

    /// Changes AWS makes only in steps, or that the stack does not make:
    /// refused at plan rather than planned as an update that cannot happen.
    fn validate_change(&self, prior: &Config, c: &Config) -> Diagnostics {
        let mut d = Diagnostics::default();
        let minor = |v: &Setting<String>| {
            v.as_str()
                .and_then(|x| x.strip_prefix("1."))
                .and_then(|m| m.parse::<i64>().ok())
        };
        if let (Some(old), Some(new)) = (
            minor(&prior.kubernetes.version),
            minor(&c.kubernetes.version),
        ) {
            if new < old {
                d.error_at(
                    Path::attr("kubernetes_version"),
                    "Kubernetes cannot be downgraded",
                    format!("the clusters run 1.{old}; EKS cannot go back to 1.{new}"),
                );
            } else if new > old + 1 {
                d.error_at(
                    Path::attr("kubernetes_version"),
                    "One minor version at a time",
                    format!(
                        "EKS upgrades one minor version at a time: apply 1.{} first, then 1.{new}",
                        old + 1
                    ),
                );
            }
        }
        if let (Some(old), Some(new)) = (
            prior.database.engine_version.as_str(),
            c.database.engine_version.as_str(),
        ) {
            if old != new {
                d.error_at(
                    Path::attr("db_engine_version"),
                    "Engine upgrade of a global database",
                    format!("upgrading an Aurora global database ({old} → {new}) is not done by this stack yet: upgrade it with `aws rds modify-global-cluster --engine-version {new} --allow-major-version-upgrade`, then set {new} here"),
                );
            }
        }
        d
    }

    fn stack_id(&self, c: &Config) -> String {
        c.stack_id()
    }

    fn tags(&self, c: &Config) -> BTreeMap<String, String> {
        let mut t = BTreeMap::new();
        t.insert("project".into(), c.project_name.value());
        t.insert("env".into(), c.env.value());
        if let Some(o) = c.owner.as_str() {
            t.insert("owner".into(), o.to_string());
        }
        t
    }

    fn desired(&self, c: &Config, _ctx: &AwsContext) -> Vec<Spec> {
        components(c).into_specs()
    }

    /// The manifest in each of the platform's regions, so that a provider
    /// of either region finds the platform (`terraform query`, import);
    /// each keyed by its side, whatever the provider's region. The one in
    /// the provider's region stays unplaced, as the manifest of a platform
    /// of an earlier release was recorded.
    fn manifests(&self, c: &Config, ctx: &AwsContext) -> Vec<(String, Option<String>)> {
        SIDES
            .iter()
            .map(|side| {
                let key = match *side {
                    "primary" => "manifest".to_string(),
                    other => format!("{other}/manifest"),
                };
                let region = Some(region_of(c, side)).filter(|r| *r != ctx.region);
                (key, region)
            })
            .collect()
    }

    fn kinds(&self) -> Arc<Kinds<AwsContext>> {
        self.kinds.clone()
    }

    fn outputs(
        &self,
        c: &Config,
        _ctx: &AwsContext,
        get: &dyn Fn(&str) -> Option<Record>,
    ) -> BTreeMap<&'static str, Value> {
        let out_of = |k: &str, o: &str| {
            get(k)
                .map(|r| Value::str(r.out(o)))
                .unwrap_or(Value::Unknown)
        };
        let id_of = |k: &str| get(k).map(|r| Value::str(r.id)).unwrap_or(Value::Unknown);
        let mut m = BTreeMap::new();
        let ids = |side: &str, kind: &str| {
            let (public, private) = subnet_keys(c, side);
            let keys = if kind == "public" { public } else { private };
            let l: Vec<Value> = keys.iter().map(|k| id_of(&format!("{side}/{k}"))).collect();
            if l.iter().any(|x| x.is_unknown()) {
                Value::Unknown
            } else {
                Value::List(l)
            }
        };
        macro_rules! per_side {
            ($p:literal, $s:literal, $f:expr) => {
                m.insert($p, $f("primary"));
                m.insert($s, $f("secondary"));
            };
        }
        per_side!("primary_cluster_name", "secondary_cluster_name", |side| {
            Value::str(cluster_name(c, side))
        });
        per_side!(
            "primary_cluster_endpoint",
            "secondary_cluster_endpoint",
            |side| out_of(&format!("{side}/cluster"), "endpoint")
        );
        per_side!(
            "primary_cluster_ca_data",
            "secondary_cluster_ca_data",
            |side| out_of(&format!("{side}/cluster"), "ca_data")
        );
        per_side!("primary_oidc_issuer", "secondary_oidc_issuer", |side| {
            out_of(&format!("{side}/cluster"), "oidc_issuer")
        });
        per_side!(
            "primary_oidc_provider_arn",
            "secondary_oidc_provider_arn",
            |side| id_of(&format!("{side}/oidc"))
        );
        per_side!(
            "primary_lb_controller_role_arn",
            "secondary_lb_controller_role_arn",
            |side| out_of(&format!("{side}/role.lb_controller"), "arn")
        );
        per_side!("primary_vpc_id", "secondary_vpc_id", |side| id_of(
            &format!("{side}/vpc")
        ));
        per_side!(
            "primary_private_subnet_ids",
            "secondary_private_subnet_ids",
            |side| ids(side, "private")
        );
        per_side!(
            "primary_public_subnet_ids",
            "secondary_public_subnet_ids",
            |side| ids(side, "public")
        );
        per_side!("primary_bucket_name", "secondary_bucket_name", |side| {
            Value::str(bucket_name(c, side))
        });
        m.insert(
            "global_cluster_id",
            Value::str(format!("{}-aurora", c.stack_id())),
        );
        m.insert(
            "db_primary_reader_endpoint",
            out_of("primary/db", "reader_endpoint"),
        );
        m.insert(
            "db_secondary_reader_endpoint",
            out_of("secondary/db", "reader_endpoint"),
        );
        // The region that writes once the plan is applied (after a refresh,
        // the one AWS reports: `read_back` wrote it into the configuration).
        let (current, endpoint) = match get("global/db.writer") {
            Some(_) => (
                Value::str(writer_region(c)),
                out_of(&format!("{}/db", writer_side(c)), "endpoint"),
            ),
            None => (Value::Unknown, Value::Unknown),
        };
        m.insert("current_writer_region", current);
        m.insert("db_writer_endpoint", endpoint);
        m.insert(
            "db_master_secret_arn",
            if user_password(c) {
                Value::Null
            } else {
                id_of("primary/secret.db")
            },
        );
        if routing_ready(c) {
            m.insert(
                "record_fqdn",
                Value::str(c.routing.record_name.text().trim_end_matches('.')),
            );
            let checks: BTreeMap<String, Value> = SIDES
                .iter()
                .map(|side| (region_of(c, side), id_of(&format!("global/health.{side}"))))
                .collect();
            m.insert(
                "health_check_ids",
                if checks.values().any(|x| x.is_unknown()) {
                    Value::Unknown
                } else {
                    Value::Map(checks)
                },
            );
        } else {
            m.insert("record_fqdn", Value::Null);
            m.insert("health_check_ids", Value::Map(BTreeMap::new()));
        }
        let topics: BTreeMap<String, Value> = SIDES
            .iter()
            .map(|side| (region_of(c, side), id_of(&format!("{side}/topic"))))
            .collect();
        m.insert(
            "alarm_topic_arns",
            if topics.values().any(|x| x.is_unknown()) {
                Value::Unknown
            } else {
                Value::Map(topics)
            },
        );
        let p = cluster_name(c, "primary");
        let sec = cluster_name(c, "secondary");
        let alias = format!("{}-secondary", c.project_name.text());
        m.insert(
            "kubeconfig_commands",
            Value::string_list([
                format!(
                    "aws eks update-kubeconfig --name {p} --region {}",
                    region_of(c, "primary")
                ),
                format!(
                    "aws eks update-kubeconfig --name {sec} --region {} --alias {alias}",
                    region_of(c, "secondary")
                ),
            ]),
        );
        m
    }

    fn check_destroy(&self, state: &Config) -> Diagnostics {
        let mut d = Diagnostics::default();
        if state.deletion_protection() {
            d.error_at(
                Path::attr("deletion_protection"),
                "Deletion protection is on",
                format!(
                    "the global database of {} is protected (profile = {:?}). Nothing was deleted. To destroy the stack, set deletion_protection = false and apply first.",
                    state.stack_id(),
                    state.profile.known().map_or("", |p| p.as_str())
                ),
            );
        }
        d
    }

    /// A switchover or failover made outside Terraform: `writer_region`
    /// shows the region that writes now, so the plan proposes to switch
    /// back (or is empty once the configuration says the same).
    fn read_back(&self, state: &mut Value, records: &Records) {
        let Some(actual) = records
            .get("global/db.writer")
            .and_then(|r| r.inputs["writer_region"].as_str())
        else {
            return;
        };
        let typed = self.config(state);
        if typed.writer_region.is_unset() && actual == region_of(&typed, "primary") {
            return;
        }
        state.set_attr("writer_region", Value::str(actual));
    }
}

// ---------------------------------------------------------------- graph

/// What the rest of the platform depends on in one region: its network and
/// its cluster.
struct Region {
    net: NetworkHandles,
    cluster: Handle,
}

/// What spans the regions of the database: each region's key and member
/// cluster, and the writer (the switchover).
struct Database {
    kms: BTreeMap<&'static str, Handle>,
    members: BTreeMap<&'static str, Handle>,
    writer: Handle,
}

/// Every component of the platform but the manifest: the two regions'
/// networks and clusters, then what spans them.
fn components(c: &Config) -> Desired {
    let mut g = Desired::new();
    let mut regions = BTreeMap::new();
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let (net, private_tables) = network(c, side, &mut r);
        let cluster = cluster(c, side, &net, &private_tables, &mut r);
        g.append(r);
        regions.insert(side, Region { net, cluster });
    }
    let db = database(c, &regions, &mut g);
    let replication = storage(c, &db, &mut g);
    observability(c, &db, &replication, &mut g);
    if routing_ready(c) {
        routing(c, &db, &mut g);
    }
    g
}

/// One region's network, in its scope: the team's (referenced), or the
/// stack's own over the region's zones; with its private route tables
/// (none in the team's network).
fn network(c: &Config, side: &str, g: &mut Desired) -> (NetworkHandles, Vec<Handle>) {
    if let Some((vpc, public, private)) = existing_network(c, side) {
        // Referenced, never owned: no gateway, table or endpoint of the
        // stack's is put in the team's network.
        let (vpc_attribute, public_attribute, private_attribute) = network_attributes(side);
        return (
            network::add_existing(
                g,
                vpc_attribute,
                vpc,
                &[
                    ("public", public_attribute, &public),
                    ("private", private_attribute, &private),
                ],
            ),
            vec![],
        );
    }
    let region = region_of(c, side);
    let cluster = cluster_name(c, side);
    let vpc_cidr = c.side(side).vpc_cidr.text();
    let (private_cidrs, public_cidrs) = subnet_cidrs(vpc_cidr);
    // The tags the Load Balancer Controller picks subnets by.
    let shared = (
        format!("kubernetes.io/cluster/{cluster}"),
        "shared".to_string(),
    );
    let own = network::OwnNetwork {
        vpc_cidr,
        zones: network::zone_blocks(&zones(c, side), &public_cidrs, &private_cidrs),
        // Validated at plan: `single` or `per_az`.
        nat: c
            .nat_gateways
            .known()
            .copied()
            .unwrap_or(network::NatGateways::Single),
        public_subnet_tags: vec![
            ("kubernetes.io/role/elb".into(), "1".into()),
            shared.clone(),
        ],
        private_subnet_tags: vec![
            ("kubernetes.io/role/internal-elb".into(), "1".into()),
            shared,
        ],
        // S3 traffic from the nodes stays off the NAT gateway.
        s3_endpoint: Some(&region),
    };
    network::add_own(g, &own)
}

fn role(key: &str, name: String, trust_service: &str, policies: &[&str]) -> Spec {
    Spec::of(key, &RoleInputs::for_service(name, trust_service, policies))
}

/// One region's EKS cluster, in its scope: roles, cluster, OIDC provider,
/// node groups and the Load Balancer Controller's role.
fn cluster(
    c: &Config,
    side: &str,
    net: &NetworkHandles,
    private_tables: &[Handle],
    g: &mut Desired,
) -> Handle {
    let id = c.stack_id();
    let name = cluster_name(c, side);
    let (public, private) = (net.subnets("public"), net.subnets("private"));

    let cluster_role = g.add(role(
        "role.cluster",
        format!("{id}-eks-cluster-{side}"),
        "eks.amazonaws.com",
        &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
    ));
    let node_role = g.add(role(
        "role.node",
        format!("{id}-eks-node-{side}"),
        "ec2.amazonaws.com",
        &[
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ],
    ));
    // Exists before the cluster, deleted after it and before the network.
    let leftovers = g.add(
        Spec::of(
            "lb_controller.leftovers",
            &ControllerLeftoversInputs {
                cluster: name.clone(),
            },
        )
        .after(&net.vpc)
        .after_each(private.iter().chain(public), Replace),
    );
    let k = &c.kubernetes;
    let mut logs = k.cluster_log_types.strings();
    logs.sort();
    let inputs = ClusterInputs {
        name: name.clone(),
        version: k.version.value(),
        endpoint_public: k.endpoint_public_access.value(),
        endpoint_private: k.endpoint_private_access.value(),
        logs,
    };
    let cluster = g.add(
        Spec::of("cluster", &inputs)
            .filling("role", &cluster_role, Replace)
            .after(&leftovers)
            .filling_each("subnets", private.iter().chain(public), Replace),
    );
    let oidc = g.add(
        Spec::of(
            "oidc",
            &OidcProviderInputs {
                cluster: name.clone(),
                client_ids: vec!["sts.amazonaws.com".into()],
            },
        )
        .after(&cluster),
    );

    let writer = writer_side(c) == side;
    for ng in node_groups(c) {
        let mut labels = ng.labels.clone();
        labels.insert("awsstack/node-group".into(), ng.name.clone());
        let inputs = NodeGroupInputs {
            cluster: name.clone(),
            name: ng.aws_name(&id),
            capacity_type: ng.capacity_type.clone(),
            instance_types: ng.instance_types.clone(),
            ami_type: ng.ami_type.clone(),
            min_size: ng.min,
            max_size: ng.max,
            desired_size: if writer {
                ng.desired
            } else {
                ng.secondary_desired
            },
            labels,
        };
        g.add(
            Spec::of(format!("nodes.{}", ng.name), &inputs)
                .after(&cluster)
                .filling("role", &node_role, Replace)
                // Nodes reach the API and the registries through the NAT gateway.
                .after_each(private_tables, Replace)
                .filling_each("subnets", private, Replace),
        );
    }

    // IRSA: the Load Balancer Controller's service account, and nothing
    // else, may assume this role through the cluster's OIDC provider.
    let (arn, issuer) = (g.output(&oidc, "arn"), g.output(&oidc, "issuer_host"));
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{issuer}:sub"): LB_CONTROLLER_ACCOUNT, format!("{issuer}:aud"): "sts.amazonaws.com"}}
        }]
    });
    let policy: serde_json::Value =
        serde_json::from_str(LB_CONTROLLER_POLICY).expect("the controller policy is JSON");
    g.add(
        Spec::of(
            "role.lb_controller",
            &RoleInputs::trusting(format!("{id}-lb-controller-{side}"), &trust)
                .with_inline(&policy),
        )
        .after(&oidc),
    );
    cluster
}

/// The master password is the user's (else generated in a secret). Decided
/// without the write-only value, which the plan and the state never hold:
/// its version is set with it.
fn user_password(c: &Config) -> bool {
    c.database.master_password.is_set() || c.database.master_password_wo_version.is_set()
}

fn database(c: &Config, regions: &BTreeMap<&'static str, Region>, g: &mut Desired) -> Database {
    let id = c.stack_id();
    let global = format!("{id}-aurora");
    let primary_region = region_of(c, "primary");
    let protect = c.deletion_protection();
    let db = &c.database;
    let global_db = g.add(
        Spec::of(
            "global/db",
            &GlobalClusterInputs {
                id: global.clone(),
                engine: ENGINE.into(),
                engine_version: db.engine_version.value(),
                deletion_protection: protect,
            },
        )
        .in_region(&primary_region),
    );
    let password = db
        .master_password
        .owned()
        .or_else(|| db.master_password_wo.owned());
    let password_wo = db.master_password_wo_version.is_set();
    let secret = (!user_password(c)).then(|| {
        g.add(
            Spec::of(
                "primary/secret.db",
                &SecretInputs {
                    name: format!("{id}-db-master"),
                    description: format!("{id} Aurora master credentials"),
                    recovery_days: if c.production() { 7 } else { 0 },
                    generate: Some(BTreeMap::from([
                        ("username".into(), db.master_username.value()),
                        ("engine".into(), "postgres".into()),
                    ])),
                    replica_regions: vec![region_of(c, "secondary")],
                    ..SecretInputs::default()
                },
            )
            .in_region(&primary_region),
        )
    });
    let mut writer = Spec::of(
        "global/db.writer",
        &WriterInputs {
            global_cluster: global.clone(),
            writer_region: writer_region(c),
            members: SIDES
                .iter()
                .map(|side| (region_of(c, side), member_id(c, side)))
                .collect(),
            allow_data_loss: c.allow_data_loss.value(),
        },
    )
    .after(&global_db)
    .in_region(&primary_region);
    let (mut kms, mut members) = (BTreeMap::new(), BTreeMap::new());
    let mut primary_instances = vec![];
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let Region { net, cluster } = &regions[side];
        let key = KeyInputs {
            alias: format!("alias/{id}-{side}"),
            description: format!("awsstack {id} {side} data (Aurora, S3)"),
            rotation: true,
            deletion_window_days: None,
        };
        let key = r.add(Spec::of("kms", &key));
        // Only the cluster's nodes (and their pods) reach the database. In
        // the stack's own network they alone live in the private subnets,
        // whose blocks the rule names (and the database need not wait for
        // the cluster). An existing network's subnets are shared with
        // whatever else the team runs: the rule names the cluster's
        // security group, which every node and pod carries.
        let (rule, after_cluster) = match existing_network(c, side) {
            Some(_) => (
                IngressRule::tcp_from_group(
                    5432,
                    r.name(cluster),
                    "PostgreSQL from the EKS cluster",
                ),
                true,
            ),
            None => {
                let (private_cidrs, _) = subnet_cidrs(c.side(side).vpc_cidr.text());
                (
                    IngressRule::tcp_from_cidrs(
                        5432,
                        private_cidrs,
                        "PostgreSQL from the EKS nodes' subnets",
                    ),
                    false,
                )
            }
        };
        let sg = SecurityGroupInputs {
            name: format!("{id}-aurora-{side}"),
            description: format!("awsstack {id} Aurora ({side})"),
            rules: vec![rule],
        };
        let sg = Spec::of("sg.db", &sg).after(&net.vpc);
        let sg = r.add(if after_cluster {
            sg.after_update(cluster)
        } else {
            sg
        });
        let group = r.add(
            Spec::of(
                "db.subnets",
                &DbSubnetGroupInputs {
                    name: format!("{id}-aurora-{side}"),
                },
            )
            .filling_each("subnets", net.subnets("private"), Update),
        );
        let primary = side == "primary";
        let member = MemberClusterInputs {
            id: member_id(c, side),
            engine: ENGINE.into(),
            engine_version: db.engine_version.value(),
            global_cluster: global.clone(),
            role: if primary {
                MemberRole::Primary
            } else {
                MemberRole::Secondary
            },
            username: primary.then(|| db.master_username.value()),
            subnet_group: format!("{id}-aurora-{side}"),
            deletion_protection: protect,
            backup_retention_days: if c.production() { 7 } else { 1 },
            final_snapshot: !db.skip_final_snapshot.value(),
            // A write-only password leaves no trace in the records (not
            // even a hash): its version is what a plan compares.
            password_sha256: if primary && !password_wo {
                password.as_deref().map(sha256_hex)
            } else {
                None
            },
            password_version: if primary && password_wo {
                db.master_password_wo_version.known().copied()
            } else {
                None
            },
        };
        let mut member = Spec::of("db", &member)
            .after(&global_db)
            .after(&key)
            .after(&group)
            .after_update(&sg);
        // A secondary joins the global database once the primary has a
        // writer instance; a destroy then removes it before them, so the
        // primary, still the writer if no switchover was recorded, leaves
        // last.
        for instance in &primary_instances {
            member = member.after_only(instance);
        }
        if side == "primary" {
            match (&password, &secret) {
                (Some(p), _) => member.secret = Some(p.clone()),
                (None, Some(secret)) => member = member.after(secret),
                (None, None) => {}
            }
        }
        let member = r.add(member);
        let class = c.side(side).db_instance_class.value();
        for i in 1..=c.side(side).db_instance_count.value() as i64 {
            let instance = r.add(
                Spec::of(
                    format!("db.instance.{i}"),
                    &ClusterInstanceInputs {
                        id: format!("{}-{i}", member_id(c, side)),
                        cluster: member_id(c, side),
                        engine: ENGINE.into(),
                        instance_class: class.clone(),
                    },
                )
                .after(&member),
            );
            writer = writer.after_update(&instance);
            if primary {
                primary_instances.push(instance);
            }
        }
        writer = writer.after_update(&member);
        g.append(r);
        kms.insert(side, key);
        members.insert(side, member);
    }
    let writer = g.add(writer);
    Database {
        kms,
        members,
        writer,
    }
}

/// The artifact buckets, one per region, and the replication of the
/// primary's to the secondary's (which the returned handle is).
fn storage(c: &Config, db: &Database, g: &mut Desired) -> Handle {
    let id = c.stack_id();
    let mut buckets = BTreeMap::new();
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let artifacts = BucketInputs {
            name: bucket_name(c, side),
            versioning: None,
            glacier_after_days: None,
            backup_prefix: None,
            kms: true,
            force_destroy: c.force_destroy.known() == Some(&true),
        };
        let bucket = r.add(
            Spec::of("bucket", &artifacts)
                .after(&db.kms[side])
                .named_by("artifact_bucket_suffix"),
        );
        g.append(r);
        buckets.insert(side, bucket);
    }
    let mut r = Desired::within("primary", Some(&region_of(c, "primary")));
    let (source, destination) = (&buckets["primary"], &buckets["secondary"]);
    let (source_key, replica_key) = (&db.kms["primary"], &db.kms["secondary"]);
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": r.output(source, "arn")},
            {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], "Resource": format!("{}/*", r.output(source, "arn"))},
            {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": format!("{}/*", r.output(destination, "arn"))},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": r.output(source_key, "arn")},
            {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": r.output(replica_key, "arn")}
        ]
    });
    let role = RoleInputs::for_service(format!("{id}-s3-replication"), "s3.amazonaws.com", &[])
        .with_inline(&policy);
    let role = r.add(
        Spec::of("role.replication", &role)
            .after_each([source, destination, source_key, replica_key], Update),
    );
    let replication = r.add(
        Spec::of(
            "replication",
            &ReplicationInputs {
                rule_id: "to-secondary".into(),
                source_bucket: bucket_name(c, "primary"),
            },
        )
        .filling("source", source, Replace)
        .filling("destination", destination, Replace)
        .filling("role", &role, Update)
        .filling("replica_kms", replica_key, Update),
    );
    g.append(r);
    replication
}

fn observability(c: &Config, db: &Database, replication: &Handle, g: &mut Desired) {
    let id = c.stack_id();
    let emails = c.alarms.emails.strings();
    let alarm = |key: &str,
                 name: String,
                 namespace: &str,
                 metric: &str,
                 dimensions: BTreeMap<String, Template>,
                 threshold: f64,
                 statistic: &str| {
        let alarm = AlarmInputs {
            name,
            namespace: namespace.into(),
            metric: metric.into(),
            statistic: statistic.into(),
            threshold,
            comparison: "GreaterThanThreshold".into(),
            period: 60,
            evaluation_periods: 5,
            dimensions: Some(dimensions),
        };
        Spec::of(key, &alarm)
    };
    let dimensions = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Template(v.clone())))
            .collect::<BTreeMap<_, _>>()
    };
    let mut topics = BTreeMap::new();
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let topic = r.add(Spec::of(
            "topic",
            &TopicInputs {
                name: format!("{id}-alarms-{side}"),
                emails: emails.clone(),
            },
        ));
        // Each cluster's lag while it replicates; the writer's metric is
        // absent, so a switchover needs no change here.
        let dims = dimensions(&[("DBClusterIdentifier", member_id(c, side))]);
        let member = &db.members[side];
        r.add(
            alarm(
                "alarm.replication_lag",
                format!("{id}-aurora-replication-lag-{side}"),
                "AWS/RDS",
                "AuroraGlobalDBReplicationLag",
                dims.clone(),
                c.alarms.replication_lag_ms.value().trunc(),
                "Maximum",
            )
            .after(&topic)
            .after(member),
        );
        r.add(
            alarm(
                "alarm.rpo_lag",
                format!("{id}-aurora-rpo-lag-{side}"),
                "AWS/RDS",
                "AuroraGlobalDBRPOLag",
                dims,
                c.alarms.rpo_lag_ms.value().trunc(),
                "Maximum",
            )
            .after(&topic)
            .after(member),
        );
        g.append(r);
        topics.insert(side, topic);
    }
    // S3 replication metrics, under the rule's dimensions, in the
    // destination region.
    let mut r = Desired::within("secondary", Some(&region_of(c, "secondary")));
    let dims = dimensions(&[
        ("SourceBucket", bucket_name(c, "primary")),
        ("DestinationBucket", bucket_name(c, "secondary")),
        ("RuleId", "to-secondary".into()),
    ]);
    r.add(
        alarm(
            "alarm.s3_latency",
            format!("{id}-s3-replication-latency"),
            "AWS/S3",
            "ReplicationLatency",
            dims.clone(),
            900.0,
            "Maximum",
        )
        .after(&topics["secondary"])
        .after(replication),
    );
    r.add(
        alarm(
            "alarm.s3_backlog",
            format!("{id}-s3-replication-backlog"),
            "AWS/S3",
            "BytesPendingReplication",
            dims,
            c.alarms.replication_backlog_bytes.value().trunc(),
            "Maximum",
        )
        .after(&topics["secondary"])
        .after(replication),
    );
    g.append(r);
}

fn routing(c: &Config, db: &Database, g: &mut Desired) {
    let id = c.stack_id();
    let conf = &c.routing;
    let zone = conf.hosted_zone_id.text();
    let name = conf.record_name.text().trim_end_matches('.').to_string();
    let mut r = Desired::within("global", None);
    let mut checks = BTreeMap::new();
    for side in SIDES {
        checks.insert(
            side,
            r.add(Spec::of(
                format!("health.{side}"),
                &HealthCheckInputs {
                    fqdn: health_domain(c, side),
                    path: conf.health_check_path.value(),
                    port: 443,
                    failure_threshold: conf.health_check_failure_threshold.value(),
                    interval: 30,
                },
            )),
        );
    }
    let writer = writer_side(c);
    let reader = if writer == "primary" {
        "secondary"
    } else {
        "primary"
    };
    for (failover, side, other) in [("PRIMARY", writer, reader), ("SECONDARY", reader, writer)] {
        r.add(
            Spec::of(
                format!("dns.{}", failover.to_ascii_lowercase()),
                &FailoverRecordInputs {
                    zone_id: zone.into(),
                    name: name.clone(),
                    set_identifier: format!("{id}-{}", failover.to_ascii_lowercase()),
                    failover: failover.into(),
                    value: c.side(side).ingress_hostname.value(),
                    ttl: 60,
                },
            )
            // Its own side's health check decides whether it answers; the
            // other's is an ordering only.
            .filling("check", &checks[side], Update)
            .after_update(&checks[other])
            // The records move once the database has switched over.
            .after_update(&db.writer),
        );
    }
    g.append(r);
}

// ---------------------------------------------------------------- validation

fn validate_config(c: &Config) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let (Some(p), Some(e)) = (c.project_name.as_str(), c.env.as_str()) {
        // `<project>-<env>-aurora-secondary-15` must fit RDS's 63 characters,
        // `<project>-<env>-lb-controller-secondary` IAM's 64.
        if p.len() + e.len() > 36 {
            d.error_at(
                Path::attr("env"),
                "Name too long",
                format!("project_name and env together are {} characters; keep them within 36 so that every AWS name fits", p.len() + e.len()),
            );
        }
    }
    validate_regions(c, &mut d);
    validate_networks(c, &mut d);
    validate_node_groups(c, &mut d);
    // Aurora.
    for side in SIDES {
        let attr = format!("db_{side}_instance_count");
        if let Some(&n) = c.side(side).db_instance_count.known() {
            if n.fract() != 0.0 || !(1.0..=15.0).contains(&n) {
                let why = if side == "secondary" && n == 0.0 {
                    ": a secondary cluster without an instance cannot be switched over to"
                } else {
                    ""
                };
                d.error_at(
                    Path::attr(&attr),
                    "Invalid instance count",
                    format!("{attr} must be a whole number between 1 and 15, got {n}{why}"),
                );
            }
        }
    }
    if let Some(x) = c.artifact_bucket_suffix.as_str() {
        if x.is_empty()
            || x.len() > 20
            || !x
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            || x.starts_with('-')
            || x.ends_with('-')
        {
            d.error_at(
                Path::attr("artifact_bucket_suffix"),
                "Invalid bucket suffix",
                format!("{x:?}: 1-20 lowercase letters, digits or inner hyphens"),
            );
        } else if let (Some(p), Some(e)) = (
            c.project_name
                .as_str()
                .filter(|p| v::project_name(p).is_ok()),
            c.env.as_str().filter(|e| v::project_name(e).is_ok()),
        ) {
            for side in SIDES {
                let name = format!("{p}-{e}-{x}-{}", region_of(c, side));
                if let Err(err) = v::bucket_name(&name) {
                    d.error_at(
                        Path::attr("artifact_bucket_suffix"),
                        "Invalid bucket name",
                        format!("{name}: {err}"),
                    );
                }
            }
        }
    }
    // Routing.
    let routing = &c.routing;
    if routing
        .hosted_zone_id
        .as_str()
        .is_some_and(|z| v::hosted_zone_id(z).is_ok())
        && routing.record_name.is_unset()
    {
        d.error_at(Path::attr("record_name"), "Missing record name", "hosted_zone_id is set: record_name names the failover records (e.g. \"api.luneo.app\")");
    }
    if routing.hosted_zone_id.as_str().is_some()
        && !routing_ready(c)
        && !c.primary.ingress_hostname.is_unknown()
        && !c.secondary.ingress_hostname.is_unknown()
    {
        d.warning_at(
            Path::attr("hosted_zone_id"),
            "Failover records not created yet",
            "the Route53 failover records and their health checks are created once both primary_ingress_hostname and secondary_ingress_hostname are set (after the Kubernetes ingress is deployed); setting them later adds them in place",
        );
    }
    // Observability.
    let a = &c.alarms;
    for (attr, n) in [
        ("replication_lag_alarm_ms", &a.replication_lag_ms),
        ("rpo_lag_alarm_ms", &a.rpo_lag_ms),
        (
            "replication_backlog_alarm_bytes",
            &a.replication_backlog_bytes,
        ),
    ] {
        if let Some(&n) = n.known() {
            if n <= 0.0 || n.fract() != 0.0 {
                d.error_at(
                    Path::attr(attr),
                    "Value out of range",
                    format!("{attr} must be a positive whole number, got {n}"),
                );
            }
        }
    }
    d
}

/// Two regions where EKS and Aurora Global Database run, and a writer
/// that is one of them.
fn validate_regions(c: &Config, d: &mut Diagnostics) {
    let mut regions = vec![];
    for side in SIDES {
        let attr = format!("{side}_region");
        if let Some(r) = c.side(side).region.as_str() {
            if !REGIONS.contains(&r) {
                d.error_at(Path::attr(&attr), "Unknown region", format!("{r:?} is not an AWS region with EKS and Aurora Global Database (e.g. eu-west-1, us-east-1)"));
            } else {
                regions.push(r.to_string());
            }
        }
    }
    if regions.len() == 2 && regions[0] == regions[1] {
        d.error_at(
            Path::attr("secondary_region"),
            "Same region twice",
            format!("primary_region and secondary_region are both {}: the secondary must be another region", regions[0]),
        );
    }
    if let Some(w) = c.writer_region.as_str() {
        let known = !c.primary.region.is_unknown() && !c.secondary.region.is_unknown();
        if known && w != region_of(c, "primary") && w != region_of(c, "secondary") {
            d.error_at(
                Path::attr("writer_region"),
                "Invalid writer region",
                format!(
                    "{w:?} is neither the primary region ({}) nor the secondary ({})",
                    region_of(c, "primary"),
                    region_of(c, "secondary")
                ),
            );
        }
    }
}

/// Each region's VPC (not overlapping the other's) and its three zones.
fn validate_networks(c: &Config, d: &mut Diagnostics) {
    let mut nets: Vec<(String, ipnet::Ipv4Net)> = vec![];
    for side in SIDES {
        let attr = format!("{side}_vpc_cidr");
        if let Some(x) = c.side(side).vpc_cidr.as_str() {
            match v::vpc_cidr(x) {
                Err(e) => d.error_at(Path::attr(&attr), "Invalid VPC CIDR block", e),
                Ok(n) if n.prefix_len() < 16 || n.prefix_len() > 20 => d.error_at(
                    Path::attr(&attr),
                    "Invalid VPC CIDR block",
                    format!("{x}: the VPC must be between /16 and /20 (AWS allows no larger; smaller leaves too few addresses for pods)"),
                ),
                Ok(n) => nets.push((attr, n)),
            }
        }
    }
    if nets.len() == 2
        && (nets[0].1.contains(&nets[1].1.network()) || nets[1].1.contains(&nets[0].1.network()))
    {
        d.error_at(
            Path::attr(&nets[1].0),
            "Overlapping VPCs",
            format!(
                "{} overlaps {}: the two regions' networks must not overlap (peering, VPN)",
                nets[1].1, nets[0].1
            ),
        );
    }
    for side in SIDES {
        let attr = format!("{side}_availability_zones");
        let Some(zs) = c.side(side).availability_zones.known() else {
            continue;
        };
        if zs.len() != 3 {
            d.error_at(
                Path::attr(&attr),
                "Three zones",
                format!("{attr} needs exactly three zones, got {}", zs.len()),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, z) in zs.iter().enumerate() {
            let Some(z) = z.as_str() else { continue };
            let p = Path::attr(&attr).then_index(i);
            match v::availability_zone(z) {
                Err(e) => d.error_at(p, "Invalid availability zone", e),
                Ok(r) if !c.side(side).region.is_unknown() && r != region_of(c, side) => d
                    .error_at(
                        p,
                        "Invalid availability zone",
                        format!(
                            "{z} is a zone of {r}, not of the {side} region {}",
                            region_of(c, side)
                        ),
                    ),
                Ok(_) if !seen.insert(z) => d.error_at(
                    p,
                    "Duplicate availability zone",
                    format!("{z} is listed twice"),
                ),
                Ok(_) => {}
            }
        }
    }
}

/// The Kubernetes version, and node groups with distinct names, instance
/// types and sizes that fit together.
fn validate_node_groups(c: &Config, d: &mut Diagnostics) {
    if let Some(x) = c.kubernetes.version.as_str() {
        match kubernetes::check(x, chrono::Utc::now().date_naive()) {
            Err(e) => d.error_at(
                Path::attr("kubernetes_version"),
                "Invalid Kubernetes version",
                e,
            ),
            Ok(Some(w)) => d.warning_at(
                Path::attr("kubernetes_version"),
                "Kubernetes version out of standard support",
                w,
            ),
            Ok(None) => {}
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, b) in c
        .kubernetes
        .node_groups
        .known()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = |a: &str| Path::attr("node_group").then_index(i).then_attr(a);
        // A valid name (the schema's rule reports the others) used twice.
        if let Some(n) = b.name.as_str().filter(|n| v::node_group_name(n).is_ok()) {
            if !names.insert(n.to_string()) {
                d.error_at(
                    at("name"),
                    "Duplicate node group",
                    format!("two node groups are named {n:?}"),
                );
            }
        }
        if b.instance_types.known().is_some_and(Vec::is_empty) {
            d.error_at(
                at("instance_types"),
                "No instance type",
                "a node group needs at least one instance type",
            );
        }
        let num = |d: &mut Diagnostics, a: &str, n: &Setting<f64>| -> Option<i64> {
            let n = *n.known()?;
            if n.fract() != 0.0 || !(0.0..=450.0).contains(&n) {
                d.error_at(
                    at(a),
                    "Invalid size",
                    format!("{a} must be a whole number between 0 and 450, got {n}"),
                );
                return None;
            }
            Some(n as i64)
        };
        let (min, max, desired, standby) = (
            num(d, "min_size", &b.min_size),
            num(d, "max_size", &b.max_size),
            num(d, "desired_size", &b.desired_size),
            num(d, "secondary_desired_size", &b.secondary_desired_size),
        );
        if let (Some(min), Some(max)) = (min, max) {
            if max < 1 || min > max {
                d.error_at(
                    at("max_size"),
                    "Invalid sizes",
                    format!("min_size ({min}) ≤ max_size ({max}) and max_size ≥ 1 are required"),
                );
            }
            // Only against a valid range: one error, not three, for min > max.
            for (a, n) in [
                ("desired_size", desired),
                ("secondary_desired_size", standby),
            ]
            .into_iter()
            .filter(|_| max >= 1 && min <= max)
            {
                if let Some(n) = n {
                    if n < min || n > max {
                        d.error_at(
                            at(a),
                            "Invalid sizes",
                            format!(
                                "{a} ({n}) must be between min_size ({min}) and max_size ({max})"
                            ),
                        );
                    }
                }
            }
        }
    }
}
