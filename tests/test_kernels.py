"""Kernels against their discrete analytic answers, from random states on small grids:
the implicit vertical solver, the biharmonic viscosity and the EEN Coriolis term."""
import math

import numpy as np
import pytest

from ocean import momentum
from ocean.model import Model
from ocean.vertical_mixing import Boundary, solve_implicit

from conftest import BOX, cfg_from

RNG = np.random.default_rng(20240611)


def _solver_work(x):
    """The work arrays of :func:`solve_implicit` for a field shaped like x."""
    return np.zeros_like(x), np.zeros_like(x[0]), np.zeros_like(x[0])


def _column_setup(nz=16, nj=7, ni=9, nhalo=3, dz=25.0):
    """Uniform levels (e3t = e3w = dz) in every column, all wet."""
    e3t = np.full(nz, dz)
    e3w = np.full(nz, dz)
    mask = np.ones((nz, nj, ni))
    kbot = np.full((nj, ni), nz, np.int32)
    return e3t, e3w, mask, kbot, nhalo


def test_implicit_solve_decays_a_cosine_mode_by_the_backward_euler_factor():
    """x_k = A cos(pi m (k + 1/2) / nz) is an eigenvector of the no-flux discrete operator
    d/dz(K d/dz) on uniform levels, eigenvalue -lambda = -(4 / dz^2) sin^2(pi m / (2 nz));
    one backward-Euler step multiplies it by exactly 1 / (1 + dt K lambda)."""
    e3t, e3w, mask, kbot, nhalo = _column_setup()
    nz, nj, ni = mask.shape
    dz, K, dt = e3t[0], 0.7, 3600.0
    coef = np.full((nz, nj, ni), K)
    coef[0] = 0.0                                   # no flux through the surface (and the floor)
    zero2 = np.zeros((nj, ni))
    for m in (1, 3, nz - 1):
        amp = RNG.uniform(-2.0, 2.0, (nj, ni))
        k = np.arange(nz)[:, None, None]
        x0 = amp[None] * np.cos(math.pi * m * (k + 0.5) / nz)
        x = x0.copy()
        y = -2.0 * x0
        bc = Boundary(False, zero2, 1000.0, mask, False, zero2, kbot)
        solve_implicit(x, y, coef, coef, bc, bc, True, e3t, e3w, dt, nhalo, *_solver_work(x))
        lam = 4.0 / dz ** 2 * math.sin(math.pi * m / (2 * nz)) ** 2
        expected = x0 / (1.0 + dt * K * lam)
        inner = (slice(None), slice(nhalo, nj - nhalo), slice(nhalo, ni - nhalo))
        assert np.allclose(x[inner], expected[inner], rtol=0, atol=1e-13 * np.abs(x0).max()), m
        assert np.allclose(y[inner], -2.0 * expected[inner], rtol=0, atol=2e-13 * np.abs(x0).max()), m
        assert np.array_equal(x[:, :nhalo], x0[:, :nhalo])        # the halo is left alone


def test_implicit_solve_takes_the_surface_flux_and_the_bottom_drag():
    """With random K, a random column and land below kbot: the column integral sum(e3t x)
    gains exactly dt * tau / rho0 from the surface stress and loses dt * r_b * x_bottom to
    the drag (the backward-Euler bottom value), to round-off; land levels are untouched."""
    e3t, e3w, mask, kbot, nhalo = _column_setup(nz=10, dz=10.0)
    nz, nj, ni = mask.shape
    kbot[:] = RNG.integers(1, nz + 1, (nj, ni))
    mask[:] = (np.arange(nz)[:, None, None] < kbot[None]).astype(float)
    coef = RNG.uniform(1e-4, 1e-1, (nz, nj, ni))
    coef[0] = 0.0
    coef[1:] *= mask[1:] * mask[:-1]
    x0 = RNG.uniform(-1.0, 1.0, (nz, nj, ni)) * mask
    tau = RNG.uniform(-0.2, 0.2, (nj, ni))
    drag = RNG.uniform(0.0, 5.0, (nj, ni))           # dt * Cd * |u_b| (m)
    rho0, dt = 1028.0, 1800.0
    x, y = x0.copy(), x0[::-1].copy()          # a second field with its own operator in the same sweep
    coef_y = coef[::-1].copy()
    bc = Boundary(True, tau, rho0, mask, True, drag, kbot)
    bc_y = Boundary(False, tau, rho0, mask, False, drag, kbot)
    solve_implicit(x, y, coef, coef_y, bc, bc_y, False, e3t, e3w, dt, nhalo, *_solver_work(x))
    y_alone, none = x0[::-1].copy(), x0[::-1].copy()
    solve_implicit(y_alone, none, coef_y, coef_y, bc_y, bc_y, True, e3t, e3w, dt, nhalo, *_solver_work(x))
    assert np.array_equal(y, y_alone)
    j, i = np.s_[nhalo:nj - nhalo], np.s_[nhalo:ni - nhalo]
    xb = np.take_along_axis(x, (kbot - 1)[None], 0)[0]
    gain = ((x - x0) * e3t[:, None, None]).sum(0)
    expected = dt * tau / rho0 - drag * xb
    assert np.allclose(gain[j, i], expected[j, i], rtol=0, atol=1e-14 * np.abs(x0).sum(0).max() * e3t[0])
    assert np.all(x[:, j, i][mask[:, j, i] == 0] == 0.0)


