"""Dynamics against theory: rest stays at rest, gravity-wave speed, Munk boundary layer."""
import math

import numpy as np

from ocean.eos import GRAV
from ocean.model import Model

from conftest import cfg_from


def test_rest_with_flat_isopycnals_stays_at_rest():
    """DINO geometry (4 degrees, slopes, sill, channel), nonlinear EOS, DINO stratification,
    no forcing and no vertical mixing: nothing may move after 30 days."""
    cfg = cfg_from({"grid": {"resolution_deg": 4.0}, "time": {"dt_s": 3600.0}, "forcing": {"kind": "none"},
                    "tracers": {"vertical_diffusivity_m2_s": 0.0, "convection_diffusivity_m2_s": 0.0}})
    m = Model(cfg)
    assert np.ptp(m.state.T[0][m.grid.tmask[0] > 0]) == 0 and np.ptp(m.state.T[:, m.grid.nhalo + 5, m.grid.nhalo + 5]) > 10
    for _ in range(30 * 24):
        m.step()
    assert np.max(np.abs(m.state.u)) < 1e-10
    assert np.max(np.abs(m.state.v)) < 1e-10
    assert np.max(np.abs(m.state.ssh)) < 1e-10


def _wave_box(nx, dx, depth, dt):
    return cfg_from({"grid": {"kind": "box", "nx": nx, "ny": 4, "dx_m": dx, "dy_m": dx, "nz": 1, "depth_m": depth,
                              "dz_top_m": 0.0, "f0": 0.0, "beta": 0.0, "periodic_x": True},
                     "time": {"dt_s": dt}, "eos": {"kind": "linear"}, "init": {"kind": "uniform"},
                     "forcing": {"kind": "none"},
                     "momentum": {"viscosity": "none", "bottom_drag_cd": 0.0, "vertical_viscosity_m2_s": 0.0},
                     "tracers": {"advection": "none"}})


def test_gravity_wave_phase_speed_matches_sqrt_gH():
    """A standing surface gravity wave in a periodic channel oscillates with the period
    L / sqrt(g H); its phase speed must be within 5% of sqrt(g H)."""
    nx, dx, depth = 32, 20e3, 100.0
    c = math.sqrt(GRAV * depth)
    L = nx * dx
    period = L / c                                    # ~ 20400 s
    dt = period / 60
    m = Model(_wave_box(nx, dx, depth, dt))
    g = m.grid
    x = (np.arange(g.shape2[1]) - g.nhalo + 0.5) * dx
    m.state.ssh[:] = 0.01 * np.cos(2 * np.pi * x / L)[None, :] * g.tmask[0]
    m.exchange_state()
    t, eta = [0.0], [m.state.ssh[g.nhalo + 1, g.nhalo]]
    for _ in range(4 * 60):
        m.step()
        t.append(m.state.time_s)
        eta.append(m.state.ssh[g.nhalo + 1, g.nhalo])
    t, eta = np.array(t), np.array(eta)
    up = np.nonzero((eta[:-1] < 0) & (eta[1:] >= 0))[0]
    crossings = t[up] + (0 - eta[up]) / (eta[up + 1] - eta[up]) * (t[up + 1] - t[up])
    measured_period = np.mean(np.diff(crossings))
    c_measured = L / measured_period
    assert len(crossings) >= 3
    assert abs(c_measured - c) / c < 0.05, (c_measured, c)


def _munk_cfg(bc: str, A: float, beta: float):
    return cfg_from({"grid": {"kind": "box", "nx": 60, "ny": 60, "dx_m": 20e3, "dy_m": 20e3, "nz": 1,
                              "depth_m": 1000.0, "dz_top_m": 0.0, "f0": 1e-4, "beta": beta},
                     "time": {"dt_s": 3600.0}, "eos": {"kind": "linear"}, "init": {"kind": "uniform"},
                     "momentum": {"visc_coeff": A, "lateral_bc": bc, "bottom_drag_cd": 0.0,
                                  "vertical_viscosity_m2_s": 0.0},
                     "tracers": {"advection": "none", "diff_coeff_m2_s": 0.0, "diff_velocity_m_s": 0.0},
                     "forcing": {"kind": "box_wind", "wind_tau0_n_m2": 0.02}})


def _zero_crossing_km(model):
    """Distance from the western wall to where the boundary current's v changes sign."""
    g = model.grid
    v = g.interior_of(model.state.v[0])[g.ny // 2]
    imax = int(np.argmax(np.abs(v[: g.nx // 3])))
    i0 = imax + int(np.argmax(np.sign(v[imax:]) != np.sign(v[imax])))
    dx = g.e1t[g.nhalo, g.nhalo]
    x1, x2 = (i0 - 0.5) * dx, (i0 + 0.5) * dx
    return (x1 + v[i0 - 1] / (v[i0 - 1] - v[i0]) * (x2 - x1)) / 1e3


def test_munk_western_boundary_layer_width():
    """Wind-driven barotropic gyre on a beta-plane: the western boundary current ends (v
    changes sign) where Munk's theory puts it: 2 pi / sqrt(3) delta with no-slip walls and
    4 pi / (3 sqrt(3)) delta with free-slip walls, delta = (A / beta)^(1/3); the width is
    within 25% of the Munk width pi delta."""
    A, beta = 2000.0, 1e-11
    delta_km = (A / beta) ** (1 / 3) / 1e3
    theory = {"no-slip": 2 * math.pi / math.sqrt(3), "free-slip": 4 * math.pi / (3 * math.sqrt(3))}
    for bc in ("no-slip", "free-slip"):
        m = Model(_munk_cfg(bc, A, beta))
        for _ in range(75 * 24):
            m.step()
        width = _zero_crossing_km(m)
        assert abs(width - theory[bc] * delta_km) < 0.15 * theory[bc] * delta_km, (bc, width)
        if bc == "no-slip":
            assert abs(width - math.pi * delta_km) < 0.25 * math.pi * delta_km
