//! A DynamicValue from the wire, as msgpack or JSON, for either stack.
//!
//! - Decoding against the stack's schema type gives a value or an error,
//!   never a panic; a decoded value encodes and decodes back to itself.
//! - The same bytes through ValidateResourceConfig and PlanResourceChange
//!   (as config, prior state and proposed state) give a response, never a
//!   panic. The provider is not configured: no AWS call can be made.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use terraform_provider_awsstack::provider::AwsStackProvider;
use terraform_provider_awsstack::stacks::{container_service::ContainerService, docker_host::DockerHost, Stack};
use terraform_provider_awsstack::tfplugin::proto::tfplugin6::{self as pb, provider_server::Provider as _};
use terraform_provider_awsstack::tfplugin::ProviderServer;
use terraform_provider_awsstack::value::{decode_json, decode_msgpack, encode_msgpack};

const TYPES: [&str; 2] = ["awsstack_docker_host", "awsstack_container_service"];

/// One provider server and runtime for every input (as Terraform keeps one
/// provider process for a whole command).
fn fixture() -> &'static (ProviderServer, tokio::runtime::Runtime) {
    static F: OnceLock<(ProviderServer, tokio::runtime::Runtime)> = OnceLock::new();
    F.get_or_init(|| {
        let server = ProviderServer::new(Arc::new(AwsStackProvider::new()), Arc::new(tokio::sync::Notify::new()));
        (server, tokio::runtime::Builder::new_current_thread().build().unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else { return };
    let stack = (sel & 1) as usize;
    let json = sel & 2 != 0;
    let ty = if stack == 0 { DockerHost::new().schema().block.value_type() } else { ContainerService::new().schema().block.value_type() };

    let decoded = if json { decode_json(bytes, &ty) } else { decode_msgpack(bytes, &ty) };
    if let Ok(v) = decoded {
        let again = decode_msgpack(&encode_msgpack(&v, &ty), &ty).expect("an encoded value decodes");
        assert_eq!(again, v, "msgpack round trip");
    }

    let dv = || Some(if json { pb::DynamicValue { msgpack: vec![], json: bytes.to_vec() } } else { pb::DynamicValue { msgpack: bytes.to_vec(), json: vec![] } });
    let (server, rt) = fixture();
    rt.block_on(async {
        let type_name = TYPES[stack].to_string();
        let v = pb::validate_resource_config::Request { type_name: type_name.clone(), config: dv(), ..Default::default() };
        let _ = server.validate_resource_config(tonic::Request::new(v)).await;
        let p = pb::plan_resource_change::Request { type_name, prior_state: dv(), proposed_new_state: dv(), config: dv(), ..Default::default() };
        let _ = server.plan_resource_change(tonic::Request::new(p)).await;
    });
});
