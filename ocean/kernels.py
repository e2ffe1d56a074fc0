"""The numba decorator every kernel uses, in one place.

``cache=True`` keeps the compiled code on disk so that new processes (MPI ranks, tests)
do not pay the JIT again. ``fastmath`` stays off: reassociation or FMA contraction could
round the vectorised body of a loop differently from its remainder, and a point would then
get other bits on another tile size, breaking decomposition invariance.

Index inner loops with unsigned integers (``np.uint64`` bounds, ``U1`` for the offsets
``i + U1``, ``k - U1``): with signed ones numba adds a negative-index wraparound to every
access, and LLVM then leaves the loop scalar (``ldf_iso.add_fluxes`` ran 1.8 times faster
unsigned, bit for bit the same). Mixing a signed integer into unsigned index arithmetic
makes numba compute in float64, which fails to index: keep each index unsigned throughout.

Write to an array of a NamedTuple argument only through a local name (``fx = flux.flux_x``,
then ``fx[k, j, i] = ...``): inside a ``prange`` loop numba 0.68 silently drops stores made
as ``flux.flux_x[k, j, i] = ...`` or ``-=`` (tests/test_kernels_rules.py).
"""
import numba
import numpy as np

kernel = numba.njit(cache=True, parallel=True, fastmath=False, nogil=True)
serial_kernel = numba.njit(cache=True, fastmath=False, nogil=True)
# a helper of a kernel's inner loop, inlined into its caller by numba (a call per point costs)
inline_kernel = numba.njit(cache=True, fastmath=False, nogil=True, inline="always")
prange = numba.prange
U1 = np.uint64(1)           # the unsigned 1 of index offsets
