//! awsstack: a Terraform provider whose resources are whole AWS stacks.
//!
//! Layers, from the top down: `provider` (the provider block, the top,
//! beside `main.rs`), `stacks` (one module per resource type),
//! `components` (one AWS object kind each) and `plugin` (go-plugin host),
//! `aws` (contexts, clients, error classes) and `tfplugin` (protocol 6
//! server), `schema`, then `value` and `engine` (component graphs). Each
//! uses only the layers below it (`layers_tests.rs` keeps it so).

pub mod aws;
pub mod components;
pub mod engine;
pub mod plugin;
pub mod provider;
pub mod schema;
pub mod stacks;
pub mod tfplugin;
pub mod value;

#[cfg(test)]
mod layers_tests;
