#!/usr/bin/env python
"""The overhead experiment: measure the parts a coupled run is made of, predict whole runs
with ``ocean.perf_model``, and check the predictions against real coupled runs.

    python scripts/load_balance.py measure OUT.json [--rounds 5] [--precisions fp32 bf16]
    python scripts/load_balance.py --quick OUT          # a few minutes: measure, predict, run, compare

``measure`` times, each figure the median of ``--rounds`` rounds with its range, one core:

- the ocean's step on one rank against tile size (DINO sectors of growing width with the
  full grid's barotropic sub-steps), for dino_r1 (GZ21's ocean) and dino_r025 with FK08's
  MLE transport (the transport BBZ24's w'b' feeds), the halo exchanges per step, and the
  share of the step before each closure slot (where async needs the result);
- one halo exchange between two ranks (``scripts/bench_halo.py``) of 2-D and 3-D fields at
  two tile sizes;
- the coupler's round trip with an empty inference (``scripts/probe_exchange.py``) at two
  sizes: receive, assembly into the padded batch, send back;
- inference against batch size for nets of the published sizes (``closures.zoo``: BBZ24's
  2-D net and GZ21's net), per precision, one torch thread; where CUDA exists, the same on
  the GPU and the host-device copies against their size (skipped, and said so, elsewhere);
- the interference: one rank's dino_r1 step beside a core inferring in a loop against
  alone, in interleaved pairs of runs (``ocean.perf_model``, item 6).

``--quick OUT`` measures with fewer rounds and sizes into OUT/measurements.json, then runs
dino_r1 with 1 ocean rank and 1 ML rank uncoupled, sync and async for each closure (zoo
nets: BBZ24's size through the MLE transport, GZ21's profile form), compares the model
with them, and predicts the resources needed at the published scale. Ends with one JSON
line: {"model_error_pct": {"{closure}-{mode}": ...}, "resource_overhead_pct":
{"{closure}-{mode}-{device}": ...}, "speed_kept_pct": {...}, "not_measured": [...], ...}.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from bench_coupling import cpu_line, keep_fastest, mpirun_cmd, run_case  # noqa: E402

from ocean.closure_slots import Closure  # noqa: E402
from ocean.perf_model import CLOSURES, MODES, NotMeasured, Parts, fit_line, ocean_step_s, resources_for, \
    stat, step_s  # noqa: E402

ENV = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
           PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])))

# ocean case -> (configuration, settings, sector widths timed (degrees of longitude); None: the full width)
OCEAN_CASES = {
    "dino_r1": ("configs/dino_r1.toml", (), (4.0, 16.0, None)),
    "dino_r1_fk08": ("configs/dino_r1.toml", ("mle.kind=fk08",), (4.0, 16.0, None)),
    "dino_r025_fk08": ("configs/dino_r025.toml", ("mle.kind=fk08",), (1.0, 2.0, 4.0)),
}
# the --quick check: closure -> (ocean case, model key, settings of the coupled runs, of the uncoupled one)
QUICK = {"bbz24": ("dino_r1_fk08", "bbz24", ("--set", "mle.kind=bbz24"), ("--set", "mle.kind=fk08")),
         "gz21-profile": ("dino_r1", "gz21-profile", ("--set", "closure.physics=gz21", "--set", "closure.form=profile",
                                              "--set", "closure.noise=shared"), ())}
# the ocean rank's own work for a closure (gathering its inputs, applying its result), measured
# in-process on dino_r1: model key -> (net, settings)
OWN = {"bbz24": ("bbz24", ("mle.kind=bbz24",)),
       "gz21-profile": ("gz21", ("closure.physics=gz21", "closure.form=profile", "closure.noise=shared")),
       "gz21-levels": ("gz21", ("closure.physics=gz21", "closure.form=levels", "closure.noise=shared"))}
# the published scale: closure as the JSON line names it -> (ocean case, ocean ranks, model key); "gz21" is
# the published DINO.GZ21 form (every level), "gz21-profile" the surface inference times a vertical structure
PUBLISHED = {"bbz24": ("dino_r025_fk08", 999, "bbz24"), "gz21": ("dino_r1", 64, "gz21-levels"),
             "gz21-profile": ("dino_r1", 64, "gz21-profile")}


class SlotClock(Closure):
    """Records when the step reaches each slot, for the share of the step before it."""

    def __init__(self):
        self.t0, self.marks = 0.0, {}

    def start_of_step(self):
        self.t0 = time.perf_counter()

    def _mark(self, slot):
        self.marks.setdefault(slot, []).append(time.perf_counter() - self.t0)

    def momentum_tendency(self, gu, gv):
        self._mark("momentum")

    def eddy_velocity(self, ueiv, veiv):
        self._mark("eddy_velocity")

    def tracer_tendency(self, Ta, Sa, dt):
        self._mark("tracer")


def time_ocean(config: str, sets, widths, n_sub: int, rounds: int, steps: int) -> list[dict]:
    """One rank's step on sectors ``widths`` degrees wide (None: the configured width), each
    with ``n_sub`` barotropic sub-steps, timed in ``rounds`` interleaved rounds of ``steps``
    (so that a slow spell of a shared machine hits every size alike)."""
    import numba
    from ocean import config as ocfg
    from ocean.run import build_model
    numba.set_num_threads(1)
    models = []
    for w in widths:
        extra = ["parallel.threads=1", *sets, f"time.barotropic_substeps={n_sub}"] \
            + ([f"grid.lon_extent_deg={w}"] if w else [])
        cfg = ocfg.load(str(ROOT / config), extra)
        model = build_model(cfg)
        clock = SlotClock()
        model.add_physics(clock)
        for _ in range(2):
            model.step()
        clock.marks.clear()
        models.append((model, clock, model.halo.calls, [], cfg.run.max_velocity_m_s))
    for _ in range(rounds):
        for model, _, _, per_round, umax in models:
            t0 = time.perf_counter()
            for _ in range(steps):
                model.step()
                model.check(umax)                        # as a run's loop does after every step
            per_round.append((time.perf_counter() - t0) / steps)
    res = []
    for model, clock, calls0, per_round, _ in models:
        g = model.grid
        step = float(np.median(per_round))
        res.append({"nx": g.nx_glo, "ny": g.ny_glo, "nz": g.nz, "cells": g.nx_glo * g.ny_glo * g.nz,
                    "s_per_step": stat(per_round), "halo_calls_per_step": (model.halo.calls - calls0) / (rounds * steps),
                    "slot_fraction": {k: float(np.median(v)) / step for k, v in clock.marks.items()}})
    return res


def full_grid(config: str, sets) -> tuple:
    """(configuration, {"grid": [nx, ny, nz], "dt_s", "n_sub"}) of the whole sector, built, not run."""
    from ocean import config as ocfg
    from ocean.run import build_model
    cfg = ocfg.load(str(ROOT / config), list(sets))
    model = build_model(cfg)
    g = model.grid
    return cfg, {"grid": [g.nx_glo, g.ny_glo, g.nz], "dt_s": model.dt, "n_sub": model.n_sub}


def measure_ocean(rounds: int, steps: int) -> dict:
    """Per ocean case: the step against tile size and its fit, halo exchanges and slot shares."""
    out = {}
    for case, (config, sets, widths) in OCEAN_CASES.items():
        cfg, grid = full_grid(config, sets)
        tiles = time_ocean(config, sets, widths, grid["n_sub"], rounds, steps)
        a, b = fit_line([t["cells"] for t in tiles], [t["s_per_step"]["median"] for t in tiles])
        biggest = max(tiles, key=lambda t: t["cells"])
        n_sub = grid["n_sub"]
        out[case] = {"config": config, "sets": list(sets), "grid": grid["grid"], "dt_s": grid["dt_s"], "n_sub": n_sub,
                     "resolution_deg": cfg.grid.resolution_deg, "mle": cfg.mle.kind,
                     "halo_calls_per_step": float(np.median([t["halo_calls_per_step"] for t in tiles])),
                     "slot_fraction": biggest["slot_fraction"], "fixed_s": a, "s_per_cell": b,
                     "tiles": [{k: t[k] for k in ("nx", "ny", "cells", "s_per_step")} for t in tiles]}
        print(f"ocean {case}: " + ", ".join(f"{t['nx']}x{t['ny']} {t['s_per_step']['median'] * 1e3:.1f} ms"
                                            for t in tiles)
              + f" -> {a * 1e3:.2f} ms + {b * 1e6:.3f} us per cell; {n_sub} sub-steps, "
              f"{out[case]['halo_calls_per_step']:.0f} halo exchanges per step; slots at "
              + ", ".join(f"{k} {100 * v:.0f}%" for k, v in biggest["slot_fraction"].items()) + " of the step",
              flush=True)
    return out


def measure_own(nets: dict, rounds: int) -> dict:
    """Per model key: the ocean rank's own seconds per exchange in the closure's ``pack`` and
    ``apply`` timers (one rank, the whole dino_r1 grid, in-process so that no ML rank runs
    beside it), per point of its output tile (levels x columns), median of ``rounds`` steps."""
    import numba
    import torch
    from ocean import config as ocfg
    from ocean.run import attach_closures, build_model
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    out = {}
    for key, (net, sets) in OWN.items():
        cfg = ocfg.load(str(ROOT / "configs/dino_r1.toml"),
                        ["parallel.threads=1", f'closure.model_file="{nets[net]}"', "closure.mode=inprocess",
                         "closure.device=cpu", *sets])
        model = build_model(cfg)
        attach_closures(model, cfg, None)
        hook = model.closures[0]
        model.step()
        own = []
        for _ in range(rounds):
            hook.timers.reset()
            model.step()
            own.append(sum(v for k, v in hook.timers.seconds.items() if k in ("pack", "apply")))
        g = model.grid
        pts = g.nx * g.ny * (g.nz if CLOSURES[key].levels else 1)
        out[key] = {"s": stat(own), "points": pts, "s_per_point": float(np.median(own)) / pts}
        print(f"ocean rank's own work for {key}: {out[key]['s']['median'] * 1e3:.1f} ms per exchange "
              f"({out[key]['s']['min'] * 1e3:.1f}-{out[key]['s']['max'] * 1e3:.1f})", flush=True)
    return out


def _mpi_json(script: str, args: list[str]) -> dict:
    cmd = [*mpirun_cmd(2), sys.executable, str(ROOT / "scripts" / script), *args]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure_halo(rounds: int, quick: bool) -> dict:
    """Halo exchanges between two ranks: the 1000-rank dino_r025 tile and a dino_r1 half."""
    points = []
    for nx, ny in ((16, 22), (50, 199)):
        runs = [_mpi_json("bench_halo.py", ["--nx", str(nx), "--ny", str(ny), "--repeat", "50" if quick else "200"])
                for _ in range(rounds)]
        points.append({"tile": runs[0]["tile"], "bytes_3d": runs[0]["bytes_3d"],
                       "s_2d": stat(r["us_per_exchange_2d"] * 1e-6 for r in runs),
                       "s_3d": stat(r["us_per_exchange_3d"] * 1e-6 for r in runs)})
    h3, s3 = fit_line([p["bytes_3d"] for p in points], [p["s_3d"]["median"] for p in points])
    s2 = float(np.median([p["s_2d"]["median"] for p in points]))
    print(f"halo: 2-D {s2 * 1e6:.0f} us; 3-D {h3 * 1e6:.0f} us + {s3 * 1e9:.2f} ns per byte "
          + "; ".join(f"tile {p['tile']}: 3-D {p['s_3d']['median'] * 1e6:.0f} us "
                      f"({p['s_3d']['min'] * 1e6:.0f}-{p['s_3d']['max'] * 1e6:.0f})" for p in points), flush=True)
    return {"points": points, "s_2d": s2, "fixed_s_3d": h3, "s_per_byte_3d": s3}


def measure_exchange(rounds: int, quick: bool) -> dict:
    """The coupler's round trip (ocean rank -> ML rank -> back, empty inference)."""
    points = []
    for shape_in, shape_out in (("8,26,26", "1,8,8"), ("72,219,70", "144,199,50")):
        runs = [_mpi_json("probe_exchange.py", [shape_in, shape_out, "--reps", "20" if quick else "50",
                                                "--rounds", "2"]) for _ in range(rounds)]
        points.append({"in": shape_in, "out": shape_out, "bytes": runs[0]["bytes"],
                       "round_trip_s": stat(r["coupler_round_trip_s"] for r in runs),
                       "mpi_round_trip_s": stat(r["mpi_round_trip_s"] for r in runs)})
    x0, x1 = fit_line([p["bytes"] for p in points], [p["round_trip_s"]["median"] for p in points])
    print("exchange: " + "; ".join(f"{p['bytes'] / 1e6:.3f} MB {p['round_trip_s']['median'] * 1e3:.3f} ms "
                                   f"({p['round_trip_s']['min'] * 1e3:.3f}-{p['round_trip_s']['max'] * 1e3:.3f})"
                                   for p in points) + f" -> {x0 * 1e6:.0f} us + {x1 * 1e9:.3f} ns per byte", flush=True)
    return {"points": points, "fixed_s": x0, "s_per_byte": x1}


