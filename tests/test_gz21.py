"""GZ21's stochastic momentum forcing (ocean/gz21_forcing.py): placement, draw, levels and
profile forms, land, the noise field (N(0, 1), the same on any decomposition, in every mode
and across a restart), and DINO runs with the imported net."""
import netCDF4
import numpy as np
import pytest

from closures.published import import_gz21
from closures.zoo import gz21_probe_closure
from ocean import config
from ocean.gz21_forcing import GZ21Closure, _noise
from ocean.model import Model
from ocean.random_fields import normal_pair, standard_normal
from ocean.run import build_model

from conftest import ROOT, run_cli, run_mpi
from test_published import SHARED_GZ21, _random_gz21

SPREAD = 3e-7


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """Float64 GZ21 stand-in: mean = 2e-6 s-1 x (5x5 average - value), spread 3e-7 m s-2."""
    return gz21_probe_closure(tmp_path_factory.mktemp("gz") / "probe.pt", rate=2e-6, spread=SPREAD)


@pytest.fixture(scope="module")
def noise_only(tmp_path_factory):
    """Mean 0, spread 3e-7 m s-2: the forcing is the noise alone (bitwise on any tile)."""
    return gz21_probe_closure(tmp_path_factory.mktemp("gz") / "noise.pt", rate=0.0, spread=SPREAD)


@pytest.fixture(scope="module")
def gz21_file(tmp_path_factory):
    """The published weights when present beside the checkout, else freshly initialised ones."""
    d = tmp_path_factory.mktemp("gzw")
    src = SHARED_GZ21 if SHARED_GZ21.is_file() else _random_gz21(d / "random.pth")
    return import_gz21(src, d / "gz21.pt")


def _model(path, **keys):
    """dino_r4 (lean physics) in one process with the GZ21 closure in-process and a random flow (m s-1)."""
    cfg = config.load(ROOT / "configs/dino_r4_lean.toml",
                      [f'closure.model_file="{path}"', "closure.physics=gz21"] +
                      [f"closure.{k}={v!r}".replace("'", '"') for k, v in keys.items()])
    m = build_model(cfg)
    m.initialise()
    rng = np.random.default_rng(3)
    g, s = m.grid, m.state
    s.u[...] = 0.3 * rng.standard_normal(s.u.shape) * g.umask
    s.v[...] = 0.3 * rng.standard_normal(s.v.shape) * g.vmask
    m.halo.exchange(s.u, s.v)
    hook = GZ21Closure(cfg.closures[0], m)
    m.add_closure(hook)
    return m, hook


def _apply(m, hook):
    """The forcing one step adds to zero tendencies (fu, fv), computed as the step does."""
    hook.start_of_step()
    m.bn2[...] = 1e-5 * m.grid.tmask          # a stratification for the SQG profile
    gu, gv = np.zeros(m.grid.shape3), np.zeros(m.grid.shape3)
    hook.momentum_tendency(gu, gv)
    assert np.array_equal(gu, hook.fu) and np.array_equal(gv, hook.fv)
    return gu, gv


def _t_average(m):
    g, s = m.grid, m.state
    ut = 0.5 * (s.u + np.roll(s.u, 1, axis=2)) * g.tmask
    vt = 0.5 * (s.v + np.roll(s.v, 1, axis=1)) * g.tmask
    return ut, vt


def _stencil(a, rate=2e-6):
    """rate * (5x5 binomial average - value) on the interior of 2-D ``a`` (halo >= 2)."""
    b = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
    k = np.outer(b, b) / 256.0
    out = np.zeros_like(a)
    for dj in range(-2, 3):
        for di in range(-2, 3):
            out += k[dj + 2, di + 2] * np.roll(np.roll(a, -dj, 0), -di, 1)
    return rate * (out - a)


def test_deterministic_forcing_is_the_mean_averaged_to_u_and_v(probe):
    m, hook = _model(probe, draw="none", form="levels", placement="t")
    ut, vt = _t_average(m)
    g = m.grid
    gu, gv = _apply(m, hook)
    (j, i), h = g.interior, g.nhalo
    k = 5
    mux, muy = _stencil(ut[k]), _stencil(vt[k])          # mean at T points (valid inside the tile)
    want_u = 0.5 * (mux + np.roll(mux, -1, 1)) * g.umask[k]
    want_v = 0.5 * (muy + np.roll(muy, -1, 0)) * g.vmask[k]
    inner = (slice(h + 3, -h - 3), slice(h + 3, -h - 3))  # away from the tile edge, where np.roll wraps
    assert np.abs(want_u[inner]).max() > 1e-8
    np.testing.assert_allclose(gu[k][inner], want_u[inner], rtol=1e-10, atol=1e-20)
    np.testing.assert_allclose(gv[k][inner], want_v[inner], rtol=1e-10, atol=1e-20)
    assert np.all(gu[g.umask == 0] == 0) and np.all(gv[g.vmask == 0] == 0)        # nothing on land or walls
    assert np.abs(gu[:, j, i]).max() > 0


