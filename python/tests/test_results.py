"""grbm_sweep against a sweep's tables and the command line: Model.from_results reproduces
runs.parquet (log_z exactly, test_ll to 1e-12) and samples.parquet, generate reproduces
data.parquet, and log_prob and sample equal `grbm-sweep eval` and `sample` bit for bit. The
tests that run the binary are skipped, saying why, without GRBM_SWEEP_BIN (conftest.py)."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import grbm_sweep
from grbm_sweep import Model

pl = pytest.importorskip("polars", reason="Model.from_results and these tests read Parquet with polars")

from conftest import run_cli  # noqa: E402


def finished_runs(results: Path) -> list[dict]:
    runs = pl.read_parquet(results / "runs.parquet")
    return runs.filter(pl.col("test_ll").is_not_null()).sort("run_id").to_dicts()


def split_points(results: Path, dataset: str, split: str) -> np.ndarray:
    data = pl.read_parquet(results / "data.parquet")
    rows = data.filter((pl.col("dataset") == dataset) & (pl.col("split") == split))
    return rows.select("x1", "x2").to_numpy()


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """The columns of a CSV file, each number read with float(): exact for numbers written in
    Rust's shortest round-trip form."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_from_results_reproduces_log_z_and_the_log_likelihoods_of_every_run(results):
    runs = finished_runs(results)
    assert len(runs) == 4 and {r["hidden"] for r in runs} == {3, 24}
    for run in runs:
        m = Model.from_results(results, run["run_id"])
        assert (m.run_id, m.dataset, m.grid_points) == (run["run_id"], run["dataset"], run["grid_points"])
        assert m.n_hidden == run["hidden"]
        assert m.log_z() == run["log_z"], run["run_id"]
        report = m.log_z_report()
        assert report["log_z"] == run["log_z"] and report["grid_points"] == run["grid_points"]
        assert report["log_z_exact"] == run["log_z_exact"]  # None above 20 hidden units
        for split in ["train", "valid", "test"]:
            mean = m.log_prob(split_points(results, run["dataset"], split)).mean()
            assert abs(mean - run[f"{split}_ll"]) < 1e-12, (split, mean, run[f"{split}_ll"])


def test_from_results_reads_the_trained_parameters_bit_for_bit(results):
    models = pl.read_parquet(results / "models.parquet")
    for run in finished_runs(results):
        row = models.filter(pl.col("run_id") == run["run_id"]).row(0, named=True)
        m = Model.from_results(str(results), run["run_id"])
        assert same_bits(m.log_sigma, np.array([row["log_sigma1"], row["log_sigma2"]]))
        assert same_bits(m.W, np.array([row["w1"], row["w2"]]))
        assert same_bits(m.b, np.array([row["b1"], row["b2"]])) and same_bits(m.c, np.array(row["c"]))


def test_sample_with_the_run_seed_gives_the_exact_rows_of_samples_parquet(results):
    samples = pl.read_parquet(results / "samples.parquet").filter(pl.col("kind") == "exact")
    for run in finished_runs(results):
        stored = samples.filter(pl.col("run_id") == run["run_id"]).select("x1", "x2").to_numpy()
        assert len(stored) == 150
        drawn = Model.from_results(results, run["run_id"]).sample(len(stored), run["seed"])
        assert same_bits(drawn, stored), run["run_id"]


def test_generate_gives_the_points_of_data_parquet(results):
    # [data] seed = 3, n_train = 600, n_test = 250, n_valid = 150 in conftest.EXPERIMENT.
    points = grbm_sweep.generate("gmm_iso", 1000, 3)
    assert same_bits(points[:600], split_points(results, "gmm_iso", "train"))
    assert same_bits(points[600:850], split_points(results, "gmm_iso", "test"))
    assert same_bits(points[850:], split_points(results, "gmm_iso", "valid"))
    assert not same_bits(grbm_sweep.generate("gmm_iso", 600, 4), points[:600])
    true_ll = grbm_sweep.true_log_density("gmm_iso", points[600:850]).mean()
    assert abs(true_ll - finished_runs(results)[0]["true_ll"]) < 1e-12


def test_a_unique_prefix_names_its_run_and_an_unknown_id_is_refused_as_the_cli_does(results, grbm_bin):
    runs = finished_runs(results)
    ids = [r["run_id"] for r in runs]
    for run_id in ids:
        prefix = next(run_id[:k] for k in range(1, 17) if sum(i.startswith(run_id[:k]) for i in ids) == 1)
        assert Model.from_results(results, prefix).run_id == run_id
    with pytest.raises(ValueError) as e:
        Model.from_results(results, "0123456789abcdefX")
    assert str(e.value) == f"{results} has no finished run with id 0123456789abcdefX"
    with pytest.raises(ValueError, match="has no finished run with id $"):
        Model.from_results(results, "")
    # The command line's words for the same folder and id (its `plot --run` resolves finished
    # runs as `eval --run` does).
    out = run_cli(grbm_bin, ["plot", str(results), "--run", "0123456789abcdefX", "--out", str(results / "p")])
    assert out.returncode != 0 and str(e.value) in out.stderr, out.stderr


