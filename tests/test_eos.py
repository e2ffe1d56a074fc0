"""Tests for ocean.eos against hand-evaluated S-EOS values (NEMO eosbn2.F90 formula).

rho - rho0 = -a0*(1 + 0.5*lambda1*Ta + mu1*z)*Ta + b0*(1 - 0.5*lambda2*Sa - mu2*z)*Sa
             - nu*Ta*Sa,   Ta = T - 10, Sa = S - 35, z = depth [m]
"""

import numpy as np
import pytest

from ocean.eos import GRAV, EosParams, _rho_anomaly, alpha_beta, bn2_kernel, rhd_kernel, rho_insitu

RTOL = 1e-12

# DINO as run: rho0 = 1028, a0 = 0.165, b0 = 0.76554, lambda1 = 0.06, mu1 = 1.497e-4, rest 0.
DINO = EosParams.dino()
# NEMO namelist_ref (Roquet et al. 2015) coefficients: every term non-zero.
FULL = EosParams(rho0=1026.0, a0=0.1655, b0=0.76554, lambda1=5.952e-2, lambda2=5.4914e-4,
                 nu=2.4341e-3, mu1=1.497e-4, mu2=1.109e-5)

# (T, S, z) -> rho by hand, DINO coefficients:
#  (10, 35, 0):     Ta = Sa = 0                                   -> rho = rho0 = 1028
#  (20, 35, 1000):  Ta = 10, Sa = 0
#     -0.165*(1 + 0.5*0.06*10 + 1.497e-4*1000)*10 = -0.165*1.4497*10 = -2.392005
#                                                                 -> rho = 1025.607995
#  (2, 34.5, 3000): Ta = -8, Sa = -0.5
#     -0.165*(1 - 0.24 + 0.4491)*(-8) = -0.165*1.2091*(-8) = +1.596012
#     +0.76554*(1)*(-0.5)                                    = -0.38277
#                                                   sum = 1.213242 -> rho = 1029.213242
DINO_POINTS = [((10.0, 35.0, 0.0), 1028.0),
               ((20.0, 35.0, 1000.0), 1025.607995),
               ((2.0, 34.5, 3000.0), 1029.213242)]

# FULL coefficients, rho0 = 1026:
#  (20, 35, 1000): -0.1655*(1 + 0.2976 + 0.1497)*10 = -0.1655*14.473 = -2.3952815
#                                                                 -> rho = 1023.6047185
#  (2, 34.5, 3000):
#     thermal: -0.1655*(1 - 0.5*0.05952*8 + 0.4491)*(-8) = 0.1655*1.21102*8 = 1.60339048
#     haline:   0.76554*(1 + 0.5*5.4914e-4*0.5 - 1.109e-5*3000)*(-0.5)
#             = -0.38277*0.966867285                         = -0.37008779067945
#     cross:   -2.4341e-3*(-8)*(-0.5)                        = -0.0097364
#     sum = 1.22356628932055                          -> rho = 1027.22356628932055
FULL_POINTS = [((10.0, 35.0, 0.0), 1026.0),
               ((20.0, 35.0, 1000.0), 1023.6047185),
               ((2.0, 34.5, 3000.0), 1027.22356628932055)]


@pytest.mark.parametrize("params,points", [(DINO, DINO_POINTS), (FULL, FULL_POINTS)])
def test_rho_insitu_hand_values(params, points):
    for (t, s, z), rho in points:
        assert rho_insitu(t, s, z, params) == pytest.approx(rho, rel=RTOL, abs=0)
    t, s, z = (np.array(c) for c in zip(*[p for p, _ in points]))
    np.testing.assert_allclose(rho_insitu(t, s, z, params), [r for _, r in points], rtol=RTOL)


