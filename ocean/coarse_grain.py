"""Area-weighted coarse-graining of a fine rectilinear grid onto a coarser one (offline analysis).

A coarse cell's value is the mean of the fine cells' values weighted by each fine cell's area
times the fraction of it inside the coarse cell (the overlap, measured along each axis in the
grid's own coordinates: degrees of longitude and latitude for DINO) and by its wet mask. The
grids need not be nested. DINO's 1/4 and 1 degree grids almost are: every fourth fine T row is
a coarse T row and four fine columns make a coarse one, so a coarse cell holds 4 x 3 whole fine
cells and two half rows (the coarse cell's north and south faces pass through fine T points).

Both grids must span the same x range (DINO: 0 to 50 degrees east); rows of either grid beyond
the other's range get no weight. Whole arrays, numpy matrix products; used by
``scripts/gz21_skill.py``, never in a time step.
"""
from __future__ import annotations

import numpy as np


def cell_edges(centres: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Edges (n + 1,) of the cells of ``centres`` (n,) whose upper faces are ``faces`` (n,)
    (U points east of T, V points north of T); the first lower edge is mirrored about the first
    centre."""
    centres, faces = np.asarray(centres, float), np.asarray(faces, float)
    return np.concatenate(([2.0 * centres[0] - faces[0]], faces))


def overlap(fine_edges: np.ndarray, coarse_edges: np.ndarray) -> np.ndarray:
    """(n_coarse, n_fine) fraction of each fine cell (along one axis) inside each coarse cell."""
    lo = np.maximum(coarse_edges[:-1, None], fine_edges[None, :-1])
    hi = np.minimum(coarse_edges[1:, None], fine_edges[None, 1:])
    return np.clip(hi - lo, 0.0, None) / np.diff(fine_edges)[None, :]


class CoarseGrainer:
    """Coarse-grains fields of a fine grid's T points onto a coarse grid's T points.

    fine_x_edges, fine_y_edges, coarse_x_edges, coarse_y_edges: cell edges (n + 1,) along x and y
    (:func:`cell_edges`); fine_area (ny, nx): fine cell areas (m2); fine_wet (ny, nx): fine ocean.
    """

    def __init__(self, fine_x_edges, fine_y_edges, coarse_x_edges, coarse_y_edges, fine_area, fine_wet):
        self.wx = overlap(np.asarray(fine_x_edges, float), np.asarray(coarse_x_edges, float))   # (NX, nx)
        self.wy = overlap(np.asarray(fine_y_edges, float), np.asarray(coarse_y_edges, float))   # (NY, ny)
        self.weight = np.asarray(fine_area, float) * np.asarray(fine_wet, bool)
        self.wet_weight = self._sum(self.weight)
        self.coverage = self.wet_weight / np.where(self._sum(np.asarray(fine_area, float)) > 0,
                                                   self._sum(np.asarray(fine_area, float)), 1.0)

    def _sum(self, a: np.ndarray) -> np.ndarray:
        return self.wy @ a @ self.wx.T

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """Coarse-grained ``a`` (..., ny, nx) (NaN on land is ignored): (..., NY, NX), NaN where the
        coarse cell holds no fine ocean."""
        a = np.where(self.weight > 0, np.nan_to_num(np.asarray(a, float)), 0.0)
        s = self._sum(a * self.weight)
        return np.where(self.wet_weight > 0, s / np.where(self.wet_weight > 0, self.wet_weight, 1.0), np.nan)
