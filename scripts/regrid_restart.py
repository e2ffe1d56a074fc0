#!/usr/bin/env python
"""Interpolate a restart onto the grid of another configuration (same grid kind and levels).

    python scripts/regrid_restart.py SRC_RESTART CONFIG OUT.nc [--set section.key=value ...]

e.g. a dino_r1_lean restart onto dino_r025_lean, to start the 1/4-degree truth of the GZ21
skill measure from the 1-degree state (docs/gz21_skill.md). The recipe (nearest-ocean fill of
the source's land, bilinear in lon/lat, the target's masks, ubar/vbar as the depth means of
u/v, the step counter at the restart's time) is in ocean/regrid.py. Prints what was done and
ends with one JSON line. A user error prints one line and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ocean import config
from ocean.config import ConfigError
from ocean.regrid import regrid_restart


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("restart", type=Path, help="restart file to interpolate")
    p.add_argument("config", help="TOML configuration of the target grid")
    p.add_argument("out", type=Path, help="restart file to write")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    a = p.parse_args(argv)
    try:
        if not a.restart.is_file():
            raise ConfigError(f"{a.restart}: no such restart file")
        cfg = config.load(a.config, a.set)
        info = regrid_restart(a.restart, cfg, a.out)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{a.restart} ({info['source_grid'][1]} x {info['source_grid'][0]}) -> {a.out} "
          f"({info['target_grid'][1]} x {info['target_grid'][0]}), day {info['day']:g}, step {info['nstep']}")
    print(f"interpolated: {', '.join(info['interpolated'])}; then set to the depth means of u, v: "
          f"{', '.join(info['depth_means'])} (their history shifted alike)")
    if info["initial_values"]:
        print(f"not in the source, at the model's initial values: {', '.join(info['initial_values'])}")
    if info["not_carried"]:
        print(f"not carried over: {', '.join(info['not_carried'])}")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
