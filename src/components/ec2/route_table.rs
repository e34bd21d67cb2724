//! Route table.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A route table associated with its subnets, whose default route goes to
/// its internet gateway dependency (public), to its NAT gateway (private),
/// or nowhere (isolated). Registered as `ec2_public_route_table` (the
/// Docker host's: its one subnet is any subnet dependency) and
/// `ec2_route_table` (its subnets are the slot `subnets`, so a subnet
/// added or left out is a change of that input).
pub struct RouteTable {
    name: &'static str,
    needs: &'static [Need],
    /// Which of its `needs` gives the subnets it is associated with.
    subnets: Need,
    /// Whether a spec's inputs read as the registered kind's.
    check_inputs: fn(&Json) -> Result<(), String>,
}

/// A route table whose subnets are its slot `subnets`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteTableInputs {
    /// Where its default route goes; read back (as `other` when something
    /// else took it), so a route removed or changed out of band is drift.
    pub route: DefaultRoute,
}

impl Inputs for RouteTableInputs {
    const KIND: &'static str = "ec2_route_table";
}

/// The target of a route table's default route (`0.0.0.0/0`): the internet
/// gateway or the NAT gateway among its dependencies, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultRoute {
    Igw,
    Nat,
    None,
}

/// The Docker host's public table: its one subnet is any subnet dependency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicRouteTableInputs {
    /// A default route to the internet gateway exists; read back.
    pub default_route: bool,
}

impl Inputs for PublicRouteTableInputs {
    const KIND: &'static str = "ec2_public_route_table";
}

const ROUTED_SUBNETS: Need = crate::components::need::SUBNETS.in_slot("subnets");
pub const PUBLIC_ROUTE_TABLE: RouteTable = RouteTable {
    name: PublicRouteTableInputs::KIND,
    needs: &[
        crate::components::need::VPC,
        INTERNET_GATEWAY,
        NAT_GATEWAY,
        crate::components::need::SUBNETS,
    ],
    subnets: crate::components::need::SUBNETS,
    check_inputs: crate::engine::inputs::check::<PublicRouteTableInputs>,
};
pub const ROUTE_TABLE: RouteTable = RouteTable {
    name: RouteTableInputs::KIND,
    needs: &[
        crate::components::need::VPC,
        INTERNET_GATEWAY,
        NAT_GATEWAY,
        ROUTED_SUBNETS,
    ],
    subnets: ROUTED_SUBNETS,
    check_inputs: crate::engine::inputs::check::<RouteTableInputs>,
};

