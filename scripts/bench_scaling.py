#!/usr/bin/env python
"""Strong scaling of the ocean on the cores at hand: parallel efficiency and halo share.

    python scripts/bench_scaling.py                          # dino_r1 and dino_r025, 1..2 ranks
    python scripts/bench_scaling.py --ranks 1 2 4 8 --configs configs/dino_r1.toml

Each point runs ``mpirun -n N python scripts/bench_ocean.py`` (one numba thread per rank).
Efficiency(N) = T(1) / (N T(N)) from the wall time per step. The halo share is the fraction of
the step the slowest rank spends in halo exchanges (packing, MPI and waiting included).
Ends with one JSON line per config:
{"config", "ranks": [...], "efficiency": [...], "halo_share": [...], "s_per_step": [...]}.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_point(config: str, n: int, steps: int) -> dict:
    mpirun = Path(sys.executable).with_name("mpirun")
    cmd = [str(mpirun) if mpirun.exists() else "mpirun", "-n", str(n), sys.executable,
           str(ROOT / "scripts" / "bench_ocean.py"), "--configs", config, "--steps", str(steps), "--threads", "1"]
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--configs", nargs="+", default=["configs/dino_r1.toml", "configs/dino_r025.toml"])
    p.add_argument("--ranks", nargs="+", type=int, default=[1, 2])
    p.add_argument("--steps", type=int, default=60)
    a = p.parse_args()
    lines = []
    for config in a.configs:
        steps = a.steps if "r025" not in config else max(10, a.steps // 4)
        pts = [run_point(config, n, steps) for n in a.ranks]
        t1 = pts[0]["s_per_step"] * a.ranks[0]
        eff = [t1 / (n * pt["s_per_step"]) for n, pt in zip(a.ranks, pts)]
        for n, pt, e in zip(a.ranks, pts, eff):
            print(f"{pt['config']}: {n} rank(s): {pt['s_per_step'] * 1e3:8.1f} ms/step  efficiency {100 * e:5.1f}%  "
                  f"halo {100 * pt['halo_share']:4.1f}% of the step", flush=True)
        lines.append({"config": pts[0]["config"], "cells": pts[0]["cells"], "ranks": a.ranks,
                      "efficiency": eff, "halo_share": [pt["halo_share"] for pt in pts],
                      "s_per_step": [pt["s_per_step"] for pt in pts]})
    for line in lines:
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
