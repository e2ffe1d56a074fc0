"""The two-grid-point part of a velocity field in latitude, as a fraction of the field.

    python scripts/grid_noise.py RUNDIR/output.nc [--var uo] [--record -1] [--level 0]
                                 [--min-lat 0] [--by-level] [--by-row]

For each column, on every row j whose points j-1, j, j+1 are all wet, the two-grid-point
residual is ``r = (u[j+1] - 2 u[j] + u[j-1]) / 4`` (the part of u that alternates in sign from
row to row; a smooth flow has |r| of a few per cent of |u|). The number printed is
``rms(r) / rms(u)`` over those points (``ocean.diagnostics.two_grid_ratio``), on one level of
one record (by default the surface of the last record, the figure issue 11 quotes for the
one-year dino_r4 run). ``--min-lat`` leaves out the rows within that latitude of the equator,
``--by-level`` prints the ratio of every level and ``--by-row`` |u| and |r| of every row, to
see where a pattern sits (docs/numerics.md, "Two-grid-point pattern").
"""
from __future__ import annotations

import argparse

import numpy as np
import xarray as xr

from ocean.diagnostics import two_grid_ratio


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--var", default="uo")
    p.add_argument("--record", type=int, default=-1)
    p.add_argument("--level", type=int, default=0)
    p.add_argument("--min-lat", type=float, default=0.0)
    p.add_argument("--by-level", action="store_true")
    p.add_argument("--by-row", action="store_true")
    a = p.parse_args(argv)
    with xr.open_dataset(a.path, decode_times=False) as ds:
        da = ds[a.var].isel(time=a.record)
        u3 = np.nan_to_num(da.values)
        ydim = da.dims[-2]
        lat = ds[ydim].values if ydim in ds.coords else np.arange(u3.shape[-2], dtype=float)
    far = np.abs(lat) >= a.min_lat
    u3 = np.where(far[None, :, None], u3, 0.0)
    u = u3[a.level]
    print(f"{a.path} {a.var} record {a.record} level {a.level}"
          + (f" |lat| >= {a.min_lat:g}" if a.min_lat else "")
          + f": two-grid ratio {two_grid_ratio(u):.3f} (rms {np.sqrt(np.mean(u[u != 0] ** 2)):.3e})")
    if a.by_level:
        for k in range(u3.shape[0]):
            if np.any(u3[k]):
                print(f"  level {k:2d}: {two_grid_ratio(u3[k]):.3f}")
    if a.by_row:
        for j in range(1, u.shape[0] - 1):
            r = 0.25 * (u[j + 1] - 2 * u[j] + u[j - 1])
            print(f"  row {j:3d} y {float(lat[j]):8.2f}: rms u {np.sqrt(np.mean(u[j] ** 2)):.3e}  "
                  f"rms r {np.sqrt(np.mean(r ** 2)):.3e}")


if __name__ == "__main__":
    main()
