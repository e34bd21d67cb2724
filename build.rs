//! Compiles our own `proto/` definitions with protox (pure Rust), so no
//! system `protoc` is needed.
fn main() {
    link_the_provider_small();
    let files = [
        "proto/tfplugin6.proto",
        "proto/plugin.proto",
        "proto/health.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"]).expect("proto files compile");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)
        .expect("generate gRPC code");
}

/// The provider's resident memory is mostly the pages of its own binary
/// (README, "Resources"), so the release binary is linked to load less:
/// relative relocations packed (`-z pack-relative-relocs`, RELR: the loader
/// reads a few kilobytes instead of a 4 MB `.rela.dyn` at every launch) and
/// identical functions folded (`--icf=all`: the AWS SDK's generic code
/// instantiates many byte-identical functions). Both are rust-lld options
/// (rustc's default linker on x86_64 Linux); RELR needs glibc >= 2.36 at
/// run time. Bins only: tests and fuzz targets link as before.
fn link_the_provider_small() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
        // The functions a run of the examples executes, laid out side by
        // side (scripts/profile-hot-functions.sh): a run then touches a few
        // dense pages of code instead of most of .text. Names the binary no
        // longer has are skipped, silently: a stale list costs only memory.
        let order = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
            .join("link/hot-functions.txt");
        println!("cargo:rerun-if-changed=link/hot-functions.txt");
        if order.is_file() {
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                order.display()
            );
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
}
