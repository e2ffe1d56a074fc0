#!/usr/bin/env python
"""The floor under the ocean kernels on this CPU: nanoseconds per element of a division, a
square root and a multiply-add in a numba loop like the kernels' (vectorisable, no
fastmath) on data that stays in cache (a level plane), and the memory bandwidth of a copy
of a whole 3-D array and of a plane, on one core.

    python scripts/bench_primitives.py            # a dino_r1 tile's 3-D array (358,400 points)
    python scripts/bench_primitives.py --points 1000000 --rounds 50

A kernel that does d divisions and s square roots per point costs at least
(d * div_ns + s * sqrt_ns) per point, and one that streams m 3-D arrays (each read or
written once) at least m * 8 bytes / bandwidth per point: that is how far a kernel can be
from its floor (``python scripts/profile_step.py`` gives its time). The arithmetic figures
include the loop's loads and stores from cache. Ends with one JSON line
{"cpu", "div_ns", "sqrt_ns", "muladd_ns", "copy_GB_s", "copy_plane_GB_s"} (copy: bytes read
plus written per second, of one array and of one level plane, 36 times smaller, that stays
in cache).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=36 * 200 * 56, help="elements per array (default: a dino_r1 tile)")
    p.add_argument("--rounds", type=int, default=30, help="timed calls of each loop (the fastest counts)")
    a = p.parse_args()
    if a.points < 1 or a.rounds < 1:
        print("error: --points and --rounds must be positive", file=sys.stderr)
        return 2
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import numba
    import numpy as np
    from closures.cpu import cpu_line

    @numba.njit(fastmath=False)
    def divide(x, y, out):
        for i in range(np.uint64(0), np.uint64(x.size)):
            out[i] = x[i] / y[i]

    @numba.njit(fastmath=False)
    def square_root(x, y, out):
        for i in range(np.uint64(0), np.uint64(x.size)):
            out[i] = np.sqrt(x[i])

    @numba.njit(fastmath=False)
    def muladd(x, y, out):
        for i in range(np.uint64(0), np.uint64(x.size)):
            out[i] = x[i] * y[i] + x[i]

    @numba.njit(fastmath=False)
    def copy(x, y, out):
        for i in range(np.uint64(0), np.uint64(x.size)):
            out[i] = x[i]

    rng = np.random.default_rng(0)
    x, y, out = rng.uniform(1.0, 2.0, a.points), rng.uniform(1.0, 2.0, a.points), np.zeros(a.points)
    plane = max(1, a.points // 36)

    def fastest(fn, n):
        fn(x[:n], y[:n], out[:n])
        best = float("inf")
        reps = max(1, a.points // n)          # the plane: as many calls as make one array's worth
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            for _ in range(reps):
                fn(x[:n], y[:n], out[:n])
            best = min(best, (time.perf_counter() - t0) / reps)
        return best

    res = {"cpu": cpu_line()}
    for key, fn in (("div_ns", divide), ("sqrt_ns", square_root), ("muladd_ns", muladd)):
        res[key] = fastest(fn, plane) / plane * 1e9
    res["copy_GB_s"] = 16 * a.points / fastest(copy, a.points) / 1e9
    res["copy_plane_GB_s"] = 16 * plane / fastest(copy, plane) / 1e9
    print(f"CPU: {res['cpu']}")
    print(f"float64, one core, fastest of {a.rounds} rounds; arithmetic on a plane of {plane} points (in cache)")
    print(f"  division     {res['div_ns']:.2f} ns per element")
    print(f"  square root  {res['sqrt_ns']:.2f} ns per element")
    print(f"  multiply-add {res['muladd_ns']:.2f} ns per element")
    print(f"  copy         {res['copy_GB_s']:.1f} GB/s read + written ({8 * a.points / 1e6:.1f} MB array), "
          f"{res['copy_plane_GB_s']:.1f} GB/s for a level plane ({8 * plane / 1e3:.0f} kB)")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
