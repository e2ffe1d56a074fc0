"""Closures deployed in-process and in an ML process group: the same results in every mode
and decomposition, lagged semantics, the published net sizes, and faults that end the job
with a clear message instead of a hang."""
import time

import netCDF4
import numpy as np
import pytest
import torch

from closures.nets import GZ21Net, LevelsAsBatch, bbz24_fcnn, count_parameters
from closures.runtime import LoadedClosure
from closures.zoo import bbz24_size_closure, gz21_size_closure, stencil_closure
from ocean import config
from ocean.closure_hook import ClosureHook
from ocean.closure_slots import Closure
from ocean.model import Model

from conftest import run_cli, run_mpi

STEPS = ["--steps", "12", "--no-progress", "--set", "output.interval_days=0"]


@pytest.fixture(scope="module")
def stencil(tmp_path_factory):
    return stencil_closure(tmp_path_factory.mktemp("cl") / "stencil5.pt", nz=36)


def _closure_args(path, mode, ml=0, timeout=None):
    a = ["--set", f'closure.model_file="{path}"', "--set", f"closure.mode={mode}", "--set", f"closure.ml_ranks={ml}"]
    if timeout:
        a += ["--set", f"closure.timeout_s={timeout}"]
    return a


def _said(r, out, text) -> bool:
    """Did the run say ``text``, on stderr or in RUNDIR/run.log? (mpiexec may not forward the
    last lines before an MPI_Abort; run.log has every line the logger wrote, flushed at once)"""
    return text in r.stderr or text in _run_log(out)


def _run_log(out) -> str:
    path = out / "run.log"
    return path.read_text() if path.is_file() else ""


def _state(path):
    with netCDF4.Dataset(path) as nc:
        return {v: np.array(nc[v][:]) for v in ("u", "v", "T", "S", "ssh")}


@pytest.fixture(scope="module")
def reference_and_plain(stencil, tmp_path_factory, warm_jit):
    """The closure on the undecomposed global field (one rank, in-process), and the same
    run without the closure."""
    out = tmp_path_factory.mktemp("ref")
    r = run_cli("run", "configs/dino_r4.toml", "--out", out, *STEPS, *_closure_args(stencil, "inprocess"))
    assert r.returncode == 0, r.stderr
    none = tmp_path_factory.mktemp("none")
    assert run_cli("run", "configs/dino_r4.toml", "--out", none, *STEPS).returncode == 0
    ref, plain = _state(out / "restart.nc"), _state(none / "restart.nc")
    assert np.max(np.abs(ref["u"] - plain["u"])) > 1e-6          # the closure does change the flow
    return ref, plain


@pytest.fixture(scope="module")
def reference(reference_and_plain):
    return reference_and_plain[0]


def test_published_net_sizes_and_halos():
    assert count_parameters(bbz24_fcnn(8)) == 155_969
    assert count_parameters(GZ21Net()) == 268_005
    assert bbz24_fcnn(8).eval()(torch.zeros(1, 8, 30, 40)).shape == (1, 1, 12, 22)             # halo 9
    assert LevelsAsBatch(GZ21Net(), 3)(torch.zeros(2, 6, 30, 40)).shape == (2, 6, 10, 20)    # halo 10


def test_batchnorm_folding_keeps_the_function():
    torch.manual_seed(1)
    net = bbz24_fcnn(8)
    for m in net.layers:                     # BatchNorm statistics far from the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.2, 3.0)
            m.weight.data.normal_()
            m.bias.data.normal_()
    net.eval()
    folded = net.batchnorm_folded()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.layers)
    assert count_parameters(folded) == 155_969 - 2 * (128 + 64 + 5 * 32)
    x = torch.randn(2, 8, 30, 40)
    with torch.inference_mode():
        ref, got = net(x), folded(x)
    assert torch.max(torch.abs(got - ref)) <= 1e-5 * torch.max(torch.abs(ref))
    unfolded = torch.nn.Sequential(*[m for m in net.layers if not isinstance(m, torch.nn.BatchNorm2d)])
    with torch.inference_mode():             # the statistics matter: dropping them changes the result
        assert torch.max(torch.abs(unfolded(x) - ref)) > 0.1 * torch.max(torch.abs(ref))


def test_model_file_carries_its_declaration(tmp_path):
    c = LoadedClosure(gz21_size_closure(tmp_path / "g.pt", nz=4))
    assert c.spec.halo == 10 and [f.name for f in c.spec.outputs] == ["du", "dv"]
    c2 = LoadedClosure(bbz24_size_closure(tmp_path / "b.pt"))
    assert c2.spec.in_channels(36) == 8 and c2.spec.inputs[5].units == "m"


