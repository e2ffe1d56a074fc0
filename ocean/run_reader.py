"""Read what runs wrote, for analysis: the complete records of ``RUNDIR/output.nc`` and the
global diagnostics lines of ``RUNDIR/run.log``, for one run directory or for a spin-up split
over several (continuations into other directories), concatenated in time.

Works on a run that is still writing: files are opened with HDF5 file locking off
(``HDF5_USE_FILE_LOCKING=FALSE``, set here before the first open unless the caller set it),
and only the leading records whose time is written are read (the writer stores a record's
time last). Where directories overlap in time (a continuation that rewrote records, or the
same records in two directories), the directory named later wins.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DAY_S = 86400.0
YEAR_S = 360.0 * DAY_S          # the model's 360-day year
_DIAG_LINE = re.compile(r"step (\d+) day ([-+0-9.eE]+): (.*)$")


class RunReadError(ValueError):
    """A run directory that cannot be read (no output.nc, other grid or time units)."""


@dataclass
class RunRecords:
    """The records of one or more run directories, in time order, each record once.

    ``grid``: the first directory's dataset without its records (coordinates and static
    fields, loaded); ``time_s`` / ``start_s`` / ``end_s`` (s since the start date): the time
    stamp and the averaging interval of each record (start = end = time for snapshots);
    ``sources``: per record, (index of the dataset in ``datasets``, record index in it).
    """
    grid: object
    datasets: list
    time_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    sources: list

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def years(self) -> np.ndarray:
        """Record time stamps in model years (360-day years since the start date)."""
        return self.time_s / YEAR_S

    def has(self, name: str) -> bool:
        """Does every directory's output hold field ``name``?"""
        return all(name in ds.variables for ds in self.datasets)

    def read(self, name: str, records, **isel) -> np.ndarray:
        """Field ``name`` (float64, NaN on land) of the records ``records`` (indices into
        this object), stacked on a first axis; ``isel``: further indexing of the field's own
        dimensions (e.g. ``x_u=0``)."""
        out = []
        for r in np.atleast_1d(records):
            d, k = self.sources[int(r)]
            out.append(np.asarray(self.datasets[d][name].isel(time=k, **isel).values, dtype=np.float64))
        return np.stack(out) if out else np.zeros((0,))

    def close(self) -> None:
        for ds in self.datasets:
            ds.close()


def complete_records(times) -> int:
    """Number of leading records whose time is written: finite and not netCDF's default fill
    value (9.97e36, what an unwritten element of the time variable reads as; the writer gives
    ``time`` no ``_FillValue``, so xarray does not mask it)."""
    t = np.asarray(times, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(t) | (np.abs(t) > 1e30))
    return int(bad[0]) if bad.size else int(t.size)


def open_output(rundir, needs=(), decode_times: bool = False):
    """``RUNDIR/output.nc`` as an xarray Dataset of its complete records only (HDF5 locking
    off, so a run may still be writing it); times decoded to cftime dates if
    ``decode_times``, else seconds since the start date. Raises :class:`RunReadError` for a
    missing or unreadable file or a field of ``needs`` (output names) that it lacks."""
    import xarray as xr

    os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
    path = Path(rundir) / "output.nc"
    if not path.is_file():
        raise RunReadError(f"{path}: no such file (is {rundir} a run directory?)")
    try:
        ds = xr.open_dataset(path, decode_times=False, mask_and_scale=True)
    except (OSError, ValueError) as exc:
        raise RunReadError(f"{path}: cannot be read ({exc})") from None
    missing = [f for f in needs if f not in ds.variables]
    if missing:
        ds.close()
        raise RunReadError(f"{path} lacks field(s) {', '.join(missing)} (key output.fields)")
    if "time" in ds.dims:
        ds = ds.isel(time=slice(0, complete_records(ds["time"].values)))
    if decode_times:
        ds = xr.decode_cf(ds, mask_and_scale=False, decode_times=True)
    return ds


def open_runs(rundirs, needs=()) -> RunRecords:
    """The records of ``RUNDIR/output.nc`` for each run directory in ``rundirs`` (in the order
    of a spin-up: later directories win where records overlap in time). Raises
    :class:`RunReadError` for a missing file, a grid other than the first's, other time
    units, or a field of ``needs`` (output names) that a file lacks."""
    datasets, rows = [], []          # rows: (end_s, directory order, time_s, start_s, d, k)
    units = None
    for d, rundir in enumerate(rundirs):
        path = Path(rundir) / "output.nc"
        ds = open_output(rundir, needs)
        datasets.append(ds)
        u = ds["time"].attrs.get("units", "")
        if units is None:
            units = u
        elif u != units:
            raise RunReadError(f"{path}: time units {u!r} differ from {units!r} of {Path(rundirs[0]) / 'output.nc'}")
        if not u.startswith("seconds since"):
            raise RunReadError(f"{path}: time units {u!r} are not 'seconds since ...'")
        for name in ("y_t", "y_v", "x_t", "x_u", "depth_t", "depth_w"):
            if datasets[0][name].shape != ds[name].shape or not np.allclose(datasets[0][name], ds[name]):
                raise RunReadError(f"{path}: its grid ({name}) differs from that of {Path(rundirs[0]) / 'output.nc'}")
        t = np.asarray(ds["time"].values, dtype=np.float64)
        if "time_bounds" in ds.variables:
            b = np.asarray(ds["time_bounds"].values, dtype=np.float64)
            start, end = b[:, 0], b[:, 1]
        else:
            start, end = t, t
        rows += [(end[k], d, t[k], start[k], d, k) for k in range(t.size)]
    rows.sort(key=lambda r: (round(r[0]), r[1]))
    kept = []
    for r in rows:                                   # one record per end time: the later directory's
        if kept and abs(kept[-1][0] - r[0]) < 1.0:
            kept[-1] = r
        else:
            kept.append(r)
    grid = datasets[0].drop_dims("time").load() if datasets else None
    return RunRecords(grid=grid, datasets=datasets,
                      time_s=np.array([r[2] for r in kept]), start_s=np.array([r[3] for r in kept]),
                      end_s=np.array([r[0] for r in kept]), sources=[(r[4], r[5]) for r in kept])


def read_diagnostics(rundirs) -> dict[str, np.ndarray]:
    """The global diagnostics lines (``step N day D: key=value ...``, written every
    ``run.diagnostics_every_steps``) of ``RUNDIR/run.log`` of each run directory, as arrays
    ``step``, ``day`` and one per key, sorted by step; a step logged twice (a continuation
    that redid steps) keeps its last line, later directories last. Missing logs or lines
    give empty arrays."""
    by_step: dict[int, dict[str, float]] = {}
    for rundir in rundirs:
        path = Path(rundir) / "run.log"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = _DIAG_LINE.search(line.rstrip("\n"))
                if not m:
                    continue
                row = {"day": float(m.group(2))}
                for item in m.group(3).split():
                    key, _, val = item.partition("=")
                    try:
                        row[key] = float(val)
                    except ValueError:
                        continue
                by_step[int(m.group(1))] = row
    steps = sorted(by_step)
    keys = sorted({k for r in by_step.values() for k in r})
    out = {"step": np.array(steps, dtype=np.int64)}
    for k in keys:
        out[k] = np.array([by_step[s].get(k, np.nan) for s in steps], dtype=np.float64)
    if "day" not in out:
        out["day"] = np.zeros(0)
    return out
