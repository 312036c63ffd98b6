"""grbm_sweep.Model from arrays, against NumPy references that enumerate the 2^n hidden states
(independent of the Rust code), and the argument checks. Needs only the module and NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import grbm_sweep
from grbm_sweep import Model

# A 4-unit model with uneven mixture weights and well separated components.
B = np.array([0.3, -0.4])
SIGMA = np.array([0.5, 0.8])
W = np.array([[1.5, -2.0, 0.7, 0.0], [0.4, 1.1, -1.8, 2.2]])
C = np.array([-0.5, 0.8, 0.1, -1.2])


def softplus(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def states(n: int) -> np.ndarray:
    """The 2^n hidden states, one per row."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def mixture(b, sigma, W, c):
    """The marginal p(x) as a mixture of 2^n Gaussians N(b + W z, diag sigma^2): the log
    weights (unnormalized), the means, and log Z (docs/math.md)."""
    z = states(len(c))
    wz = z @ W.T
    log_w = z @ c + ((wz**2 + 2 * wz * b) / (2 * sigma**2)).sum(1)
    top = log_w.max()
    log_z = top + math.log(np.exp(log_w - top).sum()) + np.log(sigma * math.sqrt(2 * math.pi)).sum()
    return log_w, b + wz, log_z


def exact_moments(b, sigma, W, c):
    log_w, means, _ = mixture(b, sigma, W, c)
    pi = np.exp(log_w - log_w.max())
    pi /= pi.sum()
    mean = pi @ means
    centred = means - mean
    cov = np.diag(sigma**2) + (centred * pi[:, None]).T @ centred
    return mean, cov


def numpy_free_energy(x, b, sigma, W, c):
    return (((x - b) ** 2) / (2 * sigma**2)).sum(1) - softplus(c + (x / sigma**2) @ W).sum(1)


def some_points(count: int = 500, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, 2)) * 2.0


def test_parameters_read_back_as_given():
    m = Model(B, SIGMA, W, C)
    assert m.n_hidden == 4
    assert np.array_equal(m.b, B) and np.array_equal(m.W, W) and np.array_equal(m.c, C)
    assert np.allclose(m.sigma, SIGMA, rtol=1e-15, atol=0)
    assert np.array_equal(m.log_sigma, np.log(SIGMA))
    assert m.grid_points is None and m.run_id is None and m.dataset is None
    # Lists and integer arrays are converted to float64.
    m2 = Model([0, 0], [1, 1], [[1, 0, 2]] * 2, [0, 0, 0])
    assert m2.W.dtype == np.float64 and m2.W.shape == (2, 3)


def test_log_z_and_log_prob_match_the_enumeration():
    m = Model(B, SIGMA, W, C)
    _, _, log_z = mixture(B, SIGMA, W, C)
    assert abs(m.log_z() - log_z) < 1e-10, (m.log_z(), log_z)
    report = m.log_z_report()
    assert report["log_z"] == m.log_z()
    assert abs(report["log_z_exact"] - log_z) < 1e-12
    assert report["integration_error"] < 1e-9
    assert report["grid_points"] >= 16
    x = some_points()
    assert np.allclose(m.free_energy(x), numpy_free_energy(x, B, SIGMA, W, C), rtol=1e-13, atol=1e-13)
    assert np.allclose(m.log_prob(x), -numpy_free_energy(x, B, SIGMA, W, C) - log_z, rtol=0, atol=1e-9)
    # The mixture's own density at the same points: a check of F itself, not only of F - log Z.
    log_w, means, _ = mixture(B, SIGMA, W, C)
    top = log_w.max()
    pi = np.exp(log_w - top) / np.exp(log_w - top).sum()
    d = ((x[:, None, :] - means[None]) / SIGMA) ** 2
    gauss = np.exp(-0.5 * d.sum(2)) / (2 * math.pi * SIGMA.prod())
    assert np.allclose(m.log_prob(x), np.log(gauss @ pi), rtol=0, atol=1e-9)


