"""Simplified equation of state (S-EOS, Roquet et al. 2015) and Brunt-Vaisala frequency.

Formula (NEMO ``src/OCE/TRA/eosbn2.F90``, S-EOS branch ``CASE( np_seos )`` of
``eos_insitu``; read in the stored copy of repository ``sergisiso/NEMO``, same text as
NEMO 4.2)::

    Ta = T - 10 [degC],  Sa = S - 35 [psu],  z = depth [m, positive down]
    rho - rho0 = - a0 * (1 + 0.5*lambda1*Ta + mu1*z) * Ta
                 + b0 * (1 - 0.5*lambda2*Sa - mu2*z) * Sa
                 - nu * Ta * Sa                                   [kg m-3]
    rhd = (rho - rho0) / rho0                                     [-]

``eos_insitu_pot`` uses the same expression without the ``mu`` terms (z = 0);
``rab_3d`` gives the expansion ratios at T points (both in K-1 / psu-1)::

    alpha = -(1/rho0) d rho/dT = ( a0*(1 + lambda1*Ta + mu1*z) + nu*Sa ) / rho0
    beta  =  (1/rho0) d rho/dS = ( b0*(1 - lambda2*Sa - mu2*z) - nu*Ta ) / rho0

and ``bn2`` interpolates them linearly in depth to the w level,
``zrw = (gdepw(k) - gdept(k)) / (gdept(k-1) - gdept(k))``,
``a_w = alpha(k)*(1-zrw) + alpha(k-1)*zrw`` (same for beta), then
``N2(k) = grav*(a_w*(T(k-1)-T(k)) - b_w*(S(k-1)-S(k))) / e3w(k) * wmask(k)`` with
``grav = 9.80665`` (``phycst.F90``).  Since alpha and beta are affine in (T, S, z),
this equals alpha/beta evaluated at the depth-interpolated T, S and at gdepw.

Coefficients.  NEMO's ``rn_lambda1`` and ``rn_mu1`` are *relative* to ``rn_a0``
(units K-1 and m-1); Roquet et al.'s dimensional cabbeling C_b = 9.9e-3 kg m-3 K-2 and
thermobaricity T_h = 2.4775e-5 kg m-3 K-1 dbar-1 correspond to lambda1 = C_b/a0 and
mu1 = T_h/a0 (taking 1 dbar ~ 1 m), *not* to lambda1 = 9.9e-3.

* DINO as run (repository ``vopikamm/DINO``, ``&nameos`` in ``EXPREF/namelist_cfg``,
  ``EXP00/namelist_cfg`` and ``EXP_R1/namelist_cfg_prod``): ln_seos = T,
  rn_a0 = 0.165, rn_b0 = 7.6554e-1, rn_lambda1 = 0.06, rn_mu1 = 1.4970e-4,
  rn_lambda2 = rn_mu2 = rn_nu = 0.  ->  ``EosParams.dino()`` (default).
* DINO documentation (``vopikamm/DINO``, ``docs/index.md``, "Equation of State"):
  rho0 = 1028, a0 = 0.1655, b0 = 0.7655, C_b = 9.9e-3, T_h = 2.4775e-5
  ->  ``EosParams.dino(source="docs")`` (lambda1 = C_b/a0 = 0.05982, mu1 = T_h/a0).
  The two sets agree to < 0.5 %.
* Reference density: NEMO 4.2 hard-codes ``rho0 = 1026`` in ``eos_init``; the DINO
  documentation quotes 1028 (the value used by this project, the default here).
  Pass ``rho0=1026.0`` for bit-level NEMO comparisons.

All numba kernels loop over every point of C-ordered ``[k, j, i]`` arrays (halo
included), write into preallocated outputs and allocate nothing.  ``depth_t``,
``depth_w`` and ``e3w`` are 1-D ``(nz,)`` arrays (m, positive down).  ``tmask`` is
any numeric ``[k, j, i]`` array, 0 on land.  Every kernel takes the same trailing
coefficient list ``a0, b0, lambda1, lambda2, nu, mu1, mu2, rho0`` (``EosParams.coeffs()``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .kernels import U1

GRAV = 9.80665  # m s-2, NEMO phycst.F90 ``grav``
T0_REF = 10.0  # degC, NEMO rn_T0
S0_REF = 35.0  # psu, NEMO rn_S0


@dataclass(frozen=True)
class EosParams:
    """S-EOS coefficients in NEMO's convention (see module docstring).

    rho0 [kg m-3] reference density; cp [J kg-1 K-1] specific heat of sea water (NEMO
    rcp; heat fluxes and contents use rho0 * cp, J m-3 K-1); a0 [kg m-3 K-1];
    b0 [kg m-3 psu-1]; lambda1 [K-1];
    lambda2 [psu-1]; nu [kg m-3 K-1 psu-1]; mu1, mu2 [m-1];
    kind: "seos" or "linear" (linear requires lambda1 = lambda2 = nu = mu1 = mu2 = 0).
    """

    rho0: float = 1028.0
    a0: float = 0.165
    b0: float = 0.76554
    lambda1: float = 0.06
    lambda2: float = 0.0
    nu: float = 0.0
    mu1: float = 1.4970e-4
    mu2: float = 0.0
    kind: str = "seos"
    cp: float = 3991.86795711963

    def __post_init__(self):
        if self.kind not in ("seos", "linear"):
            raise ValueError(f"unknown EOS kind {self.kind!r}")
        if self.kind == "linear" and any(
            c != 0.0 for c in (self.lambda1, self.lambda2, self.nu, self.mu1, self.mu2)
        ):
            raise ValueError("linear EOS requires lambda1 = lambda2 = nu = mu1 = mu2 = 0")

    @classmethod
    def dino(cls, source: str = "namelist", rho0: float = 1028.0) -> "EosParams":
        """DINO S-EOS. source="namelist" (as run) or "docs" (Roquet 2015 values)."""
        if source == "namelist":
            return cls(rho0=rho0, a0=0.165, b0=0.76554, lambda1=0.06, mu1=1.4970e-4)
        if source == "docs":
            a0 = 0.1655
            return cls(rho0=rho0, a0=a0, b0=0.7655, lambda1=9.9e-3 / a0, mu1=2.4775e-5 / a0)
        raise ValueError(f"unknown source {source!r}")

    @classmethod
    def linear(cls, rho0: float = 1028.0, a0: float = 0.1655, b0: float = 0.7655) -> "EosParams":
        """Linear EOS: rho - rho0 = -a0*(T-10) + b0*(S-35)."""
        return cls(rho0=rho0, a0=a0, b0=b0, lambda1=0.0, lambda2=0.0, nu=0.0,
                   mu1=0.0, mu2=0.0, kind="linear")

    @classmethod
    def of_kind(cls, kind: str) -> "EosParams":
        """The parameters of the configuration key ``eos.kind``: "seos" (DINO's) or "linear"."""
        return cls.dino() if kind == "seos" else cls.linear()

    def coeffs(self) -> tuple:
        """(a0, b0, lambda1, lambda2, nu, mu1, mu2, rho0), the kernels' trailing arguments."""
        return (self.a0, self.b0, self.lambda1, self.lambda2, self.nu,
                self.mu1, self.mu2, self.rho0)


def rho_insitu(T, S, z, params: EosParams):
    """In situ density rho [kg m-3] for T [degC], S [psu], depth z [m, positive down]."""
    p = params
    ta = np.asarray(T, dtype=float) - T0_REF
    sa = np.asarray(S, dtype=float) - S0_REF
    z = np.asarray(z, dtype=float)
    zn = (-p.a0 * (1.0 + 0.5 * p.lambda1 * ta + p.mu1 * z) * ta
          + p.b0 * (1.0 - 0.5 * p.lambda2 * sa - p.mu2 * z) * sa
          - p.nu * ta * sa)
    return p.rho0 + zn


def alpha_beta(T, S, z, params: EosParams):
    """(alpha [K-1], beta [psu-1]) = (-(1/rho0) drho/dT, (1/rho0) drho/dS), numpy."""
    p = params
    ta = np.asarray(T, dtype=float) - T0_REF
    sa = np.asarray(S, dtype=float) - S0_REF
    z = np.asarray(z, dtype=float)
    alpha = (p.a0 * (1.0 + p.lambda1 * ta + p.mu1 * z) + p.nu * sa) / p.rho0
    beta = (p.b0 * (1.0 - p.lambda2 * sa - p.mu2 * z) - p.nu * ta) / p.rho0
    return alpha, beta


@numba.njit(cache=True)
def _rho_anomaly(t, s, z, a0, b0, lambda1, lambda2, nu, mu1, mu2):
    """rho - rho0 [kg m-3] (scalar)."""
    ta = t - T0_REF
    sa = s - S0_REF
    return (-a0 * (1.0 + 0.5 * lambda1 * ta + mu1 * z) * ta
            + b0 * (1.0 - 0.5 * lambda2 * sa - mu2 * z) * sa
            - nu * ta * sa)


@numba.njit(cache=True)
def rhd_kernel(T, S, depth_t, tmask, a0, b0, lambda1, lambda2, nu, mu1, mu2, rho0, out):
    """out[k,j,i] = (rho - rho0)/rho0 [-] at T points, depth_t[k] in m; 0 where tmask == 0."""
    nz, ny, nx = T.shape
    r1_rho0 = 1.0 / rho0
    for k in range(nz):
        z = depth_t[k]
        for j in range(np.uint64(ny)):
            for i in range(np.uint64(nx)):
                if tmask[k, j, i] != 0:
                    out[k, j, i] = _rho_anomaly(T[k, j, i], S[k, j, i], z, a0, b0,
                                                lambda1, lambda2, nu, mu1, mu2) * r1_rho0
                else:
                    out[k, j, i] = 0.0


@numba.njit(cache=True)
def bn2_kernel(T, S, depth_t, depth_w, e3w, tmask,
               a0, b0, lambda1, lambda2, nu, mu1, mu2, rho0, out):
    """Squared Brunt-Vaisala frequency N2 [s-2] at w points, NEMO ``bn2``.

    out[k] (k = 1..nz-1) lies between T levels k-1 (above) and k: depth_w[k] [m],
    e3w[k] [m] its vertical spacing.  out[0] = 0, and out[k] = 0 where tmask[k] or
    tmask[k-1] is 0.
    """
    nz, ny, nx = T.shape
    r1_rho0 = 1.0 / rho0
    for j in range(np.uint64(ny)):
        for i in range(np.uint64(nx)):
            out[0, j, i] = 0.0
    for k in range(np.uint64(1), np.uint64(nz)):
        zrw = (depth_w[k] - depth_t[k]) / (depth_t[k - U1] - depth_t[k])
        zu = depth_t[k - U1]
        zl = depth_t[k]
        g_e3w = GRAV / e3w[k]
        for j in range(np.uint64(ny)):
            for i in range(np.uint64(nx)):
                tu = T[k - U1, j, i] - T0_REF
                su = S[k - U1, j, i] - S0_REF
                tl = T[k, j, i] - T0_REF
                sl = S[k, j, i] - S0_REF
                alp_u = (a0 * (1.0 + lambda1 * tu + mu1 * zu) + nu * su) * r1_rho0
                alp_l = (a0 * (1.0 + lambda1 * tl + mu1 * zl) + nu * sl) * r1_rho0
                bet_u = (b0 * (1.0 - lambda2 * su - mu2 * zu) - nu * tu) * r1_rho0
                bet_l = (b0 * (1.0 - lambda2 * sl - mu2 * zl) - nu * tl) * r1_rho0
                zaw = alp_l * (1.0 - zrw) + alp_u * zrw
                zbw = bet_l * (1.0 - zrw) + bet_u * zrw
                n2 = g_e3w * (zaw * (T[k - U1, j, i] - T[k, j, i]) - zbw * (S[k - U1, j, i] - S[k, j, i]))
                # a select, not a branch: the loop vectorises
                out[k, j, i] = 0.0 if (tmask[k, j, i] == 0 or tmask[k - U1, j, i] == 0) else n2
