"""Command line: ``python -m ocean run CONFIG [options]``, ``python -m ocean merge RUNDIR`` and
``python -m ocean plan CONFIG --ocean-ranks N`` (ML ranks to ask for, from ``ocean.plan``).

A user error (bad configuration, unreadable file) prints one line and exits with status 2.
Under ``mpirun`` any other exception on one rank prints that rank's error and aborts the
whole job, so that no rank is left waiting. A run stopped by SIGTERM or SIGINT saves its
state and exits with 143 or 130. Messages also go to ``RUNDIR/run.log`` (``ocean.runlog``).
"""
from __future__ import annotations

import argparse
import sys
import traceback

from closures.runtime import ClosureLoadError

from .config import ConfigError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ocean", description="NEMO-like ocean model (numba + MPI)")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a configuration")
    r.add_argument("config", help="TOML configuration file")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--days", type=float, help="simulated days to run (default: run.days)")
    g.add_argument("--steps", type=int, help="number of time steps to run")
    r.add_argument("--out", default=None, help="run directory for output, restarts and summary (default: runs/NAME)")
    r.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a configuration key (repeatable)")
    r.add_argument("--restart", default=None, help="continue from this restart file")
    r.add_argument("--no-progress", action="store_true", help="no progress bar and summary line")
    m = sub.add_parser("merge", help="write the run's output as one CF file (runs already write one)")
    m.add_argument("rundir")
    m.add_argument("--out", default=None, help="merged file (default: RUNDIR/merged.nc)")
    q = sub.add_parser("plan", help="ML ranks (or GPUs) to ask for in each mode, and the expected speed")
    q.add_argument("config", help="TOML configuration file with a [closure] table")
    q.add_argument("--ocean-ranks", type=int, required=True, help="ocean ranks of the run")
    q.add_argument("--ml-ranks", type=int, default=None, help="ML ranks of the layout to check (default: "
                   "closure.ml_ranks)")
    q.add_argument("--measurements", default=None, help="part costs from scripts/load_balance.py measure "
                   "(default: runs/load_balance.json, else the reference measurements shipped with the code)")
    q.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a configuration key (repeatable)")
    return p


def _cmd_plan(args) -> int:
    from . import config
    from .plan import measurements_to_use, plan
    from .runlog import log
    if args.ocean_ranks < 1:
        raise ConfigError(f"--ocean-ranks {args.ocean_ranks}: expected a number of ranks >= 1")
    if args.ml_ranks is not None and args.ml_ranks < 1:
        raise ConfigError(f"--ml-ranks {args.ml_ranks}: expected a number of ranks >= 1")
    cfg = config.load(args.config, args.set)
    path, note = measurements_to_use(args.measurements)
    for line in ([note] if note else []) + plan(cfg, args.config, args.ocean_ranks, path, args.ml_ranks):
        (log.warning if line.startswith("warning: ") else log.info)(line.removeprefix("warning: "))
    return 0


def _cmd_run(args, launch) -> int:
    from pathlib import Path

    from . import config
    from .run import run
    cfg = config.load(args.config, args.set)
    out = args.out if args.out is not None else str(Path("runs") / cfg.run.name)
    run(cfg, out, days=args.days, steps=args.steps, restart=args.restart, progress=not args.no_progress,
        launch=launch)
    return 0


def _cmd_merge(args) -> int:
    from .merge import merge_run
    merge_run(args.rundir, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .run import Launch, RunStopped
    from .runlog import log, setup_console
    setup_console()
    launch = Launch()
    rank = _world_rank() if args.command == "run" else 0
    try:
        if args.command == "plan":
            return _cmd_plan(args)
        return _cmd_run(args, launch) if args.command == "run" else _cmd_merge(args)
    except (ConfigError, ClosureLoadError) as exc:
        if rank == 0:
            log.error(str(exc))
        if launch.coupled and not launch.is_ml:
            _abort_world(2, rank)   # the ML ranks may be waiting for this rank: end them too
        return 2
    except RunStopped as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:    # noqa: BLE001 - one rank's failure must end the whole job
        from closures.serve import MLRankError

        from .closure_hook import ClosureError
        from .model import BlowUp
        if isinstance(exc, MLRankError):       # the ocean ranks save the state and end the job
            log.error(str(exc))
            return 1
        who = f"rank {rank}: " if _world_size() > 1 else ""
        if isinstance(exc, ClosureError):
            if rank == 0:
                log.error(f"{exc} (ocean state written to the run directory as closure_failure_state.nc)")
            _abort_world(1, rank)
            return 1
        if isinstance(exc, BlowUp):
            if rank == 0:
                log.error(f"{exc} (last state written to the run directory as blowup_state.nc)")
            return 1
        log.error(f"{who}{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        _abort_world(1)
        return 1


def _world_size() -> int:
    try:
        from mpi4py import MPI
        return MPI.COMM_WORLD.Get_size() if MPI.Is_initialized() else 1
    except ImportError:
        return 1


def _world_rank() -> int:
    from mpi4py import MPI          # initialises MPI (a run needs it anyway)
    return MPI.COMM_WORLD.Get_rank()


def _abort_world(code: int, rank: int | None = None) -> None:
    """End every rank of the job (ML ranks included) when launched by mpirun. When every rank
    aborts for the same reason and only rank 0 says it (``rank`` given), the others wait
    ABORT_GRACE_S first, so that rank 0's message is in run.log before any abort ends it."""
    try:
        from mpi4py import MPI
        if MPI.Is_initialized() and MPI.COMM_WORLD.Get_size() > 1:
            if rank:
                import time

                from .run import ABORT_GRACE_S
                time.sleep(ABORT_GRACE_S)
            MPI.COMM_WORLD.Abort(code)
    except ImportError:
        pass


if __name__ == "__main__":
    sys.exit(main())
