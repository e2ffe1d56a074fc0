"""Training closures on the model's own runs (closures/train): the recipes' targets, the
filter, the loss, training, checkpoints, packaging and the user errors."""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

from closures.runtime import LoadedClosure
from closures.train.__main__ import main
from closures.train.dataset import VARIABLES
from closures.train.filters import gaussian, weighted_gaussian
from closures.train.fit import fit
from closures.train.samples import BBZ24Grids, GZ21Grid, bbz24_sample, gz21_sample
from closures.train.trainer import FitConfig, Scaling, Trainer, new_net

from conftest import BOX, ROOT, cfg_from


def mercator_grid(ny=32, nx=24, factor=4, periodic=True, land=False):
    lat = np.linspace(20.0, 50.0, ny)
    e1t = np.repeat((25e3 * np.cos(np.radians(lat)))[:, None], nx, axis=1)
    wet = np.ones((ny, nx), bool)
    if land:
        wet[:5, :7] = False
        wet[20:, 18:] = False
    return GZ21Grid(e1t, e1t.copy(), wet, periodic, factor)


def test_gz21_target_is_zero_for_a_flow_without_small_scales():
    g = mercator_grid()
    y = np.linspace(0.0, 1.0, 32)[:, None] * np.ones((1, 24))
    u, v = 0.3 + 0.2 * y, np.zeros_like(y)        # uniform plus a shear along y: nothing below the coarse grid
    x, s = gz21_sample(u, v, g)
    assert x.shape == s.shape == (2, 8, 6)
    assert np.abs(s).max() < 1e-20 and np.allclose(x[0], 0.3 + 0.2 * np.linspace(0, 1, 32).reshape(8, 4).mean(1)[:, None],
                                                  atol=0.02)
    rng = np.random.default_rng(0)               # a flow with grid-scale eddies has a subgrid forcing
    _, s2 = gz21_sample(u + 0.1 * rng.standard_normal(u.shape), 0.1 * rng.standard_normal(u.shape), g)
    assert np.abs(s2).max() > 1e-8


def test_gz21_targets_are_nan_on_coarse_land_only():
    g = mercator_grid(land=True)
    rng = np.random.default_rng(1)
    x, s = gz21_sample(rng.standard_normal((32, 24)), rng.standard_normal((32, 24)), g)
    assert (np.isnan(s[0]) == ~g.coarse_wet).all() and (~g.coarse_wet).sum() > 0
    assert (x[:, ~g.coarse_wet] == 0).all()


def bbz24_cfg():
    return cfg_from(BOX, grid__nx=8, grid__ny=8, grid__nz=6, grid__periodic_x=True, mle__rho_c_kg_m3=0.05)


