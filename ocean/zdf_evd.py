"""Enhanced vertical diffusion (NEMO ``ln_zdfevd``, ``zdfevd.F90``) and the coefficients the
solver uses, from a closure's own ones.

Where the water column is statically unstable, N2 <= -1e-12 s-2, the diffusivity is set to
``evd`` (m2 s-1; DINO's ``rn_evd = 100``) and, with ``evd_momentum`` (``nn_evdm = 1``), so
is the viscosity; elsewhere the closure's ``avt_k``, ``avm_k``. The viscosity at the W
points of U and V columns is the mean of the two T columns around (NEMO's ``dynzdf``).
NEMO tests min(N2, N2 of the step before), a leapfrog's two levels; here N2 of the step
start, the one level our forward scheme has. EVD never enters the TKE budget (that uses
``avt_k``).
"""
from __future__ import annotations

import numpy as np

from .kernels import inline_kernel, kernel, prange

UNSTABLE_N2 = -1.0e-12      # s-2, NEMO's threshold


@inline_kernel
def _viscosity(avm_k, bn2, kbot, evd, evd_m, kk, k, j, i):
    """The viscosity of T column (j, i) at W level k (``kk`` the same level, signed)."""
    if evd_m and bn2[k, j, i] <= UNSTABLE_N2 and kk < kbot[j, i]:
        return evd
    return avm_k[k, j, i]


@kernel
def evd_coefficients(bn2, avm_k, avt_k, kbot, kbot_u, kbot_v, evd, evd_m, nhalo, avt, avm, avm_u, avm_v):
    """Fill ``avt``, ``avm`` (W points of T columns), ``avm_u``, ``avm_v`` (W points of U, V
    columns), all m2 s-1, interior points, 0 at k = 0: EVD (``evd``; ``evd_m`` True: on
    momentum too) where N2 ``bn2`` (s-2) <= -1e-12, else the closure's ``avt_k``, ``avm_k``
    (masked; ``avm_k`` and ``bn2`` are read one point east and north, in the halo). The
    masks are the wet levels ``kbot``, ``kbot_u``, ``kbot_v`` of T, U, V columns (2-D)."""
    nz, nj, ni = bn2.shape
    evd_on = evd > 0.0
    evd_mom = evd_on and evd_m
    one = np.uint64(1)          # unsigned indices: numba adds no negative-index wraparound
    j0, j1, i0, i1 = np.uint64(nhalo), np.uint64(nj - nhalo), np.uint64(nhalo), np.uint64(ni - nhalo)
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(j0, j1):
            for i in range(i0, i1):
                if kk == 0:
                    avt[k, j, i] = 0.0
                    avm[k, j, i] = 0.0
                    avm_u[k, j, i] = 0.0
                    avm_v[k, j, i] = 0.0
                    continue
                unstable = evd_on and bn2[k, j, i] <= UNSTABLE_N2 and kk < kbot[j, i]
                avt[k, j, i] = evd if unstable else avt_k[k, j, i]
                am = _viscosity(avm_k, bn2, kbot, evd, evd_mom, kk, k, j, i)
                avm[k, j, i] = am
                avm_u[k, j, i] = (0.5 * (am + _viscosity(avm_k, bn2, kbot, evd, evd_mom, kk, k, j, i + one))
                                  if kk < kbot_u[j, i] else 0.0)
                avm_v[k, j, i] = (0.5 * (am + _viscosity(avm_k, bn2, kbot, evd, evd_mom, kk, k, j + one, i))
                                  if kk < kbot_v[j, i] else 0.0)
