"""Running an experiment: ``run`` reads as the list of its jobs, each a function below.

Set-up on every rank (threads, the split into ocean and ML groups, the model and its
closures, a restart), the time loop (``TimeLoop``: progress, diagnostics, periodic
restarts, a stop on SIGTERM or SIGINT), and the end (restart, output, summary, coupling
report). Everything the run says goes through ``ocean.runlog`` to the console and to
``RUNDIR/run.log``.
"""
from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import restart as restart_io
from .closure_hook import ClosureError, ClosureHook
from .config import Config, ConfigError
from .domain import mpi_domain
from .grid import build_global
from .gz21_forcing import GZ21Closure
from .model import BlowUp, Model
from .run_output import RunOutput
from .runlog import attach_file, detach_files, log
from .training_hook import TrainingHook

WARMUP_STEPS = 2           # steps left out of the timings (numba cache loading, first inference)
ABORT_GRACE_S = 0.5        # seconds between the last words of an aborting run and MPI_Abort
DAY_S = 86400.0
YEAR_S = 360 * DAY_S


class RunStopped(Exception):
    """The run was stopped by a signal after saving its state; ``exit_code`` is 128 + signal."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum, self.exit_code = signum, 128 + signum


@dataclass
class Launch:
    """What the command line learns about the job while it runs (for its error handling):
    whether COMM_WORLD was split into an ocean and an ML group, and this rank's role."""
    coupled: bool = False
    is_ml: bool = False


class StopSignal:
    """Records SIGTERM and SIGINT instead of dying, so that every rank can finish its step,
    save the state and exit together (mpiexec forwards both signals to every rank)."""

    def __init__(self):
        self.signum = 0
        self._old = {}

    def __enter__(self) -> "StopSignal":
        for s in (signal.SIGTERM, signal.SIGINT):
            try:
                self._old[s] = signal.signal(s, self._handle)
            except ValueError:          # not the main thread (embedded use): no handler
                pass
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


