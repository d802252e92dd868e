"""Loading taming-transformers VQGAN checkpoints (Lightning ``.ckpt`` + ``.yaml``) and our own
safetensors, without running anything from the files.

The configuration comes from the yaml when there is one and is checked against the tensors;
without one it is read off the tensor shapes (widths, levels, blocks per level, where attention
sits, codebook size), which determine the network completely. The training loss's weights
(``loss.*``: LPIPS and the discriminator) are not part of the autoencoder and are ignored.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .. import registry
from ..checkpoint import (
    ARCH_KEY,
    KWARGS_KEY,
    CheckpointError,
    build_network,
    count_indexed,
    read_checkpoint,
    save_safetensors,
    unwrap_state_dict,
)
from .vqmodel import VQModel, attn_levels_from_resolutions

log = logging.getLogger("ganforge")
ARCHITECTURE = "vqgan"
# taming's model classes and what they mean for the quantizer
TARGETS = {"VQModel": False, "VQSegmentationModel": False, "EMAVQ": False, "GumbelVQ": True}
_EMA_BUFFERS = ("quantize.embedding.cluster_size", "quantize.embedding.embed_avg")


def vqgan_kwargs_from_tensors(tensors: Mapping[str, torch.Tensor], name: str = "the checkpoint") -> dict:
    """:class:`VQModel` arguments read off a taming state_dict's shapes."""
    try:
        ch = tensors["encoder.conv_in.weight"].shape[0]
        levels = count_indexed(tensors, r"encoder\.down\.(\d+)\.")
        gumbel = "quantize.proj.weight" in tensors
        codebook = tensors["quantize.embed.weight" if gumbel else "quantize.embedding.weight"]
        z_channels = tensors["decoder.conv_in.weight"].shape[1]
        return dict(
            embed_dim=codebook.shape[1], n_embed=codebook.shape[0], ch=ch,
            ch_mult=[tensors[f"encoder.down.{i}.block.0.conv1.weight"].shape[0] // ch for i in range(levels)],
            num_res_blocks=count_indexed(tensors, r"encoder\.down\.0\.block\.(\d+)\."),
            attn_levels=[i for i in range(levels) if f"encoder.down.{i}.attn.0.q.weight" in tensors],
            z_channels=z_channels, in_channels=tensors["encoder.conv_in.weight"].shape[1],
            out_ch=tensors["decoder.conv_out.weight"].shape[0],
            double_z=tensors["encoder.conv_out.weight"].shape[0] == 2 * z_channels,
            resamp_with_conv="encoder.down.0.downsample.conv.weight" in tensors or levels == 1,
            gumbel=gumbel)
    except KeyError as error:
        raise CheckpointError(f"{name} is not a taming-transformers VQGAN: it has no {error.args[0]} "
                              "(expected encoder.*, decoder.*, quantize.*, quant_conv.*)") from None


def read_vqgan_config(config: Mapping[str, Any] | str | os.PathLike) -> dict:
    """:class:`VQModel` arguments from a taming yaml (path or parsed), or from its ``model`` /
    ``model.params`` part."""
    if not isinstance(config, Mapping):
        import yaml

        try:
            config = yaml.safe_load(Path(config).read_text())
        except (OSError, yaml.YAMLError) as error:
            raise CheckpointError(f"{Path(config).name} is not a readable yaml file ({error})") from None
    model = config.get("model", config) if isinstance(config, Mapping) else None
    target = str(model.get("target", "VQModel")).rsplit(".", 1)[-1] if isinstance(model, Mapping) else ""
    params = model.get("params", model) if isinstance(model, Mapping) else None
    if not isinstance(params, Mapping) or "ddconfig" not in params or target not in TARGETS:
        raise CheckpointError("the config is not a taming VQGAN config (expected model.target "
                              f"taming.models.vqgan.VQModel or GumbelVQ with params.ddconfig; found target {target!r})")
    dd = params["ddconfig"]
    try:
        levels = len(dd["ch_mult"])
        return dict(embed_dim=int(params["embed_dim"]), n_embed=int(params["n_embed"]), ch=int(dd["ch"]),
                    ch_mult=[int(m) for m in dd["ch_mult"]], num_res_blocks=int(dd["num_res_blocks"]),
                    attn_levels=attn_levels_from_resolutions(int(dd["resolution"]), levels,
                                                             dd.get("attn_resolutions", [])),
                    z_channels=int(dd["z_channels"]), in_channels=int(dd.get("in_channels", 3)),
                    out_ch=int(dd.get("out_ch", 3)), double_z=bool(dd.get("double_z", True)),
                    resamp_with_conv=bool(dd.get("resamp_with_conv", True)), dropout=float(dd.get("dropout", 0.0)),
                    gumbel=TARGETS[target])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"the VQGAN config lacks or mangles {error}") from None


