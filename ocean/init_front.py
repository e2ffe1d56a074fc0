"""Initial state of a mixed-layer front spin-down (``[init] kind = "front"``, box grids).

The set-up of Boccaletti, Ferrari & Fox-Kemper (2007) and Fox-Kemper, Ferrari & Hallberg
(2008) as the project's reference recommends it (reference/mle_front.md, section 6): a
mixed layer of depth H over a stratified interior with flat isotherms, holding ``n`` fronts
across a channel of width L_y (walls at y = 0 and L_y, re-entrant in x). With depth d (m,
positive down) and y (m) from the southern wall::

    d <  H:  T = t0 + dt (1 - cos(n pi y / L_y)) / 2 + dtdz_ml (d - H)
    d >= H:  T = t0 + dtdz_deep (d - H) + dt (1 - cos(n pi y / L_y)) / 2 exp(-(d - H) / D)
    S = s0

so the fronts have no gradient at the walls, each is L_y / n wide, the warm (light) and cold
sides alternate. With ``front_base_m`` D = 0 the isotherms are flat below the ML and the light
side sits on a step of dt at the ML base (the textbook set-up); D > 0 continues the front below
the base, fading over D metres, so the base has no step (a hydrostatic model whose levels are
much thinner than D resolves the transition; a one-level step drives grid-scale noise). With a linear
equation of state b = g alpha (T - T_ref), alpha = a0 / rho0, so M^2 = |db/dy| peaks at
g alpha dt n pi / (2 L_y), N^2_ML = -g alpha dtdz_ml and N^2 below = -g alpha dtdz_deep.

``front_balanced`` starts the fronts in thermal-wind balance with no flow below the ML: from
the noiseless y-profile, the model's own hydrostatic pressure p_h / rho0 (the trapezoidal sum
of ``momentum.hydrostatic_pressure``), the sea surface height eta = -p_h(k_b) / g + const with
k_b the first level below the ML when D = 0 (so the pressure gradient vanishes there and,
isotherms being flat, everywhere below), the bottom level when D > 0 (no flow at the bottom),
and u_k in geostrophic balance with d(g eta + p_h,k)/dy as the C-grid's Coriolis term sees it
(``balanced_flow``), ubar the depth mean of u. Otherwise the state starts at rest and adjusts.

``front_noise_k`` adds white noise of that standard deviation (K) to T in the ML levels (T
points shallower than H), drawn by (seed, level, global j, global i) with the counter-based
generator of ``random_fields``, so the initial state is the same on any number of ranks.

Called once by ``Model.initialise``; numpy, not part of the time step.
"""
from __future__ import annotations

import numpy as np

from .config import ConfigError
from .eos import GRAV, rho_insitu
from .random_fields import normal_field


def front_temperature(y: np.ndarray, depth: np.ndarray, ly: float, ini) -> np.ndarray:
    """T (degC) of the noiseless front at depths ``depth`` (m, (nz,)) and positions ``y`` (m,
    (ny,)) from the southern wall, in a channel ``ly`` (m) wide: shape (nz, ny)."""
    d = np.asarray(depth, dtype=float)[:, None]
    s = 0.5 * (1.0 - np.cos(ini.front_count * np.pi * np.asarray(y, dtype=float) / ly))[None, :]
    h = ini.front_hml_m
    ml = ini.t0_degc + ini.front_dt_k * s + ini.front_dtdz_ml_k_m * (d - h)
    below = np.maximum(d - h, 0.0)
    tail = np.exp(-below / ini.front_base_m) if ini.front_base_m > 0 else 0.0
    deep = ini.t0_degc + ini.front_dtdz_deep_k_m * (d - h) + ini.front_dt_k * s * tail
    return np.where(d < h, ml, deep)


def hydrostatic_profile(T: np.ndarray, S: np.ndarray, gdept: np.ndarray, e3w: np.ndarray, eos) -> np.ndarray:
    """p_h / rho0 (m2 s-2) at T levels of (nz, ny) profiles, as ``momentum.hydrostatic_pressure``
    sums it: g e3w[0] rhd[0] at the top level, then the trapezoidal rule between T points."""
    rhd = (rho_insitu(T, S, gdept[:, None], eos) - eos.rho0) / eos.rho0
    ph = np.empty_like(rhd)
    ph[0] = GRAV * e3w[0] * rhd[0]
    for k in range(1, rhd.shape[0]):
        ph[k] = ph[k - 1] + GRAV * e3w[k] * 0.5 * (rhd[k] + rhd[k - 1])
    return ph