def test_published_placement_uses_u_and_v_points(probe):
    m, hook = _model(probe, draw="none", placement="published")
    g, s = m.grid, m.state
    gu, _ = _apply(m, hook)
    h, k = g.nhalo, 0
    want = _stencil(s.u[k] * g.umask[k]) * g.umask[k]
    inner = (slice(h + 3, -h - 3), slice(h + 3, -h - 3))
    np.testing.assert_allclose(gu[k][inner], want[inner], rtol=1e-10, atol=1e-20)


@pytest.mark.parametrize("draw", ["precision", "sqrt"])
def test_the_draw_is_mean_plus_eps_times_the_spread(noise_only, draw):
    """With mean 0 the forcing at a U point is the average of the two T points' eps * spread
    (GZ21: spread = 1e-7/p; DINO.GZ21's sqrt(1/p) in 1e-7 units: sqrt(1e-7 * spread))."""
    m, hook = _model(noise_only, draw=draw, noise="independent", seed=7)
    g = m.grid
    gu, gv = _apply(m, hook)
    sp = SPREAD if draw == "precision" else np.sqrt(1e-7 * SPREAD)
    n = m.state.nstep
    for (k, j, i) in [(0, 10, 4), (3, 20, 7), (12, 30, 14)]:
        jg, ig = j - g.nhalo + g.j0, i - g.nhalo + g.i0
        if g.umask[k, j, i]:
            e0 = standard_normal(7, n, k, jg, ig)
            e1 = standard_normal(7, n, k, jg, (ig + 1) % g.nx_glo)
            assert gu[k, j, i] == pytest.approx(0.5 * (e0 + e1) * sp, rel=1e-12)
        if g.vmask[k, j, i]:
            e0 = normal_pair(7, n, k, jg, ig)[1]                  # v's draw: the pair's second
            e1 = normal_pair(7, n, k, jg + 1, ig)[1]
            assert gv[k, j, i] == pytest.approx(0.5 * (e0 + e1) * sp, rel=1e-12)


def test_shared_noise_is_one_field_for_every_level_and_amplitude_scales(noise_only):
    m, hook = _model(noise_only, noise="shared", amplitude=2.5)
    g = m.grid
    gu, _ = _apply(m, hook)
    j, i = g.interior
    wet = (g.umask[0] * g.umask[10])[j, i] > 0
    assert np.array_equal(gu[0, j, i][wet], gu[10, j, i][wet])
    m2, hook2 = _model(noise_only, noise="shared", amplitude=1.0)
    gu2, _ = _apply(m2, hook2)
    np.testing.assert_allclose(gu, 2.5 * gu2, rtol=1e-14)


def test_profile_form_is_the_surface_forcing_times_its_vertical_structure(probe):
    m, hook = _model(probe, draw="none", form="profile", profile="barotropic")
    assert hook.inp.shape[0] == 1                            # one inference, not one per level
    gu, _ = _apply(m, hook)
    g = m.grid
    j, i = g.interior
    wet = g.umask[20, j, i] > 0
    assert np.array_equal(gu[20, j, i][wet], gu[0, j, i][wet])
    m, hook = _model(probe, draw="none", form="profile", profile="sqg")
    gs, _ = _apply(m, hook)
    assert np.array_equal(gs[0, j, i], gu[0, j, i])          # the surface forcing at the top
    jj, ii = 25, 6                                           # a U point whose T neighbours are deep
    assert g.umask[20, jj, ii] and gu[0, jj, ii] != 0
    f = np.maximum(np.abs(g.fcor_t[jj, ii:ii + 2]), 2 * 7.292116e-5 * np.sin(np.radians(5.0)))
    L = np.sqrt(g.e1t[jj, ii:ii + 2] * g.e2t[jj, ii:ii + 2])
    decay = np.exp(-np.pi * np.sqrt(1e-5) * g.e3w[1:21].sum() / (f * L))   # N2 = 1e-5 s-2 (_apply)
    assert decay.max() < 0.9
    mu_t = hook.result[0, 0, jj - g.nhalo + 1, ii - g.nhalo + 1:ii - g.nhalo + 3]   # the mean at both T points
    assert gs[20, jj, ii] == pytest.approx(0.5 * (mu_t * decay).sum(), rel=1e-6)


