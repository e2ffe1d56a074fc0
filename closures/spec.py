"""What a closure declares: its input and output fields, halo and model file.

A closure's declaration travels inside its model file (a TorchScript archive with a
``closure.json`` extra file), so the file alone says what the net expects. The net sees a
batch ``(batch, channels, ny + 2*halo, nx + 2*halo)`` holding the input fields level by level
(in declaration order) and returns ``(batch, out_channels, ny, nx)`` for the interior.

Input fields the ocean provides: every public field of its registry (``ocean/fields.py``):
u, v (m s-1, U/V points), w (m s-1, W points), T (degC), S (psu), ssh (m), mld (m), taux,
tauy (N m-2), qsr (W m-2), ubar, vbar (m s-1). Outputs the ocean puts into the step's slots
(``ocean/closure_slots.py``): ``du``, ``dv`` (m s-2, momentum tendency at U/V points),
``ueiv``, ``veiv`` (m s-1, eddy-induced velocity advecting the tracers), ``dT``, ``dS``
(degC s-1, 1e-3 s-1, tracer tendency); any other output becomes a diagnostic field that
can be written to the output file under its own name.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

POINTS = ("T", "U", "V", "F", "W")


@dataclass(frozen=True)
class FieldDecl:
    name: str
    point: str           # C-grid point: T, U, V, F or W
    levels: int | str    # "surface" (1 level), "all" (every level) or a number of levels from the top
    units: str

    def nlev(self, nz: int) -> int:
        if self.levels == "surface":
            return 1
        if self.levels == "all":
            return nz
        return int(self.levels)


@dataclass(frozen=True)
class ClosureSpec:
    name: str
    inputs: tuple[FieldDecl, ...]
    outputs: tuple[FieldDecl, ...]
    halo: int                       # points of receptive field beyond the tile, each side
    dtype: str = "float32"          # dtype of the tensors the net takes and returns

    @property
    def np_dtype(self) -> type:
        """The numpy dtype of the tensors the net takes and returns."""
        return np.float32 if self.dtype == "float32" else np.float64

    def in_channels(self, nz: int) -> int:
        return sum(f.nlev(nz) for f in self.inputs)

    def out_channels(self, nz: int) -> int:
        return sum(f.nlev(nz) for f in self.outputs)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ClosureSpec":
        d = json.loads(text)
        return cls(name=d["name"], inputs=tuple(FieldDecl(**f) for f in d["inputs"]),
                   outputs=tuple(FieldDecl(**f) for f in d["outputs"]), halo=int(d["halo"]),
                   dtype=d.get("dtype", "float32"))

    def check(self) -> None:
        for f in self.inputs + self.outputs:
            if f.point not in POINTS:
                raise ValueError(f"closure {self.name}: field {f.name} has point {f.point!r}, expected one of {POINTS}")
            if not (f.levels in ("surface", "all") or (isinstance(f.levels, int) and f.levels > 0)):
                raise ValueError(f"closure {self.name}: field {f.name} levels must be 'surface', 'all' or > 0")
        if self.halo < 0:
            raise ValueError(f"closure {self.name}: halo must be >= 0")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"closure {self.name}: dtype must be float32 or float64")
