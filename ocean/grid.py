"""Arakawa C-grid with NEMO's point names, z-levels, halos and the grid kinds.

Points of cell (j, i): T at the centre, U on the east face, V on the north face, F at the
north-east corner, W on the top face of level k. Arrays are C-ordered ``[k, j, i]`` (2-D
fields ``[j, i]``) and carry a halo of ``nhalo`` points on each horizontal side, so the interior
of a tile is ``[nhalo:nhalo+ny, nhalo:nhalo+nx]``.

Grid kinds
- ``dino``: the DINO sector (Kamm et al. 2025): isotropic Mercator grid of spacing
  ``resolution_deg`` (latitudes phi_j = asin(tanh(j * dlambda))), periodic in x with a
  one-column land wall at longitude 0 except in the re-entrant channel, 4000 m deep with
  exponential continental slopes from walls 2000 m deep, and a Drake sill in the
  channel: a straight Gaussian ridge across it (``grid.sill_shape = "gaussian"``) or DINO's
  half-circle ridge east of the wall (``"circular"``, :func:`circular_sill`).
- ``box``: Cartesian beta-plane box, closed or periodic in x.

The global horizontal description (metrics, Coriolis, number of wet levels at each point
type) is built once on every rank (2-D arrays, cheap); a tile takes its slice with the
halo filled by periodic wrap in x, and by copies of the edge metrics with land masks
beyond closed edges. Masks are derived from global 2-D level counts so that a tile's halo
holds exactly the values of its neighbour's interior.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

EARTH_RADIUS_M = 6371229.0          # NEMO's ra
OMEGA_S = 7.292116e-05              # NEMO's omega (rad/s)


@dataclass
class Vertical:
    """z-levels (metres, positive down); level k spans gdepw[k]..gdepw[k+1]."""
    gdept: np.ndarray   # (nz,) depth of T points
    gdepw: np.ndarray   # (nz+1,) depth of W points; gdepw[0] = 0, gdepw[nz] = bottom
    e3t: np.ndarray     # (nz,) level thickness
    e3w: np.ndarray     # (nz,) distance between T points k-1 and k (e3w[0] = gdept[0])


class Metrics(NamedTuple):
    """The metric group the kernels take (:attr:`Grid.metrics`): scale factors (m) and
    areas (m2) at T, U, V, F points (2-D ``[j, i]``, halo included), the z-levels (m, 1-D
    ``[k]``) and the water depths at rest (m) with their inverses (m-1, 0 on land)."""
    e1t: np.ndarray
    e2t: np.ndarray
    e1u: np.ndarray
    e2u: np.ndarray
    e1v: np.ndarray
    e2v: np.ndarray
    e1f: np.ndarray
    e2f: np.ndarray
    e1e2t: np.ndarray
    e1e2u: np.ndarray
    e1e2v: np.ndarray
    e3t: np.ndarray     # (nz,) level thickness
    e3w: np.ndarray     # (nz,) distance between T points k-1 and k
    gdept: np.ndarray   # (nz,) depth of T points
    gdepw: np.ndarray   # (nz+1,) depth of W points
    hu: np.ndarray
    hv: np.ndarray
    r1_hu: np.ndarray
    r1_hv: np.ndarray


class Masks(NamedTuple):
    """The mask group the kernels take (:attr:`Grid.masks`): 3-D ``[k, j, i]`` float masks
    (tmask, umask, vmask 0/1; fmask 1 in the fluid, 0 on free-slip and 2 on no-slip walls;
    fmask_any 1 where any T cell around the F point is wet) and the 2-D int32 numbers of
    wet levels kbot_t, kbot_u, kbot_v."""
    tmask: np.ndarray
    umask: np.ndarray
    vmask: np.ndarray
    fmask: np.ndarray
    fmask_any: np.ndarray
    kbot_t: np.ndarray
    kbot_u: np.ndarray
    kbot_v: np.ndarray


def tanh_levels(nz: int, depth: float, dz_top: float, kth: float, acr: float) -> Vertical:
    """NEMO's tanh-stretched z-levels (domzgr, Madec & Imbard 1996) with top thickness
    ``dz_top`` and total depth ``depth``; ``dz_top = 0`` gives uniform levels."""
    if dz_top <= 0 or nz == 1:
        w = np.linspace(0.0, depth, nz + 1)
    else:
        jpk = nz + 1
        ta = np.tanh((1.0 - kth) / acr)
        lc = lambda z: np.log(np.cosh((z - kth) / acr))  # noqa: E731
        a1 = (dz_top - depth / (jpk - 1)) / (ta - acr / (jpk - 1) * (lc(jpk) - lc(1.0)))
        a0 = dz_top - a1 * ta
        sur = -a0 - a1 * acr * lc(1.0)
        zw = np.arange(1, jpk + 1, dtype=float)
        w = sur + a0 * zw + a1 * acr * lc(zw)
        w[0] = 0.0
        w *= depth / w[-1]            # remove round-off in the bottom depth
        if np.any(np.diff(w) <= 0):
            raise ValueError("tanh stretching gives non-increasing levels; check dz_top_m/stretch_*")
    e3t = np.diff(w)
    t = 0.5 * (w[:-1] + w[1:])
    e3w = np.empty(nz)
    e3w[0] = t[0]
    e3w[1:] = np.diff(t)
    return Vertical(gdept=t, gdepw=w, e3t=e3t, e3w=e3w)


@dataclass
class GlobalHorizontal:
    """Global horizontal fields, interior points only, shape (ny, nx)."""
    kind: str
    periodic_x: bool
    x_t: np.ndarray; x_u: np.ndarray; y_t: np.ndarray; y_v: np.ndarray   # 1-D coordinates
    x_units: str; y_units: str
    lat_t: np.ndarray; lat_u: np.ndarray; lat_v: np.ndarray             # 2-D, degrees (box: from f)
    e1t: np.ndarray; e2t: np.ndarray; e1u: np.ndarray; e2u: np.ndarray
    e1v: np.ndarray; e2v: np.ndarray; e1f: np.ndarray; e2f: np.ndarray
    fcor_f: np.ndarray; fcor_t: np.ndarray; fcor_u: np.ndarray; fcor_v: np.ndarray
    bathy: np.ndarray   # ocean depth at T points (m), 0 on land

    @property
    def shape(self):
        return self.e1t.shape


def _mercator_lat(y):
    return np.degrees(np.arcsin(np.tanh(y)))


def smooth_step(x, x0, x1):
    """0 below x0, 1 above x1, the quintic 6t^5 - 15t^4 + 10t^3 of t = (x - x0)/(x1 - x0)
    between (DINO's ``smooth_step``)."""
    t = np.clip((x - x0) / (x1 - x0), 0.0, 1.0)
    return t ** 3 * (10.0 - 15.0 * t + 6.0 * t * t)


def circular_sill(bathy, lon, lat, lon0, lat0, radius, depth, width):
    """DINO's circular Drake sill (``ln_drake_sill``, ``MY_SRC/usrdef_zgr.F90``: ``gauss_ring``
    tapered by ``smooth_step``): a Gaussian ridge of crest depth ``depth`` (m) along the circle
    of ``radius`` (degrees) centred on (``lon0``, ``lat0``) = (the wall's coast, the middle of
    the channel), e-folding distance ``width`` (degrees, DINO ``rn_ds_width``) from the circle,
    with distances measured in degrees of longitude and latitude as DINO does. Where the
    bathymetry is deeper than the crest it becomes ``(depth - b) exp(-(r - radius)^2 / width^2) + b``;
    the result is blended with the original by a smooth step rising from 0 at the coast
    (``lon0``) to 1 at ``lon0 + width``, so the ring is a half circle east of the wall that
    joins the two tips of the wall at the channel's edges. All arguments in degrees except
    ``bathy``, ``depth`` (m); returns the new bathymetry."""
    r = np.hypot(lon - lon0, lat - lat0)
    ring = np.where(bathy >= depth, (depth - bathy) * np.exp(-((r - radius) / width) ** 2) + bathy, bathy)
    taper = smooth_step(lon, lon0, lon0 + width)
    return taper * ring + (1.0 - taper) * bathy


def dino_horizontal(g) -> GlobalHorizontal:
    dl = np.radians(g.resolution_deg)
    nx = max(3, int(round(g.lon_extent_deg / g.resolution_deg)))
    jmax = int(np.floor(np.arctanh(np.sin(np.radians(g.lat_max_deg))) / dl))
    jt = np.arange(-jmax, jmax + 1, dtype=float)          # T rows; j = 0 on the equator
    ny = jt.size
    lon_t = (np.arange(nx) + 0.5) * g.resolution_deg
    lon_u = (np.arange(nx) + 1.0) * g.resolution_deg
    lat_t1 = _mercator_lat(jt * dl)
    lat_v1 = _mercator_lat((jt + 0.5) * dl)
    lat_t = np.repeat(lat_t1[:, None], nx, 1)
    lat_v = np.repeat(lat_v1[:, None], nx, 1)
    scale = lambda lat: EARTH_RADIUS_M * np.cos(np.radians(lat)) * dl  # noqa: E731
    e_t, e_v = scale(lat_t), scale(lat_v)
    f = lambda lat: 2 * OMEGA_S * np.sin(np.radians(lat))  # noqa: E731

    # Bathymetry: distance (degrees) to the nearest coast, with the wall column at i = 0.
    lon2 = np.repeat(lon_t[None, :], ny, 0)
    width = nx * g.resolution_deg
    cs, cn = g.channel_south_deg, g.channel_north_deg
    lat_min = lat_t1[0] - 0.5 * (lat_t1[1] - lat_t1[0])
    lat_max = lat_t1[-1] + 0.5 * (lat_t1[-1] - lat_t1[-2])
    dwall_x = np.minimum(lon2 - lon_t[0] - 0.5 * g.resolution_deg, width - (lon2 - lon_t[0] + 0.5 * g.resolution_deg))
    dwall_x = np.maximum(dwall_x, 0.0)
    in_channel = (lat_t > cs) & (lat_t < cn)
    # inside the channel band the wall is replaced by its two end points (cn, cs)
    d_to_band_end = np.minimum(np.abs(lat_t - cn), np.abs(lat_t - cs))
    dwall = np.where(in_channel, np.hypot(dwall_x, d_to_band_end), dwall_x)
    d = np.minimum.reduce([dwall, lat_t - lat_min, lat_max - lat_t])
    H, Hc = g.depth_m, g.coast_depth_m
    bathy = H - (H - Hc) * np.exp(-d / g.slope_width_deg)
    if g.sill_shape == "circular":
        bathy = circular_sill(bathy, lon2, lat_t, lon_t[0] + 0.5 * g.resolution_deg, 0.5 * (cs + cn),
                              0.5 * (cn - cs), g.sill_depth_m, g.sill_width_deg)
    else:
        # Gaussian Drake sill across the channel, centred on the wall's longitude
        dsill = np.minimum(lon2, width - lon2)
        sill = H - (H - g.sill_depth_m) * np.exp(-(dsill / (0.5 * g.sill_width_deg)) ** 2)
        bathy = np.where(in_channel, np.minimum(bathy, sill), bathy)
    land = (~in_channel) & (np.arange(nx)[None, :] == 0)
    bathy[land] = 0.0
    return GlobalHorizontal(
        kind="dino", periodic_x=True,
        x_t=lon_t, x_u=lon_u, y_t=lat_t1, y_v=lat_v1, x_units="degrees_east", y_units="degrees_north",
        lat_t=lat_t, lat_u=lat_t.copy(), lat_v=lat_v,
        e1t=e_t, e2t=e_t.copy(), e1u=e_t.copy(), e2u=e_t.copy(),
        e1v=e_v, e2v=e_v.copy(), e1f=e_v.copy(), e2f=e_v.copy(),
        fcor_f=f(lat_v), fcor_t=f(lat_t), fcor_u=f(lat_t), fcor_v=f(lat_v), bathy=bathy)


def box_horizontal(g) -> GlobalHorizontal:
    nx, ny, dx, dy = g.nx, g.ny, g.dx_m, g.dy_m
    x_t = (np.arange(nx) + 0.5) * dx
    y_t = (np.arange(ny) + 0.5) * dy
    x_u, y_v = x_t + 0.5 * dx, y_t + 0.5 * dy
    yc = 0.5 * ny * dy
    Y_t = np.repeat(y_t[:, None], nx, 1)
    Y_v = np.repeat(y_v[:, None], nx, 1)
    f = lambda y: g.f0 + g.beta * (y - yc)  # noqa: E731
    ones = np.ones((ny, nx))
    bathy = g.depth_m * ones
    if g.bathymetry == "ridge":   # a meridional ridge up to half depth in the middle
        X = np.repeat(x_t[None, :], ny, 0)
        bathy = g.depth_m * (1.0 - 0.5 * np.exp(-((X - 0.5 * nx * dx) / (0.1 * nx * dx)) ** 2))
    fd = lambda ff: np.degrees(np.arcsin(np.clip(ff / (2 * OMEGA_S), -1, 1)))  # noqa: E731
    return GlobalHorizontal(
        kind="box", periodic_x=g.periodic_x,
        x_t=x_t, x_u=x_u, y_t=y_t, y_v=y_v, x_units="m", y_units="m",
        lat_t=fd(f(Y_t)), lat_u=fd(f(Y_t)), lat_v=fd(f(Y_v)),
        e1t=dx * ones, e2t=dy * ones, e1u=dx * ones, e2u=dy * ones,
        e1v=dx * ones, e2v=dy * ones, e1f=dx * ones, e2f=dy * ones,
        fcor_f=f(Y_v), fcor_t=f(Y_t), fcor_u=f(Y_t), fcor_v=f(Y_v), bathy=bathy)


def level_counts(gh: GlobalHorizontal, vert: Vertical) -> dict[str, np.ndarray]:
    """Number of wet levels (int32, global (ny, nx)) at T, U and V points."""
    kt = np.searchsorted(vert.gdept, gh.bathy, side="left").astype(np.int32)   # levels with gdept < bathy
    kt[gh.bathy <= 0] = 0
    east = np.roll(kt, -1, 1)
    if not gh.periodic_x:
        east[:, -1] = 0
    north = np.zeros_like(kt)
    north[:-1] = kt[1:]
    ku = np.minimum(kt, east)
    kv = np.minimum(kt, north)
    return {"T": kt, "U": ku, "V": kv}


def halo_slice(a: np.ndarray, j0: int, i0: int, ny: int, nx: int, nhalo: int, periodic_x: bool,
               fill: str) -> np.ndarray:
    """The tile [j0:j0+ny, i0:i0+nx] of global 2-D ``a`` with a halo of nhalo points: wrapped
    in x when periodic, beyond closed edges either zeros (``fill='zero'``) or copies of the
    nearest edge value (``fill='edge'``, for metrics that are divided by)."""
    NY, NX = a.shape
    jj = np.arange(j0 - nhalo, j0 + ny + nhalo)
    ii = np.arange(i0 - nhalo, i0 + nx + nhalo)
    jin = (jj >= 0) & (jj < NY)
    if periodic_x:
        iin = np.ones(ii.size, bool)
        ii = ii % NX
    else:
        iin = (ii >= 0) & (ii < NX)
    out = a[np.clip(jj, 0, NY - 1)][:, np.clip(ii, 0, NX - 1)].copy()
    if fill == "zero":
        out[~jin, :] = 0
        out[:, ~iin] = 0
    return np.ascontiguousarray(out)


class Grid:
    """The grid of one tile (the whole domain on one rank), halo included.

    Attributes: nx, ny, nz (interior sizes), nhalo (halo), i0, j0 (global index of the first
    interior point), nx_glo, ny_glo; 2-D metrics e1t, e2t, e1u, e2u, e1v, e2v, e1f, e2f (m),
    e1e2t, e1e2u, e1e2v (m2), fcor_f, fcor_t, fcor_u, fcor_v (s-1), lat_t, lat_u, lat_v (deg),
    bathy (m); 1-D gdept, gdepw, e3t, e3w (m); 3-D masks tmask, umask, vmask (0/1) and
    fmask (1 in the fluid, 0 on free-slip walls, 2 on no-slip walls), fmask_any (1 where
    any T cell around the F point is wet); 2-D kbot_t, kbot_u, kbot_v (wet levels);
    hu, hv, ht (m) water depth at rest; ``metrics`` (:class:`Metrics`) and ``masks``
    (:class:`Masks`), the groups the kernels take, built once (they share these arrays).
    """

    def __init__(self, gh: GlobalHorizontal, vert: Vertical, counts: dict, *, nhalo: int,
                 i0: int = 0, j0: int = 0, nx: int | None = None, ny: int | None = None,
                 shlat: float = 0.0):
        NY, NX = gh.shape
        self.global_h, self.vertical, self.counts = gh, vert, counts
        self.kind, self.periodic_x = gh.kind, gh.periodic_x
        self.nx_glo, self.ny_glo = NX, NY
        self.nx, self.ny = (NX if nx is None else nx), (NY if ny is None else ny)
        self.nz, self.nhalo, self.i0, self.j0 = vert.gdept.size, nhalo, i0, j0
        self.shlat = shlat
        sl = lambda a, fill="edge": halo_slice(a, j0, i0, self.ny, self.nx, nhalo, gh.periodic_x, fill)  # noqa: E731
        for name in ("e1t", "e2t", "e1u", "e2u", "e1v", "e2v", "e1f", "e2f", "lat_t", "lat_u", "lat_v",
                     "fcor_f", "fcor_t", "fcor_u", "fcor_v"):
            setattr(self, name, sl(getattr(gh, name)))
        self.bathy = sl(gh.bathy, "zero")
        self.e1e2t, self.e1e2u, self.e1e2v = self.e1t * self.e2t, self.e1u * self.e2u, self.e1v * self.e2v
        self.gdept, self.gdepw, self.e3t, self.e3w = vert.gdept, vert.gdepw, vert.e3t, vert.e3w
        k = np.arange(self.nz)[:, None, None]
        self.kbot_t = sl(counts["T"], "zero")
        self.kbot_u = sl(counts["U"], "zero")
        self.kbot_v = sl(counts["V"], "zero")
        self.tmask = (k < self.kbot_t[None]).astype(np.float64)
        self.umask = (k < self.kbot_u[None]).astype(np.float64)
        self.vmask = (k < self.kbot_v[None]).astype(np.float64)
        self.fmask, self.fmask_any = self._fmasks(shlat)
        e3 = self.e3t[:, None, None]
        self.ht = (self.tmask * e3).sum(0)
        self.hu = (self.umask * e3).sum(0)
        self.hv = (self.vmask * e3).sum(0)
        self.r1_hu = np.where(self.hu > 0, 1.0 / np.where(self.hu > 0, self.hu, 1.0), 0.0)
        self.r1_hv = np.where(self.hv > 0, 1.0 / np.where(self.hv > 0, self.hv, 1.0), 0.0)
        self.metrics = Metrics(*(getattr(self, name) for name in Metrics._fields))
        self.masks = Masks(*(getattr(self, name) for name in Masks._fields))

    def _fmasks(self, shlat: float) -> tuple[np.ndarray, np.ndarray]:
        """fmask (1 in the fluid, shlat on walls next to wet U/V points, 0 elsewhere) and
        fmask_any (1 where any of the 4 T cells around the F point is wet). Built from the
        tile's own masks, whose halos are exact, so closed-edge walls are included; the last
        halo row and column, which no stencil reaches, are left at 0."""
        t, u, v = self.tmask, self.umask, self.vmask
        east, north, ne = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
        east[..., :-1] = t[..., 1:]
        north[..., :-1, :] = t[..., 1:, :]
        ne[..., :-1, :-1] = t[..., 1:, 1:]
        u_n, v_e = np.zeros_like(u), np.zeros_like(v)
        u_n[..., :-1, :] = u[..., 1:, :]
        v_e[..., :-1] = v[..., 1:]
        all4 = t * east * north * ne
        around = np.maximum.reduce([u, u_n, v, v_e])
        fmask = np.where(all4 > 0, 1.0, np.where(around > 0, shlat, 0.0))
        return fmask, np.maximum.reduce([t, east, north, ne])

    @property
    def interior(self) -> tuple[slice, slice]:
        nhalo = self.nhalo
        return slice(nhalo, nhalo + self.ny), slice(nhalo, nhalo + self.nx)

    @property
    def shape3(self):
        return (self.nz, self.ny + 2 * self.nhalo, self.nx + 2 * self.nhalo)

    @property
    def shape2(self):
        return (self.ny + 2 * self.nhalo, self.nx + 2 * self.nhalo)

    def interior_of(self, a: np.ndarray) -> np.ndarray:
        j, i = self.interior
        return a[..., j, i]

    def min_spacing_m(self) -> float:
        return float(min(self.e1t[self.kbot_t > 0].min(initial=np.inf), self.e2t[self.kbot_t > 0].min(initial=np.inf)))


def build_global(cfg) -> tuple[GlobalHorizontal, Vertical, dict]:
    """The global horizontal grid, the levels and the wet-level counts of a configuration."""
    g = cfg.grid
    gh = dino_horizontal(g) if g.kind == "dino" else box_horizontal(g)
    vert = tanh_levels(g.nz, g.depth_m, g.dz_top_m, g.stretch_kth, g.stretch_acr)
    return gh, vert, level_counts(gh, vert)


def lateral_slip(cfg) -> float:
    """NEMO's rn_shlat: 0 for free-slip walls, 2 for no-slip walls."""
    return 2.0 if cfg.momentum.lateral_bc == "no-slip" else 0.0


def build_grid(cfg, *, i0=0, j0=0, nx=None, ny=None) -> Grid:
    """The grid of a tile (default: the whole domain) from a validated configuration."""
    gh, vert, counts = build_global(cfg)
    return Grid(gh, vert, counts, nhalo=cfg.grid.halo, i0=i0, j0=j0, nx=nx, ny=ny, shlat=lateral_slip(cfg))
