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


class LoadedClosure:
    """A declared closure whose net is loaded on a device, ready for batched inference."""

    def __init__(self, path: str | Path, device: str = "cpu"):
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

    def infer(self, batch: np.ndarray, out: np.ndarray) -> None:
        """Run the net on ``batch`` (B, C_in, Y+2h, X+2h) and write (B, C_out, Y, X) into
        ``out``; zero-copy on the CPU (torch.from_numpy)."""
        import torch
        with torch.inference_mode():
            x = torch.from_numpy(batch)
            if self.device != "cpu":
                x = x.to(self.device, non_blocking=True)
            y = self.net(x)
            if y.shape != out.shape:
                raise ValueError(f"closure {self.spec.name} returned shape {tuple(y.shape)}, expected {out.shape}")
            out[...] = y.cpu().numpy() if self.device != "cpu" else y.numpy()
