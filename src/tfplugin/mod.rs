//! The Terraform plugin protocol, version 6: generated messages from our
//! `proto/` files and the server that maps each RPC onto the `Provider` and
//! `Resource` traits. Knows nothing of AWS or of any particular stack.

pub mod proto {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
    pub mod health {
        tonic::include_proto!("grpc.health.v1");
    }
}

mod convert;
mod server;

pub use server::ProviderServer;

use crate::schema::{Diagnostics, Schema};
use crate::value::Value;
use std::sync::Arc;

pub struct PlanRequest {
    /// Null when the resource is being created.
    pub prior_state: Value,
    /// Null when the resource is being destroyed.
    pub proposed_new_state: Value,
    pub config: Value,
    pub prior_private: Vec<u8>,
}

#[derive(Default)]
pub struct PlanResponse {
    pub planned_state: Value,
    pub requires_replace: Vec<crate::value::Path>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub struct ApplyRequest {
    pub prior_state: Value,
    /// Null when destroying.
    pub planned_state: Value,
    pub config: Value,
    pub planned_private: Vec<u8>,
}

#[derive(Default)]
pub struct ApplyResponse {
    /// Null once destroyed.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Default)]
pub struct ReadResponse {
    /// Null when the resource no longer exists.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Default)]
pub struct ImportResponse {
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// A resource type's identity (protocol 6.9, Terraform 1.12+): the
/// attributes that name one instance for good, which Terraform stores
/// beside the state and takes in `import { identity = { ... } }`.
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

pub struct IdentityAttribute {
    pub name: &'static str,
    pub ty: crate::value::Type,
    /// An import must give it (else the provider fills it in).
    pub required_for_import: bool,
    pub description: &'static str,
}

impl IdentitySchema {
    /// The object type identity data is encoded with.
    pub fn value_type(&self) -> crate::value::Type {
        crate::value::Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.to_string(), a.ty.clone()))
                .collect(),
        )
    }
}

/// One instance a list resource found (`terraform query`).
pub struct Listed {
    /// Its identity, decoded with the type's identity schema.
    pub identity: Value,
    pub display_name: String,
    /// Its whole state, when Terraform asked for it.
    pub object: Option<Value>,
}

/// A managed resource type.
#[tonic::async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// Static checks of a configuration (unknown values are skipped).
    fn validate(&self, config: &Value) -> Diagnostics;
    /// Rewrites a JSON state written by an older schema version into the
    /// current version's shape.
    fn upgrade_state(
        &self,
        from_version: i64,
        state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics>;
    async fn plan(&self, req: PlanRequest) -> PlanResponse;
    async fn apply(&self, req: ApplyRequest) -> ApplyResponse;
    async fn read(&self, state: Value, private: Vec<u8>) -> ReadResponse;
    async fn import(&self, id: &str) -> ImportResponse;
    /// The identity schema, for a type that has one.
    fn identity_schema(&self) -> Option<&IdentitySchema> {
        None
    }
    /// The identity of the instance whose state is `state` (never null).
    fn identity_of(&self, _state: &Value) -> Option<Value> {
        None
    }
    /// The schema of a list block's `config` for this type (protocol
    /// 6.10), for a type that can be listed.
    fn list_schema(&self) -> Option<&Schema> {
        None
    }
    /// Every instance the list configuration selects, at most `limit`, with
    /// its state when `include_object`.
    async fn list(
        &self,
        _config: Value,
        _include_object: bool,
        _limit: i64,
    ) -> (Vec<Listed>, Diagnostics) {
        (vec![], Diagnostics::default())
    }
    /// The configuration that describes the instance whose state is
    /// `state` (`terraform query -generate-config-out`).
    async fn generate_config(&self, _state: Value) -> (Value, Diagnostics) {
        let mut d = Diagnostics::default();
        d.push(crate::schema::Diagnostic::error(
            "Configuration generation not supported",
            format!("{} cannot generate its configuration.", self.type_name()),
        ));
        (Value::Null, d)
    }
    /// The import id that `identity` (decoded with `identity_schema`)
    /// names, or why it names none here.
    fn import_id(&self, _identity: &Value) -> Result<String, Diagnostics> {
        let mut d = Diagnostics::default();
        d.push(crate::schema::Diagnostic::error(
            "Import by identity not supported",
            format!("{} is imported by id.", self.type_name()),
        ));
        Err(d)
    }
}

/// Where an action says what it is doing while it runs (Terraform prints
/// each message as it comes).
#[derive(Clone)]
pub struct Progress(tokio::sync::mpsc::Sender<String>);

impl Progress {
    pub fn new(tx: tokio::sync::mpsc::Sender<String>) -> Progress {
        Progress(tx)
    }
    pub async fn say(&self, message: impl Into<String>) {
        // Terraform gone: nobody to tell, and the work goes on.
        let _ = self.0.send(message.into()).await;
    }
}

/// An action type (protocol 6.10, Terraform 1.14+): work Terraform runs on
/// demand (`terraform apply -invoke=action.<type>.<name>`) or when a
/// resource's `action_trigger` fires; it leaves every state as it was.
#[tonic::async_trait]
pub trait Action: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// Static checks of a configuration (no AWS call).
    fn validate(&self, config: &Value) -> Diagnostics;
    /// Runs the action, saying what it does through `progress`; the
    /// diagnostics are its outcome.
    async fn invoke(&self, config: Value, progress: Progress) -> Diagnostics;
}

/// An ephemeral resource type (protocol 6.7, Terraform 1.10+): a value
/// opened for one run (credentials), never written to a plan or a state.
#[tonic::async_trait]
pub trait EphemeralResource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// Static checks of a configuration (no AWS call).
    fn validate(&self, config: &Value) -> Diagnostics;
    /// The value: the configuration with its computed attributes filled.
    async fn open(&self, config: Value) -> (Value, Diagnostics);
}

/// A data source type.
#[tonic::async_trait]
pub trait DataSource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    async fn read(&self, config: Value) -> (Value, Diagnostics);
}

/// The provider: its own configuration, and the resource types it serves.
#[tonic::async_trait]
pub trait Provider: Send + Sync + 'static {
    fn schema(&self) -> &Schema;
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![]
    }
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource>> {
        vec![]
    }
    fn validate_config(&self, config: &Value) -> Diagnostics;
    async fn configure(&self, terraform_version: &str, config: Value) -> Diagnostics;
    /// StopProvider: cancel in-flight work.
    fn stop(&self);
}
