"""Importing BBZ24's pickled FCNN without executing its pickle: the closure file against the
published modules run by torch itself (read by torch's weights-only unpickler, a reader
independent of the importer's), its 9-point halo giving the whole-domain result, and bad
files refused in one line with exit status 2."""
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from closures.nets import BBZ24Net
from closures.published import BBZ24_INPUTS, import_bbz24
from closures.runtime import LoadedClosure

from conftest import ROOT

SHARED = ROOT.parent / "shared" / "published" / "bbz24_res_1_4"
SHARED_NET = SHARED / "fcnn_k5_l7_m_HBL_res_1_4.pt"
NAMES = [n for n, _, _ in BBZ24_INPUTS]


class FCNN(nn.Module):
    """A module pickled under BBZ24's class name (``submeso_ml.models.fcnn.FCNN``)."""

    def __init__(self, conv: nn.Sequential, extra=None):
        super().__init__()
        self.conv = conv
        self.config = {"input_channels": 8, "conv_layers": 8}
        if extra is not None:
            self.extra = extra


class Foreign:
    """A class the importer must refuse to build."""


def _fake_module():
    mod = types.ModuleType("submeso_ml.models.fcnn")
    mod.FCNN = FCNN
    FCNN.__module__ = "submeso_ml.models.fcnn"
    for name in ("submeso_ml", "submeso_ml.models", "submeso_ml.models.fcnn"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["submeso_ml.models.fcnn"] = mod


def _random_bbz24(path: Path, conv: nn.Sequential | None = None, extra=None) -> Path:
    """A pickled module in the published layout with random weights and BatchNorm statistics."""
    torch.manual_seed(3)
    if conv is None:
        conv = BBZ24Net().conv
        with torch.no_grad():
            for m in conv:
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.2, 0.2)
    _fake_module()
    try:
        torch.save(FCNN(conv, extra), path)
    finally:
        FCNN.__module__ = __name__
        for name in ("submeso_ml.models.fcnn", "submeso_ml.models", "submeso_ml"):
            sys.modules.pop(name, None)
    return path


def _norms(folder: Path, **changes) -> Path:
    folder.mkdir(exist_ok=True)
    values = {"grad_B": (1.9e-8, 2.0e-8), "FCOR": (-2.6e-5, 7.8e-5), "HML": (-91.1, 104.8), "TAU": (0.096, 0.073),
              "Q": (-0.28, 93.5), "div": (-1.1e-8, 1.7e-6), "vort": (-9.5e-8, 7.1e-6), "strain": (5.3e-6, 5.1e-6),
              "WB_sg": (5.7e-9, 1.08e-8)}
    for name, (m, s) in values.items():
        np.save(folder / f"{name}_mean.npy", np.array(changes.get(f"{name}_mean", m)))
        np.save(folder / f"{name}_std.npy", np.array(changes.get(f"{name}_std", s)))
    return folder


def _read_norms(folder: Path):
    mean = np.array([float(np.load(folder / f"{n}_mean.npy")) for n in NAMES])
    std = np.array([float(np.load(folder / f"{n}_std.npy")) for n in NAMES])
    return mean, std, float(np.load(folder / "WB_sg_mean.npy")), float(np.load(folder / "WB_sg_std.npy"))


def _published_conv(src: Path) -> nn.Sequential:
    """The published Sequential as torch builds it: torch's weights-only unpickler, with its
    own module classes and a stand-in for the FCNN class allowed, and nothing else."""
    stand_in = type("FCNN", (), {"__setstate__": lambda self, st: self.__dict__.update(st)})
    stand_in.__module__ = "submeso_ml.models.fcnn"
    with torch.serialization.safe_globals([stand_in, nn.Sequential, nn.Conv2d, nn.ReLU, nn.BatchNorm2d, set]):
        obj = torch.load(src, weights_only=True, map_location="cpu")
    return obj._modules["conv"].eval()


def _inputs(mean, std, shape, land=True, seed=1) -> np.ndarray:
    """Inputs of the training's magnitudes (mean + std * noise), 0 on a block of land, and
    ``in_domain`` 1 everywhere (the whole array lies inside the domain)."""
    rng = np.random.default_rng(seed)
    x = mean[None, :, None, None] + std[None, :, None, None] * rng.standard_normal((shape[0], 8) + shape[1:])
    x[:, 2] = -np.abs(x[:, 2]) - 5.0                   # H_ML < 0 as in training, never 0 in the water
    if land:
        x[:, :, :14, :14] = 0.0                        # the interior's first 5 x 5 points
    return np.concatenate([x, np.ones_like(x[:, :1])], axis=1).astype(np.float32)


