"""SR3 ("Image Super-Resolution via Iterative Refinement"), as in the public PyTorch
reimplementation (Janspiry): its UNet with the same parameter names, its noise schedules, its
DDPM sampler, and a few-step DDIM sampler.

The network predicts the noise in ``x_t`` given the bicubic-enlarged low-resolution picture
(concatenated on channels) and the continuous noise level ``sqrt(alpha_bar)``. Pictures are in
[-1, 1]. Checkpoints (``*_gen.pth``) hold ``denoise_fn.<unet names>`` and the schedule's buffers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class NoiseLevelEncoding(nn.Module):
    """Sinusoidal encoding of the continuous noise level (WaveGrad's), ``dim`` features."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, noise_level: torch.Tensor) -> torch.Tensor:
        count = self.dim // 2
        step = torch.arange(count, dtype=noise_level.dtype, device=noise_level.device) / count
        encoding = noise_level[:, None] * torch.exp(-math.log(1e4) * step[None])
        return torch.cat([torch.sin(encoding), torch.cos(encoding)], dim=-1)


class Swish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x)


class FeatureWiseAffine(nn.Module):
    """Adds (or, with ``use_affine_level``, scales and shifts by) a projection of the noise embedding."""

    def __init__(self, in_channels: int, out_channels: int, use_affine_level: bool = False) -> None:
        super().__init__()
        self.use_affine_level = use_affine_level
        self.noise_func = nn.Sequential(nn.Linear(in_channels, out_channels * (1 + use_affine_level)))

    def forward(self, x: torch.Tensor, noise_embed: torch.Tensor) -> torch.Tensor:
        projected = self.noise_func(noise_embed).view(x.shape[0], -1, 1, 1)
        if self.use_affine_level:
            gamma, beta = projected.chunk(2, dim=1)
            return (1 + gamma) * x + beta
        return x + projected


class Block(nn.Module):
    """GroupNorm, swish, (dropout), 3x3 conv. ``block.3`` is the conv, as in the original."""

    def __init__(self, dim: int, dim_out: int, groups: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.GroupNorm(groups, dim), Swish(),
                                   nn.Dropout(dropout) if dropout else nn.Identity(),
                                   nn.Conv2d(dim, dim_out, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, dim_out: int, noise_level_emb_dim: int, dropout: float = 0.0,
                 use_affine_level: bool = False, norm_groups: int = 32) -> None:
        super().__init__()
        self.noise_func = FeatureWiseAffine(noise_level_emb_dim, dim_out, use_affine_level)
        self.block1 = Block(dim, dim_out, groups=norm_groups)
        self.block2 = Block(dim_out, dim_out, groups=norm_groups, dropout=dropout)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x: torch.Tensor, noise_embed: torch.Tensor) -> torch.Tensor:
        h = self.block2(self.noise_func(self.block1(x), noise_embed))
        return h + self.res_conv(x)


