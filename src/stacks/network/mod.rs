//! A stack's network, as components of its graph: its own (`add_own`: a
//! VPC over its zones, built the same way by every stack that has one), or
//! an existing one it is placed in (`add_existing`: referenced, never
//! owned). The read-only checks of either at plan are in `checks`.

mod checks;

pub use checks::*;

use crate::components::ec2::{
    DefaultRoute, ElasticIpInputs, ExistingSubnetInputs, ExistingVpcInputs, InternetGatewayInputs,
    NatGatewayInputs, RouteTableInputs, SubnetInputs, VpcEndpointInputs, VpcInputs,
};
pub use crate::components::ec2::{EXISTING_SUBNET, EXISTING_VPC};
use crate::engine::OnDepChange::{Replace, Update};
use crate::engine::{Desired, Handle, Spec};
use std::collections::{BTreeMap, BTreeSet};

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

#[cfg(test)]
mod tests {
    use super::*;

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
