"""The momentum equation: every term of du/dt and dv/dt except the surface pressure gradient
(which the barotropic mode carries, see ``barotropic.py``).

Vector-invariant form on z-levels with full cells (NEMO's dynvor/dynkeg/dynzad/dynhpg/
dynldf/dynzdf):

    du/dt = + (zeta + f) v~  - d(KE)/dx - w du/dz - (1/rho0) dp_h/dx + D_h(u) + d/dz(Av du/dz)
    dv/dt = - (zeta + f) u~  - d(KE)/dy - w dv/dz - (1/rho0) dp_h/dy + D_h(v) + d/dz(Av dv/dz)

with the energy-and-enstrophy-conserving (EEN, Arakawa & Lamb 1981) vorticity term, the
hydrostatic pressure gradient of NEMO's z-coordinate scheme, a Laplacian or biharmonic
lateral viscosity in rotational/divergent form, surface wind stress as a flux into the top
level and a quadratic bottom drag, both inside the implicit vertical viscosity solve.

Full cells make the level thickness e3 uniform along a level, so it cancels from the EEN
and viscosity operators and is written only where it does not cancel. Units: velocities
m/s, tendencies m/s2, metrics m, Coriolis s-1, viscosities m2/s (Laplacian) or m4/s.

Index conventions: u[k, j, i] sits east of T[k, j, i], v[k, j, i] north of it, the F point
[j, i] at its north-east corner, w[k] on the top face of level k. Loops cover the interior
``[h, h+ny) x [h, h+nx)``; helper values are evaluated on the fly in the halo where the
stencil needs them (halo width >= 3).
"""
from __future__ import annotations

import numpy as np

from .kernels import kernel, prange

R1_12 = 1.0 / 12.0


@kernel
def vertical_velocity(u, v, e2u, e1v, e1e2t, e3t, tmask, h, m, w):
    """w (m/s, positive up) at the top of each level from continuity, w = 0 at the bottom,
    on the interior plus ``m`` halo points; w[0] is the linear free surface's dssh/dt."""
    nz, nj, ni = u.shape
    for j in prange(h - m, nj - h + m):
        for i in range(h - m, ni - h + m):
            acc = 0.0
            for k in range(nz - 1, -1, -1):
                div = (e2u[j, i] * u[k, j, i] - e2u[j, i - 1] * u[k, j, i - 1]
                       + e1v[j, i] * v[k, j, i] - e1v[j - 1, i] * v[k, j - 1, i]) / e1e2t[j, i]
                acc -= e3t[k] * div * tmask[k, j, i]
                w[k, j, i] = acc


