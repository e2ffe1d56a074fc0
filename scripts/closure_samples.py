#!/usr/bin/env python
"""Input tiles of a configuration's closure, from restart files: the batches its net sees.

    python scripts/closure_samples.py CONFIG RESTART [RESTART ...] --out samples.npy [--set KEY=VALUE ...]

For each restart the model state is read on one rank and the closure's inputs are gathered
as the run would (for ``physics = "gz21"``: u, v placed, padded, every level of the form);
the tiles are stacked into one float32 array (N, C, Y, X) with the halo attached. Used to
calibrate int8 nets on real model states (``python -m closures.published gz21 SRC OUT --int8
samples.npy``) and to measure their error against float32.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def samples(config: str, restarts: list[str], sets: list[str]) -> np.ndarray:
    from ocean import config as ocfg
    from ocean import restart as restart_io
    from ocean.run import attach_closures, build_model
    cfg = ocfg.load(config, [*sets, "closure.mode=inprocess", "closure.ml_ranks=0"])
    if not cfg.closures:
        raise SystemExit(f"error: {config} configures no closure")
    model = build_model(cfg)
    model.initialise()
    attach_closures(model, cfg, None)
    hook = model.closures[0]
    tiles = []
    for path in restarts:
        restart_io.read(model, Path(path))
        hook.gather()
        tiles.append(hook.inp.copy())
    return np.concatenate(tiles).astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config")
    p.add_argument("restarts", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--set", action="append", default=[], help="configuration override, as for 'ocean run'")
    a = p.parse_args()
    x = samples(a.config, a.restarts, a.set)
    np.save(a.out, x)
    print(f"{a.out}: {x.shape[0]} tiles of {x.shape[1:]} from {len(a.restarts)} state(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
