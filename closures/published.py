"""Importers of published closure weights into the project's own closure files.

    python -m closures.published gz21 SRC.pth OUT.pt

The only place in the project that reads a foreign format. Weights are read with torch's
weights-only unpickler (``torch.load(..., weights_only=True)``), which refuses any pickled
object that is not a tensor or a plain container, so a file is never executed.

``gz21``: a state dict in the layout of GZ21's ``FullyCNN`` (Guillaumin & Zanna 2021; keys
``0.weight`` ... ``14.bias`` of eight unpadded convolutions with ReLUs between them, and the
precision floor ``final_transformation.min_value``). The closure file holds the net with
its scaling inside: it takes (u, v) in m s-1 on a tile with a 10-point halo, multiplies them
by 10 as in training, and returns four fields in m s-2 on the tile's interior:

- ``gz21_mean_x``, ``gz21_mean_y``: the mean subgrid forcing mu * 1e-7;
- ``gz21_spread_x``, ``gz21_spread_y``: its standard deviation 1e-7 / p, where
  p = softplus(raw) + min_value is the precision (1/sigma) of GZ21's training loss
  -log p + p^2 (S - mu)^2 / 2; negative where p <= 0 (possible when min_value < 0, as in
  the published file), never infinite. (DINO.GZ21 drew with sqrt(1/p) instead: that spread is
  sqrt(1e-7 * spread).)

The declaration says the net is 2-D (one level, ``surface``); the closure's physics layer
decides where u and v come from (their own points, as DINO.GZ21, or T points, as MOM6) and
which levels are batched. Deployed as it is, its outputs fill no slot of the step and are
written as diagnostic fields.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .nets import GZ21Net
from .runtime import save
from .spec import ClosureSpec, FieldDecl

GZ21_HALO = 10
GZ21_IN_SCALE = 10.0          # u, v (m s-1) times 10, as in training
GZ21_OUT_SCALE = 1e-7         # the net's forcing unit (m s-2)
# published key -> expected shape (eight convs at Sequential indices 0, 2, ..., 14)
GZ21_SHAPES = {
    **{f"{i}.weight": s for i, s in zip(range(0, 16, 2), [(128, 2, 5, 5), (64, 128, 5, 5), (32, 64, 3, 3)]
                                         + [(32, 32, 3, 3)] * 4 + [(4, 32, 3, 3)])},
    **{f"{i}.bias": (n,) for i, n in zip(range(0, 16, 2), [128, 64, 32, 32, 32, 32, 32, 4])},
    "final_transformation.min_value": (),
}


class WeightsError(ValueError):
    """A weights file that cannot be imported: the message names the file and what is wrong."""


class GZ21Forcing(nn.Module):
    """GZ21's net with its scaling: (B, 2, Y+20, X+20) u, v (m s-1) -> (B, 4, Y, X) mean_x,
    mean_y, spread_x, spread_y (m s-2)."""

    def __init__(self, net: GZ21Net):
        super().__init__()
        self.net = net
        self.in_scale, self.out_scale = GZ21_IN_SCALE, GZ21_OUT_SCALE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net.body(x * self.in_scale)
        precision = nn.functional.softplus(y[:, 2:]) + self.net.min_value
        # p = 0 exactly (min_value < 0) would give an infinite spread: report it as p < 0, a
        # negative spread, which the physics layer caps like every p <= 0
        precision = torch.where(precision == 0, torch.full_like(precision, -1.0), precision)
        return torch.cat([y[:, :2] * self.out_scale, self.out_scale / precision], dim=1)


GZ21_SPEC = ClosureSpec(
    "gz21",
    inputs=(FieldDecl("u", "U", "surface", "m s-1"), FieldDecl("v", "V", "surface", "m s-1")),
    outputs=(FieldDecl("gz21_mean_x", "U", "surface", "m s-2"), FieldDecl("gz21_mean_y", "V", "surface", "m s-2"),
             FieldDecl("gz21_spread_x", "U", "surface", "m s-2"), FieldDecl("gz21_spread_y", "V", "surface", "m s-2")),
    halo=GZ21_HALO, dtype="float32")


def read_state_dict(src: Path) -> dict[str, torch.Tensor]:
    """A state dict of tensors from ``src``, read without executing any pickled object."""
    if not src.is_file():
        raise WeightsError(f"{src}: file not found")
    try:
        sd = torch.load(str(src), map_location="cpu", weights_only=True)
    except Exception as exc:    # noqa: BLE001 - torch raises many types for a bad or unsafe file
        raise WeightsError(f"{src}: not a torch weights file that can be read without executing code "
                           f"({type(exc).__name__})") from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise WeightsError(f"{src}: expected a state dict (names -> tensors), got {type(sd).__name__}")
    return sd


def check_gz21(src: Path, sd: dict[str, torch.Tensor]) -> None:
    """Refuse a state dict that is not GZ21's FullyCNN: other keys, other shapes, NaN or inf."""
    missing = sorted(set(GZ21_SHAPES) - set(sd))
    extra = sorted(set(sd) - set(GZ21_SHAPES))
    if missing or extra:
        raise WeightsError(f"{src}: not a GZ21 FullyCNN state dict (missing keys: {', '.join(missing) or 'none'}; "
                           f"unexpected keys: {', '.join(extra[:5]) or 'none'}{' ...' if len(extra) > 5 else ''})")
    for key, shape in GZ21_SHAPES.items():
        if tuple(sd[key].shape) != shape:
            raise WeightsError(f"{src}: {key} has shape {tuple(sd[key].shape)}, GZ21 expects {shape}")
        if not torch.isfinite(sd[key]).all():
            raise WeightsError(f"{src}: {key} holds NaN or infinite values")


