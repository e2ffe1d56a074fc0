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
from .kernels import U1, inline_kernel, kernel, prange

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
def ml_depth_uv(hml, masks, hu, hv):
    """The ML depth at U/V points (m): the smaller of the two T neighbours (NEMO
    ``nn_mld_uv = 0``), 0 on land; every U/V point whose two T neighbours are in the tile."""
    nj, ni = hml.shape
    umask, vmask = masks.umask, masks.vmask
    for j in prange(nj - 1):
        for i in range(ni - 1):
            hu[j, i] = min(hml[j, i], hml[j, i + 1]) * umask[0, j, i]
            hv[j, i] = min(hml[j, i], hml[j + 1, i]) * vmask[0, j, i]


@inline_kernel
def _psi_face(h, db, e, f, coef, nn_mle, lf_m, inv_t2, rb_c):
    """psi_m at one U (V) face: ML depth ``h`` (m), buoyancy difference ``db`` across it, its
    spacing ``e`` (m) and Coriolis ``f``; nn_mle 1: fixed length, 0: FFH11's frontal length."""
    ds = min(DS_MAX_M, e)
    if nn_mle == 1:
        return coef * h * h * db / e * ds
    fl = max(lf_m * math.sqrt(f * f + inv_t2), math.sqrt(rb_c * h))
    return coef * h * h * db / e * ds / fl


@kernel
def fk08_psi(bml, hu, hv, metrics, masks, fcor_u, fcor_v, nn_mle, coef, lf_m, inv_t2, rb_c, psim_u, psim_v):
    """The streamfunction magnitude ``psim_u``, ``psim_v`` (m2 s-1) of NEMO's form ``nn_mle``
    (0: FFH11 with the front length ``lf_m`` and time ``1/sqrt(inv_t2)``, ``coef`` = Ce;
    1: ``coef`` = Ce / (5 km f(lat_ref))) from the ML depths ``hu``, ``hv`` (m) at U/V points,
    on every U/V point whose two T neighbours are in the tile; 0 on land."""
    nz, nj, ni = masks.umask.shape
    e1u, e2v, umask, vmask = metrics.e1u, metrics.e2v, masks.umask, masks.vmask
    for j in prange(nj - 1):
        for i in range(ni - 1):
            psim_u[j, i] = _psi_face(hu[j, i], (bml[j, i + 1] - bml[j, i]) * umask[0, j, i], e1u[j, i],
                                     fcor_u[j, i], coef, nn_mle, lf_m, inv_t2, rb_c)
            psim_v[j, i] = _psi_face(hv[j, i], (bml[j + 1, i] - bml[j, i]) * vmask[0, j, i], e2v[j, i],
                                     fcor_v[j, i], coef, nn_mle, lf_m, inv_t2, rb_c)


@kernel
def mle_transport(psim_u, psim_v, hu, hv, metrics, masks, nhalo, r_hu, r_hv, psi_u, psi_v, ueiv, veiv):
    """psi = psi_m mu(z) (m2 s-1) at the W levels of the interior U/V columns (``psi_u``,
    ``psi_v``: level k's top face at index k; 0 at the surface, below the ML base and on
    land), and u* = (psi_k - psi_k+1) / e3t_k, v* likewise, added to ``ueiv``, ``veiv`` (m s-1).
    ``r_hu``, ``r_hv`` (nj, ni) work: the inverse ML depths, once per column."""
    nz, nj, ni = ueiv.shape
    gdepw, e3t, umask, vmask = metrics.gdepw, metrics.e3t, masks.umask, masks.vmask
    h, ie = np.uint64(nhalo), np.uint64(ni - nhalo)
    top = np.uint64(nz - 1)
    for jj in prange(nhalo, nj - nhalo):     # level planes of a row, i innermost: the loops vectorise
        j = np.uint64(jj)
        for i in range(h, ie):
            psi_u[0, j, i] = 0.0
            psi_v[0, j, i] = 0.0
            r_hu[j, i] = 1.0 / max(hu[j, i], 1e-10)
            r_hv[j, i] = 1.0 / max(hv[j, i], 1e-10)
        for kk in range(1, nz):
            k = np.uint64(kk)
            for i in range(h, ie):
                c = 1.0 - 2.0 * gdepw[k] * r_hu[j, i]
                c = c * c
                psi_u[k, j, i] = psim_u[j, i] * max(0.0, (1.0 - c) * (1.0 + R5_21 * c)) * umask[k, j, i]
            for i in range(h, ie):
                c = 1.0 - 2.0 * gdepw[k] * r_hv[j, i]
                c = c * c
                psi_v[k, j, i] = psim_v[j, i] * max(0.0, (1.0 - c) * (1.0 + R5_21 * c)) * vmask[k, j, i]
        for kk in range(nz - 1):
            k = np.uint64(kk)
            for i in range(h, ie):
                ueiv[k, j, i] += (psi_u[k, j, i] - psi_u[k + U1, j, i]) / e3t[k]
            for i in range(h, ie):
                veiv[k, j, i] += (psi_v[k, j, i] - psi_v[k + U1, j, i]) / e3t[k]
        for i in range(h, ie):
            ueiv[top, j, i] += psi_u[top, j, i] / e3t[top]
            veiv[top, j, i] += psi_v[top, j, i] / e3t[top]


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


