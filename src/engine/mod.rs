//! The stack engine: a stack is a graph of components (one AWS object each,
//! with a stable logical key). The engine diffs the desired graph against the
//! recorded one, shows the plan, and applies it in dependency order with
//! independent branches in parallel, recording exactly what exists after any
//! failure. It knows nothing of Terraform's wire format.

pub mod consistency;
mod graph;
pub mod inputs;
pub mod needs;
pub mod ownership;
#[cfg(test)]
mod tests;
pub mod timings;
pub mod waiter;

mod adopt;
mod apply;
mod discover;
mod env;
mod kind;
mod plan;
mod record;
mod refresh;
mod spec;

pub use adopt::*;
pub use apply::*;
pub use consistency::{Call, Fault, NotYet, Retried, PROPAGATION};
pub use discover::*;
pub use env::*;
pub use graph::topo_order;
pub use inputs::{Inputs, Reference, Template};
pub use kind::*;
pub use needs::Need;
pub use ownership::{Tags, TAG_COMPONENT, TAG_STACK_ID};
pub use plan::*;
pub use record::*;
pub use refresh::*;
pub use spec::*;
pub use waiter::{Timeouts, Waiter, GONE};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
