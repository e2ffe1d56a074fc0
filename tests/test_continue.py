"""Runs that never lose work: a run continued from a restart extends its run directory's
output.nc and writes exactly the records an unbroken run would; a run stopped by SIGTERM or
SIGINT leaves its output, a restart and the reason in run.log; foreign files are refused."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import netCDF4
import numpy as np
import pytest
import xarray as xr

from ocean import config
from ocean.config import ConfigError
from ocean.run import run
from ocean.runlog import detach_files

from conftest import ROOT, mpirun_exe, run_cli, run_mpi

DAY = 86400.0
# dino_r4 (dt 1 h) with a record every 6 steps; 10 + 10 steps cut an interval in two
QUARTER = ["output.interval_days=0.25", "run.restart_every_days=0", 'output.fields=["thetao", "uo", "wo", "zos"]']


def _run(out, steps, sets=(), restart=None, mode="mean"):
    """One in-process dino_r4 segment; the log files are closed afterwards (one process runs many)."""
    cfg = config.load("configs/dino_r4.toml", [*QUARTER, f'output.mode="{mode}"', *sets])
    try:
        run(cfg, out, steps=steps, restart=restart, progress=False)
    finally:
        detach_files()


def _raw(path) -> dict:
    """Every variable of a netCDF file, undecoded (times in s, land as its fill value)."""
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_mask(False)
        return {n: np.array(v[:]) for n, v in nc.variables.items()}


def _same_records(got, want) -> None:
    assert set(got) == set(want)
    for name in want:
        assert np.array_equal(got[name], want[name]), name


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory, warm_jit):
    """20 steps in one go, in mean and snapshot mode."""
    base = tmp_path_factory.mktemp("unbroken")
    for mode in ("mean", "snapshot"):
        _run(base / mode, 20, mode=mode)
    return {mode: _raw(base / mode / "output.nc") for mode in ("mean", "snapshot")}


@pytest.mark.parametrize("mode", ["mean", "snapshot"])
def test_ten_plus_ten_steps_write_the_records_of_twenty(unbroken, tmp_path, mode):
    _run(tmp_path, 10, mode=mode)
    with netCDF4.Dataset(tmp_path / "restart.nc") as nc:        # the mean under way: steps 7 to 10
        assert ("output_mean_count" in nc.ncattrs()) == (mode == "mean")
        if mode == "mean":
            assert nc.output_mean_count == 4 and nc.output_mean_start_s == 6 * 3600.0
            assert "output_mean_sum_thetao" in nc.variables
    _run(tmp_path, 10, restart=tmp_path / "restart.nc", mode=mode)
    _same_records(_raw(tmp_path / "output.nc"), unbroken[mode])
    with xr.open_dataset(tmp_path / "output.nc") as ds:        # one dataset, both segments
        t = list(ds.time.values)
        # records end at steps 6, 12, 18 and 20 (the partial mean, or the end state, at the end of the run)
        assert len(t) == 4 and all(a < b for a, b in zip(t, t[1:]))


def test_second_segment_on_two_ranks_writes_the_same_records(unbroken, tmp_path):
    """The carried mean is read back tile by tile: 10 steps on 1 rank + 10 on 2 ranks."""
    _run(tmp_path, 10)
    sets = [a for s in QUARTER for a in ("--set", s)]
    r = run_mpi(2, "run", "configs/dino_r4.toml", "--steps", 10, "--out", tmp_path, "--no-progress",
                "--restart", tmp_path / "restart.nc", *sets, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    _same_records(_raw(tmp_path / "output.nc"), unbroken["mean"])


def test_records_after_the_restart_are_dropped_and_written_again(unbroken, tmp_path):
    """A run that went on past its last restart (killed at step 20, restart at step 10):
    continuing from that restart drops its records of steps 12, 18 and 20 (partial) and
    writes them again."""
    _run(tmp_path, 20, sets=[f"run.restart_every_days={10 / 24}"])
    assert netCDF4.Dataset(tmp_path / "output.nc").dimensions["time"].size == 4
    _run(tmp_path, 10, restart=tmp_path / "restart_00000010.nc")
    _same_records(_raw(tmp_path / "output.nc"), unbroken["mean"])
    log = (tmp_path / "run.log").read_text()
    assert "output.nc: dropped 3 record(s) ending after day 0.25" in log
    assert "went on past the restart at step 10" in log


def test_a_record_without_its_time_is_dropped(unbroken, tmp_path):
    """A writer killed between a record's fields and its time leaves a record without time."""
    _run(tmp_path, 10)
    with netCDF4.Dataset(tmp_path / "output.nc", "a") as nc:      # the full record and the partial one
        nc["zos"][2] = np.zeros(nc["zos"].shape[1:])
        assert nc.dimensions["time"].size == 3
    _run(tmp_path, 10, restart=tmp_path / "restart.nc")
    _same_records(_raw(tmp_path / "output.nc"), unbroken["mean"])
    assert "and 1 incomplete one(s)" in (tmp_path / "run.log").read_text()


