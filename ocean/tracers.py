"""The tracer equation for temperature (degC) and salinity (psu):

    d(T)/dt = -div(u T) + div_h(K_h grad_h T) + d/dz(K_z dT/dz) + Q_surface / e3t[0]

Flux form on the fixed z-level volumes of the linear free surface, forward in time over
the step (n -> n+1) with the advective velocity centred at n+1/2 (``barotropic.
advective_velocity``). Advection is a TVD scheme: the Lax-Wendroff flux limited by van
Leer's limiter (Sweby 1984), monotone for Courant numbers below 1/2 in each direction;
lateral diffusion is a Laplacian along levels with K_h at U/V points (m2/s); vertical
diffusion is implicit with a background K_z plus a large convective K_z where N2 < 0
(NEMO's enhanced vertical diffusion; coefficients and solver in ``vertical_mixing.py``).
Being in flux form, the content sum(T e1e2t e3t) changes only through the surface: the
surface forcing and, as in every linear-free-surface model (NEMO ln_linssh), the advective
flux w(0) T(0) through the fixed surface.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .kernels import U1, inline_kernel, kernel, prange


class TracerFluxes(NamedTuple):
    """Work arrays (nz, nj, ni) of the tracer fluxes (tracer units * m3/s) through the east,
    north and top faces of each T cell."""
    flux_x: np.ndarray
    flux_y: np.ndarray
    flux_z: np.ndarray


@inline_kernel
def _limited(tup, d_up, d_c, courant):
    # van Leer-limited Lax-Wendroff correction to the upwind value (a select, not a branch:
    # the loops vectorise; where d_up d_c <= 0 the quotient is not used)
    s = 2.0 * d_up * d_c / (d_up + d_c) if d_up * d_c > 0.0 else 0.0
    return tup + 0.5 * (1.0 - abs(courant)) * s


@kernel
def fluxes(T, uadv, vadv, wadv, ahu, ahv, metrics, masks, dt, advect, nhalo, flux):
    """Advective + diffusive fluxes (T m3/s) through the east (``flux.flux_x``), north
    (``flux_y``) and top (``flux_z``) faces of the interior cells and of the cells just
    west/south of them (``flux``: a :class:`TracerFluxes`); advective velocities in m/s,
    lateral diffusivities ``ahu``, ``ahv`` (m2/s) at U/V points, ``dt`` in s.

    Both upwind choices are computed and one selected (indices unsigned, the level offsets
    clamped into the grid where they are not used): branch-free, the loops vectorise."""
    nz, nj, ni = T.shape
    e1u, e2u, e1v, e2v, e1e2t = metrics.e1u, metrics.e2u, metrics.e1v, metrics.e2v, metrics.e1e2t
    e3t, e3w, umask, vmask, tmask = metrics.e3t, metrics.e3w, masks.umask, masks.vmask, masks.tmask
    flux_x, flux_y, flux_z = flux.flux_x, flux.flux_y, flux.flux_z
    adv = 1.0 if advect else 0.0
    h1, je, ie = np.uint64(nhalo - 1), np.uint64(nj - nhalo), np.uint64(ni - nhalo)
    U2 = np.uint64(2)
    for kk in prange(nz):
        k = np.uint64(kk)
        kp1 = np.uint64(min(kk + 1, nz - 1))          # k + 1, k - 1, k - 2 where they exist
        km1 = np.uint64(max(kk - 1, 0))
        km2 = np.uint64(max(kk - 2, 0))
        below = 1.0 if kk + 1 < nz else 0.0
        above2 = 1.0 if kk >= 2 else 0.0
        for j in range(h1, je):
            for i in range(h1, ie):
                area_x = e2u[j, i] * e3t[k]
                area_y = e1v[j, i] * e3t[k]
                # x faces
                ux = uadv[k, j, i]
                cu = ux * dt / e1u[j, i]
                fp = _limited(T[k, j, i], (T[k, j, i] - T[k, j, i - U1]) * umask[k, j, i - U1],
                              (T[k, j, i + U1] - T[k, j, i]), cu)
                fm = _limited(T[k, j, i + U1], (T[k, j, i + U1] - T[k, j, i + U2]) * umask[k, j, i + U1],
                              (T[k, j, i] - T[k, j, i + U1]), cu)
                fl = (fp if ux > 0.0 else fm) if (ux != 0.0 and adv != 0.0) else 0.0
                flux_x[k, j, i] = (area_x * ux * fl
                                   - ahu[j, i] * area_x / e1u[j, i] * (T[k, j, i + U1] - T[k, j, i])) * umask[k, j, i]
                vy = vadv[k, j, i]
                cv = vy * dt / e2v[j, i]
                fp = _limited(T[k, j, i], (T[k, j, i] - T[k, j - U1, i]) * vmask[k, j - U1, i],
                              (T[k, j + U1, i] - T[k, j, i]), cv)
                fm = _limited(T[k, j + U1, i], (T[k, j + U1, i] - T[k, j + U2, i]) * vmask[k, j + U1, i],
                              (T[k, j, i] - T[k, j + U1, i]), cv)
                fl = (fp if vy > 0.0 else fm) if (vy != 0.0 and adv != 0.0) else 0.0
                flux_y[k, j, i] = (area_y * vy * fl
                                   - ahv[j, i] * area_y / e2v[j, i] * (T[k, j + U1, i] - T[k, j, i])) * vmask[k, j, i]
                # top face of level k (w positive up); at k = 0 the linear free surface flux
                wz = wadv[k, j, i] * adv
                c = wz * dt / e3w[k]
                # up: from level k (below) into k-1; down: from level k-1 (above) into k
                d_up = (T[k, j, i] - T[kp1, j, i]) * tmask[kp1, j, i] if below != 0.0 else 0.0
                fp = _limited(T[k, j, i], d_up, T[km1, j, i] - T[k, j, i], c)
                d_up = (T[km1, j, i] - T[km2, j, i]) if above2 != 0.0 else 0.0
                fm = _limited(T[km1, j, i], d_up, T[k, j, i] - T[km1, j, i], c)
                fz = e1e2t[j, i] * wz * (fp if wz > 0.0 else fm) * tmask[k, j, i]
                if kk == 0:
                    fz = e1e2t[j, i] * wz * T[0, j, i] * tmask[0, j, i]
                elif wz == 0.0:
                    fz = 0.0
                flux_z[k, j, i] = fz


@kernel
def update(T, flux, src, pen, ipen, metrics, masks, dt, nhalo, Tn):
    """Tn = T + dt * (flux convergence / volume + sources): ``src`` (degC m/s or psu m/s)
    enters the top cell; ``pen`` (same units) is spread over the column by the fraction
    ``ipen`` (nz+1,) reaching each W level, the bottom cell taking what reaches the floor;
    ``flux``: the :class:`TracerFluxes` of :func:`fluxes`."""
    nz, nj, ni = T.shape
    flux_x, flux_y, flux_z = flux.flux_x, flux.flux_y, flux.flux_z
    kbot_t, e1e2t, e3t, tmask = masks.kbot_t, metrics.e1e2t, metrics.e3t, masks.tmask
    h, je, ie = np.uint64(nhalo), np.uint64(nj - nhalo), np.uint64(ni - nhalo)
    for kk in prange(nz):
        k = np.uint64(kk)          # unsigned indices: no wraparound, so the loops vectorise
        for j in range(h, je):
            for i in range(h, ie):
                kb = kbot_t[j, i]
                if kk >= kb:
                    Tn[k, j, i] = 0.0
                    continue
                ftop = flux_z[k, j, i]
                fbot = flux_z[k + U1, j, i] if kk + 1 < nz else 0.0
                conv = (flux_x[k, j, i - U1] - flux_x[k, j, i] + flux_y[k, j - U1, i] - flux_y[k, j, i] + fbot - ftop)
                tend = conv / (e1e2t[j, i] * e3t[k])
                if kk == 0:
                    tend += src[j, i] / e3t[0]
                absorbed = ipen[k] - ipen[k + U1] if kk < kb - 1 else ipen[k]
                tend += pen[j, i] * absorbed / e3t[k]
                Tn[k, j, i] = (T[k, j, i] + dt * tend) * tmask[k, j, i]


def lateral_diffusivity(grid, tr) -> tuple[np.ndarray, np.ndarray]:
    """K_h at U and V points (m2/s) from the [tracers] section ``tr``: constant, or grid-scaled
    U_d * e / 2 (NEMO rn_Ud)."""
    if tr.diff_coeff_m2_s > 0:
        k = tr.diff_coeff_m2_s
        return np.full(grid.shape2, k), np.full(grid.shape2, k)
    ud = tr.diff_velocity_m_s
    return 0.5 * ud * np.maximum(grid.e1u, grid.e2u), 0.5 * ud * np.maximum(grid.e1v, grid.e2v)
