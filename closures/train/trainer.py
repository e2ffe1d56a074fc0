"""The training step of a closure's net, one class for offline (``fit.py``) and online training.

``Trainer(net, fit_config, seed, scaling)`` owns the optimizer, the learning-rate schedule and
the counters; ``step(x, y)`` takes one optimizer step on one batch given in physical units:

- x (B, C, Y, X): the inputs of ``samples.py`` (GZ21: u, v in m s-1; BBZ24: its 8 fields);
- y (B, C_t, Y, X): the targets (GZ21: Sx, Sy in m s-2; BBZ24: WB_sg in m2 s-3), NaN where
  there is none (land): those points are left out of the loss.

On a domain periodic in x (``periodic_x``) the samples wrap around in x by the net's halo, as
the closure's halo does in a run. The net sees the inputs scaled as the closure file will scale them (``Scaling``: GZ21's x 10 and
1e-7 m s-2 units, or z-scores of the training data for BBZ24, whose z-scored inputs are also
multiplied by the land mask H_ML != 0, as ``closures.published.BBZ24Flux`` does). GZ21's net has
no padding, so its output and the loss cover the points 10 or more from the sample's edges.

Losses: ``"gaussian"`` (GZ21's heteroscedastic loss: mean over target points and both
components of -log p + p^2 (S - mu)^2 / 2, p = 1/sigma the net's precision, S and mu in
1e-7 m s-2) or ``"mse"`` (the scaled targets' mean squared error; BBZ24's).

Given the seed and the same batches in the same order the result is the same net, bit for bit:
the net's initial weights come from ``new_net(kind, seed)``, torch runs deterministic algorithms,
nothing in a step draws random numbers, and the number of torch threads is the same (it sets the
order of the convolutions' sums; ``fit`` uses ``[train] threads``, 1 by default). ``batch_order`` is the documented order ``fit`` uses.
The schedule is GZ21's step decay: lr = lr0 * gamma ** (milestones passed), applied by
``end_epoch``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from closures.nets import BBZ24Net, GZ21Net
from closures.published import (BBZ24_HALO, BBZ24_HML_CHANNEL, BBZ24_SPEC, GZ21_HALO, GZ21_IN_SCALE, GZ21_OUT_SCALE,
                                GZ21_SPEC, BBZ24Flux, GZ21Forcing)
from closures.runtime import save

KINDS = ("gz21", "bbz24")
LOSSES = {"gz21": ("gaussian", "mse"), "bbz24": ("mse",)}
OPTIMIZERS = ("adam", "adamw")


@dataclass(frozen=True)
class FitConfig:
    """How to train (the ``[train]`` table of a fit configuration): ``kind`` of net, ``loss``,
    ``optimizer`` (adam | adamw), learning rate ``lr``, ``weight_decay``, the schedule
    (``milestones``: epochs after which lr is multiplied by ``gamma``), ``batch_size``,
    ``epochs``, ``grad_clip`` (max gradient norm; 0: none), ``shuffle`` (the order of the
    training samples in each epoch: ``batch_order``), ``val_fraction`` (the last fraction of the
    records in time is the validation set), ``threads`` (torch threads of ``fit``),
    ``away_from_land`` (N >= 1: the targets of cells within N cells of any cell holding land are
    left out of the loss and R2, as GZ21 trained on regions away from land; 0: every wet cell)."""
    kind: str
    loss: str = "mse"
    optimizer: str = "adam"
    lr: float = 5e-4
    weight_decay: float = 0.0
    milestones: tuple = ()
    gamma: float = 0.1
    batch_size: int = 4
    epochs: int = 1
    grad_clip: float = 0.0
    shuffle: bool = True
    val_fraction: float = 0.2
    threads: int = 1
    away_from_land: int = 0

    def check(self, where: str = "[train]") -> None:
        """Raise ValueError naming the key of a wrong value."""
        if self.kind not in KINDS:
            raise ValueError(f"{where} kind = {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.loss not in LOSSES[self.kind]:
            raise ValueError(f"{where} loss = {self.loss!r}: {self.kind} takes {', '.join(LOSSES[self.kind])}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"{where} optimizer = {self.optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")
        for key in ("lr", "gamma"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{where} {key} = {getattr(self, key)!r}: expected a number > 0")
        for key in ("batch_size", "epochs", "threads"):
            if not (isinstance(getattr(self, key), int) and getattr(self, key) >= 1):
                raise ValueError(f"{where} {key} = {getattr(self, key)!r}: expected an integer >= 1")
        if not (isinstance(self.away_from_land, int) and self.away_from_land >= 0):
            raise ValueError(f"{where} away_from_land = {self.away_from_land!r}: expected an integer >= 0 (cells)")
        if not all(isinstance(m, int) and m >= 1 for m in self.milestones):
            raise ValueError(f"{where} milestones = {list(self.milestones)!r}: expected epochs (integers >= 1)")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError(f"{where} weight_decay and grad_clip must be >= 0")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"{where} val_fraction = {self.val_fraction!r}: expected a number in (0, 1)")


@dataclass
class Scaling:
    """Per channel: inputs become (x - in_mean) / in_std, targets (y - out_mean) / out_std."""
    in_mean: np.ndarray
    in_std: np.ndarray
    out_mean: np.ndarray
    out_std: np.ndarray
    fixed: bool = field(default=False)

    @classmethod
    def gz21(cls) -> "Scaling":
        """GZ21's own scaling (u, v x 10; S in 1e-7 m s-2), which its closure file holds."""
        return cls(np.zeros(2), np.full(2, 1.0 / GZ21_IN_SCALE), np.zeros(2), np.full(2, GZ21_OUT_SCALE), True)

    @classmethod
    def from_data(cls, x: np.ndarray, y: np.ndarray) -> "Scaling":
        """BBZ24's z-scores: mean and standard deviation of each channel of ``x`` (N, C, Y, X)
        over its ocean points (H_ML != 0) and of ``y`` over its finite points; a constant
        channel (f on an f-plane, a zero stress) gets std 1."""
        wet = x[:, BBZ24_HML_CHANNEL] != 0
        xs = np.moveaxis(x, 1, 0)[:, wet]
        ys = np.moveaxis(y, 1, 0)
        ys = ys[:, np.isfinite(ys).all(axis=0)]
        def std(a):  # noqa: E306
            s = a.std(axis=1)
            return np.where(s > 1e-12 * np.maximum(np.abs(a).max(axis=1), 1e-300), s, 1.0)
        return cls(xs.mean(axis=1), std(xs), ys.mean(axis=1), std(ys))

    def as_dict(self) -> dict:
        return {k: torch.as_tensor(np.asarray(getattr(self, k), np.float64))
                for k in ("in_mean", "in_std", "out_mean", "out_std")} | {"fixed": self.fixed}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaling":
        return cls(*(np.asarray(d[k], np.float64) for k in ("in_mean", "in_std", "out_mean", "out_std")),
                   fixed=bool(d["fixed"]))


