//! Stack resources. `StackResource` turns any `Stack` (a schema plus a
//! config → component graph function) into a Terraform resource on the
//! engine: plan shows the sub-resource changes, apply runs them and records
//! exactly what exists, read detects drift, import rebuilds state.

pub mod container_service;
pub mod docker_host;
#[cfg(test)]
mod docs_tests;

/// The records of `specs` as if each had just been created (ids
/// `id-<key>`): what a stack's tests plan against.
#[cfg(test)]
pub(crate) fn as_recorded(specs: &[Spec]) -> Records {
    specs
        .iter()
        .map(|s| {
            (
                s.key.clone(),
                Record {
                    deps: s.deps.iter().map(|d| d.key.clone()).collect(),
                    tags: s.tags.clone(),
                    ..Record::new(s.kind, format!("id-{}", s.key), s.inputs.clone())
                },
            )
        })
        .collect()
}
pub mod actions;
pub mod credentials;
pub mod multi_region_platform;

use crate::aws::{AwsContext, Shared};
use crate::engine::{self, Action, Env, Kinds, Record, Records, Spec};
use crate::schema::{
    apply_defaults, validate, Attribute, Block, Diagnostic, Diagnostics, NestedBlock, Nesting,
    Schema,
};
use crate::tfplugin::{
    ApplyRequest, ApplyResponse, IdentityAttribute, IdentitySchema, ImportResponse, Listed,
    PlanRequest, PlanResponse, ReadResponse, Resource,
};
use crate::value::{Path, Type, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

mod checks;
mod import;
mod manifest;
mod private_state;
mod resource;
mod stack;

pub use checks::*;
pub use manifest::*;
pub(crate) use private_state::*;
pub use resource::*;
pub use stack::*;

pub fn all(shared: Arc<Shared>) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(StackResource::new(
            docker_host::DockerHost::new(),
            shared.clone(),
        )),
        Arc::new(StackResource::new(
            container_service::ContainerService::new(),
            shared.clone(),
        )),
        Arc::new(StackResource::new(
            multi_region_platform::MultiRegionPlatform::new(),
            shared,
        )),
    ]
}

/// A string attribute of a configuration ("" when null or unknown).
pub(crate) fn str_attr<'a>(c: &'a Value, k: &str) -> &'a str {
    c.get(k).as_str().unwrap_or("")
}

/// A number attribute that is required or has a schema default. A stack
/// reads its configuration with the defaults filled (`desired`,
/// `validate`), so the default is written once, on the schema; 0 only
/// when the schema gives the attribute neither.
pub(crate) fn num_attr(c: &Value, k: &str) -> f64 {
    c.get(k).as_f64().unwrap_or_default()
}

/// A whole-number attribute, read as `num_attr` is.
pub(crate) fn int_attr(c: &Value, k: &str) -> i64 {
    num_attr(c, k) as i64
}

/// A boolean attribute, read as `num_attr` is.
pub(crate) fn flag_attr(c: &Value, k: &str) -> bool {
    c.get(k).as_bool().unwrap_or_default()
}

/// The known strings of a list attribute value.
pub(crate) fn string_list(v: &Value) -> Vec<String> {
    v.as_list()
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

pub use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};
