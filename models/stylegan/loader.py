"""``load_stylegan(path)``: recognise a StyleGAN checkpoint and build our generator from it, safely."""

from __future__ import annotations

import json
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
    read_checkpoint,
    save_safetensors,
)
from ..dcgan import Generator as DCGANGenerator
from ..safe_pickle import InertObject, PersistentRecord
from .rosinality import is_rosinality_checkpoint, rosinality_to_nvlabs
from .stylegan2 import Generator as StyleGAN2Generator
from .stylegan3 import Generator as StyleGAN3Generator

# Our own DCGAN follows the same call contract, so its files load here and serve the same nodes.
ARCHITECTURES = {"stylegan2": StyleGAN2Generator, "stylegan3": StyleGAN3Generator, "dcgan": DCGANGenerator}


def record_state_dict(record: PersistentRecord, prefix: str = "") -> dict[str, torch.Tensor]:
    """Rebuild ``module.state_dict()`` from a persistent record: parameters and persistent buffers,
    recursively through ``_modules``, with dotted names."""
    state = record.state
    skipped = set(state.get("_non_persistent_buffers_set") or ())
    tensors: dict[str, torch.Tensor] = {}
    for name, value in (state.get("_parameters") or {}).items():
        if value is not None:
            tensors[prefix + name] = value.detach()
    for name, value in (state.get("_buffers") or {}).items():
        if value is not None and name not in skipped:
            tensors[prefix + name] = value
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, PersistentRecord):
            tensors.update(record_state_dict(child, f"{prefix}{name}."))
    return tensors


def _family(keys: Mapping[str, Any]) -> str:
    if "synthesis.b4.const" in keys:
        return "stylegan2"
    if "synthesis.input.affine.weight" in keys:
        return "stylegan3"
    return "unknown"


def _nvlabs_kwargs(init_kwargs: Mapping[str, Any]) -> dict:
    kwargs = {key: value for key, value in dict(init_kwargs).items() if key != "synthesis_kwargs"}
    kwargs.update(dict(init_kwargs.get("synthesis_kwargs") or {}))  # stylegan2-ada nests them
    kwargs["mapping_kwargs"] = dict(kwargs.get("mapping_kwargs") or {})
    return json.loads(json.dumps(kwargs, default=_plain))  # numpy scalars etc. -> plain JSON values


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"unexpected constructor argument {value!r}")


def _build(architecture: str, kwargs: dict, tensors: dict[str, torch.Tensor], name: str) -> torch.nn.Module:
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{name}: architecture {architecture!r} is not supported by this version of GANForge")
    return build_network(ARCHITECTURES[architecture], kwargs, tensors, name, f"a {architecture} generator")


def _from_nvlabs(data: Any, name: str) -> tuple[str, dict, dict[str, torch.Tensor]]:
    if isinstance(data, tuple) and data and isinstance(data[0], InertObject) and "tflib" in data[0]._global_name:
        raise CheckpointError(f"{name} is a TensorFlow-era StyleGAN pickle (dnnlib.tflib Network); reading it "
                              "is not supported yet. Convert it with NVlabs' stylegan2-ada-pytorch legacy.py first.")
    if not isinstance(data, dict) or not isinstance(data.get("G_ema"), PersistentRecord):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{name} is a pickle but not an NVlabs StyleGAN network pickle "
                              f"(expected a dict with G_ema; found {found})")
    record = data["G_ema"]
    tensors = record_state_dict(record)
    family = _family(tensors)
    if family not in ARCHITECTURES:
        raise CheckpointError(f"{name}: G_ema ({record.class_name}) is not a StyleGAN2 or StyleGAN3 generator")
    return family, _nvlabs_kwargs(record.state.get("_init_kwargs") or {}), tensors


