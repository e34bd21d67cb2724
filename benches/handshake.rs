//! Benchmark: launch the provider as Terraform does (magic cookie, TLS),
//! read the handshake line, connect over TLS and call GetProviderSchema;
//! report the latency over many launches and the peak RSS, next to a
//! baseline measured in the same run (spawning the same binary until it
//! exits, which is the floor for any launch).
//!
//!     cargo bench --bench handshake [-- N]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use terraform_provider_awsstack::tfplugin::proto::plugin::{
    grpc_controller_client::GrpcControllerClient, Empty,
};
use terraform_provider_awsstack::tfplugin::proto::tfplugin6::{
    get_provider_schema, provider_client::ProviderClient,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

fn binary() -> std::path::PathBuf {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for p in [
        "target/release/terraform-provider-awsstack",
        "target/debug/terraform-provider-awsstack",
    ] {
        if root.join(p).exists() {
            return root.join(p);
        }
    }
    panic!("build the provider first: cargo build --release");
}

fn pem(der_b64: &str) -> String {
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(der_b64)
        .expect("certificate");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let body: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        body.join("\n")
    )
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn launch_once(bin: &std::path::Path) -> (Duration, u64) {
    let t0 = Instant::now();
    let mut child = Command::new(bin)
        .env("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2")
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env(
            "PLUGIN_CLIENT_CERT",
            if std::env::var("BENCH_PLAIN").is_ok() { "" } else { "-----BEGIN CERTIFICATE-----\n(client certificate not required)\n-----END CERTIFICATE-----\n" },
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("handshake line");
    let parts: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(parts[1], "6", "protocol 6");
    if parts[5].is_empty() {
        let channel = Channel::from_shared(format!("http://{}", parts[3]))
            .unwrap()
            .connect()
            .await
            .expect("connect");
        if std::env::var("BENCH_DEBUG").is_ok() {
            eprintln!("plain connected at {:?}", t0.elapsed());
        }
        let _ = ProviderClient::new(channel.clone())
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .expect("schema");
        let elapsed = t0.elapsed();
        let rss = peak_rss_kib(child.id());
        GrpcControllerClient::new(channel)
            .shutdown(Empty {})
            .await
            .expect("shutdown");
        child.wait().expect("exit");
        return (elapsed, rss);
    }
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pem(parts[5])))
        .domain_name("localhost");
    if std::env::var("BENCH_DEBUG").is_ok() {
        eprintln!("line at {:?}", t0.elapsed());
    }
    let channel = Channel::from_shared(format!("https://{}", parts[3]))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("connect");
    if std::env::var("BENCH_DEBUG").is_ok() {
        eprintln!("connected at {:?}", t0.elapsed());
    }
    let schema = ProviderClient::new(channel.clone())
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("schema")
        .into_inner();
    let elapsed = t0.elapsed();
    assert!(schema.resource_schemas.contains_key("awsstack_docker_host"));
    let rss = peak_rss_kib(child.id());
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("shutdown");
    let status = child.wait().expect("exit");
    assert!(status.success(), "clean exit after Shutdown");
    (elapsed, rss)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);
    let bin = binary();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut base = vec![];
    for _ in 0..n {
        let t0 = Instant::now();
        let _ = Command::new(&bin)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        base.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let mut lat = vec![];
    let mut peak = 0;
    for _ in 0..n {
        let (d, rss) = rt.block_on(launch_once(&bin));
        lat.push(d.as_secs_f64() * 1000.0);
        peak = peak.max(rss);
    }
    let b = median(&mut base);
    let m = median(&mut lat);
    let p90 = lat[(lat.len() * 9 / 10).min(lat.len() - 1)];
    println!("handshake+GetProviderSchema over {n} launches (TLS): median {m:.2} ms, p90 {p90:.2} ms (target < 15 ms)");
    println!(
        "baseline (spawn the binary until it exits):    median {b:.2} ms; ratio {:.2}x",
        m / b
    );
    println!("peak RSS: {:.1} MiB (target < 30 MB)", peak as f64 / 1024.0);
}
