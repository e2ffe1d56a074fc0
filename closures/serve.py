"""The ML rank's side of a coupled run: load the closure once, check each ocean tile's
description, then answer batched exchanges until the ocean ranks stop."""
from __future__ import annotations

import numpy as np

from .runtime import ClosureLoadError, LoadedClosure
from .spec import ClosureSpec


class MLRankError(RuntimeError):
    """The ML rank failed after telling its ocean ranks why; they save the state and end the job."""


def serve(c, service, spin: bool, key: str = "closure") -> int:
    """Run on an ML rank of ``service`` (coupling.groups.Service) for the closure configured
    by ``c`` (its ``[[closure]]`` table, named ``key`` in errors); returns the number of
    batches served. A model file that does not load, or a handshake refused, raises
    ClosureLoadError (a user error)."""
    import torch
    from coupling.exchange import WARMUP_BATCHES, CouplingError, Server, send_timers
    from coupling.faults import ml_fault
    from coupling.polling import Poller
    from coupling.timers import Timers
    torch.set_num_threads(max(1, c.torch_threads))
    comm = service.comm
    rank = comm.Get_rank()
    ml_index = rank - service.first
    clients = service.ocean_ranks_of(ml_index)
    timers = Timers()
    try:
        closure = LoadedClosure(c.model_file, c.device, c.precision)
    except ClosureLoadError as exc:
        why = f"ML rank {rank}: {exc}"
        refuse = Server(comm, clients, lambda desc: why, None, None, timers)
        try:
            refuse.handshake()
        except CouplingError:
            pass
        raise ClosureLoadError(f"key '{key}.model_file': {exc}") from None
    spec = closure.spec

    def check(desc: dict) -> str | None:
        theirs = ClosureSpec.from_json(desc["closure"])
        if theirs != spec:
            return (f"closure handshake: ocean rank {desc['rank']} declares {theirs.to_json()} but ML rank "
                    f"{rank} loaded {spec.to_json()} (names, points, levels, units, halo)")
        if desc["shape_in"][0] != desc["shape_out"][0]:
            return f"closure handshake: ocean rank {desc['rank']} sends {desc['shape_in'][0]} samples per tile " \
                   f"but expects {desc['shape_out'][0]} back"
        if desc["dtype"] != spec.dtype:
            return f"closure handshake: dtype {desc['dtype']} from ocean rank {desc['rank']}, expected {spec.dtype}"
        return None

    def make_batches(descs):
        """The padded input and output batches: each tile (of ``shape_in[0]`` samples, e.g.
        levels) sits in the top-left corner of its slots; the padding lies outside every
        interior point's receptive field."""
        dt = closure.np_dtype
        c_in, y_in, x_in = np.max([d["shape_in"][1:] for d in descs], axis=0)
        c_out = descs[0]["shape_out"][1]
        n = sum(d["shape_in"][0] for d in descs)
        h2 = 2 * spec.halo
        return (np.zeros((n, c_in, y_in, x_in), dt), np.zeros((n, c_out, y_in - h2, x_in - h2), dt))

    server = Server(comm, clients, check, make_batches, closure.infer, timers, Poller(spin),
                    ml_fault(service.index, ml_index))
    try:
        descs = server.handshake()
    except CouplingError as exc:
        raise ClosureLoadError(str(exc)) from None
    try:
        batches = server.serve(descs)
    except Exception as exc:    # noqa: BLE001 - tell the ocean ranks, then fail
        msg = f"closure {spec.name} on ML rank {rank} failed: {type(exc).__name__}: {exc}"
        server.notify_error(msg)
        if c.fallback:           # the ocean ranks go on with the fallback and report it
            return 0
        raise MLRankError(msg) from exc
    send_timers(comm, 0, timers, {"ml_rank": rank, "closure": spec.name, "batches": max(batches - WARMUP_BATCHES, 0),
                                  "device": closure.device, "precision": closure.precision, "clients": clients})
    return batches

