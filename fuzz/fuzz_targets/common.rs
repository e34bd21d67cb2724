//! What both fuzz targets share: one provider server and runtime for every
//! input (as Terraform keeps one provider process for a whole command), and
//! the two stacks with their schema types.

use std::sync::{Arc, OnceLock};
use terraform_provider_awsstack::provider::AwsStackProvider;
use terraform_provider_awsstack::stacks::{
    container_service::ContainerService, docker_host::DockerHost, Stack,
};
use terraform_provider_awsstack::tfplugin::ProviderServer;
use terraform_provider_awsstack::value::Type;

#[allow(dead_code)]
pub fn fixture() -> &'static (ProviderServer, tokio::runtime::Runtime) {
    static F: OnceLock<(ProviderServer, tokio::runtime::Runtime)> = OnceLock::new();
    F.get_or_init(|| {
        let server = ProviderServer::new(
            Arc::new(AwsStackProvider::new()),
            Arc::new(tokio::sync::Notify::new()),
        );
        (
            server,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        )
    })
}

/// The stack `n` (0: Docker host, 1: container service): its type name and
/// its schema's value type.
pub fn stack(n: usize) -> (&'static str, &'static Type) {
    static T: OnceLock<[Type; 2]> = OnceLock::new();
    let types = T.get_or_init(|| {
        [
            DockerHost::new().schema().block.value_type(),
            ContainerService::new().schema().block.value_type(),
        ]
    });
    (
        ["awsstack_docker_host", "awsstack_container_service"][n],
        &types[n],
    )
}

/// A provider server configured as Terraform would configure it, against
/// an endpoint where nothing listens (the discard port): plan runs to the
/// end (the stack's components, the engine's plan), and no AWS call can
/// succeed. Configuring tries STS once, which is refused at once.
#[allow(dead_code)]
pub fn configured() -> &'static (ProviderServer, tokio::runtime::Runtime) {
    use terraform_provider_awsstack::tfplugin::Provider as _;
    use terraform_provider_awsstack::value::Value;
    static F: OnceLock<(ProviderServer, tokio::runtime::Runtime)> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let provider = Arc::new(AwsStackProvider::new());
        let config = Value::Object(
            [
                ("region", Value::str("eu-west-3")),
                ("endpoint", Value::str("http://127.0.0.1:9")),
                ("access_key", Value::str("fuzz")),
                ("secret_key", Value::str("fuzz")),
                ("skip_credentials_validation", Value::Bool(true)),
                ("max_retries", Value::Number(1.0)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        let d = rt.block_on(provider.configure("1.15.5", config));
        assert!(!d.has_errors(), "the fuzz provider configures: {d:?}");
        (
            ProviderServer::new(provider, Arc::new(tokio::sync::Notify::new())),
            rt,
        )
    })
}
