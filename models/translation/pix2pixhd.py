"""pix2pixHD generators (NVIDIA/pix2pixHD) with the original's parameter names.

Module indices inside each ``nn.Sequential`` are part of the file format (``model.16.conv_block.5``),
so the layer lists keep the original's order, parameter-free layers (padding, norms without
parameters, activations) included. Every convolution keeps its bias, even before a norm.

The global generator (``--netG global``): c7s1-ngf, ``n_downsampling`` stride-2 convolutions,
``n_blocks`` residual blocks, as many transposed convolutions, c7s1-output and tanh. The local
enhancer (``--netG local``) runs a global generator of width ``ngf·2**n_local_enhancers`` without
its last three modules on a 3×3 average-pooled copy of the input, and adds its features to those of
one downsampling branch (``model{n}_1``) per enhancer before that enhancer's residual blocks and
upsampling (``model{n}_2``); the last one ends in c7s1-output and tanh.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("instance", "batch")


def _norm(norm: str, channels: int) -> nn.Module:
    """The original's norm factory: instance norm without affine parameters or running statistics,
    or affine batch norm."""
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    raise ValueError(f"unknown norm {norm!r} ({', '.join(NORMS)})")


class ResnetBlock(nn.Module):
    """x + (reflect pad, conv3x3, norm, ReLU, reflect pad, conv3x3, norm)(x); the convolutions keep their bias."""

    def __init__(self, dim: int, norm: str = "instance") -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(norm, dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(norm, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return x + self.conv_block(x)
        return self.conv_block(x).add_(x)  # the same sum, without another tensor


def _global_layers(input_nc: int, output_nc: int, ngf: int, n_downsampling: int, n_blocks: int,
                   norm: str) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), _norm(norm, ngf), nn.ReLU(True)]
    for i in range(n_downsampling):
        width = ngf * 2 ** i
        layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1), _norm(norm, width * 2), nn.ReLU(True)]
    layers += [ResnetBlock(ngf * 2 ** n_downsampling, norm) for _ in range(n_blocks)]
    for i in range(n_downsampling):
        width = ngf * 2 ** (n_downsampling - i)
        layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                   _norm(norm, width // 2), nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
    return layers


class GlobalGenerator(nn.Module):
    """pix2pixHD's global generator (keys ``model.*``). Input NCHW (label one-hot + instance
    edges), sides multiples of :attr:`size_multiple`; output NCHW in [-1, 1] of the same size."""

    def __init__(self, input_nc: int = 36, output_nc: int = 3, ngf: int = 64, n_downsampling: int = 4,
                 n_blocks: int = 9, norm: str = "instance") -> None:
        super().__init__()
        if n_blocks < 0 or n_downsampling < 0:
            raise ValueError(f"n_blocks {n_blocks} and n_downsampling {n_downsampling} cannot be negative")
        self.model = nn.Sequential(*_global_layers(input_nc, output_nc, ngf, n_downsampling, n_blocks, norm))
        self.input_nc = input_nc
        self.size_multiple = 2 ** n_downsampling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LocalEnhancer(nn.Module):
    """pix2pixHD's coarse-to-fine generator (keys ``model.*``, ``model1_1.*``, ``model1_2.*``, …).
    Input NCHW, sides multiples of :attr:`size_multiple`; output NCHW in [-1, 1] of the same size."""

    def __init__(self, input_nc: int = 36, output_nc: int = 3, ngf: int = 32, n_downsample_global: int = 4,
                 n_blocks_global: int = 9, n_local_enhancers: int = 1, n_blocks_local: int = 3,
                 norm: str = "instance") -> None:
        super().__init__()
        if n_local_enhancers < 1:
            raise ValueError(f"a local enhancer needs n_local_enhancers ≥ 1, not {n_local_enhancers}")
        self.n_local_enhancers = n_local_enhancers
        global_layers = _global_layers(input_nc, output_nc, ngf * 2 ** n_local_enhancers, n_downsample_global,
                                       n_blocks_global, norm)
        self.model = nn.Sequential(*global_layers[:-3])  # without the global output convolution
        for n in range(1, n_local_enhancers + 1):
            width = ngf * 2 ** (n_local_enhancers - n)
            down = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, width, 7), _norm(norm, width), nn.ReLU(True),
                    nn.Conv2d(width, width * 2, 3, stride=2, padding=1), _norm(norm, width * 2), nn.ReLU(True)]
            upsample: list[nn.Module] = [ResnetBlock(width * 2, norm) for _ in range(n_blocks_local)]
            upsample += [nn.ConvTranspose2d(width * 2, width, 3, stride=2, padding=1, output_padding=1),
                         _norm(norm, width), nn.ReLU(True)]
            if n == n_local_enhancers:
                upsample += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
            setattr(self, f"model{n}_1", nn.Sequential(*down))
            setattr(self, f"model{n}_2", nn.Sequential(*upsample))
        self.input_nc = input_nc
        self.size_multiple = 2 ** (n_downsample_global + n_local_enhancers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pyramid = [x]
        for _ in range(self.n_local_enhancers):
            pyramid.append(F.avg_pool2d(pyramid[-1], 3, stride=2, padding=1, count_include_pad=False))
        out = self.model(pyramid[-1])
        for n in range(1, self.n_local_enhancers + 1):
            features = getattr(self, f"model{n}_1")(pyramid[self.n_local_enhancers - n])
            # features + out: the original's order of the sum (addition is commutative to the bit anyway)
            features = features + out if torch.is_grad_enabled() else features.add_(out)
            out = getattr(self, f"model{n}_2")(features)
        return out
