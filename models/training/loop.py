"""The optimisation loop the small training recipes share (super-resolution, VQGAN, CLIP)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

StepReport = Callable[[int, int, float], None]  # (step, steps, loss)


def cosine_lr(optimizer: torch.optim.Optimizer, base: float, step: int, steps: int, warmup: int = 0) -> None:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``base`` to 0 at ``steps``."""
    if step < warmup:
        scale = step / warmup
    else:
        scale = 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(steps - warmup, 1)))
    for group in optimizer.param_groups:
        group["lr"] = base * scale


def fit(module: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int, lr: float,
        batch_loss: Callable[[], torch.Tensor], on_step: StepReport | None = None, warmup: int = 0,
        after_step: Callable[[int], None] | None = None) -> float:
    """``steps`` optimiser steps on ``batch_loss()`` (which draws its own batch) with the cosine
    schedule; ``after_step(step)`` runs after each. Returns the seconds taken; ``module`` is left
    in eval mode without gradients."""
    module.train().requires_grad_(True)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        loss = batch_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        cosine_lr(optimizer, lr, step, steps, warmup)
        if after_step is not None:
            after_step(step)
        if on_step is not None:
            on_step(step, steps, loss.item())
    module.eval().requires_grad_(False)
    return round(time.perf_counter() - start, 1)
