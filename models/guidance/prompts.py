"""Weighted prompts in the syntax of the VQGAN-CLIP command lines (nerdyrodent/VQGAN-CLIP):

* ``"a red fox | snow:0.5 | text:-1"``: prompts joined by ``|``; each may end in ``:weight`` and
  ``:weight:stop``. A negative weight pushes away; ``stop`` is the spherical distance below which a
  prompt stops pulling (default: never stops).
* ``"forest ^ city ^ ocean"``: story mode, one prompt set per segment of a video.
* Noise prompts: ``"12:0.5 | 7"`` (seed, weight) pick random directions in the embedding space.

Parsing is pure text; the embeddings come from :mod:`.clip`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class PromptSpec:
    text: str
    weight: float = 1.0
    stop: float = -math.inf


def _number(value: str, what: str, prompt: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"the {what} {value!r} in the prompt {prompt!r} is not a number") from None


def parse_prompt(prompt: str) -> PromptSpec:
    """``"text:weight:stop"`` -> PromptSpec. Only trailing fields that are numbers count as weight
    and stop, so a colon inside the text ("photo: a cat") stays text."""
    parts = prompt.strip().rsplit(":", 2)
    numeric = 0
    for part in reversed(parts[1:]):
        try:
            float(part)
        except ValueError:
            break
        numeric += 1
    text = ":".join(parts[:len(parts) - numeric]).strip()
    values = parts[len(parts) - numeric:]
    weight = _number(values[0], "weight", prompt) if numeric >= 1 else 1.0
    stop = _number(values[1], "stop", prompt) if numeric == 2 else -math.inf
    return PromptSpec(text, weight, stop)


def parse_prompts(text: str) -> list[PromptSpec]:
    """``"a | b:0.5 | c:-1"`` -> specs (empty entries are dropped)."""
    return [parse_prompt(part) for part in text.split("|") if part.strip()]


def parse_story(text: str) -> list[list[PromptSpec]]:
    """``"a | b ^ c"`` -> one prompt set per story segment."""
    return [parse_prompts(segment) for segment in text.split("^") if segment.strip()]


def noise_embeddings(specs: list[PromptSpec], dim: int) -> torch.Tensor:
    """One random unit direction per noise prompt (its text is the seed), [N, dim]."""
    rows = []
    for spec in specs:
        try:
            seed = int(spec.text)
        except ValueError:
            raise ValueError(f"a noise prompt is a seed and an optional :weight, not {spec.text!r}") from None
        rows.append(torch.randn(dim, generator=torch.Generator().manual_seed(seed)))
    return torch.stack(rows) if rows else torch.empty(0, dim)


class _StopAt(torch.autograd.Function):
    """Forward ``max(d, stop)``, backward the gradient of ``d``: a prompt that reached its stop
    distance keeps contributing its gradient sign as the original does (replace_grad)."""

    @staticmethod
    def forward(ctx, distance: torch.Tensor, stop: torch.Tensor) -> torch.Tensor:
        return torch.maximum(distance, stop)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def spherical_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared great-circle distance between the directions of a [N, D] and b [M, D] -> [N, M]
    (``2 * arcsin(|a^ - b^| / 2)^2``)."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    return (a[:, None] - b[None]).norm(dim=-1).div(2).arcsin().pow(2).mul(2)


def prompt_loss(image_embeds: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
                stops: torch.Tensor) -> torch.Tensor:
    """The weighted sum over targets of the mean spherical distance to the cutouts' embeddings.

    ``image_embeds`` [cutn, D]; ``targets`` [P, D]; ``weights`` and ``stops`` [P]. A negative
    weight pushes away (its distance counts negatively, as in the original).
    """
    distance = spherical_distance(image_embeds, targets) * weights.sign()
    distance = _StopAt.apply(distance, stops.to(distance).expand_as(distance))
    return (weights.abs() * distance.mean(0)).sum()
