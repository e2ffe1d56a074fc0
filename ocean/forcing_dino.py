"""Analytic DINO surface forcing and initial state (numpy; called once per model day).

Transcribed from repository ``vopikamm/DINO`` (NEMO 4.2 configuration of Kamm,
Deshayes & Madec, GMD 2025):

* ``MY_SRC/usrdef_sbc.F90``, ``nn_forcingtype = 4`` (the reference setting in
  ``EXPREF/namelist_cfg`` / ``EXP_R1/namelist_cfg_prod``), functions ``znl_cbc`` and
  ``compute_day_of_year``;
* parameter values from ``&namusr_def`` in ``EXP_R1/namelist_cfg_prod`` (same as the
  defaults in ``MY_SRC/usrdef_nam.F90``): rn_phi_min/max = -70/70, rn_trp = -40,
  rn_srp = -3.858e-3, rn_tstar_s/n/eq = -0.5/5.0/27.0, rn_sstar_s/n/eq = 35.0/35.1/37.25,
  ln_ann_cyc = T, ln_diu_cyc = F, ln_qsr = T;
* ``MY_SRC/usrdef_istate.F90`` for the initial state.

(``docs/index.md`` of the same repository swaps some end values, e.g. T*_n = -5, S*_s =
35.1; the namelist / usrdef_nam values are used here.)

Time: ``day`` = days elapsed since 1 January 00:00 of a 360-day year (12 x 30 days,
``nn_leapy = 30``); all formulas are 360-day periodic.  DINO's seasonal phases are::

    c1(day) = cos(pi*(day - 171)/180)   # solar: +1 on 21 June (day 171), -1 on 21 Dec
    c2(day) = cos(pi*(day - 201)/180)   # T*:    +1 on 21 July, i.e. lagged by 30 days

Formulas (lat in degrees north, phi_s/phi_n = southern/northern boundary latitudes)::

    tau_x   = piecewise "smoothstep" cubic through (phi, tau) nodes
              (phi_s, 0), (-45, 0.2), (-15, -0.1), (0, -0.02), (15, -0.1), (45, 0.1), (phi_n, 0)
              tau = tau_a + (tau_b - tau_a)*(3 - 2s)*s**2, s = (lat - phi_a)/(phi_b - phi_a)
              (C1, zero slope at every node; DINO evaluates it at u-point latitudes)
    T*      = T_e + (27 - T_e)*sin(pi*(lat + phi_n)/(phi_n - phi_s)),
              T_e = -0.5 - 0.5*c2 (lat <= 0),  T_e = 5 + 3*c2 (lat > 0)
    S*      = S_e + (37.25 - S_e)*(1 + cos(2*pi*lat/(phi_n - phi_s)))/2 - 1.25*exp(-lat**2/7.5**2),
              S_e = 35.0 (lat <= 0),  S_e = 35.1 (lat > 0);  no seasonal cycle
    Q_solar = max(230*cos(pi*(lat - 23.5*c1)/180), 0)

Fluxes in DINO (positive into the ocean): Q_ns = T_RESTORING_W_M2_K*(SST - T*) - Q_solar
[W m-2] so that the net heat input is Q_ns + Q_solar = -40*(SST - T*) (E-P = 0 in the
reference runs, no diurnal cycle); salt flux sfx = S_RESTORING_KG_M2_S*(SSS - S*)
[psu kg m-2 s-1 = g m-2 s-1], giving dS/dt = sfx/(rho0*e3t) in the top cell.  The
turbulent-KE wind-stress modulus is |tau_x|, boosted by 1.3 where tau_x > 0
(``wind_stress_modulus``).
"""

from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 360
T_RESTORING_W_M2_K = -40.0  # rn_trp [W m-2 K-1]
S_RESTORING_KG_M2_S = -3.858e-3  # rn_srp [kg m-2 s-1] (per psu of SSS - S*)

LAT_SOUTH = -70.0  # rn_phi_min [deg]
LAT_NORTH = 70.0  # rn_phi_max [deg]

WIND_NODE_LAT = (-45.0, -15.0, 0.0, 15.0, 45.0)  # interior nodes [deg N]
WIND_NODE_TAU = (0.2, -0.1, -0.02, -0.1, 0.1)  # [N m-2]
WIND_WESTERLY_TKE_BOOST = 1.3

