"""Run-level features: time means in the output, periodic restarts, threads per rank."""
import netCDF4
import numpy as np
import xarray as xr

from ocean import config
from ocean.model import Model
from ocean.run import run

from conftest import BOX, cfg_from, run_cli


def test_output_mean_is_the_mean_of_the_steps(tmp_path):
    cfg = cfg_from(BOX, forcing__kind="box_wind", time__dt_s=3600.0, output__interval_days=0.5,
                   output__fields=["zos", "uo"], run__restart_every_days=0.5)
    run(cfg, tmp_path, steps=24, progress=False)
    m = Model(cfg)
    g = m.grid
    sums = [np.zeros((g.ny, g.nx)), np.zeros((g.ny, g.nx))]
    for n in range(24):
        m.step()
        sums[n // 12] += g.interior_of(m.state.ssh)
    ds = xr.open_dataset(tmp_path / "output.nc")
    assert ds.sizes["time"] == 2
    for rec in range(2):
        assert np.allclose(ds.zos.isel(time=rec).values, sums[rec] / 12, rtol=1e-6, atol=1e-9)
    start, end = ds.time_bounds.values[1]               # the second half day: 0001-01-01 12:00 to 01-02 00:00
    assert (start.day, start.hour, end.day, end.hour) == (1, 12, 2, 0)
    assert ds.time.values[1].hour == 18                 # a mean is stamped at the middle of its interval
    assert (tmp_path / "restart_00000012.nc").is_file() and (tmp_path / "restart_00000024.nc").is_file()
    with netCDF4.Dataset(tmp_path / "restart_00000024.nc") as a, netCDF4.Dataset(tmp_path / "restart.nc") as b:
        assert np.array_equal(a["u"][:], b["u"][:])


def test_threads_do_not_change_the_results(tmp_path, warm_jit):
    outs = []
    for t in (1, 2):
        out = tmp_path / f"t{t}"
        r = run_cli("run", "configs/dino_r4.toml", "--steps", "20", "--out", out, "--no-progress",
                    "--set", f"parallel.threads={t}", "--set", "output.interval_days=0", env={"NUMBA_NUM_THREADS": "2"})
        assert r.returncode == 0, r.stderr
        outs.append(out / "restart.nc")
    with netCDF4.Dataset(outs[0]) as a, netCDF4.Dataset(outs[1]) as b:
        for v in ("u", "v", "T", "S", "ssh"):
            assert np.array_equal(a[v][:], b[v][:]), v


def test_more_threads_than_numba_allows_is_refused(tmp_path):
    r = run_cli("run", "configs/dino_r4.toml", "--steps", "1", "--out", tmp_path, "--no-progress",
                "--set", "parallel.threads=64", env={"NUMBA_NUM_THREADS": "2"})
    assert r.returncode == 2 and "'parallel.threads' = 64 exceeds NUMBA_NUM_THREADS = 2" in r.stderr


def test_config_defaults_are_valid():
    cfg = config.defaults()
    assert config.merge(cfg, {}, "<defaults>") is cfg
    typed = config.build(cfg)
    assert typed.time.dt_s == 2700.0 and typed.closures == () and typed.output.fields[0] == "thetao"


def _cores() -> int:
    import os
    return len(os.sched_getaffinity(0))


def test_default_threads_share_the_node_among_its_ranks(tmp_path, warm_jit):
    from conftest import run_mpi
    cores = _cores()
    many = {"NUMBA_NUM_THREADS": str(cores)}            # numba allows every core; the run must not take them all
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--steps", "2", "--out", tmp_path / "a",
                "--set", "output.interval_days=0", env=many)
    assert r.returncode == 0, r.stderr[-2000:]
    first = r.stdout.splitlines()[0]
    assert f"{max(1, cores // 2)} thread(s) per rank ({cores} core(s) shared by 2 rank(s) on this node)" in first
    assert "warning" not in r.stderr
    r = run_cli("run", "configs/dino_r4.toml", "--steps", "2", "--out", tmp_path / "b",
                "--set", "output.interval_days=0", env=many)
    assert f"{cores} thread(s) per rank ({cores} core(s) shared by 1 rank(s) on this node)" in r.stdout
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--steps", "2", "--out", tmp_path / "c",
                "--set", "output.interval_days=0", "--set", f"parallel.threads={cores}", env=many)
    assert r.returncode == 0 and "ask for more threads than it has cores" in r.stderr
