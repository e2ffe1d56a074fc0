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

Depths are in metres, positive down.  Times are model seconds since ``start_date``.
Fields are stored as float32 with NaN (land) written as ``_FillValue``; coordinates are float64.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Mapping

import cftime
import netCDF4
import numpy as np

__all__ = ["FieldSpec", "AxisSpec", "NetcdfWriter", "TimeMean"]

CALENDAR = "360_day"
FILL_VALUE = np.float32(netCDF4.default_fillvals["f4"])  # 9.96921e36

# horizontal dims (y, x) per C-grid point and vertical dim for 3-D fields
_HDIMS = {"T": ("y_t", "x_t"), "U": ("y_t", "x_u"), "V": ("y_v", "x_t"),
          "F": ("y_v", "x_u"), "W": ("y_t", "x_t")}
_ZDIM = {"T": "depth_t", "U": "depth_t", "V": "depth_t", "F": "depth_t", "W": "depth_w"}


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
            raise ValueError(f"{self.name}: point must be one of T,U,V,F,W, got {self.point!r}")
        if self.ndim not in (2, 3):
            raise ValueError(f"{self.name}: ndim must be 2 or 3, got {self.ndim}")
        if self.point == "W" and self.ndim != 3:
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


class NetcdfWriter:
    """Append-only CF-1.8 netCDF writer, one record per ``write`` call.

    path: file to create (overwritten if present).  axes: grid coordinates.  fields: time-dependent
    variables.  start_date: "YYYY-MM-DD" (or "YYYY-MM-DD hh:mm:ss") origin of model time, 360-day
    calendar.  title / attrs: global attributes.  mode: "mean" (records are time means over an
    interval: cell_methods "time: mean" plus ``time_bounds``) or "snapshot" (cell_methods "time: point").

    Every record is synced to disk, so a crash leaves earlier records readable.
    """

    def __init__(self, path, axes: AxisSpec, fields: list[FieldSpec], *, start_date: str = "0001-01-01",
                 title: str = "", attrs: dict | None = None, mode: str = "mean"):
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

        self._ds = ds = netCDF4.Dataset(path, "w", format="NETCDF4")
        try:
            ds.setncattr("Conventions", "CF-1.8")
            ds.setncattr("title", title)
            ds.setncattr("history", f"{_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}: "
                                    "created by ocean.output.NetcdfWriter")
            for k, v in (attrs or {}).items():
                ds.setncattr(k, v)

            ds.createDimension("time", None)
            for n, c in coords.items():
                ds.createDimension(n, c.size)
            ds.createDimension("bnds", 2)

            t = ds.createVariable("time", "f8", ("time",))
            t.setncatts({"units": self.time_units, "calendar": CALENDAR, "axis": "T",
                         "standard_name": "time", "long_name": "time"})
            if mode == "mean":
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

            cm = "time: mean" if mode == "mean" else "time: point"
            for f in fields:
                v = ds.createVariable(f.name, "f4", ("time",) + _dims(f.point, f.ndim), fill_value=FILL_VALUE)
                a = {"units": f.units, "long_name": f.long_name, "cell_methods": cm}
                if f.standard_name:
                    a["standard_name"] = f.standard_name
                v.setncatts(a)
            ds.sync()
        except BaseException:
            ds.close()
            raise
        self._n = 0
        self._last_t: float | None = None
        self._last_upper = 0.0

    def _check(self, name: str, point: str, arr: np.ndarray) -> tuple[str, ...]:
        """Return the (non-time) dims of ``arr`` at ``point``, checking its shape."""
        if point not in _HDIMS or arr.ndim not in (2, 3) or (point == "W" and arr.ndim != 3):
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
