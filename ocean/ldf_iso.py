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

with K_33 = K (slope_i^2 + slope_j^2) (``ah_wslp2``). The stabilizing correction puts
the part of the vertical diffusivity that exceeds the explicit limit, ``akz = max(dt (K
(1/e1^2 + 1/e2^2) + K_33 / e3w^2) - 1/2, 0) e3w^2 / dt``, into the implicit vertical
solver (added to avt for T and S only), and takes it out of the explicit 33 flux.
The fluxes are added to the advective fluxes of ``tracers.fluxes`` (called with K_h = 0),
so the flux-form update conserves T and S exactly as before.

Every array is allocated in :class:`IsoNeutral`; its methods allocate nothing.
"""
from __future__ import annotations

import numpy as np

from .eos import GRAV
from .kernels import inline_kernel, kernel, prange

SLOPE_E3_BOUND_M = 7.0e3      # |slope| <= e3 / 7000 m (NEMO ldfslp, hard-coded)
RHO_C_MLD = 0.01              # kg m-3: mixed-layer criterion of NEMO's nmln (rn_rho_c_mld)
MLD_REF_DEPTH_M = 10.0        # the N2 integral starts at the first W level below ~10 m
HML_MIN_U_M = 5.0             # minimum mixed-layer depth at U/V points (m), NEMO r1_hmlu
HML_MIN_W_M = 10.0            # minimum mixed-layer depth at W points (m), NEMO r1_hmlw
EPS = 1.0e-20


@kernel
def mixed_layer_level(bn2, e3w, kbot_t, nlb10, n2_crit, nmln):
    """NEMO's ``nmln`` (0-based): the W level of the mixed-layer base, the deepest W level
    k + 1 down to which sum_{nlb10..k} max(N2, 0) e3w stays below ``n2_crit`` (s-2 m,
    g rho_c / rho0), at most the bottom; T levels 0..nmln-1 are in the mixed layer."""
    nz, nj, ni = bn2.shape
    for j in prange(nj):
        for i in range(ni):
            kb = kbot_t[j, i]
            m = nlb10
            acc = 0.0
            for k in range(nlb10, nz):
                acc += max(bn2[k, j, i], 0.0) * e3w[k]
                if acc < n2_crit:
                    m = min(k + 1, kb)
            nmln[j, i] = max(m, 1)


@inline_kernel
def _dzr(rhd, bn2, tmask, k, j, i):
    # d(rhd)/dz at a T point (m-1): mean of N2 at its top and bottom W points (one if the
    # bottom one is land), -(rhd + 1) N2 / g
    nz = rhd.shape[0]
    n2b, tb = 0.0, 0.0
    if k + 1 < nz:
        n2b, tb = bn2[k + 1, j, i], tmask[k + 1, j, i]
    return -(1.0 / GRAV) * (rhd[k, j, i] + 1.0) * (bn2[k, j, i] + n2b) * (1.0 - 0.5 * tb)


@inline_kernel
def _raw_slope_uv(rhd, bn2, tmask, mask, e, e3, r_slpmax, k, j, i, j2, i2):
    # bounded slope at the U (j2, i2 = j, i+1) or V (j+1, i) point of level k
    za = mask[k, j, i] * (rhd[k, j2, i2] - rhd[k, j, i]) / e[j, i]
    zb = 0.5 * (_dzr(rhd, bn2, tmask, k, j, i) + _dzr(rhd, bn2, tmask, k, j2, i2))
    zb = min(zb, -r_slpmax * abs(za), -SLOPE_E3_BOUND_M / e3 * abs(za))
    return za / (zb - EPS)


@inline_kernel
def _raw_slope_w(rhd, bn2, tmask, mask, e, e3w, r_slpmax, k, j, i, dj, di):
    # bounded slope at the W point k of column (j, i), from the 4 density gradients at the
    # U (di = 1) or V (dj = 1) points around it, at levels k-1 and k
    zbw = -0.5 / GRAV * bn2[k, j, i] * (rhd[k, j, i] + rhd[k - 1, j, i] + 2.0)
    jm, im = j - dj, i - di
    zc = max(mask[k, jm, im] + mask[k, j, i] + mask[k - 1, jm, im] + mask[k - 1, j, i], EPS) * e[j, i]
    g0 = mask[k, jm, im] * (rhd[k, j, i] - rhd[k, jm, im])
    g1 = mask[k, j, i] * (rhd[k, j + dj, i + di] - rhd[k, j, i])
    g2 = mask[k - 1, jm, im] * (rhd[k - 1, j, i] - rhd[k - 1, jm, im])
    g3 = mask[k - 1, j, i] * (rhd[k - 1, j + dj, i + di] - rhd[k - 1, j, i])
    za = ((g0 + g1) + (g2 + g3)) / zc * tmask[k, j, i]
    zb = min(zbw, -r_slpmax * abs(za), -SLOPE_E3_BOUND_M / e3w * abs(za))
    return za / (zb - EPS)


@kernel
def mixed_layer_slopes(rhd, bn2, nmln, metrics, masks, r_slpmax, hml):
    """Slopes just below the mixed layer divided by its depth (m-1), ``hml`` (4, nj, ni):
    at U, V points (level max(nmln) of the two T columns) and at W points (i and j slopes
    at W level nmln + 1), on every point whose neighbours exist (the halo but its edge)."""
    nz, nj, ni = rhd.shape
    tmask, umask, vmask = masks.tmask, masks.umask, masks.vmask
    gdept, gdepw, e3t, e3w = metrics.gdept, metrics.gdepw, metrics.e3t, metrics.e3w
    for j in prange(1, nj - 1):
        for i in range(1, ni - 1):
            m = nmln[j, i]
            for d in range(2):
                dj, di = (0, 1) if d == 0 else (1, 0)
                mask = umask if d == 0 else vmask
                e = metrics.e1u if d == 0 else metrics.e2v
                m2 = nmln[j + dj, i + di]
                ik = max(m, m2)
                s = 0.0
                if 1 <= ik < nz:
                    hmlpt = max(gdept[m - 1], gdept[m2 - 1], HML_MIN_U_M)
                    s = _raw_slope_uv(rhd, bn2, tmask, mask, e, e3t[ik], r_slpmax, ik, j, i, j + dj, i + di) \
                        * mask[ik, j, i] / hmlpt
                hml[d, j, i] = s
                ew = metrics.e1t if d == 0 else metrics.e2t
                s = 0.0
                if m + 1 < nz:
                    s = _raw_slope_w(rhd, bn2, tmask, mask, ew, e3w[m + 1], r_slpmax, m + 1, j, i, dj, di) \
                        * tmask[m + 1, j, i] / max(gdepw[m], HML_MIN_W_M)
                hml[2 + d, j, i] = s


@kernel
def raw_slopes(rhd, bn2, nmln, hml, metrics, masks, r_slpmax, raw):
    """Bounded slopes with the mixed-layer flattening, before the filter: ``raw`` (4, nz,
    nj, ni) holds the U, V slopes of T levels and the i, j slopes at W points (levels >= 1)."""
    nz, nj, ni = rhd.shape
    tmask, umask, vmask = masks.tmask, masks.umask, masks.vmask
    gdept, gdepw, e3t, e3w = metrics.gdept, metrics.gdepw, metrics.e3t, metrics.e3w
    dep0 = 0.5 * e3t[0]
    for k in prange(1, nz):
        for j in range(1, nj - 1):
            for i in range(1, ni - 1):
                m = nmln[j, i]
                for d in range(2):
                    dj, di = (0, 1) if d == 0 else (1, 0)
                    mask = umask if d == 0 else vmask
                    e = metrics.e1u if d == 0 else metrics.e2v
                    s = 0.0
                    if mask[k, j, i] != 0.0:
                        if k < max(m, nmln[j + dj, i + di]):       # in the mixed layer: linear to 0 at the top
                            s = (gdept[k] - dep0) * hml[d, j, i]
                        else:
                            s = _raw_slope_uv(rhd, bn2, tmask, mask, e, e3t[k], r_slpmax, k, j, i, j + dj, i + di)
                    raw[d, k, j, i] = s
                    ew = metrics.e1t if d == 0 else metrics.e2t
                    s = 0.0
                    if tmask[k, j, i] != 0.0:
                        if k <= m:
                            s = gdepw[k] * hml[2 + d, j, i]
                        else:
                            s = _raw_slope_w(rhd, bn2, tmask, mask, ew, e3w[k], r_slpmax, k, j, i, dj, di)
                    raw[2 + d, k, j, i] = s


@inline_kernel
def _shapiro(a, k, j, i):
    return (1.0 / 16.0) * (((a[k, j - 1, i - 1] + a[k, j - 1, i + 1]) + (a[k, j + 1, i - 1] + a[k, j + 1, i + 1]))
                           + 2.0 * ((a[k, j - 1, i] + a[k, j, i - 1]) + (a[k, j, i + 1] + a[k, j + 1, i]))
                           + 4.0 * a[k, j, i])


@kernel
def filtered_slopes(raw, masks, slopes):
    """The 1-2-1 filter of the raw slopes, reduced along walls and the bottom, into
    ``slopes`` (4, nz, nj, ni): uslp, vslp, wslpi, wslpj (valid 2 points inside the halo)."""
    nz, nj, ni = raw.shape[1:]
    tmask, umask, vmask = masks.tmask, masks.umask, masks.vmask
    for k in prange(1, nz):
        for j in range(2, nj - 2):
            for i in range(2, ni - 2):
                ub = umask[k + 1, j, i] if k + 1 < nz else 0.0
                vb = vmask[k + 1, j, i] if k + 1 < nz else 0.0
                slopes[0, k, j, i] = _shapiro(raw[0], k, j, i) * ((umask[k, j + 1, i] + umask[k, j - 1, i]) * 0.5) \
                    * ((umask[k, j, i] + ub) * 0.5)
                slopes[1, k, j, i] = _shapiro(raw[1], k, j, i) * ((vmask[k, j, i + 1] + vmask[k, j, i - 1]) * 0.5) \
                    * ((vmask[k, j, i] + vb) * 0.5)
                cw = tmask[k, j, i] * (1.0 / 16.0) * (umask[k, j, i] + umask[k, j, i - 1]) \
                    * (vmask[k, j, i] + vmask[k, j - 1, i]) * 0.25
                slopes[2, k, j, i] = _shapiro(raw[2], k, j, i) * 16.0 * cw
                slopes[3, k, j, i] = _shapiro(raw[3], k, j, i) * 16.0 * cw


@kernel
def a33(slopes, ahu, ahv, metrics, masks, dt, nhalo, avt, ah_wslp2, akz, avt_iso):
    """At the W points of the interior: K_33 = K (slope_i^2 + slope_j^2) (``ah_wslp2``,
    m2/s), the stabilizing implicit part ``akz`` (m2/s) and ``avt_iso = avt + akz``."""
    nz, nj, ni = avt.shape
    umask, vmask, tmask = masks.umask, masks.vmask, masks.tmask
    e1u, e2v, e3w = metrics.e1u, metrics.e2v, metrics.e3w
    for k in prange(nz):
        for j in range(nhalo, nj - nhalo):
            for i in range(nhalo, ni - nhalo):
                if k == 0 or tmask[k, j, i] == 0.0:
                    ah_wslp2[k, j, i] = 0.0
                    akz[k, j, i] = 0.0
                    avt_iso[k, j, i] = avt[k, j, i]
                    continue
                au0, au1 = ahu[j, i] * umask[k - 1, j, i], ahu[j, i - 1] * umask[k, j, i - 1]
                au2, au3 = ahu[j, i - 1] * umask[k - 1, j, i - 1], ahu[j, i] * umask[k, j, i]
                av0, av1 = ahv[j, i] * vmask[k - 1, j, i], ahv[j - 1, i] * vmask[k, j - 1, i]
                av2, av3 = ahv[j - 1, i] * vmask[k - 1, j - 1, i], ahv[j, i] * vmask[k, j, i]
                msku = 1.0 / max((umask[k - 1, j, i] + umask[k, j, i - 1]) + (umask[k - 1, j, i - 1] + umask[k, j, i]), 1.0)
                mskv = 1.0 / max((vmask[k - 1, j, i] + vmask[k, j - 1, i]) + (vmask[k - 1, j - 1, i] + vmask[k, j, i]), 1.0)
                ahu_w = ((au0 + au1) + (au2 + au3)) * msku
                ahv_w = ((av0 + av1) + (av2 + av3)) * mskv
                sl_i, sl_j = slopes[2, k, j, i], slopes[3, k, j, i]
                a2 = ahu_w * sl_i * sl_i + ahv_w * sl_j * sl_j
                kh = 0.25 * (((au3 + au0) / (e1u[j, i] * e1u[j, i]) + (au1 + au2) / (e1u[j, i - 1] * e1u[j, i - 1]))
                             + ((av3 + av0) / (e2v[j, i] * e2v[j, i]) + (av1 + av2) / (e2v[j - 1, i] * e2v[j - 1, i])))
                e3w2 = e3w[k] * e3w[k]
                c = max(dt * (kh + a2 / e3w2) - 0.5, 0.0) * e3w2 / dt
                ah_wslp2[k, j, i] = a2
                akz[k, j, i] = c
                avt_iso[k, j, i] = avt[k, j, i] + c


@inline_kernel
def _dk(X, tmask, k, j, i):
    # X[k-1] - X[k] at the W point k (0 at the surface and below the bottom)
    if k < 1 or k >= X.shape[0]:
        return 0.0
    return (X[k - 1, j, i] - X[k, j, i]) * tmask[k, j, i]


@inline_kernel
def _dkt(X, tmask, k, j, i):
    # NEMO's zdkt: the vertical difference at the top of level k, the one below at k = 0
    return _dk(X, tmask, 1, j, i) if k == 0 else _dk(X, tmask, k, j, i)


@inline_kernel
def _wm(tmask, k, j, i):
    # wmask at W level k (level nz, the bottom of the grid, is land)
    return tmask[k, j, i] if k < tmask.shape[0] else 0.0


@kernel
def add_fluxes(X, slopes, ahu, ahv, ah_wslp2, akz, metrics, masks, nhalo, flux):
    """Add the iso-neutral diffusive fluxes of X (X m3/s) to ``flux`` (a
    ``tracers.TracerFluxes``: east, north and top faces of the interior cells, and the
    east/north faces of the cells west/south of them); the signs follow ``tracers``:
    positive east, north, up."""
    nz, nj, ni = X.shape
    tmask, umask, vmask = masks.tmask, masks.umask, masks.vmask
    e1u, e2u, e1v, e2v, e1t, e2t, e1e2t = metrics.e1u, metrics.e2u, metrics.e1v, metrics.e2v, metrics.e1t, \
        metrics.e2t, metrics.e1e2t
    e3t, e3w = metrics.e3t, metrics.e3w
    flux_x, flux_y, flux_z = flux.flux_x, flux.flux_y, flux.flux_z
    for k in prange(nz):
        for j in range(nhalo - 1, nj - nhalo):
            for i in range(nhalo - 1, ni - nhalo):
                # east face (U point): level gradient and the slope times the mean vertical difference
                if j >= nhalo and umask[k, j, i] != 0.0:
                    aku = ahu[j, i]
                    msk = 1.0 / max(_wm(tmask, k, j, i + 1) + _wm(tmask, k + 1, j, i) + _wm(tmask, k + 1, j, i + 1)
                                    + _wm(tmask, k, j, i), 1.0)
                    cof = -aku * e2u[j, i] * slopes[0, k, j, i] * msk
                    fu = aku * e2u[j, i] / e1u[j, i] * e3t[k] * (X[k, j, i + 1] - X[k, j, i]) \
                        + cof * ((_dkt(X, tmask, k, j, i + 1) + _dk(X, tmask, k + 1, j, i))
                                 + (_dk(X, tmask, k + 1, j, i + 1) + _dkt(X, tmask, k, j, i)))
                    flux_x[k, j, i] -= fu
                # north face (V point)
                if i >= nhalo and vmask[k, j, i] != 0.0:
                    akv = ahv[j, i]
                    msk = 1.0 / max(_wm(tmask, k, j + 1, i) + _wm(tmask, k + 1, j, i) + _wm(tmask, k + 1, j + 1, i)
                                    + _wm(tmask, k, j, i), 1.0)
                    cof = -akv * e1v[j, i] * slopes[1, k, j, i] * msk
                    fv = akv * e1v[j, i] / e2v[j, i] * e3t[k] * (X[k, j + 1, i] - X[k, j, i]) \
                        + cof * ((_dkt(X, tmask, k, j + 1, i) + _dk(X, tmask, k + 1, j, i))
                                 + (_dk(X, tmask, k + 1, j + 1, i) + _dkt(X, tmask, k, j, i)))
                    flux_y[k, j, i] -= fv
                # top face (W point) of the interior cells, below the surface
                if k >= 1 and j >= nhalo and i >= nhalo and tmask[k, j, i] != 0.0:
                    msku = 1.0 / max((umask[k - 1, j, i] + umask[k, j, i - 1]) + (umask[k - 1, j, i - 1]
                                                                                   + umask[k, j, i]), 1.0)
                    mskv = 1.0 / max((vmask[k - 1, j, i] + vmask[k, j - 1, i]) + (vmask[k - 1, j - 1, i]
                                                                                   + vmask[k, j, i]), 1.0)
                    ahu_w = ((ahu[j, i] * umask[k - 1, j, i] + ahu[j, i - 1] * umask[k, j, i - 1])
                             + (ahu[j, i - 1] * umask[k - 1, j, i - 1] + ahu[j, i] * umask[k, j, i])) * msku
                    ahv_w = ((ahv[j, i] * vmask[k - 1, j, i] + ahv[j - 1, i] * vmask[k, j - 1, i])
                             + (ahv[j - 1, i] * vmask[k - 1, j - 1, i] + ahv[j, i] * vmask[k, j, i])) * mskv
                    c3 = -ahu_w * e2t[j, i] * msku * slopes[2, k, j, i]
                    c4 = -ahv_w * e1t[j, i] * mskv * slopes[3, k, j, i]
                    di0 = (X[k - 1, j, i + 1] - X[k - 1, j, i]) * umask[k - 1, j, i]
                    di1 = (X[k, j, i] - X[k, j, i - 1]) * umask[k, j, i - 1]
                    di2 = (X[k - 1, j, i] - X[k - 1, j, i - 1]) * umask[k - 1, j, i - 1]
                    di3 = (X[k, j, i + 1] - X[k, j, i]) * umask[k, j, i]
                    dj0 = (X[k - 1, j + 1, i] - X[k - 1, j, i]) * vmask[k - 1, j, i]
                    dj1 = (X[k, j, i] - X[k, j - 1, i]) * vmask[k, j - 1, i]
                    dj2 = (X[k - 1, j, i] - X[k - 1, j - 1, i]) * vmask[k - 1, j - 1, i]
                    dj3 = (X[k, j + 1, i] - X[k, j, i]) * vmask[k, j, i]
                    fw = c3 * ((di0 + di1) + (di2 + di3)) + c4 * ((dj0 + dj1) + (dj2 + dj3)) \
                        + e1e2t[j, i] / e3w[k] * (ah_wslp2[k, j, i] - akz[k, j, i]) * (X[k - 1, j, i] - X[k, j, i])
                    flux_z[k, j, i] -= fw       # NEMO's flux is positive downward


class IsoNeutral:
    """The slopes of the neutral surfaces of a tile and the iso-neutral diffusion of T and S.

    ``slopes`` (4, nz, nj, ni): uslp, vslp (U, V points of T levels), wslpi, wslpj (W points
    of T columns); ``nmln`` the mixed-layer base level; ``ah_wslp2``, ``akz`` and
    ``avt_iso`` (m2/s, W points) for the implicit vertical solve."""

    def __init__(self, grid, ahu: np.ndarray, ahv: np.ndarray, slope_max: float, dt: float, rho0: float):
        self.grid, self.ahu, self.ahv, self.dt = grid, ahu, ahv, dt
        self.r_slpmax = 1.0 / slope_max
        e3w_min = float(np.min(grid.e3w))
        zref = MLD_REF_DEPTH_M - 0.1 * e3w_min
        self.nlb10 = int(np.argmax(grid.gdepw > zref))           # first W level below ~10 m
        self.n2_crit = GRAV * RHO_C_MLD / rho0
        s3, s2 = grid.shape3, grid.shape2
        self.nmln = np.zeros(s2, np.int32)
        self.hml = np.zeros((4,) + s2)
        self.raw = np.zeros((4,) + s3)
        self.slopes = np.zeros((4,) + s3)
        self.ah_wslp2, self.akz, self.avt_iso = np.zeros(s3), np.zeros(s3), np.zeros(s3)
        self.zero_u, self.zero_v = np.zeros(s2), np.zeros(s2)    # K_h of the level operator, off

    def update_slopes(self, rhd: np.ndarray, bn2: np.ndarray) -> None:
        """The slopes of the step from the density anomaly and N2 at time n (halos included)."""
        g = self.grid
        mixed_layer_level(bn2, g.e3w, g.kbot_t, self.nlb10, self.n2_crit, self.nmln)
        mixed_layer_slopes(rhd, bn2, self.nmln, g.metrics, g.masks, self.r_slpmax, self.hml)
        raw_slopes(rhd, bn2, self.nmln, self.hml, g.metrics, g.masks, self.r_slpmax, self.raw)
        filtered_slopes(self.raw, g.masks, self.slopes)

    def update_a33(self, avt: np.ndarray) -> np.ndarray:
        """K_33, the stabilizing correction, and the diffusivity for the implicit solve
        (``avt`` plus the correction), which it returns."""
        g = self.grid
        a33(self.slopes, self.ahu, self.ahv, g.metrics, g.masks, self.dt, g.nhalo, avt, self.ah_wslp2, self.akz,
            self.avt_iso)
        return self.avt_iso

    def add_fluxes(self, X: np.ndarray, flux) -> None:
        """Add the iso-neutral diffusive fluxes of tracer X to ``flux`` (``tracers.TracerFluxes``)."""
        g = self.grid
        add_fluxes(X, self.slopes, self.ahu, self.ahv, self.ah_wslp2, self.akz, g.metrics, g.masks, g.nhalo, flux)
