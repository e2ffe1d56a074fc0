"""Run configuration: TOML files validated against one schema.

A configuration is a TOML file with the sections below. Every key has a type, a default
and, where it matters, a check; loading refuses unknown keys, wrong types and impossible
values with a :class:`ConfigError` that names the file, the key and what was expected.
``--set section.key=value`` overrides are parsed with the same rules (the value is read as
TOML, so ``time.dt_s=1800`` is a number and ``grid.kind="box"`` or ``grid.kind=box`` a
string).

Loading gives a :class:`Config`: one frozen, typed section per table (``cfg.time.dt_s``),
built once, so that each part of the model is handed only its own section. A run holds any
number of closures: ``[[closure]]`` tables (or one ``[closure]`` table), each with its own
mode, ML ranks and frequency (``cfg.closures``).
"""
from __future__ import annotations

import copy
import tomllib
from dataclasses import asdict, dataclass, make_dataclass
from pathlib import Path
from typing import Any, Callable

from closures.runtime import PRECISIONS

from . import forcing_dino as dino_forcing


class ConfigError(Exception):
    """A user error in a configuration: printed as one line, exit status 2."""


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    default: Any
    doc: str
    check: Callable[[Any], bool] | None = None
    expect: str = ""
    choices: tuple[str, ...] | None = None


def _positive(x):
    return x > 0


def _nonneg(x):
    return x >= 0


NUM = (int, float)

