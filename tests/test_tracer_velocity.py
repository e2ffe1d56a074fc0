"""time.tracer_velocity: T and S advected by the mean of u(n) and u(n+1) ('centred') or by u(n+1)
('new'). With the forward pressure gradient, 'new' is a forward-backward pair for internal
gravity waves (neutral), 'centred' amplifies them by about (omega dt)^2 / 4 a step. Checked on
inviscid internal waves seeded by grid-scale noise in a stratified box; and 'centred' is the
default."""
import numpy as np

from ocean import config
from ocean.model import Model

from conftest import cfg_from

# 12 x 12 cells of 2 km, 10 levels of 10 m, N^2 = 1e-4 s-2, no viscosity or diffusion:
# the fastest grid-scale internal wave has omega dt ~ 0.3 at dt = 600 s
WAVES = {
    "grid": {"kind": "box", "nx": 12, "ny": 12, "dx_m": 2e3, "dy_m": 2e3, "nz": 10, "depth_m": 100.0,
             "dz_top_m": 0.0, "f0": 1e-4, "beta": 0.0, "periodic_x": True},
    "time": {"dt_s": 600.0},
    "eos": {"kind": "linear"},
    "init": {"kind": "front", "t0_degc": 15.0, "front_hml_m": 50.0, "front_dt_k": 0.0,
             "front_dtdz_ml_k_m": -0.063, "front_dtdz_deep_k_m": -0.063, "front_noise_k": 0.01},
    "forcing": {"kind": "none"},
    "momentum": {"viscosity": "none", "bottom_drag_cd": 0.0, "vertical_viscosity_m2_s": 0.0},
    "tracers": {"diff_velocity_m_s": 0.0, "vertical_diffusivity_m2_s": 0.0},
}


def _kinetic_energy(m):
    g = m.grid
    return float((g.interior_of(m.state.u) ** 2).sum() + (g.interior_of(m.state.v) ** 2).sum())


def test_internal_waves_grow_with_the_centred_velocity_and_not_with_the_new_one():
    ke = {}
    for how in ("centred", "new"):
        m = Model(cfg_from(WAVES, time__tracer_velocity=how))
        series = []
        for n in range(240):
            m.step()
            if n % 40 == 39:
                series.append(_kinetic_energy(m))
        ke[how] = np.array(series)
    assert ke["centred"][-1] > 10 * ke["centred"][0]          # growing
    assert ke["new"][-1] < 2 * ke["new"][0]                    # not growing
    assert ke["new"].max() < 0.1 * ke["centred"][-1]


def test_centred_is_the_default():
    assert config.from_dict({}).time.tracer_velocity == "centred"
