#!/usr/bin/env python
"""Surface temperature, surface speed and barotropic streamfunction of a DINO run.

    python scripts/plot_dino.py RUNDIR [--out docs/figures/dino_r1_year.png] [--record -1]

Reads RUNDIR/output.nc (one record, default the last: the mean of the last output interval)
and prints SST range, max surface speed, streamfunction extrema and the channel transport.
The barotropic streamfunction (Sv) is psi(y) = sum over rows north of y of ubar * H_u * e2u,
/ 1e6, zero on the northern wall, at F points, with H_u the depth of the wet levels at U
points.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def level_thickness(ds) -> np.ndarray:
    w = ds.depth_w.values
    return np.append(np.diff(w), 2 * (ds.depth_t.values[-1] - w[-1]))


def fields(ds, record: int):
    r = ds.isel(time=record)
    sst = r.thetao.isel(depth_t=0).values
    u0 = np.nan_to_num(r.uo.isel(depth_t=0).values)
    v0 = np.nan_to_num(r.vo.isel(depth_t=0).values)
    ut = 0.5 * (u0 + np.roll(u0, 1, axis=1))            # to T points (periodic in x)
    vt = 0.5 * (v0 + np.vstack([np.zeros((1, v0.shape[1])), v0[:-1]]))
    speed = np.where(np.isfinite(sst), np.hypot(ut, vt), np.nan)
    e3 = level_thickness(ds)
    hu = (np.isfinite(r.uo.values) * e3[:, None, None]).sum(0)
    transport = np.nan_to_num(r.ubar.values) * hu * ds.e2t.values        # m3/s through each U face
    # integrated from the northern wall (psi = 0 there), so the gyres read directly and the
    # southern continent carries the channel transport
    psi = np.cumsum(transport[::-1], axis=0)[::-1] / 1e6
    psi = np.vstack([psi[1:], np.zeros((1, psi.shape[1]))])           # at F points (north of T rows)
    psi = np.where(np.isfinite(sst), psi, np.nan)
    return sst, speed, psi, r.time.values


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("rundir")
    p.add_argument("--out", default="docs/figures/dino_r1_year.png")
    p.add_argument("--record", type=int, default=-1)
    a = p.parse_args()
    ds = xr.open_dataset(Path(a.rundir) / "output.nc")
    sst, speed, psi, when = fields(ds, a.record)
    lon_t, lat_t, lon_u, lat_v = ds.x_t.values, ds.y_t.values, ds.x_u.values, ds.y_v.values
    fig, ax = plt.subplots(1, 3, figsize=(12, 6.5), constrained_layout=True)
    for axis, data, x, y, title, units, cmap in (
            (ax[0], sst, lon_t, lat_t, "surface temperature", "degC", "RdYlBu_r"),
            (ax[1], speed, lon_t, lat_t, "surface speed", "m s-1", "viridis"),
            (ax[2], psi, lon_u, lat_v, "barotropic streamfunction", "Sv", "RdBu_r")):
        kw = {}
        if units == "Sv":
            lim = np.nanmax(np.abs(psi))
            kw = {"vmin": -lim, "vmax": lim}
        m = axis.pcolormesh(x, y, data, shading="nearest", cmap=cmap, **kw)
        fig.colorbar(m, ax=axis, shrink=0.8, label=units)
        axis.set_title(title)
        axis.set_xlabel("longitude (degrees east)")
        axis.set_aspect(1.0 / np.cos(np.radians(30)))
    ax[0].set_ylabel("latitude (degrees north)")
    fig.suptitle(f"{ds.attrs.get('title', '')}: mean ending {when}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)
    chan = (lat_v > -65) & (lat_v < -45)
    col = np.argmin(np.abs(lon_u - 25.0))
    acc = np.nanmax(psi[chan, col]) - np.nanmin(psi[chan, col]) if chan.any() else float("nan")
    print(f"record {when}: SST {np.nanmin(sst):.2f} .. {np.nanmax(sst):.2f} degC, max surface speed "
          f"{np.nanmax(speed):.3f} m/s, streamfunction {np.nanmin(psi):.1f} .. {np.nanmax(psi):.1f} Sv, "
          f"channel transport at 25E {acc:.1f} Sv -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
