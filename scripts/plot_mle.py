#!/usr/bin/env python
"""What the mixed-layer eddy (MLE) transport does to DINO: two runs from the same state,
with MLE (FK08 or BBZ24) and without, as the published MLE runs map it.

    python scripts/plot_mle.py RUN_MLE RUN_NONE [--out FIG.png] [--day N] [--days N]

Reads RUN/output.nc of each (daily means; the MLE run with ``wb_mle``, ``psiu_mle``,
``psiv_mle`` and ``mld``, the other with ``mld``) and draws:

- (a) the surface w'b' of day ``--day`` (default: the last record), m2 s-3 (for FK08 the
  buoyancy flux psi_m . grad b_ML its streamfunction implies, for BBZ24 the net's);
- (b) that day's streamfunction magnitude, the largest |psi| over depth of the U and V
  values averaged to T points (m2 s-1);
- (c) the run-mean mixed-layer depth without MLE (m, the model's 0.03 kg m-3 criterion);
- (d) the run-mean MLD difference, MLE minus none (m): the restratification;
- (e) the zonal-mean MLD of both runs against latitude.

Prints the domain figures, a table by latitude band (``BANDS``: the run-mean MLD without
MLE, the area-mean change and its range, the share of points with upward w'b' on the maps'
day) and the figure's file; ends with one JSON line {"mld_mean_m": {"mle": ..., "none": ...},
"mld_change_pct": ..., "wb_max_m2_s3": ..., "psi_max_m2_s": ..., "days": N, "bands": [...]}.
Area means weight by e1t e2t over the ocean. ``--days N`` compares the first N records only
(two runs of different lengths are compared over the records both have).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib
import numpy as np
import xarray as xr

from ocean.run_reader import RunReadError, open_output
from ocean.skill import area_mean, velocity_at_t

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


class UserError(Exception):
    """A bad argument or run directory: one line on stderr, exit status 2."""


def open_run(run: Path, needs: tuple[str, ...]) -> xr.Dataset:
    try:
        ds = open_output(run, needs, decode_times=True)
    except RunReadError as exc:
        raise UserError(str(exc)) from None
    if ds.sizes.get("time", 0) == 0:
        raise UserError(f"{run / 'output.nc'} holds no complete record yet")
    return ds


BANDS = ((-70.0, -60.0), (-60.0, -20.0), (-20.0, 20.0), (20.0, 60.0), (60.0, 70.0))
"""latitude bands (deg N, lower bound included) of the table: DINO's deep-convection edges apart
from the mid-latitude and tropical mixed layers"""


def band_table(lat: np.ndarray, area: np.ndarray, wet: np.ndarray, mld_mle: np.ndarray, mld_none: np.ndarray,
               wb: np.ndarray) -> list[dict]:
    """Per band of ``BANDS`` (``lat`` (ny,) deg N; the maps (ny, nx), ``area`` m2, ``wet`` bool):
    the area-mean MLD without MLE (m), the area-mean and extreme change MLE minus none (m), the
    change in percent, and the share of wet points with w'b' > 0."""
    rows = []
    diff_map = mld_mle - mld_none
    for lo, hi in BANDS:
        sel = wet & ((lat >= lo) & (lat < hi))[:, None]
        if not sel.any():
            continue
        diff = diff_map[sel]
        none = area_mean(np.nan_to_num(mld_none), area, sel)
        change = area_mean(np.nan_to_num(diff_map), area, sel)
        rows.append({"lat_deg": [lo, hi], "mld_none_m": none, "change_m": change,
                     "change_pct": 100.0 * change / none if none else float("nan"),
                     "change_min_m": float(np.nanmin(diff)), "change_max_m": float(np.nanmax(diff)),
                     "wb_upward_share": float((wb[sel] > 0).mean())})
    return rows


def psi_magnitude(psiu: np.ndarray, psiv: np.ndarray) -> np.ndarray:
    """The largest |psi| over depth (m2 s-1) at T points, from psi at U (depth_w, y_t, x_u)
    and V (depth_w, y_v, x_t) points: each the mean of the T cell's two faces (the west U
    face of column 0 is the periodic one, the south V face of row 0 the closed wall)."""
    u_t, v_t = velocity_at_t(np.abs(np.nan_to_num(psiu)).max(axis=0), np.abs(np.nan_to_num(psiv)).max(axis=0))
    return np.hypot(u_t, v_t)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_mle", type=Path)
    p.add_argument("run_none", type=Path)
    p.add_argument("--out", type=Path, default=Path("docs/figures/mle_dino_r1.png"))
    p.add_argument("--day", type=int, default=-1, help="record of the daily maps (a, b); default the last")
    p.add_argument("--days", type=int, default=None, help="compare the first N records only (default: all both have)")
    a = p.parse_args(argv)
    try:
        if a.days is not None and a.days < 1:
            raise UserError(f"--days must be at least 1, got {a.days}")
        dm = open_run(a.run_mle, ("wb_mle", "psiu_mle", "psiv_mle", "mld"))
        dn = open_run(a.run_none, ("mld",))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = min(dm.sizes["time"], dn.sizes["time"], a.days or dm.sizes["time"])
    dm, dn = dm.isel(time=slice(0, n)), dn.isel(time=slice(0, n))
    lat, lon = dm.y_t.values, dm.x_t.values
    area = (dm.e1t * dm.e2t).values
    wet = np.isfinite(dm.mld.isel(time=0).values)
    rec = dm.isel(time=a.day)
    wb = rec.wb_mle.values
    psi = psi_magnitude(rec.psiu_mle.values, rec.psiv_mle.values)
    psi[~wet] = np.nan
    mld_m, mld_n = dm.mld.mean("time").values, dn.mld.mean("time").values
    diff = mld_m - mld_n
    when = str(rec.time.values)[:10]

    fig, ax = plt.subplots(1, 5, figsize=(19, 6.5), constrained_layout=True)
    lim = np.nanmax(np.abs(wb)) or 1.0
    panels = [(wb, f"(a) w'b' (m2 s-3), {when}", "RdBu_r", (-lim, lim)),
              (psi, f"(b) max |psi| over depth (m2 s-1), {when}", "viridis", (0, np.nanmax(psi) or 1.0)),
              (mld_n, f"(c) MLD without MLE (m), mean of {n} days", "viridis_r", (0, np.nanpercentile(mld_n, 99))),
              (diff, "(d) MLD, MLE minus none (m)", "RdBu_r", (-np.nanmax(np.abs(diff)), np.nanmax(np.abs(diff))))]
    for axis, (field, title, cmap, (lo, hi)) in zip(ax, panels):
        im = axis.pcolormesh(lon, lat, field, cmap=cmap, vmin=lo, vmax=hi, shading="auto")
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("longitude (deg E)")
        fig.colorbar(im, ax=axis, shrink=0.8)
    ax[0].set_ylabel("latitude (deg N)")
    for field, label in ((mld_m, "MLE"), (mld_n, "none")):
        zonal = np.nansum(np.nan_to_num(field) * wet, axis=1) / np.maximum(wet.sum(axis=1), 1)
        ax[4].plot(zonal, lat, label=label)
    ax[4].invert_xaxis()
    ax[4].set_xlabel("zonal-mean MLD (m)")
    ax[4].set_title("(e) zonal-mean MLD", fontsize=9)
    ax[4].legend()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=90)

    mean_m, mean_n = (area_mean(np.nan_to_num(m), area, wet) for m in (mld_m, mld_n))
    res = {"mld_mean_m": {"mle": mean_m, "none": mean_n}, "mld_change_pct": 100.0 * (mean_m - mean_n) / mean_n,
           "wb_max_m2_s3": float(np.nanmax(wb)), "psi_max_m2_s": float(np.nanmax(psi)), "days": n,
           "bands": band_table(lat, area, wet, mld_m, mld_n, wb)}
    print(f"{a.run_mle} against {a.run_none}, {n} daily records: area-mean MLD {mean_m:.1f} m with MLE, "
          f"{mean_n:.1f} m without ({res['mld_change_pct']:+.1f}%); w'b' up to {res['wb_max_m2_s3']:.2e} m2 s-3, "
          f"|psi| up to {res['psi_max_m2_s']:.2f} m2 s-1 on {when}")
    print("latitude band | MLD none (m) | MLE minus none (m) | (%) | range (m) | w'b' > 0")
    for b in res["bands"]:
        print(f"{b['lat_deg'][0]:+5.0f} to {b['lat_deg'][1]:+4.0f} | {b['mld_none_m']:7.1f} | {b['change_m']:+8.3f} | "
              f"{b['change_pct']:+7.3f} | {b['change_min_m']:+8.2f} to {b['change_max_m']:+8.2f} | "
              f"{100 * b['wb_upward_share']:3.0f}%")
    print(f"figure: {a.out}")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
