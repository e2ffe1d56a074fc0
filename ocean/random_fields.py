"""Counter-based random fields: the value at a point is a pure function of (seed, step,
level, global j, global i), so a noise field is bitwise the same on any number of ranks, in
every deployment mode and across a restart, and costs no state.

Each draw hashes its five keys with the SplitMix64 finaliser (Steele, Lea & Flood 2014;
the mixer of Java's ``SplittableRandom``), chained so that every key changes every output
bit, then turns two 53-bit uniforms into one standard normal by the Box-Muller transform.
For stochastic closures (GZ21's ``S = mu + eps sigma``, eps ~ N(0, 1)).
"""
from __future__ import annotations

import numpy as np

from .kernels import kernel, prange, serial_kernel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0          # 2**-53
_TWO_PI = 6.283185307179586


@serial_kernel
def _mix(z):
    """SplitMix64's finaliser: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@serial_kernel
def _hash(seed, step, k, j, i):
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ (np.uint64(step) + _GOLDEN))
    h = _mix(h ^ (np.uint64(k) + _GOLDEN))
    h = _mix(h ^ (np.uint64(j) + _GOLDEN))
    return _mix(h ^ (np.uint64(i) + _GOLDEN))


@serial_kernel
def normal_pair(seed, step, k, j, i):
    """Two independent N(0, 1) draws for (seed, step, level k, global row j, global column i),
    all >= 0: the two outputs of one Box-Muller transform (the cost of one draw)."""
    h = _hash(seed, step, k, j, i)
    u1 = (np.float64(h >> _S11) + 1.0) * _TWO_M53          # (0, 1]: log(u1) is finite
    u2 = np.float64(_mix(h + _GOLDEN) >> _S11) * _TWO_M53   # [0, 1)
    r = np.sqrt(-2.0 * np.log(u1))
    return r * np.cos(_TWO_PI * u2), r * np.sin(_TWO_PI * u2)


@serial_kernel
def standard_normal(seed, step, k, j, i):
    """One N(0, 1) draw for (seed, step, level k, global row j, global column i), all >= 0
    (the first of ``normal_pair``)."""
    return normal_pair(seed, step, k, j, i)[0]


@kernel
def normal_field(seed, step, j0, i0, nhalo, out):
    """Fill the interior of ``out`` (nk, nj, ni), halo ``nhalo``, with N(0, 1) draws keyed by
    the global indices: interior point (j, i) of level k is global (j - nhalo + j0,
    i - nhalo + i0). ``seed`` and ``step`` >= 0."""
    nk, nj, ni = out.shape
    for k in prange(nk):
        for j in range(nhalo, nj - nhalo):
            for i in range(nhalo, ni - nhalo):
                out[k, j, i] = standard_normal(seed, step, k, j - nhalo + j0, i - nhalo + i0)
