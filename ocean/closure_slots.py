"""The slots a closure's outputs fill in the time step, and the interface every closure
implements (net closures in ``closure_hook.py``, physics closures with no net alike).

The step (``Model.step``) offers three kinds of slot, called in this order:

- ``momentum_tendency(gu, gv)``: add du, dv (m s-2) to the momentum tendency, after the
  resolved terms (advection, Coriolis, pressure gradient, lateral viscosity) and before
  the barotropic mode sees their depth mean;
- ``eddy_velocity(ueiv, veiv)``: add an eddy-induced velocity u*, v* (m s-1) to the
  velocity that advects T and S (GM, mixed-layer eddies); the step takes its vertical
  part w* from continuity, with the resolved w (as Oceananigans'
  ``closure_auxiliary_velocity``), so the transport stays non-divergent;
- ``tracer_tendency(Ta, Sa, dt)``: add dt * dT, dt * dS (degC s-1, 1e-3 s-1) to the
  tracers after the resolved advection and diffusion, before the implicit vertical mixing
  (an operator-split tracer tendency, as MOM6 applies its mixed-layer restratification).

Each writes only the interior of the tile, with the point's land-sea mask applied. Outputs
of a net are routed by name (``OUTPUT_SLOTS``); any other output is a diagnostic field.
"""
from __future__ import annotations

import numpy as np

MOMENTUM, EDDY_VELOCITY, TRACER = "momentum", "eddy_velocity", "tracer"
SLOT_ORDER = (MOMENTUM, EDDY_VELOCITY, TRACER)

# closure output name -> (slot, C-grid point, units)
OUTPUT_SLOTS = {
    "du": (MOMENTUM, "U", "m s-2"),
    "dv": (MOMENTUM, "V", "m s-2"),
    "ueiv": (EDDY_VELOCITY, "U", "m s-1"),
    "veiv": (EDDY_VELOCITY, "V", "m s-1"),
    "dT": (TRACER, "T", "degC s-1"),
    "dS": (TRACER, "T", "1e-3 s-1"),
}


class Closure:
    """A process plugged into the step through its slots. Subclasses set ``name`` and
    ``slots`` (the slots they fill) and override the matching methods; every method is
    called on every closure of the run, in the order of the run's closure list."""

    name = "closure"
    slots: frozenset = frozenset()

    def start_of_step(self) -> None:
        """The step's inputs exist (state at time n): gather, send or compute."""

    def momentum_tendency(self, gu: np.ndarray, gv: np.ndarray) -> None:
        """Add du, dv (m s-2) to gu, gv on the interior."""

    def eddy_velocity(self, ueiv: np.ndarray, veiv: np.ndarray) -> None:
        """Add u*, v* (m s-1) to ueiv, veiv on the interior (the step exchanges their halos)."""

    def tracer_tendency(self, Ta: np.ndarray, Sa: np.ndarray, dt: float) -> None:
        """Add dt * dT, dt * dS to the tracers after their explicit update, on the interior."""

    def lagged_result(self) -> np.ndarray | None:
        """The result the next step applies, for restarts (lagged closures only)."""
        return None

    def restore_lagged_result(self, tile: np.ndarray) -> None:
        """Take back what ``lagged_result`` gave, from a restart."""

    def end_of_step(self) -> None:
        """The step is done: the state (and the diagnostics the output writes) at time n + 1."""

    def restart_written(self, path) -> None:
        """The run has written restart file ``path`` (every ocean rank hears of it)."""

    def close(self) -> None:
        """The run is over: stop what the closure started."""
