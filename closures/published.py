"""Importers of published closure weights into the project's own closure files.

    python -m closures.published gz21 SRC.pth OUT.pt
    python -m closures.published bbz24 SRC.pt NORM_DIR OUT.pt

The only place in the project that reads a foreign format. No pickle is ever executed: a
GZ21 state dict is read with torch's weights-only unpickler (``torch.load(...,
weights_only=True)``), which refuses any pickled object that is not a tensor or a plain
container; BBZ24's whole pickled module is read by this file's own unpickler
(``read_pickled_module``), whose allow-list maps the few names such a file holds to inert
stand-ins that only collect attribute dicts and tensors (any other name is refused).

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

``bbz24``: BBZ24's FCNN for 1/4 degree (Bodner, Balwada & Zanna 2024; the eORCA025 MLE.BBZ24
run's ``fcnn_k5_l7_m_HBL_res_1_4.pt``, a pickled ``submeso_ml.models.fcnn.FCNN``) with the
z-score constants of its ``norm_1_4`` folder (``<name>_mean.npy``, ``<name>_std.npy``). The
importer checks the architecture (8 inputs, 8 reflect-padded convolutions, 155,969
parameters) and writes a closure file holding the net with the z-scoring of its 8 inputs and
of its output: it takes, at T points on a tile with a 9-point halo, in the order of
training, ``bbz24_grad_b`` |grad b_ML| (s-2), ``bbz24_fcor`` f (s-1), ``bbz24_hml`` H_ML (m;
the training data had H_ML < 0: the ocean side chooses the sign it passes), ``bbz24_tau``
|tau| (N m-2), ``bbz24_q`` the net surface heat flux (W m-2), ``bbz24_div``, ``bbz24_vort``,
``bbz24_strain`` of the ML-mean velocity (s-1), then ``in_domain`` (1 inside the model's
domain, 0 beyond its closed edges), and returns ``wb``, the ML-averaged submesoscale
vertical buoyancy flux (m2 s-3) on the tile's interior. As the published run,
each z-scored input is multiplied by the land-sea mask, which the file takes as H_ML != 0
(the ocean's fields are 0 on land, and H_ML is at least the top levels' depth in the water);
the net's output is scaled back (times std, plus mean) and set to 0 on land (the published
run leaves the mean there). The net pads by reflection in every layer, as published, and
reflects each layer's input at the domain's closed edges (where ``in_domain`` ends in the
tile's halo): so a tile with its 9-point halo gives, edges included, what the net applied to
the whole domain at once gives (across a periodic edge the halo holds the true neighbours).

The GZ21 declaration says the net is 2-D (one level, ``surface``); the closure's physics layer
decides where u and v come from (their own points, as DINO.GZ21, or T points, as MOM6) and
which levels are batched. Deployed as it is, its outputs fill no slot of the step and are
written as diagnostic fields.
"""
from __future__ import annotations

import argparse
import copy
import io
import pickle
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .nets import BBZ24Net, GZ21Net, domain_edges
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


def check_keys(src: Path, expected, got, what: str) -> None:
    """Refuse ``got`` (names -> tensors) unless it has exactly the names of ``expected``; the
    message starts with ``what`` and lists the missing and (the first five) unexpected names."""
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        raise WeightsError(f"{src}: {what} (missing keys: {', '.join(missing) or 'none'}; "
                           f"unexpected keys: {', '.join(extra[:5]) or 'none'}{' ...' if len(extra) > 5 else ''})")


def check_gz21(src: Path, sd: dict[str, torch.Tensor]) -> None:
    """Refuse a state dict that is not GZ21's FullyCNN: other keys, other shapes, NaN or inf."""
    check_keys(src, GZ21_SHAPES, sd, "not a GZ21 FullyCNN state dict")
    for key, shape in GZ21_SHAPES.items():
        if tuple(sd[key].shape) != shape:
            raise WeightsError(f"{src}: {key} has shape {tuple(sd[key].shape)}, GZ21 expects {shape}")
        if not torch.isfinite(sd[key]).all():
            raise WeightsError(f"{src}: {key} holds NaN or infinite values")


def gz21_forcing(src: str | Path) -> GZ21Forcing:
    """The GZ21Forcing module (float32, eval mode) of GZ21 weights ``src``, checked."""
    src = Path(src)
    sd = read_state_dict(src)
    check_gz21(src, sd)
    net = GZ21Net()
    state = {f"body.layers.{k}": v.float() for k, v in sd.items() if k != "final_transformation.min_value"}
    state["min_value"] = sd["final_transformation.min_value"].float()
    net.load_state_dict(state, strict=True)
    return GZ21Forcing(net).eval()


