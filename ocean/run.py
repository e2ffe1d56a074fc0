"""Running an experiment: set-up on every rank, the time loop, output, restarts, summary."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from . import restart as restart_io
from .config import ConfigError
from .domain import mpi_domain
from .grid import build_global
from .closure_hook import ClosureError
from .model import BlowUp, Model
from .run_output import RunOutput


WARMUP_STEPS = 2           # steps left out of the timings (numba cache loading, first inference)
COUPLED_WORLD = False      # COMM_WORLD was split into ocean and ML groups (error handling)
ML_ROLE = False
ABORT_GRACE_S = 0.5        # seconds between the last words of an aborting run and MPI_Abort


def world_comm():
    """COMM_WORLD when launched by mpirun with more than one rank, else None."""
    try:
        from mpi4py import MPI
    except ImportError:     # pragma: no cover - mpi4py is a dependency
        return None
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def set_threads(cfg: dict) -> int:
    import numba
    n = cfg["parallel"]["threads"]
    if n > 0:
        if n > numba.config.NUMBA_NUM_THREADS:
            raise ConfigError(f"key 'parallel.threads' = {n} exceeds NUMBA_NUM_THREADS = "
                              f"{numba.config.NUMBA_NUM_THREADS}")
        numba.set_num_threads(n)
    return numba.get_num_threads()


def build_model(cfg: dict, comm=None) -> Model:
    gg = build_global(cfg)
    gh, _, counts = gg
    if comm is None:
        return Model(cfg, global_grid=gg)
    domain = mpi_domain(cfg, counts["T"] > 0, gh.periodic_x, comm)
    return Model(cfg, domain, global_grid=gg)


def steps_for(cfg: dict, days: float | None, steps: int | None) -> int:
    if steps is not None:
        if steps < 0:
            raise ConfigError(f"--steps must be >= 0, got {steps}")
        return steps
    d = cfg["run"]["days"] if days is None else days
    if d <= 0:
        raise ConfigError(f"--days must be > 0, got {d}")
    return int(round(d * 86400.0 / cfg["time"]["dt_s"]))


def run(cfg: dict, out_dir: str | Path | None = None, *, days: float | None = None, steps: int | None = None,
        restart: str | Path | None = None, progress: bool = True, comm=None, log=print) -> dict:
    """Run the configured experiment; returns the summary (on every rank)."""
    threads = set_threads(cfg)
    c = cfg["closure"]
    groups = None
    if c["model_file"] and c["mode"] != "inprocess":
        global COUPLED_WORLD, ML_ROLE
        groups, comm = _split(cfg)
        COUPLED_WORLD, ML_ROLE = True, groups.is_ml
        if groups.is_ml:
            from closures.serve import serve
            batches = serve(cfg, groups)
            return {"role": "ml", "batches": batches}
    model = build_model(cfg, comm)
    d = model.domain
    if c["model_file"]:
        from .closure_hook import ClosureHook
        model.closure = ClosureHook(cfg, model, groups)
    if restart is not None:
        restart_io.read(model, restart)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and d.is_root:
        out.mkdir(parents=True, exist_ok=True)
    d.barrier()
    nsteps = steps_for(cfg, days, steps)
    output = RunOutput(model, out / "output.nc" if out else None, cfg, title=f"ocean run {cfg['run']['name']}")
    rcfg = cfg["run"]
    restart_every = int(round(rcfg["restart_every_days"] * 86400.0 / model.dt)) if rcfg["restart_every_days"] else 0
    g = model.grid
    cells = g.nx_glo * g.ny_glo * g.nz
    if d.is_root and progress:
        lay = d.layout
        log(f"{cfg['run']['name']}: {g.nx_glo}x{g.ny_glo}x{g.nz} grid, dt {model.dt:g} s, {model.n_sub} barotropic "
            f"sub-steps, {d.size} rank(s) on a {lay.px}x{lay.py} process grid ({lay.n_land} land tiles dropped), "
            f"{threads} thread(s) per rank, {nsteps} steps")
    bar = None
    if d.is_root and progress:
        from tqdm import tqdm
        bar = tqdm(total=nsteps, unit="step", dynamic_ncols=True, mininterval=1.0)
    fault = _injected_fault(d.rank)
    t_start = t_warm = time.perf_counter()
    halo_s0 = model.halo.seconds
    try:
        for n in range(nsteps):
            if n == WARMUP_STEPS:
                t_warm = time.perf_counter()
                halo_s0 = model.halo.seconds
                if model.closure is not None:
                    model.closure.timers.reset()
            if n == fault:
                raise RuntimeError(f"fault injected on rank {d.rank} at step {n} (OCEAN_INJECT_FAULT)")
            model.step()
            s = model.state
            if s.nstep % rcfg["check_every_steps"] == 0:
                model.check(rcfg["max_velocity_m_s"])
            output.after_step()
            if restart_every and s.nstep % restart_every == 0 and out is not None:
                restart_io.write(model, out / f"restart_{s.nstep:08d}.nc")
            if rcfg["diagnostics_every_steps"] and s.nstep % rcfg["diagnostics_every_steps"] == 0:
                diag = model.global_diagnostics()
                if d.is_root:
                    msg = " ".join(f"{k}={v:.6g}" for k, v in diag.items())
                    (bar.write if bar else log)(f"step {s.nstep} day {s.time_s / 86400:.2f}: {msg}")
            if bar is not None:
                bar.update(1)
                if n % 20 == 0 or n == nsteps - 1:
                    wall = time.perf_counter() - t_start
                    sim_years = (n + 1) * model.dt / (360 * 86400.0)
                    bar.set_postfix_str(f"day {s.time_s / 86400:.1f}, {sim_years / max(wall, 1e-9) * 86400:.2f} SYPD",
                                        refresh=False)
    except (BlowUp, ClosureError) as exc:
        if out is not None:
            name = "blowup_state.nc" if isinstance(exc, BlowUp) else "closure_failure_state.nc"
            restart_io.write(model, out / name, settle_closure=False)
        d.barrier()           # the file is complete before any rank may end the job
        output.close()
        if bar is not None:
            bar.close()
        raise
    t_end = time.perf_counter()
    wall = t_end - t_start
    timed_steps = nsteps - WARMUP_STEPS if nsteps > WARMUP_STEPS else nsteps
    timed = (t_end - t_warm) if nsteps > WARMUP_STEPS else wall
    if bar is not None:
        bar.close()
    if out is not None:
        restart_io.write(model, out / "restart.nc")
    output.close()
    halo_s = d.allreduce([model.halo.seconds - halo_s0], "max")[0]
    cores = d.size * threads
    summary = {
        "config": cfg["run"]["name"], "steps": nsteps, "wall_s": wall, "ranks": d.size, "threads": threads,
        "cells": cells, "timed_steps": timed_steps, "timed_wall_s": timed,
        "us_per_cell_step": timed * 1e6 / max(cells * timed_steps, 1),
        "us_per_cell_step_per_core": timed * 1e6 * cores / max(cells * timed_steps, 1),
        "sypd": (timed_steps * model.dt / (360 * 86400.0)) / max(timed, 1e-12) * 86400.0,
        "halo_share": halo_s / max(timed, 1e-12),
        "model_days": model.state.time_s / 86400.0,
    }
    if d.is_root:
        if progress:
            log(f"done: {nsteps} steps in {wall:.1f} s; after the first {WARMUP_STEPS} steps "
                f"{summary['us_per_cell_step_per_core']:.3f} us per cell per step per core ({cells} cells, {cores} "
                f"core(s)), {summary['sypd']:.2f} simulated years per day")
        if out is not None:
            (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    if model.closure is not None:
        summary["coupling"] = _coupling_report(model, groups, timed, out, log if (d.is_root and progress) else None)
        if model.closure.silent_ml:
            _end_job_for_silent_ml(model)
    model.summary = summary
    return summary


def _end_job_for_silent_ml(model) -> None:
    """An ML rank that never answered cannot reach MPI_Finalize, so the job would never end:
    once every file is written, end it with MPI_Abort(0) (mpirun then exits with status 0)."""
    from mpi4py import MPI
    d = model.domain
    d.barrier()
    if d.is_root:
        print(f"warning: ML rank(s) {', '.join(map(str, model.closure.failed_ml))} never answered; the run is "
              "complete and its files are written; ending the job with MPI_Abort(0)", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # mpiexec stops forwarding output once the abort reaches it: give it time to pass the lines on
        time.sleep(ABORT_GRACE_S)
        MPI.COMM_WORLD.Abort(0)
    d.barrier()                 # the other ocean ranks wait here for the abort


def _split(cfg):
    """Split COMM_WORLD into the ocean group and the ML group; returns (groups, ocean comm)."""
    from mpi4py import MPI

    from coupling.groups import split_world
    try:
        c = cfg["closure"]
        busy = c["torch_threads"] if MPI.COMM_WORLD.Get_rank() >= MPI.COMM_WORLD.Get_size() - c["ml_ranks"] \
            else cfg["parallel"]["threads"]
        groups = split_world(MPI.COMM_WORLD, c["ml_ranks"], busy)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return groups, (groups.local if groups.n_ocean > 1 else None)


def _coupling_report(model, groups, wall: float, out, log) -> dict:
    """Stop the ML ranks, collect every rank's timers, print the table, write the JSON."""
    from coupling.exchange import recv_timers
    from coupling.timers import table
    hook, d = model.closure, model.domain
    hook.close()
    mine = {**hook.timers.as_dict(), "wall": wall, "rank": d.rank}
    ocean = d.comm.gather(mine, root=0) if d.comm is not None else [mine]
    if not d.is_root:
        return {}
    ml = [recv_timers(groups.world, groups.n_ocean + k) for k in range(groups.n_ml)
          if groups.n_ocean + k not in hook.failed_ml] if groups else []
    for o in ocean:
        o["seconds"]["compute"] = o["wall"] - sum(o["seconds"].values())
    rows = [(f"ocean {o['rank']}", o) for o in ocean] + [(f"ML {m['ml_rank']}", m) for m in ml]
    walls = {f"ocean {o['rank']}": o["wall"] for o in ocean}
    walls.update({f"ML {m['ml_rank']}": wall for m in ml})
    report = {"closure": hook.spec.name, "mode": hook.mode, "failed_ml_ranks": hook.failed_ml, "ocean": ocean, "ml": ml}
    if log is not None:
        log(f"closure {hook.spec.name}, mode {hook.mode}: seconds per rank\n" + table(rows, walls))
    if out is not None:
        (out / "coupling_timers.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _injected_fault(rank: int) -> int:
    """Testing hook: OCEAN_INJECT_FAULT=RANK:STEP makes that rank raise at that step, to check
    that one rank's failure ends the whole job. Returns the step, or -1."""
    spec = os.environ.get("OCEAN_INJECT_FAULT", "")
    if ":" in spec:
        r, n = spec.split(":", 1)
        if int(r) == rank:
            return int(n)
    return -1
