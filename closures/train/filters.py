"""The area-weighted Gaussian filter of GZ21's training data (Guillaumin & Zanna 2021,
reference/closures.md section A): filt(q) = G(q w) / G(w), with G a Gaussian of standard
deviation ``sigma`` fine points (index space; GZ21: factor / 2) and w the wet cell area.

The boundaries reflect (scipy's ``mode='reflect'``; x wraps when the grid is periodic in x);
GZ21 padded with zeros, which the normalisation by G(w) makes nearly the same. With a
reflecting or wrapping boundary G is symmetric and sums to one along every row and column, so:

- a uniform field is returned unchanged (exactly, up to round-off), land or not;
- the filter conserves the integral weighted by the filtered area: sum(G(w) filt(q)) =
  sum(w q) (sum(G(w) q) = sum(w q) too for q = 1), the area-weighted mean when w is uniform.

Offline analysis on whole 2-D arrays (scipy.ndimage), never in a time step.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def gaussian(a: np.ndarray, sigma: float, periodic_x: bool) -> np.ndarray:
    """Gaussian smoothing of the last two axes of ``a`` [..., y, x], ``sigma`` in grid points."""
    sig = (0.0,) * (a.ndim - 2) + (sigma, sigma)
    modes = ("reflect",) * (a.ndim - 1) + ("wrap" if periodic_x else "reflect",)
    return ndimage.gaussian_filter(a, sig, mode=modes, truncate=4.0)


def weighted_gaussian(q: np.ndarray, weight: np.ndarray, sigma: float, periodic_x: bool) -> np.ndarray:
    """filt(q) = G(q w) / G(w) over [..., y, x] (``weight`` w (y, x), e.g. the wet area in m2);
    0 where G(w) = 0 (no wet cell within reach)."""
    q = np.nan_to_num(np.asarray(q, float))
    w = np.asarray(weight, float)
    gw = gaussian(w, sigma, periodic_x)
    num = gaussian(q * w, sigma, periodic_x)
    return np.where(gw > 0, num / np.where(gw > 0, gw, 1.0), 0.0)
