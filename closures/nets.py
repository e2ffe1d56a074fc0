"""Pure nets (torch.nn.Module, no physics) and the thin wrappers that hold their scaling,
so that a saved model file is self-contained. Convolutions use no padding: a net with a
receptive-field halo h turns (B, C, Y+2h, X+2h) into (B, C_out, Y, X).
"""
from __future__ import annotations

import copy
from typing import List, Optional

import torch
from torch import nn


class StencilDamping(nn.Module):
    """A deterministic test closure with a real halo need (2 points): each channel is
    relaxed towards its 5x5 binomial average, d = rate * (smooth(x) - x) (rate in s-1)."""

    def __init__(self, channels: int, rate: float, dtype=torch.float64):
        super().__init__()
        b = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=dtype)
        k = torch.outer(b, b) / 256.0
        k[2, 2] -= 1.0
        self.conv = nn.Conv2d(channels, channels, 5, groups=channels, bias=False, dtype=dtype)
        with torch.no_grad():
            self.conv.weight.copy_((rate * k).expand(channels, 1, 5, 5))
        self.conv.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class StencilWithSpread(nn.Module):
    """A deterministic float64 stand-in for GZ21's forcing net, for tests of its physics layer:
    (B, 2, Y+2h, X+2h) u, v -> (B, 4, Y, X): mean_x, mean_y = ``rate`` * (5x5 binomial average
    - value) of u, v (m s-2 for u, v in m s-1, ``rate`` in s-1); spread_x, spread_y =
    ``spread`` (m s-2) everywhere. With ``rate`` 0 the forcing is the noise alone."""

    def __init__(self, rate: float, spread: float, halo: int = 10):
        super().__init__()
        self.stencil = StencilDamping(2, rate)
        self.crop, self.spread = halo - 2, spread

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stencil(x)
        c = self.crop
        y = y[:, :, c:y.shape[2] - c, c:y.shape[3] - c]
        return torch.cat([y, torch.full_like(y, self.spread)], dim=1)


class FullyConv(nn.Module):
    """A stack of unpadded convolutions (ReLU, optionally BatchNorm, between them), run on
    channels-last memory: oneDNN's CPU convolutions are faster on it (the BBZ24- and GZ21-size
    nets by 10-20% on one core); the result comes back in the usual contiguous layout."""

    def __init__(self, cin: int, cout: int, widths: list[int], kernels: list[int], batch_norm: bool):
        super().__init__()
        layers: list[nn.Module] = []
        chans = [cin] + widths
        for a, b, k in zip(chans[:-1], chans[1:], kernels[:-1]):
            layers.append(nn.Conv2d(a, b, k))
            layers.append(nn.ReLU())
            if batch_norm:
                layers.append(nn.BatchNorm2d(b))
        layers.append(nn.Conv2d(chans[-1], cout, kernels[-1]))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.contiguous(memory_format=torch.channels_last)).contiguous()

    def batchnorm_folded(self) -> "FullyConv":
        """A copy computing the same function in eval mode without its BatchNorm layers: each
        one (it follows a ReLU) is an affine map per channel, folded into the next conv's
        weights and bias. Exact up to float rounding because the convs have no padding."""
        folded = copy.deepcopy(self).eval()
        kept: list[nn.Module] = []
        scale = shift = None
        for m in folded.layers:
            if isinstance(m, nn.BatchNorm2d):
                scale = m.weight / torch.sqrt(m.running_var + m.eps)
                shift = m.bias - m.running_mean * scale
                continue
            if isinstance(m, nn.Conv2d) and scale is not None:
                with torch.no_grad():
                    m.bias += (m.weight * shift.view(1, -1, 1, 1)).sum(dim=(1, 2, 3))
                    m.weight *= scale.view(1, -1, 1, 1)
                scale = shift = None
            kept.append(m)
        folded.layers = nn.Sequential(*kept)
        return folded


def bbz24_fcnn(n_inputs: int = 8) -> FullyConv:
    """BBZ24-sized fully convolutional net: 8 convs (5x5 then 3x3), ReLU + BatchNorm,
    155,969 parameters for 8 inputs, receptive-field halo 9."""
    return FullyConv(n_inputs, 1, [128, 64, 32, 32, 32, 32, 32], [5, 3, 3, 3, 3, 3, 3, 3], batch_norm=True)


