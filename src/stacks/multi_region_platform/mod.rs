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
mod graph;
mod kubernetes;
mod schema;
mod validation;

use graph::{components, user_password};
use validation::validate_config;
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
