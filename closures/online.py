"""Online training: the ML rank's learner, fed by the run's own fields as it goes
(``closure.train``; the ocean side is ``ocean/training_hook.py``, the transport
``coupling/streaming.py``).

Each sample is made as ``python -m closures.train data`` makes a record of a dataset: the
ocean ranks send their tiles of the fields as the output file holds them (float32, NaN on
land), the learner assembles the global fields and the recipe's ``Sampler`` coarse-grains them
and forms the targets. Every ``[train] batch_size`` samples the ``Trainer`` takes one step, as
``fit`` does on consecutive records with ``shuffle = false``; so with the same seed and threads,
the net after N samples (N a multiple of the batch size) is the net ``fit`` makes in one epoch
of the same N records, bit for bit (BBZ24's z-scores are those of the first batch, given to
``fit`` as ``scaling``). The learning rate stays ``[train] lr`` (one pass: no schedule), and
nothing is held back for validation: the loss of each batch before its step goes to the log
and the summary.

The learner's state (trainer, samples waiting for a batch, loss history) is saved beside every
restart the run writes (``ocean.training_hook.checkpoint_of``), with the closure file of the
net so far (``[output] closure`` of the fit configuration); a run continued from that restart
resumes it, and starts a fresh net when there is none.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ocean.config import ConfigError
from ocean.runlog import log

from .train.dataset import RUN_FIELDS, Sampler
from .train.fit import FitConfigError, FitPlan, read_config, targets_away_from_land


class TrainingPlan:
    """What the ocean and the ML rank both need of a ``closure.train`` file: the FitPlan
    (``plan``), its ``cfg``, and the run fields the recipe takes (``run_fields``: choices per field)."""

    def __init__(self, plan: FitPlan):
        self.plan, self.cfg = plan, plan.cfg
        self.run_fields = RUN_FIELDS[plan.cfg.kind]


def training_plan(path: str | Path, key: str = "closure.train") -> TrainingPlan:
    """The TrainingPlan of fit configuration ``path``; a ConfigError naming ``key`` and the file
    when it cannot train online."""
    try:
        plan = read_config(path)
    except FitConfigError as exc:
        raise ConfigError(f"key '{key}': {exc}") from None
    if plan.factor is None:
        raise ConfigError(f"key '{key}': {path}: [data] factor must be set for online training (fine cells per "
                          "coarse cell)")
    return TrainingPlan(plan)


def output_statics(cfg) -> dict[str, np.ndarray]:
    """The static fields of the run's output file, as a reader gets them back (float32, NaN on land)."""
    from ocean.grid import build_global
    from ocean.run_output import static_fields
    gh = build_global(cfg)[0]
    return {name: arr.astype(np.float32) for name, (_, arr, _, _) in static_fields(gh).items()}