_COMPARED = ("embed_dim", "n_embed", "ch", "ch_mult", "num_res_blocks", "attn_levels", "z_channels", "in_channels",
             "out_ch", "double_z", "gumbel")


def load_vqgan(path: str | os.PathLike, config: Mapping[str, Any] | str | os.PathLike | None = None,
               device: torch.device | str | None = None) -> VQModel:
    """A taming VQGAN (``.ckpt`` with an optional ``.yaml``) or a GANForge ``.safetensors``, in eval
    mode without gradients. Nothing in the files is executed.

    A yaml that disagrees with the tensors is an error that names the disagreement. The network
    carries ``.kwargs`` (its constructor arguments) for saving.
    """
    name = Path(path).name
    file = read_checkpoint(path, "a taming-transformers .ckpt or a GANForge .safetensors")
    if file.kind == "safetensors" and ARCH_KEY in file.metadata:
        if file.metadata[ARCH_KEY] != ARCHITECTURE:
            raise CheckpointError(f"{name} is a GANForge {file.metadata[ARCH_KEY]!r} file, not a VQGAN")
        tensors, kwargs = file.content, json.loads(file.metadata[KWARGS_KEY])
    else:
        tensors = unwrap_state_dict(file.content, name, drop_prefixes=("loss.", *_EMA_BUFFERS))
        kwargs = vqgan_kwargs_from_tensors(tensors, name)
        if config is not None:
            stated = read_vqgan_config(config)
            differ = [f"{key} {stated[key]} in the config but {kwargs[key]} in the checkpoint"
                      for key in _COMPARED if stated[key] != kwargs[key]]
            if differ:
                raise CheckpointError(f"the config does not match {name}: {'; '.join(differ)}. Use the yaml "
                                      "that came with this checkpoint, or none (the shapes say everything)")
            kwargs = stated
    network = build_network(VQModel, kwargs, tensors, name, "a VQGAN")
    network.kwargs = kwargs
    return network.to(device) if device is not None else network


def save_vqgan(network: VQModel, path: str | os.PathLike) -> None:
    """Save as self-describing safetensors (refuses to replace an existing file)."""
    save_safetensors(network.state_dict(), path, ARCHITECTURE, network.kwargs)


def create_vqgan(**kwargs: Any) -> VQModel:
    """A freshly initialised VQModel that remembers its arguments (for training)."""
    network = VQModel(**kwargs)
    network.kwargs = dict(kwargs)
    return network


def _recognise(file, name: str) -> registry.Recognition | None:
    """The model registry's VQGAN recogniser (see ``models/registry.py``)."""
    if file.kind == "safetensors" and ARCH_KEY in file.metadata:
        if (own := registry.own_file(file, [ARCHITECTURE])) is None:
            return None
        _, kwargs = own
    else:
        try:
            tensors = unwrap_state_dict(file.content, name, drop_prefixes=("loss.", *_EMA_BUFFERS))
        except CheckpointError:
            return None
        if "encoder.conv_in.weight" not in tensors or not any(k.startswith("quantize.") for k in tensors):
            return None
        kwargs = vqgan_kwargs_from_tensors(tensors, name)
    kind = "Gumbel VQGAN" if kwargs.get("gumbel") else "VQGAN"
    summary = (f"a taming {kind}, f{2 ** (len(kwargs['ch_mult']) - 1)}, codebook {kwargs['n_embed']} x "
               f"{kwargs['embed_dim']}")
    return registry.Recognition("vqgan", "vqgan", "vqgan", summary, kwargs)


registry.register("vqgan", _recognise, "a taming-transformers .ckpt (state_dict with encoder.*, decoder.*, "
                  "quantize.*) or a GANForge vqgan .safetensors")
