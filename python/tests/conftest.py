"""Fixtures of the grbm_sweep tests: the grbm-sweep binary (GRBM_SWEEP_BIN) and a small sweep
run with it once per session, whose tables the module must reproduce."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The package's sources sit beside this folder without the native part that `pip install ./python`
# builds: run from python/, Python would import them instead of the installed module.
_SOURCES = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _SOURCES]

# Two hidden sizes on both sides of the enumeration limit (20): 3 (log Z also enumerated, exact
# samples from the 2^n mixture) and 24 (log Z on the grid alone, samples from the grid); two
# seeds each, and a generator whose true density is known.
EXPERIMENT = """\
name = "py"

[data]
source = "gmm_iso"
n_train = 600
n_test = 250
n_valid = 150
seed = 3

[train]
epochs = 3
batch_size = 100

[eval]
every = 3
samples = 150
diagnostics = false

[grid]
hidden = [3, 24]
seed = [0, 1]
"""


@pytest.fixture(scope="session")
def grbm_bin() -> Path:
    """The grbm-sweep binary the tests compare against (GRBM_SWEEP_BIN)."""
    value = os.environ.get("GRBM_SWEEP_BIN")
    if not value:
        pytest.skip(
            "GRBM_SWEEP_BIN is not set: the comparisons with the command line need the binary "
            "(cargo build --release; GRBM_SWEEP_BIN=target/release/grbm-sweep), and "
            "cargo test --release --test it python:: sets it"
        )
    path = Path(value)
    if not path.is_file():
        pytest.fail(f"GRBM_SWEEP_BIN={value} is not a file")
    return path


def run_cli(grbm_bin: Path, args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(grbm_bin), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def results(grbm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results folder of EXPERIMENT, run once by the binary."""
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "py.toml").write_text(EXPERIMENT)
    out = run_cli(grbm_bin, ["py.toml", "--quiet"], cwd=folder)
    assert out.returncode == 0, out.stderr
    return folder / "results" / "py"


def has_command(grbm_bin: Path, command: str) -> bool:
    """Whether the binary's help lists `command` (a binary without it would read the word as the
    experiment file of the default `run` command)."""
    out = run_cli(grbm_bin, ["--help"])
    return any(line.split()[:1] == [command] for line in out.stdout.splitlines() if line.startswith("  "))


@pytest.fixture(scope="session")
def eval_bin(grbm_bin: Path) -> Path:
    """The binary, if it has the `eval` and `sample` commands (else the test is skipped)."""
    missing = [c for c in ["eval", "sample"] if not has_command(grbm_bin, c)]
    if missing:
        pytest.skip(f"{grbm_bin} has no `{'` or `'.join(missing)}` command (a binary built before them)")
    return grbm_bin
