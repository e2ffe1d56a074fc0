#!/usr/bin/env python
"""From a high-resolution run to a trained, deployed closure: the short form of
docs/tutorial_training.md, on the mixed-layer front (a BBZ24-like net).

    python scripts/train_demo.py --quick OUT     # a few minutes on 2 cores
    python scripts/train_demo.py OUT             # the resolved front of configs/mle_front_hires.toml, 20 days (~2 h)

Steps, each a command of the tutorial (logs in OUT/*.log):

1. a resolved front spun up without output (the eddies grow out of the initial noise), then
   continued writing snapshots of T, S, u, v, w (--quick: half the channel, 2 fronts instead of
   4, noise 10 times larger so the eddies grow within 3 days, then 24 snapshots 1.5 hours apart;
   else the whole channel, 10 days, then 40 snapshots over 10 days). This continuation runs on
   2 ranks (``mpirun -n 2``): one ocean rank and one ML rank that trains a BBZ24-like net online
   from the fields of every fourth step as the run goes (``closure.train``; ``OUT/online_bbz24.toml``), skipping
   the samples that come while it is busy;
2. ``python -m closures.train data bbz24 OUT/hires OUT/bbz24.nc --factor 12`` (25 km cells, the
   grid of configs/mle_front_coarse.toml);
3. ``python -m closures.train fit OUT/fit_bbz24.toml``: configs/train_bbz24.toml with OUT's paths;
4. the trained closure deployed in configs/mle_front_coarse.toml ([mle] kind = "bbz24") for 2 days.

Ends with one JSON line ``{"offline": {"val_loss_first", "val_loss_last", "val_r2_last",
"n_train", "n_val"}, "online": {"loss_first", "loss_last", "ocean_wait_pct", "skipped", ...},
"deployed": {"days", "wb_mle_mean"}}``: offline the validation loss of the untrained and of the
trained net (MSE of z-scored targets) and R2; online the loss of each batch before its step
(data the net has not seen yet) averaged over the first and the last optimizer steps: as the
fraction of the targets' variance left unexplained, 1 - R2 = sum (S - mu)^2 / sum S^2
(``loss_*``), and as the training objective, the MSE of targets z-scored with the first batch's
statistics (``mse_*``), which grows with the eddies' flux even as the net learns; the ocean's time
spent on online training as a share of its timed wall time, and the samples skipped; deployed
the channel mean of the net's w'b' (m2 s-3) at the end of the coarse run. A failing step prints
its log's tail and exits with status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
HIRES_QUICK = ["grid.ny=120", "init.front_count=2", "init.front_noise_k=0.05"]
SNAPSHOT_FIELDS = '["thetao","so","uo","vo","wo"]'
FACTOR = 12
DEPLOY_DAYS = 2.0
LOSS_MEAN = 5
ONLINE_EVERY = 4             # steps between online samples (40 min): the learner takes one every ~2-3 steps of this front


def step(name: str, args: list[str], out: Path, ranks: int = 1) -> None:
    """Run ``python ARGS`` (under ``mpirun -n RANKS`` when RANKS > 1) from the repository root,
    logging to OUT/NAME.log."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    log = out / f"{name}.log"
    mpirun = [str(Path(sys.executable).with_name("mpirun")) if Path(sys.executable).with_name("mpirun").exists()
              else "mpirun", "-n", str(ranks)] if ranks > 1 else []
    print(f"[{name}] {' '.join(mpirun[:1] + mpirun[1:] + ['python'] + args)}", flush=True)
    with log.open("w") as f:
        r = subprocess.run(mpirun + [sys.executable, *args], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env)
    if r.returncode != 0:
        print(f"{name} failed (status {r.returncode}); end of {log}:\n{log.read_text()[-2000:]}", file=sys.stderr)
        sys.exit(1)


