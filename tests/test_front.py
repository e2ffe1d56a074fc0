"""The mixed-layer front (ocean/init_front.py, ocean/front_diagnostics.py, configs/mle_front_*,
scripts/front_experiment.py): the initial state's gradients and its thermal-wind balance, the
diagnostics on fields with known answers, FK08's restratification rate in the coarse front,
the quick experiment in short form (FK08, and BBZ24 when the published weights are there, each
restratify more than no MLE), and the configuration errors."""
import json
import sys

import netCDF4
import numpy as np
import pytest

from ocean import config, front_diagnostics as fd
from ocean.config import ConfigError
from ocean.eos import GRAV
from ocean.model import Model

from conftest import ROOT, cfg_from, run_cli, run_mpi

sys.path.insert(0, str(ROOT / "scripts"))
import front_experiment  # noqa: E402

COARSE = ROOT / "configs" / "mle_front_coarse.toml"
HIRES = ROOT / "configs" / "mle_front_hires.toml"
PUBLISHED = ROOT.parent / "shared" / "published" / "bbz24_res_1_4"

# a small 2-D front: 4 x 24 cells of 10 km, 20 levels of 10 m, ML 100 m, 2 fronts
SMALL = {
    "grid": {"kind": "box", "nx": 4, "ny": 24, "dx_m": 10e3, "dy_m": 10e3, "nz": 20, "depth_m": 200.0,
             "dz_top_m": 0.0, "f0": 1e-4, "beta": 0.0, "periodic_x": True},
    "time": {"dt_s": 900.0},
    "eos": {"kind": "linear"},
    "init": {"kind": "front", "t0_degc": 15.0, "front_hml_m": 100.0, "front_dt_k": 1.0, "front_count": 2,
             "front_dtdz_ml_k_m": -1e-3, "front_dtdz_deep_k_m": -1e-2},
    "forcing": {"kind": "none"},
    "momentum": {"viscosity": "biharmonic", "bottom_drag_cd": 0.0, "vertical_viscosity_m2_s": 1e-4},
    "tracers": {"diff_velocity_m_s": 0.0},
}


def _b(m):
    g = m.grid
    return fd.buoyancy(g.interior_of(m.state.T), g.interior_of(m.state.S), m.eos)


def test_front_has_the_configured_gradients():
    m = Model(cfg_from(SMALL))
    g, ini = m.grid, m.cfg.init
    b = _b(m)
    galpha = GRAV * m.eos.a0 / m.eos.rho0
    ly = g.ny_glo * 10e3
    y = (np.arange(g.ny) + 0.5) * 10e3
    ml = g.gdept < 100.0
    # T_ML = t0 + dt (1 - cos(n pi y / L)) / 2 + dtdz_ml (d - H); flat isotherms below
    want = 15.0 + 0.5 * (1 - np.cos(2 * np.pi * y / ly))[None, :] - 1e-3 * (g.gdept[ml, None] - 100.0)
    np.testing.assert_allclose(g.interior_of(m.state.T)[ml, :, 0], want, rtol=0, atol=1e-12)
    assert np.ptp(g.interior_of(m.state.T)[~ml], axis=(1, 2)).max() == 0.0
    # N^2 in the ML and below, M^2 of the ML
    assert fd.ml_mean_n2(b, g.gdept, 100.0).mean() == pytest.approx(galpha * 1e-3, rel=1e-10)
    assert (b[12] - b[13]).mean() / 10.0 == pytest.approx(galpha * 1e-2, rel=1e-10)
    m2 = fd.front_m2(b, y, g.e3t, g.gdept, 100.0)
    assert np.abs(m2).max() == pytest.approx(galpha * 1.0 * 2 * np.pi / (2 * ly), rel=0.02)
    assert np.all(g.interior_of(m.state.v) == 0.0)


def test_balanced_front_has_thermal_wind_in_the_ml_and_no_flow_below():
    m = Model(cfg_from(SMALL))
    g, s = m.grid, m.state
    u = g.interior_of(s.u)[:, :, 0]
    b = _b(m)
    ml = g.gdept < 100.0
    assert np.abs(u[~ml]).max() <= 1e-12 * np.abs(u).max()
    # thermal wind: u(top) - u(ML base) = -(1/f) int db/dy dz over the ML, here -(1/f) b_y (H - z_top)
    y = (np.arange(g.ny) + 0.5) * 10e3
    by = np.gradient(b[0, :, 0], y)
    j = slice(3, -3)
    np.testing.assert_allclose(u[0, j], -by[j] * (100.0 - g.gdept[0]) / 1e-4, rtol=0.05,
                               atol=0.02 * np.abs(u[0]).max())
    assert np.abs(u[0]).max() > 0.015                       # M^2 (H - z_top) / f = 0.0197 m/s
    # the barotropic velocity is the depth mean; the sea surface carries the surface pressure gradient
    np.testing.assert_allclose(g.interior_of(s.ubar)[:, 0], (u * g.e3t[:, None]).sum(0) / 200.0, rtol=1e-12)
    assert np.ptp(g.interior_of(s.ssh)) > 0


