"""Perceptual distance between pictures, for projection and other optimisations.

:class:`VGG16Features` has torchvision's ``vgg16().features`` layout, so torchvision's ImageNet
file (``vgg16-397923af.pth``) or any ``state_dict`` of that model loads into it. The distance is
LPIPS' construction with uniform layer weights: features after relu1_2, relu2_2, relu3_3, relu4_3
and relu5_3, each unit-normalised over channels, squared differences averaged over positions and
summed over layers.

NVlabs' ``vgg16.pt`` is a TorchScript program; GANForge runs no code from model files, so it is
refused with a message that names the torchvision file to use instead.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import CheckpointError, read_safetensors, read_torch_file, sniff_format

VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
VGG16_TAPS = (3, 8, 15, 22, 29)  # indices in ``features`` of the ReLUs after conv1_2 ... conv5_3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """torchvision's VGG16 convolutional part (``features.N.weight`` names), up to relu5_3."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in VGG16_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
                channels = item
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x`` NCHW in [-1, 1] (1 or 3 channels) -> the five tapped feature maps."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = ((x + 1) / 2 - self.mean) / self.std
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in VGG16_TAPS:
                taps.append(x)
        return taps


def _unit(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (x.square().sum(dim=1, keepdim=True).sqrt() + eps)


class PerceptualDistance(nn.Module):
    """LPIPS-style distance (uniform weights) on a :class:`VGG16Features`; per image, NCHW in [-1, 1].
    Pictures larger than 256 px are area-downsampled to 256 first, as NVlabs' projector does."""

    def __init__(self, vgg: VGG16Features) -> None:
        super().__init__()
        self.vgg = vgg.eval().requires_grad_(False)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape[-1] > 256:
            a, b = F.interpolate(a, size=(256, 256), mode="area"), F.interpolate(b, size=(256, 256), mode="area")
        total = torch.zeros(a.shape[0], device=a.device)
        for fa, fb in zip(self.vgg(a), self.vgg(b), strict=True):
            total = total + (_unit(fa) - _unit(fb)).square().sum(dim=1).mean(dim=[1, 2])
        return total


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def load_vgg16(path: str | os.PathLike, device: torch.device | str | None = None) -> VGG16Features:
    """torchvision VGG16 weights (``.pth`` / ``.safetensors``; a full ``vgg16`` state_dict, its
    ``features`` part, or one under a ``state_dict`` key) -> :class:`VGG16Features`."""
    path = Path(path)
    kind = sniff_format(path)
    if kind == "torch-zip" and _is_torchscript(path):
        raise CheckpointError(f"{path.name} is a TorchScript program (like NVlabs' vgg16.pt); GANForge runs no code "
                              "from model files. Use torchvision's ImageNet VGG16 weights (vgg16-397923af.pth) instead")
    if kind == "safetensors":
        state, _ = read_safetensors(path)
    elif kind == "torch-zip":
        state = read_torch_file(path)
    else:
        raise CheckpointError(f"{path.name} is not a torch or safetensors file")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path.name} holds no state_dict")
    features = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith("features.")}
    model = VGG16Features()
    expected = model.state_dict()
    if set(features) != set(expected) or any(features[k].shape != expected[k].shape for k in expected):
        found = sorted(features)[:4] or sorted(k for k in state if isinstance(k, str))[:4]
        raise CheckpointError(f"{path.name} is not a torchvision VGG16 (expected features.0.weight [64, 3, 3, 3] ... "
                              f"features.28.bias; found {', '.join(found) or 'no tensors'})")
    model.load_state_dict(features)
    return model.to(device) if device is not None else model