def balanced_flow(T: np.ndarray, S: np.ndarray, y: np.ndarray, ly: float, fcor: np.ndarray, grid, ini, eos):
    """Thermal-wind u (m s-1, (nz, ny)) and the sea surface height (m, (ny,), zero mean) of the
    noiseless front profiles ``T``, ``S`` (nz, ny) at rows ``y`` (m) between walls at 0 and
    ``ly``, with no pressure gradient below the ML.

    Balanced as the C-grid sees it: at every V point between rows j and j+1 the mean of f u over
    the two rows equals -(p_j+1 - p_j) / dy (exact for uniform f). That fixes u up to a mode
    alternating from row to row, chosen as the nearest fit to the centred differences
    -(p_j+1 - p_j-1) / (2 dy f) (the walls as mirrors)."""
    ph = hydrostatic_profile(T, S, grid.gdept, grid.e3w, eos)
    kb = int(np.searchsorted(grid.gdept, ini.front_hml_m))          # first T level at or below H
    kb = T.shape[0] - 1 if ini.front_base_m > 0 else min(kb, T.shape[0] - 1)
    eta = -ph[kb] / GRAV
    eta -= eta.mean()
    p = GRAV * eta[None, :] + ph
    grad_v = (p[:, 1:] - p[:, :-1]) / np.diff(y)[None, :]            # at the V points between rows
    alt = (-1.0) ** np.arange(y.size)
    # q = f u: q_j+1 + q_j = -2 grad_v,j, i.e. (-1)^j q_j = q_0 + 2 sum_{i<j} (-1)^i grad_v,i
    r = np.zeros_like(p)
    r[:, 1:] = 2.0 * np.cumsum(alt[None, :-1] * grad_v, axis=1)
    q = r * alt[None, :]
    pp = np.pad(p, ((0, 0), (1, 1)), mode="edge")
    yy = np.concatenate([[-y[0]], y, [2.0 * ly - y[-1]]])
    q_centred = -(pp[:, 2:] - pp[:, :-2]) / (yy[2:] - yy[:-2])[None, :]
    q += ((q_centred - q) * alt[None, :]).mean(axis=1)[:, None] * alt[None, :]
    return q / fcor[None, :], eta


def set_front_state(model) -> None:
    """Fill ``model.state`` (T, S, u, ssh, ubar; v = vbar = 0) with the front of ``[init]``."""
    g, s, ini, eos = model.grid, model.state, model.cfg.init, model.eos
    gh = g.global_h
    y = gh.y_t
    ly = float(gh.y_v[-1])                         # the northern wall
    T1 = front_temperature(y, g.gdept, ly, ini)
    S1 = np.full_like(T1, ini.s0_psu)
    u1 = np.zeros_like(T1)
    eta1 = np.zeros(y.size)
    if ini.front_balanced:
        fcor = gh.fcor_u[:, 0]
        if np.any(fcor == 0.0):
            raise ConfigError("key 'init.front_balanced' = true: f is 0 on some row (grid.f0, grid.beta); "
                              "thermal-wind balance needs f != 0")
        u1, eta1 = balanced_flow(T1, S1, y, ly, fcor, g, ini, eos)
    rows = np.clip(np.arange(g.shape2[0]) - g.nhalo + g.j0, 0, y.size - 1)   # tile rows -> global rows
    s.T[:] = T1[:, rows, None] * g.tmask
    s.S[:] = S1[:, rows, None] * g.tmask
    s.u[:] = u1[:, rows, None] * g.umask
    s.v[:] = 0.0
    s.ssh[:] = eta1[rows, None] * g.tmask[0]
    hu = np.where(g.hu > 0, g.hu, 1.0)
    s.ubar[:] = (s.u * g.e3t[:, None, None]).sum(0) / hu * (g.hu > 0)
    s.vbar[:] = 0.0
    if ini.front_noise_k > 0.0:
        noise = np.zeros(g.shape3)
        normal_field(ini.front_seed, 0, g.j0, g.i0, g.nhalo, noise)
        ml = (g.gdept < ini.front_hml_m)[:, None, None]
        s.T += ini.front_noise_k * noise * ml * g.tmask
    model.exchange_state()
