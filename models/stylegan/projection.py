"""Projection: find the W (or W+) whose picture reproduces a target image.

The schedule is NVlabs' ``projector.py`` (StyleGAN2-ADA / StyleGAN3): start at the mean W, add
decaying exploration noise scaled by the spread of W, ramp the learning rate up and down with a
cosine, optimise the const noise maps too while pushing them towards white noise, and renormalise
them after every step. The distance between pictures is a parameter: a perceptual network
(:mod:`..perceptual`) or the pixel fallback :func:`multiscale_pixel_distance`.

The generator itself is never changed: the optimised noise lives in a copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (synth, target) in [-1, 1] -> per-image
# Called after each step with (step, steps, loss, the current W+); return nothing, raise to stop.
StepCallback = Callable[[int, int, float, torch.Tensor], None]


@dataclass
class ProjectionConfig:
    """NVlabs' projector defaults; ``w_plus`` optimises one W per layer instead of one for all."""

    steps: int = 1000
    w_plus: bool = False
    initial_learning_rate: float = 0.1
    initial_noise_factor: float = 0.05
    lr_rampdown_length: float = 0.25
    lr_rampup_length: float = 0.05
    noise_ramp_length: float = 0.75
    regularize_noise_weight: float = 1e5
    w_avg_samples: int = 10000
    seed: int = 0


@dataclass
class ProjectionResult:
    ws: torch.Tensor  # [1, num_ws, w_dim], the final latent
    losses: list[float] = field(default_factory=list)  # the distance at every step


def trainable_copy(generator: torch.nn.Module) -> torch.nn.Module:
    """A fresh copy built from ``init_kwargs`` with the weights copied in: ordinary tensors even when
    the original was loaded under ``torch.inference_mode`` (whose tensors cannot join autograd)."""
    device = next(generator.parameters()).device
    copy = type(generator)(**generator.init_kwargs).to(device)
    copy.load_state_dict(generator.state_dict())
    copy.architecture = getattr(generator, "architecture", None)
    return copy


def w_statistics(generator: torch.nn.Module, samples: int, seed: int = 0,
                 c: torch.Tensor | None = None) -> tuple[torch.Tensor, float]:
    """Mean W ``[1, 1, w_dim]`` and NVlabs' scalar spread ``sqrt(sum |w - w_avg|^2 / samples)`` from
    ``samples`` z drawn with ``seed`` (as the projector does: ``RandomState(123)`` by default there)."""
    device = next(generator.parameters()).device
    z = torch.from_numpy(np.random.RandomState(seed).randn(samples, generator.z_dim)).float().to(device)
    if generator.c_dim and c is None:
        raise ValueError("a conditional model needs the class to project into")
    labels = None if not generator.c_dim else c.reshape(1, -1).to(device).expand(samples, -1)
    with torch.no_grad():
        w = torch.cat([generator.mapping(z[i:i + 1000], None if labels is None else labels[i:i + 1000])[:, :1]
                       for i in range(0, samples, 1000)]).float()
    w_avg = w.mean(dim=0, keepdim=True)
    return w_avg, float(((w - w_avg).square().sum() / samples).sqrt())


def noise_regularization(noise_maps: list[torch.Tensor]) -> torch.Tensor:
    """NVlabs' penalty on spatial autocorrelation of the noise maps, over a pyramid down to 8 px."""
    total = torch.zeros([], device=noise_maps[0].device) if noise_maps else torch.zeros([])
    for v in noise_maps:
        v = v[None, None]
        while True:
            total = total + (v * torch.roll(v, shifts=1, dims=3)).mean() ** 2
            total = total + (v * torch.roll(v, shifts=1, dims=2)).mean() ** 2
            if v.shape[2] <= 8:
                break
            v = F.avg_pool2d(v, kernel_size=2)
    return total


def multiscale_pixel_distance(synth: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error summed over an image pyramid (full, 1/2, 1/4, ... down to 8 px): the
    coarse levels pull the overall layout into place before the fine ones matter. Per image."""
    total = torch.zeros(synth.shape[0], device=synth.device)
    while True:
        total = total + (synth - target).square().mean(dim=[1, 2, 3])
        if min(synth.shape[-2:]) < 16:
            return total
        synth, target = F.avg_pool2d(synth, 2), F.avg_pool2d(target, 2)


def learning_rate(t: float, config: ProjectionConfig) -> float:
    """The projector's schedule at progress ``t`` in [0, 1): cosine ramp down, linear ramp up."""
    ramp = min(1.0, (1.0 - t) / config.lr_rampdown_length)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp = ramp * min(1.0, t / config.lr_rampup_length)
    return config.initial_learning_rate * ramp


def project(generator: torch.nn.Module, target: torch.Tensor, distance: Distance,
            config: ProjectionConfig | None = None, c: torch.Tensor | None = None,
            on_step: StepCallback | None = None) -> ProjectionResult:
    """Project one image ``target`` (``[1, C, H, W]`` in [-1, 1], the generator's size) into W or W+.

    Needs gradients: call it outside ``torch.inference_mode``. Deterministic for a given
    ``config.seed`` on one device.
    """
    config = config or ProjectionConfig()
    if target.shape[0] != 1 or target.shape[1:] != (generator.img_channels, generator.img_resolution,
                                                    generator.img_resolution):
        raise ValueError(f"target must be [1, {generator.img_channels}, {generator.img_resolution}, "
                         f"{generator.img_resolution}], got {list(target.shape)}")
    device = next(generator.parameters()).device
    G = trainable_copy(generator).eval().requires_grad_(False).float()
    target = target.to(device, torch.float32)
    w_avg, w_std = w_statistics(G, config.w_avg_samples, 123, c)
    rng = torch.Generator(device=device).manual_seed(config.seed)

    num_ws = G.num_ws
    # W: one vector [1, 1, w_dim] shared by all layers; W+: one per layer. Either expands to W+.
    w_opt = (w_avg.repeat(1, num_ws, 1) if config.w_plus else w_avg).detach().clone().requires_grad_(True)
    noise_maps = [buf for name, buf in G.synthesis.named_buffers() if "noise_const" in name]
    for buf in noise_maps:
        buf.copy_(torch.randn(buf.shape, device=device, generator=rng))
        buf.requires_grad_(True)
    optimizer = torch.optim.Adam([w_opt, *noise_maps], betas=(0.9, 0.999), lr=config.initial_learning_rate)

    losses: list[float] = []
    for step in range(config.steps):
        t = step / config.steps
        noise_scale = w_std * config.initial_noise_factor * max(0.0, 1.0 - t / config.noise_ramp_length) ** 2
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(t, config)
        w_noise = torch.randn(w_opt.shape, device=device, generator=rng) * noise_scale
        synth = G.synthesis((w_opt + w_noise).expand(-1, num_ws, -1), noise_mode="const")
        dist = distance(synth, target).sum()
        loss = dist + noise_regularization(noise_maps) * config.regularize_noise_weight
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for buf in noise_maps:
                buf -= buf.mean()
                buf *= buf.square().mean().rsqrt()
        losses.append(float(dist.detach()))
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"projection diverged at step {step + 1}; lower the learning rate")
        if on_step is not None:
            on_step(step + 1, config.steps, losses[-1], w_opt.detach().expand(-1, num_ws, -1).clone())
    return ProjectionResult(w_opt.detach().expand(-1, num_ws, -1).clone(), losses)
