"""Loading a closure's model file and running one batched inference.

Model files are TorchScript archives (``torch.jit.save``) with the declaration in the extra
file ``closure.json``; loading never unpickles Python objects. A net is loaded once per
process and kept on its device (``"cpu"``, ``"cuda"`` or ``"auto"``: CUDA when available).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .spec import ClosureSpec


class ClosureLoadError(Exception):
    """A model file that is missing, unreadable or without a valid declaration."""


def save(module, spec: ClosureSpec, path: str | Path) -> Path:
    """Script ``module`` (a torch.nn.Module) and save it with its declaration."""
    import torch
    spec.check()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scripted = torch.jit.script(module.eval())
    torch.jit.save(scripted, str(path), _extra_files={"closure.json": spec.to_json()})
    return path


def pick_device(device: str) -> str:
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ClosureLoadError("closure.device = 'cuda' but no CUDA device is available")
    return device


PRECISIONS = ("auto", "fp32", "fp32-eager", "bf16", "fp32-compile", "bf16-compile")


def resolve_precision(precision: str) -> str:
    """``"auto"``: ``"bf16"`` on a CPU with native bfloat16 (AVX512-BF16, AMX), else ``"fp32"``."""
    from .cpu import native_bf16
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


def fused(net):
    """The TorchScript ``net`` frozen and optimised for CPU inference (weights prepacked for
    oneDNN, convolutions fused with their ReLUs): the same function with float32 sums in
    another order, 2-3 times faster for GZ21's net on one core. ``net`` itself where torch
    cannot (a float64 or already quantized net)."""
    import torch
    try:
        return torch.jit.optimize_for_inference(torch.jit.freeze(net.eval()))
    except Exception:   # noqa: BLE001 - not every scripted net can be frozen; it then runs as saved
        return net


def cxx_compiler() -> str | None:
    """The C++ compiler torch.compile's CPU backend (inductor) would use, or None."""
    import shutil
    return next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)


def compiled(net, spec: ClosureSpec, path: Path, bf16: bool):
    """``net``'s function under ``torch.compile`` (inductor, weights frozen and prepacked for
    oneDNN, under bfloat16 autocast with ``bf16``): GZ21's 36-level form runs 1.5 times faster
    than under plain autocast on an AMX CPU. torch.compile does not take TorchScript, so the
    net is rebuilt as the Python module of its declared name (``closures.published.MODULES``)
    and given the file's weights. Compiles on the first call of each batch shape (seconds to a
    minute); needs a C++ compiler at run time."""
    import torch
    import torch._inductor.config as inductor
    from .published import MODULES
    if spec.name not in MODULES:
        raise ClosureLoadError(f"{path}: a compiled precision needs the Python module of the net, known for "
                               f"{', '.join(MODULES)} only, not {spec.name!r}")
    if cxx_compiler() is None:
        raise ClosureLoadError(f"{path}: a compiled precision needs a C++ compiler (torch inductor); none found")
    module = MODULES[spec.name]()
    try:
        module.load_state_dict(net.state_dict())
    except RuntimeError as exc:
        raise ClosureLoadError(f"{path}: its weights do not fit the {spec.name} module (an int8 file cannot be "
                               f"compiled: {str(exc).splitlines()[0]})") from None
    module.eval()
    inductor.freezing = True

    def forward(x):
        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return module(x).float()
        return module(x)
    return torch.compile(forward)


class LoadedClosure:
    """A declared closure whose net is loaded on a device, ready for batched inference.

    ``precision`` (CPU, float32 nets): ``"fp32"`` runs the net frozen and fused (``fused``),
    ``"fp32-eager"`` as saved, ``"bf16"`` under bfloat16 autocast (fast on CPUs with
    AVX512-BF16 or AMX, emulated and slow elsewhere), ``"auto"`` bf16 where the CPU has it and
    fp32 elsewhere (``resolve_precision``), ``"fp32-compile"`` and ``"bf16-compile"`` under
    ``torch.compile`` (``compiled``); the results are float32 in every case, and
    ``self.precision`` says which ran. An int8 net is a file of its own (``python -m
    closures.published gz21 ... --int8``)."""

    def __init__(self, path: str | Path, device: str = "cpu", precision: str = "fp32"):
        import torch
        path = Path(path)
        if not path.is_file():
            raise ClosureLoadError(f"{path}: closure model file not found")
        extra = {"closure.json": ""}
        self.device = pick_device(device)
        try:
            self.net = torch.jit.load(str(path), map_location=self.device, _extra_files=extra)
        except Exception as exc:    # noqa: BLE001 - torch raises many types for a bad archive
            raise ClosureLoadError(f"{path}: not a loadable TorchScript closure ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        try:
            self.spec = ClosureSpec.from_json(extra["closure.json"])
            self.spec.check()
        except (ValueError, KeyError, TypeError) as exc:
            raise ClosureLoadError(f"{path}: missing or invalid closure.json declaration ({exc})") from None
        self.net.eval()
        self.path = path
        self.np_dtype = self.spec.np_dtype
        if precision not in PRECISIONS:
            raise ClosureLoadError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        precision = resolve_precision(precision)
        self.precision = precision if self.device == "cpu" and self.spec.dtype == "float32" else "fp32-eager"
        if self.precision == "fp32":
            self.net = fused(self.net)
        elif self.precision.endswith("-compile"):
            self.net = compiled(self.net, self.spec, path, self.precision == "bf16-compile")

    def infer(self, batch: np.ndarray, out: np.ndarray) -> None:
        """Run the net on ``batch`` (B, C_in, Y+2h, X+2h) and write (B, C_out, Y, X) into
        ``out``; zero-copy on the CPU (torch.from_numpy)."""
        import torch
        with torch.inference_mode():
            x = torch.from_numpy(batch)
            if self.device != "cpu":
                x = x.to(self.device, non_blocking=True)
            if self.precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    y = self.net(x).float()
            else:
                y = self.net(x)
            if y.shape != out.shape:
                raise ValueError(f"closure {self.spec.name} returned shape {tuple(y.shape)}, expected {out.shape}")
            out[...] = y.cpu().numpy() if self.device != "cpu" else y.numpy()
