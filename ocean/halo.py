"""Halo exchange between tiles: non-blocking MPI into preallocated buffers, corners included.

The exchange runs in two phases: east-west over the interior rows, then north-south over
whole rows (halo columns included), which fills the corners. A neighbour that is the
tile itself (one tile across a periodic x) is a local copy; a missing neighbour (a closed
edge, or a land tile that has no rank) leaves zeros, the value of land.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NONE = -1


@dataclass
class Neighbours:
    """Ranks of the four neighbours in the ocean communicator (NONE where there is none)."""
    west: int = NONE
    east: int = NONE
    south: int = NONE
    north: int = NONE


class Halo:
    """Exchanges the halos of lists of arrays that share a tile's horizontal shape."""

    def __init__(self, ny: int, nx: int, h: int, nbr: Neighbours, comm=None, rank: int = 0):
        self.ny, self.nx, self.h, self.nbr, self.comm, self.rank = ny, nx, h, nbr, comm, rank
        self._buffers: dict[tuple, dict[str, np.ndarray]] = {}
        self.seconds = 0.0          # time spent exchanging (for the scaling benchmark)
        self.calls = 0

    def _bufs(self, arrays) -> dict[str, np.ndarray]:
        key = tuple(a.shape for a in arrays)
        if key not in self._buffers:
            nlev = sum(1 if a.ndim == 2 else a.shape[0] for a in arrays)
            h, ny, nx = self.h, self.ny, self.nx
            self._buffers[key] = {d: np.empty(nlev * h * (ny if d[0] in "we" else nx + 2 * h))
                                  for d in ("ws", "es", "wr", "er", "ss", "ns", "sr", "nr")}
        return self._buffers[key]

    @staticmethod
    def _as3(a):
        return a[None] if a.ndim == 2 else a

    def exchange(self, *arrays: np.ndarray) -> None:
        from time import perf_counter
        t0 = perf_counter()
        self._phase_x(arrays)
        self._phase_y(arrays)
        self.seconds += perf_counter() - t0
        self.calls += 1

    def _phase_x(self, arrays):
        h, ny, nx, nbr = self.h, self.ny, self.nx, self.nbr
        rows = slice(h, h + ny)
        if nbr.west == self.rank and nbr.east == self.rank:      # periodic, one tile across
            for a in map(self._as3, arrays):
                a[:, rows, 0:h] = a[:, rows, nx:nx + h]
                a[:, rows, nx + h:nx + 2 * h] = a[:, rows, h:2 * h]
            return
        self._swap(arrays, nbr.west, nbr.east,
                   send_lo=(rows, slice(h, 2 * h)), send_hi=(rows, slice(nx, nx + h)),
                   recv_lo=(rows, slice(0, h)), recv_hi=(rows, slice(nx + h, nx + 2 * h)),
                   keys=("ws", "es", "wr", "er"), tag=10)

    def _phase_y(self, arrays):
        h, ny, nbr = self.h, self.ny, self.nbr
        cols = slice(None)
        self._swap(arrays, nbr.south, nbr.north,
                   send_lo=(slice(h, 2 * h), cols), send_hi=(slice(ny, ny + h), cols),
                   recv_lo=(slice(0, h), cols), recv_hi=(slice(ny + h, ny + 2 * h), cols),
                   keys=("ss", "ns", "sr", "nr"), tag=20)

    def _swap(self, arrays, lo, hi, send_lo, send_hi, recv_lo, recv_hi, keys, tag):
        arrays3 = [self._as3(a) for a in arrays]
        if lo == NONE and hi == NONE:
            for a in arrays3:
                a[(slice(None),) + recv_lo] = 0.0
                a[(slice(None),) + recv_hi] = 0.0
            return
        b = self._bufs(arrays)
        s_lo, s_hi, r_lo, r_hi = (b[k] for k in keys)
        reqs = []
        from mpi4py import MPI
        if lo != NONE:
            reqs.append(self.comm.Irecv(r_lo, source=lo, tag=tag + 1))
        if hi != NONE:
            reqs.append(self.comm.Irecv(r_hi, source=hi, tag=tag))
        if lo != NONE:
            self._pack(arrays3, send_lo, s_lo)
            reqs.append(self.comm.Isend(s_lo, dest=lo, tag=tag))
        if hi != NONE:
            self._pack(arrays3, send_hi, s_hi)
            reqs.append(self.comm.Isend(s_hi, dest=hi, tag=tag + 1))
        MPI.Request.Waitall(reqs)
        for nb, region, buf in ((lo, recv_lo, r_lo), (hi, recv_hi, r_hi)):
            if nb == NONE:
                for a in arrays3:
                    a[(slice(None),) + region] = 0.0
            else:
                self._unpack(arrays3, region, buf)

    @staticmethod
    def _pack(arrays3, region, buf):
        n = 0
        for a in arrays3:
            blk = a[(slice(None),) + region]
            m = blk.size
            buf[n:n + m].reshape(blk.shape)[...] = blk
            n += m

    @staticmethod
    def _unpack(arrays3, region, buf):
        n = 0
        for a in arrays3:
            blk = a[(slice(None),) + region]
            m = blk.size
            a[(slice(None),) + region] = buf[n:n + m].reshape(blk.shape)
            n += m


def serial_halo(ny: int, nx: int, h: int, periodic_x: bool) -> Halo:
    """The exchange of a single tile covering the whole domain."""
    nb = Neighbours(west=0, east=0) if periodic_x else Neighbours()
    return Halo(ny, nx, h, nb, comm=None, rank=0)
