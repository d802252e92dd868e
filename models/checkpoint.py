"""Reading model files safely, and GANForge's own self-describing safetensors format."""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .safe_pickle import UnsafePickleError, inert_class, is_inert_module, restricted_load

ARCH_KEY = "ganforge.architecture"
KWARGS_KEY = "ganforge.kwargs"


class CheckpointError(ValueError):
    """A model file that cannot be read or recognised; the message names the file and why."""


# torch.save's pre-1.6 format starts with a pickled magic number (0x1950a86a20f9469cfc6c).
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def sniff_format(path: str | os.PathLike) -> str:
    """'safetensors', 'torch-zip' (torch.save, also its legacy format), 'pickle' (protocol 2+), or 'unknown'."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith((b"PK\x03\x04", _LEGACY_TORCH_MAGIC)):
        return "torch-zip"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    return "unknown"


def read_pickle(path: str | os.PathLike) -> Any:
    """A plain pickle through the restricted unpickler (NVlabs .pkl, TF-era .pkl)."""
    try:
        with open(path, "rb") as handle:
            return restricted_load(handle)
    except UnsafePickleError as error:
        raise CheckpointError(f"{Path(path).name}: {error}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{Path(path).name} is truncated or corrupt ({type(error).__name__}: {error})") from None


def read_torch_file(path: str | os.PathLike) -> Any:
    """A torch.save file, with ``weights_only=True`` (no code can run).

    ``argparse.Namespace`` is allowed as well: training scripts (rosinality's among them) store
    their arguments in one, and it rebuilds as a plain attribute bag. Classes of training
    frameworks (a Lightning ``.ckpt`` keys its callback states by the callback class) become inert
    records (see :func:`~.safe_pickle.inert_class`); any other class is refused by name.
    """
    name = Path(path).name
    try:
        named = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError):
        named = []  # torch's legacy format cannot be listed: plain weights_only decides below
    named = [g for g in named if g != "argparse.Namespace"]
    refused = [g for g in named if not is_inert_module(g.rsplit(".", 1)[0])]
    if refused:
        raise CheckpointError(f"{name} asks to call {', '.join(refused[:3])}, which a model file has no reason "
                              "to use; refusing to load it (nothing from the file was run)")
    try:
        with torch.serialization.safe_globals([argparse.Namespace, *[(inert_class(g), g) for g in named]]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{name} could not be read safely: {str(error).splitlines()[0]}") from None


def save_safetensors(state_dict: dict[str, torch.Tensor], path: str | os.PathLike, architecture: str,
                     kwargs: dict) -> None:
    """Write weights plus the architecture name and constructor kwargs (JSON) as metadata.

    Refuses to replace an existing file: a user's file is never overwritten by accident.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; choose another name (files are never replaced)")
    tensors = {name: tensor.detach().contiguous().cpu() for name, tensor in state_dict.items()}
    metadata = {ARCH_KEY: architecture, KWARGS_KEY: json.dumps(kwargs, sort_keys=True), "format": "pt"}
    tmp = path.with_name(path.name + ".partial")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises its own exception types
        raise CheckpointError(f"{Path(path).name} is not a readable safetensors file: {error}") from None
    return tensors, metadata


@dataclass
class CheckpointFile:
    """What a model file holds, read safely: ``content`` is the tensor dict for safetensors and
    the unpickled (inert) object for the two pickle formats."""

    kind: str  # 'safetensors', 'torch-zip' or 'pickle' (see sniff_format)
    content: Any
    metadata: dict[str, str]


def read_checkpoint(path: str | os.PathLike, expected: str) -> CheckpointFile:
    """Read any model file format GANForge accepts, never executing code from it. ``expected``
    completes the message for other files ("expected <expected>")."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    kind = sniff_format(path)
    if kind == "safetensors":
        tensors, metadata = read_safetensors(path)
        return CheckpointFile(kind, tensors, metadata)
    if kind == "torch-zip":
        return CheckpointFile(kind, read_torch_file(path), {})
    if kind == "pickle":
        return CheckpointFile(kind, read_pickle(path), {})
    raise CheckpointError(f"{path.name} is not a model file GANForge can read (expected {expected})")


def count_indexed(tensors: Mapping[str, Any], pattern: str) -> int:
    """How many numbered entries a state_dict has: 1 + the largest index ``pattern``'s group
    captures (for the pattern of ``encoder.down.N.``: the number of encoder levels); 0 if none."""
    found = {int(m.group(1)) for key in tensors if (m := re.match(pattern, key))}
    return max(found) + 1 if found else 0


def unwrap_state_dict(data: Any, name: str, drop_prefixes: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """The state_dict inside the common wrappers (BasicSR ``params_ema`` / ``params``, Lightning's
    ``state_dict``, ``model``), without DataParallel's ``module.`` prefix and without the keys under
    ``drop_prefixes`` (a training loss's weights, say)."""
    if isinstance(data, dict):
        for key in ("params_ema", "params", "state_dict", "model"):
            if isinstance(data.get(key), dict) and data[key]:
                data = data[key]
                break
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        found = sorted(map(str, data))[:8] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{name} does not hold a state_dict of tensors (found {found})")
    tensors = {re.sub(r"^module\.", "", key): value for key, value in data.items()}
    return {key: value for key, value in tensors.items() if not key.startswith(drop_prefixes)} if drop_prefixes \
        else tensors


def build_network(factory: Callable[..., torch.nn.Module], kwargs: dict, tensors: dict[str, torch.Tensor],
                  name: str, what: str) -> torch.nn.Module:
    """Build ``factory(**kwargs)`` without allocating, check that ``tensors`` are exactly its
    state_dict (names and shapes), load them as float32, and return it in eval mode without
    gradients. ``what`` names the network in messages ("a stylegan2 generator")."""
    try:
        with torch.device("meta"):
            network = factory(**kwargs)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{name}: the constructor arguments do not fit ({error})") from None
    # Real (uninitialised, so never touched) CPU storage for the parameters and buffers. Not
    # Module.to_empty: empty_like on a meta tensor imports sympy (~35 MB) for symbolic shapes.
    network = network._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device="cpu"))
    expected = network.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tuple(tensors[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        details = []
        if missing:
            details.append(f"missing {len(missing)} (e.g. {missing[0]})")
        if unexpected:
            details.append(f"unexpected {len(unexpected)} (e.g. {unexpected[0]})")
        if wrong:
            details.append(f"{len(wrong)} of another shape (e.g. {wrong[0]}: {tuple(tensors[wrong[0]].shape)} "
                           f"vs {tuple(expected[wrong[0]].shape)})")
        raise CheckpointError(f"{name}: the weights do not match {what} built from its arguments: "
                              f"{'; '.join(details)}")
    # assign: the file's tensors become the parameters (float32 files without a copy), so the
    # weights are never held twice while loading
    network.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in tensors.items()},
                            assign=True)
    return network.eval().requires_grad_(False)
