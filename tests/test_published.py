"""Importing published weights into closure files: the imported GZ21 net against a forward
pass written independently from the same state dict, and bad files refused in one line."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from closures.nets import GZ21Net
from closures.published import GZ21_SHAPES, import_gz21
from closures.runtime import LoadedClosure, cxx_compiler

from conftest import ROOT

SHARED_GZ21 = ROOT.parent / "shared" / "published" / "gz21_hf_low_resolution" / "trained_model.pth"


def _random_gz21(path: Path, min_value: float = 0.01, **changes) -> Path:
    """Weights of a freshly initialised GZ21 net (torch's default init), in the published layout."""
    torch.manual_seed(5)
    body = GZ21Net().body.layers.state_dict()
    sd = {k: body[k].clone() for k in GZ21_SHAPES if k in body}
    sd["final_transformation.min_value"] = torch.tensor(min_value)
    sd.update(changes)
    torch.save(sd, path)
    return path


def _independent_raw(sd: dict, uv: np.ndarray) -> np.ndarray:
    """GZ21's conv stack by hand in float64: x10, eight valid convolutions, ReLUs between."""
    with torch.no_grad():
        x = torch.from_numpy(uv).double() * 10.0
        for n, i in enumerate(range(0, 16, 2)):
            x = F.conv2d(x, sd[f"{i}.weight"].double(), sd[f"{i}.bias"].double())
            if n < 7:
                x = F.relu(x)
        return x.numpy()


def _check_against_independent(src: Path, out: Path, uv_scale: float = 0.1) -> None:
    """The closure file's net against the conv stack written by hand (float64), relative to
    each channel's largest value, and its outputs against GZ21's transform of its own net:
    mean = 1e-7 raw, spread = 1e-7 / (softplus(raw) + min_value)."""
    torch.set_num_threads(1)
    closure = LoadedClosure(import_gz21(src, out), precision="fp32-eager")     # the file's net as saved
    assert closure.spec.halo == 10 and [f.units for f in closure.spec.outputs] == ["m s-2"] * 4
    uv = (uv_scale * np.random.default_rng(1).standard_normal((3, 2, 44, 37))).astype(np.float32)
    got = np.zeros((3, 4, 24, 17), np.float32)
    closure.infer(uv, got)
    sd = torch.load(src, weights_only=True)
    with torch.no_grad():
        raw = closure.net.net.body(torch.from_numpy(uv) * 10.0).numpy()
        raw64 = closure.net.double().net.body(torch.from_numpy(uv).double() * 10.0).numpy()
        closure.net.float()
    want = _independent_raw(sd, uv)
    for c in range(4):
        # the imported weights in float64: equal to the independent forward to round-off
        assert np.abs(raw64[:, c] - want[:, c]).max() <= 1e-10 * np.abs(want[:, c]).max(), c
        # in float32, as it runs: sums of up to 3,200 products in another order, measured <= 5e-6
        err = np.abs(raw[:, c] - want[:, c]).max() / np.abs(want[:, c]).max()
        assert err <= 1e-5, (c, err)
    p = np.log1p(np.exp(-np.abs(raw[:, 2:]))) + np.maximum(raw[:, 2:], 0) + float(sd["final_transformation.min_value"])
    assert np.allclose(got[:, :2], 1e-7 * raw[:, :2], rtol=1e-6, atol=0)
    p_file = 1e-7 / got[:, 2:].astype(np.float64)          # the precision behind the spread
    assert np.abs(p_file - p).max() <= 1e-5 * np.abs(p).max()


def test_imported_gz21_equals_an_independent_forward(tmp_path):
    _check_against_independent(_random_gz21(tmp_path / "w.pth"), tmp_path / "gz21.pt")


@pytest.mark.skipif(not SHARED_GZ21.is_file(), reason="the published GZ21 weights are not beside this checkout")
def test_published_gz21_weights_import(tmp_path):
    _check_against_independent(SHARED_GZ21, tmp_path / "gz21.pt")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "closures.published", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


class Foreign:
    """Pickled as a class the weights-only reader must refuse to build."""


@pytest.mark.parametrize("case, message", [
    ("missing", "file not found"),
    ("keys", "not a GZ21 FullyCNN state dict (missing keys: 14.bias"),
    ("shape", "0.weight has shape (128, 3, 5, 5), GZ21 expects (128, 2, 5, 5)"),
    ("nan", "4.bias holds NaN or infinite values"),
    ("object", "that can be read without executing code"),
])
def test_bad_weights_exit_2_with_one_line(tmp_path, case, message):
    src = tmp_path / f"{case}.pth"
    if case == "keys":
        sd = torch.load(_random_gz21(src), weights_only=True)
        del sd["14.bias"]
        torch.save(sd, src)
    elif case == "shape":
        _random_gz21(src, **{"0.weight": torch.zeros(128, 3, 5, 5)})
    elif case == "nan":
        _random_gz21(src, **{"4.bias": torch.full((32,), float("nan"))})
    elif case == "object":
        torch.save({"0.weight": Foreign()}, src)
    r = _cli("gz21", src, tmp_path / "out.pt")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(src) in lines[0] and message in lines[0], r.stderr
    assert not (tmp_path / "out.pt").exists()


def test_a_zero_precision_gives_a_negative_spread_not_an_infinite_one():
    """min_value < 0 (as published) can make p = softplus(raw) + min_value exactly 0."""
    from closures.published import GZ21Forcing
    net = GZ21Net()
    last = net.body.layers[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(0.3)
        net.min_value.fill_(-float(torch.nn.functional.softplus(torch.tensor(0.3))))
        y = GZ21Forcing(net)(torch.zeros(1, 2, 25, 25))
    assert torch.isfinite(y).all() and (y[:, 2:] < 0).all()


def _eddies(seed: int, n: int = 4, ny: int = 64, nx: int = 56, speed_m_s: float = 0.1, scale: float = 2.0) -> np.ndarray:
    """Currents (n, 2, ny, nx) in m s-1 of a random eddy field with scales of a few grid points,
    where GZ21 gives forcings of the size it gives on dino_r1 (~1e-6 m s-2)."""
    rng = np.random.default_rng(seed)
    ky, kx = np.fft.fftfreq(ny)[:, None], np.fft.fftfreq(nx)[None, :]
    filt = np.exp(-(kx ** 2 + ky ** 2) * scale ** 2)
    f = np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, 2, ny, nx))) * filt).real
    return (speed_m_s * f / f.std()).astype(np.float32)


