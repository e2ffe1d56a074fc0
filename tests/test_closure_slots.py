"""The step's closure slots: physics closures with no net (in-process Python objects) and
several net closures in one run, each with its own mode and ML ranks."""
import json

import numpy as np
import pytest
import xarray as xr

from closures.zoo import bbz24_size_closure, stencil_closure
from ocean import config
from ocean.closure_slots import EDDY_VELOCITY, TRACER, Closure
from ocean.model import Model

from conftest import BOX, ROOT, cfg_from, run_mpi


class EddyStreamfunction(Closure):
    """u* = -d(psi)/dz, v* = -d(phi)/dz from random streamfunctions at the W points of U
    and V columns that vanish at the surface and the sea floor: a depth-integrated eddy
    transport of zero, as GM and mixed-layer eddy closures give."""
    name = "eddy_psi"
    slots = frozenset({EDDY_VELOCITY})

    def __init__(self, grid, amplitude_m2_s: float, seed: int = 0):
        rng = np.random.default_rng(seed)
        g = grid
        self.u = np.zeros(g.shape3)
        self.v = np.zeros(g.shape3)
        for star, kbot in ((self.u, g.kbot_u), (self.v, g.kbot_v)):
            psi = amplitude_m2_s * rng.standard_normal((g.nz + 1,) + g.shape2)
            k = np.arange(g.nz + 1)[:, None, None]
            psi[(k == 0) | (k >= kbot[None])] = 0.0
            star[:] = -(psi[:-1] - psi[1:]) / g.e3t[:, None, None]
        self.u *= g.umask
        self.v *= g.vmask
        self.j, self.i = g.interior

    def eddy_velocity(self, ueiv, veiv):
        ueiv[:, self.j, self.i] += self.u[:, self.j, self.i]
        veiv[:, self.j, self.i] += self.v[:, self.j, self.i]


class Warming(Closure):
    """dT = rate (degC s-1) on every wet point."""
    name = "warming"
    slots = frozenset({TRACER})

    def __init__(self, grid, rate: float):
        self.grid, self.rate = grid, rate

    def tracer_tendency(self, Ta, Sa, dt):
        j, i = self.grid.interior
        Ta[:, j, i] += dt * self.rate * self.grid.tmask[:, j, i]


def _heat(m):
    g = m.grid
    return float(np.sum(g.interior_of(m.state.T * g.tmask * g.e3t[:, None, None] * g.e1e2t[None])))


def test_eddy_velocity_slot_moves_tracers_and_conserves_them(warm_jit):
    cfg = cfg_from(BOX, grid__bathymetry="ridge", momentum__coriolis=False)
    plain, m = Model(cfg), Model(cfg)
    m.add_closure(EddyStreamfunction(m.grid, amplitude_m2_s=2.0))
    g = m.grid
    h0, through_surface = _heat(m), 0.0
    for n in range(10):
        T0 = m.state.T[0].copy()
        m.step()
        plain.step()
        if n == 0:       # the slot acts on the tracers only: the first step's flow is untouched
            assert np.array_equal(m.state.u, plain.state.u) and np.array_equal(m.state.ssh, plain.state.ssh)
        # the linear free surface's only leak: the resolved w(0) T(0) (w* = 0 at the surface)
        through_surface += m.dt * float(np.sum(g.interior_of(g.e1e2t * m.wadv[0] * T0 * g.tmask[0])))
    assert abs(_heat(m) - h0 + through_surface) <= 1e-13 * abs(h0)
    dT = np.max(np.abs(m.grid.interior_of(m.state.T - plain.state.T)))
    assert dT > 1e-4                                          # and the eddy velocity does move heat


