#!/usr/bin/env python
"""Ocean speed: microseconds per cell per step per core, and simulated years per day.

    python scripts/bench_ocean.py                      # dino_r1, 1 thread, 100 timed steps
    python scripts/bench_ocean.py --r025               # also dino_r025
    mpirun -n 2 python scripts/bench_ocean.py --configs configs/dino_r1.toml   # per rank

Cells are nx*ny*nz of the global grid, land included, as NEMO counts them; the JIT
compilation and the first steps are excluded (``--warmup``). The last line is JSON:
{"config", "cells", "steps", "ranks", "threads", "us_per_cell_step", "sypd", "halo_share"}
(one line per config with --r025; the last config's line is last).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def bench(path: str, steps: int, warmup: int, threads: int, comm) -> dict:
    os.environ.setdefault("NUMBA_NUM_THREADS", str(max(threads, 1)))
    from ocean import config
    from ocean.run import build_model
    cfg = config.load(path, [f"parallel.threads={threads}"])
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
    return {"config": cfg.run.name, "cells": cells, "steps": steps, "ranks": d.size, "threads": threads,
            "s_per_step": wall / steps,
            "us_per_cell_step": wall * 1e6 * cores / (cells * steps),
            "sypd": steps * model.dt / (360 * 86400.0) / wall * 86400.0,
            "halo_share": halo / wall}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--configs", nargs="+", default=["configs/dino_r1.toml"])
    p.add_argument("--r025", action="store_true", help="also run configs/dino_r025.toml")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="numba threads per rank")
    a = p.parse_args()
    from ocean.run import world_comm
    comm = world_comm()
    root = comm is None or comm.Get_rank() == 0
    paths = a.configs + (["configs/dino_r025.toml"] if a.r025 else [])
    results = []
    for path in paths:
        steps = a.steps if "r025" not in path else max(10, a.steps // 5)
        r = bench(path, steps, a.warmup, a.threads, comm)
        results.append(r)
        if root:
            print(f"{r['config']}: {r['cells']} cells, {r['ranks']} rank(s) x {r['threads']} thread(s), "
                  f"{r['steps']} steps: {r['s_per_step'] * 1e3:.1f} ms/step, "
                  f"{r['us_per_cell_step']:.3f} us per cell per step per core, {r['sypd']:.1f} SYPD, "
                  f"halo exchange {100 * r['halo_share']:.1f}% of the step", flush=True)
    if root:
        for r in results:
            print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
