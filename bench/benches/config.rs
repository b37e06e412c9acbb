//! What the configuration layer costs every command: finding `archway.toml` by walking up,
//! parsing it with positions, checking every key, and resolving one target with a profile.
//! Beside it, the same file parsed by `toml` without any checking, for scale.
//!
//! `cargo bench -p archway-bench --bench config`

use std::hint::black_box;

use archway::config::{Config, Flags};
use archway::platform::Platform;
use criterion::{criterion_group, criterion_main, Criterion};

const PROJECT: &str = r#"
[build]
target = "riscv64-linux"
targets = ["aarch64", "riscv64", "armv7l-hf-multiplatform"]
dir = "build/archway"

[target.aarch64]
profile = "gcc11"
sysroot-packages = ["libssl-dev", "zlib1g-dev"]
qemu-cpu = "cortex-a72"

[target."linux/riscv64"]
method = "emulated"
rootfs-suite = "trixie"
rootfs-packages = ["zlib1g-dev"]
cflags = ["-O2", "-g"]
env = { PKG_CONFIG = "pkgconf" }

[target.armv7l-hf-multiplatform]
linker = "gold"

[profile.gcc11]
toolchain = { family = "gcc", version = "11" }

[profile.clang]
toolchain = { family = "clang" }
linker = "lld"
"#;

fn config(criterion: &mut Criterion) {
    let project = tempfile::tempdir().expect("temp dir");
    std::fs::write(project.path().join("archway.toml"), PROJECT).expect("project file");
    // Three levels down: the walk up is part of the cost.
    let working_dir = project.path().join("src/lib/module");
    std::fs::create_dir_all(&working_dir).expect("subdirectories");
    let host = Platform::parse("x86_64-linux").expect("host");
    let flags = Flags {
        target: Some("arm64".to_string()),
        ..Flags::default()
    };
    let no_env = |_: &str| None;

    let mut group = criterion.benchmark_group("config");
    group.bench_function("load and resolve (archway)", |bench| {
        bench.iter(|| {
            let config = Config::load_with(&working_dir, None, no_env).expect("loads");
            black_box(config.resolve(&flags, &host).expect("resolves"))
        })
    });
    let loaded = Config::load_with(&working_dir, None, no_env).expect("loads");
    group.bench_function("resolve only", |bench| {
        bench.iter(|| black_box(loaded.resolve(&flags, &host).expect("resolves")))
    });
    group.bench_function("toml::from_str, unchecked (for scale)", |bench| {
        bench.iter(|| black_box(PROJECT.parse::<toml::Table>().expect("valid TOML")))
    });
    group.finish();
}

criterion_group!(benches, config);
criterion_main!(benches);
