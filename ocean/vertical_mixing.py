"""Vertical mixing: the coefficients and the one implicit solver of momentum and tracers.

Coefficients (m2/s) live at W points, ``[k]`` on the top face of level k, 0 at k = 0 and
0 across land or the sea floor (a zero coefficient decouples the levels it separates):

- ``avm_u``, ``avm_v``: vertical viscosity at the W points of U and V columns, the
  constant background ``momentum.vertical_viscosity_m2_s`` on wet faces;
- ``avt``: vertical diffusivity at the W points of T columns, the background
  ``tracers.vertical_diffusivity_m2_s`` or, where N2 < 0, the convective
  ``tracers.convection_diffusivity_m2_s`` (NEMO's enhanced vertical diffusion).

That is ``vertical_mixing.scheme = "convective"`` (the analytic cases). With ``"tke"``
(DINO, NEMO's ``ln_zdftke``) the coefficients come each step from the TKE closure
(``zdf_tke.py``; the two backgrounds above are its minima) and the enhanced vertical
diffusion ``vertical_mixing.evd_m2_s`` where N2 <= -1e-12 (``zdf_evd.py``), on momentum too
with ``evd_momentum``: ``avm`` at the W points of T columns, averaged to U and V columns.

One backward-Euler solver (:func:`solve_implicit`, a Thomas algorithm; compare Veros's
``core.utilities.solve_implicit``) serves both: for a column x on levels 0..nz-1

    x[k] - dt/e3t[k] * (K[k] (x[k-1] - x[k]) / e3w[k] - K[k+1] (x[k] - x[k+1]) / e3w[k+1])
        = x*[k] (+ dt * tau / (rho0 e3t[0]) at k = 0)  (- dt r_b x[k] / e3t[k] at k = kbot-1)

with, for momentum, the surface stress tau (N/m2) as a flux into level 0 and the quadratic
bottom drag r_b = Cd sqrt(|u_b|^2 + ke0) (m/s) on the bottom level, taken from the
step-start velocity (:func:`bottom_drag`). Land levels are identity rows, so the sweep runs
along i for a whole row of columns at once (prange over j).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import fields
from .kernels import U1, inline_kernel, kernel, prange
from .zdf_evd import evd_coefficients
from .zdf_tke import TKE


@kernel
def convective_diffusivity(bn2, tmask, kz_bg, kz_conv, nhalo, avt):
    """K_z (m2/s) at W points of T columns: ``kz_bg``, or ``kz_conv`` where N2 (s-2) < 0;
    0 at k = 0 and across land. Interior only."""
    nz, nj, ni = bn2.shape
    for k in prange(nz):
        for j in range(nhalo, nj - nhalo):
            for i in range(nhalo, ni - nhalo):
                if k == 0:
                    avt[k, j, i] = 0.0
                else:
                    kz = kz_conv if bn2[k, j, i] < 0.0 else kz_bg
                    avt[k, j, i] = kz * tmask[k, j, i] * tmask[k - 1, j, i]


@kernel
def bottom_drag(u, v, kbot_u, kbot_v, cd, ke0, dt, nhalo, drag_u, drag_v):
    """dt * Cd * sqrt(u_b^2 + v_b^2 + ke0) (m) at U and V points, from the velocities u, v
    (m/s) of the bottom level k = kbot - 1, the other component averaged from its four
    neighbours; ``cd`` is dimensionless, ``ke0`` (m2/s2) the background kinetic energy.
    :func:`solve_implicit` divides it by e3t of the bottom level. 0 where kbot = 0."""
    nz, nj, ni = u.shape
    for j in prange(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            kb = kbot_u[j, i]
            if kb > 0:
                k = kb - 1
                ub = u[k, j, i]
                vb = 0.25 * (v[k, j, i] + v[k, j, i + 1] + v[k, j - 1, i] + v[k, j - 1, i + 1])
                drag_u[j, i] = dt * cd * np.sqrt(ub * ub + vb * vb + ke0)
            else:
                drag_u[j, i] = 0.0
            kb = kbot_v[j, i]
            if kb > 0:
                k = kb - 1
                ub = 0.25 * (u[k, j, i] + u[k, j + 1, i] + u[k, j, i - 1] + u[k, j + 1, i - 1])
                vb = v[k, j, i]
                drag_v[j, i] = dt * cd * np.sqrt(ub * ub + vb * vb + ke0)
            else:
                drag_v[j, i] = 0.0


class Boundary(NamedTuple):
    """The top and bottom terms of one field's vertical solve.

    ``with_top``: add the surface flux ``dt * flux_top / (rho0 * e3t[0]) * mask[0]`` to level
    0 (momentum: ``flux_top`` the wind stress in N/m2, ``rho0`` in kg m-3); ``with_drag``:
    add ``drag / e3t[k]`` (``drag`` in m, from :func:`bottom_drag`) to the diagonal of the
    bottom level k = kbot - 1."""
    with_top: bool
    flux_top: np.ndarray
    rho0: float
    mask: np.ndarray
    with_drag: bool
    drag: np.ndarray
    kbot: np.ndarray


@inline_kernel
def _factor_row(coef, with_drag, drag, kbot, e3t, e3w, dt, k, j, i0, i1, cp, aw, dw):
    """The forward-elimination factors of level k of row j (columns i0 <= i < i1): the
    sub-diagonal into ``aw[j]``, the pivot into ``dw[j]`` and super-diagonal / pivot into
    ``cp[k, j]``; the bottom drag (:class:`Boundary`) on the diagonal of level kbot - 1."""
    nz = coef.shape[0]
    top, bottom = k == 0, k == nz - 1
    ku = np.uint64(k)
    ka = ku if top else ku - U1           # the level above (unused at the top)
    kc = ku if bottom else ku + U1        # the W point below (unused at the bottom)
    ra = e3w[k] * e3t[k]
    rc = 1.0 if bottom else e3w[k + 1] * e3t[k]
    e3 = e3t[k]
    for i in range(i0, i1):
        a = 0.0 if top else -dt * coef[ku, j, i] / ra
        c = 0.0 if bottom else -dt * coef[kc, j, i] / rc
        b = 1.0 - a - c
        if with_drag:
            b_drag = b + drag[j, i] / e3
            b = b_drag if kbot[j, i] == k + 1 else b
        denom = b if top else b - a * cp[ka, j, i]
        cp[ku, j, i] = c / denom
        aw[j, i] = a
        dw[j, i] = denom


@inline_kernel
def _eliminate_row(x, with_top, flux_top, rho0, mask, e3t, dt, k, j, i0, i1, aw, dw):
    """Forward elimination of level k of row j of field x with the factors of
    :func:`_factor_row` (and the surface flux of :class:`Boundary` at k = 0)."""
    ku = np.uint64(k)
    if k > 0:
        for i in range(i0, i1):
            x[ku, j, i] = (x[ku, j, i] - aw[j, i] * x[ku - U1, j, i]) / dw[j, i]
    elif with_top:
        s = rho0 * e3t[0]
        for i in range(i0, i1):
            x[0, j, i] = (x[0, j, i] + dt * flux_top[j, i] / s * mask[0, j, i]) / dw[j, i]
    else:
        for i in range(i0, i1):
            x[0, j, i] = x[0, j, i] / dw[j, i]


@inline_kernel
def _back_substitute(x, cp, j, i0, i1):
    nz = x.shape[0]
    for kk in range(nz - 2, -1, -1):
        k = np.uint64(kk)
        for i in range(i0, i1):
            x[k, j, i] -= cp[k, j, i] * x[k + U1, j, i]


@kernel
def solve_implicit(x, y, coef_x, coef_y, bc_x, bc_y, shared, e3t, e3w, dt, nhalo, cp, aw, dw):
    """Backward-Euler d/dz(coef d/dz) on two fields ``x`` and ``y`` in place (interior
    columns): momentum (u with ``coef_x``, ``bc_x``; v with ``coef_y``, ``bc_y``) or tracers
    (T and S). ``coef`` (m2/s) at W points, 0 at k = 0 and across land (see the module
    docstring); ``bc``: each field's :class:`Boundary`. With ``shared``, y has x's operator
    and boundary terms (``coef_y``, ``bc_y`` unused): the elimination factors are computed
    once and applied to both. Work arrays: ``cp`` shaped like x, ``aw``, ``dw`` like a level.

    Each row of columns goes level by level as loops along i, the factors in a loop of
    their own and each field in another: few arrays a loop, which LLVM vectorises (the
    divisions too, which are exact: the same bits as one column at a time)."""
    nz, nj, ni = x.shape
    top_x, flux_x, rho0_x, mask_x, drag_on_x, drag_x, kbot_x = bc_x
    top_y, flux_y, rho0_y, mask_y, drag_on_y, drag_y, kbot_y = bc_y
    i0, i1 = np.uint64(nhalo), np.uint64(ni - nhalo)
    for jj in prange(nhalo, nj - nhalo):
        j = np.uint64(jj)
        for k in range(nz):
            _factor_row(coef_x, drag_on_x, drag_x, kbot_x, e3t, e3w, dt, k, j, i0, i1, cp, aw, dw)
            _eliminate_row(x, top_x, flux_x, rho0_x, mask_x, e3t, dt, k, j, i0, i1, aw, dw)
            if shared:
                _eliminate_row(y, top_x, flux_x, rho0_x, mask_x, e3t, dt, k, j, i0, i1, aw, dw)
        _back_substitute(x, cp, j, i0, i1)
        if shared:
            _back_substitute(y, cp, j, i0, i1)
        else:
            for k in range(nz):
                _factor_row(coef_y, drag_on_y, drag_y, kbot_y, e3t, e3w, dt, k, j, i0, i1, cp, aw, dw)
                _eliminate_row(y, top_y, flux_y, rho0_y, mask_y, e3t, dt, k, j, i0, i1, aw, dw)
            _back_substitute(y, cp, j, i0, i1)


def wet_face_coefficient(value: float, mask: np.ndarray) -> np.ndarray:
    """``value`` at the W points between two wet levels of ``mask`` (k >= 1), 0 elsewhere."""
    out = np.zeros(mask.shape)
    out[1:] = value * mask[1:] * mask[:-1]
    return out


class VerticalMixing:
    """The vertical viscosity and diffusivity of a tile and their implicit solves.

    ``avm_u``, ``avm_v`` (m2/s) and ``avt`` (m2/s, updated by :meth:`update` each step
    from N2; with the convective scheme ``avm_u``, ``avm_v`` are the constant background,
    built once; with TKE all three come from :class:`ocean.zdf_tke.TKE` and EVD, and ``avm``
    holds the viscosity at the W points of T columns), the bottom drag ``drag_u``,
    ``drag_v`` (m, from the step-start velocity). Every array is allocated here; the methods
    allocate nothing.
    """

    def __init__(self, grid, *, avm: float, kz_bg: float, kz_conv: float, cd: float, ke0: float,
                 rho0: float, dt: float, scheme: str = "convective", params=None, halo=None):
        """``avm`` background viscosity, ``kz_bg`` background and ``kz_conv`` convective
        diffusivity (m2/s); ``cd`` drag coefficient, ``ke0`` (m2/s2) background bottom
        kinetic energy; ``rho0`` (kg m-3) reference density; ``dt`` (s) the step.
        ``scheme``: "convective" or "tke"; ``params`` the [vertical_mixing] section (tke:
        the closure's constants, EVD) and ``halo`` the tile's halo (tke: avm_k's exchange)."""
        self.grid, self.rho0, self.dt = grid, rho0, dt
        self.cd, self.ke0, self.kz_bg, self.kz_conv = cd, ke0, kz_bg, kz_conv
        self.scheme = scheme
        self.avm_u = wet_face_coefficient(avm, grid.umask)
        self.avm_v = wet_face_coefficient(avm, grid.vmask)
        self.avt = np.zeros(grid.shape3)
        self.drag_u, self.drag_v = np.zeros(grid.shape2), np.zeros(grid.shape2)
        self.cp = np.zeros(grid.shape3)                                   # Thomas sweep work arrays
        self.aw, self.dw = np.zeros(grid.shape2), np.zeros(grid.shape2)
        self._no_flux = np.zeros(grid.shape2)
        self.bc_tracers = Boundary(False, self._no_flux, rho0, grid.tmask, False, self._no_flux, grid.kbot_t)
        self.tke = self.avm = None
        if scheme == "tke":
            self.tke = TKE(grid, params, avm0=avm, avt0=kz_bg, cd=cd, ke0=ke0, rho0=rho0, dt=dt)
            self.avm = np.zeros(grid.shape3)
            self.evd, self.evd_momentum = params.evd_m2_s, params.evd_momentum
            self.halo = halo
        elif scheme != "convective":
            raise ValueError(f"unknown vertical mixing scheme {scheme!r}")

    def absent_fields(self) -> tuple[str, ...]:
        """The registry's fields this scheme does not have (left out of the model's table)."""
        return () if self.tke is not None else TKE_FIELDS

    def reset(self) -> None:
        """The state of a run's start (the TKE's prognostics)."""
        if self.tke is not None:
            self.tke.reset()

    def update(self, bn2: np.ndarray, u: np.ndarray, v: np.ndarray, taux: np.ndarray, tauy: np.ndarray) -> None:
        """The step's coefficients from N2 (s-2, W points), the step-start velocities u, v
        (m/s) and the wind stress taux, tauy (N m-2; TKE's surface value), and the bottom drag."""
        g = self.grid
        if self.tke is None:
            convective_diffusivity(bn2, g.tmask, self.kz_bg, self.kz_conv, g.nhalo, self.avt)
        else:
            t = self.tke
            t.step(bn2, u, v, taux, tauy)
            self.halo.exchange(t.avm_k)
            evd_coefficients(bn2, t.avm_k, t.avt_k, g.kbot_t, g.kbot_u, g.kbot_v, self.evd, self.evd_momentum, g.nhalo,
                             self.avt, self.avm, self.avm_u, self.avm_v)
        bottom_drag(u, v, g.kbot_u, g.kbot_v, self.cd, self.ke0, self.dt, g.nhalo, self.drag_u, self.drag_v)

    def momentum(self, ua: np.ndarray, va: np.ndarray, taux: np.ndarray, tauy: np.ndarray) -> None:
        """Implicit vertical viscosity on ua, va (m/s, in place) with the wind stress
        taux, tauy (N/m2 at U/V points) and the bottom drag."""
        g = self.grid
        bc_u = Boundary(True, taux, self.rho0, g.umask, True, self.drag_u, g.kbot_u)
        bc_v = Boundary(True, tauy, self.rho0, g.vmask, True, self.drag_v, g.kbot_v)
        solve_implicit(ua, va, self.avm_u, self.avm_v, bc_u, bc_v, False, g.e3t, g.e3w, self.dt, g.nhalo,
                       self.cp, self.aw, self.dw)

    def tracers(self, T: np.ndarray, S: np.ndarray, avt: np.ndarray | None = None) -> None:
        """Implicit vertical diffusion (``avt``, or the given diffusivity: avt plus the
        iso-neutral operator's implicit part) of T and S, in place (one factorisation)."""
        g = self.grid
        avt = self.avt if avt is None else avt
        solve_implicit(T, S, avt, avt, self.bc_tracers, self.bc_tracers, True, g.e3t, g.e3w, self.dt,
                       g.nhalo, self.cp, self.aw, self.dw)


def _declare_fields() -> None:
    own = __name__
    fields.declare("avt", "W", 3, "m2 s-1", "ocean vertical heat diffusivity", lambda m: m.vmix.avt,
                   output="difvho", standard_name="ocean_vertical_heat_diffusivity", owner=own)
    fields.declare("avm", "W", 3, "m2 s-1", "ocean vertical momentum diffusivity (T columns)", lambda m: m.vmix.avm,
                   output="difvmo", standard_name="ocean_vertical_momentum_diffusivity", owner=own)
    fields.declare("tke", "W", 3, "m2 s-2", "turbulent kinetic energy", lambda m: m.vmix.tke.en, output="tke",
                   standard_name="specific_turbulent_kinetic_energy_of_sea_water", restart=True, owner=own,
                   cold_start=True)
    for name, units, long_name in (("avm_k", "m2 s-1", "viscosity of the TKE closure (before EVD)"),
                                   ("avt_k", "m2 s-1", "diffusivity of the TKE closure (before EVD)"),
                                   ("tke_dissl", "s-1", "TKE dissipation rate over TKE, sqrt(e)/l_eps")):
        attr = {"tke_dissl": "dissl"}.get(name, name)
        fields.declare(name, "W", 3, units, long_name, lambda m, a=attr: getattr(m.vmix.tke, a), restart=True,
                       owner=own, cold_start=True)


TKE_FIELDS = ("avm", "tke", "avm_k", "avt_k", "tke_dissl")
_declare_fields()
