//! EC2 and VPC components.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, spec_tags, tags_for, E};
use crate::aws::error_code;
use crate::engine::{Kind, Need, OpError, Record, Records, Spec, Timeouts, Waiter, GONE};
use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};
use crate::provider::AwsContext;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, BlockDeviceMapping, DomainType, EbsBlockDevice, Filter, HttpTokensState, IamInstanceProfileSpecification, InstanceInterruptionBehavior,
    InstanceMarketOptionsRequest, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName, IpPermission, IpRange, MarketType, NatGatewayState,
    ResourceType, SpotInstanceType, SpotMarketOptions, Tag, TagSpecification, UserIdGroupPair, VolumeType, VpcAttributeName,
};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::time::Duration;

fn tag_spec(env: &E, spec: &Spec, rt: ResourceType) -> TagSpecification {
    tag_spec_of(spec_tags(env, spec), rt)
}

fn tag_spec_of(tags: BTreeMap<String, String>, rt: ResourceType) -> TagSpecification {
    let tags = tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    TagSpecification::builder().resource_type(rt).set_tags(Some(tags)).build()
}

fn own_filters(env: &E, key: &str) -> Vec<Filter> {
    vec![Filter::builder().name(format!("tag:{TAG_STACK_ID}")).values(&env.stack_id).build(), Filter::builder().name(format!("tag:{TAG_COMPONENT}")).values(key).build()]
}

/// True when `tags` name this stack and component.
fn own_tags(tags: &[Tag], env: &E, key: &str) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key() == Some(k) && t.value() == Some(v));
    has(TAG_STACK_ID, &env.stack_id) && has(TAG_COMPONENT, key)
}

fn not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    error_code(e).map(|c| c.contains("NotFound")).unwrap_or(false)
}

fn dependency_violation<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>) -> bool {
    crate::aws::code_in(e, &["DependencyViolation", "InvalidIPAddress.InUse", "IncorrectState", "VolumeInUse"])
}

const DEP_RETRY: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------- VPC

pub struct Vpc;

#[tonic::async_trait]
impl Kind<AwsContext> for Vpc {
    fn name(&self) -> &'static str {
        "ec2_vpc"
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["cidr"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2.create_vpc().cidr_block(spec.str("cidr")).tag_specifications(tag_spec(env, spec, ResourceType::Vpc)).send().await.map_err(op("CreateVpc"))?;
        let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone());
        set_dns_hostnames(env, &id).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let cidr = match env.ctx.ec2().describe_vpcs().vpc_ids(&rec.id).send().await {
            Ok(o) => match o.vpcs().first() {
                Some(v) => v.cidr_block().unwrap_or_default().to_string(),
                None => return Ok(None),
            },
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeVpcs")(e)),
        };
        let mut r = rec.clone();
        r.inputs["cidr"] = json!(cidr);
        // Instances get public DNS names only with this attribute on.
        let a = env.ctx.ec2().describe_vpc_attribute().vpc_id(&rec.id).attribute(VpcAttributeName::EnableDnsHostnames).send().await.map_err(op("DescribeVpcAttribute"))?;
        r.inputs["dns_hostnames"] = json!(a.enable_dns_hostnames().and_then(|v| v.value()).unwrap_or(false));
        Ok(Some(r))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        if spec.input("dns_hostnames").as_bool() == Some(true) && old.inputs["dns_hostnames"].as_bool() != Some(true) {
            set_dns_hostnames(env, &old.id).await?;
        }
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let r = env.retry(DEP_RETRY, dependency_violation, || env.ctx.ec2().delete_vpc().vpc_id(&rec.id).send()).await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteVpc")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_vpcs().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeVpcs"))?;
        Ok(o.vpcs().first().map(|v| Record::new(self.name(), v.vpc_id().unwrap_or_default(), json!({"cidr": v.cidr_block()}))))
    }
}

async fn set_dns_hostnames(env: &E, vpc: &str) -> Result<(), OpError> {
    env.ctx.ec2().modify_vpc_attribute().vpc_id(vpc).enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build()).send().await.map_err(op("ModifyVpcAttribute"))?;
    Ok(())
}

// ---------------------------------------------------------------- Internet gateway

pub struct InternetGateway;

#[tonic::async_trait]
impl Kind<AwsContext> for InternetGateway {
    fn name(&self) -> &'static str {
        "ec2_internet_gateway"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::VPC]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2.create_internet_gateway().tag_specifications(tag_spec(env, spec, ResourceType::InternetGateway)).send().await.map_err(op("CreateInternetGateway"))?;
        let id = out.internet_gateway().and_then(|g| g.internet_gateway_id()).unwrap_or_default().to_string();
        let vpc = &super::need::VPC.the(deps)?.id;
        let rec = Record::new(self.name(), &id, spec.inputs.clone()).with("vpc_id", vpc);
        ec2.attach_internet_gateway().internet_gateway_id(&id).vpc_id(vpc).send().await.map_err(|e| OpError::from(op("AttachInternetGateway")(e)).partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_internet_gateways().internet_gateway_ids(&rec.id).send().await {
            Ok(o) => Ok(o.internet_gateways().first().map(|g| {
                // Detached out of band, the gateway routes nothing: the
                // update attaches it again.
                let vpc = g.attachments().first().and_then(|a| a.vpc_id()).unwrap_or_default();
                let mut r = rec.clone().with("vpc_id", vpc);
                r.inputs["attached"] = json!(!vpc.is_empty());
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeInternetGateways")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let vpc = &super::need::VPC.the(deps)?.id;
        if old.out("vpc_id") != vpc {
            if !old.out("vpc_id").is_empty() {
                env.ctx.ec2().detach_internet_gateway().internet_gateway_id(&old.id).vpc_id(old.out("vpc_id")).send().await.map_err(op("DetachInternetGateway"))?;
            }
            env.ctx.ec2().attach_internet_gateway().internet_gateway_id(&old.id).vpc_id(vpc).send().await.map_err(op("AttachInternetGateway"))?;
        }
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() }.with("vpc_id", vpc))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2.describe_internet_gateways().internet_gateway_ids(&rec.id).send().await {
            for g in o.internet_gateways() {
                for a in g.attachments() {
                    if let Some(v) = a.vpc_id() {
                        let r = env.retry(DEP_RETRY, dependency_violation, || ec2.detach_internet_gateway().internet_gateway_id(&rec.id).vpc_id(v).send()).await;
                        if let Err(e) = r {
                            if !not_found(&e) {
                                return Err(op("DetachInternetGateway")(e));
                            }
                        }
                    }
                }
            }
        }
        match ec2.delete_internet_gateway().internet_gateway_id(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteInternetGateway")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_internet_gateways().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeInternetGateways"))?;
        Ok(o.internet_gateways().first().map(|g| {
            let vpc = g.attachments().first().and_then(|a| a.vpc_id()).unwrap_or_default();
            let mut inputs = spec.inputs.clone();
            inputs["attached"] = json!(!vpc.is_empty());
            Record::new(self.name(), g.internet_gateway_id().unwrap_or_default(), inputs).with("vpc_id", vpc)
        }))
    }
}

// ---------------------------------------------------------------- Subnet

pub struct Subnet;

