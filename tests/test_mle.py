"""Mixed-layer eddies (ocean/mle.py, NEMO's tramle): mu(z), psi and w'b' against hand-computed
values in both NEMO forms, psi zero below the ML and on walls, T and S conserved by the
transport, a front restratified, eddy-velocity closures adding up, and 1 rank = 2 ranks."""
import math

import netCDF4
import numpy as np
import pytest

from ocean import eos
from ocean.closure_slots import EDDY_VELOCITY, Closure
from ocean.grid import OMEGA_S
from ocean.mle import MU_ML_MEAN, MixedLayerEddies, mu, reference_level
from ocean.model import Model

from conftest import cfg_from, run_cli, run_mpi

# 10 levels of 10 m, 10 km cells, f-plane, closed walls
SMALL = {
    "grid": {"kind": "box", "nx": 6, "ny": 5, "dx_m": 10e3, "dy_m": 10e3, "nz": 10, "depth_m": 100.0,
             "dz_top_m": 0.0, "f0": 1e-4, "beta": 0.0},
    "time": {"dt_s": 600.0},
    "eos": {"kind": "linear"},
    "init": {"kind": "uniform", "t0_degc": 10.0, "s0_psu": 35.0},
    "forcing": {"kind": "none"},
    "momentum": {"visc_coeff": 100.0},
    "tracers": {"diff_coeff_m2_s": 0.0},
}


def _model(nn_mle=1, kind="fk08", **extra):
    return Model(cfg_from(SMALL, mle__kind=kind, mle__nn_mle=nn_mle, **extra))


def _mle(m) -> MixedLayerEddies:
    return next(c for c in m.slotted if isinstance(c, MixedLayerEddies))


def _set_x_front(m, h_levels=5, dtdx_per_cell=0.1):
    """A mixed layer of ``h_levels`` levels whose T rises by ``dtdx_per_cell`` per cell eastward,
    over a strongly stratified interior; S uniform."""
    g, s = m.grid, m.state
    ig = np.arange(g.shape2[1]) - g.nhalo + g.i0
    ts = 15.0 + dtdx_per_cell * ig
    for k in range(g.nz):
        s.T[k] = ts[None, :] if k < h_levels else 5.0 - 0.5 * k
    s.T *= g.tmask
    s.S[:] = 35.0 * g.tmask
    m.exchange_state()


def test_mu_shape_and_values():
    h = 80.0
    assert mu(0.0, h) == 0.0 and mu(h, h) == 0.0 and mu(1.5 * h, h) == 0.0
    assert mu(0.5 * h, h) == pytest.approx(1.0, abs=1e-15)
    # c = 1 - 2 z / h = 0.5 at z = h / 4: (1 - 0.25)(1 + 5/21 * 0.25)
    assert mu(0.25 * h, h) == pytest.approx(0.75 * (1.0 + 5.0 / 84.0), rel=1e-14)
    assert mu(0.25 * h, h) == pytest.approx(mu(0.75 * h, h), rel=1e-14)       # symmetric about mid-ML
    z = (np.arange(200000) + 0.5) / 200000 * h
    assert mu(z, h).mean() == pytest.approx(MU_ML_MEAN, rel=1e-8)
    assert MU_ML_MEAN == pytest.approx(44 / 63)


def test_reference_level_is_the_level_holding_10m():
    assert reference_level(np.array([0.0, 10.0, 20.0, 30.0])) == 1          # NEMO nla10: the 10-20 m level
    assert reference_level(np.array([0.0, 4.0, 8.0, 12.0, 16.0])) == 2
    assert reference_level(np.array([0.0, 50.0, 100.0])) == 0


