//! The corpus's CI subset: `bench/corpus.sh --subset` builds and tests five real Debian sources
//! for arm64 with `--method auto`, and this test fails when one of them that passed (as
//! recorded in `bench/corpus-subset-expected.tsv`) stops passing.
//!
//! The sources are fetched once into the corpus work directory (`$XDG_CACHE_HOME/archway-corpus`
//! or `~/.cache/archway-corpus`) and the root filesystems and sysroots come from the machine's
//! archway cache, so a warm run takes a few minutes. The results go to a fresh file each run, so
//! nothing is taken from an earlier run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{have_tool, skip_unless_ci};

/// The one target of the subset: arm64 is the target every machine of the project has a cross
/// toolchain, QEMU and a cached root filesystem for.
const TARGET: &str = "arm64";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `package → status` from the expected file: `package target status # why`.
fn expected(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).expect("reading bench/corpus-subset-expected.tsv");
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [package, target, status] if *target == TARGET => {
                    Some(((*package).to_owned(), (*status).to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

/// `package → status` of the `auto` rows of a corpus results file (TSV: commit, package,
/// target, method, chosen, status, seconds, first error, log, date).
fn results(text: &str) -> BTreeMap<String, (String, String, String)> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [_, package, target, method, _, status, _, error, log, ..]
                    if *target == TARGET && *method == "auto" =>
                {
                    Some((
                        (*package).to_owned(),
                        ((*status).to_owned(), (*error).to_owned(), (*log).to_owned()),
                    ))
                }
                _ => None,
            }
        })
        .collect()
}

fn passing(status: &str) -> bool {
    status == "passed" || status == "built"
}

#[test]
fn corpus_subset_packages_that_passed_still_pass() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    let missing: Vec<&str> = [
        "apt-get",
        "dpkg-source",
        "aarch64-linux-gnu-gcc",
        "qemu-aarch64-static",
        "cmake",
        "meson",
    ]
    .into_iter()
    .filter(|tool| !have_tool(tool))
    .collect();
    if !is_root || !missing.is_empty() {
        skip_unless_ci(&format!(
            "the corpus subset needs root and {missing:?} (apt-get source, cross gcc, QEMU)"
        ));
        return;
    }
    let repository = repository();
    let expected = expected(&repository.join("bench/corpus-subset-expected.tsv"));
    assert!(
        expected.len() >= 5,
        "bench/corpus-subset-expected.tsv lists {} packages for {TARGET}, the subset has five",
        expected.len()
    );
    let temp = tempfile::Builder::new()
        .prefix("archway-corpus-subset-")
        .tempdir()
        .expect("creating a temporary directory");
    let results_file = temp.path().join("results.tsv");
    let mut command = Command::new(repository.join("bench/corpus.sh"));
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        // The machine's cache stays (root filesystems are expensive); every other setting of
        // the environment would change what is measured.
        if key_text.starts_with("ARCHWAY_") && key_text != "ARCHWAY_CACHE_DIR" {
            command.env_remove(&key);
        }
    }
    let output = command
        .args([
            "--subset",
            "--targets",
            TARGET,
            "--methods",
            "auto",
            "-j",
            "2",
        ])
        .arg("--results")
        .arg(&results_file)
        .arg("--no-report")
        .env("ARCHWAY", env!("CARGO_BIN_EXE_archway"))
        .output()
        .expect("running bench/corpus.sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // 0: all passed; 3: some did not pass with any method (judged below); else the script broke.
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "bench/corpus.sh --subset failed ({:?}):\n{stderr}",
        output.status
    );
    let text = std::fs::read_to_string(&results_file).unwrap_or_default();
    let got = results(&text);
    let mut regressions = Vec::new();
    for (package, status) in &expected {
        let Some((now, error, log)) = got.get(package) else {
            regressions.push(format!("{package}: no result (see the output below)"));
            continue;
        };
        if passing(status) && !passing(now) {
            regressions.push(format!(
                "{package}: was {status}, now {now}: {error} ({log})"
            ));
        } else if !passing(status) && passing(now) {
            eprintln!(
                "note: {package} now {now} for {TARGET} (expected {status}): \
                 update bench/corpus-subset-expected.tsv"
            );
        }
    }
    assert!(
        regressions.is_empty(),
        "corpus subset packages stopped passing for {TARGET}:\n{}\n\nbench/corpus.sh:\n{stderr}",
        regressions.join("\n")
    );
}

#[test]
fn corpus_results_rows_are_read_by_target_and_method() {
    let text = "abc\thello\tarm64\tauto\tcross\tpassed\t45\t-\t/l/h.log\t2026-12-04T15:48:34Z\n\
                abc\tzlib\tarm64\tauto\tcross\tfailed\t3\tCMake Error\t/l/z.log\t2026-12-04\n\
                abc\tzlib\tarm64\temulated\t-\tpassed\t30\t-\t/l/z2.log\t2026-12-04\n\
                abc\tzlib\tarmhf\tauto\tcross\tpassed\t3\t-\t/l/z3.log\t2026-12-04\n\
                short\tline\n";
    let got = results(text);
    assert_eq!(got.len(), 2);
    assert_eq!(got["hello"].0, "passed");
    assert_eq!(got["zlib"].0, "failed");
    assert_eq!(got["zlib"].1, "CMake Error");
    assert!(passing("built") && passing("passed") && !passing("tests-failed"));
}
