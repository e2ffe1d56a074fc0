"""Non-blocking exchanges between ocean ranks and the ML rank that serves them.

An ocean rank (:class:`Client`) posts its input tile (halo attached) and the receive of
its output tile; it waits for the result by polling ``Test`` (spinning, or sleeping between
polls on an oversubscribed node: see :mod:`coupling.polling`), watching for an error notice
from the ML rank and for a timeout. An ML rank (:class:`Server`) receives the tiles of all
its ocean ranks straight into one padded batch, calls ``infer(batch_in, batch_out)`` once
and sends each tile its interior back. All buffers are preallocated. A start-up handshake
exchanges JSON descriptions that the server checks with a callback.
"""
from __future__ import annotations

import json
import time

import numpy as np

from .groups import TAG_DATA, TAG_ERROR, TAG_HELLO, TAG_RESULT, TAG_STOP, TAG_TIMERS
from .polling import Poller
from .timers import Timers

WARMUP_BATCHES = 2          # batches left out of the server's timers (first inferences are slower)


class CouplingError(RuntimeError):
    """The ML side failed, went silent (``silent``: it may never answer again) or sent bad data."""

    def __init__(self, message: str, silent: bool = False):
        super().__init__(message)
        self.silent = silent


HANDSHAKE_MIN_S = 120.0     # the ML rank loads torch and the model first: slower than one exchange on a busy node


def _poll(req, world, error_source: int, timeout_s: float, what: str, poller: Poller,
          timers: Timers | None = None, name: str = "wait") -> None:
    t0 = time.perf_counter()
    while not req.Test():
        if world.Iprobe(source=error_source, tag=TAG_ERROR):
            msg = world.recv(source=error_source, tag=TAG_ERROR)
            raise CouplingError(msg)
        if time.perf_counter() - t0 > timeout_s:
            raise CouplingError(f"no answer from ML rank {error_source} within {timeout_s:g} s while {what}", silent=True)
        poller.pause(time.perf_counter() - t0)
    if timers is not None:
        timers.add(name, time.perf_counter() - t0)


class Client:
    """The ocean side of one closure's exchanges."""

    def __init__(self, world, server: int, in_buf: np.ndarray, out_buf: np.ndarray, timeout_s: float,
                 timers: Timers, poller: Poller):
        self.world, self.server, self.timeout_s, self.timers = world, server, timeout_s, timers
        self.poller = poller
        self.in_buf, self.out_buf = in_buf, out_buf
        self._send = None
        self._recv = None

    def handshake(self, description: dict) -> None:
        """Send this tile's description; raise if the server refuses it."""
        self.world.send(json.dumps(description), dest=self.server, tag=TAG_HELLO)
        req = self.world.irecv(source=self.server, tag=TAG_HELLO)
        t0 = time.perf_counter()
        limit = max(self.timeout_s, HANDSHAKE_MIN_S)
        while True:
            done, answer = req.test()
            if done:
                break
            if time.perf_counter() - t0 > limit:
                raise CouplingError(f"ML rank {self.server} did not answer the handshake within {limit:g} s")
            time.sleep(1e-3)
        if answer != "ok":
            raise CouplingError(answer)

    def _finish_send(self) -> None:
        """Wait until the last inputs have left in_buf."""
        if self._send is not None:
            _poll(self._send, self.world, self.server, self.timeout_s, "sending inputs", self.poller)

    def post(self) -> None:
        """Send in_buf and post the receive into out_buf (call wait() before reusing them)."""
        self._finish_send()
        with self.timers("send"):
            self._recv = self.world.Irecv(self.out_buf, source=self.server, tag=TAG_RESULT)
            self._send = self.world.Isend(self.in_buf, dest=self.server, tag=TAG_DATA)

    @property
    def pending(self) -> bool:
        return self._recv is not None

    def wait(self) -> np.ndarray:
        """Wait for the result of the last post; returns out_buf."""
        _poll(self._recv, self.world, self.server, self.timeout_s, "waiting for the closure's result",
              self.poller, self.timers, "wait")
        self._recv = None
        return self.out_buf

    def abandon(self) -> None:
        """Give up the pending exchange with a failed server (it will not answer; a pending
        send of inputs it never takes is dropped with the job's end)."""
        if self._recv is not None and not self._recv.Test():
            self._recv.Cancel()
            self._recv.Wait()
        self._recv = self._send = None

    def stop(self) -> None:
        """Tell the server this rank is done (its timers go to ocean rank 0, see send_timers)."""
        self._finish_send()
        self.world.send(None, dest=self.server, tag=TAG_STOP)