def _column_fields(points, nj=2, ni=3):
    """One level per point, copied horizontally; column (0, 0) is land."""
    nz = len(points)
    T = np.empty((nz, nj, ni))
    S = np.empty((nz, nj, ni))
    depth = np.empty(nz)
    for k, ((t, s, z), _) in enumerate(points):
        T[k], S[k], depth[k] = t, s, z
    tmask = np.ones((nz, nj, ni))
    tmask[:, 0, 0] = 0.0
    return T, S, depth, tmask


@pytest.mark.parametrize("params,points", [(DINO, DINO_POINTS), (FULL, FULL_POINTS)])
def test_rhd_kernel_hand_values(params, points):
    T, S, depth, tmask = _column_fields(points)
    out = np.full(T.shape, np.nan)
    rhd_kernel(T, S, depth, tmask, *params.coeffs(), out)
    for k, (_, rho) in enumerate(points):
        expected = (rho - params.rho0) / params.rho0
        np.testing.assert_allclose(out[k][tmask[k] > 0], expected, rtol=RTOL, atol=1e-300)
    assert np.all(out[:, 0, 0] == 0.0)
    out_bool = np.full(T.shape, np.nan)
    rhd_kernel(T, S, depth, tmask.astype(np.bool_), *params.coeffs(), out_bool)
    np.testing.assert_array_equal(out_bool, out)


def test_surface_referenced_density_hand_values():
    # what the mixed-layer depth compares: rho(T, S, z=0) - rho0 with the depth terms off.
    # DINO coefficients:
    #  (20, 35): -0.165*(1 + 0.3)*10          = -2.145
    #  (2, 34.5): -0.165*(1 - 0.24)*(-8) = 1.0032 ; + 0.76554*(-0.5) = -0.38277 -> 0.62043
    a0, b0, lambda1, lambda2, nu, _, _, rho0 = DINO.coeffs()
    for (t, s, _), expected in zip([p for p, _ in DINO_POINTS], [0.0, -2.145, 0.62043]):
        got = _rho_anomaly(t, s, 0.0, a0, b0, lambda1, lambda2, nu, 0.0, 0.0)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(got, rho_insitu(t, s, 0.0, DINO) - rho0, rtol=RTOL, atol=1e-12)


def test_alpha_beta_hand_values():
    # DINO, (2, 34.5, 3000): alpha = 0.165*(1 + 0.06*(-8) + 1.497e-4*3000)/1028
    #                              = 0.165*0.9691/1028 ; beta = 0.76554/1028
    alpha, beta = alpha_beta(2.0, 34.5, 3000.0, DINO)
    assert alpha == pytest.approx(0.165 * 0.9691 / 1028.0, rel=RTOL)
    assert beta == pytest.approx(0.76554 / 1028.0, rel=RTOL)


# Non-uniform grid; w levels deliberately not mid-way between T levels.
DEPTH_T = np.array([5.0, 15.0, 30.0, 55.0, 95.0, 160.0])
DEPTH_W = np.array([0.0, 10.0, 22.0, 42.0, 75.0, 127.0])
E3W = np.concatenate([[5.0], np.diff(DEPTH_T)])  # NEMO zco: e3w(k) = gdept(k) - gdept(k-1)


def _n2(T, S, params, tmask=None):
    if tmask is None:
        tmask = np.ones_like(T)
    out = np.full(T.shape, np.nan)
    bn2_kernel(T, S, DEPTH_T, DEPTH_W, E3W, tmask, *params.coeffs(), out)
    return out


def _broadcast(profile, nj=2, ni=2):
    return np.repeat(np.repeat(profile[:, None, None], nj, 1), ni, 2).copy()


def test_bn2_linear_eos_linear_stratification():
    lin = EosParams.linear()
    dTdz, dSdz = 0.004, 0.001  # T decreases, S increases downward [K m-1, psu m-1]
    T = _broadcast(20.0 - dTdz * DEPTH_T)
    S = _broadcast(35.0 + dSdz * DEPTH_T)
    n2 = _n2(T, S, lin)
    assert np.all(n2[0] == 0.0)
    np.testing.assert_allclose(n2[1:], GRAV * (0.1655 * dTdz + 0.7655 * dSdz) / 1028.0,
                               rtol=RTOL)
    n2_t = _n2(T, np.full_like(S, 35.0), lin)  # T only: N2 = g*a0*dT/dz/rho0
    np.testing.assert_allclose(n2_t[1:], GRAV * 0.1655 * dTdz / 1028.0, rtol=RTOL)