def test_ebt_profile_is_the_surface_forcing_times_each_columns_ebt_mode(probe):
    """profile = "ebt": the surface forcing at the top level, times the columns' EBT structure
    below (constant N2 here: about cos(pi z / 2H) for a column of depth H, ocean/ebt_mode.py)."""
    m, hook = _model(probe, draw="none", form="profile", profile="barotropic")
    gb, _ = _apply(m, hook)
    m, hook = _model(probe, draw="none", form="profile", profile="ebt")
    ge, _ = _apply(m, hook)
    g = m.grid
    j, i = g.interior
    assert np.array_equal(ge[0, j, i], gb[0, j, i])
    jj, ii = 25, 6                                           # a U point whose T neighbours are deep
    assert g.umask[20, jj, ii] and gb[0, jj, ii] != 0
    prof = hook.prof[:, jj, ii:ii + 2]
    for c in range(2):
        kb = int(g.tmask[:, jj, ii + c].sum())
        depth = g.gdepw[kb]
        want = np.cos(np.pi * g.gdept[:kb] / (2 * depth)) / np.cos(np.pi * g.gdept[0] / (2 * depth))
        np.testing.assert_allclose(prof[:kb, c], want, atol=0.01)
        assert np.all(prof[kb:, c] == 0)
    assert g.umask[30, jj, ii] and prof[30].max() < 0.8       # 2000 m: cos(pi 2000 / 8000) = 0.71
    mu_t = hook.result[0, 0, jj - g.nhalo + 1, ii - g.nhalo + 1:ii - g.nhalo + 3]   # the mean at both T points
    assert ge[30, jj, ii] == pytest.approx(0.5 * (mu_t * prof[30]).sum(), rel=1e-12)


def test_spread_is_capped_where_the_precision_is_not_positive(tmp_path):
    path = gz21_probe_closure(tmp_path / "wild.pt", rate=0.0, spread=-1.0)     # p < 0 everywhere
    m, hook = _model(path, spread_max_m_s2=2e-7, placement="published", seed=1)
    gu, _ = _apply(m, hook)
    g = m.grid
    k, j, i = 0, 12, 5
    e = standard_normal(1, m.state.nstep, 0, j - g.nhalo + g.j0, i - g.nhalo + g.i0)
    assert gu[k, j, i] == pytest.approx(e * 2e-7, rel=1e-12)


def test_replicate_padding_fills_land_from_the_ocean(probe):
    m, hook = _model(probe, padding="replicate", form="profile")
    hook.gather()
    H = hook.spec.halo
    x = hook.inp[0, 0]
    wet = hook.wet[0, 0] > 0
    land_near = (~wet) & (hook.filled[0, 0] >= 2)
    assert land_near.sum() > 0 and np.all(x[land_near] != 0)           # land within the halo got values
    m0, hook0 = _model(probe, padding="zero", form="profile")
    hook0.gather()
    assert np.array_equal(hook0.inp[0, 0][wet], x[wet])                # the ocean's own values unchanged
    assert np.all(hook0.inp[0, 0][~wet] == 0)
    assert x.shape == (m.grid.ny + 2 * H, m.grid.nx + 2 * H)


def test_noise_is_standard_normal_and_changes_every_step():
    eps = np.zeros((2, 2, 202, 202))
    _noise(11, 5, 0, 0, 1, 200, False, eps)
    x = eps[:, :, 1:, 1:].ravel()
    n = x.size
    assert abs(x.mean()) < 4 / np.sqrt(n) and abs(x.var() - 1) < 4 * np.sqrt(2 / n)
    assert np.all(eps[:, :, 0, :] == 0)                                  # beyond the closed edge: nothing
    other = np.zeros_like(eps)
    _noise(11, 6, 0, 0, 1, 200, False, other)
    r = np.corrcoef(eps[:, :, 1:, 1:].ravel(), other[:, :, 1:, 1:].ravel())[0, 1]
    assert abs(r) < 4 / np.sqrt(n)
    r01 = np.corrcoef(eps[0, 0, 1:, 1:].ravel(), eps[0, 1, 1:, 1:].ravel())[0, 1]   # components independent
    assert abs(r01) < 4 / np.sqrt(n / 4)


