#!/usr/bin/env python
"""Coupling overhead: the same ocean run uncoupled and with an ML closure in every mode.

    python scripts/bench_coupling.py                  # dino_r1, 2-D (BBZ24-size) and 3-D (GZ21-size) nets
    python scripts/bench_coupling.py --steps 40 --steps-3d 4 --ocean-ranks 1 --ml-ranks 1

The first two steps of every run are left out of the timings, and each 2-D case is run
``--repeat`` times, keeping the fastest. The closures are nets of the published sizes with random weights (``closures.zoo``): a 2-D
one like BBZ24 (8 surface inputs, 1 output, 155,969 parameters, halo 9) and a 3-D one like
GZ21 (u, v on all levels, 268,005 parameters, halo 10, levels as batch), both every step.
Each case is one ``mpirun``; the ocean ranks use one numba thread and each ML rank one torch
thread, so on a 2-core machine the ocean and the ML rank each own a core. Overhead is
(coupled wall - uncoupled wall) / uncoupled wall over the timed steps (set-up excluded).
The exchange throughput is the bytes of one exchange (inputs with halo + outputs) over the
ocean's send + wait time minus the ML rank's inference and packing time, in sync mode;
it is compared with the MPI point-to-point bandwidth measured here for messages of the
same size. Ends with one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("inprocess", "sync", "async", "lagged")


def mpirun(n: int, args: list[str], env: dict) -> None:
    exe = Path(sys.executable).with_name("mpirun")
    cmd = [str(exe) if exe.exists() else "mpirun", "-n", str(n), sys.executable, *args]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")


def run_case(config: str, steps: int, out: Path, ocean: int, ml: int, closure: Path | None, mode: str,
             device: str, env: dict, repeat: int = 1) -> dict:
    """The fastest of ``repeat`` runs (timings on a shared machine vary by 10-30%)."""
    runs = [_run_once(config, steps, out / str(k), ocean, ml, closure, mode, device, env) for k in range(repeat)]
    return min(runs, key=lambda r: r["wall"])


def _run_once(config: str, steps: int, out: Path, ocean: int, ml: int, closure: Path | None, mode: str,
              device: str, env: dict) -> dict:
    sets = ["--set", "output.interval_days=0", "--set", "parallel.threads=1"]
    if closure is not None:
        sets += ["--set", f'closure.model_file="{closure}"', "--set", f"closure.mode={mode}",
                 "--set", f"closure.ml_ranks={ml if mode != 'inprocess' else 0}", "--set", f"closure.device={device}",
                 "--set", "closure.timeout_s=600"]
    n = ocean + (ml if closure is not None and mode != "inprocess" else 0)
    mpirun(n, ["-m", "ocean", "run", config, "--steps", str(steps), "--out", str(out), "--no-progress", *sets], env)
    summary = json.loads((out / "summary.json").read_text())
    timers = json.loads((out / "coupling_timers.json").read_text()) if (out / "coupling_timers.json").exists() else None
    return {"wall": summary["timed_wall_s"], "steps": summary["timed_steps"], "timers": timers}


def p2p_bandwidth(nbytes: int, env: dict) -> float:
    """One-way MPI bandwidth (GB/s) between two ranks for messages of ``nbytes``."""
    code = (
        "import numpy as np, time\n"
        "from mpi4py import MPI\n"
        "c = MPI.COMM_WORLD; r = c.Get_rank(); b = np.zeros(%d, np.uint8)\n"
        "for it in range(2):\n"
        "    c.Barrier(); t = time.perf_counter()\n"
        "    for _ in range(20):\n"
        "        (c.Send(b, 1 - r) if r == 0 else c.Recv(b, 1 - r)); (c.Recv(b, 1 - r) if r == 0 else c.Send(b, 1 - r))\n"
        "    dt = (time.perf_counter() - t) / 40\n"
        "if r == 0: print(b.nbytes / dt / 1e9)\n" % nbytes)
    exe = Path(sys.executable).with_name("mpirun")
    r = subprocess.run([str(exe) if exe.exists() else "mpirun", "-n", "2", sys.executable, "-c", code],
                       capture_output=True, text=True, env=env, check=True)
    return float(r.stdout.strip().splitlines()[-1])


def analyse(label: str, base: dict, cases: dict, steps: int, device: str) -> dict:
    res = {"overhead_pct": {}, "ocean_s_per_step": base["wall"] / base["steps"]}
    for mode, c in cases.items():
        res["overhead_pct"][f"{mode}-{device}"] = 100.0 * (c["wall"] - base["wall"]) / base["wall"]
    sync = cases.get("sync")
    if sync and sync["timers"]:
        oc, ml = sync["timers"]["ocean"][0], sync["timers"]["ml"][0]
        n = max(ml["batches"], 1)
        infer = ml["seconds"].get("infer", 0.0) / n
        res["infer_s_per_exchange"] = infer
        transfer = (oc["seconds"].get("send", 0) + oc["seconds"].get("wait", 0)) / n - infer - ml["seconds"].get("pack", 0) / n
        res["transfer_s_per_exchange"] = transfer
        res["ml_ranks_to_keep_up"] = infer / res["ocean_s_per_step"]
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--config", default="configs/dino_r1.toml")
    p.add_argument("--steps", type=int, default=30, help="timed steps for the 2-D closure")
    p.add_argument("--steps-3d", type=int, default=4, help="steps for the 3-D closure (it is slow on CPUs)")
    p.add_argument("--repeat", type=int, default=3, help="runs per case for the 2-D closure; the fastest counts")
    p.add_argument("--ocean-ranks", type=int, default=1)
    p.add_argument("--ml-ranks", type=int, default=1)
    a = p.parse_args()
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    import torch
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    from closures.zoo import bbz24_size_closure, gz21_size_closure
    from ocean import config as ocfg
    nz = ocfg.load(a.config)["grid"]["nz"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        nets = {"2d": bbz24_size_closure(tmp / "bbz24_size.pt"), "3d": gz21_size_closure(tmp / "gz21_size.pt", nz)}
        results = {}
        for key, steps, repeat in (("2d", a.steps, a.repeat), ("3d", a.steps_3d, 1)):
            base = run_case(a.config, steps, tmp / f"{key}-none", a.ocean_ranks, a.ml_ranks, None, "", "cpu", env, repeat)
            out = {"overhead_pct": {}}
            for device in devices:
                cases = {}
                for mode in MODES:
                    t0 = time.perf_counter()
                    cases[mode] = run_case(a.config, steps, tmp / f"{key}-{mode}-{device}", a.ocean_ranks,
                                           a.ml_ranks, nets[key], mode, device, env, repeat)
                    print(f"  {key} {mode:9s} {device}: wall {cases[mode]['wall']:.2f} s "
                          f"(uncoupled {base['wall']:.2f} s; case took {time.perf_counter() - t0:.0f} s)", flush=True)
                r = analyse(key, base, cases, steps, device)
                out["overhead_pct"].update(r.pop("overhead_pct"))
                out.update({f"{k}" if device == "cpu" else f"{k}_{device}": v for k, v in r.items()})
            if "transfer_s_per_exchange" in out:
                from closures.runtime import LoadedClosure
                spec = LoadedClosure(nets[key]).spec
                from ocean.run import build_model
                g = build_model(ocfg.load(a.config)).grid
                nbytes = 4 * (spec.in_channels(nz) * (g.ny + 2 * spec.halo) * (g.nx + 2 * spec.halo)
                              + spec.out_channels(nz) * g.ny * g.nx)
                out["exchange_bytes"] = nbytes
                out["exchange_GBps"] = nbytes / max(out["transfer_s_per_exchange"], 1e-9) / 1e9
                out["mpi_p2p_GBps"] = p2p_bandwidth(nbytes // 2, env)
            results[key] = out

    print(f"\nOverhead in percent of the uncoupled wall time ({a.config}, {a.ocean_ranks} ocean rank(s), "
          f"{a.ml_ranks} ML rank(s), one core each):")
    print(f"{'mode-device':16s}{'2-D (BBZ24 size)':>18s}{'3-D (GZ21 size)':>18s}")
    for k in results["2d"]["overhead_pct"]:
        print(f"{k:16s}{results['2d']['overhead_pct'][k]:>17.1f}%{results['3d']['overhead_pct'].get(k, float('nan')):>17.1f}%")
    for key in ("2d", "3d"):
        r = results[key]
        if "infer_s_per_exchange" in r:
            print(f"{key}: ocean step {r['ocean_s_per_step'] * 1e3:.1f} ms, inference {r['infer_s_per_exchange'] * 1e3:.1f} ms "
                  f"per exchange on one CPU core -> {r['ml_ranks_to_keep_up']:.1f} ML cores per ocean rank to keep up; "
                  f"exchange {r.get('exchange_bytes', 0) / 1e6:.2f} MB at {r.get('exchange_GBps', 0):.2f} GB/s "
                  f"(MPI point-to-point {r.get('mpi_p2p_GBps', 0):.2f} GB/s)")
    line = {"config": Path(a.config).stem, "ocean_ranks": a.ocean_ranks, "ml_ranks": a.ml_ranks,
            "overhead_pct": results["2d"]["overhead_pct"], "exchange_GBps": results["2d"].get("exchange_GBps"),
            "mpi_p2p_GBps": results["2d"].get("mpi_p2p_GBps"),
            "infer_s_per_exchange": results["2d"].get("infer_s_per_exchange"),
            "ocean_s_per_step": results["2d"]["ocean_s_per_step"], "3d": results["3d"]}
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
