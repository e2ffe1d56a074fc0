"""Training datasets: written from a run's output (``build``), read and checked for ``fit``
(``load``).

A dataset is one CF netCDF file (opened with ``xarray.open_dataset``): dimensions ``time``
(unlimited), ``y``, ``x`` (coarse T cells); coordinates ``time`` (as in the run), ``y``, ``x``
(coarse cell centres, in the fine grid's coordinates); ``wet`` (1 where the coarse cell holds
ocean), ``area`` (m2); the inputs and targets of ``samples.py``, float32 (time, y, x):

- gz21: inputs ``u``, ``v`` (m s-1), targets ``Sx``, ``Sy`` (m s-2);
- bbz24: inputs ``bbz24_grad_b`` ... ``bbz24_strain`` (the closure file's 8 inputs), target
  ``wb_sg`` (m2 s-3);

targets are NaN on land, inputs 0 there. Global attributes: ``closure_kind``, ``factor``,
``source_run``, ``recipe``, ``periodic_x`` (1 when the domain is periodic in x: training
wraps the samples around). It is written record by record (one time of the run in memory at
a time) into a temporary file renamed at the end.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr
from tqdm import tqdm

from ocean.grid import build_global

from .samples import (BBZ24_INPUTS, BBZ24_TARGETS, GZ21_INPUTS, GZ21_TARGETS, BBZ24Grids, GZ21Grid, SampleError,
                      bbz24_sample, gz21_sample)

VARIABLES = {"gz21": (GZ21_INPUTS, GZ21_TARGETS), "bbz24": (BBZ24_INPUTS, BBZ24_TARGETS)}
RUN_FIELDS = {"gz21": (("uos", "uo"), ("vos", "vo")), "bbz24": (("thetao",), ("so",), ("uo",), ("vo",), ("wo",))}


class DatasetError(ValueError):
    """A run or dataset that cannot be used: the message names the file and what is wrong."""


def _open(path: Path, what: str) -> xr.Dataset:
    if not path.is_file():
        raise DatasetError(f"{path}: {what} not found")
    try:
        return xr.open_dataset(path, decode_times=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable netCDF {what} ({type(exc).__name__})") from None


def _run_fields(ds: xr.Dataset, path: Path, kind: str) -> list[str]:
    """The run's variable for each field the recipe needs (the first present of the choices)."""
    names, missing = [], []
    for choices in RUN_FIELDS[kind]:
        found = next((c for c in choices if c in ds.variables), None)
        (names.append(found) if found else missing.append(" or ".join(choices)))
    if missing:
        raise DatasetError(f"{path}: missing output field(s) {', '.join(missing)} that {kind} training data needs "
                           f"(add them to the run's [output] fields)")
    return names


def _block_centres(c: np.ndarray, factor: int) -> np.ndarray:
    n = c.size // factor
    return c[:n * factor].reshape(n, factor).mean(axis=1)


