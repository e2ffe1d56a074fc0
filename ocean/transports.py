"""Volume transports of a run's output, for analysis: the channel (ACC) transport and the
meridional overturning streamfunction in depth and in potential density.

Offline diagnostics of output records (numpy arrays as ``ocean.output`` writes them, land
NaN, full-cell z-levels); never called in the time step. Conventions:

- ``v`` is the meridional velocity at V points ``[k, j, i]`` (m s-1; NaN or 0 on land),
  V row ``j`` lying between T rows ``j`` and ``j + 1``; ``e1v`` (m) the zonal width of the
  V faces of each row (``(ny,)``); ``e3`` (m) the level thicknesses (``(nz,)``).
- Overturning streamfunctions are in Sv (1e6 m3 s-1), integrated from the bottom (NEMO's
  ``diaptr`` convention): in depth, at the W levels ``k = 0..nz`` (the top of level ``k``;
  ``nz`` is the sea floor)::

      psi_z(k, j) = - sum_{k' >= k} sum_i v(k', j, i) e1v(j) e3(k') / 1e6

  so ``psi_z(nz, j) = 0`` and ``psi_z(0, j)`` is minus the net northward transport of the
  row (0 in a steady state). In potential density ``sigma``, at the bin edges
  ``sigma_0 < ... < sigma_M``::

      psi_s(m, j) = - (northward transport of the water denser than sigma_m) / 1e6

  Either way ``psi > 0`` is a clockwise cell when drawn with north to the right and the
  surface (light water) on top: northward flow above (lighter), southward below (denser),
  like the North Atlantic's overturning; an abyssal cell of dense water flowing north is
  negative.
- The density-space streamfunction bins each V cell's transport by its potential density
  "conservatively" (as xgcm's ``transform(..., method='conservative')`` that DINO's own
  diagnostics use): the cell's transport is spread uniformly over the range of sigma between
  its top and bottom faces (sigma interpolated linearly in depth between the cell centres,
  held constant above the first and below the last wet centre), so a cell straddling an
  isopycnal puts part of its transport on each side.
"""
from __future__ import annotations

import numba
import numpy as np

from .eos import EosParams, rho_insitu

SV = 1.0e6            # m3 s-1 in a sverdrup
# Windows of the overturning extrema that the spin-up series report: each hemisphere poleward
# of 20 degrees (the tropical cells left out) and below 500 m (the wind-driven shallow cells
# left out); degrees north, metres.
MOC_LAT_NH = (20.0, 70.0)
MOC_LAT_SH = (-70.0, -20.0)
MOC_MIN_DEPTH_M = 500.0


def level_thickness(depth_t: np.ndarray, depth_w: np.ndarray) -> np.ndarray:
    """e3 (m) of each level from the depth of its top face ``depth_w`` (m, ``(nz,)``, as
    output files hold it) and of its centre ``depth_t`` (m): the last level is
    ``2 (depth_t[-1] - depth_w[-1])`` thick (centres are mid-level)."""
    w = np.asarray(depth_w, dtype=float)
    last = 2.0 * (float(depth_t[-1]) - w[-1])
    return np.append(np.diff(w), last)


def e1v_of_rows(e1t_row: np.ndarray, y_t: np.ndarray, y_v: np.ndarray, degrees: bool) -> np.ndarray:
    """Zonal width (m) of the V faces of each row from the T cells' width ``e1t_row``
    (m, ``(ny,)``). On the DINO isotropic Mercator grid (``degrees``: y in degrees north)
    e1 = R cos(latitude) dlambda, so e1v = e1t cos(y_v) / cos(y_t); on a Cartesian box
    e1v = e1t."""
    e1t_row = np.asarray(e1t_row, dtype=float)
    if not degrees:
        return e1t_row.copy()
    return e1t_row * np.cos(np.radians(y_v)) / np.cos(np.radians(y_t))


