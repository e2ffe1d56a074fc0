"""Mixed-layer eddies (MLE): the restratifying overturning of NEMO's ``tramle`` (Fox-Kemper,
Ferrari & Hallberg 2008, FFH11), as a physics closure filling the eddy-velocity slot.

Two parts, so that a net's w'b' (BBZ24) can feed the same transport:

1. the mixed layer and its streamfunction (``mixed_layer_buoyancy``, ``fk08_psi``):
   - ML base: the first level below the 10 m reference level (the T level holding 10 m,
     NEMO's ``nla10``) whose potential density exceeds the reference's by ``rho_c``
     (``[mle] rho_c_kg_m3``, 0.01 kg m-3 as the published eORCA025 run); ``nml`` levels are
     in the ML, its depth H = gdepw[nml] (the whole column where the criterion is never met);
   - b_ML = -g <rho_pot - rho0>_ML / rho0, the thickness-weighted ML mean (m s-2);
   - H at U/V points: the smaller of the two neighbours (NEMO ``nn_mld_uv = 0``);
   - the streamfunction's magnitude psi_m at U and V points (m2 s-1, NEMO's ``zpsim_u / e2u``):
     ``nn_mle = 1``: psi_m,u = Ce H_u^2 db/dx_u min(111 km, e1u) / (5 km f(lat_ref)),
     ``nn_mle = 0``: psi_m,u = Ce H_u^2 db/dx_u min(111 km, e1u) / max(L_f sqrt(f_u^2 + t^-2), sqrt(b_c H_u)),
     b_c = g rho_c / rho0, with db/dx_u = (b_i+1 - b_i) / e1u (likewise at V);
2. the transport (``mle_transport``), for any psi_m: psi(z) = psi_m mu(z) at the W levels of
   the U/V columns, mu(z) = max(0, (1 - c^2)(1 + 5/21 c^2)), c = 1 - 2 z / H_u, so psi = 0 at
   the surface, at and below the ML base and on land; u* = d_z psi = (psi_k - psi_k+1) / e3t_k
   is added to the velocity that advects T and S, and the step's continuity gives
   w* = -div psi. The transport is in flux form and non-divergent, so it conserves T and S.

Diagnostics (fields of the model when MLE is on): ``psiu_mle``, ``psiv_mle`` (m2 s-1, the
streamfunction at the top face of each level of the U/V columns, NEMO's names), ``wb_mle``
(m2 s-3, T points, psi_m . grad b: the vertical buoyancy flux where mu = 1, i.e. the
quantity BBZ24's inversion takes; its ML mean is 44/63 of it), ``mld_mle`` (m, the ML depth
of the criterion above).
"""
from __future__ import annotations

import math

import numpy as np

from .eos import GRAV, _rho_anomaly
from .closure_slots import EDDY_VELOCITY, Closure
from .fields import Field
from .grid import OMEGA_S
from .kernels import kernel, prange

MLE_ZREF_M = 10.0            # reference depth of the MLE mixed-layer criterion (m)
DS_MAX_M = 111e3             # NEMO's cap on the grid scale Delta s (m)
LF_NN1_M = 5e3               # nn_mle = 1: the front's length at the reference latitude (m)
R5_21 = 5.0 / 21.0
MU_ML_MEAN = 44.0 / 63.0     # the ML mean of mu(z)


def reference_level(gdepw: np.ndarray, zref: float = MLE_ZREF_M) -> int:
    """The T level holding depth ``zref`` (NEMO's nla10: the level above the first W level
    deeper than zref), 0-based."""
    deeper = np.nonzero(gdepw > zref)[0]
    return max(int(deeper[0]) - 1, 0) if deeper.size else gdepw.size - 2


def mu(z, h):
    """The FK08 vertical structure at depth z (m, positive down) in a mixed layer of depth h (m)."""
    c = 1.0 - 2.0 * np.asarray(z, dtype=float) / h
    c2 = c * c
    return np.maximum(0.0, (1.0 - c2) * (1.0 + R5_21 * c2))


