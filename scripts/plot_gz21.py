#!/usr/bin/env python
"""What GZ21's stochastic forcing does to DINO: two runs from the same state, with and without.

    python scripts/plot_gz21.py RUN_WITH RUN_WITHOUT [--out FIG.png] [--skip-days N]

Reads RUN/output.nc of each (means over any interval, e.g. monthly, with ``uo``, ``vo``, ``ke_surface``, and
``gz21_fu`` in the run with GZ21) and draws:

- time-mean surface kinetic energy <KE> and eddy kinetic energy EKE = <KE> - KE(<u>, <v>)
  (eddies relative to the time mean over the records, from the mean of the instantaneous
  surface KE, ``ke_surface``), with and without, and their differences;
- the surface forcing: a snapshot (RUN_WITH/snapshot/output.nc, if a snapshot run was made
  there) or else the last record of ``gz21_fu``;
- the zonal-mean zonal velocity (latitude-depth), with minus without;
- the eastward transport through the channel (Sv) over time.

Prints the domain means and the figures' file, and ends with one JSON line of the means.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib
import numpy as np
import xarray as xr

from ocean.run_reader import RunReadError, open_output
from ocean.skill import area_mean
from ocean.transports import level_thickness

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CHANNEL_LAT = (-65.0, -45.0)     # degrees north (DINO's re-entrant channel)


def record_interval_days(ds: xr.Dataset) -> float:
    """Days between records (30 with a single record: a monthly mean)."""
    t = ds.time.values
    return float((t[1] - t[0]).days + (t[1] - t[0]).seconds / 86400.0) if len(t) > 1 else 30.0


def record_days(ds: xr.Dataset) -> np.ndarray:
    """Each record's mid-point in days from the start of the first (records are means)."""
    t = ds.time.values
    return np.array([(x - t[0]).days + (x - t[0]).seconds / 86400.0 for x in t]) + 0.5 * record_interval_days(ds)


def open_run(run: Path, skip_days: float) -> xr.Dataset:
    try:
        ds = open_output(run, needs=("uo", "vo", "ke_surface"), decode_times=True)
    except RunReadError as exc:
        raise SystemExit(f"error: {exc}") from None
    if skip_days > 0:
        days = record_days(ds)
        ds = ds.isel(time=days > skip_days)
    return ds


