"""``python -m closures.train data {gz21|bbz24} RUN OUT --factor N [--records A:B] [--config CFG] [--set K=V]``
and ``python -m closures.train fit CONFIG.toml [--resume]``; a user error prints one line
and exits with status 2."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ocean import config as ocean_config

from .dataset import DatasetError, build
from .fit import FitConfigError, fit
from .samples import SampleError

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def run_config(run: Path, cfg_path: str | None, sets: list[str]):
    """The run's configuration: --config, else configs/<name>.toml of the output's
    ``configuration`` attribute."""
    if cfg_path is None:
        import xarray as xr
        out = run / "output.nc" if run.is_dir() else run
        try:
            with xr.open_dataset(out, decode_times=False) as ds:
                name = ds.attrs.get("configuration")
        except (OSError, ValueError):
            name = None
        guess = REPO_CONFIGS / f"{name}.toml" if name else None
        if guess is None or not guess.is_file():
            raise DatasetError(f"{out}: cannot tell the run's configuration; give it with --config")
        cfg_path = str(guess)
    return ocean_config.load(cfg_path, sets)


def record_slice(text: str | None) -> slice:
    """"A:B" -> slice(A, B) (either may be empty); None -> every record."""
    if text is None:
        return slice(None)
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        a, b = (int(x) if x.strip() else None for x in parts)
    except ValueError:
        raise DatasetError(f"--records {text!r}: expected A:B, record numbers from 0 (e.g. 0:20)") from None
    if any(x is not None and x < 0 for x in (a, b)):
        raise DatasetError(f"--records {text!r}: record numbers start at 0")
    return slice(a, b)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m closures.train", description="train closures on the model's runs")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="a high-resolution run -> a training dataset on the coarse grid")
    d.add_argument("kind", choices=("gz21", "bbz24"))
    d.add_argument("run", type=Path, help="run directory (its output.nc) or output file")
    d.add_argument("out", type=Path, help="the dataset file to write (netCDF)")
    d.add_argument("--factor", type=int, required=True, help="fine cells per coarse cell along x and y")
    d.add_argument("--records", default=None, metavar="A:B",
                   help="only the run's records A to B - 1 (0-based, as a Python slice; A or B may be left out)")
    d.add_argument("--config", help="the run's configuration (default: configs/<its name>.toml)")
    d.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="an override the run was made with (repeatable)")
    d.add_argument("--no-progress", action="store_true")
    f = sub.add_parser("fit", help="train a net on a dataset and write its closure file")
    f.add_argument("config", type=Path, help="fit configuration (TOML)")
    f.add_argument("--resume", action="store_true", help="continue from the output folder's checkpoint.pt")
    f.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    try:
        if a.cmd == "data":
            cfg = run_config(a.run, a.config, a.set)
            out = build(a.kind, a.run, a.out, a.factor, cfg, progress=not a.no_progress,
                        records=record_slice(a.records))
            print(f"dataset: {out}")
        else:
            res = fit(a.config, resume=a.resume, progress=not a.no_progress)
            h = res["history"]
            print(json.dumps({"val_loss_first": h[0]["val_loss"], "val_loss_last": h[-1]["val_loss"],
                              "val_r2_last": h[-1]["val_r2"], "epochs": h[-1]["epoch"], "n_train": res["n_train"],
                              "n_val": res["n_val"], "closure": res["closure"]}))
    except (DatasetError, SampleError, FitConfigError, ocean_config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
