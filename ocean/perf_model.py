"""What a coupled run costs: seconds per step and simulated years per day (SYPD) from
measured part costs (``scripts/load_balance.py measure``), for any number of ocean ranks,
ML cores (or GPUs), closure, form, precision, mode and exchange interval.

Notation (seconds unless said): N ocean ranks, C ML cores (or GPUs), k the exchange
interval (steps), ``dt`` the time step.

1. The ocean's tile. ``ocean.domain.choose_layout`` cuts the nx x ny grid into N tiles
   (assumption: an all-ocean mask, no land tile dropped; the slowest rank has the largest
   tile, tx x ty columns of nz levels).
2. The ocean's step on one rank, from its time per step measured against tile size on one
   core (every figure the median of several rounds):

       T_comp = a + b tx ty nz

   a (s) is what a step costs whatever the tile (Python orchestration, kernel calls, the
   barotropic sub-cycle's loop); b (s per cell) the work per cell. Assumption: the line
   fitted between the smallest and the largest measured tile holds below the smallest one
   (the 1000-rank tiles of dino_r025 lie below it).
3. Halo exchanges, for N > 1. Per step ``n3`` exchanges of two 3-D fields 3 points deep and
   ``n_sub`` exchanges of the barotropic (ubar, vbar), one per sub-step (counted on a
   measured step: n3 = exchanges per step - n_sub):

       T_halo = n3 (h3 + s3 B3 + L) + n_sub (h2 + L),   B3 = 2 (tx + ty) 3 nz 2 x 8 bytes

   h2, h3 and s3 (s per byte) from timed exchanges between two ranks of one node (latency
   and Python overhead dominate). L = ``NET_LATENCY_S`` (assumption: one inter-node
   message costs 5 us more on an InfiniBand-class network; the four neighbours' messages
   overlap). So T_oc(N) = T_comp + T_halo; uncoupled, SYPD = dt / (360 T_oc).
4. The ML group. M = min(C, N) ML ranks (the coupler maps ocean ranks to ML ranks, never
   one ocean rank to several), each serving G = ceil(N / M) ocean ranks (M:N fan-in) with
   t = floor(C / M) torch threads. Per exchange one ML rank receives G tiles with the
   closure's halo H attached, infers them as one batch and sends G results back:

       T_ml = G (x0 + L) + x1 G (B_in + B_out) + (i0 + i1 G P) / (1 + (t - 1) e)

   B_in = c_in nb (tx + 2H)(ty + 2H) 4, B_out = c_out nb tx ty 4 bytes (float32); nb = nz
   for GZ21's ``levels`` form (levels as the batch), else 1; P = nb (tx + 2H)(ty + 2H) the
   points the net convolves (the halo is inferred too: that is the cost of the halo
   created during the communication). x0, x1 from the coupler's round trip with an empty
   inference (``scripts/probe_exchange.py``) at two sizes; i0, i1 from timed inferences
   against batch size, per closure net and precision, one torch thread. e =
   ``THREAD_EFFICIENCY`` (assumption, not measured here: 0.8 per added intra-op thread).
   On a GPU (``device='cuda'``, C GPUs, one ML rank per GPU) i0, i1 are the GPU's and the
   host-device copies add c0 + c1 (B_in + B_out); these come only from a measurement file
   made where CUDA exists.
5. The ocean rank's own work per exchange: gathering the inputs and applying the result
   (GZ21's noise, placement and masks; BBZ24's w'b' inversion), measured on one rank as
   the closure's ``pack`` and ``apply`` timers and scaled with the tile's points:
   T_own = o nb tx ty. For N > 1, halo creation adds one exchange of the closure's input
   tile H points deep: T_pack = T_own + h3 + s3 2 (tx + ty) H c_in nb 4 + L.
6. The step with the closure, one exchange every k steps:

       T = T_oc + (T_pack + max(0, T_ml - T_hide)) / k

   sync: T_hide = 0 (the ocean waits for the whole round trip); async: T_hide = f T_oc,
   where f is the measured share of the step before the slot that needs the result
   (momentum for GZ21, eddy velocity for BBZ24's w'b'); lagged: T_hide = T_oc (the result
   is received at the start of the next step). Async thus hides the inference until the ML
   group becomes the bottleneck (T_ml > f T_oc); beyond that point more ML cores bring
   nothing: the curves plateau at T_oc + T_pack / k.
   Interference: a busy ML core slows the ocean's cores beside it (shared caches, memory
   bandwidth, and on these VMs vCPUs that behave like hyper-threads of one core). Coupled,
   T_oc becomes T_oc (1 + I min(1, C / N)), with I the measured slowdown of one rank's step
   beside one core inferring in a loop (``interference`` of the measurement file: 8-44% on
   the 2-vCPU machines here; 0 in files made before it was measured). Assumption: the
   slowdown grows with the share of busy ML cores beside the ocean's and is I at one to one,
   the only ratio measured here; an ML rank waiting for its next batch polls and counts as
   busy.
7. SYPD = dt / (360 T); resources to keep a fraction q (0.97) of the uncoupled speed: the
   fewest C with T_oc / T >= q, as a percentage of N (``resources_for``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

NET_LATENCY_S = 5e-6        # assumption: extra cost of one inter-node message (InfiniBand class)
THREAD_EFFICIENCY = 0.8     # assumption: speed-up of each torch thread beyond the first
OCEAN_HALO = 3              # points: the ocean's halo width (3-D exchanges)
FLOAT32 = 4                 # bytes
MODES = ("sync", "async", "lagged")
TARGET = 0.97               # the share of the uncoupled speed to keep


@dataclass(frozen=True)
class ClosureShape:
    """What the model needs of a closure: its net (the key of its inference timings), input
    and output channels per sample, halo (points), whether the levels are the batch, and the
    slot that needs its result (for async)."""
    net: str
    c_in: int
    c_out: int
    halo: int
    levels: bool
    slot: str


CLOSURES = {
    "bbz24": ClosureShape("bbz24", 8, 1, 9, False, "eddy_velocity"),
    "gz21-profile": ClosureShape("gz21", 2, 4, 10, False, "momentum"),
    "gz21-levels": ClosureShape("gz21", 2, 4, 10, True, "momentum"),
}


class NotMeasured(ValueError):
    """The measurement file lacks a figure the prediction needs (e.g. GPU inference)."""


def stat(values) -> dict:
    """Median and range of repeated timings (s)."""
    v = [float(x) for x in values]
    return {"median": float(np.median(v)), "min": min(v), "max": max(v), "n": len(v)}


def fit_line(xs, ys) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through (xs, ys); the intercept is kept
    >= 0 (a negative one is noise: the line is then forced through the origin)."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if len(x) == 1:
        return 0.0, float(y[0] / x[0])
    b, a = np.polyfit(x, y, 1)
    if a < 0:
        return 0.0, float((x * y).sum() / (x * x).sum())
    return float(a), float(max(b, 0.0))


@functools.lru_cache(maxsize=None)
def tile(nx: int, ny: int, n: int) -> tuple[int, int]:
    """Columns (tx, ty) of the largest tile when ``n`` ranks share an nx x ny grid."""
    from .domain import choose_layout
    lay = choose_layout(np.ones((ny, nx), bool), n, OCEAN_HALO)
    return max(w for _, w in lay.xs), max(h for _, h in lay.ys)


@dataclass(frozen=True)
class Parts:
    """The measured costs one prediction needs (see the module docstring for the symbols)."""
    nx: int
    ny: int
    nz: int
    dt_s: float
    a: float                 # s per step, whatever the tile
    b: float                 # s per cell per step
    n3: float                # 3-D halo exchanges per step
    n_sub: int               # barotropic sub-steps (2-D exchanges) per step
    slot_fraction: dict      # slot -> share of the step before it
    h2: float                # s per 2-D exchange
    h3: float                # s per 3-D exchange, fixed part
    s3: float                # s per byte of a 3-D exchange
    x0: float                # s per coupler round trip, fixed part
    x1: float                # s per byte of a coupler round trip
    i0: float                # s per inference, fixed part
    i1: float                # s per inferred point
    o: float = 0.0           # s per output point of the ocean rank's own closure work (pack, apply)
    c0: float = 0.0          # s per host-device copy pair, fixed part (GPU)
    c1: float = 0.0          # s per byte copied (GPU)
    interference: float = 0.0  # I: the ocean step's slowdown beside one busy core (fraction)

    @classmethod
    def from_measurements(cls, meas: dict, case: str, closure: str, precision: str = "fp32",
                          device: str = "cpu") -> "Parts":
        """The parts of ocean case ``case`` (e.g. "dino_r025") with ``closure`` (a key of
        CLOSURES) at ``precision`` on ``device`` ("cpu" or "cuda") from a measurement file's
        content. Raises NotMeasured for a figure the file lacks."""
        if case not in meas.get("ocean", {}):
            raise NotMeasured(f"no ocean case {case!r} (has: {', '.join(meas.get('ocean', {})) or 'none'})")
        oc, ha, ex = meas["ocean"][case], meas["halo"], meas["exchange"]
        net = f"{CLOSURES[closure].net}-{precision}"
        inf = meas.get("inference", {}).get(device, {})
        if net not in inf:
            why = meas.get("not_measured", {}).get(device)
            raise NotMeasured(f"no {device} inference timings of {net}" + (f" ({why})" if why else ""))
        copies = meas.get("copies", {}).get(device, {"fixed_s": 0.0, "s_per_byte": 0.0})
        own = meas.get("closure_own", {}).get(closure, {}).get("s_per_point", 0.0)
        return cls(*oc["grid"], oc["dt_s"], oc["fixed_s"], oc["s_per_cell"], oc["halo_calls_per_step"] - oc["n_sub"],
                   oc["n_sub"], oc["slot_fraction"], ha["s_2d"], ha["fixed_s_3d"], ha["s_per_byte_3d"],
                   ex["fixed_s"], ex["s_per_byte"], inf[net]["fixed_s"], inf[net]["s_per_point"], own,
                   copies["fixed_s"], copies["s_per_byte"],
                   interference=meas.get("interference", {}).get("fraction", 0.0))


def ocean_step_s(p: Parts, n: int) -> float:
    """T_oc: the uncoupled step of ``n`` ocean ranks (s)."""
    tx, ty = tile(p.nx, p.ny, n)
    t = p.a + p.b * tx * ty * p.nz
    if n > 1:
        b3 = 2 * (tx + ty) * OCEAN_HALO * p.nz * 2 * 8
        t += p.n3 * (p.h3 + p.s3 * b3 + NET_LATENCY_S) + p.n_sub * (p.h2 + NET_LATENCY_S)
    return t


def _closure_tile(p: Parts, n: int, cl: ClosureShape) -> tuple[int, int, int, int]:
    """(points inferred, input bytes, output bytes, halo-creation bytes) of one ocean tile."""
    tx, ty = tile(p.nx, p.ny, n)
    nb = p.nz if cl.levels else 1
    padded = nb * (tx + 2 * cl.halo) * (ty + 2 * cl.halo)
    return (padded, cl.c_in * padded * FLOAT32, cl.c_out * nb * tx * ty * FLOAT32,
            2 * (tx + ty) * cl.halo * cl.c_in * nb * FLOAT32)


def ml_exchange_s(p: Parts, n: int, ml: int, closure: str, device: str = "cpu") -> float:
    """T_ml: one exchange as the busiest ML rank sees it (receive, infer, send back), with
    ``ml`` ML cores (``device`` "cpu") or GPUs ("cuda") serving ``n`` ocean ranks."""
    if ml < 1:
        raise ValueError("at least one ML core or GPU")
    cl = CLOSURES[closure]
    ranks = min(ml, n)
    g = math.ceil(n / ranks)
    threads = ml // ranks if device == "cpu" else 1
    pts, b_in, b_out, _ = _closure_tile(p, n, cl)
    moved = g * (b_in + b_out)
    t = g * (p.x0 + NET_LATENCY_S) + p.x1 * moved
    if device != "cpu":
        t += p.c0 + p.c1 * moved
    return t + (p.i0 + p.i1 * g * pts) / (1.0 + (threads - 1) * THREAD_EFFICIENCY)


def pack_s(p: Parts, n: int, closure: str) -> float:
    """T_pack: the ocean rank's own work per exchange, with the halo creation for N > 1."""
    cl = CLOSURES[closure]
    tx, ty = tile(p.nx, p.ny, n)
    own = p.o * tx * ty * (p.nz if cl.levels else 1)
    if n == 1:
        return own
    return own + p.h3 + p.s3 * _closure_tile(p, n, cl)[3] + NET_LATENCY_S


