"""One training sample (inputs, targets on the coarse grid) from the fine fields of one time,
by the published recipes (reference/closures.md, sections A and B). Offline ``data`` and
online training both form their samples here.

GZ21 (Guillaumin & Zanna 2021), from surface u (U points), v (V points) of a fine grid:

1. u, v to the T points (``ocean.skill.velocity_at_t``; land 0);
2. adv(u) = (u d_x u + v d_y u, u d_x v + v d_y v), centred differences over the T cells' e1t, e2t;
3. the area-weighted Gaussian filter, sigma = factor / 2 fine points (``filters.py``);
4. S = adv(u_bar) - filt(adv(u)) (m s-2), added to the coarse momentum equation;
5. the area-weighted block mean of factor x factor fine cells (``ocean.coarse_grain``) of S and
   of u_bar, v_bar: the inputs (m s-1, coarse T points, 0 on land) and targets (NaN on coarse
   cells without ocean).

BBZ24 (Bodner, Balwada & Zanna 2024), from T, S, u, v, w of a fine box grid (``[mle]`` settings
of the fine configuration: rho_c, hml_sign):

- target WB_sg = <(w b)_ML> - <w_ML><b_ML> (m2 s-3): ML means over each fine column's own mixed
  layer (the ocean's criterion, ``ocean.mle.MixedLayerState``; thickness-weighted, w moved to the
  T levels), <> the factor x factor block mean;
- inputs: the 8 fields the coarse ocean computes from its own state (``ocean.mle.
  bbz24_input_fields``), here from the coarse-grained state: T, S block means, u (v) the mean
  of the fine u (v) across each coarse cell's east (north) face, i.e. the coarse transport.
  So training and deployment see the same inputs. The stresses and heat flux are 0: only
  unforced runs (``[forcing] kind = "none"``) are accepted.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ocean.coarse_grain import CoarseGrainer
from ocean.eos import EosParams
from ocean.front_diagnostics import block_mean, buoyancy, w_at_t
from ocean.grid import build_grid
from ocean.halo import NONE, Halo, Neighbours
from ocean.mle import BBZ24_FIELDS, MixedLayerState, bbz24_input_fields
from ocean.skill import velocity_at_t

from .filters import weighted_gaussian

GZ21_INPUTS = (("u", "m s-1", "filtered and coarse-grained surface x velocity at T points"),
               ("v", "m s-1", "filtered and coarse-grained surface y velocity at T points"))
GZ21_TARGETS = (("Sx", "m s-2", "GZ21 subgrid momentum forcing, x: adv(u_bar) - filt(adv(u))"),
                ("Sy", "m s-2", "GZ21 subgrid momentum forcing, y: adv(u_bar) - filt(adv(u))"))
BBZ24_INPUTS = BBZ24_FIELDS
BBZ24_TARGETS = (("wb_sg", "m2 s-3", "ML-averaged subgrid vertical buoyancy flux <wb> - <w><b>"),)


class SampleError(ValueError):
    """Fine fields or a grid that a recipe cannot take: the message says which and why."""


# ---------------------------------------------------------------------------- GZ21
class GZ21Grid:
    """The fine grid of GZ21 samples: ``e1t``, ``e2t`` (m, (ny, nx)), ``wet`` (ny, nx) bool,
    ``periodic_x``, ``factor`` (fine cells per coarse cell along each axis; rows and columns
    beyond the last whole block are left out). ``coarse``: the block-mean CoarseGrainer;
    ``coarse_wet``: coarse cells holding ocean; ``coarse_area`` (m2)."""

    def __init__(self, e1t, e2t, wet, periodic_x: bool, factor: int):
        self.e1t, self.e2t = np.asarray(e1t, float), np.asarray(e2t, float)
        self.wet = np.asarray(wet, bool)
        self.periodic_x, self.factor = bool(periodic_x), int(factor)
        ny, nx = self.wet.shape
        if self.factor < 1 or ny < self.factor or nx < self.factor:
            raise SampleError(f"factor {factor}: must be >= 1 and at most the fine grid's size {ny}x{nx}")
        self.area = self.e1t * self.e2t
        self.weight = self.area * self.wet
        NY, NX = ny // self.factor, nx // self.factor
        self.coarse = CoarseGrainer(np.arange(nx + 1.0), np.arange(ny + 1.0), self.factor * np.arange(NX + 1.0),
                                    self.factor * np.arange(NY + 1.0), self.area, self.wet)
        self.coarse_wet = self.coarse.wet_weight > 0
        f = self.factor
        self.coarse_area = self.area[:NY * f, :NX * f].reshape(NY, f, NX, f).sum(axis=(1, 3))

    def ddx(self, q: np.ndarray) -> np.ndarray:
        """d q / dx at T points (s-1 for q in m s-1): centred, one-sided at closed array edges."""
        if self.periodic_x:
            return 0.5 * (np.roll(q, -1, axis=-1) - np.roll(q, 1, axis=-1)) / self.e1t
        return np.gradient(q, axis=-1) / self.e1t

    def ddy(self, q: np.ndarray) -> np.ndarray:
        return np.gradient(q, axis=-2) / self.e2t


def advection(u: np.ndarray, v: np.ndarray, grid: GZ21Grid) -> tuple[np.ndarray, np.ndarray]:
    """(u.grad) u and (u.grad) v (m s-2) of T-point velocities (m s-1)."""
    return (u * grid.ddx(u) + v * grid.ddy(u), u * grid.ddx(v) + v * grid.ddy(v))


def gz21_sample(u: np.ndarray, v: np.ndarray, grid: GZ21Grid) -> tuple[np.ndarray, np.ndarray]:
    """GZ21's sample of surface ``u`` (U points), ``v`` (V points) (m s-1, (ny, nx), NaN or 0 on
    land): inputs (2, NY, NX) u_bar, v_bar (m s-1, 0 on coarse land) and targets (2, NY, NX)
    Sx, Sy (m s-2, NaN on coarse land), float32."""
    if np.shape(u) != grid.wet.shape or np.shape(v) != grid.wet.shape:
        raise SampleError(f"u {np.shape(u)} and v {np.shape(v)} must have the fine grid's shape {grid.wet.shape}")
    ut, vt = velocity_at_t(u, v, grid.periodic_x)
    ut, vt = ut * grid.wet, vt * grid.wet
    sigma = grid.factor / 2.0
    filt = lambda q: weighted_gaussian(q, grid.weight, sigma, grid.periodic_x) * grid.wet  # noqa: E731
    ub, vb = filt(ut), filt(vt)
    ax, ay = advection(ut, vt, grid)
    abx, aby = advection(ub, vb, grid)
    sx, sy = abx - filt(ax), aby - filt(ay)
    cg, land = grid.coarse, ~grid.coarse_wet
    inputs = np.stack([np.where(land, 0.0, cg(ub)), np.where(land, 0.0, cg(vb))])
    targets = np.stack([np.where(land, np.nan, cg(sx)), np.where(land, np.nan, cg(sy))])
    return inputs.astype(np.float32), targets.astype(np.float32)


# ---------------------------------------------------------------------------- BBZ24
class BBZ24Grids:
    """The fine and coarse grids of BBZ24 samples from a fine box configuration ``cfg``
    (``ocean.config.Config``) and a block ``factor``; the work arrays of the coarse inputs are
    allocated once. The coarse grid is the fine one with factor times fewer, larger cells."""

    def __init__(self, cfg, factor: int):
        g = cfg.grid
        if g.kind != "box":
            raise SampleError(f"bbz24 samples need a box grid (grid.kind = 'box'), the run's is {g.kind!r}")
        if cfg.forcing.kind != "none":
            raise SampleError(f"bbz24 samples need an unforced run (forcing.kind = 'none'), the run's is "
                              f"{cfg.forcing.kind!r}: its stresses and heat flux are not in the output")
        if factor < 1 or g.nx % factor or g.ny % factor:
            raise SampleError(f"factor {factor}: the fine grid {g.ny}x{g.nx} must divide into factor x factor blocks")
        self.factor = int(factor)
        coarse_grid = dataclasses.replace(g, nx=g.nx // factor, ny=g.ny // factor, dx_m=g.dx_m * factor,
                                          dy_m=g.dy_m * factor)
        self.cfg, self.coarse_cfg = cfg, dataclasses.replace(cfg, grid=coarse_grid)
        self.eos = EosParams.of_kind(cfg.eos.kind)
        self.rho_c, self.hml_sign = cfg.mle.rho_c_kg_m3, cfg.mle.hml_sign
        self.fine, self.coarse = build_grid(cfg), build_grid(self.coarse_cfg)
        self.fine_ml = MixedLayerState(self.fine, self.eos, self.rho_c)
        self.coarse_ml = MixedLayerState(self.coarse, self.eos, self.rho_c)
        c = self.coarse
        nbr = Neighbours(west=0, east=0) if c.periodic_x else Neighbours(west=NONE, east=NONE)
        self.halo = Halo(c.ny, c.nx, c.nhalo, nbr)
        self.state = {n: np.zeros(c.shape3) for n in ("T", "S", "u", "v")}
        self.fine_T, self.fine_S = np.zeros(self.fine.shape3), np.zeros(self.fine.shape3)
        self.zero2 = np.zeros(c.shape2)
        self.work = tuple(np.zeros(c.shape2) for _ in range(4))
        self.inputs = {name: np.zeros(c.shape2) for name, _, _ in BBZ24_INPUTS}

    @property
    def fine_shape(self) -> tuple[int, int, int]:
        f = self.fine
        return (f.nz, f.ny, f.nx)

    def ml_mean(self, a: np.ndarray) -> np.ndarray:
        """Thickness-weighted mean of ``a`` (nz, ny, nx) over each fine column's ML levels (as
        ``mixed_layer_buoyancy`` forms b_ML), from the last ``fine_ml.update``."""
        f, ml = self.fine, self.fine_ml
        nml, hml = f.interior_of(ml.nml), f.interior_of(ml.hml)
        inside = np.arange(f.nz)[:, None, None] < nml[None]
        s = np.tensordot(f.e3t, np.where(inside, a, 0.0), axes=(0, 0))
        return s / np.maximum(f.e3t[0], hml)


def bbz24_sample(T, S, u, v, w, grids: BBZ24Grids) -> tuple[np.ndarray, np.ndarray]:
    """BBZ24's sample of fine T (degC), S (1e-3), u (U points), v (V points), w (W points, the
    top face of each level) (m s-1), each (nz, ny, nx): inputs (8, NY, NX) in the order of
    ``BBZ24_INPUTS`` (the closure file's) and target (1, NY, NX) WB_sg (m2 s-3), float32."""
    shape = grids.fine_shape
    for name, a in (("T", T), ("S", S), ("u", u), ("v", v), ("w", w)):
        if np.shape(a) != shape:
            raise SampleError(f"{name} has shape {np.shape(a)}, the fine grid's is {shape}")
    n, fine, c = grids.factor, grids.fine, grids.coarse
    T, S, u, v, w = (np.nan_to_num(np.asarray(a, float)) for a in (T, S, u, v, w))
    fj, fi = fine.interior
    grids.fine_T[:, fj, fi], grids.fine_S[:, fj, fi] = T, S
    grids.fine_ml.update(grids.fine_T, grids.fine_S)
    b, wt = buoyancy(T, S, grids.eos), w_at_t(w)
    target = block_mean(grids.ml_mean(wt * b), n) - block_mean(grids.ml_mean(wt), n) * block_mean(grids.ml_mean(b), n)
    nz, ny, nx = shape
    st, (cj, ci) = grids.state, c.interior
    st["T"][:, cj, ci] = block_mean(T, n)
    st["S"][:, cj, ci] = block_mean(S, n)
    st["u"][:, cj, ci] = u[:, :, n - 1::n].reshape(nz, ny // n, n, nx // n).mean(axis=2)
    st["v"][:, cj, ci] = v[:, n - 1::n, :].reshape(nz, ny // n, nx // n, n).mean(axis=3)
    grids.halo.exchange(st["T"], st["S"], st["u"], st["v"])
    st["u"] *= c.umask
    st["v"] *= c.vmask
    z = grids.zero2
    bbz24_input_fields(grids.coarse_ml, c, st["T"], st["S"], st["u"], st["v"], z, z, 0.0, z, grids.hml_sign,
                       grids.work, grids.inputs)
    inputs = np.stack([c.interior_of(grids.inputs[name]) for name, _, _ in BBZ24_INPUTS])
    wet = c.interior_of(c.tmask[0]) > 0
    return inputs.astype(np.float32), np.where(wet, target, np.nan)[None].astype(np.float32)
