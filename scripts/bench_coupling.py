#!/usr/bin/env python
"""Coupling overhead: the same ocean run uncoupled and with an ML closure in every mode.

    python scripts/bench_coupling.py                  # dino_r1, 2-D (BBZ24-size) and 3-D (GZ21-size) nets
    python scripts/bench_coupling.py --steps 40 --steps-3d 4 --repeat 5 --ocean-ranks 1 --ml-ranks 1
    python scripts/bench_coupling.py --closure gz21 --state RESTART   # GZ21's weights, both forms
    python scripts/bench_coupling.py --closure bbz24 --steps 10 --repeat 2   # BBZ24's weights in dino_r025

The closures are nets of the published sizes with random weights (``closures.zoo``): a 2-D
one like BBZ24 (8 surface inputs, 1 output, 155,969 parameters, halo 9) and a 3-D one like
GZ21 (u, v on all levels, 268,005 parameters, halo 10, levels as batch), both every step.
Each case is one ``mpirun``; the ocean ranks use one numba thread and each ML rank one torch
thread, so on a 2-core machine the ocean and the ML rank each own a core. The first two
steps of every run are left out of the timings (set-up and JIT excluded).

For the 2-D closure the cases run in ``--repeat`` interleaved rounds (uncoupled, busy,
inprocess, sync, async, lagged, then again), so that a slow spell of a shared machine hits
all of them, and the fastest run of each case counts. Reported per mode:

- overhead: (coupled wall - uncoupled wall) / uncoupled wall;
- coupler: the ocean's own time in the coupler (packing the inputs with their halo exchange,
  posting, waiting for the result) over the uncoupled wall;
- the rest of the overhead is the ocean computing slower beside a busy ML core. The "busy"
  case measures that alone: the uncoupled ocean while the net infers in a loop on the other
  core (``interference_pct``).

The exchange throughput comes from ``scripts/probe_exchange.py``: the coupler's round trip
with an empty inference against a raw MPI ping-pong of the same buffers, in one job. Ends
with one JSON line.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from closures.cpu import cpu_line  # noqa: E402

MODES = ("inprocess", "sync", "async", "lagged")
BUSY_LOOP = """
import sys, numpy as np, torch
from closures.runtime import LoadedClosure
torch.set_num_threads(1)
net = LoadedClosure(sys.argv[1], "cpu")
x = np.random.default_rng(0).standard_normal(tuple(int(v) for v in sys.argv[2].split(","))).astype(net.np_dtype)
h = net.spec.halo
out = np.zeros((x.shape[0], net.spec.out_channels(int(sys.argv[3])), x.shape[2] - 2 * h, x.shape[3] - 2 * h), net.np_dtype)
while True:
    net.infer(x, out)
