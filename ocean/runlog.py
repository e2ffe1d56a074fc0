"""What a run says: one logger (``logging.getLogger("ocean")``) that prints to the console
and, once the run directory is known, appends every message to ``RUNDIR/run.log``.

Information goes to stdout, warnings and errors to stderr (through tqdm, so that a progress
bar is not torn). Every record reaches the log file at once (it is flushed per record), so
a run's last words survive an ``MPI_Abort`` that mpiexec would not forward. Any rank may
write: lines are appended whole (O_APPEND), prefixed with the time and the rank.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_NAME = "run.log"
log = logging.getLogger("ocean")


class _Console(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm
        stream = sys.stdout if record.levelno < logging.WARNING else sys.stderr
        try:
            tqdm.write(self.format(record), file=stream)
            stream.flush()
        except Exception:       # noqa: BLE001 - a closed console must not end the run
            self.handleError(record)


class _Prefixed(logging.Formatter):
    """``error: ``/``warning: `` before errors and warnings; ``head`` (the log file's time
    and rank) before everything."""

    def __init__(self, head: str = ""):
        super().__init__()
        self.head = head

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.ERROR and not msg.startswith("error"):
            msg = "error: " + msg
        elif record.levelno == logging.WARNING and not msg.startswith("warning"):
            msg = "warning: " + msg
        return f"{self.formatTime(record)} {self.head}{msg}" if self.head else msg


def setup_console() -> logging.Logger:
    """The console handler (once per process)."""
    if not any(isinstance(h, _Console) for h in log.handlers):
        h = _Console()
        h.setFormatter(_Prefixed())
        log.addHandler(h)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def attach_file(run_dir: str | Path, rank: int) -> Path:
    """Append every later message of this process to ``run_dir/run.log`` (idempotent)."""
    path = Path(run_dir) / LOG_NAME
    for h in log.handlers:
        if isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path.resolve():
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    h = logging.FileHandler(path, mode="a", encoding="utf-8")
    h.setFormatter(_Prefixed(f"rank {rank}: "))
    log.addHandler(h)
    return path


def detach_files() -> None:
    """Close the log files (tests run several runs in one process)."""
    for h in list(log.handlers):
        if isinstance(h, logging.FileHandler):
            log.removeHandler(h)
            h.close()
