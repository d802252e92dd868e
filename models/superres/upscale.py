"""Upscaling a batch of pictures with an ESRGAN-family network: channels (gray, RGB, RGBA),
padding to the network's size multiple, tiles (halved when memory runs out), an exact output
scale, and an estimate of memory and work before starting."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .sr3 import sample_ddim, sample_ddpm
from .tiling import MIN_TILE, TileCallback, TileOutOfMemory, count_tiles, is_out_of_memory, pad_to_multiple, tiled_apply

Notice = Callable[[str], None]
SR3_SAMPLERS = ("ddim", "ddpm")


def downscale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Bicubic with antialiasing (Pillow's filter), clamped to 0..1: the classic degradation."""
    return F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True).clamp(0, 1)


def enlarge(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Bicubic enlargement with Pillow's kernel (a = -0.5), clamped: the baseline, and what SR3's
    data preparation feeds its network as the condition."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", antialias=True).clamp(0, 1)


@dataclass
class UpscaleResult:
    image: torch.Tensor  # NCHW, 0..1, float32, on the network's device
    tile: int  # the tile size finally used (0: untiled)
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CostEstimate:
    gflop: float  # per picture
    peak_bytes: int  # largest working set of an untiled pass, approximately

    def seconds(self, gflops_per_second: float) -> float:
        return self.gflop / gflops_per_second


