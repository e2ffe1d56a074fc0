"""What a run writes: the catalogue of output fields, their sampling into time means, and
the single CF netCDF file that rank 0 writes from the gathered tiles."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import ConfigError
from .output import AxisSpec, FieldSpec, NetcdfWriter, TimeMean

# name -> (spec, how to read the tile's field from a Model, mask attribute of the grid)
CATALOGUE: dict[str, tuple[FieldSpec, object, str]] = {
    "thetao": (FieldSpec("thetao", "T", 3, "degC", "sea water potential temperature",
                         "sea_water_potential_temperature"), lambda m: m.state.T, "tmask"),
    "so": (FieldSpec("so", "T", 3, "1e-3", "sea water salinity", "sea_water_salinity"),
           lambda m: m.state.S, "tmask"),
    "uo": (FieldSpec("uo", "U", 3, "m s-1", "sea water x velocity", "sea_water_x_velocity"),
           lambda m: m.state.u, "umask"),
    "vo": (FieldSpec("vo", "V", 3, "m s-1", "sea water y velocity", "sea_water_y_velocity"),
           lambda m: m.state.v, "vmask"),
    "wo": (FieldSpec("wo", "W", 3, "m s-1", "upward sea water velocity", "upward_sea_water_velocity"),
           lambda m: m.wadv, "tmask"),
    "zos": (FieldSpec("zos", "T", 2, "m", "sea surface height above geoid", "sea_surface_height_above_geoid"),
            lambda m: m.state.ssh, "tmask"),
    "mld": (FieldSpec("mld", "T", 2, "m", "mixed layer depth (0.03 kg m-3 from 10 m)",
                      "ocean_mixed_layer_thickness_defined_by_sigma_theta"),
            lambda m: m.mixed_layer_depth(), "tmask"),
    "ubar": (FieldSpec("ubar", "U", 2, "m s-1", "depth-mean x velocity",
                       "barotropic_sea_water_x_velocity"), lambda m: m.state.ubar, "umask"),
    "vbar": (FieldSpec("vbar", "V", 2, "m s-1", "depth-mean y velocity",
                       "barotropic_sea_water_y_velocity"), lambda m: m.state.vbar, "vmask"),
    "taux": (FieldSpec("taux", "U", 2, "N m-2", "surface downward x stress", "surface_downward_x_stress"),
             lambda m: m.forcing.taux, "umask"),
}


def axes_of(model) -> AxisSpec:
    g, gh = model.grid, model.grid.global_h
    static = {"bathymetry": ("T", np.where(gh.bathy > 0, gh.bathy, np.nan), "m", "sea floor depth below geoid"),
              "e1t": ("T", gh.e1t, "m", "cell width in x at T points"),
              "e2t": ("T", gh.e2t, "m", "cell width in y at T points")}
    return AxisSpec(x_t=gh.x_t, x_u=gh.x_u, y_t=gh.y_t, y_v=gh.y_v, depth_t=g.gdept, depth_w=g.gdepw[:-1],
                    x_units=gh.x_units, y_units=gh.y_units, static=static)


class RunOutput:
    """Time means (or snapshots) of the chosen fields, written every ``interval_s``."""

    def __init__(self, model, path: Path | None, cfg: dict, title: str = ""):
        o = cfg["output"]
        unknown = [f for f in o["fields"] if f not in CATALOGUE]
        if unknown:
            raise ConfigError(f"key 'output.fields': unknown field(s) {', '.join(unknown)} "
                              f"(known: {', '.join(CATALOGUE)})")
        self.model, self.names, self.mode = model, list(o["fields"]), o["mode"]
        self.interval_s = o["interval_days"] * 86400.0
        self.active = self.interval_s > 0 and bool(self.names)
        g = model.grid
        self.masks = {n: g.interior_of(getattr(g, CATALOGUE[n][2]))[0 if CATALOGUE[n][0].ndim == 2 else slice(None)]
                      for n in self.names}
        self.mean = TimeMean({n: self.masks[n].shape for n in self.names}) if self.mode == "mean" else None
        self.writer = None
        self.last_write_s = model.state.time_s
        if self.active and model.domain.is_root and path is not None:
            self.writer = NetcdfWriter(path, axes_of(model), [CATALOGUE[n][0] for n in self.names],
                                       start_date=cfg["time"]["start_date"], title=title, mode=self.mode,
                                       attrs={"configuration": cfg["run"]["name"]})

    def _fields(self) -> dict[str, np.ndarray]:
        return {n: self.model.grid.interior_of(CATALOGUE[n][1](self.model)) for n in self.names}

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
