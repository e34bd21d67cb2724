//! The read-only checks of a stack's network at plan: an existing
//! network's VPC and subnets can carry the stack (`check`), and the zones
//! of its own network are offered by their region (`check_zones`,
//! `default_zones`), before anything is created.

use crate::aws::AwsContext;
use crate::components::ec2::describe_vpc;
use crate::components::op;
use crate::engine::OpError;
use crate::schema::{Diagnostic, Diagnostics};
use crate::value::Path;
use aws_sdk_ec2::types::{Filter, RouteTable, Subnet};
use std::collections::{BTreeMap, BTreeSet};

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

    #[tokio::test(start_paused = true)]
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
        let env = crate::components::mocked::env_over!(ec2, aws_sdk_ec2, &[&describe]);
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
        let env = crate::components::mocked::env_over!(ec2, aws_sdk_ec2, &[&describe]);
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
}
