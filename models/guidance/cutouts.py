"""Cutouts: the batch of views of one picture that CLIP judges at each step.

Two methods, named as in the VQGAN-CLIP command lines:

* ``original``: ``cutn`` random square crops whose side is drawn as ``rand ** cut_pow`` between
  the CLIP input size and the picture's shorter side (a higher ``cut_pow`` favours small crops,
  i.e. detail), each resampled to the CLIP size.
* ``latest``: the whole picture pooled to the CLIP size (the mean of average and max pooling),
  repeated ``cutn`` times, then random augmentations and a little noise per view.

Augmentations are chosen by the same two-letter codes (see :data:`AUGMENTATIONS`). Colour jitter
is ours (a vectorised brightness / contrast / saturation / hue jitter, the hue turned in YIQ): the
kornia version dominates a CPU step; the others are kornia's, with the command lines' settings.
Random numbers come from torch's generator, which the optimiser seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

CUT_METHODS = ("latest", "original")
DEFAULT_AUGMENTS = ("Af", "Pe", "Ji", "Er")


class ColorJitter(nn.Module):
    """With probability ``p`` per view: brightness x[1-b, 1+b], contrast and saturation
    x[1-c, 1+c] / x[1-s, 1+s] about the grey level, hue turned by up to ``hue`` of a full turn."""

    def __init__(self, brightness: float = 0.1, contrast: float = 0.1, saturation: float = 0.1, hue: float = 0.1,
                 p: float = 0.7) -> None:
        super().__init__()
        self.brightness, self.contrast, self.saturation, self.hue, self.p = brightness, contrast, saturation, hue, p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]

        def factor(spread: float) -> torch.Tensor:
            return (1 + (torch.rand(n, 1, 1, 1, device=x.device) * 2 - 1) * spread).to(x.dtype)

        apply = (torch.rand(n, 1, 1, 1, device=x.device) < self.p).to(x.dtype)
        y = x * factor(self.brightness)
        grey = (0.299 * y[:, :1] + 0.587 * y[:, 1:2] + 0.114 * y[:, 2:3]) if y.shape[1] == 3 else y
        y = grey.mean((2, 3), keepdim=True) + (y - grey.mean((2, 3), keepdim=True)) * factor(self.contrast)
        if y.shape[1] == 3:
            grey = 0.299 * y[:, :1] + 0.587 * y[:, 1:2] + 0.114 * y[:, 2:3]
            y = grey + (y - grey) * factor(self.saturation)
            angle = (torch.rand(n, device=x.device) * 2 - 1) * self.hue * 2 * math.pi
            y = torch.einsum("nij,njhw->nihw", _hue_rotation(angle).to(x.dtype), y)
        return (apply * y + (1 - apply) * x).clamp(0, 1)


_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _hue_rotation(angle: torch.Tensor) -> torch.Tensor:
    """[N, 3, 3] RGB matrices that turn the chroma (I, Q) of YIQ by ``angle``, keeping luma."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    turn = torch.zeros(angle.shape[0], 3, 3, device=angle.device)
    turn[:, 0, 0] = 1
    turn[:, 1, 1], turn[:, 1, 2], turn[:, 2, 1], turn[:, 2, 2] = cos, -sin, sin, cos
    to_yiq = _RGB_TO_YIQ.to(angle.device)
    return torch.linalg.inv(to_yiq) @ turn @ to_yiq


def _kornia(name: str, **kwargs) -> Callable[[int], nn.Module]:
    def make(cut_size: int) -> nn.Module:
        import kornia.augmentation as K

        settings = {key: ((cut_size, cut_size) if value == "cut" else value) for key, value in kwargs.items()}
        return getattr(K, name)(**settings)

    return make


