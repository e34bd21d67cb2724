//! Protocol-level tests: the RPCs as Terraform calls them, on the real
//! provider (no AWS call is made by these).

use super::AwsStackProvider;
use crate::tfplugin::proto::tfplugin6::{self as pb, provider_server::Provider as _};
use crate::tfplugin::ProviderServer;
use crate::value::{decode_msgpack, encode_msgpack, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::Request;

fn server() -> ProviderServer {
    ProviderServer::new(
        Arc::new(AwsStackProvider::new()),
        Arc::new(tokio::sync::Notify::new()),
    )
}

fn docker_host_type() -> crate::value::Type {
    use crate::stacks::Stack;
    crate::stacks::docker_host::DockerHost::new()
        .schema()
        .block
        .value_type()
}

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::Object(m)
}

fn path_names(d: &pb::Diagnostic) -> Vec<String> {
    use pb::attribute_path::step::Selector;
    d.attribute
        .as_ref()
        .map(|a| {
            a.steps
                .iter()
                .map(|s| match s.selector.as_ref().unwrap() {
                    Selector::AttributeName(n) => n.clone(),
                    Selector::ElementKeyString(k) => format!("[{k}]"),
                    Selector::ElementKeyInt(i) => format!("[{i}]"),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn schema_lists_the_resource_with_valid_types() {
    let s = server();
    let r = s
        .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
        .await
        .unwrap()
        .into_inner();
    let dh = &r.resource_schemas["awsstack_docker_host"];
    assert_eq!(dh.version, 1);
    let block = dh.block.as_ref().unwrap();
    let ssm = block
        .attributes
        .iter()
        .find(|a| a.name == "ssm_parameters")
        .unwrap();
    assert!(ssm.sensitive && ssm.optional);
    for a in &block.attributes {
        let t: serde_json::Value = serde_json::from_slice(&a.r#type).expect("type is JSON");
        assert!(t.is_string() || t.is_array(), "{}", a.name);
        assert!(a.required || a.optional || a.computed, "{}", a.name);
    }
    let meta = s
        .get_metadata(Request::new(pb::get_metadata::Request {}))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = meta
        .resources
        .iter()
        .map(|r| r.type_name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "awsstack_container_service",
            "awsstack_docker_host",
            "awsstack_multi_region_platform"
        ]
    );
    let cs = &r.resource_schemas["awsstack_container_service"];
    let values = cs
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "app_secret_values")
        .unwrap();
    assert!(values.sensitive && values.optional);
    let wo = cs
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "app_secret_values_wo")
        .unwrap();
    assert!(wo.write_only && wo.optional && !wo.computed);
}

#[tokio::test]
async fn write_only_needs_the_clients_capability() {
    let s = server();
    let t = docker_host_type();
    let cfg = config(&[
        ("project_name", Value::str("kauri")),
        (
            "ssm_parameters_wo",
            Value::string_map([("API_KEY", "never-in-state")]),
        ),
        ("ssm_parameters_wo_version", Value::Number(1.0)),
    ]);
    let validate = |caps: Option<pb::ClientCapabilities>| pb::validate_resource_config::Request {
        type_name: "awsstack_docker_host".into(),
        config: Some(pb::DynamicValue {
            msgpack: encode_msgpack(&cfg, &t),
            json: vec![],
        }),
        client_capabilities: caps,
    };
    // Terraform 1.0.3 sends no capabilities.
    let d = s
        .validate_resource_config(Request::new(validate(None)))
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert_eq!(
        d.iter().map(path_names).collect::<Vec<_>>(),
        vec![vec!["ssm_parameters_wo".to_string()]]
    );
    assert!(d[0].detail.contains("Terraform 1.11") && !d[0].detail.contains("never-in-state"));
    let d = s
        .validate_resource_config(Request::new(validate(Some(pb::ClientCapabilities {
            deferral_allowed: false,
            write_only_attributes_allowed: true,
        }))))
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert!(d.is_empty(), "{d:?}");
}

#[tokio::test]
async fn validate_points_at_the_attribute() {
    let s = server();
    let t = docker_host_type();
    let cfg = config(&[
        ("project_name", Value::str("kauri")),
        ("vpc_cidr", Value::str("10.0.0.0/33")),
        (
            "budget_notification_emails",
            Value::string_list(["ops@example.com", "nope"]),
        ),
    ]);
    let req = pb::validate_resource_config::Request {
        type_name: "awsstack_docker_host".into(),
        config: Some(pb::DynamicValue {
            msgpack: encode_msgpack(&cfg, &t),
            json: vec![],
        }),
        client_capabilities: None,
    };
    let d = s
        .validate_resource_config(Request::new(req))
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    let paths: Vec<Vec<String>> = d.iter().map(path_names).collect();
    assert!(paths.contains(&vec!["vpc_cidr".to_string()]), "{paths:?}");
    assert!(
        paths.contains(&vec![
            "budget_notification_emails".to_string(),
            "[1]".to_string()
        ]),
        "{paths:?}"
    );
}

#[tokio::test]
async fn garbage_dynamic_value_is_a_diagnostic_not_a_panic() {
    let s = server();
    let req = pb::validate_resource_config::Request {
        type_name: "awsstack_docker_host".into(),
        config: Some(pb::DynamicValue {
            msgpack: vec![0xc1, 0xff, 0x00],
            json: vec![],
        }),
        client_capabilities: None,
    };
    let d = s
        .validate_resource_config(Request::new(req))
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert_eq!(d[0].severity, pb::diagnostic::Severity::Error as i32);
    let req = pb::validate_resource_config::Request {
        type_name: "awsstack_nope".into(),
        config: None,
        client_capabilities: None,
    };
    let d = s
        .validate_resource_config(Request::new(req))
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert!(d[0].summary.contains("Unknown resource type"));
}

#[tokio::test]
async fn state_of_an_older_schema_version_is_upgraded() {
    let s = server();
    let old = serde_json::json!({"id": "kauri-dev", "project_name": "kauri", "environment": "dev", "timezone": "Europe/Paris", "alert_emails": ["ops@example.com"], "removed_attr": 1});
    let req = pb::upgrade_resource_state::Request {
        type_name: "awsstack_docker_host".into(),
        version: 0,
        raw_state: Some(pb::RawState {
            json: serde_json::to_vec(&old).unwrap(),
            flatmap: Default::default(),
        }),
    };
    let r = s
        .upgrade_resource_state(Request::new(req))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let v = decode_msgpack(&r.upgraded_state.unwrap().msgpack, &docker_host_type()).unwrap();
    assert_eq!(v.get("scheduler_timezone"), &Value::str("Europe/Paris"));
    assert_eq!(
        v.get("budget_notification_emails"),
        &Value::string_list(["ops@example.com"])
    );
    assert_eq!(v.get("changes"), &Value::List(vec![]));
    // A state from the future is refused with a clear message.
    let req = pb::upgrade_resource_state::Request {
        type_name: "awsstack_docker_host".into(),
        version: 9,
        raw_state: Some(pb::RawState {
            json: b"{}".to_vec(),
            flatmap: Default::default(),
        }),
    };
    let r = s
        .upgrade_resource_state(Request::new(req))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics[0].summary.contains("newer provider"));
}

#[tokio::test]
async fn plan_with_unknown_config_marks_computed_unknown_without_aws() {
    let s = server();
    let t = docker_host_type();
    let mut cfg = config(&[
        ("project_name", Value::str("kauri")),
        ("vpc_cidr", Value::Unknown),
    ]);
    if let crate::value::Type::Object(attrs) = &t {
        for k in attrs.keys() {
            if let Value::Object(m) = &mut cfg {
                m.entry(k.clone()).or_insert(Value::Null);
            }
        }
    }
    let dv = pb::DynamicValue {
        msgpack: encode_msgpack(&cfg, &t),
        json: vec![],
    };
    let req = pb::plan_resource_change::Request {
        type_name: "awsstack_docker_host".into(),
        prior_state: None,
        proposed_new_state: Some(dv.clone()),
        config: Some(dv),
        prior_private: vec![],
        provider_meta: None,
        client_capabilities: None,
        prior_identity: None,
    };
    let r = s
        .plan_resource_change(Request::new(req))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let planned = decode_msgpack(&r.planned_state.unwrap().msgpack, &t).unwrap();
    assert!(planned.get("instance_id").is_unknown());
    assert!(planned.get("bucket_name").is_unknown());
    assert_eq!(
        planned.get("instance_type"),
        &Value::str("t4g.large"),
        "defaults are planned"
    );
}

mod upgrade_fuzz {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            "[a-z_]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("project_name".to_string()),
                        Just("env".to_string()),
                        Just("timezone".to_string()),
                        Just("resource_ids".to_string()),
                        "[a-z_]{1,10}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn upgrade(
        type_name: &str,
        version: i64,
        json: Vec<u8>,
    ) -> pb::upgrade_resource_state::Response {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let s = server();
        let req = pb::upgrade_resource_state::Request {
            type_name: type_name.into(),
            version,
            raw_state: Some(pb::RawState {
                json,
                flatmap: Default::default(),
            }),
        };
        rt.block_on(s.upgrade_resource_state(Request::new(req)))
            .unwrap()
            .into_inner()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// Any JSON state, of any schema version, for either stack: an upgraded
        /// state or a diagnostic, never a panic.
        #[test]
        fn any_json_state_upgrades_or_is_a_diagnostic(v in json_value(), version in -1i64..3, cs in any::<bool>()) {
            let t = if cs { "awsstack_container_service" } else { "awsstack_docker_host" };
            let r = upgrade(t, version, serde_json::to_vec(&v).unwrap());
            prop_assert!(r.upgraded_state.is_some() || !r.diagnostics.is_empty());
        }

        /// Bytes that are not JSON at all.
        #[test]
        fn garbage_state_bytes_are_a_diagnostic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let r = upgrade("awsstack_docker_host", 0, bytes);
            prop_assert!(r.upgraded_state.is_some() || !r.diagnostics.is_empty());
        }
    }
}

