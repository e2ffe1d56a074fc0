"""Halo exchange between tiles: non-blocking MPI into preallocated buffers, corners included.

The exchange runs in two phases: east-west over the interior rows, then north-south over
whole rows (halo columns included), which fills the corners. A neighbour that is the
tile itself (one tile across a periodic x) is a local copy; a missing neighbour (a closed
edge, or a land tile that has no rank) leaves zeros, the value of land.
"""
from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter

import numpy as np

from .kernels import serial_kernel

NONE = -1


@serial_kernel
def _copy_regions(arrays, j0, j1, i0, i1, buf, to_buf):
    """Copy a[:, j0:j1, i0:i1] of every array in the tuple to buf (to_buf) or back."""
    n = 0
    for a in arrays:
        for k in range(a.shape[0]):
            for j in range(j0, j1):
                for i in range(i0, i1):
                    if to_buf:
                        buf[n] = a[k, j, i]
                    else:
                        a[k, j, i] = buf[n]
                    n += 1


@serial_kernel
def _fill_regions(arrays, j0, j1, i0, i1, value):
    for a in arrays:
        for k in range(a.shape[0]):
            for j in range(j0, j1):
                for i in range(i0, i1):
                    a[k, j, i] = value


@serial_kernel
def _periodic_x(a, nhalo, nx, j0, j1):
    """One tile across a periodic x: wrap the halo columns of rows j0:j1."""
    for k in range(a.shape[0]):
        for j in range(j0, j1):
            for i in range(nhalo):
                a[k, j, i] = a[k, j, nx + i]
                a[k, j, nx + nhalo + i] = a[k, j, nhalo + i]


@dataclass
class Neighbours:
    """Ranks of the four neighbours in the ocean communicator (NONE where there is none)."""
    west: int = NONE
    east: int = NONE
    south: int = NONE
    north: int = NONE


class Halo:
    """Exchanges the halos of lists of arrays that share a tile's horizontal shape."""

    def __init__(self, ny: int, nx: int, nhalo: int, nbr: Neighbours, comm=None, rank: int = 0):
        self.ny, self.nx, self.nhalo, self.nbr, self.comm, self.rank = ny, nx, nhalo, nbr, comm, rank
        self._buffers: dict[tuple, dict[str, np.ndarray]] = {}
        self.seconds = 0.0          # time spent exchanging (for the scaling benchmark)
        self.calls = 0

    def _bufs(self, arrays) -> dict[str, np.ndarray]:
        key = tuple(a.shape for a in arrays)
        if key not in self._buffers:
            nlev = sum(1 if a.ndim == 2 else a.shape[0] for a in arrays)
            nhalo, ny, nx = self.nhalo, self.ny, self.nx
            self._buffers[key] = {d: np.empty(nlev * nhalo * (ny if d[0] in "we" else nx + 2 * nhalo))
                                  for d in ("ws", "es", "wr", "er", "ss", "ns", "sr", "nr")}
        return self._buffers[key]

    @staticmethod
    def _as3(a):
        return a[None] if a.ndim == 2 else a

    def exchange(self, *arrays: np.ndarray) -> None:
        t0 = perf_counter()
        self._phase_x(arrays)
        self._phase_y(arrays)
        self.seconds += perf_counter() - t0
        self.calls += 1

    def _phase_x(self, arrays):
        nhalo, ny, nx, nbr = self.nhalo, self.ny, self.nx, self.nbr
        rows = slice(nhalo, nhalo + ny)
        if nbr.west == self.rank and nbr.east == self.rank:      # periodic, one tile across
            for a in arrays:
                _periodic_x(self._as3(a), nhalo, nx, nhalo, nhalo + ny)
            return
        self._swap(arrays, nbr.west, nbr.east,
                   send_lo=(rows, slice(nhalo, 2 * nhalo)), send_hi=(rows, slice(nx, nx + nhalo)),
                   recv_lo=(rows, slice(0, nhalo)), recv_hi=(rows, slice(nx + nhalo, nx + 2 * nhalo)),
                   keys=("ws", "es", "wr", "er"), tag=10)

    def _phase_y(self, arrays):
        nhalo, ny, nbr = self.nhalo, self.ny, self.nbr
        cols = slice(None)
        self._swap(arrays, nbr.south, nbr.north,
                   send_lo=(slice(nhalo, 2 * nhalo), cols), send_hi=(slice(ny, ny + nhalo), cols),
                   recv_lo=(slice(0, nhalo), cols), recv_hi=(slice(ny + nhalo, ny + 2 * nhalo), cols),
                   keys=("ss", "ns", "sr", "nr"), tag=20)

    def _swap(self, arrays, lo, hi, send_lo, send_hi, recv_lo, recv_hi, keys, tag):
        arrays3 = tuple(self._as3(a) for a in arrays)
        if lo == NONE and hi == NONE:
            _fill_regions(arrays3, *self._bounds(recv_lo), 0.0)
            _fill_regions(arrays3, *self._bounds(recv_hi), 0.0)
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
            _copy_regions(arrays3, *self._bounds(send_lo), s_lo, True)
            reqs.append(self.comm.Isend(s_lo, dest=lo, tag=tag))
        if hi != NONE:
            _copy_regions(arrays3, *self._bounds(send_hi), s_hi, True)
            reqs.append(self.comm.Isend(s_hi, dest=hi, tag=tag + 1))
        MPI.Request.Waitall(reqs)
        for nb, region, buf in ((lo, recv_lo, r_lo), (hi, recv_hi, r_hi)):
            if nb == NONE:
                _fill_regions(arrays3, *self._bounds(region), 0.0)
            else:
                _copy_regions(arrays3, *self._bounds(region), buf, False)

    def _bounds(self, region):
        (js, is_) = region
        nj, ni = self.ny + 2 * self.nhalo, self.nx + 2 * self.nhalo
        j0, j1, _ = js.indices(nj)
        i0, i1, _ = is_.indices(ni)
        return j0, j1, i0, i1