def _independent(conv: nn.Sequential, x: np.ndarray, norms, halo: int = 9, dtype=torch.float32) -> np.ndarray:
    """The published inference written out: z-score and mask each input, the net, mask, crop the
    halo, scale back; land (H_ML = 0) set to 0."""
    mean, std, wm, ws = norms
    x = x[:, :8]
    mask = (x[:, 2:3] != 0).astype(np.float64)
    z = (x.astype(np.float64) - mean[None, :, None, None]) / std[None, :, None, None] * mask
    with torch.no_grad():
        y = conv.to(dtype)(torch.from_numpy(z).to(dtype)).double().numpy() * mask
    h = halo
    y, mask = y[:, :, h:y.shape[2] - h, h:y.shape[3] - h], mask[:, :, h:mask.shape[2] - h, h:mask.shape[3] - h]
    return (y * ws + wm) * mask


def _check(src: Path, norm_dir: Path, out: Path) -> dict:
    torch.set_num_threads(1)
    closure = LoadedClosure(import_bbz24(src, norm_dir, out), precision="fp32-eager")
    s = closure.spec
    assert s.halo == 9 and [f.name for f in s.inputs] == [n for _, n, _ in BBZ24_INPUTS] + ["in_domain"]
    assert [(f.name, f.point, f.units) for f in s.outputs] == [("wb", "T", "m2 s-3")]
    assert sum(p.numel() for p in closure.net.parameters()) == 155_969
    norms = _read_norms(norm_dir)
    x = _inputs(norms[0], norms[1], (2, 46, 41))
    got = np.zeros((2, 1, 28, 23), np.float32)
    closure.infer(x, got)
    conv = _published_conv(src)
    want32 = _independent(conv, x, norms)
    want64 = _independent(conv, x, norms, dtype=torch.float64)
    scale = np.abs(want64).max()
    err32 = np.abs(got - want32).max() / scale
    err64 = np.abs(got - want64).max() / scale
    assert err32 <= 1e-6, err32
    assert err64 <= 1e-5, err64
    assert np.all(got[:, :, :5, :5] == 0.0) and np.all(got[:, :, 6:, 6:] != 0.0)    # land, water
    return {"err32": err32, "err64": err64, "closure": closure, "norms": norms}


def test_imported_bbz24_equals_the_published_modules_run_by_torch(tmp_path):
    _check(_random_bbz24(tmp_path / "fcnn.pt"), _norms(tmp_path / "norms"), tmp_path / "bbz24.pt")


@pytest.mark.skipif(not SHARED_NET.is_file(), reason="the published BBZ24 files are not beside this checkout")
def test_published_bbz24_file_imports(tmp_path):
    r = _check(SHARED_NET, SHARED / "norm_1_4", tmp_path / "bbz24.pt")
    print(f"relative error against torch float32 {r['err32']:.2e}, float64 {r['err64']:.2e}")


def test_a_tile_with_its_9_point_halo_equals_the_whole_domain(tmp_path):
    """Away from the domain's edges, the net on a tile plus 9 points of neighbours' data gives the
    whole-domain result: each layer's reflect padding reaches no further than the halo it eats."""
    torch.set_num_threads(1)
    closure = LoadedClosure(import_bbz24(_random_bbz24(tmp_path / "fcnn.pt"), _norms(tmp_path / "n"),
                                         tmp_path / "bbz24.pt"), precision="fp32-eager")
    mean, std, _, _ = _read_norms(tmp_path / "n")
    whole = _inputs(mean, std, (1, 60, 52), land=False)
    padded = np.pad(whole, ((0, 0), (0, 0), (9, 9), (9, 9)), mode="constant")
    padded[:, 2] = np.where(padded[:, 2] == 0, -50.0, padded[:, 2])   # keep the frame "wet"
    full = np.zeros((1, 1, 60, 52), np.float32)
    closure.infer(padded, full)                        # the frame only feeds the outer 9 points of each edge
    j0, i0, ny, nx = 20, 14, 17, 15
    tile = whole[:, :, j0 - 9:j0 + ny + 9, i0 - 9:i0 + nx + 9].copy()
    got = np.zeros((1, 1, ny, nx), np.float32)
    closure.infer(tile, got)
    assert np.abs(got - full[:, :, j0:j0 + ny, i0:i0 + nx]).max() <= 1e-6 * np.abs(full).max()


