"""One-way streams from the ocean ranks to one ML rank: the samples of online training, with
the notices that travel in order with them (save the learner's state, stop).

Every message is one uint8 buffer: a header of three int64 (kind, model step, payload bytes)
and the payload. Each ocean rank sends with ``Issend``, which completes only once the ML rank
has posted its receive, i.e. once it is ready for the next message; the ML rank posts its
receives only when it has finished with the last one. So ``SampleSender.idle`` tells the ocean
whether the learner has caught up, without the ocean ever waiting: a sample due while a send is
still pending is skipped (or waited for, when reproducibility matters more than speed).
Messages from one rank arrive in the order sent (MPI's non-overtaking rule: one tag, one
communicator), so a save notice follows the samples sent before it.
"""
from __future__ import annotations

import json
import time

import numpy as np

from .groups import TAG_ERROR, TAG_HELLO, TAG_STREAM

SAMPLE, SAVE, STOP = 0, 1, 2


class StreamError(RuntimeError):
    """The ML rank at the other end failed; the message says how."""
HEADER_BYTES = 24


def pack(kind: int, step: int, payload: bytes = b"") -> np.ndarray:
    """One message: the header, then ``payload``."""
    body = np.frombuffer(payload, np.uint8)
    buf = np.empty(HEADER_BYTES + body.size, np.uint8)
    buf[:HEADER_BYTES].view(np.int64)[:] = (kind, step, body.size)
    buf[HEADER_BYTES:] = body
    return buf


def unpack(buf: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(kind, step, payload bytes) of a received message."""
    kind, step, n = (int(v) for v in buf[:HEADER_BYTES].view(np.int64))
    return kind, step, buf[HEADER_BYTES:HEADER_BYTES + n]


class SampleSender:
    """The ocean rank's side: ``handshake`` once, then ``idle`` / ``send_sample`` (of ``body``,
    the sample's bytes, ``nbytes`` of them, filled by the caller while ``idle``) / ``send`` (a
    notice); ``wait`` at the end. Every pending message keeps its buffer until it completes."""

    def __init__(self, comm, dest: int, poller, nbytes: int):
        self.comm, self.dest, self.poller = comm, dest, poller
        self.pending: list[tuple[object, np.ndarray]] = []
        self.sample = np.zeros(HEADER_BYTES + nbytes, np.uint8)
        self.body = self.sample[HEADER_BYTES:]

    def handshake(self, description: dict, timeout_s: float) -> str:
        """Send this rank's description (JSON); returns the ML rank's answer ("ok" or why not)."""
        self.comm.send(json.dumps(description), dest=self.dest, tag=TAG_HELLO)
        req, t0 = self.comm.irecv(source=self.dest, tag=TAG_HELLO), time.perf_counter()
        while True:
            done, answer = req.test()
            if done:
                return answer
            if time.perf_counter() - t0 > timeout_s:
                return f"ML rank {self.dest} did not answer the training handshake within {timeout_s:g} s"
            time.sleep(1e-3)

    def idle(self) -> bool:
        """True when every message sent so far has been taken by the ML rank; raises
        StreamError with the ML rank's message when it has failed."""
        if self.comm.Iprobe(source=self.dest, tag=TAG_ERROR):
            raise StreamError(self.comm.recv(source=self.dest, tag=TAG_ERROR))
        self.pending = [(r, b) for r, b in self.pending if not r.Test()]
        return not self.pending

    def send_sample(self, step: int) -> None:
        """Send ``body`` as the sample of model step ``step`` (only while ``idle``: the buffer is
        the ML rank's until it has taken it)."""
        self.sample[:HEADER_BYTES].view(np.int64)[:] = (SAMPLE, step, self.body.size)
        self.pending.append((self.comm.Issend(self.sample, dest=self.dest, tag=TAG_STREAM), self.sample))

    def send(self, kind: int, step: int, payload: bytes = b"") -> None:
        """A notice (SAVE with its path, STOP) behind the messages sent so far."""
        buf = pack(kind, step, payload)
        self.pending.append((self.comm.Issend(buf, dest=self.dest, tag=TAG_STREAM), buf))

    def wait(self) -> bool:
        """Until the ML rank has taken every message (polling as the coupler does)."""
        t0 = time.perf_counter()
        while not self.idle():
            self.poller.pause(time.perf_counter() - t0)
        return True


class SampleReceiver:
    """The ML rank's side: the descriptions of its ocean ranks, then their messages, one from
    each rank at a time (the ocean ranks decide together what to send)."""

    def __init__(self, comm, sources: list[int], poller):
        self.comm, self.sources, self.poller = comm, list(sources), poller
        self.bufs: list[np.ndarray] = []

    def descriptions(self) -> list[dict]:
        return [json.loads(self.comm.recv(source=s, tag=TAG_HELLO)) for s in self.sources]

    def answer(self, answer: str) -> None:
        for s in self.sources:
            self.comm.send(answer, dest=s, tag=TAG_HELLO)

    def size(self, nbytes: list[int]) -> None:
        """Receive buffers for payloads of at most ``nbytes[k]`` from source k."""
        self.bufs = [np.empty(HEADER_BYTES + n, np.uint8) for n in nbytes]

    def fail(self, message: str) -> None:
        """Tell every source that this rank has failed (they raise StreamError)."""
        for s in self.sources:
            self.comm.send(message, dest=s, tag=TAG_ERROR)

    def next(self) -> list[tuple[int, int, np.ndarray]]:
        """The next message of every source: [(kind, step, payload)] in the order of ``sources``."""
        reqs = [self.comm.Irecv(b, source=s, tag=TAG_STREAM) for s, b in zip(self.sources, self.bufs)]
        t0 = time.perf_counter()
        while not all(r.Test() for r in reqs):
            self.poller.pause(time.perf_counter() - t0)
        return [unpack(b) for b in self.bufs]
