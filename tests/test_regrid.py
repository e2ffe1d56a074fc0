"""A restart interpolated onto another grid (ocean/regrid.py, scripts/regrid_restart.py): a field
linear in lon/lat is reproduced, masks and the nearest-ocean fill are respected, ubar is the depth
mean of u, and the written restart starts a run. Tiny DINO grids: 10 and 5 degrees, 4 levels."""
import subprocess
import sys

import netCDF4
import numpy as np
import pytest
import xarray as xr

from ocean import config, restart
from ocean.config import ConfigError
from ocean.model import Model
from ocean.regrid import axis_weights, bilinear, fill_land, regrid_restart
from ocean.run import run

from conftest import ROOT

LEVELS = {"nz": 4, "dz_top_m": 0.0}
DAY = 86400.0


def dino(res: float, dt: float) -> dict:
    return {"grid": {"kind": "dino", "resolution_deg": res, **LEVELS}, "time": {"dt_s": dt},
            "forcing": {"kind": "dino"}}


def linear(lon, lat, k=0):
    return 1.0 + 0.03 * lon - 0.02 * lat + 0.5 * k


def test_axis_weights_reproduce_a_linear_function_and_wrap_periodically():
    src = np.array([0.5, 1.5, 2.5, 3.5])
    dst = np.array([0.75, 1.0, 2.2, 3.4])
    lo, hi, w = axis_weights(src, dst, None)
    f = 2.0 * src - 1.0
    assert np.allclose((1 - w) * f[lo] + w * f[hi], 2.0 * dst - 1.0, rtol=0, atol=1e-14)
    lo, hi, w = axis_weights(src, np.array([-1.0, 9.0]), None)       # clamped beyond the ends
    assert np.allclose((1 - w) * f[lo] + w * f[hi], [f[0], f[-1]])
    lo, hi, w = axis_weights(src, np.array([0.0, 4.0, 3.75]), 4.0)   # periodic: between 3.5 and 0.5 (+4)
    g = np.array([10.0, 20.0, 30.0, 40.0])
    assert np.allclose((1 - w) * g[lo] + w * g[hi], [25.0, 25.0, 32.5])


def test_bilinear_of_a_linear_field_is_exact():
    x, y = np.linspace(0, 9, 10), np.array([-3.0, -1.0, 0.0, 2.5, 6.0])
    a = 0.3 * x[None, :] - 0.7 * y[:, None] + 2.0
    xd, yd = np.array([0.2, 4.5, 8.9]), np.array([-2.0, 1.0, 5.9])
    out = bilinear(a, axis_weights(x, xd, None), axis_weights(y, yd, None))
    assert np.allclose(out, 0.3 * xd[None, :] - 0.7 * yd[:, None] + 2.0, rtol=0, atol=1e-13)


def test_fill_land_takes_the_nearest_ocean_values_ring_after_ring():
    a = np.array([[1.0, 0.0, 0.0, 5.0], [2.0, 0.0, 0.0, 0.0]])
    wet = np.array([[True, False, False, True], [True, False, False, False]])
    # first ring: (0,1) <- 1, (0,2) <- 5, (1,1) <- 2, (1,3) <- 5; second: (1,2) <- mean(5, 2, 5)
    assert fill_land(a, wet).tolist() == [[1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 4.0, 5.0]]
    assert fill_land(a, np.zeros_like(wet)).tolist() == a.tolist()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A 10-degree restart at day 360 whose T, S, u, v, ssh and history are linear in lon/lat,
    interpolated onto the 5-degree grid."""
    tmp = tmp_path_factory.mktemp("regrid")
    src_cfg = config.from_dict(dino(10.0, 7200.0))
    m = Model(src_cfg)
    m.initialise()
    g, gh = m.grid, m.grid.global_h
    j, i = g.interior
    k = np.arange(g.nz)[:, None, None]
    lon_t, lon_u, lat_t, lat_v = gh.x_t[None, :], gh.x_u[None, :], gh.y_t[:, None], gh.y_v[:, None]
    s = m.state
    s.nstep, s.time_s = int(360 * DAY / 7200.0), 360 * DAY
    s.T[:, j, i] = linear(lon_t, lat_t, k) * g.tmask[:, j, i]
    s.S[:, j, i] = 35.0 * g.tmask[:, j, i]
    s.u[:, j, i] = 0.01 * linear(lon_u, lat_t, k) * g.umask[:, j, i]
    s.v[:, j, i] = 0.01 * linear(lon_t, lat_v, k) * g.vmask[:, j, i]
    s.ssh[j, i] = 0.1 * linear(lon_t, lat_t) * g.tmask[0, j, i]
    for f in m.fields.restart():
        if f.name.startswith("gu_nm"):
            f.get(m)[:, j, i] = 1e-6 * linear(lon_u, lat_t, k) * g.umask[:, j, i]
    src = tmp / "src.nc"
    restart.write(m, src)
    dst_dict = dino(5.0, 3600.0)
    dst_dict["output"] = {"interval_days": 3600.0 / DAY, "mode": "snapshot", "fields": ["uos", "vos", "uo", "vo"]}
    dst_cfg = config.from_dict(dst_dict)
    out = tmp / "new_folder" / "dst.nc"             # made by regrid_restart
    info = regrid_restart(src, dst_cfg, out)
    return src_cfg, dst_cfg, src, out, info, tmp


def _source_stencil_wet(src_cfg, x_dst, y_dst, x_src, y_src, wet_src, period):
    """Target points whose four source neighbours are all wet (no filled value in the stencil),
    inside the source's rows (beyond them the value is held constant) and not across the periodic seam."""
    (i0, i1, _), (j0, j1, _) = axis_weights(x_src, x_dst, period), axis_weights(y_src, y_dst, None)
    ok = wet_src[j0][:, i0] & wet_src[j0][:, i1] & wet_src[j1][:, i0] & wet_src[j1][:, i1]
    inside = (y_dst >= y_src[0]) & (y_dst <= y_src[-1])
    return ok & (i1 > i0)[None, :] & inside[:, None]


