//! A stack's network: its own (`add_own`: a VPC over its zones, built the
//! same way by every stack that has one), or an existing one it is placed
//! in (a VPC and subnets made by a module such as
//! terraform-aws-modules/vpc, or by the team's own HCL). The stack
//! references an existing one and never owns it: the kinds are
//! `referenced`, so the engine never tags, modifies or deletes them, and
//! `check` proves at plan, with read-only calls, that they can carry it.

use super::ec2::{
    DefaultRoute, ElasticIpInputs, InternetGatewayInputs, NatGatewayInputs, RouteTableInputs,
    SubnetInputs, VpcEndpointInputs, VpcInputs,
};
use super::op;
use super::E;
use crate::aws::AwsContext;
use crate::engine::OnDepChange::{Replace, Update};
use crate::engine::{Call, Desired, Handle, Inputs, Kind, OpError, Record, Records, Spec};
use crate::schema::{Diagnostic, Diagnostics};
use crate::value::Path;
use aws_sdk_ec2::types::{Filter, RouteTable, Subnet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const EXISTING_VPC: &str = "ec2_existing_vpc";
pub const EXISTING_SUBNET: &str = "ec2_existing_subnet";

fn missing<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::error_code(e)
        .map(|c| c.contains("NotFound"))
        .unwrap_or(false)
}