def _periodic_box(**extra):
    return Model(cfg_from(BOX, grid__periodic_x=True, **extra))


def test_biharmonic_viscosity_of_a_sine_wave_matches_the_discrete_factor():
    """The model's -lap(lap(u)) with constant B on u = a_k sin(kx x + phi), v = 0 (uniform in y,
    free-slip walls, periodic in x): gu = -B s^2 u with s = (4 / dx^2) sin^2(kx dx / 2), to
    round-off of the stencil (B (4/dx^2)^2 max|u|: the long waves cancel most of it)."""
    B = 3.0e9
    m = _periodic_box(momentum__viscosity="biharmonic", momentum__visc_coeff=B)
    g = m.grid
    dx = float(g.e1u[0, 0])
    nhalo = g.nhalo
    for wavenumber in (1, 3, g.nx_glo // 2 - 1):
        kx = 2 * math.pi * wavenumber / (g.nx_glo * dx)
        phi = RNG.uniform(0, 2 * math.pi)
        x_u = (np.arange(g.shape2[1]) - nhalo + 1.0) * dx
        amp = RNG.uniform(-1.0, 1.0, g.nz)
        m.state.u[:] = amp[:, None, None] * np.sin(kx * x_u + phi)[None, None, :] * g.umask
        m.state.v[:] = 0.0
        momentum.divergence_curl(m.state.u, m.state.v, g.metrics, g.masks, m.div, m.rot)
        m.gu.fill(0.0)
        m.gv.fill(0.0)
        m._lateral_viscosity()
        s = 4.0 / dx ** 2 * math.sin(kx * dx / 2) ** 2
        expected = -B * s ** 2 * m.state.u
        roundoff = 1e-14 * B * (4.0 / dx ** 2) ** 2 * np.abs(m.state.u).max()   # the stencil's own size
        assert np.allclose(g.interior_of(m.gu), g.interior_of(expected), rtol=0, atol=roundoff), wavenumber
        assert np.abs(g.interior_of(m.gu)).max() > 1e3 * roundoff
        assert np.abs(g.interior_of(m.gv)).max() <= roundoff


@pytest.mark.parametrize("e3f_typ", [1, 0])
def test_een_coriolis_term_is_energy_neutral(e3f_typ):
    """The EEN vorticity term alone does no work: sum over U and V points of
    e1e2u e3t u gu_cor + e1e2v e3t v gv_cor = 0 to round-off, for random u, v and a random
    Coriolis parameter at F points, in a box periodic in x and closed in y, over a ridge.
    ``advective_tendency`` bundles the vorticity term with the kinetic-energy gradient and
    vertical advection; w = 0 switches the latter off and rot = 0 leaves the planetary
    vorticity f, and the Coriolis part is the difference of the kernel with and without
    Coriolis (the kinetic-energy gradient cancels up to round-off)."""
    m = _periodic_box(grid__bathymetry="ridge")
    g = m.grid
    s = m.state
    s.u[:] = RNG.normal(0.0, 0.5, g.shape3) * g.umask
    s.v[:] = RNG.normal(0.0, 0.5, g.shape3) * g.vmask
    m.halo.exchange(s.u, s.v)
    fcor_f = 1e-4 * (1.0 + RNG.uniform(-0.5, 0.5, g.shape2))
    m.halo.exchange(fcor_f)
    zero = np.zeros(g.shape3)
    out = {}
    for co in (True, False):
        gu, gv = np.zeros(g.shape3), np.zeros(g.shape3)
        qfac = momentum.een_e3f_factor(g.tmask, g.fmask_any, e3f_typ)
        momentum.advective_tendency(s.u, s.v, zero, zero, fcor_f, qfac, g.metrics, g.masks, co, False,
                                    g.nhalo, np.zeros(g.shape3), gu, gv)
        out[co] = gu, gv
    gu_cor, gv_cor = out[True][0] - out[False][0], out[True][1] - out[False][1]
    vol_u = g.e1e2u[None] * g.e3t[:, None, None]
    vol_v = g.e1e2v[None] * g.e3t[:, None, None]
    pu = g.interior_of(vol_u * s.u * gu_cor)
    pv = g.interior_of(vol_v * s.v * gv_cor)
    scale = np.abs(pu).sum() + np.abs(pv).sum()
    assert scale > 0
    assert abs(pu.sum() + pv.sum()) < 1e-13 * scale


def test_een_e3f_factor_counts_the_wet_cells_around_each_f_point():
    """nn_e3f_typ = 1 is the plain 'any wet cell' mask (today's EEN, bitwise); nn_e3f_typ = 0
    multiplies the vorticity by 4 / (number of wet T cells): 1 inside, 2 beside a wall, 4 at
    a corner with one wet cell; checked against a direct count over the ridge box."""
    m = _periodic_box(grid__bathymetry="ridge")
    g = m.grid
    assert momentum.een_e3f_factor(g.tmask, g.fmask_any, 1) is g.fmask_any
    q0 = momentum.een_e3f_factor(g.tmask, g.fmask_any, 0)
    t = g.tmask
    n = t[:, :-1, :-1] + t[:, :-1, 1:] + t[:, 1:, :-1] + t[:, 1:, 1:]
    want = np.where(n > 0, 4.0 / np.maximum(n, 1), 0.0)
    assert np.array_equal(q0[:, :-1, :-1], want)
    assert {1.0, 2.0}.issubset(set(np.unique(q0))) and (q0 <= 4.0).all()


def _ke_hollingsworth_numpy(u, v):
    """NEMO dynkeg nkeg_HW written with numpy slices, at T points [1:-1, 1:-1] of each level."""
    zu = (8.0 * (u[:, 1:-1, :-2] ** 2 + u[:, 1:-1, 1:-1] ** 2)
          + (u[:, :-2, :-2] + u[:, 2:, :-2]) ** 2 + (u[:, :-2, 1:-1] + u[:, 2:, 1:-1]) ** 2)
    zv = (8.0 * (v[:, :-2, 1:-1] ** 2 + v[:, 1:-1, 1:-1] ** 2)
          + (v[:, :-2, :-2] + v[:, :-2, 2:]) ** 2 + (v[:, 1:-1, :-2] + v[:, 1:-1, 2:]) ** 2)
    return (zu + zv) / 48.0


@pytest.mark.parametrize("keg", ["standard", "hollingsworth"])
def test_kinetic_energy_gradient_matches_nemo(keg):
    """With w = 0, no vorticity and no Coriolis, advective_tendency is -grad(KE) alone; it
    matches NEMO's standard and Hollingsworth kinetic energies written independently, for
    random u, v. The two differ (the Hollingsworth form mixes in the mean of u's meridional
    and v's zonal neighbours), and agree for a field linear in y."""
    m = _periodic_box()
    g = m.grid
    s = m.state
    s.u[:] = RNG.normal(0.0, 0.5, g.shape3) * g.umask
    s.v[:] = RNG.normal(0.0, 0.5, g.shape3) * g.vmask
    m.halo.exchange(s.u, s.v)
    zero = np.zeros(g.shape3)
    out = {}
    for k in ("standard", "hollingsworth"):
        gu, gv = np.zeros(g.shape3), np.zeros(g.shape3)
        momentum.advective_tendency(s.u, s.v, zero, zero, g.fcor_f, g.fmask_any, g.metrics, g.masks, False,
                                    k == "hollingsworth", g.nhalo, np.zeros(g.shape3), gu, gv)
        out[k] = gu, gv
    u, v = s.u, s.v
    if keg == "hollingsworth":
        ke = np.zeros(g.shape3)
        ke[:, 1:-1, 1:-1] = _ke_hollingsworth_numpy(u, v)
    else:
        ke = np.zeros(g.shape3)
        ke[:, 1:-1, 1:-1] = 0.25 * (u[:, 1:-1, :-2] ** 2 + u[:, 1:-1, 1:-1] ** 2
                                    + v[:, :-2, 1:-1] ** 2 + v[:, 1:-1, 1:-1] ** 2)
    want_u = np.zeros(g.shape3)
    want_v = np.zeros(g.shape3)
    want_u[:, :, :-1] = -(ke[:, :, 1:] - ke[:, :, :-1]) / g.e1u[:, :-1] * g.umask[:, :, :-1]
    want_v[:, :-1, :] = -(ke[:, 1:, :] - ke[:, :-1, :]) / g.e2v[:-1, :] * g.vmask[:, :-1, :]
    gu, gv = out[keg]
    scale = np.abs(g.interior_of(want_u)).max()
    assert scale > 0
    assert np.allclose(g.interior_of(gu), g.interior_of(want_u), rtol=0, atol=1e-12 * scale)
    assert np.allclose(g.interior_of(gv), g.interior_of(want_v), rtol=0, atol=1e-12 * scale)
    diff = np.abs(g.interior_of(out["hollingsworth"][0] - out["standard"][0])).max()
    assert diff > 1e-3 * scale
    # a flow linear in y and uniform in x: both kinetic energies are u^2 / 2
    j = np.arange(g.shape3[1])[None, :, None]
    s.u[:] = (0.1 + 0.01 * j) * np.ones(g.shape3) * g.umask
    s.v[:] = 0.0
    res = []
    for hw in (False, True):
        gu, gv = np.zeros(g.shape3), np.zeros(g.shape3)
        momentum.advective_tendency(s.u, s.v, zero, zero, g.fcor_f, g.fmask_any, g.metrics, g.masks, False,
                                    hw, g.nhalo, np.zeros(g.shape3), gu, gv)
        res.append(g.interior_of(gv)[:, 2:-2])          # rows whose stencil stays off the walls
    assert np.allclose(res[0], res[1], rtol=1e-12, atol=0)
