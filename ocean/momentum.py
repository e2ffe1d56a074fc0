"""The momentum equation: every term of du/dt and dv/dt except the surface pressure gradient
(which the barotropic mode carries, see ``barotropic.py``).

Vector-invariant form on z-levels with full cells (NEMO's dynvor/dynkeg/dynzad/dynhpg/
dynldf/dynzdf):

    du/dt = + (zeta + f) v~  - d(KE)/dx - w du/dz - (1/rho0) dp_h/dx + D_h(u) + d/dz(Av du/dz)
    dv/dt = - (zeta + f) u~  - d(KE)/dy - w dv/dz - (1/rho0) dp_h/dy + D_h(v) + d/dz(Av dv/dz)

with the energy-and-enstrophy-conserving (EEN, Arakawa & Lamb 1981) vorticity term, the
hydrostatic pressure gradient of NEMO's z-coordinate scheme, a Laplacian or biharmonic
lateral viscosity in rotational/divergent form. The vertical viscosity, with the surface
wind stress as a flux into the top level and a quadratic bottom drag, is solved implicitly
by ``vertical_mixing.py`` (one solver for momentum and tracers).

Full cells make the level thickness e3 uniform along a level, so it cancels from the EEN
and viscosity operators and is written only where it does not cancel. Units: velocities
m/s, tendencies m/s2, metrics m, Coriolis s-1, viscosities m2/s (Laplacian) or m4/s.

Index conventions: u[k, j, i] sits east of T[k, j, i], v[k, j, i] north of it, the F point
[j, i] at its north-east corner, w[k] on the top face of level k. Loops cover the interior
``[nhalo, nhalo+ny) x [nhalo, nhalo+nx)``; helper values are evaluated on the fly in the
halo where the stencil needs them (halo width >= 3).
"""
from __future__ import annotations

import numpy as np

from .kernels import U1, inline_kernel, kernel, prange

R1_12 = 1.0 / 12.0
R1_48 = 1.0 / 48.0


@kernel
def divergence_curl(u, v, metrics, masks, div, rot):
    """Horizontal divergence (s-1) at T points and relative vorticity (s-1) at F points
    (fmask: 0 free slip, 2 no slip on walls), everywhere but the outermost halo ring;
    ``metrics``, ``masks``: :class:`ocean.grid.Metrics`, :class:`ocean.grid.Masks`."""
    nz, nj, ni = u.shape
    e1u, e2u, e1v, e2v, e1f, e2f = metrics.e1u, metrics.e2u, metrics.e1v, metrics.e2v, metrics.e1f, metrics.e2f
    e1e2t, tmask, fmask = metrics.e1e2t, masks.tmask, masks.fmask
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(np.uint64(1), np.uint64(nj - 1)):
            for i in range(np.uint64(1), np.uint64(ni - 1)):
                div[k, j, i] = (e2u[j, i] * u[k, j, i] - e2u[j, i - U1] * u[k, j, i - U1]
                                + e1v[j, i] * v[k, j, i] - e1v[j - U1, i] * v[k, j - U1, i]) / e1e2t[j, i] * tmask[k, j, i]
            for i in range(np.uint64(1), np.uint64(ni - 1)):       # a loop of its own: fewer arrays, vectorised
                rot[k, j, i] = (e2v[j, i + U1] * v[k, j, i + U1] - e2v[j, i] * v[k, j, i]
                                - e1u[j + U1, i] * u[k, j + U1, i] + e1u[j, i] * u[k, j, i]) * fmask[k, j, i] / (e1f[j, i] * e2f[j, i])


@kernel
def vertical_velocity(div, e3t, nhalo, m, w):
    """w (m/s, positive up) at the top of each level from continuity, w = 0 at the sea
    floor, on the interior plus ``m`` halo points; w[0] is the linear free surface's dssh/dt."""
    nz, nj, ni = div.shape
    for jj in prange(nhalo - m, nj - nhalo + m):
        j = np.uint64(jj)
        for i in range(np.uint64(nhalo - m), np.uint64(ni - nhalo + m)):
            w[nz - 1, j, i] = -e3t[nz - 1] * div[nz - 1, j, i]
        for kk in range(nz - 2, -1, -1):
            k = np.uint64(kk)
            for i in range(np.uint64(nhalo - m), np.uint64(ni - nhalo + m)):
                w[k, j, i] = w[k + U1, j, i] - e3t[k] * div[k, j, i]