# ---------------------------------------------------------------------------- BBZ24's side
@kernel
def ml_mean_velocity(u, v, nml, hu, hv, metrics, um, vm):
    """The ML-mean velocity at U/V points (m s-1) as the published BBZ24 run forms it: the sum
    of e3t u over the ML levels of the T column of the same index, over max(e3t_0, H_u)."""
    nz, nj, ni = u.shape
    e3t = metrics.e3t
    for j in prange(nj):
        for i in range(ni):
            su = 0.0
            sv = 0.0
            for k in range(nml[j, i]):
                su += e3t[k] * u[k, j, i]
                sv += e3t[k] * v[k, j, i]
            um[j, i] = su / max(e3t[0], hu[j, i])
            vm[j, i] = sv / max(e3t[0], hv[j, i])


@kernel
def ml_gradient(bml, metrics, masks, gbx, gby):
    """grad b_ML at T points (s-2): each component the mean of the one-sided differences on
    the wet sides (BBZ24's ``calc_2D_scal_gradient``); every point but the outer ring."""
    nj, ni = bml.shape
    e1u, e2v, umask, vmask = metrics.e1u, metrics.e2v, masks.umask, masks.vmask
    for j in prange(1, nj - 1):
        for i in range(1, ni - 1):
            gx = ((bml[j, i + 1] - bml[j, i]) / e1u[j, i] * umask[0, j, i]
                  + (bml[j, i] - bml[j, i - 1]) / e1u[j, i - 1] * umask[0, j, i - 1])
            w = umask[0, j, i] + umask[0, j, i - 1]
            gbx[j, i] = gx / (w if w > 0 else 1.0)
            gy = ((bml[j + 1, i] - bml[j, i]) / e2v[j, i] * vmask[0, j, i]
                  + (bml[j, i] - bml[j - 1, i]) / e2v[j - 1, i] * vmask[0, j - 1, i])
            w = vmask[0, j, i] + vmask[0, j - 1, i]
            gby[j, i] = gy / (w if w > 0 else 1.0)


