"""The equivalent barotropic (EBT) vertical structure of each water column: the vertical
structure MOM6 computes in ``wave_speed`` with ``use_ebt_mode`` (``MOM_wave_speed.F90``) and
``VarMix`` keeps as ``ebt_struct``; Zhang et al. (2023) multiply their surface GZ21 forcing
by it (``CNN_VS = "ebt"``). Our own implementation of the same eigenproblem on z-levels.

**Eigenproblem.** F(z) [nondim] is the first (gravest) eigenfunction of the vertical-mode
problem for pressure and horizontal velocity,

    d/dz ( (1 / N2) dF/dz ) + F / c2 = 0,        -H < z < 0,

with dF/dz = 0 at the surface (MOM6: "Neumann condition for pressure modes", a rigid lid)
and F = 0 at the sea floor (MOM6: "Dirichlet condition for pressure modes", the surface
mode of a rough bottom), normalised to 1 at the top level as MOM6 does (its structure is
divided by its top-layer value). F decreases monotonically from 1 at the top towards 0 at the
floor: integrating the equation down from the surface, (1/N2) dF/dz = -int F / c2 < 0.

**Discretisation.** F_k at T levels k = 0 .. kb-1 (kb wet levels, thickness e3t_k [m]);
interface k (the W level between T levels k-1 and k, spacing e3w_k [m]) carries the reduced
gravity g'_k = N2_k e3w_k [m s-2]. Integrated over level k (MOM6's layer form, with N2 from
the model's ``bn2``):

    a_k (F_k - F_{k-1}) + c_k (F_k - F_{k+1}) = lam F_k,     lam = 1 / c2  [s2 m-2],
    a_k = 1 / (e3t_k g'_k),   c_k = 1 / (e3t_k g'_{k+1}),

with a_0 = 0 (surface) and, on the bottom level, F = 0 at the floor half a level below its
T point: g'_{kb} = N2_{kb-1} e3t_{kb-1} / 2 (MOM6 takes half the last interface's g', the
same on uniform levels).

**Analytic solution (the test).** Constant N over a flat bottom at depth H on n uniform
levels of thickness h = H / n: the interior rows read (2 F_k - F_{k-1} - F_{k+1}) / (N2 h2) =
lam F_k, and the top and bottom rows are the same with the ghosts F_{-1} = F_0 and
F_n = -F_{n-1}. F_k = cos(theta (k + 1/2)) satisfies the interior rows with
lam = 4 sin2(theta / 2) / (N2 h2); it is even about k = -1/2 (the top ghost holds) and,
with theta = pi / (2 n), odd about k = n - 1/2 (cos(theta n) = 0: the bottom ghost holds).
So the discrete structure is the continuous one, F(zeta) = cos(pi zeta / (2 H)) at the T
depths zeta_k = (k + 1/2) h, divided by its value at the top level, cos(pi h / (4 H)); and
c = 1 / sqrt(lam) tends to 2 N H / pi.

**Solution.** Inverse iteration from F = 1 (MOM6's first guess): the matrix is a weakly
diagonally dominant, irreducible M-matrix (strictly dominant on the bottom row), so the
Thomas algorithm needs no pivoting and its inverse is positive: every iterate stays positive
and converges to the positive eigenvector, the first mode, by the factor lam_1 / lam_2 per
iteration (1/9 for constant N). It stops when no level changes by more than ``EBT_TOL``
(relative to the top value) or after ``EBT_MAX_ITER`` iterations.

**Limits.** An interface with N2 <= ``EBT_N2_FLOOR_REL`` times the column's mean positive N2
takes that floor: F is then nearly uniform across it (MOM6 merges such layers, and F is
uniform through a merged layer). A column without positive N2, or with one wet level, takes
F = 1, the barotropic structure (MOM6 returns 0 there: its speed estimate is 0; we keep the
surface forcing, as a homogeneous column has no shear to prefer). Optionally, below
``filter_depth_m`` N2 may not increase with depth (MOM6 ``RESOLN_N2_FILTER_DEPTH``, off by
default there as here). F is 0 below the sea floor and on land.
"""
from __future__ import annotations

import numpy as np

from .kernels import kernel, prange

EBT_TOL = 1e-10                # convergence of the structure (largest change of a level, nondim)
EBT_MAX_ITER = 200
EBT_N2_FLOOR_REL = 1e-6        # N2 floor relative to the column's mean positive N2
WORK_LEVELS = 5                # a (then the forward multipliers), c, reciprocal pivots, iterate, solve
WORK_COLUMNS = 7               # wet levels, N2 floor, running N2 minimum, last N2, active, 1/top, change