@inline_kernel
def ke_hollingsworth(u, v, k, j, i):
    """Kinetic energy (m2/s2) at T point [k, j, i] with the Hollingsworth et al. (1983)
    correction (NEMO dynkeg, nkeg_HW, after Arakawa 2001):
    KE = 1/6 [ mi(2 u^2 + (mj(u))^2) + mj(2 v^2 + (mi(v))^2) ] with mj(u) = (u[j+1] + u[j-1]) / 2,
    written as NEMO writes it, (8 (u_w^2 + u_e^2) + (u_w[j-1] + u_w[j+1])^2 + ...) / 48.
    It replaces the u^2 of the standard form by a mix of u^2 and the square of the mean of
    u's two meridional neighbours, so that d(KE)/dx sees the same cross-stream averages
    as the EEN vorticity term and the two cancel for grid-scale modes as they do in the
    continuous equations. The stencil reaches rows j-1 and j+1 of u and columns i-1, i+1 of v."""
    zu = ((u[k, j, i - U1] * u[k, j, i - U1] + u[k, j, i] * u[k, j, i]) * 8.0
          + ((u[k, j - U1, i - U1] + u[k, j + U1, i - U1]) * (u[k, j - U1, i - U1] + u[k, j + U1, i - U1])
             + (u[k, j - U1, i] + u[k, j + U1, i]) * (u[k, j - U1, i] + u[k, j + U1, i])))
    zv = ((v[k, j - U1, i] * v[k, j - U1, i] + v[k, j, i] * v[k, j, i]) * 8.0
          + ((v[k, j - U1, i - U1] + v[k, j - U1, i + U1]) * (v[k, j - U1, i - U1] + v[k, j - U1, i + U1])
             + (v[k, j, i - U1] + v[k, j, i + U1]) * (v[k, j, i - U1] + v[k, j, i + U1])))
    return R1_48 * (zv + zu)


def een_e3f_factor(tmask, fmask_any, typ):
    """The factor e3u / e3f that multiplies the absolute vorticity at F points in the EEN
    term (NEMO dynvor, nn_e3f_typ) with full cells, where e3 is uniform along a level and
    cancels everywhere else: ``typ = 1`` (NEMO's new form, e3f = the mean e3t of the wet T
    cells around the F point) gives 1 wherever any of them is wet, i.e. ``fmask_any``;
    ``typ = 0`` (NEMO's original form, e3f = their sum / 4) gives 4 / (number of wet T
    cells), which amplifies the vorticity at coastal and bottom F points by up to 4.
    Built once from the tile's exact masks; the last halo row and column stay 0."""
    if typ == 1:
        return fmask_any
    t = tmask
    n = t.copy()
    n[..., :-1] += t[..., 1:]
    n[..., :-1, :] += t[..., 1:, :]
    n[..., :-1, :-1] += t[..., 1:, 1:]
    n[..., -1, :] = 0.0
    n[..., :, -1] = 0.0
    out = np.zeros_like(t)
    np.divide(4.0, n, out=out, where=n > 0)
    return out