@pytest.mark.parametrize("sets, words", [
    (['output.fields=["thetao", "zos"]'], "fields thetao, uo, wo, zos != thetao, zos"),
    (['output.mode="snapshot"'], "mode mean != snapshot"),
    (['time.start_date="0002-01-01"'], "time units 'seconds since 0001-01-01 00:00:00' != "
                                        "'seconds since 0002-01-01 00:00:00'"),
])
def test_a_continued_run_refuses_another_dataset(tmp_path, warm_jit, sets, words):
    _run(tmp_path, 6)
    before = _md5(tmp_path / "output.nc")
    with pytest.raises(ConfigError) as err:
        _run(tmp_path, 6, sets=sets, restart=tmp_path / "restart.nc")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'output.nc'}: cannot continue this dataset") and words in msg
    assert "\n" not in msg and _md5(tmp_path / "output.nc") == before


def test_another_grid_exits_2_and_keeps_the_file(tmp_path, warm_jit):
    """The restart of another run (a wider sector) continued into this run's directory."""
    other = tmp_path / "other"
    for out, more in ((tmp_path, []), (other, ["--set", "grid.lon_extent_deg=60"])):
        r = run_cli("run", "configs/dino_r4.toml", "--steps", 6, "--out", out, "--no-progress",
                    "--set", "output.interval_days=0.25", *more)
        assert r.returncode == 0, r.stderr
    before = _md5(tmp_path / "output.nc")
    r = run_cli("run", "configs/dino_r4.toml", "--steps", 6, "--out", tmp_path, "--no-progress",
                "--set", "output.interval_days=0.25", "--set", "grid.lon_extent_deg=60",
                "--restart", other / "restart.nc")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "output.nc: cannot continue this dataset" in lines[0]
    assert "grid: x_t has 12 points != 15" in lines[0]
    assert _md5(tmp_path / "output.nc") == before


def test_a_fresh_run_keeps_the_old_output_aside(tmp_path, warm_jit):
    _run(tmp_path, 6)
    first = _md5(tmp_path / "output.nc")
    _run(tmp_path, 12)
    _run(tmp_path, 6)
    assert _md5(tmp_path / "output_previous_1.nc") == first
    with xr.open_dataset(tmp_path / "output_previous_2.nc") as a, xr.open_dataset(tmp_path / "output.nc") as b:
        assert a.sizes["time"] == 2 and b.sizes["time"] == 1
    assert "is kept as output_previous_2.nc" in (tmp_path / "run.log").read_text()


def test_foreign_restart_names_only_the_keys_that_differ(tmp_path, warm_jit):
    r = run_cli("run", "configs/dino_r4.toml", "--steps", 1, "--out", tmp_path / "a", "--no-progress",
                "--set", "output.interval_days=0")
    assert r.returncode == 0, r.stderr
    r = run_cli("run", "configs/dino_r4.toml", "--steps", 1, "--out", tmp_path / "b", "--no-progress",
                "--set", "grid.nz=30", "--restart", tmp_path / "a" / "restart.nc")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "grid.nz 36 != 30" in lines[0] and str(tmp_path / "a" / "restart.nc") in lines[0]
    assert "resolution_deg" not in lines[0] and "{" not in lines[0] and "Traceback" not in r.stderr


# ------------------------------------------------------------------------------------- stopping
def _records(path) -> int:
    """Records in a file that a running job holds open (HDF5 would refuse a locked read)."""
    try:
        with netCDF4.Dataset(path) as nc:
            return len(nc.dimensions["time"])
    except (OSError, KeyError):
        return 0


