"""The barotropic (shallow-water) mode: a split-explicit free surface.

Inside each baroclinic step of length dt the depth-mean flow (ubar, vbar, m/s) and the
sea-surface height ssh (m) are sub-cycled with ``M`` forward-backward sub-steps of dt/M:

    ssh^{m+1}  = ssh^m - dt_e * div(H ubar^m)                          (forward)
    ubar^{m+1} = ubar^m + dt_e * (-g d(ssh^{m+1})/dx + f V^m/H_u + F_u)  (backward in ssh)
    vbar^{m+1} = vbar^m + dt_e * (-g d(ssh^{m+1})/dy - f U^{m+1}/H_v + F_v)

(Coriolis alternates forward/backward, which keeps the inertial oscillation neutral).
F is the depth-mean of every baroclinic tendency, with the mode's own Coriolis term
removed so that it is not counted twice. The linear free surface keeps H at rest.

Time filtering (NEMO's ln_bt_av with a boxcar, Shchepetkin & McWilliams 2005): the
sub-cycle runs 3M/2 sub-steps, to t + 3dt/2, and the new ssh, ubar, vbar are the average
of the sub-steps M/2 .. 3M/2 (trapezoidal weights), centred on t + dt, which removes the fast gravity waves the
baroclinic step cannot resolve. The transport the tracers and the 3-D continuity see is the
weighted sum of sub-step transports (weights c_l below) for which
ssh_new - ssh_old = -dt div(transport) holds exactly, so volume is conserved to
round-off and tracer advection is consistent with the free surface.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .kernels import U1, kernel, prange, serial_kernel


def filter_weights(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Boxcar weights ``a`` (for ssh/ubar at sub-steps 0..N; the window spans sub-steps m/2
    to 3m/2 with half weights at its ends, so it is centred on t + dt) and transport weights
    ``c`` (for the transport of sub-steps 0..N-1), N = 3m/2, m even."""
    n = 3 * m // 2
    a = np.zeros(n + 1)
    a[m // 2: n + 1] = 1.0 / m          # trapezoidal boxcar, centred exactly on sub-step m
    a[m // 2] = a[n] = 0.5 / m
    c = np.array([a[l + 1:].sum() for l in range(n)]) / m
    return a, c


@serial_kernel
def ab3_extrapolate(ubar, vbar, ubar_hist, vbar_hist, slot_n, slot_n1, slot_n2, c0, c1, c2, ubar_x, vbar_x):
    """Store ubar, vbar in history slot ``slot_n`` and write their AB3 combination (m/s)."""
    nj, ni = ubar.shape
    for j in range(nj):
        for i in range(ni):
            ubar_hist[slot_n, j, i] = ubar[j, i]
            vbar_hist[slot_n, j, i] = vbar[j, i]
            ubar_x[j, i] = c0 * ubar[j, i] + c1 * ubar_hist[slot_n1, j, i] + c2 * ubar_hist[slot_n2, j, i]
            vbar_x[j, i] = c0 * vbar[j, i] + c1 * vbar_hist[slot_n1, j, i] + c2 * vbar_hist[slot_n2, j, i]


@kernel
def depth_mean_forcing(ua, va, u, v, ubar, vbar, metrics, masks, fcor_u, fcor_v, coriolis, dt, nhalo,
                       bt_force_u, bt_force_v):
    """F (m/s2): the depth-mean of (ua - u)/dt minus the barotropic Coriolis of ubar
    (pass the AB3-extrapolated ubar, vbar: the 3-D Coriolis term is AB3 too); fcor_u,
    fcor_v (s-1) the Coriolis parameter at U/V points, used when ``coriolis``."""
    nz, nj, ni = ua.shape
    e3t, umask, vmask = metrics.e3t, masks.umask, masks.vmask
    r1_hu, r1_hv, hu, hv = metrics.r1_hu, metrics.r1_hv, metrics.hu, metrics.hv
    fc = 1.0 if coriolis else 0.0
    for jj in prange(nhalo, nj - nhalo):
        j = np.uint64(jj)
        for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
            bt_force_u[j, i] = 0.0
            bt_force_v[j, i] = 0.0
        for k in range(nz):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                bt_force_u[j, i] += e3t[k] * (ua[k, j, i] - u[k, j, i]) * umask[k, j, i]
                bt_force_v[j, i] += e3t[k] * (va[k, j, i] - v[k, j, i]) * vmask[k, j, i]
        for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
            vav = 0.25 * (hv[j, i] * vbar[j, i] + hv[j, i + U1] * vbar[j, i + U1]
                          + hv[j - U1, i] * vbar[j - U1, i] + hv[j - U1, i + U1] * vbar[j - U1, i + U1])
            uav = 0.25 * (hu[j, i] * ubar[j, i] + hu[j, i - U1] * ubar[j, i - U1]
                          + hu[j + U1, i] * ubar[j + U1, i] + hu[j + U1, i - U1] * ubar[j + U1, i - U1])
            bt_force_u[j, i] = ((bt_force_u[j, i] * r1_hu[j, i] / dt - fc * fcor_u[j, i] * vav * r1_hu[j, i])
                                * umask[0, j, i])
            bt_force_v[j, i] = ((bt_force_v[j, i] * r1_hv[j, i] / dt + fc * fcor_v[j, i] * uav * r1_hv[j, i])
                                * vmask[0, j, i])


class SubstepCoefficients(NamedTuple):
    """Constant 2-D coefficients of the sub-step (:func:`substep_coefficients`, once per
    tile): water depths at rest hu, hv (m), transport widths wu = e2u H_u, wv = e1v H_v
    (m2), 1/area on wet T points (m-2), g/e1u, g/e2v (m s-2), Coriolis weights f/(4 H)
    (s-1 m-1) and the surface U/V masks."""
    hu: np.ndarray
    hv: np.ndarray
    wu: np.ndarray
    wv: np.ndarray
    rarea: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    cu: np.ndarray
    cv: np.ndarray
    umask: np.ndarray
    vmask: np.ndarray


def substep_coefficients(g, grav: float, coriolis: bool) -> SubstepCoefficients:
    """The :class:`SubstepCoefficients` of grid ``g`` (gravity ``grav`` in m s-2)."""
    fc = 1.0 if coriolis else 0.0
    c = np.ascontiguousarray
    return SubstepCoefficients(
        hu=g.hu, hv=g.hv, wu=c(g.e2u * g.hu), wv=c(g.e1v * g.hv), rarea=c(g.tmask[0] / g.e1e2t),
        gx=c(grav / g.e1u), gy=c(grav / g.e2v),
        cu=c(0.25 * fc * g.fcor_u * g.r1_hu), cv=c(0.25 * fc * g.fcor_v * g.r1_hv),
        umask=c(g.umask[0]), vmask=c(g.vmask[0]))


class SubstepState(NamedTuple):
    """The sub-stepped state (2-D): ssh (m), ubar, vbar (m/s)."""
    ssh: np.ndarray
    ubar: np.ndarray
    vbar: np.ndarray


class FilteredAccumulators(NamedTuple):
    """The time-filtered sums over the sub-steps (2-D): ssh (m), ubar, vbar (m/s) and the
    transports utr, vtr (m2/s)."""
    ssh: np.ndarray
    ubar: np.ndarray
    vbar: np.ndarray
    utr: np.ndarray
    vtr: np.ndarray


@serial_kernel
def substep(state, bt_force_u, bt_force_v, coefs, dte, a_next, c_now, nhalo, filtered):
    """One forward-backward sub-step of ``state`` (:class:`SubstepState`) over ``dte`` (s),
    with the forcing bt_force_u, bt_force_v (m/s2) and the :class:`SubstepCoefficients`;
    accumulates into ``filtered`` (:class:`FilteredAccumulators`) ssh/ubar/vbar with weight
    ``a_next`` and the transports utr, vtr with weight ``c_now``. Needs valid halos of ubar,
    vbar (3 points) and bt_force_u, bt_force_v (1 point); exchange ubar, vbar after it."""
    ssh, ubar, vbar = state.ssh, state.ubar, state.vbar
    hu, hv, wu, wv, rarea = coefs.hu, coefs.hv, coefs.wu, coefs.wv, coefs.rarea
    gx, gy, cu, cv, umask, vmask = coefs.gx, coefs.gy, coefs.cu, coefs.cv, coefs.umask, coefs.vmask
    ssh_f, ubar_f, vbar_f, utr, vtr = filtered.ssh, filtered.ubar, filtered.vbar, filtered.utr, filtered.vtr
    nj, ni = ssh.shape
    for j in range(nj):
        for i in range(ni):
            utr[j, i] += c_now * hu[j, i] * ubar[j, i]
            vtr[j, i] += c_now * hv[j, i] * vbar[j, i]
    for j in range(np.uint64(nhalo - 2), np.uint64(nj - nhalo + 2)):
        for i in range(np.uint64(nhalo - 2), np.uint64(ni - nhalo + 2)):
            div = (wu[j, i] * ubar[j, i] - wu[j, i - U1] * ubar[j, i - U1]
                   + wv[j, i] * vbar[j, i] - wv[j - U1, i] * vbar[j - U1, i])
            ssh[j, i] = ssh[j, i] - dte * div * rarea[j, i]
    for j in range(np.uint64(nhalo - 1), np.uint64(nj - nhalo + 1)):
        for i in range(np.uint64(nhalo - 1), np.uint64(ni - nhalo + 1)):
            vsum = (hv[j, i] * vbar[j, i] + hv[j, i + U1] * vbar[j, i + U1]
                    + hv[j - U1, i] * vbar[j - U1, i] + hv[j - U1, i + U1] * vbar[j - U1, i + U1])
            ubar[j, i] = (ubar[j, i] + dte * (-gx[j, i] * (ssh[j, i + U1] - ssh[j, i])
                                              + cu[j, i] * vsum + bt_force_u[j, i])) * umask[j, i]
    for j in range(np.uint64(nhalo), np.uint64(nj - nhalo)):
        for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
            usum = (hu[j, i] * ubar[j, i] + hu[j, i - U1] * ubar[j, i - U1]
                    + hu[j + U1, i] * ubar[j + U1, i] + hu[j + U1, i - U1] * ubar[j + U1, i - U1])
            vbar[j, i] = (vbar[j, i] + dte * (-gy[j, i] * (ssh[j + U1, i] - ssh[j, i])
                                              - cv[j, i] * usum + bt_force_v[j, i])) * vmask[j, i]
    if a_next != 0.0:
        for j in range(np.uint64(nhalo - 2), np.uint64(nj - nhalo + 2)):
            for i in range(np.uint64(nhalo - 2), np.uint64(ni - nhalo + 2)):
                ssh_f[j, i] += a_next * ssh[j, i]
        for j in range(np.uint64(nhalo - 1), np.uint64(nj - nhalo + 1)):
            for i in range(np.uint64(nhalo - 1), np.uint64(ni - nhalo + 1)):
                ubar_f[j, i] += a_next * ubar[j, i]
        for j in range(np.uint64(nhalo), np.uint64(nj - nhalo)):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                vbar_f[j, i] += a_next * vbar[j, i]


@kernel
def replace_depth_mean(ua, va, ubar_new, vbar_new, metrics, masks, nhalo, su, sv):
    """ua <- ua - depth_mean(ua) + ubar_new (m/s), and the same for va, on the interior;
    su, sv are 2-D work arrays."""
    nz, nj, ni = ua.shape
    e3t, umask, vmask, r1_hu, r1_hv = metrics.e3t, masks.umask, masks.vmask, metrics.r1_hu, metrics.r1_hv
    for jj in prange(nhalo, nj - nhalo):
        j = np.uint64(jj)
        for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
            su[j, i] = 0.0
            sv[j, i] = 0.0
        for k in range(nz):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                su[j, i] += e3t[k] * ua[k, j, i] * umask[k, j, i]
                sv[j, i] += e3t[k] * va[k, j, i] * vmask[k, j, i]
        for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
            su[j, i] = ubar_new[j, i] - su[j, i] * r1_hu[j, i]
            sv[j, i] = vbar_new[j, i] - sv[j, i] * r1_hv[j, i]
        for k in range(nz):
            for i in range(np.uint64(nhalo), np.uint64(ni - nhalo)):
                ua[k, j, i] = (ua[k, j, i] + su[j, i]) * umask[k, j, i]
                va[k, j, i] = (va[k, j, i] + sv[j, i]) * vmask[k, j, i]


@kernel
def advective_velocity(u_old, v_old, u_new, v_new, ubar_old, vbar_old, ubar_new, vbar_new,
                       utr, vtr, metrics, masks, centred, uadv, vadv):
    """The velocity that advects tracers over the step (m/s): the mean of the old and new
    baroclinic velocities (``centred``) or the new one alone, with the depth mean replaced by
    the filtered transport / H either way. Computed everywhere, halo included (all inputs have
    valid halos); utr, vtr (m2/s) the filtered transports."""
    nz, nj, ni = u_old.shape
    r1_hu, r1_hv, umask, vmask = metrics.r1_hu, metrics.r1_hv, masks.umask, masks.vmask
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(nj):
            for i in range(ni):
                if centred:
                    du = utr[j, i] * r1_hu[j, i] - 0.5 * (ubar_old[j, i] + ubar_new[j, i])
                    dv = vtr[j, i] * r1_hv[j, i] - 0.5 * (vbar_old[j, i] + vbar_new[j, i])
                    uadv[k, j, i] = (0.5 * (u_old[k, j, i] + u_new[k, j, i]) + du) * umask[k, j, i]
                    vadv[k, j, i] = (0.5 * (v_old[k, j, i] + v_new[k, j, i]) + dv) * vmask[k, j, i]
                else:
                    du = utr[j, i] * r1_hu[j, i] - ubar_new[j, i]
                    dv = vtr[j, i] * r1_hv[j, i] - vbar_new[j, i]
                    uadv[k, j, i] = (u_new[k, j, i] + du) * umask[k, j, i]
                    vadv[k, j, i] = (v_new[k, j, i] + dv) * vmask[k, j, i]