@kernel
def advective_tendency(u, v, w, rot, fcor_f, qfac, metrics, masks, coriolis, keg_hw, nhalo, q, gu, gv):
    """Vorticity (EEN), kinetic-energy gradient and vertical advection: gu, gv (m/s2).
    ``rot`` is the relative vorticity at F points, ``fcor_f`` the Coriolis parameter (s-1)
    at F points (used when ``coriolis``), ``qfac`` the factor e3u/e3f of the EEN potential
    vorticity at F points (:func:`een_e3f_factor`: NEMO nn_e3f_typ), ``keg_hw`` selects the
    Hollingsworth kinetic energy (NEMO nn_dynkeg = 1) instead of the standard one, ``q`` a
    work array (nz, nj, ni) for the absolute vorticity (s-1)."""
    nz, nj, ni = u.shape
    e1u, e2u, e1v, e2v, e3t = metrics.e1u, metrics.e2u, metrics.e1v, metrics.e2v, metrics.e3t
    e1e2t, e1e2u, e1e2v = metrics.e1e2t, metrics.e1e2u, metrics.e1e2v
    umask, vmask = masks.umask, masks.vmask
    fc = 1.0 if coriolis else 0.0
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(np.uint64(nhalo - 1), np.uint64(nj - nhalo + 1)):
            for i in range(np.uint64(nhalo - 1), np.uint64(ni - nhalo + 1)):
                q[k, j, i] = (rot[k, j, i] + fc * fcor_f[j, i]) * qfac[k, j, i]
        for j in range(np.uint64(nhalo), np.uint64(nj - nhalo)):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                # EEN triads at T points (NEMO dynvor, nn_een_e3f = 1 with uniform e3)
                tne_c = q[k, j, i - U1] + q[k, j, i] + q[k, j - U1, i]
                tse_c = q[k, j, i] + q[k, j - U1, i] + q[k, j - U1, i - U1]
                tnw_e = q[k, j - U1, i] + q[k, j, i] + q[k, j, i + U1]
                tsw_e = q[k, j - U1, i + U1] + q[k, j - U1, i] + q[k, j, i]
                zwy_c = e1v[j, i] * v[k, j, i]
                zwy_e = e1v[j, i + U1] * v[k, j, i + U1]
                zwy_sc = e1v[j - U1, i] * v[k, j - U1, i]
                zwy_se = e1v[j - U1, i + U1] * v[k, j - U1, i + U1]
                zua = R1_12 / e1u[j, i] * (tne_c * zwy_c + tnw_e * zwy_e + tse_c * zwy_sc + tsw_e * zwy_se)

                tnw_c = q[k, j - U1, i - U1] + q[k, j, i - U1] + q[k, j, i]
                tsw_n = q[k, j, i] + q[k, j, i - U1] + q[k, j + U1, i - U1]
                tse_n = q[k, j + U1, i] + q[k, j, i] + q[k, j, i - U1]
                zwx_c = e2u[j, i] * u[k, j, i]
                zwx_w = e2u[j, i - U1] * u[k, j, i - U1]
                zwx_n = e2u[j + U1, i] * u[k, j + U1, i]
                zwx_nw = e2u[j + U1, i - U1] * u[k, j + U1, i - U1]
                zva = -R1_12 / e2v[j, i] * (tsw_n * zwx_nw + tse_n * zwx_n + tnw_c * zwx_w + tne_c * zwx_c)

                # kinetic energy at T points (m2/s2) and its gradient
                if keg_hw:
                    ke_c = ke_hollingsworth(u, v, k, j, i)
                    ke_e = ke_hollingsworth(u, v, k, j, i + U1)
                    ke_n = ke_hollingsworth(u, v, k, j + U1, i)
                else:
                    ke_c = 0.25 * (u[k, j, i - U1] ** 2 + u[k, j, i] ** 2 + v[k, j - U1, i] ** 2 + v[k, j, i] ** 2)
                    ke_e = 0.25 * (u[k, j, i] ** 2 + u[k, j, i + U1] ** 2 + v[k, j - U1, i + U1] ** 2 + v[k, j, i + U1] ** 2)
                    ke_n = 0.25 * (u[k, j + U1, i - U1] ** 2 + u[k, j + U1, i] ** 2 + v[k, j, i] ** 2 + v[k, j + U1, i] ** 2)
                zua -= (ke_e - ke_c) / e1u[j, i]
                zva -= (ke_n - ke_c) / e2v[j, i]

                # vertical advection -w du/dz, NEMO dynzad form (zero flux at top and bottom)
                if kk > 0:
                    wu = 0.25 * (e1e2t[j, i] * w[k, j, i] + e1e2t[j, i + U1] * w[k, j, i + U1])
                    wv = 0.25 * (e1e2t[j, i] * w[k, j, i] + e1e2t[j + U1, i] * w[k, j + U1, i])
                    zua -= wu * (u[k - U1, j, i] - u[k, j, i]) / (e1e2u[j, i] * e3t[k])
                    zva -= wv * (v[k - U1, j, i] - v[k, j, i]) / (e1e2v[j, i] * e3t[k])
                if kk < nz - 1:
                    wu = 0.25 * (e1e2t[j, i] * w[k + U1, j, i] + e1e2t[j, i + U1] * w[k + U1, j, i + U1])
                    wv = 0.25 * (e1e2t[j, i] * w[k + U1, j, i] + e1e2t[j + U1, i] * w[k + U1, j + U1, i])
                    zua -= wu * (u[k, j, i] - u[k + U1, j, i]) / (e1e2u[j, i] * e3t[k])
                    zva -= wv * (v[k, j, i] - v[k + U1, j, i]) / (e1e2v[j, i] * e3t[k])
                gu[k, j, i] = zua * umask[k, j, i]
                gv[k, j, i] = zva * vmask[k, j, i]