SCHEMA: dict[str, dict[str, Key]] = {
    "run": {
        "name": Key(str, "run", "name used in output file names and titles"),
        "days": Key(NUM, 30.0, "simulated days to run (overridden by --days/--steps)", _positive, "> 0"),
        "max_velocity_m_s": Key(NUM, 10.0, "blow-up bound on |u|, |v| (m/s)", _positive, "> 0"),
        "check_every_steps": Key(int, 1, "steps between blow-up checks", _positive, "> 0"),
        "diagnostics_every_steps": Key(int, 0, "steps between printed diagnostics (0: off)", _nonneg, ">= 0"),
        "restart_every_days": Key(NUM, 360.0, "days between restart files, besides the one at the end (0: only that)",
                                  _nonneg, ">= 0"),
    },
    "grid": {
        "kind": Key(str, "dino", "grid kind", choices=("dino", "box")),
        "halo": Key(int, 3, "halo width of every array (points)", lambda h: h >= 3, ">= 3"),
        "nz": Key(int, 36, "number of z-levels", _positive, "> 0"),
        "depth_m": Key(NUM, 4000.0, "depth of the deepest ocean (m)", _positive, "> 0"),
        "dz_top_m": Key(NUM, 10.0, "top level thickness (m); 0 for uniform levels", _nonneg, ">= 0"),
        "stretch_kth": Key(NUM, 35.0, "tanh stretching: level of the inflexion (NEMO ppkth)", _positive, "> 0"),
        "stretch_acr": Key(NUM, 10.5, "tanh stretching: width in levels (NEMO ppacr)", _positive, "> 0"),
        # DINO sector
        "resolution_deg": Key(NUM, 1.0, "dino: longitude spacing of the isotropic Mercator grid (degrees)", _positive, "> 0"),
        "lon_extent_deg": Key(NUM, 50.0, "dino: width of the sector (degrees of longitude)", _positive, "> 0"),
        "lat_max_deg": Key(NUM, 70.0, "dino: the grid spans -lat_max..lat_max (degrees)", lambda x: 0 < x < 85, "in (0, 85)"),
        "coast_depth_m": Key(NUM, 2000.0, "dino: depth at the foot of the coastal walls (m)", _positive, "> 0"),
        "slope_width_deg": Key(NUM, 3.0, "dino: e-folding width of the continental slopes (degrees)", _positive, "> 0"),
        "channel_south_deg": Key(NUM, -65.0, "dino: southern edge of the re-entrant channel (degrees north)"),
        "channel_north_deg": Key(NUM, -45.0, "dino: northern edge of the re-entrant channel (degrees north)"),
        "sill_depth_m": Key(NUM, 2500.0, "dino: depth of the Drake sill crest (m)", _positive, "> 0"),
        "sill_width_deg": Key(NUM, 4.0, "dino: width of the Drake sill (degrees): the full width (twice the "
                              "e-folding distance) of the gaussian one, the e-folding distance from the ring and the "
                              "length of the taper east of the wall of the circular one (DINO rn_ds_width)", _positive, "> 0"),
        "sill_shape": Key(str, "gaussian", "dino: shape of the Drake sill: 'gaussian' (a straight Gaussian ridge across "
                          "the channel at the wall's longitude) or 'circular' (DINO's ln_drake_sill: a Gaussian ridge "
                          "along the half circle east of the wall that joins the wall's two tips, radius half the "
                          "channel width)", choices=("gaussian", "circular")),
        # Cartesian beta-plane box
        "nx": Key(int, 32, "box: number of T points in x", _positive, "> 0"),
        "ny": Key(int, 32, "box: number of T points in y", _positive, "> 0"),
        "dx_m": Key(NUM, 20e3, "box: grid spacing in x (m)", _positive, "> 0"),
        "dy_m": Key(NUM, 20e3, "box: grid spacing in y (m)", _positive, "> 0"),
        "periodic_x": Key(bool, False, "box: periodic in x (else closed walls)"),
        "f0": Key(NUM, 1e-4, "box: Coriolis parameter at the domain's centre (s-1)"),
        "beta": Key(NUM, 0.0, "box: df/dy (m-1 s-1)"),
        "bathymetry": Key(str, "flat", "box: bottom shape", choices=("flat", "ridge")),
    },
    "time": {
        "dt_s": Key(NUM, 2700.0, "baroclinic time step (s)", _positive, "> 0"),
        "barotropic_substeps": Key(int, 0, "barotropic sub-steps per time step (0: automatic from the CFL)", _nonneg, ">= 0"),
        "barotropic_cfl": Key(NUM, 0.7, "largest gravity-wave Courant number allowed for the sub-steps", lambda x: 0 < x <= 1.0, "in (0, 1]"),
        "start_date": Key(str, "0001-01-01", "model date of the first step (360-day calendar, YYYY-MM-DD)"),
        "tracer_velocity": Key(str, "centred", "velocity that advects T and S over a step: 'centred' the mean of "
                               "u(n) and u(n+1) (second order in time; with the forward pressure gradient it makes "
                               "internal gravity waves grow by about (omega dt)^2 / 4 a step, which lateral "
                               "viscosity and diffusion must damp) or 'new' u(n+1) (a forward-backward pair with the "
                               "pressure gradient: internal waves neutral, advection first order in time); the "
                               "depth mean is the barotropic transport either way", choices=("centred", "new")),
    },
    "eos": {
        "kind": Key(str, "seos", "equation of state", choices=("seos", "linear")),
    },
    "momentum": {
        "viscosity": Key(str, "laplacian", "lateral viscosity operator", choices=("laplacian", "biharmonic", "none")),
        "visc_velocity_m_s": Key(NUM, 0.27, "grid-scaled viscosity: A = U*e/2 (laplacian), U*e^3/12 (biharmonic); NEMO rn_Uv", _nonneg, ">= 0"),
        "visc_coeff": Key(NUM, 0.0, "constant viscosity (m2/s or m4/s); 0: use the grid-scaled one", _nonneg, ">= 0"),
        "lateral_bc": Key(str, "free-slip", "lateral boundary condition on walls", choices=("free-slip", "no-slip")),
        "vertical_viscosity_m2_s": Key(NUM, 1.2e-4, "background vertical viscosity (m2/s)", _nonneg, ">= 0"),
        "bottom_drag_cd": Key(NUM, 1e-3, "quadratic bottom drag coefficient", _nonneg, ">= 0"),
        "bottom_drag_ke0_m2_s2": Key(NUM, 2.5e-3, "background kinetic energy in the bottom drag (m2/s2)", _nonneg, ">= 0"),
        "coriolis": Key(bool, True, "include the Coriolis force"),
        "keg": Key(str, "standard", "kinetic energy of the KE-gradient term: 'standard' (1/4 of the sum of the four "
                   "squared velocities around the T point; NEMO nn_dynkeg = 0) or 'hollingsworth' (with the "
                   "Hollingsworth et al. 1983 correction that keeps the EEN vorticity term from feeding "
                   "two-grid-point modes; NEMO nn_dynkeg = 1, DINO's choice)", choices=("standard", "hollingsworth")),
        "e3f": Key(str, "mean", "level thickness at F points in the EEN vorticity term: 'mean' (mean e3t of the wet "
                   "T cells around the F point; NEMO nn_e3f_typ = 1, DINO's choice) or 'quarter' (their sum / 4, "
                   "which multiplies coastal and bottom vorticity by up to 4; NEMO nn_e3f_typ = 0)",
                   choices=("mean", "quarter")),
    },
    "tracers": {
        "advection": Key(str, "tvd", "tracer advection scheme", choices=("tvd", "none")),
        "diff_velocity_m_s": Key(NUM, 0.011, "grid-scaled lateral diffusivity K = U*e/2 (m/s); NEMO rn_Ud", _nonneg, ">= 0"),
        "diff_coeff_m2_s": Key(NUM, 0.0, "constant lateral diffusivity (m2/s); 0: grid-scaled", _nonneg, ">= 0"),
        "lateral": Key(str, "level", "direction of the lateral diffusion: along levels, or iso-neutral (NEMO's "
                       "standard operator with the stabilizing correction; ln_traldf_iso, ln_traldf_msc)",
                       choices=("level", "isoneutral")),
        "slope_max": Key(NUM, 0.01, "isoneutral: largest iso-neutral slope (dimensionless; NEMO rn_slpmax)",
                         _positive, "> 0"),
        "gm": Key(bool, False, "Gent-McWilliams eddy-induced velocity with the Treguier et al. (1997) coefficient "
                  "(NEMO ln_ldfeiv, nn_aei_ijk_t = 21); needs lateral = isoneutral"),
        "gm_ue_m_s": Key(NUM, 0.03, "gm: eddy velocity scale U_e (m/s) of the largest coefficient U_e L_e / 2; "
                         "NEMO rn_Ue", _nonneg, ">= 0"),
        "gm_le_m": Key(NUM, 100e3, "gm: eddy length scale L_e (m) of the largest coefficient; NEMO rn_Le",
                       _nonneg, ">= 0"),
        "vertical_diffusivity_m2_s": Key(NUM, 1.2e-5, "background vertical diffusivity (m2/s)", _nonneg, ">= 0"),
        "convection_diffusivity_m2_s": Key(NUM, 10.0, "vertical diffusivity where N2 < 0 (m2/s)", _nonneg, ">= 0"),
    },
    "vertical_mixing": {
        "scheme": Key(str, "convective", "how avm, avt are filled: 'convective' (the backgrounds momentum."
                      "vertical_viscosity_m2_s, tracers.vertical_diffusivity_m2_s, and tracers."
                      "convection_diffusivity_m2_s where N2 < 0; the analytic cases) or 'tke' (NEMO's TKE closure, "
                      "ln_zdftke, with those backgrounds as its minima, plus evd_m2_s)", choices=("convective", "tke")),
        "evd_m2_s": Key(NUM, 100.0, "tke: enhanced vertical diffusivity where N2 <= -1e-12 s-2 (m2/s; NEMO rn_evd; "
                        "0: off)", _nonneg, ">= 0"),
        "evd_momentum": Key(bool, True, "tke: the enhanced diffusivity acts on momentum too (NEMO nn_evdm = 1)"),
        "tke_ediff": Key(NUM, 0.1, "tke: c_k in Km = c_k l sqrt(e) (dimensionless; NEMO rn_ediff)", _positive, "> 0"),
        "tke_ediss": Key(NUM, 0.7, "tke: Kolmogorov dissipation c_eps in c_eps e^1.5/l (dimensionless; NEMO rn_ediss)",
                         _positive, "> 0"),
        "tke_ebb": Key(NUM, 67.83, "tke: surface TKE = ebb |tau|/rho0 (dimensionless; NEMO rn_ebb)", _nonneg, ">= 0"),
        "tke_emin_m2_s2": Key(NUM, 1e-6, "tke: minimum TKE (m2/s2; NEMO rn_emin)", _positive, "> 0"),
        "tke_emin0_m2_s2": Key(NUM, 1e-4, "tke: minimum surface TKE (m2/s2; NEMO rn_emin0)", _positive, "> 0"),
        "tke_bshear_s2": Key(NUM, 1e-20, "tke: background shear squared in the Richardson number (s-2; NEMO rn_bshear)",
                             _positive, "> 0"),
        "tke_langmuir": Key(bool, True, "tke: Langmuir-cell TKE source, Axell 2002 (NEMO ln_lc)"),
        "tke_langmuir_coeff": Key(NUM, 0.15, "tke: c_LC of the Langmuir source (dimensionless; NEMO rn_lc)",
                                  _nonneg, ">= 0"),
        "tke_etau": Key(int, 1, "tke: TKE penetration below the mixed layer, e += efr e_surf exp(-z/htau) each step "
                        "(NEMO nn_etau: 0 off, 1 on)", lambda x: x in (0, 1), "0 or 1"),
        "tke_efr": Key(NUM, 0.05, "tke: fraction of the surface TKE that penetrates (dimensionless; NEMO rn_efr)",
                       _nonneg, ">= 0"),
        "tke_htau": Key(str, "latitude", "tke: penetration depth htau: 'latitude' max(0.5, min(30, 45 |sin(lat)|)) m "
                        "(NEMO nn_htau = 1) or 'constant' 10 m (nn_htau = 0)", choices=("latitude", "constant")),
    },
    "forcing": {
        "kind": Key(str, "dino", "surface forcing", choices=("dino", "box_wind", "none")),
        "wind_tau0_n_m2": Key(NUM, 0.1, "box_wind: amplitude of tau_x = -tau0 cos(pi y / Ly) (N/m2)"),
        "t_restoring_w_m2_k": Key(NUM, dino_forcing.T_RESTORING_W_M2_K, "dino: SST restoring coefficient (W m-2 K-1)", lambda x: x <= 0, "<= 0"),
        "s_restoring_kg_m2_s": Key(NUM, dino_forcing.S_RESTORING_KG_M2_S, "dino: SSS restoring coefficient (kg m-2 s-1 psu-1)", lambda x: x <= 0, "<= 0"),
        "solar_w_m2": Key(NUM, dino_forcing.SOLAR_MAX_W_M2, "dino: peak solar heating (W m-2)", _nonneg, ">= 0"),
        "update_hours": Key(NUM, 24.0, "interval between updates of the seasonal forcing (hours)", _positive, "> 0"),
    },
    "init": {
        "kind": Key(str, "dino", "initial state: at rest with DINO's, a uniform or a linear stratification, or a "
                    "mixed-layer front spin-down ('front', ocean/init_front.py: box grids)",
                    choices=("dino", "uniform", "linear", "front")),
        "t0_degc": Key(NUM, 10.0, "uniform/linear: surface temperature; front: temperature at the mixed-layer base "
                       "on the dense side of the fronts (degC)"),
        "s0_psu": Key(NUM, 35.0, "uniform/linear/front: salinity (psu)"),
        "dtdz_k_m": Key(NUM, 0.0, "linear: temperature change per metre of depth (K/m, negative = colder below)"),
        "front_hml_m": Key(NUM, 200.0, "front: depth H of the mixed layer that holds the fronts (m)", _positive, "> 0"),
        "front_dt_k": Key(NUM, 5.0, "front: temperature step across each front (K): T_ML = t0 + dt (1 - cos(n pi y "
                          "/ L_y)) / 2 + dtdz_ml (depth - H)"),
        "front_count": Key(int, 4, "front: number n of fronts across the channel (each L_y / n wide)",
                           _positive, "> 0"),
        "front_dtdz_ml_k_m": Key(NUM, -1.27e-3, "front: temperature change per metre of depth in the mixed layer "
                                 "(K/m, negative = colder below)"),
        "front_dtdz_deep_k_m": Key(NUM, -1.27e-2, "front: temperature change per metre of depth below the mixed "
                                   "layer, where isotherms are flat (K/m)"),
        "front_base_m": Key(NUM, 0.0, "front: depth scale (m) over which the fronts fade below the mixed-layer base; "
                            "0: isotherms flat below the base and a step there", _nonneg, ">= 0"),
        "front_noise_k": Key(NUM, 0.0, "front: standard deviation of the white noise added to T in the mixed layer "
                             "(K; drawn by global point, so the same on any number of ranks)", _nonneg, ">= 0"),
        "front_seed": Key(int, 0, "front: seed of the noise", _nonneg, ">= 0"),
        "front_balanced": Key(bool, True, "front: start in thermal-wind balance with no flow below the mixed layer "
                              "(u and the sea surface height set from the model's own hydrostatic pressure), "
                              "else at rest"),
    },
    "mle": {
        "kind": Key(str, "none", "mixed-layer eddy transport (NEMO tramle): none; fk08 (Fox-Kemper et al. 2008); "
                    "bbz24 (psi from the w'b' of a [[closure]] with output wb, as the published BBZ24 run)",
                    choices=("none", "fk08", "bbz24")),
        "nn_mle": Key(int, 1, "NEMO's form: 0 FFH11 (front length lf_m, time time_s), 1 fixed length 5 km at lat_ref_deg",
                      lambda x: x in (0, 1), "0 or 1"),
        "ce": Key(NUM, 0.06, "efficiency coefficient Ce (dimensionless; typical 0.06 to 0.08)", _nonneg, ">= 0"),
        "lat_ref_deg": Key(NUM, 20.0, "nn_mle = 1: latitude where the front length is 5 km (degrees north)",
                           lambda x: 0 < abs(x) <= 90, "in (0, 90] in absolute value"),
        "lf_m": Key(NUM, 5000.0, "nn_mle = 0: typical front length L_f (m)", _positive, "> 0"),
        "time_s": Key(NUM, 172800.0, "nn_mle = 0: time scale tau in sqrt(f^2 + tau^-2) (s)", _positive, "> 0"),
        "hml_sign": Key(NUM, -1.0, "bbz24: sign of the H_ML input (-1: H_ML < 0 as the net's training data; "
                        "+1: positive metres as the published eORCA025 run passed it)", lambda x: x in (-1.0, 1.0),
                        "-1 or 1"),
        "rho_c_kg_m3": Key(NUM, 0.01, "mixed-layer criterion: potential density excess over its 10 m value (kg m-3)",
                           _positive, "> 0"),
    },
    "parallel": {
        "px": Key(int, 0, "tiles across x (0: automatic from the number of ranks)", _nonneg, ">= 0"),
        "py": Key(int, 0, "tiles across y (0: automatic)", _nonneg, ">= 0"),
        "threads": Key(int, 0, "numba threads per ocean rank (0: the node's cores shared among the ranks on it)",
                       _nonneg, ">= 0"),
    },
    "output": {
        "interval_days": Key(NUM, 30.0, "days between output records (0: none)", _nonneg, ">= 0"),
        "mode": Key(str, "mean", "records are time means or snapshots", choices=("mean", "snapshot")),
        "fields": Key(list, ["thetao", "so", "uo", "vo", "wo", "zos", "mld", "ubar", "vbar"], "fields to write"),
    },
}


