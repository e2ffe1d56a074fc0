"""Channel transport and overturning streamfunctions (ocean/transports.py), reading runs
(ocean/run_reader.py) and the two analysis scripts on a tiny synthetic run."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ocean.eos import EosParams, rho_insitu
from ocean.grid import EARTH_RADIUS_M
from ocean.output import AxisSpec, FieldSpec, NetcdfWriter
from ocean.run_reader import RunReadError, complete_records, open_output, open_runs, read_diagnostics
from ocean.transports import (SV, bin_by_density, channel_transport, e1v_of_rows, extrema_in_window,
                              level_thickness, moc_density, moc_depth, sigma_on_v)

from conftest import ROOT

E3 = np.array([10.0, 20.0, 40.0, 80.0])
DEPTH_W = np.concatenate([[0.0], np.cumsum(E3)[:-1]])         # top faces, as output files hold them
DEPTH_T = DEPTH_W + 0.5 * E3
E1V = np.array([1.0e5, 0.8e5, 0.5e5])                          # m, one per V row


def v_from_streamfunction(psi_sv: np.ndarray, wet: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Meridional velocity (nz, ny, nx) whose zonally summed transport has the streamfunction
    psi (Sv, (nz + 1, ny), integrated from the bottom: level k carries psi[k+1] - psi[k]),
    shared between the wet columns in proportion to ``weights``; NaN on land."""
    nz, ny, nx = wet.shape
    v = np.full((nz, ny, nx), np.nan)
    for k in range(nz):
        for j in range(ny):
            w = np.where(wet[k, j], weights, 0.0)
            if w.sum() == 0:
                continue
            share = (psi_sv[k + 1, j] - psi_sv[k, j]) * SV * w / w.sum()
            v[k, j] = np.where(wet[k, j], share / (E1V[j] * E3[k]), np.nan)
    return v


def test_level_thickness_from_output_depths():
    assert np.allclose(level_thickness(DEPTH_T, DEPTH_W), E3)


def test_moc_depth_recovers_a_known_streamfunction_with_land_and_a_shallow_row():
    nz, ny, nx = 4, 3, 3
    wet = np.ones((nz, ny, nx), bool)
    wet[:, :, 2] = False                     # a land column
    wet[3, 2, :] = False                     # row 2 is only three levels deep
    wet[2:, 1, 0] = False                    # a slope in row 1
    psi = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -2.0], [5.0, 4.0, -1.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    v = v_from_streamfunction(psi, wet, np.array([1.0, 3.0, 1.0]))
    got = moc_depth(v, E1V, E3)
    want = psi.copy()
    want[4, 2] = np.nan                      # below row 2's floor
    assert np.allclose(got, want, equal_nan=True, atol=1e-12)
    # sign: row 0 carries water north in the top level and south below: a clockwise cell, psi > 0
    assert np.nansum(v[0, 0]) > 0 and np.nansum(v[2:, 0]) < 0 and got[1:4, 0].min() > 0


def test_moc_density_equals_moc_depth_when_isopycnals_are_flat():
    nz, ny, nx = 4, 3, 3
    wet = np.ones((nz, ny, nx), bool)
    psi = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -2.0], [5.0, 4.0, -1.0], [2.0, 1.0, 0.5], [0.0, 0.0, 0.0]])
    v = v_from_streamfunction(psi, wet, np.array([2.0, 1.0, 1.0]))
    sigma_of_depth = lambda z: 30.0 + 0.002 * z          # noqa: E731 - linear: interpolation is exact
    sig = np.broadcast_to(sigma_of_depth(DEPTH_T)[:, None, None], (nz, ny, nx)).copy()
    edges = sigma_of_depth(np.append(DEPTH_W, DEPTH_W[-1] + E3[-1]))  # sigma at every W level
    got = moc_density(v, sig, E1V, E3, DEPTH_T, DEPTH_W, edges)
    assert np.allclose(got, moc_depth(v, E1V, E3), atol=1e-12)