def load_stylegan(path: str | os.PathLike, device: torch.device | str | None = None,
                  dtype: torch.dtype | None = None) -> torch.nn.Module:
    """Load a StyleGAN2/2-ADA/3 generator: NVlabs ``.pkl``, rosinality ``.pt``, GANForge ``.safetensors``.

    Nothing in the file is executed. The result is in eval mode without gradients, with
    attributes ``architecture`` and ``init_kwargs``. ``dtype`` None / float32 keeps NVlabs'
    behaviour (float16 only in the layers the checkpoint marks, on CUDA); float16 or bfloat16
    runs the whole synthesis network in that dtype on any device (``G.set_precision``).
    """
    name = Path(path).name
    if dtype not in (None, torch.float32, torch.float16, torch.bfloat16):
        raise CheckpointError(f"{name}: dtype {dtype} is not supported; use float32, float16 or bfloat16")
    file = read_checkpoint(path, "an NVlabs .pkl, a rosinality .pt or a GANForge .safetensors")
    estimate_w_avg = False
    if file.kind == "safetensors":
        tensors, metadata = file.content, file.metadata
        if ARCH_KEY not in metadata:
            raise CheckpointError(f"{name} is a safetensors file without GANForge metadata "
                                  f"({ARCH_KEY}); convert the original with `python -m ganforge convert`")
        architecture, kwargs = metadata[ARCH_KEY], json.loads(metadata[KWARGS_KEY])
    elif file.kind == "pickle":
        architecture, kwargs, tensors = _from_nvlabs(file.content, name)
    else:
        data = file.content
        if not is_rosinality_checkpoint(data):
            found = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
            raise CheckpointError(f"{name} is a torch.save file but not a known StyleGAN checkpoint (expected "
                                  f"rosinality's g_ema with style.* and input.input keys; found {found})")
        architecture = "stylegan2"
        kwargs, tensors = rosinality_to_nvlabs(data, name)
        estimate_w_avg = "mapping.w_avg" not in tensors  # a training checkpoint without latent_avg
        if estimate_w_avg:
            tensors["mapping.w_avg"] = torch.zeros(kwargs["w_dim"])
    network = _build(architecture, kwargs, tensors, name)
    if estimate_w_avg:
        network.mapping.w_avg.copy_(estimate_w_avg_of(network))
    network.architecture = architecture
    network.init_kwargs = kwargs
    network.set_precision(dtype)
    return network.to(device) if device is not None else network


def estimate_w_avg_of(network: torch.nn.Module, samples: int = 10_000, seed: int = 123) -> torch.Tensor:
    """The mean W of ``samples`` seeded z (NVlabs' projector statistics use the same count and seed)."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, network.z_dim, generator=generator)
    c = torch.zeros(samples, network.c_dim)
    with torch.no_grad():
        return network.mapping(z, c).mean(dim=(0, 1))


def save_stylegan(network: torch.nn.Module, path: str | os.PathLike) -> None:
    """Save a generator loaded or built by GANForge as self-describing safetensors."""
    architecture = getattr(network, "architecture", "stylegan2")
    save_safetensors(network.state_dict(), path, architecture, network.init_kwargs)


def _recognise(file, name: str) -> registry.Recognition | None:
    """The model registry's StyleGAN recogniser (see ``models/registry.py``)."""
    content = file.content
    if file.kind == "safetensors":
        if (own := registry.own_file(file, ARCHITECTURES)) is None:
            return None
        architecture, kwargs = own
    elif file.kind == "pickle":
        if isinstance(content, tuple) and content and isinstance(content[0], InertObject) \
                and "tflib" in content[0]._global_name:
            return registry.Recognition("stylegan", "stylegan2-tf", "stylegan", "a TensorFlow-era StyleGAN pickle",
                                        loadable=False, hint="convert it with NVlabs' stylegan2-ada-pytorch legacy.py")
        if not isinstance(content, dict) or not isinstance(content.get("G_ema"), PersistentRecord):
            return None
        record = content["G_ema"]
        architecture = _family(record_state_dict(record))
        if architecture not in ARCHITECTURES:
            return None
        kwargs = _nvlabs_kwargs(record.state.get("_init_kwargs") or {})
    elif is_rosinality_checkpoint(content):
        architecture = "stylegan2"
        kwargs, _ = rosinality_to_nvlabs(content, name)
    else:
        return None
    classes = f", {kwargs['c_dim']} classes" if kwargs.get("c_dim") else ""
    summary = f"a {architecture} generator, {kwargs.get('img_resolution')}px{classes}"
    return registry.Recognition("stylegan", architecture, "stylegan", summary, kwargs)


registry.register("stylegan", _recognise, "an NVlabs .pkl with G_ema, a rosinality .pt with g_ema (style.*, "
                  "input.input), or a GANForge stylegan2 / stylegan3 / dcgan .safetensors")