def test_balanced_front_stays_balanced_and_an_unbalanced_one_does_not():
    vmax = {}
    for balanced in (True, False):
        m = Model(cfg_from(SMALL, init__front_balanced=balanced))
        umax = np.abs(m.grid.interior_of(m.state.u)).max() if balanced else None
        for _ in range(24):                                  # 6 h, a quarter of an inertial period
            m.step()
        vmax[balanced] = np.abs(m.grid.interior_of(m.state.v)).max()
        if balanced:
            assert vmax[True] < 0.02 * umax
    assert vmax[False] > 10 * vmax[True]


def test_noise_is_in_the_ml_only_with_the_configured_spread():
    m = Model(cfg_from(SMALL, init__front_noise_k=1e-2, init__front_seed=3))
    q = Model(cfg_from(SMALL))
    g = m.grid
    d = g.interior_of(m.state.T) - g.interior_of(q.state.T)
    ml = g.gdept < 100.0
    assert np.all(d[~ml] == 0.0)
    assert np.std(d[ml]) == pytest.approx(1e-2, rel=0.15) and abs(np.mean(d[ml])) < 3e-3


def test_front_base_fades_below_the_ml_with_no_flow_at_the_bottom():
    m = Model(cfg_from(SMALL, init__front_base_m=20.0))
    g = m.grid
    T = g.interior_of(m.state.T)[:, :, 0]
    flat = Model(cfg_from(SMALL))
    d = T - g.interior_of(flat.state.T)[:, :, 0]                  # the front's part below the ML
    ml = g.gdept < 100.0
    s = 0.5 * (1 - np.cos(2 * np.pi * (np.arange(g.ny) + 0.5) / g.ny))
    np.testing.assert_allclose(d[~ml], s[None, :] * np.exp(-(g.gdept[~ml, None] - 100.0) / 20.0), rtol=1e-10,
                               atol=1e-12)
    u = g.interior_of(m.state.u)[:, :, 0]
    assert np.abs(u[-1]).max() <= 1e-12 * np.abs(u).max() and np.abs(u[~ml][0]).max() > 1e-3 * np.abs(u).max()


def test_noisy_front_with_fk08_is_bitwise_the_same_on_one_and_two_ranks(tmp_path, warm_jit):
    args = ["--steps", "6", "--no-progress", "--set", "init.front_noise_k=0.01", "--set", "mle.kind=fk08",
            "--set", "output.interval_days=0.125", "--set", 'output.fields=["thetao","uo","wb_mle"]']
    r = run_cli("run", COARSE, "--out", tmp_path / "r1", *args)
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_mpi(2, "run", COARSE, "--out", tmp_path / "r2", *args)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("output.nc", "restart.nc"):
        with netCDF4.Dataset(tmp_path / "r1" / name) as a, netCDF4.Dataset(tmp_path / "r2" / name) as b:
            for v in a.variables:
                assert np.array_equal(np.ma.filled(a[v][:], np.nan), np.ma.filled(b[v][:], np.nan),
                                      equal_nan=True), (name, v)


# ------------------------------------------------------------------------- diagnostics
def test_diagnostics_on_fields_with_known_answers():
    gdept = np.array([5.0, 15.0, 25.0, 35.0])
    e3t = np.full(4, 10.0)
    b = (1e-3 - 2e-6 * gdept)[:, None, None] * np.ones((1, 6, 8))
    assert fd.ml_level_count(gdept, 30.0) == 3
    np.testing.assert_allclose(fd.ml_mean_n2(b, gdept, 30.0), 2e-6, rtol=1e-12)
    np.testing.assert_allclose(fd.ml_mean(b, e3t, gdept, 30.0), 1e-3 - 2e-6 * 15.0, rtol=1e-12)
    # w = b' in a checkerboard: the covariance over 2x2 blocks and about the x mean is a^2
    a = 3e-4
    chk = a * (-1.0) ** np.add.outer(np.arange(6), np.arange(8))
    w, bb = chk[None] * np.ones((4, 1, 1)), b + chk[None]
    np.testing.assert_allclose(fd.block_covariance(w, bb, 2), a * a, rtol=1e-9)
    np.testing.assert_allclose(fd.along_front_covariance(w, bb), a * a, rtol=1e-9)
    np.testing.assert_allclose(fd.w_at_t(np.array([0.0, 2.0, 4.0])[:, None, None]).ravel(), [1.0, 3.0, 2.0])
    with pytest.raises(ValueError):
        fd.block_mean(np.zeros((5, 8)), 2)
    # FK08's own ML-mean flux gives back its Ce; its restratification rate too
    h, f, m2 = 200.0, 1e-4, np.array([1e-7, 5e-8, 0.0])
    wb = 0.07 * fd.MU_ML_MEAN * h * h * m2 ** 2 / f
    assert fd.implied_ce(wb, m2, h, f) == pytest.approx(0.07, rel=1e-12)
    assert fd.rate_ce(0.07 * 208 / 21 * 1e-14 / f, 1e-14, f) == pytest.approx(0.07, rel=1e-12)


