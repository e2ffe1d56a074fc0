#!/usr/bin/env python
"""Surface temperature, surface speed and barotropic streamfunction of one record of a DINO run,
and (``--moc``) its overturning streamfunction in depth and in potential density.

    python scripts/plot_dino.py RUNDIR [--out docs/figures/dino_r1_year.png] [--record -1]
        [--moc docs/figures/dino_r4_moc.png [--moc-records 12] [--sigma-ref-m 2000] [--sigma-bins 80]]

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

``--moc PNG`` draws a second figure from the last ``--moc-records`` complete records (default
1; 12 monthly records give the last year): the overturning streamfunction (Sv,
:mod:`ocean.transports`: integrated from the sea floor / the dense side, positive for a
clockwise cell, northward above or lighter, southward below or denser)

(a) in depth, psi(y_v, depth_w), from the records' mean meridional velocity;
(b) in potential density sigma = rho(T, S, z_ref) - 1000 with z_ref = ``--sigma-ref-m``
    (default 2000 m, sigma2, the reference of DINO's own density-space overturning,
    vopikamm/dinostics ``Diagnostics.get_MOC(z=2000)``), computed with the model's equation of
    state (``ocean.eos.rho_insitu`` with ``EosParams.dino()``, the S-EOS of every DINO config),
    T and S averaged onto the V faces, the transport binned into ``--sigma-bins`` equal bins
    spanning the records' sigma range, one streamfunction per record, then averaged;

from vo alone (Eulerian mean) and, when the output holds the GM eddy-induced voce_eiv, also
from vo + voce_eiv (residual overturning) in two more panels. It prints the extrema of each
depth-space streamfunction in the windows the spin-up series use (20-70 N, 70-20 S, below 500 m).
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

from ocean import transports  # noqa: E402
from ocean.coarse_grain import cell_edges  # noqa: E402
from ocean.eos import EosParams  # noqa: E402
from ocean.run_reader import RunReadError, open_output, open_runs  # noqa: E402
from ocean.transports import (MOC_LAT_NH, MOC_LAT_SH, MOC_MIN_DEPTH_M, e1v_of_rows,  # noqa: E402
                              extrema_in_window, moc_density, moc_depth, sigma_on_v)

USAGE = ("python scripts/plot_dino.py RUNDIR [--out docs/figures/dino_r1_year.png] [--record -1] "
         "[--moc PNG [--moc-records N] [--sigma-ref-m 2000] [--sigma-bins 80]]")


def level_thickness(ds: xr.Dataset) -> np.ndarray:
    """e3t (m) of each level from depth_w (top of each level) and the last depth_t."""
    return transports.level_thickness(ds.depth_t.values, ds.depth_w.values)


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


def moc_fields(runs, nrec: int, sigma_ref_m: float, nbins: int) -> dict:
    """Depth- and density-space overturning (Sv) of the last ``nrec`` records of ``runs``
    (:class:`ocean.run_reader.RunRecords`): ``{"vo": (psi_z, psi_s), "vo + voce_eiv": ...}``
    (the residual only when the output holds voce_eiv), plus the coordinates ``depth_w``
    (nz + 1 W levels, m), ``lat_v`` and the density ``edges`` (kg m-3)."""
    g = runs.grid
    recs = np.arange(max(0, len(runs) - nrec), len(runs))
    e3 = level_thickness(g)
    degrees = str(g.y_t.attrs.get("units", "")).startswith("degree")
    e1v = e1v_of_rows(np.nanmax(g.e1t.values.astype(float), axis=1), g.y_t.values, g.y_v.values, degrees)
    depth_t, depth_w = g.depth_t.values.astype(float), g.depth_w.values.astype(float)
    eos = EosParams.dino()
    v = runs.read("vo", recs)
    sig = np.stack([sigma_on_v(T, S, sigma_ref_m, eos)
                    for T, S in zip(runs.read("thetao", recs), runs.read("so", recs))])
    lo, hi = np.nanmin(sig), np.nanmax(sig)
    edges = np.linspace(np.floor(lo * 10.0) / 10.0, np.ceil(hi * 10.0) / 10.0, nbins + 1)
    velocities = {"vo": v}
    if runs.has("voce_eiv"):
        velocities["vo + voce_eiv"] = v + runs.read("voce_eiv", recs)
    out = {"depth_w": np.append(depth_w, depth_w[-1] + e3[-1]), "lat_v": g.y_v.values.astype(float),
           "edges": edges, "records": recs}
    for name, vv in velocities.items():
        psi_z = moc_depth(vv.mean(axis=0), e1v, e3)          # land is NaN in every record
        psi_s = np.mean([moc_density(vv[r], sig[r], e1v, e3, depth_t, depth_w, edges)
                         for r in range(len(recs))], axis=0)
        out[name] = (psi_z, psi_s)
    return out


def plot_moc(out_png: str, mf: dict, title: str, sigma_ref_m: float) -> None:
    """One row of two panels (depth, density) per velocity in ``mf``."""
    names = [k for k in ("vo", "vo + voce_eiv") if k in mf]
    fig, ax = plt.subplots(len(names), 2, figsize=(11, 4.2 * len(names)), squeeze=False, constrained_layout=True)
    lat, zw, edges = mf["lat_v"], mf["depth_w"], mf["edges"]
    label = {"vo": "Eulerian mean (vo)", "vo + voce_eiv": "residual (vo + GM voce_eiv)"}
    for row, name in enumerate(names):
        for col, (psi, ycoord, ylab) in enumerate(((mf[name][0], zw, "depth (m)"),
                                                   (mf[name][1], edges, f"sigma (z_ref = {sigma_ref_m:g} m), kg m$^{{-3}}$"))):
            axis = ax[row, col]
            # colours saturate at the 99th percentile: the shallow tropical cells would hide the deep ones
            lim = max(float(np.nanpercentile(np.abs(psi), 99.0)), 1e-6)
            m = axis.pcolormesh(lat, ycoord, psi, shading="nearest", cmap="RdBu_r", vmin=-lim, vmax=lim)
            step = next(s for s in (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0) if lim / s <= 6.0)
            top = float(np.nanmax(np.abs(psi)))
            levels = np.arange(-np.ceil(top / step) * step, top + step, step)
            levels = levels[np.abs(levels) > 1e-9]
            cs = axis.contour(lat, ycoord, psi, levels=levels, colors="k", linewidths=0.5)
            axis.clabel(cs, fmt="%g", fontsize=6)
            fig.colorbar(m, ax=axis, label="Sv", extend="both")
            axis.invert_yaxis()
            axis.set_xlabel("latitude of V rows (degrees north)")
            axis.set_ylabel(ylab)
            axis.set_title(f"({'abcd'[2 * row + col]}) {label[name]}, in {'depth' if col == 0 else 'density'}")
    fig.suptitle(title)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)


def report_moc(mf: dict) -> None:
    """Print the extrema of each depth-space streamfunction in the spin-up series' windows."""
    for name in (k for k in ("vo", "vo + voce_eiv") if k in mf):
        psi = mf[name][0]
        for hemi, lats in (("NH", MOC_LAT_NH), ("SH", MOC_LAT_SH)):
            hi, lo = extrema_in_window(psi, mf["lat_v"], mf["depth_w"], lats, MOC_MIN_DEPTH_M)
            print(f"MOC in depth from {name}, {hemi} {lats[0]:g}..{lats[1]:g} N below {MOC_MIN_DEPTH_M:g} m: "
                  f"max {hi:.2f} Sv, min {lo:.2f} Sv")
        s = mf[name][1]
        print(f"MOC in density from {name}: max {np.nanmax(s):.2f} Sv, min {np.nanmin(s):.2f} Sv "
              f"(sigma {mf['edges'][0]:.2f}..{mf['edges'][-1]:.2f} kg m-3)")


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
    p.add_argument("--moc", metavar="PNG", help="also draw the overturning in depth and density into PNG")
    p.add_argument("--moc-records", type=int, default=1, help="average the overturning over the last N records")
    p.add_argument("--sigma-ref-m", type=float, default=2000.0, help="reference depth of the potential density (m)")
    p.add_argument("--sigma-bins", type=int, default=80, help="number of potential density bins")
    a = p.parse_args(argv)

    path = Path(a.rundir) / "output.nc"
    if a.moc_records < 1 or a.sigma_bins < 2:
        print("error: --moc-records must be >= 1 and --sigma-bins >= 2", file=sys.stderr)
        return 2
    try:
        ds = open_output(a.rundir, needs=("thetao", "uo", "vo", "ubar"), decode_times=True)
    except RunReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    nt = ds.sizes["time"]
    if not -nt <= a.record < nt:
        print(f"error: --record {a.record} out of range: {path} has {nt} complete records", file=sys.stderr)
        return 2
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

    xe_t, ye_t = cell_edges(lon_t, lon_u), cell_edges(lat_t, lat_v)      # T cells
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
    if a.moc:
        try:
            runs = open_runs([a.rundir], needs=("vo", "thetao", "so"))
        except RunReadError as exc:
            print(f"error: --moc: {exc}", file=sys.stderr)
            return 2
        mf = moc_fields(runs, a.moc_records, a.sigma_ref_m, a.sigma_bins)
        n = len(mf["records"])
        when = f"mean of the last {n} record(s) to day {runs.end_s[-1] / 86400.0:g}"
        plot_moc(a.moc, mf, f"{title}: overturning, {when}", a.sigma_ref_m)
        runs.close()
        report_moc(mf)
        print(f"wrote {a.moc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