@kernel
def advective_tendency(u, v, w, ff_f, e1u, e2u, e1v, e2v, e1f, e2f, e1e2t, e1e2u, e1e2v,
                       umask, vmask, fmask, fmask_any, e3t, coriolis, h, q, gu, gv):
    """Vorticity (EEN), kinetic-energy gradient and vertical advection: gu, gv (m/s2).
    ``q`` is a work array (nz, nj, ni) for the absolute vorticity at F points (s-1)."""
    nz, nj, ni = u.shape
    fc = 1.0 if coriolis else 0.0
    for k in prange(nz):
        for j in range(h - 1, nj - h + 1):
            for i in range(h - 1, ni - h + 1):
                rot = (e2v[j, i + 1] * v[k, j, i + 1] - e2v[j, i] * v[k, j, i]
                       - e1u[j + 1, i] * u[k, j + 1, i] + e1u[j, i] * u[k, j, i]) * fmask[k, j, i] / (e1f[j, i] * e2f[j, i])
                q[k, j, i] = (rot + fc * ff_f[j, i]) * fmask_any[k, j, i]
        for j in range(h, nj - h):
            for i in range(h, ni - h):
                # EEN triads at T points (NEMO dynvor, nn_een_e3f = 1 with uniform e3)
                tne_c = q[k, j, i - 1] + q[k, j, i] + q[k, j - 1, i]
                tse_c = q[k, j, i] + q[k, j - 1, i] + q[k, j - 1, i - 1]
                tnw_e = q[k, j - 1, i] + q[k, j, i] + q[k, j, i + 1]
                tsw_e = q[k, j - 1, i + 1] + q[k, j - 1, i] + q[k, j, i]
                zwy_c = e1v[j, i] * v[k, j, i]
                zwy_e = e1v[j, i + 1] * v[k, j, i + 1]
                zwy_sc = e1v[j - 1, i] * v[k, j - 1, i]
                zwy_se = e1v[j - 1, i + 1] * v[k, j - 1, i + 1]
                zua = R1_12 / e1u[j, i] * (tne_c * zwy_c + tnw_e * zwy_e + tse_c * zwy_sc + tsw_e * zwy_se)

                tnw_c = q[k, j - 1, i - 1] + q[k, j, i - 1] + q[k, j, i]
                tsw_n = q[k, j, i] + q[k, j, i - 1] + q[k, j + 1, i - 1]
                tse_n = q[k, j + 1, i] + q[k, j, i] + q[k, j, i - 1]
                zwx_c = e2u[j, i] * u[k, j, i]
                zwx_w = e2u[j, i - 1] * u[k, j, i - 1]
                zwx_n = e2u[j + 1, i] * u[k, j + 1, i]
                zwx_nw = e2u[j + 1, i - 1] * u[k, j + 1, i - 1]
                zva = -R1_12 / e2v[j, i] * (tsw_n * zwx_nw + tse_n * zwx_n + tnw_c * zwx_w + tne_c * zwx_c)

                # kinetic energy at T points (m2/s2) and its gradient
                ke_c = 0.25 * (u[k, j, i - 1] ** 2 + u[k, j, i] ** 2 + v[k, j - 1, i] ** 2 + v[k, j, i] ** 2)
                ke_e = 0.25 * (u[k, j, i] ** 2 + u[k, j, i + 1] ** 2 + v[k, j - 1, i + 1] ** 2 + v[k, j, i + 1] ** 2)
                ke_n = 0.25 * (u[k, j + 1, i - 1] ** 2 + u[k, j + 1, i] ** 2 + v[k, j, i] ** 2 + v[k, j + 1, i] ** 2)
                zua -= (ke_e - ke_c) / e1u[j, i]
                zva -= (ke_n - ke_c) / e2v[j, i]

                # vertical advection -w du/dz, NEMO dynzad form (zero flux at top and bottom)
                if k > 0:
                    wu = 0.25 * (e1e2t[j, i] * w[k, j, i] + e1e2t[j, i + 1] * w[k, j, i + 1])
                    wv = 0.25 * (e1e2t[j, i] * w[k, j, i] + e1e2t[j + 1, i] * w[k, j + 1, i])
                    zua -= wu * (u[k - 1, j, i] - u[k, j, i]) / (e1e2u[j, i] * e3t[k])
                    zva -= wv * (v[k - 1, j, i] - v[k, j, i]) / (e1e2v[j, i] * e3t[k])
                if k < nz - 1:
                    wu = 0.25 * (e1e2t[j, i] * w[k + 1, j, i] + e1e2t[j, i + 1] * w[k + 1, j, i + 1])
                    wv = 0.25 * (e1e2t[j, i] * w[k + 1, j, i] + e1e2t[j + 1, i] * w[k + 1, j + 1, i])
                    zua -= wu * (u[k, j, i] - u[k + 1, j, i]) / (e1e2u[j, i] * e3t[k])
                    zva -= wv * (v[k, j, i] - v[k + 1, j, i]) / (e1e2v[j, i] * e3t[k])
                gu[k, j, i] = zua * umask[k, j, i]
                gv[k, j, i] = zva * vmask[k, j, i]


