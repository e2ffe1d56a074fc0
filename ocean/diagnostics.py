"""Run diagnostics: blow-up check, mixed-layer depth, and the tile sums behind the global
figures (volume, heat and salt content, kinetic energy, max |u|, CFL numbers).

The sums are local to a tile; :class:`ocean.domain.Domain` reduces them over ranks. They
are for monitoring only and never feed back into the time step.
"""
from __future__ import annotations

import numpy as np

from . import fields
from .eos import _rho_anomaly
from .kernels import kernel, prange, serial_kernel

MLD_ZREF_M = 10.0            # reference depth of the mixed-layer criterion (m)
MLD_DSIGMA_KG_M3 = 0.03      # density excess over the reference that ends the mixed layer (kg m-3)

BAD_FIELDS = ("uo", "vo", "thetao", "so", "zos")


@serial_kernel
def first_bad_point(u, v, T, S, ssh, tmask, umax, nhalo):
    """(field index, k, j, i) of the first NaN/inf, or |u|,|v| > umax, in the interior; field
    index -1 when all is well (see BAD_FIELDS)."""
    nz, nj, ni = u.shape
    for k in range(nz):
        for j in range(nhalo, nj - nhalo):
            for i in range(nhalo, ni - nhalo):
                a = u[k, j, i]
                if not np.isfinite(a) or abs(a) > umax:
                    return 0, k, j, i
                a = v[k, j, i]
                if not np.isfinite(a) or abs(a) > umax:
                    return 1, k, j, i
                if tmask[k, j, i] > 0:
                    if not np.isfinite(T[k, j, i]):
                        return 2, k, j, i
                    if not np.isfinite(S[k, j, i]):
                        return 3, k, j, i
    for j in range(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            if not np.isfinite(ssh[j, i]):
                return 4, 0, j, i
    return -1, 0, 0, 0


@kernel
def mixed_layer_depth(T, S, metrics, masks, zref, dsigma, a0, b0, lambda1, lambda2, nu, nhalo, mld):
    """Depth (m) where potential density first exceeds its value at ``zref`` (m, e.g.
    MLD_ZREF_M) by ``dsigma`` (kg m-3, e.g. MLD_DSIGMA_KG_M3), interpolated linearly between T
    points; the column depth where it never does. Potential density (the EOS at z = 0,
    coefficients a0..nu as in :mod:`ocean.eos`) is evaluated only down to the level where
    the criterion is met."""
    nz, nj, ni = T.shape
    gdept, gdepw, kbot_t = metrics.gdept, metrics.gdepw, masks.kbot_t
    for j in prange(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            kb = kbot_t[j, i]
            if kb == 0:
                mld[j, i] = 0.0
                continue
            # reference density at zref, interpolated (constant above the first T point)
            sref = _rho_anomaly(T[0, j, i], S[0, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0)
            for k in range(1, kb):
                if gdept[k] >= zref:
                    sk = _rho_anomaly(T[k, j, i], S[k, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0)
                    sk1 = _rho_anomaly(T[k - 1, j, i], S[k - 1, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0)
                    r = (zref - gdept[k - 1]) / (gdept[k] - gdept[k - 1])
                    sref = sk1 + max(r, 0.0) * (sk - sk1)
                    break
            target = sref + dsigma
            depth = gdepw[kb]
            for k in range(1, kb):
                sk = _rho_anomaly(T[k, j, i], S[k, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0)
                if gdept[k] > zref and sk > target:
                    s0 = _rho_anomaly(T[k - 1, j, i], S[k - 1, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0)
                    z0 = max(gdept[k - 1], zref)
                    if gdept[k - 1] < zref:
                        s0 = sref
                    depth = z0 + (target - s0) / (sk - s0) * (gdept[k] - z0)
                    break
            mld[j, i] = depth


@serial_kernel
def tile_sums(u, v, w, T, S, ssh, metrics, masks, dt, nhalo):
    """Sums over the interior: (volume anomaly sum(ssh*area) m3, heat sum(T*vol) degC m3,
    salt sum(S*vol) psu m3, kinetic energy sum(0.5|u|^2 vol) m5/s2, ocean volume m3,
    max |u|, |v| (m/s), max horizontal and vertical Courant numbers)."""
    nz, nj, ni = u.shape
    e1e2t, e1e2u, e1e2v, e1u, e2v = metrics.e1e2t, metrics.e1e2u, metrics.e1e2v, metrics.e1u, metrics.e2v
    e3t, e3w, tmask, umask, vmask = metrics.e3t, metrics.e3w, masks.tmask, masks.umask, masks.vmask
    vol_anom = 0.0
    heat = 0.0
    salt = 0.0
    ke = 0.0
    vol = 0.0
    umax = 0.0
    cfl_h = 0.0
    cfl_v = 0.0
    for j in range(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            vol_anom += ssh[j, i] * e1e2t[j, i] * tmask[0, j, i]
    for k in range(nz):
        for j in range(nhalo, nj - nhalo):
            for i in range(nhalo, ni - nhalo):
                dv = e1e2t[j, i] * e3t[k] * tmask[k, j, i]
                vol += dv
                heat += T[k, j, i] * dv
                salt += S[k, j, i] * dv
                uu = u[k, j, i] * umask[k, j, i]
                vv = v[k, j, i] * vmask[k, j, i]
                ke += 0.5 * (uu * uu * e1e2u[j, i] + vv * vv * e1e2v[j, i]) * e3t[k]
                umax = max(umax, abs(uu), abs(vv))
                cfl_h = max(cfl_h, abs(uu) * dt / e1u[j, i], abs(vv) * dt / e2v[j, i])
                if k > 0:
                    cfl_v = max(cfl_v, abs(w[k, j, i]) * dt / e3w[k] * tmask[k, j, i])
    return vol_anom, heat, salt, ke, vol, umax, cfl_h, cfl_v


@kernel
def surface_kinetic_energy(u, v, umask, vmask, nhalo, out):
    """out = (u^2 and v^2 averaged from the two faces of each T cell) / 2 at the top level (m2 s-2)."""
    nj, ni = out.shape
    for j in prange(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            uu = 0.5 * ((u[0, j, i - 1] * umask[0, j, i - 1]) ** 2 + (u[0, j, i] * umask[0, j, i]) ** 2)
            vv = 0.5 * ((v[0, j - 1, i] * vmask[0, j - 1, i]) ** 2 + (v[0, j, i] * vmask[0, j, i]) ** 2)
            out[j, i] = 0.5 * (uu + vv)


fields.declare("ke_surface", "T", 2, "m2 s-2", "kinetic energy per unit mass of the top level",
               lambda m: m.surface_kinetic_energy(), output="ke_surface", owner=__name__)
fields.declare("mld", "T", 2, "m", "mixed layer depth (0.03 kg m-3 from 10 m)", lambda m: m.mixed_layer_depth(),
               output="mld", standard_name="ocean_mixed_layer_thickness_defined_by_sigma_theta", owner=__name__)


def two_grid_ratio(u: np.ndarray, wet: np.ndarray | None = None, axis: int = -2) -> float:
    """How much of a field is a two-grid-point pattern along ``axis`` (default: y of a
    ``[..., j, i]`` array): rms(r) / rms(u) with ``r = (u[j+1] - 2 u[j] + u[j-1]) / 4``, over
    the points whose three rows are wet (``wet``: boolean like ``u``; default: u finite and
    non-zero). A field alternating in sign from row to row gives 1, a smooth flow a few per
    cent (the curvature of its profile). An offline diagnostic of output (numpy, allocates),
    used by ``scripts/grid_noise.py`` and the tests; never called in the time step."""
    u = np.moveaxis(np.asarray(u, dtype=float), axis, 0)
    wet = (np.isfinite(u) & (u != 0.0)) if wet is None else np.moveaxis(np.asarray(wet, bool), axis, 0)
    u = np.where(wet, u, 0.0)
    r = 0.25 * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    ok = wet[2:] & wet[1:-1] & wet[:-2]
    den = np.sqrt(np.mean(u[1:-1][ok] ** 2)) if ok.any() else 0.0
    return float(np.sqrt(np.mean(r[ok] ** 2)) / den) if den > 0 else 0.0
