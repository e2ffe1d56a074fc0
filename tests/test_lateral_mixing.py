"""Lateral tracer mixing (issue 11): iso-neutral diffusion does not change a field whose
iso-neutral gradient is zero and creates no extrema; GM lowers the potential energy and
conserves T and S content to round-off; both together are bitwise identical on 1, 2 and 4
ranks and across a restart; the defaults leave today's level diffusion untouched."""
import math

import netCDF4
import numpy as np
import pytest

from ocean import momentum, tracers
from ocean.config import ConfigError
from ocean.eos import GRAV, bn2_kernel, rhd_kernel
from ocean.model import Model

from conftest import BOX, cfg_from, run_mpi

# a periodic channel, flat, uniform levels: the iso-neutral operator's own stencils, no coasts in x
CHANNEL = {**BOX, "grid": {**BOX["grid"], "periodic_x": True, "nx": 16, "ny": 24, "beta": 0.0},
           "init": {"kind": "uniform", "t0_degc": 10.0, "s0_psu": 35.0},
           "tracers": {"lateral": "isoneutral", "diff_velocity_m_s": 0.027, "advection": "none"}}
A_M, DTDZ = 800.0, -0.01          # isopycnal displacement (m) and dT/dz (K/m)


def _interior(m, a):
    j, i = m.grid.interior
    return a[..., j, i]


def _density(m):
    """rhd and N2 of the model's state, as the step computes them."""
    g, s = m.grid, m.state
    ec = m.eos.coeffs()
    rhd_kernel(s.T, s.S, g.gdept, g.tmask, *ec, m.rhd)
    bn2_kernel(s.T, s.S, g.gdept, g.gdepw, g.e3w, g.tmask, *ec, m.bn2)


def _displaced(m, y_m):
    """T (degC) stratified along surfaces depth + h(y) = const, h = A cos(pi y / Ly): a
    field whose iso-neutral gradient is zero (S uniform, linear equation of state)."""
    g = m.grid
    ly = g.ny_glo * BOX["grid"]["dy_m"]
    h = A_M * np.cos(math.pi * y_m / ly)
    return (10.0 + DTDZ * (g.gdept[:, None, None] + h[None])) * g.tmask


def _y_of_rows(m):
    g = m.grid
    rows = np.arange(g.shape2[0]) - g.nhalo + g.j0
    return ((rows + 0.5) * BOX["grid"]["dy_m"])[:, None] * np.ones(g.shape2[1])[None, :]


def _tendency(m, X, level: bool):
    """dX/dt (X/s) of the lateral operator alone: iso-neutral (explicit part plus the implicit
    correction) or the level Laplacian with the same K."""
    g, nhalo = m.grid, m.grid.nhalo
    for a in m.flux_t:
        a.fill(0.0)
    zero2 = np.zeros(g.shape2)
    w0 = np.zeros(g.shape3)
    if level:
        tracers.fluxes(X, w0, w0, w0, m.aht_u, m.aht_v, g.metrics, g.masks, m.dt, False, nhalo, m.flux_t)
    else:
        m.iso.add_fluxes(X, np.zeros_like(X), m.flux_t, m.flux_s)    # S's fluxes unused
    out = np.zeros(g.shape3)
    tracers.update(X, m.flux_t, zero2, zero2, np.zeros(g.nz + 1), g.metrics, g.masks, m.dt, nhalo, out)
    if not level:
        m.vmix.tracers(out, np.zeros(g.shape3), m.iso.avt_iso)
    return (out - X) / m.dt * g.tmask


def test_isoneutral_diffusion_leaves_a_field_constant_on_neutral_surfaces():
    m = Model(cfg_from(CHANNEL))
    m.state.T[:] = _displaced(m, _y_of_rows(m))
    _density(m)
    m.iso.update(m.rhd, m.bn2, np.zeros(m.grid.shape3))
    slope = np.abs(_interior(m, m.iso.slopes[1])).max()
    assert 0.003 < slope < 0.01                        # the surfaces are tilted, within slope_max
    iso = _interior(m, _tendency(m, m.state.T, level=False))
    lev = _interior(m, _tendency(m, m.state.T, level=True))
    # away from the walls (2 rows), the surface level (its slope is 0, as in NEMO) and the bottom
    inner = (slice(1, -1), slice(2, -2))
    assert np.abs(lev[inner]).max() > 1e-9              # along levels the field diffuses
    # what remains: the 1-2-1 filter's damping of the slope, 1 - cos(pi / 2 ny)^2 = 0.4 %, and
    # NEMO's (1 + rhd) in the vertical density gradient (1e-3)
    assert np.abs(iso[inner]).max() < 0.01 * np.abs(lev[inner]).max()


