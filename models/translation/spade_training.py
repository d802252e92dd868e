"""Training a SPADE generator on (label map, picture) pairs, with the NVlabs/SPADE recipe.

The generator's residual-block convolutions are spectral-normed while training (``norm_G =
spectralspadesyncbatch3x3``; folded into plain weights when saved, as the loader folds released
files), its SPADE norms use batch statistics. The discriminator is SPADE's multi-scale PatchGAN
(two scales, each four 4x4 convolutions with spectral norm and instance norm) judging the label
map and the picture together. Losses: hinge GAN loss and discriminator feature matching (x10).
Adam with betas (0, 0.9) and the two time-scale rule (generator lr / 2, discriminator lr x 2).
Left out: the VGG perceptual loss of the original (x10; it needs VGG19 weights that nothing here
downloads) and the VAE variant's style encoder (training it adds the encoder and a KL term; the
label map alone decides the picture here).

The loop is the project's resumable GAN loop (:func:`~..training.loop.gan_steps`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ..training.loop import gan_steps, set_learning_rate
from .spade import SPADEGenerator

STATE_FORMAT = "ganforge-spade-training-1"


@dataclass
class SpadeConfig:
    """The original's defaults (``options/train_options.py``), VGG loss aside."""

    steps: int = 200
    batch_size: int = 1
    lr: float = 2e-4  # the generator trains at lr / 2, the discriminator at lr * 2 (TTUR)
    beta1: float = 0.0
    beta2: float = 0.9
    lambda_feat: float = 10.0
    seed: int = 0


class PatchDiscriminator(nn.Module):
    """One scale of SPADE's discriminator; returns every layer's output (for feature matching)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(input_nc, ndf, 4, 2, 2), nn.LeakyReLU(0.2))]
        width = ndf
        for n in range(1, n_layers):
            previous, width = width, min(width * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            layers.append(nn.Sequential(spectral_norm(nn.Conv2d(previous, width, 4, stride, 2, bias=False)),
                                        nn.InstanceNorm2d(width, affine=False), nn.LeakyReLU(0.2)))
        layers.append(nn.Sequential(nn.Conv2d(width, 1, 4, 1, 2)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs


class MultiscaleDiscriminator(nn.Module):
    """PatchGANs on the input and on copies downsampled by 3x3 average pooling (stride 2)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, num_d: int = 2) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(input_nc, ndf, n_layers) for _ in range(num_d))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for index, scale in enumerate(self.scales):
            if index:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            results.append(scale(x))
        return results


