"""``python -m ocean merge RUNDIR``: one CF file for a run.

Runs write a single ``output.nc`` from rank 0 whatever the number of ranks (the tiles are
gathered before writing), so merging copies it, after checking that it opens as one
dataset, to the requested name.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import netCDF4

from .config import ConfigError


def merge_run(rundir: str | Path, out: str | Path | None = None) -> Path:
    rundir = Path(rundir)
    src = rundir / "output.nc"
    if not src.is_file():
        raise ConfigError(f"{rundir}: no output.nc in the run directory")
    try:
        netCDF4.Dataset(src).close()
    except OSError as exc:
        raise ConfigError(f"{src}: not a readable netCDF file ({exc})") from None
    dst = Path(out) if out is not None else rundir / "merged.nc"
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)
    return dst
