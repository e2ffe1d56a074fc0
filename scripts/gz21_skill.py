#!/usr/bin/env python
"""Does GZ21 help? Its online skill against a 1/4-degree truth coarse-grained to 1 degree.

    python scripts/gz21_skill.py TRUTH_R025 RUN_GZ21 RUN_NONE [--skip-days N] [--label NAME] [--fig FIG.png]
                                 [--table T.md]

Each argument is a run directory whose output.nc holds records (means or snapshots, daily or
more often) of the surface velocities ``uos``, ``vos``. The truth's u, v are moved to its T
points and coarse-grained onto the 1-degree T cells (area-weighted means of the fine cells by
their overlap: ocean/coarse_grain.py; DINO's grids are not nested: a coarse cell holds 4 x 3
fine cells and two half rows); the 1-degree runs' u, v are moved to their T points. On the records the three runs share (after the first
``--skip-days`` days), surface KE and EKE maps (ocean/skill.py) are compared over the ocean points
of the 1-degree grid:

    skill = 1 - d(GZ21, truth) / d(none, truth)

for d = the difference of area means, the Wasserstein-1 distance between the area-weighted
distributions of the maps' values (of the KE values of every record too, pooled over space and
time, as the pyqg parameterization benchmarks do), and the rms difference of the maps. Prints a
markdown table (also written to --table), draws the maps (--fig), and ends with one JSON line.
A user error prints one line and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from ocean.coarse_grain import CoarseGrainer, cell_edges
from ocean.run_reader import RunReadError, open_output
from ocean.skill import area_mean, distance, skill, surface_energies, velocity_at_t

DAY_S = 86400.0
ROWS = (("KE", "time-mean map", "mean"), ("KE", "time-mean map", "w1"), ("KE", "values of every record", "w1"),
        ("KE", "time-mean map", "rms"), ("EKE", "map", "mean"), ("EKE", "map", "w1"), ("EKE", "map", "rms"))
ROUNDOFF = 1e-9       # relative to the truth's mean: a smaller d(none, truth) is round-off, the skill undefined
DISTANCE_NAMES = {"mean": "difference of area means", "w1": "Wasserstein-1 of the values",
                  "rms": "rms difference of the maps"}


class UserError(Exception):
    pass


def open_run(run: Path) -> xr.Dataset:
    try:
        return open_output(run, needs=("uos", "vos", "e1t", "e2t", "bathymetry"), decode_times=True)
    except RunReadError as exc:
        raise UserError(str(exc)) from None


def record_days(ds: xr.Dataset) -> np.ndarray:
    """(start, end) of each record in days since the calendar's origin (360-day years)."""
    def days(t):
        return (t.year - 1) * 360.0 + (t.month - 1) * 30.0 + (t.day - 1) + (t.hour * 3600 + t.minute * 60
                                                                             + t.second) / DAY_S
    if "time_bounds" in ds:
        return np.array([[days(a), days(b)] for a, b in ds.time_bounds.values])
    t = np.array([days(x) for x in ds.time.values])
    return np.stack([t, t], 1)


def describe_records(ds: xr.Dataset) -> str:
    """How the records were written, e.g. "daily means", "12-hourly snapshots"."""
    kind = "means" if "time_bounds" in ds else "snapshots"
    days = record_days(ds).mean(1)
    if days.size < 2:
        return kind
    step_h = round(float(np.median(np.diff(days))) * 24.0, 3)
    every = "daily" if step_h == 24 else f"{step_h:g}-hourly" if step_h < 24 else f"{step_h / 24:g}-day"
    return f"{every} {kind}"


def common_records(runs: list[xr.Dataset], skip_days: float) -> tuple[list[xr.Dataset], tuple[float, float]]:
    """The records all runs share (same bounds), those starting ``skip_days`` after the first."""
    bounds = [record_days(ds) for ds in runs]
    keys = [{(round(a, 6), round(b, 6)) for a, b in bd} for bd in bounds]
    shared = sorted(set.intersection(*keys))
    if not shared:
        raise UserError("the runs have no output record in common (same period and output interval?)")
    t0 = shared[0][0]
    shared = [k for k in shared if k[0] >= t0 + skip_days - 1e-6]
    if not shared:
        raise UserError(f"no shared record is left after --skip-days {skip_days:g}")
    out = []
    for ds, bd in zip(runs, bounds):
        idx = [i for i, (a, b) in enumerate(bd) if (round(a, 6), round(b, 6)) in set(shared)]
        out.append(ds.isel(time=idx))
    return out, (shared[0][0], shared[-1][1])


