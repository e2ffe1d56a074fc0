"""The two-grid-point pattern of dino_r4's zonal velocity (issue 11, item 3; docs/numerics.md,
"Two-grid-point pattern"): the measure, the mechanism (a C-grid mode that feels no Coriolis
force), and a month of dino_r4 with a resolved surface Ekman layer, which must stay smooth.
Issue 11's target on the one-year run itself is in test_dino.py (a strict expected failure
until TKE gives the surface layer its viscosity)."""
import numpy as np
import pytest
import xarray as xr

from ocean import momentum
from ocean.diagnostics import two_grid_ratio
from ocean.model import Model

from conftest import cfg_from, run_cli

BOX = {"grid": {"kind": "box", "nx": 8, "ny": 16, "nz": 3, "dx_m": 1e5, "dy_m": 1e5, "depth_m": 300.0,
                "dz_top_m": 0.0, "periodic_x": True},
       "forcing": {"kind": "none"}, "init": {"kind": "uniform"}, "time": {"dt_s": 600.0}}
ONE_THREAD = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def test_two_grid_ratio_of_smooth_and_alternating_profiles():
    y = np.linspace(-1.2, 1.2, 49)
    smooth = np.repeat(np.sin(2 * y)[:, None], 12, 1)
    alt = np.repeat(((-1.0) ** np.arange(49))[:, None], 12, 1)
    assert two_grid_ratio(smooth) < 0.01
    assert abs(two_grid_ratio(alt) - 1.0) < 1e-12
    assert 0.3 < two_grid_ratio(smooth + 0.5 * alt) < 0.7
    land = smooth.copy()
    land[20] = 0.0                                     # a land row: its neighbours' r is not counted
    assert two_grid_ratio(land) < 0.01


def test_the_two_grid_mode_feels_no_coriolis_force():
    """u = (-1)^j, uniform in x, v = 0: the EEN Coriolis force on v averages u over two rows
    and vanishes (to round-off) away from the walls, while a smooth u of the same size feels
    f u; so the mode is held by friction alone, as the pattern of dino_r4 is."""
    m = Model(cfg_from(BOX))
    g, s = m.grid, m.state
    j = np.arange(g.shape3[1])[None, :, None]
    zero = np.zeros(g.shape3)
    out = {}
    for name, prof in (("alternating", (-1.0) ** j), ("smooth", np.ones_like(j, dtype=float))):
        s.u[:] = 0.1 * prof * np.ones(g.shape3) * g.umask
        s.v[:] = 0.0
        res = []
        for co in (True, False):
            gu, gv = np.zeros(g.shape3), np.zeros(g.shape3)
            momentum.advective_tendency(s.u, s.v, zero, zero, g.fcor_f, g.fmask_any, g.metrics, g.masks, co, False,
                                        g.nhalo, np.zeros(g.shape3), gu, gv)
            res.append(gv)
        out[name] = np.abs(g.interior_of(res[0] - res[1])[:, 1:-2]).max()     # rows off the walls
    assert out["smooth"] > 0.5 * 0.1 * np.abs(g.fcor_f).min()
    assert out["alternating"] < 1e-12 * out["smooth"]


def _month_ratio(tmp_path, *sets):
    r = run_cli("run", "configs/dino_r4.toml", "--days", 30, "--out", tmp_path, "--no-progress",
                "--set", "parallel.threads=1", *[a for s in sets for a in ("--set", s)], env=ONE_THREAD)
    assert r.returncode == 0, r.stderr[-2000:]
    with xr.open_dataset(tmp_path / "output.nc") as ds:
        u = np.nan_to_num(ds.uo.isel(time=0, depth_t=0).values)
        lat = ds.y_t.values
    off = np.where(np.abs(lat)[:, None] >= 10, u, 0.0)
    return two_grid_ratio(u), two_grid_ratio(off)


def test_dino_r4_with_a_viscous_surface_layer_has_no_two_grid_pattern(tmp_path, warm_jit):
    """With the surface Ekman layer resolved (vertical viscosity 1e-2 m2/s, the size TKE gives
    a wind-mixed layer) the first monthly mean of surface u is smooth: 10% of it is two-grid
    (9% away from the equator). A scheme or operator that feeds two-grid modes (a wrong KE or
    vorticity stencil, an asymmetric operator in j) raises it."""
    total, off_equator = _month_ratio(tmp_path, "momentum.vertical_viscosity_m2_s=1e-2")
    assert total < 0.15 and off_equator < 0.15, (total, off_equator)
