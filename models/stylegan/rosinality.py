"""rosinality/stylegan2-pytorch checkpoints -> NVlabs StyleGAN2 names and constructor arguments.

Such a ``.pt`` holds ``g_ema`` (a state_dict) and, in converted and released files, ``latent_avg``.
Its generator is config F's maths with other names: ``style.{1..n}`` is the mapping network,
``input.input`` the constant, ``conv1``/``to_rgb1`` the 4x4 block, ``convs.{2k, 2k+1}`` and
``to_rgbs.{k}`` the blocks from 8x8 up, ``noises.noise_{i}`` the fixed noise maps. Conv weights
carry a leading batch axis of 1, noise strengths and ToRGB biases a different shape. It has no
conv clamping and no fp16 layers; the mapping's learning-rate multiplier is 0.01 in every release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from ...kernels.upfirdn2d import setup_filter
from ..checkpoint import CheckpointError

ROSINALITY_LR_MLP = 0.01
_DEFAULT_BLUR = [1, 3, 3, 1]


def is_rosinality_checkpoint(data: object) -> bool:
    """A dict with ``g_ema`` whose keys look like rosinality's generator."""
    if not isinstance(data, Mapping) or not isinstance(data.get("g_ema"), Mapping):
        return False
    return "input.input" in data["g_ema"] and "style.1.weight" in data["g_ema"]


def _styled_layer(source: Mapping[str, torch.Tensor], prefix: str, target: str, out: dict) -> None:
    out[f"{target}.weight"] = source[f"{prefix}.conv.weight"][0]
    out[f"{target}.affine.weight"] = source[f"{prefix}.conv.modulation.weight"]
    out[f"{target}.affine.bias"] = source[f"{prefix}.conv.modulation.bias"]


def rosinality_to_nvlabs(data: Mapping, name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Constructor kwargs and an NVlabs-named state_dict for our StyleGAN2 generator.

    Without ``latent_avg`` (a training checkpoint) ``mapping.w_avg`` is left out; the caller
    estimates it from the mapping network.
    """
    g = data["g_ema"]
    n_mlp = len([k for k in g if re.fullmatch(r"style\.\d+\.weight", k)])
    num_upsampling_blocks = len([k for k in g if re.fullmatch(r"to_rgbs\.\d+\.bias", k)])
    img_resolution = 4 * 2**num_upsampling_blocks
    style_dim = g["style.1.weight"].shape[1]
    for key, kernel in g.items():
        if key.endswith(".kernel") and kernel.shape != (4, 4):
            raise CheckpointError(f"{name}: a rosinality generator with blur kernel {tuple(kernel.shape)} "
                                  f"({key}); only the standard [1, 3, 3, 1] blur is supported")

    out: dict[str, torch.Tensor] = {}
    for index in range(n_mlp):
        out[f"mapping.fc{index}.weight"] = g[f"style.{index + 1}.weight"]
        out[f"mapping.fc{index}.bias"] = g[f"style.{index + 1}.bias"]
    if data.get("latent_avg") is not None:
        out["mapping.w_avg"] = data["latent_avg"].reshape(-1)

    blur = setup_filter(_DEFAULT_BLUR)
    channels = {4: g["input.input"].shape[1]}
    out["synthesis.b4.const"] = g["input.input"][0]
    out["synthesis.b4.resample_filter"] = blur
    layers = [("conv1", "synthesis.b4.conv1")]
    rgbs = [("to_rgb1", "synthesis.b4.torgb")]
    for k in range(num_upsampling_blocks):
        res = 8 * 2**k
        block = f"synthesis.b{res}"
        layers += [(f"convs.{2 * k}", f"{block}.conv0"), (f"convs.{2 * k + 1}", f"{block}.conv1")]
        rgbs.append((f"to_rgbs.{k}", f"{block}.torgb"))
        out[f"{block}.resample_filter"] = blur
        channels[res] = g[f"convs.{2 * k + 1}.conv.weight"].shape[1]
    for index, (prefix, target) in enumerate(layers):
        _styled_layer(g, prefix, target, out)
        out[f"{target}.bias"] = g[f"{prefix}.activate.bias"]
        out[f"{target}.noise_strength"] = g[f"{prefix}.noise.weight"].reshape([])
        out[f"{target}.noise_const"] = g[f"noises.noise_{index}"][0, 0]
        out[f"{target}.resample_filter"] = blur
    for prefix, target in rgbs:
        _styled_layer(g, prefix, target, out)
        out[f"{target}.bias"] = g[f"{prefix}.bias"].reshape(-1)

    kwargs = dict(z_dim=style_dim, c_dim=0, w_dim=style_dim, img_resolution=img_resolution,
                  img_channels=out["synthesis.b4.torgb.bias"].numel(),
                  mapping_kwargs={"num_layers": n_mlp, "lr_multiplier": ROSINALITY_LR_MLP},
                  **_channel_arguments(channels, name), num_fp16_res=0, conv_clamp=None, architecture="skip")
    return kwargs, out


def _channel_arguments(channels: dict[int, int], name: str) -> dict[str, int]:
    """NVlabs' ``min(channel_base // res, channel_max)`` that reproduces the file's widths."""
    channel_max = max(channels.values())
    narrowed = [res * count for res, count in channels.items() if count < channel_max]
    channel_base = min(narrowed) if narrowed else channel_max * max(channels)
    if any(min(channel_base // res, channel_max) != count for res, count in channels.items()):
        raise CheckpointError(f"{name}: its channel widths {channels} follow no channel_base/channel_max rule "
                              "(a custom rosinality channel layout); GANForge cannot represent it")
    return {"channel_base": channel_base, "channel_max": channel_max}
