//! awsstack: a Terraform provider whose resources are whole AWS stacks.
//!
//! Layers, from the wire down: `plugin` (go-plugin host), `tfplugin`
//! (protocol 6 server), `value` and `schema`, `provider` (AWS context),
//! `engine` (component graphs), `aws` and `components` (AWS access), and
//! `stacks` (one module per resource type).

pub mod aws;
pub mod components;
pub mod engine;
pub mod plugin;
pub mod provider;
pub mod schema;
pub mod stacks;
pub mod tfplugin;
pub mod value;
