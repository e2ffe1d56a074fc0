"""The ocean model of one tile: its state, and the time step in one function (``step``).

Time stepping (documented in docs/numerics.md):
- momentum: Adams-Bashforth 3 for the advective terms (EEN vorticity, kinetic-energy
  gradient, vertical advection), forward for the hydrostatic pressure gradient (it uses
  the density just updated by the tracers: a forward-backward pair for internal waves)
  and the lateral viscosity, backward (implicit) for vertical viscosity, wind stress and
  bottom drag;
- barotropic mode: split-explicit, forward-backward sub-steps with boxcar time filtering
  (``barotropic.py``);
- tracers: forward in time with the velocity centred on the step and a TVD flux;
  implicit vertical diffusion.
Every array is preallocated here; ``step`` allocates nothing.
"""
from __future__ import annotations

import math

import numpy as np

from . import barotropic, diagnostics, fields, ldf_iso, momentum, tracers
from .closure_slots import EDDY_VELOCITY, Closure
from .config import Config, ConfigError
from .domain import Domain, serial_domain
from .eos import GRAV, EosParams, bn2_kernel, rhd_kernel
from .forcing import SurfaceForcing
from .forcing_dino import initial_stratification
from .gm import GentMcWilliams
from .grid import GlobalHorizontal, Grid, Vertical, build_global, lateral_slip
from .vertical_mixing import VerticalMixing

AB3_COEFFS = ((1.0, 0.0, 0.0), (1.5, -0.5, 0.0), (23 / 12, -16 / 12, 5 / 12))
"""Adams-Bashforth weights (c0, c1, c2) of the tendencies of steps n, n-1, n-2: forward
Euler at the first step, AB2 at the second, AB3 from the third on (``AB3_COEFFS[min(n, 2)]``);
used for the advective momentum tendencies and the barotropic velocities they saw."""


class BlowUp(RuntimeError):
    """The model state went out of bounds; carries where and when."""

    def __init__(self, step: int, field: str, point: tuple[int, int, int], value: float):
        k, j, i = point
        super().__init__(f"blow-up at step {step}: {field} = {value!r} at global point "
                         f"(k={k}, j={j}, i={i})")
        self.step, self.field, self.point, self.value = step, field, point, value


class State:
    """Prognostic fields of a tile (halo included): u, v (m/s) at U/V points, T (degC),
    S (psu) at T points, ssh (m), ubar, vbar (m/s) the barotropic velocities, and the
    Adams-Bashforth history gu_hist, gv_hist (3, nz, nj, ni) of the advective tendencies
    and ubar_hist, vbar_hist of the barotropic velocities they saw."""

    def __init__(self, grid: Grid):
        z3, z2 = lambda: np.zeros(grid.shape3), lambda: np.zeros(grid.shape2)  # noqa: E731
        self.u, self.v, self.T, self.S = z3(), z3(), z3(), z3()
        self.ssh, self.ubar, self.vbar = z2(), z2(), z2()
        self.gu_hist = np.zeros((3,) + grid.shape3)
        self.gv_hist = np.zeros((3,) + grid.shape3)
        self.ubar_hist = np.zeros((3,) + grid.shape2)    # ubar, vbar of the last 3 steps, same slots
        self.vbar_hist = np.zeros((3,) + grid.shape2)
        self.nstep = 0            # steps done since the start of the experiment
        self.time_s = 0.0         # model time since start_date (s)


# prognostic fields: name, point, ndim, units, long name, output name, CF standard name
PROGNOSTIC = (
    ("u", "U", 3, "m s-1", "sea water x velocity", "uo", "sea_water_x_velocity"),
    ("v", "V", 3, "m s-1", "sea water y velocity", "vo", "sea_water_y_velocity"),
    ("T", "T", 3, "degC", "sea water potential temperature", "thetao", "sea_water_potential_temperature"),
    ("S", "T", 3, "1e-3", "sea water salinity", "so", "sea_water_salinity"),
    ("ssh", "T", 2, "m", "sea surface height above geoid", "zos", "sea_surface_height_above_geoid"),
    ("ubar", "U", 2, "m s-1", "depth-mean x velocity", "ubar", "barotropic_sea_water_x_velocity"),
    ("vbar", "V", 2, "m s-1", "depth-mean y velocity", "vbar", "barotropic_sea_water_y_velocity"),
)