def test_moc_density_sees_a_horizontal_circulation_that_moc_depth_misses():
    # one level carries light water north in the west and as much dense water south in the east
    nz, ny, nx = 2, 1, 2
    v = np.zeros((nz, ny, nx))
    v[0, 0] = [0.1, -0.1]
    sig = np.empty((nz, ny, nx))
    sig[:, 0, 0], sig[:, 0, 1] = 25.0, 27.0
    e1v, e3 = np.array([1e5]), np.array([100.0, 100.0])
    depth_w = np.array([0.0, 100.0])
    depth_t = depth_w + 50.0
    assert np.allclose(moc_depth(v, e1v, e3), 0.0)
    got = moc_density(v, sig, e1v, e3, depth_t, depth_w, np.array([24.0, 26.0, 28.0]))
    transport = 0.1 * 1e5 * 100.0 / SV
    assert np.allclose(got[:, 0], [0.0, transport, 0.0])     # light north, dense south: clockwise, > 0


def test_bin_by_density_splits_a_cell_across_an_isopycnal_and_keeps_what_lies_outside():
    t = np.array([[[6.0, 4.0]]])                             # m3/s of two cells in one row
    top = np.array([[[25.0, 20.0]]])
    bot = np.array([[[27.0, 21.0]]])                          # the second lies below the first edge
    out = np.empty((2, 1))
    bin_by_density(t, top, bot, np.array([24.0, 26.0, 28.0]), out)
    assert np.allclose(out[:, 0], [3.0 + 4.0, 3.0])
    assert np.isclose(out.sum(), t.sum())


def test_moc_density_rejects_bad_edges():
    with pytest.raises(ValueError, match="increasing"):
        moc_density(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), E1V[:1], E3[:1], DEPTH_T[:1], DEPTH_W[:1],
                    np.array([27.0, 26.0]))


def test_sigma_on_v_averages_the_model_eos_over_the_two_cells():
    T = np.array([[[2.0], [4.0], [np.nan]]])                  # (1, 3, 1): T rows 0, 1 wet, row 2 land
    S = np.array([[[34.5], [35.0], [np.nan]]])
    p = EosParams.dino()
    got = sigma_on_v(T, S, 2000.0, p)
    want = 0.5 * (rho_insitu(2.0, 34.5, 2000.0, p) + rho_insitu(4.0, 35.0, 2000.0, p)) - 1000.0
    assert np.isclose(got[0, 0, 0], want) and np.isnan(got[0, 1, 0]) and np.isnan(got[0, 2, 0])
    # thermobaricity of the S-EOS: water colder than 10 degC is denser referenced to 2000 m than to the surface
    assert got[0, 0, 0] > sigma_on_v(T, S, 0.0, p)[0, 0, 0]


def test_e1v_of_rows_on_the_isotropic_mercator_grid():
    dl = np.radians(4.0)
    lat_t = np.array([-60.0, 0.0, 30.0])
    lat_v = np.array([-58.5, 2.0, 33.0])
    e1t = EARTH_RADIUS_M * np.cos(np.radians(lat_t)) * dl
    assert np.allclose(e1v_of_rows(e1t, lat_t, lat_v, True), EARTH_RADIUS_M * np.cos(np.radians(lat_v)) * dl)
    assert np.allclose(e1v_of_rows(e1t, lat_t, lat_v, False), e1t)


def test_channel_transport_sums_the_wet_faces():
    u = np.full((4, 3), np.nan)
    u[:3, 1:] = 0.1                                           # channel rows 1-2, three levels
    e2u = np.array([5e4, 6e4, 7e4])
    want = 0.1 * (6e4 + 7e4) * E3[:3].sum() / SV
    assert np.isclose(channel_transport(u, e2u, E3), want)


def test_extrema_in_window():
    psi = np.array([[0.0, 0.0, 0.0], [9.0, 1.0, -4.0], [5.0, 2.0, -3.0], [0.0, 0.0, np.nan]])
    lat = np.array([-40.0, 10.0, 40.0])
    depth = np.array([0.0, 100.0, 600.0, 1000.0])
    assert extrema_in_window(psi, lat, depth, (20.0, 70.0), 500.0) == (-3.0, -3.0)
    assert extrema_in_window(psi, lat, depth, (-70.0, -20.0), 0.0) == (9.0, 0.0)
    assert all(np.isnan(extrema_in_window(psi, lat, depth, (80.0, 90.0), 0.0)))


