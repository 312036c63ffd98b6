//! grbm-sweep: trains grids of Gaussian-Bernoulli RBMs in parallel and measures each one's exact log-likelihood.
//!
//! The folders follow a run's data: `experiment` (read and check the file, expand the grid) ->
//! `data` (the points) -> `model` (GRBM math and sampling, on the kernels of `vecmath` and the
//! streams of `rng`) -> `train` (the hyperparameters and the training loop) -> `estimate` (log Z
//! and log-likelihoods) -> `sweep` (runs across cores, the results folder and its tables) ->
//! `report` (progress, summaries, pictures); `cluster` splits a sweep into shards and writes
//! Slurm scripts; `score` scores or samples one model outside a sweep (`eval`, `sample`).
//! `identity` and `io` serve the results folder. `data`, `model`, `train`,
//! `estimate`, `rng`, `vecmath` and `identity` are the core crate's (`crates/core`, no I/O),
//! re-exported. docs/architecture.md has the map.

// Tests may compute references with the C library's maths, which the program itself must not
// use (clippy.toml); the library's own code is linted without this, outside `cfg(test)`.
#![cfg_attr(test, allow(clippy::disallowed_methods, clippy::disallowed_types))]

pub mod cluster;
pub mod experiment;
pub mod io;
pub mod report;
pub mod score;
pub mod stats;
pub mod sweep;

// The math lives in the core crate (no I/O); the CLI's modules name it as their own.
pub use grbm_core::{data, estimate, identity, model, rng, train, vecmath};