# ---------------------------------------------------------------------------- set-up jobs
def world_comm():
    """COMM_WORLD when launched by mpirun with more than one rank, else None."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


@dataclass
class ThreadChoice:
    """Numba threads of an ocean rank, why, and whether the busy threads of all ranks on the
    node (numba's, or torch's on ML ranks) exceed its cores."""
    threads: int
    why: str
    oversubscribed: bool = False


def choose_threads(cfg: Config, is_ml: bool = False) -> ThreadChoice:
    """Numba threads of this ocean rank: ``parallel.threads``, or by default the node's usable
    cores shared among the ranks on that node (ocean and ML, counted through a shared-memory
    communicator), at least 1 and at most NUMBA_NUM_THREADS. Collective over COMM_WORLD."""
    import numba
    from mpi4py import MPI

    from coupling.polling import usable_cpus
    world = MPI.COMM_WORLD
    node = world.Split_type(MPI.COMM_TYPE_SHARED) if world.Get_size() > 1 else None
    on_node = node.Get_size() if node is not None else 1
    cores = usable_cpus()
    asked = cfg.parallel.threads
    if asked > numba.config.NUMBA_NUM_THREADS:
        if node is not None:
            node.Free()
        raise ConfigError(f"key 'parallel.threads' = {asked} exceeds NUMBA_NUM_THREADS = "
                          f"{numba.config.NUMBA_NUM_THREADS}")
    if asked > 0:
        n, why = asked, "parallel.threads"
    else:
        n = max(1, min(cores // on_node, numba.config.NUMBA_NUM_THREADS))
        why = f"{cores} core(s) shared by {on_node} rank(s) on this node"
    busy = max((c.torch_threads for c in cfg.remote_closures), default=1) if is_ml else n
    demand = node.allreduce(busy) if node is not None else busy
    if node is not None:
        node.Free()
    if not is_ml:
        numba.set_num_threads(n)
    return ThreadChoice(n, why, demand > cores)


def split_groups(cfg: Config, threads: ThreadChoice):
    """Split COMM_WORLD into the ocean group and the ML group (one block of ML ranks per
    remote closure); returns (groups, the ocean group's communicator or None). Ranks poll
    without sleeping when the node is not oversubscribed."""
    from mpi4py import MPI

    from coupling.groups import split_world
    try:
        groups = split_world(MPI.COMM_WORLD, [c.ml_ranks for c in cfg.remote_closures],
                             spin=not threads.oversubscribed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return groups, (groups.local if groups.n_ocean > 1 else None)


def closure_key(cfg: Config, index: int) -> str:
    """How the configuration names closure ``index`` (for errors)."""
    return "closure" if len(cfg.closures) == 1 else f"closure.{index}"


def serve_ml(cfg: Config, groups, restart=None) -> dict:
    """This rank belongs to the ML group: serve its closure (or train its net, continuing from
    what ``restart`` saved) until the ocean ranks stop."""
    from closures.online import serve_training
    from closures.serve import serve
    service = groups.my_service()
    c = cfg.remote_closures[service.index]
    key = closure_key(cfg, cfg.closures.index(c))
    with StopSignal() as stop:          # the ocean ranks decide when to stop; keep serving until then
        if c.train:
            result = serve_training(c, service, cfg, groups.spin, key, restart)
        else:
            result = {"role": "ml", "batches": serve(c, service, groups.spin, key)}
    if stop.signum:
        raise RunStopped(stop.signum, f"ML rank {groups.world.Get_rank()} stopped with the ocean ranks")
    return result


def build_model(cfg: Config, comm=None) -> Model:
    gg = build_global(cfg)
    gh, _, counts = gg
    if comm is None:
        return Model(cfg, global_grid=gg)
    domain = mpi_domain(cfg, counts["T"] > 0, gh.periodic_x, comm)
    return Model(cfg, domain, global_grid=gg)


def attach_closures(model: Model, cfg: Config, groups) -> None:
    """Every configured closure, in declaration order, each with its service if remote."""
    services = iter(groups.services) if groups is not None else iter(())
    for k, c in enumerate(cfg.closures):
        service = next(services) if c.mode != "inprocess" else None
        hook = TrainingHook if c.train else GZ21Closure if c.physics == "gz21" else ClosureHook
        model.add_closure(hook(c, model, service, closure_key(cfg, k), groups.spin if groups else False))
    names = [c.name for c in model.closures]
    if len(set(names)) != len(names):
        raise ConfigError(f"two closures have the same name ({', '.join(names)}): their outputs and restart "
                          "entries would collide")


def steps_for(cfg: Config, days: float | None, steps: int | None) -> int:
    if steps is not None:
        if steps < 0:
            raise ConfigError(f"--steps must be >= 0, got {steps}")
        return steps
    d = cfg.run.days if days is None else days
    if d <= 0:
        raise ConfigError(f"--days must be > 0, got {d}")
    return int(round(d * DAY_S / cfg.time.dt_s))


# ---------------------------------------------------------------------------- the time loop
@dataclass
class TimeLoop:
    """Steps the model, with checks, output, periodic restarts, diagnostics and progress;
    stops early, on every rank together, after a SIGTERM or SIGINT."""
    model: Model
    output: RunOutput
    out: Path | None
    restart_every: int
    check_every: int
    max_velocity: float
    diagnostics_every: int
    progress: bool
    t_start: float = 0.0
    t_warm: float = 0.0
    halo_s0: float = 0.0
    steps_done: int = 0
    stop_signal: int = 0

    def run(self, nsteps: int) -> None:
        from coupling.faults import ocean_fault_step
        m, d = self.model, self.model.domain
        bar = None
        if d.is_root and self.progress:
            from tqdm import tqdm
            bar = tqdm(total=nsteps, unit="step", dynamic_ncols=True, mininterval=1.0)
        fault = ocean_fault_step(d.rank)
        self.t_start = self.t_warm = time.perf_counter()
        self.halo_s0 = m.halo.seconds
        try:
            with StopSignal() as stop:
                for n in range(nsteps):
                    if n == WARMUP_STEPS:
                        self._start_timing()
                    if n == fault:
                        raise RuntimeError(f"fault injected on rank {d.rank} at step {n} (OCEAN_INJECT_FAULT)")
                    m.step()
                    self.steps_done = n + 1
                    self._after_step(bar, n, nsteps)
                    if self._stop_requested(stop):
                        break
        finally:
            if bar is not None:
                bar.close()

    def _start_timing(self) -> None:
        self.t_warm = time.perf_counter()
        self.halo_s0 = self.model.halo.seconds
        for c in self.model.closures:
            c.timers.reset()

    def _after_step(self, bar, n: int, nsteps: int) -> None:
        m, s, d = self.model, self.model.state, self.model.domain
        if s.nstep % self.check_every == 0:
            m.check(self.max_velocity)
        self.output.after_step()
        if self.restart_every and s.nstep % self.restart_every == 0 and self.out is not None:
            restart_io.write(m, self.out / f"restart_{s.nstep:08d}.nc", output=self.output)
        if self.diagnostics_every and s.nstep % self.diagnostics_every == 0:
            diag = m.global_diagnostics()
            if d.is_root:
                log.info(f"step {s.nstep} day {s.time_s / DAY_S:.2f}: "
                         + " ".join(f"{k}={v:.6g}" for k, v in diag.items()))
        if bar is not None:
            bar.update(1)
            if n % 20 == 0 or n == nsteps - 1:
                wall = time.perf_counter() - self.t_start
                sypd = (n + 1) * m.dt / YEAR_S / max(wall, 1e-9) * DAY_S
                bar.set_postfix_str(f"day {s.time_s / DAY_S:.1f}, {sypd:.2f} SYPD", refresh=False)

    def _stop_requested(self, stop: StopSignal) -> bool:
        """Did any rank receive SIGTERM or SIGINT? (all ranks agree, so all stop after the same step)"""
        d = self.model.domain
        got = float(stop.signum)
        if d.comm is not None:
            got = float(d.allreduce([got], "max")[0])
        self.stop_signal = int(got)
        return self.stop_signal != 0


# ---------------------------------------------------------------------------- the jobs of the end
def save_on_failure(model: Model, out: Path | None, exc: Exception) -> None:
    """Write the state a blow-up or a closure failure left, for inspection."""
    if out is not None:
        name = "blowup_state.nc" if isinstance(exc, BlowUp) else "closure_failure_state.nc"
        restart_io.write(model, out / name, settle_closure=False)
    model.domain.barrier()            # the file is complete before any rank may end the job


def summarise(cfg: Config, model: Model, loop: TimeLoop, threads: int) -> dict:
    d, g = model.domain, model.grid
    nsteps = loop.steps_done
    t_end = time.perf_counter()
    wall = t_end - loop.t_start
    timed_steps = nsteps - WARMUP_STEPS if nsteps > WARMUP_STEPS else nsteps
    timed = (t_end - loop.t_warm) if nsteps > WARMUP_STEPS else wall
    halo_s = d.allreduce([model.halo.seconds - loop.halo_s0], "max")[0]
    cells = g.nx_glo * g.ny_glo * g.nz
    cores = d.size * threads
    return {
        "config": cfg.run.name, "steps": nsteps, "wall_s": wall, "ranks": d.size, "threads": threads,
        "cells": cells, "timed_steps": timed_steps, "timed_wall_s": timed,
        "us_per_cell_step": timed * 1e6 / max(cells * timed_steps, 1),
        "us_per_cell_step_per_core": timed * 1e6 * cores / max(cells * timed_steps, 1),
        "sypd": (timed_steps * model.dt / YEAR_S) / max(timed, 1e-12) * DAY_S,
        "halo_share": halo_s / max(timed, 1e-12),
        "model_days": model.state.time_s / DAY_S,
    }


def coupling_report(model: Model, wall: float, out: Path | None, say: bool) -> dict:
    """Stop the closures, collect every rank's timers, print one table per closure, write the JSON."""
    from coupling.exchange import recv_timers
    from coupling.timers import table
    d = model.domain
    reports = []
    for hook in model.closures:
        service = hook.service
        hook.close()
        mine = {**hook.timers.as_dict(), "wall": wall, "rank": d.rank}
        ocean = d.comm.gather(mine, root=0) if d.comm is not None else [mine]
        if not d.is_root:
            continue
        ml = [recv_timers(service.comm, service.first + k) for k in range(service.n_ml)
              if service.first + k not in hook.failed_ml] if service is not None else []
        for o in ocean:
            o["seconds"]["compute"] = o["wall"] - sum(o["seconds"].values())
        rows = [(f"ocean {o['rank']}", o) for o in ocean] + [(f"ML {m['ml_rank']}", m) for m in ml]
        walls = {f"ocean {o['rank']}": o["wall"] for o in ocean}
        walls.update({f"ML {m['ml_rank']}": wall for m in ml})
        reports.append({"closure": hook.name, "mode": hook.mode, "failed_ml_ranks": hook.failed_ml,
                        "ocean": ocean, "ml": ml})
        if isinstance(hook, TrainingHook):
            reports[-1]["online"] = online = online_report(hook, ocean, ml)
            if say:
                log.info(f"online training {hook.name}: {online['samples_trained']} samples trained "
                         f"({online['samples_skipped']} skipped while the learner was busy), loss "
                         f"{online['loss_first']} -> {online['loss_last']}; the ocean spent "
                         f"{online['ocean_blocked_pct']:.2f}% of its timed wall time on it")
        reports[-1]["ocean_waited"] = waited = ocean_waited(ocean)
        if say:
            log.info(f"closure {hook.name}, mode {hook.mode}: seconds per rank\n" + table(rows, walls))
        if hook.mode != "inprocess":
            log.info(f"closure {hook.name}: the ocean waited {waited['seconds']:.2f} s for the ML group, "
                     f"{waited['pct_of_wall']:.1f}% of the timed wall time (mean of the ocean ranks; the "
                     f"longest: {waited['max_seconds']:.2f} s; python -m ocean plan says what layout avoids it)")
    if d.is_root and out is not None and reports:
        (out / "coupling_timers.json").write_text(json.dumps({"closures": reports}, indent=1) + "\n")
    return {"closures": reports}


def online_report(hook: TrainingHook, ocean: list[dict], ml: list[dict]) -> dict:
    """Online training's figures: the learner's (samples, losses, history), the samples skipped,
    and the ocean's time spent on it (packing, sending, agreeing to skip, and waiting when
    ``train_skip`` is false; not the end of the run) as a share of its timed wall time."""
    blocked = [o["seconds"].get("send", 0.0) + o["seconds"].get("wait", 0.0) for o in ocean]
    wall = max(o["wall"] for o in ocean)
    learner = ml[0]["online"] if ml else {}
    return {**{k: v for k, v in learner.items() if k != "history"}, **hook.report(),
            "ocean_blocked_s": max(blocked), "ocean_blocked_pct": 100.0 * max(blocked) / wall if wall > 0 else 0.0,
            "history": learner.get("history", [])}


def ocean_waited(ocean: list[dict]) -> dict:
    """How long the ocean ranks waited for the ML group (their ``wait`` timers): the mean
    seconds, its share of the timed wall time (%), and the longest rank's seconds."""
    waits = [o["seconds"].get("wait", 0.0) for o in ocean]
    mean = sum(waits) / len(waits)
    wall = max(o["wall"] for o in ocean)
    return {"seconds": mean, "pct_of_wall": 100.0 * mean / wall if wall > 0 else 0.0, "max_seconds": max(waits)}


def end_job_for_silent_ml(model: Model) -> None:
    """An ML rank that never answered cannot reach MPI_Finalize, so the job would never end:
    once every file is written, end it with MPI_Abort(0) (mpirun then exits with status 0)."""
    from mpi4py import MPI
    d = model.domain
    d.barrier()
    if d.is_root:
        failed = sorted({r for c in model.closures if c.silent_ml for r in c.failed_ml})
        log.warning(f"ML rank(s) {', '.join(map(str, failed))} never answered; the run is complete and its files "
                    "are written; ending the job with MPI_Abort(0)")
        # mpiexec stops forwarding output once the abort reaches it: give it time to pass the lines on
        time.sleep(ABORT_GRACE_S)
        MPI.COMM_WORLD.Abort(0)
    d.barrier()                 # the other ocean ranks wait here for the abort


# ---------------------------------------------------------------------------- the run
def run(cfg: Config, out_dir: str | Path | None = None, *, days: float | None = None, steps: int | None = None,
        restart: str | Path | None = None, progress: bool = True, launch: Launch | None = None) -> dict:
    """Run the configured experiment; returns the summary (on every rank). Raises RunStopped
    after saving the state if a SIGTERM or SIGINT stopped it. Messages go to RUNDIR/run.log
    too; after an exception the log stays attached, for the caller's last words."""
    summary = _run(cfg, out_dir, days, steps, restart, progress, launch or Launch())
    detach_files()
    return summary


def _run(cfg: Config, out_dir, days, steps, restart, progress: bool, launch: Launch) -> dict:
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    is_ml = bool(cfg.remote_closures) and world.Get_rank() >= world.Get_size() - cfg.ml_ranks
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        attach_file(out, world.Get_rank())
    threads = choose_threads(cfg, is_ml)
    groups, comm = None, world_comm()
    if cfg.remote_closures:
        groups, comm = split_groups(cfg, threads)
        launch.coupled, launch.is_ml = True, groups.is_ml
        if groups.is_ml:
            return serve_ml(cfg, groups, restart)
    model = build_model(cfg, comm)
    d = model.domain
    attach_closures(model, cfg, groups)
    if restart is not None:
        restart_io.read(model, restart)
    if out is not None and d.is_root:
        out.mkdir(parents=True, exist_ok=True)
    d.barrier()
    nsteps = steps_for(cfg, days, steps)
    output = RunOutput(model, out / "output.nc" if out else None, cfg.output, cfg.time.start_date,
                       title=f"ocean run {cfg.run.name}", attrs={"configuration": cfg.run.name}, restart=restart)
    r = cfg.run
    loop = TimeLoop(model, output, out, int(round(r.restart_every_days * DAY_S / model.dt)) if r.restart_every_days
                    else 0, r.check_every_steps, r.max_velocity_m_s, r.diagnostics_every_steps, progress)
    if d.is_root and progress:
        announce(cfg, model, threads, nsteps)
    try:
        loop.run(nsteps)
    except (BlowUp, ClosureError) as exc:
        save_on_failure(model, out, exc)
        output.close()
        raise
    return finish(cfg, model, loop, output, out, threads.threads, progress)


def announce(cfg: Config, model: Model, threads: ThreadChoice, nsteps: int) -> None:
    """The run's first line: grid, time step, decomposition, threads and why."""
    g, d, lay = model.grid, model.domain, model.domain.layout
    log.info(f"{cfg.run.name}: {g.nx_glo}x{g.ny_glo}x{g.nz} grid, dt {model.dt:g} s, {model.n_sub} barotropic "
             f"sub-steps, {d.size} ocean rank(s) on a {lay.px}x{lay.py} process grid ({lay.n_land} land tiles "
             f"dropped), {threads.threads} thread(s) per rank ({threads.why}), {nsteps} steps")
    if threads.oversubscribed:
        log.warning("the ranks on this node ask for more threads than it has cores (parallel.threads, "
                    "closure.torch_threads): expect them to slow each other down")


def finish(cfg: Config, model: Model, loop: TimeLoop, output: RunOutput, out: Path | None, threads: int,
           progress: bool) -> dict:
    """Restart, output and summary at the end of the run (or at a stop), then the closures' report."""
    d = model.domain
    if out is not None:
        restart_io.write(model, out / "restart.nc", output=output)
        written = loop.restart_every and model.state.nstep % loop.restart_every == 0     # by the loop
        if loop.stop_signal and not written:
            restart_io.write(model, out / f"restart_{model.state.nstep:08d}.nc", output=output)
    partial = output.write_partial() if out is not None else None    # after the restart (it carries the mean)
    output.close()
    summary = summarise(cfg, model, loop, threads)
    summary["partial_record"] = None if partial is None else {"start_day": partial[0] / DAY_S,
                                                              "end_day": partial[1] / DAY_S}
    if partial is not None and d.is_root:
        what = (f"a partial mean over days {partial[0] / DAY_S:g}-{partial[1] / DAY_S:g}" if cfg.output.mode == "mean"
                else f"a snapshot of the end state, day {partial[1] / DAY_S:g}")
        log.warning(f"output: the last record is {what} (the run ended inside an output interval of "
                    f"{cfg.output.interval_days:g} days; a run continued from the restart replaces it)")
    if d.is_root:
        if progress:
            log.info(f"done: {loop.steps_done} steps in {summary['wall_s']:.1f} s; after the first {WARMUP_STEPS} "
                     f"steps {summary['us_per_cell_step_per_core']:.3f} us per cell per step per core "
                     f"({summary['cells']} cells, {d.size * threads} core(s)), {summary['sypd']:.2f} simulated "
                     "years per day")
    if model.closures:
        summary["coupling"] = coupling_report(model, summary["timed_wall_s"], out, d.is_root and progress)
        summary["ocean_waited_for_ml"] = {c["closure"]: c["ocean_waited"] for c in summary["coupling"]["closures"]}
        online = {c["closure"]: c["online"] for c in summary["coupling"]["closures"] if "online" in c}
        if online:
            summary["online_training"] = online
    if d.is_root and out is not None:
        (out / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if k != "coupling"},
                                                     indent=1) + "\n")
    if model.closures:
        if any(c.silent_ml for c in model.closures):
            end_job_for_silent_ml(model)
    model.summary = summary
    if loop.stop_signal:
        name = signal.Signals(loop.stop_signal).name
        where = (f"; continue with --restart {out / f'restart_{model.state.nstep:08d}.nc'} --out {out}" if out
                 else "")
        msg = (f"stopped by {name} after step {model.state.nstep} (day {model.state.time_s / DAY_S:.2f}); "
               f"restart and output written{where}")
        if d.is_root:
            log.warning(msg)
        raise RunStopped(loop.stop_signal, msg)
    return summary
