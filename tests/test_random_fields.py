"""The counter-based normal generator the stochastic closures draw from: N(0, 1) statistics,
independence across keys, and the same field whatever the decomposition."""
import math

import numpy as np

from ocean.random_fields import normal_field

NHALO = 3


def _field(seed, step, nk=8, ny=300, nx=250, j0=0, i0=0):
    out = np.full((nk, ny + 2 * NHALO, nx + 2 * NHALO), -99.0)
    normal_field(seed, step, j0, i0, NHALO, out)
    return out


def test_draws_are_standard_normal():
    x = _field(11, 5)[:, NHALO:-NHALO, NHALO:-NHALO].ravel()
    n = x.size
    assert abs(x.mean()) < 5 / math.sqrt(n)
    assert abs(x.var() - 1.0) < 5 * math.sqrt(2 / n)
    assert abs((x ** 4).mean() - 3.0) < 5 * math.sqrt(96 / n)           # normal tails, not uniform ones
    xs = np.sort(x)
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(xs / math.sqrt(2.0)))
    ks = np.max(np.abs(cdf - np.arange(1, xs.size + 1) / xs.size)) * math.sqrt(xs.size)
    assert ks < 1.63                                                   # Kolmogorov-Smirnov at 1%


def test_keys_give_independent_fields():
    a = _field(11, 5)
    inner = (slice(None), slice(NHALO, -NHALO), slice(NHALO, -NHALO))
    limit = 5 / math.sqrt(a[inner].size)
    for other in (_field(11, 6), _field(12, 5)):                     # next step, other seed
        assert abs(np.corrcoef(a[inner].ravel(), other[inner].ravel())[0, 1]) < limit
    levels = a[inner]
    assert abs(np.corrcoef(levels[0].ravel(), levels[1].ravel())[0, 1]) < 5 / math.sqrt(levels[0].size)
    east = np.corrcoef(levels[:, :, :-1].ravel(), levels[:, :, 1:].ravel())[0, 1]
    assert abs(east) < limit                                           # neighbours too
    assert np.all(a[:, :NHALO] == -99.0) and np.all(a[:, :, -NHALO:] == -99.0)   # the halo is left alone


def test_a_tile_draws_its_slice_of_the_global_field():
    whole = _field(3, 17)
    for j0, i0, ny, nx in ((0, 0, 37, 41), (120, 77, 180, 173), (299, 249, 1, 1)):
        tile = _field(3, 17, ny=ny, nx=nx, j0=j0, i0=i0)
        assert np.array_equal(tile[:, NHALO:-NHALO, NHALO:-NHALO],
                              whole[:, NHALO + j0:NHALO + j0 + ny, NHALO + i0:NHALO + i0 + nx])
