"""Fault injection for tests, in one place: environment variables that make a chosen rank
fail at a chosen step, to check that a failure anywhere ends the whole job with a clear
message (or hands over to a fallback) instead of a hang. Production code asks here and
does nothing when the variables are unset.

- ``OCEAN_INJECT_FAULT=RANK:STEP``: that ocean rank raises at the start of that step;
- ``OCEAN_INJECT_ML_FAULT=KIND:N``: the first ML rank of the first service fails at its
  exchange N, by raising (``raise``) or by never answering again (``silent``).
"""
from __future__ import annotations

import os


def ocean_fault_step(rank: int) -> int:
    """The step at which ocean rank ``rank`` must raise, or -1."""
    spec = os.environ.get("OCEAN_INJECT_FAULT", "")
    if ":" in spec:
        r, n = spec.split(":", 1)
        if int(r) == rank:
            return int(n)
    return -1


def ml_fault(service_index: int, ml_index: int) -> tuple[str, int] | None:
    """(kind, exchange) for this ML rank, or None."""
    spec = os.environ.get("OCEAN_INJECT_ML_FAULT", "")
    if spec and service_index == 0 and ml_index == 0:
        kind, n = spec.split(":")
        return kind, int(n)
    return None
