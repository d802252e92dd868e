"""The one registry of model families: which family a model file belongs to, from its contents.

Every family registers a *recogniser*: a function that looks at a file read safely (see
:func:`~.checkpoint.read_checkpoint`) and either claims it, with the configuration read off its
keys and shapes, or passes. Loaders ask the registry before they build anything, so a file given
to the wrong loader is named for what it is; ``python -m ganforge inspect FILE`` prints the same
answer, or, for a file nobody claims, what the file looks like and what each family looks for.

A family may recognise files it cannot load yet (``loadable=False``): the answer then says so
instead of "unknown file".
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .checkpoint import ARCH_KEY, KWARGS_KEY, CheckpointError, CheckpointFile, read_checkpoint


@dataclass
class Recognition:
    """A family's claim on a file."""

    family: str  # "stylegan", "superres", "vqgan", "clip", "translation", ...
    architecture: str  # within the family: "stylegan2", "resnet", "unet", "patchgan", ...
    folder: str  # the ComfyUI model folder it belongs in (models/<folder>)
    summary: str  # one line for a person: what it is and its main settings
    config: dict = field(default_factory=dict)  # the settings read off the file
    role: str = "generator"  # what the network does; loaders refuse other roles ("discriminator", ...)
    loadable: bool = True  # False: recognised, but no GANForge node loads it yet
    hint: str = ""  # what to do with it, for messages

    def describe(self) -> str:
        text = f"{self.summary} (family {self.family}, belongs in models/{self.folder})"
        if not self.loadable:
            text += "; GANForge recognises it but cannot load it yet"
        return text


Recogniser = Callable[[CheckpointFile, str], "Recognition | None"]


@dataclass(frozen=True)
class Family:
    name: str
    recognise: Recogniser
    expects: str  # what its files look like, for "nobody claimed it" messages


_FAMILIES: dict[str, Family] = {}
# Modules whose import registers a family; imported on first use so `import ganforge` stays light.
FAMILY_MODULES = ("stylegan", "superres", "vqgan", "guidance", "translation")


def register(name: str, recognise: Recogniser, expects: str) -> None:
    """Add a family (``name`` unique). Called by each family's package at import."""
    if name in _FAMILIES and _FAMILIES[name].recognise is not recognise:
        raise ValueError(f"model family {name!r} is registered twice")
    _FAMILIES[name] = Family(name, recognise, expects)


def families() -> dict[str, Family]:
    for module in FAMILY_MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return dict(_FAMILIES)


def own_file(file: CheckpointFile, architectures: Iterable[str]) -> tuple[str, dict] | None:
    """(architecture, constructor kwargs) of a GANForge ``.safetensors`` whose metadata names one of
    ``architectures``; None for any other file."""
    architecture = file.metadata.get(ARCH_KEY) if file.kind == "safetensors" else None
    if architecture not in architectures:
        return None
    return architecture, json.loads(file.metadata[KWARGS_KEY])


def state_dicts(file: CheckpointFile) -> dict[str, dict[str, torch.Tensor]]:
    """The tensor dicts a file holds, by where they sit: ``""`` for a flat state_dict, the key
    for a dict of state_dicts (MUNIT's ``a``/``b``, BasicSR's ``params_ema``, Lightning's
    ``state_dict``). Empty for anything else (an NVlabs pickle, a list)."""
    content = file.content
    if not isinstance(content, Mapping) or not content:
        return {}
    if all(isinstance(v, torch.Tensor) for v in content.values()):
        return {"": {str(k): v for k, v in content.items()}}
    return {str(key): {str(k): v for k, v in value.items()} for key, value in content.items()
            if isinstance(value, Mapping) and value and all(isinstance(v, torch.Tensor) for v in value.values())}


def recognise_file(file: CheckpointFile, name: str) -> Recognition | None:
    """The first family that claims ``file``, or None. A recogniser that finds a file of its
    family it must refuse raises :class:`~.checkpoint.CheckpointError`."""
    for family in families().values():
        found = family.recognise(file, name)
        if found is not None:
            return found
    return None


def recognise(path: str | os.PathLike) -> tuple[Recognition, CheckpointFile]:
    """Read ``path`` safely and name its family; an unclaimed file raises a
    :class:`~.checkpoint.CheckpointError` that describes it."""
    name = Path(path).name
    file = read_checkpoint(path, "a model file: .safetensors, .pth, .pt, .ckpt, .bin or .pkl")
    found = recognise_file(file, name)
    if found is None:
        raise CheckpointError(unclaimed_message(file, name))
    return found, file


def describe_content(file: CheckpointFile, limit: int = 12) -> list[str]:
    """What a file holds, a line an entry: top-level keys, and for tensors their shapes."""
    lines = []
    if file.metadata.get(ARCH_KEY):
        lines.append(f"GANForge metadata: architecture {file.metadata[ARCH_KEY]!r}")
    content = file.content
    if isinstance(content, Mapping):
        entries = list(content.items())
        for key, value in entries[:limit]:
            lines.append(f"{key}: {_shape_of(value)}")
        if len(entries) > limit:
            lines.append(f"... {len(entries) - limit} more entries")
    else:
        lines.append(f"a {type(content).__name__}")
    return lines


def _shape_of(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor {list(value.shape)} {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, Mapping):
        tensors = sum(isinstance(v, torch.Tensor) for v in value.values())
        first = next(iter(value), None)
        return f"dict of {len(value)} entries ({tensors} tensors; first key {first!r})"
    return type(value).__name__


def unclaimed_message(file: CheckpointFile, name: str) -> str:
    looks = "; ".join(describe_content(file, 6))
    expects = "; ".join(f"{f.name}: {f.expects}" for f in families().values())
    return (f"{name} is not a model file any GANForge family recognises. It holds: {looks}. "
            f"What each family looks for: {expects}")
