//! Sweeps split over a cluster: which runs each shard computes, and the Slurm scripts that run the shards and merge them.

pub mod shard;
pub mod slurm;
