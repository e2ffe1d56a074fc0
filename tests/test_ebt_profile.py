"""The equivalent barotropic structure (ocean/ebt_mode.py): the analytic solutions of its
eigenproblem (constant N; exponential N), its bounds, the sea floor, the N2 filter, and
columns that do not depend on their neighbours."""
import numpy as np
import pytest
from scipy import optimize, special

from ocean.ebt_mode import ebt_profile, ebt_work
from ocean.grid import tanh_levels

H = 4000.0                                         # m


def _solve(bn2, vert, tmask=None, filter_depth_m=-1.0, cols=None):
    """The EBT structure of every column of ``bn2`` (nz, ny, nx) [s-2] on levels ``vert``."""
    nz, ny, nx = bn2.shape
    tmask = np.ones(bn2.shape) if tmask is None else tmask
    prof = np.full(bn2.shape, np.nan)
    j0, j1, i0, i1 = cols or (0, ny, 0, nx)
    ebt_profile(bn2, vert.e3t, vert.e3w, vert.gdepw, tmask, filter_depth_m, j0, j1, i0, i1,
                ebt_work(bn2.shape), prof)
    return prof


def _column(n2_at_w, vert):
    """(nz, 1, 1) N2 with ``n2_at_w`` at the W levels below the surface (bn2[0] is 0)."""
    b = np.zeros((vert.e3t.size, 1, 1))
    b[1:, 0, 0] = n2_at_w[1:]
    return b


@pytest.mark.parametrize("n", [4, 36])
def test_constant_n_on_uniform_levels_is_the_cosine_exactly(n):
    """Module docstring: F_k = cos(pi z_k / 2H) / cos(pi z_0 / 2H), exact for the discrete problem."""
    vert = tanh_levels(n, H, 0.0, 1.0, 1.0)
    prof = _solve(_column(np.full(n, 1e-5), vert), vert)[:, 0, 0]
    want = np.cos(np.pi * vert.gdept / (2 * H)) / np.cos(np.pi * vert.gdept[0] / (2 * H))
    np.testing.assert_allclose(prof, want, rtol=0, atol=1e-9)
    assert prof[0] == 1.0


def test_constant_n_on_dino_levels_approaches_the_cosine():
    """DINO's 36 tanh-stretched levels: the continuous solution within the scheme's error,
    which falls as the levels are refined (second order)."""
    errs = []
    for nz in (36, 72):
        vert = tanh_levels(nz, H, 10.0 * 36 / nz, 35.0 * nz / 36, 10.5 * nz / 36)
        prof = _solve(_column(np.full(nz, 3e-6), vert), vert)[:, 0, 0]
        want = np.cos(np.pi * vert.gdept / (2 * H)) / np.cos(np.pi * vert.gdept[0] / (2 * H))
        errs.append(np.abs(prof - want).max())
    assert errs[0] < 0.003 and errs[1] < errs[0] / 3.0


def test_exponential_stratification_matches_the_bessel_solution():
    """N2 = N0^2 exp(-2 z / b): with t = exp(-z / b) the equation becomes F_tt - F_t / t +
    kappa^2 F = 0 (kappa^2 = b^2 N0^2 / c^2), so F = t (Y0(kappa) J1(kappa t) - J0(kappa)
    Y1(kappa t)) (dF/dz = 0 at t = 1, as d(t J1(kappa t))/dt = kappa t J0(kappa t)), and
    F = 0 at the floor, t_H = exp(-H / b), gives the first root kappa. Second-order convergence."""
    b, n0sq = 800.0, 1e-4
    t_h = np.exp(-H / b)

    def det(k):
        return special.j1(k * t_h) * special.y0(k) - special.y1(k * t_h) * special.j0(k)

    ks = np.linspace(0.01, 20.0, 4000)
    d = det(ks)
    first = np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0][0]
    kappa = optimize.brentq(det, ks[first], ks[first + 1], xtol=1e-14)

    def f(z):
        t = np.exp(-z / b)
        return t * (special.y0(kappa) * special.j1(kappa * t) - special.j0(kappa) * special.y1(kappa * t))

    errs = []
    for nz in (100, 200):
        vert = tanh_levels(nz, H, 0.0, 1.0, 1.0)
        prof = _solve(_column(n0sq * np.exp(-2 * vert.gdepw[:-1] / b), vert), vert)[:, 0, 0]
        want = f(vert.gdept) / f(vert.gdept[0])
        assert np.all(want > 0)
        errs.append(np.abs(prof - want).max())
    assert errs[0] < 1e-3 and 3.0 < errs[0] / errs[1] < 5.0


