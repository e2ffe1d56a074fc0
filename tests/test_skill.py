"""The GZ21 skill measure (ocean/skill.py, ocean/coarse_grain.py, scripts/gz21_skill.py) on
synthetic arrays and tiny synthetic run directories."""
import importlib.util
import json
import math
import subprocess
import sys
import warnings

from datetime import timedelta

import cftime
import numpy as np
import pytest
import xarray as xr

from ocean import config
from ocean.coarse_grain import CoarseGrainer, cell_edges, overlap
from ocean.grid import build_global
from ocean.skill import area_mean, distance, skill, surface_energies, velocity_at_t, wasserstein1

from conftest import ROOT


def test_wasserstein1_of_known_distributions():
    assert wasserstein1([0.0], [1.0]) == 1.0
    rng = np.random.default_rng(1)
    x = rng.standard_normal(500)
    assert wasserstein1(x, x) == 0.0
    assert wasserstein1(x, x + 0.3) == pytest.approx(0.3, abs=1e-12)          # a shift moves every quantile
    assert wasserstein1([0.0, 1.0], [0.0], [3.0, 1.0]) == pytest.approx(0.25)   # weights: a quarter of the mass moves 1
    assert wasserstein1([0.0, 1.0], [0.0, 0.0, 1.0, 1.0]) == pytest.approx(0.0)  # same distribution, other sizes
    assert wasserstein1([0.0, 2.0], [1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wasserstein1([], [1.0])


def test_skill_is_one_for_the_truth_zero_for_no_better_and_undefined_without_a_baseline_distance():
    assert skill(0.0, 2.0) == 1.0
    assert skill(2.0, 2.0) == 0.0
    assert skill(4.0, 2.0) == -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(skill(0.0, 0.0)) and math.isnan(skill(1.0, 0.0))
        assert math.isnan(skill(1.0, 1e-20, atol=1e-12)) and skill(1e-12, 1e-11, atol=1e-13) == pytest.approx(0.9)


def test_distances_of_identical_maps_are_zero_and_of_shifted_maps_the_shift():
    rng = np.random.default_rng(2)
    area = rng.uniform(1.0, 2.0, (6, 5))
    mask = np.ones((6, 5), bool)
    mask[0, 0] = False
    q = rng.uniform(0, 1, (6, 5))
    for kind in ("mean", "w1", "rms"):
        assert distance(kind, q, q, area, mask) == 0.0
        assert distance(kind, q + 0.1, q, area, mask) == pytest.approx(0.1, abs=1e-12)
    far = q.copy()
    far[0, 0] = 1e6                                # a land point does not count
    assert distance("rms", far, q, area, mask) == 0.0
    assert area_mean(np.where(mask, 2.0, 7.0), area, mask) == 2.0
    flipped = q[::-1].copy()                       # same values, other places: only rms sees it
    full = np.ones_like(mask)
    assert distance("w1", flipped, q, np.ones_like(area), full) == pytest.approx(0.0, abs=1e-12)
    assert distance("rms", flipped, q, np.ones_like(area), full) > 0.1
    with pytest.raises(ValueError):
        distance("max", q, q, area, mask)


def test_velocity_at_t_and_surface_energies():
    u = np.full((3, 4, 5), 0.2)
    v = np.full((3, 4, 5), -0.1)
    ut, vt = velocity_at_t(u, v, periodic_x=True)
    assert np.allclose(ut, 0.2) and np.allclose(vt[:, 1:], -0.1) and np.allclose(vt[:, 0], -0.05)   # no face south
    u2 = u.copy()
    u2[..., -1] = 1.0                               # the last column's east face is the first column's west face
    ut, _ = velocity_at_t(u2, v, periodic_x=True)
    assert np.allclose(ut[..., 0], 0.6)
    ut, _ = velocity_at_t(u2, v, periodic_x=False)
    assert np.allclose(ut[..., 0], 0.1)
    # steady flow: no EKE; u = 0.3 + 0.2 cos: EKE = 0.2^2 / 4, KE = (0.3^2 + 0.2^2 / 2) / 2
    t = np.arange(40) * 2 * np.pi / 40
    uu = (0.3 + 0.2 * np.cos(t))[:, None, None] * np.ones((1, 2, 2))
    ke, eke = surface_energies(uu, np.zeros_like(uu))
    assert np.allclose(eke, 0.01) and np.allclose(ke, 0.5 * (0.09 + 0.02))
    ke, eke = surface_energies(np.full((5, 2, 2), 0.3), np.zeros((5, 2, 2)))
    assert np.allclose(eke, 0.0) and np.allclose(ke, 0.045)


def test_coarse_graining_dino_quarter_degree_onto_one_degree():
    fine = build_global(config.from_dict({"grid": {"resolution_deg": 0.25, "nz": 2, "dz_top_m": 0.0}}))[0]
    coarse = build_global(config.from_dict({"grid": {"resolution_deg": 1.0, "nz": 2, "dz_top_m": 0.0}}))[0]
    fx, fy = cell_edges(fine.x_t, fine.x_u), cell_edges(fine.y_t, fine.y_v)
    cx, cy = cell_edges(coarse.x_t, coarse.x_u), cell_edges(coarse.y_t, coarse.y_v)
    wy = overlap(fy, cy)
    j = coarse.y_t.size // 2 + 10                   # a coarse row: fine rows 4j-2 .. 4j+2 of the same origin
    jf = fine.y_t.size // 2 + 40
    assert np.allclose(wy[j, jf - 1:jf + 2], 1.0) and np.allclose(wy[j, [jf - 2, jf + 2]], 0.5, atol=0.01)
    assert np.allclose(wy.sum(0)[4:-4], 1.0)        # every fine row inside the coarse range is shared out whole
    wx = overlap(fx, cx)
    assert np.allclose(wx[3, 12:16], 1.0) and wx[3].sum() == 4.0
    area = fine.e1t * fine.e2t
    wet = fine.bathy > 0
    cg = CoarseGrainer(fx, fy, cx, cy, area, wet)
    assert np.allclose(cg(np.full(area.shape, 3.5))[cg.wet_weight > 0], 3.5)
    lon = np.repeat(fine.x_t[None, :], fine.y_t.size, 0)
    out = cg(lon)                                   # linear in x, nested in x: the coarse centres where all wet
    full = cg.coverage > 0.999
    assert np.allclose(out[full], np.repeat(coarse.x_t[None, :], coarse.y_t.size, 0)[full], atol=1e-12)
    rng = np.random.default_rng(3)
    f = rng.standard_normal(area.shape)             # the area integral is kept: every fine cell shared out whole
    share = wy.sum(0)[:, None]                      # (1 inside; the outermost fine rows reach beyond the coarse grid)
    assert np.isclose(np.nansum(cg(f) * cg.wet_weight), (f * area * wet * share).sum(), rtol=1e-10)
    assert np.isnan(cg(f)[:, 0][cg.coverage[:, 0] == 0]).all()
    t = cg(np.stack([f, 2 * f]))                    # records (nt, ny, nx) in one call
    assert np.allclose(t[1], 2 * t[0], equal_nan=True)


def _write_run(path, x_t, y_t, u_of_t, v_of_t):
    """A run directory whose output.nc holds daily means of uniform surface velocities."""
    path.mkdir(parents=True)
    nx, ny, nt = x_t.size, y_t.size, len(u_of_t)
    dx, dy = x_t[1] - x_t[0], y_t[1] - y_t[0]
    times = [cftime.Datetime360Day(2, 1, 1) + timedelta(days=d + 0.5) for d in range(nt)]
    bnds = [[cftime.Datetime360Day(2, 1, 1) + timedelta(days=d + s) for s in (0, 1)]
            for d in range(nt)]
    ds = xr.Dataset(
        {"uos": (("time", "y_t", "x_u"), np.asarray(u_of_t)[:, None, None] * np.ones((nt, ny, nx))),
         "vos": (("time", "y_v", "x_t"), np.asarray(v_of_t)[:, None, None] * np.ones((nt, ny, nx))),
         "e1t": (("y_t", "x_t"), np.ones((ny, nx))), "e2t": (("y_t", "x_t"), np.ones((ny, nx))),
         "bathymetry": (("y_t", "x_t"), np.full((ny, nx), 4000.0)),
         "time_bounds": (("time", "bnds"), np.array(bnds, dtype=object))},
        coords={"time": np.array(times, dtype=object), "x_t": x_t, "x_u": x_t + 0.5 * dx, "y_t": y_t,
                "y_v": y_t + 0.5 * dy})
    ds.time.attrs["bounds"] = "time_bounds"
    ds.time.encoding.update(units="seconds since 0001-01-01", calendar="360_day")
    ds.to_netcdf(path / "output.nc")


def test_records_are_described_by_their_interval_and_kind():
    spec = importlib.util.spec_from_file_location("gz21_skill", ROOT / "scripts" / "gz21_skill.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    t0 = cftime.Datetime360Day(2, 1, 1)
    snaps = xr.Dataset(coords={"time": np.array([t0 + timedelta(hours=12 * n) for n in range(4)], dtype=object)})
    assert mod.describe_records(snaps) == "12-hourly snapshots"
    five = xr.Dataset({"time_bounds": (("time", "bnds"), np.array([[t0 + timedelta(days=5 * n + s) for s in (0, 5)]
                                                                     for n in range(3)], dtype=object))},
                      coords={"time": np.array([t0 + timedelta(days=5 * n + 2.5) for n in range(3)], dtype=object)})
    assert mod.describe_records(five) == "5-day means"


def _skill_cli(*args):
    return subprocess.run([sys.executable, "scripts/gz21_skill.py", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_skill_script_on_synthetic_runs(tmp_path):
    xf, yf = np.arange(8) * 0.5 + 0.25, np.arange(8) * 0.5 + 0.25
    xc, yc = np.arange(4) * 1.0 + 0.5, np.arange(4) * 1.0 + 0.5
    rng = np.random.default_rng(4)
    u, v = 0.1 + 0.05 * rng.standard_normal(6), np.zeros(6)    # v = 0: the first row's v has no south face
    _write_run(tmp_path / "truth", xf, yf, u, v)
    _write_run(tmp_path / "gz", xc, yc, u, v)                   # the truth itself: skill 1
    _write_run(tmp_path / "none", xc, yc, 0.5 * u, v)
    r = _skill_cli(tmp_path / "truth", tmp_path / "gz", tmp_path / "none", "--table", tmp_path / "t.md",
                   "--fig", tmp_path / "f.png")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["records"] == 6 and out["period_days"] == [360.0, 366.0]
    assert all(row["skill"] == pytest.approx(1.0, abs=1e-9) for row in out["rows"])
    assert (tmp_path / "f.png").stat().st_size > 0 and "| surface KE" in (tmp_path / "t.md").read_text()
    assert "(6 records: daily means)" in r.stdout and "d(GZ21, truth)" in r.stdout
    r = _skill_cli(tmp_path / "truth", tmp_path / "gz", tmp_path / "none", "--label", "GZ21 ours")
    assert r.returncode == 0 and "skill 1 - d(GZ21 ours)/d(none)" in r.stdout and "| GZ21 ours | none |" in r.stdout
    # no closure already equal to the truth: undefined, said so, no division by zero
    r = _skill_cli(tmp_path / "truth", tmp_path / "none", tmp_path / "gz", "--skip-days", 1)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0 and out["records"] == 5
    assert all(row["skill"] is None for row in out["rows"]) and "undefined" in r.stdout
    # user errors: one line, status 2
    r = _skill_cli(tmp_path / "truth", tmp_path / "gz", tmp_path / "missing")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "missing" in r.stderr
