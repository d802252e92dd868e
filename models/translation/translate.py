"""Running a translator over pictures of any size: channels, padding, tiles, seeds.

Pictures are never resized: each is padded (reflecting, centred) to the network's multiple (4 for
the ResNet, 2**levels for the U-Net) and the result cropped back. Large pictures can run in
overlapping, feathered tiles through the project's one tiler (``superres.tiling``). In the
"official" mode BatchNorm uses each picture's own statistics, as the original test.py (batch
size 1) does, so pictures of a batch go through one at a time, each with its own seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..superres.tiling import count_tiles, pad_centred, tiled_apply
from .loader import TranslationInfo
from .networks import BatchNorm2d, is_stochastic

Notice = Callable[[str], None]


@dataclass
class TranslateResult:
    image: torch.Tensor  # NCHW in [-1, 1], float32, on the network's device
    notices: list[str] = field(default_factory=list)


def match_channels(x: torch.Tensor, channels: int) -> tuple[torch.Tensor, str | None]:
    """Pictures with 1, 3 or 4 channels as ``channels`` (gray repeated, alpha dropped, colour
    averaged to gray), with a notice saying what was done."""
    have = x.shape[1]
    if have == channels:
        return x, None
    if have == 4 and channels == 3:
        return x[:, :3], "the alpha channel was dropped (the network takes RGB)"
    if have in (3, 4) and channels == 1:
        return x[:, :3].mean(1, keepdim=True), "the colour pictures were turned to gray (the network takes gray)"
    if have == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1), "the gray pictures were repeated to RGB (the network takes RGB)"
    raise ValueError(f"the network takes {channels} channel(s); the pictures have {have}")


def uses_picture_statistics(network: nn.Module) -> bool:
    """Whether outputs depend on the other pictures of a batch (BatchNorm on batch statistics)."""
    return any(isinstance(m, BatchNorm2d) and (m.batch_statistics or m.training) for m in network.modules())


def has_instance_norm(network: nn.Module) -> bool:
    return any(isinstance(m, nn.InstanceNorm2d) for m in network.modules())


def translate(network: nn.Module, info: TranslationInfo, x: torch.Tensor, tile: int = 0, overlap: int = 32,
              seed: int = 0, on_tile: Callable[[int, int], None] | None = None) -> TranslateResult:
    """NCHW pictures in [-1, 1] (1, 3 or 4 channels) through ``network`` -> NCHW in [-1, 1] with
    the network's output channels, the same height and width.

    ``tile`` > 0 runs pictures larger than that in overlapping tiles of at most ``tile`` pixels a
    side (rounded up to the network's multiple), blended over ``overlap`` pixels. ``seed`` makes
    dropout repeatable (picture i of the batch uses ``seed + i``). ``on_tile(done, total)`` is
    called after each tile.
    """
    device = next(network.parameters()).device
    dtype = next(network.parameters()).dtype
    notices: list[str] = []
    x, notice = match_channels(x.to(device=device, dtype=torch.float32), info.input_nc)
    if notice:
        notices.append(notice)
    multiple = info.size_multiple
    height, width = x.shape[-2:]
    if min(height, width) < multiple:
        notices.append(f"the {width}x{height} picture is smaller than the network's minimum of {multiple} px a side; "
                       "it was padded (reflected) to fit and the result cropped back")
    padded, (top, left) = pad_centred(x, multiple)
    if tile > 0:
        tile = max(multiple, -(-tile // multiple) * multiple)
        overlap = min(overlap, tile // 2)
        if max(padded.shape[-2:]) > tile and (has_instance_norm(network) or uses_picture_statistics(network)):
            notices.append("tiled: the network normalises with statistics of what it sees (instance norm, or "
                               "batch norm in the official mode), so each tile is normalised on its own and tones "
                               "can differ slightly from an untiled run; a larger tile reduces this")
    # Batch statistics and dropout make each picture depend on its batch and on random draws:
    # one picture at a time, each seeded, as test.py runs them.
    one_by_one = uses_picture_statistics(network) or is_stochastic(network)
    batches = padded.split(1) if one_by_one else [padded]
    per_batch = count_tiles(padded.shape[-2], padded.shape[-1], tile, overlap, multiple)
    total, done = per_batch * len(batches), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_tile is not None:
            on_tile(done, total)

    def run(part: torch.Tensor) -> torch.Tensor:
        # NCHW, as the original runs: the networks choose faster layouts themselves where the
        # numbers stay the same (a channels-last input would change oneDNN's sums and the layout,
        # hence the draws, of dropout's masks).
        return network(part.to(dtype=dtype).contiguous()).float()

    outputs = []
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        for index, batch in enumerate(batches):
            torch.manual_seed(seed + index)
            outputs.append(tiled_apply(run, batch, 1, tile, overlap, tick, multiple))
    y = torch.cat(outputs)[..., top:top + height, left:left + width]
    return TranslateResult(y, notices)