# ---------------------------------------------------------------- a tiny synthetic run
NZ, NY, NX = 4, 5, 4
E3_RUN = np.array([100.0, 300.0, 600.0, 1000.0])                 # deep enough for the 500 m windows
DEPTH_W_RUN = np.concatenate([[0.0], np.cumsum(E3_RUN)[:-1]])
DEPTH_T_RUN = DEPTH_W_RUN + 0.5 * E3_RUN
LAT_T = np.array([-60.0, -40.0, 0.0, 40.0, 60.0])
LAT_V = np.array([-50.0, -20.0, 20.0, 50.0, 65.0])


def axes() -> AxisSpec:
    e1t = np.repeat((EARTH_RADIUS_M * np.cos(np.radians(LAT_T)) * np.radians(4.0))[:, None], NX, 1)
    return AxisSpec(x_t=np.arange(NX) * 4.0 + 2.0, x_u=np.arange(NX) * 4.0 + 4.0, y_t=LAT_T, y_v=LAT_V,
                    depth_t=DEPTH_T_RUN, depth_w=DEPTH_W_RUN, x_units="degrees_east", y_units="degrees_north",
                    static={"e1t": ("T", e1t, "m", "cell width in x"), "e2t": ("T", e1t, "m", "cell width in y")})


FIELDS = [FieldSpec("thetao", "T", 3, "degC", "temperature"), FieldSpec("so", "T", 3, "psu", "salinity"),
          FieldSpec("uo", "U", 3, "m s-1", "x velocity"), FieldSpec("vo", "V", 3, "m s-1", "y velocity"),
          FieldSpec("ubar", "U", 2, "m s-1", "barotropic x velocity")]


def record(u0: float, T0: float) -> dict:
    """Fields of one record: T = T0 (degC) everywhere, u = u0 (m/s) through U column 0 in rows
    0-1 (the 'channel'), an overturning cell of +2 Sv in every row (north above, south below)."""
    T = np.full((NZ, NY, NX), T0) - 0.005 * DEPTH_T_RUN[:, None, None]
    S = np.full((NZ, NY, NX), 35.0)
    u = np.zeros((NZ, NY, NX))
    u[:, 2:, 0] = np.nan                                       # the wall north of the channel
    u[:, :2, 0] = u0
    psi = np.zeros((NZ + 1, NY))
    psi[1:NZ] = 2.0
    v = np.zeros((NZ, NY, NX))
    for j in range(NY):
        e1v = EARTH_RADIUS_M * np.cos(np.radians(LAT_V[j])) * np.radians(4.0)
        for k in range(NZ):
            v[k, j] = (psi[k + 1, j] - psi[k, j]) * SV / NX / (e1v * E3_RUN[k])
    v[:, -1] = np.nan                                          # the northern wall
    return {"thetao": T, "so": S, "uo": u, "vo": v, "ubar": np.nan_to_num(u).mean(axis=0)}


def write_run(path, records, t0_days: float = 0.0, incomplete: bool = False) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with NetcdfWriter(path / "output.nc", axes(), FIELDS, title="ocean run tiny", mode="mean") as w:
        for n, (u0, T0) in enumerate(records):
            a, b = (t0_days + 30.0 * n) * 86400.0, (t0_days + 30.0 * (n + 1)) * 86400.0
            w.write(0.5 * (a + b), record(u0, T0), time_bounds_s=(a, b))
    if incomplete:                     # a record whose time the writer has not stored yet
        import netCDF4
        with netCDF4.Dataset(path / "output.nc", "a") as ds:
            n = len(ds.dimensions["time"])
            ds.variables["thetao"][n] = np.zeros((NZ, NY, NX), np.float32)


def test_complete_records_stops_at_the_first_record_without_its_time():
    assert complete_records([15.0, 45.0, 9.969209968386869e36, 105.0]) == 2     # netCDF's default fill
    assert complete_records([15.0, np.nan]) == 1 and complete_records([]) == 0


def test_open_runs_concatenates_directories_and_the_later_one_wins(tmp_path):
    write_run(tmp_path / "a", [(0.1, 5.0), (0.2, 5.0), (0.3, 5.0)], incomplete=True)
    write_run(tmp_path / "b", [(0.9, 6.0), (1.0, 6.0)], t0_days=60.0)   # redoes a's third record
    runs = open_runs([tmp_path / "a", tmp_path / "b"])
    assert len(runs) == 4
    assert np.allclose(runs.end_s / 86400.0, [30, 60, 90, 120])
    u = runs.read("uo", np.arange(4), x_u=0)[:, 0, 0]
    assert np.allclose(u, [0.1, 0.2, 0.9, 1.0])
    assert runs.has("vo") and not runs.has("voce_eiv")
    runs.close()


