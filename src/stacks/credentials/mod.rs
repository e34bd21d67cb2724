//! Credentials that never reach the state (ephemeral resources, protocol
//! 6.7, Terraform 1.10+), each read from the stack's own objects (those
//! carrying its stack-id tag) when Terraform needs them:
//!
//! - `awsstack_database_credentials`: a database's host, port, user and
//!   password, from the stack's Secrets Manager secret;
//! - `awsstack_eks_credentials`: a platform cluster's endpoint, CA and a
//!   short-lived token, for the kubernetes and helm providers.

use crate::aws::{AwsContext, Shared};
use crate::components::tagging::TagRef;
use crate::engine::TAG_STACK_ID;
use crate::schema::{Attribute, Block, Diagnostic, Diagnostics, Schema};
use crate::tfplugin::EphemeralResource;
use crate::value::{Path, Type, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

mod database;
mod eks;

pub fn all(shared: Arc<Shared>) -> Vec<Arc<dyn EphemeralResource>> {
    vec![database::resource(shared.clone()), eks::resource(shared)]
}

fn error(summary: &str, detail: impl Into<String>) -> (Value, Diagnostics) {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::error(summary, detail).at(Path::attr("stack_id")));
    (Value::Null, d)
}

/// Checks a `stack_id` argument (the check every stack-id argument shares).
fn validate_stack_id(config: &Value) -> Diagnostics {
    crate::stacks::stack_id_argument(config)
        .err()
        .unwrap_or_default()
}
