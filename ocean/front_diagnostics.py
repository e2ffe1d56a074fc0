"""Diagnostics of a mixed-layer front spin-down (numpy; for analysis, not the time step).

All take interior arrays as the model's output writes them: 3-D ``[k, j, i]`` (levels, y, x),
depths in metres positive down, and a fixed layer depth ``hml`` (m), the initial mixed layer
of the set-up (``init.front_hml_m``), so that every run is measured over the same levels: the
T levels shallower than ``hml``.

- b = -g (rho(T, S, 0) - rho0) / rho0 (m s-2), the potential buoyancy;
- the ML-mean N^2 = (b_top - b_bottom) / (z_top - z_bottom) between the top and the deepest
  ML T level (s-2), reference/mle_front.md section 4 (b(0) - b(-H)) / H on the grid; FK08 raises
  its mean by (208/21) Ce M^4 / |f| per second;
- w'b' (m2 s-3): the covariance of w (averaged from its W faces to the T levels) and b, either
  over coarse blocks (``block_covariance``: <wb> - <w><b>, the subgrid flux BBZ24 learnt, here
  formed level by level) or about the along-front (x) mean (``along_front_covariance``), then
  thickness-weighted over the ML levels;
- the implied Ce = <w'b'>_ML / ((44/63) H^2 M^4 / |f|), FK08's ML-mean flux solved for Ce with
  M^2 = |d b_ML / dy| of the along-front mean (reference/mle_front.md section 4), both sides
  averaged over the channel before the ratio; and the Ce of a restratification rate.
"""
from __future__ import annotations

import numpy as np

from .eos import GRAV, rho_insitu
from .mle import MU_ML_MEAN       # the ML mean of FK08's mu(z), 44/63

N2_RATE_FACTOR = 208.0 / 21.0     # d<N^2>_ML/dt = (208/21) Ce M^4 / |f| under FK08


def buoyancy(T: np.ndarray, S: np.ndarray | float, eos) -> np.ndarray:
    """Potential buoyancy b = -g (rho(T, S, 0) - rho0) / rho0 (m s-2)."""
    return -GRAV * (rho_insitu(T, S, 0.0, eos) - eos.rho0) / eos.rho0


def ml_level_count(gdept: np.ndarray, hml: float) -> int:
    """Number of T levels shallower than ``hml`` (m): the levels of the mixed layer."""
    n = int(np.searchsorted(np.asarray(gdept), hml))
    if n < 2:
        raise ValueError(f"a mixed layer of {hml:g} m holds fewer than 2 T levels (gdept {gdept[:3]} ...)")
    return n


def ml_mean_n2(b: np.ndarray, gdept: np.ndarray, hml: float) -> np.ndarray:
    """The ML-mean N^2 (s-2) of ``b`` [..., k, j, i]: (b_top - b_deepest ML level) / their distance."""
    n = ml_level_count(gdept, hml)
    return (b[..., 0, :, :] - b[..., n - 1, :, :]) / (gdept[n - 1] - gdept[0])


def ml_mean(a: np.ndarray, e3t: np.ndarray, gdept: np.ndarray, hml: float) -> np.ndarray:
    """Thickness-weighted mean of ``a`` [..., k, j, i] over the ML levels."""
    n = ml_level_count(gdept, hml)
    w = np.asarray(e3t[:n], dtype=float)
    return np.tensordot(w / w.sum(), a[..., :n, :, :], axes=([0], [a.ndim - 3]))


def w_at_t(w: np.ndarray) -> np.ndarray:
    """w (m s-1) from the top faces of the levels (W points, [..., k, j, i]) to the T levels:
    the mean of the top and bottom faces, the bottom face of the last level taken as 0."""
    below = np.concatenate([w[..., 1:, :, :], np.zeros_like(w[..., :1, :, :])], axis=-3)
    return 0.5 * (w + below)


def block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` blocks of the last two axes (sizes divisible by it)."""
    *lead, ny, nx = a.shape
    if ny % factor or nx % factor:
        raise ValueError(f"a {ny}x{nx} grid does not divide into {factor}x{factor} blocks")
    return a.reshape(*lead, ny // factor, factor, nx // factor, factor).mean(axis=(-3, -1))


def block_covariance(w: np.ndarray, b: np.ndarray, factor: int) -> np.ndarray:
    """<w b> - <w><b> over blocks of ``factor`` points (level by level)."""
    return block_mean(w * b, factor) - block_mean(w, factor) * block_mean(b, factor)


def along_front_covariance(w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The x-mean of w'b' with primes the deviations from the x-mean: shape [..., k, j]."""
    return (w * b).mean(axis=-1) - w.mean(axis=-1) * b.mean(axis=-1)


def front_m2(b: np.ndarray, y: np.ndarray, e3t: np.ndarray, gdept: np.ndarray, hml: float) -> np.ndarray:
    """M^2 = d b_ML / dy (s-2) of the along-front (x) mean of the ML-mean b: shape [..., j]."""
    bml = ml_mean(b, e3t, gdept, hml).mean(axis=-1)
    return np.gradient(bml, y, axis=-1)


def implied_ce(wb_ml: np.ndarray, m2: np.ndarray, hml: float, f: float) -> float:
    """Ce = <w'b'_ML> / ((44/63) H^2 <M^4> / |f|), both averaged over all the values given."""
    return float(np.mean(wb_ml) / (MU_ML_MEAN * hml ** 2 * np.mean(m2 ** 2) / abs(f)))


def rate_ce(dn2_dt: float, m4: float, f: float) -> float:
    """Ce of a restratification rate d<N^2>_ML/dt (s-3) at mean M^4 (s-4): FK08's rate solved for Ce."""
    return float(dn2_dt * abs(f) / (N2_RATE_FACTOR * m4))