def estimate_cost(network: torch.nn.Module, height: int, width: int) -> CostEstimate:
    """Convolution work and peak activation memory of one untiled pass, from a small probe run
    scaled by area (both grow with the number of pixels for these fully convolutional nets)."""
    probe = max(network.info.size_multiple, 16) * 2
    macs = 0
    sizes: list[int] = []

    def hook(module, inputs, output):
        nonlocal macs
        if isinstance(module, torch.nn.Conv2d):
            macs += output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        sizes.append(inputs[0].numel() + output.numel())

    handles = [m.register_forward_hook(hook) for m in network.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            param = next(network.parameters())
            network(torch.zeros(1, network.info.in_channels, probe, probe, device=param.device, dtype=param.dtype))
    finally:
        for handle in handles:
            handle.remove()
    ratio = height * width / probe ** 2
    element = next(network.parameters()).element_size()
    # The dense blocks keep their concatenated inputs alive: the largest conv's input + output, twice.
    return CostEstimate(2 * macs * ratio / 1e9, int(2 * max(sizes) * ratio * element))


def choose_tile(network: torch.nn.Module, height: int, width: int, free_bytes: int, share: float = 0.25,
                tile: int = 512) -> tuple[int, str | None]:
    """0 (the whole picture) when an untiled pass needs at most ``share`` of ``free_bytes``;
    otherwise ``tile``, with a notice giving the estimate."""
    cost = estimate_cost(network, height, width)
    if cost.peak_bytes <= share * free_bytes:
        return 0, None
    return tile, (f"the whole {width}x{height} picture would need about {cost.peak_bytes / 2**30:.1f} GiB at once "
                  f"({free_bytes / 2**30:.1f} GiB free), so it is upscaled in {tile} px tiles: about "
                  f"{cost.gflop:.0f} GFLOP of work per picture")


def _run(network: torch.nn.Module, x: torch.Tensor, tile: int, overlap: int,
         on_tile: TileCallback | None) -> torch.Tensor:
    info = network.info
    scale = round(info.scale)
    dtype = next(network.parameters()).dtype
    height, width = x.shape[-2:]
    padded, _, _ = pad_to_multiple(x, info.size_multiple)
    if tile > 0:
        tile = max(info.size_multiple, tile // info.size_multiple * info.size_multiple)
    # channels-last tiles let oneDNN / cuDNN skip a layout conversion around every convolution
    # (about 1.3x on CPU for RRDBNet); the weights follow the input's layout by themselves
    y = tiled_apply(lambda part: network(part.to(dtype=dtype, memory_format=torch.channels_last)).float(),
                    padded, scale, tile, overlap, on_tile, info.size_multiple)
    return y[..., :height * scale, :width * scale]


def upscale(network: torch.nn.Module, x: torch.Tensor, tile: int = 0, overlap: int = 16, outscale: float | None = None,
            alpha: str = "model", on_tile: Callable[[int, int], None] | None = None) -> UpscaleResult:
    """NCHW pictures in 0..1 (1, 3 or 4 channels) -> upscaled NCHW in 0..1.

    ``tile`` 0 runs each picture whole. ``alpha`` "model" upscales an alpha channel with the
    network (as gray), "bicubic" with bicubic interpolation. ``outscale`` resizes the network's
    output to exactly that factor (bicubic, antialiased when shrinking).
    """
    info = network.info
    if info.is_diffusion:
        raise ValueError("SR3 is a diffusion model: use sample_sr3, not upscale")
    device = next(network.parameters()).device
    x = x.to(device=device, dtype=torch.float32)
    notices: list[str] = []
    channels = x.shape[1]
    if channels not in (1, 3, 4):
        raise ValueError(f"pictures with {channels} channels cannot be upscaled (1, 3 or 4 are)")
    planes = [x[:, :3] if channels == 4 else x]
    if channels == 4:
        planes.append(x[:, 3:])
    scale = info.scale
    height, width = x.shape[-2:]
    per_picture = (3 if channels != 1 and info.in_channels == 1 else 1) + (channels == 4 and alpha == "model")
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_tile is not None:
            on_tile(done, total)

    while True:
        padded_h, padded_w = height + (-height) % info.size_multiple, width + (-width) % info.size_multiple
        multiple_tile = tile // info.size_multiple * info.size_multiple if tile > 0 else 0
        total = x.shape[0] * per_picture * count_tiles(padded_h, padded_w, multiple_tile, overlap, info.size_multiple)
        done = 0
        try:
            outputs = []
            for index, plane in enumerate(planes):
                if index == 1 and alpha != "model":
                    outputs.append(F.interpolate(plane, scale_factor=scale, mode="bicubic").clamp(0, 1))
                else:
                    outputs.append(torch.cat([_through(network, item, tile, overlap, tick) for item in plane.split(1)]))
            break
        except Exception as error:  # only memory exhaustion is handled; the rest is re-raised
            if not is_out_of_memory(error):
                raise
            if device.type == "cuda":
                torch.cuda.empty_cache()
            side = tile if tile > 0 else max(height, width)
            if side // 2 < MIN_TILE:
                raise TileOutOfMemory(f"even {side} px tiles do not fit in memory") from None
            tile = side // 2
            overlap = min(overlap, tile // 4)
            notices.append(f"out of memory; retrying with {tile} px tiles (overlap {overlap})")
    if channels == 1 and info.in_channels != 1:
        notices.append("gray pictures were upscaled as RGB and turned back to gray")
    if channels == 4:
        notices.append(f"the alpha channel was upscaled {'with the network' if alpha == 'model' else 'bicubically'}")
    y = torch.cat(outputs, dim=1).clamp_(0, 1)
    if outscale is not None and not math.isclose(outscale, scale):
        size = (max(1, round(height * outscale)), max(1, round(width * outscale)))
        y = F.interpolate(y, size=size, mode="bicubic", antialias=outscale < scale, align_corners=False).clamp_(0, 1)
    return UpscaleResult(y, tile, notices)


def _through(network, item: torch.Tensor, tile: int, overlap: int, tick: TileCallback) -> torch.Tensor:
    """One picture (1 or 3 channels) through the network, adapting gray <-> RGB."""
    want = network.info.in_channels
    if item.shape[1] == want:
        return _run(network, item, tile, overlap, tick)
    if item.shape[1] == 1 and want == 3:
        return _run(network, item.expand(-1, 3, -1, -1), tile, overlap, tick).mean(1, keepdim=True)
    if item.shape[1] == 3 and want == 1:  # a gray model colours nothing: each channel alone
        return torch.cat([_run(network, item[:, c:c + 1], tile, overlap, tick) for c in range(3)], dim=1)
    raise ValueError(f"the network takes {want} channels; the picture has {item.shape[1]}")


def super_resolve(network: torch.nn.Module, x: torch.Tensor, sampler: str = "ddim", steps: int = 50, eta: float = 0.0,
                  generator: torch.Generator | None = None, on_step=None) -> UpscaleResult:
    """SR3: NCHW pictures in 0..1 (1, 3 or 4 channels) -> ``network.info.scale`` times larger.

    The bicubic enlargement is the condition; sides are padded to the UNet's multiple and cropped
    back. ``sampler`` "ddpm" walks every timestep (the original), "ddim" takes ``steps``.
    ``on_step(step, total, x0)`` sees the current estimate of the picture in [-1, 1].
    """
    info = network.info
    if not info.scale:
        raise ValueError("the SR3 model's enlargement factor is unknown; give it (its JSON config or a factor)")
    if sampler not in SR3_SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r} ({', '.join(SR3_SAMPLERS)})")
    device = next(network.parameters()).device
    dtype = next(network.parameters()).dtype
    x = x.to(device=device, dtype=torch.float32)
    notices: list[str] = []
    channels = x.shape[1]
    rgb = x[:, :3] if channels == 4 else x
    if rgb.shape[1] != info.out_channels:
        if rgb.shape[1] == 1:
            rgb = rgb.expand(-1, info.out_channels, -1, -1)
        elif info.out_channels == 1:
            rgb = rgb.mean(1, keepdim=True)
            notices.append("the model is gray: the colour pictures were turned to gray")
    condition = enlarge(rgb, info.scale)
    height, width = condition.shape[-2:]
    condition, _, _ = pad_to_multiple(condition, info.size_multiple)
    condition = (condition * 2 - 1).to(dtype)
    if sampler == "ddpm":
        out = sample_ddpm(network, condition, network.schedule, generator, on_step)
    else:
        out = sample_ddim(network, condition, network.schedule, steps, eta, generator, on_step)
    out = (out.float()[..., :height, :width] * 0.5 + 0.5).clamp_(0, 1)
    if channels == 1 and out.shape[1] != 1:
        out = out.mean(1, keepdim=True)
    elif channels != 1 and out.shape[1] == 1:
        out = out.expand(-1, 3, -1, -1)
    if channels == 4:
        out = torch.cat([out, enlarge(x[:, 3:], info.scale)[..., :height, :width]], dim=1)
        notices.append("the alpha channel was enlarged bicubically")
    return UpscaleResult(out, 0, notices)
