"""What the training loops share: the optimisation loop of the small recipes (super-resolution,
VQGAN, CLIP), and the pieces that make GAN runs resumable (per-step seeds, the divergence check,
state files that ``torch.load(weights_only=True)`` reads) for the StyleGAN trainer and the
translation trainer."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

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


def step_seed(seed: int, step: int) -> int:
    """The seed of one training step. Every step draws from its own seed, so a run resumed at any
    step continues exactly like an unbroken one."""
    return seed * 1_000_003 + step


def seed_step(seed: int, step: int, *generators: torch.Generator) -> int:
    """Reset ``generators`` to the step's seed; returns that seed."""
    value = step_seed(seed, step)
    for generator in generators:
        generator.manual_seed(value)
    return value


@contextmanager
def seeded_step(seed: int, step: int, *generators: torch.Generator,
                device: torch.device | str | None = None) -> Iterator[int]:
    """:func:`seed_step`, and the global random state (what dropout draws from) seeded the same way
    for the duration of the step, on a fork: the caller's global state is left as it was."""
    value = seed_step(seed, step, *generators)
    device = torch.device(device) if device is not None else None
    devices = [device] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(value)
        yield value


def gan_steps(state, until: int, seed: int, device: torch.device | str | None,
              step: Callable[[torch.Generator], dict], learning_rates: Callable[[int], dict[str, float]],
              on_step: Callable[[object, dict], None] | None = None) -> None:
    """The loop of the resumable GAN recipes (pix2pix / CycleGAN, MUNIT, SPADE): from
    ``state.step`` up to ``until``, each step seeded on its own (:func:`seeded_step`), so that a
    run resumed at any step continues exactly like an unbroken one.

    ``learning_rates(index)`` sets the optimisers' rates for step ``index`` (0-based) and returns
    what to record of them; ``step(rng)`` runs one update, drawing batches and noise from ``rng``,
    and returns its losses. Each record (``step``, the rates, the losses) is checked for NaN,
    appended to ``state.history`` and passed to ``on_step(state, record)`` outside the step's
    random state (raise from it to stop)."""
    rng = torch.Generator()
    while state.step < until:
        with seeded_step(seed, state.step, rng, device=device):
            rates = learning_rates(state.step)
            losses = step(rng)
        state.step += 1
        check_finite(state.step, losses)
        record = {"step": state.step, **rates, **losses}
        state.history.append(record)
        if on_step is not None:
            on_step(state, record)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def one_rate(lr_at: Callable[[int], float], *optimizers: torch.optim.Optimizer) -> Callable[[int], dict[str, float]]:
    """``learning_rates`` for :func:`gan_steps` when every optimiser follows one schedule ``lr_at(step)``."""
    def learning_rates(index: int) -> dict[str, float]:
        lr = lr_at(index)
        for optimizer in optimizers:
            set_learning_rate(optimizer, lr)
        return {"lr": lr}

    return learning_rates


def check_finite(step: int, record: Mapping[str, float], may_be_nan: tuple[str, ...] = ()) -> None:
    """Raise ``FloatingPointError`` when a loss of the step is not finite (``may_be_nan``: losses
    that are NaN on purpose, e.g. for a step that skipped them)."""
    if not all(math.isfinite(v) for k, v in record.items() if not (k in may_be_nan and math.isnan(v))):
        raise FloatingPointError(f"training diverged at step {step} ({record}); lower the learning rate")


def write_state_file(data: dict, path: str | os.PathLike) -> None:
    """Write a training state (tensors, numbers, strings, containers: what ``weights_only`` loading
    admits) through ``<path>.partial`` and an atomic rename, so no half-written file is ever seen."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        torch.save(data, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def read_state_file(path: str | os.PathLike, format_name: str, made_by: str) -> dict:
    """A state file written by :func:`write_state_file` with ``data["format"] == format_name``,
    read with ``weights_only=True`` (nothing in it runs). ``made_by`` names the command that
    writes such files, for the error message."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or data.get("format") != format_name:
        raise ValueError(f"{Path(path).name} is not a GANForge training state (made by {made_by})")
    return data
