//! Raw state bytes through UpgradeResourceState, for either stack and any
//! schema version: an upgraded state or a diagnostic, never a panic. An
//! upgraded state decodes against the current schema.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use terraform_provider_awsstack::provider::AwsStackProvider;
use terraform_provider_awsstack::stacks::{container_service::ContainerService, docker_host::DockerHost, Stack};
use terraform_provider_awsstack::tfplugin::proto::tfplugin6::{self as pb, provider_server::Provider as _};
use terraform_provider_awsstack::tfplugin::ProviderServer;
use terraform_provider_awsstack::value::decode_msgpack;

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
    let version = i64::from((sel >> 1) & 3) - 1; // -1 ..= 2
    let (type_name, ty) = if stack == 0 {
        ("awsstack_docker_host", DockerHost::new().schema().block.value_type())
    } else {
        ("awsstack_container_service", ContainerService::new().schema().block.value_type())
    };
    let (server, rt) = fixture();
    let req = pb::upgrade_resource_state::Request { type_name: type_name.into(), version, raw_state: Some(pb::RawState { json: bytes.to_vec(), flatmap: Default::default() }) };
    let r = rt.block_on(server.upgrade_resource_state(tonic::Request::new(req))).expect("a response").into_inner();
    match r.upgraded_state {
        Some(dv) => {
            decode_msgpack(&dv.msgpack, &ty).expect("an upgraded state decodes against the schema");
        }
        None => assert!(!r.diagnostics.is_empty(), "no state and no diagnostic"),
    }
});
