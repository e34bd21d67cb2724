//! What both fuzz targets share: one provider server and runtime for every
//! input (as Terraform keeps one provider process for a whole command), and
//! the two stacks with their schema types.

use std::sync::{Arc, OnceLock};
use terraform_provider_awsstack::provider::AwsStackProvider;
use terraform_provider_awsstack::stacks::{container_service::ContainerService, docker_host::DockerHost, Stack};
use terraform_provider_awsstack::tfplugin::ProviderServer;
use terraform_provider_awsstack::value::Type;

pub fn fixture() -> &'static (ProviderServer, tokio::runtime::Runtime) {
    static F: OnceLock<(ProviderServer, tokio::runtime::Runtime)> = OnceLock::new();
    F.get_or_init(|| {
        let server = ProviderServer::new(Arc::new(AwsStackProvider::new()), Arc::new(tokio::sync::Notify::new()));
        (server, tokio::runtime::Builder::new_current_thread().build().unwrap())
    })
}

/// The stack `n` (0: Docker host, 1: container service): its type name and
/// its schema's value type.
pub fn stack(n: usize) -> (&'static str, &'static Type) {
    static T: OnceLock<[Type; 2]> = OnceLock::new();
    let types = T.get_or_init(|| [DockerHost::new().schema().block.value_type(), ContainerService::new().schema().block.value_type()]);
    (["awsstack_docker_host", "awsstack_container_service"][n], &types[n])
}
