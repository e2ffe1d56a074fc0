"""NEMO's TKE closure (``ln_zdftke``, ``zdftke.F90`` of NEMO 5.0 as coded): the turbulent
kinetic energy ``en`` (m2 s-2, a prognostic at W points) and from it the closure's
viscosity ``avm_k`` and diffusivity ``avt_k`` (m2 s-1, W points of T columns).

    de/dt = Km S2 - Kr N2 + d/dz(Km de/dz) - c_eps e^(3/2)/l_eps (+ Langmuir) (+ nn_etau)
    Km = max(c_k l_m sqrt(e), avm0),  Kr = max(Pr^-1 max(c_k l_m sqrt(e), avt0), avt0)

One implicit solve per column over the interior W points (k = 1 .. kbot-1; e(0) the
Dirichlet surface value ``max(emin0, ebb |tau| / rho0)``, e(kbot) on the sea floor
``max(emin, 0.001875 Cd sqrt(|u_b|^2 + ke0) |2 u_b|)`` when there is drag); the shear and
buoyancy terms explicit, diffusion implicit with ``max(Km(k) + Km(k+-1), 2e-5) / 2``,
dissipation linearised as c_eps (sqrt(e^n)/l_eps)(1.5 e^(n+1) - 0.5 e^n) with the previous
step's ``dissl`` = sqrt(e)/l_eps; then ``e = max(e, emin)`` and, with ``nn_etau = 1``,
``e += efr e(0) exp(-z/h_tau)`` (not times dt, as NEMO). Mixing lengths (``nn_mxl = 3``):
l = max(lmin, sqrt(2 e / max(N2, rsmall))), l_up swept down from the surface length
``max(lmin, kappa 2e5 |tau| / (rho0 g))``, l_dwn swept up from lmin at the floor, both with
|dl/dz| <= 1; l_m = min(l_up, l_dwn), l_eps = sqrt(l_up l_dwn). Prandtl number
(``nn_pdl = 1``): Pr^-1 = max(0.1, Ri_c / max(Ri_c, Ri)), Ri = N2 Km / (S2 + bshear) (0
where N2 <= 0), Ri_c = 2 / (2 + c_eps / c_k). Langmuir cells (``ln_lc``, Axell 2002):
P_LC = u_s^3 (c_LC sin(pi z / H_LC))^3 / H_LC above H_LC, with u_s^2 / 2 = 0.5 0.016^2
|tau| / (rho_air C_d) and H_LC the first W depth where sum(max(N2, 0) z e3w) > u_s^2 / 2.

Where this departs from NEMO (docs/numerics.md, "Vertical mixing: TKE and enhanced vertical
diffusion"): the shear production is
``Km^(n-1) |du^n/dz|^2`` (the dissipation of resolved kinetic energy by the backward-Euler
viscosity of the previous step, which produced u^n with Km^(n-1): the energy-consistent
form for our forward scheme; NEMO's leapfrog form multiplies the shears of two levels);
N2 of the step start stands for NEMO's ``rn2b`` and ``rn2``; l_dwn adds the thickness of
the level between two W points (NEMO adds the next level's; the same on uniform levels).

Every array is allocated in :class:`TKE`; the kernel allocates nothing. The kernel works
on interior columns; ``avm_k`` is read at the neighbours (the shear at T points averages
the U and V points around) and is double-buffered so blocks of rows run in parallel.
"""
from __future__ import annotations

import math

import numpy as np

from .eos import GRAV
from .kernels import U1, kernel, prange

KAPPA = 0.4                 # von Karman constant (NEMO vkarmn)
RSMALL = 1.0e-20            # NEMO rsmall-like floor of N2 in the mixing length (s-2)
RHO_AIR, CD_AIR = 1.22, 1.5e-3   # air density (kg m-3) and drag of the Langmuir velocity scale (NEMO zrhoa, zcdrag)