def test_structure_is_one_at_the_top_bounded_monotone_and_zero_below_the_floor():
    """Random stratification (some unstable interfaces), random depths, land and an
    unstratified column: 1 at the top level, 0 < F <= 1 decreasing downwards in the water,
    0 below the floor and on land; an unstratified column is barotropic (1)."""
    vert = tanh_levels(36, H, 10.0, 35.0, 10.5)
    rng = np.random.default_rng(5)
    nz, ny, nx = 36, 6, 7
    bn2 = 10.0 ** rng.uniform(-8, -4, (nz, ny, nx)) * np.where(rng.random((nz, ny, nx)) < 0.1, -1.0, 1.0)
    kbot = rng.integers(1, nz + 1, (ny, nx))
    kbot[0, 0] = 0                                            # land
    tmask = (np.arange(nz)[:, None, None] < kbot[None]).astype(float)
    bn2 *= tmask
    bn2[0] = 0.0
    bn2[:, 1, 1] = -1e-7 * tmask[:, 1, 1]                     # unstable throughout: no positive N2
    kbot[1, 1] = nz
    tmask[:, 1, 1] = 1.0
    prof = _solve(bn2, vert, tmask)
    wet = tmask > 0
    assert np.all(prof[~wet] == 0.0)
    assert np.all(prof[0][wet[0]] == 1.0)
    assert np.all(prof[wet] > 0.0) and np.all(prof[wet] <= 1.0)
    assert np.all(np.diff(prof, axis=0)[wet[1:]] <= 1e-12)
    assert np.all(prof[:, 1, 1] == 1.0)
    deep = kbot == nz
    deep[1, 1] = False
    assert np.all(prof[-1][deep] < 0.2)                       # the Dirichlet floor: small above it


def test_n2_filter_keeps_n2_from_increasing_below_its_depth():
    """N2 growing with depth, filtered from the surface down (MOM6 RESOLN_N2_FILTER_DEPTH = 0):
    the structure of the constant N2 of the first interface; unfiltered, another one."""
    vert = tanh_levels(20, H, 0.0, 1.0, 1.0)
    growing = _column(1e-6 * (1 + np.arange(20.0)), vert)
    flat = _column(np.full(20, 2e-6), vert)                   # growing[1] = 2e-6
    filtered = _solve(growing, vert, filter_depth_m=0.0)
    np.testing.assert_allclose(filtered, _solve(flat, vert), rtol=0, atol=1e-12)
    assert np.abs(_solve(growing, vert) - filtered).max() > 0.05


def test_a_column_does_not_depend_on_its_neighbours():
    """Columns converge each on its own: any part of the tile gives the same bits (so the
    structure is the same on any decomposition)."""
    vert = tanh_levels(36, H, 10.0, 35.0, 10.5)
    rng = np.random.default_rng(2)
    bn2 = 10.0 ** rng.uniform(-8, -4, (36, 5, 9))
    bn2[0] = 0.0
    whole = _solve(bn2, vert)
    part = _solve(bn2, vert, cols=(1, 4, 3, 6))
    assert np.array_equal(part[:, 1:4, 3:6], whole[:, 1:4, 3:6])
    assert np.isnan(part[:, 0]).all() and np.isnan(part[:, :, :3]).all()   # only the window is written
