//! The shared cache end to end, through the CLI, against a real S3 server (moto's, started by
//! the test): machine A builds a small C project for aarch64 (cross) and pushes the signed entry;
//! machine B, with an empty cache and another clone directory, restores it (the same bytes,
//! "shared, signed by ci-1"); machine C, trusting another key, refuses it and builds; with the
//! server stopped, a build still works (a warning).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use archway_cache::testing::{moto_or_skip, Moto};

use crate::support::{self, archway};

const TARGET: &str = "aarch64-linux";
const TARGET_CONFIG: &str = "aarch64-unknown-linux-gnu";

/// One machine: its own configuration and cache directories.
struct Machine {
    config: PathBuf,
    cache: PathBuf,
}

impl Machine {
    fn new(root: &Path, cache_section: &str) -> Machine {
        let machine = Machine {
            config: root.join("config"),
            cache: root.join("cache"),
        };
        write(
            &machine.config.join("archway/config.toml"),
            &format!("[cache]\n{cache_section}"),
        );
        machine
    }

    fn archway(&self) -> support::Archway {
        let mut command = archway()
            .env("XDG_CONFIG_HOME", &self.config)
            .env("XDG_CACHE_HOME", &self.cache);
        for (name, value) in Moto::environment() {
            command = command.env(name, value);
        }
        command
    }

