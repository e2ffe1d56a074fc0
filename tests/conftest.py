"""Shared helpers: tiny configurations, running the CLI and mpirun from pytest."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ocean import config

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run the long experiment checks in full")


@pytest.fixture
def runslow(request) -> bool:
    return request.config.getoption("--runslow")


def cfg_from(base: dict | None = None, **dotted) -> dict:
    """A validated configuration: ``base`` nested dict plus ``section__key=value`` overrides."""
    upd: dict = {}
    for sec, table in (base or {}).items():
        upd.setdefault(sec, {}).update(table)
    for k, v in dotted.items():
        sec, key = k.split("__", 1)
        upd.setdefault(sec, {})[key] = v
    return config.from_dict(upd)


BOX = {
    "grid": {"kind": "box", "nx": 24, "ny": 20, "dx_m": 20e3, "dy_m": 20e3, "nz": 6, "depth_m": 1000.0,
             "dz_top_m": 0.0, "f0": 1e-4, "beta": 1e-11},
    "time": {"dt_s": 1200.0},
    "eos": {"kind": "linear"},
    "init": {"kind": "linear", "t0_degc": 15.0, "dtdz_k_m": -0.01, "s0_psu": 35.0},
    "forcing": {"kind": "none"},
    "momentum": {"visc_coeff": 1000.0},
    "tracers": {"diff_coeff_m2_s": 100.0},
}


def run_cli(*args, cwd=None, timeout=900, env=None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "ocean", *map(str, args)], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout, env=e)


def mpirun_exe() -> str:
    exe = Path(sys.executable).with_name("mpirun")
    return str(exe) if exe.exists() else (shutil.which("mpirun") or "mpirun")


def run_mpi(n: int, *args, timeout=900, env=None, module="ocean") -> subprocess.CompletedProcess:
    """``mpirun -n N python -m ocean ARGS`` (ranks share the 2 CI cores; one thread each)."""
    e = dict(os.environ)
    e.update({"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    e.update(env or {})
    cmd = [mpirun_exe(), "-n", str(n), sys.executable, "-m", module, *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=e)


@pytest.fixture(scope="session")
def warm_jit():
    """Compile (or load from numba's disk cache) every kernel once before tests launch
    several processes that would otherwise all compile at the same time."""
    from ocean.model import Model
    import numpy as np

    from ocean.halo import _copy_regions, _fill_regions
    m = Model(cfg_from(BOX, momentum__viscosity="biharmonic"))
    m.step()
    m.mixed_layer_depth()
    m.global_diagnostics()
    buf = np.zeros(64)
    for dtype in (np.float64, np.float32):          # the pack/unpack used only between ranks
        for n in (1, 2, 3, 4) if dtype is np.float64 else (1,):
            arrays = tuple(np.zeros((1, 4, 4), dtype) for _ in range(n))
            _copy_regions(arrays, 0, 1, 0, 1, buf, True)
            _copy_regions(arrays, 0, 1, 0, 1, buf, False)
            _fill_regions(arrays, 0, 1, 0, 1, 0.0)
    return True