@pytest.mark.parametrize("nn_mle", [0, 1])
def test_psi_and_wb_match_hand_values(nn_mle):
    m = _model(nn_mle)
    _set_x_front(m)
    c = _mle(m)
    m.ueiv.fill(0.0)
    m.veiv.fill(0.0)
    c.eddy_velocity(m.ueiv, m.veiv)
    g, H = m.grid, 50.0
    j, i = g.nhalo + 2, g.nhalo + 2                           # an interior point away from the walls
    p = m.eos
    db = eos.GRAV * p.a0 * 0.1 / p.rho0                       # b = g a0 (T - 10) / rho0 (linear EOS)
    assert c.ml.nml[j, i] == 5 and c.ml.hml[j, i] == H
    assert c.ml.bml[j, i + 1] - c.ml.bml[j, i] == pytest.approx(db, rel=1e-12)
    ds, e1u = 10e3, 10e3
    if nn_mle == 1:
        psim = 0.06 / (5e3 * 2 * OMEGA_S * math.sin(math.radians(20.0))) * H ** 2 * db / e1u * ds
    else:
        rb_c = eos.GRAV * 0.01 / p.rho0
        lf_f = max(5e3 * math.sqrt(1e-8 + 1.0 / 172800.0 ** 2), math.sqrt(rb_c * H))
        psim = 0.06 * H ** 2 * db / e1u * ds / lf_f
    assert c.psim_u[j, i] == pytest.approx(psim, rel=1e-12)
    assert psim > 0                                            # light water east: surface u* westward
    assert c.psim_v[j, i] == 0.0
    expect = psim * mu(g.gdepw[:-1], H)
    np.testing.assert_allclose(c.psi_u[:, j, i], expect, rtol=1e-12, atol=1e-20)
    assert np.all(c.psi_u[5:, j, i] == 0.0)                   # zero at and below the ML base
    assert m.ueiv[0, j, i] < 0 < m.ueiv[4, j, i]
    np.testing.assert_allclose(m.ueiv[:, j, i] * g.e3t, -np.diff(np.append(c.psi_u[:, j, i], 0.0)), rtol=1e-12)
    assert c.wb[j, i] == pytest.approx(psim * db / e1u, rel=1e-12)   # psi_m . grad b
    # walls: the U points on the closed edges carry no streamfunction
    i_east = g.nhalo + g.nx - 1
    assert np.all(c.psi_u[:, :, i_east] == 0.0) and np.all(c.psi_u[:, :, g.nhalo - 1] == 0.0)


def _content(m):
    g, s = m.grid, m.state
    j, i = g.interior
    vol = g.e1e2t[None, j, i] * g.e3t[:, None, None] * g.tmask[:, j, i]
    return float((s.T[:, j, i] * vol).sum()), float((s.S[:, j, i] * vol).sum())


def _potential_energy(m):
    """sum(rho' depth vol) / sum(vol) (kg m-2): grows as heavy water sinks (PE = -g times it)."""
    g, s = m.grid, m.state
    j, i = g.interior
    vol = g.e1e2t[None, j, i] * g.e3t[:, None, None] * g.tmask[:, j, i]
    rho = eos.rho_insitu(s.T[:, j, i], s.S[:, j, i], 0.0, m.eos) - m.eos.rho0
    return float((rho * g.gdept[:, None, None] * vol).sum() / vol.sum())


def _ml_n2(m, nlev=5):
    """Mean over the tile of (b(top) - b(level nlev-1)) / depth difference (s-2)."""
    g, s = m.grid, m.state
    j, i = g.interior
    b = -eos.GRAV * (eos.rho_insitu(s.T[:, j, i], s.S[:, j, i], 0.0, m.eos) - m.eos.rho0) / m.eos.rho0
    return float(((b[0] - b[nlev - 1]) / (g.gdept[nlev - 1] - g.gdept[0])).mean())


def _y_front(m, salt=True):
    """A mixed layer (50 m) with a tanh front in y in T (and S), over a stratified interior."""
    g, s = m.grid, m.state
    jg = np.arange(g.shape2[0]) - g.nhalo + g.j0
    y = (jg - 0.5 * (g.ny_glo - 1)) / 2.0
    for k in range(g.nz):
        if k < 5:
            s.T[k] = (15.0 + 1.0 * np.tanh(y))[:, None]
            s.S[k] = (35.0 - (0.1 if salt else 0.0) * np.tanh(y))[:, None]   # fresher where warmer
        else:
            s.T[k], s.S[k] = 12.0 - 0.5 * k, 35.0
    s.T *= g.tmask
    s.S *= g.tmask
    m.exchange_state()


def _transport_only_step(m):
    """The tracer part of a step with the resolved velocity at rest: only the MLE transport moves T, S."""
    m.uadv.fill(0.0)
    m.vadv.fill(0.0)
    m._tracers()
    m.state.nstep += 1


