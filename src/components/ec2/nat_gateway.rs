//! NAT gateway.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A public NAT gateway in the `subnet*` dependency with the `eip*`
/// dependency's address.
pub struct NatGateway;

/// A NAT gateway has no inputs of its own: its subnet is the slot
/// `subnet`, its address the Elastic IP dependency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NatGatewayInputs {}

impl Inputs for NatGatewayInputs {
    const KIND: &'static str = "ec2_nat_gateway";
}

/// The Elastic IP a NAT gateway takes as its public address.
const NAT_ADDRESS: Need = Need::one(
    "Elastic IP",
    &[<crate::components::ec2::ElasticIpInputs as crate::engine::Inputs>::KIND],
);
/// Its subnet, named by the input `subnet` (a move is a replacement).
const NAT_SUBNET: Need = crate::components::need::SUBNET.in_slot("subnet");

/// An Elastic IP or a subnet just made may not yet be found by the NAT
/// gateway that takes them.
const CREATE: Call = Call::retrying(
    "ec2:CreateNatGateway",
    EC2_PROPAGATION,
    &[
        NotYet::code("InvalidElasticIpID.NotFound", "The elasticIp ID 'eipalloc-0a1b2c3d4e5f67890' does not exist"),
        NotYet::code("InvalidSubnetID.NotFound", "The subnet ID 'subnet-0a1b2c3d4e5f67890' does not exist"),
    ],
)
.why("hashicorp/aws vpc_nat_gateway.go does not retry CreateNatGateway: its aws_eip read and aws_subnet create wait until the new object is found, and hashicorp/aws issue #27087 (InvalidElasticIpID.NotFound on a new address) is open; our address and subnet creates return at once, so we retry for ec2PropagationTimeout");
const CALLS: &[Call] = &[
    CREATE,
    Call::settled("ec2:DeleteNatGateway"),
    Call::read("ec2:DescribeNatGateways"),
];

const NAT_AVAILABLE: Waiter = Waiter::new("to be available", &["pending", GONE], &["available"]);
/// Its address and subnet are only free once it is gone.
const NAT_DELETED: Waiter = Waiter::new("to be deleted", &["deleting"], &["deleted", GONE]);