def test_a_non_gz21_file_is_refused_in_one_line(tmp_path, warm_jit):
    from closures.zoo import stencil_closure
    path = stencil_closure(tmp_path / "s.pt", nz=36)
    r = run_cli("run", "configs/dino_r4_lean.toml", "--steps", "1", "--out", tmp_path / "o",
                "--set", f'closure.model_file="{path}"', "--set", "closure.physics=gz21")
    assert r.returncode == 2 and "physics = 'gz21' needs a GZ21 closure file" in r.stderr
    assert "Traceback" not in r.stderr


# ---------------------------------------------------------------------------- runs
STEPS = ["--steps", "8", "--no-progress", "--set", "output.interval_days=0", "--set", "closure.physics=gz21",
         "--set", "closure.noise=independent", "--set", "closure.seed=3"]


def _gz21(path, mode="inprocess", ml=0):
    return ["--set", f'closure.model_file="{path}"', "--set", f"closure.mode={mode}", "--set", f"closure.ml_ranks={ml}"]


def _uv(path):
    with netCDF4.Dataset(path) as nc:
        return {v: np.array(nc[v][:]) for v in ("u", "v", "T")}


@pytest.fixture(scope="module")
def noise_reference(noise_only, tmp_path_factory, warm_jit):
    out = tmp_path_factory.mktemp("noise_ref")
    r = run_cli("run", "configs/dino_r4_lean.toml", "--out", out, *STEPS, *_gz21(noise_only))
    assert r.returncode == 0, r.stderr[-2000:]
    return _uv(out / "restart.nc")


@pytest.mark.parametrize("ranks, mode, ml", [(2, "inprocess", 0), (4, "inprocess", 0), (2, "sync", 1),
                                             (3, "async", 1), (2, "lagged", 1)])
def test_the_noise_is_the_same_on_any_decomposition_and_in_every_mode(noise_reference, noise_only, tmp_path,
                                                                      ranks, mode, ml):
    """Mean 0, constant spread: the forcing is the noise alone, so the runs must be bitwise
    equal (lagged too: its lag only shifts the net's output, which is constant here)."""
    r = run_mpi(ranks, "run", "configs/dino_r4_lean.toml", "--out", tmp_path, *STEPS, *_gz21(noise_only, mode, ml))
    assert r.returncode == 0, r.stderr[-3000:]
    got = _uv(tmp_path / "restart.nc")
    for name, ref in noise_reference.items():
        assert np.array_equal(got[name], ref), name


def test_the_ebt_profile_is_the_same_on_two_ranks(noise_only, tmp_path, warm_jit):
    """The noise times each column's EBT structure: bitwise the same on 1 and 2 ranks (the
    structure of a column does not depend on the tile, its halo ring included)."""
    steps = [*STEPS, "--set", "closure.form=profile", "--set", "closure.profile=ebt"]
    one, two = tmp_path / "one", tmp_path / "two"
    r = run_cli("run", "configs/dino_r4_lean.toml", "--out", one, *steps, *_gz21(noise_only))
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_mpi(2, "run", "configs/dino_r4_lean.toml", "--out", two, *steps, *_gz21(noise_only))
    assert r.returncode == 0, r.stderr[-3000:]
    x, y = _uv(one / "restart.nc"), _uv(two / "restart.nc")
    for name in x:
        assert np.array_equal(x[name], y[name]), name


def test_the_published_net_async_on_an_ml_rank_agrees_with_in_process(gz21_file, tmp_path, warm_jit):
    """The issue's check: mpirun -n 3 (2 ocean ranks, 1 ML rank, async) against one rank
    in-process, 20 steps; equal noise, the net's float32 sums in another order."""
    a, b = tmp_path / "a", tmp_path / "b"
    steps = ["--steps", "20", "--no-progress", "--set", "output.interval_days=0", "--set", "closure.physics=gz21"]
    r = run_cli("run", "configs/dino_r4_lean.toml", "--out", a, *steps, *_gz21(gz21_file))
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_mpi(3, "run", "configs/dino_r4_lean.toml", "--out", b, *steps, *_gz21(gz21_file, "async", 1))
    assert r.returncode == 0, r.stderr[-3000:]
    x, y = _uv(a / "restart.nc"), _uv(b / "restart.nc")
    for name in ("u", "v"):
        scale = np.abs(x[name]).max()
        assert np.abs(x[name] - y[name]).max() <= 1e-5 * scale, name


