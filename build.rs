//! Compiles our own `proto/` definitions with protox (pure Rust), so no
//! system `protoc` is needed.
fn main() {
    let files = ["proto/tfplugin6.proto", "proto/plugin.proto", "proto/health.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"]).expect("proto files compile");
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds).expect("generate gRPC code");
}