def test_transport_conserves_t_and_s_and_restratifies():
    m = Model(cfg_from(SMALL, grid__nx=4, grid__ny=12, mle__kind="fk08"))
    _y_front(m)
    heat0, salt0 = _content(m)
    pe0, n2_0 = _potential_energy(m), _ml_n2(m)
    pe = pe0
    for n in range(100):
        _transport_only_step(m)
        if n % 10 == 9:
            p = _potential_energy(m)
            assert p >= pe - 1e-15 * abs(pe)          # heavy water only sinks
            pe = p
    heat, salt = _content(m)
    assert abs(heat - heat0) <= 1e-13 * abs(heat0)
    assert abs(salt - salt0) <= 1e-13 * abs(salt0)
    assert np.abs(_mle(m).psi_v).max() > 0
    assert pe > pe0
    assert _ml_n2(m) > n2_0 + 1e-7                   # the mixed layer restratifies


def test_front_restratifies_more_with_fk08_in_the_full_model():
    res = {}
    for kind in ("none", "fk08"):
        m = Model(cfg_from(SMALL, grid__nx=4, grid__ny=12, grid__periodic_x=True, mle__kind=kind))
        _y_front(m, salt=False)
        pe0, n20 = _potential_energy(m), _ml_n2(m)
        for _ in range(36):
            m.step()
        res[kind] = (_potential_energy(m) - pe0, _ml_n2(m) - n20)
    assert res["fk08"][0] > res["none"][0]          # more heavy water sunk
    assert res["fk08"][1] > res["none"][1] + 1e-7    # ML N2 grows more


class _ConstantDrift(Closure):
    """A second eddy-velocity closure: u* = 1e-3 m s-1 on the interior."""
    slots = frozenset({EDDY_VELOCITY})

    def __init__(self, model):
        self.model = model

    def eddy_velocity(self, ueiv, veiv):
        j, i = self.model.grid.interior
        ueiv[:, j, i] += 1e-3 * self.model.grid.umask[:, j, i]


def test_eddy_velocity_closures_add_up():
    m = _model()
    _set_x_front(m)
    m.uadv.fill(0.0)
    m.vadv.fill(0.0)
    m._eddy_velocity()
    alone = m.uadv.copy()
    m.add_closure(_ConstantDrift(m))
    m.uadv.fill(0.0)
    m.vadv.fill(0.0)
    m._eddy_velocity()
    g = m.grid
    j, i = g.interior
    np.testing.assert_array_equal(m.uadv[:, j, i], alone[:, j, i] + 1e-3 * g.umask[:, j, i])
    assert np.abs(alone).max() > 1e-4


def test_off_by_default():
    m = Model(cfg_from(SMALL))
    assert m.slotted == [] and m.ueiv is None and "psiu_mle" not in m.fields.public()


MLE_RUN = ["--steps", "24", "--no-progress", "--set", "output.interval_days=0.5", "--set", "mle.kind=fk08",
           "--set", 'output.fields=["thetao","uo","wo","mld","psiu_mle","psiv_mle","wb_mle","mld_mle"]']


def test_bitwise_identical_on_one_and_two_ranks(tmp_path, warm_jit):
    a, b = tmp_path / "r1", tmp_path / "r2"
    r = run_cli("run", "configs/dino_r4.toml", "--out", a, *MLE_RUN)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", b, *MLE_RUN)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("output.nc", "restart.nc"):
        with netCDF4.Dataset(a / name) as na, netCDF4.Dataset(b / name) as nb:
            assert set(na.variables) == set(nb.variables)
            for v in na.variables:
                assert np.array_equal(np.ma.filled(na[v][:], np.nan), np.ma.filled(nb[v][:], np.nan),
                                      equal_nan=True), (name, v)
    with netCDF4.Dataset(a / "output.nc") as na:
        assert np.nanmax(np.abs(np.ma.filled(na["psiu_mle"][:], np.nan))) > 0
        assert np.nanmax(np.ma.filled(na["wb_mle"][:], np.nan)) > 0


