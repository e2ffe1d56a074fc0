"""The ML rank's side of a coupled run: load the closure once, check each ocean tile's
description, then answer batched exchanges until the ocean ranks stop."""
from __future__ import annotations

import os

import numpy as np

from .runtime import ClosureLoadError, LoadedClosure
from .spec import ClosureSpec


class MLRankError(RuntimeError):
    """The ML rank failed after telling its ocean ranks why; they save the state and end the job."""


def serve(cfg: dict, groups) -> int:
    """Run on an ML rank; returns the number of batches served. A model file that does not
    load, or a handshake refused, raises ClosureLoadError (a user error)."""
    import torch
    from coupling.exchange import WARMUP_BATCHES, CouplingError, Server, send_timers
    from coupling.polling import Poller
    from coupling.timers import Timers
    c = cfg["closure"]
    torch.set_num_threads(max(1, c["torch_threads"]))
    ml_index = groups.world.Get_rank() - groups.n_ocean
    clients = groups.ocean_ranks_of(ml_index)
    timers = Timers()
    try:
        closure = LoadedClosure(c["model_file"], c["device"])
    except ClosureLoadError as exc:
        why = f"ML rank {groups.world.Get_rank()}: {exc}"
        refuse = Server(groups.world, clients, lambda desc: why, None, None, timers)
        try:
            refuse.handshake()
        except CouplingError:
            pass
        raise ClosureLoadError(f"key 'closure.model_file': {exc}") from None
    spec = closure.spec

    def check(desc: dict) -> str | None:
        theirs = ClosureSpec.from_json(desc["closure"])
        if theirs != spec:
            return (f"closure handshake: ocean rank {desc['rank']} declares {theirs.to_json()} but ML rank "
                    f"{groups.world.Get_rank()} loaded {spec.to_json()} (names, points, levels, units, halo)")
        if desc["dtype"] != spec.dtype:
            return f"closure handshake: dtype {desc['dtype']} from ocean rank {desc['rank']}, expected {spec.dtype}"
        return None

    def make_batches(descs):
        """The padded input and output batches: each tile sits in the top-left corner of its
        slot; the padding lies outside every interior point's receptive field."""
        dt = closure.np_dtype
        c_in, y_in, x_in = np.max([d["shape_in"][1:] for d in descs], axis=0)
        c_out = descs[0]["shape_out"][1]
        h2 = 2 * spec.halo
        return (np.zeros((len(descs), c_in, y_in, x_in), dt), np.zeros((len(descs), c_out, y_in - h2, x_in - h2), dt))

    fault = None
    spec_env = os.environ.get("OCEAN_INJECT_ML_FAULT", "")      # testing hook: "raise:N" or "silent:N"
    if spec_env and ml_index == 0:
        kind, n = spec_env.split(":")
        fault = (kind, int(n))
    server = Server(groups.world, clients, check, make_batches, closure.infer, timers, Poller(groups.spin), fault)
    try:
        descs = server.handshake()
    except CouplingError as exc:
        raise ClosureLoadError(str(exc)) from None
    try:
        batches = server.serve(descs)
    except Exception as exc:    # noqa: BLE001 - tell the ocean ranks, then fail
        msg = f"closure {spec.name} on ML rank {groups.world.Get_rank()} failed: {type(exc).__name__}: {exc}"
        server.notify_error(msg)
        if c["fallback"]:           # the ocean ranks go on with the fallback and report it
            return 0
        raise MLRankError(msg) from exc
    send_timers(groups.world, 0, timers, {"ml_rank": groups.world.Get_rank(), "batches": max(batches - WARMUP_BATCHES, 0),
                                          "device": closure.device, "clients": clients})
    return batches