class BBZ24Net(nn.Module):
    """BBZ24's FCNN as published (Bodner, Balwada & Zanna 2024, ``submeso_ml.models.fcnn``):
    a Sequential ``conv`` of 8 convolutions 8->128 (5x5), 128->64, 64->32, 32->32 (x4), 32->1
    (3x3), each but the last followed by ReLU then BatchNorm2d; every convolution pads by
    reflection to the input's size (``padding='same', padding_mode='reflect'``), so
    (B, 8, Y, X) -> (B, 1, Y, X) and a point's output depends on the 19x19 inputs around it
    (halo 9) wherever the input extends 9 points beyond it. 155,969 parameters."""

    WIDTHS = (128, 64, 32, 32, 32, 32, 32, 1)
    KERNELS = (5, 3, 3, 3, 3, 3, 3, 3)

    def __init__(self, n_inputs: int = 8):
        super().__init__()
        layers: list[nn.Module] = []
        chans = (n_inputs,) + self.WIDTHS
        for n, (a, b, k) in enumerate(zip(chans[:-1], chans[1:], self.KERNELS)):
            layers.append(nn.Conv2d(a, b, k, padding="same", padding_mode="reflect"))
            if n < len(self.KERNELS) - 1:
                layers.append(nn.ReLU())
                layers.append(nn.BatchNorm2d(b))
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, edges: Optional[List[List[int]]] = None) -> torch.Tensor:
        """``edges``: per sample, the first and last row and column inside the domain
        (``domain_edges``); each layer's input is reflected beyond them as the published
        net's padding reflects at the domain's edges."""
        if edges is None:
            return self.conv(x)
        x = x.clone()
        for layer in self.conv:          # ReLU and BatchNorm act point by point: reflecting before them is harmless
            x = layer(reflect_beyond_(x, edges))
        return x


def domain_edges(inside: torch.Tensor) -> List[List[int]]:
    """Per sample of ``inside`` (B, 1, Y, X), 1 inside the model's domain and 0 beyond its
    closed edges (in a tile's halo): [first row, last row, first column, last column] inside."""
    rows = inside[:, 0].amax(dim=2) > 0
    cols = inside[:, 0].amax(dim=1) > 0
    edges: List[List[int]] = []
    for b in range(inside.shape[0]):
        r, c = torch.nonzero(rows[b]).flatten(), torch.nonzero(cols[b]).flatten()
        edges.append([int(r[0]), int(r[-1]), int(c[0]), int(c[-1])])
    return edges


def reflect_beyond_(x: torch.Tensor, edges: List[List[int]]) -> torch.Tensor:
    """``x`` (B, C, Y, X), in place, with the rows and columns beyond each sample's ``edges`` replaced by
    the reflection of those inside, edge row excluded (torch's ``padding_mode='reflect'``);
    rows first, so corners are reflected twice, as a 2-D reflect padding does."""
    ny, nx = x.shape[2], x.shape[3]
    for b, e in enumerate(edges):
        j0, j1, i0, i1 = e[0], e[1], e[2], e[3]
        if j0 > 0:
            x[b, :, :j0] = x[b, :, j0 + 1:2 * j0 + 1].flip(1)
        if j1 < ny - 1:
            x[b, :, j1 + 1:] = x[b, :, 2 * j1 + 1 - ny:j1].flip(1)
        if i0 > 0:
            x[b, :, :, :i0] = x[b, :, :, i0 + 1:2 * i0 + 1].flip(2)
        if i1 < nx - 1:
            x[b, :, :, i1 + 1:] = x[b, :, :, 2 * i1 + 1 - nx:i1].flip(2)
    return x


class GZ21Net(nn.Module):
    """GZ21's FullyCNN (Guillaumin & Zanna 2021): (u, v) -> (mean_x, mean_y, precision_x,
    precision_y), 8 convs, 268,005 parameters (with the precision floor), halo 10."""

    def __init__(self):
        super().__init__()
        self.body = FullyConv(2, 4, [128, 64, 32, 32, 32, 32, 32], [5, 5, 3, 3, 3, 3, 3, 3], batch_norm=False)
        self.min_value = nn.Parameter(torch.tensor(0.001496))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return torch.cat([y[:, :2], nn.functional.softplus(y[:, 2:]) + self.min_value], dim=1)


class LevelsAsBatch(nn.Module):
    """Wrapper for a 2-channel (u, v) net applied level by level: (B, 2*nz, Y', X') with u
    levels then v levels -> (B*nz, 2, ...) -> net -> mean channels * out_scale ->
    (B, 2*nz, Y, X) (du levels then dv levels, m s-2). GZ21 scales inputs by 10 and its
    outputs are in 1e-7 m s-2."""

    def __init__(self, net: nn.Module, nz: int, in_scale: float = 10.0, out_scale: float = 1e-7):
        super().__init__()
        self.net, self.nz, self.in_scale, self.out_scale = net, nz, in_scale, out_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        z = x.reshape(b, 2, self.nz, h, w).transpose(1, 2).reshape(b * self.nz, 2, h, w)
        y = self.net(z * self.in_scale)[:, :2] * self.out_scale
        hy, wy = y.shape[-2], y.shape[-1]
        return y.reshape(b, self.nz, 2, hy, wy).transpose(1, 2).reshape(b, 2 * self.nz, hy, wy)


class Normalised(nn.Module):
    """Wrapper holding a net's z-score normalisation: per-input-channel mean/std and output
    mean/std as buffers, so they travel inside the saved file."""

    def __init__(self, net: nn.Module, in_mean, in_std, out_mean, out_std):
        super().__init__()
        self.net = net
        self.register_buffer("in_mean", torch.as_tensor(in_mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("in_std", torch.as_tensor(in_std, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("out_mean", torch.as_tensor(out_mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("out_std", torch.as_tensor(out_std, dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.in_mean) / self.in_std) * self.out_std + self.out_mean


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