@kernel
def mixed_layer_buoyancy(T, S, metrics, masks, kref, rho_c, a0, b0, lambda1, lambda2, nu, rho0, nml, hml, bml):
    """On every point of the tile (halo included): ``nml`` the number of ML levels, ``hml`` the
    ML depth (m), ``bml`` the thickness-weighted ML-mean buoyancy -g (rho_pot - rho0) / rho0
    (m s-2). ML: the levels above the first level below ``kref`` whose potential density
    exceeds level kref's by ``rho_c`` (kg m-3)."""
    nz, nj, ni = T.shape
    e3t, gdepw, kbot_t = metrics.e3t, metrics.gdepw, masks.kbot_t
    for j in prange(nj):
        for i in range(ni):
            kb = kbot_t[j, i]
            n = kb
            if kb > kref:
                target = _rho_anomaly(T[kref, j, i], S[kref, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0) + rho_c
                for k in range(kref + 1, kb):
                    if _rho_anomaly(T[k, j, i], S[k, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0) > target:
                        n = k
                        break
            s = 0.0
            for k in range(n):
                s += e3t[k] * _rho_anomaly(T[k, j, i], S[k, j, i], 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0)
            h = gdepw[n]
            nml[j, i] = n
            hml[j, i] = h
            bml[j, i] = -GRAV * s / (rho0 * max(e3t[0], h))


@kernel
def fk08_psi(bml, hml, metrics, masks, fcor_u, fcor_v, nn_mle, coef, lf_m, inv_t2, rb_c, hu, hv, psim_u, psim_v):
    """ML depth at U/V points (``hu``, ``hv``: the smaller neighbour, m) and the streamfunction
    magnitude ``psim_u``, ``psim_v`` (m2 s-1) of NEMO's form ``nn_mle`` (0: FFH11 with the
    front length ``lf_m`` and time ``1/sqrt(inv_t2)``; 1: ``coef`` = Ce / (5 km f(lat_ref))),
    on every U/V point whose two T neighbours are in the tile; 0 on land."""
    nz, nj, ni = masks.umask.shape
    e1u, e2v, umask, vmask = metrics.e1u, metrics.e2v, masks.umask, masks.vmask
    for j in prange(nj - 1):
        for i in range(ni - 1):
            h = min(hml[j, i], hml[j, i + 1]) * umask[0, j, i]
            hu[j, i] = h
            db = (bml[j, i + 1] - bml[j, i]) * umask[0, j, i]
            ds = min(DS_MAX_M, e1u[j, i])
            if nn_mle == 1:
                psim_u[j, i] = coef * h * h * db / e1u[j, i] * ds
            else:
                fl = max(lf_m * math.sqrt(fcor_u[j, i] * fcor_u[j, i] + inv_t2), math.sqrt(rb_c * h))
                psim_u[j, i] = coef * h * h * db / e1u[j, i] * ds / fl
            h = min(hml[j, i], hml[j + 1, i]) * vmask[0, j, i]
            hv[j, i] = h
            db = (bml[j + 1, i] - bml[j, i]) * vmask[0, j, i]
            ds = min(DS_MAX_M, e2v[j, i])
            if nn_mle == 1:
                psim_v[j, i] = coef * h * h * db / e2v[j, i] * ds
            else:
                fl = max(lf_m * math.sqrt(fcor_v[j, i] * fcor_v[j, i] + inv_t2), math.sqrt(rb_c * h))
                psim_v[j, i] = coef * h * h * db / e2v[j, i] * ds / fl


@kernel
def mle_transport(psim_u, psim_v, hu, hv, metrics, masks, nhalo, psi_u, psi_v, ueiv, veiv):
    """psi = psi_m mu(z) (m2 s-1) at the W levels of the interior U/V columns (``psi_u``,
    ``psi_v``: level k's top face at index k; 0 at the surface, below the ML base and on
    land), and u* = (psi_k - psi_k+1) / e3t_k, v* likewise, added to ``ueiv``, ``veiv`` (m s-1)."""
    nz, nj, ni = ueiv.shape
    gdepw, e3t, umask, vmask = metrics.gdepw, metrics.e3t, masks.umask, masks.vmask
    for j in prange(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            r_hu = 1.0 / max(hu[j, i], 1e-10)
            r_hv = 1.0 / max(hv[j, i], 1e-10)
            psi_u[0, j, i] = 0.0
            psi_v[0, j, i] = 0.0
            for k in range(1, nz):
                c = 1.0 - 2.0 * gdepw[k] * r_hu
                c = c * c
                psi_u[k, j, i] = psim_u[j, i] * max(0.0, (1.0 - c) * (1.0 + R5_21 * c)) * umask[k, j, i]
                c = 1.0 - 2.0 * gdepw[k] * r_hv
                c = c * c
                psi_v[k, j, i] = psim_v[j, i] * max(0.0, (1.0 - c) * (1.0 + R5_21 * c)) * vmask[k, j, i]
            for k in range(nz - 1):
                ueiv[k, j, i] += (psi_u[k, j, i] - psi_u[k + 1, j, i]) / e3t[k]
                veiv[k, j, i] += (psi_v[k, j, i] - psi_v[k + 1, j, i]) / e3t[k]
            ueiv[nz - 1, j, i] += psi_u[nz - 1, j, i] / e3t[nz - 1]
            veiv[nz - 1, j, i] += psi_v[nz - 1, j, i] / e3t[nz - 1]


@kernel
def buoyancy_flux(psim_u, psim_v, bml, metrics, masks, nhalo, wb):
    """w'b' = psi_m . grad b_ML (m2 s-3) at the interior T points: the mean of the two U faces'
    psi_m,u db/dx plus that of the two V faces (0 on land)."""
    nj, ni = wb.shape
    e1u, e2v, umask, vmask, tmask = metrics.e1u, metrics.e2v, masks.umask, masks.vmask, masks.tmask
    for j in prange(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            fx = (psim_u[j, i] * (bml[j, i + 1] - bml[j, i]) / e1u[j, i] * umask[0, j, i]
                  + psim_u[j, i - 1] * (bml[j, i] - bml[j, i - 1]) / e1u[j, i - 1] * umask[0, j, i - 1])
            fy = (psim_v[j, i] * (bml[j + 1, i] - bml[j, i]) / e2v[j, i] * vmask[0, j, i]
                  + psim_v[j - 1, i] * (bml[j, i] - bml[j - 1, i]) / e2v[j - 1, i] * vmask[0, j - 1, i])
            wb[j, i] = 0.5 * (fx + fy) * tmask[0, j, i]


class MixedLayerState:
    """The ML quantities of a tile (work arrays allocated once): ``nml`` (levels), ``hml``
    (m), ``bml`` (m s-2) at T points, and ``hu``, ``hv`` (m) at U/V points; ``update(T, S)``
    fills them from the state (the reusable part for any MLE streamfunction)."""

    def __init__(self, grid, eos, rho_c: float):
        self.grid, self.eos, self.rho_c = grid, eos, rho_c
        self.kref = reference_level(grid.gdepw)
        self.nml = np.zeros(grid.shape2, np.int64)
        self.hml, self.bml = np.zeros(grid.shape2), np.zeros(grid.shape2)
        self.hu, self.hv = np.zeros(grid.shape2), np.zeros(grid.shape2)

    def update(self, T: np.ndarray, S: np.ndarray) -> None:
        g, e = self.grid, self.eos
        mixed_layer_buoyancy(T, S, g.metrics, g.masks, self.kref, self.rho_c, e.a0, e.b0, e.lambda1, e.lambda2,
                             e.nu, e.rho0, self.nml, self.hml, self.bml)


class MixedLayerEddies(Closure):
    """NEMO's MLE transport (``[mle] kind = "fk08"``) as a physics closure: at the
    eddy-velocity slot it computes the ML of the state at time n, psi_m of form ``nn_mle``,
    and adds u*, v* to the slot's arrays (so it adds up with any other eddy-velocity closure)."""

    name = "mle_fk08"
    slots = frozenset({EDDY_VELOCITY})

    def __init__(self, c, model):
        self.model = m = model
        g = m.grid
        self.c = c
        self.ml = MixedLayerState(g, m.eos, c.rho_c_kg_m3)
        self.nn_mle = int(c.nn_mle)
        if self.nn_mle == 1:
            f_ref = 2.0 * OMEGA_S * math.sin(math.radians(c.lat_ref_deg))
            self.coef = c.ce / (LF_NN1_M * f_ref)
        else:
            self.coef = c.ce
        self.inv_t2 = 1.0 / (c.time_s * c.time_s)
        self.rb_c = GRAV * c.rho_c_kg_m3 / m.eos.rho0
        self.psim_u, self.psim_v = np.zeros(g.shape2), np.zeros(g.shape2)
        self.psi_u, self.psi_v = np.zeros(g.shape3), np.zeros(g.shape3)
        self.wb = np.zeros(g.shape2)
        self._declare(m)

    def _declare(self, m) -> None:
        own = "ocean.mle"
        for name, point, ndim, units, long_name, arr in (
                ("psiu_mle", "U", 3, "m2 s-1", "MLE streamfunction at U points (top face of each level)", self.psi_u),
                ("psiv_mle", "V", 3, "m2 s-1", "MLE streamfunction at V points (top face of each level)", self.psi_v),
                ("wb_mle", "T", 2, "m2 s-3", "MLE vertical buoyancy flux psi_m . grad b_ML (where mu = 1)", self.wb),
                ("mld_mle", "T", 2, "m", f"mixed layer depth of the MLE ({self.c.rho_c_kg_m3:g} kg m-3 from 10 m)",
                 self.ml.hml)):
            m.fields.add(Field(name, point, ndim, units, long_name, lambda _m, a=arr: a, output=name, owner=own))

    def compute(self, T: np.ndarray, S: np.ndarray) -> None:
        """ML quantities and psi_m of the state (T, S)."""
        g, ml = self.model.grid, self.ml
        ml.update(T, S)
        fk08_psi(ml.bml, ml.hml, g.metrics, g.masks, g.fcor_u, g.fcor_v, self.nn_mle, self.coef, self.c.lf_m,
                 self.inv_t2, self.rb_c, ml.hu, ml.hv, self.psim_u, self.psim_v)

    def eddy_velocity(self, ueiv: np.ndarray, veiv: np.ndarray) -> None:
        m, g, ml = self.model, self.model.grid, self.ml
        self.compute(m.state.T, m.state.S)
        mle_transport(self.psim_u, self.psim_v, ml.hu, ml.hv, g.metrics, g.masks, g.nhalo, self.psi_u, self.psi_v,
                      ueiv, veiv)
        buoyancy_flux(self.psim_u, self.psim_v, ml.bml, g.metrics, g.masks, g.nhalo, self.wb)