def surface_velocity(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    return velocity_at_t(ds.uos.values, ds.vos.values, periodic_x=True)


def coarse_velocities(runs: list[xr.Dataset], cg: CoarseGrainer) -> dict:
    """name -> (u, v) records at the 1-degree T points: the truth's coarse-grained."""
    truth, gz, none = runs
    ut, vt = surface_velocity(truth)
    return {"truth": (cg(ut), cg(vt)), "gz21": surface_velocity(gz), "none": surface_velocity(none)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("truth", type=Path, help="run directory of the 1/4-degree truth")
    p.add_argument("gz21", type=Path, help="run directory of the 1-degree run with GZ21")
    p.add_argument("none", type=Path, help="run directory of the 1-degree run without closure")
    p.add_argument("--skip-days", type=float, default=0.0, help="leave out the records of the first N days")
    p.add_argument("--label", default="GZ21", help="the closure run's name in the table and figure")
    p.add_argument("--fig", type=Path, default=None, help="figure of the KE and EKE maps")
    p.add_argument("--table", type=Path, default=None, help="write the markdown table here too")
    a = p.parse_args(argv)
    try:
        opened = [open_run(a.truth), open_run(a.gz21), open_run(a.none)]
        shared, _ = common_records(opened, 0.0)
        runs, period = common_records(opened, a.skip_days)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    truth, gz, none = runs
    if gz.sizes["x_t"] != none.sizes["x_t"] or gz.sizes["y_t"] != none.sizes["y_t"]:
        print(f"error: {a.gz21} and {a.none} are on different grids", file=sys.stderr)
        return 2
    nrec = truth.sizes["time"]
    if nrec < 2:
        print(f"error: {nrec} shared record(s): EKE needs at least two", file=sys.stderr)
        return 2
    area = (gz.e1t * gz.e2t).values
    wet = np.isfinite(gz.bathymetry.values) & (gz.bathymetry.fillna(0).values > 0)
    cg = CoarseGrainer(cell_edges(truth.x_t.values, truth.x_u.values), cell_edges(truth.y_t.values, truth.y_v.values),
                       cell_edges(gz.x_t.values, gz.x_u.values), cell_edges(gz.y_t.values, gz.y_v.values),
                       (truth.e1t * truth.e2t).values,
                       np.isfinite(truth.bathymetry.values) & (truth.bathymetry.fillna(0).values > 0))
    mask = wet & (cg.coverage > 0)
    fields = coarse_velocities(runs, cg)
    series = {k: [area_mean(0.5 * (u[n] ** 2 + v[n] ** 2), area, mask) for n in range(u.shape[0])]
              for k, (u, v) in coarse_velocities(shared, cg).items()}
    series["days"] = record_days(shared[0]).mean(1).tolist()
    maps, daily = {}, {}
    for name, (u, v) in fields.items():
        u, v = np.where(mask, u, 0.0), np.where(mask, v, 0.0)
        maps[name] = surface_energies(u, v)
        daily[name] = 0.5 * (u ** 2 + v ** 2)
    rows = []
    for qty, what, kind in ROWS:
        if what == "values of every record":
            q = daily
        else:
            q = {k: m[0 if qty == "KE" else 1] for k, m in maps.items()}
        d_none = distance(kind, q["none"], q["truth"], area, mask)
        d_gz = distance(kind, q["gz21"], q["truth"], area, mask)
        roundoff = ROUNDOFF * abs(area_mean(q["truth"], area, mask))       # d below it: none equals the truth
        rows.append({"quantity": f"surface {qty}, {what}", "distance": kind, "d_none": d_none, "d_gz21": d_gz,
                     "skill": skill(d_gz, d_none, roundoff)})
    means = {k: {"ke": float((m[0] * area * mask).sum() / (area * mask).sum()),
                 "eke": float((m[1] * area * mask).sum() / (area * mask).sum())} for k, m in maps.items()}
    records = describe_records(truth)
    name = a.label
    lines = [f"Period: days {period[0]:g}-{period[1]:g} ({nrec} records: {records}); ocean points of the 1-degree "
             f"grid: {int(mask.sum())}.", "",
             f"| surface quantity | distance d | d(none, truth) | d({name}, truth) | skill 1 - d({name})/d(none) |",
             "|---|---|---|---|---|"]
    for r in rows:
        s = "undefined (none = truth)" if math.isnan(r["skill"]) else f"{r['skill']:+.2f}"
        lines.append(f"| {r['quantity']} | {DISTANCE_NAMES[r['distance']]} | {r['d_none']:.3g} | {r['d_gz21']:.3g} "
                     f"| {s} |")
    lines += ["", f"| area mean (m2 s-2) | truth (coarse-grained) | {name} | none |", "|---|---|---|---|",
              f"| KE | {means['truth']['ke']:.3e} | {means['gz21']['ke']:.3e} | {means['none']['ke']:.3e} |",
              f"| EKE | {means['truth']['eke']:.3e} | {means['gz21']['eke']:.3e} | {means['none']['eke']:.3e} |"]
    table = "\n".join(lines)
    print(table)
    if a.table:
        a.table.write_text(table + "\n")
    if a.fig:
        draw(a.fig, gz, maps, mask, period, nrec, series, records, name)
        print(f"figure: {a.fig}")
    print(json.dumps({"period_days": list(period), "records": nrec, "means_m2_s2": means,
                      "rows": [{**r, "skill": None if math.isnan(r["skill"]) else r["skill"]} for r in rows]}))
    return 0


def draw(path: Path, grid: xr.Dataset, maps: dict, mask: np.ndarray, period, nrec: int, series: dict,
         records: str = "daily means", name: str = "GZ21") -> None:
    """KE and EKE maps of the three runs (log colour scale shared by a row), and the area-mean
    KE of every shared record (the analysed period shaded)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    lon, lat = grid.x_t.values, grid.y_t.values
    fig = plt.figure(figsize=(11, 12), constrained_layout=True)
    gs = fig.add_gridspec(3, 3, height_ratios=[1, 1, 0.4])
    titles = {"truth": "truth: 1/4 deg, coarse-grained", "none": "1 deg, no closure", "gz21": f"1 deg, {name}"}
    for row, (label, idx) in enumerate((("surface KE", 0), ("surface EKE", 1))):
        vals = np.concatenate([maps[k][idx][mask] for k in titles])
        pos = vals[vals > 0]
        norm = LogNorm(vmin=max(np.percentile(pos, 2), 1e-9), vmax=np.percentile(pos, 99.8))
        axes = [fig.add_subplot(gs[row, col]) for col in range(3)]
        for ax, k in zip(axes, titles):
            f = np.ma.masked_where(~mask | (maps[k][idx] <= 0), maps[k][idx])
            im = ax.pcolormesh(lon, lat, f, norm=norm, cmap="magma", shading="auto")
            ax.set_title(f"{label}, {titles[k]}", fontsize=9)
        fig.colorbar(im, ax=axes, label=f"{label} (m2 s-2)", shrink=0.8)
    ax = fig.add_subplot(gs[2, :])
    for k, style in (("truth", "k-"), ("none", "C0-"), ("gz21", "C3-")):
        ax.plot(series["days"], series[k], style, marker=".", label=titles[k])
    ax.axvspan(period[0], period[1], color="0.9", zorder=0, label="analysed")
    ax.set_xlabel(f"model day ({records})")
    ax.set_ylabel("area-mean surface KE (m2 s-2)")
    ax.legend(fontsize=8, ncol=4)
    fig.suptitle(f"{name} against a coarse-grained 1/4-degree truth: days {period[0]:g}-{period[1]:g}, "
                 f"{nrec} {records}", fontsize=10)
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    sys.exit(main())
