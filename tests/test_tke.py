"""NEMO's TKE closure and the enhanced vertical diffusion (vertical_mixing.scheme = "tke").

Single-column cases with known answers run the model itself (``Model.step``) on a 3 x 3
periodic box of identical columns, 50 levels of 1 m, no rotation: Kato-Phillips wind
deepening against Price's 1.05 u* sqrt(t/N), free convection against the jump model
(encroachment 11.3 m, entrainment ratio 0.2: 13.3 m), heat conservation, TKE's floor, the
turbulent layer deepening under cooling and shoaling under heating. Then the full model:
bitwise on 1, 2 and 4 ranks and across a restart (dino_r4 with TKE), and the lean configs
with the scheme off.

Depth diagnostic (stated once, used for every case): ``h`` is the depth of the first W
point below the surface where the diffusivity avt is back to its background
``tracers.vertical_diffusivity_m2_s`` (Lemarie's "Kt back to background"), i.e. the base of
the layer the closure mixes.
"""
import netCDF4
import numba
import numpy as np
import pytest

from ocean import config
from ocean.eos import GRAV, EosParams
from ocean.model import Model

from conftest import run_mpi

RHO0, ALPHA = 1028.0, 2.0e-4          # kg m-3; K-1 (the linear EOS of the published cases)
HOUR = 3600.0


@pytest.fixture
def one_thread():
    """The column runs are tiny: one numba thread (the CI cores are shared)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def column(n2, *, dt=600.0, t0=16.0, tau=0.0, heat_w_m2=0.0, **vm) -> Model:
    """A 3 x 3 periodic box of identical 50 m columns (1 m levels), initial N2 = ``n2`` (s-2)
    from a linear temperature profile (EOS linear, alpha = 2e-4 K-1), f = 0, a zonal wind
    stress ``tau`` (N m-2) and a surface heat flux ``heat_w_m2`` (W m-2, > 0 warms)."""
    cfg = config.from_dict({
        "grid": {"kind": "box", "nx": 3, "ny": 3, "periodic_x": True, "nz": 50, "depth_m": 50.0, "dz_top_m": 0.0,
                 "f0": 0.0, "beta": 0.0},
        "time": {"dt_s": dt}, "eos": {"kind": "linear"}, "forcing": {"kind": "none"},
        "init": {"kind": "linear", "t0_degc": t0, "dtdz_k_m": -n2 / (GRAV * ALPHA), "s0_psu": 35.0},
        "momentum": {"coriolis": False},
        "vertical_mixing": {"scheme": "tke", **vm}})
    m = Model(cfg)
    m.eos = EosParams.linear(rho0=RHO0, a0=ALPHA * RHO0)
    force(m, tau, heat_w_m2)
    m.forcing.sources = lambda T, S: None          # the fluxes set in force() stay
    return m


def force(m: Model, tau: float, heat_w_m2: float) -> None:
    g, f = m.grid, m.forcing
    f.taux[:] = tau * g.umask[0]
    f.src_t[:] = heat_w_m2 / f.rho0_cp * g.tmask[0]


def run_hours(m: Model, hours: float) -> None:
    for _ in range(int(round(hours * HOUR / m.dt))):
        m.step()


def depth(m: Model) -> float:
    """h: the first W depth below the surface where avt is back to the background (m)."""
    g, j = m.grid, m.grid.nhalo
    avt = m.vmix.avt[:, j, j]
    bg = m.cfg.tracers.vertical_diffusivity_m2_s
    k = next(k for k in range(1, g.nz) if avt[k] <= bg * (1 + 1e-9))
    return float(g.gdepw[k])


def heat(m: Model) -> float:
    """Column-summed temperature content (degC m) of one column."""
    g, j = m.grid, m.grid.nhalo
    return float(np.sum(m.state.T[:, j, j] * g.e3t * g.tmask[:, j, j]))


def test_kato_phillips_deepens_as_price(one_thread):
    """u* = 0.01 m s-1, N = 0.01 s-1, no rotation, no Langmuir or nn_etau source: after 30 h
    h is within 10 % of 1.05 u* sqrt(t/N) = 34.5 m, and h grows as sqrt(t)."""
    us, n = 0.01, 0.01
    m = column(n * n, tau=RHO0 * us * us, tke_langmuir=False, tke_etau=0)
    run_hours(m, 7.5)
    h_early = depth(m)
    run_hours(m, 22.5)
    h = depth(m)
    price = 1.05 * us * np.sqrt(30 * HOUR / n)
    assert abs(price - 34.5) < 0.05
    assert abs(h - price) <= 0.10 * price, h
    assert 1.6 < h / h_early < 2.4, (h_early, h)                 # sqrt(4) = 2
    j = m.grid.nhalo
    assert m.vmix.tke.en[0, j, j] == pytest.approx(67.83 * us * us)   # surface TKE = ebb |tau| / rho0


@pytest.mark.parametrize("evd", [100.0, 0.0])
def test_free_convection_depth_and_heat(one_thread, evd):
    """-100 W m-2 into N2 = 1.962e-4 s-2 for 72 h: h in [10.3, 13.3] m, with and without
    EVD; the column's heat changes by exactly Q t / (rho0 cp), to round-off."""
    m = column(1.962e-4, t0=22.0, heat_w_m2=-100.0, evd_m2_s=evd)
    h0 = heat(m)
    run_hours(m, 72.0)
    h = depth(m)
    assert 10.3 <= h <= 13.3, h
    j = m.grid.nhalo
    assert (m.vmix.avt[1:8, j, j] == 100.0).any() == (evd > 0)   # EVD did act (and only when on)
    change = heat(m) - h0
    expect = -100.0 / m.forcing.rho0_cp * 72 * HOUR
    assert abs(change - expect) < 1e-10 * abs(h0), (change, expect)


