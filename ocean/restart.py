"""Restart files: everything needed to continue a run bitwise, in one netCDF file.

Contents: the prognostic fields (u, v, T, S, ssh, ubar, vbar), the two Adams-Bashforth
tendencies the next steps still use, the step counter and model time, the configuration
keys that must not change across a restart (grid and time step), and in ``lagged`` closure
mode the closure result the next step applies (computed from the previous state). Rank 0
writes the gathered global fields to ``NAME.tmp`` and renames it, so a crash never leaves a
truncated restart; every rank reads its own tile (with halo) back, so a run may continue
on any number of ranks.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import netCDF4

from .config import ConfigError

FIELDS_3D = ("u", "v", "T", "S")
FIELDS_2D = ("ssh", "ubar", "vbar")
HISTORY = ("gu_nm1", "gv_nm1", "ubar_nm1", "vbar_nm1", "gu_nm2", "gv_nm2", "ubar_nm2", "vbar_nm2")
LAGGED = "closure_lagged_result"
MUST_MATCH = (("grid", None), ("time", "dt_s"), ("eos", "kind"))


def _identity(cfg: dict) -> str:
    keep = {}
    for sec, key in MUST_MATCH:
        keep[sec] = cfg[sec] if key is None else {key: cfg[sec][key]}
    keep["grid"] = {k: v for k, v in keep["grid"].items() if k != "halo"}
    return json.dumps(keep, sort_keys=True)


def _ab_slots(nstep: int) -> tuple[int, int]:
    """History slots of the tendencies of steps nstep-1 and nstep-2 (AB3 ring of 3)."""
    return (nstep - 1) % 3, (nstep - 2) % 3


def write(model, path: Path, settle_closure: bool = True) -> None:
    """Gather the state on rank 0 and write it atomically to ``path``. With a lagged closure
    the pending result is received first (``settle_closure``; not for a failure state)."""
    s, g = model.state, model.grid
    inner = g.interior_of
    s1, s2 = _ab_slots(s.nstep)
    arrays = [inner(getattr(s, n)) for n in FIELDS_3D + FIELDS_2D]
    arrays += [inner(a[k]) for k in (s1, s2) for a in (s.gu_hist, s.gv_hist, s.ubar_hist, s.vbar_hist)]
    hook = getattr(model, "closure", None)
    lagged = hook.lagged_result() if settle_closure and hook is not None else None
    if lagged is not None:
        arrays.append(lagged)
    full = model.domain.gather(arrays)
    if full is None:
        return
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with netCDF4.Dataset(tmp, "w") as nc:
        nz, ny, nx = full[0].shape
        nc.createDimension("z", nz)
        nc.createDimension("y", ny)
        nc.createDimension("x", nx)
        names = list(FIELDS_3D + FIELDS_2D + HISTORY)
        for name, arr in zip(names, full):
            dims = ("z", "y", "x") if arr.ndim == 3 else ("y", "x")
            nc.createVariable(name, "f8", dims)[:] = arr
        if lagged is not None:
            nc.createDimension("closure_channel", full[-1].shape[0])
            var = nc.createVariable(LAGGED, "f8", ("closure_channel", "y", "x"))
            var[:] = full[-1]
            var.closure = hook.spec.name
            var.long_name = "closure result the next step applies (lagged mode)"
        nc.nstep = int(s.nstep)
        nc.time_s = float(s.time_s)
        nc.identity = _identity(model.cfg)
        nc.title = "ocean restart"
    os.replace(tmp, path)


def read(model, path: Path) -> None:
    """Set the model's state from a restart file (every rank reads its own tile)."""
    path = Path(path)
    s, g = model.state, model.grid
    try:
        nc = netCDF4.Dataset(path)
    except (OSError, FileNotFoundError) as exc:
        raise ConfigError(f"{path}: cannot open restart file ({exc})") from None
    with nc:
        missing = [n for n in FIELDS_3D + FIELDS_2D + HISTORY if n not in nc.variables]
        if missing or "identity" not in nc.ncattrs():
            raise ConfigError(f"{path}: not a restart file of this model (missing {', '.join(missing) or 'identity'})")
        if nc.identity != _identity(model.cfg):
            raise ConfigError(f"{path}: restart was written with another grid, time step or EOS "
                              f"than the configuration ({nc.identity} vs {_identity(model.cfg)})")
        nstep = int(nc.nstep)
        s.nstep, s.time_s = nstep, float(nc.time_s)
        j, i = g.interior
        sl = (slice(g.j0, g.j0 + g.ny), slice(g.i0, g.i0 + g.nx))
        for n in FIELDS_3D:
            getattr(s, n)[:, j, i] = nc.variables[n][(slice(None),) + sl]
        for n in FIELDS_2D:
            getattr(s, n)[j, i] = nc.variables[n][sl]
        s1, s2 = _ab_slots(nstep)
        hist = (s.gu_hist, s.gv_hist, s.ubar_hist, s.vbar_hist)
        for a in hist:
            a[:] = 0.0
        for slot, tag in ((s1, "nm1"), (s2, "nm2")):
            for a, n in zip(hist, ("gu", "gv", "ubar", "vbar")):
                var = nc.variables[f"{n}_{tag}"]
                if a.ndim == 4:
                    a[slot][:, j, i] = var[(slice(None),) + sl]
                else:
                    a[slot][j, i] = var[sl]
        hook = getattr(model, "closure", None)
        if LAGGED in nc.variables and hook is not None:
            var = nc.variables[LAGGED]
            hook.restore_lagged_result(var.closure, var[(slice(None),) + sl])
    model.exchange_state()
    for slot in (s1, s2):               # ubar history is used with its halo
        model.halo.exchange(s.ubar_hist[slot], s.vbar_hist[slot])
