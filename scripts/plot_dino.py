#!/usr/bin/env python
"""Surface temperature, surface speed and barotropic streamfunction of one record of a DINO run.

    python scripts/plot_dino.py RUNDIR [--out docs/figures/dino_r1_year.png] [--record -1]

Reads RUNDIR/output.nc (CF netCDF written by ``python -m ocean run``) and draws three panels
of record ``--record`` (default -1, the last: the mean of the last output interval):

(a) surface temperature, thetao at the first level (degC);
(b) surface speed sqrt(u^2 + v^2) (m/s), with uo and vo averaged to T points (land and
    wall faces count as zero velocity; periodic wrap in x for uo);
(c) barotropic streamfunction (Sv) at F points (y_v, x_u),
        psi(j, i) = - sum_{j' <= j} ubar(j', i) * H_u(j', i) * e2u(j') / 1e6,
    integrated from the southern wall (psi = 0 on the southern wall and on the land
    connected to it), so u = -dpsi/dy. H_u is the sum of the level thicknesses e3t
    (from depth_w; the last level is 2 * (depth_t[-1] - depth_w[-1]) thick) over the
    levels where uo is not NaN in that record; e2u = e2t of the same row (isotropic
    Mercator grid).

It also prints SST min/max, the maximum surface speed (and where), psi min/max (and where),
the channel (ACC) transport psi(-65) - psi(-45) at the U column nearest 25E (positive
eastward), and psi on the northern wall (minus the total zonal transport of each column,
equal to -ACC when the record is in steady state).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

USAGE = "python scripts/plot_dino.py RUNDIR [--out docs/figures/dino_r1_year.png] [--record -1]"


def level_thickness(ds: xr.Dataset) -> np.ndarray:
    """e3t (m) of each level from depth_w (top of each level) and the last depth_t."""
    w = ds.depth_w.values.astype(float)
    last = 2.0 * (float(ds.depth_t.values[-1]) - w[-1])
    return np.append(np.diff(w), last)


def t_edges(centres: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """n+1 edges of T cells for pcolormesh from the n centres and the n faces on their
    east/north side (x_u or y_v)."""
    return np.append(2.0 * centres[0] - faces[0], faces)


def f_edges(t: np.ndarray, f: np.ndarray) -> np.ndarray:
    """n+1 edges of cells centred on F points: the T points, plus one beyond the last F point."""
    return np.append(t, 2.0 * f[-1] - t[-1])


def surface_speed(r: xr.Dataset) -> np.ndarray:
    u0 = np.nan_to_num(r.uo.isel(depth_t=0).values.astype(float))
    v0 = np.nan_to_num(r.vo.isel(depth_t=0).values.astype(float))
    ut = 0.5 * (u0 + np.roll(u0, 1, axis=1))                  # U(i-1), U(i) around T(i), periodic x
    vt = 0.5 * (v0 + np.vstack([np.zeros((1, v0.shape[1])), v0[:-1]]))   # V(j-1), V(j); south wall v = 0
    wet = np.isfinite(r.thetao.isel(depth_t=0).values)
    return np.where(wet, np.hypot(ut, vt), np.nan)


def streamfunction(ds: xr.Dataset, r: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """psi (Sv) at (y_v, x_u), from the south, and H_u (m)."""
    e3 = level_thickness(ds)
    wet_u = np.isfinite(r.uo.values)                          # (depth_t, y_t, x_u)
    hu = (wet_u * e3[:, None, None]).sum(axis=0)
    e2u = ds.e2t.values.astype(float)                          # e2u = e2t at the same row
    e2u = np.nanmax(e2u, axis=1, keepdims=True)                # one value per row (NaN on land safe)
    transport = np.nan_to_num(r.ubar.values.astype(float)) * hu * e2u   # m3/s through each U face
    psi = -np.cumsum(transport, axis=0) / 1e6
    return psi, hu


def fmt_date(t) -> str:
    try:
        return t.strftime("%Y-%m-%d")
    except AttributeError:
        return str(t)[:10]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Plot SST, surface speed and barotropic streamfunction "
                                "of one record of RUNDIR/output.nc.", usage=USAGE)
    p.add_argument("rundir", help="run directory holding output.nc")
    p.add_argument("--out", default="docs/figures/dino_r1_year.png", help="PNG to write")
    p.add_argument("--record", type=int, default=-1, help="time index (default -1, the last)")
    a = p.parse_args(argv)

    path = Path(a.rundir) / "output.nc"
    if not path.exists():
        print(f"no {path}", file=sys.stderr)
        return 1
    ds = xr.open_dataset(path)
    nt = ds.sizes["time"]
    if not -nt <= a.record < nt:
        print(f"record {a.record} out of range: {path} has {nt} records", file=sys.stderr)
        return 1
    rec = a.record % nt
    r = ds.isel(time=rec)

    when = r.time.values.item()
    label = f"record {rec} ({fmt_date(when)})"
    if "time_bounds" in ds:
        t0, t1 = ds.time_bounds.values[rec]
        days = (t1 - t0).days
        label = f"record {rec}: {days}-day mean {fmt_date(t0)} to {fmt_date(t1)} (centre {fmt_date(when)})"

    lon_t, lat_t = ds.x_t.values, ds.y_t.values
    lon_u, lat_v = ds.x_u.values, ds.y_v.values
    sst = r.thetao.isel(depth_t=0).values.astype(float)
    speed = surface_speed(r)
    psi, hu = streamfunction(ds, r)
    land_t = ~np.isfinite(sst)
    # F points surrounded by land on all four sides carry no information
    land_f = land_t & np.roll(land_t, -1, axis=1)
    land_f[:-1] &= land_t[1:] & np.roll(land_t, -1, axis=1)[1:]
    psi_plot = np.where(land_f, np.nan, psi)

    xe_t, ye_t = t_edges(lon_t, lon_u), t_edges(lat_t, lat_v)      # T cells
    xe_f, ye_f = f_edges(lon_t, lon_u), f_edges(lat_t, lat_v)      # cells centred on F points

    fig, ax = plt.subplots(1, 3, figsize=(11, 7.5), constrained_layout=True, sharey=True)
    panels = (
        (ax[0], sst, xe_t, ye_t, "(a) surface temperature", "degC", "RdYlBu_r", {}),
        (ax[1], speed, xe_t, ye_t, "(b) surface speed", "m s$^{-1}$", "viridis", {"vmin": 0.0}),
        (ax[2], psi_plot, xe_f, ye_f, "(c) barotropic streamfunction", "Sv", "RdBu_r", {}),
    )
    # psi is 0 on the southern continent and about -ACC north of the channel: a diverging map
    # with white at 0 and separately scaled halves, plus contour lines for the gyres
    pmin_, pmax_ = float(np.nanmin(psi_plot)), float(np.nanmax(psi_plot))
    lim = max(abs(pmin_), abs(pmax_))
    if pmin_ < 0.0 < pmax_:
        panels[2][7]["norm"] = mcolors.TwoSlopeNorm(vmin=pmin_, vcenter=0.0, vmax=pmax_)
    else:
        panels[2][7].update(vmin=-lim, vmax=lim)
    for axis, data, xe, ye, title, units, cmap, kw in panels:
        axis.set_facecolor("0.6")                                   # land
        m = axis.pcolormesh(xe, ye, data, shading="flat", cmap=cmap, **kw)
        fig.colorbar(m, ax=axis, shrink=0.85, label=units)
        axis.set_title(title)
        axis.set_xlabel("longitude (degrees east)")
        axis.set_xlim(xe_t[0], xe_t[-1])
        axis.set_ylim(ye_t[0], ye_t[-1])
        axis.set_aspect(1.0 / np.cos(np.radians(30.0)))
    step = 10.0 if lim > 40 else (5.0 if lim > 10 else 1.0)
    levels = np.arange(np.floor(pmin_ / step) * step, pmax_ + step, step)
    cs = ax[2].contour(lon_u, lat_v, psi_plot, levels=levels, colors="k", linewidths=0.5)
    ax[2].clabel(cs, fmt="%g", fontsize=6)
    ax[0].set_ylabel("latitude (degrees north)")
    title = ds.attrs.get("title") or ds.attrs.get("configuration") or str(a.rundir)
    fig.suptitle(f"{title}: {label}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)

    # numbers
    def where(arr, x, y, fn):
        j, i = np.unravel_index(fn(arr), arr.shape)
        return arr[j, i], x[i], y[j]

    js = int(np.argmin(np.abs(lat_v + 65.0)))
    jn = int(np.argmin(np.abs(lat_v + 45.0)))
    col = int(np.argmin(np.abs(lon_u - 25.0)))
    acc = psi[js, col] - psi[jn, col]
    smax, sx, sy = where(speed, lon_t, lat_t, np.nanargmax)
    pmax, pmx, pmy = where(psi_plot, lon_u, lat_v, np.nanargmax)
    pmin, pnx, pny = where(psi_plot, lon_u, lat_v, np.nanargmin)
    north = psi[-1]
    print(f"{path}: {label}")
    print(f"SST min/max: {np.nanmin(sst):.2f} / {np.nanmax(sst):.2f} degC")
    print(f"max surface speed: {smax:.3f} m/s at ({sx:.1f}E, {sy:.1f}N)")
    print(f"psi max: {pmax:.1f} Sv at ({pmx:.1f}E, {pmy:.1f}N); psi min: {pmin:.1f} Sv at ({pnx:.1f}E, {pny:.1f}N)")
    print(f"ACC transport psi({lat_v[js]:.1f}N) - psi({lat_v[jn]:.1f}N) at {lon_u[col]:.1f}E: {acc:.1f} Sv")
    print(f"psi on the northern wall (-total zonal transport): mean {north.mean():.1f} Sv, "
          f"range {north.min():.1f} .. {north.max():.1f} Sv over longitudes")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
