"""Tests for ocean.output: CF netCDF writer and running time mean."""
import cftime
import numpy as np
import pytest
import xarray as xr

from ocean.output import AxisSpec, FieldSpec, NetcdfWriter, OutputMismatch, TimeMean

NX, NY, NZ = 4, 3, 2
DAY = 86400.0


def make_axes(static=None):
    x_t = 10.0 + np.arange(NX)
    y_t = -1.0 + np.arange(NY)
    return AxisSpec(x_t=x_t, x_u=x_t + 0.5, y_t=y_t, y_v=y_t + 0.5,
                    depth_t=np.array([5.0, 15.0]), depth_w=np.array([0.0, 10.0]),
                    x_units="degrees_east", y_units="degrees_north", static=static or {})


FIELDS = [
    FieldSpec("zos", "T", 2, "m", "sea surface height", "sea_surface_height_above_geoid"),
    FieldSpec("uo", "U", 3, "m s-1", "zonal velocity", "sea_water_x_velocity"),
    FieldSpec("wo", "W", 3, "m s-1", "vertical velocity", "upward_sea_water_velocity"),
]


def records(rng):
    out = []
    for _ in range(2):
        d = {"zos": rng.standard_normal((NY, NX)),
             "uo": rng.standard_normal((NZ, NY, NX)),
             "wo": rng.standard_normal((NZ, NY, NX)) * 1e-5}
        d["zos"][0, 0] = np.nan            # land column
        d["uo"][:, 0, 0] = np.nan
        d["uo"][1, 2, 3] = np.nan          # land only at depth
        d["wo"][:, 0, 0] = np.nan
        out.append(d)
    return out


@pytest.fixture
def mean_file(tmp_path):
    rng = np.random.default_rng(0)
    recs = records(rng)
    mask = np.ones((NY, NX))
    mask[0, 0] = np.nan
    path = tmp_path / "mean.nc"
    axes = make_axes({"area_t": ("T", np.full((NY, NX), 1e8), "m2", "T-cell area"),
                      "tmask": ("T", np.stack([mask, mask]), "1", "T-point land mask")})
    with NetcdfWriter(path, axes, FIELDS, title="test", attrs={"config": "box"}) as w:
        w.write(15 * DAY, recs[0], (0.0, 30 * DAY))
        w.write(30 * DAY, recs[1])  # default bounds: (previous upper bound, time)
    return path, recs


def test_dims_and_shapes(mean_file):
    path, _ = mean_file
    with xr.open_dataset(path) as ds:
        assert ds.sizes == {"time": 2, "depth_t": NZ, "depth_w": NZ, "y_t": NY, "y_v": NY,
                            "x_t": NX, "x_u": NX, "bnds": 2}
        assert ds.zos.dims == ("time", "y_t", "x_t")
        assert ds.uo.dims == ("time", "depth_t", "y_t", "x_u")
        assert ds.wo.dims == ("time", "depth_w", "y_t", "x_t")
        assert ds.area_t.dims == ("y_t", "x_t")
        assert ds.tmask.dims == ("depth_t", "y_t", "x_t")
        assert ds.uo.shape == (2, NZ, NY, NX)
        assert ds.zos.dtype == np.float32 and ds.x_u.dtype == np.float64


def test_values_roundtrip_and_land(mean_file):
    path, recs = mean_file
    with xr.open_dataset(path) as ds:
        for n in ("zos", "uo", "wo"):
            expect = np.stack([r[n] for r in recs])
            np.testing.assert_allclose(ds[n].values, expect, rtol=1e-6, atol=0, equal_nan=True)
            assert np.array_equal(np.isnan(ds[n].values), np.isnan(expect))
        assert np.isnan(ds.uo.values[:, 1, 2, 3]).all() and not np.isnan(ds.uo.values[:, 0, 2, 3]).any()
        assert np.isnan(ds.tmask.values[:, 0, 0]).all()
        np.testing.assert_array_equal(ds.x_u.values, 10.5 + np.arange(NX))
        np.testing.assert_array_equal(ds.depth_w.values, [0.0, 10.0])
        # raw file keeps the fill value, decoded as NaN
        assert ds.zos.encoding["_FillValue"] == pytest.approx(9.96921e36, rel=1e-6)