def import_gz21(src: str | Path, out: str | Path, int8_samples: str | Path | None = None) -> Path:
    """Write the closure file of GZ21 weights ``src`` to ``out``; returns its path. With
    ``int8_samples`` (a .npy of input tiles from real model states) the net is int8."""
    src = Path(src)
    module = gz21_forcing(src)
    if int8_samples is not None:
        path = Path(int8_samples)
        try:
            samples = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{path}: not a .npy array of calibration samples ({exc})") from None
        module = quantize_int8(module, samples, path)
    return save(module, GZ21_SPEC, out)


def quantize_int8(module: GZ21Forcing, samples: np.ndarray, src: Path, full_range: bool | None = None) -> GZ21Forcing:
    """``module`` with its convolutions in int8 (static quantization for x86 CPUs, ReLUs fused,
    activation ranges observed on ``samples``: input tiles (N, 2, Y, X) in m s-1 as the net
    takes them, from real model states), but for the last one, which stays float32: its
    output holds the mean forcing beside the raw precision, whose range is about 10 times
    wider, so one int8 scale for both left the mean a few dozen levels (on a day-90 dino_r1
    state, calibrated on day 60: 6.4% rms error of the 36-level mean forcing, 5.1% with the last
    convolution in float32, 2.6% with 8-bit activations as well).

    ``full_range``: activations on all 8 bits (halves the rounding error); safe only where
    the CPU multiplies u8 x s8 without an int16 intermediate (VNNI or AMX: the default there);
    elsewhere 7 bits (``reduce_range``), as torch's x86 default. torch.ao's FX workflow
    (deprecated in favour of torchao, whose CPU path for convolutions needs torch.compile and
    a C++ toolchain at run time)."""
    import warnings
    from torch.ao.quantization import (HistogramObserver, PerChannelMinMaxObserver, QConfig,
                                       get_default_qconfig_mapping, quantize_fx)
    from .cpu import native_int8_dot
    if samples.ndim != 4 or samples.shape[1] != 2 or samples.shape[2] <= 2 * GZ21_HALO or not np.isfinite(samples).all():
        raise WeightsError(f"{src}: int8 calibration samples must be finite input tiles (N, 2, Y, X) with Y, X > "
                           f"{2 * GZ21_HALO}, got shape {samples.shape}")
    full_range = native_int8_dot() if full_range is None else full_range
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)) * GZ21_IN_SCALE
    body = copy.deepcopy(module.net.body.layers).eval()
    last_conv = str(len(body) - 1)
    qconfig = QConfig(activation=HistogramObserver.with_args(reduce_range=not full_range),
                      weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    mapping = get_default_qconfig_mapping("x86").set_global(qconfig).set_module_name(last_conv, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prep = quantize_fx.prepare_fx(body, mapping, example_inputs=(x[:1],))
        with torch.inference_mode():
            for chunk in x.split(4):
                prep(chunk)
        module.net.body.layers = quantize_fx.convert_fx(prep)
    return module


# the Python modules of the closure files this file writes, by declared name (closures.runtime.compiled)
MODULES = {"gz21": lambda: GZ21Forcing(GZ21Net())}


# ---------------------------------------------------------------------------- BBZ24
BBZ24_HALO = 9
BBZ24_PARAMETERS = 155_969
# the net's inputs in the order of training: (name in the norm folder, closure input, units)
BBZ24_INPUTS = (("grad_B", "bbz24_grad_b", "s-2"), ("FCOR", "bbz24_fcor", "s-1"), ("HML", "bbz24_hml", "m"),
                ("TAU", "bbz24_tau", "N m-2"), ("Q", "bbz24_q", "W m-2"), ("div", "bbz24_div", "s-1"),
                ("vort", "bbz24_vort", "s-1"), ("strain", "bbz24_strain", "s-1"))
BBZ24_OUTPUT = "WB_sg"
BBZ24_HML_CHANNEL = 2
# after the net's inputs: 1 inside the model's domain, 0 beyond its closed edges (the ocean's field)
BBZ24_DOMAIN = FieldDecl("in_domain", "T", "surface", "1")

BBZ24_SPEC = ClosureSpec(
    "bbz24",
    inputs=tuple(FieldDecl(name, "T", "surface", units) for _, name, units in BBZ24_INPUTS) + (BBZ24_DOMAIN,),
    outputs=(FieldDecl("wb", "T", "surface", "m2 s-3"),),
    halo=BBZ24_HALO, dtype="float32")


class BBZ24Flux(nn.Module):
    """BBZ24's net with its normalisation: (B, 9, Y+18, X+18) inputs in their units, the
    last ``in_domain`` -> (B, 1, Y, X) w'b' (m2 s-3); land (H_ML = 0) masks the z-scored
    inputs and the output; every layer reflects at the domain's closed edges, where
    ``in_domain`` ends, as the published net's padding does on the whole domain."""

    def __init__(self, net: BBZ24Net, in_mean, in_std, out_mean: float, out_std: float):
        super().__init__()
        self.net = net
        self.halo, self.hml = BBZ24_HALO, BBZ24_HML_CHANNEL
        self.register_buffer("in_mean", torch.as_tensor(in_mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("in_std", torch.as_tensor(in_std, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("out_mean", torch.tensor(out_mean, dtype=torch.float32))
        self.register_buffer("out_std", torch.tensor(out_std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, c = self.halo, self.hml
        n = self.in_mean.shape[1]
        mask = (x[:, c:c + 1] != 0).to(x.dtype)
        y = self.net((x[:, :n] - self.in_mean) / self.in_std * mask, domain_edges(x[:, n:n + 1])) * mask
        y = y[:, :, h:y.shape[2] - h, h:y.shape[3] - h]
        return (y * self.out_std + self.out_mean) * mask[:, :, h:mask.shape[2] - h, h:mask.shape[3] - h]


class _StorageType:
    """Stands for ``torch.FloatStorage`` etc. in a pickle: only says the dtype."""

    def __init__(self, dtype):
        self.dtype = dtype


class PickledObject:
    """An inert stand-in for an allow-listed pickled class: keeps the name and the state it
    was given, runs nothing."""

    pickled_name = ""

    def __setstate__(self, state):
        self.state = state


def _stand_in(name: str) -> type:
    return type(name.rsplit(".", 1)[-1], (PickledObject,), {"pickled_name": name})


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, torch.Tensor):
        raise pickle.UnpicklingError("a tensor without a storage")
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    end = int(offset) + sum((n - 1) * st for n, st in zip(size, stride)) + 1 if all(size) else 0
    if min(stride, default=0) < 0 or end > storage.numel():
        raise pickle.UnpicklingError("a tensor reaches beyond its storage")
    return torch.as_strided(storage, size, stride, int(offset)).clone()


def _rebuild_parameter(data, requires_grad=True, backward_hooks=None):
    return data


_MODULE_CLASSES = ("submeso_ml.models.fcnn.FCNN", "torch.nn.modules.container.Sequential",
                   "torch.nn.modules.conv.Conv2d", "torch.nn.modules.activation.ReLU",
                   "torch.nn.modules.batchnorm.BatchNorm2d")
_ALLOWED = {
    "collections.OrderedDict": OrderedDict,
    "__builtin__.set": set, "builtins.set": set,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch.FloatStorage": _StorageType(torch.float32), "torch.DoubleStorage": _StorageType(torch.float64),
    "torch.LongStorage": _StorageType(torch.int64), "torch.IntStorage": _StorageType(torch.int32),
    **{name: _stand_in(name) for name in _MODULE_CLASSES},
}


class _AllowListUnpickler(pickle.Unpickler):
    """Builds only what ``_ALLOWED`` names; tensors come from the archive's storage records."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if full not in _ALLOWED:
            raise pickle.UnpicklingError(f"refused to build {full} (not on the allow-list)")
        return _ALLOWED[full]

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent record {pid!r:.80}")
        _, kind, key, _location, numel = pid
        raw = self.archive.read(f"{self.prefix}data/{key}")
        itemsize = torch.empty((), dtype=kind.dtype).element_size()
        if len(raw) != int(numel) * itemsize:
            raise pickle.UnpicklingError(f"storage {key} holds {len(raw)} bytes, expected {numel} x {itemsize}")
        return torch.frombuffer(bytearray(raw), dtype=kind.dtype) if raw else torch.empty(0, dtype=kind.dtype)


def read_pickled_module(src: Path) -> PickledObject:
    """The object tree of a pickled torch module (``torch.save(module)`` zip archive), built
    from stand-ins: modules are :class:`PickledObject` with their attribute dict in ``state``."""
    if not src.is_file():
        raise WeightsError(f"{src}: file not found")
    try:
        with zipfile.ZipFile(src) as z:
            pkls = [n for n in z.namelist() if n.endswith("/data.pkl")]
            if len(pkls) != 1:
                raise WeightsError(f"{src}: not a torch archive (expected one data.pkl, found {len(pkls)})")
            prefix = pkls[0][:-len("data.pkl")]
            bo = prefix + "byteorder"
            if bo in z.namelist() and z.read(bo).strip() != b"little":
                raise WeightsError(f"{src}: big-endian tensors are not supported")
            obj = _AllowListUnpickler(z.read(pkls[0]), z, prefix).load()
    except WeightsError:
        raise
    except zipfile.BadZipFile:
        raise WeightsError(f"{src}: not a torch archive (not a zip file)") from None
    except Exception as exc:    # noqa: BLE001 - UnpicklingError, EOFError, KeyError, ...: one line
        raise WeightsError(f"{src}: cannot be read without executing code or is damaged "
                           f"({type(exc).__name__}: {exc})") from None
    return obj


def _module_state(src: Path, obj, kind: str, where: str) -> dict:
    if not isinstance(obj, PickledObject) or obj.pickled_name != kind or not isinstance(
            getattr(obj, "state", None), dict):
        got = obj.pickled_name if isinstance(obj, PickledObject) else type(obj).__name__
        raise WeightsError(f"{src}: {where} is {got}, BBZ24's FCNN has {kind} there")
    return obj.state


def bbz24_state_dict(src: Path, root) -> tuple[dict[str, torch.Tensor], BBZ24Net]:
    """The tensors of BBZ24's pickled FCNN as a state dict of :class:`BBZ24Net` (and that net, with the
    published BatchNorm eps), after checking
    its layout against the published architecture (layer kinds, channels, kernels, 'same'
    reflect padding, BatchNorm settings, parameter count)."""
    state = _module_state(src, root, "submeso_ml.models.fcnn.FCNN", "the pickled object")
    seq = state.get("_modules", {}).get("conv")
    layers = _module_state(src, seq, "torch.nn.modules.container.Sequential", "module conv")["_modules"]
    ref = BBZ24Net()
    want = list(ref.conv.named_children())
    if list(layers) != [n for n, _ in want]:
        raise WeightsError(f"{src}: conv has layers {', '.join(layers)}; BBZ24's FCNN has 0 ... {len(want) - 1}")
    sd: dict[str, torch.Tensor] = {}
    for name, module in want:
        kind = f"{type(module).__module__}.{type(module).__name__}"
        st = _module_state(src, layers[name], kind, f"layer conv.{name}")
        if isinstance(module, nn.Conv2d):
            got = {a: st.get(a) for a in ("in_channels", "out_channels", "kernel_size", "padding", "padding_mode",
                                          "stride", "dilation", "groups")}
            ok = {a: getattr(module, a) for a in got}
            if got != ok:
                bad = next(a for a in got if got[a] != ok[a])
                raise WeightsError(f"{src}: conv.{name}.{bad} is {got[bad]!r}, BBZ24's FCNN has {ok[bad]!r}")
        if isinstance(module, nn.BatchNorm2d):
            if not (st.get("affine") and st.get("track_running_stats")):
                raise WeightsError(f"{src}: conv.{name} is not an affine BatchNorm2d with running statistics")
            ref.conv[int(name)].eps = float(st["eps"])
        for group in ("_parameters", "_buffers"):
            for key, t in (st.get(group) or {}).items():
                if t is not None:
                    sd[f"conv.{name}.{key}"] = t
    expected = ref.state_dict()
    check_keys(src, expected, sd, "tensors do not match BBZ24's FCNN")
    for key, t in expected.items():
        if not isinstance(sd[key], torch.Tensor) or tuple(sd[key].shape) != tuple(t.shape):
            raise WeightsError(f"{src}: {key} has shape {tuple(getattr(sd[key], 'shape', ()))}, "
                               f"BBZ24's FCNN expects {tuple(t.shape)}")
        if sd[key].is_floating_point() and not torch.isfinite(sd[key]).all():
            raise WeightsError(f"{src}: {key} holds NaN or infinite values")
    n = sum(sd[k].numel() for k, p in ref.named_parameters())
    if n != BBZ24_PARAMETERS:
        raise WeightsError(f"{src}: {n:,} parameters, BBZ24's FCNN has {BBZ24_PARAMETERS:,}")
    return sd, ref


def read_norms(norm_dir: Path) -> tuple[list[float], list[float], float, float]:
    """(input means, input stds, output mean, output std) from ``<name>_mean.npy`` and
    ``<name>_std.npy`` (scalars, read without pickles), in the net's input order."""
    if not norm_dir.is_dir():
        raise WeightsError(f"{norm_dir}: normalisation folder not found")

    def scalar(name: str) -> float:
        f = norm_dir / f"{name}.npy"
        if not f.is_file():
            raise WeightsError(f"{f}: file not found (BBZ24 needs <name>_mean.npy and <name>_std.npy for "
                               f"{', '.join(n for n, _, _ in BBZ24_INPUTS)} and {BBZ24_OUTPUT})")
        try:
            a = np.load(f, allow_pickle=False)
        except Exception as exc:    # noqa: BLE001
            raise WeightsError(f"{f}: not a numpy array file ({type(exc).__name__})") from None
        if a.size != 1 or not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all():
            raise WeightsError(f"{f}: expected one finite number, got {a.dtype} of shape {a.shape}")
        v = float(a.reshape(()))
        if name.endswith("_std") and v <= 0:
            raise WeightsError(f"{f}: a standard deviation must be > 0, got {v}")
        return v

    names = [n for n, _, _ in BBZ24_INPUTS]
    return ([scalar(f"{n}_mean") for n in names], [scalar(f"{n}_std") for n in names],
            scalar(f"{BBZ24_OUTPUT}_mean"), scalar(f"{BBZ24_OUTPUT}_std"))


def import_bbz24(src: str | Path, norm_dir: str | Path, out: str | Path) -> Path:
    """Write the closure file of BBZ24's pickled FCNN ``src`` with the z-scoring of ``norm_dir``."""
    src, norm_dir = Path(src), Path(norm_dir)
    sd, net = bbz24_state_dict(src, read_pickled_module(src))
    norms = read_norms(norm_dir)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()}, strict=True)
    return save(BBZ24Flux(net.eval(), *norms).eval(), BBZ24_SPEC, out)


def _report_gz21(path: Path, int8: bool) -> None:
    net = torch.jit.load(str(path))
    n = sum(t.numel() for t in net.parameters())
    what = f"{n:,} parameters" if not int8 else f"{n:,} float32 parameters (the int8 weights are packed apart)"
    floor = float(net.net.min_value.detach())
    print(f"{path}: closure gz21, {what}, halo {GZ21_HALO}, outputs in m s-2, precision floor "
          f"min_value = {floor:.6g}")
    if floor <= 0:
        print(f"warning: min_value = {floor:.6g} <= 0: the precision p = softplus(raw) + min_value is <= 0 where "
              f"softplus(raw) <= {-floor:.4g}, and the spread 1e-7 / p is then negative there (the physics "
              f"layer caps it: closure.spread_max_m_s2)",
              file=sys.stderr)


def _report_bbz24(path: Path) -> None:
    net = torch.jit.load(str(path))
    n = sum(t.numel() for t in net.parameters())
    print(f"{path}: closure bbz24, {len(BBZ24_INPUTS)} inputs, {n:,} parameters, halo {BBZ24_HALO}, "
          f"output wb in m2 s-3 (z-scoring inside)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m closures.published",
                                description="turn published closure weights into the project's closure files")
    sub = p.add_subparsers(dest="kind", required=True)
    g = sub.add_parser("gz21", help="GZ21 FullyCNN state dict (Guillaumin & Zanna 2021)")
    g.add_argument("src", help="the published weights file (a state dict)")
    g.add_argument("out", help="the closure file to write")
    g.add_argument("--int8", metavar="SAMPLES.npy", help="quantize to int8, calibrated on these input tiles "
                   "(scripts/closure_samples.py writes them from restart files)")
    b = sub.add_parser("bbz24", help="BBZ24 FCNN pickled module with its z-score folder (Bodner et al. 2024)")
    b.add_argument("src", help="the published pickled module (.pt); never executed")
    b.add_argument("norm_dir", help="folder of <name>_mean.npy, <name>_std.npy")
    b.add_argument("out", help="the closure file to write")
    a = p.parse_args(argv)
    try:
        if a.kind == "gz21":
            path = import_gz21(a.src, a.out, a.int8)
        else:
            path = import_bbz24(a.src, a.norm_dir, a.out)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {a.out}: cannot write the closure file ({exc.strerror})", file=sys.stderr)
        return 2
    if a.kind == "gz21" and a.int8:
        from .cpu import native_int8_dot
        bits = "8-bit activations (VNNI or AMX here)" if native_int8_dot() else "7-bit activations (no VNNI here)"
        print(f"{path}: int8 convolutions ({bits}; the last one float32) calibrated on {a.int8}")
    if a.kind == "gz21":
        _report_gz21(path, bool(a.int8))
    else:
        _report_bbz24(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