CLOSURE_SCHEMA: dict[str, Key] = {
    "model_file": Key(str, "", "closure model file (TorchScript with its declaration); empty: no closure"),
    "mode": Key(str, "inprocess", "where and how the closure runs", choices=("inprocess", "sync", "async", "lagged")),
    "every_steps": Key(int, 1, "run the closure every n steps", _positive, "> 0"),
    "ml_ranks": Key(int, 0, "ranks (the last ones) that serve the closure in sync/async/lagged modes", _nonneg, ">= 0"),
    "device": Key(str, "auto", "device of the net", choices=("auto", "cpu", "cuda")),
    "precision": Key(str, "auto", "CPU inference of a float32 net: 'fp32' frozen and fused, 'fp32-eager' as saved, "
                     "'bf16' under bfloat16 autocast, 'auto' bf16 on CPUs with native bfloat16 (AVX512-BF16, AMX: "
                     "2-3 times faster; GZ21: 1.7-2.4% rms error of the mean forcing) and fp32 elsewhere, "
                     "'fp32-compile', 'bf16-compile' under torch.compile (GZ21 only; a C++ compiler at run time; "
                     "GZ21's 36 levels 1.5 times faster than bf16 on an AMX CPU)",
                     choices=PRECISIONS),
    "torch_threads": Key(int, 1, "torch threads per ML (or in-process) rank: the cores it owns", _positive, "> 0"),
    "timeout_s": Key(NUM, 120.0, "seconds an ocean rank waits for a closure result before failing", _positive, "> 0"),
    "fallback": Key(str, "", "when the closure fails during the run: '' stops the job (saving the state); "
                    "'none' goes on without a closure; a model file goes on with that closure in-process "
                    "(same outputs); both with a warning"),
    # the physics layer between the net and the step (ocean/gz21_forcing.py)
    "physics": Key(str, "", "'' routes the net's outputs by name (du, dv, ueiv, ...); 'gz21' applies a GZ21 closure "
                   "file as a stochastic momentum forcing", choices=("", "gz21")),
    "form": Key(str, "levels", "gz21: 'levels' runs the net on every level as a batch (DINO.GZ21); 'profile' on the "
                "surface, times a vertical structure", choices=("levels", "profile")),
    "profile": Key(str, "barotropic", "gz21, form 'profile': vertical structure of the forcing, 1 at the surface: "
                   "'barotropic' (1 everywhere), 'sqg' (decay of a surface quasi-geostrophic mode at the grid scale) "
                   "or 'ebt' (the equivalent barotropic mode of each column, MOM6's ebt_struct: first eigenfunction "
                   "of d/dz(N-2 dF/dz) + F/c2 = 0, dF/dz = 0 at the surface, F = 0 at the sea floor)",
                   choices=("barotropic", "sqg", "ebt")),
    "ebt_n2_filter_depth_m": Key(NUM, -1.0, "gz21, profile 'ebt': depth (m) below which N2 may not increase with "
                                 "depth in the EBT eigenproblem (MOM6 RESOLN_N2_FILTER_DEPTH); < 0: off"),
    "placement": Key(str, "t", "gz21: 't' averages u, v to T points and the forcing back (MOM6); 'published' uses "
                     "u, v at their own points (DINO.GZ21)", choices=("t", "published")),
    "padding": Key(str, "zero", "gz21: land and beyond closed edges are zeros ('zero', published) or the nearest "
                   "ocean values ('replicate')", choices=("zero", "replicate")),
    "draw": Key(str, "precision", "gz21: S = mu + eps/p ('precision', GZ21's loss: p = 1/sigma), mu + eps sqrt(1/p) "
                "('sqrt', DINO.GZ21's code) or mu ('none', deterministic)", choices=("precision", "sqrt", "none")),
    "noise": Key(str, "shared", "gz21: one eps per column ('shared', MOM6) or per level ('independent', DINO.GZ21)",
                 choices=("shared", "independent")),
    "amplitude": Key(NUM, 1.0, "gz21: multiplier of the forcing", _nonneg, ">= 0"),
    "seed": Key(int, 0, "gz21: seed of the noise (eps keyed by seed, step, level, global j, i)", _nonneg, ">= 0"),
    "train": Key(str, "", "fit configuration (TOML, as for python -m closures.train fit, with [data] factor) of a net "
                 "the ML rank trains online from this run's fields, every every_steps steps (mode 'async', one ML "
                 "rank; closures/online.py); '' trains nothing"),
    "train_skip": Key(bool, True, "train: when the learner has not taken the last sample yet, skip the new one "
                      "(true: the ocean never waits) or wait for it (false: every sample is trained, reproducibly)"),
    "spread_max_m_s2": Key(NUM, 1e-6, "gz21: cap on the spread 1e-7/p (m s-2), where the net's precision p is <= 0 "
                           "or tiny", _positive, "> 0"),
}


