#!/usr/bin/env python
"""Where an ocean step's time goes: milliseconds per step in each kernel, one rank, one thread.

    python scripts/profile_step.py                          # dino_r1, DINO's physics, 20 steps
    python scripts/profile_step.py configs/dino_r1_lean.toml --steps 40 --top 15

The numba kernels are timed as Python sees their calls (cProfile: the time inside each
compiled call, the JIT and the first ``--warmup`` steps excluded), so the figures add up to
the step less the Python between them. Ends with one JSON line {"config", "ms_per_step",
"kernel_ms_per_step": {"module.function": ms, ...}} of the ``--top`` kernels.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", nargs="?", default="configs/dino_r1.toml")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import numba
    from closures.cpu import cpu_line
    from ocean import config
    from ocean.run import build_model
    cfg = config.load(a.config, ["parallel.threads=1", *a.set])
    numba.set_num_threads(1)
    model = build_model(cfg)
    for _ in range(a.warmup):
        model.step()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(a.steps):
        model.step()
    prof.disable()
    step_ms = (time.perf_counter() - t0) * 1e3 / a.steps
    stats = pstats.Stats(prof).stats
    ocean_dir = str(ROOT / "ocean")
    kernels = {}
    for (path, _, name), (_, _, tottime, _, _) in stats.items():
        if path.startswith(ocean_dir) and tottime > 0:
            key = f"{Path(path).stem}.{name}"
            kernels[key] = kernels.get(key, 0.0) + tottime * 1e3 / a.steps
    top = dict(sorted(kernels.items(), key=lambda kv: -kv[1])[:a.top])
    print(f"CPU: {cpu_line()}")
    print(f"{cfg.run.name}: {step_ms:.1f} ms per step under the profiler ({a.steps} steps, 1 thread)")
    for k, v in top.items():
        print(f"  {k:40s} {v:7.2f} ms per step ({100 * v / step_ms:4.1f}%)")
    print(json.dumps({"config": cfg.run.name, "ms_per_step": step_ms, "kernel_ms_per_step": top}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