/// Resource identity (protocol 6.9): each stack type declares account,
/// region and stack id, the stack id alone required for an import.
#[tokio::test]
async fn every_stack_declares_its_identity() {
    let s = server();
    let r = s
        .get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {}))
        .await
        .unwrap()
        .into_inner();
    let mut types: Vec<&String> = r.identity_schemas.keys().collect();
    types.sort();
    assert_eq!(
        types,
        [
            "awsstack_container_service",
            "awsstack_docker_host",
            "awsstack_multi_region_platform"
        ]
    );
    for schema in r.identity_schemas.values() {
        let attrs: Vec<(&str, bool, bool)> = schema
            .identity_attributes
            .iter()
            .map(|a| {
                (
                    a.name.as_str(),
                    a.required_for_import,
                    a.optional_for_import,
                )
            })
            .collect();
        assert_eq!(
            attrs,
            [
                ("account_id", false, true),
                ("region", false, true),
                ("stack_id", true, false)
            ]
        );
        assert!(schema
            .identity_attributes
            .iter()
            .all(|a| a.r#type == b"\"string\""));
    }
}

/// An import by identity before the provider is configured names the
/// problem rather than importing nothing silently.
#[tokio::test]
async fn an_import_by_identity_needs_a_configured_provider() {
    let s = server();
    let t = crate::value::Type::Object(
        ["account_id", "region", "stack_id"]
            .iter()
            .map(|k| (k.to_string(), crate::value::Type::String))
            .collect(),
    );
    let identity = config(&[
        ("account_id", Value::Null),
        ("region", Value::Null),
        ("stack_id", Value::str("kauri-demo")),
    ]);
    let r = s
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "awsstack_docker_host".into(),
            id: String::new(),
            client_capabilities: None,
            identity: Some(pb::ResourceIdentityData {
                identity_data: Some(pb::DynamicValue {
                    msgpack: encode_msgpack(&identity, &t),
                    json: vec![],
                }),
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.imported_resources.is_empty());
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.summary == "Provider not configured"),
        "{:?}",
        r.diagnostics
    );
}