def test_time_decoding(mean_file):
    path, _ = mean_file
    with xr.open_dataset(path) as ds:
        t = ds.time.values
        assert all(isinstance(v, cftime.Datetime360Day) for v in t)
        assert list(t) == [cftime.Datetime360Day(1, 1, 16), cftime.Datetime360Day(1, 2, 1)]
        tb = ds.time_bounds.values
        assert isinstance(tb[0, 0], cftime.Datetime360Day)
        assert tb[0, 0] == cftime.Datetime360Day(1, 1, 1)
        assert tb[0, 1] == tb[1, 0] == tb[1, 1] == cftime.Datetime360Day(1, 2, 1)
        assert ds.time.encoding["calendar"] == "360_day"
        assert ds.time.encoding["units"] == "seconds since 0001-01-01 00:00:00"


def test_cf_attributes(mean_file):
    path, _ = mean_file
    with xr.open_dataset(path) as ds:
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert ds.attrs["title"] == "test" and ds.attrs["config"] == "box" and "history" in ds.attrs
        assert ds.time.attrs["axis"] == "T" and ds.time.attrs["standard_name"] == "time"
        assert ds.time.attrs["bounds"] == "time_bounds"
        for n, axis, sn in [("x_t", "X", "longitude"), ("x_u", "X", "longitude"),
                            ("y_t", "Y", "latitude"), ("y_v", "Y", "latitude"),
                            ("depth_t", "Z", "depth"), ("depth_w", "Z", "depth")]:
            assert ds[n].attrs["axis"] == axis and ds[n].attrs["standard_name"] == sn
            assert "units" in ds[n].attrs and "long_name" in ds[n].attrs
        assert ds.x_t.attrs["units"] == "degrees_east" and ds.y_v.attrs["units"] == "degrees_north"
        assert ds.depth_t.attrs["positive"] == ds.depth_w.attrs["positive"] == "down"
        assert ds.x_u.attrs["c_grid_axis_shift"] == ds.y_v.attrs["c_grid_axis_shift"] == 0.5
        assert "c_grid_axis_shift" not in ds.x_t.attrs
        for f in FIELDS:
            a = ds[f.name].attrs
            assert a["units"] == f.units and a["long_name"] == f.long_name
            assert a["standard_name"] == f.standard_name and a["cell_methods"] == "time: mean"
        assert ds.area_t.attrs["units"] == "m2"


def test_snapshot_cartesian(tmp_path):
    path = tmp_path / "snap.nc"
    axes = make_axes()
    axes = AxisSpec(**{**axes.__dict__, "x_units": "m", "y_units": "m"})
    fields = [FieldSpec("zeta", "F", 2, "s-1", "relative vorticity"),
              FieldSpec("vo", "V", 3, "m s-1", "meridional velocity")]
    rng = np.random.default_rng(1)
    with NetcdfWriter(path, axes, fields, start_date="0010-06-01", mode="snapshot") as w:
        for k in range(3):
            w.write(k * 360 * DAY, {"zeta": rng.standard_normal((NY, NX)),
                                    "vo": rng.standard_normal((NZ, NY, NX))})
    with xr.open_dataset(path) as ds:
        assert "time_bounds" not in ds.variables and "bounds" not in ds.time.attrs
        assert ds.zeta.dims == ("time", "y_v", "x_u") and ds.vo.dims == ("time", "depth_t", "y_v", "x_t")
        assert ds.zeta.attrs["cell_methods"] == "time: point" and "standard_name" not in ds.zeta.attrs
        assert ds.x_u.attrs["standard_name"] == "projection_x_coordinate"
        assert ds.y_t.attrs["standard_name"] == "projection_y_coordinate"
        assert [t.year for t in ds.time.values] == [10, 11, 12]
        assert ds.time.values[1] == cftime.Datetime360Day(11, 6, 1)


def test_write_errors_and_partial_file(tmp_path):
    path = tmp_path / "err.nc"
    d = {"zos": np.zeros((NY, NX)), "uo": np.zeros((NZ, NY, NX)), "wo": np.zeros((NZ, NY, NX))}
    w = NetcdfWriter(path, make_axes(), FIELDS)
    w.write(DAY, d)
    with pytest.raises(ValueError):
        w.write(DAY, d)                                   # time must increase
    with pytest.raises(KeyError):
        w.write(2 * DAY, {"zos": d["zos"]})               # missing fields
    with pytest.raises(ValueError):
        w.write(2 * DAY, {**d, "uo": np.zeros((NZ, NY, NX + 1))})
    # earlier record is readable while the writer is still open (synced after write)
    with xr.open_dataset(path) as ds:
        assert ds.sizes["time"] == 1
    w.close()
    w.close()
    with pytest.raises(ValueError):
        FieldSpec("bad", "W", 2, "1", "2-D W field")


