"""Splitting the MPI world into an ocean group and an ML group, and mapping ocean ranks to
the ML rank that serves them. Transport only: nothing here knows about oceans or nets."""
from __future__ import annotations

from dataclasses import dataclass

TAG_HELLO, TAG_DATA, TAG_RESULT, TAG_ERROR, TAG_STOP, TAG_TIMERS = 101, 102, 103, 104, 105, 106


@dataclass
class Groups:
    world: object            # COMM_WORLD
    local: object            # communicator of this rank's group
    is_ml: bool
    n_ocean: int
    n_ml: int
    spin: bool = False       # every rank on this node owns its cores: poll without sleeping

    def ml_world_rank(self, ocean_rank: int) -> int:
        """World rank of the ML rank serving ocean rank ``ocean_rank`` (contiguous groups)."""
        return self.n_ocean + (ocean_rank * self.n_ml) // self.n_ocean

    def ocean_ranks_of(self, ml_index: int) -> list[int]:
        """Ocean ranks (= world ranks) served by ML rank ``ml_index``."""
        return [r for r in range(self.n_ocean) if (r * self.n_ml) // self.n_ocean == ml_index]


def split_world(world, n_ml: int, threads: int = 1) -> Groups:
    """The last ``n_ml`` ranks become the ML group (with ``mpirun A : B`` (MPMD), the ranks
    of the second program are the ML group and ``n_ml`` must match their number).
    ``threads``: the busy threads of this rank (to tell whether the node is oversubscribed)."""
    from mpi4py import MPI

    from .polling import owns_cores
    size, rank = world.Get_size(), world.Get_rank()
    appnum = world.Get_attr(MPI.APPNUM)
    if appnum is not None:
        n_app1 = world.allreduce(1 if appnum >= 1 else 0)
        if n_app1 > 0:
            if n_app1 != n_ml:
                raise ValueError(f"the MPMD launch starts {n_app1} ML ranks but closure.ml_ranks = {n_ml}")
    if not 0 < n_ml < size:
        raise ValueError(f"closure.ml_ranks = {n_ml} needs more than {n_ml} MPI ranks in all (got {size})")
    n_ocean = size - n_ml
    is_ml = rank >= n_ocean
    local = world.Split(1 if is_ml else 0, rank)
    return Groups(world, local, is_ml, n_ocean, n_ml, owns_cores(world, threads))