# ------------------------------------------------------------------------- the coarse front
def _channel_n2(m):
    return float(fd.ml_mean_n2(_b(m), m.grid.gdept, m.cfg.init.front_hml_m).mean())


def test_fk08_restratifies_the_coarse_front_at_its_theoretical_rate():
    """d<N^2>_ML/dt = (208/21) Ce <M^4> / |f| (reference/mle_front.md section 4) over the first
    two hours, within 10 % (the grid: N^2 between the top and deepest ML T levels, M^2 from
    5 cells a front). Later the rate falls: the restratified layer's density criterion gives
    the MLE a shallower H."""
    change, steps = {}, 4
    for kind in ("none", "fk08"):
        m = Model(config.load(COARSE, [f"mle.kind={kind}"]))
        g = m.grid
        b = _b(m)
        m4 = float(np.mean((np.diff(fd.ml_mean(b, g.e3t, g.gdept, 200.0)[:, 0]) / m.cfg.grid.dy_m) ** 2))
        n0 = _channel_n2(m)
        for _ in range(steps):
            m.step()
        change[kind] = _channel_n2(m) - n0
    assert abs(change["none"]) < 0.1 * change["fk08"]
    rate = (change["fk08"] - change["none"]) / (steps * 1800.0)
    assert rate == pytest.approx(208 / 21 * 0.06 * m4 / 1e-4, rel=0.1)


def test_quick_experiment_short_form_fk08_restratifies_more_than_none(tmp_path, capsys):
    assert front_experiment.main(["--quick", "--days", "2", str(tmp_path)]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    n2 = line["n2_ml_change"]
    assert set(n2) == {"none", "fk08"} and line["days"] == 2.0
    assert n2["fk08"] > n2["none"] + 1e-6
    assert line["wb_mle"]["fk08"] > 0
    assert (tmp_path / "coarse_fk08" / "output.nc").is_file()


@pytest.mark.skipif(not PUBLISHED.is_dir(), reason="the published BBZ24 weights (../shared/published) are absent")
def test_quick_experiment_short_form_bbz24_restratifies_more_than_none(tmp_path, capsys):
    from closures.published import import_bbz24
    net = import_bbz24(PUBLISHED / "fcnn_k5_l7_m_HBL_res_1_4.pt", PUBLISHED / "norm_1_4", tmp_path / "bbz24.pt")
    assert front_experiment.main(["--quick", "--days", "1", "--bbz24", str(net), str(tmp_path / "run")]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    n2 = line["n2_ml_change"]
    assert n2["bbz24"] > n2["none"] + 1e-7
    assert line["wb_mle"]["bbz24"] > 0 and line["hml_sign"] == -1.0


# ------------------------------------------------------------------------- configuration
def test_front_configs_load_and_match():
    c, h = config.load(COARSE), config.load(HIRES)
    same = lambda ini: {k: v for k, v in ini.__dict__.items() if k not in ("front_noise_k", "front_seed")}  # noqa
    assert same(c.init) == same(h.init) and c.init.front_noise_k == 0.0 < h.init.front_noise_k
    assert c.grid.ny * c.grid.dy_m == pytest.approx(h.grid.ny * h.grid.dy_m)
    assert c.grid.dx_m / h.grid.dx_m == pytest.approx(12.0) and c.grid.ny >= 20 and c.grid.nx >= 9
    assert (c.grid.nz, c.grid.depth_m, c.grid.f0, c.grid.beta) == (h.grid.nz, h.grid.depth_m, h.grid.f0, 0.0)


@pytest.mark.parametrize("sets, words", [
    (["grid.kind=\"dino\""], "'init.kind' = 'front' needs grid.kind = 'box'"),
    (["init.front_hml_m=500"], "'init.front_hml_m' must be below grid.depth_m"),
    (["grid.f0=0.0"], "'init.front_balanced' = true needs grid.f0 != 0"),
    (["init.front_count=0"], "'init.front_count' must be > 0"),
])
def test_bad_front_settings_are_config_errors(sets, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        config.load(COARSE, sets)


def test_bad_front_setting_exits_2_with_one_line(tmp_path):
    r = run_cli("run", COARSE, "--set", "init.front_hml_m=-1", "--steps", "1", "--no-progress")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["error: --set: key 'init.front_hml_m' must be > 0, got -1.0"]