def channel_transport(u_column: np.ndarray, e2u_row: np.ndarray, e3: np.ndarray) -> float:
    """Eastward volume transport (Sv) through one column of U faces: ``u_column`` (m s-1,
    ``(nz, ny)``, NaN on land), ``e2u_row`` (m, ``(ny,)``) their meridional width. Through the
    column east of DINO's wall (U column 0, wet only in the re-entrant channel) it is the
    channel (ACC) transport, as DINO's diagnostics define it."""
    u = np.nan_to_num(np.asarray(u_column, dtype=float))
    return float(np.sum(u * np.asarray(e2u_row, float)[None, :] * np.asarray(e3, float)[:, None]) / SV)


def meridional_transport(v: np.ndarray, e1v: np.ndarray, e3: np.ndarray) -> np.ndarray:
    """Northward transport (m3 s-1) through each V face, ``(nz, ny, nx)``; 0 on land."""
    v = np.nan_to_num(np.asarray(v, dtype=float))
    return v * np.asarray(e1v, float)[None, :, None] * np.asarray(e3, float)[:, None, None]


def moc_depth(v: np.ndarray, e1v: np.ndarray, e3: np.ndarray) -> np.ndarray:
    """Overturning streamfunction in depth (Sv), ``(nz + 1, ny)`` at the W levels (see the
    module docstring): the zonally summed transport integrated from the sea floor up. W levels
    below the deepest wet (finite) V face of a row are NaN."""
    zonal = meridional_transport(v, e1v, e3).sum(axis=2)                 # (nz, ny) m3/s
    psi = np.zeros((zonal.shape[0] + 1, zonal.shape[1]))
    psi[:-1] = -np.cumsum(zonal[::-1], axis=0)[::-1] / SV
    nwet = np.isfinite(np.asarray(v, dtype=float)).any(axis=2)[::-1].cumsum(axis=0)[::-1]   # wet at or below k
    psi[1:][nwet == 0] = np.nan       # the bottom face of the deepest wet level keeps its 0
    psi[0][nwet[0] == 0] = np.nan
    return psi


def sigma_on_v(T: np.ndarray, S: np.ndarray, z_ref: float, params: EosParams | None = None) -> np.ndarray:
    """Potential density anomaly sigma = rho(T, S, z_ref) - 1000 (kg m-3) at the V points,
    ``(nz, ny, nx)`` like ``v``: computed at the T points with the model's equation of
    state (:func:`ocean.eos.rho_insitu`, pressure of the reference depth ``z_ref`` in m, e.g.
    0 for sigma0 or 2000 for sigma2) and averaged over the two T cells each V face separates
    (T rows j and j + 1). NaN where either cell is land (and on the last row, a wall)."""
    p = EosParams.dino() if params is None else params
    sig_t = rho_insitu(T, S, z_ref, p) - 1000.0                         # NaN on land
    sig_v = np.full_like(sig_t, np.nan)
    sig_v[:, :-1] = 0.5 * (sig_t[:, :-1] + sig_t[:, 1:])
    return sig_v


@numba.njit(cache=True)
def face_densities(sig_v, depth_t, depth_w, sig_top, sig_bot):
    """Potential density at the top and bottom faces of each V cell: linear in depth between
    the centres of wet cells (``sig_v`` finite), held at the cell's own value above the first
    and below the last wet one. ``depth_t``, ``depth_w`` (m, ``(nz,)``): centres and top faces.
    Writes ``sig_top``, ``sig_bot`` (NaN where ``sig_v`` is NaN)."""
    nz, ny, nx = sig_v.shape
    for j in range(ny):
        for i in range(nx):
            for k in range(nz):
                s = sig_v[k, j, i]
                if not np.isfinite(s):
                    sig_top[k, j, i] = np.nan
                    sig_bot[k, j, i] = np.nan
                    continue
                top = s
                if k > 0 and np.isfinite(sig_v[k - 1, j, i]):
                    r = (depth_w[k] - depth_t[k - 1]) / (depth_t[k] - depth_t[k - 1])
                    top = sig_v[k - 1, j, i] + r * (s - sig_v[k - 1, j, i])
                bot = s
                if k + 1 < nz and np.isfinite(sig_v[k + 1, j, i]):
                    r = (depth_w[k + 1] - depth_t[k]) / (depth_t[k + 1] - depth_t[k])
                    bot = s + r * (sig_v[k + 1, j, i] - s)
                sig_top[k, j, i] = top
                sig_bot[k, j, i] = bot


