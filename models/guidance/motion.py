"""Camera moves between the frames of a guided video."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def zoom_step(picture: torch.Tensor, zoom: float, rotate: float, shift_x: float, shift_y: float) -> torch.Tensor:
    """Zoom into (zoom > 1), turn (degrees) and shift (pixels) NCHW pictures about their centre, the
    borders filled by reflection: the move between two frames of a zoom video."""
    n, _, height, width = picture.shape
    angle = torch.tensor(rotate * math.pi / 180)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.tensor([[cos, -sin * height / width, -2 * shift_x / width],
                          [sin * width / height, cos, -2 * shift_y / height]], dtype=picture.dtype)
    grid = F.affine_grid(theta.expand(n, 2, 3).to(picture.device), list(picture.shape), align_corners=False)
    return F.grid_sample(picture, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
