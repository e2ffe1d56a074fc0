"""MPI decomposition: bitwise identical results on any number of ranks, exact restarts,
clear refusals, and one rank's failure ending the whole job."""
import time

import netCDF4
import numpy as np
import pytest

from ocean.config import ConfigError
from ocean.domain import choose_layout, make_layout, split

from conftest import run_cli, run_mpi

SHORT = ["--steps", "50", "--no-progress", "--set", "output.interval_days=0.5"]


def _fields(path):
    with netCDF4.Dataset(path) as nc:
        return {v: np.ma.filled(nc[v][:], np.nan) for v in nc.variables}, {a: nc.getncattr(a) for a in nc.ncattrs()}


def _assert_same_files(a, b, skip_attrs=("history",)):
    fa, aa = _fields(a)
    fb, ab = _fields(b)
    assert fa.keys() == fb.keys()
    for name in fa:
        assert np.array_equal(fa[name], fb[name], equal_nan=True), name
    assert {k: v for k, v in aa.items() if k not in skip_attrs} == {k: v for k, v in ab.items() if k not in skip_attrs}


@pytest.fixture(scope="module")
def one_rank(tmp_path_factory, warm_jit):
    out = tmp_path_factory.mktemp("r1")
    r = run_cli("run", "configs/dino_r4.toml", "--out", out, *SHORT)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("n, grid", [(2, None), (3, None), (4, None), (4, (2, 2)), (3, (1, 3))])
def test_bitwise_identical_on_any_number_of_ranks(one_rank, tmp_path, n, grid):
    extra = ["--set", f"parallel.px={grid[0]}", "--set", f"parallel.py={grid[1]}"] if grid else []
    r = run_mpi(n, "run", "configs/dino_r4.toml", "--out", tmp_path, *SHORT, *extra)
    assert r.returncode == 0, r.stderr[-3000:]
    _assert_same_files(one_rank / "restart.nc", tmp_path / "restart.nc")      # u, v, T, S, ssh, ...
    _assert_same_files(one_rank / "output.nc", tmp_path / "output.nc")
    merged = run_cli("merge", tmp_path)
    assert merged.returncode == 0
    _assert_same_files(one_rank / "output.nc", tmp_path / "merged.nc")


@pytest.fixture(scope="module")
def one_rank_e3f_quarter(tmp_path_factory, warm_jit):
    """dino_r4 (Hollingsworth KE, circular sill) with NEMO's original e3f (nn_e3f_typ = 0),
    whose factor is built from each tile's masks."""
    out = tmp_path_factory.mktemp("r1_e3f")
    r = run_cli("run", "configs/dino_r4.toml", "--out", out, *SHORT, "--set", 'momentum.e3f="quarter"')
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("n, grid", [(2, None), (4, (2, 2))])
def test_e3f_quarter_bitwise_identical_on_any_number_of_ranks(one_rank_e3f_quarter, tmp_path, n, grid):
    extra = ["--set", f"parallel.px={grid[0]}", "--set", f"parallel.py={grid[1]}"] if grid else []
    r = run_mpi(n, "run", "configs/dino_r4.toml", "--out", tmp_path, *SHORT, "--set", 'momentum.e3f="quarter"', *extra)
    assert r.returncode == 0, r.stderr[-3000:]
    _assert_same_files(one_rank_e3f_quarter / "restart.nc", tmp_path / "restart.nc")