class OnlineLearner:
    """Batches the samples and trains: ``add(x, y, step)`` one sample (float32 (C, Y, X) inputs
    and (C_t, Y, X) targets, NaN on land); ``save(checkpoint)``; ``report()``. ``ocean_fraction``
    (Y, X): of each coarse cell, for ``[train] away_from_land``."""

    def __init__(self, plan: FitPlan, periodic_x: bool, ocean_fraction: np.ndarray):
        from .train.trainer import Trainer, new_net
        self.plan, self.cfg, self.periodic_x = plan, plan.cfg, periodic_x
        self.ocean_fraction = ocean_fraction
        self.trainer = Trainer(new_net("gz21", plan.seed), self.cfg, plan.seed, periodic_x=periodic_x) \
            if self.cfg.kind == "gz21" else None
        self.buffer: list[tuple[np.ndarray, np.ndarray]] = []
        self.history: list[dict] = []           # one entry per optimizer step
        self.samples = 0

    def add(self, x: np.ndarray, y: np.ndarray, step: int) -> float | None:
        """Take one sample (made at model step ``step``); returns the loss when a batch was trained."""
        import torch

        from .train.trainer import Scaling, Trainer, new_net
        y = targets_away_from_land(np.asarray(y, np.float32), self.ocean_fraction, self.cfg.away_from_land,
                                   self.periodic_x)
        self.buffer.append((np.asarray(x, np.float32), y))
        self.samples += 1
        if len(self.buffer) < self.cfg.batch_size:
            return None
        xb = np.stack([b[0] for b in self.buffer])
        yb = np.stack([b[1] for b in self.buffer])
        self.buffer = []
        if self.trainer is None:                # BBZ24: z-scores of the first batch, fixed from then on
            self.trainer = Trainer(new_net(self.cfg.kind, self.plan.seed), self.cfg, self.plan.seed,
                                   Scaling.from_data(xb, yb), self.periodic_x)
        loss = self.trainer.step(torch.from_numpy(xb), torch.from_numpy(yb))
        self.history.append({"step": int(step), "samples": self.samples, "loss": loss, "r2": self.trainer.last_r2})
        return loss

    def state_dict(self) -> dict:
        import torch
        stack = lambda i: torch.from_numpy(np.stack([b[i] for b in self.buffer])) if self.buffer else None  # noqa: E731
        return {"trainer": self.trainer.state_dict() if self.trainer is not None else None,
                "buffer_x": stack(0), "buffer_y": stack(1), "history": self.history, "samples": self.samples,
                "kind": self.cfg.kind, "seed": self.plan.seed}

    def load_state_dict(self, state: dict) -> None:
        from .train.trainer import Scaling, Trainer, new_net
        if state["kind"] != self.cfg.kind or state["seed"] != self.plan.seed:
            raise ValueError(f"the saved learner trains {state['kind']} with seed {state['seed']}, the fit "
                             f"configuration {self.cfg.kind} with seed {self.plan.seed}")
        if state["trainer"] is not None:
            scaling = Scaling.from_dict(state["trainer"]["scaling"])
            self.trainer = Trainer(new_net(self.cfg.kind, self.plan.seed), self.cfg, self.plan.seed, scaling,
                                   self.periodic_x)
            self.trainer.load_state_dict(state["trainer"])
        bx, by = state["buffer_x"], state["buffer_y"]
        self.buffer = [] if bx is None else [(a.numpy(), b.numpy()) for a, b in zip(bx, by)]
        self.history, self.samples = list(state["history"]), int(state["samples"])

    def save(self, checkpoint: Path) -> None:
        """The learner's state to ``checkpoint`` (atomically), and the closure file of the net so far."""
        import torch
        tmp = checkpoint.with_name(checkpoint.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, checkpoint)
        if self.trainer is not None:
            self.trainer.save_closure(self.plan.closure)

    def load(self, checkpoint: Path) -> None:
        import torch
        self.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))

    def report(self) -> dict:
        losses = [h["loss"] for h in self.history]
        return {"kind": self.cfg.kind, "samples_trained": self.samples - len(self.buffer),
                "samples_waiting": len(self.buffer), "optimizer_steps": len(losses),
                "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
                "closure": str(self.plan.closure) if self.trainer is not None else None, "history": self.history}


class Assembler:
    """The global fields (NaN where no ocean tile lies, as the output file has them) from the
    payloads of the ocean ranks described by ``descs``."""

    def __init__(self, descs: list[dict], ny: int, nx: int):
        self.descs = descs
        self.fields = [np.full(tuple(s[:-2]) + (ny, nx), np.nan, np.float32) for s in descs[0]["shapes"]]

    def __call__(self, payloads: list[np.ndarray]) -> list[np.ndarray]:
        for d, payload in zip(self.descs, payloads):
            vals, n = payload.view(np.float32), 0
            for f, shape in zip(self.fields, d["shapes"]):
                size = int(np.prod(shape))
                ny, nx = shape[-2:]
                f[..., d["j0"]:d["j0"] + ny, d["i0"]:d["i0"] + nx] = vals[n:n + size].reshape(shape)
                n += size
        return self.fields


def check_descriptions(descs: list[dict], kind: str) -> str:
    """"ok", or why the ocean ranks' descriptions do not fit this learner."""
    for d in descs:
        if d["kind"] != kind or d["fields"] != descs[0]["fields"]:
            return (f"ocean rank {d['rank']} streams {d['kind']} fields {d['fields']}, the learner trains {kind} "
                    f"on {descs[0]['fields']}")
    return "ok"


