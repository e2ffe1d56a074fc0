"""Iso-neutral Laplacian diffusion of tracers: NEMO's standard (Madec) operator with the
method of stabilizing correction (``ln_traldf_iso``, ``ln_traldf_msc``), and the slopes of
the neutral surfaces it rotates along (``ldfslp.F90``, NEMO 4.2, the version DINO runs).

Slopes (dimensionless, at U, V points of T levels and at W points of T columns), from the
density anomaly ``rhd`` = rho/rho0 - 1 and N2 of the step (``eos``)::

    slope = (d_i rhd / e1) / (d_z rhd),   d_z rhd = -(rhd + 1) N2 / g    (mean of the W
                                          points above and below at a T point)

bounded by |slope| <= slope_max (``rn_slpmax``) and <= e3 / 7000 m (NEMO's hard-coded
bound ``kxz <= e1 e3 / (pi^2 2 dt)``); inside the mixed layer (NEMO's ``nmln``: the
N2-integral criterion of 0.01 kg m-3 below 10 m) the slope decreases linearly from its
value just below the mixed-layer base to 0 at the surface; then a 1-2-1 Shapiro filter in
i and j, reduced next to walls and the bottom. Level 0 and the surface W point keep a zero
slope (as in NEMO).

Operator (``tra_ldf_iso``, Laplacian, grid-scaled K = U_d e / 2 at U, V points)::

    F_x = -K e2u e3 [ d_i T / e1u - slope_u  mean_4(d_k T) / e3 ]          (east face)
    F_z = -K e1e2t [ slope_i mean_4(d_i T / e1) + slope_j mean_4(d_j T / e2) ]
          -(K_33 - akz) e1e2t d_k T / e3w                                   (top face)

with K_33 = K (slope_i^2 + slope_j^2) (NEMO's ``ah_wslp2``). The stabilizing correction puts
the part of the vertical diffusivity that exceeds the explicit limit, ``akz = max(dt (K
(1/e1^2 + 1/e2^2) + K_33 / e3w^2) - 1/2, 0) e3w^2 / dt``, into the implicit vertical
solver (added to avt for T and S only), and takes it out of the explicit 33 flux.
The fluxes are added to the advective fluxes of ``tracers.fluxes`` (called with K_h = 0),
so the flux-form update conserves T and S exactly as before.

Every array is allocated in :class:`IsoNeutral`; its methods allocate nothing.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .eos import GRAV
from .kernels import U1, inline_kernel, kernel, prange

SLOPE_E3_BOUND_M = 7.0e3      # |slope| <= e3 / 7000 m (NEMO ldfslp, hard-coded)
RHO_C_MLD = 0.01              # kg m-3: mixed-layer criterion of NEMO's nmln (rn_rho_c_mld)
MLD_REF_DEPTH_M = 10.0        # the N2 integral starts at the first W level below ~10 m
HML_MIN_U_M = 5.0             # minimum mixed-layer depth at U/V points (m), NEMO r1_hmlu
HML_MIN_W_M = 10.0            # minimum mixed-layer depth at W points (m), NEMO r1_hmlw
EPS = 1.0e-20


@kernel
def mixed_layer_level(bn2, e3w, kbot_t, nlb10, n2_crit, acc, nmln):
    """NEMO's mixed-layer level ``nmln`` (0-based): the W level of the base, the deepest
    k + 1 down to which sum_{nlb10..k} max(N2, 0) e3w stays below ``n2_crit`` (g rho_c /
    rho0), at most the bottom; T levels 0..nmln-1 are in the layer. ``acc``: work (nj, ni)."""
    nz, nj, ni = bn2.shape
    for j in prange(nj):
        for i in range(ni):
            acc[j, i] = 0.0
            nmln[j, i] = nlb10
        for k in range(nlb10, nz):
            for i in range(ni):
                acc[j, i] += max(bn2[k, j, i], 0.0) * e3w[k]
                if acc[j, i] < n2_crit:
                    nmln[j, i] = min(k + 1, kbot_t[j, i])
        for i in range(ni):
            nmln[j, i] = max(nmln[j, i], 1)


# The density differences and d(rhd)/dz are computed where the slopes use them, not stored:
# these few operations cost less than writing and reading three more 3-D arrays (the
# iso-neutral kernels went from 26.7 to 22.8 ms a step in dino_r1).
@inline_kernel
def _gru(rhd, umask, k, j, i):
    # rhd difference at the U point east of T point (k, j, i)
    return umask[k, j, i] * (rhd[k, j, i + U1] - rhd[k, j, i])


@inline_kernel
def _grv(rhd, vmask, k, j, i):
    return vmask[k, j, i] * (rhd[k, j + U1, i] - rhd[k, j, i])


@inline_kernel
def _dzr(rhd, bn2, tmask, k, j, i):
    # d(rhd)/dz (m-1) at a T point: -(rhd + 1) N2 / g with N2 the mean of the W points above
    # and below (the one above alone if the lower is land or the bottom of the grid)
    nz = np.uint64(rhd.shape[0])
    kb = min(k + U1, nz - U1)
    fb = 1.0 if k + U1 < nz else 0.0
    n2b = bn2[kb, j, i] * fb
    return (-1.0 / GRAV) * (rhd[k, j, i] + 1.0) * (bn2[k, j, i] + n2b) * (1.0 - 0.5 * tmask[kb, j, i] * fb)


@inline_kernel
def _bounded(za, zb, r_slpmax, e3):
    zb = min(zb, -r_slpmax * abs(za), -SLOPE_E3_BOUND_M / e3 * abs(za))
    return za / (zb - EPS)


@inline_kernel
def _slope_u(rhd, bn2, masks, e1u, r_slpmax, e3, k, j, i):
    dz = 0.5 * (_dzr(rhd, bn2, masks.tmask, k, j, i) + _dzr(rhd, bn2, masks.tmask, k, j, i + U1))
    return _bounded(_gru(rhd, masks.umask, k, j, i) / e1u[j, i], dz, r_slpmax, e3)


@inline_kernel
def _slope_v(rhd, bn2, masks, e2v, r_slpmax, e3, k, j, i):
    dz = 0.5 * (_dzr(rhd, bn2, masks.tmask, k, j, i) + _dzr(rhd, bn2, masks.tmask, k, j + U1, i))
    return _bounded(_grv(rhd, masks.vmask, k, j, i) / e2v[j, i], dz, r_slpmax, e3)


@inline_kernel
def _slope_wi(bn2, rhd, umask, tmask, e1t, r_slpmax, e3w, k, j, i):
    zbw = -0.5 / GRAV * bn2[k, j, i] * (rhd[k, j, i] + rhd[k - U1, j, i] + 2.0)
    zc = max(umask[k, j, i - U1] + umask[k, j, i] + umask[k - U1, j, i - U1] + umask[k - U1, j, i], EPS) * e1t[j, i]
    za = ((_gru(rhd, umask, k, j, i - U1) + _gru(rhd, umask, k, j, i))
          + (_gru(rhd, umask, k - U1, j, i - U1) + _gru(rhd, umask, k - U1, j, i))) / zc * tmask[k, j, i]
    return _bounded(za, zbw, r_slpmax, e3w)


@inline_kernel
def _slope_wj(bn2, rhd, vmask, tmask, e2t, r_slpmax, e3w, k, j, i):
    zbw = -0.5 / GRAV * bn2[k, j, i] * (rhd[k, j, i] + rhd[k - U1, j, i] + 2.0)
    zc = max(vmask[k, j - U1, i] + vmask[k, j, i] + vmask[k - U1, j - U1, i] + vmask[k - U1, j, i], EPS) * e2t[j, i]
    za = ((_grv(rhd, vmask, k, j - U1, i) + _grv(rhd, vmask, k, j, i))
          + (_grv(rhd, vmask, k - U1, j - U1, i) + _grv(rhd, vmask, k - U1, j, i))) / zc * tmask[k, j, i]
    return _bounded(za, zbw, r_slpmax, e3w)


@kernel
def mixed_layer_slopes(rhd, bn2, nmln, metrics, masks, r_slpmax, hml):
    """Slopes just below the mixed layer divided by its depth (m-1), ``hml`` (4, nj, ni):
    at U, V points (level max(nmln) of the two T columns, depth at least 5 m) and at W
    points (i and j slopes at W level nmln + 1, depth at least 10 m)."""
    nz, nj, ni = rhd.shape
    tmask, umask, vmask = masks.tmask, masks.umask, masks.vmask
    gdept, gdepw, e3t, e3w = metrics.gdept, metrics.gdepw, metrics.e3t, metrics.e3w
    for jj in prange(1, nj - 1):
        j = np.uint64(jj)
        for i in range(U1, np.uint64(ni - 1)):
            m = nmln[j, i]
            me, mn = nmln[j, i + U1], nmln[j + U1, i]
            ku, kv = np.uint64(max(m, me)), np.uint64(max(m, mn))
            su, sv, swi, swj = 0.0, 0.0, 0.0, 0.0
            if ku < nz:
                su = _slope_u(rhd, bn2, masks, metrics.e1u, r_slpmax, e3t[ku], ku, j, i) * umask[ku, j, i] \
                    / max(gdept[m - 1], gdept[me - 1], HML_MIN_U_M)
            if kv < nz:
                sv = _slope_v(rhd, bn2, masks, metrics.e2v, r_slpmax, e3t[kv], kv, j, i) * vmask[kv, j, i] \
                    / max(gdept[m - 1], gdept[mn - 1], HML_MIN_U_M)
            kw = np.uint64(m + 1)
            if kw < nz:
                r = tmask[kw, j, i] / max(gdepw[m], HML_MIN_W_M)
                swi = _slope_wi(bn2, rhd, umask, tmask, metrics.e1t, r_slpmax, e3w[kw], kw, j, i) * r
                swj = _slope_wj(bn2, rhd, vmask, tmask, metrics.e2t, r_slpmax, e3w[kw], kw, j, i) * r
            hml[0, j, i], hml[1, j, i], hml[2, j, i], hml[3, j, i] = su, sv, swi, swj


@kernel
def raw_slopes(rhd, bn2, nmln, hml, metrics, masks, r_slpmax, raw):
    """Bounded slopes with the mixed-layer flattening, before the filter: ``raw`` (4, nz,
    nj, ni) holds the U, V slopes of T levels and the i, j slopes at W points (levels >= 1)."""
    nz, nj, ni = rhd.shape
    tmask, umask, vmask = masks.tmask, masks.umask, masks.vmask
    gdept, gdepw, e3t, e3w = metrics.gdept, metrics.gdepw, metrics.e3t, metrics.e3w
    e1u, e2v, e1t, e2t = metrics.e1u, metrics.e2v, metrics.e1t, metrics.e2t
    dep0 = 0.5 * e3t[0]
    for kk in prange(1, nz):
        k = np.uint64(kk)
        depu, depw, e3, e3k = gdept[k] - dep0, gdepw[k], e3t[k], e3w[k]
        for j in range(U1, np.uint64(nj - 1)):
            for i in range(U1, np.uint64(ni - 1)):
                m = nmln[j, i]
                s = 0.0
                if umask[k, j, i] != 0.0:
                    if kk < max(m, nmln[j, i + U1]):       # in the mixed layer: linear to 0 at the top
                        s = depu * hml[0, j, i]
                    else:
                        s = _slope_u(rhd, bn2, masks, e1u, r_slpmax, e3, k, j, i)
                raw[0, k, j, i] = s
                s = 0.0
                if vmask[k, j, i] != 0.0:
                    if kk < max(m, nmln[j + U1, i]):
                        s = depu * hml[1, j, i]
                    else:
                        s = _slope_v(rhd, bn2, masks, e2v, r_slpmax, e3, k, j, i)
                raw[1, k, j, i] = s
                si, sj = 0.0, 0.0
                if tmask[k, j, i] != 0.0:
                    if kk <= m:
                        si, sj = depw * hml[2, j, i], depw * hml[3, j, i]
                    else:
                        si = _slope_wi(bn2, rhd, umask, tmask, e1t, r_slpmax, e3k, k, j, i)
                        sj = _slope_wj(bn2, rhd, vmask, tmask, e2t, r_slpmax, e3k, k, j, i)
                raw[2, k, j, i] = si
                raw[3, k, j, i] = sj


@inline_kernel
def _shapiro(a, p, w):
    # the 1-2-1 filter at flat index p = j w + i of a level plane (p, w unsigned)
    return (1.0 / 16.0) * (((a[p - w - U1] + a[p - w + U1]) + (a[p + w - U1] + a[p + w + U1]))
                           + 2.0 * ((a[p - w] + a[p - U1]) + (a[p + U1] + a[p + w])) + 4.0 * a[p])


@kernel
def filtered_slopes(raw, st, masks, dt, nhalo, avt, slopes, k33, avt_iso):
    """The 1-2-1 filter of the raw slopes, reduced along walls and the bottom, into
    ``slopes`` (4, nz, nj, ni): uslp, vslp, wslpi, wslpj (valid 2 points inside the halo);
    on the interior's W points also, from K_33 = K (wslpi^2 + wslpj^2) (m2/s) and the
    stabilizing implicit part ``akz = max(dt (K_h + K_33 / e3w^2) - 1/2, 0) e3w^2 / dt``,
    the explicit 33 coefficient ``k33 = e1e2t / e3w (K_33 - akz)`` (m3/s) and ``avt_iso =
    avt + akz`` (``st``: the :class:`Static` coefficients).

    The filter runs over each level plane as flat loops (rows of a tile are a few dozen
    points: as one loop per row it took twice as long), one per slope (with the four in one
    loop, too many arrays for LLVM to vectorise it: 4.2 against 3.0 ms a call), and then puts
    back the zeros of the two columns at each side it passed through."""
    nz, nj, ni = raw.shape[1:]
    npl = nj * ni
    rw, sl = raw.reshape(4, nz, npl), slopes.reshape(4, nz, npl)
    tm, um, vm = masks.tmask.reshape(nz, npl), masks.umask.reshape(nz, npl), masks.vmask.reshape(nz, npl)
    wslpi, wslpj = slopes[2], slopes[3]
    ahu_w, ahv_w, kh, f33 = st.ahu_w, st.ahv_w, st.kh, st.f33
    r_dt = 1.0 / dt
    w = np.uint64(ni)
    pa, pb = np.uint64(2 * ni + 2), np.uint64((nj - 2) * ni - 2)
    h, je, ie = np.uint64(nhalo), np.uint64(nj - nhalo), np.uint64(ni - nhalo)
    for k in prange(1, nz):
        e3w2 = st.e3w2[k]
        fb = 1.0 if k + 1 < nz else 0.0
        kb = min(k + 1, nz - 1)
        r0, r1, r2, r3 = rw[0, k], rw[1, k], rw[2, k], rw[3, k]
        s0, s1, s2, s3 = sl[0, k], sl[1, k], sl[2, k], sl[3, k]
        u0, u1, v0, v1, t0 = um[k], um[kb], vm[k], vm[kb], tm[k]
        for p in range(pa, pb):         # one loop per slope: few arrays a loop, which LLVM vectorises
            s0[p] = _shapiro(r0, p, w) * ((u0[p + w] + u0[p - w]) * 0.5) * ((u0[p] + u1[p] * fb) * 0.5)
        for p in range(pa, pb):
            s1[p] = _shapiro(r1, p, w) * ((v0[p + U1] + v0[p - U1]) * 0.5) * ((v0[p] + v1[p] * fb) * 0.5)
        for p in range(pa, pb):
            s2[p] = _shapiro(r2, p, w) * (t0[p] * (u0[p] + u0[p - U1]) * (v0[p] + v0[p - w]) * 0.25)
        for p in range(pa, pb):
            s3[p] = _shapiro(r3, p, w) * (t0[p] * (u0[p] + u0[p - U1]) * (v0[p] + v0[p - w]) * 0.25)
        for j in range(2, nj - 2):
            for i in (0, 1, ni - 2, ni - 1):
                s0[j * ni + i], s1[j * ni + i], s2[j * ni + i], s3[j * ni + i] = 0.0, 0.0, 0.0, 0.0
        for j in range(h, je):
            for i in range(h, ie):
                si, sj = wslpi[k, j, i], wslpj[k, j, i]
                a2 = ahu_w[k, j, i] * si * si + ahv_w[k, j, i] * sj * sj
                c = max(dt * (kh[k, j, i] + a2 / e3w2) - 0.5, 0.0) * e3w2 * r_dt
                k33[k, j, i] = f33[k, j, i] * (a2 - c)
                avt_iso[k, j, i] = avt[k, j, i] + c


class Static(NamedTuple):
    """The iso-neutral operator's coefficients that depend on the grid and K only, built
    once: the level part ``bx`` = K e2u e3 / e1u and the cross part ``cx`` = -K e2u / n of
    the east-face flux (n: the wet W points around the U point, NEMO's zmsku), ``by``,
    ``cy`` for the north face; at W points the means of K over the U, V points around
    (``ahu_w``, ``ahv_w``), the cross coefficients ``c3`` = -ahu_w e2t / n, ``c4``, the
    horizontal diffusion rate ``kh`` = K (1/e1^2 + 1/e2^2) (s-1), ``f33`` = e1e2t / e3w
    (masked), and e3w^2 by level."""
    bx: np.ndarray
    cx: np.ndarray
    by: np.ndarray
    cy: np.ndarray
    ahu_w: np.ndarray
    ahv_w: np.ndarray
    c3: np.ndarray
    c4: np.ndarray
    kh: np.ndarray
    f33: np.ndarray
    e3w2: np.ndarray


def static_coefficients(grid, ahu: np.ndarray, ahv: np.ndarray) -> Static:
    """The :class:`Static` coefficients (numpy, once at set-up), NEMO's formulas."""
    g = grid
    tm, um, vm = g.tmask, g.umask, g.vmask
    nz = g.nz
    pad = lambda a: np.concatenate([a, np.zeros((1,) + a.shape[1:])])  # noqa: E731  (level nz: land)
    sh = lambda a, dj, di: np.roll(np.roll(a, -dj, -2), -di, -1)        # noqa: E731  a[j+dj, i+di]
    wm = pad(tm)
    e3 = g.e3t[:, None, None]
    bx = ahu[None] * g.e2u[None] / g.e1u[None] * e3 * um
    by = ahv[None] * g.e1v[None] / g.e2v[None] * e3 * vm
    nx = np.maximum(sh(wm[:nz], 0, 1) + wm[1:] + sh(wm[1:], 0, 1) + wm[:nz], 1.0)
    ny = np.maximum(sh(wm[:nz], 1, 0) + wm[1:] + sh(wm[1:], 1, 0) + wm[:nz], 1.0)
    cx = -ahu[None] * g.e2u[None] * (1.0 / nx) * um
    cy = -ahv[None] * g.e1v[None] * (1.0 / ny) * vm
    # W points (k >= 1): U points east/west at levels k-1, k
    au = ahu[None] * um
    av = ahv[None] * vm
    aum, avm = np.roll(au, 1, -1), np.roll(av, 1, -2)           # a[i-1], a[j-1]
    umw, vms = np.roll(um, 1, -1), np.roll(vm, 1, -2)
    ahu_w, ahv_w, c3, c4, kh = (np.zeros(g.shape3) for _ in range(5))
    msku = tm[1:] / np.maximum((um[:-1] + umw[1:]) + (umw[:-1] + um[1:]), 1.0)
    mskv = tm[1:] / np.maximum((vm[:-1] + vms[1:]) + (vms[:-1] + vm[1:]), 1.0)
    ahu_w[1:] = ((au[:-1] + aum[1:]) + (aum[:-1] + au[1:])) * msku
    ahv_w[1:] = ((av[:-1] + avm[1:]) + (avm[:-1] + av[1:])) * mskv
    c3[1:] = -ahu_w[1:] * g.e2t[None] * msku
    c4[1:] = -ahv_w[1:] * g.e1t[None] * mskv
    e1u2, e2v2 = g.e1u ** 2, g.e2v ** 2
    kh[1:] = 0.25 * (((au[1:] + au[:-1]) / e1u2 + (aum[1:] + aum[:-1]) / np.roll(e1u2, 1, -1))
                     + ((av[1:] + av[:-1]) / e2v2 + (avm[1:] + avm[:-1]) / np.roll(e2v2, 1, -2)))
    f33 = np.zeros(g.shape3)
    f33[1:] = g.e1e2t[None] / g.e3w[1:, None, None] * tm[1:]
    c = np.ascontiguousarray
    return Static(c(bx), c(cx), c(by), c(cy), ahu_w, ahv_w, c3, c4, kh, f33, g.e3w ** 2)


@kernel
def vertical_differences(X, tmask, nhalo, D):
    """D[k] = (X[k-1] - X[k]) at the W point k (0 below the bottom, D[nz] = 0), and at the
    top D[0] = D[1] (NEMO's zdkt at the surface), on the interior and one point around
    (each level plane as one flat loop, which passes through the halo columns of D too:
    they are never read)."""
    nz, nj, ni = X.shape
    npl = nj * ni
    Xf, mf, Df = X.reshape(nz, npl), tmask.reshape(nz, npl), D.reshape(nz + 1, npl)
    p0, p1 = np.uint64((nhalo - 1) * ni + nhalo - 1), np.uint64((nj - nhalo) * ni + ni - nhalo + 1)
    for k in prange(nz + 1):
        kk = min(max(np.int64(k), 1), nz - 1)      # np.int64: prange's index is unsigned
        f = 1.0 if k < nz else 0.0
        xa, xb, m, d = Xf[kk - 1], Xf[kk], mf[kk], Df[k]
        for p in range(p0, p1):
            d[p] = (xa[p] - xb[p]) * m[p] * f


@inline_kernel
def _cross_x(D, k, j, i):
    # NEMO's zdkt: the four vertical differences around the U point east of T point (k, j, i)
    return (D[k, j, i + U1] + D[k + U1, j, i]) + (D[k + U1, j, i + U1] + D[k, j, i])


@inline_kernel
def _cross_y(D, k, j, i):
    # the same around the V point north of T point (k, j, i)
    return (D[k, j + U1, i] + D[k + U1, j, i]) + (D[k + U1, j + U1, i] + D[k, j, i])


@inline_kernel
def _sum_di(X, um0, um1, um2, um3, k, j, i):
    # the four i differences around the W point (k, j, i), masked at U points
    return ((X[k - U1, j, i + U1] - X[k - U1, j, i]) * um0 + (X[k, j, i] - X[k, j, i - U1]) * um1) \
        + ((X[k - U1, j, i] - X[k - U1, j, i - U1]) * um2 + (X[k, j, i + U1] - X[k, j, i]) * um3)


@inline_kernel
def _sum_dj(X, vm0, vm1, vm2, vm3, k, j, i):
    # the four j differences around the W point (k, j, i), masked at V points
    return ((X[k - U1, j + U1, i] - X[k - U1, j, i]) * vm0 + (X[k, j, i] - X[k, j - U1, i]) * vm1) \
        + ((X[k - U1, j, i] - X[k - U1, j - U1, i]) * vm2 + (X[k, j + U1, i] - X[k, j, i]) * vm3)


@kernel
def add_fluxes(T, S, DT, DS, slopes, st, k33, masks, nhalo, flux_t, flux_s):
    """Add the iso-neutral diffusive fluxes of T and S (X m3/s) to ``flux_t`` and ``flux_s``
    (``tracers.TracerFluxes``: the east, north and top faces of the interior cells and the
    east/north faces of the cells west/south of them); signs as in ``tracers``: positive
    east, north, up (NEMO's fluxes are the opposite). ``DT``, ``DS``: the vertical
    differences of :func:`vertical_differences`. The two tracers go together so that the
    operator's coefficients are read once."""
    nz, nj, ni = T.shape
    uslp, vslp, wslpi, wslpj = slopes[0], slopes[1], slopes[2], slopes[3]
    bx, cx, by, cy, c3, c4 = st.bx, st.cx, st.by, st.cy, st.c3, st.c4
    umask, vmask = masks.umask, masks.vmask
    fx_t, fy_t, fz_t = flux_t.flux_x, flux_t.flux_y, flux_t.flux_z
    fx_s, fy_s, fz_s = flux_s.flux_x, flux_s.flux_y, flux_s.flux_z
    h, h1, je, ie = np.uint64(nhalo), np.uint64(nhalo - 1), np.uint64(nj - nhalo), np.uint64(ni - nhalo)
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(h, je):
            for i in range(h1, ie):
                b, c = bx[k, j, i], cx[k, j, i] * uslp[k, j, i]
                fx_t[k, j, i] -= b * (T[k, j, i + U1] - T[k, j, i]) + c * _cross_x(DT, k, j, i)
                fx_s[k, j, i] -= b * (S[k, j, i + U1] - S[k, j, i]) + c * _cross_x(DS, k, j, i)
        for j in range(h1, je):
            for i in range(h, ie):
                b, c = by[k, j, i], cy[k, j, i] * vslp[k, j, i]
                fy_t[k, j, i] -= b * (T[k, j + U1, i] - T[k, j, i]) + c * _cross_y(DT, k, j, i)
                fy_s[k, j, i] -= b * (S[k, j + U1, i] - S[k, j, i]) + c * _cross_y(DS, k, j, i)
        if kk == 0:
            continue
        for j in range(h, je):
            for i in range(h, ie):
                um0, um1 = umask[k - U1, j, i], umask[k, j, i - U1]
                um2, um3 = umask[k - U1, j, i - U1], umask[k, j, i]
                vm0, vm1 = vmask[k - U1, j, i], vmask[k, j - U1, i]
                vm2, vm3 = vmask[k - U1, j - U1, i], vmask[k, j, i]
                ci, cj = c3[k, j, i] * wslpi[k, j, i], c4[k, j, i] * wslpj[k, j, i]
                c33 = k33[k, j, i]
                fz_t[k, j, i] -= ci * _sum_di(T, um0, um1, um2, um3, k, j, i) \
                    + cj * _sum_dj(T, vm0, vm1, vm2, vm3, k, j, i) + c33 * (T[k - U1, j, i] - T[k, j, i])
                fz_s[k, j, i] -= ci * _sum_di(S, um0, um1, um2, um3, k, j, i) \
                    + cj * _sum_dj(S, vm0, vm1, vm2, vm3, k, j, i) + c33 * (S[k - U1, j, i] - S[k, j, i])


class IsoNeutral:
    """The slopes of the neutral surfaces of a tile and the iso-neutral diffusion of T and S.

    ``slopes`` (4, nz, nj, ni): uslp, vslp (U, V points of T levels), wslpi, wslpj (W points
    of T columns); ``nmln`` the mixed-layer base level; ``k33`` (m3/s, W points) the
    coefficient of the explicit 33 flux and ``avt_iso`` (m2/s) the diffusivity of the
    implicit vertical solve."""

    def __init__(self, grid, ahu: np.ndarray, ahv: np.ndarray, slope_max: float, dt: float, rho0: float):
        self.grid, self.dt = grid, dt
        self.r_slpmax = 1.0 / slope_max
        zref = MLD_REF_DEPTH_M - 0.1 * float(np.min(grid.e3w))
        self.nlb10 = int(np.argmax(grid.gdepw > zref))           # first W level below ~10 m (NEMO nlb10)
        self.n2_crit = GRAV * RHO_C_MLD / rho0
        self.static = static_coefficients(grid, ahu, ahv)
        s3, s2 = grid.shape3, grid.shape2
        self.nmln, self.acc = np.zeros(s2, np.int32), np.zeros(s2)
        self.hml = np.zeros((4,) + s2)
        self.raw = np.zeros((4,) + s3)
        self.slopes = np.zeros((4,) + s3)
        self.k33, self.avt_iso = np.zeros(s3), np.zeros(s3)
        self.DT, self.DS = np.zeros((grid.nz + 1,) + s2), np.zeros((grid.nz + 1,) + s2)
        self.zero_u, self.zero_v = np.zeros(s2), np.zeros(s2)    # K_h of the level operator, off

    def update(self, rhd: np.ndarray, bn2: np.ndarray, avt: np.ndarray) -> np.ndarray:
        """The slopes of the step from the density anomaly and N2 at time n (halos included),
        K_33 and the stabilizing correction; returns the diffusivity of the implicit vertical
        solve, ``avt`` plus the correction."""
        g = self.grid
        mixed_layer_level(bn2, g.e3w, g.kbot_t, self.nlb10, self.n2_crit, self.acc, self.nmln)
        mixed_layer_slopes(rhd, bn2, self.nmln, g.metrics, g.masks, self.r_slpmax, self.hml)
        raw_slopes(rhd, bn2, self.nmln, self.hml, g.metrics, g.masks, self.r_slpmax, self.raw)
        filtered_slopes(self.raw, self.static, g.masks, self.dt, g.nhalo, avt, self.slopes, self.k33,
                        self.avt_iso)
        return self.avt_iso

    def add_fluxes(self, T: np.ndarray, S: np.ndarray, flux_t, flux_s) -> None:
        """Add the iso-neutral diffusive fluxes of T and S to ``flux_t`` and ``flux_s``
        (``tracers.TracerFluxes``)."""
        g = self.grid
        vertical_differences(T, g.tmask, g.nhalo, self.DT)
        vertical_differences(S, g.tmask, g.nhalo, self.DS)
        add_fluxes(T, S, self.DT, self.DS, self.slopes, self.static, self.k33, g.masks, g.nhalo,
                   flux_t, flux_s)
