"""How a rank waits for a non-blocking exchange: spin when it owns its cores, else sleep.

MPICH ranks that block or spin inside MPI slow the ranks they share a core with, so a
rank on an oversubscribed node sleeps between polls. A rank that owns its cores polls
without sleeping for the first ``SPIN_S`` of a wait: each sleep costs latency (Linux rounds
a sleep up by the thread's timer slack, 50 us by default, so ``time.sleep(5e-5)`` took 107
us here; with the slack set to 1 us it takes 57 us, and ``time.sleep(1e-5)`` 17 us). A wait
that lasts longer than that (an ocean rank waiting seconds for a 36-level inference) sleeps
between polls too, so that it leaves its core to whatever else runs on the node, at a cost
of at most one sleep's latency over a wait already longer than ``SPIN_S``.
"""
from __future__ import annotations

import ctypes
import os
import sys
import time

SLEEP_S = 5e-5              # sleep between polls on an oversubscribed node, or after SPIN_S of a wait
SPIN_S = 2e-3               # a rank that owns its core spins this long into a wait
_PR_SET_TIMERSLACK = 29


def reduce_timer_slack(ns: int = 1000) -> None:
    """Let this thread's sleeps end within ``ns`` of their deadline (Linux only; else a no-op)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(_PR_SET_TIMERSLACK, ns, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not Linux
        return os.cpu_count() or 1


def owns_cores(world, threads: int) -> bool:
    """True if the busy threads of all ranks on this node (``threads`` from each, collective
    over ``world``) fit on its usable CPUs, so that no rank shares a core."""
    from mpi4py import MPI
    node = world.Split_type(MPI.COMM_TYPE_SHARED)
    demand = node.allreduce(threads)
    node.Free()
    return demand <= usable_cpus()


class Poller:
    """``pause(waited_s)`` between two polls of a wait under way for ``waited_s`` seconds:
    nothing if ``spin`` and the wait is younger than ``SPIN_S``, else a short sleep."""

    def __init__(self, spin: bool):
        self.spin = spin
        reduce_timer_slack()

    def pause(self, waited_s: float = 0.0) -> None:
        if not self.spin or waited_s > SPIN_S:
            time.sleep(SLEEP_S)