def _declare_state_fields() -> None:
    """The prognostic fields, the Adams-Bashforth history the next steps use, and the
    vertical velocity that advects tracers."""
    own = "ocean.model"
    for name, point, ndim, units, long_name, output, standard in PROGNOSTIC:
        fields.declare(name, point, ndim, units, long_name, lambda m, a=name: getattr(m.state, a), output=output,
                       standard_name=standard, restart=True, owner=own)
    fields.declare("w", "W", 3, "m s-1", "upward sea water velocity (advecting tracers)", lambda m: m.wadv,
                   output="wo", standard_name="upward_sea_water_velocity", owner=own)
    fields.declare("in_domain", "T", 2, "1", "1 inside the model domain, land included (a closure's halo holds 0 "
                   "beyond the domain's closed edges)", lambda m: m.in_domain, output="in_domain", owner=own)
    # the top level of u, v alone: daily surface output at a 36th of the cost of uo, vo (as CMIP's uos, vos)
    fields.declare("u_top", "U", 2, "m s-1", "sea water x velocity of the top level", lambda m: m.state.u[0],
                   output="uos", standard_name="sea_water_x_velocity", owner=own)
    fields.declare("v_top", "V", 2, "m s-1", "sea water y velocity of the top level", lambda m: m.state.v[0],
                   output="vos", standard_name="sea_water_y_velocity", owner=own)
    # AB3 history: the tendencies of steps n-1 and n-2 (slots of the ring of 3) and the
    # barotropic velocities they saw
    for lag in (1, 2):
        for name, point, ndim, units in (("gu", "U", 3, "m s-2"), ("gv", "V", 3, "m s-2"),
                                         ("ubar", "U", 2, "m s-1"), ("vbar", "V", 2, "m s-1")):
            fields.declare(f"{name}_nm{lag}", point, ndim, units, f"{name} of step n-{lag} (Adams-Bashforth history)",
                           lambda m, hist=f"{name}_hist", lag=lag: getattr(m.state, hist)[(m.state.nstep - lag) % 3],
                           restart=True, owner=own)


_declare_state_fields()