def _start_and_stop(cmd, out, signum, monkeypatch, env=None):
    """Start ``cmd``, wait until its output.nc has 2 records (at most 60 s), send ``signum``."""
    monkeypatch.setenv("HDF5_USE_FILE_LOCKING", "FALSE")
    e = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", **(env or {}))
    p = subprocess.Popen(cmd, cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 60 and p.poll() is None and _records(out / "output.nc") < 2:
        time.sleep(0.2)
    p.send_signal(signum)
    stdout, stderr = p.communicate(timeout=120)
    return p.returncode, stderr


def _stopped_restart(out, name):
    """The restart_<N>.nc of a stopped run, N checked against its nstep attribute."""
    log = (out / "run.log").read_text()
    assert f"stopped by {name} after step" in log
    step = int(log.split(f"stopped by {name} after step ")[1].split()[0])
    path = out / f"restart_{step:08d}.nc"
    with netCDF4.Dataset(path) as nc:
        assert nc.nstep == step
    return path, step


def _check_dataset(path, until_s) -> None:
    """One dataset: records every 5 days from day 0, strictly increasing, bounds end to end,
    the last one a partial mean ending at ``until_s`` when that is inside an interval."""
    with xr.open_dataset(path, decode_times=False) as ds:
        t, tb = ds.time.values, ds.time_bounds.values
    assert (np.diff(t) > 0).all()
    assert tb[0, 0] == 0 and np.array_equal(tb[1:, 0], tb[:-1, 1])
    full = tb if until_s % (5 * DAY) == 0 else tb[:-1]
    assert np.array_equal(full[:, 1], 5 * DAY * np.arange(1, len(full) + 1))
    assert tb[-1, 1] == until_s and until_s - tb[-1, 0] <= 5 * DAY
    assert np.array_equal(t, tb.mean(axis=1))


def test_sigterm_under_mpirun_saves_and_the_run_continues(tmp_path, monkeypatch, warm_jit):
    out = tmp_path
    args = ["run", "configs/dino_r4.toml", "--out", str(out), "--set", "output.interval_days=5", "--no-progress"]
    code, stderr = _start_and_stop([mpirun_exe(), "-n", "2", sys.executable, "-m", "ocean", *args, "--days", "360"],
                                   out, signal.SIGTERM, monkeypatch)
    assert code == 143, stderr[-3000:]
    path, step = _stopped_restart(out, "SIGTERM")
    assert 0 < step < 8640
    with xr.open_dataset(out / "output.nc") as ds:
        assert ds.sizes["time"] >= 2
    _check_dataset(out / "output.nc", step * 3600.0)
    r = run_mpi(2, *args, "--days", 6, "--restart", path, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    _check_dataset(out / "output.nc", (step + 144) * 3600.0)


def test_sigint_stops_a_serial_run(tmp_path, monkeypatch, warm_jit):
    cmd = [sys.executable, "-m", "ocean", "run", "configs/dino_r4.toml", "--days", "360", "--out", str(tmp_path),
           "--set", "output.interval_days=5", "--no-progress"]
    code, stderr = _start_and_stop(cmd, tmp_path, signal.SIGINT, monkeypatch)
    assert code == 130, stderr[-3000:]
    _, step = _stopped_restart(tmp_path, "SIGINT")
    assert 0 < step < 8640 and "Traceback" not in stderr
    _check_dataset(tmp_path / "output.nc", step * 3600.0)


def test_a_gap_before_the_restart_is_reported(tmp_path, warm_jit):
    """The output.nc of the run directory ends a day before the restart: the run appends, and says so."""
    _run(tmp_path / "short", 6)
    _run(tmp_path, 18, sets=[f"run.restart_every_days={18 / 24}"])
    (tmp_path / "short" / "output.nc").replace(tmp_path / "output.nc")
    _run(tmp_path, 6, restart=tmp_path / "restart_00000018.nc")
    with xr.open_dataset(tmp_path / "output.nc", decode_times=False) as ds:
        assert list(ds.time_bounds.values[:, 1] / 3600) == [6, 24]
    assert "its last record ends on day 0.25, before this run's first interval begins (day 0.75)" in \
        (tmp_path / "run.log").read_text()


# ------------------------------------------------------------------------- partial records
def test_a_run_shorter_than_one_interval_writes_its_partial_mean(tmp_path, warm_jit):
    """4 steps with a record every 6: one record, the mean of steps 1-4 with bounds [0, 4 h],
    readable with xarray, and the summary says it is partial."""
    cfg = config.load("configs/dino_r4.toml", [*QUARTER])
    try:
        summary = run(cfg, tmp_path, steps=4, progress=False)
    finally:
        detach_files()
    assert summary["partial_record"] == {"start_day": 0.0, "end_day": 4 / 24}
    with xr.open_dataset(tmp_path / "output.nc", decode_times=False) as ds:
        assert ds.sizes["time"] == 1
        assert list(ds.time_bounds.values[0]) == [0.0, 4 * 3600.0] and ds.time.values[0] == 2 * 3600.0
        assert np.isfinite(ds.thetao.values).any()
    with xr.open_dataset(tmp_path / "output.nc") as ds:       # decoded times (360-day calendar)
        assert ds.time.values[0].hour == 2
    assert "the last record is a partial mean over days 0-0.166667" in (tmp_path / "run.log").read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["partial_record"]["end_day"] == 4 / 24


def test_partial_mean_is_the_mean_of_its_steps(tmp_path, warm_jit):
    """The partial record of a 4-step run is the mean over steps 1-4, as the full record of
    a run with a 4-step interval is."""
    _run(tmp_path / "a", 4)
    cfg = config.load("configs/dino_r4.toml", [*QUARTER, f"output.interval_days={4 / 24}"])
    try:
        summary = run(cfg, tmp_path / "b", steps=4, progress=False)
    finally:
        detach_files()
    assert summary["partial_record"] is None
    _same_records(_raw(tmp_path / "a" / "output.nc"), _raw(tmp_path / "b" / "output.nc"))


@pytest.mark.parametrize("cut", [4, 10])
def test_a_partial_record_is_replaced_when_the_run_is_continued(unbroken, tmp_path, cut):
    """A segment that ends inside an interval (4 steps: before the first record; 10: after
    one) leaves a partial record; continuing to step 20 replaces it with the full one and the
    file holds exactly the records of the unbroken run (whose last one, 18-20, is partial)."""
    _run(tmp_path, cut)
    with xr.open_dataset(tmp_path / "output.nc", decode_times=False) as ds:
        assert ds.time_bounds.values[-1, 1] == cut * 3600.0 and ds.sizes["time"] == cut // 6 + 1
    _run(tmp_path, 20 - cut, restart=tmp_path / "restart.nc")
    _same_records(_raw(tmp_path / "output.nc"), unbroken["mean"])
    with xr.open_dataset(tmp_path / "output.nc", decode_times=False) as ds:
        assert list(ds.time_bounds.values[:, 1] / 3600) == [6, 12, 18, 20]
    assert "dropped 1 record(s)" in (tmp_path / "run.log").read_text()


def test_a_run_ending_on_a_boundary_writes_no_partial_record(tmp_path, warm_jit):
    cfg = config.load("configs/dino_r4.toml", [*QUARTER])
    try:
        summary = run(cfg, tmp_path, steps=12, progress=False)
    finally:
        detach_files()
    assert summary["partial_record"] is None
    with xr.open_dataset(tmp_path / "output.nc", decode_times=False) as ds:
        assert list(ds.time_bounds.values[:, 1] / 3600) == [6, 12]


def test_a_snapshot_run_shorter_than_one_interval_writes_its_end_state(unbroken, tmp_path):
    """Snapshot mode: 4 steps with a snapshot every 6 write the end state at step 4 (an empty
    360-day time axis would not decode); continuing to step 20 drops it and the file holds
    exactly the snapshots of the unbroken run (steps 6, 12, 18 and the end state at 20)."""
    _run(tmp_path, 4, mode="snapshot")
    with xr.open_dataset(tmp_path / "output.nc") as ds:
        assert ds.sizes["time"] == 1 and ds.time.values[0].hour == 4
    _run(tmp_path, 16, restart=tmp_path / "restart.nc", mode="snapshot")
    _same_records(_raw(tmp_path / "output.nc"), unbroken["snapshot"])
    with xr.open_dataset(tmp_path / "output.nc", decode_times=False) as ds:
        assert list(ds.time.values / 3600) == [6, 12, 18, 20]