def serve_training(c, service, cfg, spin: bool, key: str, restart: str | Path | None) -> dict:
    """Run the learner of closure table ``c`` on this ML rank of ``service`` until the ocean
    ranks stop; ``cfg`` the run's configuration, ``restart`` the restart it continues from."""
    import time

    import torch

    from coupling.exchange import send_timers
    from coupling.polling import Poller
    from coupling.streaming import SampleReceiver
    from coupling.timers import Timers
    from ocean.training_hook import checkpoint_of
    tp = training_plan(c.train, f"{key}.train")
    torch.set_num_threads(tp.cfg.threads)
    name = f"train_{tp.cfg.kind}"
    ml_index = service.comm.Get_rank() - service.first
    rx = SampleReceiver(service.comm, service.ocean_ranks_of(ml_index), Poller(spin))
    descs = rx.descriptions()
    answer = check_descriptions(descs, tp.cfg.kind)
    sampler, statics = None, output_statics(cfg)
    if answer == "ok":
        try:
            sampler = Sampler(tp.cfg.kind, tp.plan.factor, statics, cfg)
        except ValueError as exc:
            answer = f"{c.train}: {exc}"
    rx.answer(answer)
    if answer != "ok":
        raise ConfigError(f"key '{key}.train': {answer}")
    rx.size([d["nbytes"] for d in descs])
    assemble = Assembler(descs, *statics["e1t"].shape)
    learner = OnlineLearner(tp.plan, sampler.periodic_x, sampler.ocean_fraction)
    if restart is not None and checkpoint_of(restart, name).is_file():
        learner.load(checkpoint_of(restart, name))
        log.info(f"online training {name}: resumed from {checkpoint_of(restart, name)} ({learner.samples} samples "
                 "trained so far)")
    elif restart is not None:
        log.info(f"online training {name}: {restart} has no saved learner beside it: a fresh net")
    tp.plan.closure.parent.mkdir(parents=True, exist_ok=True)
    timers = Timers()
    t_start = time.perf_counter()
    try:
        _learn(rx, assemble, sampler, learner, name, timers)
    except Exception as exc:    # noqa: BLE001 - tell the ocean ranks (they save their state and stop), then fail
        rx.fail(f"online training {name} on ML rank {service.comm.Get_rank()} failed: {type(exc).__name__}: {exc}")
        raise
    report = learner.report()
    report["learner_busy_pct"] = 100.0 * (timers.seconds.get("sample", 0) + timers.seconds.get("train", 0)) / \
        max(time.perf_counter() - t_start, 1e-9)
    tp.plan.out_dir.mkdir(parents=True, exist_ok=True)
    (tp.plan.out_dir / "online_history.json").write_text(json.dumps(report, indent=1) + "\n")
    send_timers(service.comm, 0, timers, {"ml_rank": service.comm.Get_rank(), "closure": name, "online": report})
    return {"role": "ml", "samples": learner.samples}


def _learn(rx, assemble, sampler, learner: OnlineLearner, name: str, timers) -> None:
    """Take the ocean ranks' messages until they stop."""
    from coupling.streaming import SAMPLE, SAVE, STOP
    from ocean.training_hook import checkpoint_of
    while True:
        with timers("receive"):
            msgs = rx.next()
        kinds = {m[0] for m in msgs}
        if len(kinds) != 1:
            raise RuntimeError(f"online training {name}: the ocean ranks sent different messages ({kinds})")
        kind, step, payload = msgs[0]
        if kind == SAMPLE:
            with timers("sample"):
                x, y = sampler(assemble([m[2] for m in msgs]))
            with timers("train"):
                loss = learner.add(x, y, step)
            if loss is not None and len(learner.history) % 10 == 1:
                log.info(f"online training {name}: step {step}, {learner.samples} samples, loss {loss:.5g}")
        elif kind == SAVE:
            with timers("save"):
                path = checkpoint_of(bytes(payload).decode(), name)
                learner.save(path)
            recent = [h["loss"] for h in learner.history[-10:]]
            log.info(f"online training {name}: saved {path} at step {step} ({learner.samples} samples, "
                     f"{len(learner.history)} optimizer steps" + (f", mean loss of the last {len(recent)} "
                                                                  f"{np.mean(recent):.5g})" if recent else ")"))
        elif kind == STOP:
            return
