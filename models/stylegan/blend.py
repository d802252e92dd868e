"""Layer blending of two generators of one architecture ("resolution dependent GAN interpolation").

Layers below a swap resolution come from the first generator, layers above it from the second,
with a smooth sigmoid transition whose width is counted in octaves of resolution. The mapping
network (and so ``w_avg``) is the first generator's. This is how Pinkney & Adler's toonification
combines a parent model with a fine-tuned child: the low layers fix structure, the high ones
texture and colour.
"""

from __future__ import annotations

import copy
import math
import re

import torch

_SG2_BLOCK = re.compile(r"^synthesis\.b(\d+)\.")
_SG3_LAYER = re.compile(r"^synthesis\.L\d+_(\d+)_\d+\.")


def layer_resolution(name: str, architecture: str, img_resolution: int) -> float | None:
    """The resolution a synthesis parameter works at; None for the mapping network.

    StyleGAN3 layers are named by their padded size; the input layer counts as the lowest (4).
    """
    if architecture == "stylegan2":
        match = _SG2_BLOCK.match(name)
        return float(match.group(1)) if match else None
    if name.startswith("synthesis.input."):
        return 4.0
    match = _SG3_LAYER.match(name)
    return float(min(int(match.group(1)), img_resolution)) if match else None


def blend_weight(resolution: float, swap_resolution: float, width: float) -> float:
    """How much of the second generator a layer at ``resolution`` takes (0..1).

    ``width`` 0 is a hard switch at ``swap_resolution`` (layers at it come from the second one).
    """
    octaves = math.log2(resolution) - math.log2(swap_resolution)
    if width <= 0:
        return 1.0 if octaves >= 0 else 0.0
    return 1.0 / (1.0 + math.exp(-(octaves + 0.5) / width))


def blend_generators(first: torch.nn.Module, second: torch.nn.Module, swap_resolution: float,
                     width: float = 0.0) -> torch.nn.Module:
    """A new generator: ``first`` below ``swap_resolution``, ``second`` above, blended across ``width``.

    Raises ``ValueError`` when the two are not of one architecture (names, shapes, arguments).
    """
    arch_a, arch_b = getattr(first, "architecture", None), getattr(second, "architecture", None)
    if arch_a not in ("stylegan2", "stylegan3"):
        raise ValueError(f"layer blending works on StyleGAN2/3 generators, not {arch_a}")
    if arch_a != arch_b or first.init_kwargs != second.init_kwargs:
        raise ValueError(f"the generators differ in architecture ({arch_a} {_describe(first)} vs "
                         f"{arch_b} {_describe(second)}); layer blending needs two of one architecture, "
                         "e.g. a model and its fine-tuned child")
    state_a, state_b = first.state_dict(), second.state_dict()
    blended = copy.deepcopy(first)
    with torch.no_grad():
        for name, tensor in blended.state_dict().items():
            resolution = layer_resolution(name, arch_a, first.img_resolution)
            if resolution is None or not tensor.is_floating_point():
                continue
            alpha = blend_weight(resolution, swap_resolution, width)
            tensor.copy_(torch.lerp(state_a[name].to(tensor), state_b[name].to(tensor), alpha))
    return blended


def _describe(network: torch.nn.Module) -> str:
    return f"{network.img_resolution}px, {network.num_ws} ws, {network.c_dim} classes"