/// What a default route to a gateway just made may meet: the table or the
/// gateway not yet found, or the internet gateway's attachment to the VPC
/// not yet seen (CloudFormation and CDK users meet the last one when the
/// route does not wait for the attachment).
const ROUTE_NOT_YET: &[NotYet] = &[
    NotYet::code("InvalidRouteTableID.NotFound", "The routeTable ID 'rtb-0a1b2c3d4e5f67890' does not exist"),
    NotYet::code("InvalidGatewayID.NotFound", "The gateway ID 'igw-0d6c3e2a7e1f4b5a9' does not exist"),
    NotYet::message(
        "InvalidParameterValue",
        "belong to different networks",
        "route table rtb-0a1b2c3d4e5f67890 and network gateway igw-0d6c3e2a7e1f4b5a9 belong to different networks",
    ),
];
const CREATE_ROUTE: Call = Call::retrying("ec2:CreateRoute", EC2_PROPAGATION, ROUTE_NOT_YET).why(
    "hashicorp/aws vpc_route_table.go routeTableAddRoute retries CreateRoute (InvalidParameterException, InvalidTransitGatewayID.NotFound) for the timeout, after waiting for the table (waitRouteTableReady) and with gateways that waited to be attached; we retry the not-found table or gateway and the unseen attachment for ec2PropagationTimeout instead",
);
const REPLACE_ROUTE: Call = Call::retrying("ec2:ReplaceRoute", EC2_PROPAGATION, ROUTE_NOT_YET).why(
    "hashicorp/aws vpc_route_table.go routeTableUpdateRoute does not retry, its gateways having waited; ours point at a gateway made or attached just before, so as CreateRoute",
);
/// A table just created may not yet be found by the association that
/// follows it, nor a subnet just created.
const ASSOCIATE: Call = Call::retrying(
    "ec2:AssociateRouteTable",
    EC2_PROPAGATION,
    &[
        NotYet::code("InvalidRouteTableID.NotFound", "The routeTable ID 'rtb-0a1b2c3d4e5f67890' does not exist"),
        NotYet::code("InvalidSubnetID.NotFound", "The subnet ID 'subnet-0a1b2c3d4e5f67890' does not exist"),
    ],
)
.why("hashicorp/aws vpc_route_table_association.go resourceRouteTableAssociationCreate: InvalidRouteTableID.NotFound for ec2PropagationTimeout; InvalidSubnetID.NotFound too, since our subnet create does not wait for the subnet (vpc_subnet.go waitSubnetAvailable)");
/// A table whose subnet associations (or a gateway endpoint's routes) are
/// still being removed cannot be deleted yet.
const DELETE: Call = Call::retrying(
    "ec2:DeleteRouteTable",
    DRAIN,
    &[NotYet::code("DependencyViolation", "The routeTable 'rtb-0a1b2c3d4e5f67890' has dependencies and cannot be deleted.")],
)
.why("hashicorp/aws vpc_route_table.go resourceRouteTableDelete does not retry, having waited for each disassociation (routeTableAssociationDelete); ours does not wait for them, nor for a VPC endpoint deleted just before, so DependencyViolation is retried for the 5-minute DRAIN");
const CALLS: &[Call] = &[
    Call::settled("ec2:CreateRouteTable"),
    CREATE_ROUTE,
    REPLACE_ROUTE,
    Call::settled("ec2:DeleteRoute"),
    ASSOCIATE,
    Call::settled("ec2:DisassociateRouteTable"),
    DELETE,
    Call::read("ec2:DescribeRouteTables"),
];

enum Target<'a> {
    Gateway(&'a str),
    Nat(&'a str),
}

/// What a route table's dependencies can route to (at most one of each).
const INTERNET_GATEWAY: Need = Need::optional(
    "internet gateway",
    &[<crate::components::ec2::InternetGatewayInputs as crate::engine::Inputs>::KIND],
);
const NAT_GATEWAY: Need = Need::optional(
    "NAT gateway",
    &[<crate::components::ec2::NatGatewayInputs as crate::engine::Inputs>::KIND],
);

fn route_target(deps: &Records) -> Result<Option<Target<'_>>, OpError> {
    if let Some(g) = INTERNET_GATEWAY.maybe(deps)? {
        return Ok(Some(Target::Gateway(&g.id)));
    }
    Ok(NAT_GATEWAY.maybe(deps)?.map(|r| Target::Nat(&r.id)))
}