def test_linear_fields_are_reproduced_where_the_source_is_ocean(pair):
    src_cfg, dst_cfg, _, out, info, _ = pair
    sm, dm = Model(src_cfg), Model(dst_cfg)
    sg, dg = sm.grid.global_h, dm.grid.global_h
    assert info["nstep"] == 360 * 24 and info["day"] == 360.0
    for name in ("T", "u", "v", "ssh", "S", "gu_nm1", "gu_nm2"):
        assert name in info["interpolated"]
    with netCDF4.Dataset(out) as nc:
        assert int(nc.nstep) == 360 * 24 and float(nc.time_s) == 360 * DAY
        T, u, v, ssh = (np.array(nc.variables[n][:]) for n in ("T", "u", "v", "ssh"))
        ubar, gu1 = np.array(nc.variables["ubar"][:]), np.array(nc.variables["gu_nm1"][:])
        ubar1 = np.array(nc.variables["ubar_nm1"][:])
    period = 50.0
    checked = 0
    cases = (("T", T, "T", sg.x_t, sg.y_t, dg.x_t, dg.y_t, 1.0), ("u", u, "U", sg.x_u, sg.y_t, dg.x_u, dg.y_t, 0.01),
             ("v", v, "V", sg.x_t, sg.y_v, dg.x_t, dg.y_v, 0.01), ("gu_nm1", gu1, "U", sg.x_u, sg.y_t, dg.x_u,
                                                                     dg.y_t, 1e-6))
    for name, a, p, xs, ys, xd, yd, scale in cases:
        smask = {"T": sm.grid.counts["T"], "U": sm.grid.counts["U"], "V": sm.grid.counts["V"]}[p]
        dmask = {"T": dm.grid.counts["T"], "U": dm.grid.counts["U"], "V": dm.grid.counts["V"]}[p]
        for k in range(a.shape[0]):
            ok = _source_stencil_wet(src_cfg, xd, yd, xs, ys, smask > k, period) & (dmask > k)
            want = scale * linear(xd[None, :], yd[:, None], k)
            assert np.allclose(a[k][ok], want[ok], rtol=1e-12, atol=0), (name, k)
            assert np.all(a[k][dmask <= k] == 0.0), (name, k)            # the target's land
            checked += ok.sum()
    assert checked > 200
    ok = _source_stencil_wet(src_cfg, dg.x_t, dg.y_t, sg.x_t, sg.y_t, sm.grid.counts["T"] > 0, period)
    assert np.allclose(ssh[ok], 0.1 * linear(dg.x_t[None, :], dg.y_t[:, None])[ok], rtol=1e-12, atol=0)
    # the target's ocean where the source has land in the stencil holds ocean values, never a land zero:
    # S is 35 in all the source's ocean, so it is 35 at every wet target point of every level
    with netCDF4.Dataset(out) as nc:
        S = np.array(nc.variables["S"][:])
    wet_t = np.arange(dm.grid.nz)[:, None, None] < dm.grid.counts["T"][None]
    near_land = wet_t[0] & ~_source_stencil_wet(src_cfg, dg.x_t, dg.y_t, sg.x_t, sg.y_t, sm.grid.counts["T"] > 0,
                                                period)
    assert near_land.sum() > 10
    assert np.allclose(S[wet_t], 35.0, rtol=1e-14) and np.all(S[~wet_t] == 0.0)
    # ubar, vbar: the depth means of the interpolated u, v on the target's levels
    e3 = dm.grid.vertical.e3t[:, None, None]
    wet = np.arange(dm.grid.nz)[:, None, None] < dm.grid.counts["U"][None]
    h = (wet * e3).sum(0)
    assert np.allclose(ubar, np.where(h > 0, (u * e3 * wet).sum(0) / np.maximum(h, 1e-30), 0.0), rtol=1e-12,
                       atol=1e-15)
    # their history moves with them (the source's ubar and its history were equal: 0)
    assert np.abs(ubar).max() > 1e-3 and np.allclose(ubar1, ubar, rtol=0, atol=1e-15)


