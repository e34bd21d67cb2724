//! A DynamicValue from the wire, as msgpack or JSON, for either stack.
//!
//! - Decoding against the stack's schema type gives a value or an error,
//!   never a panic; a decoded value encodes and decodes back to itself.
//! - The same bytes through ValidateResourceConfig and PlanResourceChange
//!   (as config, prior state and proposed state) give a response, never a
//!   panic. The provider is not configured: no AWS call can be made.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use terraform_provider_awsstack::tfplugin::proto::tfplugin6::{
    self as pb, provider_server::Provider as _,
};
use terraform_provider_awsstack::value::{decode_json, decode_msgpack, encode_msgpack};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let (type_name, ty) = common::stack((sel & 1) as usize);
    let json = sel & 2 != 0;

    let decoded = if json {
        decode_json(bytes, ty)
    } else {
        decode_msgpack(bytes, ty)
    };
    if let Ok(v) = decoded {
        let again = decode_msgpack(&encode_msgpack(&v, ty), ty).expect("an encoded value decodes");
        assert_eq!(again, v, "msgpack round trip");
    }

    let dv = || {
        Some(if json {
            pb::DynamicValue {
                msgpack: vec![],
                json: bytes.to_vec(),
            }
        } else {
            pb::DynamicValue {
                msgpack: bytes.to_vec(),
                json: vec![],
            }
        })
    };
    let (server, rt) = common::fixture();
    rt.block_on(async {
        let type_name = type_name.to_string();
        let v = pb::validate_resource_config::Request {
            type_name: type_name.clone(),
            config: dv(),
            ..Default::default()
        };
        let _ = server
            .validate_resource_config(tonic::Request::new(v))
            .await;
        let p = pb::plan_resource_change::Request {
            type_name,
            prior_state: dv(),
            proposed_new_state: dv(),
            config: dv(),
            ..Default::default()
        };
        let _ = server.plan_resource_change(tonic::Request::new(p)).await;
    });
});
