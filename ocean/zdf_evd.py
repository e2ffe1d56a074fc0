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

from .kernels import U1, kernel, prange

UNSTABLE_N2 = -1.0e-12      # s-2, NEMO's threshold


@kernel
def evd_coefficients(bn2, avm_k, avt_k, kbot, kbot_u, kbot_v, evd, evd_m, nhalo, avt, avm, avm_u, avm_v):
    """Fill ``avt``, ``avm`` (W points of T columns), ``avm_u``, ``avm_v`` (W points of U, V
    columns), all m2 s-1, interior points, 0 at k = 0: EVD (``evd``; ``evd_m`` True: on
    momentum too) where N2 ``bn2`` (s-2) <= -1e-12, else the closure's ``avt_k``, ``avm_k``
    (masked). ``avm`` is filled one point east and north into the halo too, from ``avm_k``
    and ``bn2`` there, for the means at U and V points. The masks are the wet levels
    ``kbot``, ``kbot_u``, ``kbot_v`` of T, U, V columns (2-D).

    Selects rather than branches, and one loop per output: LLVM vectorises them."""
    nz, nj, ni = bn2.shape
    # the thresholds of N2 (s-2) below which EVD applies: -inf (never) when it is off
    n2_t = UNSTABLE_N2 if evd > 0.0 else -np.inf
    n2_m = n2_t if evd_m else -np.inf
    j0, j1, i0, i1 = np.uint64(nhalo), np.uint64(nj - nhalo), np.uint64(nhalo), np.uint64(ni - nhalo)
    for kk in prange(nz):
        k = np.uint64(kk)
        if kk == 0:
            for j in range(j0, j1):
                for i in range(i0, i1):
                    avt[0, j, i] = 0.0
                    avm[0, j, i] = 0.0
                    avm_u[0, j, i] = 0.0
                    avm_v[0, j, i] = 0.0
            continue
        for j in range(j0, j1 + U1):
            for i in range(i0, i1 + U1):
                unstable = (bn2[k, j, i] <= n2_m) & (kk < kbot[j, i])
                avm[k, j, i] = evd if unstable else avm_k[k, j, i]
        for j in range(j0, j1):
            for i in range(i0, i1):
                unstable = (bn2[k, j, i] <= n2_t) & (kk < kbot[j, i])
                avt[k, j, i] = evd if unstable else avt_k[k, j, i]
            for i in range(i0, i1):
                avm_u[k, j, i] = 0.5 * (avm[k, j, i] + avm[k, j, i + U1]) if kk < kbot_u[j, i] else 0.0
            for i in range(i0, i1):
                avm_v[k, j, i] = 0.5 * (avm[k, j, i] + avm[k, j + U1, i]) if kk < kbot_v[j, i] else 0.0
