"""``python -m ocean plan CONFIG --ocean-ranks N``: how many ML ranks (or GPUs) to ask for in
each mode, and the speed to expect, from the performance model (``ocean.perf_model``) fed by
a measurement file (``scripts/load_balance.py measure``); warns when the configured layout
leaves the ocean waiting or the ML ranks idle."""
from __future__ import annotations

import json
from pathlib import Path

from .config import Config, ConfigError
from .perf_model import MODES, TARGET, NotMeasured, Parts, layout_report, ocean_step_s, resources_for, sypd, tile

DEFAULT_MEASUREMENTS = "runs/load_balance.json"
# measured by `python scripts/load_balance.py --quick` on the development machine: what plan uses
# (saying so) until the user has measured their own
REFERENCE_MEASUREMENTS = Path(__file__).with_name("reference_load_balance.json")


def measurements_to_use(given: str | None) -> tuple[Path, str | None]:
    """The measurement file ``plan`` reads, and a warning when it is the shipped reference."""
    if given is not None or Path(DEFAULT_MEASUREMENTS).is_file() or not REFERENCE_MEASUREMENTS.is_file():
        return Path(given or DEFAULT_MEASUREMENTS), None
    meas = json.loads(REFERENCE_MEASUREMENTS.read_text())
    return REFERENCE_MEASUREMENTS, (f"warning: {DEFAULT_MEASUREMENTS} not found: using the reference measurements "
                                    f"shipped with the code ({meas.get('cpu', '?')}, {meas.get('date', '?')}), "
                                    f"not this machine's; make your own with: python scripts/load_balance.py "
                                    f"measure {DEFAULT_MEASUREMENTS}")
WAIT_WARN_PCT = 3.0         # the ocean waiting more than this share of its step is worth a warning
IDLE_WARN_PCT = 50.0        # ML ranks idle more than this share of the time: fewer would do


def read_measurements(path: str | Path) -> dict:
    path = Path(path)
    make = f"python scripts/load_balance.py measure {path}"
    if not path.is_file():
        raise ConfigError(f"{path}: measurement file not found; make it with: {make}")
    try:
        meas = json.loads(path.read_text())
        meas["ocean"], meas["halo"], meas["exchange"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a measurement file of scripts/load_balance.py ({exc}); "
                          f"make one with: {make}") from None
    return meas


def closure_key(cfg: Config, where: str) -> tuple[str, object]:
    """(perf_model closure key, the [closure] table) of the configuration's first closure."""
    if not cfg.closures:
        raise ConfigError(f"{where}: no [closure] table: nothing to plan (an uncoupled run needs no ML ranks)")
    c = cfg.closures[0]
    if c.physics == "gz21":
        return f"gz21-{c.form}", c
    if cfg.mle.kind == "bbz24":
        return "bbz24", c
    raise ConfigError(f"{where}: the performance model knows GZ21 (closure.physics = 'gz21') and BBZ24 "
                      "(mle.kind = 'bbz24') closures; this configuration has neither")


def ocean_case(cfg: Config, meas: dict, path) -> str:
    """The measured ocean case of the configuration's resolution (with an MLE transport if it has one)."""
    cases = {k: v for k, v in meas["ocean"].items() if abs(v.get("resolution_deg", -1) - cfg.grid.resolution_deg) < 1e-9}
    if not cases:
        raise ConfigError(f"{path}: no ocean measured at {cfg.grid.resolution_deg:g} degrees (has: "
                          + ", ".join(meas["ocean"]) + ")")
    want = "none" if cfg.mle.kind == "none" else "fk08"
    return next((k for k, v in cases.items() if v.get("mle", "none") == want), next(iter(cases)))


def plan(cfg: Config, where: str, n: int, meas_path: str | Path, ml: int | None = None) -> list[str]:
    """The lines ``python -m ocean plan`` prints."""
    meas = read_measurements(meas_path)
    key, c = closure_key(cfg, where)
    case = ocean_case(cfg, meas, meas_path)
    devices = {"cpu": ["cpu"], "cuda": ["cuda"], "auto": ["cpu", "cuda"]}[c.device]
    precision = c.precision
    if precision == "auto":             # as the ML ranks resolve it, on the CPU that was measured (if bf16 was)
        cpu = meas.get("cpu", "")
        bf16 = any(k.endswith("-bf16") for k in meas.get("inference", {}).get("cpu", {}))
        precision = "bf16" if bf16 and ("avx512_bf16=yes" in cpu or "amx_bf16=yes" in cpu) else "fp32"
    parts, missing = {}, []
    for dev in devices:
        try:
            parts[dev] = Parts.from_measurements(meas, case, key, precision, dev)
        except NotMeasured as exc:
            missing.append(f"{dev}: {exc}")
    if not parts:
        raise ConfigError(f"{meas_path}: {'; '.join(missing)}")
    p = next(iter(parts.values()))
    try:
        tx, ty = tile(p.nx, p.ny, n)
    except ConfigError as exc:
        raise ConfigError(f"--ocean-ranks {n}: {exc}") from None
    t_oc = ocean_step_s(p, n)
    lines = [f"{where}: {n} ocean rank(s) on tiles of {tx}x{ty}x{p.nz} ({case} as measured on {meas.get('cpu', '?')}, "
             f"{meas.get('date', '?')}), closure {key} at {precision}, one exchange every {c.every_steps} step(s)",
             f"uncoupled: {t_oc * 1e3:.1f} ms per step, {sypd(p, t_oc):.1f} simulated years per day",
             f"{'mode':8s}{'device':8s}{'ask for':>16s}{'SYPD':>9s}{'of uncoupled':>14s}"]
    for dev, pd in parts.items():
        unit = "ML cores" if dev == "cpu" else "GPUs"
        for mode in MODES:
            r = resources_for(pd, n, key, mode, c.every_steps, dev)
            s = sypd(pd, ocean_step_s(pd, n) / r["fraction"])
            note = "" if r["reached"] else f"  (never {100 * TARGET:.0f}%: the best, from here on more is wasted)"
            if r["ml"] > n:              # the coupler maps no ocean rank to two ML ranks: threads instead
                note = f"  ({n} ML ranks with closure.torch_threads = {r['ml'] // n})" + note
            lines.append(f"{mode:8s}{dev:8s}{r['ml']:>7d} {unit:8s}{s:9.1f}{100 * r['fraction']:13.1f}%{note}")
    lines += [f"not measured, so not predicted: {m}" for m in missing]
    ml = ml if ml is not None else c.ml_ranks
    if c.mode in MODES and ml > 0:
        dev = "cpu" if "cpu" in parts else next(iter(parts))
        rep = layout_report(parts[dev], n, ml, key, c.mode, c.every_steps, dev)
        lines.append(f"this layout ({ml} ML rank(s), {c.mode}, {dev}): {rep['sypd']:.1f} SYPD, "
                     f"{100 * rep['fraction']:.1f}% of the uncoupled speed")
        if rep["ocean_wait_pct"] > WAIT_WARN_PCT:
            need = resources_for(parts[dev], n, key, c.mode, c.every_steps, dev)
            lines.append(f"warning: with {ml} ML rank(s) the ocean waits {rep['ocean_wait_pct']:.0f}% of each step "
                         f"for the ML group; ask for {need['ml']}" + ("" if need["reached"] else
                                                                       " (the best this mode can do)"))
        if rep["ml_idle_pct"] > IDLE_WARN_PCT:
            lines.append(f"warning: the ML ranks would be idle {rep['ml_idle_pct']:.0f}% of the time; fewer would do")
    return lines
