//! grbm-core: the math of grbm-sweep without I/O: the Gaussian-Bernoulli RBM, its exact log Z and samples, the samplers and the training loop, the built-in generators with their true densities, and the random streams every number is drawn from.
//!
//! The modules follow a run's data: `data` (the points: generators, and CSV files, Parquet with
//! the `parquet` feature) -> `model` (GRBM math and sampling, on the kernels of `vecmath` and the
//! streams of `rng`) -> `train` (the hyperparameters and the training loop) -> `estimate` (log Z
//! and log-likelihoods). `identity` turns configurations into the fields run ids are hashed from.
//! It depends on neither polars (but with `parquet`) nor plotters nor clap: the `grbm-sweep` CLI
//! and the Python module build on it.

// Tests may compute their references with the C library's maths (clippy.toml).
#![cfg_attr(test, allow(clippy::disallowed_methods, clippy::disallowed_types))]

pub mod data;
pub mod estimate;
pub mod identity;
pub mod model;
pub mod rng;
pub mod train;
pub mod vecmath;