def test_bn2_unstable_column_negative():
    T = _broadcast(2.0 + 0.01 * DEPTH_T)  # warmer below: statically unstable
    S = _broadcast(np.full(DEPTH_T.size, 35.0))
    for params in (DINO, FULL, EosParams.linear()):
        n2 = _n2(T, S, params)
        assert np.all(n2[1:] < 0.0)


def test_bn2_seos_matches_density_derivatives():
    """alpha, beta at the w level from central differences of rho_insitu (exact for a
    quadratic EOS) evaluated at depth-interpolated T, S and at depth_w."""
    T = _broadcast(np.array([24.0, 21.0, 15.5, 9.0, 6.0, 3.5]))
    S = _broadcast(np.array([36.8, 36.5, 35.9, 35.2, 34.9, 34.8]))
    for params in (DINO, FULL):
        n2 = _n2(T, S, params)
        for k in range(1, DEPTH_T.size):
            zrw = (DEPTH_W[k] - DEPTH_T[k]) / (DEPTH_T[k - 1] - DEPTH_T[k])
            tw = T[k, 0, 0] * (1 - zrw) + T[k - 1, 0, 0] * zrw
            sw = S[k, 0, 0] * (1 - zrw) + S[k - 1, 0, 0] * zrw
            h = 0.5
            alpha = -(rho_insitu(tw + h, sw, DEPTH_W[k], params)
                      - rho_insitu(tw - h, sw, DEPTH_W[k], params)) / (2 * h) / params.rho0
            beta = (rho_insitu(tw, sw + h, DEPTH_W[k], params)
                    - rho_insitu(tw, sw - h, DEPTH_W[k], params)) / (2 * h) / params.rho0
            ref = GRAV * (alpha * (T[k - 1, 0, 0] - T[k, 0, 0])
                          - beta * (S[k - 1, 0, 0] - S[k, 0, 0])) / E3W[k]
            np.testing.assert_allclose(n2[k], ref, rtol=1e-9)


def test_bn2_masked_points_zero():
    T = _broadcast(20.0 - 0.01 * DEPTH_T)
    S = _broadcast(np.full(DEPTH_T.size, 35.0))
    tmask = np.ones_like(T)
    tmask[4:, 0, 1] = 0.0  # column (0, 1): bottom at level 3
    tmask[:, 1, 1] = 0.0  # land column
    n2 = _n2(T, S, DINO, tmask)
    assert np.all(n2[0] == 0.0)
    assert np.all(n2[4:, 0, 1] == 0.0) and np.all(n2[1:4, 0, 1] > 0.0)
    assert np.all(n2[:, 1, 1] == 0.0)
    assert np.all(n2[1:, 0, 0] > 0.0)


def test_params_constructors():
    lin = EosParams.linear()
    assert lin.kind == "linear" and (lin.rho0, lin.a0, lin.b0) == (1028.0, 0.1655, 0.7655)
    assert lin.lambda1 == lin.lambda2 == lin.nu == lin.mu1 == lin.mu2 == 0.0
    d = EosParams.dino()
    assert d.kind == "seos" and d.lambda2 == d.mu2 == d.nu == 0.0
    docs = EosParams.dino(source="docs")
    assert docs.a0 * docs.lambda1 == pytest.approx(9.9e-3, rel=RTOL)
    assert docs.a0 * docs.mu1 == pytest.approx(2.4775e-5, rel=RTOL)
    with pytest.raises(ValueError):
        EosParams(lambda1=0.06, kind="linear")
    with pytest.raises(ValueError):
        EosParams(kind="teos10")
