#!/usr/bin/env python
"""Time series of a DINO spin-up: global kinetic energy, channel (ACC) transport, extrema of
the depth-space overturning in each hemisphere, volume-mean temperature.

    python scripts/plot_spinup.py RUNDIR [RUNDIR ...] [--out docs/figures/dino_r4_spinup.png]
        [--moc-min-depth 500] [--moc-min-lat 20]

RUNDIRs are the directories of one spin-up in time order (a run continued into its own
directory is one RUNDIR; continuations into other directories follow it); their records are
concatenated in time, a later directory winning where they overlap. The run may still be
going (its output.nc is opened without file locking and read up to its last complete record).

Panels, against model years (360-day years from the start date):

(a) global kinetic energy rho0/2 sum(u^2 + v^2) dV (J) from the diagnostics lines of
    RUNDIR/run.log (``--set run.diagnostics_every_steps=N``); without such lines, the kinetic
    energy of each output record's mean flow (smaller than the mean kinetic energy: eddies
    and the seasonal cycle are averaged out), with rho0 = 1028 kg m-3;
(b) channel (ACC) transport (Sv): the eastward transport through the U faces east of the
    wall column (output column x_u[0], wet only in the re-entrant channel), as DINO's own
    diagnostics define it, from each record's uo;
(c) maximum and minimum of the overturning streamfunction in depth (Sv;
    :func:`ocean.transports.moc_depth`: integrated from the sea floor, positive clockwise,
    i.e. northward above, southward below) over latitudes ``--moc-min-lat``..70 N (northern
    hemisphere) and 70 S..-``--moc-min-lat`` (southern), at depths of ``--moc-min-depth`` m and
    more (the shallow wind-driven cells and the tropical cells left out). Made from vo + the
    GM eddy-induced voce_eiv (residual overturning) when the output holds voce_eiv, else from
    vo alone (Eulerian-mean overturning: in the Southern Ocean this includes the Deacon cell
    that the eddy-induced flow largely cancels);
(d) volume-mean temperature (degC): mean_T_degC of run.log, or the volume mean of each
    record's thetao.

It ends with one JSON line: the last value of each series (with the model year it belongs
to), the windows and the velocity the overturning was made from.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ocean.run_reader import YEAR_S, RunReadError, open_runs, read_diagnostics  # noqa: E402
from ocean.transports import (MOC_LAT_NH, MOC_MIN_DEPTH_M, channel_transport, e1v_of_rows,  # noqa: E402
                              extrema_in_window, level_thickness, moc_depth)

USAGE = "python scripts/plot_spinup.py RUNDIR [RUNDIR ...] [--out docs/figures/dino_r4_spinup.png]"
RHO0 = 1028.0          # kg m-3, the model's reference density (ocean.eos.EosParams)
LAT_MAX = MOC_LAT_NH[1]   # degrees: the poleward edge of the hemisphere windows
CHUNK = 24             # records read at a time


def grid_metrics(g) -> dict:
    """Level thicknesses e3 (m), row widths e1t, e1v, e2u (m), latitudes of V rows, depths of
    W levels (nz + 1, the sea floor last) and cell areas of an output file's grid."""
    e3 = level_thickness(g.depth_t.values, g.depth_w.values)
    e1t = g.e1t.values.astype(float)
    e2t = g.e2t.values.astype(float)
    degrees = str(g.y_t.attrs.get("units", "")).startswith("degree")
    row = lambda a: np.nanmax(a, axis=1)  # noqa: E731 - one value per row on these grids
    e1v = e1v_of_rows(row(e1t), g.y_t.values, g.y_v.values, degrees)
    return {"e3": e3, "e1t": e1t, "e2t": e2t, "e2u": row(e2t), "e1v": e1v,
            "e2v": e1v if degrees else row(e2t),                          # isotropic Mercator: e2v = e1v
            "lat_v": g.y_v.values.astype(float),
            "depth_w": np.append(g.depth_w.values.astype(float), g.depth_w.values[-1] + e3[-1])}


def series_from_output(runs, m: dict, min_depth: float, min_lat: float) -> dict:
    """Per record: ACC (Sv), MOC extrema (Sv), volume-mean T (degC) and the kinetic energy of
    the record's mean flow (J)."""
    n = len(runs)
    out = {k: np.full(n, np.nan) for k in ("acc", "nh_max", "nh_min", "sh_max", "sh_min", "mean_T", "ke_mean_flow")}
    residual = runs.has("voce_eiv")
    vol_t = None
    for a in range(0, n, CHUNK):
        recs = np.arange(a, min(n, a + CHUNK))
        u = runs.read("uo", recs)
        v = runs.read("vo", recs)
        v_moc = v + runs.read("voce_eiv", recs) if residual else v
        T = runs.read("thetao", recs)
        for r, rec in enumerate(recs):
            out["acc"][rec] = channel_transport(u[r, :, :, 0], m["e2u"], m["e3"])
            psi = moc_depth(v_moc[r], m["e1v"], m["e3"])
            out["nh_max"][rec], out["nh_min"][rec] = extrema_in_window(psi, m["lat_v"], m["depth_w"],
                                                                       (min_lat, LAT_MAX), min_depth)
            out["sh_max"][rec], out["sh_min"][rec] = extrema_in_window(psi, m["lat_v"], m["depth_w"],
                                                                       (-LAT_MAX, -min_lat), min_depth)
            wet = np.isfinite(T[r])
            if vol_t is None:
                vol_t = np.where(wet, m["e1t"][None] * m["e2t"][None] * m["e3"][:, None, None], 0.0)
            out["mean_T"][rec] = float(np.sum(np.nan_to_num(T[r]) * vol_t) / np.sum(vol_t))
            # e1u e2u = e1t e2t of the same row (U points share the T rows)
            ke_u = np.nan_to_num(u[r]) ** 2 * (m["e1t"] * m["e2t"])[None]
            ke_v = np.nan_to_num(v[r]) ** 2 * (m["e1v"] * m["e2v"])[None, :, None]
            out["ke_mean_flow"][rec] = float(0.5 * RHO0 * np.sum((ke_u + ke_v) * m["e3"][:, None, None]))
    out["moc_velocity"] = "vo + voce_eiv (residual)" if residual else "vo (Eulerian mean)"
    return out


