"""User errors: one clear line naming the file and key, exit status 2, no traceback."""
import pytest

from ocean import config

from conftest import run_cli


@pytest.mark.parametrize("toml, words", [
    ("[grid]\nresolution = 1.0\n", ["unknown key 'grid.resolution'"]),
    ("[time]\ndt_s = -5\n", ["'time.dt_s'", "> 0"]),
    ("[time]\ndt_s = \"fast\"\n", ["'time.dt_s'", "a number"]),
    ("[grid]\nkind = \"sphere\"\n", ["'grid.kind'", "dino, box"]),
    ("[oceans]\nx = 1\n", ["unknown section [oceans]"]),
    ("[grid]\nresolution_deg = 4.0\n[time]\ndt_s = 3600.0\nbarotropic_substeps = 2\n",
     ["'time.barotropic_substeps'", "CFL"]),
    ("[grid\n", ["not valid TOML"]),
])
def test_bad_config_exits_2_naming_the_key(tmp_path, toml, words):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    r = run_cli("run", path, "--steps", "1", "--out", tmp_path / "run", "--no-progress")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert str(path) in lines[0] or "'time.barotropic_substeps'" in lines[0]
    for w in words:
        assert w in lines[0]


def test_bad_set_override_and_missing_file(tmp_path):
    r = run_cli("run", "configs/dino_r4.toml", "--set", "time.dt_s=0", "--steps", "1", "--no-progress")
    assert r.returncode == 2 and "--set: key 'time.dt_s' must be > 0" in r.stderr
    r = run_cli("run", tmp_path / "nope.toml", "--no-progress")
    assert r.returncode == 2 and "nope.toml: cannot read configuration" in r.stderr


def test_set_parses_toml_values():
    cfg = config.load("configs/dino_r4.toml", ["time.dt_s=1800", "grid.kind=box", "run.name=\"x y\""])
    assert cfg.time.dt_s == 1800.0 and cfg.grid.kind == "box" and cfg.run.name == "x y"


def test_shipped_configs_load():
    for name in ("dino_r4", "dino_r1", "dino_r025", "box_munk", "box_gravity_wave"):
        config.load(f"configs/{name}.toml")


def test_blow_up_stops_with_step_field_point_and_saves_state(tmp_path):
    r = run_cli("run", "configs/dino_r4.toml", "--steps", "50", "--out", tmp_path, "--no-progress",
                "--set", "run.max_velocity_m_s=1e-4")
    assert r.returncode == 1
    assert "blow-up at step" in r.stderr and ("uo =" in r.stderr or "vo =" in r.stderr)
    assert "global point (k=" in r.stderr
    assert (tmp_path / "blowup_state.nc").is_file()
    assert "Traceback" not in r.stderr
