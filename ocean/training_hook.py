"""The ocean side of online training (``closure.train``): at the end of every
``closure.every_steps``-th step, the fields the learner's recipe needs go from each ocean rank
to the ML rank (``coupling/streaming.py``), as an output record of that step would hold them
(float32, NaN on land; diagnostics such as w as the step computed them).

The ocean never waits for the learner: when it has not yet taken the last sample, the sample
is skipped on every rank (the ranks agree on it) and counted; ``closure.train_skip = false``
waits instead, so that every sample is trained (for runs that must be reproducible). A restart
written by the run sends a save notice: the learner saves its state beside the restart
(``checkpoint_of``) after the samples sent before it, and a run continued from that restart
resumes it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .closure_slots import Closure
from .config import ConfigError
from .kernels import serial_kernel

HANDSHAKE_S = 300.0         # the ML rank imports torch and builds the recipe's grids first


def checkpoint_of(restart: str | Path, name: str) -> Path:
    """The learner state saved with restart file ``restart``: RESTART_STEM.NAME.pt beside it."""
    restart = Path(restart)
    return restart.with_name(f"{restart.stem}.{name}.pt")


@serial_kernel
def copy_masked(src, j0, i0, mask, dst):
    """dst[k, j, i] = src[k, j0 + j, i0 + i] where ``mask`` (the interior of a tile with halos,
    float64, to float32); dst keeps its values (NaN) elsewhere."""
    nz, ny, nx = dst.shape
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                if mask[k, j, i]:
                    dst[k, j, i] = src[k, j0 + j, i0 + i]


class TrainingHook(Closure):
    """Streams samples of the run to the learner of closure table ``c`` (``c.train``: its fit
    configuration) on the ML rank of ``service``."""

    def __init__(self, c, model, service, key: str = "closure", spin: bool = False):
        from closures.online import training_plan
        from coupling.polling import Poller
        from coupling.streaming import SampleSender
        from coupling.timers import Timers
        plan = training_plan(c.train, f"{key}.train")
        self.kind, self.name = plan.cfg.kind, f"train_{plan.cfg.kind}"
        self.mode, self.every, self.skip = c.mode, c.every_steps, c.train_skip
        self.model, self.service = model, service
        self.timers = Timers()
        self.failed_ml: list[int] = []
        self.silent_ml = False
        catalogue = model.fields.outputs()
        self.fields = []
        for choices in plan.run_fields:
            name = next((n for n in choices if n in catalogue), None)
            if name is None:
                raise ConfigError(f"key '{key}.train': the run has no output field {' or '.join(choices)}, which "
                                  f"{self.kind} training needs")
            self.fields.append((name, catalogue[name]))
        g, d = model.grid, model.domain
        # (levels, y, x) of each field's interior: 2-D fields as one level
        self.masks = [np.ascontiguousarray(g.interior_of(getattr(g, f.mask))[:1 if f.ndim == 2 else None] > 0)
                      for _, f in self.fields]
        nbytes = 4 * sum(m.size for m in self.masks)
        self.sent = self.skipped = 0
        self.sender = SampleSender(service.comm, service.ml_world_rank(d.rank), Poller(spin), nbytes)
        # the fields' places in the message, NaN on land once and for all (as the output writes them)
        payload, n = self.sender.body.view(np.float32), 0
        payload[:] = np.nan
        self.views = []
        for m in self.masks:
            self.views.append(payload[n:n + m.size].reshape(m.shape))
            n += m.size
        self._pack()                        # compiles the kernel now, not in the first sampled step
        answer = self.sender.handshake({"rank": d.rank, "kind": self.kind, "train": str(c.train),
                                        "fields": [n for n, _ in self.fields],
                                        "shapes": [list(m.shape[1:] if f.ndim == 2 else m.shape)
                                                   for m, (_, f) in zip(self.masks, self.fields)],
                                        "j0": d.j0, "i0": d.i0, "nbytes": nbytes}, HANDSHAKE_S)
        if answer != "ok":
            raise ConfigError(f"key '{key}.train': {answer}")

    def _idle(self, wait: bool = False) -> bool:
        """Whether the learner has taken every message (``wait``: once it has); a failed
        learner is a ClosureError (the run saves its state and stops)."""
        from coupling.streaming import StreamError

        from .closure_hook import ClosureError
        try:
            return self.sender.wait() if wait else self.sender.idle()
        except StreamError as exc:
            raise ClosureError(str(exc)) from None

    def _pack(self) -> None:
        j, i = self.model.grid.interior
        j0, i0 = j.start, i.start
        for (_, f), mask, view in zip(self.fields, self.masks, self.views):
            a = f.get(self.model)
            copy_masked(a if a.ndim == 3 else a[None], j0, i0, mask, view)

    def end_of_step(self) -> None:
        n = self.model.state.nstep
        if n % self.every:
            return
        with self.timers("send"):
            ready = bool(self.model.domain.allreduce([1.0 if self._idle() else 0.0], "min")[0])
            if not ready and self.skip:
                self.skipped += 1
                return
        if not ready:
            with self.timers("wait"):
                self._idle(wait=True)
        with self.timers("send"):
            self._pack()
            self.sender.send_sample(n)
            self.sent += 1

    def restart_written(self, path: Path) -> None:
        """The run wrote restart ``path``: the learner saves its state beside it."""
        from coupling.streaming import SAVE
        with self.timers("send"):
            self.sender.send(SAVE, self.model.state.nstep, str(Path(path).resolve()).encode())

    def report(self) -> dict:
        return {"samples_sent": self.sent, "samples_skipped": self.skipped, "every_steps": self.every}

    def close(self) -> None:
        """Tell the learner the run is over and wait until it has taken every message (the
        end of the run, not its steps: timed as ``stop``)."""
        from coupling.streaming import STOP
        with self.timers("stop"):
            self.sender.send(STOP, self.model.state.nstep)
            self._idle(wait=True)
