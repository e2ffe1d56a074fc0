"""Gent-McWilliams eddy-induced velocity (NEMO ``ln_ldfeiv``, ``ldftra.F90``: ``ldf_eiv``
and ``ldf_eiv_trp``) with the coefficient of Treguier et al. (1997) (``nn_aei_ijk_t = 21``).

Coefficient at T points (m2/s), from N2 and the iso-neutral slopes of the step::

    A = min( min(1, |f| / f(20 deg)) Ro^2 sqrt( sum(N2+ |slope|^2 e3w) / (5 m + sum e3w) ),
             U_e L_e / 2 ),
    Ro = clip( 0.4 sum(sqrt(N2+) e3w) / max(|f|, 1e-10), 2 km, 40 km )

(the Eady growth rate times the square of the first baroclinic Rossby radius, reduced to 0
at the equator and capped at ``aei0``), averaged to U and V points, the same at every level.

Streamfunction at the W levels of U and V columns (m3/s), 0 at the surface and the bottom::

    psi_u = -e2u A_u mean_i(wslpi),   psi_v = -e1v A_v mean_j(wslpj)

and the eddy-induced velocities u* = -d_k psi_u / (e2u e3), v* = -d_k psi_v / (e1v e3).
They go into the step's ``eddy_velocity`` slot: added to the velocity that advects T and S,
with w* following from continuity (w* = (d_i psi_u + d_j psi_v) / e1e2t), so the eddy
transport is three-dimensionally non-divergent, has no flux through the surface and
conserves T and S. Diagnostics: ``psi_u``, ``psi_v``, ``ueiv``, ``veiv``, ``weiv``
(declared in the field registry, with NEMO's output names).

Every array is allocated in :class:`GentMcWilliams`; its methods allocate nothing.
"""
from __future__ import annotations

import math

import numpy as np

from . import fields
from .closure_slots import EDDY_VELOCITY, Closure
from .config import ConfigError
from .grid import OMEGA_S
from .kernels import U1, inline_kernel, kernel, prange

RO_MIN_M, RO_MAX_M = 2.0e3, 40.0e3      # bounds of the Rossby radius (NEMO ldf_eiv)
HW_MIN_M = 5.0                           # added to the depth in the mean of N2 slope^2
F_MIN = 1.0e-10                          # s-1
TROPICS_LAT_DEG = 20.0                   # the coefficient decreases to 0 equatorward of it