def test_the_regridded_restart_starts_a_run_with_surface_output(pair):
    _, dst_cfg, _, out, _, tmp = pair
    summary = run(dst_cfg, tmp / "run", steps=2, restart=out, progress=False)
    assert summary["steps"] == 2
    ds = xr.open_dataset(tmp / "run" / "output.nc")
    assert ds.uos.dims == ("time", "y_t", "x_u") and ds.vos.dims == ("time", "y_v", "x_t")
    assert ds.sizes["time"] == 2
    assert np.array_equal(ds.uos.values, ds.uo.isel(depth_t=0).values, equal_nan=True)
    assert np.array_equal(ds.vos.values, ds.vo.isel(depth_t=0).values, equal_nan=True)
    assert np.nanmax(np.abs(ds.uos.values)) > 1e-3


def test_other_levels_are_refused(pair, tmp_path):
    _, _, src, _, _, _ = pair
    other = config.from_dict({**dino(5.0, 3600.0), "grid": {"kind": "dino", "resolution_deg": 5.0, "nz": 5,
                                                            "dz_top_m": 0.0}})
    with pytest.raises(ConfigError, match="levels differ"):
        regrid_restart(src, other, tmp_path / "x.nc")


def test_cli_errors_are_one_line_with_status_2(tmp_path):
    r = subprocess.run([sys.executable, "scripts/regrid_restart.py", str(tmp_path / "none.nc"),
                        "configs/dino_r025_lean.toml", str(tmp_path / "o.nc")], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "none.nc" in r.stderr


def test_a_tke_target_takes_its_tke_at_the_initial_values(pair, tmp_path):
    """A source without TKE (a convective run) regridded for a TKE configuration: the TKE
    fields are not in the source, so they start where a cold-started model has them."""
    _, _, src, _, _, _ = pair
    d = dino(5.0, 3600.0)
    d["vertical_mixing"] = {"scheme": "tke"}
    cfg = config.from_dict(d)
    info = regrid_restart(src, cfg, tmp_path / "tke.nc")
    fresh = Model(cfg)
    cold = [f for f in fresh.fields.restart() if f.cold_start]
    assert cold and sorted(info["initial_values"]) == sorted(f.name for f in cold)
    assert "T" in info["interpolated"]
    with netCDF4.Dataset(tmp_path / "tke.nc") as nc:
        for f in cold:
            assert np.array_equal(np.array(nc.variables[f.name][:]), fresh.grid.interior_of(f.get(fresh)))


def test_a_tke_source_carries_its_w_point_fields_onto_the_target(tmp_path):
    """The TKE, its dissipation length and the mixing coefficients sit at W points (above T, with
    T's mask): a field linear in lon/lat is reproduced where the source's stencil is ocean, and
    the target's land is zero."""
    d = dino(10.0, 7200.0)
    d["vertical_mixing"] = {"scheme": "tke"}
    src_cfg = config.from_dict(d)
    m = Model(src_cfg)
    m.initialise()
    g, gh = m.grid, m.grid.global_h
    j, i = g.interior
    m.state.nstep, m.state.time_s = int(360 * DAY / 7200.0), 360 * DAY
    tke = m.fields["tke"].get(m)
    k = np.arange(tke.shape[0])[:, None, None]
    tke[:, j, i] = 1e-4 * linear(gh.x_t[None, :], gh.y_t[:, None], k) * g.tmask[:tke.shape[0], j, i]
    src = tmp_path / "src.nc"
    restart.write(m, src)
    d = dino(5.0, 3600.0)
    d["vertical_mixing"] = {"scheme": "tke"}
    dst_cfg = config.from_dict(d)
    info = regrid_restart(src, dst_cfg, tmp_path / "dst.nc")
    assert {"tke", "tke_dissl", "avm_k", "avt_k"} <= set(info["interpolated"]) and not info["initial_values"]
    dm = Model(dst_cfg)
    sg, dg = g.global_h, dm.grid.global_h
    with netCDF4.Dataset(tmp_path / "dst.nc") as nc:
        out = np.array(nc.variables["tke"][:])
    checked = 0
    for kk in range(out.shape[0]):
        ok = _source_stencil_wet(src_cfg, dg.x_t, dg.y_t, sg.x_t, sg.y_t, g.counts["T"] > kk, 50.0) \
            & (dm.grid.counts["T"] > kk)
        want = 1e-4 * linear(dg.x_t[None, :], dg.y_t[:, None], kk)
        assert np.allclose(out[kk][ok], want[ok], rtol=1e-12, atol=0), kk
        assert np.all(out[kk][dm.grid.counts["T"] <= kk] == 0.0), kk
        checked += ok.sum()
    assert checked > 100
