"""Domain decomposition: a 2-D process grid of tiles, land tiles dropped, MPI helpers.

The global grid of NX x NY T points is cut into px x py tiles whose sizes differ by at most
one point per direction. Tiles that hold no ocean point get no rank (as NEMO does), so a
user who asks for N ranks gets N working tiles; with ``parallel.px``/``py`` unset the
process grid is the one that gives exactly N ocean tiles with the smallest largest tile.
Ranks are numbered over the ocean tiles in row-major order (i fastest).

Nothing here enters the time step except the halo exchange: global reductions are for
diagnostics only, so results are bitwise identical whatever the decomposition.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import ConfigError
from .halo import NONE, Halo, Neighbours


def split(n: int, p: int) -> list[tuple[int, int]]:
    """(start, size) of p nearly equal parts of n (the first n % p parts one longer)."""
    base, extra = divmod(n, p)
    out, start = [], 0
    for r in range(p):
        size = base + (1 if r < extra else 0)
        out.append((start, size))
        start += size
    return out


@dataclass
class Layout:
    px: int
    py: int
    xs: list[tuple[int, int]]
    ys: list[tuple[int, int]]
    ocean: np.ndarray            # (py, px) bool: tile holds ocean
    rank_of: np.ndarray          # (py, px) int: rank of the tile, NONE for land tiles

    @property
    def n_ocean(self) -> int:
        return int(self.ocean.sum())

    @property
    def n_land(self) -> int:
        return self.px * self.py - self.n_ocean


def make_layout(wet: np.ndarray, px: int, py: int) -> Layout:
    NY, NX = wet.shape
    xs, ys = split(NX, px), split(NY, py)
    ocean = np.array([[wet[j0:j0 + ny, i0:i0 + nx].any() for (i0, nx) in xs] for (j0, ny) in ys])
    rank_of = np.full((py, px), NONE)
    rank_of[ocean] = np.arange(int(ocean.sum()))
    return Layout(px, py, xs, ys, ocean, rank_of)


def choose_layout(wet: np.ndarray, nranks: int, halo: int, px: int = 0, py: int = 0,
                  where: str = "parallel") -> Layout:
    """The process grid for ``nranks`` ocean ranks (``px``/``py`` = 0: automatic)."""
    NY, NX = wet.shape
    if px or py:
        if not (px and py):
            raise ConfigError(f"{where}: set both 'parallel.px' and 'parallel.py', or neither")
        if NX // px < halo or NY // py < halo:
            raise ConfigError(f"{where}: a {px}x{py} process grid gives tiles narrower than the halo "
                              "(or a closure's halo) "
                              f"({halo}) on a {NX}x{NY} grid")
        lay = make_layout(wet, px, py)
        if lay.n_ocean != nranks:
            raise ConfigError(f"{where}: parallel.px x parallel.py = {px}x{py} gives {lay.n_ocean} ocean tiles "
                              f"({lay.n_land} land tiles dropped) but {nranks} ocean ranks were started")
        return lay
    best = None
    for qx in range(1, NX // halo + 1):
        for qy in range(1, NY // halo + 1):
            if qx * qy < nranks or qx * qy > 2 * nranks + 8:
                continue
            lay = make_layout(wet, qx, qy)
            if lay.n_ocean != nranks:
                continue
            biggest = max(n for _, n in lay.xs) * max(n for _, n in lay.ys)
            halo_pts = max(n for _, n in lay.xs) + max(n for _, n in lay.ys)
            key = (biggest, halo_pts, qx * qy)
            if best is None or key < best[0]:
                best = (key, lay)
    if best is None:
        raise ConfigError(f"{where}: cannot cut the {NX}x{NY} grid into {nranks} ocean tiles of at least "
                          f"{halo} points across; use fewer ranks")
    return best[1]


@dataclass
class Domain:
    """This rank's tile and the means to talk to the other ocean ranks."""
    layout: Layout
    rank: int
    comm: object = None          # mpi4py communicator of the ocean ranks, None when serial
    periodic_x: bool = False
    halo_width: int = 3
    halo: Halo = field(init=False)

    def __post_init__(self):
        lay = self.layout
        tj, ti = (int(a[0]) for a in np.nonzero(lay.rank_of == self.rank))
        self.ti, self.tj = ti, tj
        self.i0, self.nx = lay.xs[ti]
        self.j0, self.ny = lay.ys[tj]

        def at(tj2, ti2):
            if self.periodic_x:
                ti2 %= lay.px
            if not (0 <= ti2 < lay.px and 0 <= tj2 < lay.py):
                return NONE
            return int(lay.rank_of[tj2, ti2])
        nbr = Neighbours(west=at(tj, ti - 1), east=at(tj, ti + 1), south=at(tj - 1, ti), north=at(tj + 1, ti))
        self.halo = Halo(self.ny, self.nx, self.halo_width, nbr, comm=self.comm, rank=self.rank)

    @property
    def size(self) -> int:
        return self.layout.n_ocean

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def allreduce(self, values, op: str = "sum") -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self.comm is None:
            return values
        from mpi4py import MPI
        out = np.empty_like(values)
        self.comm.Allreduce(values, out, op={"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op])
        return out

    def gather(self, arrays: list[np.ndarray], fill: float = 0.0) -> list[np.ndarray] | None:
        """Assemble interior tiles (each (ny, nx) or (nz, ny, nx)) into global arrays on rank
        0 (land tiles get ``fill``); None on the other ranks."""
        lay = self.layout
        NX, NY = lay.xs[-1][0] + lay.xs[-1][1], lay.ys[-1][0] + lay.ys[-1][1]
        flat = np.concatenate([np.ascontiguousarray(a, dtype=np.float64).ravel() for a in arrays]) if arrays else np.empty(0)
        if self.comm is None:
            parts = [flat]
        else:
            parts = self.comm.gather(flat, root=0)
            if not self.is_root:
                return None
        lead = [a.shape[:-2] for a in arrays]
        out = [np.full(s + (NY, NX), fill) for s in lead]
        for r, buf in enumerate(parts):
            tj, ti = (int(a[0]) for a in np.nonzero(lay.rank_of == r))
            (i0, nx), (j0, ny) = lay.xs[ti], lay.ys[tj]
            n = 0
            for o, s in zip(out, lead):
                m = int(np.prod(s, dtype=int)) * ny * nx
                o[..., j0:j0 + ny, i0:i0 + nx] = buf[n:n + m].reshape(s + (ny, nx))
                n += m
        return out

    def bcast(self, obj):
        return obj if self.comm is None else self.comm.bcast(obj, root=0)

    def barrier(self):
        if self.comm is not None:
            self.comm.Barrier()


def serial_domain(nx: int, ny: int, periodic_x: bool, halo: int) -> Domain:
    lay = make_layout(np.ones((ny, nx), bool), 1, 1)
    return Domain(lay, 0, None, periodic_x, halo)


def _closure_halo(model_file: str) -> int:
    """The halo a closure file declares; 0 for a file that cannot be read (the closure's own
    set-up then reports it, with the key that names it)."""
    from .closure_hook import read_spec
    try:
        return read_spec(model_file).halo
    except ConfigError:
        return 0


def mpi_domain(cfg, wet: np.ndarray, periodic_x: bool, comm) -> Domain:
    """The domain of this rank of ``comm`` (the ocean ranks). Tiles are at least as wide as
    the halo and as every closure's receptive-field halo (a closure's wide halo comes from
    the direct neighbours only)."""
    p, halo = cfg.parallel, cfg.grid.halo
    widest = max([halo] + [_closure_halo(c.model_file) for c in cfg.closures])
    lay = choose_layout(wet, comm.Get_size(), widest, p.px, p.py)
    return Domain(lay, comm.Get_rank(), comm if comm.Get_size() > 1 else None, periodic_x, halo)
