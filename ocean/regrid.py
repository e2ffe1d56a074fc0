"""A restart of one grid, interpolated onto another grid of the same kind and levels.

The use: start a 1/4-degree DINO run from the state of a 1-degree run (the truth of the GZ21
skill measure, docs/gz21_skill.md), ``python scripts/regrid_restart.py R1_RESTART CONFIG OUT.nc``.

Recipe, for every field the target model's restart carries (``ocean/fields.py``, restart=True):

1. on each level, the source's land is filled from its ocean ring after ring (each land point
   next to filled points takes the mean of those neighbours: the nearest ocean values), so that
   no land zero leaks into the ocean and the target's ocean points where the source has land
   get the nearest ocean values;
2. bilinear interpolation in (x, y) (longitude, latitude for DINO: the grids are rectilinear)
   from the source's points of the field's C-grid point (T, U, V, or W above T) to the target's, periodic
   in x where the grid is, constant beyond the source's outermost rows;
3. the target's land-sea mask of that point and level.

The barotropic velocities ``ubar, vbar`` are then set to the depth means of the interpolated
``u, v`` on the target's levels (the invariant the time step keeps), and their history of the
last two steps is shifted by the same correction (so its changes from step to step are the
source's). The step counter becomes the target's step at the restart's model time
(``time_s / dt``), so that the Adams-Bashforth history (interpolated like the other fields:
tendencies of the source's last steps, in m s-2, taken as those of the target's) lands in the
slots the next step reads. An output mean under way and a lagged closure's
pending result are not carried over (the run starts a new output interval). The restart is
written by ``ocean.restart.write`` from a model of the target configuration, so the model
accepts it as any of its own.

Everything here is numpy on whole arrays, run once, offline; nothing is called in a time step.
"""
from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np

from . import config, restart
from .config import ConfigError
from .grid import build_global

COORDS = {"T": ("x_t", "y_t"), "U": ("x_u", "y_t"), "V": ("x_t", "y_v"), "W": ("x_t", "y_t")}
"""the horizontal coordinates of each point the tool interpolates; W points (the TKE and its
coefficients) sit above T points and share their mask (``ocean.fields.MASK_OF_POINT``)"""
DERIVED = {"ubar": ("u", ("ubar_nm1", "ubar_nm2")), "vbar": ("v", ("vbar_nm1", "vbar_nm2"))}
"""barotropic velocity -> (its 3-D velocity, its history): set to the depth mean of the interpolated
3-D velocity; the history moves by the same correction"""


def source_config(path: Path) -> config.Config:
    """The grid, time step and EOS a restart was written with (its ``identity``), as a configuration."""
    try:
        with netCDF4.Dataset(path) as nc:
            ident = restart.written_identity(nc)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open restart file ({exc})") from None
    if not ident:
        raise ConfigError(f"{path}: not a restart file of this model (no identity attribute)")
    nested: dict = {}
    for key, value in ident.items():
        sec, name = key.split(".", 1)
        nested.setdefault(sec, {})[name] = value
    return config.from_dict(nested)


def fill_land(a: np.ndarray, wet: np.ndarray) -> np.ndarray:
    """A copy of ``a`` (ny, nx) whose points where ``wet`` is False are filled from the wet ones,
    ring after ring: a point with filled neighbours (of its four) takes their mean, so each land
    point gets the values of the nearest ocean. ``a`` unchanged where there is no wet point."""
    out = np.where(wet, a, 0.0)
    if wet.all() or not wet.any():
        return a.copy()
    done = wet.copy()
    while not done.all():
        v = np.pad(out * done, 1)
        n = np.pad(done.astype(float), 1)
        total = v[:-2, 1:-1] + v[2:, 1:-1] + v[1:-1, :-2] + v[1:-1, 2:]
        count = n[:-2, 1:-1] + n[2:, 1:-1] + n[1:-1, :-2] + n[1:-1, 2:]
        ring = ~done & (count > 0)
        out[ring] = total[ring] / count[ring]
        done |= ring
    return out


def axis_weights(src: np.ndarray, dst: np.ndarray, period: float | None):
    """Linear interpolation along one axis: for each ``dst`` coordinate the source indices
    (lo, hi) and the weight w of hi (value = (1 - w) f[lo] + w f[hi]). ``src`` increasing;
    ``period``: the axis is periodic with this length, else ``dst`` is clamped to src's range."""
    src = np.asarray(src, float)
    idx = np.arange(src.size)
    if period is not None:
        src = np.concatenate(([src[-1] - period], src, [src[0] + period]))
        idx = np.concatenate(([idx[-1]], idx, [idx[0]]))
        d = np.mod(np.asarray(dst, float) - src[0], period) + src[0]
    else:
        d = np.clip(np.asarray(dst, float), src[0], src[-1])
    if src.size == 1:
        return np.zeros(d.size, int), np.zeros(d.size, int), np.zeros(d.size)
    k = np.clip(np.searchsorted(src, d, side="right") - 1, 0, src.size - 2)
    w = (d - src[k]) / (src[k + 1] - src[k])
    return idx[k], idx[k + 1], w


def bilinear(a: np.ndarray, wx, wy) -> np.ndarray:
    """``a`` (..., ny, nx) at the target points of ``axis_weights`` results ``wx`` (x) and ``wy`` (y)."""
    (i0, i1, fx), (j0, j1, fy) = wx, wy
    fy = fy[:, None]
    rows0, rows1 = a[..., j0, :], a[..., j1, :]
    return ((1 - fy) * ((1 - fx) * rows0[..., i0] + fx * rows0[..., i1])
            + fy * ((1 - fx) * rows1[..., i0] + fx * rows1[..., i1]))


