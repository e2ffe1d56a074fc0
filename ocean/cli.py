"""Command line: ``python -m ocean run CONFIG [options]`` and ``python -m ocean merge RUNDIR``.

A user error (bad configuration, unreadable file) prints one line and exits with status 2.
Under ``mpirun`` any other exception on one rank prints that rank's error and aborts the
whole job, so that no rank is left waiting.
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
    return p


def _cmd_run(args, comm) -> int:
    from pathlib import Path

    from . import config
    from .run import run
    cfg = config.load(args.config, args.set)
    out = args.out if args.out is not None else str(Path("runs") / cfg["run"]["name"])
    run(cfg, out, days=args.days, steps=args.steps, restart=args.restart, progress=not args.no_progress, comm=comm)
    return 0


def _cmd_merge(args) -> int:
    from .merge import merge_run
    merge_run(args.rundir, args.out)
    return 0


def _wants_ml_group(args) -> bool:
    from . import config
    try:
        c = config.load(args.config, args.set)["closure"]
    except config.ConfigError:
        return False
    return bool(c["model_file"]) and c["mode"] != "inprocess"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .run import world_comm
    comm = world_comm() if args.command == "run" else None
    if comm is not None and _wants_ml_group(args):
        comm = None         # the run splits COMM_WORLD into the ocean and ML groups itself
    rank = comm.Get_rank() if comm is not None else _world_rank()
    try:
        return _cmd_run(args, comm) if args.command == "run" else _cmd_merge(args)
    except (ConfigError, ClosureLoadError) as exc:
        from . import run as run_mod
        if rank == 0:
            print(f"error: {exc}", file=sys.stderr, flush=True)
        if run_mod.COUPLED_WORLD and not run_mod.ML_ROLE:
            _abort_world(2)     # the ML ranks may be waiting for this rank: end them too
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:    # noqa: BLE001 - one rank's failure must end the whole job
        from closures.serve import MLRankError

        from .closure_hook import ClosureError
        from .model import BlowUp
        if isinstance(exc, MLRankError):       # the ocean ranks save the state and end the job
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 1
        who = f"rank {rank}: " if comm is not None else ""
        if isinstance(exc, ClosureError):
            if rank == 0:
                print(f"error: {exc} (ocean state written to the run directory as closure_failure_state.nc)",
                      file=sys.stderr, flush=True)
            _abort_world(1)
            return 1
        if isinstance(exc, BlowUp):
            if rank == 0:
                print(f"error: {exc} (last state written to the run directory as blowup_state.nc)",
                      file=sys.stderr, flush=True)
            return 1
        traceback.print_exc()
        print(f"error: {who}{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        _abort_world(1)
        return 1


def _world_rank() -> int:
    try:
        from mpi4py import MPI
        return MPI.COMM_WORLD.Get_rank() if MPI.Is_initialized() else 0
    except ImportError:
        return 0


def _abort_world(code: int) -> None:
    """End every rank of the job (ML ranks included) when launched by mpirun."""
    try:
        from mpi4py import MPI
        if MPI.Is_initialized() and MPI.COMM_WORLD.Get_size() > 1:
            MPI.COMM_WORLD.Abort(code)
    except ImportError:
        pass


if __name__ == "__main__":
    sys.exit(main())