@kernel
def pressure_gradient(rhd, e1u, e2v, umask, vmask, e3w, grav, h, gu, gv):
    """Write the hydrostatic pressure gradient -(1/rho0) grad p_h (m/s2) into gu, gv; ``rhd`` is
    the density anomaly (rho - rho0)/rho0 at T points (NEMO hpg_zco; e3w[0] is the depth of
    the first T point, so the top term integrates from the surface)."""
    nz, nj, ni = rhd.shape
    for j in prange(h, nj - h):
        for i in range(h, ni - h):
            pu = 0.0
            pv = 0.0
            for k in range(nz):
                if k == 0:
                    pu = grav * e3w[0] * (rhd[0, j, i + 1] - rhd[0, j, i]) / e1u[j, i]
                    pv = grav * e3w[0] * (rhd[0, j + 1, i] - rhd[0, j, i]) / e2v[j, i]
                else:
                    pu += grav * e3w[k] * 0.5 * ((rhd[k, j, i + 1] + rhd[k - 1, j, i + 1])
                                                 - (rhd[k, j, i] + rhd[k - 1, j, i])) / e1u[j, i]
                    pv += grav * e3w[k] * 0.5 * ((rhd[k, j + 1, i] + rhd[k - 1, j + 1, i])
                                                 - (rhd[k, j, i] + rhd[k - 1, j, i])) / e2v[j, i]
                gu[k, j, i] = -pu * umask[k, j, i]
                gv[k, j, i] = -pv * vmask[k, j, i]


@kernel
def laplacian_viscosity(u, v, ahm_t, ahm_f, e1u, e2u, e1v, e2v, e1f, e2f, e1e2t,
                        umask, vmask, fmask, tmask, h, m, sign, gu, gv):
    """Add sign * [grad(A div) - curl(A zeta)] (m/s2) to gu, gv on the interior plus ``m``
    halo points; A at T (``ahm_t``) and F (``ahm_f``) points in m2/s. fmask = 0 on walls
    gives free slip, 2 gives no slip (NEMO rn_shlat)."""
    nz, nj, ni = u.shape
    for k in prange(nz):
        for j in range(h - m, nj - h + m):
            for i in range(h - m, ni - h + m):
                div_c = (e2u[j, i] * u[k, j, i] - e2u[j, i - 1] * u[k, j, i - 1]
                         + e1v[j, i] * v[k, j, i] - e1v[j - 1, i] * v[k, j - 1, i]) / e1e2t[j, i] * tmask[k, j, i]
                div_e = (e2u[j, i + 1] * u[k, j, i + 1] - e2u[j, i] * u[k, j, i]
                         + e1v[j, i + 1] * v[k, j, i + 1] - e1v[j - 1, i + 1] * v[k, j - 1, i + 1]) / e1e2t[j, i + 1] * tmask[k, j, i + 1]
                div_n = (e2u[j + 1, i] * u[k, j + 1, i] - e2u[j + 1, i - 1] * u[k, j + 1, i - 1]
                         + e1v[j + 1, i] * v[k, j + 1, i] - e1v[j, i] * v[k, j, i]) / e1e2t[j + 1, i] * tmask[k, j + 1, i]
                rot_c = (e2v[j, i + 1] * v[k, j, i + 1] - e2v[j, i] * v[k, j, i]
                         - e1u[j + 1, i] * u[k, j + 1, i] + e1u[j, i] * u[k, j, i]) * fmask[k, j, i] / (e1f[j, i] * e2f[j, i])
                rot_s = (e2v[j - 1, i + 1] * v[k, j - 1, i + 1] - e2v[j - 1, i] * v[k, j - 1, i]
                         - e1u[j, i] * u[k, j, i] + e1u[j - 1, i] * u[k, j - 1, i]) * fmask[k, j - 1, i] / (e1f[j - 1, i] * e2f[j - 1, i])
                rot_w = (e2v[j, i] * v[k, j, i] - e2v[j, i - 1] * v[k, j, i - 1]
                         - e1u[j + 1, i - 1] * u[k, j + 1, i - 1] + e1u[j, i - 1] * u[k, j, i - 1]) * fmask[k, j, i - 1] / (e1f[j, i - 1] * e2f[j, i - 1])
                du = (-(ahm_f[j, i] * rot_c - ahm_f[j - 1, i] * rot_s) / e2u[j, i]
                      + (ahm_t[j, i + 1] * div_e - ahm_t[j, i] * div_c) / e1u[j, i])
                dv = ((ahm_f[j, i] * rot_c - ahm_f[j, i - 1] * rot_w) / e1v[j, i]
                      + (ahm_t[j + 1, i] * div_n - ahm_t[j, i] * div_c) / e2v[j, i])
                gu[k, j, i] += sign * du * umask[k, j, i]
                gv[k, j, i] += sign * dv * vmask[k, j, i]


