"""Offline training: ``python -m closures.train fit CONFIG.toml [--resume]``.

The configuration (TOML; relative paths are taken from the current directory)::

    [data]
    path = "runs/train/bbz24.nc"    # a dataset of ``python -m closures.train data`` (offline)
    factor = 4                       # fine cells per coarse cell (online training; offline: the dataset's)
    [train]                          # closures.train.trainer.FitConfig, plus:
    kind = "bbz24"
    seed = 0                         # initial weights and sample order
    threads = 1                      # torch threads (default 1)
    ...
    [output]
    dir = "runs/train/fit_bbz24"     # checkpoint.pt, history.json
    closure = "runs/train/bbz24_trained.pt"

The loop (the order online training reproduces): the first 1 - val_fraction of the records
in time are the training set, the rest the validation set; in epoch e the batches are
``trainer.batch_order(n_train, batch_size, seed, e, shuffle)``, each one ``Trainer.step``;
then ``end_epoch`` (the schedule), the validation loss and R2 = 1 - sum (S - mu)^2 / sum S^2
over the validation set, and a checkpoint (``checkpoint.pt``: the trainer's state and the
history, read back with torch's weights-only loader). ``--resume`` continues from it, bit for
bit. Epoch 0 of the history is the untrained net's validation. At the end the closure file is
written (``Trainer.save_closure``).
"""
from __future__ import annotations

import json
import os
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .dataset import TrainingData, away_from_land, load
from .trainer import FitConfig, Scaling, Trainer, batch_order, new_net

SECTIONS = {"data": {"path", "factor"}, "train": {f.name for f in fields(FitConfig)} | {"seed"}, "output": {"dir", "closure"}}


class FitConfigError(ValueError):
    """A fit configuration that cannot be used: the message names the file and key."""


@dataclass(frozen=True)
class FitPlan:
    """A fit configuration read and checked: how to train (``cfg``, ``seed``), on what (``data``:
    the dataset, offline; ``factor``: the coarse-graining, online), and where the results go
    (``out_dir``: checkpoint and history; ``closure``: the closure file); ``source`` the file."""
    cfg: FitConfig
    seed: int
    data: Path | None
    factor: int | None
    out_dir: Path
    closure: Path
    source: Path