@kernel
def tke_step(u, v, bn2, taux, tauy, kbot, kbot_u, kbot_v, e3t, e3w, gdepw, etau, row, c, flags, nhalo,
             en, avm_k, avt_k, dissl, avm_new, work, ldn, taum, ebot, hlc):
    """One step of the TKE equation and the coefficients that follow (interior columns).

    In: u, v (m s-1) of the step start; bn2 (s-2, W points); taux, tauy (N m-2 at U, V
    points); kbot, kbot_u, kbot_v (wet levels of T, U, V columns: the masks, as 2-D arrays
    that stay in cache); e3t, e3w, gdepw (m, 1-D); etau (nz, nj) the nn_etau factor
    efr exp(-gdepw/htau) (htau depends on latitude, so on j only; 0 when off) and ``row`` (nj
    ni) the row j of each flat index j ni + i (an integer division per point cost 5% of
    the kernel); ``c`` the constants (see
    ``TKE.c``); ``flags`` (langmuir, drag) as 0/1 integers. In/out: en (m2 s-2),
    avt_k, dissl (s-1); avm_k (m2 s-1) read, avm_new written (the caller swaps them).
    Work: work, ldn (3-D), taum, ebot, hlc (2-D).

    The columns go in blocks of whole interior rows, each block's level planes as one flat
    loop of a few hundred points (a tile's rows are a few dozen: as one loop per row the
    vectorised body was too short and the kernel took 1.4-1.5 times as long in the step's
    profile). The flat loop also passes through the halo columns between the block's rows:
    what it writes there is never read (avm_new's halo is exchanged by the caller, the rest
    is read at interior points only), and every interior point is computed as before, bit
    for bit."""
    (dt, ediff, ediss, ebb_rho0, emin, emin0, bshear, lmin, raug, ri_cri, avm0, avt0,
     lc, zcsd, cd, ke0) = c
    langmuir, drag = flags
    nz, nj, ni = en.shape
    npl = nj * ni
    half_dt = 0.5 * dt
    w = np.uint64(ni)           # one row: p - w is the point south, p + w north
    E, AM, AT, DS, AN = (en.reshape(nz, npl), avm_k.reshape(nz, npl), avt_k.reshape(nz, npl),
                         dissl.reshape(nz, npl), avm_new.reshape(nz, npl))
    WK, LD = work.reshape(nz, npl), ldn.reshape(nz, npl)
    U, V, N2 = u.reshape(nz, npl), v.reshape(nz, npl), bn2.reshape(nz, npl)
    tm, eb, hl = taum.reshape(npl), ebot.reshape(npl), hlc.reshape(npl)
    kb2, kbu, kbv = kbot.reshape(npl), kbot_u.reshape(npl), kbot_v.reshape(npl)
    tx, ty = taux.reshape(npl), tauy.reshape(npl)
    nrow = nj - 2 * nhalo
    rows = max(1, 256 // ni)
    nblk = (nrow + rows - 1) // rows
    for b in prange(nblk):
        ja = nhalo + b * rows
        jb = min(ja + rows, nj - nhalo)
        q0, q1 = np.uint64(ja * ni + nhalo), np.uint64((jb - 1) * ni + ni - nhalo)
        # surface and sea-floor values, |tau| at T points
        for p in range(q0, q1):
            tu = 0.5 * (tx[p - U1] + tx[p])
            tv = 0.5 * (ty[p - w] + ty[p])
            kb = kb2[p]
            w0 = 1.0 if kb > 0 else 0.0
            tmv = math.sqrt(tu * tu + tv * tv) * w0
            tm[p] = tmv
            E[0, p] = max(emin0, ebb_rho0 * tmv) * w0
            ebv = 0.0
            if drag == 1 and kb > 0:
                kd = kb - 1
                mu = 1.0 if kd < kbu[p - U1] and kd < kbu[p] else 2.0
                mv = 1.0 if kd < kbv[p - w] and kd < kbv[p] else 2.0
                ut = mu * (U[kd, p] + U[kd, p - U1])
                vt = mv * (V[kd, p] + V[kd, p - w])
                uu = ut * ut + vt * vt
                ebv = max(0.001875 * cd * math.sqrt(0.25 * uu + ke0) * math.sqrt(uu), emin)
            eb[p] = ebv
            hl[p] = gdepw[kb]
        if langmuir == 1:       # Langmuir cells: their depth (the first W point where the PE
            for p in range(q0, q1):  # passes u_s^2 / 2), then their source (in work)
                WK[0, p] = 0.0
            for kk in range(1, nz):
                k = np.uint64(kk)
                for p in range(q0, q1):     # a select, not a branch: LLVM vectorises it
                    pa = WK[k - U1, p]
                    pe = pa + max(N2[k, p], 0.0) * gdepw[k] * e3w[k]
                    WK[k, p] = pe
                    thr = zcsd * tm[p]
                    first = (pe > thr) & (kk < kb2[p]) & (pa <= thr)
                    hl[p] = gdepw[k] if first else hl[p]
            hmax = 0.0
            for p in range(q0, q1):
                hmax = max(hmax, hl[p])
            for kk in range(1, nz):
                k = np.uint64(kk)
                if gdepw[k] >= hmax:        # below the cells of the whole block: no source
                    for p in range(q0, q1):
                        WK[k, p] = 0.0
                    continue
                for p in range(q0, q1):
                    src = 0.0
                    if gdepw[k] < hl[p]:
                        ws = lc * math.sin(math.pi * gdepw[k] / hl[p])
                        us = math.sqrt(2.0 * zcsd * tm[p])
                        src = dt * us * us * us * ws * ws * ws / hl[p]
                    WK[k, p] = src
        # matrix, right-hand side and forward elimination: work holds the upper factors, avt_k
        # (read first: the buoyancy term) the inverse Prandtl number. Land rows are identity
        # rows with e = 0 (the coefficients times the mask); the floor value and the surface
        # value are known (moved to the right-hand side)
        for kk in range(1, nz):
            k = np.uint64(kk)
            c_up = half_dt / (e3t[k] * e3w[k])
            c_lw = half_dt / (e3t[k - U1] * e3w[k])
            r2 = 0.25 / (e3w[k] * e3w[k])
            last = kk == nz - 1
            for p in range(q0, q1):
                wm = 1.0 if kk < kb2[p] else 0.0
                uw = 1.0 if k < kbu[p - U1] else 0.0
                ue = 1.0 if k < kbu[p] else 0.0
                vs = 1.0 if k < kbv[p - w] else 0.0
                vn = 1.0 if k < kbv[p] else 0.0
                # shear production Km |du/dz|^2 at T points (wet U, V points around)
                du0 = U[k - U1, p - U1] - U[k, p - U1]
                du1 = U[k - U1, p] - U[k, p]
                dv0 = V[k - U1, p - w] - V[k, p - w]
                dv1 = V[k - U1, p] - V[k, p]
                am = AM[k, p]
                su0 = (AM[k, p - U1] + am) * du0 * du0 * uw
                su1 = (am + AM[k, p + U1]) * du1 * du1 * ue
                sv0 = (AM[k, p - w] + am) * dv0 * dv0 * vs
                sv1 = (am + AM[k, p + w]) * dv1 * dv1 * vn
                sh2 = r2 * ((su0 + su1) * (2.0 - uw * ue) + (sv0 + sv1) * (2.0 - vs * vn))
                n2 = N2[k, p]
                # Pr^-1 = max(0.1, Ri_c / max(Ri_c, Ri)), Ri = N2 Km / (S2 + bshear), 0 if N2 <= 0
                d = ri_cri * (sh2 + bshear)
                nm = max(n2, 0.0) * am
                buoy = AT[k, p] * n2
                AT[k, p] = max(0.1, d / max(d, nm))
                dis = DS[k, p]
                e_old = E[k, p]
                rhs = (e_old + dt * (sh2 - buoy + 0.5 * ediss * dis * e_old)) * wm
                if langmuir == 1:
                    rhs += WK[k, p] * wm
                E[k, p] = rhs
            for p in range(q0, q1):      # the elimination (a loop of its own: fewer arrays)
                kb = kb2[p]
                wm = 1.0 if kk < kb else 0.0
                tnext = 1.0 if kk + 1 < kb else 0.0
                am = AM[k, p]
                am_dn = 0.0 if last else AM[k + U1, p]
                up = -c_up * max(am_dn + am, 2.0e-5) * wm
                lw = -c_lw * max(am + AM[k - U1, p], 2.0e-5) * wm
                diag = 1.0 - lw - up + 1.5 * dt * ediss * DS[k, p] * wm
                rhs = E[k, p] - up * eb[p] * (wm - tnext)      # the floor row: e(kbot) known
                up *= tnext
                if kk == 1:
                    rhs -= lw * E[0, p]
                    inv = 1.0 / diag
                    E[k, p] = rhs * inv
                else:
                    inv = 1.0 / (diag - lw * WK[k - U1, p])
                    E[k, p] = (rhs - lw * E[k - U1, p]) * inv
                WK[k, p] = up * inv
        # back substitution, floor, penetration (nn_etau = 1) and l_dwn, from the floor up
        # (ldn holds the buoyancy length l, work then l_dwn: lmin at the floor and below;
        # ebot, no longer needed, carries the solution of the level below before the floor)
        for kk in range(nz - 1, 0, -1):
            k = np.uint64(kk)
            e3 = e3t[k]
            for p in range(q0, q1):
                x = E[k, p]
                below = lmin
                if kk < nz - 1:
                    x -= WK[k, p] * eb[p]
                    below = WK[k + U1, p]
                eb[p] = x
                e = (max(x, emin) + etau[k, row[p]] * E[0, p]) if kk < kb2[p] else 0.0
                E[k, p] = e
                lk = max(lmin, math.sqrt(2.0 * e / max(N2[k, p], RSMALL)))
                LD[k, p] = lk
                WK[k, p] = min(below + e3, lk)
        # l_up from the surface down, and the coefficients (ldn then holds l_up)
        for p in range(q0, q1):
            w0 = 1.0 if kb2[p] > 0 else 0.0
            l0 = max(lmin, raug * tm[p])
            LD[0, p] = l0
            sqe = math.sqrt(E[0, p])
            AN[0, p] = max(ediff * l0 * sqe, avm0) * w0
            AT[0, p] = max(ediff * l0 * sqe, avt0) * w0
            DS[0, p] = sqe / l0
        for kk in range(1, nz):
            k = np.uint64(kk)
            e3u = e3t[k - U1]
            for p in range(q0, q1):
                wm = 1.0 if kk < kb2[p] else 0.0
                lup = min(LD[k - U1, p] + e3u, LD[k, p])
                LD[k, p] = lup
                lwn = WK[k, p]
                sqe = math.sqrt(E[k, p])
                av = ediff * min(lup, lwn) * sqe
                AN[k, p] = max(av, avm0) * wm
                AT[k, p] = max(AT[k, p] * max(av, avt0), avt0) * wm
                DS[k, p] = sqe / math.sqrt(lup * lwn)


class TKE:
    """The TKE state and work arrays of a tile, and one step of it (:meth:`step`).

    ``en`` (m2 s-2), ``avm_k``, ``avt_k`` (m2 s-1), ``dissl`` (s-1) at W points of T columns
    are what a restart carries; ``avm_k`` has a valid halo (exchanged after each step)."""

    def __init__(self, grid, p, *, avm0: float, avt0: float, cd: float, ke0: float, rho0: float, dt: float):
        """``p``: the [vertical_mixing] section; ``avm0``, ``avt0`` (m2 s-1) the background
        viscosity and diffusivity; ``cd``, ``ke0`` (m2 s-2) the bottom drag; ``rho0`` (kg m-3)."""
        self.grid, self.p = grid, p
        self.avm0, self.avt0 = avm0, avt0
        z3, z2 = lambda: np.zeros(grid.shape3), lambda: np.zeros(grid.shape2)  # noqa: E731
        self.en, self.avm_k, self.avt_k, self.dissl = z3(), z3(), z3(), z3()
        self.avm_new, self.work, self.ldn = z3(), z3(), z3()
        self.taum, self.ebot, self.hlc = z2(), z2(), z2()
        lmin = 1e-6 / (p.tke_ediff * math.sqrt(p.tke_emin_m2_s2))      # NEMO rmxl_min: Km = 1e-6 at e = emin
        self.lmin = lmin
        self.c = (float(dt), p.tke_ediff, p.tke_ediss, p.tke_ebb / rho0, p.tke_emin_m2_s2, p.tke_emin0_m2_s2,
                  p.tke_bshear_s2, lmin, KAPPA * 2.0e5 / (rho0 * GRAV),
                  2.0 / (2.0 + p.tke_ediss / p.tke_ediff), float(avm0), float(avt0),
                  p.tke_langmuir_coeff, 0.5 * 0.016 * 0.016 / (RHO_AIR * CD_AIR), float(cd), float(ke0))
        self.flags = (1 if p.tke_langmuir else 0, 1 if cd > 0.0 else 0)
        self.etau = np.zeros((grid.nz, grid.shape2[0]))
        self.row = np.repeat(np.arange(grid.shape2[0], dtype=np.int64), grid.shape2[1])
        if p.tke_etau:
            lat = grid.lat_t[:, 0]
            if not np.all(grid.lat_t == lat[:, None]):
                raise ValueError("tke_etau: the penetration depth needs a latitude that depends on j only")
            if p.tke_htau == "latitude":       # nn_htau = 1: 0.5 m at the equator to 30 m poleward of 42 deg
                htau = np.maximum(0.5, np.minimum(30.0, 45.0 * np.abs(np.sin(np.radians(lat)))))
            else:                              # nn_htau = 0: 10 m
                htau = np.full(lat.shape, 10.0)
            self.etau[1:] = p.tke_efr * np.exp(-grid.gdepw[1:grid.nz, None] / htau[None])
        self.reset()

    def reset(self) -> None:
        """The state of a run's start (NEMO): e = emin, dissl = 1e-12, the background coefficients."""
        g = self.grid
        wmask = g.tmask
        self.en[:] = self.p.tke_emin_m2_s2 * wmask
        self.dissl[:] = 1e-12
        self.avm_k[:] = self.avm0 * wmask
        self.avt_k[:] = self.avt0 * wmask

    def step(self, bn2, u, v, taux, tauy) -> None:
        """Advance en by one step and fill avm_k, avt_k, dissl (interior; avm_k's halo is the
        caller's to exchange)."""
        g = self.grid
        tke_step(u, v, bn2, taux, tauy, g.kbot_t, g.kbot_u, g.kbot_v, g.e3t, g.e3w, g.gdepw, self.etau,
                 self.row, self.c, self.flags, g.nhalo, self.en, self.avm_k, self.avt_k, self.dissl, self.avm_new,
                 self.work, self.ldn, self.taum, self.ebot, self.hlc)
        self.avm_k, self.avm_new = self.avm_new, self.avm_k