@pytest.mark.skipif(not SHARED_GZ21.is_file(), reason="the published GZ21 weights are not beside this checkout")
def test_int8_gz21_keeps_its_mean_forcing_within_5_percent(tmp_path):
    """The int8 file, calibrated on one eddy field, on another: the mean forcing within 5% rms
    of float32 (its last convolution stays float32), and loadable as any closure file."""
    np.save(tmp_path / "cal.npy", _eddies(1))
    r = _cli("gz21", SHARED_GZ21, tmp_path / "int8.pt", "--int8", tmp_path / "cal.npy")
    assert r.returncode == 0, r.stderr
    assert "the last one float32" in r.stdout
    torch.set_num_threads(1)
    q = LoadedClosure(tmp_path / "int8.pt")
    f = LoadedClosure(import_gz21(SHARED_GZ21, tmp_path / "fp32.pt"), precision="fp32-eager")
    x = _eddies(2)
    got, ref = np.zeros((4, 4, 44, 36), np.float32), np.zeros((4, 4, 44, 36), np.float32)
    q.infer(x, got)
    f.infer(x, ref)
    err = np.sqrt(((got[:, :2] - ref[:, :2]) ** 2).mean() / (ref[:, :2] ** 2).mean())
    assert 1e-4 < err < 0.05, err          # quantized (not float32 round-off), and close


@pytest.mark.skipif(cxx_compiler() is None, reason="torch.compile (inductor) needs a C++ compiler")
def test_compiled_precisions_give_the_file_net(tmp_path):
    """closure.precision = 'fp32-compile' and 'bf16-compile' rebuild the file's net as its
    Python module under torch.compile: fp32 to float32 round-off, bf16 within 3% rms (GZ21's
    published net: 1.7%), and an int8 file is refused in one line."""
    from closures.runtime import ClosureLoadError
    torch.set_num_threads(1)
    path = import_gz21(_random_gz21(tmp_path / "w.pth"), tmp_path / "gz21.pt")
    x = _eddies(3, n=2, ny=40, nx=36)
    ref = np.zeros((2, 4, 20, 16), np.float32)
    LoadedClosure(path, precision="fp32-eager").infer(x, ref)
    for precision, tol in (("fp32-compile", 1e-5), ("bf16-compile", 0.03)):
        got = np.zeros_like(ref)
        net = LoadedClosure(path, precision=precision)
        assert net.precision == precision
        net.infer(x, got)
        err = np.sqrt(((got[:, :2] - ref[:, :2]) ** 2).mean() / (ref[:, :2] ** 2).mean())
        assert err < tol, (precision, err)
    np.save(tmp_path / "cal.npy", x)
    assert _cli("gz21", _random_gz21(tmp_path / "w.pth"), tmp_path / "q.pt", "--int8", tmp_path / "cal.npy").returncode == 0
    with pytest.raises(ClosureLoadError, match="int8 file cannot be compiled"):
        LoadedClosure(tmp_path / "q.pt", precision="bf16-compile")
