"""Conservation to round-off: volume, tracer content budgets, a uniform tracer stays uniform."""
import numpy as np

from ocean.model import Model

from conftest import BOX, cfg_from


def _front(model, dT=4.0, dS=0.5):
    """A density front across the box (drives a baroclinic adjustment)."""
    g, s = model.grid, model.state
    x = (np.arange(g.shape2[1]) - g.nhalo + g.i0) / g.nx_glo
    y = (np.arange(g.shape2[0]) - g.nhalo + g.j0) / g.ny_glo
    bump = np.tanh((x[None, :] - 0.5) / 0.1) * np.cos(np.pi * y[:, None])
    s.T += dT * bump[None] * g.tmask
    s.S += dS * bump[None] * g.tmask
    model.exchange_state()


def test_volume_conserved_closed_basin():
    m = Model(cfg_from(BOX, grid__bathymetry="ridge", forcing__kind="box_wind", forcing__wind_tau0_n_m2=0.2))
    _front(m)
    g = m.grid
    area = g.interior_of(g.e1e2t * g.tmask[0])
    for _ in range(100):
        m.step()
    ssh = g.interior_of(m.state.ssh)
    scale = np.sum(area * np.abs(ssh))
    assert scale > 1e6                       # the free surface did move (m3)
    assert abs(np.sum(area * ssh)) < 1e-12 * scale


def test_tracer_content_budget_closes_to_roundoff():
    """Without surface forcing, T and S content change only by the linear free surface's
    advective flux w(0) T(0) through the fixed surface, to round-off, step by step."""
    m = Model(cfg_from(BOX, grid__bathymetry="ridge"))
    _front(m)
    g = m.grid
    vol = g.interior_of(g.e1e2t[None] * g.e3t[:, None, None] * g.tmask)
    area = g.interior_of(g.e1e2t * g.tmask[0])
    total_surface_flux = {"T": 0.0, "S": 0.0}
    for _ in range(100):
        before = {n: np.sum(vol * g.interior_of(getattr(m.state, n))) for n in "TS"}
        surf0 = {n: g.interior_of(getattr(m.state, n)[0]) for n in "TS"}
        m.step()
        w0 = g.interior_of(m.wadv[0])
        for n in "TS":
            after = np.sum(vol * g.interior_of(getattr(m.state, n)))
            expected = -m.dt * np.sum(area * w0 * surf0[n])
            assert abs((after - before[n]) - expected) < 1e-13 * before[n], n
            total_surface_flux[n] += abs(expected)
    for n in "TS":
        assert total_surface_flux[n] > 1e-9 * before[n]    # the budget term is not trivially zero


def test_uniform_tracer_stays_uniform_under_flow():
    m = Model(cfg_from(BOX, grid__bathymetry="ridge", forcing__kind="box_wind", forcing__wind_tau0_n_m2=0.2))
    g = m.grid
    m.state.T[:] = 0.0
    _front(m, dT=4.0, dS=0.0)
    m.state.T += 10.0 * g.tmask
    for _ in range(100):
        m.step()
    S = g.interior_of(m.state.S)[g.interior_of(g.tmask) > 0]
    assert np.max(np.abs(m.state.u)) > 1e-3
    assert np.max(np.abs(S - 35.0)) < 1e-11


def test_tvd_advection_is_monotone():
    """No new extrema: advected temperature stays within its initial range."""
    m = Model(cfg_from(BOX, grid__bathymetry="ridge", forcing__kind="box_wind", forcing__wind_tau0_n_m2=0.2,
                       tracers__diff_coeff_m2_s=0.0, tracers__vertical_diffusivity_m2_s=0.0,
                       tracers__convection_diffusivity_m2_s=0.0, init__dtdz_k_m=0.0))
    g = m.grid
    _front(m, dT=4.0, dS=0.0)
    wet = g.interior_of(g.tmask) > 0
    lo, hi = g.interior_of(m.state.T)[wet].min(), g.interior_of(m.state.T)[wet].max()
    for _ in range(100):
        m.step()
    T = g.interior_of(m.state.T)[wet]
    assert T.min() >= lo - 1e-12 and T.max() <= hi + 1e-12