# ---------------------------------------------------------------------------- BBZ24's ocean side
def test_bbz24_inputs_match_hand_values():
    m = _model(kind="bbz24")
    _set_x_front(m)
    g, s, a = m.grid, m.state, 2e-6                      # u = a y in the mixed layer: vorticity -a, strain |a|
    jg = np.arange(g.shape2[0]) - g.nhalo + g.j0
    s.u[:5] = (a * 10e3 * jg)[None, :, None] * g.umask[:5]
    c = _mle(m)
    c.start_of_step()
    j, i = g.nhalo + 2, g.nhalo + 2
    f = {name: c.inputs[name][j, i] for name in c.inputs}
    db_dx = eos.GRAV * m.eos.a0 * 0.1 / m.eos.rho0 / 10e3
    assert f["bbz24_grad_b"] == pytest.approx(db_dx, rel=1e-12)
    assert f["bbz24_fcor"] == 1e-4 and f["bbz24_hml"] == -50.0
    assert f["bbz24_tau"] == 0.0 and f["bbz24_q"] == 0.0
    assert f["bbz24_vort"] == pytest.approx(-a, rel=1e-12)
    assert f["bbz24_strain"] == pytest.approx(a, rel=1e-12)
    assert abs(f["bbz24_div"]) <= 1e-20
    assert np.all(c.inputs["bbz24_hml"][g.interior][g.tmask[0][g.interior] > 0] == -50.0)


def test_inversion_returns_the_given_wb_where_grad_b_is_not_tiny():
    m = _model(kind="bbz24")
    _set_x_front(m)
    c = _mle(m)
    c.start_of_step()
    g = m.grid
    j, i = g.interior
    wb = 3e-9
    c.wb[j, i] = wb * g.tmask[0, j, i]
    c.set_psi_from_wb()
    jj, ii = g.nhalo + 2, g.nhalo + 2
    dbu = (c.ml.bml[jj, ii + 1] - c.ml.bml[jj, ii]) / g.e1u[jj, ii]
    assert c.raw_u[jj, ii] * dbu == pytest.approx(wb, rel=1e-12)           # psi . grad b = w'b'
    assert c.psim_u[jj, ii] == pytest.approx(c.raw_u[jj, ii], rel=1e-12)   # the smoothing keeps a uniform psi
    assert np.all(c.raw_v == 0.0)
    out = np.zeros(g.shape2)
    from ocean.mle import buoyancy_flux
    buoyancy_flux(c.psim_u, c.psim_v, c.ml.bml, g.metrics, g.masks, g.nhalo, out)
    assert out[jj, ii] == pytest.approx(wb, rel=1e-12)
    # no gradient: psi is 0 (|grad b|^2 = 0 is taken as 1), never infinite
    m.state.T[:5] = 15.0 * g.tmask[:5]
    m.exchange_state()
    c.start_of_step()
    c.set_psi_from_wb()
    assert np.all(c.psim_u == 0.0) and np.all(np.isfinite(c.psim_v))


def test_laplacian_pass_weights():
    from ocean.mle import laplacian_pass
    a = np.zeros((9, 9))
    a[4, 4] = 1.0
    out = np.zeros_like(a)
    laplacian_pass(a, 3, out)
    assert out[4, 4] == 0.5 and out[4, 3] == out[4, 5] == out[3, 4] == out[5, 4] == 0.125
    assert out.sum() == 1.0


