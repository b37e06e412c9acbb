//! Benchmarks live in `benches/` and `bench/*.sh`; see docs/performance.md.
