//! VPC endpoint.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A gateway endpoint (S3) of the `vpc` dependency on the route tables of
/// its slot `route_tables`: traffic to the service stays off the NAT
/// gateway. Inputs: `service`.
pub struct VpcEndpoint;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VpcEndpointInputs {
    /// `com.amazonaws.<region>.s3`.
    pub service: String,
}

impl Inputs for VpcEndpointInputs {
    const KIND: &'static str = "ec2_vpc_endpoint";
}

/// hashicorp/aws `vpc_endpoint.go` retries none of these calls; it waits
/// on the endpoint's state after create, modify and delete
/// (`waitVPCEndpointAvailable`, `waitVPCEndpointDeleted`), as this kind
/// does with the waiters below.
const CALLS: &[Call] = &[
    Call::settled("ec2:CreateVpcEndpoint"),
    Call::settled("ec2:ModifyVpcEndpoint"),
    Call::settled("ec2:DeleteVpcEndpoints"),
    Call::read("ec2:DescribeVpcEndpoints"),
];

const ENDPOINT_ROUTE_TABLES: Need = Need::some(
    "route table",
    &[<crate::components::ec2::RouteTableInputs as crate::engine::Inputs>::KIND],
)
.in_slot("route_tables");

/// States as EC2 spells them on the wire (lowercase), as hashicorp/aws
/// compares them.
const ENDPOINT_AVAILABLE: Waiter = Waiter::new(
    "to be available",
    &["pending", "pendingacceptance", GONE],
    &["available"],
);
const ENDPOINT_DELETED: Waiter = Waiter::new(
    "to be deleted",
    &["available", "deleting"],
    &["deleted", GONE],
);

impl VpcEndpoint {
    /// The endpoint as EC2 shows it, in whatever state; None once EC2 no
    /// longer returns it.
    async fn shown(env: &E, id: &str) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, OpError> {
        match env
            .ctx
            .ec2()
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.vpc_endpoints().first().cloned()),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeVpcEndpoints")(e)),
        }
    }
    /// Its state, lowercased as EC2 spells it on the wire.
    async fn state(env: &E, id: &str) -> Result<Option<(String, ())>, OpError> {
        Ok(Self::shown(env, id).await?.map(|e| {
            let state = e.state().map(|s| s.as_str().to_lowercase());
            (state.unwrap_or_default(), ())
        }))
    }
    async fn wait(env: &E, w: &Waiter, id: &str) -> Result<(), OpError> {
        env.wait(w, &format!("VPC endpoint {id}"), || Self::state(env, id))
            .await
            .map(|_| ())
    }
    fn tables(spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
        ENDPOINT_ROUTE_TABLES.ids_in(spec, deps)
    }
    /// The endpoint unless it is gone or going.
    async fn describe(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, OpError> {
        Ok(Self::shown(env, id).await?.filter(|e| {
            !matches!(
                e.state().map(|s| s.as_str().to_lowercase()).as_deref(),
                Some("deleted") | Some("deleting")
            )
        }))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for VpcEndpoint {
    crate::engine::typed_kind!(VpcEndpointInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn outputs(&self) -> &'static [&'static str] {
        &["route_table_ids"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::VPC, ENDPOINT_ROUTE_TABLES]
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["service"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let endpoint: VpcEndpointInputs = spec.typed()?;
        let o = env
            .ctx
            .ec2()
            .create_vpc_endpoint()
            .vpc_id(&crate::components::need::VPC.the(deps)?.id)
            .service_name(&endpoint.service)
            .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway)
            .set_route_table_ids(Some(Self::tables(spec, deps)?))
            .tag_specifications(tag_spec(env, spec, ResourceType::VpcEndpoint))
            .send()
            .await
            .map_err(op("CreateVpcEndpoint"))?;
        let id = o
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .unwrap_or_default();
        let rec = Record::new(self.name(), id, spec.inputs.clone())
            .with("route_table_ids", Self::tables(spec, deps)?.join(","));
        Self::wait(env, &ENDPOINT_AVAILABLE, id)
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id).await?.map(|e| {
            let mut r = rec.clone();
            let mut ids: Vec<String> = e.route_table_ids().to_vec();
            ids.sort();
            let mut recorded: Vec<&str> = rec
                .out("route_table_ids")
                .split(',')
                .filter(|x| !x.is_empty())
                .collect();
            recorded.sort();
            if ids != recorded {
                // A table left out (or added) out of band: shown as drift.
                r.inputs["route_tables"] = json!(ids);
            }
            r
        }))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let want = Self::tables(spec, deps)?;
        let have: Vec<String> = Self::describe(env, &old.id)
            .await?
            .map(|e| e.route_table_ids().to_vec())
            .unwrap_or_default();
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
            Self::wait(env, &ENDPOINT_AVAILABLE, &old.id).await?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        }
        .with("route_table_ids", want.join(",")))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .ec2()
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(&rec.id)
            .send()
            .await
        {
            // A refusal comes back in a successful answer, per endpoint
            // (hashicorp/aws checks `Unsuccessful` too); one already gone
            // is deleted.
            Ok(o) => {
                if let Some(item) = o.unsuccessful().iter().find(|u| {
                    !u.error()
                        .and_then(|e| e.code())
                        .is_some_and(|c| c.contains("NotFound"))
                }) {
                    let error = item.error();
                    return Err(OpError::new(format!(
                        "DeleteVpcEndpoints: {}: {}",
                        error.and_then(|e| e.code()).unwrap_or("refused"),
                        error.and_then(|e| e.message()).unwrap_or_default()
                    )));
                }
            }
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(op("DeleteVpcEndpoints")(e)),
        }
        Self::wait(env, &ENDPOINT_DELETED, &rec.id).await
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_vpc_endpoints()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeVpcEndpoints"))?;
        Ok(o.vpc_endpoints()
            .iter()
            .find(|e| {
                !matches!(
                    e.state().map(|s| s.as_str()),
                    Some("deleted") | Some("deleting")
                )
            })
            .map(|e| {
                // Its tables as they are: the next update brings them to the spec's.
                Record::new(
                    self.name(),
                    e.vpc_endpoint_id().unwrap_or_default(),
                    spec.inputs.clone(),
                )
                .with("route_table_ids", e.route_table_ids().join(","))
            }))
    }
}