@numba.njit(cache=True)
def bin_by_density(transport, sig_top, sig_bot, edges, out):
    """Zonally summed transport per density bin: ``out[b, j]`` (m3 s-1, ``(nb, ny)``, zeroed
    here) receives from every cell of row j with finite faces the part of ``transport``
    (m3 s-1) whose density lies in ``[edges[b], edges[b+1])``, spreading each cell's transport
    uniformly over ``[min, max]`` of its two face densities; what lies below ``edges[0]`` goes
    to bin 0, above ``edges[-1]`` to the last bin."""
    nz, ny, nx = transport.shape
    nb = edges.size - 1
    for b in range(nb):
        for j in range(ny):
            out[b, j] = 0.0
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                t = transport[k, j, i]
                a = sig_top[k, j, i]
                c = sig_bot[k, j, i]
                if t == 0.0 or not (np.isfinite(a) and np.isfinite(c)):
                    continue
                lo = min(a, c)
                hi = max(a, c)
                b0 = min(max(np.searchsorted(edges, lo, side="right") - 1, 0), nb - 1)
                b1 = min(max(np.searchsorted(edges, hi, side="right") - 1, 0), nb - 1)
                if b0 == b1 or hi - lo <= 1e-12 * max(1.0, abs(hi)):
                    out[b0, j] += t
                    continue
                for b in range(b0, b1 + 1):
                    below = lo if b == 0 else max(lo, edges[b])          # bin 0 takes all below
                    above = hi if b == nb - 1 else min(hi, edges[b + 1])
                    if above > below:
                        out[b, j] += t * (above - below) / (hi - lo)


def moc_density(v: np.ndarray, sig_v: np.ndarray, e1v: np.ndarray, e3: np.ndarray, depth_t: np.ndarray,
                depth_w: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Overturning streamfunction in potential density (Sv), ``(len(edges), ny)`` at the bin
    ``edges`` (kg m-3, increasing; see the module docstring): minus the zonally summed
    transport of the water denser than each edge. ``sig_v``: potential density at the V
    points (:func:`sigma_on_v`), NaN on land; ``depth_t``, ``depth_w`` (m): level centres and
    top faces."""
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("density edges must be an increasing 1-D array of at least 2 values")
    sig = np.ascontiguousarray(sig_v, dtype=np.float64)
    transport = np.ascontiguousarray(meridional_transport(v, e1v, e3))
    top = np.empty_like(sig)
    bot = np.empty_like(sig)
    face_densities(sig, np.asarray(depth_t, np.float64), np.asarray(depth_w, np.float64), top, bot)
    per_bin = np.empty((edges.size - 1, sig.shape[1]))
    bin_by_density(transport, top, bot, edges, per_bin)
    psi = np.zeros((edges.size, sig.shape[1]))
    psi[:-1] = -np.cumsum(per_bin[::-1], axis=0)[::-1] / SV
    return psi


def extrema_in_window(psi: np.ndarray, lat: np.ndarray, depth: np.ndarray, lat_range: tuple[float, float],
                      min_depth: float) -> tuple[float, float]:
    """(max, min) of a depth-space streamfunction ``psi`` (``(nz + 1, ny)``) over the rows
    with ``lat_range[0] <= lat <= lat_range[1]`` (degrees north) and the W levels with
    ``depth >= min_depth`` (m); NaN, NaN when the window is empty."""
    rows = (lat >= lat_range[0]) & (lat <= lat_range[1])
    levels = depth >= min_depth
    w = psi[np.ix_(levels, rows)]
    if w.size == 0:
        return float("nan"), float("nan")
    return float(np.nanmax(w)), float(np.nanmin(w))