def test_isoneutral_diffusion_creates_no_extrema():
    """A passive blob in tilted isopycnals (stratified in S) spreads without new extrema."""
    cfg = cfg_from(CHANNEL)
    m = Model(cfg)
    g = m.grid
    y = _y_of_rows(m)
    ly = g.ny_glo * BOX["grid"]["dy_m"]
    dep = g.gdept[:, None, None] + (A_M * np.cos(math.pi * y / ly))[None]
    m.state.S[:] = (35.0 + 0.002 * dep) * g.tmask   # the density, from S (T uniform); X below is passive
    m.state.T[:] = 10.0 * g.tmask
    m.exchange_state()
    _density(m)
    m.iso.update(m.rhd, m.bn2, np.zeros(g.shape3))
    assert np.abs(_interior(m, m.iso.slopes[1])).max() > 0.003
    x = np.arange(g.shape2[1])[None, :]
    X = (np.exp(-((y - 0.5 * ly) / 80e3) ** 2 - ((x - g.nhalo - 8) / 3.0) ** 2)[None]
         * np.exp(-((g.gdept[:, None, None] - 500.0) / 250.0) ** 2)) * g.tmask
    m.halo.exchange(X)
    lo, hi = _interior(m, X)[_interior(m, g.tmask) > 0].min(), _interior(m, X).max()
    content0 = float(np.sum(_interior(m, X * g.e1e2t[None] * g.e3t[:, None, None])))
    for _ in range(40):
        X = X + m.dt * _tendency(m, X, level=False)
        m.halo.exchange(X)
    wet = _interior(m, g.tmask) > 0
    Xi = _interior(m, X)
    assert Xi.max() < hi and Xi[wet].min() >= lo - 1e-12 * hi      # no new extrema
    assert Xi.max() < 0.99 * hi                                      # and it did diffuse
    content = float(np.sum(_interior(m, X * g.e1e2t[None] * g.e3t[:, None, None])))
    assert abs(content - content0) < 1e-12 * content0


def _gm_model():
    cfg = cfg_from(CHANNEL, tracers__gm=True, tracers__advection="tvd")
    m = Model(cfg)
    m.state.T[:] = _displaced(m, _y_of_rows(m))
    m.exchange_state()
    return m


def _potential_energy(m):
    g = m.grid
    _density(m)
    vol = g.e1e2t[None] * g.e3t[:, None, None] * g.tmask
    return float(np.sum(_interior(m, GRAV * (m.rhd * m.rho0) * (-g.gdept[:, None, None]) * vol)))


def test_gm_lowers_potential_energy_and_conserves_content():
    """The eddy-induced velocity alone (no resolved flow, no diffusion) advects T: the
    isopycnals flatten, the potential energy falls, T and S content stay to round-off."""
    m = _gm_model()
    g, s, nhalo = m.grid, m.state, m.grid.nhalo
    vol = g.e1e2t[None] * g.e3t[:, None, None]
    heat0, salt0 = float(np.sum(_interior(m, s.T * vol))), float(np.sum(_interior(m, s.S * vol)))
    pe0 = _potential_energy(m)
    ape0 = pe0 - _potential_energy_sorted(m)
    assert ape0 > 0
    zero2 = np.zeros(g.shape2)
    for _ in range(20):
        _density(m)
        m.iso.update(m.rhd, m.bn2, np.zeros(m.grid.shape3))
        m.uadv.fill(0.0)
        m.vadv.fill(0.0)
        m._eddy_velocity()                               # the slot: GM's u*, v* into uadv, vadv
        momentum.divergence_curl(m.uadv, m.vadv, g.metrics, g.masks, m.div, m.rot)
        momentum.vertical_velocity(m.div, g.e3t, nhalo, 0, m.wadv)
        assert np.abs(_interior(m, m.wadv[0])).max() < 1e-15      # no eddy flux through the surface
        for X, Xa in ((s.T, m.Ta), (s.S, m.Sa)):
            tracers.fluxes(X, m.uadv, m.vadv, m.wadv, m.iso.zero_u, m.iso.zero_v, g.metrics, g.masks, m.dt, True,
                           nhalo, m.flux_t)
            tracers.update(X, m.flux_t, zero2, zero2, np.zeros(g.nz + 1), g.metrics, g.masks, m.dt, nhalo, Xa)
        m.halo.exchange(m.Ta, m.Sa)
        s.T, m.Ta = m.Ta, s.T
        s.S, m.Sa = m.Sa, s.S
    gm = m.gm.diagnostics()                              # computed from the stored streamfunction
    assert np.array_equal(_interior(m, gm.ueiv), _interior(m, m.ueiv))   # as the step computed them
    assert np.array_equal(_interior(m, gm.veiv), _interior(m, m.veiv))
    assert np.abs(_interior(m, gm.veiv)).max() > 1e-4           # GM did act
    assert np.abs(_interior(m, m.gm.psi_v)).max() > 1.0
    pe = _potential_energy(m)
    assert pe < pe0 - 1e-3 * ape0                      # 20 steps release 0.4 % of the APE
    heat, salt = float(np.sum(_interior(m, s.T * vol))), float(np.sum(_interior(m, s.S * vol)))
    assert abs(heat - heat0) < 1e-13 * abs(heat0)
    assert abs(salt - salt0) < 1e-13 * abs(salt0)