"""


def mpirun_cmd(n: int) -> list[str]:
    exe = Path(sys.executable).with_name("mpirun")
    return [str(exe) if exe.exists() else "mpirun", "-n", str(n)]


def run_case(config: str, steps: int, out: Path, ocean: int, ml: int, closure: Path | None, mode: str,
             device: str, env: dict, extra: tuple = (), busy_shape: str = "", uncoupled: tuple = ()) -> dict:
    """One run; ``mode`` "none" is uncoupled, "busy" uncoupled beside ``ml`` loops each
    inferring the whole grid as one tile (what one ML rank serving one ocean rank does).
    ``extra``: settings of the coupled runs; ``uncoupled``: of the others."""
    sets = ["--set", "output.interval_days=0", "--set", "parallel.threads=1"]
    coupled = mode not in ("none", "busy")
    if not coupled:
        sets += list(uncoupled)
    if coupled:
        sets += ["--set", f'closure.model_file="{closure}"', "--set", f"closure.mode={mode}",
                 "--set", f"closure.ml_ranks={ml if mode != 'inprocess' else 0}", "--set", f"closure.device={device}",
                 "--set", "closure.timeout_s=600", *extra]
    n = ocean + (ml if coupled and mode != "inprocess" else 0)
    loops = []
    if mode == "busy":
        shape = busy_shape or ",".join(str(v) for v in (1, *tile_shapes(config, closure)[0]))  # whole grid, batch 1
        nz = _grid(config).nz
        loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(closure), shape, str(nz)], cwd=ROOT, env=env)
                 for _ in range(ml)]
        time.sleep(3.0)                                   # the loops are inferring before the ocean starts
    try:
        from ocean.run import WARMUP_STEPS
        cmd = [*mpirun_cmd(n), sys.executable, "-m", "ocean", "run", config, "--steps", str(steps + WARMUP_STEPS),
               "--out", str(out),
               "--no-progress", *sets]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    finally:
        for p in loops:
            p.kill()
            p.wait()
    summary = json.loads((out / "summary.json").read_text())
    timers = json.loads((out / "coupling_timers.json").read_text())["closures"][0] \
        if (out / "coupling_timers.json").exists() else None
    return {"wall": summary["timed_wall_s"], "steps": summary["timed_steps"],
            "s_per_step": summary["timed_wall_s"] / summary["timed_steps"], "timers": timers}


def keep_fastest(best: dict, key, r: dict) -> None:
    """Keep in ``best[key]`` the run with the shortest wall time per step."""
    if key not in best or r["s_per_step"] < best[key]["s_per_step"]:
        best[key] = r


def slower_pct(r: dict, base: dict) -> float:
    """How much longer a step of run ``r`` takes than one of ``base`` (%)."""
    return 100.0 * (r["s_per_step"] - base["s_per_step"]) / base["s_per_step"]


@functools.lru_cache(maxsize=None)
def _grid(config: str):
    """The undecomposed grid of ``config`` (built once: it is needed by several cases)."""
    from ocean import config as ocfg
    from ocean.run import build_model
    return build_model(ocfg.load(config)).grid


def tile_shapes(config: str, closure: Path) -> tuple[tuple, tuple]:
    """(input tile C, Y, X with halo; output tile C, Y, X) of one undecomposed ocean rank."""
    from closures.runtime import LoadedClosure
    spec, g = LoadedClosure(closure).spec, _grid(config)
    H = spec.halo
    return (spec.in_channels(g.nz), g.ny + 2 * H, g.nx + 2 * H), (spec.out_channels(g.nz), g.ny, g.nx)


def probe(in_shape: tuple, out_shape: tuple, env: dict, reps: int) -> dict:
    cmd = [*mpirun_cmd(2), sys.executable, "scripts/probe_exchange.py", ",".join(map(str, in_shape)),
           ",".join(map(str, out_shape)), "--reps", str(reps)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def analyse(base: dict, cases: dict, device: str) -> dict:
    res = {"overhead_pct": {}, "coupler_pct": {}, "ocean_s_per_step": base["s_per_step"]}
    for mode, c in cases.items():
        key = f"{mode}-{device}"
        res["overhead_pct"][key] = slower_pct(c, base)            # per step: the 3-D runs are shorter
        if c["timers"]:
            own = sum(v for k, v in c["timers"]["ocean"][0]["seconds"].items() if k in ("pack", "send", "wait"))
            res["coupler_pct"][key] = 100.0 * own * base["steps"] / c["steps"] / base["wall"]
    sync = cases.get("sync")
    if sync and sync["timers"]:
        ml = sync["timers"]["ml"][0]
        res["infer_s_per_exchange"] = ml["seconds"].get("infer", 0.0) / max(ml["batches"], 1)
        res["ml_ranks_to_keep_up"] = res["infer_s_per_exchange"] / res["ocean_s_per_step"]
    return res


# ---------------------------------------------------------------------------- GZ21 with its weights
GZ21_CONFIG = "configs/dino_r1_gz21.toml"
SHARED_GZ21 = ROOT.parent / "shared" / "published" / "gz21_hf_low_resolution" / "trained_model.pth"
FORMS = ("profile", "levels")


SPREAD_MAX = 1e-6      # closure.spread_max_m_s2's default: the physics layer's cap on the spread (m s-2)


def draw(out, eps):
    """The stochastic forcing S = mean + eps * spread (m s-2) of the net's outputs ``out`` (B, 4,
    Y, X) for one noise field ``eps`` (B, 2, Y, X), the spread capped as the physics layer caps it."""
    import numpy as np
    spread = out[:, 2:]
    return out[:, :2] + eps * np.where((spread > 0) & (spread < SPREAD_MAX), spread, SPREAD_MAX)


def rel_rms(y, ref) -> float:
    import numpy as np
    return float(np.sqrt(((y - ref) ** 2).mean() / (ref ** 2).mean()))


def inference_table(files: dict, batches: dict, test: dict, rounds: int) -> dict:
    """Seconds per exchange (median and range of ``rounds`` interleaved rounds, one thread)
    and the error against fp32 as saved, per (form, precision). ``files[precision]`` is the
    closure file and load precision; ``batches[form]`` the input tiles of one exchange;
    ``test[form]`` held-out tiles for the errors."""
    import numpy as np
    import torch
    from closures.runtime import LoadedClosure
    torch.set_num_threads(1)
    nets = {prec: LoadedClosure(path, "cpu", load) for prec, (path, load) in files.items()}
    times: dict = {}
    for rnd in range(rounds + 1):                    # round 0 warms up (oneDNN primitives, JIT)
        for form, x in batches.items():
            out = np.zeros((x.shape[0], 4, x.shape[2] - 20, x.shape[3] - 20), np.float32)
            for prec, net in nets.items():
                t0 = time.perf_counter()
                net.infer(x, out)
                if rnd:
                    times.setdefault((form, prec), []).append(time.perf_counter() - t0)
    table = {}
    for form, x in test.items():
        eps = np.random.default_rng(0).standard_normal((x.shape[0], 2, x.shape[2] - 20, x.shape[3] - 20))
        ref = np.zeros((x.shape[0], 4, x.shape[2] - 20, x.shape[3] - 20), np.float32)
        nets["fp32-eager"].infer(x, ref)
        for prec, net in nets.items():
            y = np.zeros_like(ref)
            net.infer(x, y)
            ok = (ref[:, 2:] > 0) & (ref[:, 2:] < SPREAD_MAX)       # spreads the draw uses uncapped
            t = times[form, prec]
            table[form, prec] = {
                "s_per_exchange": float(np.median(t)), "range": [min(t), max(t)],
                "err_mean": rel_rms(y[:, :2], ref[:, :2]),
                "err_spread": rel_rms(y[:, 2:][ok], ref[:, 2:][ok]),
                "err_forcing": rel_rms(draw(y, eps), draw(ref, eps))}
    return table


def gz21_main(a, env) -> int:
    """``--closure gz21``: the published weights in both forms, every precision, and the
    coupled runs (see the module docstring of the figures)."""
    import numpy as np
    sys.path.insert(0, str(ROOT / "scripts"))
    from closure_samples import samples
    from closures.published import import_gz21
    if a.state is None:
        raise SystemExit("error: --closure gz21 needs --state RESTART (a dino_r1 restart file: its currents feed the "
                         "net and calibrate int8)")
    weights = Path(a.weights)
    print(f"CPU: {cpu_line()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fp32 = import_gz21(weights, tmp / "gz21.pt")
        batches, test, int8 = {}, {}, {}
        for form in FORMS:
            sets = [f'closure.model_file="{fp32}"', f"closure.form={form}"]
            batches[form] = samples(a.gz21_config, [a.state], sets)
            test[form] = samples(a.gz21_config, [a.test_state or a.state], sets)
            cal = samples(a.gz21_config, a.cal_states, sets) if a.cal_states else batches[form]
            np.save(tmp / f"cal_{form}.npy", cal)
            int8[form] = import_gz21(weights, tmp / f"gz21_int8_{form}.pt", tmp / f"cal_{form}.npy")
        files = {p: (fp32, p) for p in ("fp32-eager", "fp32", "bf16") + (("fp32-compile", "bf16-compile")
                                                                         if a.compile else ())}
        table = {}
        for form in FORMS:
            files_f = {**files, "int8": (int8[form], "fp32-eager")}
            table.update(inference_table(files_f, {form: batches[form]}, {form: test[form]}, a.repeat))
        # the ocean alone, and coupled (the default precision), each mode and form
        results = {"overhead_pct": {}, "coupler_pct": {}}
        best: dict = {}
        cases = [("none", None), ("busy", "profile")] + [(m, f) for f in FORMS for m in ("sync", "async", "lagged")]
        if a.inference_only:
            cases = [("none", None)]
        for rnd in range(a.repeat):
            for mode, form in cases:
                steps = a.steps_3d if form == "levels" else a.steps
                extra = ("--set", "closure.physics=gz21", "--set", f"closure.form={form}") if form else ()
                busy = ",".join(map(str, batches["profile"].shape)) if mode == "busy" else ""
                r = run_case(a.config, steps, tmp / f"{mode}-{form}-{rnd}", 1, 1, fp32, mode, "cpu",
                             env, extra, busy)
                keep_fastest(best, (mode, form), r)
                print(f"  round {rnd + 1}/{a.repeat} {mode:6s} {form or '':8s}: {r['s_per_step'] * 1e3:.1f} ms "
                      f"per step", flush=True)
        base = best["none", None]
        step_s = base["s_per_step"]
        for (mode, form), r in best.items():
            if mode in ("none", "busy"):
                continue
            res = analyse(base, {mode: r}, f"{form}-cpu")           # keys {mode}-{form}-cpu
            results["overhead_pct"].update(res["overhead_pct"])
            results["coupler_pct"].update(res["coupler_pct"])
        interference = slower_pct(best["busy", "profile"], base) if ("busy", "profile") in best else float("nan")
    cores = {f"{form}-{prec}": v["s_per_exchange"] / step_s for (form, prec), v in table.items()}
    print(f"\ndino_r1, one ocean rank: {step_s * 1e3:.1f} ms per step uncoupled (fastest of {a.repeat} rounds)")
    print(f"{'form-precision':22s}{'s per exchange':>16s}{'range':>18s}{'ML cores/ocean rank':>22s}"
          f"{'rms err mean':>14s}{'rms err spread':>16s}{'rms err forcing':>17s}")
    for (form, prec), v in table.items():
        print(f"{form + '-' + prec:22s}{v['s_per_exchange']:16.3f}{v['range'][0]:9.3f}-{v['range'][1]:.3f}"
              f"{cores[f'{form}-{prec}']:22.2f}{v['err_mean']:14.2e}{v['err_spread']:16.2e}{v['err_forcing']:17.2e}")
    print("(errors against fp32 as saved, on the net's outputs over the held-out state's ocean and land points; "
          "spread where 0 < spread < 1e-6 m s-2; forcing: mean + eps * spread for one N(0, 1) field eps, the "
          "spread capped at 1e-6 m s-2 as the physics layer does)")
    print(f"{'mode-form-device':22s}{'overhead':>10s}{'coupler':>10s}")
    for k, v in results["overhead_pct"].items():
        print(f"{k:22s}{v:9.1f}%{results['coupler_pct'].get(k, float('nan')):9.1f}%")
    print(f"interference: the uncoupled ocean beside a core inferring the profile form in a loop is "
          f"{interference:.1f}% slower")
    print(json.dumps({"config": "dino_r1_gz21", "cpu": cpu_line(), "ocean_s_per_step": step_s,
                      "overhead_pct": results["overhead_pct"], "coupler_pct": results["coupler_pct"],
                      "interference_pct": interference, "ml_cores_per_ocean_rank": cores,
                      "error": {f"{f}-{p}": [v["err_mean"], v["err_spread"], v["err_forcing"]] for (f, p), v in table.items()}}))
    return 0


# ---------------------------------------------------------------------------- BBZ24 with its weights
SHARED_BBZ24 = ROOT.parent / "shared" / "published" / "bbz24_res_1_4"
BBZ24_CONFIG = "configs/dino_r025.toml"


def bbz24_main(a, env) -> int:
    """``--closure bbz24``: the published BBZ24 net (1/4 degree) with the MLE transport in
    dino_r025, one ocean rank and one ML rank, sync, async and lagged, against the same
    ocean with FK08's MLE (the same transport, psi from the FK08 formula: the uncoupled
    reference) and without MLE (for FK08's share of the step)."""
    from closures.published import import_bbz24
    weights, norms = Path(a.bbz24_weights), Path(a.bbz24_norms)
    for path in (weights, norms):
        if not path.exists():
            raise SystemExit(f"error: {path} not found (the published BBZ24 files; --bbz24-weights, --bbz24-norms)")
    config = a.config if a.config != "configs/dino_r1.toml" else BBZ24_CONFIG
    print(f"CPU: {cpu_line()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        net = import_bbz24(weights, norms, tmp / "bbz24.pt")
        cases = [("none", "fk08"), ("none", "none"), ("busy", "fk08")] + [(m, "bbz24") for m in ("sync", "async",
                                                                                                 "lagged")]
        best: dict = {}
        for rnd in range(a.repeat):
            for mode, mle in cases:
                r = run_case(config, a.steps, tmp / f"{mode}-{mle}-{rnd}", 1, 1, net, mode, "cpu", env,
                             ("--set", "mle.kind=bbz24"), uncoupled=("--set", f"mle.kind={mle}"))
                keep_fastest(best, (mode, mle), r)
                print(f"  round {rnd + 1}/{a.repeat} {mode:6s} mle={mle:5s}: {r['s_per_step'] * 1e3:.0f} ms per "
                      "step", flush=True)
    base = best["none", "fk08"]
    step_s, bare = base["s_per_step"], best["none", "none"]["s_per_step"]
    res = analyse(base, {m: best[m, "bbz24"] for m in ("sync", "async", "lagged")}, "cpu")
    interference = slower_pct(best["busy", "fk08"], base)
    fk08_pct = slower_pct(base, best["none", "none"])
    print(f"\n{Path(config).stem}, one ocean rank, one ML rank: {step_s * 1e3:.0f} ms per step with FK08 (the uncoupled "
          f"reference), {bare * 1e3:.0f} ms without MLE: FK08's MLE costs {fk08_pct:.1f}% of the step")
    print(f"{'mode-device':16s}{'overhead':>10s}{'coupler':>10s}")
    for k, v in res["overhead_pct"].items():
        print(f"{k:16s}{v:9.1f}%{res['coupler_pct'].get(k, float('nan')):9.1f}%")
    print(f"interference: the ocean beside a core inferring BBZ24 in a loop is {interference:.1f}% slower")
    if "infer_s_per_exchange" in res:
        print(f"inference {res['infer_s_per_exchange'] * 1e3:.0f} ms per exchange on one core -> "
              f"{res['ml_ranks_to_keep_up']:.2f} ML cores per ocean rank")
    print(json.dumps({"config": Path(config).stem, "cpu": cpu_line(), "ocean_s_per_step": step_s,
                      "overhead_pct": res["overhead_pct"], "coupler_pct": res["coupler_pct"],
                      "interference_pct": interference, "infer_s_per_exchange": res.get("infer_s_per_exchange"),
                      "ml_cores_per_ocean_rank": res.get("ml_ranks_to_keep_up"), "fk08_pct_of_step": fk08_pct}))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--config", default="configs/dino_r1.toml")
    p.add_argument("--steps", type=int, default=40, help="timed steps for the 2-D closure")
    p.add_argument("--steps-3d", type=int, default=4, help="timed steps for the 3-D closure (it is slow on CPUs)")
    p.add_argument("--repeat", type=int, default=5, help="interleaved rounds for the 2-D closure; the fastest counts")
    p.add_argument("--ocean-ranks", type=int, default=1)
    p.add_argument("--ml-ranks", type=int, default=1)
    p.add_argument("--closure", choices=("sizes", "gz21", "bbz24"), default="sizes",
                   help="'sizes': nets of the published sizes, random weights; 'gz21': GZ21's weights in both forms, "
                        "every precision, 1 ocean rank and 1 ML rank; 'bbz24': BBZ24's weights with the MLE "
                        "transport in dino_r025 (or --config), 1 ocean rank and 1 ML rank")
    p.add_argument("--bbz24-weights", default=str(SHARED_BBZ24 / "fcnn_k5_l7_m_HBL_res_1_4.pt"),
                   help="bbz24: the published pickled FCNN")
    p.add_argument("--bbz24-norms", default=str(SHARED_BBZ24 / "norm_1_4"), help="bbz24: its normalisation folder")
    p.add_argument("--weights", default=str(SHARED_GZ21), help="gz21: the published trained_model.pth")
    p.add_argument("--state", help="gz21: a dino_r1 restart whose currents feed the net (and calibrate int8)")
    p.add_argument("--gz21-config", default=GZ21_CONFIG, help="gz21: the configuration the states belong to "
                   "(--config: the ocean of the coupled runs)")
    p.add_argument("--test-state", help="gz21: another restart, for the errors of bf16 and int8 (default --state)")
    p.add_argument("--cal-states", nargs="+", metavar="RESTART",
                   help="gz21: the restarts that calibrate int8 (default --state); several states of the season "
                        "calibrate it better than one (int8's activation ranges are per tensor)")
    p.add_argument("--compile", action="store_true", help="gz21: also time torch.compile (float32 and bf16) in "
                   "the inference table (closure.precision = fp32-compile, bf16-compile)")
    p.add_argument("--inference-only", action="store_true", help="gz21: the inference table and the uncoupled "
                   "ocean only, no coupled runs")
    a = p.parse_args()
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if a.closure == "gz21":
        return gz21_main(a, env)
    if a.closure == "bbz24":
        return bbz24_main(a, env)
    import torch
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    from closures.zoo import bbz24_size_closure, gz21_size_closure
    nz = _grid(a.config).nz
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        nets = {"2d": bbz24_size_closure(tmp / "bbz24_size.pt"), "3d": gz21_size_closure(tmp / "gz21_size.pt", nz)}
        for key, steps, repeat in (("2d", a.steps, a.repeat), ("3d", a.steps_3d, 1)):
            cases = [("none", "cpu"), *([("busy", "cpu")] if key == "2d" else []),
                     *[(m, d) for d in devices for m in MODES]]
            best: dict = {}
            for rnd in range(repeat):
                for mode, device in cases:
                    t0 = time.perf_counter()
                    r = run_case(a.config, steps, tmp / f"{key}-{mode}-{device}-{rnd}", a.ocean_ranks, a.ml_ranks,
                                 nets[key], mode, device, env)
                    keep_fastest(best, (mode, device), r)
                    print(f"  {key} round {rnd + 1}/{repeat} {mode:9s} {device}: wall {r['wall']:.2f} s for "
                          f"{r['steps']} steps (run took {time.perf_counter() - t0:.0f} s)", flush=True)
            base = best["none", "cpu"]
            out = {"overhead_pct": {}, "coupler_pct": {}}
            for device in devices:
                res = analyse(base, {m: best[m, device] for m in MODES}, device)
                out["overhead_pct"].update(res.pop("overhead_pct"))
                out["coupler_pct"].update(res.pop("coupler_pct"))
                out.update({k if device == "cpu" else f"{k}_{device}": v for k, v in res.items()})
            if ("busy", "cpu") in best:
                out["interference_pct"] = slower_pct(best["busy", "cpu"], base)
            shape_in, shape_out = tile_shapes(a.config, nets[key])
            pr = probe(shape_in, shape_out, env, reps=200 if key == "2d" else 50)
            out.update({"exchange_bytes": pr["bytes"], "exchange_GBps": pr["exchange_GBps"],
                        "mpi_p2p_GBps": pr["mpi_p2p_GBps"], "exchange_round_trip_s": pr["coupler_round_trip_s"],
                        "mpi_round_trip_s": pr["mpi_round_trip_s"]})
            results[key] = out

    print(f"\n{a.config}, {a.ocean_ranks} ocean rank(s), {a.ml_ranks} ML rank(s), one core each. Percent of the "
          f"uncoupled wall time: overhead (of which the ocean's own time in the coupler)")
    print(f"{'mode-device':16s}{'2-D (BBZ24 size)':>24s}{'3-D (GZ21 size)':>24s}")
    for k in results["2d"]["overhead_pct"]:
        cells = ""
        for key in ("2d", "3d"):
            r = results[key]
            cells += f"{r['overhead_pct'].get(k, float('nan')):>14.1f}% ({r['coupler_pct'].get(k, 0.0):4.1f}%)"
        print(f"{k:16s}{cells}")
    print(f"2-D: the uncoupled ocean beside a core running the same inference in a loop is "
          f"{results['2d']['interference_pct']:.1f}% slower (interference between the cores)")
    for key in ("2d", "3d"):
        r = results[key]
        if "infer_s_per_exchange" in r:
            print(f"{key}: ocean step {r['ocean_s_per_step'] * 1e3:.1f} ms, inference {r['infer_s_per_exchange'] * 1e3:.1f} ms "
                  f"per exchange on one CPU core -> {r['ml_ranks_to_keep_up']:.2f} ML cores per ocean rank to keep up")
        print(f"{key}: exchange of {r['exchange_bytes'] / 1e6:.2f} MB: coupler round trip {r['exchange_round_trip_s'] * 1e3:.3f} ms "
              f"({r['exchange_GBps']:.2f} GB/s), raw MPI {r['mpi_round_trip_s'] * 1e3:.3f} ms ({r['mpi_p2p_GBps']:.2f} GB/s), "
              f"{100 * r['exchange_GBps'] / r['mpi_p2p_GBps']:.0f}% of point-to-point")
    line = {"config": Path(a.config).stem, "ocean_ranks": a.ocean_ranks, "ml_ranks": a.ml_ranks,
            "overhead_pct": results["2d"]["overhead_pct"], "coupler_pct": results["2d"]["coupler_pct"],
            "interference_pct": results["2d"]["interference_pct"],
            "exchange_GBps": results["2d"]["exchange_GBps"], "mpi_p2p_GBps": results["2d"]["mpi_p2p_GBps"],
            "infer_s_per_exchange": results["2d"].get("infer_s_per_exchange"),
            "ocean_s_per_step": results["2d"]["ocean_s_per_step"], "3d": results["3d"]}
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
