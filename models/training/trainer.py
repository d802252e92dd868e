"""The GAN training loop: non-saturating logistic loss, lazy R1, differentiable augmentation, EMA.

StyleGAN2-ADA's recipe, reduced to what small data sets on a CPU need. Everything random comes
from one seeded generator, so a run is repeatable on the same machine. ``on_step`` is called
after every step (progress, previews, interruption: raise from it to stop).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from .augment import augment
from .loop import check_finite, read_state_file, seed_step, write_state_file


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 32
    lr: float = 0.0025
    r1_gamma: float = 0.01
    r1_interval: int = 4
    ema_kimg: float = 2.0  # half-life of the EMA generator, in thousands of images
    augment_p: float = 0.3
    seed: int = 0
    # Mode-seeking term (Mao et al. 2019, MSGAN): pairs with one label but different z must differ.
    # Counters the per-class collapse conditional GANs fall into on small data sets.
    diversity_weight: float = 0.0
    # Steps at the start of a run (counted from step 0) in which only D learns. A fine-tune starts
    # from a trained G and a fresh D: without a head start D never catches up and G learns nothing.
    d_warmup_steps: int = 0


@dataclass
class TrainState:
    """Networks, optimisers and counters: everything a resumed run needs."""

    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: torch.nn.Module
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    step: int = 0
    history: list[dict] = field(default_factory=list)


def new_state(G: torch.nn.Module, D: torch.nn.Module, config: TrainConfig) -> TrainState:
    """Fresh optimisers (Adam, betas 0 / 0.99, R1-lazy corrected as in StyleGAN2) and an EMA copy of G."""
    ratio = config.r1_interval / (config.r1_interval + 1)
    g_optimizer = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(0.0, 0.99), eps=1e-8)
    d_optimizer = torch.optim.Adam(D.parameters(), lr=config.lr * ratio, betas=(0.0, 0.99**ratio), eps=1e-8)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    return TrainState(G.train().requires_grad_(True), D.train().requires_grad_(True), G_ema, g_optimizer, d_optimizer)


def train(state: TrainState, images: torch.Tensor, labels: torch.Tensor | None, config: TrainConfig,
          on_step: Callable[[TrainState, dict], None] | None = None) -> TrainState:
    """Run ``config.steps`` more steps on ``images`` (``[N, C, H, W]`` in [-1, 1]) with one-hot ``labels``."""
    G, D, G_ema = state.G, state.D, state.G_ema
    device = next(G.parameters()).device
    rng = torch.Generator()
    noise_rng = torch.Generator(device=device)  # the synthesis noise, drawn where the network runs
    n = images.shape[0]
    if n < 2:
        raise ValueError(f"training needs at least 2 images, got {n}")
    batch = min(config.batch_size, n)
    beta = 0.5 ** (batch / max(config.ema_kimg * 1000, 1e-8))

    def pick(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(0, n, (count,), generator=rng)
        c = labels[index] if labels is not None else torch.zeros(count, 0)
        return images[index].to(device), c.to(device)

    def latents(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(count, G.z_dim, generator=rng).to(device)
        _, c = pick(count)
        return z, c

    def discriminate(img: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return D(augment(img, config.augment_p, rng), c)

    for _ in range(config.steps):
        # Every step draws from its own seed, so a resumed run continues exactly like an unbroken one.
        seed_step(config.seed, state.step, rng, noise_rng)
        # Discriminator: real vs. (detached) fake, with R1 on the real logits every few steps.
        real, c_real = pick(batch)
        z, c_fake = latents(batch)
        with torch.no_grad():
            fake = G(z, c_fake, noise_mode="random", fused_modconv=False, generator=noise_rng)
        do_r1 = config.r1_gamma > 0 and state.step % config.r1_interval == 0
        real = real.detach().requires_grad_(do_r1)
        real_logits = discriminate(real, c_real)
        loss_D = F.softplus(discriminate(fake, c_fake)).mean() + F.softplus(-real_logits).mean()
        r1 = torch.zeros([], device=device)
        if do_r1:
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            r1 = grad.square().sum(dim=[1, 2, 3]).mean()
            loss_D = loss_D + r1 * (config.r1_gamma / 2) * config.r1_interval
        state.d_optimizer.zero_grad(set_to_none=True)
        loss_D.backward()
        state.d_optimizer.step()

        state.step += 1
        if state.step <= config.d_warmup_steps:
            record = {"step": state.step, "loss_G": float("nan"), "loss_D": loss_D.item(), "r1": r1.item()}
            _finish_step(state, record, on_step)
            continue

        # Generator: fool the discriminator; the mapping network tracks w_avg meanwhile.
        z, c = latents(batch)
        half = batch // 2
        if config.diversity_weight > 0 and half > 0:
            c = torch.cat([c[:half], c[:half], c[2 * half:]])  # pairs (i, i + half) share a label
        fake = G(z, c, noise_mode="random", update_emas=True, fused_modconv=False, generator=noise_rng)
        loss_G = F.softplus(-discriminate(fake, c)).mean()
        if config.diversity_weight > 0 and half > 0:
            spread = (fake[:half] - fake[half:2 * half]).abs().mean() / (z[:half] - z[half:2 * half]).abs().mean()
            loss_G = loss_G + config.diversity_weight / (spread + 1e-5)
        state.g_optimizer.zero_grad(set_to_none=True)
        loss_G.backward()
        state.g_optimizer.step()

        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters(), strict=True):
                p_ema.lerp_(p.detach(), 1 - beta)
            for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
                b_ema.copy_(b)
        record = {"step": state.step, "loss_G": loss_G.item(), "loss_D": loss_D.item(), "r1": r1.item()}
        _finish_step(state, record, on_step)
    return state


def _finish_step(state: TrainState, record: dict, on_step: Callable[[TrainState, dict], None] | None) -> None:
    check_finite(state.step, record, may_be_nan=("loss_G",))  # NaN: a discriminator warm-up step
    state.history.append(record)
    if on_step is not None:
        on_step(state, record)


def one_hot(labels: torch.Tensor, c_dim: int) -> torch.Tensor:
    return F.one_hot(labels.long(), c_dim).to(torch.float32)


def load_training_state(path: str | os.PathLike, config: TrainConfig) -> TrainState:
    """Rebuild a :class:`TrainState` from :func:`save_training_state`'s file (read with weights_only)."""
    from ..stylegan.loader import ARCHITECTURES
    from .discriminator import Discriminator

    data = read_state_file(path, "ganforge-training-1", "`ganforge train`")
    G = ARCHITECTURES[data["architecture"]](**data["G_kwargs"])
    G.architecture = data["architecture"]
    G.load_state_dict(data["G"])
    D = Discriminator(**data["D_kwargs"])
    D.load_state_dict(data["D"])
    state = new_state(G, D, config)
    state.G_ema.load_state_dict(data["G_ema"])
    state.g_optimizer.load_state_dict(data["g_optimizer"])
    state.d_optimizer.load_state_dict(data["d_optimizer"])
    state.step = int(data["step"])
    return state


def save_training_state(state: TrainState, config: TrainConfig, path: str | os.PathLike) -> None:
    """Everything needed to resume, in a file ``torch.load(weights_only=True)`` reads (no code)."""
    data = {
        "format": "ganforge-training-1",
        "architecture": state.G.architecture,
        "G_kwargs": state.G.init_kwargs,
        "D_kwargs": state.D.init_kwargs,
        "G": state.G.state_dict(),
        "D": state.D.state_dict(),
        "G_ema": state.G_ema.state_dict(),
        "g_optimizer": state.g_optimizer.state_dict(),
        "d_optimizer": state.d_optimizer.state_dict(),
        "step": state.step,
        "config": asdict(config),
    }
    write_state_file(data, path)