/// The S3 gateway endpoint against aws-smithy-mocks: what CreateVpcEndpoint
/// carries, its route tables kept in step with the slot, every call final
/// (none is declared "not yet"), and a read of an endpoint gone.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use crate::engine::{Desired, OnDepChange};
    use aws_sdk_ec2::operation::create_vpc_endpoint::{
        CreateVpcEndpointError, CreateVpcEndpointOutput,
    };
    use aws_sdk_ec2::operation::delete_vpc_endpoints::{
        DeleteVpcEndpointsError, DeleteVpcEndpointsOutput,
    };
    use aws_sdk_ec2::operation::describe_vpc_endpoints::{
        DescribeVpcEndpointsError, DescribeVpcEndpointsOutput,
    };
    use aws_sdk_ec2::operation::modify_vpc_endpoint::ModifyVpcEndpointOutput;
    use aws_sdk_ec2::types::{State, VpcEndpointType};
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    const SERVICE: &str = "com.amazonaws.eu-west-1.s3";

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ec2, aws_sdk_ec2, rules)
    }

    fn said(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    /// The endpoint on the route tables `tables` (of `rtb.a`, `rtb.b`), as
    /// a stack builds it.
    fn spec(tables: &[&str]) -> Spec {
        let mut g = Desired::new();
        let vpc = g.add(Spec::new("vpc", "ec2_vpc", json!({})));
        let handles: Vec<_> = tables
            .iter()
            .map(|t| g.add(Spec::new(*t, "ec2_route_table", json!({}))))
            .collect();
        Spec::of(
            "s3.endpoint",
            &VpcEndpointInputs {
                service: SERVICE.into(),
            },
        )
        .after(&vpc)
        .filling_each("route_tables", &handles, OnDepChange::Update)
    }

    fn deps() -> Records {
        [
            ("vpc", "ec2_vpc", "vpc-1"),
            ("rtb.a", "ec2_route_table", "rtb-1"),
            ("rtb.b", "ec2_route_table", "rtb-2"),
        ]
        .into_iter()
        .map(|(k, kind, id)| (k.to_string(), Record::new(kind, id, json!({}))))
        .collect()
    }

    fn record() -> Record {
        Record::new(
            "ec2_vpc_endpoint",
            "vpce-1",
            spec(&["rtb.a", "rtb.b"]).inputs,
        )
        .with("route_table_ids", "rtb-1,rtb-2")
    }

    /// The endpoint `vpce-1` in `state` on `tables`.
    fn described(state: State, tables: &'static [&'static str]) -> Rule {
        mock!(Client::describe_vpc_endpoints)
            .match_requests(|r| r.vpc_endpoint_ids() == ["vpce-1"])
            .then_output(move || {
                DescribeVpcEndpointsOutput::builder()
                    .vpc_endpoints(
                        aws_sdk_ec2::types::VpcEndpoint::builder()
                            .vpc_endpoint_id("vpce-1")
                            .state(state.clone())
                            .set_route_table_ids(Some(
                                tables.iter().map(|t| t.to_string()).collect(),
                            ))
                            .build(),
                    )
                    .build()
            })
    }

    fn endpoint_in(state: &str) -> DescribeVpcEndpointsOutput {
        DescribeVpcEndpointsOutput::builder()
            .vpc_endpoints(
                aws_sdk_ec2::types::VpcEndpoint::builder()
                    .vpc_endpoint_id("vpce-1")
                    .state(State::from(state))
                    .build(),
            )
            .build()
    }

    fn created() -> CreateVpcEndpointOutput {
        CreateVpcEndpointOutput::builder()
            .vpc_endpoint(
                aws_sdk_ec2::types::VpcEndpoint::builder()
                    .vpc_endpoint_id("vpce-1")
                    .state(State::from("available"))
                    .build(),
            )
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn create_makes_a_gateway_endpoint_on_the_slots_route_tables() {
        let create = mock!(Client::create_vpc_endpoint)
            .match_requests(|r| {
                let tags = r
                    .tag_specifications()
                    .iter()
                    .find(|t| t.resource_type() == Some(&ResourceType::VpcEndpoint));
                let has = |k: &str, v: &str| {
                    tags.is_some_and(|t| {
                        t.tags()
                            .iter()
                            .any(|x| x.key() == Some(k) && x.value() == Some(v))
                    })
                };
                r.vpc_id() == Some("vpc-1")
                    && r.service_name() == Some(SERVICE)
                    && r.vpc_endpoint_type() == Some(&VpcEndpointType::Gateway)
                    && r.route_table_ids() == ["rtb-1", "rtb-2"]
                    && has(TAG_COMPONENT, "s3.endpoint")
                    && has(TAG_STACK_ID, "s")
            })
            .then_output(created);
        // Not shown at first, then pending, then available: waited for.
        let shows = mock!(Client::describe_vpc_endpoints)
            .match_requests(|r| r.vpc_endpoint_ids() == ["vpce-1"])
            .sequence()
            .error(|| {
                DescribeVpcEndpointsError::generic(said(
                    "InvalidVpcEndpointId.NotFound",
                    "The Vpc Endpoint Id 'vpce-1' does not exist",
                ))
            })
            .output(|| endpoint_in("pending"))
            .output(|| endpoint_in("available"))
            .build();
        let spec = spec(&["rtb.a", "rtb.b"]);
        let rec = VpcEndpoint
            .create(&env_over(&[&create, &shows]), &spec, &deps())
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 1);
        assert_eq!(shows.num_calls(), 3, "waited until available");
        assert_eq!(rec.kind, "ec2_vpc_endpoint");
        assert_eq!(rec.id, "vpce-1");
        assert_eq!(rec.out("route_table_ids"), "rtb-1,rtb-2");
        assert_eq!(rec.inputs, spec.inputs);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_naming_a_dependency_that_is_no_route_table_is_refused_before_any_call() {
        // No rule: a call would fail the test.
        let mut deps = deps();
        deps.insert(
            "rtb.b".into(),
            Record::new("ec2_subnet", "subnet-1", json!({})),
        );
        let e = VpcEndpoint
            .create(&env_over(&[]), &spec(&["rtb.a", "rtb.b"]), &deps)
            .await
            .unwrap_err();
        assert!(
            e.message.contains("route_tables names rtb.b"),
            "{}",
            e.message
        );
    }

    /// No call of the kind is declared "not yet" (hashicorp/aws retries
    /// none): a refused create is final after one call, while throttling
    /// is the SDK's to retry.
    #[tokio::test(start_paused = true)]
    async fn a_refused_create_is_final_after_one_call_and_throttling_is_retried_by_the_sdk() {
        assert!(
            CALLS.iter().all(|c| c.not_yet.is_empty()),
            "a call now declares a \"not yet\": test that it is retried"
        );
        let create = mock!(Client::create_vpc_endpoint).then_error(|| {
            CreateVpcEndpointError::generic(said(
                "InvalidServiceName",
                "The Vpc Endpoint Service 'com.amazonaws.eu-west-1.s4' does not exist",
            ))
        });
        let e = VpcEndpoint
            .create(&env_over(&[&create]), &spec(&["rtb.a"]), &deps())
            .await
            .unwrap_err();
        assert_eq!(create.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("CreateVpcEndpoint: InvalidServiceName"),
            "{}",
            e.message
        );

        let create = mock!(Client::create_vpc_endpoint)
            .sequence()
            .error(|| {
                CreateVpcEndpointError::generic(said(
                    "RequestLimitExceeded",
                    "Request limit exceeded.",
                ))
            })
            .output(created)
            .build();
        let available =
            mock!(Client::describe_vpc_endpoints).then_output(|| endpoint_in("available"));
        let rec = VpcEndpoint
            .create(
                &env_over(&[&create, &available]),
                &spec(&["rtb.a"]),
                &deps(),
            )
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 2);
        assert_eq!(rec.id, "vpce-1");
    }

    #[tokio::test(start_paused = true)]
    async fn an_endpoint_gone_or_being_deleted_reads_as_none() {
        let gone = mock!(Client::describe_vpc_endpoints).then_error(|| {
            DescribeVpcEndpointsError::generic(said(
                "InvalidVpcEndpointId.NotFound",
                "The Vpc Endpoint Id 'vpce-1' does not exist",
            ))
        });
        assert!(VpcEndpoint
            .read(&env_over(&[&gone]), &record())
            .await
            .unwrap()
            .is_none());
        assert_eq!(gone.num_calls(), 1);
        // As AWS words the states (lowercase, not the SDK's modeled names).
        for state in [State::from("deleted"), State::from("deleting")] {
            let ending = described(state.clone(), &["rtb-1", "rtb-2"]);
            assert!(
                VpcEndpoint
                    .read(&env_over(&[&ending]), &record())
                    .await
                    .unwrap()
                    .is_none(),
                "{state:?}"
            );
        }
        let none = mock!(Client::describe_vpc_endpoints)
            .then_output(|| DescribeVpcEndpointsOutput::builder().build());
        assert!(VpcEndpoint
            .read(&env_over(&[&none]), &record())
            .await
            .unwrap()
            .is_none());
        // Any other error is an error, not a disappearance.
        let refused = mock!(Client::describe_vpc_endpoints).then_error(|| {
            DescribeVpcEndpointsError::generic(said(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ))
        });
        let e = VpcEndpoint
            .read(&env_over(&[&refused]), &record())
            .await
            .unwrap_err();
        assert!(
            e.message
                .starts_with("DescribeVpcEndpoints: permission denied"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_shows_a_route_table_taken_off_out_of_band_as_drift() {
        // The same tables in another order: no drift.
        let same = described(State::from("available"), &["rtb-2", "rtb-1"]);
        let r = VpcEndpoint
            .read(&env_over(&[&same]), &record())
            .await
            .unwrap()
            .expect("the endpoint exists");
        assert_eq!(r.inputs, record().inputs);
        // One left out: the inputs no longer match the spec's.
        let fewer = described(State::from("available"), &["rtb-1"]);
        let r = VpcEndpoint
            .read(&env_over(&[&fewer]), &record())
            .await
            .unwrap()
            .expect("the endpoint exists");
        assert_eq!(r.inputs["route_tables"], json!(["rtb-1"]));
        assert_ne!(r.inputs, record().inputs);
    }

    #[tokio::test(start_paused = true)]
    async fn update_adds_and_removes_only_the_route_tables_that_differ() {
        // AWS has rtb-1 and rtb-3; the slot wants rtb-1 and rtb-2.
        let now = described(State::from("available"), &["rtb-1", "rtb-3"]);
        let modify = mock!(Client::modify_vpc_endpoint)
            .match_requests(|r| {
                r.vpc_endpoint_id() == Some("vpce-1")
                    && r.add_route_table_ids() == ["rtb-2"]
                    && r.remove_route_table_ids() == ["rtb-3"]
            })
            .then_output(|| ModifyVpcEndpointOutput::builder().build());
        let old = record().with("route_table_ids", "rtb-1,rtb-3");
        let settled = described(State::from("available"), &["rtb-1", "rtb-2"]);
        let rec = VpcEndpoint
            .update(
                &env_over(&[&now, &modify, &settled]),
                &spec(&["rtb.a", "rtb.b"]),
                &old,
                &deps(),
            )
            .await
            .unwrap();
        assert_eq!(modify.num_calls(), 1);
        assert_eq!(
            settled.num_calls(),
            1,
            "waited for available after the change"
        );
        assert_eq!(rec.out("route_table_ids"), "rtb-1,rtb-2");

        // Already in step: no ModifyVpcEndpoint (no rule for one).
        let now = described(State::from("available"), &["rtb-2", "rtb-1"]);
        let rec = VpcEndpoint
            .update(
                &env_over(&[&now]),
                &spec(&["rtb.a", "rtb.b"]),
                &record(),
                &deps(),
            )
            .await
            .unwrap();
        assert_eq!(now.num_calls(), 1);
        assert_eq!(rec.id, "vpce-1");
    }

    #[tokio::test(start_paused = true)]
    async fn deleting_an_endpoint_already_gone_succeeds_and_another_error_fails() {
        let delete = mock!(Client::delete_vpc_endpoints)
            .match_requests(|r| r.vpc_endpoint_ids() == ["vpce-1"])
            .then_error(|| {
                DeleteVpcEndpointsError::generic(said(
                    "InvalidVpcEndpointId.NotFound",
                    "The Vpc Endpoint Id 'vpce-1' does not exist",
                ))
            });
        VpcEndpoint
            .delete(&env_over(&[&delete]), &record())
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 1);

        let delete = mock!(Client::delete_vpc_endpoints).then_error(|| {
            DeleteVpcEndpointsError::generic(said(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ))
        });
        let e = VpcEndpoint
            .delete(&env_over(&[&delete]), &record())
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("DeleteVpcEndpoints: permission denied"),
            "{}",
            e.message
        );
        let deleted = mock!(Client::delete_vpc_endpoints)
            .then_output(|| DeleteVpcEndpointsOutput::builder().build());
        let going = mock!(Client::describe_vpc_endpoints)
            .sequence()
            .output(|| endpoint_in("deleting"))
            .output(|| endpoint_in("deleted"))
            .build();
        VpcEndpoint
            .delete(&env_over(&[&deleted, &going]), &record())
            .await
            .unwrap();
        assert_eq!(deleted.num_calls(), 1);
        assert_eq!(going.num_calls(), 2, "waited until deleted");

        // A refusal inside a successful answer is an error, naming it.
        let refused = mock!(Client::delete_vpc_endpoints).then_output(|| {
            DeleteVpcEndpointsOutput::builder()
                .unsuccessful(
                    aws_sdk_ec2::types::UnsuccessfulItem::builder()
                        .resource_id("vpce-1")
                        .error(
                            aws_sdk_ec2::types::UnsuccessfulItemError::builder()
                                .code("DependencyViolation")
                                .message("the endpoint is in use")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let e = VpcEndpoint
            .delete(&env_over(&[&refused]), &record())
            .await
            .unwrap_err();
        assert!(
            e.message
                .starts_with("DeleteVpcEndpoints: DependencyViolation"),
            "{}",
            e.message
        );
    }
}
