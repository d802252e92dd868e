"""filtered_lrelu: StyleGAN3's alias-free nonlinearity (NVlabs' op, in plain PyTorch).

bias -> upsample by ``up`` with filter ``fu`` -> leaky ReLU, gain, clamp -> downsample by ``down``
with filter ``fd``. Padding is applied once, in the upsampled grid, as in NVlabs' op.
The reference spells that out with :func:`upfirdn2d_reference`; the default path runs the same
steps through :func:`upfirdn2d`'s fast paths, in cache-sized groups of channels on the CPU.
"""

from __future__ import annotations

import math

import torch

from .bias_act import bias_act
from .upfirdn2d import Padding, parse_padding, upfirdn2d, upfirdn2d_reference

# Aim for an upsampled group of channels that stays in a typical L2/L3 cache.
CPU_CACHE_BYTES = 8 * 2**20


def _filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    return (1, 1) if f is None else (f.shape[-1], f.shape[0])


def filtered_lrelu_reference(
    x: torch.Tensor, fu: torch.Tensor | None = None, fd: torch.Tensor | None = None, b: torch.Tensor | None = None,
    up: int = 1, down: int = 1, padding: Padding = 0, gain: float = math.sqrt(2), slope: float = 0.2,
    clamp: float | None = None, flip_filter: bool = False,
) -> torch.Tensor:
    """The obvious composition of the three steps."""
    _check_output_size(x, fu, fd, up, down, padding)
    x = bias_act(x, b)
    x = upfirdn2d_reference(x, fu, up=up, padding=padding, gain=up**2, flip_filter=flip_filter)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    return upfirdn2d_reference(x, fd, down=down, flip_filter=flip_filter)


def filtered_lrelu(
    x: torch.Tensor, fu: torch.Tensor | None = None, fd: torch.Tensor | None = None, b: torch.Tensor | None = None,
    up: int = 1, down: int = 1, padding: Padding = 0, gain: float = math.sqrt(2), slope: float = 0.2,
    clamp: float | None = None, flip_filter: bool = False,
) -> torch.Tensor:
    """Same result as :func:`filtered_lrelu_reference` (up to rounding), faster.

    The upsampled intermediate is ``up**2`` times the input and is touched by five passes; on
    the CPU that traffic, not arithmetic, dominates. So channels run in groups whose
    intermediate fits in cache, and the gain moves into the (linear) down filter, with the clamp
    scaled to match: ``clamp(g * a, -c, c) = g * clamp(a, -c/g, c/g)``.
    """
    _check_output_size(x, fu, fd, up, down, padding)
    if x.device.type == "cpu" and x.dtype in (torch.float16, torch.bfloat16):
        # CPU depthwise convolutions in half types take a slow generic path (10x slower than
        # fp32 here); the filtering is memory-bound anyway, so it runs in fp32 and casts back.
        return filtered_lrelu(x.float(), fu, fd, None if b is None else b.float(), up, down, padding, gain, slope,
                              clamp, flip_filter).to(x.dtype)
    x = bias_act(x, b)
    n, c, h, w = x.shape
    pads = parse_padding(padding)
    flat = x.reshape(1, n * c, h, w)
    if x.device.type == "cpu":
        per_channel = (h * up + pads[2] + pads[3]) * (w * up + pads[0] + pads[1]) * x.element_size()
        group = max(1, CPU_CACHE_BYTES // per_channel)
    else:
        group = n * c  # on a GPU, fewer and larger kernels win
    scaled_clamp = None if clamp is None else clamp / gain
    parts = []
    for part in flat.split(group, dim=1):
        y = upfirdn2d(part, fu, up=up, padding=pads, gain=up**2, flip_filter=flip_filter)
        y = bias_act(y, act="lrelu", alpha=slope, gain=1.0, clamp=scaled_clamp)
        parts.append(upfirdn2d(y, fd, down=down, flip_filter=flip_filter, gain=gain))
    out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
    return out.reshape(n, c, *out.shape[2:])


def _check_output_size(x, fu, fd, up, down, padding) -> None:
    px0, px1, py0, py1 = parse_padding(padding)
    (fu_w, fu_h), (fd_w, fd_h) = _filter_size(fu), _filter_size(fd)
    out_w = (x.shape[3] * up + px0 + px1 - (fu_w - 1) - (fd_w - 1) + (down - 1)) // down
    out_h = (x.shape[2] * up + py0 + py1 - (fu_h - 1) - (fd_h - 1) + (down - 1)) // down
    if out_w < 1 or out_h < 1:
        raise ValueError(f"filtered_lrelu: padding {padding} leaves no output for input {tuple(x.shape)}")