def plot(out_png: str, years, s: dict, log: dict, title: str, windows: str) -> None:
    fig, ax = plt.subplots(2, 2, figsize=(11, 7), sharex=True, constrained_layout=True)
    a, b, c, d = ax.ravel()
    if log["step"].size and "kinetic_energy_J" in log:
        a.plot(log["day"] / 360.0, log["kinetic_energy_J"], lw=0.8, label="run.log (instantaneous)")
    a.plot(years, s["ke_mean_flow"], ".-", ms=2, lw=0.8, label="mean flow of each output record")
    a.set_ylabel("J")
    a.set_title("(a) global kinetic energy")
    a.legend(fontsize=7)
    b.plot(years, s["acc"], ".-", ms=2, lw=0.8)
    b.set_ylabel("Sv")
    b.set_title("(b) channel (ACC) transport")
    for key, lab, col in (("nh_max", "NH max", "C3"), ("nh_min", "NH min", "C1"),
                          ("sh_max", "SH max", "C0"), ("sh_min", "SH min", "C2")):
        c.plot(years, s[key], ".-", ms=2, lw=0.8, color=col, label=lab)
    c.axhline(0.0, color="k", lw=0.5)
    c.set_ylabel("Sv")
    c.set_title(f"(c) overturning extrema, {s['moc_velocity']}", fontsize=9)
    c.legend(fontsize=7, ncol=2, title=windows, title_fontsize=7)
    if log["step"].size and "mean_T_degC" in log:
        d.plot(log["day"] / 360.0, log["mean_T_degC"], lw=0.8, label="run.log")
    d.plot(years, s["mean_T"], ".-", ms=2, lw=0.8, label="output records")
    d.set_ylabel("degC")
    d.set_title("(d) volume-mean temperature")
    d.legend(fontsize=7)
    for axis in (c, d):
        axis.set_xlabel("model years")
    fig.suptitle(title)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)


def last(x, t):
    """(last finite value of x, its time), NaNs when none."""
    ok = np.flatnonzero(np.isfinite(x))
    return (float(x[ok[-1]]), float(t[ok[-1]])) if ok.size else (float("nan"), float("nan"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Time series of a spin-up from one or more run directories.",
                                usage=USAGE)
    p.add_argument("rundirs", nargs="+", help="run directories in time order")
    p.add_argument("--out", default="docs/figures/dino_r4_spinup.png", help="PNG to write")
    p.add_argument("--moc-min-depth", type=float, default=MOC_MIN_DEPTH_M, help="upper edge of the MOC windows (m)")
    p.add_argument("--moc-min-lat", type=float, default=MOC_LAT_NH[0],
                   help="equatorward edge of the MOC windows (degrees)")
    a = p.parse_args(argv)
    try:
        runs = open_runs(a.rundirs, needs=("uo", "vo", "thetao"))
    except RunReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(runs) == 0:
        print(f"error: {', '.join(a.rundirs)}: no complete output record yet", file=sys.stderr)
        return 2
    m = grid_metrics(runs.grid)
    s = series_from_output(runs, m, a.moc_min_depth, a.moc_min_lat)
    log = read_diagnostics(a.rundirs)
    years = runs.years
    windows = (f"{a.moc_min_lat:g}-{LAT_MAX:g}N / {LAT_MAX:g}-{a.moc_min_lat:g}S, "
               f"below {a.moc_min_depth:g} m")
    title = runs.grid.attrs.get("title", "") or str(a.rundirs[0])
    plot(a.out, years, s, log, f"{title}: {len(runs)} records to year {runs.end_s[-1] / YEAR_S:.2f}", windows)
    runs.close()

    res = {"rundirs": [str(r) for r in a.rundirs], "records": len(years),
           "last_record_end_year": round(float(runs.end_s[-1] / YEAR_S), 4)}
    if log["step"].size and "kinetic_energy_J" in log:
        res["kinetic_energy_J"], res["kinetic_energy_year"] = last(log["kinetic_energy_J"], log["day"] / 360.0)
        res["mean_T_degC"], res["mean_T_year"] = last(log["mean_T_degC"], log["day"] / 360.0)
        res["source_ke_T"] = "run.log"
    else:
        res["kinetic_energy_J"], res["kinetic_energy_year"] = last(s["ke_mean_flow"], years)
        res["mean_T_degC"], res["mean_T_year"] = last(s["mean_T"], years)
        res["source_ke_T"] = "output records (kinetic energy of the mean flow)"
    for key, name in (("acc", "acc_Sv"), ("nh_max", "moc_nh_max_Sv"), ("nh_min", "moc_nh_min_Sv"),
                      ("sh_max", "moc_sh_max_Sv"), ("sh_min", "moc_sh_min_Sv")):
        res[name] = round(last(s[key], years)[0], 3)
    res["moc_velocity"] = s["moc_velocity"]
    res["moc_windows"] = windows
    res["ke_mean_flow_J"] = last(s["ke_mean_flow"], years)[0]
    print(f"wrote {a.out}")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