def test_restart_mid_run_continues_bitwise(gz21_file, tmp_path, warm_jit):
    steps = ["--no-progress", "--set", "output.interval_days=0", "--set", "closure.physics=gz21",
             "--set", "closure.form=profile", *_gz21(gz21_file)]
    full, half = tmp_path / "full", tmp_path / "half"
    assert run_cli("run", "configs/dino_r4_lean.toml", "--steps", "10", "--out", full, *steps).returncode == 0
    assert run_cli("run", "configs/dino_r4_lean.toml", "--steps", "5", "--out", half, *steps).returncode == 0
    r = run_cli("run", "configs/dino_r4_lean.toml", "--steps", "5", "--restart", half / "restart.nc", "--out", half, *steps)
    assert r.returncode == 0, r.stderr[-2000:]
    x, y = _uv(full / "restart.nc"), _uv(half / "restart.nc")
    for name in x:
        assert np.array_equal(x[name], y[name]), name


def _run_dino_r4_profile(gz21_file, out, days, profile, fields):
    """dino_r4 (full physics) with the imported net in the profile form, output every 5 days
    or at the end."""
    r = run_cli("run", "configs/dino_r4.toml", "--days", days, "--no-progress", "--out", out,
                "--set", f"output.interval_days={min(int(days), 5)}", "--set", "closure.physics=gz21",
                *_gz21(gz21_file), "--set", "closure.form=profile", "--set", f"closure.profile={profile}",
                "--set", f"output.fields={fields!r}".replace("'", '"'))
    assert r.returncode == 0, r.stderr[-2000:]


def test_dino_r4_runs_ten_days_with_gz21(gz21_file, tmp_path, warm_jit):
    """The imported net (published weights when present) for 10 days, in the profile form
    (the 36-level form costs 36 inferences a step: the async test above runs it)."""
    _run_dino_r4_profile(gz21_file, tmp_path, "10", "sqg", ["uo", "vo", "gz21_fu", "gz21_fv", "ke_surface"])
    with netCDF4.Dataset(tmp_path / "output.nc") as nc:
        fu = nc["gz21_fu"][:].filled(0.0)
        assert fu.shape[0] == 2 and np.isfinite(fu).all()
        assert 1e-9 < np.abs(fu).max() < 1e-4                        # m s-2: acts, and stays physical
        u = nc["uo"][:].filled(0.0)
        assert np.isfinite(u).all() and np.abs(u).max() < 2.0
        assert nc["ke_surface"][:].max() > 0


def test_dino_r4_runs_with_gz21_in_the_ebt_profile(gz21_file, tmp_path, warm_jit):
    """A day of dino_r4 (full physics) with the imported net in the profile form, EBT
    structure: it acts, stays physical, and its forcing weakens with depth."""
    _run_dino_r4_profile(gz21_file, tmp_path, "1", "ebt", ["uo", "gz21_fu"])
    with netCDF4.Dataset(tmp_path / "output.nc") as nc:
        fu = np.abs(nc["gz21_fu"][0].filled(np.nan))
        assert np.isfinite(nc["uo"][:].filled(0.0)).all()
    top, deep = np.nanmean(fu[0]), np.nanmean(fu[30])
    assert 1e-9 < top < 1e-4 and np.isfinite(deep) and deep < 0.5 * top


def test_dino_r1_thirty_days_with_gz21(gz21_file, tmp_path, warm_jit, runslow):
    """The DINO.GZ21 set-up (1 degree, 36 levels) for 30 days with --runslow (about an hour
    of one core); without, 2 days in the profile form (one inference a step)."""
    days, form = ("30", "levels") if runslow else ("2", "profile")
    r = run_cli("run", "configs/dino_r1.toml", "--days", days, "--no-progress", "--out", tmp_path,
                "--set", "output.interval_days=0", "--set", "closure.physics=gz21", *_gz21(gz21_file),
                "--set", f"closure.form={form}", timeout=7200)
    assert r.returncode == 0, r.stderr[-2000:]
    u = _uv(tmp_path / "restart.nc")["u"]
    assert np.isfinite(u).all() and np.abs(u).max() < 3.0
