"""bias_act: add a bias, apply an activation, scale by a gain, clamp (NVlabs' fused op, unfused)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Activation:
    func: Callable[[torch.Tensor, float], torch.Tensor]
    def_alpha: float
    def_gain: float


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda x, _a: x, 0.0, 1.0),
    "relu": Activation(lambda x, _a: F.relu(x), 0.0, math.sqrt(2)),
    "lrelu": Activation(lambda x, a: F.leaky_relu(x, a), 0.2, math.sqrt(2)),
    "tanh": Activation(lambda x, _a: torch.tanh(x), 0.0, 1.0),
    "sigmoid": Activation(lambda x, _a: torch.sigmoid(x), 0.0, 1.0),
    "elu": Activation(lambda x, _a: F.elu(x), 0.0, 1.0),
    "selu": Activation(lambda x, _a: F.selu(x), 0.0, 1.0),
    "softplus": Activation(lambda x, _a: F.softplus(x), 0.0, 1.0),
    "swish": Activation(lambda x, _a: torch.sigmoid(x) * x, 0.0, math.sqrt(2)),
}


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    dim: int = 1,
    act: str = "linear",
    alpha: float | None = None,
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """``clamp(act(x + b) * gain, -clamp, clamp)``; ``b`` runs along ``dim``.

    ``alpha`` and ``gain`` default to the activation's own (lrelu: 0.2 and sqrt(2)).
    """
    spec = ACTIVATIONS[act]
    alpha = spec.def_alpha if alpha is None else float(alpha)
    gain = spec.def_gain if gain is None else float(gain)
    # Without autograd, the steps after the first new tensor work in place: on large maps each
    # pass saves an allocation and a trip through memory. x itself is never modified.
    in_place = not (torch.is_grad_enabled() and (x.requires_grad or (b is not None and b.requires_grad)))
    owned = False
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x, owned = x + b.to(x.dtype).reshape(shape), True
    if act == "lrelu" and owned and in_place:
        F.leaky_relu_(x, alpha)
    elif act != "linear":
        x, owned = spec.func(x, alpha), True
    if gain != 1:
        x = x.mul_(gain) if owned and in_place else x * gain
        owned = True
    if clamp is not None and clamp >= 0:
        x = x.clamp_(-clamp, clamp) if owned and in_place else x.clamp(-clamp, clamp)
    return x
