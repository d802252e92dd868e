"""Computing in float16 / bfloat16: which dtype a layer runs in, and switching a whole generator.

A generator's synthesis layers opt in with a ``precision_override`` attribute (None = NVlabs'
behaviour); :func:`set_precision` sets it on all of them.
"""

from __future__ import annotations

import torch
from torch import nn


def layer_dtype(marked_fp16: bool, force_fp32: bool, device: torch.device,
                override: torch.dtype | None) -> torch.dtype:
    """The dtype one synthesis layer computes in. NVlabs: float16 where the checkpoint marks the
    layer (``num_fp16_res``), on CUDA only. ``override`` (set by :meth:`StyleGANGenerator.set_precision`)
    runs every layer in float16 or bfloat16 on any device. ``force_fp32`` wins over both."""
    if force_fp32:
        return torch.float32
    if override is not None:
        return override
    return torch.float16 if marked_fp16 and device.type == "cuda" else torch.float32


def set_precision(generator: nn.Module, dtype: torch.dtype | None) -> None:
    """Run the whole synthesis network in ``dtype`` (float16 or bfloat16; the weights stay float32
    and are cast per layer), or None / float32 for NVlabs' behaviour. The mapping network and the
    image accumulation stay float32. Layers opt in with a ``precision_override`` attribute."""
    if dtype not in (None, torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"precision must be float32, float16 or bfloat16, not {dtype}")
    override = None if dtype in (None, torch.float32) else dtype
    for module in generator.synthesis.modules():
        if hasattr(module, "precision_override"):
            module.precision_override = override


def precision_of(generator: nn.Module) -> torch.dtype:
    """The dtype set with :func:`set_precision` (float32 when none was)."""
    overrides = {getattr(m, "precision_override", None) for m in generator.synthesis.modules()} - {None}
    return overrides.pop() if overrides else torch.float32


class PrecisionMixin:
    """``G.set_precision(dtype)`` and ``G.precision`` for a generator with a ``synthesis`` network."""

    def set_precision(self, dtype: torch.dtype | None) -> None:
        set_precision(self, dtype)

    @property
    def precision(self) -> torch.dtype:
        return precision_of(self)
