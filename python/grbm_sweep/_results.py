"""Reading one run of a grbm-sweep results folder for ``Model.from_results``.

The committed set of tables is read, as every reader of a results folder does: the files that
``tables.json`` names (in ``tables/<N>/``), opened together, so that ``runs.parquet`` and
``models.parquet`` are never of two different sweeps even while a sweep or a merge commits the
next set. A folder written by an earlier grbm-sweep, without ``tables.json``, is read from its
top-level tables. The tables are read with polars.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, BinaryIO

RUN_COLUMNS = ["run_id", "dataset", "test_ll", "grid_points"]
MODEL_COLUMNS = ["run_id", "b1", "b2", "w1", "w2", "c"]


def _polars() -> Any:
    try:
        import polars
    except ImportError as e:
        raise ImportError(
            "grbm_sweep.Model.from_results reads the Parquet tables of a results folder with "
            "polars, which is not installed: pip install polars (or pip install './python[results]' "
            "from the repository root)"
        ) from e
    return polars


def _open_committed(folder: Path, shown: str) -> dict[str, BinaryIO]:
    """runs.parquet and models.parquet of the committed set, opened together."""
    names = ["runs.parquet", "models.parquet"]
    commit_path = folder / "tables.json"
    if not commit_path.exists():
        if not (folder / "runs.parquet").exists():
            raise FileNotFoundError(
                f"{shown} has no tables (neither tables.json nor runs.parquet): "
                "is it the results folder of a finished grbm-sweep sweep?"
            )
        return {name: open(folder / name, "rb") for name in names}
    for _ in range(10):
        commit = json.loads(commit_path.read_text())
        generation = folder / "tables" / str(commit["generation"])
        files: dict[str, BinaryIO] = {}
        try:
            for name in names:
                files[name] = open(generation / name, "rb")
        except FileNotFoundError:
            for f in files.values():
                f.close()
            continue  # a newer set was committed after tables.json was read: read it again
        return files
    raise RuntimeError(f"the tables of {shown} kept changing while being opened")


def _check_columns(table: Any, columns: list[str], name: str, shown: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{shown}/{name} has no column {', '.join(missing)}: "
            "not a grbm-sweep table, or one too old for grbm_sweep"
        )


def read_run(results: str | os.PathLike[str], prefix: str) -> dict[str, Any]:
    """The parameters and grid of the finished run whose id is ``prefix`` or begins with it.

    A whole id is that run; an empty prefix matches nothing; a prefix that begins several run
    ids is refused with them (sorted), as the CLI's ``--run`` does, in the same words.
    """
    pl = _polars()
    shown = os.fspath(results)
    files = _open_committed(Path(results), shown)
    try:
        runs = pl.read_parquet(files["runs.parquet"])
        models = pl.read_parquet(files["models.parquet"])
    finally:
        for f in files.values():
            f.close()
    _check_columns(runs, RUN_COLUMNS, "runs.parquet", shown)
    _check_columns(models, MODEL_COLUMNS, "models.parquet", shown)

    finished = runs.filter(pl.col("test_ll").is_not_null())
    ids = finished["run_id"].to_list()
    if prefix in ids:
        matches = [prefix]
    elif prefix == "":
        matches = []
    else:
        matches = sorted(i for i in ids if i.startswith(prefix))
    if not matches:
        raise ValueError(f"{shown} has no finished run with id {prefix}")
    if len(matches) > 1:
        raise ValueError(
            f"{shown}: the run id prefix {prefix} is ambiguous: it begins {len(matches)} run ids: "
            f"{', '.join(matches)}; give more of the id"
        )
    run_id = matches[0]
    run = finished.filter(pl.col("run_id") == run_id).row(0, named=True)
    rows = models.filter(pl.col("run_id") == run_id)
    if rows.height != 1:
        raise ValueError(f"{shown}/models.parquet has {rows.height} rows for run {run_id}, not 1")
    m = rows.row(0, named=True)
    if "log_sigma1" in models.columns and "log_sigma2" in models.columns:
        log_sigma = [m["log_sigma1"], m["log_sigma2"]]
    else:
        import math

        warnings.warn(
            f"{shown}/models.parquet has no log_sigma1/log_sigma2 (written by an earlier "
            "grbm-sweep): sigma is read back through its log, so the model can differ from the "
            "trained one in the last bit, and log_z/log_prob from the tables by about 1e-15",
            stacklevel=3,
        )
        log_sigma = [math.log(m["sigma1"]), math.log(m["sigma2"])]
    return {
        "run_id": run_id,
        "dataset": run["dataset"],
        "grid_points": run["grid_points"],
        "b": [m["b1"], m["b2"]],
        "log_sigma": log_sigma,
        "w1": list(m["w1"]),
        "w2": list(m["w2"]),
        "c": list(m["c"]),
    }