@pytest.mark.parametrize("mode, ranks, ml, exact", [
    ("sync", 2, 1, True), ("async", 2, 1, True), ("lagged", 2, 1, None),
    ("inprocess", 2, 0, False), ("sync", 3, 1, False), ("async", 6, 2, False),
])
def test_modes_and_decompositions_agree(reference_and_plain, stencil, tmp_path, mode, ranks, ml, exact):
    r = run_mpi(ranks, "run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(stencil, mode, ml))
    assert r.returncode == 0, r.stderr[-3000:]
    got = _state(tmp_path / "restart.nc")
    reference, plain = reference_and_plain
    for name, ref in reference.items():
        if exact is None:            # lagged is another numerical choice: close, not equal
            lag = np.max(np.abs(got[name] - ref))
            effect = np.max(np.abs(ref - plain[name]))        # what the closure does in 12 steps
            # a one-step lag changes the closure's 12-step effect, not the flow: measured 0.19-0.28 of it
            assert 0 < lag <= 0.35 * effect, (name, lag, effect)
            continue
            continue
        if exact:                     # one ocean tile: sync and async must be bitwise the in-process result
            assert np.array_equal(got[name], ref), name
        else:
            scale = np.max(np.abs(ref))
            assert np.max(np.abs(got[name] - ref)) <= 1e-12 * scale, name
    assert (tmp_path / "coupling_timers.json").is_file() or mode == "inprocess"


def test_lagged_applies_the_previous_exchange(stencil, tmp_path, warm_jit):
    """The MPI 'lagged' run equals an in-process run that applies closure(state n-1) at step n."""
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(stencil, "lagged", 1))
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = config.load("configs/dino_r4.toml", [f'closure.model_file="{stencil}"', "closure.mode=inprocess"])
    m = Model(cfg)
    hook = ClosureHook(cfg.closures[0], m)
    previous = None

    class Lagged(Closure):
        slots = hook.slots

        def start_of_step(self):
            nonlocal previous
            hook.start_of_step()                       # closure(state n) into hook.applied
            now = hook.applied.copy()
            if previous is not None:
                hook.applied[...] = previous           # apply closure(state n-1)
            previous = now

        def momentum_tendency(self, gu, gv):
            hook.momentum_tendency(gu, gv)

    m.add_closure(Lagged())
    for _ in range(12):
        m.step()
    got = _state(tmp_path / "restart.nc")
    g = m.grid
    assert np.array_equal(got["u"], g.interior_of(m.state.u))
    assert np.array_equal(got["T"], g.interior_of(m.state.T))


def test_lagged_restart_continues_bitwise(stencil, tmp_path, warm_jit):
    """A lagged run's restart carries the result its next step applies (closure of the state
    before), so 5 + 5 steps equal 10 steps."""
    args = ["--no-progress", "--set", "output.interval_days=0", *_closure_args(stencil, "lagged", 1)]
    full, a, b = tmp_path / "full", tmp_path / "a", tmp_path / "b"
    for out, steps, more in ((full, 10, []), (a, 5, []), (b, 5, ["--restart", a / "restart.nc"])):
        r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", out, "--steps", steps, *args, *more)
        assert r.returncode == 0, r.stderr[-3000:]
    with netCDF4.Dataset(a / "restart.nc") as nc:
        assert nc["closure_lagged_result_stencil5"].closure == "stencil5"
    got, want = _state(b / "restart.nc"), _state(full / "restart.nc")
    for name in want:
        assert np.array_equal(got[name], want[name]), name


def test_failing_ml_rank_ends_the_job_with_its_message(stencil, tmp_path, warm_jit):
    t0 = time.perf_counter()
    r = run_mpi(3, "run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(stencil, "async", 1, 30),
                env={"OCEAN_INJECT_ML_FAULT": "raise:4"}, timeout=120)
    assert r.returncode != 0
    log = _run_log(tmp_path)
    assert "rank 2: error: closure stencil5 on ML rank 2 failed: RuntimeError: fault injected" in log
    assert "rank 0: error: closure stencil5 on ocean rank 0: closure stencil5 on ML rank 2 failed" in log
    assert (tmp_path / "closure_failure_state.nc").is_file()
    assert time.perf_counter() - t0 < 60


def test_silent_ml_rank_times_out(stencil, tmp_path, warm_jit):
    t0 = time.perf_counter()
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(stencil, "sync", 1, 4),
                env={"OCEAN_INJECT_ML_FAULT": "silent:3"}, timeout=120)
    assert r.returncode != 0
    log = _run_log(tmp_path)
    assert "no answer from ML rank 1 within 4 s" in log and "closure stencil5" in log
    assert (tmp_path / "closure_failure_state.nc").is_file()
    assert time.perf_counter() - t0 < 60


