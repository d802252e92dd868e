"""CLIP guidance: push a generator's latent so that CLIP's view of the picture moves towards
weighted prompts. One guide (:class:`ClipGuide`) serves every generator; a *parametrisation*
says what is optimised and how it becomes a picture:

* :class:`VQGANLatent`: VQGAN's continuous latent ``z``, quantised straight-through to the
  nearest codebook vectors before decoding and clamped to the codebook's range after each step
  (the VQGAN-CLIP recipe);
* :class:`StyleGANLatent`: a StyleGAN W or W+ latent (CLIP-guided StyleGAN).

Losses: the prompts' spherical distances (:func:`.prompts.prompt_loss`), optionally total
variation (smoothness) and the distance of the latent from where it started ("init weight").
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..vqgan.vqmodel import nearest_codes, straight_through
from .clip import ClipModel
from .cutouts import Cutouts, clamp_with_grad
from .prompts import prompt_loss
from .targets import Targets

# torch's optimisers that work with a plain step() on dense tensors of any shape
_EXCLUDED = {"Optimizer", "LBFGS", "SparseAdam", "Muon"}
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    name: cls for name, cls in vars(torch.optim).items()
    if inspect.isclass(cls) and issubclass(cls, torch.optim.Optimizer) and name not in _EXCLUDED}
DEFAULT_OPTIMIZER = "Adam"


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Isotropic total variation of NCHW pictures (mean over pixels of the gradient's length)."""
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2) + 1e-8).mean(1).sqrt().mean()


class ClipGuide:
    """CLIP plus cutouts: ``loss(pictures, targets)`` for NCHW pictures in 0..1."""

    def __init__(self, clip: ClipModel, cutouts: Cutouts) -> None:
        self.clip, self.cutouts = clip, cutouts

    def embed_views(self, picture: torch.Tensor) -> torch.Tensor:
        """[1, C, H, W] -> CLIP embeddings of its cutouts [cutn, D]."""
        return self.clip.encode_image(self.cutouts(picture))

    def loss(self, pictures: torch.Tensor, targets: Targets) -> torch.Tensor:
        views = torch.cat([self.cutouts(p[None]) for p in pictures])
        embeds = self.clip.encode_image(views).view(pictures.shape[0], -1, targets.embeds.shape[1])
        return sum(prompt_loss(e, targets.embeds, targets.weights, targets.stops) for e in embeds)


class VQGANLatent:
    """VQGAN-CLIP's parametrisation: ``z`` [N, embed_dim, h, w] in the VQGAN's latent space."""

    def __init__(self, vqgan: torch.nn.Module, z: torch.Tensor) -> None:
        self.vqgan = vqgan
        self.start = z.detach().clone()
        self.z = z.detach().clone().requires_grad_(True)
        codebook = vqgan.codebook.detach()
        self.low = codebook.min(0).values.view(1, -1, 1, 1).to(z)
        self.high = codebook.max(0).values.view(1, -1, 1, 1).to(z)

    def parameters(self) -> list[torch.Tensor]:
        return [self.z]

    def render(self) -> torch.Tensor:
        codebook = self.vqgan.codebook
        z_q = straight_through(self.z, codebook[nearest_codes(self.z, codebook)].movedim(-1, 1))
        return clamp_with_grad(self.vqgan.decode(z_q).add(1).div(2))

    def after_step(self) -> None:
        with torch.no_grad():
            self.z.copy_(self.z.clamp(self.low, self.high))

    def drift(self) -> torch.Tensor:
        return F.mse_loss(self.z, self.start)


class StyleGANLatent:
    """CLIP-guided StyleGAN: ``w`` [N, num_ws, w_dim] (W+), or [N, 1, w_dim] broadcast to every
    layer (W) when ``per_layer`` is False."""

    def __init__(self, generator: torch.nn.Module, w: torch.Tensor, per_layer: bool = True,
                 noise_mode: str = "const") -> None:
        self.generator, self.noise_mode, self.num_ws = generator, noise_mode, w.shape[1]
        start = w if per_layer else w[:, :1]
        self.start = start.detach().clone()
        self.w = start.detach().clone().requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        return [self.w]

    def ws(self) -> torch.Tensor:
        return self.w.expand(-1, self.num_ws, -1) if self.w.shape[1] == 1 else self.w

    def render(self) -> torch.Tensor:
        image = self.generator.synthesis(self.ws(), noise_mode=self.noise_mode)
        return clamp_with_grad(image.float().add(1).div(2))

    def after_step(self) -> None:
        pass

    def drift(self) -> torch.Tensor:
        return F.mse_loss(self.w, self.start)


StepCallback = Callable[[int, int, float, Callable[[], torch.Tensor]], None]


@dataclass
class GuidanceResult:
    image: torch.Tensor  # [N, C, H, W] 0..1, the final render
    frames: list[torch.Tensor]  # every keep_every-th render (each [N, C, H, W])
    losses: list[float]  # the prompt loss per iteration
    latent: torch.Tensor  # the final z / w


def make_optimizer(name: str, parameters: Sequence[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](parameters, lr=lr)


def guide(latent: VQGANLatent | StyleGANLatent, clip_guide: ClipGuide, targets: Targets, *, iterations: int = 100,
          optimizer: str = DEFAULT_OPTIMIZER, lr: float = 0.1, tv_weight: float = 0.0, init_weight: float = 0.0,
          seed: int = 0, keep_every: int = 0, on_step: StepCallback | None = None) -> GuidanceResult:
    """Run ``iterations`` optimiser steps. Deterministic for a seed on a given device (cutout and
    augmentation randomness is drawn from a forked, seeded generator: the caller's is untouched).

    ``on_step(i, iterations, loss, render)`` is called after each step; ``render()`` gives the
    current picture without gradients (call it only when a preview is wanted). Raise from it to stop.
    """
    if len(targets) == 0:
        raise ValueError("there is nothing to guide towards: give at least one text, image or noise prompt")
    if not (targets.weights != 0).any():
        raise ValueError("every prompt weight is 0, so nothing would change: give a prompt a non-zero weight")
    device = latent.parameters()[0].device
    frames, losses = [], []
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode(False), torch.enable_grad():
        targets = targets.to(device)
        torch.manual_seed(seed)
        opt = make_optimizer(optimizer, latent.parameters(), lr)

        def render() -> torch.Tensor:
            with torch.no_grad():
                return latent.render().detach()

        for step in range(1, iterations + 1):
            opt.zero_grad(set_to_none=True)
            picture = latent.render()
            loss = clip_guide.loss(picture, targets)
            total = loss
            if tv_weight:
                total = total + tv_weight * tv_loss(picture)
            if init_weight:
                total = total + init_weight / 2 * latent.drift()
            if not torch.isfinite(total):
                raise FloatingPointError(f"the loss became {total.item()} at step {step}; lower the learning rate")
            total.backward()
            opt.step()
            latent.after_step()
            losses.append(loss.item())
            if keep_every and step % keep_every == 0:
                frames.append(render().cpu())
            if on_step is not None:
                on_step(step, iterations, losses[-1], render)
        final = render()
    return GuidanceResult(final, frames, losses, latent.parameters()[0].detach().clone())