class Server:
    """The ML side: serves the tiles of ``clients`` (world ranks), one batch per exchange.

    ``make_batches(descs)`` returns the padded batch arrays ``(samples, C, Y, X)`` for
    inputs and outputs, each client's ``shape_in[0]`` samples (its levels, or 1) in turn. Each tile is received straight into the top-left corner of its
    batch slot and its result sent straight from there (an MPI subarray type where the
    tile is smaller than the slot), so the ML rank copies nothing itself."""

    def __init__(self, world, clients: list[int], check, make_batches, infer, timers: Timers,
                 poller: Poller | None = None, fault: tuple[str, int] | None = None):
        self.world, self.clients, self.check, self.infer, self.timers = world, clients, check, infer, timers
        self.make_batches, self.poller = make_batches, poller or Poller(spin=False)
        self.fault = fault

    def handshake(self) -> list[dict]:
        descs = [json.loads(self.world.recv(source=c, tag=TAG_HELLO)) for c in self.clients]
        errors = [self.check(d) for d in descs]
        for c, err in zip(self.clients, errors):
            self.world.send("ok" if err is None else err, dest=c, tag=TAG_HELLO)
        if any(errors):
            raise CouplingError(next(e for e in errors if e))
        return descs

    def notify_error(self, message: str) -> None:
        for c in self.clients:
            self.world.send(message, dest=c, tag=TAG_ERROR)

    def serve(self, descs: list[dict], warmup: int = WARMUP_BATCHES) -> int:
        """Answer exchanges until every client has sent STOP; returns the number of batches.
        The timers restart after ``warmup`` batches (first inferences are slower)."""
        from mpi4py import MPI
        batch_in, batch_out = self.make_batches(descs)
        first = np.cumsum([0] + [d["shape_in"][0] for d in descs])      # each tile's first sample
        tiles_in = [_slot(batch_in[first[k]:first[k + 1]], d["shape_in"]) for k, d in enumerate(descs)]
        tiles_out = [_slot(batch_out[first[k]:first[k + 1]], d["shape_out"]) for k, d in enumerate(descs)]

        def post_receives():
            return [self.world.Irecv(t, source=c, tag=TAG_DATA) for t, c in zip(tiles_in, self.clients)]

        recvs = post_receives()
        sends: list = []
        stopped = set()
        batches = 0
        idle_t0 = time.perf_counter()
        while True:
            if MPI.Request.Testall(recvs):
                self.timers.add("idle", time.perf_counter() - idle_t0)
                if self.fault is not None and batches == self.fault[1]:
                    if self.fault[0] == "silent":
                        time.sleep(3600)
                    raise RuntimeError(f"fault injected in the ML rank at exchange {batches}")
                with self.timers("send"):
                    MPI.Request.Waitall(sends)          # batch_out is free again (long since, in practice)
                with self.timers("infer"):
                    self.infer(batch_in, batch_out)
                with self.timers("send"):
                    sends = [self.world.Isend(t, dest=c, tag=TAG_RESULT) for t, c in zip(tiles_out, self.clients)]
                    recvs = post_receives()
                batches += 1
                if batches == warmup:
                    self.timers.reset()
                idle_t0 = time.perf_counter()
                continue
            for c in self.clients:
                if c not in stopped and self.world.Iprobe(source=c, tag=TAG_STOP):
                    self.world.recv(source=c, tag=TAG_STOP)
                    stopped.add(c)
            if len(stopped) == len(self.clients):
                break
            self.poller.pause(time.perf_counter() - idle_t0)
        self.timers.add("idle", time.perf_counter() - idle_t0)
        for r in recvs:
            if r:
                r.Cancel()
                r.Wait()
        MPI.Request.Waitall(sends)
        for t in tiles_in + tiles_out:
            if isinstance(t, list):
                t[2].Free()
        return batches


def _slot(slot: np.ndarray, tile_shape) -> np.ndarray | list:
    """An MPI buffer for a tile of ``tile_shape`` in the top-left corner of a batch slot:
    the slot itself if the shapes agree, else [slot, 1, subarray type]."""
    from mpi4py import MPI
    from mpi4py.util.dtlib import from_numpy_dtype
    if tuple(tile_shape) == slot.shape:
        return slot
    sub = from_numpy_dtype(slot.dtype).Create_subarray(list(slot.shape), list(tile_shape), [0] * slot.ndim,
                                                        order=MPI.ORDER_C).Commit()
    return [slot, 1, sub]


def send_timers(world, dest: int, timers: Timers, extra: dict) -> None:
    world.send({**timers.as_dict(), **extra}, dest=dest, tag=TAG_TIMERS)


def recv_timers(world, source: int) -> dict:
    return world.recv(source=source, tag=TAG_TIMERS)
