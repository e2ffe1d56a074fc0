"""Training closures on the model's own high-resolution runs (issue 13).

Three steps, each runnable alone (``python -m closures.train ...``):

- ``data``: a high-resolution run -> a dataset of (inputs, targets) on the coarse grid, by the
  published recipes (``samples.py`` forms one sample, ``dataset.py`` writes and checks the
  netCDF file);
- ``fit``: offline training (``fit.py``: the loop, checkpoints, validation) of one
  ``trainer.Trainer``, the class online training drives too;
- packaging: ``Trainer.save_closure`` writes the closure file the importers of
  ``closures/published.py`` write, with the normalisation inside.
"""