def test_open_output_reads_the_complete_records_with_their_dates(tmp_path):
    write_run(tmp_path / "a", [(0.1, 5.0), (0.2, 5.0)], incomplete=True)
    ds = open_output(tmp_path / "a", needs=("uo",), decode_times=True)
    assert ds.sizes["time"] == 2
    assert [(t.month, t.day) for t in ds.time_bounds.values[:, 1]] == [(2, 1), (3, 1)]   # 360-day months
    assert float(ds.uo.isel(time=1, depth_t=0, y_t=0, x_u=0)) == pytest.approx(0.2)
    ds.close()
    assert open_output(tmp_path / "a").time.values[0] == pytest.approx(15 * 86400.0)
    with pytest.raises(RunReadError, match="lacks field.*voce_eiv"):
        open_output(tmp_path / "a", needs=("voce_eiv",))
    with pytest.raises(RunReadError, match="no such file"):
        open_output(tmp_path / "b")


def test_read_diagnostics_keeps_the_last_line_of_each_step(tmp_path):
    for d, lines in (("a", ["x rank 0: step 10 day 1.00: kinetic_energy_J=1e+15 mean_T_degC=7.5",
                            "x rank 0: step 20 day 2.00: kinetic_energy_J=2e+15 mean_T_degC=7.4",
                            "x rank 0: something else"]),
                     ("b", ["x rank 0: step 20 day 2.00: kinetic_energy_J=3e+15 mean_T_degC=7.3",
                            "x rank 0: step 30 day 3.00: kinetic_energy_J=4e+15 mean_T_degC=7.2"])):
        (tmp_path / d).mkdir()
        (tmp_path / d / "run.log").write_text("\n".join(lines) + "\n")
    log = read_diagnostics([tmp_path / "a", tmp_path / "b", tmp_path / "none"])
    assert list(log["step"]) == [10, 20, 30]
    assert np.allclose(log["kinetic_energy_J"], [1e15, 3e15, 4e15])
    assert np.allclose(log["day"], [1.0, 2.0, 3.0])


def run_script(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def test_plot_spinup_and_plot_dino_moc_on_a_tiny_run(tmp_path):
    write_run(tmp_path / "a", [(0.1, 5.0), (0.2, 5.5)])
    write_run(tmp_path / "b", [(0.3, 6.0)], t0_days=60.0, incomplete=True)     # a run still writing
    png = tmp_path / "spinup.png"
    r = run_script("scripts/plot_spinup.py", tmp_path / "a", tmp_path / "b", "--out", png)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    e2u = EARTH_RADIUS_M * np.cos(np.radians(LAT_T[:2])) * np.radians(4.0)
    assert res["records"] == 3 and np.isclose(res["last_record_end_year"], 0.25)
    assert np.isclose(res["acc_Sv"], 0.3 * e2u.sum() * E3_RUN.sum() / SV, rtol=1e-5)
    assert np.isclose(res["moc_nh_max_Sv"], 2.0, rtol=1e-4) and np.isclose(res["moc_sh_max_Sv"], 2.0, rtol=1e-4)
    assert res["moc_velocity"].startswith("vo (Eulerian")
    assert png.stat().st_size > 0
    moc = tmp_path / "moc.png"
    r = run_script("scripts/plot_dino.py", tmp_path / "b", "--out", tmp_path / "state.png", "--moc", moc,
                   "--sigma-bins", "10")
    assert r.returncode == 0, r.stderr
    assert "MOC in depth from vo, NH 20..70 N below 500 m: max 2.00 Sv" in r.stdout
    assert moc.stat().st_size > 0


@pytest.mark.parametrize("script", ["scripts/plot_spinup.py", "scripts/plot_dino.py"])
def test_a_missing_run_directory_is_one_line_and_exit_2(tmp_path, script):
    r = run_script(script, tmp_path / "nothing")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "nothing/output.nc" in r.stderr
