#!/usr/bin/env python
"""Are two restart files bitwise identical? For refactors that must not change results.

    python scripts/compare_restarts.py REF.nc NEW.nc
    python scripts/compare_restarts.py --make-reference DIR [--steps 50]   # dino_r4 and dino_r1

Compares every variable of REF (NEW may hold more) byte for byte, and the step counter and
model time. Prints one line per differing variable with its largest difference; exits 1 if
any differs or is missing. ``--make-reference DIR`` runs dino_r4 and dino_r1 for ``--steps``
steps on one thread and writes DIR/dino_r4/restart.nc and DIR/dino_r1/restart.nc.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def compare(ref: Path, new: Path) -> list[str]:
    problems = []
    with netCDF4.Dataset(ref) as a, netCDF4.Dataset(new) as b:
        for attr in ("nstep", "time_s"):
            if a.getncattr(attr) != b.getncattr(attr):
                problems.append(f"{attr}: {a.getncattr(attr)} != {b.getncattr(attr)}")
        for name, var in a.variables.items():
            if name not in b.variables:
                problems.append(f"{name}: missing from {new}")
                continue
            x, y = np.asarray(var[:]), np.asarray(b.variables[name][:])
            if x.shape != y.shape:
                problems.append(f"{name}: shape {x.shape} != {y.shape}")
            elif x.tobytes() != y.tobytes():
                diff = np.nanmax(np.abs(x - y)) if x.size else 0.0
                problems.append(f"{name}: differs (max |diff| {diff:.3g}, "
                                f"{np.count_nonzero(x.view(np.uint64) != y.view(np.uint64))} values)")
    return problems


def make_reference(out: Path, steps: int) -> None:
    for name in ("dino_r4", "dino_r1"):
        subprocess.run([sys.executable, "-m", "ocean", "run", str(ROOT / "configs" / f"{name}.toml"), "--steps",
                        str(steps), "--out", str(out / name), "--no-progress", "--set", "parallel.threads=1"],
                       check=True, cwd=ROOT)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="*")
    p.add_argument("--make-reference", metavar="DIR")
    p.add_argument("--steps", type=int, default=50)
    a = p.parse_args()
    if a.make_reference:
        make_reference(Path(a.make_reference), a.steps)
        return 0
    if len(a.files) != 2:
        p.error("give REF.nc NEW.nc")
    problems = compare(Path(a.files[0]), Path(a.files[1]))
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
