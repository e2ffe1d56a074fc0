"""Online skill of a closure against a truth, relative to the run without it (offline analysis).

For a quantity Q (a map, or a set of values) the distance d(run, truth) is one of

- ``mean``: |area mean of Q_run - area mean of Q_truth|;
- ``w1``: the Wasserstein-1 distance between the area-weighted distributions of Q's values over
  the ocean points (the integral of |F_run - F_truth| of their cumulative distributions), the
  distributional distance of the pyqg parameterization benchmarks (Ross et al. 2023,
  ``online_metrics.diagnostic_differences``: scipy's ``wasserstein_distance`` of the values
  flattened over space and the last time steps; theirs is unweighted on a uniform grid);
- ``rms``: the area-weighted rms of Q_run - Q_truth (where the pattern is, which the two others
  do not see);

and the skill is, as those benchmarks' ``diagnostic_similarities``,
``1 - d(closure, truth) / d(none, truth)``: 1 for a closure that reaches the truth, 0 for no
better than no closure, negative for worse. When the run without closure already equals the
truth (d(none, truth) = 0, or below a round-off tolerance) the skill is undefined: :func:`skill`
returns NaN (JSON null), never a division by zero.

Surface KE and EKE (m2 s-2) come from records of surface u, v moved to T points: KE is the time
mean of (u^2 + v^2) / 2, EKE the time mean of the squared departures from the period mean, / 2.
"""
from __future__ import annotations

import math

import numpy as np


def velocity_at_t(u: np.ndarray, v: np.ndarray, periodic_x: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """u at U points and v at V points (..., ny, nx) (NaN on land counts as 0) averaged onto T
    points: u of the west and east faces, v of the south and north faces (no face south of the
    first row: 0, a wall); the west face of the first column is the last column's east face
    when ``periodic_x``, else 0."""
    u, v = np.nan_to_num(np.asarray(u, float)), np.nan_to_num(np.asarray(v, float))
    west = np.roll(u, 1, axis=-1)
    if not periodic_x:
        west[..., 0] = 0.0
    south = np.zeros_like(v)
    south[..., 1:, :] = v[..., :-1, :]
    return 0.5 * (west + u), 0.5 * (south + v)


def surface_energies(u_t: np.ndarray, v_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time-mean KE and EKE maps (ny, nx) from records (nt, ny, nx) of u, v at T points (m s-1)."""
    ke = 0.5 * np.mean(u_t ** 2 + v_t ** 2, axis=0)
    eke = 0.5 * np.mean((u_t - u_t.mean(0)) ** 2 + (v_t - v_t.mean(0)) ** 2, axis=0)
    return ke, eke


def area_mean(q: np.ndarray, area: np.ndarray, mask: np.ndarray) -> float:
    """Area-weighted mean of ``q`` over ``mask`` (the last two axes are y, x)."""
    w = np.broadcast_to(area * mask, q.shape)
    return float((q * w).sum() / w.sum())


def wasserstein1(a, b, wa=None, wb=None) -> float:
    """Wasserstein-1 distance between the empirical distributions of values ``a`` and ``b`` with
    weights ``wa``, ``wb`` (default equal): the integral of |F_a(x) - F_b(x)| dx of their
    cumulative distribution functions (units of the values)."""
    a, b = np.ravel(np.asarray(a, float)), np.ravel(np.asarray(b, float))
    wa = np.ones(a.size) if wa is None else np.ravel(np.asarray(wa, float))
    wb = np.ones(b.size) if wb is None else np.ravel(np.asarray(wb, float))
    if a.size == 0 or b.size == 0 or wa.sum() <= 0 or wb.sum() <= 0:
        raise ValueError("wasserstein1 needs two non-empty sets of values with positive weights")
    x = np.sort(np.concatenate([a, b]))

    def cdf(vals, w):
        order = np.argsort(vals)
        cw = np.concatenate(([0.0], np.cumsum(w[order]) / w.sum()))
        return cw[np.searchsorted(vals[order], x[:-1], side="right")]

    return float(np.sum(np.abs(cdf(a, wa) - cdf(b, wb)) * np.diff(x)))


def distance(kind: str, q: np.ndarray, truth: np.ndarray, area: np.ndarray, mask: np.ndarray) -> float:
    """d(q, truth) of ``kind`` 'mean', 'w1' or 'rms' over the points of ``mask`` (maps (ny, nx), or
    records (nt, ny, nx) pooled over time for 'w1' and 'mean'); ``area`` (ny, nx) weights the points."""
    if kind == "mean":
        return abs(area_mean(q, area, mask) - area_mean(truth, area, mask))
    w = np.broadcast_to(area * mask, q.shape)
    sel = w > 0
    if kind == "w1":
        return wasserstein1(q[sel], truth[sel], w[sel], w[sel])
    if kind == "rms":
        return float(np.sqrt(((q - truth)[sel] ** 2 * w[sel]).sum() / w[sel].sum()))
    raise ValueError(f"unknown distance {kind!r} (mean, w1, rms)")


def skill(d_closure: float, d_none: float, atol: float = 0.0) -> float:
    """``1 - d_closure / d_none``; NaN when ``d_none`` <= ``atol`` (the run without closure already
    equals the truth, to round-off ``atol`` in the units of d: there is nothing to improve on, and
    the ratio is undefined)."""
    if not d_none > atol:
        return math.nan
    return 1.0 - d_closure / d_none
