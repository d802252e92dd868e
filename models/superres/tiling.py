"""Running an image-to-image network over a large picture in overlapping tiles.

Each tile is processed with its neighbours' pixels around it, and where tiles overlap their
outputs are blended with weights that fall linearly towards the tile's inner edges (a feather),
so seams do not show and the result approaches the untiled one as the overlap grows. A tile
that does not fit in memory is halved and the picture restarted.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

TileCallback = Callable[[], None]  # called once per finished tile
MIN_TILE = 32


class TileOutOfMemory(RuntimeError):
    """Even the smallest tile does not fit."""


def tile_layout(length: int, tile: int, overlap: int, multiple: int = 1) -> tuple[int, list[int]]:
    """Tile size and origins along one side: the fewest tiles of at most ``tile`` that overlap by
    at least ``overlap``, made equal in size (so a picture slightly larger than a tile costs two
    half tiles, not two full ones), origins on multiples of ``multiple``, the last one flush."""
    if length <= tile:
        return length, [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    size = min(tile, math.ceil(math.ceil((length + (count - 1) * overlap) / count) / multiple) * multiple)
    while True:
        starts = [min(length - size, (i * (length - size) // (count - 1)) // multiple * multiple)
                  for i in range(count)]
        if all(b - a <= size - overlap for a, b in itertools.pairwise(starts)):
            return size, starts
        size += multiple  # rounding to the multiple left a gap narrower than the overlap: widen


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one side (see :func:`tile_layout`)."""
    return tile_layout(length, tile, overlap)[1]


def _ramp(size: int, overlap: int, feather_start: bool, feather_end: bool, device) -> torch.Tensor:
    """1 inside; over the ``overlap`` samples at a feathered edge: 0 for the outer quarter (where
    the tile lacked context), a linear rise over the middle half, 1 for the inner quarter. The
    neighbour's ramp mirrors it, so the two weights sum to 1 across the overlap."""
    weight = torch.ones(size, device=device)
    if overlap > 0:
        position = torch.arange(overlap, device=device, dtype=torch.float32) + 0.5
        ramp = ((position - overlap / 4) / (overlap / 2)).clamp(0.0, 1.0)
        if feather_start:
            weight[:overlap] = torch.minimum(weight[:overlap], ramp)
        if feather_end:
            weight[-overlap:] = torch.minimum(weight[-overlap:], ramp.flip(0))
    return weight


def count_tiles(height: int, width: int, tile: int, overlap: int, multiple: int = 1) -> int:
    if tile <= 0:
        return 1
    return len(tile_layout(height, tile, overlap, multiple)[1]) * len(tile_layout(width, tile, overlap, multiple)[1])


def tiled_apply(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, scale: int, tile: int, overlap: int,
                on_tile: TileCallback | None = None, multiple: int = 1) -> torch.Tensor:
    """``fn`` (NCHW -> NCHW, ``scale`` times larger) over ``x`` in tiles of at most ``tile``
    pixels a side that overlap by at least ``overlap`` input pixels; ``tile`` <= 0 runs the whole
    picture at once. Tile sides and origins are multiples of ``multiple`` (x must be padded to it)."""
    if tile <= 0 or (x.shape[-2] <= tile and x.shape[-1] <= tile):
        out = fn(x)
        if on_tile is not None:
            on_tile()
        return out
    if overlap * 2 > tile:
        raise ValueError(f"the overlap ({overlap}) must be at most half the tile ({tile})")
    height, width = x.shape[-2:]
    tile_h, rows = tile_layout(height, tile, overlap, multiple)
    tile_w, cols = tile_layout(width, tile, overlap, multiple)
    out = weight = None
    for top in rows:
        for left in cols:
            y = fn(x[..., top:top + tile_h, left:left + tile_w])
            if out is None:
                out = torch.zeros(*x.shape[:-3], y.shape[-3], height * scale, width * scale, device=y.device,
                                  dtype=torch.float32)
                weight = torch.zeros(height * scale, width * scale, device=y.device, dtype=torch.float32)
            wy = _ramp(tile_h * scale, overlap * scale, top > 0, top + tile_h < height, y.device)
            wx = _ramp(tile_w * scale, overlap * scale, left > 0, left + tile_w < width, y.device)
            w = wy[:, None] * wx[None, :]
            region = (..., slice(top * scale, (top + tile_h) * scale), slice(left * scale, (left + tile_w) * scale))
            out[region] += y.float() * w
            weight[region[1:]] += w
            if on_tile is not None:
                on_tile()
    return out / weight


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                                or "not enough memory" in text)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad the bottom and right so both sides are multiples of ``multiple``."""
    pad_h, pad_w = (-x.shape[-2]) % multiple, (-x.shape[-1]) % multiple
    if pad_h or pad_w:
        mode = "reflect" if pad_h < x.shape[-2] and pad_w < x.shape[-1] else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, pad_h, pad_w


def pad_centred(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad both sides of each axis (reflecting where the picture is large enough, else repeating
    the edge) so that height and width are multiples of ``multiple``; the picture stays in the
    middle, where a fully convolutional network sees it with context on every side. Returns the
    padded tensor and the (top, left) offset of the original inside it."""
    pad_h, pad_w = (-x.shape[-2]) % multiple, (-x.shape[-1]) % multiple
    top, left = pad_h // 2, pad_w // 2
    if pad_h or pad_w:
        pads = (left, pad_w - left, top, pad_h - top)
        mode = "reflect" if max(pads[:2]) < x.shape[-1] and max(pads[2:]) < x.shape[-2] else "replicate"
        x = F.pad(x, pads, mode=mode)
    return x, (top, left)