def test_fallback_closure_takes_over_from_a_failing_ml_rank(reference, stencil, tmp_path):
    """The ML rank raises at exchange 4; the ocean goes on with the fallback (the same closure
    in-process) from that very step, so the run ends as the in-process reference, bitwise."""
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(stencil, "sync", 1, 30),
                "--set", f'closure.fallback="{stencil}"', env={"OCEAN_INJECT_ML_FAULT": "raise:4"}, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "closure stencil5 on ML rank 1 failed: RuntimeError: fault injected" in r.stderr
    assert "closure stencil5 abandoned at step 4; the run goes on with the fallback closure stencil5 in-process" \
        in r.stderr
    got = _state(tmp_path / "restart.nc")
    for name, ref in reference.items():
        assert np.array_equal(got[name], ref), name


def test_silent_ml_rank_with_fallback_none_completes_the_run(reference, stencil, tmp_path):
    t0 = time.perf_counter()
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(stencil, "sync", 1, 4),
                "--set", 'closure.fallback="none"', env={"OCEAN_INJECT_ML_FAULT": "silent:3"}, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    # printed (closure_hook.py) long before the abort, so on stderr; the abort's warning is in run.log
    assert _said(r, tmp_path, "no answer from ML rank 1 within 4 s")
    assert _said(r, tmp_path, "abandoned at step 3; the run goes on without a closure")
    assert "ML rank(s) 1 never answered" in _run_log(tmp_path)
    got = _state(tmp_path / "restart.nc")
    assert 0 < np.max(np.abs(got["u"] - reference["u"]))          # the closure stopped acting at step 3
    assert time.perf_counter() - t0 < 60


def test_fallback_must_have_the_same_outputs(stencil, tmp_path, warm_jit):
    other = bbz24_size_closure(tmp_path / "b.pt")
    r = run_cli("run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(stencil, "inprocess"),
                "--set", f'closure.fallback="{other}"')
    assert r.returncode == 2 and "key 'closure.fallback'" in r.stderr and "must have the outputs of stencil5" in r.stderr


def test_missing_model_file_is_a_clear_error(tmp_path, warm_jit):
    r = run_cli("run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS,
                *_closure_args(tmp_path / "nope.pt", "inprocess"))
    assert r.returncode == 2 and "nope.pt not found" in r.stderr and "closure.model_file" in r.stderr
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(bad, "sync", 1), timeout=120)
    assert r.returncode == 2 and "is not a closure model file" in r.stderr


def test_nan_output_stops_the_run(tmp_path, warm_jit):
    path = stencil_closure(tmp_path / "nan.pt", nz=36, rate=float("nan"))
    r = run_cli("run", "configs/dino_r4.toml", "--out", tmp_path, *STEPS, *_closure_args(path, "inprocess"))
    assert r.returncode == 1 and "returned NaN or infinite values at step 0" in r.stderr
    assert (tmp_path / "closure_failure_state.nc").is_file()


def test_handshake_refuses_a_different_declaration(stencil, tmp_path, warm_jit):
    other = gz21_size_closure(tmp_path / "other.pt", nz=36)
    from conftest import ROOT, mpirun_exe
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    cmd = [mpirun_exe(), "-n", "1", sys.executable, "-m", "ocean", "run", "configs/dino_r4.toml", "--out", str(tmp_path),
           *STEPS, *_closure_args(stencil, "sync", 1), ":", "-n", "1", sys.executable, "-m", "coupling", "serve",
           "configs/dino_r4.toml", *_closure_args(other, "sync", 1)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2
    assert "closure handshake: ocean rank 0 declares" in r.stderr and "gz21_size" in r.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_inference_matches_cpu(tmp_path):
    path = bbz24_size_closure(tmp_path / "b.pt")
    x = np.random.default_rng(0).standard_normal((2, 8, 40, 50)).astype(np.float32)
    out_cpu, out_gpu = np.zeros((2, 1, 22, 32), np.float32), np.zeros((2, 1, 22, 32), np.float32)
    LoadedClosure(path, "cpu").infer(x, out_cpu)
    LoadedClosure(path, "cuda").infer(x, out_gpu)
    assert np.allclose(out_cpu, out_gpu, rtol=1e-3, atol=1e-3 * np.abs(out_cpu).max())


def test_mpmd_launch_gives_the_same_ocean(reference, stencil, tmp_path):
    """mpirun -n 1 python -m ocean run CFG : -n 1 python -m coupling serve CFG"""
    import os
    import subprocess
    import sys

    from conftest import ROOT, mpirun_exe
    args = _closure_args(stencil, "async", 1)
    cmd = [mpirun_exe(), "-n", "1", sys.executable, "-m", "ocean", "run", "configs/dino_r4.toml", "--out", str(tmp_path),
           *STEPS, *args, ":", "-n", "1", sys.executable, "-m", "coupling", "serve", "configs/dino_r4.toml", *args]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NUMBA_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr[-3000:]
    got = _state(tmp_path / "restart.nc")
    for name, ref in reference.items():
        assert np.array_equal(got[name], ref), name
