"""DCGAN (Radford et al. 2016), the lesson's simplest GAN, behind StyleGAN's call contract.

The generator is z (+ a class embedding) -> 4x4 -> transposed convolutions with batch norm and ReLU
-> tanh. To share every StyleGAN node it offers ``mapping`` (z -> "ws" ``[N, 1, z_dim]``: the
normalised input itself, so ``num_ws`` is 1 and truncation pulls z towards zero) and ``synthesis``
(ws -> image), with the same keyword arguments (ignored where they mean nothing here).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .precision import PrecisionMixin


class DCGANMapping(nn.Module):
    """z and the class embedding, concatenated: DCGAN has no mapping network, only its input."""

    def __init__(self, z_dim: int, c_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.num_ws = z_dim, c_dim, 1
        self.embed = nn.Linear(c_dim, embed_dim, bias=False) if c_dim else None
        self.register_buffer("w_avg", torch.zeros(z_dim + (embed_dim if c_dim else 0)))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, update_emas: bool = False) -> torch.Tensor:
        x = z.to(torch.float32)
        if self.embed is not None:
            x = torch.cat([x, self.embed(c.to(torch.float32))], dim=1)
        if truncation_psi != 1:
            x = self.w_avg.lerp(x, truncation_psi)
        return x.unsqueeze(1)


class DCGANSynthesis(nn.Module):
    precision_override: torch.dtype | None = None  # see set_precision
    def __init__(self, in_features: int, img_resolution: int, img_channels: int, channels: int) -> None:
        super().__init__()
        if img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 8, not {img_resolution}")
        self.num_ws, self.img_resolution, self.img_channels = 1, img_resolution, img_channels
        steps = int(math.log2(img_resolution)) - 2
        widths = [channels * 2 ** (steps - 1 - i) for i in range(steps)]
        self.project = nn.Linear(in_features, widths[0] * 16, bias=False)
        self.norm0 = nn.BatchNorm1d(widths[0] * 16)
        layers: list[nn.Module] = []
        for i in range(steps - 1):
            layers += [nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=False),
                       nn.BatchNorm2d(widths[i + 1]), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], img_channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.first_width = widths[0]

    def forward(self, ws: torch.Tensor, **_: Any) -> torch.Tensor:
        with torch.autocast(ws.device.type, dtype=self.precision_override or torch.float32,
                            enabled=self.precision_override is not None):
            x = torch.relu(self.norm0(self.project(ws[:, 0])))
            return self.body(x.reshape(-1, self.first_width, 4, 4)).float()


class Generator(PrecisionMixin, nn.Module):
    """``G(z, c)`` -> NCHW in [-1, 1]; ``G.mapping`` / ``G.synthesis`` as in StyleGAN."""

    def __init__(self, z_dim: int, c_dim: int, img_resolution: int, img_channels: int, channels: int = 64,
                 embed_dim: int = 16) -> None:
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.mapping = DCGANMapping(z_dim, c_dim, embed_dim)
        self.w_dim = self.mapping.w_avg.numel()
        self.synthesis = DCGANSynthesis(self.w_dim, img_resolution, img_channels, channels)
        self.num_ws = 1
        self.init_kwargs = dict(z_dim=z_dim, c_dim=c_dim, img_resolution=img_resolution, img_channels=img_channels,
                                channels=channels, embed_dim=embed_dim)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, **_: Any) -> torch.Tensor:
        return self.synthesis(self.mapping(z, c, truncation_psi, truncation_cutoff))