def _section_class(name: str, keys: dict[str, Key]) -> type:
    """A frozen dataclass with one typed attribute per key of a schema section."""
    def annotation(k: Key):
        return {NUM: float, int: int, bool: bool, list: tuple, str: str}.get(k.type, object)
    cls = make_dataclass("".join(w.capitalize() for w in name.split("_")) + "Config", [(k, annotation(spec)) for k, spec in keys.items()],
                         frozen=True)
    cls.__doc__ = f"The [{name}] section: " + "; ".join(f"{k}: {spec.doc}" for k, spec in keys.items())
    cls.__module__ = __name__
    return cls


RunConfig = _section_class("run", SCHEMA["run"])
GridConfig = _section_class("grid", SCHEMA["grid"])
TimeConfig = _section_class("time", SCHEMA["time"])
EosConfig = _section_class("eos", SCHEMA["eos"])
MomentumConfig = _section_class("momentum", SCHEMA["momentum"])
TracersConfig = _section_class("tracers", SCHEMA["tracers"])
VerticalMixingConfig = _section_class("vertical_mixing", SCHEMA["vertical_mixing"])
ForcingConfig = _section_class("forcing", SCHEMA["forcing"])
InitConfig = _section_class("init", SCHEMA["init"])
MleConfig = _section_class("mle", SCHEMA["mle"])
ParallelConfig = _section_class("parallel", SCHEMA["parallel"])
OutputConfig = _section_class("output", SCHEMA["output"])
ClosureConfig = _section_class("closure", CLOSURE_SCHEMA)
SECTION_CLASSES = {"run": RunConfig, "grid": GridConfig, "time": TimeConfig, "eos": EosConfig,
                    "momentum": MomentumConfig, "tracers": TracersConfig, "vertical_mixing": VerticalMixingConfig,
                    "forcing": ForcingConfig, "init": InitConfig, "mle": MleConfig, "parallel": ParallelConfig,
                    "output": OutputConfig}


