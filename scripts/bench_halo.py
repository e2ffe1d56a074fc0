#!/usr/bin/env python
"""Cost of one halo exchange between ranks, for the scaling model in the README.

    mpirun -n 2 python scripts/bench_halo.py [--nx 50 --ny 199 --nz 36 --halo 3]

Splits an nx x ny grid (periodic in x) over the ranks and times exchanges of two 2-D
fields (the barotropic sub-step's ubar, vbar) and of two 3-D fields (u, v or T, S).
Ends with a JSON line {"ranks", "us_per_exchange_2d", "us_per_exchange_3d", "bytes_3d"}.
"""
import argparse
import json
import time

import numpy as np
from mpi4py import MPI

from ocean.domain import Domain, choose_layout


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nx", type=int, default=50)
    p.add_argument("--ny", type=int, default=199)
    p.add_argument("--nz", type=int, default=36)
    p.add_argument("--halo", type=int, default=3)
    p.add_argument("--repeat", type=int, default=300)
    a = p.parse_args()
    comm = MPI.COMM_WORLD
    lay = choose_layout(np.ones((a.ny, a.nx), bool), comm.Get_size(), a.halo)
    d = Domain(lay, comm.Get_rank(), comm if comm.Get_size() > 1 else None, True, a.halo)
    shape2 = (d.ny + 2 * a.halo, d.nx + 2 * a.halo)
    res = {}
    for name, arrs in (("2d", (np.zeros(shape2), np.zeros(shape2))),
                       ("3d", (np.zeros((a.nz,) + shape2), np.zeros((a.nz,) + shape2)))):
        for _ in range(10):
            d.halo.exchange(*arrs)
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(a.repeat):
            d.halo.exchange(*arrs)
        comm.Barrier()
        res[name] = (time.perf_counter() - t0) / a.repeat * 1e6
    perim = 2 * (d.nx + d.ny) * a.halo
    out = {"ranks": comm.Get_size(), "tile": [d.nx, d.ny], "us_per_exchange_2d": res["2d"],
           "us_per_exchange_3d": res["3d"], "bytes_3d": perim * a.nz * 2 * 8}
    if comm.Get_rank() == 0:
        print(f"{comm.Get_size()} ranks, {lay.px}x{lay.py} tiles of {d.nx}x{d.ny}: 2-D exchange "
              f"{res['2d']:.1f} us, 3-D exchange {res['3d']:.1f} us")
        print(json.dumps(out))


if __name__ == "__main__":
    main()