#[tonic::async_trait]
impl Kind<AwsContext> for Subnet {
    fn name(&self) -> &'static str {
        "ec2_subnet"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::VPC]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(10, 10, 20)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["cidr", "availability_zone"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let mut req = ec2.create_subnet().vpc_id(&super::need::VPC.the(deps)?.id).cidr_block(spec.str("cidr")).tag_specifications(tag_spec(env, spec, ResourceType::Subnet));
        if let Some(az) = spec.input("availability_zone").as_str() {
            req = req.availability_zone(az);
        }
        let out = req.send().await.map_err(op("CreateSubnet"))?;
        let s = out.subnet();
        let id = s.and_then(|s| s.subnet_id()).unwrap_or_default().to_string();
        let az = s.and_then(|s| s.availability_zone()).unwrap_or_default().to_string();
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = json!(az);
        let rec = Record::new(self.name(), &id, inputs).with("availability_zone", &az);
        if spec.input("public").as_bool() == Some(true) {
            // Recorded as not public until AWS has said yes: the next
            // apply then sets it.
            let mut before = rec.clone();
            before.inputs["public"] = json!(false);
            set_public_ips(env, &id, true).await.map_err(|e| e.partial(before))?;
        }
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_subnets().subnet_ids(&rec.id).send().await {
            Ok(o) => Ok(o.subnets().first().map(|s| {
                let mut r = rec.clone();
                r.inputs["cidr"] = json!(s.cidr_block());
                r.inputs["availability_zone"] = json!(s.availability_zone());
                if rec.inputs.get("public").is_some() {
                    r.inputs["public"] = json!(s.map_public_ip_on_launch().unwrap_or(false));
                }
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeSubnets")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        if let Some(public) = spec.input("public").as_bool() {
            if old.inputs.get("public").and_then(|v| v.as_bool()) != Some(public) {
                set_public_ips(env, &old.id, public).await?;
            }
        }
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = old.inputs["availability_zone"].clone();
        Ok(Record { inputs, ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.retry(DEP_RETRY, dependency_violation, || env.ctx.ec2().delete_subnet().subnet_id(&rec.id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteSubnet")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_subnets().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeSubnets"))?;
        Ok(o.subnets().first().map(|s| {
            let mut inputs = spec.inputs.clone();
            inputs["cidr"] = json!(s.cidr_block());
            inputs["availability_zone"] = json!(s.availability_zone());
            Record::new(self.name(), s.subnet_id().unwrap_or_default(), inputs).with("availability_zone", s.availability_zone().unwrap_or_default())
        }))
    }
}

/// Whether instances launched in the subnet get a public address.
async fn set_public_ips(env: &E, subnet: &str, on: bool) -> Result<(), OpError> {
    env.ctx
        .ec2()
        .modify_subnet_attribute()
        .subnet_id(subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map_err(op("ModifySubnetAttribute"))?;
    Ok(())
}

// ---------------------------------------------------------------- Route table

/// A route table associated with its subnets, whose default route goes to
/// its internet gateway dependency (public), to its NAT gateway (private),
/// or nowhere (isolated). Registered as `ec2_public_route_table` (the
/// Docker host's: its one subnet is any subnet dependency) and
/// `ec2_route_table` (its subnets are the slot `subnets`, so a subnet
/// added or left out is a change of that input).
pub struct RouteTable {
    name: &'static str,
    needs: &'static [Need],
}

const ROUTED_SUBNETS: Need = super::need::SUBNETS.in_slot("subnets");
pub const PUBLIC_ROUTE_TABLE: RouteTable = RouteTable { name: "ec2_public_route_table", needs: &[super::need::VPC, INTERNET_GATEWAY, NAT_GATEWAY, super::need::SUBNETS] };
pub const ROUTE_TABLE: RouteTable = RouteTable { name: "ec2_route_table", needs: &[super::need::VPC, INTERNET_GATEWAY, NAT_GATEWAY, ROUTED_SUBNETS] };

enum Target<'a> {
    Gateway(&'a str),
    Nat(&'a str),
}

/// What a route table's dependencies can route to (at most one of each).
const INTERNET_GATEWAY: Need = Need::optional("internet gateway", &["ec2_internet_gateway"]);
const NAT_GATEWAY: Need = Need::optional("NAT gateway", &["ec2_nat_gateway"]);

fn route_target(deps: &Records) -> Result<Option<Target<'_>>, OpError> {
    if let Some(g) = INTERNET_GATEWAY.maybe(deps)? {
        return Ok(Some(Target::Gateway(&g.id)));
    }
    Ok(NAT_GATEWAY.maybe(deps)?.map(|r| Target::Nat(&r.id)))
}

impl RouteTable {
    /// The subnets need of this registration (the last of its needs).
    fn subnets(&self) -> Need {
        self.needs[self.needs.len() - 1]
    }
    async fn associate(&self, env: &E, id: &str, spec: &Spec, deps: &Records, already: &[String]) -> Result<(), OpError> {
        for subnet in self.subnets().ids_in(spec, deps)? {
            if !already.contains(&subnet) {
                env.ctx.ec2().associate_route_table().route_table_id(id).subnet_id(&subnet).send().await.map_err(op("AssociateRouteTable"))?;
            }
        }
        Ok(())
    }
    async fn set_default_route(env: &E, id: &str, deps: &Records, exists: bool) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        match (route_target(deps)?, exists) {
            (Some(Target::Gateway(g)), false) => {
                ec2.create_route().route_table_id(id).destination_cidr_block("0.0.0.0/0").gateway_id(g).send().await.map(|_| ()).map_err(op("CreateRoute"))
            }
            (Some(Target::Gateway(g)), true) => {
                ec2.replace_route().route_table_id(id).destination_cidr_block("0.0.0.0/0").gateway_id(g).send().await.map(|_| ()).map_err(op("ReplaceRoute"))
            }
            (Some(Target::Nat(n)), false) => {
                ec2.create_route().route_table_id(id).destination_cidr_block("0.0.0.0/0").nat_gateway_id(n).send().await.map(|_| ()).map_err(op("CreateRoute"))
            }
            (Some(Target::Nat(n)), true) => {
                ec2.replace_route().route_table_id(id).destination_cidr_block("0.0.0.0/0").nat_gateway_id(n).send().await.map(|_| ()).map_err(op("ReplaceRoute"))
            }
            (None, true) => ec2.delete_route().route_table_id(id).destination_cidr_block("0.0.0.0/0").send().await.map(|_| ()).map_err(op("DeleteRoute")),
            (None, false) => Ok(()),
        }
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for RouteTable {
    fn name(&self) -> &'static str {
        self.name
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        self.needs
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2
            .create_route_table()
            .vpc_id(&super::need::VPC.the(deps)?.id)
            .tag_specifications(tag_spec(env, spec, ResourceType::RouteTable))
            .send()
            .await
            .map_err(op("CreateRouteTable"))?;
        let id = out.route_table().and_then(|r| r.route_table_id()).unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone());
        Self::set_default_route(env, &id, deps, false).await.map_err(|e| e.partial(rec.clone()))?;
        self.associate(env, &id, spec, deps, &[]).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_route_tables().route_table_ids(&rec.id).send().await {
            Ok(o) => Ok(o.route_tables().first().map(|rt| {
                let mut r = rec.clone();
                let default = rt.routes().iter().find(|x| x.destination_cidr_block() == Some("0.0.0.0/0"));
                if rec.inputs.get("default_route").is_some() {
                    // The Docker host's public table records only that the route exists.
                    r.inputs["default_route"] = json!(default.map(|x| x.gateway_id().is_some()).unwrap_or(false));
                }
                if rec.inputs.get("route").is_some() {
                    let target = default.map(|x| {
                        if x.nat_gateway_id().is_some() {
                            "nat"
                        } else if x.gateway_id().is_some() {
                            "igw"
                        } else {
                            "other"
                        }
                    });
                    r.inputs["route"] = json!(target.unwrap_or("none"));
                }
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeRouteTables")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let o = ec2.describe_route_tables().route_table_ids(&old.id).send().await.map_err(op("DescribeRouteTables"))?;
        if let Some(rt) = o.route_tables().first() {
            let exists = rt.routes().iter().any(|x| x.destination_cidr_block() == Some("0.0.0.0/0"));
            Self::set_default_route(env, &old.id, deps, exists).await?;
            let associated: Vec<String> = rt.associations().iter().filter_map(|a| a.subnet_id().map(str::to_string)).collect();
            self.associate(env, &old.id, spec, deps, &associated).await?;
        }
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2.describe_route_tables().route_table_ids(&rec.id).send().await {
            for rt in o.route_tables() {
                for a in rt.associations() {
                    if a.main() != Some(true) {
                        if let Some(id) = a.route_table_association_id() {
                            let _ = ec2.disassociate_route_table().association_id(id).send().await;
                        }
                    }
                }
            }
        }
        match env.retry(DEP_RETRY, dependency_violation, || ec2.delete_route_table().route_table_id(&rec.id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteRouteTable")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_route_tables().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeRouteTables"))?;
        Ok(o.route_tables().first().map(|r| Record::new(self.name(), r.route_table_id().unwrap_or_default(), spec.inputs.clone())))
    }
}

// ---------------------------------------------------------------- NAT gateway

/// A public NAT gateway in the `subnet*` dependency with the `eip*`
/// dependency's address.
pub struct NatGateway;

/// The Elastic IP a NAT gateway takes as its public address.
const NAT_ADDRESS: Need = Need::one("Elastic IP", &["ec2_elastic_ip"]);
/// Its subnet, named by the input `subnet` (a move is a replacement).
const NAT_SUBNET: Need = super::need::SUBNET.in_slot("subnet");

const NAT_AVAILABLE: Waiter = Waiter::new("to be available", &["pending", GONE], &["available"]);
/// Its address and subnet are only free once it is gone.
const NAT_DELETED: Waiter = Waiter::new("to be deleted", &["deleting"], &["deleted", GONE]);

impl NatGateway {
    async fn state(env: &E, id: &str) -> Result<Option<(String, ())>, OpError> {
        match env.ctx.ec2().describe_nat_gateways().nat_gateway_ids(id).send().await {
            Ok(o) => Ok(o.nat_gateways().first().map(|n| (n.state().map(|s| s.as_str()).unwrap_or_default().to_string(), ()))),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeNatGateways")(e)),
        }
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for NatGateway {
    fn name(&self) -> &'static str {
        "ec2_nat_gateway"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[NAT_SUBNET, NAT_ADDRESS]
    }
    fn timeouts(&self) -> Timeouts {
        // Deleting one takes minutes on AWS.
        Timeouts::minutes(10, 10, 30)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["subnet"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let subnet = NAT_SUBNET.the_in(spec, deps)?.id.clone();
        let eip = NAT_ADDRESS.the(deps)?.id.clone();
        let out = env
            .ctx
            .ec2()
            .create_nat_gateway()
            .subnet_id(&subnet)
            .allocation_id(&eip)
            .tag_specifications(tag_spec(env, spec, ResourceType::Natgateway))
            .send()
            .await
            .map_err(op("CreateNatGateway"))?;
        let id = out.nat_gateway().and_then(|n| n.nat_gateway_id()).unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone());
        env.wait(&NAT_AVAILABLE, &format!("NAT gateway {id}"), || Self::state(env, &id)).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_nat_gateways().nat_gateway_ids(&rec.id).send().await {
            Ok(o) => Ok(o.nat_gateways().first().filter(|n| !matches!(n.state(), Some(NatGatewayState::Deleted) | Some(NatGatewayState::Deleting))).map(|_| rec.clone())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeNatGateways")(e)),
        }
    }
    async fn update(&self, _: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.ec2().delete_nat_gateway().nat_gateway_id(&rec.id).send().await {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteNatGateway")(e)),
        }
        env.wait(&NAT_DELETED, &format!("NAT gateway {}", rec.id), || Self::state(env, &rec.id)).await.map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_nat_gateways().set_filter(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeNatGateways"))?;
        // The tags are checked here too: not every endpoint honours tag filters.
        Ok(o.nat_gateways()
            .iter()
            .filter(|n| own_tags(n.tags(), env, &spec.key))
            .find(|n| matches!(n.state(), Some(NatGatewayState::Available) | Some(NatGatewayState::Pending)))
            .map(|n| Record::new(self.name(), n.nat_gateway_id().unwrap_or_default(), spec.inputs.clone())))
    }
}

// ---------------------------------------------------------------- Security group

/// Inputs: `name`, `description`, `rules`: [{protocol, from_port, to_port, cidrs, description}].
pub struct SecurityGroup;

/// One ingress permission: a protocol and port range from one peer. Rules
/// are compared and changed at this grain, so that a rule someone else adds
/// to a port the stack also opens is never mistaken for the stack's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Atom {
    protocol: String,
    from: i64,
    to: i64,
    peer: Peer,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    Cidr(String),
    Ipv6(String),
    /// A security group: its component key when it is the stack's, its id
    /// otherwise.
    Group(String),
}

/// The atoms of declared rules, each with its rule's description.
fn declared_atoms(rules: &Json) -> Vec<(Atom, String)> {
    let mut out = vec![];
    for r in rules.as_array().into_iter().flatten() {
        let (protocol, from, to) = (r["protocol"].as_str().unwrap_or("tcp").to_string(), r["from_port"].as_i64().unwrap_or(0), r["to_port"].as_i64().unwrap_or(0));
        let desc = r["description"].as_str().unwrap_or_default().to_string();
        let atom = |peer| Atom { protocol: protocol.clone(), from, to, peer };
        match r["source"].as_str() {
            Some(src) => out.push((atom(Peer::Group(src.to_string())), desc)),
            None => {
                for c in r["cidrs"].as_array().into_iter().flatten().filter_map(|c| c.as_str()) {
                    out.push((atom(Peer::Cidr(c.to_string())), desc.clone()));
                }
            }
        }
    }
    out
}

/// The atoms AWS reports; `sources` maps a group id back to its key.
fn observed_atoms(perms: &[IpPermission], sources: &BTreeMap<String, String>) -> Vec<Atom> {
    let mut out = vec![];
    for p in perms {
        let (protocol, from, to) = (p.ip_protocol().unwrap_or("tcp").to_string(), p.from_port().unwrap_or(0) as i64, p.to_port().unwrap_or(0) as i64);
        let atom = |peer| Atom { protocol: protocol.clone(), from, to, peer };
        out.extend(p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(|c| atom(Peer::Cidr(c.to_string()))));
        out.extend(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).map(|c| atom(Peer::Ipv6(c.to_string()))));
        for g in p.user_id_group_pairs() {
            let id = g.group_id().unwrap_or_default();
            out.push(atom(Peer::Group(sources.get(id).cloned().unwrap_or_else(|| id.to_string()))));
        }
    }
    out
}

fn atom_permission(a: &Atom, desc: &str, deps: &Records, recorded: &BTreeMap<String, String>) -> IpPermission {
    let b = IpPermission::builder().ip_protocol(&a.protocol).from_port(a.from as i32).to_port(a.to as i32);
    match &a.peer {
        Peer::Cidr(c) => b.ip_ranges(IpRange::builder().cidr_ip(c).description(desc).build()).build(),
        Peer::Ipv6(c) => b.ipv6_ranges(aws_sdk_ec2::types::Ipv6Range::builder().cidr_ipv6(c).description(desc).build()).build(),
        Peer::Group(key) => {
            // A key of the stack, by its current id (or the recorded one).
            let id = deps.get(key).map(group_of).or_else(|| recorded.iter().find(|(_, k)| *k == key).map(|(id, _)| id.clone())).unwrap_or_else(|| key.clone());
            b.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).description(desc).build()).build()
        }
    }
}

/// The declared rules as they are in AWS: each rule keeps only its
/// atoms that exist (a rule with none is gone). Rules others added are not
/// part of it, so they are never drift.
fn declared_view(declared: &Json, observed: &[Atom]) -> Json {
    let mut rules: Vec<Json> = vec![];
    for r in declared.as_array().into_iter().flatten() {
        let atoms = declared_atoms(&Json::Array(vec![r.clone()]));
        let present: Vec<&Atom> = atoms.iter().map(|(a, _)| a).filter(|a| observed.contains(a)).collect();
        if present.is_empty() {
            continue;
        }
        let mut r = r.clone();
        if r["source"].is_null() {
            r["cidrs"] = json!(present.iter().filter_map(|a| if let Peer::Cidr(c) = &a.peer { Some(c.clone()) } else { None }).collect::<Vec<_>>());
        }
        rules.push(r);
    }
    Json::Array(rules)
}

/// Ports whose exposure to the whole internet is a classic breach: SSH,
/// RDP, and database, cache and search engines.
const SENSITIVE_PORTS: &[(i64, &str)] = &[
    (22, "SSH"),
    (3389, "RDP"),
    (5432, "PostgreSQL"),
    (3306, "MySQL"),
    (1433, "SQL Server"),
    (6379, "Redis"),
    (11211, "Memcached"),
    (27017, "MongoDB"),
    (9200, "Elasticsearch"),
    (5601, "Kibana"),
];

/// Warnings for rules the stack did not declare that open a sensitive port
/// of the group to the whole internet.
fn open_rule_warnings(group: &str, observed: &[Atom], declared: &[(Atom, String)]) -> Vec<String> {
    let mut out = vec![];
    for a in observed.iter().filter(|a| !declared.iter().any(|(d, _)| d == *a)) {
        let world = matches!(&a.peer, Peer::Cidr(c) if c == "0.0.0.0/0") || matches!(&a.peer, Peer::Ipv6(c) if c == "::/0");
        if !world {
            continue;
        }
        let all = a.protocol == "-1";
        for (port, what) in SENSITIVE_PORTS.iter().filter(|(p, _)| all || (a.from <= *p && *p <= a.to)) {
            let src = match &a.peer {
                Peer::Cidr(c) | Peer::Ipv6(c) | Peer::Group(c) => c,
            };
            out.push(format!("the security group {group} has a rule that this stack did not declare opening port {port} ({what}) to {src}: anyone on the internet can reach it. awsstack leaves rules it did not create in place; remove that rule where it was added."));
        }
    }
    out
}

/// Records the warnings in the record's outputs (`warning.<n>`), where the
/// plan finds them.
fn with_warnings(mut rec: Record, warnings: Vec<String>) -> Record {
    rec.outputs.retain(|k, _| !k.starts_with("warning."));
    for (i, w) in warnings.into_iter().enumerate() {
        rec.outputs.insert(format!("warning.{i}"), w);
    }
    rec
}

/// Source security group id → key, for the rules' `source` dependencies.
fn source_map(rules: &Json, deps: &Records) -> BTreeMap<String, String> {
    rules.as_array().into_iter().flatten().filter_map(|r| r["source"].as_str()).filter_map(|k| deps.get(k).map(|d| (group_of(d), k.to_string()))).collect()
}

/// The security group a rule's `source` names: the dependency itself, or
/// the group it owns (its `security_group` output: an EKS cluster's, which
/// every node and pod of the cluster carries).
fn group_of(dep: &Record) -> String {
    dep.outputs.get("security_group").filter(|g| !g.is_empty()).unwrap_or(&dep.id).clone()
}

/// The same map, as remembered in a record's outputs (`source.<key>`).
fn recorded_sources(rec: &Record) -> BTreeMap<String, String> {
    rec.outputs.iter().filter_map(|(k, v)| k.strip_prefix("source.").map(|key| (v.clone(), key.to_string()))).collect()
}

fn with_sources(mut rec: Record, sources: &BTreeMap<String, String>) -> Record {
    rec.outputs.retain(|k, _| !k.starts_with("source."));
    for (id, key) in sources {
        rec.outputs.insert(format!("source.{key}"), id.clone());
    }
    rec
}

pub fn sort_rules(rules: &mut [Json]) {
    rules.sort_by_key(|r| {
        (r["from_port"].as_i64().unwrap_or(0), r["to_port"].as_i64().unwrap_or(0), r["protocol"].as_str().unwrap_or("").to_string(), r["source"].as_str().unwrap_or("").to_string())
    });
}

#[tonic::async_trait]
impl Kind<AwsContext> for SecurityGroup {
    fn name(&self) -> &'static str {
        "ec2_security_group"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::VPC]
    }
    fn timeouts(&self) -> Timeouts {
        // A delete waits for the network interfaces of what used the group
        // (load balancers, tasks) to go.
        Timeouts::minutes(10, 10, 15)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "description"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2
            .create_security_group()
            .group_name(spec.str("name"))
            .description(spec.str("description"))
            .vpc_id(&super::need::VPC.the(deps)?.id)
            .tag_specifications(tag_spec(env, spec, ResourceType::SecurityGroup))
            .send()
            .await
            .map_err(op("CreateSecurityGroup"))?;
        let id = out.group_id().unwrap_or_default().to_string();
        let sources = source_map(spec.input("rules"), deps);
        let mut rec = with_sources(Record::new(self.name(), &id, json!({"name": spec.str("name"), "description": spec.str("description"), "rules": []})), &sources);
        let perms: Vec<IpPermission> = declared_atoms(spec.input("rules")).iter().map(|(a, d)| atom_permission(a, d, deps, &sources)).collect();
        if !perms.is_empty() {
            ec2.authorize_security_group_ingress()
                .group_id(&id)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .map_err(|e| OpError::from(op("AuthorizeSecurityGroupIngress")(e)).partial(rec.clone()))?;
        }
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_security_groups().group_ids(&rec.id).send().await {
            Ok(o) => Ok(o.security_groups().first().map(|g| {
                let mut r = rec.clone();
                let observed = observed_atoms(g.ip_permissions(), &recorded_sources(rec));
                r.inputs["rules"] = declared_view(&rec.inputs["rules"], &observed);
                let warnings = open_rule_warnings(g.group_name().unwrap_or(&rec.id), &observed, &declared_atoms(&rec.inputs["rules"]));
                with_warnings(r, warnings)
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeSecurityGroups")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let cur = ec2.describe_security_groups().group_ids(&old.id).send().await.map_err(op("DescribeSecurityGroups"))?;
        let current = cur.security_groups().first().map(|g| g.ip_permissions().to_vec()).unwrap_or_default();
        // Group ids of the stack, old and new, map back to their keys.
        let mut sources = recorded_sources(old);
        let now = source_map(spec.input("rules"), deps);
        sources.extend(now.clone());
        let observed = observed_atoms(&current, &sources);
        let desired = declared_atoms(spec.input("rules"));
        let previously = declared_atoms(&old.inputs["rules"]);
        // Only what the stack declared before and no longer wants goes;
        // rules others added stay.
        let revoke: Vec<IpPermission> = previously
            .iter()
            .filter(|(a, _)| observed.contains(a) && !desired.iter().any(|(d, _)| d == a))
            .map(|(a, d)| atom_permission(a, d, &Records::new(), &sources))
            .collect();
        if !revoke.is_empty() {
            ec2.revoke_security_group_ingress().group_id(&old.id).set_ip_permissions(Some(revoke)).send().await.map_err(op("RevokeSecurityGroupIngress"))?;
        }
        let add: Vec<IpPermission> = desired.iter().filter(|(a, _)| !observed.contains(a)).map(|(a, d)| atom_permission(a, d, deps, &sources)).collect();
        if !add.is_empty() {
            ec2.authorize_security_group_ingress().group_id(&old.id).set_ip_permissions(Some(add)).send().await.map_err(op("AuthorizeSecurityGroupIngress"))?;
        }
        Ok(with_sources(Record { inputs: spec.inputs.clone(), ..old.clone() }, &now))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.retry(DEP_RETRY, dependency_violation, || env.ctx.ec2().delete_security_group().group_id(&rec.id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteSecurityGroup")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_security_groups().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeSecurityGroups"))?;
        let Some(g) = o.security_groups().first() else {
            return Ok(None);
        };
        // Source groups of the same stack map back to their component keys.
        let ids: Vec<String> = g.ip_permissions().iter().flat_map(|p| p.user_id_group_pairs()).filter_map(|x| x.group_id().map(str::to_string)).collect();
        let mut sources = BTreeMap::new();
        if !ids.is_empty() {
            let src = env.ctx.ec2().describe_security_groups().set_group_ids(Some(ids)).send().await.map_err(op("DescribeSecurityGroups"))?;
            for sg in src.security_groups() {
                let tag = |k: &str| sg.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
                if let (Some(stack), Some(key)) = (tag(TAG_STACK_ID), tag(TAG_COMPONENT)) {
                    if stack == env.stack_id {
                        sources.insert(sg.group_id().unwrap_or_default().to_string(), key);
                    }
                }
            }
        }
        let mut inputs = spec.inputs.clone();
        inputs["rules"] = declared_view(spec.input("rules"), &observed_atoms(g.ip_permissions(), &sources));
        Ok(Some(with_sources(Record::new(self.name(), g.group_id().unwrap_or_default(), inputs), &sources)))
    }
}

// ---------------------------------------------------------------- Instance

/// Inputs: `ami` (null = look up Ubuntu 22.04 for the architecture),
/// `instance_type`, `spot`, `key_name`, `user_data_sha256`, `root_volume_size`.
/// The user data itself travels in `Spec::secret`-free `user_data` input.
pub struct Instance;

/// The profile that gives an instance its role (none: no role).
const INSTANCE_PROFILE: Need = Need::optional("instance profile", &["iam_instance_profile"]);

async fn instance_state(env: &E, id: &str) -> Result<Option<aws_sdk_ec2::types::Instance>, OpError> {
    match env.ctx.ec2().describe_instances().instance_ids(id).send().await {
        Ok(o) => Ok(o.reservations().iter().flat_map(|r| r.instances()).next().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeInstances")(e)),
    }
}

const INSTANCE_RUNNING: Waiter = Waiter::new("to be running", &["pending", "stopped", GONE], &["running"]);
const INSTANCE_STOPPED: Waiter = Waiter::new("to be stopped", &["pending", "running", "stopping"], &["stopped"]);
const INSTANCE_TERMINATED: Waiter = Waiter::new("to terminate", &["pending", "running", "shutting-down", "stopping", "stopped"], &["terminated", GONE]);

/// Waits for the instance `id` as `w` declares; the instance as last seen
/// (None when the target was its absence).
async fn wait_instance(env: &E, id: &str, w: &Waiter) -> Result<Option<aws_sdk_ec2::types::Instance>, OpError> {
    env.wait(w, &format!("instance {id}"), || async {
        Ok(instance_state(env, id).await?.map(|i| (i.state().and_then(|s| s.name()).map(|n| n.as_str()).unwrap_or_default().to_string(), i)))
    })
    .await
}

/// Ubuntu 22.04 for the instance type's architecture (Graviton families such
/// as t4g, m7g, c6gd are arm64).
pub fn architecture_of(instance_type: &str) -> &'static str {
    let family = instance_type.split('.').next().unwrap_or("");
    let after_gen: String = family.chars().skip_while(|c| !c.is_ascii_digit()).skip_while(|c| c.is_ascii_digit()).collect();
    if after_gen.starts_with('g') {
        "arm64"
    } else {
        "x86_64"
    }
}

async fn lookup_ubuntu(env: &E, instance_type: &str) -> Result<String, OpError> {
    let arch = architecture_of(instance_type);
    let name = format!("ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-{}-server-*", if arch == "arm64" { "arm64" } else { "amd64" });
    let o = env
        .ctx
        .ec2()
        .describe_images()
        .owners("099720109477")
        .filters(Filter::builder().name("name").values(&name).build())
        .filters(Filter::builder().name("architecture").values(arch).build())
        .filters(Filter::builder().name("state").values("available").build())
        .send()
        .await
        .map_err(op("DescribeImages"))?;
    let mut imgs: Vec<_> = o.images().iter().collect();
    imgs.sort_by_key(|i| i.creation_date().unwrap_or_default().to_string());
    imgs.last()
        .and_then(|i| i.image_id())
        .map(str::to_string)
        .ok_or_else(|| OpError::new(format!("no Ubuntu 22.04 {arch} image found in {} (owner Canonical); set `ami_id`", env.ctx.region)))
}

#[tonic::async_trait]
impl Kind<AwsContext> for Instance {
    fn name(&self) -> &'static str {
        "ec2_instance"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::SUBNET, super::need::SECURITY_GROUPS, INSTANCE_PROFILE]
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts::minutes(10, 10, 20)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    /// The root volume is part of the instance: it follows its tag changes
    /// (it keeps its own component key and Name).
    async fn update_tags(&self, env: &E, rec: &Record, set: &crate::engine::Tags, remove: &[String]) -> Result<(), OpError> {
        use crate::engine::Cloud;
        env.ctx.update_tags(&TagRef::Ec2(rec.id.clone()), set, remove).await?;
        let Some(i) = instance_state(env, &rec.id).await? else { return Ok(()) };
        let set: crate::engine::Tags = set.iter().filter(|(k, _)| k.as_str() != TAG_COMPONENT && k.as_str() != "Name").map(|(k, v)| (k.clone(), v.clone())).collect();
        let remove: Vec<String> = remove.iter().filter(|k| k.as_str() != TAG_COMPONENT && k.as_str() != "Name").cloned().collect();
        for v in i.block_device_mappings().iter().filter_map(|m| m.ebs()).filter(|e| e.delete_on_termination() == Some(true)).filter_map(|e| e.volume_id()) {
            env.ctx.update_tags(&TagRef::Ec2(v.to_string()), &set, &remove).await?;
        }
        Ok(())
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["ami", "spot", "key_name", "user_data_sha256", "root_volume_size", "subnet"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let itype = spec.str("instance_type").to_string();
        let ami = match spec.input("ami").as_str() {
            Some(a) => a.to_string(),
            None => lookup_ubuntu(env, &itype).await?,
        };
        let ud = spec.input("user_data").as_str().unwrap_or_default();
        let ud64 = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(ud)
        };
        let root = BlockDeviceMapping::builder()
            .device_name("/dev/sda1")
            .ebs(
                EbsBlockDevice::builder()
                    .volume_size(spec.input("root_volume_size").as_i64().unwrap_or(20) as i32)
                    .volume_type(VolumeType::Gp3)
                    .encrypted(true)
                    .delete_on_termination(true)
                    .build(),
            )
            .build();
        let profile = INSTANCE_PROFILE.maybe(deps)?.map(|r| r.id.clone()).unwrap_or_default();
        let sgs = super::need::SECURITY_GROUPS.ids(deps);
        let subnet = super::need::SUBNET.the(deps)?.id.clone();
        let spot = spec.input("spot").as_bool().unwrap_or(false);
        let key_name = spec.input("key_name").as_str().map(str::to_string);
        let run = || {
            let mut req = ec2
                .run_instances()
                .image_id(&ami)
                .instance_type(aws_sdk_ec2::types::InstanceType::from(itype.as_str()))
                .min_count(1)
                .max_count(1)
                .subnet_id(&subnet)
                .set_security_group_ids(Some(sgs.clone()))
                .user_data(&ud64)
                .block_device_mappings(root.clone())
                .metadata_options(InstanceMetadataOptionsRequest::builder().http_tokens(HttpTokensState::Required).http_endpoint(InstanceMetadataEndpointState::Enabled).build())
                .tag_specifications(tag_spec(env, spec, ResourceType::Instance))
                .tag_specifications(tag_spec_of(tags_for(env, &format!("{}.root", spec.key)), ResourceType::Volume));
            if !profile.is_empty() {
                req = req.iam_instance_profile(IamInstanceProfileSpecification::builder().name(&profile).build());
            }
            if let Some(k) = &key_name {
                req = req.key_name(k);
            }
            if spot {
                req = req.instance_market_options(
                    InstanceMarketOptionsRequest::builder()
                        .market_type(MarketType::Spot)
                        .spot_options(
                            SpotMarketOptions::builder()
                                .spot_instance_type(SpotInstanceType::Persistent)
                                .instance_interruption_behavior(InstanceInterruptionBehavior::Stop)
                                .build(),
                        )
                        .build(),
                );
            }
            req.send()
        };
        // A just-created instance profile takes a moment to be visible to EC2.
        let out = env
            .retry(Duration::from_secs(120), |e| matches!(error_code(e).as_deref(), Some("InvalidParameterValue")) && format!("{e:?}").to_lowercase().contains("iam"), run)
            .await
            .map_err(op("RunInstances"))?;
        let id = out.instances().first().and_then(|i| i.instance_id()).unwrap_or_default().to_string();
        let mut inputs = spec.inputs.clone();
        inputs["ami"] = json!(ami);
        let rec = Record::new(self.name(), &id, inputs.clone());
        let inst = wait_instance(env, &id, &INSTANCE_RUNNING)
            .await
            .map_err(|e| e.partial(rec.clone()))?
            .ok_or_else(|| OpError::new(format!("instance {id} vanished")).partial(rec.clone()))?;
        Ok(instance_record(rec, &inst))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let Some(i) = instance_state(env, &rec.id).await? else {
            return Ok(None);
        };
        let state = i.state().and_then(|s| s.name()).cloned();
        if matches!(state, Some(InstanceStateName::Terminated) | Some(InstanceStateName::ShuttingDown)) {
            return Ok(None);
        }
        let mut r = rec.clone();
        if let Some(t) = i.instance_type() {
            r.inputs["instance_type"] = json!(t.as_str());
        }
        Ok(Some(instance_record(r, &i)))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, _: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let want = spec.str("instance_type");
        let cur = instance_state(env, &old.id).await?.ok_or_else(|| OpError::new(format!("instance {} no longer exists", old.id)))?;
        let mut inputs = spec.inputs.clone();
        inputs["ami"] = old.inputs["ami"].clone();
        let mut rec = Record { inputs, ..old.clone() };
        if cur.instance_type().map(|t| t.as_str()) != Some(want) {
            // Instance type changes need a stopped instance.
            let was_running = cur.state().and_then(|s| s.name()) == Some(&InstanceStateName::Running);
            ec2.stop_instances().instance_ids(&old.id).send().await.map_err(op("StopInstances"))?;
            wait_instance(env, &old.id, &INSTANCE_STOPPED).await?;
            ec2.modify_instance_attribute()
                .instance_id(&old.id)
                .instance_type(AttributeValue::builder().value(want).build())
                .send()
                .await
                .map_err(op("ModifyInstanceAttribute"))?;
            if was_running {
                ec2.start_instances().instance_ids(&old.id).send().await.map_err(op("StartInstances"))?;
                let i = wait_instance(env, &old.id, &INSTANCE_RUNNING).await?.ok_or_else(|| OpError::new(format!("instance {} vanished", old.id)))?;
                rec = instance_record(rec, &i);
            }
        }
        Ok(rec)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.ec2().terminate_instances().instance_ids(&rec.id).send().await {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("TerminateInstances")(e)),
        }
        wait_instance(env, &rec.id, &INSTANCE_TERMINATED).await.map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let mut f = own_filters(env, &spec.key);
        f.push(Filter::builder().name("instance-state-name").values("pending").values("running").values("stopping").values("stopped").build());
        let o = env.ctx.ec2().describe_instances().set_filters(Some(f)).send().await.map_err(op("DescribeInstances"))?;
        Ok(o.reservations().iter().flat_map(|r| r.instances()).next().map(|i| {
            let mut inputs = spec.inputs.clone();
            inputs["ami"] = json!(i.image_id());
            instance_record(Record::new(self.name(), i.instance_id().unwrap_or_default(), inputs), i)
        }))
    }
}

fn instance_record(mut rec: Record, i: &aws_sdk_ec2::types::Instance) -> Record {
    rec.outputs.insert("private_ip".into(), i.private_ip_address().unwrap_or_default().to_string());
    rec.outputs.insert("availability_zone".into(), i.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string());
    rec
}

// ---------------------------------------------------------------- EBS data volume

/// Inputs: `size`, `availability_zone` (from the subnet), `device`.
/// Attached to the `instance` dependency; survives instance replacement.
pub struct DataVolume;

async fn volume(env: &E, id: &str) -> Result<Option<aws_sdk_ec2::types::Volume>, OpError> {
    match env.ctx.ec2().describe_volumes().volume_ids(id).send().await {
        Ok(o) => Ok(o.volumes().first().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeVolumes")(e)),
    }
}

const VOLUME_IN_USE: Waiter = Waiter::new("to be attached", &["available"], &["in-use"]);
/// Made, or detached.
const VOLUME_AVAILABLE: Waiter = Waiter::new("to be available", &["creating", "in-use", GONE], &["available"]);
const SNAPSHOT_COMPLETED: Waiter = Waiter::new("to complete", &["pending"], &["completed"]);

async fn wait_volume(env: &E, id: &str, w: &Waiter) -> Result<(), OpError> {
    env.wait(w, &format!("volume {id}"), || async { Ok(volume(env, id).await?.map(|v| (v.state().map(|s| s.as_str()).unwrap_or_default().to_string(), ()))) }).await.map(|_| ())
}

impl DataVolume {
    async fn attach(env: &E, id: &str, instance: &str, device: &str) -> Result<(), OpError> {
        env.ctx.ec2().attach_volume().volume_id(id).instance_id(instance).device(device).send().await.map_err(op("AttachVolume"))?;
        wait_volume(env, id, &VOLUME_IN_USE).await
    }
    async fn detach(env: &E, id: &str) -> Result<(), OpError> {
        // Name the instance and device of the current attachment explicitly.
        let Some(v) = volume(env, id).await? else { return Ok(()) };
        let Some(a) = v.attachments().first() else { return Ok(()) };
        let req = env.ctx.ec2().detach_volume().volume_id(id).set_instance_id(a.instance_id().map(str::to_string)).set_device(a.device().map(str::to_string));
        match req.send().await {
            Ok(_) => wait_volume(env, id, &VOLUME_AVAILABLE).await,
            Err(e) if not_found(&e) || error_code(&e).as_deref() == Some("IncorrectState") => Ok(()),
            Err(e) => Err(op("DetachVolume")(e)),
        }
    }
}

/// The tag that marks a final snapshot with the volume it keeps.
const TAG_FINAL_SNAPSHOT_OF: &str = "awsstack:final-snapshot-of";

impl DataVolume {
    /// The final snapshot of the volume, completed: the one an interrupted
    /// destroy already started, or a new one.
    async fn final_snapshot(env: &E, rec: &Record) -> Result<String, OpError> {
        let ec2 = &env.ctx.ec2();
        let f = Filter::builder().name(format!("tag:{TAG_FINAL_SNAPSHOT_OF}")).values(&rec.id).build();
        let o = ec2.describe_snapshots().owner_ids("self").filters(f).send().await.map_err(op("DescribeSnapshots"))?;
        let id = match o.snapshots().iter().find(|s| s.tags().iter().any(|t| t.key() == Some(TAG_FINAL_SNAPSHOT_OF) && t.value() == Some(rec.id.as_str()))) {
            Some(s) => s.snapshot_id().unwrap_or_default().to_string(),
            None => {
                let key = "volume.data.final-snapshot";
                let mut tags = tags_for(env, key);
                tags.insert(TAG_FINAL_SNAPSHOT_OF.to_string(), rec.id.clone());
                let spec = TagSpecification::builder()
                    .resource_type(ResourceType::Snapshot)
                    .set_tags(Some(tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
                    .build();
                let out = ec2
                    .create_snapshot()
                    .volume_id(&rec.id)
                    .description(format!("awsstack {}: final snapshot of the data volume {}", env.stack_id, rec.id))
                    .tag_specifications(spec)
                    .send()
                    .await
                    .map_err(op("CreateSnapshot"))?;
                out.snapshot_id().unwrap_or_default().to_string()
            }
        };
        env.wait(&SNAPSHOT_COMPLETED, &format!("final snapshot {id}"), || async {
            let o = ec2.describe_snapshots().snapshot_ids(&id).send().await.map_err(op("DescribeSnapshots"))?;
            Ok(o.snapshots().first().map(|s| (s.state().map(|s| s.as_str()).unwrap_or_default().to_string(), ())))
        })
        .await
        .map_err(|e| OpError::new(format!("{}: the volume {} was not deleted", e.message, rec.id)))?;
        Ok(id)
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for DataVolume {
    fn name(&self) -> &'static str {
        "ebs_data_volume"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::INSTANCE]
    }
    fn timeouts(&self) -> Timeouts {
        // A delete takes the final snapshot of the whole volume first.
        Timeouts::minutes(10, 10, 60)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["availability_zone"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let inst = &super::need::INSTANCE.the(deps)?;
        let az = inst.out("availability_zone").to_string();
        let out = env
            .ctx
            .ec2()
            .create_volume()
            .availability_zone(&az)
            .size(spec.input("size").as_i64().unwrap_or(80) as i32)
            .volume_type(VolumeType::Gp3)
            .encrypted(true)
            .tag_specifications(tag_spec(env, spec, ResourceType::Volume))
            .send()
            .await
            .map_err(op("CreateVolume"))?;
        let id = out.volume_id().unwrap_or_default().to_string();
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = json!(az);
        let rec = Record::new(self.name(), &id, inputs).with("instance_id", "");
        wait_volume(env, &id, &VOLUME_AVAILABLE).await.map_err(|e| e.partial(rec.clone()))?;
        Self::attach(env, &id, &inst.id, spec.str("device")).await.map_err(|e| e.partial(rec.clone()))?;
        Ok(rec.with("instance_id", &inst.id))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(volume(env, &rec.id).await?.map(|v| {
            let mut r = rec.clone();
            r.inputs["size"] = json!(v.size());
            let attached = v.attachments().first().and_then(|a| a.instance_id()).unwrap_or_default();
            r.inputs["attached"] = json!(!attached.is_empty());
            r.outputs.insert("instance_id".into(), attached.to_string());
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let inst = &super::need::INSTANCE.the(deps)?;
        let cur = volume(env, &old.id).await?.ok_or_else(|| OpError::new(format!("volume {} no longer exists", old.id)))?;
        let want = spec.input("size").as_i64().unwrap_or(80) as i32;
        if cur.size().unwrap_or(0) < want {
            env.ctx.ec2().modify_volume().volume_id(&old.id).size(want).send().await.map_err(op("ModifyVolume"))?;
        }
        let attached = cur.attachments().first().and_then(|a| a.instance_id()).map(str::to_string);
        if attached.as_deref() != Some(inst.id.as_str()) {
            if attached.is_some() {
                Self::detach(env, &old.id).await?;
            }
            Self::attach(env, &old.id, &inst.id, spec.str("device")).await?;
        }
        let mut inputs = spec.inputs.clone();
        inputs["availability_zone"] = old.inputs["availability_zone"].clone();
        Ok(Record { inputs, ..old.clone() }.with("instance_id", &inst.id))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let Some(current) = volume(env, &rec.id).await? else {
            return Ok(());
        };
        // The data (databases, uploads) outlives the stack unless the user
        // opted out: a record without the input predates it and is kept.
        if rec.inputs["final_snapshot"].as_bool() != Some(false) {
            let snap = Self::final_snapshot(env, rec).await?;
            env.warn(format!(
                "the data volume {} was kept as the final snapshot {snap}, tagged {}={}: it survives the destroy and is billed until you delete it (`aws ec2 delete-snapshot --snapshot-id {snap}`). Set skip_final_snapshot = true to destroy without one.",
                rec.id, crate::engine::TAG_STACK_ID, env.stack_id
            ));
        }
        // A snapshot does not change the attachment: one describe serves both.
        if !current.attachments().is_empty() {
            Self::detach(env, &rec.id).await?;
        }
        match env.retry(DEP_RETRY, dependency_violation, || env.ctx.ec2().delete_volume().volume_id(&rec.id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteVolume")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_volumes().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeVolumes"))?;
        Ok(o.volumes().first().map(|v| {
            let mut inputs = spec.inputs.clone();
            inputs["availability_zone"] = json!(v.availability_zone());
            let attached = v.attachments().first().and_then(|a| a.instance_id()).unwrap_or_default();
            Record::new(self.name(), v.volume_id().unwrap_or_default(), inputs).with("instance_id", attached)
        }))
    }
}

// ---------------------------------------------------------------- Elastic IP

/// An Elastic IP associated with the `instance` dependency.
pub struct ElasticIp;

/// The instance an address is associated with; none for a NAT gateway's.
const ATTACHED_INSTANCE: Need = Need::optional("instance", &["ec2_instance"]);

#[tonic::async_trait]
impl Kind<AwsContext> for ElasticIp {
    fn name(&self) -> &'static str {
        "ec2_elastic_ip"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[ATTACHED_INSTANCE]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2.allocate_address().domain(DomainType::Vpc).tag_specifications(tag_spec(env, spec, ResourceType::ElasticIp)).send().await.map_err(op("AllocateAddress"))?;
        let id = out.allocation_id().unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone()).with("public_ip", out.public_ip().unwrap_or_default());
        // Without an instance dependency the address is for a NAT gateway,
        // which associates it itself.
        let Some(inst) = ATTACHED_INSTANCE.maybe(deps)?.map(|d| &d.id) else {
            return Ok(rec);
        };
        ec2.associate_address().allocation_id(&id).instance_id(inst).send().await.map_err(|e| OpError::from(op("AssociateAddress")(e)).partial(rec.clone()))?;
        Ok(rec.with("instance_id", inst))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env.ctx.ec2().describe_addresses().allocation_ids(&rec.id).send().await {
            Ok(o) => Ok(o.addresses().first().map(|a| {
                let mut r = rec.clone();
                // Some answers carry an empty InstanceId once disassociated.
                let instance = a.instance_id().unwrap_or_default();
                r.inputs["associated"] = json!(!instance.is_empty());
                r.outputs.insert("instance_id".into(), instance.to_string());
                r.outputs.insert("public_ip".into(), a.public_ip().unwrap_or_default().to_string());
                r
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeAddresses")(e)),
        }
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let Some(inst) = ATTACHED_INSTANCE.maybe(deps)?.map(|d| &d.id) else {
            return Ok(Record { inputs: spec.inputs.clone(), ..old.clone() });
        };
        env.ctx.ec2().associate_address().allocation_id(&old.id).instance_id(inst).allow_reassociation(true).send().await.map_err(op("AssociateAddress"))?;
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() }.with("instance_id", inst))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2.describe_addresses().allocation_ids(&rec.id).send().await {
            for a in o.addresses() {
                if let Some(assoc) = a.association_id() {
                    let _ = ec2.disassociate_address().association_id(assoc).send().await;
                }
            }
        }
        match env.retry(DEP_RETRY, dependency_violation, || ec2.release_address().allocation_id(&rec.id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("ReleaseAddress")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_addresses().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeAddresses"))?;
        Ok(o.addresses().first().map(|a| {
            Record::new(self.name(), a.allocation_id().unwrap_or_default(), spec.inputs.clone())
                .with("public_ip", a.public_ip().unwrap_or_default())
                .with("instance_id", a.instance_id().unwrap_or_default())
        }))
    }
}

// ---------------------------------------------------------------- VPC endpoint

/// A gateway endpoint (S3) of the `vpc` dependency on the route tables of
/// its slot `route_tables`: traffic to the service stays off the NAT
/// gateway. Inputs: `service`.
pub struct VpcEndpoint;

const ENDPOINT_ROUTE_TABLES: Need = Need::some("route table", &["ec2_route_table"]).in_slot("route_tables");

impl VpcEndpoint {
    fn tables(spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
        ENDPOINT_ROUTE_TABLES.ids_in(spec, deps)
    }
    async fn describe(env: &E, id: &str) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, OpError> {
        match env.ctx.ec2().describe_vpc_endpoints().vpc_endpoint_ids(id).send().await {
            Ok(o) => Ok(o.vpc_endpoints().first().filter(|e| !matches!(e.state().map(|s| s.as_str()), Some("deleted") | Some("deleting"))).cloned()),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeVpcEndpoints")(e)),
        }
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for VpcEndpoint {
    fn name(&self) -> &'static str {
        "ec2_vpc_endpoint"
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[super::need::VPC, ENDPOINT_ROUTE_TABLES]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["service"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let o = env
            .ctx
            .ec2()
            .create_vpc_endpoint()
            .vpc_id(&super::need::VPC.the(deps)?.id)
            .service_name(spec.str("service"))
            .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway)
            .set_route_table_ids(Some(Self::tables(spec, deps)?))
            .tag_specifications(tag_spec(env, spec, ResourceType::VpcEndpoint))
            .send()
            .await
            .map_err(op("CreateVpcEndpoint"))?;
        let id = o.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()).unwrap_or_default();
        Ok(Record::new(self.name(), id, spec.inputs.clone()).with("route_table_ids", Self::tables(spec, deps)?.join(",")))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|e| {
            let mut r = rec.clone();
            let mut ids: Vec<String> = e.route_table_ids().to_vec();
            ids.sort();
            let mut recorded: Vec<&str> = rec.out("route_table_ids").split(',').filter(|x| !x.is_empty()).collect();
            recorded.sort();
            if ids != recorded {
                // A table left out (or added) out of band: shown as drift.
                r.inputs["route_tables"] = json!(ids);
            }
            r
        }))
    }
    async fn update(&self, env: &E, spec: &Spec, old: &Record, deps: &Records) -> Result<Record, OpError> {
        let want = Self::tables(spec, deps)?;
        let have: Vec<String> = Self::describe(env, &old.id).await?.map(|e| e.route_table_ids().to_vec()).unwrap_or_default();
        let add: Vec<String> = want.iter().filter(|t| !have.contains(t)).cloned().collect();
        let remove: Vec<String> = have.iter().filter(|t| !want.contains(t)).cloned().collect();
        if !add.is_empty() || !remove.is_empty() {
            env.ctx
                .ec2()
                .modify_vpc_endpoint()
                .vpc_endpoint_id(&old.id)
                .set_add_route_table_ids((!add.is_empty()).then_some(add))
                .set_remove_route_table_ids((!remove.is_empty()).then_some(remove))
                .send()
                .await
                .map_err(op("ModifyVpcEndpoint"))?;
        }
        Ok(Record { inputs: spec.inputs.clone(), ..old.clone() }.with("route_table_ids", want.join(",")))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env.ctx.ec2().delete_vpc_endpoints().vpc_endpoint_ids(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteVpcEndpoints")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env.ctx.ec2().describe_vpc_endpoints().set_filters(Some(own_filters(env, &spec.key))).send().await.map_err(op("DescribeVpcEndpoints"))?;
        Ok(o.vpc_endpoints().iter().find(|e| !matches!(e.state().map(|s| s.as_str()), Some("deleted") | Some("deleting"))).map(|e| {
            // Its tables as they are: the next update brings them to the spec's.
            Record::new(self.name(), e.vpc_endpoint_id().unwrap_or_default(), spec.inputs.clone()).with("route_table_ids", e.route_table_ids().join(","))
        }))
    }
}

/// The NAT gateway's waits and not-found handling against aws-smithy-mocks:
/// what a real endpoint answers that the emulator never does (a gateway
/// stuck `failed`, throttling).
#[cfg(test)]
mod tests {
    use super::super::mocked;
    use super::*;
    use aws_sdk_ec2::operation::create_nat_gateway::CreateNatGatewayOutput;
    use aws_sdk_ec2::operation::delete_nat_gateway::{DeleteNatGatewayError, DeleteNatGatewayOutput};
    use aws_sdk_ec2::operation::describe_nat_gateways::{DescribeNatGatewaysError, DescribeNatGatewaysOutput};
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn gateway(state: NatGatewayState) -> DescribeNatGatewaysOutput {
        DescribeNatGatewaysOutput::builder().nat_gateways(aws_sdk_ec2::types::NatGateway::builder().nat_gateway_id("nat-1").state(state).build()).build()
    }

    fn created() -> Rule {
        mock!(Client::create_nat_gateway).match_requests(|r| r.subnet_id() == Some("subnet-1") && r.allocation_id() == Some("eipalloc-1")).then_output(|| {
            CreateNatGatewayOutput::builder().nat_gateway(aws_sdk_ec2::types::NatGateway::builder().nat_gateway_id("nat-1").state(NatGatewayState::Pending).build()).build()
        })
    }

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }

    fn deps() -> Records {
        [("subnet.a", Record::new("ec2_subnet", "subnet-1", json!({}))), ("eip.a", Record::new("ec2_elastic_ip", "eipalloc-1", json!({})))]
            .into_iter()
            .map(|(k, r)| (k.to_string(), r))
            .collect()
    }

    /// A NAT gateway whose subnet fills its slot, as a stack builds it.
    fn spec() -> Spec {
        let mut g = crate::engine::Desired::new();
        let subnet = g.add(Spec::new("subnet.a", "ec2_subnet", json!({})));
        let eip = g.add(Spec::new("eip.a", "ec2_elastic_ip", json!({})));
        Spec::new("nat.a", "ec2_nat_gateway", json!({})).filling("subnet", &subnet, crate::engine::OnDepChange::Replace).after(&eip)
    }

    #[tokio::test]
    async fn create_waits_until_the_gateway_is_available() {
        let create = created();
        // Not yet visible, then pending twice: all part of the way there.
        let describe = mock!(Client::describe_nat_gateways)
            .sequence()
            .output(|| DescribeNatGatewaysOutput::builder().build())
            .output(|| gateway(NatGatewayState::Pending))
            .times(2)
            .output(|| gateway(NatGatewayState::Available))
            .build();
        let env = env_over(&[&create, &describe]);
        let rec = NatGateway.create(&env, &spec(), &deps()).await.unwrap();
        assert_eq!(rec.id, "nat-1");
        assert_eq!(create.num_calls(), 1);
        assert_eq!(describe.num_calls(), 4);
    }

    #[tokio::test]
    async fn a_failed_gateway_fails_the_create_and_is_recorded() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways).sequence().output(|| gateway(NatGatewayState::Pending)).output(|| gateway(NatGatewayState::Failed)).build();
        let env = env_over(&[&create, &describe]);
        let e = NatGateway.create(&env, &spec(), &deps()).await.unwrap_err();
        assert!(e.message.contains("NAT gateway nat-1 is failed"), "{}", e.message);
        assert!(e.message.contains("expected available"), "{}", e.message);
        // Recorded, so that the next apply or destroy deletes it.
        assert_eq!(e.partial.map(|r| r.id).as_deref(), Some("nat-1"));
    }

    #[tokio::test]
    async fn throttled_looks_are_retried_by_the_sdk_not_failed() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways)
            .sequence()
            .error(|| DescribeNatGatewaysError::generic(ErrorMetadata::builder().code("RequestLimitExceeded").message("Request limit exceeded.").build()))
            .output(|| gateway(NatGatewayState::Available))
            .build();
        let env = env_over(&[&create, &describe]);
        let rec = NatGateway.create(&env, &spec(), &deps()).await.unwrap();
        assert_eq!(rec.id, "nat-1");
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test]
    async fn an_access_error_while_waiting_is_an_error_not_gone() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways)
            .then_error(|| DescribeNatGatewaysError::generic(ErrorMetadata::builder().code("UnauthorizedOperation").message("You are not authorized.").build()));
        let env = env_over(&[&create, &describe]);
        let e = NatGateway.create(&env, &spec(), &deps()).await.unwrap_err();
        assert!(e.message.contains("DescribeNatGateways") && e.message.contains("UnauthorizedOperation"), "{}", e.message);
        assert_eq!(e.partial.map(|r| r.id).as_deref(), Some("nat-1"));
    }

    #[tokio::test]
    async fn delete_waits_until_deleted() {
        let delete = mock!(Client::delete_nat_gateway)
            .match_requests(|r| r.nat_gateway_id() == Some("nat-1"))
            .then_output(|| DeleteNatGatewayOutput::builder().nat_gateway_id("nat-1").build());
        let describe = mock!(Client::describe_nat_gateways).sequence().output(|| gateway(NatGatewayState::Deleting)).output(|| gateway(NatGatewayState::Deleted)).build();
        let env = env_over(&[&delete, &describe]);
        NatGateway.delete(&env, &Record::new("ec2_nat_gateway", "nat-1", json!({}))).await.unwrap();
        assert_eq!(delete.num_calls(), 1);
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test]
    async fn deleting_a_gateway_already_gone_succeeds_without_waiting() {
        let delete = mock!(Client::delete_nat_gateway)
            .then_error(|| DeleteNatGatewayError::generic(ErrorMetadata::builder().code("NatGatewayNotFound").message("The Nat Gateway nat-1 was not found").build()));
        let describe = mock!(Client::describe_nat_gateways).then_output(|| gateway(NatGatewayState::Deleted));
        let env = env_over(&[&delete, &describe]);
        NatGateway.delete(&env, &Record::new("ec2_nat_gateway", "nat-1", json!({}))).await.unwrap();
        assert_eq!(describe.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_gateway_that_never_comes_up_times_out_naming_it() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways).sequence().output(|| gateway(NatGatewayState::Pending)).repeatedly().build();
        let mut ctx = AwsContext::for_tests();
        ctx.clients.ec2 = std::sync::OnceLock::from(mocked::client!(aws_sdk_ec2, &[&create, &describe]));
        let env = mocked::env(ctx, Duration::from_millis(700));
        let e = NatGateway.create(&env, &spec(), &deps()).await.unwrap_err();
        assert!(e.message.contains("NAT gateway nat-1 to be available"), "{}", e.message);
        assert!(describe.num_calls() >= 2, "looked {} times", describe.num_calls());
        assert_eq!(e.partial.map(|r| r.id).as_deref(), Some("nat-1"));
    }
}
