"""Recognising image-to-image translation files from their keys and shapes.

junyanz/pytorch-CycleGAN-and-pix2pix generators (ResNet and U-Net, any depth, batch / instance /
no norm, with or without dropout, 2018-era files with InstanceNorm running statistics) are read
completely: the constructor arguments come back; their PatchGAN discriminators are recognised so
that a person who picks one is told what it is. The NVlabs families have their own recognisers
(``multimodal.recognise_multimodal``, ``semantic.recognise_semantic``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

FOLDER = "translation"
_RUNNING = (".running_mean", ".running_var", ".num_batches_tracked")


class NotTranslation(Exception):
    """Internal: the tensors are not a junyanz network."""


def _norm_at(tensors: Mapping[str, torch.Tensor], conv: str, norm: str) -> str:
    """The norm type from the first conv and the norm module after it."""
    if f"{norm}.weight" in tensors and f"{norm}.running_mean" in tensors:
        return "batch"
    if f"{conv}.bias" in tensors:
        return "instance"  # with or without (legacy, unused) running statistics
    if f"{norm}.running_mean" in tensors:
        return "batch"  # BatchNorm(affine=False) is not a junyanz option, but reads the same
    return "none"


def resnet_kwargs(tensors: Mapping[str, torch.Tensor]) -> dict:
    first = tensors.get("model.1.weight")
    if first is None or first.ndim != 4 or first.shape[-1] != 7 or ("model.10.conv_block.1.weight" not in tensors \
            and "model.10.conv_block.0.weight" not in tensors):
        raise NotTranslation
    blocks = {int(m.group(1)) for key in tensors if (m := re.match(r"model\.(\d+)\.conv_block\.", key))}
    n_blocks = len(blocks)
    if blocks != set(range(10, 10 + n_blocks)):
        raise NotTranslation
    convs = sorted(int(m.group(1)) for key in tensors
                   if (m := re.match(r"model\.10\.conv_block\.(\d+)\.weight$", key)) and tensors[key].ndim == 4)
    layouts = {(1, 5): ("reflect", False), (1, 6): ("reflect", True), (0, 3): ("zero", False), (0, 4): ("zero", True)}
    if tuple(convs) not in layouts:
        raise NotTranslation
    padding, dropout = layouts[tuple(convs)]
    last = f"model.{17 + n_blocks}.weight"
    if last not in tensors:
        raise NotTranslation
    return dict(input_nc=int(first.shape[1]), output_nc=int(tensors[last].shape[0]), ngf=int(first.shape[0]),
                norm=_norm_at(tensors, "model.1", "model.2"), use_dropout=dropout, n_blocks=n_blocks, padding=padding)


def unet_kwargs(tensors: Mapping[str, torch.Tensor], use_dropout: bool | None = None) -> dict:
    first = tensors.get("model.model.0.weight")
    if first is None or first.ndim != 4 or first.shape[-1] != 4 or "model.model.3.weight" not in tensors:
        raise NotTranslation
    prefix, levels = "model.model.1.", 2
    while f"{prefix}model.3.model.1.weight" in tensors:
        prefix += "model.3."
        levels += 1
    if f"{prefix}model.1.weight" not in tensors or levels < 5:
        raise NotTranslation
    return dict(input_nc=int(first.shape[1]), output_nc=int(tensors["model.model.3.weight"].shape[1]),
                num_downs=levels, ngf=int(first.shape[0]),
                norm=_norm_at(tensors, "model.model.1.model.1", "model.model.1.model.2"),
                # Dropout has no parameters and shifts no U-Net index: the file cannot tell.
                # pix2pix trains with it, so that is the default.
                use_dropout=True if use_dropout is None else use_dropout)


def patchgan_kwargs(tensors: Mapping[str, torch.Tensor]) -> dict:
    first = tensors.get("model.0.weight")
    if first is None or first.ndim != 4 or first.shape[-1] != 4 or "model.1.weight" in tensors:
        raise NotTranslation
    convs = sorted(int(m.group(1)) for key in tensors if (m := re.match(r"model\.(\d+)\.weight$", key))
                   and tensors[key].ndim == 4)
    if tensors[f"model.{convs[-1]}.weight"].shape[0] != 1:
        raise NotTranslation
    return dict(input_nc=int(first.shape[1]), ndf=int(first.shape[0]), n_layers=len(convs) - 2,
                norm=_norm_at(tensors, "model.2", "model.3"))


def drop_legacy_statistics(tensors: dict[str, torch.Tensor], norm: str) -> tuple[dict[str, torch.Tensor], int]:
    """Instance norm keeps no running statistics; 2018-era files still carry them (never used
    by the original's test mode): drop them. Returns the tensors and how many were dropped."""
    if norm != "instance":
        return tensors, 0
    kept = {k: v for k, v in tensors.items() if not k.endswith(_RUNNING)}
    return kept, len(tensors) - len(kept)


def add_missing_batch_counters(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """BatchNorm files from before torch 0.4.1 lack ``num_batches_tracked``; torch fills it in too."""
    for key in [k for k in tensors if k.endswith(".running_mean")]:
        tensors.setdefault(key[: -len("running_mean")] + "num_batches_tracked", torch.tensor(0, dtype=torch.long))
    return tensors


def junyanz_generator(tensors: Mapping[str, torch.Tensor]) -> tuple[str, dict] | None:
    """("resnet" | "unet", constructor kwargs) for a junyanz generator state_dict, else None."""
    for architecture, infer in (("resnet", resnet_kwargs), ("unet", unet_kwargs)):
        try:
            return architecture, infer(tensors)
        except (NotTranslation, KeyError, IndexError):
            continue
    return None