def _constant_wb_closure(path, wb=1e-8):
    """A closure file with BBZ24's declaration that returns a constant w'b' in the water."""
    import torch
    from closures.published import BBZ24_SPEC
    from closures.runtime import save

    class ConstantWB(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mask = (x[:, 2:3, 9:x.shape[2] - 9, 9:x.shape[3] - 9] != 0).to(x.dtype)
            return mask * 1e-8

    assert wb == 1e-8
    return save(ConstantWB(), BBZ24_SPEC, path)


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_bbz24_path_restratifies_with_a_positive_wb(tmp_path, sign):
    from ocean.run import attach_closures
    model_file = _constant_wb_closure(tmp_path / "wb.pt")
    res = {}
    for kind in ("none", "bbz24"):
        net = {"closure__model_file": str(model_file)} if kind == "bbz24" else {}
        cfg = cfg_from(SMALL, grid__nx=10, grid__ny=12, grid__periodic_x=True, mle__kind=kind, mle__hml_sign=sign,
                       **net)
        m = Model(cfg)
        attach_closures(m, cfg, None)
        _y_front(m, salt=False)
        pe0, n20 = _potential_energy(m), _ml_n2(m)
        for _ in range(36):
            m.step()
        res[kind] = (_potential_energy(m) - pe0, _ml_n2(m) - n20)
        if kind == "bbz24":
            c = _mle(m)
            g = m.grid
            j, i = g.interior
            assert np.all(c.wb[j, i][g.tmask[0, j, i] > 0] == np.float32(1e-8))
            assert np.abs(c.psi_v).max() > 0
            assert np.all(m.fields["bbz24_hml"].get(m)[j, i] * sign > 0)
    assert res["bbz24"][0] > res["none"][0]
    assert res["bbz24"][1] > res["none"][1] + 1e-8


def _random_bbz24(seed=5):
    """BBZ24's published form (the net with its z-scoring, as the importer builds it) with
    random weights and BatchNorm statistics."""
    import torch
    from closures.nets import BBZ24Net
    from closures.published import BBZ24Flux
    torch.manual_seed(seed)
    net = BBZ24Net()
    with torch.no_grad():
        for mod in net.conv:
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
    mean = [1.9e-8, -2.6e-5, -91.1, 0.096, -0.28, -1.1e-8, -9.5e-8, 5.3e-6]
    std = [2.0e-8, 7.8e-5, 104.8, 0.073, 93.5, 1.7e-6, 7.1e-6, 5.1e-6]
    return BBZ24Flux(net.eval(), mean, std, 5.7e-9, 1.08e-8).eval()


def test_bbz24_on_two_ranks_equals_the_net_on_the_whole_domain(tmp_path, warm_jit):
    """dino_r4 with the BBZ24 net (random weights) on 2 ocean ranks: the w'b' of the first
    step equals, to float32 round-off, the net applied to the whole domain's inputs at once
    with its reflect padding at the closed northern and southern edges (as the published run
    applies it; wrapped across the periodic channel), including the rows next to those edges."""
    import torch
    from closures.published import BBZ24_INPUTS, BBZ24_SPEC
    from closures.runtime import save
    flux = _random_bbz24()
    model_file = save(flux, BBZ24_SPEC, tmp_path / "bbz24.pt")
    names = [n for _, n, _ in BBZ24_INPUTS]
    out = tmp_path / "r2"
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", out, "--steps", "1", "--no-progress", "--set",
                "mle.kind=bbz24", "--set", f'closure.model_file="{model_file}"', "--set",
                "closure.precision=fp32",       # float32 like the forward below ("auto" is bf16 on some CPUs)
                "--set", "output.fields=" + str(["wb_mle"] + names).replace("'", '"'))
    assert r.returncode == 0, r.stderr[-3000:]
    with netCDF4.Dataset(out / "output.nc") as nc:
        got = np.ma.filled(nc["wb_mle"][0], 0.0)
        x = np.stack([np.ma.filled(nc[n][0], 0.0) for n in names])[None]
    H = 9
    x = np.concatenate([x[..., -H:], x, x[..., :H]], axis=-1)           # the periodic channel
    with torch.no_grad():
        xt = torch.from_numpy(x.astype(np.float32))
        mask = (xt[:, 2:3] != 0).float()
        y = flux.net((xt - flux.in_mean) / flux.in_std * mask) * mask   # reflect padding at the array's edges
        want = ((y * flux.out_std + flux.out_mean) * mask)[0, 0, :, H:-H].numpy()
    scale = np.abs(want).max()
    assert scale > 0
    assert np.abs(got - want).max() <= 1e-5 * scale
    assert np.abs(got[:H + 3] - want[:H + 3]).max() <= 1e-5 * scale < np.abs(want[:H + 3]).max()


