"""The numba decorator every kernel uses, in one place.

``cache=True`` keeps the compiled code on disk so that new processes (MPI ranks, tests)
do not pay the JIT again. ``fastmath`` stays off: reassociation or FMA contraction could
round the vectorised body of a loop differently from its remainder, and a point would then
get other bits on another tile size, breaking decomposition invariance.
"""
import numba

kernel = numba.njit(cache=True, parallel=True, fastmath=False, nogil=True)
serial_kernel = numba.njit(cache=True, fastmath=False, nogil=True)
# a helper of a kernel's inner loop, inlined into its caller by numba (a call per point costs)
inline_kernel = numba.njit(cache=True, fastmath=False, nogil=True, inline="always")
prange = numba.prange