def test_time_mean_matches_numpy():
    rng = np.random.default_rng(2)
    shapes = {"a": (NY, NX), "b": (NZ, NY, NX)}
    tm = TimeMean(shapes)
    samples = [{k: rng.standard_normal(s) for k, s in shapes.items()} for _ in range(5)]
    samples[0]["a"][1, 1] = np.nan
    for s in samples:
        tm.add(s)
    assert tm.count == 5
    m = tm.mean()
    for k in shapes:
        np.testing.assert_allclose(m[k], np.mean([s[k] for s in samples], axis=0), rtol=1e-12)
    assert np.isnan(m["a"][1, 1])

    tm.reset()
    assert tm.count == 0
    w = rng.uniform(0.5, 2.0, 5)
    acc = tm._sum["b"]
    for s, wi in zip(samples, w):
        tm.add(s, weight=wi)
    assert tm._sum["b"] is acc                           # accumulated in place
    assert tm.count == pytest.approx(w.sum())
    for k in shapes:
        np.testing.assert_allclose(tm.mean()[k], np.average([s[k] for s in samples], axis=0, weights=w),
                                   rtol=1e-12)
    tm.reset()
    with pytest.raises(ValueError):
        tm.mean()


def _zeros(k=0.0):
    return {"zos": np.full((NY, NX), k), "uo": np.full((NZ, NY, NX), k), "wo": np.full((NZ, NY, NX), k)}


def test_append_drops_later_records_and_continues(tmp_path):
    path = tmp_path / "a.nc"
    with NetcdfWriter(path, make_axes(), FIELDS) as w:
        for k in range(3):
            w.write((k + 0.5) * DAY, _zeros(k), ((k * DAY), (k + 1) * DAY))
    with NetcdfWriter(path, make_axes(), FIELDS, append=True, keep_until_s=2 * DAY, history="continued") as w:
        assert (w.dropped, w.incomplete, w.nrecords) == (1, 0, 2)
        with pytest.raises(ValueError):
            w.write(1.5 * DAY, _zeros())                  # time must go on increasing across segments
        w.write(2.5 * DAY, _zeros(7.0))                    # default bounds: (last record's end, time)
    with xr.open_dataset(path, decode_times=False) as ds:
        np.testing.assert_array_equal(ds.time.values, [0.5 * DAY, 1.5 * DAY, 2.5 * DAY])
        np.testing.assert_array_equal(ds.time_bounds.values[2], [2 * DAY, 2.5 * DAY])
        assert ds.zos.values[2, 1, 1] == 7.0 and ds.zos.values[1, 1, 1] == 1.0
        assert ds.attrs["history"].count("\n") == 2 and ds.attrs["history"].endswith("continued")
        assert "1 record(s) dropped" in ds.attrs["history"]
        assert ds.zos.encoding["_FillValue"] == pytest.approx(9.96921e36, rel=1e-6)


def test_append_refuses_another_dataset_untouched(tmp_path):
    path = tmp_path / "a.nc"
    with NetcdfWriter(path, make_axes(), FIELDS) as w:
        w.write(0.5 * DAY, _zeros())
    before = path.read_bytes()
    axes = make_axes()
    wider = AxisSpec(**{**axes.__dict__, "x_t": np.arange(NX + 1.0), "x_u": np.arange(NX + 1.0) + 0.5})
    cases = [(dict(axes=axes, fields=FIELDS[:2]), "fields uo, wo, zos != uo, zos"),
             (dict(axes=axes, fields=FIELDS, mode="snapshot"), "mode mean != snapshot"),
             (dict(axes=axes, fields=FIELDS, start_date="0001-02-01"), "time units"),
             (dict(axes=wider, fields=FIELDS), f"grid: x_t has {NX} points != {NX + 1}")]
    for kw, words in cases:
        a, f = kw.pop("axes"), kw.pop("fields")
        with pytest.raises(OutputMismatch, match=words):
            NetcdfWriter(path, a, f, append=True, keep_until_s=0.0, **kw)
        assert path.read_bytes() == before
    with NetcdfWriter(tmp_path / "new.nc", axes, FIELDS, append=True) as w:     # absent: created
        assert w.nrecords == 0


def test_time_mean_restores_its_sums():
    shapes = {"a": (NY, NX)}
    one, two = TimeMean(shapes), TimeMean(shapes)
    rng = np.random.default_rng(3)
    samples = [{"a": rng.standard_normal((NY, NX))} for _ in range(4)]
    for s in samples:
        one.add(s)
    for s in samples[:2]:
        two.add(s)
    carried = TimeMean(shapes)
    carried.restore({k: v.copy() for k, v in two.sums.items()}, two.count)
    for s in samples[2:]:
        carried.add(s)
    assert carried.count == 4 and np.array_equal(carried.mean()["a"], one.mean()["a"])