def test_plot_mle_maps_two_runs(tmp_path, warm_jit):
    """scripts/plot_mle.py on one day of dino_r4 with FK08 and without: the figure, and the
    streamfunction magnitude its panel (b) shows against hand values."""
    import importlib.util
    import json
    spec = importlib.util.spec_from_file_location("plot_mle", "scripts/plot_mle.py")
    plot_mle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plot_mle)
    psiu = np.zeros((3, 2, 4))
    psiv = np.zeros((3, 2, 4))
    psiu[1, 0, 0], psiu[2, 0, 3] = -2.0, 4.0          # column 0: faces x_u[3] (periodic west) and x_u[0]
    psiv[1, 0, 1] = 6.0                               # row 1 of column 1: its south face
    mag = plot_mle.psi_magnitude(psiu, psiv)
    assert mag[0, 0] == pytest.approx(3.0) and mag[1, 1] == pytest.approx(3.0) and mag[0, 1] == pytest.approx(
        np.hypot(1.0, 3.0))
    # the latitude-band table: rows at -65 (one band) and 0 and 10 (one band), area-weighted
    lat = np.array([-65.0, 0.0, 10.0])
    area = np.array([[1.0, 1.0], [1.0, 1.0], [3.0, 3.0]])
    wet = np.array([[True, False], [True, True], [True, True]])
    none = np.array([[1000.0, np.nan], [50.0, 50.0], [100.0, 100.0]])
    mle = none + np.array([[20.0, 0.0], [-2.0, -2.0], [-1.0, 0.0]])
    wb = np.array([[1e-8, 0.0], [-1e-9, 2e-9], [3e-9, 4e-9]])
    rows = plot_mle.band_table(lat, area, wet, mle, none, wb)
    assert [r["lat_deg"] for r in rows] == [[-70.0, -60.0], [-20.0, 20.0]]
    assert rows[0]["mld_none_m"] == pytest.approx(1000.0) and rows[0]["change_pct"] == pytest.approx(2.0)
    assert rows[1]["mld_none_m"] == pytest.approx((50 + 50 + 300 + 300) / 8)
    assert rows[1]["change_m"] == pytest.approx((-2 - 2 - 3) / 8)
    assert (rows[1]["change_min_m"], rows[1]["change_max_m"]) == (-2.0, 0.0)
    assert rows[1]["wb_upward_share"] == pytest.approx(0.75)
    sets = ["--steps", "24", "--no-progress", "--set", "output.interval_days=1"]
    a, b = tmp_path / "mle", tmp_path / "none"
    r = run_cli("run", "configs/dino_r4.toml", "--out", a, *sets, "--set", "mle.kind=fk08", "--set",
                'output.fields=["mld","wb_mle","psiu_mle","psiv_mle"]')
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_cli("run", "configs/dino_r4.toml", "--out", b, *sets, "--set", 'output.fields=["mld"]')
    assert r.returncode == 0, r.stderr[-3000:]
    fig = tmp_path / "mle.png"
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert plot_mle.main([str(a), str(b), "--out", str(fig)]) == 0
    res = json.loads(buf.getvalue().strip().splitlines()[-1])
    assert fig.stat().st_size > 10_000 and res["days"] == 1
    assert res["psi_max_m2_s"] > 0 and res["mld_mean_m"]["none"] > 0
    assert len(res["bands"]) == 5 and all(b["mld_none_m"] > 0 for b in res["bands"])
    err = io.StringIO()
    with contextlib.redirect_stderr(err):                       # user errors: one line, status 2
        assert plot_mle.main([str(a), str(tmp_path / "missing"), "--out", str(fig)]) == 2
        assert plot_mle.main([str(b), str(b), "--out", str(fig)]) == 2
        assert plot_mle.main([str(a), str(b), "--days", "0"]) == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 3 and "missing" in lines[0] and "wb_mle" in lines[1] and "--days" in lines[2]


def test_dino_mle_configs_are_dino_plus_mle():
    """configs/dino_r1_mle.toml is dino_r1 plus FK08 in NEMO's reference form, and
    configs/dino_r025_bbz24.toml dino_r025 plus BBZ24 (H_ML < 0) with its net async on one ML rank."""
    from ocean import config
    for name, base, kind in (("dino_r1_mle", "dino_r1", "fk08"), ("dino_r025_bbz24", "dino_r025", "bbz24")):
        c, b = config.load(f"configs/{name}.toml"), config.load(f"configs/{base}.toml")
        for sec in ("grid", "time", "momentum", "tracers", "vertical_mixing", "eos", "forcing"):
            assert getattr(c, sec) == getattr(b, sec), (name, sec)
        assert c.mle.kind == kind and c.output.interval_days == 1
    m = config.load("configs/dino_r1_mle.toml").mle
    assert (m.nn_mle, m.ce, m.lat_ref_deg, m.rho_c_kg_m3) == (1, 0.06, 20.0, 0.01)
    c = config.load("configs/dino_r025_bbz24.toml")
    assert c.mle.hml_sign == -1.0 and c.closures[0].mode == "async" and c.closures[0].ml_ranks == 1
