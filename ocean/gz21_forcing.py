"""GZ21's stochastic subgrid momentum forcing (Guillaumin & Zanna 2021): the physics layer
that turns the net of a GZ21 closure file (``python -m closures.published gz21``: surface
(u, v) in m s-1 with a 10-point halo -> mean and spread of (Sx, Sy) in m s-2) into a
momentum tendency, in any deployment mode.

Per step (``[[closure]]`` with ``physics = "gz21"``):

1. **Inputs** (``placement``): ``"t"`` averages u and v to T points, as MOM6 does (Zhang et
   al. 2023); ``"published"`` feeds u at U points and v at V points as two images, as
   DINO.GZ21 does. Land is zero. The 10-point halo comes from a wide halo exchange of the
   tile (true neighbours at tile edges, zeros beyond closed edges, wrapped across the
   channel); ``padding = "replicate"`` then extends the ocean values into land and beyond
   closed edges, point by point, up to the halo's width (the follow-up of Zhang et al.
   found replicate padding better near coasts than zeros).
2. **Levels** (``form``): ``"levels"`` runs the 2-D net on every level as a batch (DINO.GZ21);
   ``"profile"`` runs it on the surface only and multiplies the forcing by a vertical
   structure (``profile``: ``"barotropic"``, 1 at every level; ``"sqg"``, the decay of a
   surface-quasigeostrophic mode of the grid-scale wavenumber pi / L, exp(-(pi / (|f| L))
   int_z^0 N dz'), L = sqrt(e1t e2t), |f| at least its value at 5 degrees; ``"ebt"``, the
   equivalent barotropic mode of each column, 1 at the top level and 0 at the sea floor
   (``ocean/ebt_mode.py``); the structures of Zhang et al. 2023), one inference instead of
   36. The sqg and ebt structures are recomputed from the step's N2 every step (MOM6
   recomputes its ebt_struct once per coupling interval, at the start of ``step_MOM``).
3. **Draw** (``draw``): ``"precision"``, GZ21's convention S = mu + eps / p (p = 1/sigma in
   GZ21's loss -log p + p^2 (S - mu)^2 / 2, so the net's spread output is 1e-7 / p);
   ``"sqrt"``, S = mu + eps sqrt(1/p) in 1e-7 m s-2 units, as DINO.GZ21's code draws it
   (it reads p as 1/sigma^2); ``"none"``, the deterministic forcing S = mu. eps ~ N(0, 1)
   from ``ocean/random_fields.py``, keyed by (seed, step, level, global j, global i) (the
   two components are the pair of one Box-Muller transform), so the noise is bitwise the same on any number of ranks, in every mode
   and across a restart; ``noise = "shared"`` (one eps per column, as MOM6) or
   ``"independent"`` (per level, as DINO.GZ21). The spread is capped at
   ``spread_max_m_s2`` where the net's precision p is <= 0 or tiny (the published file's
   floor ``min_value`` is -0.179, so 1/p is unbounded there).
4. **Placement back**: with ``"t"`` the T-point forcing is averaged to U and V points (the
   T-point result of the tile's edge row comes from the neighbour by a one-point halo
   exchange); then times ``amplitude``, masked (zero on land and at walls), added to the
   momentum tendency. The applied forcing is the field ``gz21_fu``, ``gz21_fv`` (m s-2).
"""
from __future__ import annotations

import numpy as np

from .closure_hook import ClosureHook
from .closure_slots import MOMENTUM
from .config import ConfigError
from .ebt_mode import ebt_profile, ebt_work
from .fields import Field
from .halo import Halo
from .kernels import U1, inline_kernel, kernel, prange
from .random_fields import normal_pair

SQG_F_MIN_LAT_DEG = 5.0           # |f| of the SQG decay scale is at least f at this latitude
OMEGA = 7.292116e-5               # s-1


# ---------------------------------------------------------------------------- kernels
@kernel
def _inputs(u, v, tmask, umask, vmask, nhalo, H, at_t, inp):
    """Fill the interior of the input tile ``inp`` (nlev, 2, ny + 2H, nx + 2H) from u, v
    (nz, ny + 2 nhalo, nx + 2 nhalo): T-point averages (``at_t``) or the U, V values."""
    nlev, _, nyp, nxp = inp.shape
    ny, nx = nyp - 2 * H, nxp - 2 * H
    for k in prange(nlev):
        for jj in range(ny):
            j = jj + nhalo
            for ii in range(nx):
                i = ii + nhalo
                if at_t:
                    inp[k, 0, jj + H, ii + H] = 0.5 * (u[k, j, i - 1] + u[k, j, i]) * tmask[k, j, i]
                    inp[k, 1, jj + H, ii + H] = 0.5 * (v[k, j - 1, i] + v[k, j, i]) * tmask[k, j, i]
                else:
                    inp[k, 0, jj + H, ii + H] = u[k, j, i] * umask[k, j, i]
                    inp[k, 1, jj + H, ii + H] = v[k, j, i] * vmask[k, j, i]