def test_density_is_laid_out_rows_by_ys_and_integrates_to_one():
    m = Model(B, SIGMA, W, C)
    xs, ys = np.array([-1.0, 0.0, 2.5]), np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    p = m.density(xs, ys, log=True)
    assert p.shape == (5, 3)
    for r, y in enumerate(ys):
        for k, x in enumerate(xs):
            assert p[r, k] == m.log_prob([[x, y]])[0]
    assert np.allclose(m.density(xs, ys), np.exp(p), rtol=1e-14, atol=0)
    # On a fine grid far past every component the density sums to 1 (the trapezoid rule on a
    # smooth, fast-decaying integrand).
    xs, ys = np.linspace(-8, 8, 801), np.linspace(-9, 9, 901)
    total = m.density(xs, ys).sum() * (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert abs(total - 1) < 1e-9, total


def test_conditionals_match_their_formulas():
    m = Model(B, SIGMA, W, C)
    x = some_points(50, seed=1)
    u = C + (x / SIGMA**2) @ W
    assert m.hidden_probs(x).shape == (50, 4)
    assert np.allclose(m.hidden_probs(x), 1 / (1 + np.exp(-u)), rtol=1e-13, atol=1e-15)
    z = states(4)
    assert np.allclose(m.visible_means(z), B + z @ W.T, rtol=0, atol=1e-14)
    # Mean-field reconstruction: probabilities are accepted as z.
    assert m.visible_means(m.hidden_probs(x)).shape == (50, 2)
    with pytest.raises(ValueError, match=r"`z` must have n = 4 columns, one per hidden unit; found shape \(3, 5\)"):
        m.visible_means(np.zeros((3, 5)))


def moment_errors(x: np.ndarray, mean: np.ndarray, cov: np.ndarray, extra_var: float = 0.0):
    """The sample mean's and covariance's deviations from the exact ones, in standard errors
    (the covariance's standard error from the spread of the products, plus `extra_var`, an
    allowance for a known bias of the variances)."""
    n = len(x)
    errors = [(x[:, i].mean() - mean[i]) / math.sqrt(cov[i, i] / n) for i in range(2)]
    centred = x - mean
    for i, j in [(0, 0), (0, 1), (1, 1)]:
        products = centred[:, i] * centred[:, j]
        se = products.std() / math.sqrt(n)
        deviation = products.mean() - cov[i, j]
        if i == j:
            deviation = max(0.0, abs(deviation) - extra_var)
        errors.append(deviation / se)
    return np.array(errors)


def test_samples_repeat_from_a_seed_and_have_the_exact_moments():
    m = Model(B, SIGMA, W, C)
    a = m.sample(40000, 11)
    assert a.shape == (40000, 2)
    assert np.array_equal(a, m.sample(40000, 11))
    assert not np.array_equal(a, m.sample(40000, 12))
    mean, cov = exact_moments(B, SIGMA, W, C)
    errors = moment_errors(a, mean, cov)
    # Five statistics, each within 5 standard errors (a false alarm about 3e-6 of the time; the
    # seed is fixed, so the test is deterministic).
    assert np.all(np.abs(errors) < 5), errors
    # The check has power: the moments with the mixture weights ignored are far off.
    _, means, _ = mixture(B, SIGMA, W, C)
    wrong = moment_errors(a, means.mean(0), cov)
    assert np.max(np.abs(wrong)) > 20, wrong


def test_above_twenty_hidden_units_log_z_and_samples_come_from_the_grid():
    # 22 hidden units, of which 18 have no weights: their states leave x alone, so the marginal
    # is the 4-unit model's and log Z grows by their softplus(c_j). Nothing enumerates 2^22.
    c_idle = np.linspace(-1, 1, 18)
    big = Model(B, SIGMA, np.hstack([W, np.zeros((2, 18))]), np.concatenate([C, c_idle]))
    small = Model(B, SIGMA, W, C)
    assert big.n_hidden == 22
    report = big.log_z_report()
    assert report["log_z_exact"] is None
    expected = small.log_z() + softplus(c_idle).sum()
    assert abs(big.log_z() - expected) < 1e-9, (big.log_z(), expected)
    x = some_points()
    assert np.allclose(big.log_prob(x), small.log_prob(x), rtol=0, atol=1e-9)
    # Grid draws: a cell by its mass, uniform within it, which adds step^2 / 12 <= sigma^2 / 48
    # to each variance (docs/math.md).
    s = big.sample(40000, 5)
    assert np.array_equal(s, big.sample(40000, 5))
    mean, cov = exact_moments(B, SIGMA, W, C)
    errors = moment_errors(s, mean, cov, extra_var=float(SIGMA.max() ** 2 / 48))
    assert np.all(np.abs(errors) < 5), errors


def test_a_transposed_w_is_refused_with_the_documented_message():
    with pytest.raises(ValueError) as e:
        Model(B, SIGMA, W.T, C)
    assert str(e.value) == (
        "`W` is 4 x 2 and `c` has 4 values: W is n x 2 where 2 x n was expected "
        "(row i = visible unit i; transposed? pass W.T)"
    )
    with pytest.raises(ValueError, match=r"^`W` is 2 x 3 but must be 2 x n with n = 4, the length of `c`"):
        Model(B, SIGMA, W[:, :3], C)
    # A 2 x 2 W cannot be told from its transpose: both are models (docs/python.md says so).
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert not np.array_equal(Model(B, SIGMA, square, C[:2]).W, Model(B, SIGMA, square.T, C[:2]).W)


def test_other_bad_parameters_are_refused_with_what_was_found():
    with pytest.raises(ValueError, match=r"^`sigma` must hold standard deviations > 0; found -0.5 \(from a log-variance v: sigma = exp\(v / 2\)"):
        Model(B, [-0.5, 1.0], W, C)
    with pytest.raises(ValueError, match=r"^`b` has 3 values; a GRBM with 2 visible units has 2$"):
        Model([0, 0, 0], SIGMA, W, C)
    with pytest.raises(ValueError, match=r"^`c` holds NaN: every parameter must be a finite number$"):
        Model(B, SIGMA, W, [0, 0, 0, np.nan])
    with pytest.raises(ValueError, match=r"^a GRBM needs at least one hidden unit"):
        Model(B, SIGMA, np.zeros((2, 0)), [])
    with pytest.raises(ValueError, match=r"^`W` must be a 2-D array \(2 x n, row i = visible unit i\); found shape \(2,\)$"):
        Model(B, SIGMA, [1.0, 2.0], [0.0])
    with pytest.raises(ValueError, match=r"^`b` must be a 1-D array"):
        Model(B[None, :], SIGMA, W, C)


def test_points_must_be_n_by_2():
    m = Model(B, SIGMA, W, C)
    with pytest.raises(ValueError, match=r"found shape \(2, 7\); transposed\? pass x.T$"):
        m.log_prob(np.zeros((2, 7)))
    with pytest.raises(ValueError, match=r"found shape \(2,\); one point is an array of shape \(1, 2\)"):
        m.log_prob(np.zeros(2))
    with pytest.raises(ValueError, match=r"^`x` must be an N x 2 array, one point \(x1, x2\) per row; found shape \(5, 3\)$"):
        m.free_energy(np.zeros((5, 3)))
    assert m.log_prob(np.zeros((0, 2))).shape == (0,)
    # Any array-like of numbers: lists, integers, non-contiguous views.
    x = some_points(10)
    assert np.array_equal(m.log_prob(x.tolist()), m.log_prob(x))
    wide = np.zeros((10, 4))
    wide[:, ::2] = x
    assert np.array_equal(m.log_prob(wide[:, ::2]), m.log_prob(x))
    assert np.array_equal(m.log_prob(np.asfortranarray(x)), m.log_prob(x))


def test_generators_draw_from_their_seed_and_know_their_density():
    assert "gmm_iso" in grbm_sweep.GENERATORS and len(grbm_sweep.GENERATORS) == 9
    a = grbm_sweep.generate("two_moons", 3000, 4)
    assert a.shape == (3000, 2)
    assert np.array_equal(a[:1000], grbm_sweep.generate("two_moons", 1000, 4))
    assert not np.array_equal(a, grbm_sweep.generate("two_moons", 3000, 5))
    # The checkerboard is uniform on 8 squares of side 2: density 1/32 there, 0 elsewhere.
    board = grbm_sweep.generate("checkerboard", 500, 0)
    assert np.all(grbm_sweep.true_log_density("checkerboard", board) == -math.log(32))
    assert grbm_sweep.true_log_density("checkerboard", [[1.0, -1.0]])[0] == -math.inf
    # The three isotropic blobs' density, integrated on a grid, is 1.
    xs = np.linspace(-12, 12, 481)
    g1, g2 = np.meshgrid(xs, xs)
    p = np.exp(grbm_sweep.true_log_density("gmm_iso", np.stack([g1.ravel(), g2.ravel()], 1)))
    assert abs(p.sum() * (xs[1] - xs[0]) ** 2 - 1) < 1e-6


def test_unknown_generators_are_named_with_the_list():
    names = ", ".join(grbm_sweep.GENERATORS)
    with pytest.raises(ValueError) as e:
        grbm_sweep.generate("moons", 10, 0)
    assert str(e.value) == f"unknown generator `moons`; the generators are {names}"
    with pytest.raises(ValueError, match="unknown generator `moons`"):
        grbm_sweep.true_log_density("moons", [[0.0, 0.0]])


def test_repr_and_version():
    assert repr(Model(B, SIGMA, W, C)) == "<grbm_sweep.Model: 4 hidden units>"
    assert grbm_sweep.__version__.count(".") == 2