@kernel
def ab3_update(u, v, gu, gv, gu_hist, gv_hist, slot_n, slot_n1, slot_n2, c0, c1, c2, dt, h, ua, va):
    """Adams-Bashforth-3 (c0, c1, c2 = 23/12, -16/12, 5/12 once three tendencies exist):
    store gu, gv in history slot ``slot_n`` and write ua = u + dt*AB3(g) (m/s)."""
    nz, nj, ni = u.shape
    for k in prange(nz):
        for j in range(h, nj - h):
            for i in range(h, ni - h):
                gu_hist[slot_n, k, j, i] = gu[k, j, i]
                gv_hist[slot_n, k, j, i] = gv[k, j, i]
                ua[k, j, i] = u[k, j, i] + dt * (c0 * gu[k, j, i] + c1 * gu_hist[slot_n1, k, j, i]
                                                 + c2 * gu_hist[slot_n2, k, j, i])
                va[k, j, i] = v[k, j, i] + dt * (c0 * gv[k, j, i] + c1 * gv_hist[slot_n1, k, j, i]
                                                 + c2 * gv_hist[slot_n2, k, j, i])


@kernel
def add_tendency(ua, va, gu, gv, dt, h):
    """ua += dt*gu, va += dt*gv on the interior."""
    nz, nj, ni = ua.shape
    for k in prange(nz):
        for j in range(h, nj - h):
            for i in range(h, ni - h):
                ua[k, j, i] += dt * gu[k, j, i]
                va[k, j, i] += dt * gv[k, j, i]


@kernel
def implicit_vertical_viscosity(ua, va, u, v, taux, tauy, kbot_u, kbot_v, e3t, e3w, avm, cd, ke0,
                                rho0, dt, h, cp):
    """Backward-Euler vertical viscosity on ua, va (in place): constant background ``avm``
    (m2/s), the surface stress taux/tauy (N/m2 at U/V points) as a flux into level 0 and a
    quadratic bottom drag Cd*sqrt(|u_b|^2 + ke0) (m/s) from the step's start velocity u, v.
    ``cp`` is a work array shaped like ua (Thomas algorithm)."""
    nz, nj, ni = ua.shape
    for j in prange(h, nj - h):
        for i in range(h, ni - h):
            for comp in range(2):
                if comp == 0:
                    x, kb = ua, kbot_u[j, i]
                    if kb == 0:
                        continue
                    vb = 0.25 * (v[kb - 1, j, i] + v[kb - 1, j, i + 1] + v[kb - 1, j - 1, i] + v[kb - 1, j - 1, i + 1])
                    ub = u[kb - 1, j, i]
                    tau = taux[j, i]
                else:
                    x, kb = va, kbot_v[j, i]
                    if kb == 0:
                        continue
                    ub = 0.25 * (u[kb - 1, j, i] + u[kb - 1, j + 1, i] + u[kb - 1, j, i - 1] + u[kb - 1, j + 1, i - 1])
                    vb = v[kb - 1, j, i]
                    tau = tauy[j, i]
                rdrag = cd * np.sqrt(ub * ub + vb * vb + ke0)
                x[0, j, i] += dt * tau / (rho0 * e3t[0])
                # forward sweep of the Thomas algorithm; c'_k stored in cp
                for k in range(kb):
                    a = -dt * avm / (e3w[k] * e3t[k]) if k > 0 else 0.0
                    c = -dt * avm / (e3w[k + 1] * e3t[k]) if k < kb - 1 else 0.0
                    b = 1.0 - a - c
                    if k == kb - 1:
                        b += dt * rdrag / e3t[k]
                    if k == 0:
                        denom = b
                        x[0, j, i] = x[0, j, i] / denom
                    else:
                        denom = b - a * cp[k - 1, j, i]
                        x[k, j, i] = (x[k, j, i] - a * x[k - 1, j, i]) / denom
                    cp[k, j, i] = c / denom
                for k in range(kb - 2, -1, -1):
                    x[k, j, i] -= cp[k, j, i] * x[k + 1, j, i]
