//! `sampler = "grid"`: no chains; the model's expectation of dF/dtheta as the integral of p(x) dF/dtheta(x) on the log Z grid (at most 256 points per axis), for any n.

use super::{NegativePhase, Step};
use crate::estimate::{MAX_TRAINING_POINTS, auto_grid_points, expected_free_energy_grad_grid};
use crate::model::Gradient;
use crate::train::params::TrainConfig;

pub struct Grid;

impl NegativePhase for Grid {
    /// Nothing carries from one step to the next.
    type Saved = ();

    const CHAINS: bool = false;

    fn start(_cfg: &TrainConfig, _points: &[[f64; 2]], _saved: Option<()>) -> Self {
        Grid
    }

    fn negative(&mut self, step: Step<'_>, grad: &mut Gradient) {
        let points = auto_grid_points(step.model).min(MAX_TRAINING_POINTS);
        expected_free_energy_grad_grid(step.model, Some(points), grad);
    }

    fn saved(&self) {}

    /// Each update sums over the grid points (counted at their cap) times the hidden units.
    fn cost(t: &TrainConfig, n_train: u128, updates: u128) -> u128 {
        let hidden = t.hidden as u128;
        let grid = (MAX_TRAINING_POINTS * MAX_TRAINING_POINTS) as u128;
        let integral = (updates * (hidden + 2)).saturating_mul(grid);
        ((hidden + 2) * t.epochs as u128 * n_train).saturating_add(integral)
    }

    /// A row of the grid per hidden unit, per rayon task.
    fn bytes(t: &TrainConfig) -> f64 {
        8.0 * (MAX_TRAINING_POINTS as f64 + 4.0) * t.hidden as f64
    }
}
