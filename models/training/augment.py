"""Differentiable augmentation for small data sets (DiffAugment / ADA style).

The same random transforms go to real and generated images before the discriminator sees them,
so the discriminator cannot memorise a few hundred pictures and the generator still learns the
un-augmented distribution. Each transform applies to a sample with probability ``p``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def augment(images: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random integer translation (up to 1/8 of the size), brightness, contrast and cutout."""
    if p <= 0:
        return images
    n, _, h, w = images.shape
    device = images.device

    def chosen() -> torch.Tensor:
        return (torch.rand(n, 1, 1, 1, generator=generator) < p).to(device, images.dtype)

    shift = max(1, h // 8)
    dx, dy = (torch.randint(-shift, shift + 1, (2, n), generator=generator) * chosen().reshape(1, n).long().cpu())
    padded = F.pad(images, [shift, shift, shift, shift])
    rows = (torch.arange(h).reshape(1, h) + shift - dy.reshape(n, 1)).to(device)
    cols = (torch.arange(w).reshape(1, w) + shift - dx.reshape(n, 1)).to(device)
    images = padded[torch.arange(n, device=device)[:, None, None, None],
                    torch.arange(images.shape[1], device=device)[None, :, None, None],
                    rows[:, None, :, None], cols[:, None, None, :]]
    brightness = (torch.rand(n, 1, 1, 1, generator=generator).to(device) - 0.5) * 0.4
    images = images + brightness * chosen()
    contrast = torch.exp2((torch.rand(n, 1, 1, 1, generator=generator).to(device) - 0.5) * 0.6)
    mean = images.mean(dim=[1, 2, 3], keepdim=True)
    images = torch.lerp(images, (images - mean) * contrast + mean, chosen())
    size = max(1, h // 4)
    cy = torch.randint(0, h, (n, 1, 1, 1), generator=generator).to(device)
    cx = torch.randint(0, w, (n, 1, 1, 1), generator=generator).to(device)
    ys, xs = torch.arange(h, device=device).reshape(1, 1, h, 1), torch.arange(w, device=device).reshape(1, 1, 1, w)
    hole = ((ys - cy).abs() < size / 2) & ((xs - cx).abs() < size / 2)
    return images * (1 - hole.to(images.dtype) * chosen())