@pytest.fixture(scope="module")
def one_rank_biharmonic(tmp_path_factory, warm_jit):
    out = tmp_path_factory.mktemp("r1_biharmonic")
    r = run_cli("run", "configs/dino_r4.toml", "--out", out, *SHORT, "--set", "momentum.viscosity=biharmonic")
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("n, grid", [(3, (1, 3)), (4, (2, 2))])
def test_biharmonic_bitwise_identical_on_any_number_of_ranks(one_rank_biharmonic, tmp_path, n, grid):
    """dino_r025's lateral viscosity (grid-scaled biharmonic: -lap(lap(u)), the inner Laplacian
    on one halo point so that no exchange sits between the two) on the dino_r4 grid."""
    r = run_mpi(n, "run", "configs/dino_r4.toml", "--out", tmp_path, *SHORT, "--set", "momentum.viscosity=biharmonic",
                "--set", f"parallel.px={grid[0]}", "--set", f"parallel.py={grid[1]}")
    assert r.returncode == 0, r.stderr[-3000:]
    _assert_same_files(one_rank_biharmonic / "restart.nc", tmp_path / "restart.nc")
    _assert_same_files(one_rank_biharmonic / "output.nc", tmp_path / "output.nc")


@pytest.mark.parametrize("ranks_first, ranks_second", [(1, 1), (2, 3)])
def test_restart_is_bitwise(one_rank, tmp_path, ranks_first, ranks_second):
    a, b = tmp_path / "a", tmp_path / "b"
    base = ["--steps", "25", *SHORT[2:]]      # the output of one_rank: its mean under way is in the restart too
    r = run_mpi(ranks_first, "run", "configs/dino_r4.toml", "--out", a, *base)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_mpi(ranks_second, "run", "configs/dino_r4.toml", "--out", b, "--restart", a / "restart.nc", *base)
    assert r.returncode == 0, r.stderr[-3000:]
    fa, _ = _fields(one_rank / "restart.nc")
    fb, attrs = _fields(b / "restart.nc")
    assert attrs["nstep"] == 50
    for name in fa:
        assert np.array_equal(fa[name], fb[name]), name


def test_restart_with_another_grid_is_refused(one_rank, tmp_path):
    r = run_cli("run", "configs/dino_r1.toml", "--steps", "1", "--no-progress", "--out", tmp_path,
                "--restart", one_rank / "restart.nc")
    assert r.returncode == 2 and "restart was written with another grid" in r.stderr


def test_inconsistent_process_grid_is_refused(tmp_path, warm_jit):
    r = run_mpi(3, "run", "configs/dino_r4.toml", "--out", tmp_path, "--steps", "1", "--no-progress",
                "--set", "parallel.px=2", "--set", "parallel.py=2")
    assert r.returncode == 2
    assert "parallel.px x parallel.py = 2x2 gives 4 ocean tiles" in r.stderr and "3 ocean ranks" in r.stderr
    assert "Traceback" not in r.stderr


def test_more_ranks_than_tiles_is_refused(tmp_path, warm_jit):
    r = run_mpi(5, "run", "configs/box_munk.toml", "--out", tmp_path, "--steps", "1", "--no-progress",
                "--set", "grid.nx=6", "--set", "grid.ny=6")
    assert r.returncode == 2 and "cannot cut the 6x6 grid into 5 ocean tiles" in r.stderr


def test_one_failing_rank_ends_the_job_quickly(tmp_path, warm_jit):
    t0 = time.perf_counter()
    r = run_mpi(3, "run", "configs/dino_r4.toml", "--out", tmp_path, "--steps", "200", "--no-progress",
                env={"OCEAN_INJECT_FAULT": "1:5"}, timeout=120)
    elapsed = time.perf_counter() - t0
    assert r.returncode != 0
    assert "rank 1: RuntimeError: fault injected on rank 1 at step 5" in r.stderr
    assert elapsed < 60


def test_split_and_land_tiles_dropped():
    assert split(10, 3) == [(0, 4), (4, 3), (7, 3)]
    wet = np.ones((12, 12), bool)
    wet[:6, :6] = False                     # a continent filling the south-west tile of a 2x2 grid
    lay = make_layout(wet, 2, 2)
    assert lay.n_land == 1 and lay.n_ocean == 3
    assert lay.rank_of.tolist() == [[-1, 0], [1, 2]]
    auto = choose_layout(wet, 3, halo=3)
    assert auto.n_ocean == 3
    with pytest.raises(ConfigError, match="gives 3 ocean tiles"):
        choose_layout(wet, 4, halo=3, px=2, py=2)
