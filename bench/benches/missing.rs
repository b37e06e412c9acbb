//! What configure went without, looked up in Debian's Contents index: one pass for every
//! file (`search_contents_many`) against one search per file (`search_contents`), over a
//! synthetic index of 200,000 lines (Debian's own has about 1.5 million per architecture, so
//! the real costs are about 7 times these; decompressing it is the same for both).
//!
//! `cargo bench -p archway-bench --bench missing`

use std::hint::black_box;

use archway::missing::{configure_misses, search_contents, search_contents_many};
use criterion::{criterion_group, criterion_main, Criterion};

/// An index with the files of `configure_log` near its end, as in the real one (sorted by
/// path: `usr/include/z…` comes late).
fn contents() -> String {
    let mut text = String::new();
    for index in 0..200_000 {
        text.push_str(&format!(
            "usr/share/doc/package-{index}/changelog.Debian.gz    doc/package-{index}\n"
        ));
    }
    for header in 0..30 {
        text.push_str(&format!(
            "usr/include/header{header}.h    libdevel/libheader{header}-dev\n"
        ));
    }
    text
}

/// A configure log whose checks missed 30 headers.
fn configure_log() -> String {
    (0..30)
        .map(|header| {
            format!("conftest.c:1:10: fatal error: header{header}.h: No such file or directory\n")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let contents = contents();
    let misses = configure_misses(&configure_log());
    assert_eq!(misses.len(), 30);
    let mut group = c.benchmark_group("went_without_30_files");
    group.sample_size(10);
    group.bench_function("one_pass", |b| {
        b.iter(|| {
            let found =
                search_contents_many(contents.as_bytes(), black_box(&misses), "x86_64-linux-gnu")
                    .expect("read");
            assert!(found.iter().all(Option::is_some));
        })
    });
    group.bench_function("one_search_per_file", |b| {
        b.iter(|| {
            for missing in black_box(&misses) {
                let found = search_contents(contents.as_bytes(), missing, "x86_64-linux-gnu")
                    .expect("read");
                assert!(found.is_some());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
