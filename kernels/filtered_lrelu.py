"""filtered_lrelu: StyleGAN3's alias-free nonlinearity (NVlabs' op, in plain PyTorch).

bias -> upsample by ``up`` with filter ``fu`` -> leaky ReLU, gain, clamp -> downsample by ``down``
with filter ``fd``. Padding is applied once, in the upsampled grid, as in NVlabs' op.
The reference spells that out with :func:`upfirdn2d_reference`; the default path runs the same
steps through :func:`upfirdn2d`'s fast paths (polyphase upsampling, strided downsampling).
"""

from __future__ import annotations

import math

import torch

from .bias_act import bias_act
from .upfirdn2d import Padding, parse_padding, upfirdn2d, upfirdn2d_reference


def _filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    return (1, 1) if f is None else (f.shape[-1], f.shape[0])


def filtered_lrelu_reference(
    x: torch.Tensor, fu: torch.Tensor | None = None, fd: torch.Tensor | None = None, b: torch.Tensor | None = None,
    up: int = 1, down: int = 1, padding: Padding = 0, gain: float = math.sqrt(2), slope: float = 0.2,
    clamp: float | None = None, flip_filter: bool = False,
) -> torch.Tensor:
    """The obvious composition of the three steps."""
    return _filtered_lrelu(upfirdn2d_reference, x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter)


def filtered_lrelu(
    x: torch.Tensor, fu: torch.Tensor | None = None, fd: torch.Tensor | None = None, b: torch.Tensor | None = None,
    up: int = 1, down: int = 1, padding: Padding = 0, gain: float = math.sqrt(2), slope: float = 0.2,
    clamp: float | None = None, flip_filter: bool = False,
) -> torch.Tensor:
    """Same result as :func:`filtered_lrelu_reference`, through the fast FIR paths."""
    return _filtered_lrelu(upfirdn2d, x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter)


def _filtered_lrelu(fir, x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter) -> torch.Tensor:
    px0, px1, py0, py1 = parse_padding(padding)
    (fu_w, fu_h), (fd_w, fd_h) = _filter_size(fu), _filter_size(fd)
    out_w = (x.shape[3] * up + px0 + px1 - (fu_w - 1) - (fd_w - 1) + (down - 1)) // down
    out_h = (x.shape[2] * up + py0 + py1 - (fu_h - 1) - (fd_h - 1) + (down - 1)) // down
    if out_w < 1 or out_h < 1:
        raise ValueError(f"filtered_lrelu: padding {padding} leaves no output for input {tuple(x.shape)}")
    x = bias_act(x, b)
    x = fir(x, fu, up=up, padding=[px0, px1, py0, py1], gain=up**2, flip_filter=flip_filter)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    return fir(x, fd, down=down, flip_filter=flip_filter)
