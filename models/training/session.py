"""One training run from files to files: what ``ganforge train`` and the Train node call.

Reads the data (a folder, or the built-in digits), builds or restores the networks, trains with
progress reports, and writes the EMA generator (GANForge .safetensors) plus a resumable state
next to it. Never replaces an existing file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..checkpoint import CheckpointError
from ..dcgan import Generator as DCGANGenerator
from ..stylegan import load_stylegan, save_stylegan
from ..stylegan.stylegan2 import Generator
from .data import digits, image_folder
from .discriminator import Discriminator
from .trainer import TrainConfig, TrainState, load_training_state, new_state, one_hot, save_training_state, train


class TrainingError(ValueError):
    """A run that cannot start: bad data, an unusable resume or fine-tune file, an existing output."""


def small_stylegan2_kwargs(resolution: int, channels: int, c_dim: int) -> dict:
    """A StyleGAN2 sized for CPU training at small resolutions (64 channels at most)."""
    return dict(z_dim=64, c_dim=c_dim, w_dim=128, img_resolution=resolution, img_channels=channels,
                mapping_kwargs={"num_layers": 2}, channel_base=32 * resolution, channel_max=64, num_fp16_res=0,
                conv_clamp=None, architecture="skip")


def load_data(data: str | torch.Tensor, resolution: int, channels: int
              ) -> tuple[torch.Tensor, torch.Tensor | None, list[str]]:
    """Images in [-1, 1] NCHW, one-hot labels (digits only) and notices. ``data`` is a folder, the
    name of the built-in digits, or an NCHW tensor already in [-1, 1]."""
    if isinstance(data, torch.Tensor):
        notices = []
        if data.shape[-2:] != (resolution, resolution):
            notices.append(f"the {tuple(data.shape[-2:])} pictures were resized to {resolution}px")
            data = torch.nn.functional.interpolate(data, size=(resolution, resolution), mode="area")
        return data.float(), None, notices
    if data in ("digits", "digits-bold"):
        images, labels = digits(resolution, "bold" if data == "digits-bold" else "plain")
        if channels == 3:
            images = images.expand(-1, 3, -1, -1)
        return images, one_hot(labels, 10), []
    try:
        images, notices = image_folder(data, resolution, channels)
    except ValueError as error:
        raise TrainingError(str(error)) from None
    return images, None, notices


def run_training(data: str | torch.Tensor, out: Path, resolution: int = 32, steps: int = 2000, batch: int = 32,
                 seed: int = 0, channels: int = 3, resume: str | None = None, finetune: str | None = None,
                 report: Callable[[str], None] = print,
                 on_step: Callable[[TrainState, dict], None] | None = None, state_path: Path | None = None,
                 diversity_weight: float = 0.0, architecture: str = "stylegan2",
                 d_warmup_steps: int | None = None) -> dict:
    """Train and write ``out`` and the resumable state (default ``out.training.pt``); returns facts.

    ``d_warmup_steps`` (steps in which only the discriminator learns) defaults to 0, or to 20% of
    the steps for a fine-tune, whose fresh discriminator must first learn what is new in the data."""
    out = Path(out)
    state_path = Path(state_path) if state_path else out.with_name(out.stem + ".training.pt")
    for path in (out, state_path):
        if path.exists():
            raise TrainingError(f"{path} exists and is never replaced; choose another output name")
    if resolution < 8 or resolution & (resolution - 1):
        raise TrainingError(f"resolution must be a power of two of at least 8, not {resolution}")
    images, labels, notices = load_data(data, resolution, channels)
    for notice in notices:
        report(f"notice: {notice}")
    if images.shape[0] < 2:
        raise TrainingError(f"the data holds {images.shape[0]} usable picture(s); training needs at least 2")
    if images.shape[0] < batch:
        report(f"notice: {images.shape[0]} pictures, fewer than the batch of {batch}: the batch is reduced")
    c_dim = 0 if labels is None else labels.shape[1]
    if d_warmup_steps is None:
        d_warmup_steps = steps // 5 if finetune else 0
    config = TrainConfig(steps=steps, batch_size=batch, seed=seed, diversity_weight=diversity_weight,
                         d_warmup_steps=d_warmup_steps)
    torch.manual_seed(seed)
    kwargs = small_stylegan2_kwargs(resolution, images.shape[1], c_dim)
    if resume:
        try:
            state = load_training_state(resume, config)
        except (ValueError, RuntimeError, OSError) as error:
            raise TrainingError(f"cannot resume from {resume}: {error}") from None
        shape = (state.G.img_resolution, state.G.img_channels, state.G.c_dim)
        if shape != (resolution, images.shape[1], c_dim):
            raise TrainingError(f"{resume} trains {shape[0]}px, {shape[1]} channel(s), {shape[2]} classes; the "
                                f"data is {resolution}px, {images.shape[1]} channel(s), {c_dim} classes")
    else:
        if architecture == "dcgan":
            G = DCGANGenerator(z_dim=64, c_dim=c_dim, img_resolution=resolution, img_channels=images.shape[1])
        elif architecture == "stylegan2":
            G = Generator(**kwargs)
        else:
            raise TrainingError(f"unknown architecture {architecture!r} (stylegan2 or dcgan)")
        G.architecture = architecture
        if finetune:
            try:
                parent = load_stylegan(finetune)
                G = type(parent)(**parent.init_kwargs)
                G.load_state_dict(parent.state_dict())
            except (CheckpointError, RuntimeError, TypeError) as error:
                raise TrainingError(f"cannot fine-tune from {finetune}: {error}") from None
            G.architecture = parent.architecture
            if (G.img_resolution, G.img_channels, G.c_dim) != (resolution, images.shape[1], c_dim):
                raise TrainingError(f"{finetune} is {G.img_resolution}px with {G.img_channels} channel(s) and "
                                    f"{G.c_dim} classes; the data is {resolution}px, {images.shape[1]}, {c_dim}")
        D = Discriminator(resolution, images.shape[1], c_dim, channel_base=32 * resolution, channel_max=64)
        state = new_state(G, D, config)
    started = time.perf_counter()

    def step_report(state: TrainState, record: dict) -> None:
        if record["step"] % 100 == 0:
            report(f"step {record['step']}: loss_G {record['loss_G']:.3f}, loss_D {record['loss_D']:.3f}")
        if on_step is not None:
            on_step(state, record)

    train(state, images, labels, config, on_step=step_report)
    seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    save_stylegan(state.G_ema, out)
    save_training_state(state, config, state_path)
    return {"out": str(out), "state": str(state_path), "steps": state.step, "seconds": round(seconds, 1),
            "images_per_second": round(steps * config.batch_size / max(seconds, 1e-9), 1)}
