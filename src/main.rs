//! `terraform-provider-awsstack`: the binary Terraform launches.

use std::sync::Arc;
use terraform_provider_awsstack::{plugin, provider::AwsStackProvider, tfplugin::ProviderServer};

const PROVIDER_ADDRESS: &str = "registry.terraform.io/awsstack/awsstack";

fn init_logging() {
    // Terraform sets TF_LOG / TF_LOG_PROVIDER for the provider process; logs
    // go to stderr, which go-plugin forwards to Terraform's log.
    let level = std::env::var("TF_LOG_PROVIDER")
        .or_else(|_| std::env::var("TF_LOG"))
        .unwrap_or_default()
        .to_lowercase();
    let filter = match level.as_str() {
        "trace" => "trace,h2=info,hyper=info,tower=info,rustls=info,aws_smithy_runtime=debug,aws_smithy_http_client=info",
        // Retries of throttled or failed calls show at debug (the attempt
        // number and the error kind; never a request or response body).
        "debug" => "debug,h2=info,hyper=info,tower=info,rustls=info,aws_smithy_runtime=info,aws_smithy_runtime::client::retries=debug,aws_smithy_http_client=info,aws_config=info",
        "info" => "info",
        "warn" => "warn",
        "error" => "error",
        "json" | "1" | "true" => "debug,h2=info,hyper=info,tower=info,rustls=info",
        _ => "off",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
}

fn main() {
    // `terraform-provider-awsstack catalog`: the consistency catalog as
    // JSON (what the acceptance tests' realistic-AWS mode plays).
    if std::env::args().nth(1).as_deref() == Some("catalog") {
        println!(
            "{}",
            terraform_provider_awsstack::components::catalog::to_json(
                terraform_provider_awsstack::stacks::actions::calls()
            )
        );
        return;
    }
    let debug = std::env::args().any(|a| a == "--debug");
    if !debug {
        if let Err(msg) = plugin::check_handshake_env() {
            eprintln!("{msg}");
            std::process::exit(1);
        }
    }
    init_logging();
    // One TLS crypto provider for the plugin server: ring (cheap to start;
    // the handshake is on every Terraform command's critical path).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mode = if debug {
        plugin::Mode::Debug {
            provider_address: PROVIDER_ADDRESS.to_string(),
        }
    } else {
        plugin::Mode::Managed
    };
    let result = rt.block_on(async move {
        let provider = Arc::new(AwsStackProvider::new());
        plugin::serve(mode, move |server, shutdown| {
            server.add_service(ProviderServer::new(provider, shutdown).into_service())
        })
        .await
    });
    if let Err(e) = result {
        eprintln!("awsstack provider: {e:#}");
        std::process::exit(1);
    }
}