@kernel
def hydrostatic_pressure(rhd, e3w, grav, ph):
    """p_h / rho0 (m2/s2) at T points: the integral of g * rhd from the surface, with the
    trapezoidal rule between T points (NEMO hpg_zco; e3w[0] is the depth of the first T
    point, so the top term integrates from the surface)."""
    nz, nj, ni = rhd.shape
    for j in prange(nj):
        for i in range(ni):
            ph[0, j, i] = grav * e3w[0] * rhd[0, j, i]
        for k in range(1, nz):
            for i in range(ni):
                ph[k, j, i] = ph[k - 1, j, i] + grav * e3w[k] * 0.5 * (rhd[k, j, i] + rhd[k - 1, j, i])


@kernel
def pressure_gradient(ph, metrics, masks, nhalo, gu, gv):
    """Write the hydrostatic pressure gradient -(1/rho0) grad p_h (m/s2) into gu, gv."""
    nz, nj, ni = ph.shape
    e1u, e2v, umask, vmask = metrics.e1u, metrics.e2v, masks.umask, masks.vmask
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(np.uint64(nhalo), np.uint64(nj - nhalo)):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                gu[k, j, i] = -(ph[k, j, i + U1] - ph[k, j, i]) / e1u[j, i] * umask[k, j, i]
                gv[k, j, i] = -(ph[k, j + U1, i] - ph[k, j, i]) / e2v[j, i] * vmask[k, j, i]


@kernel
def laplacian_viscosity(div, rot, ahm_t, ahm_f, metrics, masks, nhalo, m, sign, gu, gv):
    """Add sign * [grad(A div) - curl(A zeta)] (m/s2) to gu, gv on the interior plus ``m``
    halo points, from the divergence ``div`` (T points) and vorticity ``rot`` (F points);
    A at T (``ahm_t``) and F (``ahm_f``) points in m2/s. Zero vorticity on walls (fmask = 0)
    gives free slip, fmask = 2 no slip (NEMO rn_shlat)."""
    nz, nj, ni = div.shape
    e1u, e2u, e1v, e2v, umask, vmask = metrics.e1u, metrics.e2u, metrics.e1v, metrics.e2v, masks.umask, masks.vmask
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(np.uint64(nhalo - m), np.uint64(nj - nhalo + m)):
            for i in range(np.uint64(nhalo - m), np.uint64(ni - nhalo + m)):
                du = (-(ahm_f[j, i] * rot[k, j, i] - ahm_f[j - U1, i] * rot[k, j - U1, i]) / e2u[j, i]
                      + (ahm_t[j, i + U1] * div[k, j, i + U1] - ahm_t[j, i] * div[k, j, i]) / e1u[j, i])
                dv = ((ahm_f[j, i] * rot[k, j, i] - ahm_f[j, i - U1] * rot[k, j, i - U1]) / e1v[j, i]
                      + (ahm_t[j + U1, i] * div[k, j + U1, i] - ahm_t[j, i] * div[k, j, i]) / e2v[j, i])
                gu[k, j, i] += sign * du * umask[k, j, i]
                gv[k, j, i] += sign * dv * vmask[k, j, i]


@kernel
def ab3_update(u, v, gu, gv, gu_hist, gv_hist, slot_n, slot_n1, slot_n2, c0, c1, c2, dt, nhalo, ua, va):
    """Adams-Bashforth-3 (c0, c1, c2 = 23/12, -16/12, 5/12 once three tendencies exist):
    store gu, gv in history slot ``slot_n`` and write ua = u + dt*AB3(g) (m/s)."""
    nz, nj, ni = u.shape
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(np.uint64(nhalo), np.uint64(nj - nhalo)):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                gu_hist[slot_n, k, j, i] = gu[k, j, i]
                ua[k, j, i] = u[k, j, i] + dt * (c0 * gu[k, j, i] + c1 * gu_hist[slot_n1, k, j, i]
                                                 + c2 * gu_hist[slot_n2, k, j, i])
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):   # u and v apart: fewer arrays, vectorised
                gv_hist[slot_n, k, j, i] = gv[k, j, i]
                va[k, j, i] = v[k, j, i] + dt * (c0 * gv[k, j, i] + c1 * gv_hist[slot_n1, k, j, i]
                                                 + c2 * gv_hist[slot_n2, k, j, i])


@kernel
def add_tendency(ua, va, gu, gv, dt, nhalo):
    """ua += dt*gu, va += dt*gv on the interior."""
    nz, nj, ni = ua.shape
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(np.uint64(nhalo), np.uint64(nj - nhalo)):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                ua[k, j, i] += dt * gu[k, j, i]
                va[k, j, i] += dt * gv[k, j, i]