def build(kind: str, run: str | Path, out: str | Path, factor: int, cfg=None, progress: bool = True,
          records: slice = slice(None)) -> Path:
    """Write the ``kind`` dataset of run directory (or output file) ``run`` coarse-grained by
    ``factor`` to ``out``. ``cfg``: the run's configuration (``ocean.config.Config``; needed for
    bbz24, and for gz21 whether x is periodic). ``records``: the run's records to take (all)."""
    run = Path(run)
    path = run / "output.nc" if run.is_dir() else run
    ds = _open(path, "run output")
    names = _run_fields(ds, path, kind)
    nt_run = ds.sizes.get("time", 0)
    if nt_run == 0:
        raise DatasetError(f"{path}: no records")
    ds = ds.isel(time=records)
    nt = ds.sizes["time"]
    if nt == 0:
        raise DatasetError(f"{path}: records {records.start}:{records.stop} select none of its {nt_run} records")
    sampler = Sampler(kind, factor, {n: ds[n].values for n in STATICS if n in ds.variables}, cfg, str(path))
    coarse_wet, coarse_area = sampler.coarse_wet, sampler.coarse_area
    inputs, targets = VARIABLES[kind]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    ycoord = _block_centres(ds.y_t.values, factor)[:coarse_wet.shape[0]]
    xcoord = _block_centres(ds.x_t.values, factor)[:coarse_wet.shape[1]]
    with netCDF4.Dataset(tmp, "w") as nc:
        nc.Conventions = "CF-1.8"
        nc.title = f"{kind} training data from {path}"
        nc.closure_kind, nc.factor, nc.source_run = kind, int(factor), str(path)
        nc.periodic_x = int(sampler.periodic_x)
        nc.recipe = ("GZ21: S = adv(u_bar) - filt(adv(u)), area-weighted Gaussian sigma = factor/2, block mean"
                     if kind == "gz21" else "BBZ24: <wb>_ML - <w>_ML <b>_ML block means; inputs of the coarse state")
        nc.createDimension("time", None)
        nc.createDimension("y", coarse_wet.shape[0])
        nc.createDimension("x", coarse_wet.shape[1])
        t = nc.createVariable("time", "f8", ("time",))
        for a in ("units", "calendar", "standard_name"):
            if a in ds.time.attrs:
                t.setncattr(a, ds.time.attrs[a])
        for name, vals, src in (("y", ycoord, ds.y_t), ("x", xcoord, ds.x_t)):
            v = nc.createVariable(name, "f8", (name,))
            v[:] = vals
            if "units" in src.attrs:
                v.units = src.attrs["units"]
        w = nc.createVariable("wet", "i1", ("y", "x"))
        w[:] = coarse_wet.astype(np.int8)
        w.long_name = "coarse cell holds ocean"
        a = nc.createVariable("area", "f8", ("y", "x"))
        a[:], a.units = coarse_area, "m2"
        f = nc.createVariable("ocean_fraction", "f8", ("y", "x"))
        f[:], f.units = sampler.ocean_fraction, "1"
        f.long_name = "fraction of the coarse cell's area that is ocean"
        vars_ = []
        for name, units, long_name in inputs + targets:
            v = nc.createVariable(name, "f4", ("time", "y", "x"), chunksizes=(1,) + coarse_wet.shape)
            v.units, v.long_name = units, long_name
            vars_.append(v)
        for n in tqdm(range(nt), desc=f"{kind} samples", disable=not progress):
            rec = ds.isel(time=n)
            x, y = sampler([rec[name].values for name in names])
            t[n] = float(ds.time.values[n])
            for v, field in zip(vars_, list(x) + list(y)):
                v[n] = field
    ds.close()
    os.replace(tmp, out)
    return out


STATICS = ("e1t", "e2t", "bathymetry")


def away_from_land(ocean_fraction: np.ndarray, n: int, periodic_x: bool) -> np.ndarray:
    """The coarse cells whose neighbours within n cells in i and j (diagonals included) are all
    ocean (``ocean_fraction`` 1; beyond the domain's edges is land, except across a periodic x);
    n = 0: every cell that holds ocean. Near coasts a coarse-grained forcing holds the walls' and
    boundary currents' terms, which GZ21's training regions left out."""
    if n <= 0:
        return ocean_fraction > 0
    ocean = ocean_fraction >= 1.0 - 1e-9
    padded = np.pad(ocean, ((n, n), (0, 0)))
    padded = np.pad(padded, ((0, 0), (n, n)), mode="wrap") if periodic_x else np.pad(padded, ((0, 0), (n, n)))
    ny, nx = ocean.shape
    out = ocean.copy()
    for dj in range(-n, n + 1):
        for di in range(-n, n + 1):
            out &= padded[n + dj:n + dj + ny, n + di:n + di + nx]
    return out