def test_eddy_velocity_slot_keeps_a_uniform_tracer_uniform(warm_jit):
    """w* follows from continuity with u*: a uniform tracer sees no divergence anywhere."""
    cfg = cfg_from(BOX, grid__bathymetry="ridge", init__kind="uniform", momentum__coriolis=False)
    m = Model(cfg)
    m.add_closure(EddyStreamfunction(m.grid, amplitude_m2_s=2.0, seed=3))
    for _ in range(5):
        m.step()
    T = m.grid.interior_of(m.state.T)[m.grid.interior_of(m.grid.tmask) > 0]
    assert np.max(np.abs(T - cfg.init.t0_degc)) <= 1e-12 * cfg.init.t0_degc


def test_tracer_slot_adds_its_tendency_exactly(warm_jit):
    cfg = cfg_from(BOX, init__kind="uniform")
    m = Model(cfg)
    rate = 1e-7                                               # degC s-1
    m.add_closure(Warming(m.grid, rate))
    h0 = _heat(m)
    for _ in range(4):
        m.step()
    g = m.grid
    volume = float(np.sum(g.interior_of(g.tmask * g.e3t[:, None, None] * g.e1e2t[None])))
    assert abs((_heat(m) - h0) - 4 * m.dt * rate * volume) <= 1e-10 * abs(h0)
    T = g.interior_of(m.state.T)[g.interior_of(g.tmask) > 0]
    assert np.allclose(T, cfg.init.t0_degc + 4 * m.dt * rate, rtol=0, atol=1e-12)


def test_two_closures_in_one_run(tmp_path, warm_jit):
    """The stencil closure in-process on the momentum and a 2-D net served async by an ML
    rank, whose output wb (no slot) becomes an output field; both report their timers."""
    stencil = stencil_closure(tmp_path / "stencil5.pt", nz=36)
    bbz = bbz24_size_closure(tmp_path / "bbz.pt")
    cfg = tmp_path / "two.toml"
    cfg.write_text((ROOT / "configs" / "dino_r4.toml").read_text().replace('mode = "mean"', 'mode = "snapshot"')
                   .replace("interval_days = 30", "interval_days = 0.25")
                   + f'\n[[closure]]\nmodel_file = "{stencil}"\nmode = "inprocess"\n'
                   + f'\n[[closure]]\nmodel_file = "{bbz}"\nmode = "async"\nml_ranks = 1\n')
    typed = config.load(cfg)
    assert [c.mode for c in typed.closures] == ["inprocess", "async"] and typed.ml_ranks == 1
    out = tmp_path / "run"
    r = run_mpi(2, "run", cfg, "--out", out, "--steps", "12", "--set", 'output.fields=["zos", "wb"]')
    assert r.returncode == 0, r.stderr[-3000:]
    assert "closure stencil5, mode inprocess" in r.stdout and "closure bbz24_size, mode async" in r.stdout
    report = json.loads((out / "coupling_timers.json").read_text())
    assert [c["closure"] for c in report["closures"]] == ["stencil5", "bbz24_size"]
    assert len(report["closures"][1]["ml"]) == 1 and report["closures"][1]["ml"][0]["batches"] > 0
    # the summary and the log say how long the ocean waited for the ML group (the remote closure only)
    waited = json.loads((out / "summary.json").read_text())["ocean_waited_for_ml"]
    wait_s = report["closures"][1]["ocean"][0]["seconds"].get("wait", 0.0)
    assert waited["bbz24_size"]["seconds"] == pytest.approx(wait_s)
    assert 0 <= waited["bbz24_size"]["pct_of_wall"] < 100
    assert "closure bbz24_size: the ocean waited" in r.stdout and "closure stencil5: the ocean waited" not in r.stdout
    ds = xr.open_dataset(out / "output.nc")
    wb = ds.wb.isel(time=-1).values
    assert ds.wb.attrs["units"] == "m2 s-3" and np.isfinite(wb[~np.isnan(wb)]).all() and np.nanmax(np.abs(wb)) > 0
    r = run_mpi(2, "run", cfg, "--out", tmp_path / "bad", "--steps", "1", "--set", "closure.mode=sync")
    assert r.returncode == 2 and "closure.0.mode" in r.stderr