def hinge_discriminator_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Mean over scales of mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))."""
    terms = [F.relu(1 - r[-1]).mean() + F.relu(1 + f[-1]).mean() for r, f in zip(real, fake, strict=True)]
    return sum(terms) / len(terms)


def hinge_generator_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Mean over scales of -mean(D(fake))."""
    return sum(-f[-1].mean() for f in fake) / len(fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 between the discriminator's intermediate features of real and generated pictures,
    averaged over scales."""
    total = sum(F.l1_loss(f, r.detach()) for rs, fs in zip(real, fake, strict=True)
                for r, f in zip(rs[:-1], fs[:-1], strict=True))
    return total / len(real)


def spectral_generator(kwargs: dict) -> SPADEGenerator:
    """A fresh generator whose residual-block convolutions are spectral-normed (as trained)."""
    generator = SPADEGenerator(**kwargs)
    for name in generator.spectral_modules:
        parent, _, child = name.rpartition(".")
        module = generator.get_submodule(parent)
        setattr(module, child, spectral_norm(getattr(module, child)))
    return generator


def folded_state(generator: SPADEGenerator, kwargs: dict) -> dict[str, torch.Tensor]:
    """The state of a generator built by :func:`spectral_generator` from ``kwargs``, with spectral
    norm folded into plain weights (the current σ, as in eval mode): what a plain
    :class:`SPADEGenerator` loads."""
    copy = SPADEGenerator(**kwargs)
    state = {}
    with torch.no_grad():
        for name, module in generator.named_modules():
            if parametrize.is_parametrized(module, "weight"):
                training = module.training
                module.eval()  # no power iteration: σ from the stored vectors
                state[f"{name}.weight"] = module.weight.detach().clone()
                module.train(training)
        for key, value in generator.state_dict().items():
            if ".parametrizations." not in key:
                state[key] = value.detach().clone()
    copy.load_state_dict(state)
    return copy.state_dict()


@dataclass
class SpadeState:
    kwargs: dict  # the generator's constructor arguments
    generator: SPADEGenerator  # spectral-normed while training
    discriminator: MultiscaleDiscriminator
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    d_kwargs: dict
    step: int = 0
    history: list[dict] = field(default_factory=list)


def new_spade_state(kwargs: dict, d_kwargs: dict, config: SpadeConfig,
                    device: torch.device | str | None = None) -> SpadeState:
    """Fresh networks (SPADE's xavier init, gain 0.02), from ``config.seed``, without touching the
    global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = _init(spectral_generator(kwargs))
        discriminator = _init(MultiscaleDiscriminator(**d_kwargs))
    return _assemble(kwargs, generator.to(device), discriminator.to(device), d_kwargs, config)


def _init(network: nn.Module, gain: float = 0.02) -> nn.Module:
    """The original's ``init_type='xavier'``: conv / linear weights xavier-normal (gain 0.02), biases 0."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            weight = module.parametrizations.weight.original if parametrize.is_parametrized(module, "weight") \
                else module.weight
            nn.init.xavier_normal_(weight, gain=gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return network


def _assemble(kwargs: dict, generator: nn.Module, discriminator: nn.Module, d_kwargs: dict,
              config: SpadeConfig) -> SpadeState:
    betas = (config.beta1, config.beta2)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=config.lr / 2, betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.lr * 2, betas=betas)
    generator.train().requires_grad_(True)
    discriminator.train().requires_grad_(True)
    return SpadeState(dict(kwargs), generator, discriminator, g_optimizer, d_optimizer, d_kwargs)


def spade_step(state: SpadeState, semantics: torch.Tensor, real: torch.Tensor, config: SpadeConfig) -> dict:
    """One generator update, then one discriminator update, as SPADE's ``Pix2PixTrainer``."""
    generator, discriminator = state.generator, state.discriminator
    discriminator.requires_grad_(False)
    state.g_optimizer.zero_grad(set_to_none=True)
    fake = generator(semantics)
    judged = discriminator(torch.cat([torch.cat([semantics, fake], 1), torch.cat([semantics, real], 1)]))
    fake_out = [[t[: len(real)] for t in scale] for scale in judged]
    real_out = [[t[len(real):] for t in scale] for scale in judged]
    g_gan = hinge_generator_loss(fake_out)
    g_feat = feature_matching_loss(real_out, fake_out) * config.lambda_feat
    (g_gan + g_feat).backward()
    state.g_optimizer.step()

    discriminator.requires_grad_(True)
    state.d_optimizer.zero_grad(set_to_none=True)
    with torch.no_grad():
        fake = generator(semantics)
    judged = discriminator(torch.cat([torch.cat([semantics, fake], 1), torch.cat([semantics, real], 1)]))
    d_loss = hinge_discriminator_loss([[t[len(real):] for t in s] for s in judged],
                                      [[t[: len(real)] for t in s] for s in judged])
    d_loss.backward()
    state.d_optimizer.step()
    return {"G_GAN": g_gan.item(), "G_feat": g_feat.item(), "D": d_loss.item()}


def train_spade(state: SpadeState, sample: Callable[[torch.Generator, int], tuple[torch.Tensor, torch.Tensor]],
                config: SpadeConfig, until: int | None = None,
                on_step: Callable[[SpadeState, dict], None] | None = None) -> SpadeState:
    """Train up to ``until`` steps; ``sample(rng, count)`` draws (semantics, pictures) batches."""
    until = config.steps if until is None else until
    device = next(state.generator.parameters()).device

    def learning_rates(index: int) -> dict[str, float]:
        set_learning_rate(state.g_optimizer, config.lr / 2)
        set_learning_rate(state.d_optimizer, config.lr * 2)
        return {"lr": config.lr}

    def step(rng: torch.Generator) -> dict:
        semantics, real = (x.to(device) for x in sample(rng, config.batch_size))
        return spade_step(state, semantics, real, config)

    gan_steps(state, until, config.seed, device, step, learning_rates, on_step)
    return state


def spade_state_dict(state: SpadeState, config: SpadeConfig) -> dict:
    """Everything needed to resume (for :func:`~..training.loop.write_state_file`)."""
    return {"format": STATE_FORMAT, "kwargs": state.kwargs, "d_kwargs": state.d_kwargs,
            "generator": state.generator.state_dict(), "discriminator": state.discriminator.state_dict(),
            "g_optimizer": state.g_optimizer.state_dict(), "d_optimizer": state.d_optimizer.state_dict(),
            "step": state.step, "config": asdict(config)}


def restore_spade_state(data: dict, device: torch.device | str | None = None) -> tuple[SpadeState, SpadeConfig]:
    config = SpadeConfig(**data["config"])
    with torch.random.fork_rng(devices=[]):
        generator = spectral_generator(data["kwargs"])
        discriminator = MultiscaleDiscriminator(**data["d_kwargs"])
    generator.load_state_dict(data["generator"])
    discriminator.load_state_dict(data["discriminator"])
    state = _assemble(data["kwargs"], generator.to(device), discriminator.to(device), data["d_kwargs"], config)
    state.g_optimizer.load_state_dict(data["g_optimizer"])
    state.d_optimizer.load_state_dict(data["d_optimizer"])
    state.step = int(data["step"])
    return state, config


__all__ = ["MultiscaleDiscriminator", "SpadeConfig", "SpadeState", "feature_matching_loss", "folded_state",
           "hinge_discriminator_loss", "hinge_generator_loss", "new_spade_state", "restore_spade_state",
           "spade_state_dict", "spade_step", "spectral_generator", "train_spade"]