@kernel
def bbz24_inputs(gbx, gby, fcor_t, hml, hml_sign, taux, tauy, q_restore, t_surf, tstar, um, vm, metrics, masks,
                 nhalo, grad_b, fcor, hmlo, tau, q, div, vort, strain):
    """BBZ24's 8 inputs at the interior T points, as the published run computes them
    (``infmod.F90``), 0 on land: |grad b_ML| (s-2), f (s-1), ``hml_sign`` H_ML (m), |tau|
    (N m-2, from the U/V stresses averaged to T), the net surface heat flux (W m-2; here the
    restoring flux ``q_restore`` (T_0 - T*), solar included), and the divergence (thickness-
    weighted with min(H) at the faces), vorticity (the 4 F values' mean) and strain magnitude
    sqrt(tension^2 + <shear^2>_F) of the ML-mean velocity (s-1)."""
    nj, ni = hml.shape
    e1t, e2t, e1u, e2u, e1v, e2v = metrics.e1t, metrics.e2t, metrics.e1u, metrics.e2u, metrics.e1v, metrics.e2v
    e1f, e2f, e1e2t = metrics.e1f, metrics.e2f, metrics.e1e2t
    tmask, fmask = masks.tmask, masks.fmask
    for j in prange(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            m = tmask[0, j, i]
            if m == 0.0:
                grad_b[j, i] = fcor[j, i] = hmlo[j, i] = tau[j, i] = q[j, i] = 0.0
                div[j, i] = vort[j, i] = strain[j, i] = 0.0
                continue
            grad_b[j, i] = math.sqrt(gbx[j, i] * gbx[j, i] + gby[j, i] * gby[j, i])
            fcor[j, i] = fcor_t[j, i]
            h = hml[j, i]
            hmlo[j, i] = hml_sign * h
            tx = 0.5 * (taux[j, i] + taux[j, i - 1])
            ty = 0.5 * (tauy[j, i] + tauy[j - 1, i])
            tau[j, i] = math.sqrt(tx * tx + ty * ty)
            q[j, i] = q_restore * (t_surf[j, i] - tstar[j, i])
            d = (um[j, i] * e2u[j, i] * min(hml[j, i + 1], h) - um[j, i - 1] * e2u[j, i - 1] * min(h, hml[j, i - 1])
                 + vm[j, i] * e1v[j, i] * min(hml[j + 1, i], h) - vm[j - 1, i] * e1v[j - 1, i] * min(h, hml[j - 1, i]))
            div[j, i] = d / (e1e2t[j, i] * h)
            zv = 0.0
            zs = 0.0
            for dj in range(-1, 1):
                for di in range(-1, 1):
                    jf = j + dj
                    jfi = i + di
                    c = (e2v[jf, jfi + 1] * vm[jf, jfi + 1] - e2v[jf, jfi] * vm[jf, jfi]
                         - e1u[jf + 1, jfi] * um[jf + 1, jfi] + e1u[jf, jfi] * um[jf, jfi])
                    zv += c / (e1f[jf, jfi] * e2f[jf, jfi]) * fmask[0, jf, jfi]
                    sh = ((um[jf + 1, jfi] / e1u[jf + 1, jfi] - um[jf, jfi] / e1u[jf, jfi]) / e2f[jf, jfi] * e1f[jf, jfi]
                          + (vm[jf, jfi + 1] / e2v[jf, jfi + 1] - vm[jf, jfi] / e2v[jf, jfi]) / e1f[jf, jfi] * e2f[jf, jfi])
                    zs += sh * sh * fmask[0, jf, jfi]
            vort[j, i] = 0.25 * zv
            tn = ((um[j, i] / e2u[j, i] - um[j, i - 1] / e2u[j, i - 1]) / e1t[j, i] * e2t[j, i]
                  - (vm[j, i] / e1v[j, i] - vm[j - 1, i] / e1v[j - 1, i]) / e2t[j, i] * e1t[j, i])
            strain[j, i] = math.sqrt(0.25 * zs + tn * tn)


@kernel
def invert_buoyancy_flux(wb, bml, gbx, gby, metrics, masks, nhalo, psi_u, psi_v):
    """The published inversion of an ML w'b' (m2 s-3, T points, halo exchanged) into the
    streamfunction at U/V points (m2 s-1), on the interior and one halo ring:
    psi_u = wb_u db/dx_u / max(|grad b|_u^2, (wb_u / 100)^2), with wb_u the mean of the two
    T values, db/dx_u from the neighbouring b and db/dy_u the wet mean of the T points'
    gradients (a |grad b|^2 of exactly 0 taken as 1); likewise at V; 0 on land."""
    nj, ni = wb.shape
    e1u, e2v, umask, vmask, tmask = metrics.e1u, metrics.e2v, masks.umask, masks.vmask, masks.tmask
    for j in prange(nhalo - 1, nj - nhalo + 1):
        for i in range(nhalo - 1, ni - nhalo + 1):
            mu_ = umask[0, j, i]
            dbu = (bml[j, i + 1] - bml[j, i]) / e1u[j, i] * mu_
            wbu = 0.5 * (wb[j, i + 1] + wb[j, i]) * mu_
            w = tmask[0, j, i + 1] + tmask[0, j, i]
            dbv_u = (gby[j, i + 1] + gby[j, i]) / (w if w > 0 else 1.0)
            amp = dbu * dbu + dbv_u * dbv_u
            if amp == 0.0:
                amp = 1.0
            psi_u[j, i] = wbu / max(amp, (wbu / 1e2) ** 2) * dbu * mu_
            mv = vmask[0, j, i]
            dbv = (bml[j + 1, i] - bml[j, i]) / e2v[j, i] * mv
            wbv = 0.5 * (wb[j + 1, i] + wb[j, i]) * mv
            w = tmask[0, j + 1, i] + tmask[0, j, i]
            dbu_v = (gbx[j + 1, i] + gbx[j, i]) / (w if w > 0 else 1.0)
            amp = dbv * dbv + dbu_v * dbu_v
            if amp == 0.0:
                amp = 1.0
            psi_v[j, i] = wbv / max(amp, (wbv / 1e2) ** 2) * dbv * mv


@kernel
def laplacian_pass(a, nhalo, out):
    """One pass of the published smoothing on the interior: 0.5 a + 0.125 (4 neighbours)
    (NEMO BBZ24 ``lap_par_flt``; its normalisation factor for the call made, 0 passes, is 1)."""
    nj, ni = a.shape
    for j in prange(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            out[j, i] = 0.5 * a[j, i] + 0.125 * (a[j, i - 1] + a[j, i + 1] + a[j - 1, i] + a[j + 1, i])


class MixedLayerState:
    """The ML quantities of a tile (work arrays allocated once): ``nml`` (levels), ``hml``
    (m), ``bml`` (m s-2) at T points, and ``hu``, ``hv`` (m) at U/V points; ``update(T, S)``
    fills them from the state (the part any MLE streamfunction shares)."""

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
        ml_depth_uv(self.hml, g.masks, self.hu, self.hv)


# BBZ24's inputs: field name, units, long name (the closure file's input names, closures/published.py)
BBZ24_FIELDS = (("bbz24_grad_b", "s-2", "|grad b_ML|"), ("bbz24_fcor", "s-1", "Coriolis parameter at T"),
                ("bbz24_hml", "m", "MLE mixed layer depth times mle.hml_sign"),
                ("bbz24_tau", "N m-2", "surface stress magnitude"), ("bbz24_q", "W m-2", "net surface heat flux"),
                ("bbz24_div", "s-1", "divergence of the ML-mean velocity"),
                ("bbz24_vort", "s-1", "vorticity of the ML-mean velocity"),
                ("bbz24_strain", "s-1", "strain magnitude of the ML-mean velocity"))


def bbz24_input_fields(ml: MixedLayerState, g, T, S, u, v, taux, tauy, q_restore, tstar, hml_sign: float,
                       work: tuple, inputs: dict) -> None:
    """BBZ24's 8 inputs (``inputs``: name of ``BBZ24_FIELDS`` -> 2-D array of the tile, filled
    on the interior) of the state T, S, u, v on the tile of grid ``g`` (halos exchanged), the
    surface stresses, the restoring coefficient and target (``ocean/forcing.py``): the ML of
    ``ml`` updated, then the ML-mean velocity, grad b_ML and the inputs. ``work``: 4 arrays of
    the tile's 2-D shape (um, vm, gbx, gby). The one sequence the ocean's closure and the
    training data (``closures/train/samples.py``) both run."""
    um, vm, gbx, gby = work
    ml.update(T, S)
    ml_mean_velocity(u, v, ml.nml, ml.hu, ml.hv, g.metrics, um, vm)
    ml_gradient(ml.bml, g.metrics, g.masks, gbx, gby)
    i = inputs
    bbz24_inputs(gbx, gby, g.fcor_t, ml.hml, hml_sign, taux, tauy, q_restore, T[0], tstar, um, vm, g.metrics,
                 g.masks, g.nhalo, i["bbz24_grad_b"], i["bbz24_fcor"], i["bbz24_hml"], i["bbz24_tau"], i["bbz24_q"],
                 i["bbz24_div"], i["bbz24_vort"], i["bbz24_strain"])


class MixedLayerEddies(Closure):
    """NEMO's MLE transport as a physics closure in the eddy-velocity slot, with the
    streamfunction magnitude psi_m of ``[mle] kind``:

    - ``fk08``: NEMO's form ``nn_mle``, from the ML of the state at time n;
    - ``bbz24``: inverted from the w'b' of the run's net closure with output ``wb`` (BBZ24's
      imported file), then smoothed by one Laplacian pass, as the published run; this closure
      computes the net's 8 inputs (fields ``bbz24_*``) at the start of the step.

    Either way u*, v* are added to the slot's arrays (so it adds up with any other
    eddy-velocity closure)."""

    slots = frozenset({EDDY_VELOCITY})

    def __init__(self, c, model):
        self.model = m = model
        g = m.grid
        self.c, self.kind = c, c.kind
        self.name = f"mle_{c.kind}"
        self.ml = MixedLayerState(g, m.eos, c.rho_c_kg_m3)
        self.nn_mle = int(c.nn_mle)
        if self.nn_mle == 1:
            f_ref = 2.0 * OMEGA_S * math.sin(math.radians(c.lat_ref_deg))
            self.coef = c.ce / (LF_NN1_M * f_ref)
        else:
            self.coef = c.ce
        self.inv_t2 = 1.0 / (c.time_s * c.time_s)
        self.rb_c = GRAV * c.rho_c_kg_m3 / m.eos.rho0
        z2 = lambda: np.zeros(g.shape2)  # noqa: E731
        self.psim_u, self.psim_v = z2(), z2()
        self.psi_u, self.psi_v = np.zeros(g.shape3), np.zeros(g.shape3)
        self.wb = z2()
        self.r_hu, self.r_hv = z2(), z2()          # mle_transport's work
        self.hook = None
        if self.kind == "bbz24":
            self.um, self.vm, self.gbx, self.gby, self.raw_u, self.raw_v = z2(), z2(), z2(), z2(), z2(), z2()
            self.inputs = {name: z2() for name, _, _ in BBZ24_FIELDS}
        self._declare(m)

    def _declare(self, m) -> None:
        own = "ocean.mle"
        wb_name = "w'b' of the BBZ24 net (ML mean)" if self.kind == "bbz24" else \
            "MLE vertical buoyancy flux psi_m . grad b_ML (where mu = 1)"
        decl = [("psiu_mle", "U", 3, "m2 s-1", "MLE streamfunction at U points (top face of each level)", self.psi_u),
                ("psiv_mle", "V", 3, "m2 s-1", "MLE streamfunction at V points (top face of each level)", self.psi_v),
                ("wb_mle", "T", 2, "m2 s-3", wb_name, self.wb),
                ("mld_mle", "T", 2, "m", f"mixed layer depth of the MLE ({self.c.rho_c_kg_m3:g} kg m-3 from 10 m)",
                 self.ml.hml)]
        if self.kind == "bbz24":
            decl += [(name, "T", 2, units, f"BBZ24 input: {long}", self.inputs[name])
                     for name, units, long in BBZ24_FIELDS]
        for name, point, ndim, units, long_name, arr in decl:
            m.fields.add(Field(name, point, ndim, units, long_name, lambda _m, a=arr: a, output=name, owner=own))

    def compute(self, T: np.ndarray, S: np.ndarray) -> None:
        """ML quantities and FK08's psi_m of the state (T, S)."""
        g, ml = self.model.grid, self.ml
        ml.update(T, S)
        fk08_psi(ml.bml, ml.hu, ml.hv, g.metrics, g.masks, g.fcor_u, g.fcor_v, self.nn_mle, self.coef, self.c.lf_m,
                 self.inv_t2, self.rb_c, self.psim_u, self.psim_v)

    def start_of_step(self) -> None:
        """BBZ24: the ML and the net's 8 inputs, before the net closure gathers them."""
        if self.kind != "bbz24":
            return
        m, f = self.model, self.model.forcing
        s = m.state
        bbz24_input_fields(self.ml, m.grid, s.T, s.S, s.u, s.v, f.taux, f.tauy, f.trp, f.tstar, self.c.hml_sign,
                           (self.um, self.vm, self.gbx, self.gby), self.inputs)

    def _net_wb(self) -> np.ndarray | None:
        if self.hook is None:
            from .closure_hook import ClosureHook
            from .config import ConfigError
            self.hook = next((c for c in self.model.closures if isinstance(c, ClosureHook)
                              and any(o.name == "wb" for o in c.spec.outputs)), None)
            if self.hook is None:
                raise ConfigError("mle.kind = 'bbz24' needs a [[closure]] whose model file outputs wb "
                                  "(python -m closures.published bbz24 ...)")
        return self.hook.output("wb")

    def set_psi_from_wb(self) -> None:
        """psi_m from the ML w'b' in ``self.wb`` (interior): exchange, invert, smooth."""
        m, g, ml = self.model, self.model.grid, self.ml
        m.halo.exchange(self.wb)
        invert_buoyancy_flux(self.wb, ml.bml, self.gbx, self.gby, g.metrics, g.masks, g.nhalo, self.raw_u,
                             self.raw_v)
        laplacian_pass(self.raw_u, g.nhalo, self.psim_u)
        laplacian_pass(self.raw_v, g.nhalo, self.psim_v)

    def eddy_velocity(self, ueiv: np.ndarray, veiv: np.ndarray) -> None:
        m, g, ml = self.model, self.model.grid, self.ml
        if self.kind == "bbz24":
            wb = self._net_wb()
            if wb is None:
                return
            j, i = g.interior
            self.wb[j, i] = wb[0] * g.tmask[0, j, i]
            self.set_psi_from_wb()
        else:
            self.compute(m.state.T, m.state.S)
        mle_transport(self.psim_u, self.psim_v, ml.hu, ml.hv, g.metrics, g.masks, g.nhalo, self.r_hu, self.r_hv,
                      self.psi_u, self.psi_v, ueiv, veiv)
        if self.kind != "bbz24":
            buoyancy_flux(self.psim_u, self.psim_v, ml.bml, g.metrics, g.masks, g.nhalo, self.wb)
