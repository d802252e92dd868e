"""upfirdn2d: upsample (zero insertion), pad, FIR-filter, downsample. NVlabs' op, in plain PyTorch.

Conventions (those of NVlabs' ``torch_utils.ops.upfirdn2d``, so weights and results carry over):
padding is ``[x0, x1, y0, y1]`` in upsampled pixels, negative values crop; the filter is
flipped (true convolution) unless ``flip_filter``; ``gain`` scales the filter by
``gain ** (ndim / 2)``, i.e. ``gain`` overall for both separable passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

Padding = int | Sequence[int]
SEPARABLE_MIN_TAPS = 8


def setup_filter(
    f: Sequence | torch.Tensor | None,
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1.0,
    separable: bool | None = None,
) -> torch.Tensor:
    """A float32 FIR filter: 1-D taps become their outer product unless kept separable.

    Separable is the default for 1-D filters of 8 taps or more (NVlabs' rule).
    """
    f = torch.as_tensor(1.0 if f is None else f, dtype=torch.float32)
    if f.ndim == 0:
        f = f[None]
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    return f * (gain ** (f.ndim / 2))


def parse_padding(padding: Padding) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if len(padding) == 2:
        px, py = padding
        return px, px, py, py
    px0, px1, py0, py1 = padding
    return px0, px1, py0, py1


def _scaling(value: int | Sequence[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def upfirdn2d_reference(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """The obvious implementation: insert zeros, pad or crop, depthwise convolution, subsample."""
    return _upfirdn2d_direct(x, f, up, down, padding, flip_filter, gain, strided=False)


def _upfirdn2d_direct(x, f, up, down, padding, flip_filter, gain, strided: bool) -> torch.Tensor:
    """Zero insertion, padding, one (or two 1-D) depthwise convolutions; ``strided`` folds the
    subsampling into the last convolution's stride, which skips the dropped pixels."""
    if f is None:
        f = torch.ones(1, 1, dtype=torch.float32, device=x.device)
    n, c, h, w = x.shape
    upx, upy = _scaling(up)
    downx, downy = _scaling(down)
    px0, px1, py0, py1 = parse_padding(padding)
    x = x.reshape(n, c, h, 1, w, 1)
    x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1]).reshape(n, c, h * upy, w * upx)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    stride = (downy, downx) if strided else 1
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c, stride=stride)
    else:
        x = F.conv2d(x, f[None, None, None].repeat(c, 1, 1, 1), groups=c)
        x = F.conv2d(x, f[None, None, :, None].repeat(c, 1, 1, 1), groups=c, stride=stride)
    return x if strided else x[:, :, ::downy, ::downx]


def _rank_one_factors(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(column, row) with ``f == outer(column, row)`` when the 2-D filter is separable."""
    if f.ndim != 2:
        return None
    pivot = int(f.abs().argmax())
    r, c = divmod(pivot, f.shape[1])
    peak = f[r, c]
    if peak == 0:
        return None
    column, row = f[:, c], f[r, :] / peak
    if torch.allclose(torch.outer(column, row), f, rtol=1e-6, atol=1e-7 * float(f.abs().max())):
        return column, row
    return None


def _filter_axis(x: torch.Tensor, taps: torch.Tensor, up: int, down: int, pad0: int, pad1: int, axis: int):
    """upfirdn along one axis (2 = H, 3 = W) with 1-D taps given in correlation order.

    Upsampling runs as a strided transposed convolution, which never multiplies the inserted
    zeros; downsampling as a strided convolution, which never computes dropped samples.
    """
    c, length = x.shape[1], taps.numel()
    shape = (1, -1) if axis == 3 else (-1, 1)
    if up > 1:
        # Zero insertion, padding by pad0 and correlation with `taps` equal the transposed
        # convolution with the reversed taps, read from offset length - 1 - pad0.
        kernel = taps.flip(0).to(x.dtype).reshape(shape)[None, None].repeat(c, 1, 1, 1)
        stride = (1, up) if axis == 3 else (up, 1)
        y = F.conv_transpose2d(x, kernel, stride=stride, groups=c)
        wanted = x.shape[axis] * up + pad0 + pad1 - length + 1
        start = length - 1 - pad0
        y = _pad_axis(y, axis, max(-start, 0), max(start + wanted - y.shape[axis], 0))
        y = y.narrow(axis, max(start, 0), wanted)
        if down > 1:  # both up and down on one axis: rare, so just subsample
            y = y[:, :, :, ::down] if axis == 3 else y[:, :, ::down]
        return y
    x = _pad_axis(x, axis, pad0, pad1)
    kernel = taps.to(x.dtype).reshape(shape)[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, kernel, stride=(1, down) if axis == 3 else (down, 1), groups=c)


def _pad_axis(x: torch.Tensor, axis: int, before: int, after: int) -> torch.Tensor:
    pads = [0, 0, max(before, 0), max(after, 0)] if axis == 2 else [max(before, 0), max(after, 0), 0, 0]
    x = F.pad(x, pads)
    return x.narrow(axis, max(-before, 0), x.shape[axis] - max(-before, 0) - max(-after, 0))


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Same result as :func:`upfirdn2d_reference`. Long filters skip the work the reference
    wastes: a separable one (1-D, or a rank-one 2-D filter) runs as two 1-D passes with
    transposed-convolution upsampling and strided downsampling; any other as one strided pass."""
    # Measured on CPU (oneDNN): one 2-D depthwise pass beats two 1-D passes for short filters
    # such as StyleGAN2's 4-tap blur; the split pays from about 8 taps (StyleGAN3's filters).
    if f is None or f.shape[-1] < SEPARABLE_MIN_TAPS:
        return upfirdn2d_reference(x, f, up, down, padding, flip_filter, gain)
    factors = (f, f) if f.ndim == 1 else _rank_one_factors(f)
    if factors is None:  # e.g. StyleGAN3-R's radial filter: one 2-D pass, strided
        return _upfirdn2d_direct(x, f, up, down, padding, flip_filter, gain, strided=True)
    column, row = factors
    column = column * gain  # the reference scales each of two 1-D passes by sqrt(gain), a 2-D filter by gain
    if not flip_filter:  # convolution, not correlation
        column, row = column.flip(0), row.flip(0)
    upx, upy = _scaling(up)
    downx, downy = _scaling(down)
    px0, px1, py0, py1 = parse_padding(padding)
    x = _filter_axis(x, row, upx, downx, px0, px1, axis=3)
    return _filter_axis(x, column, upy, downy, py0, py1, axis=2)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2, padding: Padding = 0,
               flip_filter: bool = False, gain: float = 1.0) -> torch.Tensor:
    """Upsample by ``up`` with filter ``f``, keeping the image centred (NVlabs' ``upsample2d``)."""
    fw, fh = (f.shape[-1], f.shape[0])
    px0, px1, py0, py1 = parse_padding(padding)
    pads = [px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2, py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2]
    return upfirdn2d(x, f, up=up, padding=pads, flip_filter=flip_filter, gain=gain * up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2, padding: Padding = 0,
                 flip_filter: bool = False, gain: float = 1.0) -> torch.Tensor:
    """Downsample by ``down`` with filter ``f``, keeping the image centred (NVlabs' ``downsample2d``)."""
    fw, fh = (f.shape[-1], f.shape[0])
    px0, px1, py0, py1 = parse_padding(padding)
    pads = [px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2, py0 + (fh - down + 1) // 2, py1 + (fh - down) // 2]
    return upfirdn2d(x, f, down=down, padding=pads, flip_filter=flip_filter, gain=gain)