def interpolate(a: np.ndarray, wet_src: np.ndarray, wx, wy, wet_dst: np.ndarray) -> np.ndarray:
    """Field ``a`` (ny, nx) or (nz, ny, nx) of the source, land filled from the nearest ocean,
    interpolated (``wx``, ``wy`` from :func:`axis_weights`) and masked by ``wet_dst``."""
    if a.ndim == 2:
        return bilinear(fill_land(a, wet_src[0]), wx, wy) * wet_dst[0]
    filled = np.stack([fill_land(a[k], wet_src[k]) for k in range(a.shape[0])])
    return bilinear(filled, wx, wy) * wet_dst


def wet_masks(vert, counts) -> dict[str, np.ndarray]:
    """Boolean 3-D masks (nz, ny, nx) of the T, U, V and W points of a global grid."""
    k = np.arange(vert.gdept.size)[:, None, None]
    masks = {p: k < counts[p][None] for p in ("T", "U", "V")}
    masks["W"] = masks["T"]
    return masks


def depth_mean(u: np.ndarray, wet: np.ndarray, e3t: np.ndarray) -> np.ndarray:
    """Depth mean (ny, nx) of ``u`` (nz, ny, nx) over its wet levels of thickness ``e3t`` (m); 0 on land."""
    h = (wet * e3t[:, None, None]).sum(0)
    s = (u * wet * e3t[:, None, None]).sum(0)
    return np.where(h > 0, s / np.where(h > 0, h, 1.0), 0.0)


def regrid_restart(src_path: str | Path, cfg: config.Config, out_path: str | Path) -> dict:
    """Interpolate restart ``src_path`` onto the grid of configuration ``cfg`` and write it to
    ``out_path`` (its folder made if missing); returns a summary (fields interpolated, derived,
    ignored; step and day)."""
    from .model import Model

    src_path, out_path = Path(src_path), Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    scfg = source_config(src_path)
    sgh, svert, scounts = build_global(scfg)
    model = Model(cfg)
    g, dgh = model.grid, model.grid.global_h
    if scfg.grid.kind != cfg.grid.kind:
        raise ConfigError(f"{src_path}: restart of a '{scfg.grid.kind}' grid, the configuration's is "
                          f"'{cfg.grid.kind}'; only the horizontal grid may differ")
    if svert.gdept.size != g.nz or not np.allclose(svert.gdept, g.gdept, rtol=1e-10, atol=1e-6):
        raise ConfigError(f"{src_path}: its levels differ from the configuration's (grid.nz, depth_m, dz_top_m, "
                          "stretch_*): only the horizontal grid may differ")
    period_src = sgh.x_u[-1] - sgh.x_u[0] + (sgh.x_u[1] - sgh.x_u[0]) if sgh.periodic_x else None
    swet = wet_masks(svert, scounts)
    dwet = wet_masks(model.grid.vertical, model.grid.counts)
    weights = {p: (axis_weights(getattr(sgh, cx), getattr(dgh, cx), period_src),
                   axis_weights(getattr(sgh, cy), getattr(dgh, cy), None)) for p, (cx, cy) in COORDS.items()}
    s = model.state
    with netCDF4.Dataset(src_path) as nc:
        time_s = float(nc.time_s)
        s.time_s = time_s
        s.nstep = int(round(time_s / model.dt))      # first: the history fields' slots depend on it
        wanted = model.fields.restart()
        absent = [f for f in wanted if f.name not in nc.variables]
        missing = [f.name for f in absent if not f.cold_start]
        if missing:
            raise ConfigError(f"{src_path}: has no {', '.join(missing)}, which the configuration's restart "
                              "needs (another physics)")
        cold = [f.name for f in absent]     # e.g. the TKE of a source run without it: the model's initial values
        wanted = [f for f in wanted if f not in absent]
        j, i = g.interior
        done = []
        for f in wanted:
            if f.point not in COORDS:
                raise ConfigError(f"{src_path}: field {f.name} is at {f.point} points, which this tool cannot "
                                  "interpolate (T, U, V, W only)")
            var = nc.variables[f.name]
            var.set_auto_maskandscale(False)
            wx, wy = weights[f.point]
            f.get(model)[..., j, i] = interpolate(np.asarray(var[:], float), swet[f.point], wx, wy, dwet[f.point])
            done.append(f.name)
        ignored = sorted(n for n, v in nc.variables.items() if v.dimensions[-2:] == ("y", "x") and n not in done)
    e3t = model.grid.vertical.e3t
    for name, (full, history) in DERIVED.items():
        bar = model.fields[name].get(model)
        mean = depth_mean(model.fields[full].get(model)[:, j, i], dwet[model.fields[full].point], e3t)
        correction = mean - bar[j, i]
        bar[j, i] = mean
        for h in history:
            model.fields[h].get(model)[j, i] += correction
    restart.write(model, out_path)
    return {"interpolated": done, "depth_means": list(DERIVED), "not_carried": ignored, "initial_values": cold,
            "nstep": int(s.nstep), "day": time_s / 86400.0,
            "source_grid": [int(n) for n in sgh.shape], "target_grid": [int(n) for n in dgh.shape]}
