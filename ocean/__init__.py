"""The NEMO-like ocean model (numba kernels, mpi4py domain decomposition).

Importing the package sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it: numba's
OpenMP threads (and torch's) then sleep between parallel regions instead of spinning. With
the default (spinning) a 2-thread dino_r1 step on a 2-core machine with one core busy took
245-274 ms instead of 116-118 ms: the idle thread's spinning took the core from the thread
with work. On a quiet machine passive waiting costs about 4% (72.7-84.0 against 70.6-74.2 ms):
set ``OMP_WAIT_POLICY=ACTIVE`` on a node of your own (README, "Measured speed"). It must be
set before an OpenMP runtime loads, so here, before numba or torch start their threads.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
