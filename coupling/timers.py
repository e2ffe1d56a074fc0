"""Named wall-clock timers for both sides of a coupled run."""
from __future__ import annotations

import time
from contextlib import contextmanager


class Timers:
    """Accumulated seconds and call counts per name; ``with timers("wait"): ...``."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    def as_dict(self) -> dict:
        return {"seconds": dict(self.seconds), "calls": dict(self.calls)}


def table(rows: list[tuple[str, dict]], wall: dict[str, float]) -> str:
    """A text table: one line per (label, Timers.as_dict()) with the share of its wall time."""
    names = sorted({n for _, d in rows for n in d["seconds"]})
    head = f"{'rank':<14}{'wall s':>9}" + "".join(f"{n:>12}" for n in names)
    lines = [head, "-" * len(head)]
    for label, d in rows:
        w = wall.get(label, 0.0)
        cells = "".join(f"{d['seconds'].get(n, 0.0):>12.3f}" for n in names)
        lines.append(f"{label:<14}{w:>9.2f}{cells}")
    return "\n".join(lines)