TSTAR_SOUTH = -0.5  # rn_tstar_s [degC]
TSTAR_NORTH = 5.0  # rn_tstar_n [degC]
TSTAR_EQUATOR = 27.0  # rn_tstar_eq [degC]
TSTAR_SEASONAL_AMP_SOUTH = 0.5  # [degC]
TSTAR_SEASONAL_AMP_NORTH = 3.0  # [degC]

SSTAR_SOUTH = 35.0  # rn_sstar_s [psu]
SSTAR_NORTH = 35.1  # rn_sstar_n [psu]
SSTAR_EQUATOR = 37.25  # rn_sstar_eq [psu]
SSTAR_EQ_DIP = 1.25  # [psu]
SSTAR_EQ_WIDTH = 7.5  # [deg]

SOLAR_MAX_W_M2 = 230.0
SOLAR_TILT_DEG = 23.5
SOLAR_PEAK_DAY = 171.0  # 21 June
TSTAR_PEAK_DAY = 201.0  # 21 July


def _out(x):
    x = np.asarray(x, dtype=float)
    return x[()] if x.ndim == 0 else x


def solar_phase(day: float) -> float:
    """c1 = cos(pi*(day - 171)/180) [-]; +1 at the northern summer solstice."""
    return float(np.cos(np.pi * (day - SOLAR_PEAK_DAY) / (DAYS_PER_YEAR / 2)))


def tstar_phase(day: float) -> float:
    """c2 = cos(pi*(day - 201)/180) [-]; the T* cycle, one month after the solar one."""
    return float(np.cos(np.pi * (day - TSTAR_PEAK_DAY) / (DAYS_PER_YEAR / 2)))


def zonal_wind_stress(lat_deg, lat_south: float = LAT_SOUTH, lat_north: float = LAT_NORTH):
    """Zonal wind stress tau_x [N m-2] at latitudes lat_deg [deg N] (DINO ``znl_cbc``).

    Zero at and beyond lat_south / lat_north [deg N] (must lie outside [-45, 45]).
    """
    if not (lat_south < WIND_NODE_LAT[0] and lat_north > WIND_NODE_LAT[-1]):
        raise ValueError("need lat_south < -45 and lat_north > 45")
    phi = np.array((lat_south,) + WIND_NODE_LAT + (lat_north,))
    val = np.array((0.0,) + WIND_NODE_TAU + (0.0,))
    lat = np.asarray(lat_deg, dtype=float)
    idx = np.clip(np.searchsorted(phi, lat, side="right") - 1, 0, phi.size - 2)
    s = np.clip((lat - phi[idx]) / (phi[idx + 1] - phi[idx]), 0.0, 1.0)
    return _out(val[idx] + (val[idx + 1] - val[idx]) * (3.0 - 2.0 * s) * s * s)


def wind_stress_modulus(tau_x):
    """|tau| [N m-2] passed to the TKE scheme: |tau_x|, x1.3 where tau_x > 0 (westerlies)."""
    tau_x = np.asarray(tau_x, dtype=float)
    return _out(np.where(tau_x > 0.0, WIND_WESTERLY_TKE_BOOST, 1.0) * np.abs(tau_x))


def sst_restoring_target(lat_deg, day: float, lat_south: float = LAT_SOUTH,
                         lat_north: float = LAT_NORTH):
    """Restoring temperature T* [degC] at lat_deg [deg N] on day [0, 360)."""
    lat = np.asarray(lat_deg, dtype=float)
    c2 = tstar_phase(day)
    t_edge = np.where(lat <= 0.0,
                      TSTAR_SOUTH - TSTAR_SEASONAL_AMP_SOUTH * c2,
                      TSTAR_NORTH + TSTAR_SEASONAL_AMP_NORTH * c2)
    shape = np.sin(np.pi * (lat + lat_north) / (lat_north - lat_south))
    return _out(t_edge + (TSTAR_EQUATOR - t_edge) * shape)


