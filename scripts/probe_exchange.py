#!/usr/bin/env python
"""Exchange throughput of the coupler against raw MPI, on the same buffers, in one job.

    mpirun -n 2 python scripts/probe_exchange.py IN_SHAPE OUT_SHAPE [--dtype float32] [--reps 200]
    mpirun -n 2 python scripts/probe_exchange.py 8,217,68 1,199,50

Rank 0 plays an ocean rank (``coupling.Client``), rank 1 an ML rank (``coupling.Server``)
whose inference does nothing, so a round trip is pure exchange: the input tile (halo
attached) goes one way, the output tile comes back, through the coupler's padded batch.
The reference is a raw mpi4py ``Send``/``Recv`` ping-pong of the same two buffers. The two
alternate in blocks of ``--reps`` round trips, ``--rounds`` times, and the fastest block of
each counts. Throughput = (input bytes + output bytes) / round trip. Ends with one JSON
line: {"bytes", "coupler_round_trip_s", "mpi_round_trip_s", "exchange_GBps", "mpi_p2p_GBps"}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("in_shape", help="input tile C,Y,X (halo included)")
    p.add_argument("out_shape", help="output tile C,Y,X")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    from mpi4py import MPI

    from coupling.exchange import Client, Server
    from coupling.polling import Poller, owns_cores
    from coupling.timers import Timers
    world = MPI.COMM_WORLD
    if world.Get_size() != 2:
        print("probe_exchange: run with mpirun -n 2", file=sys.stderr)
        return 2
    rank = world.Get_rank()
    shape_in = tuple(int(x) for x in a.in_shape.split(","))
    shape_out = tuple(int(x) for x in a.out_shape.split(","))
    dt = np.dtype(a.dtype)
    poller = Poller(owns_cores(world, 1))
    nbytes = (np.prod(shape_in) + np.prod(shape_out)) * dt.itemsize
    buf_in = np.ones((1, *shape_in), dt)
    buf_out = np.zeros((1, *shape_out), dt)
    best = {"coupler": np.inf, "mpi": np.inf}

    def no_inference(batch_in, batch_out):
        pass

    def make_batches(descs):
        return np.zeros((1, *shape_in), dt), np.zeros((1, *shape_out), dt)

    for _ in range(a.rounds):
        # the coupler: Client.post/wait against Server.serve
        world.Barrier()
        if rank == 0:
            client = Client(world, 1, buf_in, buf_out, 60.0, Timers(), poller)
            client.handshake({"shape_in": [1, *shape_in], "shape_out": [1, *shape_out]})
            for _ in range(5):                       # the server's warm-up batches
                client.post()
                client.wait()
            t0 = time.perf_counter()
            for _ in range(a.reps):
                client.post()
                client.wait()
            best["coupler"] = min(best["coupler"], (time.perf_counter() - t0) / a.reps)
            client.stop()
        else:
            server = Server(world, [0], lambda d: None, make_batches, no_inference, Timers(), poller)
            server.serve(server.handshake(), warmup=5)
        # raw MPI on the same buffers
        world.Barrier()
        t0 = time.perf_counter()
        for _ in range(a.reps):
            if rank == 0:
                world.Send(buf_in, 1, tag=7)
                world.Recv(buf_out, 1, tag=8)
            else:
                world.Recv(buf_in, 0, tag=7)
                world.Send(buf_out, 0, tag=8)
        best["mpi"] = min(best["mpi"], (time.perf_counter() - t0) / a.reps)
    if rank == 0:
        r = {"bytes": int(nbytes), "coupler_round_trip_s": best["coupler"], "mpi_round_trip_s": best["mpi"],
             "exchange_GBps": nbytes / best["coupler"] / 1e9, "mpi_p2p_GBps": nbytes / best["mpi"] / 1e9,
             "spin": poller.spin}
        print(f"{nbytes / 1e6:.3f} MB per exchange: coupler round trip {best['coupler'] * 1e3:.3f} ms "
              f"({r['exchange_GBps']:.2f} GB/s), raw MPI {best['mpi'] * 1e3:.3f} ms ({r['mpi_p2p_GBps']:.2f} GB/s)")
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