def write_table_folder(folder: Path, ids: list[str]) -> None:
    """A folder with runs.parquet and models.parquet of one-unit models, as a sweep writes them."""
    folder.mkdir()
    n = len(ids)
    pl.DataFrame(
        {"run_id": ids, "dataset": ["d"] * n, "test_ll": [-1.0] * n, "grid_points": [40] * n}
    ).write_parquet(folder / "runs.parquet")
    pl.DataFrame(
        {
            "run_id": ids,
            "b1": [0.0] * n, "b2": [0.0] * n, "log_sigma1": [0.0] * n, "log_sigma2": [0.1] * n,
            "w1": [[0.5]] * n, "w2": [[-0.5]] * n, "c": [[0.2]] * n,
        }
    ).write_parquet(folder / "models.parquet")


def test_an_ambiguous_prefix_is_refused_with_the_ids_it_begins(tmp_path):
    folder = tmp_path / "r"
    write_table_folder(folder, ["ab12000000000000", "ab34000000000000", "cd00000000000000"])
    with pytest.raises(ValueError) as e:
        Model.from_results(folder, "ab")
    assert str(e.value) == (
        f"{folder}: the run id prefix ab is ambiguous: it begins 2 run ids: "
        "ab12000000000000, ab34000000000000; give more of the id"
    )
    m = Model.from_results(folder, "ab3")
    assert (m.run_id, m.grid_points, m.n_hidden) == ("ab34000000000000", 40, 1)
    assert np.array_equal(m.log_sigma, [0.0, 0.1])


def test_a_folder_without_tables_and_a_missing_polars_are_explained(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="has no tables"):
        Model.from_results(tmp_path, "ab")
    monkeypatch.setitem(sys.modules, "polars", None)  # import polars now raises ImportError
    with pytest.raises(ImportError, match="reads the Parquet tables of a results folder with polars, which is not installed: pip install polars"):
        Model.from_results(tmp_path, "ab")


def test_log_prob_equals_eval_per_point_bit_for_bit(results, eval_bin, tmp_path):
    for run in finished_runs(results):
        out = tmp_path / f"{run['run_id']}.csv"
        cli = run_cli(eval_bin, ["eval", str(results), "--run", run["run_id"][:8], "--out", str(out)])
        assert cli.returncode == 0, cli.stderr
        table = read_csv(out)
        test = split_points(results, run["dataset"], "test")
        assert same_bits(np.stack([table["x1"], table["x2"]], 1), test)
        m = Model.from_results(results, run["run_id"][:8])
        assert same_bits(m.log_prob(test), table["log_density"]), run["run_id"]
        printed = re.search(r"^log Z: (\S+) ", cli.stdout, re.M)
        assert printed and float(printed.group(1)) == m.log_z() == run["log_z"], cli.stdout


def test_eval_of_a_parameter_file_equals_the_model_from_arrays(results, eval_bin, tmp_path):
    rng = np.random.default_rng(2)
    points = rng.normal(size=(300, 2)) * 3
    with open(tmp_path / "points.csv", "w") as f:
        f.write("x1,x2\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in points))
    for run in finished_runs(results):
        trained = Model.from_results(results, run["run_id"])
        params = {"b": trained.b.tolist(), "sigma": trained.sigma.tolist(), "W": trained.W.tolist(), "c": trained.c.tolist()}
        (tmp_path / "params.json").write_text(json.dumps(params))
        cli = run_cli(eval_bin, ["eval", str(tmp_path / "params.json"), "--points", str(tmp_path / "points.csv"), "--out", str(tmp_path / "out.csv")])
        assert cli.returncode == 0, cli.stderr
        table = read_csv(tmp_path / "out.csv")
        assert same_bits(np.stack([table["x1"], table["x2"]], 1), points)
        m = Model(params["b"], params["sigma"], params["W"], params["c"])
        assert m.grid_points is None
        assert same_bits(m.log_prob(points), table["log_density"]), run["run_id"]
    # A transposed W in a parameter file: the same refusal as Model's.
    params["W"] = np.array(params["W"]).T.tolist()
    (tmp_path / "params.json").write_text(json.dumps(params))
    cli = run_cli(eval_bin, ["eval", str(tmp_path / "params.json"), "--points", "gmm_iso", "--out", str(tmp_path / "out.csv")])
    with pytest.raises(ValueError) as e:
        Model(params["b"], params["sigma"], params["W"], params["c"])
    assert cli.returncode != 0 and str(e.value) in cli.stderr, cli.stderr


def test_sample_equals_the_sample_command_bit_for_bit(results, eval_bin, tmp_path):
    for run in finished_runs(results):
        out = tmp_path / "s.csv"
        cli = run_cli(eval_bin, ["sample", str(results), "--run", run["run_id"], "--n", "500", "--seed", "17", "--out", str(out)])
        assert cli.returncode == 0, cli.stderr
        table = read_csv(out)
        drawn = Model.from_results(results, run["run_id"]).sample(500, 17)
        assert same_bits(drawn, np.stack([table["x1"], table["x2"]], 1)), run["run_id"]
