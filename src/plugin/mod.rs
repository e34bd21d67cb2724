//! The go-plugin host: handshake line, TLS certificate, listener, and the
//! side services go-plugin expects (`GRPCController`, `GRPCStdio`, health).
//! Knows nothing of Terraform's messages or of AWS.

mod services;

use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::transport::server::Router;
use tonic::transport::{Identity, Server, ServerTlsConfig};

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
pub const CORE_PROTOCOL_VERSION: u32 = 1;
pub const APP_PROTOCOL_VERSION: u32 = 6;

/// How the plugin was started.
pub enum Mode {
    /// Launched by Terraform (the magic cookie is set).
    Managed,
    /// `--debug`: serve in the foreground without TLS and print the
    /// `TF_REATTACH_PROVIDERS` value.
    Debug { provider_address: String },
}

/// A fresh self-signed certificate for `localhost`.
pub struct Certificate {
    pub der: Vec<u8>,
    pub identity: Identity,
}

pub fn self_signed_certificate() -> anyhow::Result<Certificate> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let identity = Identity::from_pem(ck.cert.pem(), ck.signing_key.serialize_pem());
    Ok(Certificate {
        der: ck.cert.der().to_vec(),
        identity,
    })
}

/// Checks the environment go-plugin sets; returns a message for a person
/// who ran the binary by hand.
pub fn check_handshake_env() -> Result<(), String> {
    match std::env::var(MAGIC_COOKIE_KEY) {
        Ok(v) if v == MAGIC_COOKIE_VALUE => {}
        _ => {
            return Err("This binary is a plugin. These are not meant to be executed directly.\n\
                 Please execute the program that consumes these plugins (terraform), which will load\n\
                 any plugins automatically. To debug, run it with --debug and follow the instructions."
                .to_string())
        }
    }
    if let Ok(versions) = std::env::var("PLUGIN_PROTOCOL_VERSIONS") {
        let ok = versions
            .split(',')
            .any(|v| v.trim() == APP_PROTOCOL_VERSION.to_string());
        if !ok {
            return Err(format!("Terraform offers plugin protocol versions {versions}; this provider speaks protocol {APP_PROTOCOL_VERSION} (Terraform 1.0 or later)."));
        }
    }
    Ok(())
}

async fn bind() -> anyhow::Result<TcpListener> {
    let min: u16 = std::env::var("PLUGIN_MIN_PORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: u16 = std::env::var("PLUGIN_MAX_PORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if min == 0 && max == 0 {
        return Ok(TcpListener::bind("127.0.0.1:0").await?);
    }
    for port in min..=max {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)).await {
            return Ok(l);
        }
    }
    anyhow::bail!("no free port on 127.0.0.1 between {min} and {max}")
}

/// The handshake line go-plugin reads from stdout.
pub fn handshake_line(addr: SocketAddr, cert_der: Option<&[u8]>) -> String {
    let cert = cert_der
        .map(|d| base64::engine::general_purpose::STANDARD_NO_PAD.encode(d))
        .unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}")
}

/// Serves the router built by `add_protocol` until Terraform asks the
/// controller to shut down (or, in debug mode, until Ctrl-C).
pub async fn serve<F>(mode: Mode, add_protocol: F) -> anyhow::Result<()>
where
    F: FnOnce(&mut Server, Arc<Notify>) -> Router,
{
    let shutdown = Arc::new(Notify::new());
    let listener = bind().await?;
    let addr = listener.local_addr()?;
    let mut server = Server::builder();
    let tls = matches!(mode, Mode::Managed)
        && std::env::var("PLUGIN_CLIENT_CERT")
            .map(|c| !c.is_empty())
            .unwrap_or(false);
    let mut cert_der = None;
    if tls {
        let cert = self_signed_certificate()?;
        // Terraform's client certificate is not required (nor accepted as a
        // CA: rustls rejects its P-521 CA:TRUE certificate).
        server = server.tls_config(ServerTlsConfig::new().identity(cert.identity))?;
        cert_der = Some(cert.der);
    }
    let router = add_protocol(&mut server, shutdown.clone());
    let router = services::add_side_services(router, shutdown.clone());

    match &mode {
        Mode::Managed => {
            // Ctrl-C in a terminal signals Terraform's whole process group,
            // this plugin included. Like go-plugin's servers, the provider
            // survives it: Terraform answers the interrupt by calling
            // StopProvider, which cancels in-flight work and lets the apply
            // return the state of what exists. Dying here would lose it.
            let mut interrupts =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
            tokio::spawn(async move {
                while interrupts.recv().await.is_some() {
                    tracing::info!("interrupt received: waiting for Terraform's StopProvider");
                }
            });
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", handshake_line(addr, cert_der.as_deref()))?;
            out.flush()?;
        }
        Mode::Debug { provider_address } => {
            let reattach = serde_json::json!({
                provider_address: {
                    "Protocol": "grpc",
                    "ProtocolVersion": APP_PROTOCOL_VERSION,
                    "Pid": std::process::id(),
                    "Test": true,
                    "Addr": { "Network": "tcp", "String": addr.to_string() }
                }
            });
            eprintln!("Provider started in debug mode. To attach Terraform, set in your shell:\n\n\tTF_REATTACH_PROVIDERS='{reattach}'\n\nPress Ctrl-C to stop.");
            let s = shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                s.notify_waiters();
            });
        }
    }
    // No Nagle delay on the loopback connection: requests are small.
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |s| {
            s.and_then(|s| {
                s.set_nodelay(true)?;
                Ok(s)
            })
        },
    );
    let s = shutdown.clone();
    router
        .serve_with_incoming_shutdown(incoming, async move {
            s.notified().await;
        })
        .await?;
    tracing::debug!("plugin server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_line_shape() {
        let cert = self_signed_certificate().unwrap();
        let line = handshake_line("127.0.0.1:4567".parse().unwrap(), Some(&cert.der));
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(&parts[..5], &["1", "6", "tcp", "127.0.0.1:4567", "grpc"]);
        assert!(
            !parts[5].ends_with('='),
            "go-plugin wants base64 without padding"
        );
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .unwrap();
        assert_eq!(der, cert.der);
    }
}
