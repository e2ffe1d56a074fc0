"""What a run writes: the fields of the registry that have an output name (``ocean/fields.py``;
the catalogue is ``model.fields.outputs()``), their sampling into time means, and the single
CF netCDF file that rank 0 writes from the gathered tiles."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import ConfigError
from .output import AxisSpec, FieldSpec, NetcdfWriter, TimeMean

def axes_of(model) -> AxisSpec:
    g, gh = model.grid, model.grid.global_h
    static = {"bathymetry": ("T", np.where(gh.bathy > 0, gh.bathy, np.nan), "m", "sea floor depth below geoid"),
              "e1t": ("T", gh.e1t, "m", "cell width in x at T points"),
              "e2t": ("T", gh.e2t, "m", "cell width in y at T points")}
    return AxisSpec(x_t=gh.x_t, x_u=gh.x_u, y_t=gh.y_t, y_v=gh.y_v, depth_t=g.gdept, depth_w=g.gdepw[:-1],
                    x_units=gh.x_units, y_units=gh.y_units, static=static)


class RunOutput:
    """Time means (or snapshots) of the chosen fields, written every ``interval_s``."""

    def __init__(self, model, path: Path | None, output, start_date: str, title: str = "", attrs=None):
        catalogue = model.fields.outputs()
        unknown = [f for f in output.fields if f not in catalogue]
        if unknown:
            raise ConfigError(f"key 'output.fields': unknown field(s) {', '.join(unknown)} "
                              f"(known: {', '.join(catalogue)})")
        self.model, self.names, self.mode = model, list(output.fields), output.mode
        self.fields = {n: catalogue[n] for n in self.names}
        self.interval_s = output.interval_days * 86400.0
        self.active = self.interval_s > 0 and bool(self.names)
        g = model.grid
        self.masks = {n: g.interior_of(getattr(g, f.mask))[0 if f.ndim == 2 else slice(None)]
                      for n, f in self.fields.items()}
        self.mean = TimeMean({n: self.masks[n].shape for n in self.names}) if self.mode == "mean" else None
        self.writer = None
        self.last_write_s = model.state.time_s
        if self.active and model.domain.is_root and path is not None:
            specs = [FieldSpec(n, f.point, f.ndim, f.units, f.long_name, f.standard_name)
                     for n, f in self.fields.items()]
            self.writer = NetcdfWriter(path, axes_of(model), specs, start_date=start_date, title=title,
                                       mode=self.mode, attrs=attrs or {})

    def _fields(self) -> dict[str, np.ndarray]:
        return {n: self.model.grid.interior_of(f.get(self.model)) for n, f in self.fields.items()}

    def after_step(self) -> None:
        if not self.active:
            return
        t = self.model.state.time_s
        if self.mean is not None:
            self.mean.add(self._fields())
        if t - self.last_write_s >= self.interval_s - 1e-6:
            self.write(t)

    def write(self, t: float) -> None:
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
        if self.mean is not None:
            self.mean.reset()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