@dataclass(frozen=True)
class Config:
    """A validated run configuration: one typed, frozen section per TOML table, and the run's
    closures (``[[closure]]`` tables, or a single ``[closure]`` table) in declaration order."""
    run: RunConfig
    grid: GridConfig
    time: TimeConfig
    eos: EosConfig
    momentum: MomentumConfig
    tracers: TracersConfig
    vertical_mixing: VerticalMixingConfig
    forcing: ForcingConfig
    init: InitConfig
    mle: MleConfig
    parallel: ParallelConfig
    output: OutputConfig
    closures: tuple = ()

    def to_dict(self) -> dict:
        """The configuration as nested dicts and lists (TOML's shape; ``closure`` a list)."""
        d = {sec: _plain(asdict(getattr(self, sec))) for sec in SECTION_CLASSES}
        d["closure"] = [_plain(asdict(c)) for c in self.closures]
        return d

    @property
    def remote_closures(self) -> tuple:
        """The closures served by ML ranks (modes sync, async, lagged), in declaration order."""
        return tuple(c for c in self.closures if c.mode != "inprocess")

    @property
    def ml_ranks(self) -> int:
        """Ranks of the ML group: the sum of the remote closures' ``ml_ranks``."""
        return sum(c.ml_ranks for c in self.remote_closures)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def defaults() -> dict[str, Any]:
    """The raw default configuration (nested dicts; ``closure`` an empty list)."""
    d: dict[str, Any] = {sec: {k: copy.deepcopy(spec.default) for k, spec in keys.items()}
                         for sec, keys in SCHEMA.items()}
    d["closure"] = []
    return d