def tke_depth(m: Model, threshold: float = 1e-5) -> float:
    """The first W depth below the surface where TKE is back under ``threshold`` (m2 s-2;
    Thetis's Kato-Phillips diagnostic)."""
    g, j = m.grid, m.grid.nhalo
    en = m.vmix.tke.en[:, j, j]
    return float(g.gdepw[next(k for k in range(1, g.nz) if en[k] <= threshold)])


def density_mld(m: Model, dsigma: float = 0.03) -> float:
    """The first W depth below which density exceeds the top level's by ``dsigma`` (kg m-3)."""
    g, j = m.grid, m.grid.nhalo
    T = m.state.T[:, j, j]
    dT = dsigma / (RHO0 * ALPHA)
    return float(g.gdepw[next(k for k in range(1, g.nz) if abs(T[k] - T[0]) > dT)])


def test_tke_floor_and_mixed_layer_under_cooling_and_heating(one_thread):
    """A 30 m mixed layer at rest over N2 = 1e-4 s-2 and a wind u* = 0.005 m s-1 for 24 h.
    Cooling (200 W m-2) deepens the mixed layer (0.03 kg m-3 from the surface) and the
    turbulent layer (TKE > 1e-5 m2 s-2) below the old base; heating (200 W m-2) shoals the
    mixed layer to the top metres (the closure stops mixing the heat down) and the
    turbulent layer above the neutral case's; TKE never drops below its minimum."""
    n2, ml = 1e-4, 30.0
    turb, mixed = {}, {}
    for q in (-200.0, 0.0, 200.0):
        m = column(n2, tau=RHO0 * 0.25e-4, heat_w_m2=q)
        g, s = m.grid, m.state
        s.T[:] = (16.0 - n2 / (GRAV * ALPHA) * np.maximum(g.gdept, ml))[:, None, None] * g.tmask
        m.exchange_state()
        start = density_mld(m)                       # 33 m: 0.03 kg m-3 is 3 m of the stratification
        assert ml < start < ml + 4
        en = m.vmix.tke.en
        inner = (slice(1, None), slice(g.nhalo, -g.nhalo), slice(g.nhalo, -g.nhalo))
        wet = g.tmask[inner] > 0
        for _ in range(int(24 * HOUR / m.dt)):
            m.step()
            assert en[inner][wet].min() >= m.cfg.vertical_mixing.tke_emin_m2_s2
        turb[q], mixed[q] = tke_depth(m), density_mld(m)
    assert mixed[-200.0] > mixed[0.0] >= start and mixed[200.0] <= 5.0, mixed
    assert turb[-200.0] > ml and turb[-200.0] > turb[0.0] > turb[200.0] + 10.0, turb


# ---------------------------------------------------------------- the full model: ranks and restarts

TKE_SHORT = ["--no-progress", "--set", 'vertical_mixing.scheme="tke"', "--set", "output.interval_days=0.25",
             "--set", 'output.fields=["thetao", "tke", "difvho", "difvmo"]']


