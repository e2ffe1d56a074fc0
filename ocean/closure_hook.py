"""The ocean's side of an ML closure: the one place where inputs are gathered from the state
(``gather``) and the one place where outputs are applied to the tendencies (``apply``),
with the four deployment modes of the ``[closure]`` configuration:

- ``inprocess``: this rank runs the net itself (zero-copy ``torch.from_numpy``);
- ``sync``: inputs go to the ML rank serving this tile, the step waits for the result;
- ``async``: inputs are sent at the start of the step, when they exist, and the result is
  received only where it is needed: before the momentum tendency is completed for du/dv
  outputs (inference then overlaps the pressure, vorticity, advection and viscosity
  computations); for other outputs after the resolved tracer advection and diffusion,
  before the implicit vertical mixing, where a tracer-side closure acts (an MLE-type
  buoyancy flux is an operator-split tracer tendency, as MOM6 applies its mixed-layer
  restratification; inference then overlaps nearly the whole step);
- ``lagged``: the step applies the result of the previous step's exchange and the new
  exchange overlaps a whole step (a first-order lag in time: a damping closure's stable
  forward-Euler time step is halved). The first step waits for its own result; a restart
  carries the pending result, so lagged runs restart bitwise.

``closure.fallback`` ("none" or a model file with the same outputs) makes a failing closure
a warning: every ocean rank switches together and the run goes on without a closure or
with the fallback in-process (mode "off" or "inprocess" from then on).

Inputs are packed level by level into a tile with the closure's halo (exchanged over the
ocean ranks before sending, so the ML side receives tiles with halos attached; zeros beyond
closed edges, wrapped across the periodic channel).
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np

from .config import ConfigError
from .halo import Halo

# field name -> (C-grid point, how to read it from a Model, mask attribute)
FIELDS = {
    "u": ("U", lambda m: m.state.u, "umask"),
    "v": ("V", lambda m: m.state.v, "vmask"),
    "T": ("T", lambda m: m.state.T, "tmask"),
    "S": ("T", lambda m: m.state.S, "tmask"),
    "ssh": ("T", lambda m: m.state.ssh, "tmask"),
    "mld": ("T", lambda m: m.mixed_layer_depth(), "tmask"),
    "taux": ("U", lambda m: m.forcing.taux, "umask"),
    "qsr": ("T", lambda m: m.forcing.qsr, "tmask"),
    "ubar": ("U", lambda m: m.state.ubar, "umask"),
    "vbar": ("V", lambda m: m.state.vbar, "vmask"),
}
TENDENCIES = {"du": "U", "dv": "V"}      # outputs added to the momentum tendency -> their C-grid point


def read_spec(path: str | Path, key: str = "closure.model_file"):
    """The closure declaration inside a model file, read without torch."""
    from closures.spec import ClosureSpec
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"key '{key}': {path} not found")
    try:
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("extra/closure.json"))
            spec = ClosureSpec.from_json(z.read(name).decode())
        spec.check()
    except (zipfile.BadZipFile, StopIteration, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"key '{key}': {path} is not a closure model file "
                          f"(TorchScript archive with a closure.json declaration): {exc}") from None
    return spec


class ClosureError(RuntimeError):
    """A closure failed during the run (raised on every ocean rank together)."""


def check_spec(spec, grid) -> None:
    """Refuse a closure whose declaration this ocean cannot serve (ConfigError)."""
    g, s = grid, spec
    for f in s.inputs:
        if f.name not in FIELDS:
            raise ConfigError(f"closure {s.name}: input field {f.name!r} is not provided by the ocean "
                              f"(known: {', '.join(FIELDS)})")
        if FIELDS[f.name][0] != f.point:
            raise ConfigError(f"closure {s.name}: input {f.name} is at {FIELDS[f.name][0]} points, "
                              f"the declaration says {f.point}")
    for f in s.outputs:
        if f.name in TENDENCIES and f.point != TENDENCIES[f.name]:
            raise ConfigError(f"closure {s.name}: output {f.name} must be at {TENDENCIES[f.name]} points")
    if max(f.nlev(g.nz) for f in s.inputs + s.outputs) > g.nz:
        raise ConfigError(f"closure {s.name}: asks for more levels than the grid's {g.nz}")
    if s.halo > min(g.nx, g.ny):
        raise ConfigError(f"closure {s.name}: its halo ({s.halo}) exceeds this rank's tile ({g.nx}x{g.ny}); "
                          "use fewer ocean ranks")


def load_inprocess(path, device: str, key: str):
    from closures.runtime import ClosureLoadError, LoadedClosure
    try:
        return LoadedClosure(path, device)
    except ClosureLoadError as exc:
        raise ConfigError(f"key '{key}': {exc}") from None


class ClosureHook:
    """Gathers inputs, runs or exchanges them as configured, applies the outputs."""

    def __init__(self, cfg: dict, model, groups=None, timers=None):
        from coupling.timers import Timers
        c = cfg["closure"]
        self.mode, self.every = c["mode"], c["every_steps"]
        self.timers = timers or Timers()
        self.model, self.groups = model, groups
        g, d = model.grid, model.domain
        self.spec = read_spec(c["model_file"])
        check_spec(self.spec, g)
        self.fallback, self.fallback_net = c["fallback"], None
        if self.fallback not in ("", "none"):
            fspec = read_spec(self.fallback, "closure.fallback")
            check_spec(fspec, g)
            if [(f.name, f.point, f.nlev(g.nz)) for f in fspec.outputs] != \
                    [(f.name, f.point, f.nlev(g.nz)) for f in self.spec.outputs]:
                raise ConfigError(f"key 'closure.fallback': closure {fspec.name} must have the outputs of "
                                  f"{self.spec.name} (names, points, levels)")
            self.fallback_net = load_inprocess(self.fallback, c["device"], "closure.fallback")
        self.failed_ml: list[int] = []      # world ranks of ML ranks that failed (fallback runs)
        self.silent_ml = False              # one of them never answered: the job must be ended for it
        self.diagnostics: dict[str, np.ndarray] = {}
        self._allocate(self.spec)
        self.net = None
        self.client = None
        if self.mode == "inprocess":
            self.net = load_inprocess(c["model_file"], c["device"], "closure.model_file")
        else:
            from coupling.exchange import Client, CouplingError
            from coupling.polling import Poller
            server = groups.ml_world_rank(d.rank)
            self.client = Client(groups.world, server, self.inp, self.out, c["timeout_s"], self.timers,
                                 Poller(groups.spin))
            try:
                self.client.handshake({"closure": self.spec.to_json(), "shape_in": list(self.inp.shape),
                                       "shape_out": list(self.out.shape), "dtype": self.spec.dtype, "rank": d.rank})
            except CouplingError as exc:
                raise ConfigError(str(exc)) from None
        self.forces_momentum = any(f.name in TENDENCIES for f in self.spec.outputs)
        self._have_result = False

    def _allocate(self, s) -> None:
        """Input tile (with the closure's halo), output tile and the applied result for spec ``s``."""
        g, d, H = self.model.grid, self.model.domain, s.halo
        dt = s.np_dtype
        self.inp = np.zeros((1, s.in_channels(g.nz), g.ny + 2 * H, g.nx + 2 * H), dt)
        self.out = np.zeros((1, s.out_channels(g.nz), g.ny, g.nx), dt)
        self.applied = np.zeros_like(self.out)          # the result the step applies
        self.wide = Halo(g.ny, g.nx, H, d.halo.nbr, d.comm, d.rank) if H > 0 else None
        self.diagnostics.clear()

    # ------------------------------------------------------------------ gather and apply
    def gather(self) -> None:
        """Pack the input fields (levels in declaration order) with the closure's halo."""
        m, g, H = self.model, self.model.grid, self.spec.halo
        j, i = g.interior
        c = 0
        with self.timers("pack"):
            for f in self.spec.inputs:
                _, get, _ = FIELDS[f.name]
                a = get(m)
                n = f.nlev(g.nz)
                if a.ndim == 2:
                    self.inp[0, c, H:H + g.ny, H:H + g.nx] = a[j, i]
                else:
                    self.inp[0, c:c + n, H:H + g.ny, H:H + g.nx] = a[:n, j, i]
                c += n
            if self.wide is not None:
                self.wide.exchange(self.inp[0])

    def apply(self, gu: np.ndarray, gv: np.ndarray) -> None:
        """Add the du, dv outputs (m s-2) to the momentum tendencies; keep the others."""
        if not self._have_result:
            return
        g = self.model.grid
        j, i = g.interior
        c = 0
        for f in self.spec.outputs:
            n = f.nlev(g.nz)
            block = self.applied[0, c:c + n]
            if f.name in TENDENCIES:
                target = gu if f.name == "du" else gv
                mask = g.umask if f.name == "du" else g.vmask
                target[:n, j, i] += block * mask[:n, j, i]
            else:
                self.diagnostics[f.name] = block
            c += n

    # ------------------------------------------------------------------ the modes
    def _due(self, nstep: int) -> bool:
        return nstep % self.every == 0

    def _result(self) -> bool:
        """Wait for (or compute) the pending result into ``applied``, checking it. True if it
        failed and the hook fell back (this exchange gives no result)."""
        err, silent = None, False
        try:
            if self.mode == "inprocess":
                with self.timers("infer"):
                    self.net.infer(self.inp, self.out)
            else:
                self.client.wait()
            if not np.isfinite(self.out.sum()):
                err = f"closure {self.spec.name} returned NaN or infinite values at step {self.model.state.nstep}"
            else:
                self.applied[...] = self.out
                self._have_result = True
        except Exception as exc:    # noqa: BLE001 - reported on every rank by _agree
            err = f"closure {self.spec.name} on ocean rank {self.model.domain.rank}: {exc}"
            silent = getattr(exc, "silent", False)
        return self._agree(err, silent)

    def _post(self) -> bool:
        err, silent = None, False
        try:
            self.client.post()
        except Exception as exc:    # noqa: BLE001
            err = f"closure {self.spec.name} on ocean rank {self.model.domain.rank}: {exc}"
            silent = getattr(exc, "silent", False)
        return self._agree(err, silent)

    def _agree(self, err: str | None, silent: bool = False) -> bool:
        """If any ocean rank saw an error, raise ClosureError on every ocean rank (never hang),
        or, with a fallback configured, switch to it on every rank and return True."""
        d = self.model.domain
        if d.comm is None:
            flags, msgs = [1.0 if err else 0.0, 1.0 if silent else 0.0], [err]
        else:
            flags = d.allreduce([1.0 if err else 0.0, 1.0 if silent else 0.0], "max")
            if flags[0]:
                msgs = d.comm.allgather(err)
        if not flags[0]:
            return False
        msg = next(m for m in msgs if m)
        if not self.fallback:
            raise ClosureError(msg)
        self._fall_back(msg, err is not None, bool(flags[1]))
        return True

    def _fall_back(self, msg: str, my_server_failed: bool, silent: bool) -> None:
        """Leave the failed closure for the configured fallback, on every ocean rank together."""
        d, n = self.model.domain, self.model.state.nstep
        if self.client is not None:
            failed = self.client.server if my_server_failed else -1
            if my_server_failed:
                self.client.abandon()
            else:
                self.close()                 # a healthy ML rank: take its last answer, stop it
            self.client = None
            everyone = d.comm.allgather(failed) if d.comm is not None else [failed]
            self.failed_ml = sorted({r for r in everyone if r >= 0})
            self.silent_ml = silent
        old = self.spec.name
        if self.fallback == "none":
            self.mode, self.net, what = "off", None, "without a closure"
            self.applied[...] = 0.0
        else:
            self.spec, self.net, self.mode = self.fallback_net.spec, self.fallback_net, "inprocess"
            self._allocate(self.spec)
            what = f"with the fallback closure {self.spec.name} in-process"
        self.fallback = ""                   # a failing fallback stops the job
        self._have_result = False
        if d.is_root:
            print(f"warning: {msg}\nwarning: closure {old} abandoned at step {n}; the run goes on {what}",
                  file=sys.stderr, flush=True)

    def start_of_step(self) -> None:
        """Called when the step's inputs exist (its start)."""
        if self._start_of_step():            # fell back: the fallback gives this step's result
            self._start_of_step()

    def _start_of_step(self) -> bool:
        n = self.model.state.nstep
        if self.mode == "off" or not (self._due(n) or self.mode == "lagged"):
            return False
        if self.mode == "lagged":
            if self.client.pending and self._result():      # the previous exchange's result
                return True
            if self._due(n):
                self.gather()
                if self._post():
                    return True
                if not self._have_result:    # first step: nothing to lag behind
                    return self._result()
            return False
        self.gather()
        if self.mode == "inprocess":
            return self._result()
        if self._post():
            return True
        return self.mode == "sync" and self._result()

    def before_tendencies(self) -> None:
        """Called just before the momentum tendency is complete: an async closure whose
        outputs force the momentum (du, dv) is received here, as late as possible."""
        if self.mode == "async" and self.client.pending and self.forces_momentum:
            self._result()

    def before_vertical_mixing(self) -> None:
        """Called after the resolved tracer advection and diffusion, before the implicit
        vertical mixing: an async closure with tracer-side outputs is received here."""
        if self.mode == "async" and self.client.pending:
            self._result()

    def lagged_result(self) -> np.ndarray | None:
        """In lagged mode, the result the next step applies (C, y, x), after receiving it if
        it is still pending; None in the other modes (their steps need no stored result)."""
        if self.mode == "lagged" and self.client.pending:
            self._result()
        return self.applied[0] if self.mode == "lagged" else None

    def restore_lagged_result(self, name: str, tile: np.ndarray) -> None:
        """Take a lagged result from a restart, so the next step applies it, as the run that
        wrote the restart would have."""
        if self.mode == "lagged" and name == self.spec.name and tile.shape == self.applied.shape[1:]:
            self.applied[0] = tile
            self._have_result = True

    def close(self) -> None:
        if self.client is not None:
            if self.client.pending:
                try:
                    self.client.wait()
                except Exception:   # noqa: BLE001 - shutting down
                    pass
            self.client.stop()