class Model:
    """One tile of the ocean. ``Model(cfg)`` is the whole domain on one process;
    ``Model(cfg, domain)`` a tile of an MPI decomposition."""

    def __init__(self, cfg: Config, domain: Domain | None = None,
                 global_grid: tuple[GlobalHorizontal, Vertical, dict] | None = None):
        self.cfg = cfg
        gh, vert, counts = global_grid or build_global(cfg)
        nhalo = cfg.grid.halo
        NY, NX = gh.shape
        self.domain = domain or serial_domain(NX, NY, gh.periodic_x, nhalo)
        d = self.domain
        self.grid = g = Grid(gh, vert, counts, nhalo=nhalo, i0=d.i0, j0=d.j0, nx=d.nx, ny=d.ny, shlat=lateral_slip(cfg))
        self.halo = d.halo
        self.dt = cfg.time.dt_s
        self.eos = EosParams.of_kind(cfg.eos.kind)
        self.rho0 = self.eos.rho0
        self._setup_barotropic(counts, gh)
        self._setup_coefficients()
        self.state = State(g)
        self.bt_coefs = barotropic.substep_coefficients(g, GRAV, cfg.momentum.coriolis)
        self.forcing = SurfaceForcing(cfg.forcing, cfg.time.start_date, g, self.eos)
        z3, z2 = lambda: np.zeros(g.shape3), lambda: np.zeros(g.shape2)  # noqa: E731
        # work arrays
        self.ua, self.va, self.gu, self.gv, self.q, self.w = z3(), z3(), z3(), z3(), z3(), z3()
        self.tmp_u, self.tmp_v = z3(), z3()
        self.div, self.rot, self.ph = z3(), z3(), z3()
        self.div2, self.rot2 = (z3(), z3()) if self.viscosity == "biharmonic" else (None, None)
        self.uadv, self.vadv, self.wadv = z3(), z3(), z3()
        self.rhd, self.bn2 = z3(), z3()
        mo, tr = cfg.momentum, cfg.tracers
        self.coriolis, self.advect = mo.coriolis, tr.advection == "tvd"
        self.tracer_velocity_centred = cfg.time.tracer_velocity == "centred"
        self.keg_hw = mo.keg == "hollingsworth"
        self.een_qfac = momentum.een_e3f_factor(g.tmask, g.fmask_any, 1 if mo.e3f == "mean" else 0)
        vm = cfg.vertical_mixing
        self.vmix = VerticalMixing(g, avm=mo.vertical_viscosity_m2_s, kz_bg=tr.vertical_diffusivity_m2_s,
                                   kz_conv=tr.convection_diffusivity_m2_s, cd=mo.bottom_drag_cd,
                                   ke0=mo.bottom_drag_ke0_m2_s2, rho0=self.rho0, dt=self.dt,
                                   scheme=vm.scheme, params=vm, halo=self.halo)
        self.flux_t, self.flux_s = tracers.TracerFluxes(z3(), z3(), z3()), tracers.TracerFluxes(z3(), z3(), z3())
        self.Ta, self.Sa = z3(), z3()
        self.mld = z2()
        self.ke_surface = z2()
        self.in_domain = np.ones(g.shape2)       # the field in_domain (closures find the closed edges from it)
        self.bt_force_u, self.bt_force_v, self.ubar_old, self.vbar_old = z2(), z2(), z2(), z2()
        self.ubar_x, self.vbar_x = z2(), z2()
        self.ssh_w, self.ubar_w, self.vbar_w = z2(), z2(), z2()
        self.ssh_f, self.ubar_f, self.vbar_f, self.utr, self.vtr = z2(), z2(), z2(), z2(), z2()
        self.bt_state = barotropic.SubstepState(self.ssh_w, self.ubar_w, self.vbar_w)
        self.bt_filtered = barotropic.FilteredAccumulators(self.ssh_f, self.ubar_f, self.vbar_f, self.utr, self.vtr)
        self.fields = fields.FieldTable(self.vmix.absent_fields())   # the registry's, plus the closures'
        self.closures: list[Closure] = []   # the run's net closures, in the order of the configuration
        self.slotted: list[Closure] = []    # what the slots call: the physics processes, then the closures
        self.ueiv = self.veiv = None        # the eddy-velocity slot, once a closure fills it
        # lateral tracer mixing: iso-neutral diffusion (ldf_iso.py) and GM (gm.py, a physics closure)
        self.iso = (ldf_iso.IsoNeutral(g, self.aht_u, self.aht_v, tr.slope_max, self.dt, self.rho0)
                    if tr.lateral == "isoneutral" else None)
        self.gm = GentMcWilliams(g, self.iso, self.bn2, tr.gm_ue_m_s, tr.gm_le_m) if tr.gm else None
        if self.gm is not None:
            self.add_physics(self.gm)
        self.initialise()
        if cfg.mle.kind != "none":
            from .mle import MixedLayerEddies
            self.add_physics(MixedLayerEddies(cfg.mle, self))

    # ------------------------------------------------------------------ set-up
    def _setup_barotropic(self, counts, gh):
        """Number of sub-steps from the gravity-wave CFL on the global grid."""
        t = self.cfg.time
        wet = counts["T"] > 0
        vert_depth = float(np.max(gh.bathy[wet])) if wet.any() else 1.0
        inv_dx2 = (1.0 / gh.e1t ** 2 + 1.0 / gh.e2t ** 2)[wet]
        c = math.sqrt(GRAV * vert_depth)
        dte_max = t.barotropic_cfl / (c * math.sqrt(float(inv_dx2.max())))
        need = math.ceil(self.dt / dte_max)
        need += need % 2
        m = t.barotropic_substeps
        if m == 0:
            m = max(need, 4)
        elif m % 2 or m < need:
            raise ConfigError(
                f"key 'time.barotropic_substeps' = {m} breaks the barotropic gravity-wave CFL "
                f"(c = {c:.0f} m/s on a {math.sqrt(1 / inv_dx2.max()) / 1e3:.1f} km grid needs an even number "
                f">= {need} sub-steps of time.dt_s = {self.dt:g} s at CFL {t.barotropic_cfl})")
        self.n_sub = m
        self.bt_a, self.bt_c = barotropic.filter_weights(m)

    def _setup_coefficients(self):
        g, mo = self.grid, self.cfg.momentum
        emax_t = np.maximum(g.e1t, g.e2t)
        emax_f = np.maximum(g.e1f, g.e2f)
        self.viscosity = mo.viscosity
        if self.viscosity == "laplacian":
            if mo.visc_coeff > 0:
                self.ahm_t = np.full(g.shape2, mo.visc_coeff)
                self.ahm_f = self.ahm_t.copy()
            else:
                self.ahm_t, self.ahm_f = 0.5 * mo.visc_velocity_m_s * emax_t, 0.5 * mo.visc_velocity_m_s * emax_f
        elif self.viscosity == "biharmonic":       # operator applied twice with sqrt(B)
            if mo.visc_coeff > 0:
                self.ahm_t = np.full(g.shape2, math.sqrt(mo.visc_coeff))
                self.ahm_f = self.ahm_t.copy()
            else:
                self.ahm_t = np.sqrt(mo.visc_velocity_m_s * emax_t ** 3 / 12.0)
                self.ahm_f = np.sqrt(mo.visc_velocity_m_s * emax_f ** 3 / 12.0)
        self.aht_u, self.aht_v = tracers.lateral_diffusivity(g, self.cfg.tracers)

    def initialise(self):
        """Initial state: at rest with the configured stratification, or the mixed-layer
        fronts of ``init_front`` (``[init] kind = "front"``)."""
        g, s, ini = self.grid, self.state, self.cfg.init
        if ini.kind == "front":
            from .init_front import set_front_state
            s.gu_hist[:] = s.gv_hist[:] = 0.0
            s.ubar_hist[:] = s.vbar_hist[:] = 0.0
            s.nstep, s.time_s = 0, 0.0
            set_front_state(self)
            self.vmix.reset()
            return
        if ini.kind == "dino":
            t1, s1 = initial_stratification(g.gdept)
            T, S = t1[:, None, None], s1[:, None, None]
        elif ini.kind == "uniform":
            T, S = np.full((g.nz, 1, 1), ini.t0_degc), np.full((g.nz, 1, 1), ini.s0_psu)
        else:
            T = (ini.t0_degc + ini.dtdz_k_m * g.gdept)[:, None, None]
            S = np.full((g.nz, 1, 1), ini.s0_psu)
        s.T[:] = T * g.tmask
        s.S[:] = S * g.tmask
        s.u[:] = s.v[:] = s.ssh[:] = s.ubar[:] = s.vbar[:] = 0.0
        s.gu_hist[:] = s.gv_hist[:] = 0.0
        s.ubar_hist[:] = s.vbar_hist[:] = 0.0
        s.nstep, s.time_s = 0, 0.0
        self.vmix.reset()

    # ------------------------------------------------------------------ the time step
    def step(self) -> None:
        """Advance the tile by one time step dt (the order of all processes is here)."""
        g, s, nhalo, dt, halo = self.grid, self.state, self.grid.nhalo, self.dt, self.halo
        co = self.coriolis
        ec = self.eos.coeffs()
        self.forcing.update(s.time_s)
        for c in self.slotted:
            c.start_of_step()                        # inputs exist now: send (or run) the closures

        # 1. density, vertical mixing coefficients and vertical velocity at time n
        rhd_kernel(s.T, s.S, g.gdept, g.tmask, *ec, self.rhd)
        bn2_kernel(s.T, s.S, g.gdept, g.gdepw, g.e3w, g.tmask, *ec, self.bn2)
        self.vmix.update(self.bn2, s.u, s.v, self.forcing.taux, self.forcing.tauy)
        met, msk = g.metrics, g.masks
        momentum.divergence_curl(s.u, s.v, met, msk, self.div, self.rot)
        momentum.vertical_velocity(self.div, g.e3t, nhalo, 1, self.w)

        # 2. momentum: AB3 advective terms, forward pressure gradient and viscosity
        momentum.advective_tendency(s.u, s.v, self.w, self.rot, g.fcor_f, self.een_qfac, met, msk, co,
                                    self.keg_hw, nhalo, self.q, self.gu, self.gv)
        n = s.nstep
        c0, c1, c2 = AB3_COEFFS[min(n, 2)]
        momentum.ab3_update(s.u, s.v, self.gu, self.gv, s.gu_hist, s.gv_hist, n % 3, (n - 1) % 3, (n - 2) % 3,
                            c0, c1, c2, dt, nhalo, self.ua, self.va)
        momentum.hydrostatic_pressure(self.rhd, g.e3w, GRAV, self.ph)
        momentum.pressure_gradient(self.ph, met, msk, nhalo, self.gu, self.gv)
        self._lateral_viscosity()
        for c in self.slotted:                       # slot: momentum tendency
            c.momentum_tendency(self.gu, self.gv)
        momentum.add_tendency(self.ua, self.va, self.gu, self.gv, dt, nhalo)
        self.vmix.momentum(self.ua, self.va, self.forcing.taux, self.forcing.tauy)

        # 3. barotropic mode: sub-cycle, then give the 3-D velocity its filtered depth mean.
        # The Coriolis force of the depth-mean flow is removed from the forcing at the same
        # AB3 time level as the 3-D tendency that holds it (else the pair is unstable).
        slots = (n % 3, (n - 1) % 3, (n - 2) % 3)
        barotropic.ab3_extrapolate(s.ubar, s.vbar, s.ubar_hist, s.vbar_hist, slots[0], slots[1], slots[2],
                                   c0, c1, c2, self.ubar_x, self.vbar_x)
        self._barotropic(co)
        barotropic.replace_depth_mean(self.ua, self.va, s.ubar, s.vbar, met, msk, nhalo,
                                      self.bt_force_u, self.bt_force_v)
        halo.exchange(self.ua, self.va)
        barotropic.advective_velocity(s.u, s.v, self.ua, self.va, self.ubar_old, self.vbar_old, s.ubar, s.vbar,
                                      self.utr, self.vtr, met, msk, self.tracer_velocity_centred, self.uadv, self.vadv)
        s.u, self.ua = self.ua, s.u
        s.v, self.va = self.va, s.v

        # 4. tracers
        self._tracers()
        s.nstep += 1
        s.time_s += dt
        for c in self.slotted:
            c.end_of_step()                          # the state at n + 1 (what the output samples)

    def _lateral_viscosity(self):
        """Add the lateral viscosity of u^n (from self.div, self.rot) to gu, gv."""
        g, nhalo = self.grid, self.grid.nhalo
        met, msk = g.metrics, g.masks
        if self.viscosity == "laplacian":
            ahm_t, ahm_f = self.ahm_t, self.ahm_f
            momentum.laplacian_viscosity(self.div, self.rot, ahm_t, ahm_f, met, msk, nhalo, 0, 1.0, self.gu, self.gv)
        elif self.viscosity == "biharmonic":        # -lap(lap(u)), each with sqrt(B), no halo exchange between
            ahm_t, ahm_f = self.ahm_t, self.ahm_f
            self.tmp_u.fill(0.0)
            self.tmp_v.fill(0.0)
            momentum.laplacian_viscosity(self.div, self.rot, ahm_t, ahm_f, met, msk, nhalo, 1, 1.0,
                                         self.tmp_u, self.tmp_v)
            momentum.divergence_curl(self.tmp_u, self.tmp_v, met, msk, self.div2, self.rot2)
            momentum.laplacian_viscosity(self.div2, self.rot2, ahm_t, ahm_f, met, msk, nhalo, 0, -1.0,
                                         self.gu, self.gv)

    def _barotropic(self, coriolis: bool):
        g, s, nhalo = self.grid, self.state, self.grid.nhalo
        barotropic.depth_mean_forcing(self.ua, self.va, s.u, s.v, self.ubar_x, self.vbar_x, g.metrics, g.masks,
                                      g.fcor_u, g.fcor_v, coriolis, self.dt, nhalo, self.bt_force_u, self.bt_force_v)
        self.halo.exchange(self.bt_force_u, self.bt_force_v)
        self.ssh_w[:] = s.ssh
        self.ubar_w[:] = s.ubar
        self.vbar_w[:] = s.vbar
        for a in (self.ssh_f, self.ubar_f, self.vbar_f, self.utr, self.vtr):
            a.fill(0.0)
        dte = self.dt / self.n_sub
        for m in range(len(self.bt_c)):
            barotropic.substep(self.bt_state, self.bt_force_u, self.bt_force_v, self.bt_coefs,
                               dte, self.bt_a[m + 1], self.bt_c[m], nhalo, self.bt_filtered)
            self.halo.exchange(self.ubar_w, self.vbar_w)
        self.ubar_old[:] = s.ubar
        self.vbar_old[:] = s.vbar
        s.ssh[:] = self.ssh_f
        s.ubar[:] = self.ubar_f
        s.vbar[:] = self.vbar_f
        self.halo.exchange(s.ubar, s.vbar)

    def _tracers(self):
        g, s, nhalo, dt = self.grid, self.state, self.grid.nhalo, self.dt
        met, msk = g.metrics, g.masks
        iso, aht_u, aht_v, avt = self.iso, self.aht_u, self.aht_v, None
        if iso is not None:                          # slopes of time n, K_33 and the implicit correction
            avt = iso.update(self.rhd, self.bn2, self.vmix.avt)
            aht_u, aht_v = iso.zero_u, iso.zero_v    # the level operator is off
        if self.ueiv is not None:
            self._eddy_velocity()
        momentum.divergence_curl(self.uadv, self.vadv, met, msk, self.div, self.rot)
        momentum.vertical_velocity(self.div, g.e3t, nhalo, 0, self.wadv)
        f = self.forcing
        f.sources(s.T, s.S)
        both = ((s.T, self.Ta, f.src_t, f.pen_t, self.flux_t), (s.S, self.Sa, f.src_s, f.src_zero, self.flux_s))
        for X, _, _, _, flux in both:
            tracers.fluxes(X, self.uadv, self.vadv, self.wadv, aht_u, aht_v, met, msk, dt, self.advect, nhalo, flux)
        if iso is not None:
            iso.add_fluxes(s.T, s.S, self.flux_t, self.flux_s)
        for X, Xa, src, pen, flux in both:
            tracers.update(X, flux, src, pen, f.ipen, met, msk, dt, nhalo, Xa)
        for c in self.slotted:                       # slot: tracer tendency (after the resolved fluxes)
            c.tracer_tendency(self.Ta, self.Sa, dt)
        self.vmix.tracers(self.Ta, self.Sa, avt)
        self.halo.exchange(self.Ta, self.Sa)
        s.T, self.Ta = self.Ta, s.T
        s.S, self.Sa = self.Sa, s.S

    def _eddy_velocity(self):
        """Slot: the eddy-induced velocities of the physics (GM) and the closures, summed
        (each adds its own), added to the velocity that advects the tracers (its vertical
        part then follows from continuity with the resolved w)."""
        self.ueiv.fill(0.0)
        self.veiv.fill(0.0)
        for c in self.slotted:
            c.eddy_velocity(self.ueiv, self.veiv)
        self.halo.exchange(self.ueiv, self.veiv)
        self.uadv += self.ueiv
        self.vadv += self.veiv

    def add_closure(self, closure: Closure) -> None:
        """Plug a closure into the step's slots (closures act in the order they are added)."""
        self.closures.append(closure)
        self.slotted.append(closure)
        if EDDY_VELOCITY in closure.slots and self.ueiv is None:
            self.ueiv, self.veiv = np.zeros(self.grid.shape3), np.zeros(self.grid.shape3)

    def add_physics(self, process: Closure) -> None:
        """Plug a physics process with no net (GM, MLE) into the step's slots, before the
        closures; it is not one of the run's ``closures`` (no service, timers or report)."""
        self.slotted.insert(len(self.slotted) - len(self.closures), process)
        if EDDY_VELOCITY in process.slots and self.ueiv is None:
            self.ueiv, self.veiv = np.zeros(self.grid.shape3), np.zeros(self.grid.shape3)

    # ------------------------------------------------------------------ checks and diagnostics
    def check(self, umax: float) -> None:
        """Raise :class:`BlowUp` (on every rank) if any rank holds a NaN, inf or |u| > umax."""
        g, s = self.grid, self.state
        code, k, j, i = diagnostics.first_bad_point(s.u, s.v, s.T, s.S, s.ssh, g.tmask, umax, g.nhalo)
        d = self.domain
        flag = d.allreduce([1.0 if code >= 0 else 0.0], "max")[0]
        if flag == 0:
            return
        where = np.array([code, k, j - g.nhalo + g.j0, i - g.nhalo + g.i0, d.rank]) if code >= 0 else np.full(5, -1)
        if d.comm is not None:
            allw = d.comm.allgather(where)
            where = next(w for w in allw if w[0] >= 0)
        code, k, jg, ig, rank = (int(x) for x in where)
        fields = (s.u, s.v, s.T, s.S, s.ssh)
        value = float("nan")
        if code >= 0 and rank == d.rank:
            arr = fields[code]
            value = float(arr[k, j, i] if arr.ndim == 3 else arr[j, i])
        if d.comm is not None:
            value = d.comm.bcast(value, root=rank)
        raise BlowUp(s.nstep, diagnostics.BAD_FIELDS[code], (k, jg, ig), value)

    def global_diagnostics(self) -> dict[str, float]:
        """Volume, heat and salt content, kinetic energy, max |u|, CFL numbers (all ranks)."""
        g, s = self.grid, self.state
        vol_a, heat, salt, ke, vol, umax, cflh, cflv = diagnostics.tile_sums(
            s.u, s.v, self.w, s.T, s.S, s.ssh, g.metrics, g.masks, self.dt, g.nhalo)
        sums = self.domain.allreduce([vol_a, heat, salt, ke, vol])
        maxs = self.domain.allreduce([umax, cflh, cflv], "max")
        return {"volume_anomaly_m3": sums[0], "heat_content_J": sums[1] * (self.eos.rho0 * self.eos.cp),
                "salt_content_psu_m3": sums[2], "kinetic_energy_J": sums[3] * self.rho0,
                "ocean_volume_m3": sums[4], "mean_T_degC": sums[1] / sums[4], "mean_S_psu": sums[2] / sums[4],
                "max_speed_m_s": maxs[0], "cfl_horizontal": maxs[1], "cfl_vertical": maxs[2]}

    def mixed_layer_depth(self) -> np.ndarray:
        """Mixed-layer depth (m, 2-D with halo): the density criterion of
        diagnostics.MLD_DSIGMA_KG_M3 (0.03 kg m-3) from diagnostics.MLD_ZREF_M (10 m)."""
        g, s = self.grid, self.state
        a0, b0, lambda1, lambda2, nu = self.eos.coeffs()[:5]
        diagnostics.mixed_layer_depth(s.T, s.S, g.metrics, g.masks, diagnostics.MLD_ZREF_M,
                                      diagnostics.MLD_DSIGMA_KG_M3, a0, b0, lambda1, lambda2, nu, g.nhalo, self.mld)
        return self.mld

    def surface_kinetic_energy(self) -> np.ndarray:
        """Kinetic energy per unit mass of the top level at T points (m2 s-2, 2-D with halo)."""
        s, g = self.state, self.grid
        diagnostics.surface_kinetic_energy(s.u, s.v, g.umask, g.vmask, g.nhalo, self.ke_surface)
        return self.ke_surface

    def exchange_state(self) -> None:
        """Refresh every prognostic halo (after setting the state from outside)."""
        s = self.state
        self.halo.exchange(s.u, s.v, s.T, s.S)
        self.halo.exchange(s.ssh, s.ubar, s.vbar)
