"""How many of a trained GRBM's 2^n mixture components ever lead: docs/fits.md, "Why the
curved sets stay far".

The most probable hidden state at x, which is also the most responsible of the 2^n mixture
components there, is z*_j(x) = [u_j(x) > 0] with u_j(x) = c_j + x_1 W_1j / sigma_1^2
+ x_2 W_2j / sigma_2^2 (docs/math.md, "The two conditionals"). It is the sign pattern of n
affine functions of x, constant on each cell of the arrangement of the n lines u_j = 0. For
every trained model of the results folders given (models.parquet: parameters in data units),
this script counts:

- box: the cells of that arrangement inside the box of the data set's points (all splits,
  data.parquet) padded by 0.5 on every side, exactly: 1 + L + I, with L the lines that cross
  the box and I their crossing points inside it (lines in general position, which random
  parameters are). A check counts the distinct z* over a GRID x GRID grid of the same box,
  which can only miss cells (thinner than a grid step), never add any.
- curve (rings and two_moons only): the distinct z* along the noiseless curve the data were
  drawn around (src/data/mod.rs): the four circles of `rings` (radii 0.5, 1, 1.5, 2), and the
  two half circles of `two_moons`. Computed exactly: where each line crosses each circle
  (arccos), then z* at the middle of every piece between crossings. `outer` is the outer ring
  alone.
- lead_dist (rings and two_moons): whether those leading components sit on the curve. At 2000
  points spread evenly along each arc, the distance from the point x to the mean b + W z*(x)
  of its leading component, in sigmas (sqrt of the sum over both axes of (difference /
  sigma_i)^2); the median over the points.

and beside them the bounds: at most 1 + n + n(n-1)/2 cells in the whole plane; a closed convex
curve (one ring) meets each line at most twice, so it passes through at most 2n cells (at most
8n pieces for the four rings); an arc of a circle (one moon) through at most 2n + 1 (4n + 2 for
both moons).

    python3 experiments/capacity.py results/fit results/capacity [--datasets rings two_moons]

(every data set of the folders by default; the curve columns only for rings and two_moons)

prints one line per run (dataset, n, seed, valid_ll, gap = true_ll - test_ll, sigma, the
counts), then one per configuration: the mean gap over its seeds with their standard deviation,
and the counts' range over the seeds. Needs polars and numpy (experiments/requirements.txt).
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import polars as pl

PAD = 0.5
GRID = 1500
RING_RADII = [0.5, 1.0, 1.5, 2.0]
# two_moons: the upper moon is (cos t, sin t) - (0.5, 0.25), the lower one
# (1 - cos t, 0.5 - sin t) - (0.5, 0.25), t in [0, pi]: arcs of two unit circles,
# (center, radius, first angle, last angle).
MOONS = [((-0.5, -0.25), 1.0, 0.0, math.pi), ((0.5, 0.25), 1.0, math.pi, 2.0 * math.pi)]
CURVES = {
    "rings": [((0.0, 0.0), r, 0.0, 2.0 * math.pi) for r in RING_RADII],
    "two_moons": MOONS,
}


def hidden_inputs(model):
    """(c, a) with u(x) = c + x @ a: a is 2 x n, row i = W_i / sigma_i^2."""
    w = np.array([model["w1"], model["w2"]])
    sigma = np.array([model["sigma1"], model["sigma2"]])
    return np.array(model["c"]), w / sigma[:, None] ** 2


def codes(c, a, x):
    """z*(x) of every row of x, packed into integers (bit j = unit j)."""
    u = c[None, :] + x @ a
    code = np.zeros(len(x), dtype=object if len(c) > 63 else np.uint64)
    for j in range(len(c)):
        code |= (u[:, j] > 0).astype(code.dtype) << (j if code.dtype == object else np.uint64(j))
    return code


def cells_in_box(c, a, box):
    """1 + L + I: the cells of the arrangement of lines u_j = 0 inside the box."""
    (lo1, hi1), (lo2, hi2) = box
    corners = np.array([[lo1, lo2], [lo1, hi2], [hi1, lo2], [hi1, hi2]])
    u = c[None, :] + corners @ a
    crossing = [j for j in range(len(c)) if u[:, j].min() < 0 < u[:, j].max()]
    inside = 0
    for k, j in enumerate(crossing):
        for l in crossing[k + 1 :]:
            m = np.array([a[:, j], a[:, l]])
            if abs(np.linalg.det(m)) < 1e-300:
                continue
            x = np.linalg.solve(m, -np.array([c[j], c[l]]))
            inside += lo1 < x[0] < hi1 and lo2 < x[1] < hi2
    return 1 + len(crossing) + inside


def cells_on_grid(c, a, box):
    """Distinct z* over a GRID x GRID grid of the box, row block by row block."""
    (lo1, hi1), (lo2, hi2) = box
    xs, ys = np.linspace(lo1, hi1, GRID), np.linspace(lo2, hi2, GRID)
    seen = set()
    for start in range(0, GRID, 100):
        x1, x2 = np.meshgrid(xs[start : start + 100], ys, indexing="ij")
        seen.update(np.unique(codes(c, a, np.column_stack([x1.ravel(), x2.ravel()]))).tolist())
    return len(seen)


def arc_states(c, a, arc):
    """The z* of every piece of an arc of a circle cut by the lines u_j = 0."""
    (cx, cy), r, first, last = arc
    # Along the circle, u_j = c_j + a_j . center + r R_j cos(theta - phi_j).
    base = c + cx * a[0] + cy * a[1]
    reach, phase = r * np.hypot(a[0], a[1]), np.arctan2(a[1], a[0])
    cuts = [first, last]
    for j in np.flatnonzero(np.abs(base) < reach):
        half = math.acos(-base[j] / reach[j])
        for theta in (phase[j] + half, phase[j] - half):
            theta = first + (theta - first) % (2.0 * math.pi)
            if theta < last:
                cuts.append(theta)
    cuts = np.sort(np.array(cuts))
    middles = (cuts[:-1] + cuts[1:]) / 2.0
    points = np.column_stack([cx + r * np.cos(middles), cy + r * np.sin(middles)])
    return set(codes(c, a, points).tolist())


def lead_distance(c, a, model, arcs):
    """Median over points along the arcs of |x - (b + W z*(x))| in sigmas."""
    w = np.array([model["w1"], model["w2"]])
    b = np.array([model["b1"], model["b2"]])
    sigma = np.array([model["sigma1"], model["sigma2"]])
    points = []
    for (cx, cy), r, first, last in arcs:
        theta = np.linspace(first, last, 2000, endpoint=False)
        points.append(np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)]))
    x = np.concatenate(points)
    leading = (c[None, :] + x @ a > 0).astype(float)
    distance = np.sqrt((((x - b - leading @ w.T) / sigma) ** 2).sum(axis=1))
    return float(np.median(distance))


def data_boxes(folder):
    data = pl.read_parquet(folder / "data.parquet")
    boxes = {}
    for (name,), points in data.group_by("dataset"):
        boxes[name] = [
            (points[col].min() - PAD, points[col].max() + PAD) for col in ("x1", "x2")
        ]
    return boxes


def measure(folder, datasets):
    runs = pl.read_parquet(folder / "runs.parquet").filter(pl.col("status") == "ok")
    models = pl.read_parquet(folder / "models.parquet").drop("dataset")
    boxes = data_boxes(folder)
    rows = []
    joined = runs.join(models, on="run_id")
    if datasets:
        joined = joined.filter(pl.col("dataset").is_in(datasets))
    for run in joined.iter_rows(named=True):
        c, a = hidden_inputs(run)
        n, name = len(c), run["dataset"]
        row = {
            "folder": folder.name,
            "dataset": name,
            "config_id": run["config_id"],
            "hidden": n,
            "seed": run["seed"],
            "valid_ll": run["valid_ll"],
            "gap": run["test_ll_gap"],
            "sigma1": run["sigma1"],
            "sigma2": run["sigma2"],
            "box": cells_in_box(c, a, boxes[name]),
            "box_grid": cells_on_grid(c, a, boxes[name]),
            "plane_bound": 1 + n + n * (n - 1) // 2,
            "curve": None,
            "curve_bound": None,
            "outer": None,
            "outer_bound": None,
            "lead_dist": None,
        }
        arcs = CURVES.get(name)
        if arcs:
            states = [arc_states(c, a, arc) for arc in arcs]
            row["curve"] = len(set().union(*states))
            row["lead_dist"] = lead_distance(c, a, run, arcs)
            if name == "rings":
                row["outer"] = len(states[-1])
                row["curve_bound"] = min(len(arcs) * 2 * n, row["plane_bound"])
                row["outer_bound"] = 2 * n
            else:
                row["curve_bound"] = min(len(arcs) * (2 * n + 1), row["plane_bound"])
        rows.append(row)
    return rows


def summary(table):
    counts = [k for k in ("box", "curve", "outer") if table[k].is_not_null().any()]
    spread = [
        pl.concat_str(pl.col(k).min().cast(str), pl.lit(".."), pl.col(k).max().cast(str)).alias(k)
        for k in counts
    ]
    bounds = [pl.col(k).first() for k in ("plane_bound", "curve_bound", "outer_bound")]
    return (
        table.group_by("folder", "dataset", "config_id", "hidden", maintain_order=True)
        .agg(
            pl.len().alias("seeds"),
            pl.col("valid_ll").mean().alias("valid_ll_mean"),
            pl.col("gap").mean().alias("gap_mean"),
            pl.col("gap").std().alias("gap_sd"),
            pl.col("sigma1", "sigma2").mean().name.suffix("_mean"),
            pl.concat_str(
                pl.col("gap").min().round(3).cast(str), pl.lit(".."), pl.col("gap").max().round(3).cast(str)
            ).alias("gap_range"),
            *spread,
            *bounds,
            pl.col("lead_dist").mean().alias("lead_dist_mean"),
        )
        .drop("config_id")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="results folders")
    parser.add_argument("--datasets", nargs="+", help="only these data sets (default: all)")
    args = parser.parse_args()
    rows = [row for folder in args.folders for row in measure(folder, args.datasets)]
    if not rows:
        sys.exit("no finished run of those data sets in those folders")
    table = pl.DataFrame(rows).sort("folder", "dataset", "hidden", "seed")
    pl.Config.set_tbl_rows(-1)
    pl.Config.set_tbl_cols(-1)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_float_precision(4)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_hide_column_data_types(True)
    print("one line per run:")
    print(table)
    print("\none line per configuration (gap mean and sd over its seeds; counts from .. to):")
    print(summary(table))


if __name__ == "__main__":
    main()
