"""grbm_sweep: exact log-likelihoods, log Z and exact samples of Gaussian-Bernoulli RBMs with 2
real visible units, computed by grbm-sweep's own Rust core, so that every number equals what the
``grbm-sweep`` command line and a sweep's tables give, bit for bit.

- ``Model(b, sigma, W, c)``: a model from NumPy arrays (sigma = standard deviations, W is 2 x n),
  or ``Model.from_results(dir, run_id)``: a trained model of a results folder;
  ``.log_z()``, ``.log_prob(x)``, ``.free_energy(x)``, ``.sample(n, seed)``, ``.density(xs, ys)``,
  ``.hidden_probs(x)``, ``.visible_means(z)``.
- ``generate(name, n, seed)``: the points a sweep with that data seed draws from a built-in
  generator; ``true_log_density(name, x)``: its exact log density; ``GENERATORS``: their names.

Points are N x 2 float64 arrays, one point (x1, x2) per row. The whole API, its conventions and
how to score a PyTorch GRBM: docs/python.md in the grbm-sweep repository.
"""

from ._native import (
    GENERATORS,
    MAX_ENUMERATION_HIDDEN,
    Model,
    __version__,
    generate,
    true_log_density,
)

__all__ = [
    "GENERATORS",
    "MAX_ENUMERATION_HIDDEN",
    "Model",
    "__version__",
    "generate",
    "true_log_density",
]