def sss_restoring_target(lat_deg, day: float = 0.0, lat_south: float = LAT_SOUTH,
                         lat_north: float = LAT_NORTH):
    """Restoring salinity S* [psu] at lat_deg [deg N]; constant in time (day ignored)."""
    lat = np.asarray(lat_deg, dtype=float)
    s_edge = np.where(lat <= 0.0, SSTAR_SOUTH, SSTAR_NORTH)
    shape = 0.5 * (1.0 + np.cos(2.0 * np.pi * lat / (lat_north - lat_south)))
    dip = SSTAR_EQ_DIP * np.exp(-lat**2 / SSTAR_EQ_WIDTH**2)
    return _out(s_edge + (SSTAR_EQUATOR - s_edge) * shape - dip)


def solar_heating(lat_deg, day: float):
    """Daily-mean downward shortwave flux [W m-2] at lat_deg [deg N] on day [0, 360)."""
    lat = np.asarray(lat_deg, dtype=float)
    q = SOLAR_MAX_W_M2 * np.cos(np.pi * (lat - SOLAR_TILT_DEG * solar_phase(day)) / 180.0)
    return _out(np.maximum(q, 0.0))


def initial_stratification(depth_m):
    """Horizontally uniform initial (T [degC], S [psu]) at depths depth_m [m, positive down].

    DINO ``usr_def_istate`` case 1 ("equatorial stratification"): an upper profile and a
    deep profile joined by tanh weights centred at 500 m (scale 150 m)::

        w_up = (1 - tanh((z - 500)/150))/2,  w_dn = (1 + tanh((z - 500)/150))/2
        T = (16 - 12*tanh((z - 400)/700))*w_dn
            + (15*(1 - tanh((z - 50)/1500)) - 1.4*tanh((z - 100)/100) + 7*(1500 - z)/1500)*w_up
        S = (36.25 - 1.13*tanh((z - 305)/460))*w_dn
            + (35.55 + 1.25*(5000 - z)/5000 - 1.62*tanh((z - 60)/650)
               + 0.2*tanh((z - 35)/100) + 0.2*tanh((z - 1000)/5000))*w_up

    (about 23.6 degC / 36.8 psu at the surface, 4.0 degC / 35.1 psu at 4000 m).  The DINO
    reference runs start from case 4, see ``initial_state_meridional``.
    """
    z = np.asarray(depth_m, dtype=float)
    w_dn = 0.5 * (1.0 - np.tanh((500.0 - z) / 150.0))
    w_up = 0.5 * (1.0 - np.tanh((z - 500.0) / 150.0))
    t = ((16.0 - 12.0 * np.tanh((z - 400.0) / 700.0)) * w_dn
         + (15.0 * (1.0 - np.tanh((z - 50.0) / 1500.0))
            - 1.4 * np.tanh((z - 100.0) / 100.0)
            + 7.0 * (1500.0 - z) / 1500.0) * w_up)
    s = ((36.25 - 1.13 * np.tanh((z - 305.0) / 460.0)) * w_dn
         + (35.55 + 1.25 * (5000.0 - z) / 5000.0
            - 1.62 * np.tanh((z - 60.0) / 650.0)
            + 0.2 * np.tanh((z - 35.0) / 100.0)
            + 0.2 * np.tanh((z - 1000.0) / 5000.0)) * w_up)
    return _out(t), _out(s)


def initial_state_meridional(depth_m, lat_deg, lat_max: float | None = None):
    """DINO ``usr_def_istate`` case 4: (T [degC], S [psu]) arrays of shape (nz, nlat).

    The case-1 profile X(z) decays linearly in |lat| [deg] towards its minimum X_bot over
    depth_m: X = (X(z) - X_bot)*(lat_max - |lat|)/lat_max + X_bot, lat_max defaulting to
    max(lat_deg) (DINO: MAXVAL(gphit)).
    """
    z = np.atleast_1d(np.asarray(depth_m, dtype=float))
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=float))
    lat_max = float(lat.max()) if lat_max is None else float(lat_max)
    t1, s1 = (np.atleast_1d(a) for a in initial_stratification(z))
    w = ((lat_max - np.abs(lat)) / lat_max)[None, :]
    t = (t1[:, None] - t1.min()) * w + t1.min()
    s = (s1[:, None] - s1.min()) * w + s1.min()
    return t, s