    fn build(&self, project: &Path) -> support::Output {
        self.archway()
            .args(["build", "--target", TARGET, "--method", "cross"])
            .args(["--json", "--explain", "-C"])
            .arg(project)
            .run()
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A plain-makefile C program and a static library (two artifacts, and `__FILE__` in the code:
/// byte-identical across clones only because the source directory is mapped away).
fn write_project(dir: &Path) {
    write(
        &dir.join("hello.c"),
        "#include <stdio.h>\nconst char *where(void);\n\
         int main(void) { puts(where()); return 0; }\n",
    );
    write(
        &dir.join("where.c"),
        "const char *where(void) { return __FILE__; }\n",
    );
    write(
        &dir.join("Makefile"),
        "hello: hello.c libwhere.a\n\t$(CC) $(CFLAGS) -g -o $@ hello.c libwhere.a\n\
         libwhere.a: where.o\n\t$(AR) rcs $@ $^\n\
         where.o: where.c\n\t$(CC) $(CFLAGS) -g -c -o $@ $<\n",
    );
}

fn outcome(output: &support::Output) -> serde_json::Value {
    output.assert_code(0);
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|error| panic!("JSON outcome: {error}\n{}", output.snapshot()))
}

/// The artifacts of an outcome: path relative to the build directory → bytes.
fn artifacts(outcome: &serde_json::Value, project: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let build_dir = project.join("build/archway").join(TARGET_CONFIG);
    let mut files: Vec<_> = outcome["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|artifact| {
            let path = PathBuf::from(artifact["path"].as_str().expect("path"));
            let bytes = std::fs::read(&path).expect("an artifact");
            let relative = path
                .strip_prefix(&build_dir)
                .expect("in the build directory")
                .to_path_buf();
            (relative, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_build_pushed_by_one_machine_is_restored_signed_on_another_refused_untrusted_and_survives_a_dead_store(
) {
    for tool in ["aarch64-linux-gnu-gcc", "make"] {
        if !support::have_tool(tool) && support::skip_unless_ci(&format!("`{tool}` on PATH")) {
            return;
        }
    }
    let Some(mut moto) = moto_or_skip("the shared cache end to end") else {
        return;
    };
    let work = tempfile::tempdir().expect("temp");
    let url = moto.url("team/archway");

    // Machine A makes its key pair with `archway cache keygen` and pushes.
    let keys = work.path().join("a/config");
    let keygen = archway()
        .env("XDG_CONFIG_HOME", &keys)
        .args(["cache", "keygen", "ci-1", "--json"])
        .run();
    let made: serde_json::Value = serde_json::from_str(&keygen.assert_code(0).stdout)
        .unwrap_or_else(|error| panic!("keygen JSON: {error}\n{}", keygen.snapshot()));
    let public = made["public_key"].as_str().expect("public_key").to_string();
    let secret = made["secret_key_file"].as_str().expect("secret_key_file");
    assert_eq!(Path::new(secret), keys.join("archway/ci-1.secret"));
    let again = archway()
        .env("XDG_CONFIG_HOME", &keys)
        .args(["cache", "keygen", "ci-1"])
        .run();
    assert_eq!(
        again.code,
        Some(1),
        "never overwrites: {}",
        again.snapshot()
    );
    assert!(again.stderr.contains("exists already"), "{}", again.stderr);

    let trusting = format!("url = \"{url}\"\ntrusted-keys = [\"{public}\"]\n");
    let a = Machine::new(
        &work.path().join("a"),
        &format!("{trusting}signing-key = \"{secret}\"\n"),
    );
    let first = work.path().join("clones/one/hello");
    write_project(&first);
    let cold = a.build(&first);
    let cold_outcome = outcome(&cold);
    assert_eq!(cold_outcome["cache"]["hit"], false, "{}", cold.snapshot());
    assert!(!cold.stderr.contains("warning"), "{}", cold.stderr);
    let key = cold_outcome["cache"]["key"].as_str().expect("key");
    let built = artifacts(&cold_outcome, &first);
    assert_eq!(built.len(), 2, "{}", cold.stdout);
    // The signed record is in the bucket, beside its archive.
    let record = moto.get(&format!("team/archway/build-{key}.json"));
    assert!(
        String::from_utf8_lossy(&record).contains("ci-1"),
        "{record:?}"
    );

    // Machine B: nothing in its cache, trusts A's key, has no signing key; another clone.
    let b = Machine::new(&work.path().join("b"), &trusting);
    let second = work.path().join("clones/two/elsewhere/hello");
    write_project(&second);
    let started = Instant::now();
    let warm = b.build(&second);
    let elapsed = started.elapsed();
    let warm_outcome = outcome(&warm);
    eprintln!(
        "restored from the shared cache in {:.3} s",
        elapsed.as_secs_f64()
    );
    assert_eq!(warm_outcome["cache"]["hit"], true, "{}", warm.snapshot());
    assert_eq!(warm_outcome["cache"]["key"], key);
    assert_eq!(warm_outcome["cache"]["origin"], "shared, signed by ci-1");
    assert!(
        warm.stderr.contains("shared, signed by `ci-1`"),
        "{}",
        warm.stderr
    );
    assert!(
        warm.stderr.contains(&format!("cache key: {key}")),
        "{}",
        warm.stderr
    );
    assert_eq!(artifacts(&warm_outcome, &second), built, "byte-identical");
    // And it now sits in B's local store: the next build there is a local hit.
    let local = outcome(&b.build(&second));
    assert_eq!(local["cache"]["origin"], "local");

    // Machine C trusts another key only: the entry is refused, the build runs for real.
    let other = work.path().join("c/other.secret");
    let other_keygen = archway()
        .args(["cache", "keygen", "ci-2", "--json", "--output"])
        .arg(&other)
        .run();
    let other_public: serde_json::Value =
        serde_json::from_str(&other_keygen.assert_code(0).stdout).expect("keygen JSON");
    let c = Machine::new(
        &work.path().join("c"),
        &format!(
            "url = \"{url}\"\ntrusted-keys = [\"{}\"]\n",
            other_public["public_key"].as_str().expect("public_key")
        ),
    );
    let third = work.path().join("clones/three/hello");
    write_project(&third);
    let refused = c.build(&third);
    let refused_outcome = outcome(&refused);
    assert_eq!(
        refused_outcome["cache"]["hit"],
        false,
        "{}",
        refused.snapshot()
    );
    assert!(
        refused.stderr.contains(&format!(
            "warning: refused the shared cache entry `build-{key}`"
        )),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("ci-1"), "{}", refused.stderr);
    assert_eq!(artifacts(&refused_outcome, &third), built, "built for real");

    // The server stopped: a machine with an empty cache still builds, with a warning, soon.
    moto.stop();
    let d = Machine::new(&work.path().join("d"), &trusting);
    let fourth = work.path().join("clones/four/hello");
    write_project(&fourth);
    let started = Instant::now();
    let offline = d.build(&fourth);
    let elapsed = started.elapsed();
    let offline_outcome = outcome(&offline);
    eprintln!(
        "built with the store stopped in {:.3} s",
        elapsed.as_secs_f64()
    );
    assert_eq!(offline_outcome["cache"]["hit"], false);
    assert!(
        offline.stderr.contains("is unreachable"),
        "{}",
        offline.stderr
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "a dead store cost {elapsed:?}"
    );
    assert_eq!(artifacts(&offline_outcome, &fourth), built);
}

#[test]
fn keygen_prints_the_lines_of_a_configuration_that_loads() {
    let work = tempfile::tempdir().expect("temp");
    // A directory with a space and a quote: the printed path must still be a TOML string.
    let config = work.path().join("my \"config\"");
    let keygen = archway()
        .env("XDG_CONFIG_HOME", &config)
        .args(["cache", "keygen", "laptop-1"])
        .run();
    keygen.assert_code(0);
    let lines: Vec<&str> = keygen.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", keygen.stdout);
    assert!(
        lines[0].starts_with("trusted-keys = [\"laptop-1:"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("signing-key = \""), "{}", lines[1]);
    let secret = config.join("archway/laptop-1.secret");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&secret)
            .expect("the secret key")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        keygen.stderr.contains("keep it private"),
        "{}",
        keygen.stderr
    );

    // Pasted into the user's file, the lines load (`cache stats` reads `[cache]`), and the key
    // file they name is the one written.
    write(
        &config.join("archway/config.toml"),
        &format!("[cache]\n{}", keygen.stdout),
    );
    let stats = archway()
        .env("XDG_CONFIG_HOME", &config)
        .args(["cache", "stats", "--json"])
        .run();
    stats.assert_code(0);
    let signing = lines[1]
        .strip_prefix("signing-key = ")
        .expect("the line")
        .replace("\\\"", "\"");
    assert_eq!(signing.trim_matches('"'), secret.to_string_lossy());
}
