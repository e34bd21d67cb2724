//! Raw state bytes through UpgradeResourceState, for either stack and any
//! schema version: an upgraded state or a diagnostic, never a panic. An
//! upgraded state decodes against the current schema.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use terraform_provider_awsstack::tfplugin::proto::tfplugin6::{
    self as pb, provider_server::Provider as _,
};
use terraform_provider_awsstack::value::decode_msgpack;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let (type_name, ty) = common::stack((sel & 1) as usize);
    let version = i64::from((sel >> 1) & 3) - 1; // -1 ..= 2
    let (server, rt) = common::fixture();
    let req = pb::upgrade_resource_state::Request {
        type_name: type_name.into(),
        version,
        raw_state: Some(pb::RawState {
            json: bytes.to_vec(),
            flatmap: Default::default(),
        }),
    };
    let r = rt
        .block_on(server.upgrade_resource_state(tonic::Request::new(req)))
        .expect("a response")
        .into_inner();
    match r.upgraded_state {
        Some(dv) => {
            decode_msgpack(&dv.msgpack, ty).expect("an upgraded state decodes against the schema");
        }
        None => assert!(!r.diagnostics.is_empty(), "no state and no diagnostic"),
    }
});
