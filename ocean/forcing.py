"""Surface boundary conditions on a tile: wind stress, heat and salt fluxes, solar heating.

Kinds: ``dino`` (the analytic seasonal forcing of ``forcing_dino``), ``box_wind`` (a zonal
wind tau_x = -tau0 cos(pi y / Ly) over a box, for gyre tests) and ``none``. The seasonal
fields are recomputed every ``forcing.update_hours``; the fluxes that depend on the state
(restoring) are evaluated every step from the surface T and S.

Heat: Q_net = trp (SST - T*) W m-2 enters the ocean, of which the solar part Q_sr penetrates
with NEMO's two-band profile I(z) = R exp(-z/xi1) + (1-R) exp(-z/xi2) (R = 0.58,
xi1 = 0.35 m, xi2 = 23 m; what is left at the sea floor is absorbed by the bottom cell),
and the rest, Q_net - Q_sr, enters the top cell (DINO's convention). Salt: a virtual salt
flux srp (SSS - S*) (psu kg m-2 s-1).
"""
from __future__ import annotations

import numpy as np

from . import fields
from . import forcing_dino as dino
from .kernels import serial_kernel

SECONDS_PER_DAY = 86400.0


def day_of_year(date: str) -> float:
    """Days since 1 January of a 'YYYY-MM-DD' date in the 360-day calendar."""
    from .config import ConfigError
    try:
        _, month, day = (int(x) for x in date.split("-"))
        if not (1 <= month <= 12 and 1 <= day <= 30):
            raise ValueError
    except ValueError:
        raise ConfigError(f"key 'time.start_date' must be YYYY-MM-DD in a 360-day calendar, got {date!r}") from None
    return 30.0 * (month - 1) + (day - 1)


def solar_penetration(gdepw: np.ndarray, r=0.58, xi1=0.35, xi2=23.0) -> np.ndarray:
    """Fraction of the surface shortwave flux reaching each W level (nz+1,)."""
    return r * np.exp(-gdepw / xi1) + (1.0 - r) * np.exp(-gdepw / xi2)


@serial_kernel
def surface_sources(T, S, tstar, sstar, qsr, trp, srp, rho0, rho0_cp, tmask, nhalo, src_t, src_s, pen_t):
    """Surface sources for the tracer equation: src_t (degC m/s) and src_s (psu m/s) into the
    top cell, pen_t (degC m/s) the shortwave distributed over depth by the tracer update."""
    nj, ni = src_t.shape
    for j in range(nhalo, nj - nhalo):
        for i in range(nhalo, ni - nhalo):
            m = tmask[0, j, i]
            q_net = trp * (T[0, j, i] - tstar[j, i])
            src_t[j, i] = (q_net - qsr[j, i]) / rho0_cp * m
            pen_t[j, i] = qsr[j, i] / rho0_cp * m
            src_s[j, i] = srp * (S[0, j, i] - sstar[j, i]) / rho0 * m


class SurfaceForcing:
    """Surface fields on a tile (all 2-D with halo): taux (U points), tauy (V) in N m-2;
    tstar (degC), sstar (psu), qsr (W m-2) at T points."""

    def __init__(self, f, start_date: str, grid, eos):
        """``f``: the [forcing] section; ``start_date``: the model date of time 0; ``eos``: the
        :class:`ocean.eos.EosParams` whose rho0 (kg m-3) and cp (J kg-1 K-1) turn heat and
        salt fluxes into tracer fluxes."""
        self.kind, self.grid, self.rho0 = f.kind, grid, eos.rho0
        self.rho0_cp = eos.rho0 * eos.cp             # J m-3 K-1
        self.update_s = f.update_hours * 3600.0
        self.start_day = day_of_year(start_date)
        self.trp = f.t_restoring_w_m2_k if self.kind == "dino" else 0.0
        self.srp = f.s_restoring_kg_m2_s if self.kind == "dino" else 0.0
        self.solar = f.solar_w_m2
        z = lambda: np.zeros(grid.shape2)  # noqa: E731
        self.taux, self.tauy, self.tstar, self.sstar, self.qsr = z(), z(), z(), z(), z()
        self.src_t, self.src_s, self.pen_t, self.src_zero = z(), z(), z(), z()
        self.ipen = solar_penetration(grid.gdepw)
        self.next_update_s = -np.inf
        gh = grid.global_h
        if self.kind == "dino":
            lat_s = gh.y_t[0] - 0.5 * (gh.y_t[1] - gh.y_t[0])
            lat_n = gh.y_t[-1] + 0.5 * (gh.y_t[-1] - gh.y_t[-2])
            self.lat_bounds = (float(lat_s), float(lat_n))
            self.taux[:] = dino.zonal_wind_stress(grid.lat_u, *self.lat_bounds) * grid.umask[0]
        elif self.kind == "box_wind":
            ly = gh.y_v[-1]                                  # box: y_v[-1] is the northern wall
            dy = gh.y_v[0] - gh.y_t[0]
            y = gh.y_t[0] + 2 * dy * (np.arange(grid.shape2[0]) - grid.nhalo + grid.j0)
            self.taux[:] = -f.wind_tau0_n_m2 * np.cos(np.pi * y[:, None] / ly) * grid.umask[0]

    def update(self, time_s: float) -> None:
        """Recompute the seasonal fields when due (time_s: seconds since the run's start date)."""
        if self.kind != "dino" or time_s < self.next_update_s:
            return
        t_upd = np.floor(time_s / self.update_s) * self.update_s   # same fields after a restart
        day = (t_upd / SECONDS_PER_DAY + self.start_day) % dino.DAYS_PER_YEAR
        g = self.grid
        tm = g.tmask[0]
        self.tstar[:] = dino.sst_restoring_target(g.lat_t, day, *self.lat_bounds) * tm
        self.sstar[:] = dino.sss_restoring_target(g.lat_t, day, *self.lat_bounds) * tm
        self.qsr[:] = dino.solar_heating(g.lat_t, day) * (self.solar / dino.SOLAR_MAX_W_M2) * tm
        self.next_update_s = t_upd + self.update_s

    def sources(self, T: np.ndarray, S: np.ndarray) -> None:
        """Fill src_t, src_s, pen_t from the current surface T and S."""
        surface_sources(T, S, self.tstar, self.sstar, self.qsr, self.trp, self.srp, self.rho0,
                        self.rho0_cp, self.grid.tmask, self.grid.nhalo, self.src_t, self.src_s, self.pen_t)


fields.declare("taux", "U", 2, "N m-2", "surface downward x stress", lambda m: m.forcing.taux, output="taux",
               standard_name="surface_downward_x_stress", owner=__name__)
fields.declare("tauy", "V", 2, "N m-2", "surface downward y stress", lambda m: m.forcing.tauy, output="tauy",
               standard_name="surface_downward_y_stress", owner=__name__)
fields.declare("qsr", "T", 2, "W m-2", "net downward shortwave flux at the sea surface", lambda m: m.forcing.qsr,
               output="rsntds", standard_name="net_downward_shortwave_flux_at_sea_water_surface", owner=__name__)
