//! The build-system choice on real trees: Debian's sources of projects that ship one, two or
//! three build systems, fetched with `apt-get source` (never copied into the repository), and
//! the system archway detects in each, with the rule that chose it.
//!
//! The trees as they are in bookworm (upstream, without Debian's patches), checked by hand:
//! xz-utils and libpng1.6 ship a generated `configure` and `CMakeLists.txt`; fribidi a generated
//! `configure` and `meson.build`; zlib a hand-written `configure`, `CMakeLists.txt` and a stub
//! `Makefile`; cjson `CMakeLists.txt` and a `Makefile` (Debian: `--buildsystem=cmake`); json-c
//! `CMakeLists.txt` alone; tiff and libyaml `CMakeLists.txt` and `configure.ac` without
//! `configure` (Debian runs `dh_autoreconf`, and so does archway, in a copy); libuv1
//! `CMakeLists.txt` and a `configure.ac` that includes an `m4` file its `autogen.sh` writes;
//! yajl `CMakeLists.txt` and a hand-written `configure` that runs CMake; lz4 a `Makefile`
//! alone; libinih `meson.build`.
//! (Cargo at the root is the unit tests' case: this machine's archive mirror lacks the files of
//! Debian's `rust-*` source packages.)

#[path = "builds/sources.rs"]
mod sources;

use archway::project::{BuildSystem, Project, Rule};
use archway_platform::testing;

struct Case {
    package: &'static str,
    system: BuildSystem,
    rule: Rule,
    alternatives: &'static [BuildSystem],
    /// Text the one note must contain (`None`: no note).
    note: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        package: "xz-utils",
        system: BuildSystem::Configure,
        rule: Rule::GeneratedConfigure,
        alternatives: &[BuildSystem::Cmake],
        note: None,
    },
    Case {
        package: "libpng1.6",
        system: BuildSystem::Configure,
        rule: Rule::GeneratedConfigure,
        alternatives: &[BuildSystem::Cmake],
        note: None,
    },
    Case {
        package: "fribidi",
        system: BuildSystem::Configure,
        rule: Rule::GeneratedConfigure,
        alternatives: &[BuildSystem::Meson],
        note: None,
    },
    Case {
        package: "zlib",
        system: BuildSystem::Configure,
        rule: Rule::HandwrittenConfigure,
        alternatives: &[BuildSystem::Cmake, BuildSystem::Make],
        note: None,
    },
    Case {
        package: "cjson",
        system: BuildSystem::Cmake,
        rule: Rule::Cmake,
        alternatives: &[BuildSystem::Make],
        note: None,
    },
    Case {
        package: "json-c",
        system: BuildSystem::Cmake,
        rule: Rule::Cmake,
        alternatives: &[],
        note: None,
    },
    Case {
        package: "tiff",
        system: BuildSystem::Configure,
        rule: Rule::Autoreconf,
        alternatives: &[BuildSystem::Cmake],
        note: Some("`autogen.sh` is not run"),
    },
    Case {
        package: "libyaml",
        system: BuildSystem::Configure,
        rule: Rule::Autoreconf,
        alternatives: &[BuildSystem::Cmake],
        note: Some("`bootstrap` is not run"),
    },
    // libuv's configure.ac includes `m4/libuv-extra-automake-flags.m4`, which its autogen.sh
    // writes (Debian builds it with CMake: `dh $@ --without autoreconf`).
    Case {
        package: "libuv1",
        system: BuildSystem::Configure,
        rule: Rule::BootstrapScript,
        alternatives: &[BuildSystem::Cmake],
        note: Some(
            "`configure.ac` includes `m4/libuv-extra-automake-flags.m4`, which the tree lacks, \
             so the project's `autogen.sh` generates it",
        ),
    },
    // yajl's configure is a hand-written shell script that runs cmake in `build/` (Debian:
    // `dh_auto_configure -Scmake`).
    Case {
        package: "yajl",
        system: BuildSystem::Cmake,
        rule: Rule::WrappedByConfigure,
        alternatives: &[BuildSystem::Configure],
        note: Some("`configure` is hand-written and runs `cmake` itself"),
    },
    Case {
        package: "lz4",
        system: BuildSystem::Make,
        rule: Rule::Makefile,
        alternatives: &[],
        note: None,
    },
    Case {
        package: "libinih",
        system: BuildSystem::Meson,
        rule: Rule::Meson,
        alternatives: &[],
        note: None,
    },
];

#[test]
fn detection_on_debian_source_trees_follows_the_maintainers() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in CASES {
        let tree = match sources::source(case.package) {
            Ok(tree) => tree,
            Err(error) => {
                // Outside CI: `skipped: ...` on stderr; under CI a panic, so a source that
                // cannot be fetched fails the test.
                testing::skip_unless_ci(&format!(
                    "`apt-get source {}` failed (deb-src entries needed): {error}",
                    case.package
                ));
                continue;
            }
        };
        checked += 1;
        let project = match Project::detect(&tree, None) {
            Ok(project) => project,
            Err(error) => {
                failures.push(format!("{}: {error}", case.package));
                continue;
            }
        };
        let notes = &project.choice.notes;
        let note_ok = match case.note {
            None => notes.is_empty(),
            Some(text) => notes.len() == 1 && notes[0].contains(text),
        };
        if project.build_system != case.system
            || project.choice.rule != case.rule
            || project.alternatives != case.alternatives
            || !note_ok
        {
            failures.push(format!(
                "{}: expected {} by `{}` (others {:?}, note {:?}), got:\n{}",
                case.package,
                case.system,
                case.rule,
                case.alternatives,
                case.note,
                project.explain()
            ));
        }
    }
    eprintln!("build-system detection checked on {checked} Debian source trees");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