def step_s(p: Parts, n: int, ml: int, closure: str, mode: str, every: int = 1, device: str = "cpu") -> float:
    """T: seconds per step of ``n`` ocean ranks coupled to ``ml`` ML cores (or GPUs) in
    ``mode`` (sync, async, lagged), one exchange every ``every`` steps."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    t_oc = ocean_step_s(p, n) * (1.0 + p.interference * min(1.0, ml / n))
    hide = {"sync": 0.0, "async": p.slot_fraction[CLOSURES[closure].slot] * t_oc, "lagged": t_oc}[mode]
    wait = max(0.0, ml_exchange_s(p, n, ml, closure, device) - hide)
    return t_oc + (pack_s(p, n, closure) + wait) / every


def sypd(p: Parts, step: float) -> float:
    """Simulated (360-day) years per day at ``step`` seconds per step."""
    return p.dt_s / step / 360.0


def resources_for(p: Parts, n: int, closure: str, mode: str, every: int = 1, device: str = "cpu",
                  target: float = TARGET, max_per_rank: int = 64) -> dict:
    """The fewest ML cores (or GPUs) that keep ``target`` of the uncoupled speed, tried up to
    ``max_per_rank`` per ocean rank: {"ml", "fraction", "overhead_pct" (ml / n, %), "reached"};
    where none suffices, the fewest that reach the best fraction."""
    t_oc = ocean_step_s(p, n)
    threads = [n * t for t in range(2, max_per_rank + 1)] if device == "cpu" else []   # cores beyond n
    candidates = list(range(1, n + 1)) + threads
    frac = [t_oc / step_s(p, n, c, closure, mode, every, device) for c in candidates]
    k = next((k for k, f in enumerate(frac) if f >= target), None)
    if k is None:
        best = max(frac)
        k = next(k for k, f in enumerate(frac) if f >= best * (1 - 1e-9))
    hit, f = candidates[k], frac[k]
    return {"ml": hit, "fraction": f, "overhead_pct": 100.0 * hit / n, "reached": f >= target}


def layout_report(p: Parts, n: int, ml: int, closure: str, mode: str, every: int = 1, device: str = "cpu") -> dict:
    """For one layout: the step, SYPD, the share of the step the ocean waits for the ML
    group and the share of the time the ML ranks are idle."""
    t_oc, t = ocean_step_s(p, n), step_s(p, n, ml, closure, mode, every, device)
    busy = ml_exchange_s(p, n, ml, closure, device) / (every * t)
    return {"step_s": t, "sypd": sypd(p, t), "uncoupled_sypd": sypd(p, t_oc), "fraction": t_oc / t,
            "ocean_wait_pct": 100.0 * (t - t_oc) / t, "ml_idle_pct": 100.0 * max(0.0, 1.0 - busy)}