# code -> (what it does, factory(cut_size) -> module); the settings are the command lines'.
AUGMENTATIONS: dict[str, tuple[str, Callable[[int], nn.Module]]] = {
    "Ji": ("colour jitter", lambda cut: ColorJitter(0.1, 0.1, 0.1, 0.1, p=0.7)),
    "Sh": ("sharpness", _kornia("RandomSharpness", sharpness=0.3, p=0.5)),
    "Gn": ("Gaussian noise", _kornia("RandomGaussianNoise", mean=0.0, std=1.0, p=0.5)),
    "Pe": ("perspective", _kornia("RandomPerspective", distortion_scale=0.7, p=0.7)),
    "Ro": ("rotation", _kornia("RandomRotation", degrees=15, p=0.7)),
    "Af": ("affine", _kornia("RandomAffine", degrees=15, translate=0.1, shear=5, p=0.7, padding_mode="zeros",
                             keepdim=True)),
    "Et": ("elastic", _kornia("RandomElasticTransform", p=0.7)),
    "Ts": ("thin-plate spline", _kornia("RandomThinPlateSpline", scale=0.8, same_on_batch=True, p=0.7)),
    "Cr": ("crop", _kornia("RandomCrop", size="cut", pad_if_needed=True, padding_mode="reflect", p=0.5)),
    "Er": ("erasing", _kornia("RandomErasing", scale=(0.1, 0.4), ratio=(0.3, 1 / 0.3), same_on_batch=True, p=0.7)),
    "Re": ("resized crop", _kornia("RandomResizedCrop", size="cut", scale=(0.1, 1), ratio=(0.75, 1.333),
                                   cropping_mode="resample", p=0.5)),
}


def parse_augments(codes: str | Sequence[str]) -> list[str]:
    """``"Af Pe Ji Er"`` / ``"Af,Pe"`` / a list -> validated codes."""
    if isinstance(codes, str):
        codes = [c for c in codes.replace(",", " ").split() if c]
    unknown = [c for c in codes if c not in AUGMENTATIONS]
    if unknown:
        known = ", ".join(f"{code} ({what})" for code, (what, _) in AUGMENTATIONS.items())
        raise ValueError(f"unknown augmentation code(s) {', '.join(unknown)}; the codes are: {known}")
    return list(codes)


class _ClampWithGrad(torch.autograd.Function):
    """Clamp forward; backward lets a gradient through where it points back into range."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, low: float, high: float) -> torch.Tensor:
        ctx.low, ctx.high = low, high
        ctx.save_for_backward(x)
        return x.clamp(low, high)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad * (grad * (x - x.clamp(ctx.low, ctx.high)) >= 0), None, None


def clamp_with_grad(x: torch.Tensor, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    return _ClampWithGrad.apply(x, low, high)


class Cutouts(nn.Module):
    """``cutn`` views of a picture [1, C, H, W] (0..1) at ``cut_size`` -> [cutn, C, cut, cut]."""

    def __init__(self, cut_size: int, cutn: int = 32, cut_pow: float = 1.0, method: str = "latest",
                 augments: Sequence[str] = DEFAULT_AUGMENTS, noise: float = 0.1) -> None:
        super().__init__()
        if method not in CUT_METHODS:
            raise ValueError(f"unknown cutout method {method!r} (choose {' or '.join(CUT_METHODS)})")
        if cutn < 1:
            raise ValueError("cutn must be at least 1")
        self.cut_size, self.cutn, self.cut_pow, self.method, self.noise = cut_size, cutn, cut_pow, method, noise
        self.augments = nn.Sequential(*[AUGMENTATIONS[code][1](cut_size) for code in parse_augments(augments)])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.method == "original":
            return clamp_with_grad(torch.cat([self._random_crop(image) for _ in range(self.cutn)]))
        size = (self.cut_size, self.cut_size)
        pooled = (F.adaptive_avg_pool2d(image, size) + F.adaptive_max_pool2d(image, size)) / 2
        views = pooled.expand(self.cutn, -1, -1, -1)  # pooled once, not once per view
        if len(self.augments):
            views = self.augments(views.contiguous())
        if self.noise:
            views = views + views.new_empty(self.cutn, 1, 1, 1).uniform_(0, self.noise) * torch.randn_like(views)
        return views

    def _random_crop(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        largest = min(height, width)
        smallest = min(largest, self.cut_size)
        side = int(torch.rand([]) ** self.cut_pow * (largest - smallest) + smallest)
        top = int(torch.randint(0, height - side + 1, ()))
        left = int(torch.randint(0, width - side + 1, ()))
        crop = image[..., top:top + side, left:left + side]
        return F.interpolate(crop, size=(self.cut_size, self.cut_size), mode="bicubic", align_corners=False,
                             antialias=side > self.cut_size)
