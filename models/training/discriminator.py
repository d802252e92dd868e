"""A small conditional discriminator in the StyleGAN2 style (equalized learning rate, residual
blocks, minibatch standard deviation, projection conditioning), for training at 16-256 px."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..stylegan.mapping import FullyConnectedLayer


class EqualConv2d(nn.Module):
    """Conv with weights stored at unit variance and scaled by 1/sqrt(fan_in) at run time."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.gain, self.bias, padding=self.padding)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


class DiscriminatorBlock(nn.Module):
    """Two 3x3 convolutions and a 2x average-pool downsample, with a 1x1 residual path."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(self.skip(x), 2)
        x = F.avg_pool2d(_lrelu(self.conv1(_lrelu(self.conv0(x)))), 2)
        return (x + y) * math.sqrt(0.5)


class Discriminator(nn.Module):
    """``D(img, c)`` -> one logit per image; ``c`` is one-hot (or empty for unconditional data)."""

    def __init__(self, img_resolution: int, img_channels: int, c_dim: int = 0, channel_base: int = 4096,
                 channel_max: int = 256, mbstd_group: int = 4, cmap_dim: int = 128) -> None:
        super().__init__()
        if img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 8, not {img_resolution}")
        self.init_kwargs = dict(img_resolution=img_resolution, img_channels=img_channels, c_dim=c_dim,
                                channel_base=channel_base, channel_max=channel_max, mbstd_group=mbstd_group,
                                cmap_dim=cmap_dim)
        self.c_dim, self.mbstd_group = c_dim, mbstd_group
        resolutions = [2**i for i in range(int(math.log2(img_resolution)), 2, -1)]
        channels = {res: min(channel_base // res, channel_max) for res in [*resolutions, 4]}
        self.fromrgb = EqualConv2d(img_channels, channels[img_resolution], 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(channels[res], channels[res // 2]) for res in resolutions)
        top = channels[4]
        self.conv = EqualConv2d(top + 1, top, 3)
        self.fc = FullyConnectedLayer(top * 16, top, activation="lrelu")
        self.out = FullyConnectedLayer(top, cmap_dim if c_dim else 1)
        self.embed = FullyConnectedLayer(c_dim, cmap_dim) if c_dim else None
        self.cmap_dim = cmap_dim

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = _lrelu(self.fromrgb(img))
        for block in self.blocks:
            x = block(x)
        x = torch.cat([x, _minibatch_std(x, self.mbstd_group)], dim=1)
        x = self.out(self.fc(_lrelu(self.conv(x)).flatten(1)))
        if self.embed is None:
            return x.squeeze(1)
        cmap = self.embed(c.to(x.dtype))
        return (x * cmap).sum(dim=1) / math.sqrt(self.cmap_dim)


def _minibatch_std(x: torch.Tensor, group: int) -> torch.Tensor:
    """One feature map: the standard deviation across groups of samples (StyleGAN's diversity hint)."""
    n, _, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    y = x.reshape(g, n // g, -1, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt().mean(dim=[1, 2, 3])
    return y.reshape(1, n // g, 1, 1).repeat(g, 1, h, w).reshape(n, 1, h, w)