def _closure_defaults() -> dict[str, Any]:
    return {k: copy.deepcopy(spec.default) for k, spec in CLOSURE_SCHEMA.items()}


def _check_value(where: str, name: str, spec: Key, value: Any) -> Any:
    if spec.type is NUM:
        ok = isinstance(value, NUM) and not isinstance(value, bool)
        value = float(value) if ok else value
        tname = "a number"
    elif spec.type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        tname = "an integer"
    elif spec.type is bool:
        ok = isinstance(value, bool)
        tname = "true or false"
    elif spec.type is list:
        ok = isinstance(value, (list, tuple))
        value = list(value) if ok else value
        tname = "a list"
    else:
        ok = isinstance(value, spec.type)
        tname = "a string"
    if not ok:
        raise ConfigError(f"{where}: key '{name}' must be {tname}, got {value!r}")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{where}: key '{name}' must be one of {', '.join(spec.choices)}; got {value!r}")
    if spec.check is not None and not spec.check(value):
        raise ConfigError(f"{where}: key '{name}' must be {spec.expect}, got {value!r}")
    return value


def _merge_table(target: dict, table: Any, keys: dict[str, Key], label: str, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{label}] must be a table")
    for key, value in table.items():
        if key not in keys:
            raise ConfigError(f"{where}: unknown key '{label}.{key}' (known in [{label}]: {', '.join(keys)})")
        target[key] = _check_value(where, f"{label}.{key}", keys[key], value)


