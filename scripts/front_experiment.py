"""The mixed-layer front experiment (issue 10 item 3): the coarse front with no MLE, FK08 and
BBZ24, and (without --quick) the resolved front they are measured against.

    python scripts/front_experiment.py --quick --bbz24 BBZ24.pt RUNDIR
    python scripts/front_experiment.py --bbz24 BBZ24.pt RUNDIR          # the whole experiment

--quick runs configs/mle_front_coarse.toml for 10 days (--days) with [mle] kind = none, fk08
and bbz24 (BBZ24.pt: the closure file of ``python -m closures.published bbz24 ...``; without
--bbz24 that case is left out), each into RUNDIR/coarse_<case>/, and ends with one JSON line:

    {"n2_ml_change": {"none": ..., "fk08": ..., "bbz24": ...}, "wb_mle": {...}, "hml_sign": -1.0, "days": 10.0}

n2_ml_change: the change over the run of the ML-mean N^2 (s-2; ocean/front_diagnostics.py,
over the set-up's 200 m layer) averaged over the channel, which the four fronts fill;
wb_mle: the channel mean of the closure's w'b' at the end (m2 s-3; FK08: psi_m . grad b where
mu = 1, BBZ24: the net's output; the transport realises 44/63 of it as the ML mean).

Without --quick: the coarse runs for 20 days (--days), then the resolved run
configs/mle_front_hires.toml (RUNDIR/resolved/, through ``python -m ocean run``, so it writes
restarts every 5 days; a complete run already there is kept), then scripts/plot_front.py for
the figure and the table. --hml-sign sets mle.hml_sign of the BBZ24 case (default: the
configuration's, -1).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ocean import config as config_mod  # noqa: E402
from ocean import front_diagnostics as fd  # noqa: E402

COARSE = ROOT / "configs" / "mle_front_coarse.toml"
HIRES = ROOT / "configs" / "mle_front_hires.toml"
MLE_FIELDS = '["thetao","wo","wb_mle","mld_mle"]'


def case_overrides(case: str, bbz24: str | None, hml_sign: float | None) -> list[str]:
    """The --set overrides of one coarse case."""
    if case == "none":
        return ["mle.kind=none"]
    sets = [f"mle.kind={case}", f"output.fields={MLE_FIELDS}"]
    if case == "bbz24":
        sets += [f"closure.model_file={bbz24}", "closure.mode=inprocess"]
        if hml_sign is not None:
            sets.append(f"mle.hml_sign={hml_sign:g}")
    return sets


def case_dir(case: str, hml_sign: float | None) -> str:
    """RUNDIR's folder of a coarse case: coarse_<case>, coarse_bbz24_hmlpos for BBZ24 with H_ML > 0."""
    return "coarse_bbz24_hmlpos" if case == "bbz24" and hml_sign == 1.0 else f"coarse_{case}"


def initial_n2(cfg) -> float:
    """The channel-mean ML-mean N^2 (s-2) of the configuration's initial state."""
    from ocean.model import Model
    m = Model(cfg)
    g = m.grid
    b = fd.buoyancy(g.interior_of(m.state.T), g.interior_of(m.state.S), m.eos)
    return float(fd.ml_mean_n2(b, g.gdept, cfg.init.front_hml_m).mean())


def records(path: Path, eos, hml: float) -> dict:
    """Times (days) and the channel-mean ML-mean N^2 (s-2) of every record of an output file,
    and the channel mean of wb_mle at the last record when the file has it."""
    with netCDF4.Dataset(path) as nc:
        t = np.asarray(nc["time"][:], dtype=float) / 86400.0
        gdept = np.asarray(nc["depth_t"][:], dtype=float)
        T = np.ma.filled(nc["thetao"][:], np.nan).astype(float)
        S = np.ma.filled(nc["so"][:], np.nan).astype(float) if "so" in nc.variables else 35.0
        wb = float(np.nanmean(nc["wb_mle"][-1])) if "wb_mle" in nc.variables else None
    n2 = fd.ml_mean_n2(fd.buoyancy(T, S, eos), gdept, hml)
    return {"days": t, "n2": np.nanmean(n2, axis=(-2, -1)), "wb_mle": wb}


def run_coarse(case: str, rundir: Path, days: float, bbz24: str | None, hml_sign: float | None,
               extra: list[str] = ()) -> dict:
    """One coarse case (``extra``: more --set overrides); its initial and final channel-mean
    ML-mean N^2 (s-2), its last day and the channel mean of wb_mle there (None without MLE)."""
    from ocean.run import run
    cfg = config_mod.load(COARSE, case_overrides(case, bbz24, hml_sign) + list(extra))
    out = rundir / case_dir(case, hml_sign)
    run(cfg, out, days=days, progress=False)
    eos = _eos(cfg)
    rec = records(out / "output.nc", eos, cfg.init.front_hml_m)
    n2_0 = initial_n2(cfg)
    return {"n2_0": n2_0, "n2_end": float(rec["n2"][-1]), "days": float(rec["days"][-1]), "wb_mle": rec["wb_mle"]}


def _eos(cfg):
    from ocean.eos import EosParams
    return EosParams.of_kind(cfg.eos.kind)


def run_resolved(rundir: Path, days: float) -> None:
    """The resolved run through the command line (restarts every 5 days; kept if complete)."""
    out = rundir / "resolved"
    summary = out / "summary.json"
    if summary.exists() and json.loads(summary.read_text()).get("model_days", 0) >= days - 1e-9:
        print(f"resolved run in {out} is complete ({days:g} days); kept", file=sys.stderr)
        return
    cmd = [sys.executable, "-m", "ocean", "run", str(HIRES), "--days", f"{days:g}", "--out", str(out),
           "--no-progress", "--set", "run.diagnostics_every_steps=720"]
    print("running: " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=ROOT, check=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rundir", type=Path)
    p.add_argument("--quick", action="store_true", help="the coarse runs only, 10 days")
    p.add_argument("--bbz24", help="BBZ24 closure file (python -m closures.published bbz24 ...)")
    p.add_argument("--hml-sign", type=float, choices=(-1.0, 1.0), help="mle.hml_sign of the BBZ24 case")
    p.add_argument("--days", type=float, help="days of the coarse runs (10 with --quick, else 20)")
    p.add_argument("--resolved-days", type=float, default=20.0, help="days of the resolved run (20)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override of the coarse configuration (repeatable)")
    a = p.parse_args(argv)
    if a.bbz24 is not None and not Path(a.bbz24).is_file():
        print(f"front_experiment: --bbz24 {a.bbz24}: no such file", file=sys.stderr)
        return 2
    days = a.days or (10.0 if a.quick else 20.0)
    cases = ["none", "fk08"] + (["bbz24"] if a.bbz24 else [])
    a.rundir.mkdir(parents=True, exist_ok=True)
    try:
        res = {c: run_coarse(c, a.rundir, days, a.bbz24, a.hml_sign, a.set) for c in cases}
    except config_mod.ConfigError as exc:
        print(f"front_experiment: {exc}", file=sys.stderr)
        return 2
    if not a.quick:
        run_resolved(a.rundir, a.resolved_days)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "plot_front.py"), str(a.rundir)], check=True)
    line = {"n2_ml_change": {c: r["n2_end"] - r["n2_0"] for c, r in res.items()},
            "wb_mle": {c: r["wb_mle"] for c, r in res.items() if r["wb_mle"] is not None},
            "hml_sign": a.hml_sign if a.hml_sign is not None else config_mod.load(COARSE).mle.hml_sign,
            "days": days}
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
