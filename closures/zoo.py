"""Closures this project builds and saves itself (no downloads): the deterministic stencil
test closure and nets of the published GZ21 and BBZ24 sizes (random weights until their
training pipelines exist).

    python -m closures.zoo OUTDIR [--nz 36]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .nets import GZ21Net, LevelsAsBatch, Normalised, StencilDamping, StencilWithSpread, bbz24_fcnn
from .runtime import save
from .spec import ClosureSpec, FieldDecl

BBZ24_INPUTS = (("u", "U", "m s-1"), ("v", "V", "m s-1"), ("T", "T", "degC"), ("S", "T", "psu"),
                ("ssh", "T", "m"), ("mld", "T", "m"), ("taux", "U", "N m-2"), ("qsr", "T", "W m-2"))


def stencil_closure(path, nz: int, rate: float = 2e-6) -> Path:
    """du, dv = rate * (5x5 binomial average - value) of u, v on all levels; float64, halo 2."""
    spec = ClosureSpec("stencil5", inputs=(FieldDecl("u", "U", "all", "m s-1"), FieldDecl("v", "V", "all", "m s-1")),
                       outputs=(FieldDecl("du", "U", "all", "m s-2"), FieldDecl("dv", "V", "all", "m s-2")),
                       halo=2, dtype="float64")
    return save(StencilDamping(2 * nz, rate), spec, path)


def gz21_probe_closure(path, rate: float = 2e-6, spread: float = 1e-7) -> Path:
    """A float64 closure file with GZ21's declaration (surface u, v with a 10-point halo ->
    mean and spread of the forcing, m s-2) whose net is ``StencilWithSpread``: for tests of
    the GZ21 physics layer that need results bitwise independent of the tile."""
    from .published import GZ21_SPEC
    spec = ClosureSpec("gz21_probe", GZ21_SPEC.inputs, GZ21_SPEC.outputs, GZ21_SPEC.halo, dtype="float64")
    return save(StencilWithSpread(rate, spread, GZ21_SPEC.halo).double(), spec, path)


def bbz24_size_closure(path, seed: int = 0) -> Path:
    """A BBZ24-sized 2-D net (8 surface inputs -> 1 output, 155,969 parameters, halo 9);
    its output ``wb`` (m2 s-3) is kept as a diagnostic. It is saved for inference with its
    BatchNorm folded into the convolutions (155,265 parameters, the same function)."""
    torch.manual_seed(seed)
    spec = ClosureSpec("bbz24_size",
                       inputs=tuple(FieldDecl(n, p, "surface", u) for n, p, u in BBZ24_INPUTS),
                       outputs=(FieldDecl("wb", "T", "surface", "m2 s-3"),), halo=9, dtype="float32")
    net = Normalised(bbz24_fcnn(8).eval().batchnorm_folded(),
                     [0.0] * 8, [0.1, 0.1, 10.0, 1.0, 0.5, 100.0, 0.1, 100.0], [0.0], [1e-8])
    return save(net, spec, path)


def gz21_size_closure(path, nz: int, seed: int = 0) -> Path:
    """A GZ21-sized 3-D net (u, v on all levels -> du, dv; 268,005 parameters, halo 10),
    applied level by level, deterministic mean only (the stochastic GZ21 comes later)."""
    torch.manual_seed(seed)
    spec = ClosureSpec("gz21_size", inputs=(FieldDecl("u", "U", "all", "m s-1"), FieldDecl("v", "V", "all", "m s-1")),
                       outputs=(FieldDecl("du", "U", "all", "m s-2"), FieldDecl("dv", "V", "all", "m s-2")),
                       halo=10, dtype="float32")
    return save(LevelsAsBatch(GZ21Net(), nz), spec, path)


def gz21_random_closure(path, seed: int = 0) -> Path:
    """GZ21's net and declaration (surface u, v -> mean and spread of the forcing, 268,005
    parameters, halo 10) with random weights: the published size and cost, for benchmarks
    that must run where the published weights are absent."""
    from .published import GZ21_SPEC, GZ21Forcing
    torch.manual_seed(seed)
    return save(GZ21Forcing(GZ21Net()).eval(), GZ21_SPEC, path)


def main():
    p = argparse.ArgumentParser(description="write the project's closure model files")
    p.add_argument("outdir")
    p.add_argument("--nz", type=int, default=36)
    a = p.parse_args()
    out = Path(a.outdir)
    for f in (stencil_closure(out / "stencil5.pt", a.nz), bbz24_size_closure(out / "bbz24_size.pt"),
              gz21_size_closure(out / "gz21_size.pt", a.nz)):
        print(f)


if __name__ == "__main__":
    main()
