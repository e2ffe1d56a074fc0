#!/usr/bin/env python
"""Ocean speed: microseconds per cell per step per core, and simulated years per day.

    python scripts/bench_ocean.py                      # dino_r1 full and lean physics, 1 thread, 100 timed steps
    python scripts/bench_ocean.py --terms              # and the lean physics plus one new process at a time
    python scripts/bench_ocean.py --r025               # also dino_r025
    mpirun -n 2 python scripts/bench_ocean.py --configs configs/dino_r1.toml   # per rank

Cells are nx*ny*nz of the global grid, land included, as NEMO counts them; the JIT
compilation and the first steps are excluded (``--warmup``). dino_r1 runs with DINO's
physics (TKE, iso-neutral diffusion, GM, Hollingsworth) and with the lean physics of
``dino_r1_lean.toml`` in ``--rounds`` interleaved rounds (the fastest of each counts);
``--terms`` adds the lean physics plus one process at a time, whose difference to the lean
step is that process's cost. One JSON line per config, then a last line
{"us_per_cell_step": full, "us_per_cell_step_lean": lean, "full_over_lean", "term_ms": {...},
"term_pct_of_lean": {...}} (``mle_fk08``: NEMO's FK08 MLE transport, ``[mle] kind = "fk08"``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


TERMS = {"tke+evd": ['vertical_mixing.scheme="tke"'],
         "isoneutral": ['tracers.lateral="isoneutral"', "tracers.diff_velocity_m_s=0.027"],
         "isoneutral+gm": ['tracers.lateral="isoneutral"', "tracers.diff_velocity_m_s=0.027", "tracers.gm=true"],
         "hollingsworth": ['momentum.keg="hollingsworth"'],
         "mle_fk08": ['mle.kind="fk08"']}


def bench(path: str, steps: int, warmup: int, threads: int, comm, sets=(), label: str = "") -> dict:
    from ocean import config
    from ocean.run import build_model
    cfg = config.load(path, [f"parallel.threads={threads}", *sets])
    import numba
    numba.set_num_threads(threads)
    model = build_model(cfg, comm)
    d = model.domain
    for _ in range(warmup):
        model.step()
    d.barrier()
    h0 = model.halo.seconds
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    d.barrier()
    wall = time.perf_counter() - t0
    wall = float(d.allreduce([wall], "max")[0])
    halo = float(d.allreduce([model.halo.seconds - h0], "max")[0])
    g = model.grid
    cells = g.nx_glo * g.ny_glo * g.nz
    cores = d.size * threads
    model.check(10.0)
    return {"config": label or cfg.run.name, "cells": cells, "steps": steps, "ranks": d.size, "threads": threads,
            "s_per_step": wall / steps,
            "us_per_cell_step": wall * 1e6 * cores / (cells * steps),
            "sypd": steps * model.dt / (360 * 86400.0) / wall * 86400.0,
            "halo_share": halo / wall}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--configs", nargs="+", default=["configs/dino_r1.toml", "configs/dino_r1_lean.toml"])
    p.add_argument("--r025", action="store_true", help="also run configs/dino_r025.toml")
    p.add_argument("--terms", action="store_true", help="also the lean physics plus each new process alone")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the fastest of each case counts")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="numba threads per rank")
    a = p.parse_args()
    # before numba's first import: its thread pool takes this size when it starts
    os.environ.setdefault("NUMBA_NUM_THREADS", str(max(a.threads, 1)))
    from ocean.run import world_comm
    comm = world_comm()
    root = comm is None or comm.Get_rank() == 0
    cases = [(path, (), "") for path in a.configs + (["configs/dino_r025.toml"] if a.r025 else [])]
    if a.terms:
        cases += [("configs/dino_r1_lean.toml", sets, f"dino_r1_lean+{name}") for name, sets in TERMS.items()]
    if root:
        from closures.cpu import cpu_line
        print(f"CPU: {cpu_line()}", flush=True)
    best: dict = {}
    for rnd in range(a.rounds):
        for path, sets, label in cases:
            steps = a.steps if "r025" not in path else max(10, a.steps // 5)
            r = bench(path, steps, a.warmup, a.threads, comm, sets, label)
            if r["config"] not in best or r["s_per_step"] < best[r["config"]]["s_per_step"]:
                best[r["config"]] = r
            if root:
                print(f"round {rnd + 1}/{a.rounds} {r['config']}: {r['cells']} cells, {r['ranks']} rank(s) x "
                      f"{r['threads']} thread(s), {r['steps']} steps: {r['s_per_step'] * 1e3:.1f} ms/step, "
                      f"{r['us_per_cell_step']:.3f} us per cell per step per core, {r['sypd']:.1f} SYPD, "
                      f"halo exchange {100 * r['halo_share']:.1f}% of the step", flush=True)
    if root:
        for r in best.values():
            print(json.dumps(r), flush=True)
        full, lean = best.get("dino_r1"), best.get("dino_r1_lean")
        if full and lean:
            terms = {k.split("+", 1)[1]: 1e3 * (r["s_per_step"] - lean["s_per_step"])
                     for k, r in best.items() if k.startswith("dino_r1_lean+")}
            print(f"dino_r1 full physics / lean: {full['s_per_step'] / lean['s_per_step']:.2f} "
                  f"({full['s_per_step'] * 1e3:.1f} / {lean['s_per_step'] * 1e3:.1f} ms per step, fastest of "
                  f"{a.rounds} rounds)" + "".join(f"; {k} +{v:.1f} ms" for k, v in terms.items()), flush=True)
            print(json.dumps({"us_per_cell_step": full["us_per_cell_step"],
                              "us_per_cell_step_lean": lean["us_per_cell_step"],
                              "full_over_lean": full["s_per_step"] / lean["s_per_step"], "term_ms": terms,
                              "term_pct_of_lean": {k: 0.1 * v / lean["s_per_step"] for k, v in terms.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