def new_net(kind: str, seed: int) -> nn.Module:
    """A freshly initialised net of ``kind`` (torch's default initialisation under ``seed``)."""
    torch.manual_seed(seed)
    return GZ21Net() if kind == "gz21" else BBZ24Net(len(BBZ24_SPEC.inputs) - 1)


def batch_order(n: int, batch_size: int, seed: int, epoch: int, shuffle: bool) -> list[np.ndarray]:
    """The batches of one epoch over training samples 0..n-1: consecutive runs of ``batch_size``
    (the last may be shorter) of the samples in time order, or with ``shuffle`` of the
    permutation numpy's default generator seeded with [seed, epoch] draws."""
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


class Trainer:
    """One net's training: ``step`` one batch, ``end_epoch`` the schedule, ``evaluate`` a
    validation batch, ``state_dict`` / ``load_state_dict`` (net, optimizer, schedule,
    counters, scaling) and ``save_closure`` (the closure file ``ocean run`` deploys)."""

    def __init__(self, net: nn.Module, fit_config: FitConfig, seed: int, scaling: Scaling | None = None,
                 periodic_x: bool = False):
        fit_config.check()
        torch.use_deterministic_algorithms(True)
        self.net, self.cfg, self.seed = net, fit_config, int(seed)
        self.kind = fit_config.kind
        if self.kind == "gz21":
            scaling = Scaling.gz21()
        elif scaling is None:
            raise ValueError("bbz24 training needs the z-scores of its data: Scaling.from_data(x, y)")
        self.scaling = scaling
        self._tensors()
        self.halo = GZ21_HALO if self.kind == "gz21" else 0
        # a domain periodic in x: the samples wrap around in x by the net's receptive halo, as
        # the closure's halo does in a run (else the net would learn its own edge padding there)
        self.wrap = (GZ21_HALO if self.kind == "gz21" else BBZ24_HALO) if periodic_x else 0
        opt = torch.optim.AdamW if fit_config.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = opt(net.parameters(), lr=fit_config.lr, weight_decay=fit_config.weight_decay)
        self.steps, self.epoch = 0, 0

    def _tensors(self) -> None:
        s = self.scaling
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32).reshape(1, -1, 1, 1)  # noqa: E731
        self.in_mean, self.in_std, self.out_mean, self.out_std = t(s.in_mean), t(s.in_std), t(s.out_mean), t(s.out_std)

    def lr(self) -> float:
        """The learning rate of the current epoch."""
        passed = sum(1 for m in self.cfg.milestones if self.epoch >= m)
        return self.cfg.lr * self.cfg.gamma ** passed

    def end_epoch(self) -> None:
        """Count an epoch and apply the schedule to the optimizer."""
        self.epoch += 1
        for g in self.optimizer.param_groups:
            g["lr"] = self.lr()

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The net's scaled prediction of the targets and, for GZ21, its precision p."""
        xs = (x - self.in_mean) / self.in_std
        if self.kind == "bbz24":
            xs = xs * (x[:, BBZ24_HML_CHANNEL:BBZ24_HML_CHANNEL + 1] != 0).to(xs.dtype)
        w = self.wrap
        if w:                           # (any width: a domain narrower than the halo wraps several times)
            xs = xs[..., torch.arange(-w, xs.shape[-1] + w) % xs.shape[-1]]
        out = self.net(xs)
        if self.kind == "bbz24":
            return (out[..., w:-w] if w else out), None
        return out[:, :2], out[:, 2:]

    def _scaled_target(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, hx = self.halo, 0 if self.wrap else self.halo
        if h:
            y = y[:, :, h:y.shape[2] - h, hx:y.shape[3] - hx]
        valid = torch.isfinite(y)
        if self.kind == "bbz24":
            valid = valid & (x[:, BBZ24_HML_CHANNEL:BBZ24_HML_CHANNEL + 1] != 0)
        ys = (torch.where(valid, y, torch.zeros_like(y)) - self.out_mean) / self.out_std
        return ys, valid

    def _loss_terms(self, x: torch.Tensor, y: torch.Tensor):
        mu, p = self._forward(x)
        ys, valid = self._scaled_target(x, y)
        if self.cfg.loss == "gaussian":
            per_point = -torch.log(p) + 0.5 * p * p * (ys - mu) ** 2
        else:
            per_point = (ys - mu) ** 2
        return per_point, mu, ys, valid

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batch's loss: the mean of the per-point loss over the valid target points."""
        per_point, mu, ys, valid = self._loss_terms(x, y)
        with torch.no_grad():               # the batch's R2 before the step (see step)
            se, s2 = self._r2_sums(mu, ys, valid)
            self.last_r2 = 1.0 - se / s2 if s2 > 0 else float("nan")
        return torch.where(valid, per_point, torch.zeros_like(per_point)).sum() / valid.sum().clamp(min=1)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One optimizer step on the batch (x, y) (physical units, see the module's doc);
        returns the batch's loss before the step (and sets ``last_r2``, the batch's R2 =
        1 - sum (S - mu)^2 / sum S^2 before the step: GZ21's, as ``evaluate`` gives it)."""
        self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(x, y)
        loss.backward()
        if self.cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.steps += 1
        return float(loss.detach())

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """Sums over the valid points of a batch, the net in eval mode: ``loss`` (of the per-point
        loss), ``se`` (squared error of the mean prediction) and ``s2`` (squared target), both in
        scaled target units about 0 (R2 = 1 - se / s2, GZ21's), and ``n`` (points)."""
        self.net.eval()
        with torch.no_grad():
            per_point, mu, ys, valid = self._loss_terms(x, y)
            se, s2 = self._r2_sums(mu, ys, valid)
            return {"loss": float(torch.where(valid, per_point, torch.zeros_like(per_point)).sum()), "se": se,
                    "s2": s2, "n": int(valid.sum())}

    def _r2_sums(self, mu: torch.Tensor, ys: torch.Tensor, valid: torch.Tensor) -> tuple[float, float]:
        """Over the valid points: sum (S - mu)^2 and sum S^2, in target units / out_std (the
        terms of GZ21's R2 = 1 - se / s2, about 0 whatever the z-score's mean)."""
        pred = mu * self.out_std + self.out_mean          # physical, then back to the target unit
        truth = ys * self.out_std + self.out_mean
        z = torch.zeros_like(ys)
        se = torch.where(valid, (pred - truth) / self.out_std, z) ** 2
        s2 = torch.where(valid, truth / self.out_std, z) ** 2
        return float(se.sum()), float(s2.sum())

    def state_dict(self) -> dict:
        """Everything ``load_state_dict`` needs to continue bit for bit (tensors and plain
        values only: ``torch.load(..., weights_only=True)`` reads it)."""
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(), "steps": self.steps,
                "epoch": self.epoch, "seed": self.seed, "kind": self.kind, "scaling": self.scaling.as_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state["kind"] != self.kind:
            raise ValueError(f"a {state['kind']} training state cannot continue a {self.kind} trainer")
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps, self.epoch, self.seed = int(state["steps"]), int(state["epoch"]), int(state["seed"])
        self.scaling = Scaling.from_dict(state["scaling"])
        self._tensors()

    def save_closure(self, path: str | Path) -> Path:
        """Write the closure file of the current net, normalisation inside, as the importers of
        ``closures/published.py`` write it (same module classes and declarations)."""
        net = copy.deepcopy(self.net).eval()
        if self.kind == "gz21":
            return save(GZ21Forcing(net).eval(), GZ21_SPEC, path)
        s = self.scaling
        return save(BBZ24Flux(net, s.in_mean, s.in_std, float(s.out_mean[0]), float(s.out_std[0])).eval(),
                    BBZ24_SPEC, path)