# net -> padded input batches (B, C, Y, X) timed: the 1000-rank dino_r025 tile, a middle one, a dino_r1 tile
BATCHES = {"bbz24": [(1, 8, 26, 40), (1, 8, 70, 70), (1, 8, 217, 68)],
           "gz21": [(1, 2, 28, 42), (1, 2, 219, 70), (8, 2, 219, 70)]}


def _nets(tmp: Path) -> dict:
    from closures.zoo import bbz24_size_closure, gz21_random_closure
    return {"bbz24": bbz24_size_closure(tmp / "bbz24_size.pt"), "gz21": gz21_random_closure(tmp / "gz21_size.pt")}


def _time_infer(net, shape, halo: int, rounds: int, c_out: int, sync=lambda: None) -> list[float]:
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 0.1
    out = np.zeros((shape[0], c_out, shape[2] - 2 * halo, shape[3] - 2 * halo), np.float32)
    net.infer(x, out)                                   # warm-up (oneDNN primitives, JIT)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        net.infer(x, out)
        sync()
        times.append(time.perf_counter() - t0)
    return times


def measure_inference(nets: dict, precisions, rounds: int, quick: bool) -> tuple[dict, dict, dict]:
    """{device: {net-precision: fit}}, {device: copy fit}, {device: why not measured}."""
    import torch
    from closures.runtime import LoadedClosure
    torch.set_num_threads(1)
    shapes = {k: CLOSURES["bbz24" if k == "bbz24" else "gz21-profile"] for k in nets}
    inference, copies, missing = {"cpu": {}}, {}, {}
    for name, path in nets.items():
        for prec in precisions:
            net = LoadedClosure(path, "cpu", prec)
            pts = []
            for shape in BATCHES[name][:2 if quick and prec != "fp32" else 3]:
                t = _time_infer(net, shape, shapes[name].halo, rounds, shapes[name].c_out)
                pts.append({"batch": list(shape), "points": int(np.prod(shape) // shape[1]), "s": stat(t)})
            a, b = fit_line([p["points"] for p in pts], [p["s"]["median"] for p in pts])
            inference["cpu"][f"{name}-{prec}"] = {"points": pts, "fixed_s": a, "s_per_point": b}
            print(f"inference cpu {name}-{prec}: " + "; ".join(
                f"{p['points']} points {p['s']['median'] * 1e3:.1f} ms ({p['s']['min'] * 1e3:.1f}-"
                f"{p['s']['max'] * 1e3:.1f})" for p in pts) + f" -> {a * 1e3:.2f} ms + {b * 1e6:.3f} us per point",
                flush=True)
    if not torch.cuda.is_available():
        missing["cuda"] = "not measured: no CUDA device where the measurements were made"
        print(f"inference cuda: {missing['cuda']}", flush=True)
        return inference, copies, missing
    inference["cuda"] = {}
    sizes, copy_t = [], []
    for name, path in nets.items():
        net = LoadedClosure(path, "cuda")
        pts = []
        for shape in BATCHES[name] + [(64, *BATCHES[name][-1][1:])]:
            x = torch.from_numpy(np.ones(shape, np.float32))
            tc = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                x.to("cuda").cpu()
                tc.append(time.perf_counter() - t0)
            sizes.append(2 * x.numel() * 4)
            copy_t.append(float(np.median(tc)))
            t = _time_infer(net, shape, shapes[name].halo, rounds, shapes[name].c_out, torch.cuda.synchronize)
            t = [max(v - copy_t[-1], 0.0) for v in t]       # the copies are modelled on their own
            pts.append({"batch": list(shape), "points": int(np.prod(shape) // shape[1]), "s": stat(t)})
        a, b = fit_line([p["points"] for p in pts], [p["s"]["median"] for p in pts])
        inference["cuda"][f"{name}-fp32"] = {"points": pts, "fixed_s": a, "s_per_point": b,
                                             "gpu": torch.cuda.get_device_name()}
    c0, c1 = fit_line(sizes, copy_t)
    copies["cuda"] = {"bytes": sizes, "s": copy_t, "fixed_s": c0, "s_per_byte": c1}
    print(f"cuda: inference {inference['cuda']}, copies {c0 * 1e6:.0f} us + {c1 * 1e9:.3f} ns per byte", flush=True)
    return inference, copies, missing


def measure_interference(nets: dict, rounds: int, steps: int, tmp: Path) -> dict:
    """I: how much slower one rank's dino_r1 step runs beside one core inferring GZ21's
    profile form in a loop than alone (fraction), from ``rounds`` interleaved pairs of runs,
    the median of the pairs' ratios (each pair ran minutes apart at most)."""
    ratios = []
    for rnd in range(rounds):
        alone = run_case("configs/dino_r1.toml", steps, tmp / f"alone-{rnd}", 1, 1, nets["gz21"], "none", "cpu", ENV)
        busy = run_case("configs/dino_r1.toml", steps, tmp / f"busy-{rnd}", 1, 1, nets["gz21"], "busy", "cpu", ENV)
        ratios.append(busy["s_per_step"] / alone["s_per_step"] - 1.0)
    frac = float(np.median(ratios))
    print(f"interference: one rank's step beside a busy core {100 * frac:+.1f}% "
          f"({', '.join(f'{100 * r:+.1f}%' for r in ratios)})", flush=True)
    return {"fraction": frac, "rounds": [float(r) for r in ratios]}


def measure(rounds: int, precisions, quick: bool, tmp: Path) -> dict:
    print(f"CPU: {cpu_line()}", flush=True)
    meas = {"cpu": cpu_line(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rounds": rounds,
            "torch_threads": 1, "numba_threads": 1}
    meas["ocean"] = measure_ocean(max(rounds, 5), 2 if quick else 5)
    meas["halo"] = measure_halo(rounds, quick)
    meas["exchange"] = measure_exchange(rounds, quick)
    nets = _nets(tmp)
    inf, copies, missing = measure_inference(nets, precisions, max(rounds, 3), quick)
    meas.update({"inference": inf, "copies": copies, "not_measured": missing, "closure_own": measure_own(nets, rounds),
                 "interference": measure_interference(nets, max(rounds, 2), 20 if quick else 40, tmp)})
    return meas


# ---------------------------------------------------------------------------- predictions
def published_scale(meas: dict, devices=("cpu", "cuda"), precision: str = "fp32") -> tuple[dict, dict, list]:
    """Resources to keep 97% of the uncoupled speed at the published scale:
    ({closure-mode-device: % of the ocean's cores or null}, {same: % of the speed kept}, [not measured])."""
    over, kept, missing = {}, {}, []
    for closure, (case, n, model_key) in PUBLISHED.items():
        for device in devices:
            try:
                p = Parts.from_measurements(meas, case, model_key, precision if device == "cpu" else "fp32",
                                            device=device)
            except NotMeasured as exc:
                missing.append(f"{closure}-{device}: {exc}")
                continue
            for mode in MODES:
                r = resources_for(p, n, model_key, mode, device=device)
                key = f"{closure}-{mode}-{device}"
                over[key] = r["overhead_pct"] if r["reached"] else None
                kept[key] = 100.0 * r["fraction"]
    return over, kept, missing




def quick(out: Path, rounds: int, steps: int, repeat: int, reuse: str | None = None, precision: str = "fp32") -> int:
    """Measure the parts (inference at ``precision``), run 1+1 coupled runs at that precision,
    and compare the model's predictions with them."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        meas = json.loads(Path(reuse).read_text()) if reuse else measure(rounds, (precision,), True, tmp)
        (out / "measurements.json").write_text(json.dumps(meas, indent=1) + "\n")
        nets = _nets(tmp)
        best: dict = {}
        for rnd in range(repeat):
            for closure, (case, key, extra, plain) in QUICK.items():
                for mode in ("none", "busy", "sync", "async"):
                    r = run_case("configs/dino_r1.toml", steps, tmp / f"{closure}-{mode}-{rnd}", 1, 1,
                                 nets[CLOSURES[key].net], mode, "cpu", ENV,
                                 (*extra, "--set", f"closure.precision={precision}"), uncoupled=plain)
                    keep_fastest(best, (closure, mode), r)
                    kept = out / "runs" / f"{closure}-{mode}-{rnd}"       # the summaries, for the record
                    kept.mkdir(parents=True, exist_ok=True)
                    for name in ("summary.json", "coupling_timers.json", "run.log"):
                        if (tmp / f"{closure}-{mode}-{rnd}" / name).exists():
                            shutil.copy(tmp / f"{closure}-{mode}-{rnd}" / name, kept / name)
                    print(f"  round {rnd + 1}/{repeat} {closure} {mode:5s}: {r['s_per_step'] * 1e3:.1f} ms per step",
                          flush=True)
    errors, loaded_errors, in_run_errors, rows, notes = {}, {}, {}, [], []
    for closure, (case, key, _, _) in QUICK.items():
        p = Parts.from_measurements(meas, case, key, precision)
        # the same model fed with the parts as the coupled runs saw them: the ocean's step beside a
        # core inferring in a loop ("busy"), the ML rank's inference per exchange (sync run's timers)
        infer = _per_exchange(best[closure, "sync"])
        loaded = replace(p, a=best[closure, "busy"]["s_per_step"], b=0.0, i0=infer, i1=0.0, interference=0.0)
        for mode in ("none", "sync", "async"):
            got = best[closure, mode]
            pred = step_s(p, 1, 1, key, mode) if mode != "none" else ocean_step_s(p, 1)
            pred_l, pred_r, waited = pred, pred, 0.0            # uncoupled: no busy core beside it
            if mode != "none":
                pred_l = step_s(loaded, 1, 1, key, mode)
                # and with each part as this very run timed it: only the modes' waiting is modelled
                sec = {k: v / got["steps"] for k, v in got["timers"]["ocean"][0]["seconds"].items()}
                own = sum(v for k, v in sec.items() if k in ("pack", "apply", "send"))
                in_run = replace(p, a=sec["compute"], b=0.0, i0=_per_exchange(got), i1=0.0,
                                 o=own / _points(p, key, halo=False), interference=0.0)
                pred_r, waited = step_s(in_run, 1, 1, key, mode), sec.get("wait", 0.0)
            name = f"{closure}-{'uncoupled' if mode == 'none' else mode}"
            for table, value in ((errors, pred), (loaded_errors, pred_l), (in_run_errors, pred_r)):
                table[name] = 100.0 * (value - got["s_per_step"]) / got["s_per_step"]
            rows.append((name, pred, pred_l, pred_r, got["s_per_step"], waited))
        notes.append(f"  {closure}: inference {infer * 1e3:.1f} ms per exchange in the sync run against "
                     f"{(p.i0 + p.i1 * _points(p, key)) * 1e3:.1f} ms alone; the ocean beside a busy core "
                     f"{best[closure, 'busy']['s_per_step'] * 1e3:.1f} ms per step against "
                     f"{ocean_step_s(p, 1) * 1e3:.1f} ms alone")
    print(f"\n1 ocean rank + 1 ML rank, dino_r1 ({meas['cpu']}); fastest of {repeat} round(s). Predicted by the "
          f"model fed with the parts measured one at a time ('alone', interference "
          f"{100 * meas.get('interference', {}).get('fraction', 0.0):+.1f}% included), with the ocean step beside a busy core and the "
          "inference of the sync run ('loaded'), and with every part as the run itself timed it ('in run': only "
          "the waiting is modelled)")
    print(f"{'closure-mode':18s}{'alone':>9s}{'loaded':>9s}{'in run':>9s}{'measured':>10s}{'err alone':>11s}"
          f"{'loaded':>8s}{'in run':>8s}{'ocean waited':>14s}")
    for name, pred, pred_l, pred_r, got, waited in rows:
        print(f"{name:18s}{pred * 1e3:7.1f}ms{pred_l * 1e3:7.1f}ms{pred_r * 1e3:7.1f}ms{got * 1e3:8.1f}ms"
              f"{errors[name]:10.1f}%{loaded_errors[name]:7.1f}%{in_run_errors[name]:7.1f}%{waited * 1e3:9.1f} ms/step")
    print("\n".join(notes))
    over, kept, missing = published_scale(meas, precision=precision)
    print("\nresources to keep 97% of the uncoupled speed at the published scale (ML cores as % of the ocean's):")
    for k, v in over.items():
        print(f"  {k:28s} {'not reached' if v is None else f'{v:.1f}%':>12s}  speed kept {kept[k]:.1f}%")
    for m in missing:
        print(f"  {m}")
    line = {"cpu": meas["cpu"], "model_error_pct": errors, "model_error_loaded_pct": loaded_errors,
            "model_error_in_run_pct": in_run_errors, "measured_s_per_step": {r[0]: r[4] for r in rows},
            "resource_overhead_pct": over, "speed_kept_pct": kept,
            "published_scale": {k: list(v) for k, v in PUBLISHED.items()}, "not_measured": missing}
    (out / "quick.json").write_text(json.dumps(line, indent=1) + "\n")
    print(json.dumps(line))
    return 0


def _points(p: Parts, key: str, halo: bool = True) -> int:
    """Points one ML rank infers (``halo``) or gets back for one ocean rank holding the whole grid."""
    cl = CLOSURES[key]
    h = cl.halo if halo else 0
    return (p.nz if cl.levels else 1) * (p.nx + 2 * h) * (p.ny + 2 * h)


def _per_exchange(run: dict) -> float:
    """The ML rank's inference seconds per exchange in a coupled run (its timers)."""
    ml = run["timers"]["ml"][0]
    return ml["seconds"]["infer"] / max(ml["batches"], 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("command", nargs="?", choices=("measure",), help="measure the parts into OUT")
    p.add_argument("out", help="measure: the JSON file to write; --quick: a directory")
    p.add_argument("--quick", action="store_true", help="measure, predict, run 1+1 coupled runs, compare")
    p.add_argument("--rounds", type=int, default=None, help="rounds per figure (default 5; --quick 3)")
    p.add_argument("--precisions", nargs="+", default=["fp32"], choices=("fp32", "fp32-eager", "bf16"))
    p.add_argument("--steps", type=int, default=10, help="--quick: timed steps of each coupled run")
    p.add_argument("--repeat", type=int, default=2, help="--quick: interleaved rounds of the coupled runs")
    p.add_argument("--measurements", help="--quick: take the parts from this file instead of measuring them")
    a = p.parse_args()
    if a.quick:
        return quick(Path(a.out), a.rounds or 3, a.steps, a.repeat, a.measurements, a.precisions[0])
    if a.command != "measure":
        p.error("give 'measure OUT.json' or '--quick OUT'")
    with tempfile.TemporaryDirectory() as tmp:
        meas = measure(a.rounds or 5, a.precisions, False, Path(tmp))
    Path(a.out).write_text(json.dumps(meas, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