@kernel
def _replicate(inp, wet, filled, passes):
    """Extend ocean values into land (``wet`` == 0, same shape as ``inp``), ``passes`` points
    deep: each pass gives a land point next to a filled one the mean of its filled
    4-neighbours. ``filled`` is a work array of ``wet``'s shape."""
    nlev, nc, ny, nx = inp.shape
    for k in prange(nlev):
        for c in range(nc):
            for j in range(ny):
                for i in range(nx):
                    filled[k, c, j, i] = wet[k, c, j, i]
            for p in range(passes):
                mark = p + 2.0                     # points filled in this pass are not read in it
                for j in range(ny):
                    for i in range(nx):
                        if filled[k, c, j, i] != 0.0:
                            continue
                        s, n = 0.0, 0
                        if i > 0 and 0.0 < filled[k, c, j, i - 1] < mark:
                            s += inp[k, c, j, i - 1]
                            n += 1
                        if i < nx - 1 and 0.0 < filled[k, c, j, i + 1] < mark:
                            s += inp[k, c, j, i + 1]
                            n += 1
                        if j > 0 and 0.0 < filled[k, c, j - 1, i] < mark:
                            s += inp[k, c, j - 1, i]
                            n += 1
                        if j < ny - 1 and 0.0 < filled[k, c, j + 1, i] < mark:
                            s += inp[k, c, j + 1, i]
                            n += 1
                        if n > 0:
                            inp[k, c, j, i] = s / n
                            filled[k, c, j, i] = mark


@kernel
def _noise(seed, step, j0, i0, ring, nx_glo, periodic, eps):
    """eps[l, c, j, i] ~ N(0, 1) for the tile with a ``ring`` of points around it: tile point
    (j, i) is global (j - ring + j0, i - ring + i0), wrapped in x when periodic; the two
    components c are the pair ``normal_pair`` draws for the key (seed, step, l, j, i)."""
    nl, _, nyp, nxp = eps.shape
    for l in prange(nl):
        for j in range(nyp):
            jg = j - ring + j0
            for i in range(nxp):
                ig = i - ring + i0
                if periodic:
                    ig = ig % nx_glo
                if jg < 0 or ig < 0:                   # beyond a closed edge: land
                    eps[l, 0, j, i] = 0.0
                    eps[l, 1, j, i] = 0.0
                else:
                    eps[l, 0, j, i], eps[l, 1, j, i] = normal_pair(seed, step, l, jg, ig)


@kernel
def _sqg_profile(bn2, e3w, tmask, e1t, e2t, fcor_t, f_min, nhalo, prof):
    """prof[k] = exp(-pi sum_{levels above k} N e3w / (|f| L)) at T points, L = sqrt(e1t e2t), on
    the interior and a one-point ring (N2 is valid in the halo: T and S are)."""
    nz, nyh, nxh = prof.shape
    for j in prange(nhalo - 1, nyh - nhalo + 1):
        for i in range(nhalo - 1, nxh - nhalo + 1):
            scale = np.pi / (max(abs(fcor_t[j, i]), f_min) * np.sqrt(e1t[j, i] * e2t[j, i]))
            depth_n = 0.0
            prof[0, j, i] = 1.0
            for k in range(1, nz):
                if tmask[k, j, i] > 0.0:
                    depth_n += np.sqrt(max(bn2[k, j, i], 0.0)) * e3w[k]
                prof[k, j, i] = np.exp(-depth_n * scale)


@inline_kernel
def _draw(mean, spread, eps, draw, smax):
    """One component of S (m s-2): mean + eps * spread, the spread capped at ``smax`` where
    it is not a positive number below it (precision p <= 0 or tiny)."""
    if draw == 0:
        return mean
    if not (0.0 < spread < smax):
        spread = smax
    if draw == 2:
        spread = np.sqrt(1e-7 * spread)          # 1e-7 sqrt(1/p) with spread = 1e-7 / p
    return mean + eps * spread


