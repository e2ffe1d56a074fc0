"""The ocean's side of a net closure: the one place where inputs are gathered from the state
(``gather``, from the field registry) and where outputs go to the step's slots
(``closure_slots.py``: du/dv to the momentum tendency, ueiv/veiv to the eddy-induced
velocity, dT/dS to the tracer tendency; any other output becomes a diagnostic field that
can be written like any other), with the four deployment modes of a ``[[closure]]`` table:

- ``inprocess``: this rank runs the net itself (zero-copy ``torch.from_numpy``);
- ``sync``: inputs go to the ML rank serving this tile, the step waits for the result;
- ``async``: inputs are sent at the start of the step, when they exist, and the result is
  received only at the first slot that needs it: the momentum slot for du/dv outputs
  (inference then overlaps the pressure, vorticity, advection and viscosity computations),
  the eddy-velocity slot (it overlaps the barotropic mode too), or, for tracer tendencies
  and diagnostics, after the resolved tracer advection and diffusion, before the implicit
  vertical mixing (inference then overlaps nearly the whole step);
- ``lagged``: the step applies the result of the previous step's exchange and the new
  exchange overlaps a whole step (a first-order lag in time: a damping closure's stable
  forward-Euler time step is halved). The first step waits for its own result; a restart
  carries the pending result, so lagged runs restart bitwise.

A run may hold several closures, each with its own mode, ML ranks and MPI communicator.
``closure.fallback`` ("none" or a model file with the same outputs) makes a failing closure
a warning: every ocean rank switches together and the run goes on without a closure or
with the fallback in-process (mode "off" or "inprocess" from then on).

Inputs are packed level by level into a tile with the closure's halo (exchanged over the
ocean ranks before sending, so the ML side receives tiles with halos attached; zeros beyond
closed edges, wrapped across the periodic channel).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .closure_slots import EDDY_VELOCITY, MOMENTUM, OUTPUT_SLOTS, SLOT_ORDER, TRACER, Closure
from .config import ConfigError
from .fields import MASK_OF_POINT, Field
from .halo import Halo
from .runlog import log

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


def check_spec(spec, model) -> None:
    """Refuse a closure whose declaration this ocean cannot serve (ConfigError)."""
    g, s, public = model.grid, spec, model.fields.public()
    for f in s.inputs:
        if f.name not in public:
            raise ConfigError(f"closure {s.name}: input field {f.name!r} is not provided by the ocean "
                              f"(known: {', '.join(public)})")
        if public[f.name].point != f.point:
            raise ConfigError(f"closure {s.name}: input {f.name} is at {public[f.name].point} points, "
                              f"the declaration says {f.point}")
    for f in s.outputs:
        if f.name in OUTPUT_SLOTS and f.point != OUTPUT_SLOTS[f.name][1]:
            raise ConfigError(f"closure {s.name}: output {f.name} must be at {OUTPUT_SLOTS[f.name][1]} points")
    if max(f.nlev(g.nz) for f in s.inputs + s.outputs) > g.nz:
        raise ConfigError(f"closure {s.name}: asks for more levels than the grid's {g.nz}")
    if s.halo > min(g.nx, g.ny):
        raise ConfigError(f"closure {s.name}: its halo ({s.halo}) exceeds this rank's tile ({g.nx}x{g.ny}); "
                          "use fewer ocean ranks")


def load_inprocess(path, device: str, key: str, precision: str = "fp32"):
    from closures.runtime import ClosureLoadError, LoadedClosure
    try:
        return LoadedClosure(path, device, precision)
    except ClosureLoadError as exc:
        raise ConfigError(f"key '{key}': {exc}") from None


class ClosureHook(Closure):
    """A net closure of the run: gathers its inputs, runs or exchanges them as configured
    (``c``: its ``[[closure]]`` table; ``key``: how the configuration names it, for errors;
    ``service``: its ML ranks and communicator in the remote modes), and puts its outputs
    into the step's slots or into diagnostic fields."""

    def __init__(self, c, model, service=None, key: str = "closure", spin: bool = False):
        from coupling.timers import Timers
        self.mode, self.every = c.mode, c.every_steps
        self.timers = Timers()
        self.model = model
        g, d = model.grid, model.domain
        self.spec = read_spec(c.model_file, f"{key}.model_file")
        check_spec(self.spec, model)
        self.name = self.spec.name
        self.fallback, self.fallback_net = c.fallback, None
        if self.fallback not in ("", "none"):
            fspec = read_spec(self.fallback, f"{key}.fallback")
            check_spec(fspec, model)
            if [(f.name, f.point, f.nlev(g.nz)) for f in fspec.outputs] != \
                    [(f.name, f.point, f.nlev(g.nz)) for f in self.spec.outputs]:
                raise ConfigError(f"key '{key}.fallback': closure {fspec.name} must have the outputs of "
                                  f"{self.spec.name} (names, points, levels)")
            self.fallback_net = load_inprocess(self.fallback, c.device, f"{key}.fallback", c.precision)
        self.failed_ml: list[int] = []      # world ranks of ML ranks that failed (fallback runs)
        self.silent_ml = False              # one of them never answered: the job must be ended for it
        self.slots = frozenset(OUTPUT_SLOTS[f.name][0] for f in self.spec.outputs if f.name in OUTPUT_SLOTS)
        self.first_slot = next((s for s in SLOT_ORDER if s in self.slots), TRACER)  # where async waits
        self.diagnostics: dict[str, np.ndarray] = {}
        self._allocate(self.spec)
        self._declare_diagnostics(model)
        self.net = None
        self.client = None
        self.service = service              # its ML ranks (None in-process)
        if self.mode == "inprocess":
            self.net = load_inprocess(c.model_file, c.device, f"{key}.model_file", c.precision)
            if d.is_root and c.precision == "auto":
                log.info(f"closure {self.name}: inference on {self.net.device} at precision {self.net.precision} "
                         f"({key}.precision = 'auto')")
        else:
            from coupling.exchange import Client, CouplingError
            from coupling.polling import Poller
            self.client = Client(service.comm, service.ml_world_rank(d.rank), self.inp, self.out, c.timeout_s,
                                 self.timers, Poller(spin))
            try:
                self.client.handshake({"closure": self.spec.to_json(), "shape_in": list(self.inp.shape),
                                       "shape_out": list(self.out.shape), "dtype": self.spec.dtype, "rank": d.rank})
            except CouplingError as exc:
                raise ConfigError(str(exc)) from None
        self._have_result = False

    def _allocate(self, s) -> None:
        """Input tile (with the closure's halo), output tile and the applied result for spec ``s``."""
        g, d, H = self.model.grid, self.model.domain, s.halo
        dt = s.np_dtype
        self.inp = np.zeros((1, s.in_channels(g.nz), g.ny + 2 * H, g.nx + 2 * H), dt)
        self.out = np.zeros((1, s.out_channels(g.nz), g.ny, g.nx), dt)
        self.applied = np.zeros_like(self.out)          # the result the step applies
        self.wide = Halo(g.ny, g.nx, H, d.halo.nbr, d.comm, d.rank) if H > 0 else None

    def _declare_diagnostics(self, model) -> None:
        """Outputs that fill no slot become fields of the model (output name = closure output name)."""
        g = model.grid
        for f in self.spec.outputs:
            if f.name in OUTPUT_SLOTS:
                continue
            n = f.nlev(g.nz)
            arr = np.zeros(g.shape2 if n == 1 else g.shape3)
            self.diagnostics[f.name] = arr
            try:
                model.fields.add(Field(f.name, f.point, 2 if n == 1 else 3, f.units,
                                       f"output {f.name} of closure {self.spec.name}", lambda m, a=arr: a,
                                       output=f.name, owner=f"closure {self.spec.name}"))
            except ValueError as exc:
                raise ConfigError(f"closure {self.spec.name}: output {f.name}: {exc}") from None

    # ------------------------------------------------------------------ gather and apply
    def gather(self) -> None:
        """Pack the input fields (levels in declaration order) with the closure's halo."""
        m, g, H = self.model, self.model.grid, self.spec.halo
        j, i = g.interior
        c = 0
        with self.timers("pack"):
            for f in self.spec.inputs:
                a = m.fields[f.name].get(m)
                n = f.nlev(g.nz)
                if a.ndim == 2:
                    self.inp[0, c, H:H + g.ny, H:H + g.nx] = a[j, i]
                else:
                    self.inp[0, c:c + n, H:H + g.ny, H:H + g.nx] = a[:n, j, i]
                c += n
            if self.wide is not None:
                self.wide.exchange(self.inp[0])

    def _outputs(self):
        """(declaration, applied block (levels, ny, nx)) of each output."""
        g, c = self.model.grid, 0
        for f in self.spec.outputs:
            n = f.nlev(g.nz)
            yield f, self.applied[0, c:c + n]
            c += n

    def _apply(self, targets: dict[str, np.ndarray], scale: float = 1.0) -> None:
        """Add ``scale`` times each output named in ``targets`` (output name -> the slot's
        array) to it, masked, on the interior."""
        if not self._have_result:
            return
        g = self.model.grid
        j, i = g.interior
        for f, block in self._outputs():
            if f.name in targets:
                mask = getattr(g, MASK_OF_POINT[f.point])
                n = block.shape[0]
                targets[f.name][:n, j, i] += scale * block * mask[:n, j, i]

    def _store_diagnostics(self) -> None:
        if not self._have_result or not self.diagnostics:
            return
        j, i = self.model.grid.interior
        for f, block in self._outputs():
            arr = self.diagnostics.get(f.name)
            if arr is not None:
                if arr.ndim == 2:
                    arr[j, i] = block[0]
                else:
                    arr[:block.shape[0], j, i] = block

    def _receive_at(self, slot: str) -> None:
        """An async closure's result is received at the first slot that needs it, as late as possible."""
        if self.mode == "async" and self.client.pending and self.first_slot == slot:
            self._result()

    def output(self, name: str) -> np.ndarray | None:
        """The applied result's output ``name`` (levels, ny, nx), for a physics closure that
        consumes it in a slot (the BBZ24 MLE takes ``wb`` at the eddy-velocity slot); an async
        result still pending is received first. None before the first result."""
        if self.mode == "async" and self.client is not None and self.client.pending:
            self._result()
        if not self._have_result:
            return None
        return next((block for f, block in self._outputs() if f.name == name), None)

    def momentum_tendency(self, gu: np.ndarray, gv: np.ndarray) -> None:
        self._receive_at(MOMENTUM)
        if MOMENTUM in self.slots:
            self._apply({"du": gu, "dv": gv})

    def eddy_velocity(self, ueiv: np.ndarray, veiv: np.ndarray) -> None:
        self._receive_at(EDDY_VELOCITY)
        if EDDY_VELOCITY in self.slots:
            self._apply({"ueiv": ueiv, "veiv": veiv})

    def tracer_tendency(self, Ta: np.ndarray, Sa: np.ndarray, dt: float) -> None:
        self._receive_at(TRACER)
        if TRACER in self.slots:
            self._apply({"dT": Ta, "dS": Sa}, dt)
        self._store_diagnostics()

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
            log.warning(msg)
            log.warning(f"closure {old} abandoned at step {n}; the run goes on {what}")

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

    def lagged_result(self) -> np.ndarray | None:
        """In lagged mode, the result the next step applies (C, y, x), after receiving it if
        it is still pending; None in the other modes (their steps need no stored result)."""
        if self.mode == "lagged" and self.client.pending:
            self._result()
        return self.applied[0] if self.mode == "lagged" else None

    def restore_lagged_result(self, tile: np.ndarray) -> None:
        """Take a lagged result from a restart, so the next step applies it, as the run that
        wrote the restart would have."""
        if self.mode == "lagged" and tile.shape == self.applied.shape[1:]:
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
            self.client = None