@pytest.mark.parametrize("periodic_x", [False, True])
def test_tiles_equal_the_whole_domain_edges_included(tmp_path, periodic_x):
    """A domain cut into tiles of several shapes, each with its 9-point halo (zeros and
    in_domain = 0 beyond closed edges, the neighbours' data across a periodic one), batched
    as an ML rank batches them (each tile in the top-left corner of a slot of the largest
    shape), gives the published inference on the whole domain at once: the net with its
    reflect padding at the domain's edges (periodic: on the domain wrapped by 9 points)."""
    torch.set_num_threads(1)
    src, norm_dir = _random_bbz24(tmp_path / "fcnn.pt"), _norms(tmp_path / "n")
    closure = LoadedClosure(import_bbz24(src, norm_dir, tmp_path / "bbz24.pt"), precision="fp32-eager")
    norms = _read_norms(norm_dir)
    ny, nx, H = 41, 38, 9
    whole = _inputs(norms[0], norms[1], (1, ny, nx))
    if periodic_x:
        wrapped = np.concatenate([whole[..., -H:], whole, whole[..., :H]], axis=-1)
        want = _independent(_published_conv(src), wrapped, norms, halo=0)[..., H:H + nx]
    else:
        want = _independent(_published_conv(src), whole, norms, halo=0)
    big = np.zeros((1, 9, ny + 2 * H, nx + 2 * H), np.float32)      # the domain in a frame of closed edges
    big[:, :, H:H + ny, H:H + nx] = whole
    if periodic_x:
        big[:, :, H:H + ny, :H], big[:, :, H:H + ny, H + nx:] = whole[..., -H:], whole[..., :H]
    cuts_j, cuts_i = (0, 14, 27, ny), (0, 12, nx)
    tiles = [(j0, j1, i0, i1) for j0, j1 in zip(cuts_j, cuts_j[1:]) for i0, i1 in zip(cuts_i, cuts_i[1:])]
    ymax = max(j1 - j0 for j0, j1, _, _ in tiles) + 2 * H
    xmax = max(i1 - i0 for _, _, i0, i1 in tiles) + 2 * H
    batch = np.zeros((len(tiles), 9, ymax, xmax), np.float32)
    for b, (j0, j1, i0, i1) in enumerate(tiles):
        batch[b, :, :j1 - j0 + 2 * H, :i1 - i0 + 2 * H] = big[0, :, j0:j1 + 2 * H, i0:i1 + 2 * H]
    out = np.zeros((len(tiles), 1, ymax - 2 * H, xmax - 2 * H), np.float32)
    closure.infer(batch, out)
    got = np.zeros_like(want)
    for b, (j0, j1, i0, i1) in enumerate(tiles):
        got[:, :, j0:j1, i0:i1] = out[b, :, :j1 - j0, :i1 - i0]
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-6 * scale
    edge = np.abs(got - _independent(_published_conv(src), np.pad(whole, ((0, 0), (0, 0), (H, H), (H, H))),
                                     norms)).max()
    assert edge > 1e-3 * scale        # zero padding instead of reflection would differ at the edges


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "closures.published", "bbz24", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case, where, message", [
    ("missing", "src", "file not found"),
    ("notzip", "src", "not a torch archive (not a zip file)"),
    ("foreign", "src", "refused to build test_published_bbz24.Foreign"),
    ("zeros_padding", "src", "conv.0.padding_mode is 'zeros', BBZ24's FCNN has 'reflect'"),
    ("nine_inputs", "src", "conv.0.in_channels is 9, BBZ24's FCNN has 8"),
    ("no_norms", "norm", "normalisation folder not found"),
    ("norm_missing", "HML_std.npy", "file not found"),
    ("norm_zero_std", "Q_std.npy", "a standard deviation must be > 0"),
])
def test_bad_files_exit_2_with_one_line(tmp_path, case, where, message):
    src, norm_dir, out = tmp_path / "fcnn.pt", tmp_path / "norms", tmp_path / "out.pt"
    if case == "notzip":
        src.write_bytes(b"not a zip")
    elif case == "foreign":
        _random_bbz24(src, extra=Foreign())
    elif case == "zeros_padding":
        conv = BBZ24Net().conv
        conv[0].padding_mode = "zeros"
        _random_bbz24(src, conv)
    elif case == "nine_inputs":
        _random_bbz24(src, BBZ24Net(n_inputs=9).conv)
    elif case != "missing":
        _random_bbz24(src)
    if case == "norm_zero_std":
        _norms(norm_dir, Q_std=0.0)
    elif case != "no_norms":
        _norms(norm_dir)
    if case == "norm_missing":
        (norm_dir / "HML_std.npy").unlink()
    r = _cli(src, norm_dir, out)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    named = {"src": str(src), "norm": str(norm_dir)}.get(where, str(norm_dir / where))
    assert len(lines) == 1 and named in lines[0] and message in lines[0], r.stderr
    assert not out.exists()


def test_import_cli_reports_the_closure(tmp_path):
    r = _cli(_random_bbz24(tmp_path / "fcnn.pt"), _norms(tmp_path / "norms"), tmp_path / "bbz24.pt")
    assert r.returncode == 0, r.stderr
    assert "closure bbz24, 8 inputs, 155,969 parameters, halo 9" in r.stdout
