//! grbm-sweep: trains grids of Gaussian-Bernoulli RBMs in parallel and measures each one's exact log-likelihood.
//!
//! Data flow: `config` (read + validate the experiment file) -> `grid` (expand into runs) ->
//! `data` (points) -> `model` (GRBM math, sampling) -> `train` (CD-k loop) -> `estimate`
//! (log Z, log-likelihoods) -> `output` (Parquet tables); `runner` drives it across runs and
//! `store` keeps each finished run on disk so an interrupted sweep resumes.

pub mod config;
pub mod data;
pub mod estimate;
pub mod grid;
pub mod identity;
pub mod model;
pub mod output;
pub mod plot;
pub mod provenance;
pub mod rng;
pub mod runner;
pub mod shard;
pub mod slurm;
pub mod store;
pub mod train;
pub mod vecmath;