def _potential_energy_sorted(m):
    """The potential energy of the same water sorted by density, lightest at the top: the
    state of least potential energy (flat bottom, equal cells); PE - this is the APE."""
    g = m.grid
    _density(m)
    rho = np.sort(_interior(m, m.rhd * m.rho0).ravel()).reshape(g.nz, -1)
    vol = BOX["grid"]["dx_m"] * BOX["grid"]["dy_m"] * g.e3t[:, None]
    return float(np.sum(GRAV * rho * (-g.gdept[:, None]) * vol))


def test_two_eddy_velocity_users_add_up():
    """GM and another process of the eddy-velocity slot: the step advects with the sum."""
    from ocean.closure_slots import EDDY_VELOCITY, Closure

    class Uniform(Closure):
        name, slots = "uniform", frozenset({EDDY_VELOCITY})

        def eddy_velocity(self, ueiv, veiv):
            j, i = m.grid.interior
            veiv[:, j, i] += 0.01

    m = _gm_model()
    _density(m)
    m.iso.update(m.rhd, m.bn2, np.zeros(m.grid.shape3))
    m.uadv.fill(0.0)
    m.vadv.fill(0.0)
    m._eddy_velocity()
    gm_only = m.vadv.copy()
    m.add_closure(Uniform())
    m.uadv.fill(0.0)
    m.vadv.fill(0.0)
    m._eddy_velocity()
    j, i = m.grid.interior
    assert np.abs(gm_only[:, j, i]).max() > 0
    assert np.array_equal(m.vadv[:, j, i], gm_only[:, j, i] + 0.01)


def test_defaults_are_level_diffusion_without_gm():
    m = Model(cfg_from(BOX))
    assert m.iso is None and m.gm is None and m.ueiv is None
    with pytest.raises(ConfigError, match="isoneutral"):
        cfg_from(BOX, tracers__gm=True)


# ---------------------------------------------------------------- decomposition and restart
TOML = """
[run]
name = "lateral"
[grid]
kind = "box"
nx = 24
ny = 20
nz = 6
depth_m = 1000.0
dz_top_m = 0.0
f0 = 1e-4
beta = 1e-11
bathymetry = "ridge"
[time]
dt_s = 1200.0
[eos]
kind = "linear"
[init]
kind = "linear"
t0_degc = 15.0
dtdz_k_m = -0.01
[forcing]
kind = "box_wind"
wind_tau0_n_m2 = 0.5
[momentum]
visc_coeff = 1000.0
[tracers]
lateral = "isoneutral"
diff_velocity_m_s = 0.027
gm = true
gm_ue_m_s = 0.5            # a large coefficient: the few steps must move the tracers
[output]
interval_days = 0.125
fields = ["thetao", "so", "uo", "psiu_eiv", "psiv_eiv", "uoce_eiv", "voce_eiv", "woce_eiv"]
"""
ARGS = ["--no-progress", "--set", "run.restart_every_days=0"]


def _vars(path):
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_mask(False)
        return {v: np.array(nc[v][:]) for v in nc.variables}


@pytest.fixture(scope="module")
def one_rank(tmp_path_factory):
    base = tmp_path_factory.mktemp("lateral")
    cfg = base / "lateral.toml"
    cfg.write_text(TOML)
    out = base / "r1"
    r = run_mpi(1, "run", cfg, "--out", out, "--steps", "24", *ARGS)
    assert r.returncode == 0, r.stderr[-3000:]
    return cfg, out


def test_gm_diagnostics_are_written(one_rank):
    _, out = one_rank
    v = _vars(out / "output.nc")
    assert np.nanmax(np.abs(v["psiv_eiv"][v["psiv_eiv"] < 1e30])) > 0
    assert v["psiu_eiv"].shape[1] == 6 and v["woce_eiv"].shape[1] == 6


@pytest.mark.parametrize("n", [2, 4])
def test_bitwise_identical_on_2_and_4_ranks(one_rank, tmp_path, n):
    cfg, ref = one_rank
    r = run_mpi(n, "run", cfg, "--out", tmp_path, "--steps", "24", *ARGS)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("restart.nc", "output.nc"):
        a, b = _vars(ref / name), _vars(tmp_path / name)
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k]), (name, k)


def test_bitwise_across_a_restart(one_rank, tmp_path):
    cfg, ref = one_rank
    r = run_mpi(2, "run", cfg, "--out", tmp_path / "a", "--steps", "12", *ARGS)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_mpi(1, "run", cfg, "--out", tmp_path / "b", "--steps", "12", "--restart", tmp_path / "a" / "restart.nc",
                *ARGS)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = _vars(ref / "restart.nc"), _vars(tmp_path / "b" / "restart.nc")
    for k in a:
        assert np.array_equal(a[k], b[k]), k
