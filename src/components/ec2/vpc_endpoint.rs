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

/// hashicorp/aws `vpc_endpoint.go` retries none of these calls (it waits
/// on the endpoint's state, as `describe` reads it here).
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

impl VpcEndpoint {
    fn tables(spec: &Spec, deps: &Records) -> Result<Vec<String>, OpError> {
        ENDPOINT_ROUTE_TABLES.ids_in(spec, deps)
    }
    async fn describe(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, OpError> {
        match env
            .ctx
            .ec2()
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
        {
            Ok(o) => Ok(o
                .vpc_endpoints()
                .first()
                .filter(|e| {
                    !matches!(
                        e.state().map(|s| s.as_str()),
                        Some("deleted") | Some("deleting")
                    )
                })
                .cloned()),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeVpcEndpoints")(e)),
        }
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
        Ok(Record::new(self.name(), id, spec.inputs.clone())
            .with("route_table_ids", Self::tables(spec, deps)?.join(",")))
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
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteVpcEndpoints")(e)),
        }
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