def merge(cfg: dict, updates: dict, where: str) -> dict:
    """Validate ``updates`` (nested dict as TOML gives it) and write them into the raw
    configuration ``cfg`` in place. ``closure`` may be one table (the run's only closure) or
    a list of tables (``[[closure]]``), which replaces the closures so far."""
    for sec, table in updates.items():
        if sec == "closure":
            tables = [table] if isinstance(table, dict) else table
            if not isinstance(tables, list):
                raise ConfigError(f"{where}: [closure] must be a table or [[closure]] tables")
            cfg["closure"] = []
            for n, t in enumerate(tables):
                c = _closure_defaults()
                _merge_table(c, t, CLOSURE_SCHEMA, "closure" if len(tables) == 1 else f"closure.{n}", where)
                cfg["closure"].append(c)
            continue
        if sec not in SCHEMA:
            raise ConfigError(f"{where}: unknown section [{sec}] (known: {', '.join(SCHEMA)}, closure)")
        _merge_table(cfg[sec], table, SCHEMA[sec], sec, where)
    _check_consistency(cfg, where)
    return cfg


def _check_consistency(cfg: dict, where: str) -> None:
    for n, c in enumerate(cfg["closure"]):
        label = "closure" if len(cfg["closure"]) == 1 else f"closure.{n}"
        if (c["model_file"] or c["train"]) and c["mode"] != "inprocess" and c["ml_ranks"] == 0:
            raise ConfigError(f"{where}: {label}.mode = '{c['mode']}' needs {label}.ml_ranks >= 1")
        if c["train"] and (c["mode"] != "async" or c["ml_ranks"] != 1 or c["model_file"]):
            raise ConfigError(f"{where}: {label}.train needs {label}.mode = 'async', {label}.ml_ranks = 1 and no "
                              f"{label}.model_file (one learner on its own ML rank; got mode '{c['mode']}', "
                              f"{c['ml_ranks']} ML rank(s){', a model file' if c['model_file'] else ''})")
    if cfg["tracers"]["gm"] and cfg["tracers"]["lateral"] != "isoneutral":
        raise ConfigError(f"{where}: key 'tracers.gm' = true needs tracers.lateral = 'isoneutral' (GM uses the "
                          "iso-neutral slopes, as NEMO's ln_ldfeiv needs ln_traldf_iso)")
    g = cfg["grid"]
    ini = cfg["init"]
    if ini["kind"] == "front":
        if g["kind"] != "box":
            raise ConfigError(f"{where}: key 'init.kind' = 'front' needs grid.kind = 'box' (got {g['kind']!r})")
        if not ini["front_hml_m"] < g["depth_m"]:
            raise ConfigError(f"{where}: key 'init.front_hml_m' must be below grid.depth_m ({g['depth_m']:g} m)")
        if ini["front_balanced"] and g["f0"] == 0.0:
            raise ConfigError(f"{where}: key 'init.front_balanced' = true needs grid.f0 != 0 (thermal-wind balance)")
    if g["kind"] == "dino":
        if not g["channel_south_deg"] < g["channel_north_deg"]:
            raise ConfigError(f"{where}: key 'grid.channel_south_deg' must be below 'grid.channel_north_deg'")
        if not g["sill_depth_m"] <= g["depth_m"] or not g["coast_depth_m"] <= g["depth_m"]:
            raise ConfigError(f"{where}: keys 'grid.sill_depth_m' and 'grid.coast_depth_m' must not exceed 'grid.depth_m'")
    if g["dz_top_m"] * g["nz"] > g["depth_m"]:
        raise ConfigError(f"{where}: key 'grid.dz_top_m' times grid.nz exceeds grid.depth_m")