impl NatGateway {
    async fn state(env: &E, id: &str) -> Result<Option<(String, ())>, OpError> {
        match env
            .ctx
            .ec2()
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.nat_gateways().first().map(|n| {
                (
                    n.state()
                        .map(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    (),
                )
            })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeNatGateways")(e)),
        }
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for NatGateway {
    crate::engine::typed_kind!(NatGatewayInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
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
    /// `id`: the gateway's id (hashicorp/aws `aws_nat_gateway.id`).
    /// Its subnet fills the slot; its address must be the Elastic IP the
    /// stack has (an address cannot change without a new gateway).
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        use aws_sdk_ec2::types::ConnectivityType;
        let o = match env
            .ctx
            .ec2()
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(op("DescribeNatGateways")(e)),
        };
        let Some(n) = o
            .nat_gateways()
            .iter()
            .find(|n| n.nat_gateway_id() == Some(id))
        else {
            return Ok(None);
        };
        match n.state() {
            Some(NatGatewayState::Deleted | NatGatewayState::Deleting) => return Ok(None),
            Some(NatGatewayState::Failed) => {
                return Err(OpError::new(format!(
                    "it is failed ({}): a failed NAT gateway routes nothing and AWS deletes it",
                    n.failure_message().unwrap_or("no reason given")
                )))
            }
            _ => {}
        }
        if n.connectivity_type() == Some(&ConnectivityType::Private) {
            return Err(OpError::new(
                "it is a private NAT gateway; the stack's NAT gateway is public, with an Elastic IP",
            ));
        }
        let addresses: Vec<&str> = n
            .nat_gateway_addresses()
            .iter()
            .filter_map(|a| a.allocation_id())
            .collect();
        // The address is no input (a dependency): one the stack has that is
        // not this gateway's would never be used by it.
        if let Some((name, eip)) = deps
            .iter()
            .find(|(_, r)| NAT_ADDRESS.kinds.contains(&r.kind.as_str()))
        {
            if !addresses.contains(&eip.id.as_str()) {
                return Err(OpError::new(format!(
                    "its address is {}, not the stack's Elastic IP {name} ({}): a NAT gateway's address cannot change without replacing it; adopt {} as {name}",
                    addresses.join(", "),
                    eip.id,
                    addresses.first().copied().unwrap_or("its address")
                )));
            }
        }
        let subnet: Vec<String> = n.subnet_id().map(str::to_string).into_iter().collect();
        Ok(Some(Record::new(
            self.name(),
            id,
            json!({ "subnet": crate::components::subnet_groups::observed_slot(spec, "subnet", deps, &subnet) }),
        )))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let subnet = NAT_SUBNET.the_in(spec, deps)?.id.clone();
        let eip = NAT_ADDRESS.the(deps)?.id.clone();
        let ec2 = &env.ctx.ec2();
        let tags = tag_spec(env, spec, ResourceType::Natgateway);
        let out = env
            .call(&CREATE, || {
                ec2.create_nat_gateway()
                    .subnet_id(&subnet)
                    .allocation_id(&eip)
                    .tag_specifications(tags.clone())
                    .send()
            })
            .await
            .map_err(failed)?;
        let id = out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .unwrap_or_default()
            .to_string();
        let rec = Record::new(self.name(), &id, spec.inputs.clone());
        env.wait(&NAT_AVAILABLE, &format!("NAT gateway {id}"), || {
            Self::state(env, &id)
        })
        .await
        .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .ec2()
            .describe_nat_gateways()
            .nat_gateway_ids(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .nat_gateways()
                .first()
                .filter(|n| {
                    !matches!(
                        n.state(),
                        Some(NatGatewayState::Deleted) | Some(NatGatewayState::Deleting)
                    )
                })
                .map(|_| rec.clone())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeNatGateways")(e)),
        }
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
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .ec2()
            .delete_nat_gateway()
            .nat_gateway_id(&rec.id)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteNatGateway")(e)),
        }
        env.wait(&NAT_DELETED, &format!("NAT gateway {}", rec.id), || {
            Self::state(env, &rec.id)
        })
        .await
        .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_nat_gateways()
            .set_filter(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeNatGateways"))?;
        // The tags are checked here too: not every endpoint honours tag filters.
        Ok(o.nat_gateways()
            .iter()
            .filter(|n| own_tags(n.tags(), env, &spec.key))
            .find(|n| {
                matches!(
                    n.state(),
                    Some(NatGatewayState::Available) | Some(NatGatewayState::Pending)
                )
            })
            .map(|n| {
                Record::new(
                    self.name(),
                    n.nat_gateway_id().unwrap_or_default(),
                    spec.inputs.clone(),
                )
            }))
    }
}

/// The NAT gateway's waits and not-found handling against aws-smithy-mocks:
/// what a real endpoint answers that the emulator never does (a gateway
/// stuck `failed`, throttling).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_ec2::operation::create_nat_gateway::{
        CreateNatGatewayError, CreateNatGatewayOutput,
    };
    use aws_sdk_ec2::operation::delete_nat_gateway::{
        DeleteNatGatewayError, DeleteNatGatewayOutput,
    };
    use aws_sdk_ec2::operation::describe_nat_gateways::{
        DescribeNatGatewaysError, DescribeNatGatewaysOutput,
    };
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn gateway(state: NatGatewayState) -> DescribeNatGatewaysOutput {
        DescribeNatGatewaysOutput::builder()
            .nat_gateways(
                aws_sdk_ec2::types::NatGateway::builder()
                    .nat_gateway_id("nat-1")
                    .state(state)
                    .build(),
            )
            .build()
    }

    fn created() -> Rule {
        mock!(Client::create_nat_gateway)
            .match_requests(|r| {
                r.subnet_id() == Some("subnet-1") && r.allocation_id() == Some("eipalloc-1")
            })
            .then_output(|| {
                CreateNatGatewayOutput::builder()
                    .nat_gateway(
                        aws_sdk_ec2::types::NatGateway::builder()
                            .nat_gateway_id("nat-1")
                            .state(NatGatewayState::Pending)
                            .build(),
                    )
                    .build()
            })
    }

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }

    fn deps() -> Records {
        [
            ("subnet.a", Record::new("ec2_subnet", "subnet-1", json!({}))),
            (
                "eip.a",
                Record::new("ec2_elastic_ip", "eipalloc-1", json!({})),
            ),
        ]
        .into_iter()
        .map(|(k, r)| (k.to_string(), r))
        .collect()
    }

    /// A NAT gateway whose subnet fills its slot, as a stack builds it.
    fn spec() -> Spec {
        let mut g = crate::engine::Desired::new();
        let subnet = g.add(Spec::new("subnet.a", "ec2_subnet", json!({})));
        let eip = g.add(Spec::new("eip.a", "ec2_elastic_ip", json!({})));
        Spec::new("nat.a", "ec2_nat_gateway", json!({}))
            .filling("subnet", &subnet, crate::engine::OnDepChange::Replace)
            .after(&eip)
    }

    #[tokio::test(start_paused = true)]
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

    #[tokio::test(start_paused = true)]
    async fn a_failed_gateway_fails_the_create_and_is_recorded() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways)
            .sequence()
            .output(|| gateway(NatGatewayState::Pending))
            .output(|| gateway(NatGatewayState::Failed))
            .build();
        let env = env_over(&[&create, &describe]);
        let e = NatGateway.create(&env, &spec(), &deps()).await.unwrap_err();
        assert!(
            e.message.contains("NAT gateway nat-1 is failed"),
            "{}",
            e.message
        );
        assert!(e.message.contains("expected available"), "{}", e.message);
        // Recorded, so that the next apply or destroy deletes it.
        assert_eq!(e.partial.map(|r| r.id).as_deref(), Some("nat-1"));
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_looks_are_retried_by_the_sdk_not_failed() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways)
            .sequence()
            .error(|| {
                DescribeNatGatewaysError::generic(
                    ErrorMetadata::builder()
                        .code("RequestLimitExceeded")
                        .message("Request limit exceeded.")
                        .build(),
                )
            })
            .output(|| gateway(NatGatewayState::Available))
            .build();
        let env = env_over(&[&create, &describe]);
        let rec = NatGateway.create(&env, &spec(), &deps()).await.unwrap();
        assert_eq!(rec.id, "nat-1");
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_access_error_while_waiting_is_an_error_not_gone() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways).then_error(|| {
            DescribeNatGatewaysError::generic(
                ErrorMetadata::builder()
                    .code("UnauthorizedOperation")
                    .message("You are not authorized.")
                    .build(),
            )
        });
        let env = env_over(&[&create, &describe]);
        let e = NatGateway.create(&env, &spec(), &deps()).await.unwrap_err();
        assert!(
            e.message.contains("DescribeNatGateways")
                && e.message.contains("UnauthorizedOperation"),
            "{}",
            e.message
        );
        assert_eq!(e.partial.map(|r| r.id).as_deref(), Some("nat-1"));
    }

    #[tokio::test(start_paused = true)]
    async fn delete_waits_until_deleted() {
        let delete = mock!(Client::delete_nat_gateway)
            .match_requests(|r| r.nat_gateway_id() == Some("nat-1"))
            .then_output(|| {
                DeleteNatGatewayOutput::builder()
                    .nat_gateway_id("nat-1")
                    .build()
            });
        let describe = mock!(Client::describe_nat_gateways)
            .sequence()
            .output(|| gateway(NatGatewayState::Deleting))
            .output(|| gateway(NatGatewayState::Deleted))
            .build();
        let env = env_over(&[&delete, &describe]);
        NatGateway
            .delete(&env, &Record::new("ec2_nat_gateway", "nat-1", json!({})))
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 1);
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn deleting_a_gateway_already_gone_succeeds_without_waiting() {
        let delete = mock!(Client::delete_nat_gateway).then_error(|| {
            DeleteNatGatewayError::generic(
                ErrorMetadata::builder()
                    .code("NatGatewayNotFound")
                    .message("The Nat Gateway nat-1 was not found")
                    .build(),
            )
        });
        let describe =
            mock!(Client::describe_nat_gateways).then_output(|| gateway(NatGatewayState::Deleted));
        let env = env_over(&[&delete, &describe]);
        NatGateway
            .delete(&env, &Record::new("ec2_nat_gateway", "nat-1", json!({})))
            .await
            .unwrap();
        assert_eq!(describe.num_calls(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gateway_that_never_comes_up_times_out_naming_it() {
        let create = created();
        let describe = mock!(Client::describe_nat_gateways)
            .sequence()
            .output(|| gateway(NatGatewayState::Pending))
            .repeatedly()
            .build();
        let mut ctx = AwsContext::for_tests();
        ctx.clients.ec2 =
            std::sync::OnceLock::from(mocked::client!(aws_sdk_ec2, &[&create, &describe]));
        let env = mocked::env(ctx, Duration::from_millis(700));
        let e = NatGateway.create(&env, &spec(), &deps()).await.unwrap_err();
        assert!(
            e.message.contains("NAT gateway nat-1 to be available"),
            "{}",
            e.message
        );
        assert!(
            describe.num_calls() >= 2,
            "looked {} times",
            describe.num_calls()
        );
        assert_eq!(e.partial.map(|r| r.id).as_deref(), Some("nat-1"));
    }

    /// CreateNatGateway: an address or subnet just made not yet found is
    /// retried (the declared errors), then the gateway is waited for; any
    /// other error is final, with nothing to wait for.
    #[tokio::test(start_paused = true)]
    async fn a_new_address_or_subnet_not_yet_found_is_retried_and_any_other_error_is_final() {
        let refused = |code: &'static str, message: &'static str| {
            CreateNatGatewayError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            )
        };
        let (address, subnet) = (CREATE.not_yet[0], CREATE.not_yet[1]);
        let create = mock!(Client::create_nat_gateway)
            .match_requests(|r| {
                r.subnet_id() == Some("subnet-1") && r.allocation_id() == Some("eipalloc-1")
            })
            .sequence()
            .error(move || refused(address.code, address.says))
            .error(move || refused(subnet.code, subnet.says))
            .output(|| {
                CreateNatGatewayOutput::builder()
                    .nat_gateway(
                        aws_sdk_ec2::types::NatGateway::builder()
                            .nat_gateway_id("nat-1")
                            .state(NatGatewayState::Pending)
                            .build(),
                    )
                    .build()
            })
            .build();
        let describe = mock!(Client::describe_nat_gateways)
            .then_output(|| gateway(NatGatewayState::Available));
        let rec = NatGateway
            .create(&env_over(&[&create, &describe]), &spec(), &deps())
            .await
            .unwrap();
        assert_eq!(rec.id, "nat-1");
        assert_eq!(
            (create.num_calls(), describe.num_calls()),
            (3, 1),
            "retried twice, then made and waited for"
        );

        // No describe rule: a wait would find none and fail the test.
        let create = mock!(Client::create_nat_gateway)
            .then_error(move || refused("InjectedFailure", "injected"));
        let e = NatGateway
            .create(&env_over(&[&create]), &spec(), &deps())
            .await
            .unwrap_err();
        assert_eq!(create.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("CreateNatGateway: InjectedFailure")
                && !e.message.contains("still not ready")
                && e.partial.is_none(),
            "{}",
            e.message
        );
    }

    /// DescribeNatGateways of nat-1, in `subnet` with the address
    /// `allocation`.
    fn observed(subnet: &'static str, allocation: &'static str, state: NatGatewayState) -> Rule {
        mock!(Client::describe_nat_gateways)
            .match_requests(|r| r.nat_gateway_ids() == ["nat-1"])
            .then_output(move || {
                DescribeNatGatewaysOutput::builder()
                    .nat_gateways(
                        aws_sdk_ec2::types::NatGateway::builder()
                            .nat_gateway_id("nat-1")
                            .subnet_id(subnet)
                            .state(state.clone())
                            .nat_gateway_addresses(
                                aws_sdk_ec2::types::NatGatewayAddress::builder()
                                    .allocation_id(allocation)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn observe_names_the_subnet_dependency_it_is_in_or_shows_the_subnet_it_has() {
        let d = observed("subnet-1", "eipalloc-1", NatGatewayState::Available);
        let r = NatGateway
            .observe(&env_over(&[&d]), &spec(), "nat-1", &deps())
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            (r.id.as_str(), &r.inputs),
            ("nat-1", &json!({"subnet": "subnet.a"}))
        );
        assert_eq!(
            r.inputs,
            spec().inputs,
            "the same gateway: nothing to change"
        );
        // In a subnet the stack does not have: its id, which differs from
        // the slot (a replacement, which a move refuses).
        let d = observed("subnet-9", "eipalloc-1", NatGatewayState::Available);
        let r = NatGateway
            .observe(&env_over(&[&d]), &spec(), "nat-1", &deps())
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.inputs, json!({"subnet": "subnet-9"}));
    }

    #[tokio::test(start_paused = true)]
    async fn observe_refuses_another_address_or_a_failed_gateway_and_finds_no_deleted_one() {
        let d = observed("subnet-1", "eipalloc-9", NatGatewayState::Available);
        let e = NatGateway
            .observe(&env_over(&[&d]), &spec(), "nat-1", &deps())
            .await
            .unwrap_err();
        assert!(
            e.message.contains("eipalloc-9") && e.message.contains("eip.a (eipalloc-1)"),
            "{}",
            e.message
        );
        let d = observed("subnet-1", "eipalloc-1", NatGatewayState::Failed);
        assert!(NatGateway
            .observe(&env_over(&[&d]), &spec(), "nat-1", &deps())
            .await
            .is_err());
        let d = observed("subnet-1", "eipalloc-1", NatGatewayState::Deleted);
        assert!(NatGateway
            .observe(&env_over(&[&d]), &spec(), "nat-1", &deps())
            .await
            .unwrap()
            .is_none());
        let missing = mock!(Client::describe_nat_gateways)
            .then_error(|| DescribeNatGatewaysError::generic(mocked::fault("NatGatewayNotFound")));
        assert!(NatGateway
            .observe(&env_over(&[&missing]), &spec(), "nat-1", &deps())
            .await
            .unwrap()
            .is_none());
    }
}