class SelfAttention(nn.Module):
    """One-head self-attention over all positions (scaled by 1/sqrt(channels)), residual."""

    def __init__(self, in_channel: int, norm_groups: int = 32) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(norm_groups, in_channel)
        self.qkv = nn.Conv2d(in_channel, in_channel * 3, 1, bias=False)
        self.out = nn.Conv2d(in_channel, in_channel, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        query, key, value = self.qkv(self.norm(x)).reshape(batch, 3, channels, height * width).unbind(1)
        attended = F.scaled_dot_product_attention(query.transpose(1, 2), key.transpose(1, 2),
                                                  value.transpose(1, 2))
        return self.out(attended.transpose(1, 2).reshape(batch, channels, height, width)) + x


class ResnetBlocWithAttn(nn.Module):  # sic: the original's class name, kept for recognisability
    def __init__(self, dim: int, dim_out: int, *, noise_level_emb_dim: int, norm_groups: int = 32,
                 dropout: float = 0.0, with_attn: bool = False, use_affine_level: bool = False) -> None:
        super().__init__()
        self.res_block = ResnetBlock(dim, dim_out, noise_level_emb_dim, dropout=dropout,
                                     use_affine_level=use_affine_level, norm_groups=norm_groups)
        self.attn = SelfAttention(dim_out, norm_groups=norm_groups) if with_attn else None

    def forward(self, x: torch.Tensor, noise_embed: torch.Tensor) -> torch.Tensor:
        x = self.res_block(x, noise_embed)
        return self.attn(x) if self.attn is not None else x


class Resample(nn.Module):
    """A stride-2 3x3 conv (down) or nearest x2 then a 3x3 conv (up); parameters under ``conv``."""

    def __init__(self, dim: int, up: bool) -> None:
        super().__init__()
        self.up = up
        self.conv = nn.Conv2d(dim, dim, 3, 1 if up else 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest") if self.up else x)


class SR3UNet(nn.Module):
    """The SR3 UNet. ``attn_levels`` lists the levels (0 = full resolution) whose blocks attend;
    the original expresses that as resolutions relative to ``image_size``."""

    def __init__(self, in_channel: int = 6, out_channel: int = 3, inner_channel: int = 64, norm_groups: int = 32,
                 channel_mults: Sequence[int] = (1, 2, 4, 8, 8), attn_levels: Sequence[int] = (3,),
                 res_blocks: int = 2, dropout: float = 0.0, use_affine_level: bool = False) -> None:
        super().__init__()
        self.in_channel, self.out_channel = in_channel, out_channel
        self.levels = len(channel_mults)
        emb = inner_channel
        self.noise_level_mlp = nn.Sequential(NoiseLevelEncoding(inner_channel), nn.Linear(inner_channel, emb * 4),
                                             Swish(), nn.Linear(emb * 4, emb))
        block = dict(noise_level_emb_dim=emb, norm_groups=norm_groups, dropout=dropout,
                     use_affine_level=use_affine_level)
        pre = inner_channel
        skips = [pre]
        downs: list[nn.Module] = [nn.Conv2d(in_channel, inner_channel, 3, padding=1)]
        for level, mult in enumerate(channel_mults):
            for _ in range(res_blocks):
                downs.append(ResnetBlocWithAttn(pre, inner_channel * mult, with_attn=level in attn_levels, **block))
                pre = inner_channel * mult
                skips.append(pre)
            if level != self.levels - 1:
                downs.append(Resample(pre, up=False))
                skips.append(pre)
        self.downs = nn.ModuleList(downs)
        self.mid = nn.ModuleList([ResnetBlocWithAttn(pre, pre, with_attn=True, **block),
                                  ResnetBlocWithAttn(pre, pre, with_attn=False, **block)])
        ups: list[nn.Module] = []
        for level in reversed(range(self.levels)):
            for _ in range(res_blocks + 1):
                ups.append(ResnetBlocWithAttn(pre + skips.pop(), inner_channel * channel_mults[level],
                                              with_attn=level in attn_levels, **block))
                pre = inner_channel * channel_mults[level]
            if level != 0:
                ups.append(Resample(pre, up=True))
        self.ups = nn.ModuleList(ups)
        self.final_conv = Block(pre, out_channel, groups=norm_groups)

    @property
    def size_multiple(self) -> int:
        return 2 ** (self.levels - 1)

    def forward(self, x: torch.Tensor, noise_level: torch.Tensor) -> torch.Tensor:
        t = self.noise_level_mlp(noise_level.reshape(-1).to(x.dtype))
        feats = []
        for layer in self.downs:
            x = layer(x, t) if isinstance(layer, ResnetBlocWithAttn) else layer(x)
            feats.append(x)
        for layer in self.mid:
            x = layer(x, t)
        for layer in self.ups:
            x = layer(torch.cat((x, feats.pop()), dim=1), t) if isinstance(layer, ResnetBlocWithAttn) else layer(x)
        return self.final_conv(x)


# ---------------------------------------------------------------------------------------------
# the noise schedule and the samplers

def make_betas(schedule: str = "linear", n_timestep: int = 2000, linear_start: float = 1e-6,
               linear_end: float = 1e-2, cosine_s: float = 8e-3) -> np.ndarray:
    """The original's ``make_beta_schedule`` (float64)."""
    if schedule == "linear":
        return np.linspace(linear_start, linear_end, n_timestep, dtype=np.float64)
    if schedule == "quad":
        return np.linspace(linear_start ** 0.5, linear_end ** 0.5, n_timestep, dtype=np.float64) ** 2
    if schedule in ("warmup10", "warmup50"):
        betas = linear_end * np.ones(n_timestep, dtype=np.float64)
        warm = int(n_timestep * (0.1 if schedule == "warmup10" else 0.5))
        betas[:warm] = np.linspace(linear_start, linear_end, warm, dtype=np.float64)
        return betas
    if schedule == "const":
        return linear_end * np.ones(n_timestep, dtype=np.float64)
    if schedule == "jsd":
        return 1.0 / np.linspace(n_timestep, 1, n_timestep, dtype=np.float64)
    if schedule == "cosine":
        steps = np.arange(n_timestep + 1, dtype=np.float64) / n_timestep + cosine_s
        alphas = np.cos(steps / (1 + cosine_s) * math.pi / 2) ** 2
        alphas = alphas / alphas[0]
        return np.minimum(1 - alphas[1:] / alphas[:-1], 0.999)
    raise ValueError(f"unknown beta schedule {schedule!r} (linear, quad, warmup10, warmup50, const, jsd, cosine)")


@dataclass
class NoiseSchedule:
    """The discrete schedule, float64 on the CPU; indices are timesteps 0..T-1."""

    betas: np.ndarray

    def __post_init__(self) -> None:
        self.betas = np.asarray(self.betas, dtype=np.float64)
        self.alphas_cumprod = np.cumprod(1.0 - self.betas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        variance = self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_log_variance_clipped = np.log(np.maximum(variance, 1e-20))
        self.posterior_mean_coef1 = self.betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = ((1.0 - self.alphas_cumprod_prev) * np.sqrt(1.0 - self.betas)
                                     / (1.0 - self.alphas_cumprod))

    @property
    def num_timesteps(self) -> int:
        return len(self.betas)

    def noise_level(self, t: int) -> float:
        """What the network is told at timestep t: ``sqrt(alpha_bar_t)``."""
        return float(np.sqrt(self.alphas_cumprod[t]))


Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepCallback = Callable[[int, int, torch.Tensor], None]  # (step, total, current x0 estimate)


def _predict_start(denoise: Denoiser, condition: torch.Tensor, x: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    level = torch.full((x.shape[0],), math.sqrt(alpha_bar), device=x.device, dtype=torch.float32)
    noise = denoise(torch.cat([condition, x], dim=1), level).to(x.dtype)
    return (math.sqrt(1.0 / alpha_bar) * x - math.sqrt(1.0 / alpha_bar - 1) * noise).clamp_(-1.0, 1.0)


def sample_ddpm(denoise: Denoiser, condition: torch.Tensor, schedule: NoiseSchedule,
                generator: torch.Generator | None = None, on_step: StepCallback | None = None) -> torch.Tensor:
    """The original's ancestral sampler over every timestep (its ``p_sample_loop``), with the
    random numbers drawn in its order: the start, then one draw per step except the last."""
    x = torch.randn(condition.shape[0], _out_channels(denoise, condition), *condition.shape[2:],
                    generator=generator, device=condition.device, dtype=condition.dtype)
    total = schedule.num_timesteps
    for step, t in enumerate(reversed(range(total)), start=1):
        x0 = _predict_start(denoise, condition, x, schedule.alphas_cumprod[t])
        mean = schedule.posterior_mean_coef1[t] * x0 + schedule.posterior_mean_coef2[t] * x
        if t > 0:
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = mean + noise * math.exp(0.5 * schedule.posterior_log_variance_clipped[t])
        else:
            x = mean
        if on_step is not None:
            on_step(step, total, x0)
    return x


def ddim_timesteps(total: int, steps: int) -> list[int]:
    """``steps`` timesteps from T-1 down to 0, evenly spaced (both ends included)."""
    steps = max(1, min(steps, total))
    if steps == 1:
        return [total - 1]
    return sorted({round(i * (total - 1) / (steps - 1)) for i in range(steps)}, reverse=True)


def sample_ddim(denoise: Denoiser, condition: torch.Tensor, schedule: NoiseSchedule, steps: int = 50,
                eta: float = 0.0, generator: torch.Generator | None = None,
                on_step: StepCallback | None = None) -> torch.Tensor:
    """DDIM (Song et al.) on the same network: ``steps`` evaluations instead of T. ``eta`` 0 is
    deterministic given the starting noise; 1 approaches the ancestral sampler's noise."""
    x = torch.randn(condition.shape[0], _out_channels(denoise, condition), *condition.shape[2:],
                    generator=generator, device=condition.device, dtype=condition.dtype)
    timesteps = ddim_timesteps(schedule.num_timesteps, steps)
    for step, t in enumerate(timesteps, start=1):
        alpha_bar = schedule.alphas_cumprod[t]
        alpha_prev = schedule.alphas_cumprod[timesteps[step]] if step < len(timesteps) else 1.0
        x0 = _predict_start(denoise, condition, x, alpha_bar)
        eps = (x - math.sqrt(alpha_bar) * x0) / math.sqrt(1.0 - alpha_bar)
        sigma = eta * math.sqrt((1 - alpha_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_prev))
        x = math.sqrt(alpha_prev) * x0 + math.sqrt(max(1 - alpha_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0 and step < len(timesteps):
            x = x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        if on_step is not None:
            on_step(step, len(timesteps), x0)
    return x


def _out_channels(denoise: Denoiser, condition: torch.Tensor) -> int:
    return getattr(denoise, "out_channel", condition.shape[1])
