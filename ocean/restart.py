"""Restart files: everything needed to continue a run bitwise, in one netCDF file.

Contents: every field the registry (``ocean/fields.py``) declares with ``restart=True``
(the prognostic fields and the Adams-Bashforth history the next steps still use), the step
counter and model time, the configuration keys that must not change across a restart (grid,
time step, EOS), and for each closure in ``lagged`` mode the result the next step applies
(computed from the previous state), and the output's partly accumulated time mean
(``output_mean_*``: sums, weight, start of the interval, output configuration). Rank 0
writes the gathered global fields to ``NAME.tmp`` and renames it, so a crash never leaves a
truncated restart; every rank reads its own tile (with halo) back, so a run may continue
on any number of ranks.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np

from . import config
from .config import ConfigError
from .runlog import log

LAGGED = "closure_lagged_result"        # + "_" + closure name: a lagged closure's pending result
MUST_MATCH = (("grid", None), ("time", "dt_s"), ("eos", "kind"))
MEAN_SUM = "output_mean_sum"            # + "_" + output field: weighted sum of the mean under way


@dataclass
class MeanCarry:
    """An output time mean under way, as a restart carries it: ``config`` (JSON of the output
    configuration it belongs to), ``count`` (total weight, in steps), ``start_s`` (start of its
    interval, s since start_date) and ``sums`` (field -> weighted sum: on write this rank's
    interior tile, on read this rank's tile; empty when count is 0)."""
    config: str
    count: float
    start_s: float
    sums: dict = field(default_factory=dict)


def _identity(cfg) -> dict:
    """The configuration keys a restart must agree with, flattened: {'grid.nz': 36, ...}."""
    raw = cfg.to_dict()
    return {f"{sec}.{k}": v for sec, key in MUST_MATCH for k, v in raw[sec].items()
            if (key is None or k == key) and (sec, k) != ("grid", "halo")}


def _tile_window(g) -> tuple[slice, slice]:
    """This rank's tile in the global (y, x) arrays of a restart file."""
    return slice(g.j0, g.j0 + g.ny), slice(g.i0, g.i0 + g.nx)


def written_identity(nc) -> dict:
    """The identity a restart was written with (open ``netCDF4.Dataset``), flat: {'grid.nz': 36,
    ...}; empty if it has none or cannot be read."""
    try:
        written = json.loads(nc.identity) if "identity" in nc.ncattrs() else {}
    except ValueError:
        return {}
    if any(isinstance(v, dict) for v in written.values()):        # files of version 0.1: nested
        written = {f"{sec}.{k}": v for sec, keys in written.items() for k, v in keys.items()}
    return written


def _identity_differences(written: dict, ours: dict) -> str:
    keys = sorted(set(written) | set(ours))
    return ", ".join(f"{k} {written.get(k, '(none)')!r} != {ours.get(k, '(none)')!r}"
                     for k in keys if written.get(k) != ours.get(k))


def write(model, path: Path, settle_closure: bool = True, output=None) -> None:
    """Gather the state on rank 0 and write it atomically to ``path``. A lagged closure's
    pending result is received first (``settle_closure``; not for a failure state), and every
    closure hears of the restart afterwards (``Closure.restart_written``). ``output`` (a
    ``RunOutput``): its mean under way (``output.carry()``, a MeanCarry or None) is written too.
    Collective over the ocean ranks."""
    _write(model, Path(path), settle_closure, output)
    if settle_closure:
        for hook in model.closures:
            hook.restart_written(Path(path))


def _write(model, path: Path, settle_closure: bool, output) -> None:
    s, g = model.state, model.grid
    restart_fields = model.fields.restart()
    arrays = [g.interior_of(f.get(model)) for f in restart_fields]
    lagged = {}
    if settle_closure:
        for hook in model.closures:
            tile = hook.lagged_result()
            if tile is not None:
                lagged[hook.name] = tile
    carry = output.carry() if output is not None else None
    sums = carry.sums if carry is not None else {}
    full = model.domain.gather(arrays + list(lagged.values()) + list(sums.values()))
    if full is None:
        return
    nfix = len(restart_fields) + len(lagged)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with netCDF4.Dataset(tmp, "w") as nc:
        nz, ny, nx = g.nz, g.ny_glo, g.nx_glo
        nc.createDimension("z", nz)
        nc.createDimension("y", ny)
        nc.createDimension("x", nx)
        for f, arr in zip(restart_fields, full):
            var = nc.createVariable(f.name, "f8", ("z", "y", "x") if f.ndim == 3 else ("y", "x"))
            var[:] = arr
            var.units, var.long_name, var.point = f.units, f.long_name, f.point
        for (name, _), arr in zip(lagged.items(), full[len(restart_fields):]):
            dim = f"closure_channel_{name}"
            nc.createDimension(dim, arr.shape[0])
            var = nc.createVariable(f"{LAGGED}_{name}", "f8", (dim, "y", "x"))
            var[:] = arr
            var.closure = name
            var.long_name = f"result of closure {name} that the next step applies (lagged mode)"
        if carry is not None:
            _write_mean(nc, carry, full[nfix:], nz)
        nc.nstep = int(s.nstep)
        nc.time_s = float(s.time_s)
        nc.identity = json.dumps(_identity(model.cfg), sort_keys=True)
        nc.title = "ocean restart"
    os.replace(tmp, path)


def _write_mean(nc, carry: MeanCarry, full: list, nz: int) -> None:
    """The output mean under way: attributes, and the gathered sums (global arrays)."""
    nc.output_mean_config = carry.config
    nc.output_mean_count = float(carry.count)
    nc.output_mean_start_s = float(carry.start_s)
    for name, arr in zip(carry.sums, full):
        if arr.ndim == 3 and arr.shape[0] != nz and f"z{arr.shape[0]}" not in nc.dimensions:
            nc.createDimension(f"z{arr.shape[0]}", arr.shape[0])
        dims = (("z" if arr.shape[0] == nz else f"z{arr.shape[0]}",) if arr.ndim == 3 else ()) + ("y", "x")
        var = nc.createVariable(f"{MEAN_SUM}_{name}", "f8", dims)
        var[:] = arr
        var.long_name = f"weighted sum of output field {name} over the output interval under way"


def read_output_mean(model, path: Path) -> MeanCarry | None:
    """The output mean under way that restart ``path`` carries, with this rank's tiles of the
    sums, or None if it carries none (written without mean output, or by an older version)."""
    g = model.grid
    with netCDF4.Dataset(path) as nc:
        if "output_mean_config" not in nc.ncattrs():
            return None
        carry = MeanCarry(str(nc.output_mean_config), float(nc.output_mean_count), float(nc.output_mean_start_s))
        sl = _tile_window(g)
        for name, var in nc.variables.items():
            if name.startswith(MEAN_SUM + "_"):
                var.set_auto_maskandscale(False)
                lead = (slice(None),) if var.ndim == 3 else ()
                carry.sums[name[len(MEAN_SUM) + 1:]] = np.array(var[lead + sl], dtype=np.float64)
    return carry


def read(model, path: Path) -> None:
    """Set the model's state from a restart file (every rank reads its own tile)."""
    path = Path(path)
    s, g = model.state, model.grid
    try:
        nc = netCDF4.Dataset(path)
    except (OSError, FileNotFoundError) as exc:
        raise ConfigError(f"{path}: cannot open restart file ({exc})") from None
    restart_fields = model.fields.restart()
    with nc:
        absent = [f for f in restart_fields if f.name not in nc.variables]
        missing = [f.name for f in absent if not f.cold_start]
        if missing or "identity" not in nc.ncattrs():
            raise ConfigError(f"{path}: not a restart file of this model (missing {', '.join(missing) or 'identity'})")
        if absent:
            restart_fields = [f for f in restart_fields if f not in absent]
            if model.domain.is_root:
                log.warning(f"{path}: no {', '.join(f.name for f in absent)} (written by a run without the process "
                            "that owns them): they start from their initial values")
        written = written_identity(nc)
        ours = _identity(model.cfg)
        if written:     # a key added to the model after the file was written had its default then
            written = {**_identity(config.from_dict({})), **written}
        if written != ours:
            raise ConfigError(f"{path}: restart was written with another grid, time step or EOS than the "
                              f"configuration: {_identity_differences(written, ours) or nc.identity}")
        s.nstep, s.time_s = int(nc.nstep), float(nc.time_s)       # first: the history fields depend on it
        j, i = g.interior
        sl = _tile_window(g)
        for f in restart_fields:
            if f.ndim == 3:
                f.get(model)[:, j, i] = nc.variables[f.name][(slice(None),) + sl]
            else:
                f.get(model)[j, i] = nc.variables[f.name][sl]
        for hook in model.closures:
            name = f"{LAGGED}_{hook.name}"
            if name in nc.variables:
                hook.restore_lagged_result(nc.variables[name][(slice(None),) + sl])
    for ndim in (3, 2):                 # halos of every restarted field (the ubar history is used with its halo)
        model.halo.exchange(*[f.get(model) for f in restart_fields if f.ndim == ndim])
