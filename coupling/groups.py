"""Splitting the MPI world into an ocean group and an ML group, and mapping ocean ranks to
the ML rank that serves them. Transport only: nothing here knows about oceans or nets.

The first ranks are the ocean group; the ML group follows, in one block of ranks per
remote service (one per remote closure, in declaration order). Each service has its own
duplicate of COMM_WORLD, so that its messages never meet another service's, whatever
their tags.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TAG_HELLO, TAG_DATA, TAG_RESULT, TAG_ERROR, TAG_STOP, TAG_TIMERS = 101, 102, 103, 104, 105, 106
TAG_STREAM = 107          # online training: samples, save and stop notices (coupling/streaming.py)


@dataclass
class Service:
    """The ML ranks of one service: world ranks ``first .. first + n_ml - 1``, and the
    communicator (a duplicate of COMM_WORLD, same rank numbers) its exchanges use."""
    index: int
    comm: object
    n_ocean: int
    first: int
    n_ml: int

    def ml_world_rank(self, ocean_rank: int) -> int:
        """World rank of the ML rank serving ocean rank ``ocean_rank`` (contiguous groups)."""
        return self.first + (ocean_rank * self.n_ml) // self.n_ocean

    def ocean_ranks_of(self, ml_index: int) -> list[int]:
        """Ocean ranks (= world ranks) served by this service's ML rank ``ml_index``."""
        return [r for r in range(self.n_ocean) if (r * self.n_ml) // self.n_ocean == ml_index]


@dataclass
class Groups:
    world: object            # COMM_WORLD
    local: object            # communicator of this rank's group
    is_ml: bool
    n_ocean: int
    n_ml: int                # ranks of the ML group, all services together
    spin: bool = False       # every rank on this node owns its cores: poll without sleeping
    services: list[Service] = field(default_factory=list)

    def my_service(self) -> Service | None:
        """On an ML rank, the service it belongs to (else None)."""
        rank = self.world.Get_rank()
        return next((s for s in self.services if s.first <= rank < s.first + s.n_ml), None)


def split_world(world, ml_blocks: list[int], spin: bool = False) -> Groups:
    """The last ``sum(ml_blocks)`` ranks become the ML group, ``ml_blocks[k]`` of them for
    service k (with ``mpirun A : B`` (MPMD), the ranks of the second program are the ML
    group and their number must match). ``spin``: every rank on this node owns its cores
    (``polling.owns_cores``), so ranks poll without sleeping. Collective over ``world``."""
    from mpi4py import MPI

    n_ml = sum(ml_blocks)
    size, rank = world.Get_size(), world.Get_rank()
    appnum = world.Get_attr(MPI.APPNUM)
    if appnum is not None:
        n_app1 = world.allreduce(1 if appnum >= 1 else 0)
        if n_app1 > 0:
            if n_app1 != n_ml:
                raise ValueError(f"the MPMD launch starts {n_app1} ML ranks but the closures ask for {n_ml} "
                                 "(closure.ml_ranks, summed over the remote closures)")
    if not 0 < n_ml < size:
        raise ValueError(f"the closures ask for {n_ml} ML ranks (closure.ml_ranks, summed over the remote "
                         f"closures): that needs more than {n_ml} MPI ranks in all (got {size})")
    n_ocean = size - n_ml
    is_ml = rank >= n_ocean
    local = world.Split(1 if is_ml else 0, rank)
    services, first = [], n_ocean
    for k, n in enumerate(ml_blocks):
        services.append(Service(k, world.Dup(), n_ocean, first, n))
        first += n
    return Groups(world, local, is_ml, n_ocean, n_ml, spin, services)
