"""Guidance targets: CLIP embeddings with weights and stop distances, from text, pictures or noise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .clip import ClipModel
from .prompts import PromptSpec, noise_embeddings


@dataclass
class Targets:
    """What the picture should (positive weight) or should not (negative) look like to CLIP."""

    embeds: torch.Tensor  # [P, D]
    weights: torch.Tensor  # [P]
    stops: torch.Tensor  # [P]
    labels: list[str] = field(default_factory=list)

    @staticmethod
    def empty(dim: int) -> Targets:
        return Targets(torch.empty(0, dim), torch.empty(0), torch.empty(0), [])

    def __len__(self) -> int:
        return self.embeds.shape[0]

    def __add__(self, other: Targets) -> Targets:
        if len(self) and len(other) and self.embeds.shape[1] != other.embeds.shape[1]:
            raise ValueError(f"the prompts come from different CLIP models ({self.embeds.shape[1]} vs "
                             f"{other.embeds.shape[1]} dimensions)")
        return Targets(torch.cat([self.embeds, other.embeds.to(self.embeds)]),
                       torch.cat([self.weights, other.weights]), torch.cat([self.stops, other.stops]),
                       self.labels + other.labels)

    def to(self, device: torch.device) -> Targets:
        """Copies on ``device`` (copies, so that tensors made in inference mode can join autograd)."""
        return Targets(self.embeds.to(device, copy=True), self.weights.to(device, copy=True),
                       self.stops.to(device, copy=True), self.labels)


def text_targets(clip: ClipModel, specs: Sequence[PromptSpec]) -> Targets:
    """Text prompts -> targets (one CLIP text embedding each)."""
    specs = [s for s in specs if s.text]
    if not specs:
        return Targets.empty(clip.embed_dim)
    return Targets(clip.encode_text([s.text for s in specs]).cpu(), torch.tensor([s.weight for s in specs]),
                   torch.tensor([s.stop for s in specs]), [s.text for s in specs])


def image_targets(clip: ClipModel, pictures: torch.Tensor, weight: float = 1.0, stop: float = float("-inf"),
                  label: str = "image") -> Targets:
    """Pictures NCHW 0..1 -> one target per picture (CLIP's embedding of the whole picture)."""
    with torch.no_grad():
        embeds = clip.encode_image(pictures.to(clip.device)).cpu()
    n = embeds.shape[0]
    return Targets(embeds, torch.full((n,), float(weight)), torch.full((n,), float(stop)),
                   [f"{label} {i + 1}" for i in range(n)])


def noise_targets(specs: Sequence[PromptSpec], dim: int) -> Targets:
    """Noise prompts ("seed:weight") -> random directions."""
    return Targets(noise_embeddings(list(specs), dim), torch.tensor([s.weight for s in specs]),
                   torch.tensor([s.stop for s in specs]), [f"noise {s.text}" for s in specs])