class Sampler:
    """One recipe on one fine grid: ``sampler(fields)`` is the sample (x, y) of the run's
    fields at one time, given as the output file holds them (float32, NaN on land, in the order
    of ``RUN_FIELDS[kind]``; GZ21 takes the surface of 3-D u, v). ``statics``: the output
    file's ``e1t``, ``e2t`` (m) and ``bathymetry`` (m, NaN on land), float32 as written (GZ21);
    ``cfg`` the run's configuration (BBZ24; for GZ21 whether x is periodic). Offline ``build``
    and online training (``closures.online``) take their samples from here, so the same fields
    make the same sample."""

    def __init__(self, kind: str, factor: int, statics: dict, cfg=None, source: str = "the run"):
        self.kind = kind
        self.periodic_x = build_global(cfg)[0].periodic_x if cfg is not None else False   # DINO, the fronts
        if kind == "gz21":
            missing = [n for n in STATICS if n not in statics]
            if missing:
                raise DatasetError(f"{source}: missing static field(s) {', '.join(missing)} (written with every run's "
                                   "output)")
            bathy = statics["bathymetry"]
            wet = np.isfinite(bathy) & (np.nan_to_num(bathy) > 0)
            self.grid = GZ21Grid(statics["e1t"], statics["e2t"], wet, self.periodic_x, factor)
            self.coarse_wet, self.coarse_area = self.grid.coarse_wet, self.grid.coarse_area
            self.ocean_fraction = np.nan_to_num(self.grid.coarse.coverage)
        else:
            if cfg is None:
                raise DatasetError("bbz24 training data needs the run's configuration (--config)")
            self.grid = BBZ24Grids(cfg, factor)
            self.coarse_wet = self.grid.coarse.interior_of(self.grid.coarse.tmask[0]) > 0
            self.coarse_area = self.grid.coarse.interior_of(self.grid.coarse.e1e2t)
            self.ocean_fraction = self.coarse_wet.astype(float)       # the coarse model grid's own cells

    def __call__(self, fields: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "gz21":
            u, v = fields
            return gz21_sample(u[0] if u.ndim == 3 else u, v[0] if v.ndim == 3 else v, self.grid)
        return bbz24_sample(*fields, self.grid)


@dataclass
class TrainingData:
    """A dataset in memory: ``x`` (N, C, Y, X) inputs and ``y`` (N, C_t, Y, X) targets (NaN
    on land), ``wet`` (Y, X), ``time`` (N,), ``kind``, ``path``; ``ocean_fraction`` (Y, X) of
    each coarse cell's area (datasets written before it existed: ``wet``)."""
    kind: str
    x: np.ndarray
    y: np.ndarray
    wet: np.ndarray
    time: np.ndarray
    path: Path
    periodic_x: bool = False
    ocean_fraction: np.ndarray | None = None

    def __post_init__(self):
        if self.ocean_fraction is None:
            self.ocean_fraction = self.wet.astype(float)


def load(path: str | Path, kind: str | None = None) -> TrainingData:
    """Read and check a dataset: every variable of its kind present, inputs finite, targets
    finite on every wet cell; otherwise a DatasetError naming the variable and record."""
    path = Path(path)
    ds = _open(path, "dataset")
    try:
        got = ds.attrs.get("closure_kind")
        if got not in VARIABLES:
            raise DatasetError(f"{path}: attribute closure_kind is {got!r}, expected one of {', '.join(VARIABLES)} "
                               f"(write datasets with python -m closures.train data)")
        if kind is not None and got != kind:
            raise DatasetError(f"{path}: a {got} dataset, the fit configuration trains {kind}")
        inputs, targets = VARIABLES[got]
        need = [n for n, _, _ in inputs + targets] + ["wet", "time"]
        missing = [n for n in need if n not in ds.variables]
        if missing:
            raise DatasetError(f"{path}: missing variable(s) {', '.join(missing)} (a {got} dataset has "
                               f"{', '.join(need)})")
        wet = ds.wet.values.astype(bool)
        x = np.stack([ds[n].values for n, _, _ in inputs], axis=1).astype(np.float32)
        y = np.stack([ds[n].values for n, _, _ in targets], axis=1).astype(np.float32)
        for names, arr, where, what in ((inputs, x, np.ones_like(wet), "inputs"), (targets, y, wet, "targets")):
            for c, (name, _, _) in enumerate(names):
                bad = ~np.isfinite(arr[:, c]) & where
                if bad.any():
                    rec = int(np.nonzero(bad.any(axis=(1, 2)))[0][0])
                    raise DatasetError(f"{path}: variable {name} has {int(bad.sum())} NaN or infinite value(s) "
                                       f"{'on wet cells' if what == 'targets' else ''} (first in record {rec})"
                                       .replace("  ", " "))
        if x.shape[0] < 2:
            raise DatasetError(f"{path}: {x.shape[0]} record(s); training needs at least 2 (train and validation)")
        fraction = ds.ocean_fraction.values if "ocean_fraction" in ds.variables else None
        return TrainingData(got, x, y, wet, ds.time.values, path, bool(ds.attrs.get("periodic_x", 0)), fraction)
    finally:
        ds.close()