def surface_energies(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Time-mean surface KE and EKE (m2 s-2) at T points."""
    ke = ds.ke_surface.fillna(0).mean("time").values
    u = ds.uo.isel(depth_t=0).fillna(0).mean("time").values
    v = ds.vo.isel(depth_t=0).fillna(0).mean("time").values
    u_t = 0.5 * (u ** 2 + np.roll(u, 1, axis=1) ** 2)              # u at x_u: face i is east of T point i
    v_t = 0.5 * (v ** 2 + np.vstack([np.zeros((1, v.shape[1])), v[:-1]]) ** 2)
    return ke, np.maximum(ke - 0.5 * (u_t + v_t), 0.0)


def channel_transport(ds: xr.Dataset) -> np.ndarray:
    """Eastward volume transport (Sv) through the channel's meridional section at x_u[-1]."""
    e3 = level_thickness(ds.depth_t.values, ds.depth_w.values)
    lat = ds.y_t.values
    rows = (lat > CHANNEL_LAT[0]) & (lat < CHANNEL_LAT[1])
    e2 = ds.e2t.values[rows, -1]
    u = ds.uo.fillna(0).values[:, :, rows, -1]                     # (time, z, rows)
    return (u * e3[None, :, None] * e2[None, None, :]).sum(axis=(1, 2)) / 1e6


def ocean_mean(a: np.ndarray, ds: xr.Dataset) -> float:
    """Area mean of ``a`` (y_t, x_t) over the ocean of ``ds``."""
    return area_mean(a, (ds.e1t * ds.e2t).values, ds.bathymetry.values > 0)


def forcing_snapshot(run: Path, ds: xr.Dataset) -> tuple[np.ndarray, str]:
    if (run / "snapshot" / "output.nc").is_file():
        s = open_output(run / "snapshot", decode_times=True)
        if "gz21_fu" in s:
            return s.gz21_fu.isel(time=-1, depth_t=0).values, f"snapshot, {str(s.time.values[-1])[:10]}"
    if "gz21_fu" not in ds:
        raise SystemExit("error: the run with GZ21 has no gz21_fu (add it to output.fields)")
    return ds.gz21_fu.isel(time=-1, depth_t=0).values, \
        f"mean over {record_interval_days(ds):g} days, {str(ds.time.values[-1])[:10]}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_with", type=Path)
    p.add_argument("run_without", type=Path)
    p.add_argument("--out", type=Path, default=None, help="figure file (default RUN_WITH/gz21_effect.png)")
    p.add_argument("--skip-days", type=float, default=0.0, help="leave out the records of the first N days")
    a = p.parse_args()
    w, n = open_run(a.run_with, a.skip_days), open_run(a.run_without, a.skip_days)
    common = np.intersect1d(w.time.values, n.time.values)      # the same records in both
    if common.size == 0:
        raise SystemExit("error: the two runs have no output record in common (same start and interval?)")
    w, n = w.sel(time=common), n.sel(time=common)
    ke_w, eke_w = surface_energies(w)
    ke_n, eke_n = surface_energies(n)
    lon, lat = w.x_t.values, w.y_t.values
    fig, ax = plt.subplots(3, 4, figsize=(17, 14), constrained_layout=True)
    land = w.bathymetry.values <= 0

    def show(axis, field, title, cmap="viridis", sym=False, units="", x=lon, y=lat):
        f = np.ma.masked_where(land, field) if field.shape == land.shape else field
        vmax = np.nanpercentile(np.abs(field), 99) if sym else None
        im = axis.pcolormesh(x, y, f, cmap=cmap, vmin=-vmax if sym else None, vmax=vmax, shading="auto")
        axis.set_title(title, fontsize=10)
        fig.colorbar(im, ax=axis, label=units)

    cm2 = "1e-4 m2 s-2"
    show(ax[0, 0], 1e4 * ke_w, "surface <KE>, with GZ21", units=cm2)
    show(ax[0, 1], 1e4 * ke_n, "surface <KE>, without", units=cm2)
    show(ax[0, 2], 1e4 * (ke_w - ke_n), "<KE> with - without", "RdBu_r", True, cm2)
    fsnap, when = forcing_snapshot(a.run_with, w)
    show(ax[0, 3], 1e7 * fsnap, f"surface forcing Sx ({when})", "RdBu_r", True, "1e-7 m s-2", w.x_u.values, lat)
    show(ax[1, 0], 1e4 * eke_w, "surface EKE, with GZ21", units=cm2)
    show(ax[1, 1], 1e4 * eke_n, "surface EKE, without", units=cm2)
    show(ax[1, 2], 1e4 * (eke_w - eke_n), "EKE with - without", "RdBu_r", True, cm2)
    ax[1, 3].axis("off")
    depth = w.depth_t.values
    zw = w.uo.fillna(0).mean(("time", "x_u")).values
    zn = n.uo.fillna(0).mean(("time", "x_u")).values
    for axis, f, title, cmap, sym in ((ax[2, 0], zw, "zonal-mean u, with GZ21", "RdBu_r", True),
                                      (ax[2, 1], zn, "zonal-mean u, without", "RdBu_r", True),
                                      (ax[2, 2], zw - zn, "zonal-mean u, with - without", "RdBu_r", True)):
        vmax = np.nanpercentile(np.abs(f), 99.5)
        im = axis.pcolormesh(lat, depth, f, cmap=cmap, vmin=-vmax, vmax=vmax, shading="auto")
        axis.set_ylim(depth[-1], 0)
        axis.set_title(title, fontsize=10)
        axis.set_ylabel("depth (m)")
        fig.colorbar(im, ax=axis, label="m s-1")
    tw, tn = channel_transport(w), channel_transport(n)
    days_w, days_n = record_days(w), record_days(n)
    ax[2, 3].plot(days_w, tw, "o-", label="with GZ21")
    ax[2, 3].plot(days_n, tn, "s-", label="without")
    ax[2, 3].set_xlabel("days (record mid-points)")
    ax[2, 3].set_ylabel("channel transport (Sv)")
    ax[2, 3].legend()
    ax[2, 3].set_title("eastward transport through the channel", fontsize=10)
    fig.suptitle(f"GZ21 in DINO: {a.run_with.name} against {a.run_without.name}, "
                 f"{w.sizes['time']} records of {record_interval_days(w):g} days")
    out = a.out or a.run_with / "gz21_effect.png"
    fig.savefig(out, dpi=90)
    figures = {"ke_with": ocean_mean(ke_w, w), "ke_without": ocean_mean(ke_n, n),
               "eke_with": ocean_mean(eke_w, w), "eke_without": ocean_mean(eke_n, n),
               "transport_with_sv": float(tw[-1]), "transport_without_sv": float(tn[-1]),
               "records": int(w.sizes["time"])}
    print(f"surface KE (area mean, m2 s-2): with {figures['ke_with']:.3e}, without {figures['ke_without']:.3e}")
    print(f"surface EKE (area mean, m2 s-2): with {figures['eke_with']:.3e}, without {figures['eke_without']:.3e}")
    print(f"channel transport, last record: with {tw[-1]:.1f} Sv, without {tn[-1]:.1f} Sv")
    print(f"figure: {out}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
