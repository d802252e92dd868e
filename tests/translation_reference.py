"""Deterministic weights and the configurations used for the junyanz parity vectors.

The reference vectors in ``tests/data/junyanz_*.npz`` were made by the original
pytorch-CycleGAN-and-pix2pix networks (run outside this repository) filled with exactly these
weights; our tests fill our networks the same way and compare. Each tensor is drawn from a
generator seeded by its key name, so the order in which a network lists its parameters does not
matter.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping

import torch

# name -> the original's define_G-style settings (ngf kept small: parity does not depend on width).
CONFIGS: dict[str, dict] = {
    "resnet9_instance": dict(netG="resnet_9blocks", norm="instance", use_dropout=False, ngf=8, input_nc=3,
                             output_nc=3, size=(36, 44)),
    "resnet6_instance_dropout": dict(netG="resnet_6blocks", norm="instance", use_dropout=True, ngf=8, input_nc=3,
                                     output_nc=3, size=(32, 32)),
    "resnet9_batch": dict(netG="resnet_9blocks", norm="batch", use_dropout=False, ngf=8, input_nc=3, output_nc=3,
                          size=(32, 40)),
    "resnet4_none_gray": dict(netG="resnet_4blocks", norm="none", use_dropout=False, ngf=8, input_nc=1, output_nc=3,
                              size=(24, 28)),
    "unet256_batch_dropout": dict(netG="unet_256", norm="batch", use_dropout=True, ngf=4, input_nc=3, output_nc=3,
                                  size=(256, 256)),
    "unet128_instance": dict(netG="unet_128", norm="instance", use_dropout=False, ngf=4, input_nc=3, output_nc=1,
                             size=(128, 128)),
    "unet32_batch": dict(netG="unet_32", norm="batch", use_dropout=False, ngf=8, input_nc=1, output_nc=1,
                         size=(32, 32)),
}
WEIGHT_SEED = 1234
INPUT_SEED = 99
DROPOUT_SEED = 7  # torch.manual_seed before the train-mode ("official") forward


def fill_weights(state_dict: Mapping[str, torch.Tensor], seed: int = WEIGHT_SEED) -> dict[str, torch.Tensor]:
    """Random but well-scaled values for every entry of ``state_dict`` (same names and shapes)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        shape = tuple(value.shape)
        if not value.is_floating_point():
            out[key] = torch.zeros(shape, dtype=value.dtype)
        elif key.endswith("running_var"):
            out[key] = torch.rand(shape, generator=generator) * 0.5 + 0.75
        elif key.endswith("running_mean"):
            out[key] = torch.randn(shape, generator=generator) * 0.1
        elif len(shape) >= 2:
            fan = math.prod(shape[1:])
            out[key] = torch.randn(shape, generator=generator) / math.sqrt(fan)
        elif key.endswith("weight"):  # a norm's scale
            out[key] = 1 + 0.1 * torch.randn(shape, generator=generator)
        else:
            out[key] = 0.1 * torch.randn(shape, generator=generator)
    return out


def make_input(config: Mapping) -> torch.Tensor:
    """Batch of 2 pictures in [-1, 1] of the config's size."""
    generator = torch.Generator().manual_seed(INPUT_SEED)
    return torch.rand(2, config["input_nc"], *config["size"], generator=generator) * 2 - 1