def parse_set(item: str) -> tuple[str, str, Any]:
    """Parse one ``section.key=value`` override; the value is read as TOML or else as a string."""
    if "=" not in item or "." not in item.split("=", 1)[0]:
        raise ConfigError(f"--set {item!r}: expected section.key=value")
    lhs, rhs = item.split("=", 1)
    sec, key = lhs.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {rhs}")["v"]
    except tomllib.TOMLDecodeError:
        value = rhs.strip()
    return sec, key, value


def _apply_overrides(cfg: dict, overrides) -> None:
    """``--set`` overrides. ``closure.KEY=V`` sets the run's only closure (creating it if the
    configuration has none); with several closures, ``closure.N.KEY=V`` sets closure N (from 0)."""
    updates: dict[str, dict] = {}
    closures = [dict(c) for c in cfg["closure"]]
    for item in overrides:
        sec, key, value = parse_set(item)
        if sec != "closure":
            updates.setdefault(sec, {})[key] = value
            continue
        index, _, name = key.partition(".")
        if name and index.isdigit():
            if int(index) >= len(closures):
                raise ConfigError(f"--set {item!r}: the configuration has {len(closures)} closure(s)")
            closures[int(index)][name] = value
        elif len(closures) > 1:
            raise ConfigError(f"--set {item!r}: the configuration has {len(closures)} closures; "
                              f"say which, e.g. closure.0.{key}")
        else:
            if not closures:
                closures.append({})
            closures[0][key] = value
    if closures != cfg["closure"]:
        updates["closure"] = closures
    if updates:
        merge(cfg, updates, "--set")


def build(raw: dict) -> Config:
    """The typed configuration from a validated raw one. Closures with no model file (the
    default table) are left out."""
    sections = {sec: cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw[sec].items()})
                for sec, cls in SECTION_CLASSES.items()}
    closures = tuple(ClosureConfig(**c) for c in raw["closure"] if c["model_file"] or c["train"])
    return Config(**sections, closures=closures)


def load(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read and validate a TOML configuration, apply ``--set`` overrides, build the typed form."""
    cfg = defaults()
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read configuration ({exc.strerror})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        merge(cfg, data, str(path))
    _apply_overrides(cfg, overrides)
    return build(cfg)


def from_dict(updates: dict) -> Config:
    """A validated configuration from defaults plus a nested dict (for tests and scripts)."""
    return build(merge(defaults(), updates, "<dict>"))