async fn describe_vpc(
    ctx: &AwsContext,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::Vpc>, OpError> {
    match ctx.ec2().describe_vpcs().vpc_ids(id).send().await {
        Ok(o) => Ok(o.vpcs().first().cloned()),
        Err(e) if missing(&e) => Ok(None),
        Err(e) => Err(op("DescribeVpcs")(e)),
    }
}

async fn describe_subnet(ctx: &AwsContext, id: &str) -> Result<Option<Subnet>, OpError> {
    match ctx.ec2().describe_subnets().subnet_ids(id).send().await {
        Ok(o) => Ok(o.subnets().first().cloned()),
        Err(e) if missing(&e) => Ok(None),
        Err(e) => Err(op("DescribeSubnets")(e)),
    }
}

/// A VPC of the user's. Outputs: `cidr`.
pub struct ExistingVpc;

/// Reads only: the VPC itself, and the routes `check` proves its subnets'
/// roles by.
const EXISTING_VPC_CALLS: &[Call] = &[
    Call::read("ec2:DescribeVpcs"),
    Call::read("ec2:DescribeRouteTables"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExistingVpcInputs {
    pub id: String,
}

impl Inputs for ExistingVpcInputs {
    const KIND: &'static str = EXISTING_VPC;
}

#[tonic::async_trait]
impl Kind<AwsContext> for ExistingVpc {
    crate::engine::typed_kind!(ExistingVpcInputs);
    fn calls(&self) -> &'static [Call] {
        EXISTING_VPC_CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["cidr"]
    }
    fn referenced(&self) -> bool {
        true
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let id = &spec.typed::<ExistingVpcInputs>()?.id;
        let vpc = describe_vpc(&env.ctx, id).await?.ok_or_else(|| {
            OpError::new(format!("the VPC {id} does not exist in {}", env.ctx.region))
                .at(spec.named_by)
        })?;
        Ok(Record::new(self.name(), id, spec.inputs.clone())
            .with("cidr", vpc.cidr_block().unwrap_or_default()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe_vpc(&env.ctx, &rec.id).await?.map(|_| rec.clone()))
    }
    async fn update(
        &self,
        _: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, _: &E, _: &Record) -> Result<(), OpError> {
        // Never called (the kind is referenced); nothing to do either way.
        Ok(())
    }
}

/// A subnet of the user's. Outputs: `availability_zone`.
pub struct ExistingSubnet;

/// Reads only: the subnet (and every subnet `check` looks at).
const EXISTING_SUBNET_CALLS: &[Call] = &[Call::read("ec2:DescribeSubnets")];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExistingSubnetInputs {
    pub id: String,
    /// The VPC it must be in.
    pub vpc: String,
}

impl Inputs for ExistingSubnetInputs {
    const KIND: &'static str = EXISTING_SUBNET;
}

#[tonic::async_trait]
impl Kind<AwsContext> for ExistingSubnet {
    crate::engine::typed_kind!(ExistingSubnetInputs);
    fn calls(&self) -> &'static [Call] {
        EXISTING_SUBNET_CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["availability_zone"]
    }
    fn referenced(&self) -> bool {
        true
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["id", "vpc"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let ExistingSubnetInputs { id, vpc } = &spec.typed()?;
        let vpc = vpc.as_str();
        let s = describe_subnet(&env.ctx, id).await?.ok_or_else(|| {
            OpError::new(format!(
                "the subnet {id} does not exist in {}",
                env.ctx.region
            ))
            .at(spec.named_by)
        })?;
        if s.vpc_id() != Some(vpc) {
            return Err(OpError::new(format!(
                "the subnet {id} is in {}, not in {vpc}",
                s.vpc_id().unwrap_or("another VPC")
            ))
            .at(spec.named_by));
        }
        Ok(Record::new(self.name(), id, spec.inputs.clone()).with(
            "availability_zone",
            s.availability_zone().unwrap_or_default(),
        ))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe_subnet(&env.ctx, &rec.id)
            .await?
            .map(|_| rec.clone()))
    }
    async fn update(
        &self,
        _: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, _: &E, _: &Record) -> Result<(), OpError> {
        Ok(())
    }
}

/// What the stack puts in a group of subnets, which decides what their
/// routes must give it.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Role {
    /// Reached from the internet (a load balancer, a host with a public
    /// address): a default route to an internet gateway.
    Public,
    /// Tasks or databases that reach out (image pulls) through NAT: a
    /// default route of any kind.
    Private,
}

/// One configuration attribute naming subnets.
pub struct SubnetGroup {
    pub attribute: &'static str,
    /// One id (`subnet_id`) rather than a list.
    pub single: bool,
    pub ids: Vec<String>,
    pub role: Role,
    /// How many distinct zones the stack needs in the group (an ALB and an
    /// RDS subnet group: two).
    pub min_zones: usize,
}

impl SubnetGroup {
    fn path(&self, i: usize) -> Path {
        if self.single {
            Path::attr(self.attribute)
        } else {
            Path::attr(self.attribute).then_index(i)
        }
    }
}

/// The read-only checks of an existing network, at plan: the VPC and every
/// subnet exist, each subnet is in the VPC, each group spans the zones the
/// stack needs, and (warnings) each subnet's default route serves its role.
/// Errors name the attribute; nothing is created or changed.
pub async fn check(
    ctx: &AwsContext,
    vpc_attribute: &'static str,
    vpc: &str,
    groups: &[SubnetGroup],
) -> Diagnostics {
    let mut d = Diagnostics::default();
    match describe_vpc(ctx, vpc).await {
        Ok(Some(_)) => {}
        Ok(None) => d.error_at(
            Path::attr(vpc_attribute),
            "VPC not found",
            format!(
                "The VPC {vpc} does not exist in {} (the provider's region). Nothing was created.",
                ctx.region
            ),
        ),
        Err(e) => d.error_at(Path::attr(vpc_attribute), "Cannot check the VPC", e.message),
    }
    let tables = match route_tables(ctx, vpc).await {
        Ok(t) => t,
        Err(e) => {
            d.error_at(
                Path::attr(vpc_attribute),
                "Cannot check the VPC's routes",
                e.message,
            );
            return d;
        }
    };
    // Every subnet in one call: a filter (unlike SubnetIds) leaves a
    // missing id out instead of failing the whole call.
    let ids: BTreeSet<&String> = groups.iter().flat_map(|g| g.ids.iter()).collect();
    let found: BTreeMap<String, Subnet> = if ids.is_empty() {
        BTreeMap::new()
    } else {
        match ctx
            .ec2()
            .describe_subnets()
            .filters(
                Filter::builder()
                    .name("subnet-id")
                    .set_values(Some(ids.iter().map(|i| i.to_string()).collect()))
                    .build(),
            )
            .send()
            .await
        {
            Ok(o) => o
                .subnets()
                .iter()
                .map(|s| (s.subnet_id().unwrap_or_default().to_string(), s.clone()))
                .collect(),
            Err(e) => {
                d.error_at(
                    Path::attr(vpc_attribute),
                    "Cannot check the subnets",
                    op("DescribeSubnets")(e).message,
                );
                return d;
            }
        }
    };
    for g in groups {
        let mut zones = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let errors_before =
            d.0.iter()
                .filter(|x| x.severity == crate::schema::Severity::Error)
                .count();
        for (i, id) in g.ids.iter().enumerate() {
            if !seen.insert(id) {
                d.error_at(
                    g.path(i),
                    "Duplicate subnet",
                    format!("{id} is listed twice in {}", g.attribute),
                );
                continue;
            }
            let Some(s) = found.get(id) else {
                d.error_at(
                    g.path(i),
                    "Subnet not found",
                    format!(
                        "The subnet {id} does not exist in {}. Nothing was created.",
                        ctx.region
                    ),
                );
                continue;
            };
            if s.vpc_id() != Some(vpc) {
                d.error_at(
                    g.path(i),
                    "Subnet of another VPC",
                    format!("The subnet {id} is in {}, not in {vpc} ({vpc_attribute}). Nothing was created.", s.vpc_id().unwrap_or("another VPC")),
                );
                continue;
            }
            zones.insert(s.availability_zone().unwrap_or_default().to_string());
            let route = default_route(&tables, id);
            match (g.role, route) {
                (Role::Public, Some(t)) if t.starts_with("igw-") => {}
                (Role::Public, _) => d.warning_at(
                    g.path(i),
                    "Subnet without an internet gateway route",
                    format!("The subnet {id} has no default route (0.0.0.0/0) to an internet gateway: what the stack places there for the internet to reach ({}) would not be reachable.", g.attribute),
                ),
                (Role::Private, Some(_)) => {}
                (Role::Private, None) => d.warning_at(
                    g.path(i),
                    "Subnet without a default route",
                    format!("The subnet {id} has no default route (0.0.0.0/0, through a NAT gateway for instance): tasks there could not pull their images or reach AWS APIs, unless the VPC has endpoints for them."),
                ),
            }
        }
        // Only once every subnet of the group was found: else the missing
        // ones are the error to fix.
        let group_ok =
            d.0.iter()
                .filter(|x| x.severity == crate::schema::Severity::Error)
                .count()
                == errors_before;
        if group_ok && zones.len() < g.min_zones {
            d.error_at(
                Path::attr(g.attribute),
                "Not enough availability zones",
                format!(
                    "{} must span at least {} availability zones (a load balancer and a database subnet group need them); its subnets are in {}.",
                    g.attribute,
                    g.min_zones,
                    zones.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
    d
}

async fn route_tables(ctx: &AwsContext, vpc: &str) -> Result<Vec<RouteTable>, OpError> {
    let mut out = vec![];
    let mut pages = ctx
        .ec2()
        .describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        out.extend(
            p.map_err(op("DescribeRouteTables"))?
                .route_tables()
                .iter()
                .cloned(),
        );
    }
    Ok(out)
}

/// The target of the subnet's default route: the table associated with it,
/// else the VPC's main table (as AWS routes it).
fn default_route(tables: &[RouteTable], subnet: &str) -> Option<String> {
    let explicit = tables.iter().find(|t| {
        t.associations()
            .iter()
            .any(|a| a.subnet_id() == Some(subnet))
    });
    let table = explicit.or_else(|| {
        tables
            .iter()
            .find(|t| t.associations().iter().any(|a| a.main() == Some(true)))
    })?;
    table
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|r| {
            r.gateway_id()
                .or(r.nat_gateway_id())
                .or(r.transit_gateway_id())
                .or(r.network_interface_id())
                .or(r.vpc_peering_connection_id())
                .or(r.instance_id())
                .map(str::to_string)
        })
}

/// The components of a stack's network that others depend on: its VPC,
/// its internet gateway (the stack's own network only) and its subnets by
/// role (`public`, `private`), in the order the stack gives them.
pub struct NetworkHandles {
    pub vpc: Handle,
    pub igw: Option<Handle>,
    pub subnets: BTreeMap<String, Vec<Handle>>,
}

impl NetworkHandles {
    /// The subnets of `role` (none when the network has none).
    pub fn subnets(&self, role: &str) -> &[Handle] {
        self.subnets
            .get(role)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// Adds an existing network to `g`: `vpc` and one `subnet.<role>.<id>` per
/// subnet (keyed by id, so that adding a subnet adds one reference and
/// reordering changes nothing), each named by its attribute.
pub fn add_existing(
    g: &mut Desired,
    vpc_attribute: &'static str,
    vpc: &str,
    groups: &[(&str, &'static str, &[String])],
) -> NetworkHandles {
    let vpc_handle = g.add(
        Spec::of(
            "vpc",
            &ExistingVpcInputs {
                id: vpc.to_string(),
            },
        )
        .named_by(vpc_attribute),
    );
    let mut subnets = BTreeMap::new();
    for (role, attribute, ids) in groups {
        let mut handles: Vec<Handle> = vec![];
        let mut seen = BTreeSet::new();
        for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
            let subnet = ExistingSubnetInputs {
                id: id.clone(),
                vpc: vpc.to_string(),
            };
            handles.push(
                g.add(
                    Spec::of(format!("subnet.{role}.{id}"), &subnet)
                        .named_by(attribute)
                        .after(&vpc_handle),
                ),
            );
        }
        subnets.insert(role.to_string(), handles);
    }
    NetworkHandles {
        vpc: vpc_handle,
        igw: None,
        subnets,
    }
}

crate::schema::config::words! {
    /// How many NAT gateways a stack's own network has (its `nat_gateways`).
    pub enum NatGateways {
        /// Private subnets without a default route (VPC endpoints only).
        None = "none",
        /// One, in the first zone, shared by every zone's private subnets.
        Single = "single",
        /// One per zone, each zone's private subnets routed through their own.
        PerZone = "per_az",
    }
}

/// Per zone, in zone order, the zone with its public and private blocks:
/// `OwnNetwork::zones`. A zone without a block gets an empty one, which
/// AWS refuses; the stacks' validation has refused such a configuration
/// at plan.
pub fn zone_blocks(
    zones: &[String],
    public_cidrs: &[String],
    private_cidrs: &[String],
) -> Vec<(String, String, String)> {
    let block = |cidrs: &[String], i: usize| cidrs.get(i).cloned().unwrap_or_default();
    zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.clone(), block(public_cidrs, i), block(private_cidrs, i)))
        .collect()
}

/// A stack's own network as its configuration gives it.
pub struct OwnNetwork<'a> {
    pub vpc_cidr: &'a str,
    /// Per zone, in zone order: (zone, public subnet's block, private
    /// subnet's block), as `zone_blocks` gives them.
    pub zones: Vec<(String, String, String)>,
    pub nat: NatGateways,
    /// Extra tags of the public and of the private subnets (the ones a
    /// Kubernetes load balancer controller picks subnets by).
    pub public_subnet_tags: Vec<(String, String)>,
    pub private_subnet_tags: Vec<(String, String)>,
    /// The region of an S3 gateway endpoint on the private route tables
    /// (S3 traffic then stays off the NAT gateway); None: no endpoint.
    pub s3_endpoint: Option<&'a str>,
}

/// Adds a stack's own network to `g`: a VPC; per zone a public and a
/// private subnet, keyed by zone (appending a zone adds, never replaces);
/// an internet gateway and the public route table; the NAT gateways with
/// their addresses; the private route tables (one per zone with a NAT
/// gateway per zone, else one); the S3 endpoint. Returns the handles and
/// the private route tables.
pub fn add_own(g: &mut Desired, net: &OwnNetwork) -> (NetworkHandles, Vec<Handle>) {
    let vpc = g.add(Spec::of(
        "vpc",
        &VpcInputs {
            cidr: net.vpc_cidr.to_string(),
            dns_hostnames: true,
        },
    ));
    let igw = g.add(Spec::of("igw", &InternetGatewayInputs { attached: true }).after(&vpc));
    let subnet = |key: String, cidr: &str, zone: &str, public: bool, tags: &[(String, String)]| {
        let inputs = SubnetInputs {
            cidr: cidr.to_string(),
            availability_zone: Some(zone.to_string()),
            public,
        };
        tags.iter()
            .fold(Spec::of(key, &inputs).after(&vpc), |s, (k, v)| {
                s.tag(k.clone(), v.clone())
            })
    };
    let (mut public, mut private) = (vec![], vec![]);
    for (z, public_cidr, private_cidr) in &net.zones {
        public.push(g.add(subnet(
            format!("subnet.public.{z}"),
            public_cidr,
            z,
            true,
            &net.public_subnet_tags,
        )));
        private.push(g.add(subnet(
            format!("subnet.private.{z}"),
            private_cidr,
            z,
            false,
            &net.private_subnet_tags,
        )));
    }
    g.add(
        Spec::of(
            "rtb.public",
            &RouteTableInputs {
                route: DefaultRoute::Igw,
            },
        )
        .after(&vpc)
        .after(&igw)
        .filling_each("subnets", &public, Update),
    );
    let nat_zones = match net.nat {
        NatGateways::None => 0,
        NatGateways::Single => 1.min(net.zones.len()),
        NatGateways::PerZone => net.zones.len(),
    };
    let mut nats = vec![];
    for (i, (z, _, _)) in net.zones.iter().enumerate().take(nat_zones) {
        let eip = g.add(
            Spec::of(
                format!("eip.nat.{z}"),
                &ElasticIpInputs {
                    associated: None,
                    purpose: Some("nat".into()),
                },
            )
            .after(&igw),
        );
        nats.push(
            g.add(
                Spec::of(format!("nat.{z}"), &NatGatewayInputs {})
                    .filling("subnet", &public[i], Replace)
                    .after(&eip)
                    .after(&igw),
            ),
        );
    }
    let through_nat = RouteTableInputs {
        route: if nats.is_empty() {
            DefaultRoute::None
        } else {
            DefaultRoute::Nat
        },
    };
    let tables: Vec<Handle> = if net.nat == NatGateways::PerZone {
        let table = |i: usize, z: &str| {
            Spec::of(format!("rtb.private.{z}"), &through_nat)
                .after(&vpc)
                .after_update(&nats[i])
                .filling_each("subnets", [&private[i]], Update)
        };
        net.zones
            .iter()
            .enumerate()
            .map(|(i, (z, _, _))| g.add(table(i, z)))
            .collect()
    } else {
        vec![g.add(
            Spec::of("rtb.private", &through_nat)
                .after(&vpc)
                .after_each(nats.first(), Update)
                .filling_each("subnets", &private, Update),
        )]
    };
    if let Some(region) = net.s3_endpoint {
        let endpoint = VpcEndpointInputs {
            service: format!("com.amazonaws.{region}.s3"),
        };
        g.add(Spec::of("s3.endpoint", &endpoint).after(&vpc).filling_each(
            "route_tables",
            &tables,
            Update,
        ));
    }
    (
        NetworkHandles {
            vpc,
            igw: Some(igw),
            subnets: BTreeMap::from([
                ("public".to_string(), public),
                ("private".to_string(), private),
            ]),
        },
        tables,
    )
}

/// Where a stack's zones come from: its default letters (the attribute is
/// unset), a list attribute, or a single-zone attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneSource {
    Default,
    List,
    Single,
}

/// The zones a stack's own network is to be built in (configured, or the
/// stack's default letters), checked at plan with one read-only
/// DescribeAvailabilityZones of their region: a zone the region does not
/// offer this account (us-west-1 has no `b` for most accounts,
/// ap-northeast-1 no `b`) is refused on `attribute` before anything is
/// created, instead of failing the first CreateSubnet mid-apply.
pub async fn check_zones(
    ctx: &AwsContext,
    attribute: &str,
    zones: &[String],
    source: ZoneSource,
) -> Diagnostics {
    match offered_zones(ctx).await {
        Ok(offered) => zone_diags(&ctx.region, attribute, zones, source, offered),
        Err(e) => {
            let mut d = Diagnostics::default();
            d.warning_at(
                Path::attr(attribute),
                "Cannot check the availability zones",
                format!(
                    "{}; the zones {} are used unchecked.",
                    e.message,
                    zones.join(", ")
                ),
            );
            d
        }
    }
}

/// The zones the context's region offers this account, as (name, state),
/// by name; Local and Wavelength zones carry no subnets of a stack's VPC
/// and are left out. One DescribeAvailabilityZones per region and provider
/// process: a failure is not kept, the next caller asks again.
pub async fn offered_zones(ctx: &AwsContext) -> Result<&[(String, String)], OpError> {
    let zones = ctx
        .offered_zones
        .get_or_try_init(|| async {
            let o = ctx
                .ec2()
                .describe_availability_zones()
                .send()
                .await
                .map_err(op("DescribeAvailabilityZones"))?;
            let mut offered: Vec<(String, String)> = o
                .availability_zones()
                .iter()
                .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
                .map(|z| {
                    (
                        z.zone_name().unwrap_or_default().to_string(),
                        z.state()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_else(|| "available".into()),
                    )
                })
                .collect();
            offered.sort();
            Ok::<_, OpError>(offered)
        })
        .await?;
    Ok(zones)
}

/// The zones of the context's region a new network takes when its zones
/// are unset: the first `count` available zones by name. ap-northeast-1
/// gives `a` and `c` where fixed letters would have asked for a `b` it
/// does not have. An error names the attribute when the region offers
/// fewer than `count`.
pub async fn default_zones(
    ctx: &AwsContext,
    attribute: &str,
    count: usize,
) -> Result<Vec<String>, Diagnostic> {
    let offered = offered_zones(ctx).await.map_err(|e| {
        Diagnostic::error(
            "Cannot look up the availability zones",
            format!("{}; set `{attribute}` to choose them.", e.message),
        )
        .at(Path::attr(attribute))
    })?;
    let names: Vec<String> = offered
        .iter()
        .filter(|(_, state)| state == "available")
        .map(|(name, _)| name.clone())
        .collect();
    if names.len() < count {
        return Err(Diagnostic::error(
            "Not enough availability zones",
            format!(
                "{} offers this account {} available zones ({}); the stack spreads over {count}. Choose another region. Nothing was created.",
                ctx.region,
                names.len(),
                names.join(", ")
            ),
        )
        .at(Path::attr(attribute)));
    }
    Ok(names.into_iter().take(count).collect())
}

/// Errors for zones `region` does not offer, warnings for offered zones
/// that are not `available` (impaired: the stack keeps what it has there).
fn zone_diags(
    region: &str,
    attribute: &str,
    zones: &[String],
    source: ZoneSource,
    offered: &[(String, String)],
) -> Diagnostics {
    let mut d = Diagnostics::default();
    let names: Vec<&str> = offered.iter().map(|(n, _)| n.as_str()).collect();
    for (i, z) in zones.iter().enumerate() {
        let path = if source == ZoneSource::List {
            Path::attr(attribute).then_index(i)
        } else {
            Path::attr(attribute)
        };
        match offered.iter().find(|(n, _)| n == z) {
            None => {
                let how = if source == ZoneSource::Default {
                    format!("`{attribute}` is unset, so the stack took the default zones {}: set it to zones of that list.", zones.join(", "))
                } else {
                    "Choose zones of that list.".to_string()
                };
                d.error_at(
                    path,
                    "Availability zone not offered",
                    format!("{region} offers this account no zone {z}; its zones are {}. {how} Nothing was created.", names.join(", ")),
                );
            }
            Some((_, state)) if state != "available" => {
                d.warning_at(path, "Availability zone not available", format!("{z} is {state} in {region}: creating subnets or instances there may fail until AWS restores it."));
            }
            Some(_) => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{Route, RouteTableAssociation};

    fn table(main: bool, subnet: Option<&str>, target: Option<&str>) -> RouteTable {
        let mut a = RouteTableAssociation::builder().main(main);
        if let Some(s) = subnet {
            a = a.subnet_id(s);
        }
        let mut t = RouteTable::builder().associations(a.build());
        if let Some(g) = target {
            let r = Route::builder().destination_cidr_block("0.0.0.0/0");
            t = t.routes(if g.starts_with("nat-") {
                r.nat_gateway_id(g).build()
            } else {
                r.gateway_id(g).build()
            });
        }
        t.build()
    }

    fn offered(zs: &[(&str, &str)]) -> Vec<(String, String)> {
        zs.iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect()
    }

    #[test]
    fn a_zone_the_region_does_not_offer_is_refused_on_its_attribute() {
        let us_west_1 = offered(&[("us-west-1a", "available"), ("us-west-1c", "available")]);
        let defaults = vec!["us-west-1a".to_string(), "us-west-1b".to_string()];
        let d = zone_diags(
            "us-west-1",
            "availability_zones",
            &defaults,
            ZoneSource::Default,
            &us_west_1,
        );
        assert_eq!(d.0.len(), 1, "{:?}", d.0);
        let e = &d.0[0];
        assert_eq!(
            e.path.as_ref().map(|p| p.to_string()).as_deref(),
            Some("availability_zones")
        );
        assert!(
            e.detail.contains("no zone us-west-1b")
                && e.detail.contains("us-west-1a, us-west-1c")
                && e.detail.contains("is unset"),
            "{}",
            e.detail
        );
        assert!(d.has_errors());

        let configured = vec!["us-west-1c".to_string(), "us-west-1b".to_string()];
        let d = zone_diags(
            "us-west-1",
            "primary_availability_zones",
            &configured,
            ZoneSource::List,
            &us_west_1,
        );
        assert_eq!(
            d.0.iter()
                .map(|e| e.path.as_ref().unwrap().to_string())
                .collect::<Vec<_>>(),
            vec!["primary_availability_zones[1]"]
        );
        assert!(d.0[0].detail.contains("Choose zones of that list"));
    }

    #[test]
    fn offered_zones_pass_and_an_impaired_one_only_warns() {
        let zones = vec!["eu-west-1a".to_string(), "eu-west-1b".to_string()];
        assert!(zone_diags(
            "eu-west-1",
            "availability_zones",
            &zones,
            ZoneSource::Default,
            &offered(&[("eu-west-1a", "available"), ("eu-west-1b", "available")])
        )
        .0
        .is_empty());
        let d = zone_diags(
            "eu-west-1",
            "availability_zones",
            &zones,
            ZoneSource::List,
            &offered(&[("eu-west-1a", "available"), ("eu-west-1b", "impaired")]),
        );
        assert!(
            !d.has_errors() && d.0.len() == 1 && d.0[0].detail.contains("impaired"),
            "{:?}",
            d.0
        );
    }

    #[test]
    fn a_subnet_routes_through_its_own_table_else_the_main_one() {
        let tables = vec![
            table(true, None, Some("igw-1")),
            table(false, Some("subnet-private"), Some("nat-1")),
            table(false, Some("subnet-isolated"), None),
        ];
        assert_eq!(
            default_route(&tables, "subnet-private").as_deref(),
            Some("nat-1")
        );
        assert_eq!(
            default_route(&tables, "subnet-public").as_deref(),
            Some("igw-1"),
            "no table of its own: the main table's route"
        );
        assert_eq!(default_route(&tables, "subnet-isolated"), None);
        assert_eq!(
            default_route(&[table(false, Some("x"), Some("igw-1"))], "subnet-other"),
            None,
            "no main table, no route"
        );
    }

    #[test]
    fn existing_network_specs_are_keyed_by_subnet_id_and_named_by_their_attribute() {
        let public = vec!["subnet-a".to_string(), "subnet-b".to_string()];
        let private = vec!["subnet-c".to_string(), "subnet-c".to_string()];
        let mut g = crate::engine::Desired::new();
        let net = super::add_existing(
            &mut g,
            "vpc_id",
            "vpc-1",
            &[
                ("public", "public_subnet_ids", &public),
                ("private", "private_subnet_ids", &private),
            ],
        );
        let keys = |role: &str| {
            net.subnets(role)
                .iter()
                .map(|h| h.key().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys("public"),
            vec!["subnet.public.subnet-a", "subnet.public.subnet-b"]
        );
        assert_eq!(
            keys("private"),
            vec!["subnet.private.subnet-c"],
            "a repeated id is one reference"
        );
        assert_eq!(net.vpc.key(), "vpc");
        let specs = g.into_specs();
        assert_eq!(specs.len(), 4);
        assert!(specs.iter().all(|s| s.kind == EXISTING_VPC
            || (s.kind == EXISTING_SUBNET && s.input("vpc") == "vpc-1" && s.deps[0].key == "vpc")));
        assert_eq!(
            specs
                .iter()
                .find(|s| s.key == "subnet.private.subnet-c")
                .unwrap()
                .named_by,
            Some("private_subnet_ids")
        );
    }

    fn described(
        zones: &[(&str, &str, &str)],
    ) -> aws_sdk_ec2::operation::describe_availability_zones::DescribeAvailabilityZonesOutput {
        use aws_sdk_ec2::types::{AvailabilityZone, AvailabilityZoneState};
        let mut o = aws_sdk_ec2::operation::describe_availability_zones::DescribeAvailabilityZonesOutput::builder();
        for (name, state, kind) in zones {
            o = o.availability_zones(
                AvailabilityZone::builder()
                    .zone_name(*name)
                    .state(AvailabilityZoneState::from(*state))
                    .zone_type(*kind)
                    .build(),
            );
        }
        o.build()
    }

    #[tokio::test]
    async fn default_zones_are_the_first_available_ones_by_name() {
        use aws_smithy_mocks::mock;
        // ap-northeast-1 has no `b`; an impaired zone and a Local Zone are skipped.
        let answer = || {
            described(&[
                ("ap-northeast-1d", "available", "availability-zone"),
                ("ap-northeast-1a", "impaired", "availability-zone"),
                ("ap-northeast-1-tpe-1a", "available", "local-zone"),
                ("ap-northeast-1c", "available", "availability-zone"),
            ])
        };
        let describe = mock!(aws_sdk_ec2::Client::describe_availability_zones).then_output(answer);
        let env = super::super::mocked::env_over!(ec2, aws_sdk_ec2, &[&describe]);
        let zones = default_zones(&env.ctx, "availability_zones", 2)
            .await
            .unwrap();
        assert_eq!(zones, vec!["ap-northeast-1c", "ap-northeast-1d"]);
        // The plan's zone check that follows asks AWS nothing more.
        assert!(
            check_zones(&env.ctx, "availability_zones", &zones, ZoneSource::List)
                .await
                .0
                .is_empty()
        );
        assert_eq!(
            describe.num_calls(),
            1,
            "one DescribeAvailabilityZones for the lookup and the check"
        );
        // Three wanted, two offered: refused on the attribute, naming them.
        let describe = mock!(aws_sdk_ec2::Client::describe_availability_zones).then_output(answer);
        let env = super::super::mocked::env_over!(ec2, aws_sdk_ec2, &[&describe]);
        let e = default_zones(&env.ctx, "secondary_availability_zones", 3)
            .await
            .unwrap_err();
        assert_eq!(e.summary, "Not enough availability zones");
        assert!(
            e.detail
                .contains("2 available zones (ap-northeast-1c, ap-northeast-1d)")
                && e.detail.contains("over 3"),
            "{}",
            e.detail
        );
    }

    /// What each spec of an own network waits on, by key.
    fn wiring(net: &OwnNetwork) -> BTreeMap<String, (serde_json::Value, Vec<String>)> {
        let mut g = Desired::new();
        add_own(&mut g, net);
        g.specs()
            .iter()
            .map(|s| {
                (
                    s.key.clone(),
                    (
                        s.inputs.clone(),
                        s.deps.iter().map(|d| d.key.clone()).collect(),
                    ),
                )
            })
            .collect()
    }

    fn three_zones(nat: NatGateways, s3_endpoint: Option<&str>) -> OwnNetwork<'_> {
        let zones: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|z| format!("eu-west-1{z}"))
            .collect();
        let blocks = |base: u8| {
            (0..3)
                .map(|i| format!("10.0.{}.0/24", base + i))
                .collect::<Vec<_>>()
        };
        OwnNetwork {
            vpc_cidr: "10.0.0.0/16",
            zones: zone_blocks(&zones, &blocks(0), &blocks(10)),
            nat,
            public_subnet_tags: vec![("kubernetes.io/role/elb".into(), "1".into())],
            private_subnet_tags: vec![],
            s3_endpoint,
        }
    }

    #[test]
    fn an_own_network_routes_each_zone_through_its_own_nat_or_the_shared_one() {
        let per_zone = wiring(&three_zones(NatGateways::PerZone, Some("eu-west-1")));
        for z in ["a", "b", "c"] {
            let (inputs, deps) = &per_zone[&format!("rtb.private.eu-west-1{z}")];
            assert_eq!(inputs["route"], "nat");
            assert!(
                deps.contains(&format!("nat.eu-west-1{z}"))
                    && deps.contains(&format!("subnet.private.eu-west-1{z}")),
                "{z}: {deps:?}"
            );
            assert_eq!(
                deps.iter().filter(|d| d.starts_with("nat.")).count(),
                1,
                "{z}: its zone's NAT gateway only"
            );
        }
        assert!(!per_zone.contains_key("rtb.private"));
        let (_, endpoint) = &per_zone["s3.endpoint"];
        assert_eq!(
            endpoint
                .iter()
                .filter(|d| d.starts_with("rtb.private."))
                .count(),
            3,
            "the endpoint is on every private table"
        );

        let single = wiring(&three_zones(NatGateways::Single, None));
        assert_eq!(
            single
                .keys()
                .filter(|k| k.starts_with("nat."))
                .collect::<Vec<_>>(),
            vec!["nat.eu-west-1a"]
        );
        let (inputs, deps) = &single["rtb.private"];
        assert_eq!(inputs["route"], "nat");
        assert_eq!(
            deps.iter()
                .filter(|d| d.starts_with("subnet.private."))
                .count(),
            3
        );
        assert!(!single.contains_key("s3.endpoint"));

        let none = wiring(&three_zones(NatGateways::None, None));
        assert!(!none
            .keys()
            .any(|k| k.starts_with("nat.") || k.starts_with("eip.")));
        assert_eq!(
            none["rtb.private"].0["route"], "none",
            "no default route without a NAT gateway"
        );
        assert_eq!(
            none["subnet.public.eu-west-1b"].0["cidr"], "10.0.1.0/24",
            "each zone gets its own block"
        );
        assert_eq!(none["subnet.private.eu-west-1b"].0["cidr"], "10.0.11.0/24");
    }
}
