#!/usr/bin/env python
"""Held-out skill of closure files on a training dataset: R2 = 1 - sum (S - mu)^2 / sum S^2 of
each net's mean prediction against the targets, over the wet cells of the dataset's validation
records (the last ``--val-fraction`` in time, as ``fit`` splits them).

    python scripts/compare_closures.py DATASET.nc OURS.pt PUBLISHED.pt [...] [--val-fraction 0.2] [--periodic-x]
                                       [--away-from-land N]

Each closure sees its inputs as a run would give them: the dataset's coarse fields with the
closure's halo attached (wrapped across x when the domain is periodic, zeros beyond the walls;
BBZ24's ``in_domain`` channel 0 there), in float32 as saved (``precision = "fp32-eager"``).
``--away-from-land N`` scores only the cells at least N cells (in i and j, diagonals included)
from any cell that holds land (``closures.train.dataset.away_from_land``: the dataset's
``ocean_fraction`` below 1; a coarse cell of DINO's side walls is mostly ocean). Ends with one
JSON line {"r2": {file: R2}, "records": [first, last], "points": n}. A missing or unusable
dataset or closure file prints one line and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def with_halo(x: np.ndarray, halo: int, periodic_x: bool, in_domain: bool) -> np.ndarray:
    """(N, C, Y, X) fields -> (N, C [+1], Y + 2 halo, X + 2 halo) as a closure's input tiles."""
    n, c, ny, nx = x.shape
    out = np.zeros((n, c + int(in_domain), ny + 2 * halo, nx + 2 * halo), np.float32)
    body = np.pad(x, ((0, 0), (0, 0), (0, 0), (halo, halo)), mode="wrap") if periodic_x else \
        np.pad(x, ((0, 0), (0, 0), (0, 0), (halo, halo)))
    out[:, :c, halo:halo + ny] = body
    if in_domain:
        out[:, c, halo:halo + ny, slice(None) if periodic_x else slice(halo, halo + nx)] = 1.0
    return out


def r2_of(path: Path, x: np.ndarray, y: np.ndarray, wet: np.ndarray, periodic_x: bool) -> float:
    from closures.runtime import LoadedClosure
    net = LoadedClosure(path, "cpu", "fp32-eager")
    h = net.spec.halo
    needs_domain = any(f.name == "in_domain" for f in net.spec.inputs)
    tiles = with_halo(x, h, periodic_x, needs_domain)
    if tiles.shape[1] != len(net.spec.inputs):
        raise ValueError(f"{path}: closure {net.spec.name} takes {len(net.spec.inputs)} input fields, the "
                         f"dataset gives {tiles.shape[1]}")
    out = np.zeros((x.shape[0], len(net.spec.outputs), x.shape[2], x.shape[3]), np.float32)
    for i in range(x.shape[0]):
        net.infer(tiles[i:i + 1], out[i:i + 1])
    mu = out[:, :y.shape[1]].astype(np.float64)
    m = np.broadcast_to(wet, y[:, 0].shape)
    se = sum(((y[:, c] - mu[:, c])[m] ** 2).sum() for c in range(y.shape[1]))
    s2 = sum((y[:, c][m] ** 2).sum() for c in range(y.shape[1]))
    return float(1.0 - se / s2)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", type=Path)
    p.add_argument("closures", nargs="+", type=Path)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--periodic-x", action="store_true", help="the domain is periodic in x (the fronts)")
    p.add_argument("--away-from-land", type=int, default=0, metavar="N",
                   help="score only cells at least N cells from any cell that holds land")
    a = p.parse_args(argv)
    from closures.runtime import ClosureLoadError
    from closures.train.dataset import DatasetError, away_from_land, load
    from closures.train.fit import split
    try:
        data = load(a.dataset)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ntr = split(data, a.val_fraction)
    x, y = data.x[ntr:], data.y[ntr:].astype(np.float64)
    scored = data.wet.astype(bool) & away_from_land(data.ocean_fraction, a.away_from_land, a.periodic_x)
    where = f", {int(scored.sum())} wet cells at least {a.away_from_land} from land" if a.away_from_land else ""
    r2 = {}
    for path in a.closures:
        try:
            r2[str(path)] = r2_of(path, x, y, scored, a.periodic_x)
        except (ClosureLoadError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{path}: R2 {r2[str(path)]:.4f} on records {ntr}-{data.x.shape[0] - 1} of {a.dataset}{where}")
    print(json.dumps({"r2": r2, "records": [ntr, int(data.x.shape[0]) - 1], "points": int(scored.sum()) * len(x)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