@kernel
def _forcing(res, eps, prof, umask, vmask, nhalo, ring, levels_form, per_level, draw, smax, amplitude, fu, fv):
    """The applied forcing at U and V points (m s-2). ``res`` (nlev, 4, ny + 2 ring, nx + 2 ring):
    mean_x, mean_y, spread_x, spread_y; with ``ring`` 1 they are at T points and averaged to
    U (i, i+1) and V (j, j+1); with 0 at U and V points. ``draw``: 0 none, 1 precision, 2 sqrt."""
    nz, nyh, nxh = fu.shape
    h, je, ie = np.uint64(nhalo), np.uint64(nyh - nhalo), np.uint64(nxh - nhalo)
    rg = np.uint64(ring)
    for kk in prange(nz):                     # unsigned indices: no wraparound, the loops vectorise
        k = np.uint64(kk)
        kr = np.uint64(kk * levels_form)      # level of the result (levels form) or 0 (profile)
        ke = np.uint64(kk * per_level)        # level of the noise: its own or 0 (shared)
        for j in range(h, je):
            jr = j - h + rg
            for i in range(h, ie):
                ir = i - h + rg
                su = _draw(res[kr, 0, jr, ir], res[kr, 2, jr, ir], eps[ke, 0, jr, ir], draw, smax) * prof[k, j, i]
                sv = _draw(res[kr, 1, jr, ir], res[kr, 3, jr, ir], eps[ke, 1, jr, ir], draw, smax) * prof[k, j, i]
                if ring == 1:
                    su = 0.5 * (su + _draw(res[kr, 0, jr, ir + U1], res[kr, 2, jr, ir + U1], eps[ke, 0, jr, ir + U1],
                                           draw, smax) * prof[k, j, i + U1])
                    sv = 0.5 * (sv + _draw(res[kr, 1, jr + U1, ir], res[kr, 3, jr + U1, ir], eps[ke, 1, jr + U1, ir],
                                           draw, smax) * prof[k, j + U1, i])
                fu[k, j, i] = amplitude * su * umask[k, j, i]
                fv[k, j, i] = amplitude * sv * vmask[k, j, i]


@kernel
def _add(fu, fv, nhalo, gu, gv):
    nz, nyh, nxh = fu.shape
    for kk in prange(nz):
        k = np.uint64(kk)
        for j in range(np.uint64(nhalo), np.uint64(nyh - nhalo)):
            for i in range(np.uint64(nhalo), np.uint64(nxh - nhalo)):
                gu[k, j, i] += fu[k, j, i]
                gv[k, j, i] += fv[k, j, i]


DRAWS = {"none": 0, "precision": 1, "sqrt": 2}