def block_constant(rng, shape, n):
    nz, ny, nx = shape
    return np.repeat(np.repeat(rng.standard_normal((nz, ny // n, nx // n)), n, axis=1), n, axis=2)


def test_bbz24_target_is_zero_without_scales_below_the_blocks():
    grids = BBZ24Grids(bbz24_cfg(), 4)
    rng = np.random.default_rng(2)
    shape = grids.fine_shape
    z = np.arange(shape[0])[:, None, None]
    T = 15.0 - 0.5 * z + 0.01 * block_constant(rng, shape, 4)
    S = np.full(shape, 35.0)
    u, v, w = (1e-2 * rng.standard_normal(shape) for _ in range(3))
    x, wb = bbz24_sample(T, S, u, v, 1e-4 * block_constant(rng, shape, 4), grids)
    assert x.shape == (8, 2, 2) and wb.shape == (1, 2, 2)
    assert np.abs(wb).max() < 1e-20
    x, wb = bbz24_sample(T + 0.1 * rng.standard_normal(shape), S, u, v, w, grids)   # w and b vary in the blocks
    assert np.abs(wb).max() > 1e-9
    assert (x[2] < 0).all() and np.allclose(x[1], 1e-4, rtol=0.01)                 # H_ML < 0 (hml_sign), f


def test_weighted_filter_keeps_uniform_fields_and_area_weighted_integrals():
    g = mercator_grid(land=True)
    rng = np.random.default_rng(3)
    w = g.weight * (0.5 + rng.random(g.weight.shape))
    q = rng.standard_normal(w.shape)
    for periodic in (True, False):
        f = weighted_gaussian(q, w, 2.0, periodic)
        gw = gaussian(w, 2.0, periodic)
        assert math.isclose((gw * f).sum(), (w * q).sum(), rel_tol=1e-12)
        c = weighted_gaussian(np.full(w.shape, 0.7), w, 2.0, periodic)
        assert np.abs(c[gw > 0] - 0.7).max() < 1e-14
    cg = g.coarse                                                                   # and the block mean
    assert math.isclose((cg.wet_weight * np.nan_to_num(cg(q))).sum(), (g.weight * q).sum(), rel_tol=1e-12)


class FixedGZ21(nn.Module):
    """Stands for GZ21's net: mu and p given, one output point per row of the input beyond the halo."""

    def __init__(self, mu, p):
        super().__init__()
        self.mu, self.p = nn.Parameter(torch.tensor(mu)), nn.Parameter(torch.tensor(p))

    def forward(self, x):
        b, _, h, w = x.shape
        out = torch.cat([self.mu, self.p]).reshape(1, 4, 1, 1)
        return out.expand(b, 4, h - 20, w - 20)


@pytest.mark.parametrize("loss, expected", [("gaussian", 0.5 * ((2.0 - math.log(2.0)) + 1.125)),
                                            ("mse", 0.5 * (1.0 + 2.25))])
def test_loss_against_a_hand_computed_case(loss, expected):
    # S = (2, -1) x 1e-7 m s-2 at one point (the other has no target), mu = (1, 0.5), p = (2, 1):
    # -log p + p^2 (S - mu)^2 / 2 = (-log 2 + 4 x 1 / 2, -log 1 + 1 x 2.25 / 2); MSE: (1, 2.25)
    tr = Trainer(FixedGZ21([1.0, 0.5], [2.0, 1.0]), FitConfig("gz21", loss=loss), seed=0)
    x = torch.zeros(1, 2, 22, 21)
    y = torch.full((1, 2, 22, 21), float("nan"))
    y[0, :, 10, 10] = torch.tensor([2e-7, -1e-7])
    assert math.isclose(float(tr.loss(x, y).detach()), expected, rel_tol=1e-6)


def synthetic_bbz24(path: Path, n=16, ny=12, nx=8, seed=0, nan_target=False, drop=None):
    """A BBZ24 dataset whose target is a smooth function of two inputs."""
    rng = np.random.default_rng(seed)
    names = [v[0] for v in VARIABLES["bbz24"][0]]
    data = {k: rng.standard_normal((n, ny, nx)).astype(np.float32) for k in names}
    data["bbz24_hml"] = -50.0 - 10.0 * np.abs(data["bbz24_hml"])
    wb = (1e-8 * (data["bbz24_grad_b"] * data["bbz24_hml"] / 50.0 + data["bbz24_strain"])).astype(np.float32)
    if nan_target:
        wb[3, 2, 2] = np.nan
    dims = ("time", "y", "x")
    ds = xr.Dataset({**{k: (dims, v) for k, v in data.items()}, "wb_sg": (dims, wb),
                     "wet": (("y", "x"), np.ones((ny, nx), np.int8))}, coords={"time": np.arange(n) * 3600.0},
                    attrs={"closure_kind": "bbz24"})
    if drop:
        ds = ds.drop_vars(drop)
    ds.to_netcdf(path)
    return path


def fit_config(tmp_path: Path, data: Path, epochs: int, name="fit", **train) -> Path:
    t = {"kind": "bbz24", "loss": "mse", "optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01, "batch_size": 4,
         "epochs": epochs, "seed": 1, "val_fraction": 0.25, **train}
    body = "\n".join(f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
                     for k, v in t.items())
    p = tmp_path / f"{name}_{epochs}.toml"
    p.write_text(f'[data]\npath = "{data}"\n[train]\n{body}\n[output]\ndir = "{tmp_path / name}"\n'
                 f'closure = "{tmp_path / name / "closure.pt"}"\n')
    tomllib.loads(p.read_text())
    return p


def test_a_tiny_training_run_lowers_the_validation_loss(tmp_path):
    data = synthetic_bbz24(tmp_path / "d.nc")
    res = fit(fit_config(tmp_path, data, 6), progress=False, log=lambda *_: None)
    h = res["history"]
    assert [e["epoch"] for e in h] == list(range(7)) and res["n_train"] == 12
    assert h[-1]["val_loss"] < 0.95 * h[0]["val_loss"], h
    assert h[-1]["val_r2"] > h[0]["val_r2"]
    closure = LoadedClosure(res["closure"], precision="fp32-eager")
    assert closure.spec.name == "bbz24" and closure.spec.halo == 9


def test_checkpoint_and_resume_give_the_same_net(tmp_path):
    data = synthetic_bbz24(tmp_path / "d.nc", n=8)
    fit(fit_config(tmp_path, data, 3, name="once"), progress=False, log=lambda *_: None)
    fit(fit_config(tmp_path, data, 1, name="twice"), progress=False, log=lambda *_: None)
    fit(fit_config(tmp_path, data, 3, name="twice"), resume=True, progress=False, log=lambda *_: None)
    a, b = (torch.load(tmp_path / n / "checkpoint.pt", weights_only=True) for n in ("once", "twice"))
    assert a["trainer"]["steps"] == b["trainer"]["steps"] == 6
    for k, t in a["trainer"]["net"].items():
        assert torch.equal(t, b["trainer"]["net"][k]), k
    assert a["history"] == b["history"]


def test_closure_files_compute_what_the_trainer_trained():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 12, 10)
    x[:, 2] = -60.0 + 5 * torch.rand(2, 12, 10)
    y = torch.randn(2, 1, 12, 10) * 1e-8
    tr = Trainer(new_net("bbz24", 0), FitConfig("bbz24"), 0, Scaling.from_data(x.numpy(), y.numpy()))
    tr.step(x, y)
    tr.net.eval()
    with torch.no_grad():
        want = (tr._forward(x)[0] * tr.out_std + tr.out_mean).numpy()
    path = tr.save_closure(Path(__import__("tempfile").mkdtemp()) / "b.pt")
    tile = np.zeros((2, 9, 30, 28), np.float32)          # a 9-point halo beyond closed edges: in_domain 0
    tile[:, :8, 9:21, 9:19] = x.numpy()
    tile[:, 8, 9:21, 9:19] = 1.0
    out = np.zeros((2, 1, 12, 10), np.float32)
    LoadedClosure(path, precision="fp32-eager").infer(tile, out)
    assert np.allclose(out, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())
    g = Trainer(new_net("gz21", 0), FitConfig("gz21", loss="gaussian"), 0)
    xg = torch.randn(1, 2, 24, 23) * 0.1
    with torch.no_grad():
        mu = g._forward(xg)[0].numpy() * 1e-7
    out = np.zeros((1, 4, 4, 3), np.float32)
    LoadedClosure(g.save_closure(path.with_name("g.pt")), precision="fp32-eager").infer(xg.numpy(), out)
    assert np.allclose(out[:, :2], mu, rtol=1e-4, atol=1e-6 * np.abs(mu).max())


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_datasets_with_missing_fields_or_nan_targets_stop_with_one_line(tmp_path, capsys):
    bad = synthetic_bbz24(tmp_path / "nan.nc", nan_target=True)
    assert main(["fit", str(fit_config(tmp_path, bad, 1)), "--no-progress"]) == 2
    line = one_error_line(capsys)
    assert "wb_sg" in line and "record 3" in line and "nan.nc" in line
    gone = synthetic_bbz24(tmp_path / "gone.nc", drop=["bbz24_strain"])
    assert main(["fit", str(fit_config(tmp_path, gone, 1)), "--no-progress"]) == 2
    assert "missing variable(s) bbz24_strain" in one_error_line(capsys)
    run = tmp_path / "run"
    run.mkdir()
    xr.Dataset({"thetao": (("time", "depth_t", "y_t", "x_t"), np.zeros((1, 2, 3, 3)))},
               attrs={"configuration": "mle_front_hires"}).to_netcdf(run / "output.nc")
    assert main(["data", "bbz24", str(run), str(tmp_path / "o.nc"), "--factor", "12", "--no-progress"]) == 2
    line = one_error_line(capsys)
    assert "missing output field(s) so, uo, vo, wo" in line
    assert main(["fit", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in one_error_line(capsys)
    for bad in ("3", "a:b", "-1:4"):
        assert main(["data", "gz21", str(run), str(tmp_path / "o.nc"), "--factor", "4", f"--records={bad}"]) == 2
        assert f"--records {bad!r}" in one_error_line(capsys)
    xr.Dataset({"uos": (("time", "y_t", "x_u"), np.zeros((2, 3, 3))), "vos": (("time", "y_v", "x_t"), np.zeros((2, 3, 3)))},
               attrs={"configuration": "dino_r025"}).to_netcdf(run / "output.nc")
    assert main(["data", "gz21", str(run), str(tmp_path / "o.nc"), "--factor", "4", "--records", "5:"]) == 2
    assert "select none of its 2 records" in one_error_line(capsys)


def test_example_fit_configs_are_valid():
    from closures.online import training_plan
    from closures.train.fit import read_config
    for kind in ("gz21", "bbz24"):
        plan = read_config(ROOT / "configs" / f"train_{kind}.toml")
        assert plan.cfg.kind == kind and plan.data is not None
    assert training_plan(ROOT / "configs" / "train_bbz24_online.toml").plan.factor == 12


@pytest.mark.slow
def test_tutorial_short_form_runs_as_written(tmp_path, runslow):
    """The short form of docs/tutorial_training.md, run as written (in tmp_path) with --runslow
    (a few minutes); without, its command is checked to be the demo's and to parse."""
    import json
    import os
    import subprocess
    import sys
    text = (ROOT / "docs" / "tutorial_training.md").read_text()
    block = text.split("## Short form", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    cmds = [c.split() for c in block.strip().splitlines()]
    assert cmds == [["python", "scripts/train_demo.py", "--quick", "runs/train_demo"]]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable] + cmds[0][1:-1] + [str(tmp_path)] if runslow else [sys.executable, cmds[0][1], "--help"]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1800)
    assert r.returncode == 0, r.stderr[-2000:]
    if not runslow:
        assert "--quick" in r.stdout
        return
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["offline"]["val_loss_last"] < res["offline"]["val_loss_first"]
    assert res["online"]["trained"] > 0 and math.isfinite(res["online"]["loss_last"])
    assert math.isfinite(res["deployed"]["wb_mle_mean"])


def test_fit_is_the_loop_of_trainer_steps_over_the_documented_order(tmp_path):
    """What online training relies on: the same samples in the same order through Trainer.step
    give fit's net, bit for bit."""
    from closures.train.dataset import load
    from closures.train.fit import read_config, split
    from closures.train.trainer import batch_order
    data = synthetic_bbz24(tmp_path / "d.nc", n=10)
    conf = fit_config(tmp_path, data, 2, name="order", shuffle=False, batch_size=3)
    fit(conf, progress=False, log=lambda *_: None)
    plan = read_config(conf)
    cfg, seed = plan.cfg, plan.seed
    d = load(data)
    ntr = split(d, cfg.val_fraction)
    tr = Trainer(new_net("bbz24", seed), cfg, seed, Scaling.from_data(d.x[:ntr], d.y[:ntr]))
    x, y = torch.from_numpy(d.x), torch.from_numpy(d.y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                    # as fit ([train] threads): sums in the same order
    try:
        for epoch in range(2):
            batches = batch_order(ntr, 3, seed, epoch, False)
            assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7]]
            for b in batches:
                tr.step(x[b], y[b])
            tr.end_epoch()
    finally:
        torch.set_num_threads(threads)
    ck = torch.load(tmp_path / "order" / "checkpoint.pt", weights_only=True)
    for k, t in tr.net.state_dict().items():
        assert torch.equal(t, ck["trainer"]["net"][k]), k


@pytest.mark.parametrize("nx", [10, 4])
def test_a_net_trained_on_a_periodic_domain_is_the_net_a_run_deploys(nx):
    """With periodic_x the trainer wraps the samples in x as a run's halo does: its prediction
    equals the closure file's on the tile with a wrapped halo (also where the domain is narrower
    than the halo, as the 4-cell-wide front), and differs from reflecting at the x edges."""
    import sys
    sys.path.insert(0, str(ROOT / "scripts"))
    from compare_closures import with_halo
    torch.manual_seed(1)
    x = torch.randn(2, 8, 12, nx)
    x[:, 2] = -60.0 + 5 * torch.rand(2, 12, nx)
    y = torch.randn(2, 1, 12, nx) * 1e-8
    tr = Trainer(new_net("bbz24", 0), FitConfig("bbz24"), 0, Scaling.from_data(x.numpy(), y.numpy()), periodic_x=True)
    tr.step(x, y)
    tr.net.eval()
    with torch.no_grad():
        want = (tr._forward(x)[0] * tr.out_std + tr.out_mean).numpy()
        reflected = (tr.net(((x - tr.in_mean) / tr.in_std)) * tr.out_std + tr.out_mean).numpy()
    path = tr.save_closure(Path(__import__("tempfile").mkdtemp()) / "p.pt")
    out = np.zeros((2, 1, 12, nx), np.float32)
    LoadedClosure(path, precision="fp32-eager").infer(with_halo(x.numpy(), 9, True, True), out)
    assert np.allclose(out, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())
    assert not np.allclose(out, reflected, rtol=1e-2, atol=1e-3 * np.abs(want).max())


def test_away_from_land_keeps_the_cells_n_cells_from_any_land():
    from closures.train.dataset import away_from_land
    from closures.train.fit import targets_away_from_land
    frac = np.ones((7, 9))
    frac[3, 4] = 0.0                                    # one island; the edges are land unless periodic
    frac[6, 8] = 0.5                                    # a cell partly land counts as land
    one = away_from_land(frac, 1, periodic_x=False)
    assert not one[2:5, 3:6].any() and not one[0].any() and not one[:, 0].any() and not one[:, -1].any()
    assert one[1, 1] and one[4, 2] and not one[5, 7] and one.sum() == 5 * 7 - 9 - 1
    wrapped = away_from_land(frac, 1, periodic_x=True)  # x wraps: the columns at the x edges stay
    assert wrapped[1, 0] and wrapped[1, -1] and not wrapped[0].any() and not wrapped[2:5, 3:6].any()
    assert (away_from_land(frac, 0, False) == (frac > 0)).all() and not away_from_land(frac, 3, False).any()
    y = np.ones((2, 2, 7, 9), np.float32)               # (N, C, Y, X) targets
    kept = targets_away_from_land(y, frac, 1, False)
    assert kept.dtype == np.float32 and (np.isfinite(kept) == one).all() and targets_away_from_land(y, frac, 0, False) is y


def test_fit_leaves_the_targets_near_land_out_when_asked(tmp_path, capsys):
    """[train] away_from_land = 1 on a 12 x 8 dataset without land (whose edges count as land):
    only the 10 x 6 inner cells' targets train; a negative value is a one-line error naming the key."""
    data = synthetic_bbz24(tmp_path / "d.nc")
    whole = fit(fit_config(tmp_path, data, 1, name="all"), progress=False, log=lambda *_: None)
    inner = fit(fit_config(tmp_path, data, 1, name="inner", away_from_land=1), progress=False, log=lambda *_: None)
    assert whole["n_train"] == inner["n_train"] == 12
    assert whole["target_points"] == 12 * 12 * 8 and inner["target_points"] == 12 * 10 * 6
    assert main(["fit", str(fit_config(tmp_path, data, 1, name="neg", away_from_land=-1)), "--no-progress"]) == 2
    assert "away_from_land = -1" in one_error_line(capsys)


def test_compare_closures_scores_a_trained_net_and_stops_on_a_missing_file(tmp_path, capsys):
    import sys
    sys.path.insert(0, str(ROOT / "scripts"))
    from compare_closures import main as compare
    data = synthetic_bbz24(tmp_path / "d.nc")
    res = fit(fit_config(tmp_path, data, 2), progress=False, log=lambda *_: None)
    assert compare([str(data), res["closure"], "--val-fraction", "0.25"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["records"] == [12, 15] and out["points"] == 4 * 12 * 8 and np.isfinite(out["r2"][res["closure"]])
    assert compare([str(data), res["closure"], "--away-from-land", "1", "--val-fraction", "0.25"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["points"] == 4 * 10 * 6
    assert compare([str(data), str(tmp_path / "missing.pt")]) == 2
    line = one_error_line(capsys)
    assert "missing.pt" in line and "not found" in line


def test_a_gz21_dataset_says_how_much_of_each_coarse_cell_is_ocean(tmp_path):
    """A fine run 8 x 12 with a land wall in column 0 and a land corner: coarse cells (factor 4)
    holding them carry their ocean fraction; ``--records`` takes the records asked for."""
    from closures.train.dataset import build, load
    ny, nx, nt = 8, 12, 3
    bathy = np.full((ny, nx), 3000.0)
    bathy[:, 0] = np.nan
    bathy[6:, 10:] = np.nan
    rng = np.random.default_rng(0)
    run = tmp_path / "run"
    run.mkdir()
    xr.Dataset({"uos": (("time", "y_t", "x_u"), rng.standard_normal((nt, ny, nx))),
                "vos": (("time", "y_v", "x_t"), rng.standard_normal((nt, ny, nx))),
                "e1t": (("y_t", "x_t"), np.full((ny, nx), 1e4)), "e2t": (("y_t", "x_t"), np.full((ny, nx), 1e4)),
                "bathymetry": (("y_t", "x_t"), bathy)},
               coords={"time": np.arange(nt) * 86400.0, "y_t": np.arange(ny) + 0.5, "x_t": np.arange(nx) + 0.5},
               attrs={"configuration": "dino_r025"}).to_netcdf(run / "output.nc")
    path = build("gz21", run, tmp_path / "d.nc", 4, progress=False, records=slice(1, None))
    data = load(path)
    assert data.x.shape[0] == 2 and np.allclose(data.time, [86400.0, 2 * 86400.0])
    assert np.allclose(data.ocean_fraction, [[0.75, 1.0, 1.0], [0.75, 1.0, 0.75]])
    whole = load(build("gz21", run, tmp_path / "all.nc", 4, progress=False))
    assert data.wet.all() and np.array_equal(data.x, whole.x[1:]) and np.array_equal(data.y, whole.y[1:], equal_nan=True)