def import_gz21(src: str | Path, out: str | Path, int8_samples: str | Path | None = None) -> Path:
    """Write the closure file of GZ21 weights ``src`` to ``out``; returns its path. With
    ``int8_samples`` (a .npy of input tiles from real model states) the net is int8."""
    src = Path(src)
    sd = read_state_dict(src)
    check_gz21(src, sd)
    net = GZ21Net()
    state = {f"body.layers.{k}": v.float() for k, v in sd.items() if k != "final_transformation.min_value"}
    state["min_value"] = sd["final_transformation.min_value"].float()
    net.load_state_dict(state, strict=True)
    module = GZ21Forcing(net).eval()
    if int8_samples is not None:
        path = Path(int8_samples)
        try:
            samples = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{path}: not a .npy array of calibration samples ({exc})") from None
        module = quantize_int8(module, samples, path)
    return save(module, GZ21_SPEC, out)


def quantize_int8(module: GZ21Forcing, samples: np.ndarray, src: Path) -> GZ21Forcing:
    """``module`` with its convolutions in int8 (static quantization for x86 CPUs, ReLUs fused,
    activation ranges observed on ``samples``: input tiles (N, 2, Y, X) in m s-1 as the net
    takes them, from real model states). torch.ao's FX workflow (deprecated in favour of
    torchao, whose CPU path for convolutions needs torch.compile and a C++ toolchain at
    run time)."""
    import warnings
    from torch.ao.quantization import get_default_qconfig_mapping, quantize_fx
    if samples.ndim != 4 or samples.shape[1] != 2 or samples.shape[2] <= 2 * GZ21_HALO or not np.isfinite(samples).all():
        raise WeightsError(f"{src}: int8 calibration samples must be finite input tiles (N, 2, Y, X) with Y, X > "
                           f"{2 * GZ21_HALO}, got shape {samples.shape}")
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)) * GZ21_IN_SCALE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        body = copy.deepcopy(module.net.body.layers).eval()
        prep = quantize_fx.prepare_fx(body, get_default_qconfig_mapping("x86"), example_inputs=(x[:1],))
        with torch.inference_mode():
            for chunk in x.split(4):
                prep(chunk)
        module.net.body.layers = quantize_fx.convert_fx(prep)
    return module


IMPORTERS = {"gz21": import_gz21}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m closures.published",
                                description="turn published closure weights into the project's closure files")
    p.add_argument("kind", choices=sorted(IMPORTERS))
    p.add_argument("src", help="the published weights file")
    p.add_argument("out", help="the closure file to write")
    p.add_argument("--int8", metavar="SAMPLES.npy", help="quantize to int8, calibrated on these input tiles "
                   "(scripts/closure_samples.py writes them from restart files)")
    a = p.parse_args(argv)
    try:
        path = IMPORTERS[a.kind](a.src, a.out, a.int8)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {a.out}: cannot write the closure file ({exc.strerror})", file=sys.stderr)
        return 2
    net = torch.jit.load(str(path))
    n = sum(t.numel() for t in net.parameters())
    floor = float(net.net.min_value.detach())
    if a.int8:
        print(f"{path}: int8 convolutions calibrated on {a.int8}")
    print(f"{path}: closure {a.kind}, {n:,} parameters, halo {GZ21_HALO}, outputs in m s-2, precision floor "
          f"min_value = {floor:.6g}")
    if floor <= 0:
        print(f"warning: min_value = {floor:.6g} <= 0: the precision p = softplus(raw) + min_value is <= 0 where "
              f"softplus(raw) <= {-floor:.4g}, and the spread 1e-7 / p is then negative or infinite there",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
