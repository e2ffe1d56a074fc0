"""Online training (closure.train): the net trained from the running simulation equals the net
trained offline on the same samples, resumes bit for bit from a restart, and the ocean never
waits when the learner falls behind (it skips samples and counts them)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import xarray as xr

from conftest import ROOT, run_mpi

FRONT = ROOT / "configs" / "mle_front_hires.toml"
# a small front (96 x 48 x 30 points, 8 x 4 coarse cells of 12 x 12), one snapshot per step
SMALL = ["grid.ny=96", "grid.nx=48", "init.front_count=1", "init.front_noise_k=0.05"]
DT_DAYS = 600.0 / 86400.0


def fit_toml(tmp: Path, name: str, data: Path | None = None, val_fraction: float = 0.2) -> Path:
    p = tmp / f"{name}.toml"
    p.write_text("\n".join([
        "[data]", "factor = 12"] + ([f'path = "{data}"'] if data else []) + [
        "[train]", 'kind = "bbz24"', 'loss = "mse"', 'optimizer = "adamw"', "lr = 1e-3", "weight_decay = 0.02",
        "batch_size = 2", "epochs = 1", "shuffle = false", f"val_fraction = {val_fraction}", "seed = 3", "threads = 1",
        "[output]", f'dir = "{tmp / (name + "_out")}"', f'closure = "{tmp / (name + ".pt")}"']) + "\n")
    return p


def online_run(tmp: Path, name: str, fit: Path, steps: int, ranks: int = 2, skip: bool = False, restart=None,
               out=None, extra=()) -> dict:
    out = out or tmp / name
    sets = SMALL + [f"closure.train={fit}", "closure.mode=async", "closure.ml_ranks=1",
                    f"closure.train_skip={'true' if skip else 'false'}"] + list(extra)
    args = ["run", FRONT, "--steps", steps, "--out", out, "--no-progress"] + [a for s in sets for a in ("--set", s)]
    if restart:
        args += ["--restart", restart]
    r = run_mpi(ranks + 1, *args, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())


def learner_net(checkpoint: Path) -> dict:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["trainer"]["net"]


def test_online_training_equals_offline_training_on_the_same_samples(tmp_path):
    """Two ocean ranks stream 9 samples (after steps 1-9; the learner trains 4 batches of 2,
    the last sample waits for its batch) and write the same states as snapshots; the dataset of
    those 9 snapshots and fit (one epoch over the first 8, in order) give the same net."""
    from closures.train.dataset import build
    from closures.train.fit import fit
    from closures.train.trainer import Scaling
    from ocean.config import load
    fields = '["thetao","so","uo","vo","wo"]'
    snap = [f"output.interval_days={DT_DAYS!r}", "output.mode=snapshot", f"output.fields={fields}"]
    s = online_run(tmp_path, "run", fit_toml(tmp_path, "online"), 9, ranks=2, extra=snap)
    online = s["online_training"]["train_bbz24"]
    assert online["samples_sent"] == 9 and online["samples_skipped"] == 0 and online["samples_waiting"] == 1
    assert online["samples_trained"] == 8 and online["optimizer_steps"] == 4
    state = torch.load(tmp_path / "run" / "restart.train_bbz24.pt", map_location="cpu", weights_only=True)
    cfg = load(FRONT, SMALL + snap)
    data = build("bbz24", tmp_path / "run", tmp_path / "d.nc", 12, cfg, progress=False)    # 9 records
    part = build("bbz24", tmp_path / "run", tmp_path / "p.nc", 12, cfg, progress=False, records=slice(2, 5))
    with xr.open_dataset(data) as whole, xr.open_dataset(part) as some:
        assert some.sizes["time"] == 3 and some.identical(whole.isel(time=slice(2, 5)).assign_attrs(some.attrs))
    offline = fit_toml(tmp_path, "offline", data, val_fraction=0.1)                          # 8 to train
    fit(offline, progress=False, log=lambda *_: None, scaling=Scaling.from_dict(state["trainer"]["scaling"]))
    ref = torch.load(tmp_path / "offline_out" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert ref["trainer"]["steps"] == 4
    for k, v in state["trainer"]["net"].items():
        assert torch.equal(v, ref["trainer"]["net"][k]), k
    assert (tmp_path / "online.pt").is_file()       # the closure file of the net so far, deployable


def test_online_training_resumes_from_a_restart_bit_for_bit(tmp_path):
    """7 + 6 steps through a restart (the learner saved beside it, with a sample waiting for its
    batch) give the net of 13 steps straight."""
    fit = fit_toml(tmp_path, "f")
    online_run(tmp_path, "straight", fit, 13, ranks=1)
    first = online_run(tmp_path, "split", fit, 7, ranks=1)
    assert first["online_training"]["train_bbz24"]["samples_waiting"] == 1
    second = online_run(tmp_path, "split", fit, 6, ranks=1, restart=tmp_path / "split" / "restart.nc",
                        out=tmp_path / "split")
    a = torch.load(tmp_path / "straight" / "restart.train_bbz24.pt", map_location="cpu", weights_only=True)
    b = torch.load(tmp_path / "split" / "restart.train_bbz24.pt", map_location="cpu", weights_only=True)
    assert a["samples"] == b["samples"] == 13 and len(a["history"]) == 6
    assert a["history"] == b["history"]
    for k, v in a["trainer"]["net"].items():
        assert torch.equal(v, b["trainer"]["net"][k]), k
    assert second["online_training"]["train_bbz24"]["samples_sent"] == 6


def test_a_busy_learner_makes_the_ocean_skip_samples_not_wait(tmp_path):
    """The learner takes far longer per sample than a step of this small front: with
    train_skip (the default) the ocean skips samples, counts them, and never waits."""
    s = online_run(tmp_path, "skip", fit_toml(tmp_path, "f"), 40, ranks=1, skip=True)
    o = s["online_training"]["train_bbz24"]
    assert o["samples_skipped"] > 0
    assert o["samples_sent"] + o["samples_skipped"] == 40
    assert o["samples_trained"] + o["samples_waiting"] == o["samples_sent"]
    timers = json.loads((tmp_path / "skip" / "coupling_timers.json").read_text())["closures"][0]
    assert "wait" not in timers["ocean"][0]["seconds"]


@pytest.mark.parametrize("sets, expected", [
    (["closure.mode=sync"], "closure.train needs closure.mode = 'async'"),
    (["closure.ml_ranks=2"], "closure.ml_ranks = 1"),
])
def test_online_training_layout_errors_name_the_keys(tmp_path, sets, expected):
    from ocean.config import ConfigError, load
    fit = fit_toml(tmp_path, "f")
    with pytest.raises(ConfigError, match=expected):
        load(FRONT, SMALL + [f"closure.train={fit}", "closure.mode=async", "closure.ml_ranks=1"] + sets)


def test_a_fit_file_without_factor_is_refused_naming_the_key(tmp_path):
    from closures.online import training_plan
    from ocean.config import ConfigError
    p = tmp_path / "nofactor.toml"
    p.write_text(fit_toml(tmp_path, "f").read_text().replace("factor = 12\n", ""))
    with pytest.raises(ConfigError, match=r"closure.train.*\[data\] factor"):
        training_plan(p)