impl RouteTable {
    async fn associate(
        &self,
        env: &E,
        id: &str,
        spec: &Spec,
        deps: &Records,
        already: &[String],
    ) -> Result<(), OpError> {
        for subnet in self.subnets.ids_in(spec, deps)? {
            if !already.contains(&subnet) {
                let ec2 = &env.ctx.ec2();
                env.call(&ASSOCIATE, || {
                    ec2.associate_route_table()
                        .route_table_id(id)
                        .subnet_id(&subnet)
                        .send()
                })
                .await
                .map_err(failed)?;
            }
        }
        Ok(())
    }
    async fn set_default_route(
        env: &E,
        id: &str,
        deps: &Records,
        exists: bool,
    ) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        // The default route goes to an internet gateway or a NAT gateway.
        let (gateway, nat) = match route_target(deps)? {
            Some(Target::Gateway(g)) => (Some(g.to_string()), None),
            Some(Target::Nat(n)) => (None, Some(n.to_string())),
            None if exists => {
                return ec2
                    .delete_route()
                    .route_table_id(id)
                    .destination_cidr_block("0.0.0.0/0")
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(op("DeleteRoute"))
            }
            None => return Ok(()),
        };
        if exists {
            env.call(&REPLACE_ROUTE, || {
                ec2.replace_route()
                    .route_table_id(id)
                    .destination_cidr_block("0.0.0.0/0")
                    .set_gateway_id(gateway.clone())
                    .set_nat_gateway_id(nat.clone())
                    .send()
            })
            .await
            .map(|_| ())
            .map_err(failed)
        } else {
            env.call(&CREATE_ROUTE, || {
                ec2.create_route()
                    .route_table_id(id)
                    .destination_cidr_block("0.0.0.0/0")
                    .set_gateway_id(gateway.clone())
                    .set_nat_gateway_id(nat.clone())
                    .send()
            })
            .await
            .map(|_| ())
            .map_err(failed)
        }
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for RouteTable {
    fn name(&self) -> &'static str {
        self.name
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        self.needs
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn check_inputs(&self, inputs: &Json) -> Result<(), String> {
        (self.check_inputs)(inputs)
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let out = ec2
            .create_route_table()
            .vpc_id(&crate::components::need::VPC.the(deps)?.id)
            .tag_specifications(tag_spec(env, spec, ResourceType::RouteTable))
            .send()
            .await
            .map_err(op("CreateRouteTable"))?;
        let id = out
            .route_table()
            .and_then(|r| r.route_table_id())
            .unwrap_or_default()
            .to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone());
        Self::set_default_route(env, &id, deps, false)
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        self.associate(env, &id, spec, deps, &[])
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(described(env, &rec.id)
            .await?
            .map(|rt| seen(rec, &rt, None)))
    }
    /// The default route as `read` observes it, counting only a gateway
    /// of the stack's; the subnets it is associated with: the `subnets`
    /// slot names them, and a public table missing one of its subnets
    /// reads as without its route (the update then routes and
    /// associates). In the stack's VPC only.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(rt) = described(env, ec2_id(id)).await? else {
            return Ok(None);
        };
        let id = rt.route_table_id().unwrap_or_default();
        in_stack_vpc(deps, &format!("the route table {id}"), rt.vpc_id())?;
        let mut rec = seen(
            &Record::new(self.name(), id, spec.inputs.clone()),
            &rt,
            Some(deps),
        );
        let associated: Vec<&str> = rt
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id())
            .collect();
        match self.subnets.slot {
            Some(slot) => {
                let mut names: Vec<String> = crate::components::json_strings(&spec.inputs[slot])
                    .into_iter()
                    .filter(|n| {
                        deps.get(n)
                            .is_some_and(|r| associated.contains(&r.id.as_str()))
                    })
                    .collect();
                names.extend(
                    associated
                        .iter()
                        .filter(|a| !deps.values().any(|r| r.id == **a))
                        .map(|a| a.to_string()),
                );
                rec.inputs[slot] = json!(names);
            }
            None => {
                let all = self
                    .subnets
                    .ids(deps)
                    .iter()
                    .all(|s| associated.contains(&s.as_str()));
                if !all {
                    rec.inputs["default_route"] = json!(false);
                }
            }
        }
        Ok(Some(rec))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let ec2 = &env.ctx.ec2();
        let o = ec2
            .describe_route_tables()
            .route_table_ids(&old.id)
            .send()
            .await
            .map_err(op("DescribeRouteTables"))?;
        if let Some(rt) = o.route_tables().first() {
            let exists = rt
                .routes()
                .iter()
                .any(|x| x.destination_cidr_block() == Some("0.0.0.0/0"));
            Self::set_default_route(env, &old.id, deps, exists).await?;
            let associated: Vec<String> = rt
                .associations()
                .iter()
                .filter_map(|a| a.subnet_id().map(str::to_string))
                .collect();
            self.associate(env, &old.id, spec, deps, &associated)
                .await?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        if let Ok(o) = ec2
            .describe_route_tables()
            .route_table_ids(&rec.id)
            .send()
            .await
        {
            for rt in o.route_tables() {
                for a in rt.associations() {
                    if a.main() != Some(true) {
                        if let Some(id) = a.route_table_association_id() {
                            let _ = ec2
                                .disassociate_route_table()
                                .association_id(id)
                                .send()
                                .await;
                        }
                    }
                }
            }
        }
        match env
            .call(&DELETE, || {
                ec2.delete_route_table().route_table_id(&rec.id).send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_route_tables()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeRouteTables"))?;
        Ok(o.route_tables().first().map(|r| {
            Record::new(
                self.name(),
                r.route_table_id().unwrap_or_default(),
                spec.inputs.clone(),
            )
        }))
    }
}

async fn described(env: &E, id: &str) -> Result<Option<aws_sdk_ec2::types::RouteTable>, OpError> {
    match env
        .ctx
        .ec2()
        .describe_route_tables()
        .route_table_ids(id)
        .send()
        .await
    {
        Ok(o) => Ok(o.route_tables().first().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeRouteTables")(e)),
    }
}

/// Where the table's default route goes: `igw`, `nat`, `none`, or `other`
/// (something else took it). With `deps`, a gateway counts only when it
/// is the stack's: a route to another reads as `other`, which the update
/// points at the stack's.
fn default_target(rt: &aws_sdk_ec2::types::RouteTable, deps: Option<&Records>) -> &'static str {
    let Some(x) = rt
        .routes()
        .iter()
        .find(|x| x.destination_cidr_block() == Some("0.0.0.0/0"))
    else {
        return "none";
    };
    let ours = |id: &str, need: Need| {
        deps.is_none_or(|d| matches!(need.maybe(d), Ok(Some(r)) if r.id == id))
    };
    match (x.nat_gateway_id(), x.gateway_id()) {
        (Some(n), _) if ours(n, NAT_GATEWAY) => "nat",
        (None, Some(g)) if ours(g, INTERNET_GATEWAY) => "igw",
        _ => "other",
    }
}

/// `rec` with its default route as AWS has it (`default_target`).
fn seen(rec: &Record, rt: &aws_sdk_ec2::types::RouteTable, deps: Option<&Records>) -> Record {
    let mut r = rec.clone();
    let target = default_target(rt, deps);
    if rec.inputs.get("default_route").is_some() {
        // The Docker host's public table records only that the route exists.
        r.inputs["default_route"] = json!(target == "igw");
    }
    if rec.inputs.get("route").is_some() {
        r.inputs["route"] = json!(target);
    }
    r
}

/// DeleteRouteTable against aws-smithy-mocks: a table whose associations
/// are still going is retried; any other error is final.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ec2::operation::delete_route_table::{
        DeleteRouteTableError, DeleteRouteTableOutput,
    };
    use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }
    /// The table, its associations already gone from the answer.
    fn described() -> Rule {
        mock!(Client::describe_route_tables)
            .match_requests(|r| r.route_table_ids() == ["rtb-1"])
            .then_output(|| DescribeRouteTablesOutput::builder().build())
    }
    fn refused(code: &'static str, message: &'static str) -> DeleteRouteTableError {
        DeleteRouteTableError::generic(ErrorMetadata::builder().code(code).message(message).build())
    }

    /// The stack's VPC, internet gateway and two subnets.
    fn network() -> Records {
        [
            ("vpc", "ec2_vpc", "vpc-1"),
            ("igw", "ec2_internet_gateway", "igw-1"),
            ("subnet.public.a", "ec2_subnet", "subnet-a"),
            ("subnet.public.b", "ec2_subnet", "subnet-b"),
        ]
        .into_iter()
        .map(|(k, kind, id)| (k.to_string(), Record::new(kind, id, json!({}))))
        .collect()
    }

    /// `rtb-1` in `vpc-1`, its default route to `gateway`, associated with
    /// `subnets`.
    fn table(gateway: &'static str, subnets: &'static [&'static str]) -> Rule {
        use aws_sdk_ec2::types::{Route, RouteTable as Table, RouteTableAssociation};
        mock!(Client::describe_route_tables)
            .match_requests(|r| r.route_table_ids() == ["rtb-1"])
            .then_output(move || {
                let mut t = Table::builder()
                    .route_table_id("rtb-1")
                    .vpc_id("vpc-1")
                    .routes(
                        Route::builder()
                            .destination_cidr_block("10.0.0.0/16")
                            .gateway_id("local")
                            .build(),
                    )
                    .routes(
                        Route::builder()
                            .destination_cidr_block("0.0.0.0/0")
                            .gateway_id(gateway)
                            .build(),
                    )
                    .associations(RouteTableAssociation::builder().main(false).build());
                for s in subnets {
                    t = t.associations(RouteTableAssociation::builder().subnet_id(*s).build());
                }
                DescribeRouteTablesOutput::builder()
                    .route_tables(t.build())
                    .build()
            })
    }

    /// Adoption of a table whose subnets are its slot: each associated
    /// subnet as the dependency that has it, one the stack does not have
    /// as its id; a default route counts only to the stack's gateway.
    #[tokio::test(start_paused = true)]
    async fn observe_names_the_associated_subnets_and_the_route_to_the_stack_s_gateway() {
        let spec = Spec::new(
            "rtb.public",
            "ec2_route_table",
            json!({"route": "igw", "subnets": ["subnet.public.a", "subnet.public.b"]}),
        );
        let described = table("igw-1", &["subnet-x", "subnet-b"]);
        let rec = ROUTE_TABLE
            .observe(&env_over(&[&described]), &spec, "rtb-1", &network())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rec.inputs,
            json!({"route": "igw", "subnets": ["subnet.public.b", "subnet-x"]})
        );
        let described = table("igw-9", &["subnet-a", "subnet-b"]);
        let rec = ROUTE_TABLE
            .observe(&env_over(&[&described]), &spec, "rtb-1", &network())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rec.inputs,
            json!({"route": "other", "subnets": ["subnet.public.a", "subnet.public.b"]}),
            "a route to a gateway the stack does not have is not its route"
        );
    }

    /// The Docker host's public table: its route to the stack's gateway
    /// counts only with every subnet of the stack associated.
    #[tokio::test(start_paused = true)]
    async fn observe_of_the_public_table_wants_the_route_and_the_subnets() {
        let spec = Spec::new(
            "rtb.public",
            "ec2_public_route_table",
            json!({"default_route": true}),
        );
        let mut deps = network();
        deps.remove("subnet.public.b");
        let described = table("igw-1", &["subnet-a"]);
        let rec = PUBLIC_ROUTE_TABLE
            .observe(&env_over(&[&described]), &spec, "rtb-1", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.inputs, json!({"default_route": true}));
        let described = table("igw-1", &[]);
        let rec = PUBLIC_ROUTE_TABLE
            .observe(&env_over(&[&described]), &spec, "rtb-1", &deps)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.inputs, json!({"default_route": false}));
    }

    #[tokio::test(start_paused = true)]
    async fn a_table_with_dependencies_left_is_retried_and_any_other_error_is_final() {
        let rec = Record::new("ec2_route_table", "rtb-1", json!({"route": "igw"}));
        let not_yet = DELETE.not_yet[0];
        let (describe, delete) = (
            described(),
            mock!(Client::delete_route_table)
                .match_requests(|r| r.route_table_id() == Some("rtb-1"))
                .sequence()
                .error(move || refused(not_yet.code, not_yet.says))
                .output(|| DeleteRouteTableOutput::builder().build())
                .build(),
        );
        ROUTE_TABLE
            .delete(&env_over(&[&describe, &delete]), &rec)
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");

        let (describe, delete) = (
            described(),
            mock!(Client::delete_route_table).then_error(|| refused("InjectedFailure", "injected")),
        );
        let e = ROUTE_TABLE
            .delete(&env_over(&[&describe, &delete]), &rec)
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("DeleteRouteTable: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }
}
