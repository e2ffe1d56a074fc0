"""What a run writes: the fields of the registry that have an output name (``ocean/fields.py``;
the catalogue is ``model.fields.outputs()``), their sampling into time means, and the single
CF netCDF file that rank 0 writes from the gathered tiles.

Records are aligned on absolute model time: one at every multiple of ``output.interval_days``
counted from time 0 of the experiment (``time.start_date``), whenever the segment started.

A run's dataset is ``RUNDIR/output.nc``, whatever the number of segments:

- a run continued with ``--restart`` appends to the ``output.nc`` of its run directory (after
  checking fields, grid, mode and time units: a mismatch is a ConfigError and the file is left
  alone); records that end after the restart (written by a killed run that went on past its
  last restart) are dropped and written again. The restart carries the time mean under way,
  so the continued run writes exactly the records an unbroken run would;
- a run (or a segment) that ends inside an output interval writes one more record: the mean
  under way with its true time bounds (``time_bounds``), or in snapshot mode the end state
  (the summary's ``partial_record`` and a warning say so). A run shorter than one interval
  still has a record (xarray cannot decode an empty 360-day time axis), and a continued run
  replaces that record by the full one (it ends after the last interval boundary before the
  restart, so it is dropped like any record written past the restart);
- a fresh run (no ``--restart``) starts a new dataset: an ``output.nc`` already in the run
  directory is kept, renamed ``output_previous_<k>.nc`` (k = 1, 2, ...: the first free name),
  so that forgetting ``--restart`` never destroys a long run's output.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import restart as restart_io
from .config import ConfigError
from .output import AxisSpec, FieldSpec, NetcdfWriter, OutputMismatch, TimeMean
from .runlog import log

DAY_S = 86400.0
EPS_S = 1e-6            # tolerance on model times [s]


def static_fields(gh) -> dict[str, tuple[str, np.ndarray, str, str]]:
    """The fields every output file holds once (name -> point, array, units, long name), of the
    global horizontal grid ``gh``; written as float32, NaN (land) as the fill value."""
    return {"bathymetry": ("T", np.where(gh.bathy > 0, gh.bathy, np.nan), "m", "sea floor depth below geoid"),
            "e1t": ("T", gh.e1t, "m", "cell width in x at T points"),
            "e2t": ("T", gh.e2t, "m", "cell width in y at T points")}


def axes_of(model) -> AxisSpec:
    g, gh = model.grid, model.grid.global_h
    return AxisSpec(x_t=gh.x_t, x_u=gh.x_u, y_t=gh.y_t, y_v=gh.y_v, depth_t=g.gdept, depth_w=g.gdepw[:-1],
                    x_units=gh.x_units, y_units=gh.y_units, static=static_fields(gh))


def set_aside(path: Path) -> Path:
    """Rename ``path`` (RUNDIR/output.nc) to the first free ``output_previous_<k>.nc``; returns it."""
    k = 1
    while (new := path.with_name(f"{path.stem}_previous_{k}{path.suffix}")).exists():
        k += 1
    path.rename(new)
    return new


class RunOutput:
    """Time means (or snapshots) of the chosen fields, one record at every multiple of
    ``interval_s`` [s] of model time; ``restart``: the restart file the run continues from
    (its output is appended to ``path``, its mean under way taken up), None for a fresh run."""

    def __init__(self, model, path: Path | None, output, start_date: str, title: str = "", attrs=None,
                 restart: str | Path | None = None):
        catalogue = model.fields.outputs()
        unknown = [f for f in output.fields if f not in catalogue]
        if unknown:
            raise ConfigError(f"key 'output.fields': unknown field(s) {', '.join(unknown)} "
                              f"(known: {', '.join(catalogue)})")
        self.model, self.names, self.mode = model, list(output.fields), output.mode
        self.fields = {n: catalogue[n] for n in self.names}
        self.interval_s = output.interval_days * DAY_S
        self.active = self.interval_s > 0 and bool(self.names)
        self.config = json.dumps({"mode": self.mode, "interval_days": float(output.interval_days),
                                  "fields": self.names}, sort_keys=True)
        g = model.grid
        self.masks = {n: g.interior_of(getattr(g, f.mask))[0 if f.ndim == 2 else slice(None)]
                      for n, f in self.fields.items()}
        self.mean = TimeMean({n: self.masks[n].shape for n in self.names}) if self.mode == "mean" else None
        self.writer = None
        self.last_write_s = model.state.time_s          # start of the interval under way [s]
        self.next_write_s = self.boundary_after(self.last_write_s) if self.active else math.inf
        if self.active and self.mean is not None and restart is not None:
            self._take_up(restart)
        if self.active and path is not None:
            self._open(Path(path), restart, start_date, title, attrs or {})

    # ------------------------------------------------------------------ interval arithmetic
    def boundary_after(self, t: float) -> float:
        """The first multiple of the output interval later than model time ``t`` [s]."""
        return (math.floor(t / self.interval_s + 1e-9) + 1) * self.interval_s

    def on_boundary(self, t: float) -> bool:
        """Is model time ``t`` [s] a multiple of the output interval?"""
        k = round(t / self.interval_s)
        return abs(t - k * self.interval_s) <= EPS_S

    # ------------------------------------------------------------------ continuing a run
    def carry(self) -> restart_io.MeanCarry | None:
        """The mean under way, for a restart file (None in snapshot mode or without output)."""
        if not self.active or self.mean is None:
            return None
        sums = self.mean.sums if self.mean.count > 0 else {}
        return restart_io.MeanCarry(self.config, self.mean.count, self.last_write_s, sums)

    def _take_up(self, restart: str | Path) -> None:
        """Continue the mean under way from the restart, if it belongs to this output
        configuration (else a warning: the first record averages from the restart on)."""
        t0 = self.model.state.time_s
        carry = restart_io.read_output_mean(self.model, Path(restart))
        why = self._unusable(carry, t0)
        if why is None:
            if carry.count > 0:
                self.mean.restore(carry.sums, carry.count)
            self.last_write_s = carry.start_s
            return
        if why and self.model.domain.is_root:
            log.warning(f"{restart}: {why}; the first output record averages from day {t0 / DAY_S:g} only")

    def _unusable(self, carry: restart_io.MeanCarry | None, t0: float) -> str | None:
        """Why the carried mean cannot be taken up ('' : nothing to take up and nothing lost;
        None: it can)."""
        if carry is None:
            return "" if self.on_boundary(t0) else "the restart carries no output mean under way"
        if carry.config != self.config:
            theirs, ours = json.loads(carry.config), json.loads(self.config)
            diff = ", ".join(f"output.{k} {theirs.get(k)!r} != {ours.get(k)!r}" for k in sorted(ours)
                             if theirs.get(k) != ours.get(k))
            return f"its output mean under way belongs to another output configuration ({diff})"
        inconsistent = (carry.start_s > t0 + EPS_S or self.boundary_after(carry.start_s) < t0 - EPS_S
                        or (carry.count > 0 and set(carry.sums) != set(self.names))
                        or any(carry.sums[n].shape != self.masks[n].shape for n in carry.sums))
        return "its output mean under way does not fit the restart's time or grid" if inconsistent else None

    def _open(self, path: Path, restart, start_date: str, title: str, attrs: dict) -> None:
        """Create or continue the dataset on rank 0; a mismatch is a ConfigError on every rank."""
        d = self.model.domain
        error = None
        if d.is_root:
            try:
                self.writer = self._writer(path, restart, start_date, title, attrs)
            except OutputMismatch as exc:
                error = (f"{path}: cannot continue this dataset from restart {restart}: {exc} (move the file "
                         "away or choose another --out)")
            except OSError as exc:
                error = f"{path}: cannot write the run's output ({exc})"
        error = d.bcast(error)
        if error:
            raise ConfigError(error)

    def _writer(self, path: Path, restart, start_date: str, title: str, attrs: dict) -> NetcdfWriter:
        specs = [FieldSpec(n, f.point, f.ndim, f.units, f.long_name, f.standard_name) for n, f in self.fields.items()]
        s = self.model.state
        if restart is None and path.exists():
            log.warning(f"a fresh run (no --restart) starts a new dataset: the {path.name} found in {path.parent} "
                        f"is kept as {set_aside(path).name}")
        if restart is None:
            return NetcdfWriter(path, axes_of(self.model), specs, start_date=start_date, title=title,
                                mode=self.mode, attrs=attrs)
        # a record ending after the interval under way began is written again by this run
        # (snapshot mode: the last boundary at or before the restart; a snapshot after it is the
        # end state of a segment that stopped inside an interval)
        keep = self.last_write_s if self.mode == "mean" else \
            (self.boundary_after(s.time_s) - self.interval_s if not self.on_boundary(s.time_s) else s.time_s)
        w = NetcdfWriter(path, axes_of(self.model), specs, start_date=start_date, title=title, mode=self.mode,
                         attrs=attrs, append=True, keep_until_s=keep,
                         history=f"continued from restart {Path(restart).name} (step {s.nstep}, "
                                 f"day {s.time_s / DAY_S:g})")
        if w.dropped or w.incomplete:
            log.warning(f"{path}: dropped {w.dropped} record(s) ending after day {keep / DAY_S:g}"
                        + (f" and {w.incomplete} incomplete one(s)" if w.incomplete else "")
                        + f": the run that wrote them went on past the restart at step {s.nstep}, and this "
                          "run writes them again")
        expected = keep - (self.interval_s if self.mode == "snapshot" else 0.0)    # end of the last record
        if w.last_end_s is not None and w.last_end_s < expected - EPS_S:
            log.warning(f"{path}: its last record ends on day {w.last_end_s / DAY_S:g}, before this run's first "
                        f"interval begins (day {keep / DAY_S:g}): the records in between are missing")
        return w

    # ------------------------------------------------------------------ the records
    def _fields(self) -> dict[str, np.ndarray]:
        return {n: self.model.grid.interior_of(f.get(self.model)) for n, f in self.fields.items()}

    def after_step(self) -> None:
        if not self.active:
            return
        t = self.model.state.time_s
        if self.mean is not None:
            self.mean.add(self._fields())
        if t >= self.next_write_s - EPS_S:
            self.write(t)

    def write(self, t: float) -> None:
        """One record at model time ``t`` [s] (the mean over [last_write_s, t], or a snapshot)."""
        data = self.mean.mean() if self.mean is not None else self._fields()
        names = list(data)
        full = self.model.domain.gather([np.where(self.masks[n] > 0, data[n], np.nan) for n in names], fill=np.nan)
        if self.writer is not None:
            if self.mode == "mean":     # CF: a mean is stamped at the middle of its interval
                self.writer.write(0.5 * (self.last_write_s + t), dict(zip(names, full)),
                                  time_bounds_s=(self.last_write_s, t))
            else:
                self.writer.write(t, dict(zip(names, full)))
        self.last_write_s = t
        self.next_write_s = self.boundary_after(t)
        if self.mean is not None:
            self.mean.reset()

    def write_partial(self) -> tuple[float, float] | None:
        """At the end of a run (or a stop) inside an output interval: write one more record,
        the mean under way with its true time bounds [start of the interval, now] (mean mode)
        or the end state (snapshot mode), and return its (start, end) times [s] (equal for a
        snapshot); None when the run ended on a record. The mean is kept (the restart carries
        it), and a run continued from this restart drops the record (it ends after the last
        interval boundary before the restart) and writes the full one, so a run split anywhere
        still holds exactly the records of an unbroken run. Collective (fields are gathered)."""
        t = self.model.state.time_s
        if not self.active or self.on_boundary(t) or t <= self.last_write_s + EPS_S:
            return None
        if self.mean is not None:
            if self.mean.count <= 0:
                return None
            data, start = self.mean.mean(), self.last_write_s
        else:
            data, start = self._fields(), t
        names = list(data)
        full = self.model.domain.gather([np.where(self.masks[n] > 0, data[n], np.nan) for n in names], fill=np.nan)
        if self.writer is not None:
            if self.mean is not None:
                self.writer.write(0.5 * (start + t), dict(zip(names, full)), time_bounds_s=(start, t))
            else:
                self.writer.write(t, dict(zip(names, full)))
        return start, t

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