# ---------------------------------------------------------------------------- the closure
class GZ21Closure(ClosureHook):
    """A GZ21 closure file deployed as a stochastic momentum forcing (module docstring);
    ``c`` is its ``[[closure]]`` table (``physics = "gz21"`` and the keys ``form``,
    ``profile``, ``ebt_n2_filter_depth_m``, ``placement``, ``padding``, ``draw``, ``noise``,
    ``amplitude``, ``seed``, ``spread_max_m_s2``)."""

    def __init__(self, c, model, service=None, key: str = "closure", spin: bool = False):
        self.form, self.profile_kind, self.padding = c.form, c.profile, c.padding
        self.ebt_filter_depth = float(c.ebt_n2_filter_depth_m)
        self.at_t = c.placement == "t"
        self.draw, self.shared = DRAWS[c.draw], c.noise == "shared"
        self.amplitude, self.seed, self.smax = float(c.amplitude), int(c.seed), float(c.spread_max_m_s2)
        self.key = key
        super().__init__(c, model, service, key, spin)
        self.slots = frozenset({MOMENTUM})
        self.first_slot = MOMENTUM

    def _check_gz21(self, s) -> None:
        ins = [(f.point, f.nlev(1)) for f in s.inputs]
        outs = [(f.point, f.nlev(1), f.units) for f in s.outputs]
        if len(ins) != 2 or len(outs) != 4 or any(n != 1 for _, n in ins) or \
                any(n != 1 or u != "m s-2" for _, n, u in outs):
            raise ConfigError(f"key '{self.key}.model_file': physics = 'gz21' needs a GZ21 closure file (2 surface "
                              f"inputs u, v; 4 surface outputs mean_x, mean_y, spread_x, spread_y in m s-2, as "
                              f"'python -m closures.published gz21' writes), got closure {s.name}")

    def _allocate(self, s) -> None:
        self._check_gz21(s)
        m, g, d = self.model, self.model.grid, self.model.domain
        self.nlev = g.nz if self.form == "levels" else 1
        self.ring = 1 if self.at_t else 0
        H, dt = s.halo, s.np_dtype
        self.inp = np.zeros((self.nlev, 2, g.ny + 2 * H, g.nx + 2 * H), dt)
        self.out = np.zeros((self.nlev, 4, g.ny, g.nx), dt)
        self.applied = np.zeros_like(self.out)
        self.wide = Halo(g.ny, g.nx, H, d.halo.nbr, d.comm, d.rank) if H > 0 else None
        self.result = np.zeros((self.nlev, 4, g.ny + 2 * self.ring, g.nx + 2 * self.ring), dt)
        self.ring_halo = Halo(g.ny, g.nx, 1, d.halo.nbr, d.comm, d.rank) if self.ring else None
        self.eps = np.zeros((1 if self.shared else g.nz, 2) + self.result.shape[2:])
        self.prof = np.ones(g.shape3)
        self.ebt_work = ebt_work(g.shape3) if self.form == "profile" and self.profile_kind == "ebt" else None
        if self.padding == "replicate":
            self.wet = np.zeros(self.inp.shape, dt)
            hm = [m.grid.tmask, m.grid.tmask] if self.at_t else [m.grid.umask, m.grid.vmask]
            for c, mask in enumerate(hm):
                self.wet[:, c, H:H + g.ny, H:H + g.nx] = mask[:self.nlev][(slice(None),) + g.interior]
            if self.wide is not None:
                self.wide.exchange(self.wet.reshape(-1, *self.wet.shape[2:]))
            self.filled = np.zeros_like(self.wet)
        if not hasattr(self, "fu"):
            self.fu, self.fv = np.zeros(g.shape3), np.zeros(g.shape3)

    def _declare_diagnostics(self, model) -> None:
        for name, point, arr, comp in (("gz21_fu", "U", self.fu, "zonal"), ("gz21_fv", "V", self.fv, "meridional")):
            try:
                model.fields.add(Field(name, point, 3, "m s-2", f"GZ21 stochastic subgrid forcing, {comp} "
                                       f"(closure {self.spec.name})", lambda m, a=arr: a, output=name,
                                       owner=f"closure {self.spec.name}"))
            except ValueError as exc:
                raise ConfigError(f"closure {self.spec.name}: {exc}") from None

    def gather(self) -> None:
        m, g, H = self.model, self.model.grid, self.spec.halo
        s = m.state
        with self.timers("pack"):
            _inputs(s.u, s.v, g.tmask, g.umask, g.vmask, g.nhalo, H, self.at_t, self.inp)
            if self.wide is not None:
                self.wide.exchange(self.inp.reshape(-1, *self.inp.shape[2:]))
            if self.padding == "replicate":
                _replicate(self.inp, self.wet, self.filled, H)

    def momentum_tendency(self, gu: np.ndarray, gv: np.ndarray) -> None:
        self._receive_at(MOMENTUM)
        if not self._have_result:
            return
        m, g, r = self.model, self.model.grid, self.ring
        with self.timers("apply"):
            self.result[:, :, r:r + g.ny, r:r + g.nx] = self.applied
            if self.ring_halo is not None:
                self.ring_halo.exchange(self.result.reshape(-1, *self.result.shape[2:]))
            if self.draw:
                _noise(self.seed, m.state.nstep, g.j0, g.i0, r, g.nx_glo, g.periodic_x, self.eps)
            if self.form == "profile" and self.profile_kind == "sqg":
                f_min = 2 * OMEGA * np.sin(np.radians(SQG_F_MIN_LAT_DEG))
                _sqg_profile(m.bn2, g.e3w, g.tmask, g.e1t, g.e2t, g.fcor_t, f_min, g.nhalo, self.prof)
            elif self.form == "profile" and self.profile_kind == "ebt":      # interior and a one-point ring
                nyh, nxh = g.shape3[1:]
                ebt_profile(m.bn2, g.e3t, g.e3w, g.gdepw, g.tmask, self.ebt_filter_depth, g.nhalo - 1,
                            nyh - g.nhalo + 1, g.nhalo - 1, nxh - g.nhalo + 1, self.ebt_work, self.prof)
            _forcing(self.result, self.eps, self.prof, g.umask, g.vmask, g.nhalo, r, int(self.form == "levels"),
                     int(not self.shared), self.draw, self.smax, self.amplitude, self.fu, self.fv)
            _add(self.fu, self.fv, g.nhalo, gu, gv)

    def tracer_tendency(self, Ta: np.ndarray, Sa: np.ndarray, dt: float) -> None:
        """Nothing to add to the tracers (the forcing's fields are ``gz21_fu``, ``gz21_fv``)."""

    def lagged_result(self) -> np.ndarray | None:
        if self.mode == "lagged" and self.client.pending:
            self._result()
        return self.applied.reshape(-1, *self.applied.shape[2:]) if self.mode == "lagged" else None

    def restore_lagged_result(self, tile: np.ndarray) -> None:
        flat = self.applied.reshape(-1, *self.applied.shape[2:])
        if self.mode == "lagged" and tile.shape == flat.shape:
            flat[...] = tile
            self._have_result = True