def read_config(path: str | Path) -> FitPlan:
    """The FitPlan of a fit configuration; FitConfigError names the file and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise FitConfigError(f"{path}: cannot read the fit configuration ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FitConfigError(f"{path}: not valid TOML ({exc})") from None
    for sec, keys in SECTIONS.items():
        if not isinstance(raw.get(sec), dict):
            raise FitConfigError(f"{path}: missing table [{sec}]")
        unknown = sorted(set(raw[sec]) - keys)
        if unknown:
            raise FitConfigError(f"{path}: [{sec}] unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(keys))})")
    for sec, key in (("output", "dir"), ("output", "closure"), ("train", "kind")):
        if not isinstance(raw[sec].get(key), str):
            raise FitConfigError(f"{path}: [{sec}] {key} must be a string")
    data, factor = raw["data"].get("path"), raw["data"].get("factor")
    if data is not None and not isinstance(data, str):
        raise FitConfigError(f"{path}: [data] path must be a string")
    if factor is not None and not (isinstance(factor, int) and factor >= 1):
        raise FitConfigError(f"{path}: [data] factor = {factor!r}: expected an integer >= 1")
    train = dict(raw["train"])
    seed = train.pop("seed", 0)
    if not isinstance(seed, int):
        raise FitConfigError(f"{path}: [train] seed must be an integer")
    if "milestones" in train:
        train["milestones"] = tuple(train["milestones"])
    for key in ("lr", "weight_decay", "gamma", "grad_clip", "val_fraction"):
        if isinstance(train.get(key), int):
            train[key] = float(train[key])
    cfg = FitConfig(**train)
    try:
        cfg.check(f"{path}: [train]")
    except ValueError as exc:
        raise FitConfigError(str(exc)) from None
    return FitPlan(cfg, seed, Path(data) if data is not None else None, factor, Path(raw["output"]["dir"]),
                   Path(raw["output"]["closure"]), path)


def split(data: TrainingData, val_fraction: float) -> int:
    """The number of training records: the first ones in time, at least one left to validate."""
    n = data.x.shape[0]
    return min(max(1, int(round(n * (1.0 - val_fraction)))), n - 1)


def validate(trainer: Trainer, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """(mean loss, R2) of the net over validation samples."""
    tot = {"loss": 0.0, "se": 0.0, "s2": 0.0, "n": 0}
    for i in range(0, x.shape[0], batch_size):
        for k, v in trainer.evaluate(x[i:i + batch_size], y[i:i + batch_size]).items():
            tot[k] += v
    return tot["loss"] / max(tot["n"], 1), 1.0 - tot["se"] / tot["s2"] if tot["s2"] > 0 else float("nan")


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def fit(config: str | Path, resume: bool = False, progress: bool = True, log=print,
        scaling: Scaling | None = None) -> dict:
    """Train as ``config`` says; returns {"history": [...], "closure": path, "n_train", "n_val",
    "target_points"} (the finite targets of the training records: cells x channels x records).
    ``scaling``: BBZ24's z-scores given (as an online run that fixed them before its first
    sample), instead of those of the training records."""
    plan = read_config(config)
    cfg, seed, data_path, out_dir, closure = plan.cfg, plan.seed, plan.data, plan.out_dir, plan.closure
    if data_path is None:
        raise FitConfigError(f"{plan.source}: [data] path must be a string (the dataset to train on)")
    # one thread by default: on a shared machine torch's thread pool can be 50x slower than one
    # thread for these small nets; a resumed fit must use the same number (sums' order)
    before = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return _fit(cfg, seed, data_path, out_dir, closure, resume, progress, log, scaling)
    finally:
        torch.set_num_threads(before)


def targets_away_from_land(y: np.ndarray, ocean_fraction: np.ndarray, n: int, periodic_x: bool) -> np.ndarray:
    """Targets (..., Y, X) with those of cells within ``n`` cells of land set to NaN (left out of
    the loss, as land is); ``y`` itself when n = 0."""
    if n <= 0:
        return y
    return np.where(away_from_land(ocean_fraction, n, periodic_x), y, np.float32(np.nan)).astype(y.dtype)


def _fit(cfg: FitConfig, seed: int, data_path: Path, out_dir: Path, closure: Path, resume: bool, progress: bool,
         log, scaling: Scaling | None) -> dict:
    data = load(data_path, cfg.kind)
    data.y = targets_away_from_land(data.y, data.ocean_fraction, cfg.away_from_land, data.periodic_x)
    ntr = split(data, cfg.val_fraction)
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    xt, yt, xv, yv = x[:ntr], y[:ntr], x[ntr:], y[ntr:]
    if scaling is None and cfg.kind == "bbz24":
        scaling = Scaling.from_data(data.x[:ntr], data.y[:ntr])
    trainer = Trainer(new_net(cfg.kind, seed), cfg, seed, scaling, data.periodic_x)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "checkpoint.pt"
    if resume:
        if not ckpt.is_file():
            raise FitConfigError(f"{ckpt}: no checkpoint to resume from")
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        trainer.load_state_dict(state["trainer"])
        history = state["history"]
    else:
        loss0, r2_0 = validate(trainer, xv, yv, cfg.batch_size)
        history = [{"epoch": 0, "train_loss": None, "val_loss": loss0, "val_r2": r2_0}]
    points = int(np.isfinite(data.y[:ntr]).sum())
    near = f" (cells within {cfg.away_from_land} of land left out)" if cfg.away_from_land else ""
    log(f"fit {cfg.kind}: {data.path}, {ntr} training and {x.shape[0] - ntr} validation records, "
        f"{points} target points{near}, from epoch {trainer.epoch} to {cfg.epochs}")
    for epoch in range(trainer.epoch, cfg.epochs):
        batches = batch_order(ntr, cfg.batch_size, seed, epoch, cfg.shuffle)
        losses = []
        for idx in tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False):
            i = torch.from_numpy(idx)
            losses.append(trainer.step(xt[i], yt[i]))
        trainer.end_epoch()
        vloss, r2 = validate(trainer, xv, yv, cfg.batch_size)
        history.append({"epoch": trainer.epoch, "train_loss": float(np.mean(losses)), "val_loss": vloss, "val_r2": r2})
        log(f"epoch {trainer.epoch}: train loss {history[-1]['train_loss']:.5g}, validation loss {vloss:.5g}, "
            f"R2 {r2:.4f}, lr {trainer.lr():.3g}")
        _save_atomic({"trainer": trainer.state_dict(), "history": history}, ckpt)
    path = trainer.save_closure(closure)
    (out_dir / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    log(f"closure file: {path}")
    return {"history": history, "closure": str(path), "n_train": ntr, "n_val": int(x.shape[0] - ntr),
            "target_points": points}
