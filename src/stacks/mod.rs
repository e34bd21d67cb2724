//! Stack resources. `StackResource` turns any `Stack` (a schema plus a
//! config → component graph function) into a Terraform resource on the
//! engine: plan shows the sub-resource changes, apply runs them and records
//! exactly what exists, read detects drift, import rebuilds state.

pub mod container_service;
pub mod docker_host;
#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod specs_tests;

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
pub mod network;

use crate::aws::{AwsContext, Shared};
use crate::engine::{self, Action, Env, Kinds, Record, Records, Spec};
use crate::schema::config::{FromBlock, Setting};
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

pub mod adopt;
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

pub use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};

/// A stack's typed methods called with a cty configuration, read as the
/// provider reads it (`Stack::config`): what the stacks' tests call.
#[cfg(test)]
pub(crate) trait OnValues: Stack {
    /// The components with the manifest, as the provider plans them.
    fn desired_of(&self, c: &Value, ctx: &AwsContext) -> Vec<Spec>
    where
        Self: Sized,
    {
        with_manifests(self, c, ctx)
    }
    fn check_destroy_of(&self, state: &Value) -> Diagnostics {
        self.check_destroy(&self.config(state))
    }
    fn validate_change_of(&self, prior: &Value, c: &Value) -> Diagnostics {
        self.validate_change(&self.config(prior), &self.config(c))
    }
}

#[cfg(test)]
impl<S: Stack> OnValues for S {}
