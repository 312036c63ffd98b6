"""The Python examples of docs/python.md run as written: the API example, the results folder
example (against the sweep of conftest.py), and the PyTorch conversion with its check, on a
stand-in for a torch module (NumPy float32 arrays behind .detach().cpu().numpy()), whose check
must catch the two mistakes no argument check can: a transposed 2 x 2 W and a variance passed as
sigma."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import grbm_sweep

DOCS = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def blocks() -> list[str]:
    if not DOCS.exists():
        pytest.skip(f"{DOCS} is not there (tests run outside the repository)")
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)


def block(starting: str) -> str:
    found = [b for b in blocks() if starting in b]
    assert len(found) == 1, f"docs/python.md has {len(found)} python blocks with {starting!r}"
    return found[0]


class Tensor:
    """What the examples use of a torch tensor."""

    def __init__(self, a):
        self.a = np.asarray(a)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a

    def float(self):
        return Tensor(self.a.astype(np.float32))


class Torch:
    @staticmethod
    def from_numpy(a):
        return Tensor(a)


class TorchGrbm:
    """A GRBM as a PyTorch module would hold it: W n x 2, a log-variance, float32; 2 hidden
    units, so that a transposed W has a valid shape."""

    def __init__(self):
        f32 = np.float32
        self.W = Tensor(np.array([[1.2, -0.4], [0.3, 0.9]], dtype=f32))
        self.b = Tensor(np.array([0.2, -0.1], dtype=f32))
        self.c = Tensor(np.array([-0.3, 0.5], dtype=f32))
        self.log_var = Tensor(np.log(np.array([0.36, 0.64], dtype=f32)))

    def free_energy(self, v: Tensor) -> Tensor:
        x, var = v.a, np.exp(self.log_var.a)
        u = self.c.a + (x / var) @ self.W.a.T
        return Tensor(((x - self.b.a) ** 2 / (2 * var)).sum(1) - np.logaddexp(0, u).sum(1))


def test_the_api_example_runs():
    exec(block("grbm_sweep.Model(b=[0.0, 0.0]"), {})


def test_the_results_folder_example_runs(results):
    exec(block("Model.from_results(").replace('"results/sweep', f'"{results}'), {})


def test_the_pytorch_example_converts_and_its_check_catches_what_the_arguments_cannot():
    convert = block("def to_numpy(t)")
    check = block("rbm.free_energy(")
    ns: dict = {"rbm": TorchGrbm(), "torch": Torch}
    exec(convert, ns)
    model = ns["model"]
    assert np.array_equal(model.W, ns["W_t"].T) and np.allclose(model.sigma, [0.6, 0.8], rtol=1e-6)
    exec(check, ns)
    # The mistakes the argument checks cannot see make valid models; the check refuses them.
    b, c, W_t, log_var = ns["b"], ns["c"], ns["W_t"], ns["log_var"]
    for wrong in [
        grbm_sweep.Model(b, np.exp(log_var / 2), W_t, c),  # W not transposed (2 x 2)
        grbm_sweep.Model(b, np.exp(log_var), W_t.T, c),  # the variance as sigma
    ]:
        with pytest.raises(AssertionError, match="the conversion is wrong"):
            exec(check, {**ns, "model": wrong})