def _variables(path) -> dict:
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_mask(False)
        return {n: np.array(v[:]) for n, v in nc.variables.items()}


@pytest.fixture(scope="module")
def tke_one_rank(tmp_path_factory, warm_jit):
    out = tmp_path_factory.mktemp("tke_r1")
    r = run_mpi(1, "run", "configs/dino_r4.toml", "--out", out, "--steps", "12", *TKE_SHORT)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.mark.parametrize("n", [2, 4])
def test_tke_bitwise_on_any_number_of_ranks(tke_one_rank, tmp_path, n):
    r = run_mpi(n, "run", "configs/dino_r4.toml", "--out", tmp_path, "--steps", "12", *TKE_SHORT)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("restart.nc", "output.nc"):
        want, got = _variables(tke_one_rank / name), _variables(tmp_path / name)
        assert want.keys() == got.keys()
        for v in want:
            assert np.array_equal(want[v], got[v]), (name, v)
    ref = _variables(tke_one_rank / "restart.nc")
    assert {"tke", "avm_k", "avt_k", "tke_dissl"} <= ref.keys()
    assert ref["tke"].max() > 1e-3 and (ref["tke"] > 0).any()   # the wind did make TKE
    out = _variables(tke_one_rank / "output.nc")
    assert np.nanmax(np.where(out["difvho"] > 1e30, np.nan, out["difvho"])) > 1.0   # EVD where convecting


def test_tke_restart_is_bitwise(tke_one_rank, tmp_path):
    """6 steps on 1 rank, then 6 more from its restart on 2 ranks: the 12-step restart."""
    a, b = tmp_path / "a", tmp_path / "b"
    r = run_mpi(1, "run", "configs/dino_r4.toml", "--out", a, "--steps", "6", *TKE_SHORT)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", b, "--steps", "6", "--restart", a / "restart.nc", *TKE_SHORT)
    assert r.returncode == 0, r.stderr[-3000:]
    want, got = _variables(tke_one_rank / "restart.nc"), _variables(b / "restart.nc")
    for v in want:
        assert np.array_equal(want[v], got[v]), v


def test_configs_choose_the_scheme():
    """DINO runs TKE with EVD 100 m2 s-1 on momentum too; the lean configs and the default
    keep the convective scheme, whose restart carries no TKE field."""
    for name in ("dino_r4", "dino_r1", "dino_r025"):
        vm = config.load(f"configs/{name}.toml").vertical_mixing
        assert (vm.scheme, vm.evd_m2_s, vm.evd_momentum, vm.tke_etau) == ("tke", 100.0, True, 1), name
    for name in ("dino_r4_lean", "dino_r1_lean"):
        assert config.load(f"configs/{name}.toml").vertical_mixing.scheme == "convective", name
    assert config.from_dict({}).vertical_mixing.scheme == "convective"
    from conftest import BOX, cfg_from
    m = Model(cfg_from(BOX))
    assert m.vmix.tke is None and not {"tke", "avm_k"} & {f.name for f in m.fields.restart()}
    with pytest.raises(config.ConfigError, match="vertical_mixing.scheme"):
        config.from_dict({"vertical_mixing": {"scheme": "kpp"}})


def test_a_restart_without_tke_starts_the_tke_from_its_initial_values(tmp_path, warm_jit):
    """A restart of the convective scheme (no TKE fields) starts a TKE run: T, S and the
    currents come from the file, the TKE fields from their initial values, with a warning;
    the first step is the one a fresh TKE model takes from that state."""
    a, b = tmp_path / "a", tmp_path / "b"
    conv = ["--no-progress", "--set", "output.interval_days=0"]
    r = run_mpi(1, "run", "configs/dino_r4.toml", "--out", a, "--steps", "3", *conv, "--set",
                'vertical_mixing.scheme="convective"')
    assert r.returncode == 0, r.stderr[-3000:]
    assert "tke" not in _variables(a / "restart.nc")
    r = run_mpi(1, "run", "configs/dino_r4.toml", "--out", b, "--steps", "3", "--restart", a / "restart.nc", *TKE_SHORT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "no tke, avm_k, avt_k, tke_dissl" in r.stderr and "start from their initial values" in r.stderr
    got = _variables(b / "restart.nc")
    assert got["tke"].max() > 1e-4                         # the wind made TKE from its floor
    with netCDF4.Dataset(b / "restart.nc") as nc:
        assert int(nc.nstep) == 6
