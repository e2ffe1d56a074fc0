#!/usr/bin/env python
"""Speed (SYPD) against the ML resources, one curve per mode, from the performance model.

    python scripts/plot_load_balance.py MEASUREMENTS.json [--quick QUICK_DIR] [--out docs/figures/load_balance.png]

Panels: dino_r025 with BBZ24 at the published scale (999 ocean ranks), dino_r1 with GZ21 in
both forms (64 ocean ranks: the columns per rank of the 999-rank dino_r025), and one ocean
rank of dino_r1 with the measured points of ``scripts/load_balance.py --quick`` (QUICK_DIR/
quick.json) marked on the predicted curves (open marks; crosses: the model fed with every part
as the coupled run itself timed it, i.e. the modes' waiting alone modelled). The uncoupled speed is the dashed line. GPU
curves are drawn only from measured GPU costs; a panel says so where none were measured.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ocean.perf_model import MODES, NotMeasured, Parts, ocean_step_s, step_s, sypd  # noqa: E402

PANELS = [("dino_r025 + BBZ24, 999 ocean ranks", "dino_r025_fk08", "bbz24", 999),
          ("dino_r1 + GZ21 (profile), 64 ocean ranks", "dino_r1", "gz21-profile", 64),
          ("dino_r1 + GZ21 (36 levels), 64 ocean ranks", "dino_r1", "gz21-levels", 64)]
CHECKS = [("bbz24", "dino_r1_fk08", "bbz24"), ("gz21-profile", "dino_r1", "gz21-profile")]
COLOURS = {"sync": "tab:red", "async": "tab:blue", "lagged": "tab:green"}


def curve(p: Parts, n: int, closure: str, mode: str, device: str, top: int) -> tuple[list, list]:
    xs = sorted({*range(1, min(top, n) + 1, max(1, n // 200)), *(n * t for t in (1, 2, 4, 8, 16, 32, 64) if n * t <= top)})
    return xs, [sypd(p, step_s(p, n, x, closure, mode, device=device)) for x in xs]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("measurements")
    ap.add_argument("--quick", help="a --quick run directory: its measured 1+1 points are marked")
    ap.add_argument("--out", default="docs/figures/load_balance.png")
    a = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    meas = json.loads(Path(a.measurements).read_text())
    quick = json.loads((Path(a.quick) / "quick.json").read_text()) if a.quick else None
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    for ax, (title, case, closure, n) in zip(axes.flat, PANELS):
        notes = []
        for device, style in (("cpu", "-"), ("cuda", ":")):
            try:
                p = Parts.from_measurements(meas, case, closure, device=device)
            except NotMeasured:
                notes.append(f"{'GPU' if device == 'cuda' else 'CPU'}: not measured, no curve")
                continue
            top = n * 64 if device == "cpu" else n
            for mode in MODES:
                xs, ys = curve(p, n, closure, mode, device, top)
                ax.plot(xs, ys, style, color=COLOURS[mode], label=f"{mode} ({device})")
            ax.axhline(sypd(p, ocean_step_s(p, n)), color="k", ls="--", lw=1, label="uncoupled")
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ML cores (CPU) or GPUs")
        ax.set_ylabel("simulated years per day")
        ax.legend(fontsize=7, loc="lower right")
        if notes:
            ax.text(0.02, 0.6, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=8)
    ax = axes.flat[3]
    for (name, case, closure), marker in zip(CHECKS, "os"):
        p = Parts.from_measurements(meas, case, closure)
        for mode in ("sync", "async"):
            xs = [1, 2, 3, 4]
            ax.plot(xs, [sypd(p, step_s(p, 1, x, closure, mode)) for x in xs], "-", color=COLOURS[mode],
                    marker=marker, ms=3, label=f"{name} {mode} (model)")
            got = quick.get("measured_s_per_step", {}).get(f"{name}-{mode}") if quick else None
            if got:
                ax.plot([1], [sypd(p, got)], marker, color=COLOURS[mode], mfc="none", ms=10, mew=2,
                        label=f"{name} {mode} measured")
                in_run = got * (1 + quick["model_error_in_run_pct"][f"{name}-{mode}"] / 100)
                ax.plot([1.08], [sypd(p, in_run)], "x", color=COLOURS[mode], ms=8,
                        label=f"{name} {mode} model, parts as timed in the run")
        ax.axhline(sypd(p, ocean_step_s(p, 1)), color="k", ls="--" if marker == "o" else ":", lw=1,
                   label=f"{name} uncoupled (model)")
    ax.set_title("dino_r1, 1 ocean rank: model against the measured 1+1 runs (open marks)", fontsize=10)
    ax.set_xlabel("ML cores (torch threads of the one ML rank)")
    ax.set_ylabel("simulated years per day")
    ax.legend(fontsize=6, ncol=2)
    fig.suptitle(f"Coupled speed from measured part costs ({meas.get('cpu', '?')[:60]}, {meas.get('date', '')})",
                 fontsize=10)
    fig.tight_layout()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
