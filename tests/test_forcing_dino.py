"""Tests for ocean.forcing_dino (DINO usrdef_sbc.F90 / usrdef_istate.F90 transcriptions)."""

import numpy as np
import pytest

from ocean import forcing_dino as fd

LAT = np.linspace(-70.0, 70.0, 2801)  # 0.05 deg
DAYS = np.arange(0.0, 360.0, 15.0)


@pytest.mark.parametrize("south,north", [(-70.0, 70.0), (-68.5, 71.2)])
def test_wind_nodes_and_boundaries(south, north):
    nodes = [(-45.0, 0.2), (-15.0, -0.1), (0.0, -0.02), (15.0, -0.1), (45.0, 0.1)]
    for lat, tau in nodes:
        assert abs(fd.zonal_wind_stress(lat, south, north) - tau) < 1e-12
    tau_nodes = fd.zonal_wind_stress(np.array([lat for lat, _ in nodes]), south, north)
    np.testing.assert_allclose(tau_nodes, [t for _, t in nodes], rtol=0, atol=1e-12)
    for lat in (south, north, south - 5.0, north + 5.0):
        assert abs(fd.zonal_wind_stress(lat, south, north)) < 1e-12


def test_wind_smooth_and_bounded():
    tau = fd.zonal_wind_stress(LAT, -70.0, 70.0)
    assert tau.max() == pytest.approx(0.2) and tau.min() == pytest.approx(-0.1)
    assert np.max(np.abs(np.diff(tau))) < 0.01  # continuous, no jumps
    slope = np.diff(tau) / np.diff(LAT)
    assert np.max(np.abs(np.diff(slope))) < 1e-3  # C1: slope continuous at the nodes
    # Smoothstep midpoint: halfway between nodes the stress is the mean of the nodes.
    assert fd.zonal_wind_stress(-30.0) == pytest.approx(0.05, abs=1e-12)
    with pytest.raises(ValueError):
        fd.zonal_wind_stress(0.0, -40.0, 70.0)


def test_wind_stress_modulus_boost():
    np.testing.assert_allclose(fd.wind_stress_modulus(np.array([0.2, -0.1, 0.0])),
                               [0.26, 0.1, 0.0], rtol=1e-14)


def test_sst_target_equator_and_ranges():
    for day in DAYS:
        assert fd.sst_restoring_target(0.0, day) == 27.0
        t = fd.sst_restoring_target(LAT, day)
        assert np.all((t >= -1.0 - 1e-12) & (t <= 27.0 + 1e-12))
    # Boundary values: north 5 +/- 3, south -0.5 -/+ 0.5; extrema on 21 July (day 201).
    assert fd.sst_restoring_target(70.0, 201.0) == pytest.approx(8.0, abs=1e-12)
    assert fd.sst_restoring_target(70.0, 21.0) == pytest.approx(2.0, abs=1e-12)
    assert fd.sst_restoring_target(-70.0, 201.0) == pytest.approx(-1.0, abs=1e-12)
    assert fd.sst_restoring_target(-70.0, 21.0) == pytest.approx(0.0, abs=1e-12)
    # Lagged one month behind the solar cycle (solstice day 171).
    north = [fd.sst_restoring_target(60.0, d) for d in np.arange(360.0)]
    assert int(np.argmax(north)) == 201


def test_sss_target_values_and_ranges():
    assert fd.sss_restoring_target(-70.0, 0.0) == pytest.approx(35.0, abs=1e-12)
    assert fd.sss_restoring_target(70.0, 0.0) == pytest.approx(35.1, abs=1e-12)
    assert fd.sss_restoring_target(0.0, 0.0) == pytest.approx(37.25 - 1.25, abs=1e-12)
    s = fd.sss_restoring_target(LAT, 90.0)
    assert np.all((s > 34.9) & (s < 37.3))
    np.testing.assert_array_equal(s, fd.sss_restoring_target(LAT, 270.0))  # no season


def test_solar_ranges_and_season():
    for day in DAYS:
        q = fd.solar_heating(LAT, day)
        assert np.all((q >= 0.0) & (q <= 230.0))
    lat = np.linspace(-90.0, 90.0, 3601)
    north_summer = lat[np.argmax(fd.solar_heating(lat, 171.0))]
    south_summer = lat[np.argmax(fd.solar_heating(lat, 351.0))]
    equinox = lat[np.argmax(fd.solar_heating(lat, 81.0))]
    assert north_summer == pytest.approx(23.5, abs=0.05)
    assert south_summer == pytest.approx(-23.5, abs=0.05)
    assert equinox == pytest.approx(0.0, abs=0.05)
    assert fd.solar_heating(0.0, 81.0) == pytest.approx(230.0, rel=1e-12)
    assert fd.solar_heating(-90.0, 171.0) == 0.0  # floored at zero


def test_the_model_restores_with_dinos_coefficients_on_a_360_day_year():
    """A surface 1 K warmer and 1 psu saltier than the targets loses 40 W m-2 of heat and
    3.858e-3 kg m-2 s-1 of salt (DINO's rn_trp, rn_srp); the forcing repeats after 360 days."""
    from ocean import config
    from ocean.model import Model
    m = Model(config.from_dict({"grid": {"resolution_deg": 4.0}, "time": {"dt_s": 3600.0}}))
    f, g = m.forcing, m.grid
    f.update(0.0)
    first = (f.tstar.copy(), f.sstar.copy(), f.qsr.copy())
    T, S = m.state.T.copy(), m.state.S.copy()
    T[0] = f.tstar + 1.0
    S[0] = f.sstar + 1.0
    f.sources(T, S)
    wet = g.interior_of(g.tmask[0]) > 0
    rho0_cp = m.eos.rho0 * m.eos.cp
    q_net = g.interior_of((f.src_t + f.pen_t) * rho0_cp)[wet]
    assert np.allclose(q_net, fd.T_RESTORING_W_M2_K, rtol=1e-12)
    assert np.allclose(g.interior_of(f.src_s * m.eos.rho0)[wet], fd.S_RESTORING_KG_M2_S, rtol=1e-12)
    f.update(180 * 86400.0)
    assert not np.array_equal(first[2], f.qsr)           # it changes within the year
    f.update(fd.DAYS_PER_YEAR * 86400.0 + 1.0)
    for a, b in zip(first, (f.tstar, f.sstar, f.qsr)):   # and comes back after 360 days
        assert np.array_equal(a, b)


def test_initial_stratification():
    z = np.linspace(0.0, 4000.0, 401)
    t, s = fd.initial_stratification(z)
    assert t.shape == s.shape == z.shape
    assert np.all(np.diff(t) < 0.0)  # monotonically stable in T
    assert 20.0 < t[0] < 30.0 and 3.0 < t[-1] < 5.0
    assert np.all((s > 34.5) & (s < 37.5))
    t2, s2 = fd.initial_state_meridional(z, np.array([-60.0, 0.0, 60.0]))
    np.testing.assert_allclose(t2[:, 1], t, rtol=1e-14)
    np.testing.assert_allclose(t2[:, 2], t.min(), rtol=1e-14)
    np.testing.assert_allclose(s2[:, 0], s.min(), rtol=1e-14)
