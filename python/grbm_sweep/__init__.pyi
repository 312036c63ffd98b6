"""Type hints of grbm_sweep (the native module grbm_sweep._native, re-exported)."""

import os
from typing import Optional, TypedDict, Union

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
Float64Array = npt.NDArray[np.float64]

__version__: str
GENERATORS: tuple[str, ...]
"""The built-in generators' names, as ``[data] source`` writes them."""
MAX_ENUMERATION_HIDDEN: int
"""Up to this many hidden units log Z is also enumerated and samples come from the 2^n mixture."""

class LogZReport(TypedDict):
    log_z: float
    """As ``Model.log_z()``: on the grid of ``grid_points`` per axis."""
    grid_points: int
    log_z_exact: Optional[float]
    """By enumerating the 2^n hidden states (n <= 20), else None."""
    log_z_fine: float
    """On the grid of half the spacing, ``2 * grid_points - 1`` per axis."""
    integration_error: float
    """``abs(log_z - log_z_fine)``."""

class Model:
    """A Gaussian-Bernoulli RBM with 2 real visible units and n binary hidden units.

    ``b`` (2): visible biases; ``sigma`` (2): visible STANDARD DEVIATIONS (from a log-variance v,
    ``exp(v / 2)``; from a variance s2, ``sqrt(s2)``); ``W`` (2 x n): row i belongs to visible
    unit i (a PyTorch-style n x 2 weight is ``W.T``); ``c`` (n): hidden biases. Raises ValueError
    with what was found for a transposed W, a sigma <= 0, wrong lengths or non-finite values. A
    2 x 2 W cannot be told from its transpose, nor a variance from a standard deviation.
    """

    def __init__(self, b: ArrayLike, sigma: ArrayLike, W: ArrayLike, c: ArrayLike) -> None: ...
    @staticmethod
    def from_results(dir: Union[str, os.PathLike[str]], run_id: str) -> "Model":
        """The trained model of run ``run_id`` (or a unique prefix of its id) of a results folder,
        with the run's grid: ``log_z()`` equals runs.parquet's ``log_z``. Needs polars."""
    def log_z(self) -> float:
        """log Z by the sweep's grid integration (the run's grid, or the automatic one)."""
    def log_z_report(self) -> LogZReport:
        """log Z with the enumeration and the integration error estimate."""
    def log_prob(self, x: ArrayLike) -> Float64Array:
        """ln p(x) of every row of x (N x 2): shape (N,)."""
    def free_energy(self, x: ArrayLike) -> Float64Array:
        """F(x) of every row of x (N x 2), p(x) = exp(-F(x)) / Z: shape (N,)."""
    def density(self, xs: ArrayLike, ys: ArrayLike, log: bool = False) -> Float64Array:
        """p (or ln p) at (xs[k], ys[r]) as element [r, k]: shape (len(ys), len(xs))."""
    def sample(self, n: int, seed: int) -> Float64Array:
        """n exact samples from ``seed``: shape (n, 2)."""
    def hidden_probs(self, x: ArrayLike) -> Float64Array:
        """p(z_j = 1 | x) of every row of x (N x 2): shape (N, n)."""
    def visible_means(self, z: ArrayLike) -> Float64Array:
        """b + W z, the mean of p(x | z), of every row of z (M x n): shape (M, 2)."""
    @property
    def b(self) -> Float64Array: ...
    @property
    def sigma(self) -> Float64Array: ...
    @property
    def log_sigma(self) -> Float64Array: ...
    @property
    def W(self) -> Float64Array: ...
    @property
    def c(self) -> Float64Array: ...
    @property
    def n_hidden(self) -> int: ...
    @property
    def grid_points(self) -> Optional[int]:
        """The run's grid points per axis for a model from_results, else None (automatic)."""
    @property
    def run_id(self) -> Optional[str]: ...
    @property
    def dataset(self) -> Optional[str]: ...

def generate(name: str, n: int, seed: int) -> Float64Array:
    """The first n points generator ``name`` draws from data seed ``seed``: shape (n, 2)."""

def true_log_density(name: str, x: ArrayLike) -> Float64Array:
    """The exact log density of generator ``name`` at every row of x (N x 2): shape (N,)."""