def ebt_work(shape3: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Preallocated work space of ``ebt_profile`` for a tile of ``shape3`` = (nz, ny, nx)."""
    nz, ny, nx = shape3
    return np.zeros((ny, WORK_LEVELS, nz, nx)), np.zeros((ny, WORK_COLUMNS, nx))


@kernel
def ebt_profile(bn2, e3t, e3w, gdepw, tmask, filter_depth_m, j0, j1, i0, i1, work, prof):
    """prof[k, j, i] = F_k [nondim], the EBT structure of the column (j, i) for j0 <= j < j1,
    i0 <= i < i1 (module docstring), from N2 ``bn2`` [s-2] at W points (nz, ny, nx), level
    thicknesses ``e3t`` and W spacings ``e3w`` [m], W depths ``gdepw`` [m] (the N2 filter,
    below ``filter_depth_m`` [m] when >= 0) and ``tmask``; ``work`` from ``ebt_work``.

    A row's columns are solved together, the level loop outside the column loop, so that the
    sweeps run across columns; each column stops at its own convergence, so its result does
    not depend on its neighbours (nor on the tile)."""
    nz = prof.shape[0]
    levels, columns = work
    for j in prange(j0, j1):
        a, c, beta, x, y = levels[j, 0], levels[j, 1], levels[j, 2], levels[j, 3], levels[j, 4]
        kb, floor, n2min, n2last, active, r_top, change = (columns[j, 0], columns[j, 1], columns[j, 2],
                                                            columns[j, 3], columns[j, 4], columns[j, 5],
                                                            columns[j, 6])
        for i in range(i0, i1):
            n = 0
            while n < nz and tmask[n, j, i] > 0.0:
                n += 1
            gsum, depth = 0.0, 0.0                    # int N2 dz over the column's interfaces, their span
            for k in range(1, n):
                gsum += max(bn2[k, j, i], 0.0) * e3w[k]
                depth += e3w[k]
            kb[i] = n
            active[i] = 1.0 if gsum > 0.0 else 0.0    # else unstratified, one wet level, or land: F = 1
            floor[i] = EBT_N2_FLOOR_REL * gsum / depth if gsum > 0.0 else 0.0
            n2min[i] = max(bn2[1, j, i], floor[i]) if n > 1 else 0.0
            n2last[i] = 0.0
        # the matrix, a[k] below the diagonal, c[k] above it, a[k] + c[k] on it; a = c = 0 and
        # x = 0 below the floor and in inactive columns, so that the sweeps leave them at 0
        for k in range(nz):
            for i in range(i0, i1):
                a[k, i], c[k, i], x[k, i] = 0.0, 0.0, 0.0
        for k in range(1, nz):
            for i in range(i0, i1):
                if active[i] > 0.0 and k < kb[i]:
                    n2 = max(bn2[k, j, i], floor[i])
                    if filter_depth_m >= 0.0 and gdepw[k] > filter_depth_m and n2 > n2min[i]:
                        n2 = n2min[i]
                    else:
                        n2min[i] = n2
                    gp = n2 * e3w[k]
                    a[k, i] = 1.0 / (e3t[k] * gp)
                    c[k - 1, i] = 1.0 / (e3t[k - 1] * gp)
                    n2last[i] = n2
        for i in range(i0, i1):
            if active[i] > 0.0:
                kl = int(kb[i]) - 1
                c[kl, i] = 1.0 / (e3t[kl] * n2last[i] * 0.5 * e3t[kl])
        # Thomas factorisation, once: reciprocal pivots (beta) and the multipliers of the
        # forward sweep (into a), so that each iteration only multiplies and adds
        for i in range(i0, i1):
            beta[0, i] = 1.0 / (a[0, i] + c[0, i]) if active[i] > 0.0 else 1.0
            x[0, i] = active[i]
        for k in range(1, nz):
            for i in range(i0, i1):
                if active[i] > 0.0 and k < kb[i]:
                    m = a[k, i] * beta[k - 1, i]
                    beta[k, i] = 1.0 / (a[k, i] + c[k, i] - m * c[k - 1, i])
                    a[k, i] = m
                    x[k, i] = 1.0
                else:
                    beta[k, i] = 1.0
        # inverse iteration from F = 1
        for _ in range(EBT_MAX_ITER):
            for i in range(i0, i1):
                y[0, i] = x[0, i]
            for k in range(1, nz):                   # rows as 1-D views: the column loops vectorise
                yk, yu, xk, ak = y[k], y[k - 1], x[k], a[k]
                for i in range(i0, i1):
                    yk[i] = xk[i] + ak[i] * yu[i]
            for i in range(i0, i1):
                y[nz - 1, i] *= beta[nz - 1, i]
            for k in range(nz - 2, -1, -1):
                yk, yd, ck, bk = y[k], y[k + 1], c[k], beta[k]
                for i in range(i0, i1):
                    yk[i] = (yk[i] + ck[i] * yd[i]) * bk[i]
            for i in range(i0, i1):
                r_top[i] = 1.0 / y[0, i] if active[i] > 0.0 else 0.0
                change[i] = 0.0
            for k in range(1, nz):
                yk, xk = y[k], x[k]
                for i in range(i0, i1):
                    f = yk[i] * r_top[i]
                    change[i] = max(change[i], abs(f - xk[i]))
                    xk[i] = f if active[i] > 0.0 else xk[i]
            going = False
            for i in range(i0, i1):
                if change[i] < EBT_TOL:
                    active[i] = 0.0
                going = going or active[i] > 0.0
            if not going:
                break
        for k in range(nz):
            for i in range(i0, i1):
                if k >= kb[i]:
                    prof[k, j, i] = 0.0
                elif floor[i] == 0.0:
                    prof[k, j, i] = 1.0
                else:
                    prof[k, j, i] = x[k, i]
