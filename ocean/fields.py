"""One registry of the model's fields: each module declares the fields it owns, once.

A declaration gives the field's name (the model's short name, which closure declarations
use: ``u``, ``T``, ``mld``...), its C-grid point (T, U, V, F, W), its rank (2-D or 3-D),
units, a long name, how to read it from a :class:`ocean.model.Model` (the tile's array,
halo included), the name it has in output files (CF short names such as ``thetao``; none
for fields that are never output) and whether the restart file carries it.

Readers of the registry: ``restart.py`` (every field with ``restart=True``), the output
catalogue of ``run_output.py`` (every field with an ``output`` name) and the closure input
table of ``closure_hook.py`` (every public field, i.e. with an output name). Adding a
prognostic or a diagnostic is one ``declare`` call in the module that owns it. Each model
holds a :class:`FieldTable`, the declared fields plus those of its closures (their
diagnostic outputs), so that a closure's outputs can be written like any other field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

POINTS = ("T", "U", "V", "F", "W", "UW", "VW")
# UW, VW: the W levels of U and V columns (top face of level k at index k; wet where umask, vmask)
MASK_OF_POINT = {"T": "tmask", "U": "umask", "V": "vmask", "F": "fmask_any", "W": "tmask", "UW": "umask",
                 "VW": "vmask"}


@dataclass(frozen=True)
class Field:
    """A declared field. ``get(model)`` returns the tile's array with its halo: (ny, nx) for
    ``ndim = 2``, (nz, ny, nx) for 3. W-point fields hold level k's top face at index k."""
    name: str
    point: str
    ndim: int
    units: str
    long_name: str
    get: Callable[[object], np.ndarray]
    output: str = ""                 # name in output files; "" if never output
    standard_name: str = ""          # CF standard name
    restart: bool = False            # carried by restart files
    owner: str = ""                  # the module that declares it
    cold_start: bool = False         # a restart may lack it: it keeps the value the model starts with

    @property
    def mask(self) -> str:
        """The grid attribute holding this point's 3-D land-sea mask."""
        return MASK_OF_POINT[self.point]


REGISTRY: dict[str, Field] = {}


def declare(name: str, point: str, ndim: int, units: str, long_name: str, get: Callable, *, output: str = "",
            standard_name: str = "", restart: bool = False, owner: str = "", cold_start: bool = False) -> Field:
    """Add a field to the registry (once per name; at import time of the module that owns it)."""
    if name in REGISTRY:
        raise ValueError(f"field {name!r} declared twice ({REGISTRY[name].owner} and {owner})")
    if point not in POINTS or ndim not in (2, 3):
        raise ValueError(f"field {name!r}: point must be one of {POINTS} and ndim 2 or 3")
    f = Field(name, point, ndim, units, long_name, get, output, standard_name, restart, owner, cold_start)
    REGISTRY[name] = f
    return f


class FieldTable:
    """The fields of one model: the registry's, plus those its closures add."""

    def __init__(self, absent=()):
        """``absent``: names of registry fields this model does not have (e.g. the TKE's
        without the TKE scheme): neither restarted nor offered."""
        self._fields: dict[str, Field] = {n: f for n, f in REGISTRY.items() if n not in absent}

    def add(self, field: Field) -> None:
        """Add a run-time field (a closure's diagnostic output); names and output names stay unique."""
        if field.name in self._fields or (field.output and field.output in self.outputs()):
            raise ValueError(f"a field named {field.name!r} exists already")
        self._fields[field.name] = field

    def __getitem__(self, name: str) -> Field:
        return self._fields[name]

    def public(self) -> dict[str, Field]:
        """Fields a closure may take as input or a user may output, by model name."""
        return {n: f for n, f in self._fields.items() if f.output}

    def outputs(self) -> dict[str, Field]:
        """Fields that can be output, by output name."""
        return {f.output: f for f in self._fields.values() if f.output}

    def restart(self) -> list[Field]:
        """Fields carried by restart files, in declaration order."""
        return [f for f in self._fields.values() if f.restart]