def fit_config(out: Path, name: str, closure: str, data: Path | None = None, factor: int | None = None) -> Path:
    """configs/train_bbz24.toml with OUT's paths (OUT/NAME.toml, results in OUT/NAME, the closure
    file OUT/CLOSURE): offline its ``data`` set, online its ``factor``."""
    raw = tomllib.loads((ROOT / "configs" / "train_bbz24.toml").read_text())
    lines = ["[data]"] + ([f'path = "{data}"'] if data else []) + ([f"factor = {factor}"] if factor else [])
    lines += ["[train]"] + [f"{k} = {json.dumps(v)}" for k, v in raw["train"].items()]
    lines += ["[output]", f'dir = "{out / name}"', f'closure = "{out / closure}"']
    path = out / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def online_figures(summary: dict) -> dict:
    """The online part of the JSON line from the hires run's summary: the mean loss of the first
    and of the last LOSS_MEAN optimizer steps (single batches are noisy), the ocean's share of
    its timed wall time spent on the training (packing, sending, deciding to skip), the samples
    skipped and trained."""
    o = summary["online_training"]["train_bbz24"]
    mse, r2 = [h["loss"] for h in o["history"]], [h["r2"] for h in o["history"]]
    k = max(1, min(LOSS_MEAN, len(mse) // 2))
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return {"loss_first": 1.0 - mean(r2[:k]), "loss_last": 1.0 - mean(r2[-k:]), "loss_mean_of": k,
            "mse_first": mean(mse[:k]), "mse_last": mean(mse[-k:]),
            "ocean_wait_pct": o["ocean_blocked_pct"], "skipped": o["samples_skipped"],
            "trained": o["samples_trained"], "optimizer_steps": o["optimizer_steps"],
            "ocean_s_per_step": summary["timed_wall_s"] / max(summary["steps"] - 1, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder for the runs, dataset, closure file and logs")
    p.add_argument("--quick", action="store_true", help="the tutorial's short form (a few minutes)")
    a = p.parse_args(argv)
    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    spinup, days, every = (3.0, 1.5, 1.0 / 16.0) if a.quick else (10.0, 10.0, 0.25)
    grid = HIRES_QUICK if a.quick else []
    step("spinup", ["-m", "ocean", "run", "configs/mle_front_hires.toml", "--days", str(spinup), "--out",
                    str(out / "spinup"), "--no-progress", "--set", "output.interval_days=0"]
         + [x for s in grid for x in ("--set", s)], out)
    sets = grid + [f"output.interval_days={every}", f"output.fields={SNAPSHOT_FIELDS}"]
    online = [f"closure.train={fit_config(out, 'online_bbz24', 'bbz24_online.pt', factor=FACTOR)}", "closure.mode=async",
              "closure.ml_ranks=1", f"closure.every_steps={ONLINE_EVERY}"]
    step("hires", ["-m", "ocean", "run", "configs/mle_front_hires.toml", "--days", str(days), "--out",
                   str(out / "hires"), "--restart", str(out / "spinup" / "restart.nc"), "--no-progress"]
         + [x for s in sets + online for x in ("--set", s)], out, ranks=2)
    step("data", ["-m", "closures.train", "data", "bbz24", str(out / "hires"), str(out / "bbz24.nc"), "--factor",
                  str(FACTOR), "--config", "configs/mle_front_hires.toml", "--no-progress"]
         + [x for s in sets for x in ("--set", s)], out)
    step("fit", ["-m", "closures.train", "fit", str(fit_config(out, "fit_bbz24", "bbz24_trained.pt", data=out / "bbz24.nc")),
                 "--no-progress"], out)
    offline = json.loads((out / "fit.log").read_text().strip().splitlines()[-1])
    history = json.loads((out / "fit_bbz24" / "history.json").read_text())
    step("deploy", ["-m", "ocean", "run", "configs/mle_front_coarse.toml", "--days", str(DEPLOY_DAYS), "--out",
                    str(out / "coarse_trained"), "--no-progress", "--set", "mle.kind=bbz24",
                    "--set", f"closure.model_file={out / 'bbz24_trained.pt'}", "--set", "closure.mode=inprocess",
                    "--set", 'output.fields=["thetao","wb_mle","mld_mle"]'], out)
    with xr.open_dataset(out / "coarse_trained" / "output.nc", decode_times=False) as ds:
        wb = float(ds.wb_mle.isel(time=-1).mean())
    print(json.dumps({"offline": {"val_loss_first": offline["val_loss_first"], "val_loss_last": offline["val_loss_last"],
                                  "val_r2_last": offline["val_r2_last"], "epochs": history[-1]["epoch"],
                                  "n_train": offline["n_train"], "n_val": offline["n_val"]},
                      "online": online_figures(json.loads((out / "hires" / "summary.json").read_text())),
                      "deployed": {"days": DEPLOY_DAYS, "wb_mle_mean": wb}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
