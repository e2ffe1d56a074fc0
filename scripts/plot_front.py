"""Figure and table of the mixed-layer front experiment (scripts/front_experiment.py).

    python scripts/plot_front.py RUNDIR [--out docs/figures/mle_front.png] [--day 10] [--ce-from 8]
                                 [--hires-set SECTION.KEY=VALUE ...]

Reads RUNDIR/resolved/output.nc (configs/mle_front_hires.toml) and RUNDIR/coarse_*/output.nc
(configs/mle_front_coarse.toml with no MLE, FK08, BBZ24) and draws:
(a) the channel-mean ML-mean N^2 against time for every run;
(b) a snapshot of the resolved eddies: the surface temperature on day --day;
(c) the ML-mean w'b' across the channel on day --day: the resolved run's, coarse-grained to the
    coarse grid (block covariance, 12 x 12 cells, level by level, then the ML mean), against what
    FK08 and BBZ24 apply in their coarse runs (44/63 of wb_mle, the ML mean of psi . grad b mu(z));
(d) the Ce the resolved run implies against time, with FK08's published 0.06-0.08.
It prints the restratification table at fixed days (markdown) and ends with one JSON line of
the implied Ce: from the flux about the along-front mean and from the 25 km subgrid flux
(<w'b'>_ML / ((44/63) H^2 <M^4> / |f|), records from day --ce-from on), and from the rate of
restratification (d<N^2>_ML/dt |f| / ((208/21) <M^4>), a line fitted over the same days).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import netCDF4
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from ocean import config as config_mod  # noqa: E402
from ocean import front_diagnostics as fd  # noqa: E402
from ocean.transports import level_thickness  # noqa: E402
from front_experiment import COARSE, HIRES, _eos, initial_n2  # noqa: E402

TABLE_DAYS = (0, 2, 5, 10, 15, 20)
LABELS = {"resolved": "resolved", "coarse_none": "25 km, no MLE", "coarse_fk08": "25 km, FK08",
          "coarse_bbz24": "25 km, BBZ24 (H_ML < 0)", "coarse_bbz24_hmlpos": "25 km, BBZ24 (H_ML > 0)"}
COLORS = {"resolved": "k", "coarse_none": "0.5", "coarse_fk08": "tab:blue", "coarse_bbz24": "tab:red",
          "coarse_bbz24_hmlpos": "tab:orange"}


def read(path: Path, *names) -> dict:
    with netCDF4.Dataset(path) as nc:
        out = {"days": np.asarray(nc["time"][:], dtype=float) / 86400.0,
               "gdept": np.asarray(nc["depth_t"][:], dtype=float), "y": np.asarray(nc["y_t"][:], dtype=float),
               "x": np.asarray(nc["x_t"][:], dtype=float)}
        out["e3t"] = level_thickness(out["gdept"], np.asarray(nc["depth_w"][:], dtype=float))
        for n in names:
            if n in nc.variables:
                out[n] = np.ma.filled(nc[n][:], np.nan).astype(float)
    return out


def n2_series(run: dict, eos, hml: float, n2_0: float) -> tuple[np.ndarray, np.ndarray]:
    """(days, channel-mean ML-mean N^2) with the initial state as day 0."""
    n2 = np.nanmean(fd.ml_mean_n2(fd.buoyancy(run["thetao"], 35.0, eos), run["gdept"], hml), axis=(-2, -1))
    return np.concatenate([[0.0], run["days"]]), np.concatenate([[n2_0], n2])


def at_day(days: np.ndarray, values: np.ndarray, day: float) -> float:
    k = int(np.argmin(np.abs(days - day)))
    return float(values[k]) if abs(days[k] - day) < 0.01 else float("nan")


def resolved_fluxes(run: dict, eos, hml: float, factor: int) -> dict:
    """Per record: the along-front w'b' (ML mean, [t, j]) and M^2 [t, j]; the subgrid w'b' of
    ``factor`` blocks (ML mean, x-mean, [t, J]) and the coarse-grained M^2 [t, J]."""
    gdept, e3t = run["gdept"], run["e3t"]
    b = fd.buoyancy(run["thetao"], 35.0, eos)
    w = fd.w_at_t(run["wo"])
    wb_x = fd.ml_mean(fd.along_front_covariance(w, b)[..., None], e3t, gdept, hml)[..., 0]
    m2_x = fd.front_m2(b, run["y"], e3t, gdept, hml)
    wb_c = fd.ml_mean(fd.block_covariance(w, b, factor), e3t, gdept, hml).mean(axis=-1)
    bc = fd.block_mean(b, factor)
    yc = fd.block_mean(np.broadcast_to(run["y"][:, None], (run["y"].size, factor)), factor)[:, 0]
    m2_c = fd.front_m2(bc, yc, e3t, gdept, hml)
    return {"wb_x": wb_x, "m2_x": m2_x, "wb_c": wb_c, "m2_c": m2_c, "y_c": yc}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rundir", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "mle_front.png")
    p.add_argument("--day", type=float, default=10.0, help="day of the snapshot and of the w'b' profiles")
    p.add_argument("--ce-from", type=float, default=8.0, help="first day of the Ce estimates")
    p.add_argument("--hires-set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="the overrides the resolved run was made with (repeatable), e.g. grid.dx_m=...")
    a = p.parse_args(argv)
    try:
        coarse_cfg, hires_cfg = config_mod.load(COARSE), config_mod.load(HIRES, a.hires_set)
    except config_mod.ConfigError as exc:
        print(f"plot_front: {exc}", file=sys.stderr)
        return 2
    LABELS["resolved"] = f"resolved ({hires_cfg.grid.dx_m / 1e3:.1f} km)"
    eos, hml, f0 = _eos(coarse_cfg), coarse_cfg.init.front_hml_m, coarse_cfg.grid.f0
    factor = int(round(coarse_cfg.grid.dx_m / hires_cfg.grid.dx_m))      # resolved cells per coarse cell
    runs = {}
    if (a.rundir / "resolved" / "output.nc").exists():
        runs["resolved"] = read(a.rundir / "resolved" / "output.nc", "thetao", "wo")
    for name in ("coarse_none", "coarse_fk08", "coarse_bbz24", "coarse_bbz24_hmlpos"):
        if (a.rundir / name / "output.nc").exists():
            runs[name] = read(a.rundir / name / "output.nc", "thetao", "wb_mle")
    if not runs:
        print(f"plot_front: no runs in {a.rundir} (expected resolved/ and coarse_*/ with output.nc)", file=sys.stderr)
        return 2
    n2_0 = {"resolved": initial_n2(hires_cfg)} if "resolved" in runs else {}
    n2_0_coarse = initial_n2(coarse_cfg)
    series = {name: n2_series(r, eos, hml, n2_0.get(name, n2_0_coarse)) for name, r in runs.items()}

    # the table of restratification at fixed days
    print("| day | " + " | ".join(LABELS[n] for n in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for d in TABLE_DAYS:
        print(f"| {d} | " + " | ".join(f"{at_day(*series[n], d) * 1e6:.2f}" for n in runs) + " |")
    print("(channel-mean ML-mean N^2, 1e-6 s-2, over the 200 m layer)")

    ce = {}
    if "resolved" in runs:
        r = runs["resolved"]
        fx = resolved_fluxes(r, eos, hml, factor)
        late = r["days"] >= a.ce_from - 1e-9
        ce_t = np.array([fd.implied_ce(fx["wb_x"][k], fx["m2_x"][k], hml, f0) for k in range(r["days"].size)])
        ce["along_front"] = fd.implied_ce(fx["wb_x"][late], fx["m2_x"][late], hml, f0)
        ce["subgrid_25km"] = fd.implied_ce(fx["wb_c"][late], fx["m2_c"][late], hml, f0)
        days, n2 = series["resolved"]
        sel = days >= a.ce_from - 1e-9
        if sel.sum() >= 2:
            rate = np.polyfit(days[sel] * 86400.0, n2[sel], 1)[0]
            ce["rate"] = fd.rate_ce(rate, float(np.mean(fx["m2_x"][late] ** 2)), f0)
        ce["from_day"] = a.ce_from
        ce["ce_t"] = {f"{d:g}": round(float(c), 4) for d, c in zip(r["days"], ce_t)}
    _figure(a, runs, series, ce, fx if "resolved" in runs else None, eos, hml)
    print(json.dumps({"implied_ce": ce, "fk08_published": [0.06, 0.08]}))
    return 0


def _figure(a, runs, series, ce, fx, eos, hml) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(11, 7.5), dpi=72)
    gs = fig.add_gridspec(2, 3, width_ratios=[1.3, 0.55, 1.3])
    ax = fig.add_subplot(gs[0, 0])
    for n, (d, v) in series.items():
        ax.plot(d, v * 1e6, color=COLORS[n], label=LABELS[n], marker="." if n == "resolved" else None)
    ax.set_xlabel("day")
    ax.set_ylabel("ML-mean N$^2$ (10$^{-6}$ s$^{-2}$)")
    ax.set_title("(a) restratification of the 200 m layer")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[:, 1])
    if "resolved" in runs:
        r = runs["resolved"]
        k = int(np.argmin(np.abs(r["days"] - a.day)))
        im = ax.pcolormesh(r["x"] / 1e3, r["y"] / 1e3, r["thetao"][k, 0], cmap="RdYlBu_r", shading="auto")
        ax.set_aspect("equal")
        fig.colorbar(im, ax=ax, shrink=0.6, label="SST (degC)")
        ax.set_title(f"(b) resolved, day {r['days'][k]:g}", fontsize=10)
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
    ax = fig.add_subplot(gs[1, 0])
    if fx is not None:
        r = runs["resolved"]
        k = int(np.argmin(np.abs(r["days"] - a.day)))
        ax.plot(fx["y_c"] / 1e3, fx["wb_c"][k] * 1e9, "k-o", ms=3, label="resolved, 25 km subgrid")
        ax.plot(r["y"] / 1e3, fx["wb_x"][k] * 1e9, "k:", lw=0.8, label="resolved, about the x mean")
    for n in ("coarse_fk08", "coarse_bbz24", "coarse_bbz24_hmlpos"):
        if n in runs and "wb_mle" in runs[n]:
            rr = runs[n]
            k = int(np.argmin(np.abs(rr["days"] - a.day)))
            prof = np.nanmean(rr["wb_mle"][k], axis=-1) * fd.MU_ML_MEAN
            ax.plot(rr["y"] / 1e3, prof * 1e9, color=COLORS[n], marker="s", ms=3, label=LABELS[n])
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("y (km)")
    ax.set_ylabel("ML-mean w'b' (10$^{-9}$ m$^2$ s$^{-3}$)")
    ax.set_title(f"(c) w'b' across the channel, day {a.day:g}")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(gs[0, 2])
    if ce:
        d = np.array([float(k) for k in ce["ce_t"]])
        v = np.array(list(ce["ce_t"].values()))
        ax.axhspan(0.06, 0.08, color="tab:blue", alpha=0.2, label="FK08 published 0.06-0.08")
        ax.plot(d, v, "k-o", ms=3, label="resolved, flux about the x mean")
        ax.axvline(ce["from_day"], color="0.6", ls="--", lw=0.8)
        ax.set_xlabel("day")
        ax.set_ylabel("implied Ce")
        ax.set_title("(d) Ce of the resolved run")
        ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[1, 2])
    ax.axis("off")
    short = {"resolved": "resolved", "coarse_none": "none", "coarse_fk08": "FK08", "coarse_bbz24": "BBZ24-",
             "coarse_bbz24_hmlpos": "BBZ24+"}
    lines = ["ML-mean N$^2$ (10$^{-6}$ s$^{-2}$)", "day" + "".join(f"{short[n]:>9}" for n in runs)]
    for day in TABLE_DAYS:
        lines.append(f"{day:>3}" + "".join(f"{at_day(*series[n], day) * 1e6:9.2f}" for n in runs))
    lines.append("BBZ24-/+: H_ML input < 0 / > 0")
    if ce:
        lines += ["", f"implied Ce, days >= {ce['from_day']:g}:", f"  flux about the x mean  {ce['along_front']:.3f}",
                  f"  25 km subgrid flux     {ce['subgrid_25km']:.3f}"]
        if "rate" in ce:
            lines.append(f"  restratification rate  {ce['rate']:.3f}")
        lines.append("  FK08 published     0.06-0.08")
    ax.text(0.0, 1.0, "\n".join(lines), va="top", family="monospace", fontsize=8, transform=ax.transAxes)
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out)
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
