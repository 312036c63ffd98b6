//! The integration tests, in one test crate so that polars and the library are linked into one
//! test binary instead of one per file. Each module is one former file of `tests/`; run one with
//! `cargo test --release --test it cli::`. Fixtures and scripts stay in `tests/fixtures/`,
//! `tests/slurm/` and `tests/setup-e2e.sh`, found through `CARGO_MANIFEST_DIR`.

// References may use the C library's maths, which the program itself must not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

mod ais;
mod cli;
mod clib;
mod commit;
mod configs;
mod halving;
mod layout;
mod math;
mod notebook;
mod python;
mod records;
mod report;
mod resume;
mod samples;
mod score;
mod shards;