@kernel
def treguier_coefficient(bn2, slopes, e3w, tmask, fcor_t, r1_f20, aei0, zn, zah, zhw, aeiw):
    """The Treguier et al. (1997) coefficient (m2/s) at T points, ``aeiw`` (nj, ni), on the
    points where the slopes exist (2 inside the halo); ``zn``, ``zah``, ``zhw`` work (nj, ni).

    The depth sums go over blocks of whole rows, each level plane of a block as flat loops,
    one per sum (a tile's rows are a few dozen points, too short a loop to vectorise well, and
    a loop with all three sums has too many arrays for LLVM); the loops also pass through the
    columns at the sides, whose sums are not used."""
    nz, nj, ni = bn2.shape
    npl = nj * ni
    N2, SI, SJ, TM = bn2.reshape(nz, npl), slopes[2].reshape(nz, npl), slopes[3].reshape(nz, npl), \
        tmask.reshape(nz, npl)
    ZN, ZAH, ZHW = zn.reshape(npl), zah.reshape(npl), zhw.reshape(npl)
    rows = max(1, 256 // ni)
    nblk = (nj - 4 + rows - 1) // rows
    for b in prange(nblk):
        ja = 2 + b * rows
        jb = min(ja + rows, nj - 2)
        q0, q1 = np.uint64(ja * ni + 2), np.uint64((jb - 1) * ni + ni - 2)
        for p in range(q0, q1):
            ZN[p], ZAH[p], ZHW[p] = 0.0, 0.0, HW_MIN_M
        for k in range(nz):
            e3 = e3w[k]
            n2k, sik, sjk, tk = N2[k], SI[k], SJ[k], TM[k]
            for p in range(q0, q1):      # one loop per sum: few arrays a loop, which LLVM vectorises
                ZN[p] += math.sqrt(max(n2k[p], 0.0)) * e3
            for p in range(q0, q1):
                si, sj = sik[p], sjk[p]
                ZAH[p] += max(n2k[p], 0.0) * (si * si + sj * sj) * (e3 * tk[p])
            for p in range(q0, q1):
                ZHW[p] += e3 * tk[p]
        for j in range(ja, jb):
            for i in range(2, ni - 2):
                f = fcor_t[j, i]
                zfw = max(abs(f), F_MIN)
                ro = max(RO_MIN_M, min(0.4 * zn[j, i] / zfw, RO_MAX_M))
                a = ro * ro * math.sqrt(zah[j, i] / zhw[j, i]) * tmask[0, j, i]
                aeiw[j, i] = min(min(1.0, abs(f) * r1_f20) * a, aei0)


@inline_kernel
def _psi_u(slopes, aeiw, umask, e2u, k, j, i):
    # psi_u (m3/s) at the W level k of the U column east of T point (j, i); 0 at the surface,
    # below the bottom and under the grid
    # (k, j, i unsigned: numba then adds no negative-index wraparound and the loops vectorise)
    if k < U1 or k >= umask.shape[0]:
        return 0.0
    au = 0.5 * (aeiw[j, i] + aeiw[j, i + U1]) * umask[0, j, i]
    return -0.25 * e2u[j, i] * (slopes[2, k, j, i] + slopes[2, k, j, i + U1]) \
        * (au * umask[k - U1, j, i] + au * umask[k, j, i]) * umask[k, j, i]


@inline_kernel
def _psi_v(slopes, aeiw, vmask, e1v, k, j, i):
    if k < U1 or k >= vmask.shape[0]:
        return 0.0
    av = 0.5 * (aeiw[j, i] + aeiw[j + U1, i]) * vmask[0, j, i]
    return -0.25 * e1v[j, i] * (slopes[3, k, j, i] + slopes[3, k, j + U1, i]) \
        * (av * vmask[k - U1, j, i] + av * vmask[k, j, i]) * vmask[k, j, i]


@kernel
def add_velocities(slopes, aeiw, metrics, masks, nhalo, uslot, vslot):
    """Add u*, v* (m/s) of the interior to ``uslot``, ``vslot``, the streamfunction computed
    on the way (the step needs only the velocities; :func:`streamfunction` and
    :func:`velocities` store the diagnostics when they are asked for)."""
    nz, nj, ni = uslot.shape
    umask, vmask = masks.umask, masks.vmask
    e2u, e1v, e3t = metrics.e2u, metrics.e1v, metrics.e3t
    h, je, ie = np.uint64(nhalo), np.uint64(nj - nhalo), np.uint64(ni - nhalo)
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(h, je):
            for i in range(h, ie):
                uslot[k, j, i] += (_psi_u(slopes, aeiw, umask, e2u, k + U1, j, i)
                                   - _psi_u(slopes, aeiw, umask, e2u, k, j, i)) / (e2u[j, i] * e3t[k])
                vslot[k, j, i] += (_psi_v(slopes, aeiw, vmask, e1v, k + U1, j, i)
                                   - _psi_v(slopes, aeiw, vmask, e1v, k, j, i)) / (e1v[j, i] * e3t[k])


@kernel
def streamfunction(slopes, aeiw, metrics, masks, nhalo, psi_u, psi_v):
    """psi_u, psi_v (m3/s) at the W levels of U and V columns, from the interior's western
    and southern neighbours on; 0 at the surface and below the bottom."""
    nz, nj, ni = psi_u.shape
    umask, vmask = masks.umask, masks.vmask
    e2u, e1v = metrics.e2u, metrics.e1v
    h1, je, ie = np.uint64(nhalo - 1), np.uint64(nj - nhalo), np.uint64(ni - nhalo)
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(h1, je):
            for i in range(h1, ie):
                psi_u[k, j, i] = _psi_u(slopes, aeiw, umask, e2u, k, j, i)
                psi_v[k, j, i] = _psi_v(slopes, aeiw, vmask, e1v, k, j, i)


@kernel
def velocities(psi_u, psi_v, metrics, masks, nhalo, ueiv, veiv, weiv):
    """u*, v* (m/s, U/V points), w* (m/s, W points) of the interior from the streamfunction."""
    nz, nj, ni = psi_u.shape
    e2u, e1v, e1e2t, e3t = metrics.e2u, metrics.e1v, metrics.e1e2t, metrics.e3t
    tmask = masks.tmask
    for k in prange(nz):
        for j in range(nhalo, nj - nhalo):
            for i in range(nhalo, ni - nhalo):
                pu_b = psi_u[k + 1, j, i] if k + 1 < nz else 0.0
                pv_b = psi_v[k + 1, j, i] if k + 1 < nz else 0.0
                ueiv[k, j, i] = (pu_b - psi_u[k, j, i]) / (e2u[j, i] * e3t[k])
                veiv[k, j, i] = (pv_b - psi_v[k, j, i]) / (e1v[j, i] * e3t[k])
                weiv[k, j, i] = (psi_v[k, j, i] - psi_v[k, j - 1, i] + psi_u[k, j, i] - psi_u[k, j, i - 1]) \
                    / e1e2t[j, i] * tmask[k, j, i]


class GentMcWilliams(Closure):
    """GM as a physics closure of the ``eddy_velocity`` slot, in every ocean rank. It reads
    the slopes of the model's :class:`ocean.ldf_iso.IsoNeutral` (updated before the slot)
    and N2 of the step."""

    name = "gm"
    slots = frozenset({EDDY_VELOCITY})

    def __init__(self, grid, iso, bn2: np.ndarray, ue_m_s: float, le_m: float):
        self.grid, self.iso, self.bn2 = grid, iso, bn2
        self.aei0 = 0.5 * ue_m_s * le_m
        self.r1_f20 = 1.0 / (2.0 * OMEGA_S * math.sin(math.radians(TROPICS_LAT_DEG)))
        s3 = grid.shape3
        self.aeiw = np.zeros(grid.shape2)
        self.work = tuple(np.zeros(grid.shape2) for _ in range(3))
        self.psi_u, self.psi_v = np.zeros(s3), np.zeros(s3)
        self.ueiv, self.veiv, self.weiv = np.zeros(s3), np.zeros(s3), np.zeros(s3)
        self._diagnosed = True              # the diagnostics hold the last step's (none yet: zeros)

    def eddy_velocity(self, ueiv: np.ndarray, veiv: np.ndarray) -> None:
        g = self.grid
        treguier_coefficient(self.bn2, self.iso.slopes, g.e3w, g.tmask, g.fcor_t, self.r1_f20, self.aei0, *self.work,
                             self.aeiw)
        add_velocities(self.iso.slopes, self.aeiw, g.metrics, g.masks, g.nhalo, ueiv, veiv)
        self._diagnosed = False

    def diagnostics(self) -> "GentMcWilliams":
        """Itself, with the streamfunction ``psi_u``, ``psi_v`` and the velocities ``ueiv``,
        ``veiv``, ``weiv`` of the last step filled in (computed on the first call after a step)."""
        if not self._diagnosed:
            g = self.grid
            streamfunction(self.iso.slopes, self.aeiw, g.metrics, g.masks, g.nhalo, self.psi_u, self.psi_v)
            velocities(self.psi_u, self.psi_v, g.metrics, g.masks, g.nhalo, self.ueiv, self.veiv, self.weiv)
            self._diagnosed = True
        return self


def _gm(m):
    if m.gm is None:
        raise ConfigError("the GM diagnostics (psiu_eiv, psiv_eiv, uoce_eiv, voce_eiv, woce_eiv) need "
                          "tracers.gm = true")
    return m.gm.diagnostics()


_OWN = "ocean.gm"
fields.declare("psi_eiv_u", "UW", 3, "m3 s-1", "GM eddy-induced streamfunction at UW points",
               lambda m: _gm(m).psi_u, output="psiu_eiv", owner=_OWN)
fields.declare("psi_eiv_v", "VW", 3, "m3 s-1", "GM eddy-induced streamfunction at VW points",
               lambda m: _gm(m).psi_v, output="psiv_eiv", owner=_OWN)
fields.declare("u_eiv", "U", 3, "m s-1", "GM eddy-induced x velocity", lambda m: _gm(m).ueiv,
               output="uoce_eiv", owner=_OWN)
fields.declare("v_eiv", "V", 3, "m s-1", "GM eddy-induced y velocity", lambda m: _gm(m).veiv,
               output="voce_eiv", owner=_OWN)
fields.declare("w_eiv", "W", 3, "m s-1", "GM eddy-induced upward velocity", lambda m: _gm(m).weiv,
               output="woce_eiv", owner=_OWN)
