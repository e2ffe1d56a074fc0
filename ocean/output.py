"""CF-1.8 netCDF output for an Arakawa C-grid ocean model.

Self-contained: takes plain numpy arrays and imports nothing else from ``ocean``.
Files open with a single ``xarray.open_dataset(path)`` call; ``time`` decodes to
``cftime.Datetime360Day`` (360-day calendar: twelve 30-day months).

Grid conventions (interior points only, no halos)::

    T (tracers)   at (y_t, x_t)      cell centres, depth_t
    U (zonal)     at (y_t, x_u)      x_u half a cell east of x_t   (c_grid_axis_shift = +0.5)
    V (merid.)    at (y_v, x_t)      y_v half a cell north of y_t  (c_grid_axis_shift = +0.5)
    F (vorticity) at (y_v, x_u)      cell corners
    W (vertical)  at (y_t, x_t)      depth_w: top face of level k  (c_grid_axis_shift = -0.5)
    UW, VW        at (y_t, x_u), (y_v, x_t), depth_w: W levels of U and V columns (streamfunctions)

Depths are in metres, positive down.  Times are model seconds since ``start_date``.
Fields are stored as float32 with NaN (land) written as ``_FillValue``; coordinates are float64.
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from typing import Mapping

import cftime
import netCDF4
import numpy as np

__all__ = ["FieldSpec", "AxisSpec", "NetcdfWriter", "OutputMismatch", "TimeMean", "drop_records_from"]

CALENDAR = "360_day"
FILL_VALUE = np.float32(netCDF4.default_fillvals["f4"])  # 9.96921e36

# horizontal dims (y, x) per C-grid point and vertical dim for 3-D fields
_HDIMS = {"T": ("y_t", "x_t"), "U": ("y_t", "x_u"), "V": ("y_v", "x_t"),
          "F": ("y_v", "x_u"), "W": ("y_t", "x_t"), "UW": ("y_t", "x_u"), "VW": ("y_v", "x_t")}
_ZDIM = {"T": "depth_t", "U": "depth_t", "V": "depth_t", "F": "depth_t", "W": "depth_w", "UW": "depth_w",
         "VW": "depth_w"}


@dataclass(frozen=True)
class FieldSpec:
    """One output variable.

    name: variable name in the file (e.g. "thetao"); point: C-grid point "T", "U", "V", "F" or "W";
    ndim: 2 for (y, x) or 3 for (z, y, x) (W fields must be 3-D); units: UDUNITS string (e.g. "degC",
    "m s-1"); long_name: description; standard_name: CF standard name, if one exists.
    """
    name: str
    point: str
    ndim: int
    units: str
    long_name: str
    standard_name: str | None = None

    def __post_init__(self):
        if self.point not in _HDIMS:
            raise ValueError(f"{self.name}: point must be one of T,U,V,F,W,UW,VW, got {self.point!r}")
        if self.ndim not in (2, 3):
            raise ValueError(f"{self.name}: ndim must be 2 or 3, got {self.ndim}")
        if self.point in ("W", "UW", "VW") and self.ndim != 3:
            raise ValueError(f"{self.name}: W-point fields must be 3-D")


@dataclass(frozen=True)
class AxisSpec:
    """1-D grid coordinates of the interior points.

    x_t, x_u: (nx,) x of T and U points (U east of T), in ``x_units`` ("degrees_east" or "m").
    y_t, y_v: (ny,) y of T and V points (V north of T), in ``y_units`` ("degrees_north" or "m").
    depth_t: (nz,) depth of T-level centres [m, positive down].
    depth_w: (nz,) depth of the top face of each level [m, positive down]; depth_w[0] = 0.
    static: fields written once without a time dimension,
        name -> (point, array (ny, nx) or (nz, ny, nx), units, long_name), e.g. areas, masks, bathymetry.
    """
    x_t: np.ndarray
    x_u: np.ndarray
    y_t: np.ndarray
    y_v: np.ndarray
    depth_t: np.ndarray
    depth_w: np.ndarray
    x_units: str
    y_units: str
    static: dict[str, tuple[str, np.ndarray, str, str]] = field(default_factory=dict)


def _axis_attrs(name: str, axes: AxisSpec) -> dict:
    """CF attributes of coordinate variable ``name``."""
    if name.startswith("x"):
        sph = axes.x_units.startswith("degree")
        a = {"units": axes.x_units, "axis": "X",
             "standard_name": "longitude" if sph else "projection_x_coordinate",
             "long_name": ("longitude" if sph else "x coordinate") + (" of T points" if name == "x_t" else " of U points")}
        if name == "x_u":
            a["c_grid_axis_shift"] = 0.5
    elif name.startswith("y"):
        sph = axes.y_units.startswith("degree")
        a = {"units": axes.y_units, "axis": "Y",
             "standard_name": "latitude" if sph else "projection_y_coordinate",
             "long_name": ("latitude" if sph else "y coordinate") + (" of T points" if name == "y_t" else " of V points")}
        if name == "y_v":
            a["c_grid_axis_shift"] = 0.5
    else:
        a = {"units": "m", "axis": "Z", "positive": "down", "standard_name": "depth",
             "long_name": "depth of T-level centres" if name == "depth_t" else "depth of W points (top of level)"}
        if name == "depth_w":
            a["c_grid_axis_shift"] = -0.5
    return a


def _dims(point: str, ndim: int) -> tuple[str, ...]:
    return ((_ZDIM[point],) if ndim == 3 else ()) + _HDIMS[point]


class OutputMismatch(ValueError):
    """An existing file cannot be continued: other fields, grid, mode or time units."""


class NetcdfWriter:
    """Append-only CF-1.8 netCDF writer, one record per ``write`` call.

    path: file to create (overwritten if present), or with ``append=True`` an existing file of
    the same fields, grid, mode and time units to extend (created if absent; anything else
    raises ``OutputMismatch`` and leaves the file untouched).  axes: grid coordinates.  fields:
    time-dependent variables.  start_date: "YYYY-MM-DD" (or "YYYY-MM-DD hh:mm:ss") origin of model
    time, 360-day calendar.  title / attrs: global attributes (of a new file).  mode: "mean"
    (records are time means over an interval: cell_methods "time: mean" plus ``time_bounds``) or
    "snapshot" (cell_methods "time: point").  keep_until_s: when appending, the records of the
    file that end later than this [s since start_date] (upper time bound of a mean, time of a
    snapshot) are dropped first (``dropped`` tells how many): they are about to be written again;
    so are records a killed writer left without their time (``incomplete``).
    history: a line for the ``history`` attribute.

    Every record is synced to disk, so a crash leaves earlier records readable.
    """

    def __init__(self, path, axes: AxisSpec, fields: list[FieldSpec], *, start_date: str = "0001-01-01",
                 title: str = "", attrs: dict | None = None, mode: str = "mean", append: bool = False,
                 keep_until_s: float | None = None, history: str = "created by ocean.output.NetcdfWriter"):
        if mode not in ("mean", "snapshot"):
            raise ValueError(f"mode must be 'mean' or 'snapshot', got {mode!r}")
        self.mode = mode
        self.fields = {f.name: f for f in fields}
        if len(self.fields) != len(fields):
            raise ValueError("duplicate field names")
        clash = set(self.fields) & (set(axes.static) | set(_ZDIM.values()) | {"time", "time_bounds", "x_t", "x_u", "y_t", "y_v"})
        if clash:
            raise ValueError(f"variable names clash: {sorted(clash)}")
        origin = start_date.strip() if len(start_date.strip()) > 10 else f"{start_date.strip()} 00:00:00"
        self.time_units = f"seconds since {origin}"
        cftime.num2date(0.0, self.time_units, CALENDAR)  # validate start_date early

        coords = {n: np.asarray(getattr(axes, n), dtype=np.float64)
                  for n in ("x_t", "x_u", "y_t", "y_v", "depth_t", "depth_w")}
        for n, c in coords.items():
            if c.ndim != 1:
                raise ValueError(f"{n} must be 1-D")
        for a, b in (("x_t", "x_u"), ("y_t", "y_v"), ("depth_t", "depth_w")):
            if coords[a].size != coords[b].size:
                raise ValueError(f"{a} and {b} must have the same length")
        self._size = {n: c.size for n, c in coords.items()}
        self._n = 0
        self._last_t: float | None = None
        self._last_upper = 0.0
        self.dropped = self.incomplete = 0
        stamp = _stamp(history)
        if append and os.path.exists(path):
            self._reopen(path, coords, stamp, keep_until_s)
        else:
            self._create(path, axes, coords, title, attrs, stamp)

    def _create(self, path, axes: AxisSpec, coords: dict, title: str, attrs: dict | None, stamp: str) -> None:
        """A new file with its dimensions, coordinates, static fields and empty records."""
        self._ds = ds = netCDF4.Dataset(path, "w", format="NETCDF4")
        try:
            ds.setncattr("Conventions", "CF-1.8")
            ds.setncattr("title", title)
            ds.setncattr("history", stamp)
            for k, v in (attrs or {}).items():
                ds.setncattr(k, v)

            ds.createDimension("time", None)
            for n, c in coords.items():
                ds.createDimension(n, c.size)
            ds.createDimension("bnds", 2)

            t = ds.createVariable("time", "f8", ("time",))
            t.setncatts({"units": self.time_units, "calendar": CALENDAR, "axis": "T",
                         "standard_name": "time", "long_name": "time"})
            if self.mode == "mean":
                t.bounds = "time_bounds"
                tb = ds.createVariable("time_bounds", "f8", ("time", "bnds"))
                tb.setncatts({"units": self.time_units, "calendar": CALENDAR,
                              "long_name": "time interval of the mean"})
            for n, c in coords.items():
                v = ds.createVariable(n, "f8", (n,))
                v.setncatts(_axis_attrs(n, axes))
                v[:] = c

            for name, (point, arr, units, long_name) in axes.static.items():
                arr = np.asarray(arr)
                v = ds.createVariable(name, "f4", self._check(name, point, arr), fill_value=FILL_VALUE)
                v.setncatts({"units": units, "long_name": long_name})
                v[:] = np.ma.masked_invalid(arr.astype(np.float32))

            cm = "time: mean" if self.mode == "mean" else "time: point"
            for f in self.fields.values():
                v = ds.createVariable(f.name, "f4", ("time",) + _dims(f.point, f.ndim), fill_value=FILL_VALUE)
                a = {"units": f.units, "long_name": f.long_name, "cell_methods": cm}
                if f.standard_name:
                    a["standard_name"] = f.standard_name
                v.setncatts(a)
            ds.sync()
        except BaseException:
            ds.close()
            raise

    def _reopen(self, path, coords: dict, stamp: str, keep_until_s: float | None) -> None:
        """Open an existing file for more records, after checking it matches (else OutputMismatch);
        records without their time, and those ending after ``keep_until_s`` [s], are dropped."""
        try:
            ds = netCDF4.Dataset(path, "r")
        except OSError as exc:
            raise OutputMismatch(f"cannot open it ({exc})") from None
        with ds:
            diffs = _differences(ds, self.fields, coords, self.mode, self.time_units)
            if diffs:
                raise OutputMismatch("; ".join(diffs))
            complete = _complete_records(ds)
            have = len(ds.dimensions["time"])
            n = complete if keep_until_s is None else \
                int(np.count_nonzero(_record_ends(ds) <= keep_until_s + 1e-6))
        if n < have:                        # incomplete records (a killed writer), records to write again
            drop_records_from(path, n, f"a continued run writes the records after {keep_until_s} s again"
                              if n < complete else "incomplete (no time)")
        self.dropped, self.incomplete = complete - n, have - complete
        self._ds = ds = netCDF4.Dataset(path, "a")
        ds.setncattr("history", _appended(ds.getncattr("history") if "history" in ds.ncattrs() else None, stamp))
        ds.sync()
        self._n = n
        if n:
            self._last_t = float(ds.variables["time"][n - 1])
            self._last_upper = float(ds.variables["time_bounds"][n - 1, 1]) if self.mode == "mean" else self._last_t

    def _check(self, name: str, point: str, arr: np.ndarray) -> tuple[str, ...]:
        """Return the (non-time) dims of ``arr`` at ``point``, checking its shape."""
        if point not in _HDIMS or arr.ndim not in (2, 3) or (point in ("W", "UW", "VW") and arr.ndim != 3):
            raise ValueError(f"{name}: bad point {point!r} or ndim {arr.ndim}")
        dims = _dims(point, arr.ndim)
        shape = tuple(self._size[d] for d in dims)
        if arr.shape != shape:
            raise ValueError(f"{name}: shape {arr.shape} != expected {shape} {dims}")
        return dims

    @property
    def nrecords(self) -> int:
        """Number of records written so far."""
        return self._n

    @property
    def last_end_s(self) -> float | None:
        """End of the last record [s since start_date] (upper time bound of a mean, time of a
        snapshot), None without records."""
        return None if self._last_t is None else (self._last_upper if self.mode == "mean" else self._last_t)

    def write(self, time_s: float, data: Mapping[str, np.ndarray],
              time_bounds_s: tuple[float, float] | None = None) -> None:
        """Append one record.

        time_s: model time [s since start_date], strictly increasing.  data: every field name ->
        float array (ny, nx) or (nz, ny, nx); NaN/inf are stored as _FillValue.  time_bounds_s:
        (start, end) [s] of the averaging interval (mean mode only); default (end of the previous
        record's interval, or 0 for the first record, time_s).
        """
        missing = set(self.fields) - set(data)
        extra = set(data) - set(self.fields)
        if missing or extra:
            raise KeyError(f"write(): missing fields {sorted(missing)}, unknown fields {sorted(extra)}")
        time_s = float(time_s)
        if self._last_t is not None and not time_s > self._last_t:
            raise ValueError(f"time must increase: {time_s} <= {self._last_t}")
        if self.mode == "snapshot":
            if time_bounds_s is not None:
                raise ValueError("time_bounds_s is only valid in mode='mean'")
        else:
            lo, hi = (self._last_upper, time_s) if time_bounds_s is None else map(float, time_bounds_s)
            if not lo <= time_s <= hi:
                raise ValueError(f"need time_bounds[0] <= time <= time_bounds[1], got {lo}, {time_s}, {hi}")
        arrays = {}
        for name, f in self.fields.items():
            arr = np.asarray(data[name])
            if arr.ndim != f.ndim:
                raise ValueError(f"{name}: expected {f.ndim}-D array, got shape {arr.shape}")
            self._check(name, f.point, arr)
            arrays[name] = arr
        n = self._n
        for name, arr in arrays.items():
            self._ds.variables[name][n] = np.ma.masked_invalid(arr.astype(np.float32))
        if self.mode == "mean":
            self._ds.variables["time_bounds"][n, :] = (lo, hi)
            self._last_upper = hi
        self._ds.variables["time"][n] = time_s  # written last: the record is complete once time exists
        self._ds.sync()
        self._n += 1
        self._last_t = time_s

    def sync(self) -> None:
        """Flush buffered data to disk."""
        if self._ds.isopen():
            self._ds.sync()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._ds.isopen():
            self._ds.close()

    def __enter__(self) -> "NetcdfWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _differences(ds, fields: dict, coords: dict, mode: str, time_units: str) -> list[str]:
    """What makes the open dataset ``ds`` another dataset than the one described (empty: none):
    time units and calendar, mean or snapshot, the time-dependent fields (dims, units), the grid."""
    diffs = []
    if "time" not in ds.variables or "time" not in ds.dimensions:
        return ["no time axis"]
    t = ds.variables["time"]
    units, cal = getattr(t, "units", "(none)"), getattr(t, "calendar", "(none)")
    if units != time_units:
        diffs.append(f"time units {units!r} != {time_units!r}")
    if cal != CALENDAR:
        diffs.append(f"calendar {cal!r} != {CALENDAR!r}")
    has_mean = "time_bounds" in ds.variables
    if has_mean != (mode == "mean"):
        diffs.append(f"mode {'mean' if has_mean else 'snapshot'} != {mode}")
    theirs = {n for n, v in ds.variables.items() if v.dimensions[:1] == ("time",) and n not in ("time", "time_bounds")}
    if theirs != set(fields):
        diffs.append(f"fields {', '.join(sorted(theirs))} != {', '.join(sorted(fields))}")
    for name in sorted(theirs & set(fields)):
        f, v = fields[name], ds.variables[name]
        want = ("time",) + _dims(f.point, f.ndim)
        if v.dimensions != want:
            diffs.append(f"{name} dims {v.dimensions} != {want}")
        elif getattr(v, "units", None) != f.units:
            diffs.append(f"{name} units {getattr(v, 'units', '(none)')!r} != {f.units!r}")
    for name, c in coords.items():
        if name not in ds.variables:
            diffs.append(f"grid: no {name}")
            continue
        theirs_c = np.asarray(ds.variables[name][:], dtype=np.float64)
        if theirs_c.shape != c.shape:
            diffs.append(f"grid: {name} has {theirs_c.size} points != {c.size}")
        elif not np.allclose(theirs_c, c, rtol=1e-12, atol=1e-9):
            diffs.append(f"grid: {name} values differ (by up to {np.max(np.abs(theirs_c - c)):.3g})")
    return diffs


def _complete_records(ds) -> int:
    """Number of leading records that have their time (written last, so they are complete)."""
    t = np.ma.getmaskarray(ds.variables["time"][:]) if len(ds.dimensions["time"]) else np.zeros(0, bool)
    bad = np.flatnonzero(t)
    return int(bad[0]) if bad.size else int(t.size)


def _stamp(note: str) -> str:
    """A line of the ``history`` attribute: the UTC time and ``note``."""
    return f"{_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}: {note}"


def _appended(history: str | None, stamp: str) -> str:
    return stamp if history is None else f"{history}\n{stamp}"


def _record_ends(ds) -> np.ndarray:
    """End of each complete record of the open dataset ``ds`` [s since start_date]: the upper
    time bound of a mean, the time of a snapshot."""
    n = _complete_records(ds)
    if "time_bounds" in ds.variables:
        return np.asarray(ds.variables["time_bounds"][:n, 1], dtype=np.float64)
    return np.asarray(ds.variables["time"][:n], dtype=np.float64)


def drop_records_from(path, keep: int, why: str = "") -> int:
    """Keep the first ``keep`` records of ``path`` and drop the others; returns how many were
    dropped. netCDF cannot shrink its unlimited dimension: the file is copied without them to
    ``PATH.tmp``, which then replaces it atomically (a crash leaves the old file whole)."""
    path = str(path)
    tmp = path + ".tmp"
    with netCDF4.Dataset(path) as src:
        have = len(src.dimensions["time"])
        if keep >= have:
            return 0
        try:
            with netCDF4.Dataset(tmp, "w", format=src.data_model) as dst:
                _copy_head(src, dst, keep, f"{have - keep} record(s) dropped" + (f": {why}" if why else ""))
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
    os.replace(tmp, path)
    return have - keep


def _copy_head(src, dst, keep: int, note: str) -> None:
    """Copy dataset ``src`` into the empty ``dst``, only its first ``keep`` records."""
    attrs = {k: src.getncattr(k) for k in src.ncattrs()}
    attrs["history"] = _appended(attrs.get("history"), _stamp(note))
    dst.setncatts(attrs)
    for name, dim in src.dimensions.items():
        dst.createDimension(name, None if dim.isunlimited() else len(dim))
    for name, var in src.variables.items():
        fill = var.getncattr("_FillValue") if "_FillValue" in var.ncattrs() else None
        v = dst.createVariable(name, var.datatype, var.dimensions, fill_value=fill)
        v.setncatts({k: var.getncattr(k) for k in var.ncattrs() if k != "_FillValue"})
        var.set_auto_maskandscale(False)
        v.set_auto_maskandscale(False)
        if var.dimensions[:1] == ("time",):
            if keep:
                v[:keep] = var[:keep]
        elif var.dimensions:
            v[:] = var[:]
        else:
            v.assignValue(var.getValue())


class TimeMean:
    """Weighted running time mean of a set of fields, in preallocated float64 arrays.

    ``add`` does no allocation.  NaN (land) propagates, so land stays NaN in the mean.
    Arrays returned by ``mean`` are views into an internal buffer that is reused (and overwritten)
    by the next ``add`` or ``mean``; copy them if they must persist.
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]]):
        self._sum = {k: np.zeros(s, dtype=np.float64) for k, s in shapes.items()}
        self._buf = {k: np.zeros(s, dtype=np.float64) for k, s in shapes.items()}
        self._count = 0.0

    def add(self, data: Mapping[str, np.ndarray], weight: float = 1.0) -> None:
        """Accumulate ``weight * data[name]`` for every field (weight > 0, e.g. the time step in s)."""
        if not weight > 0:
            raise ValueError(f"weight must be > 0, got {weight}")
        for name, acc in self._sum.items():
            arr = data[name]
            if arr.shape != acc.shape:
                raise ValueError(f"{name}: shape {arr.shape} != {acc.shape}")
            if weight == 1.0:
                np.add(acc, arr, out=acc)
            else:
                buf = self._buf[name]
                np.multiply(arr, weight, out=buf)
                np.add(acc, buf, out=acc)
        self._count += weight

    def mean(self) -> dict[str, np.ndarray]:
        """Return name -> weighted mean since the last reset (views into an internal buffer)."""
        if self._count <= 0:
            raise ValueError("TimeMean.mean() called with no data accumulated")
        inv = 1.0 / self._count
        for name, acc in self._sum.items():
            np.multiply(acc, inv, out=self._buf[name])
        return dict(self._buf)

    def reset(self) -> None:
        """Zero the accumulators."""
        for acc in self._sum.values():
            acc.fill(0.0)
        self._count = 0.0

    @property
    def count(self) -> float:
        """Sum of the weights accumulated since the last reset."""
        return self._count

    @property
    def sums(self) -> dict[str, np.ndarray]:
        """name -> weighted sum since the last reset (the accumulators themselves: do not modify)."""
        return dict(self._sum)

    def restore(self, sums: Mapping[str, np.ndarray], count: float) -> None:
        """Continue a mean from weighted sums and their total weight (e.g. carried by a restart)."""
        for name, acc in self._sum.items():
            arr = np.asarray(sums[name], dtype=np.float64)
            if arr.shape != acc.shape:
                raise ValueError(f"{name}: shape {arr.shape} != {acc.shape}")
            acc[...] = arr
        self._count = float(count)
