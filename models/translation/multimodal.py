"""MUNIT and FUNIT files: recognition, loading, GANForge's own safetensors, and the model objects.

NVlabs/MUNIT's ``trainer.save`` writes ``gen_<iteration>.pt`` = ``{'a': AdaINGen, 'b': AdaINGen}``
state_dicts (the released ``edges2shoes.pt`` has the same layout), ``dis_<iteration>.pt`` =
``{'a', 'b'}`` discriminators and ``optimizer.pt`` = ``{'gen', 'dis'}`` Adam states. NVlabs/FUNIT
writes ``gen_<iteration>.pt`` = ``{'gen', 'gen_test'}`` (``gen_test`` is the moving average the
original tests with), ``dis_<iteration>.pt`` = ``{'dis'}`` and an RMSprop ``optimizer.pt``.

All are plain dicts of tensor dicts and are read with ``weights_only`` (nothing in them runs). Files
saved by PyTorch 0.3, the released MUNIT model among them, also carry running statistics for the
content encoder's instance norms, which the original drops on load; they are dropped here too.
Every file carries the AdaIN layers' dummy ``running_mean`` / ``running_var`` buffers, which are
loaded (so a re-saved file keeps them) and never read.

Generators load in eval mode without gradients; :func:`create_munit` / :func:`create_funit` make
new ones, initialised as the originals' trainers do, for training.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import registry
from ..checkpoint import (
    CheckpointError,
    CheckpointFile,
    build_network,
    count_indexed,
    read_checkpoint,
    save_safetensors,
)
from .munit import AdaINGen, FewShotGen, init_weights

log = logging.getLogger("ganforge")

FOLDER = "translation"
KINDS = ("munit", "funit")
MUNIT_DOMAINS = ("A", "B")
_FILE_KEYS = {"A": "a", "B": "b"}  # MUNIT's file keys of the two domains
_OWN_PREFIX_FUNIT = "gen_test."

# Running statistics of the content encoder's instance norms in PyTorch-0.3 files (the released
# edges2shoes.pt): enc_content.model.{0..n}.norm.* and enc_content.model.<res>.model.<i>.model.<j>.norm.*
_LEGACY_NORM = re.compile(r"^enc_content\.model\.\d+\.(?:model\.\d+\.model\.\d+\.)?norm\."
                          r"(?:running_mean|running_var|num_batches_tracked)$")
# The AdaIN layers' buffers, which the original registers but never reads.
_DUMMY_ADAIN = re.compile(r"^(dec\.model\.0\.model\.\d+\.model\.\d+\.norm\.)running_(?:mean|var)$")


# ------------------------------------------------------------------------------------------ shapes → kwargs


def _downsamplings(tensors: Mapping[str, torch.Tensor], prefix: str) -> int:
    """How many 4×4 (stride-2) convolutions an encoder ``prefix.model.<i>.conv`` has."""
    pattern = re.compile(rf"^{re.escape(prefix)}\.model\.\d+\.conv\.weight$")
    return sum(1 for key, value in tensors.items() if pattern.match(key) and value.shape[-1] == 4)


def _require(tensors: Mapping[str, torch.Tensor], keys: tuple[str, ...], what: str) -> None:
    missing = [key for key in keys if key not in tensors]
    if missing:
        found = sorted(tensors)[:3]
        raise CheckpointError(f"not {what}: no {missing[0]} (the state_dict starts {found})")


def munit_kwargs(tensors: Mapping[str, torch.Tensor]) -> dict:
    """:class:`~.munit.AdaINGen` arguments read off one MUNIT generator's state_dict (``gen_a`` or
    ``gen_b``: one entry of a ``gen_*.pt``). ``activ`` and ``pad_type`` leave no trace in the
    weights; every shipped configuration uses relu and reflect. Raises
    :class:`~..checkpoint.CheckpointError` for anything else."""
    what = "an NVlabs MUNIT AdaINGen state_dict"
    if any(key.startswith("enc_class_model.") for key in tensors):
        raise CheckpointError(f"not {what}: this is a FUNIT generator (enc_class_model); load it as FUNIT")
    _require(tensors, ("enc_style.model.0.conv.weight", "enc_content.model.0.conv.weight", "mlp.model.0.fc.weight"),
             what)
    if not any(key.startswith("dec.") and key.endswith(".norm.gamma") for key in tensors):
        raise CheckpointError(f"not {what}: its decoder has no LayerNorm (norm.gamma)")
    first = tensors["enc_content.model.0.conv.weight"]
    n_downsample = _downsamplings(tensors, "enc_content")
    style_downs = _downsamplings(tensors, "enc_style")
    if style_downs != 4:
        raise CheckpointError(f"{what} with {style_downs} style-encoder downsamplings: MUNIT's has 4")
    mlp = tensors["mlp.model.0.fc.weight"]
    return dict(input_dim=int(first.shape[1]), dim=int(first.shape[0]), style_dim=int(mlp.shape[1]),
                n_downsample=n_downsample,
                n_res=count_indexed(tensors, rf"enc_content\.model\.{n_downsample + 1}\.model\.(\d+)\."),
                activ="relu", pad_type="reflect", mlp_dim=int(mlp.shape[0]),
                n_mlp=count_indexed(tensors, r"mlp\.model\.(\d+)\."))


def funit_kwargs(tensors: Mapping[str, torch.Tensor]) -> dict:
    """:class:`~.munit.FewShotGen` arguments (the original's ``gen:`` settings) read off a FUNIT
    generator's state_dict (``gen`` or ``gen_test``). Raises
    :class:`~..checkpoint.CheckpointError` for anything else."""
    what = "an NVlabs FUNIT FewShotGen state_dict"
    if any(key.startswith("enc_style.") for key in tensors):
        raise CheckpointError(f"not {what}: this is a MUNIT generator (enc_style); load it as MUNIT")
    _require(tensors, ("enc_class_model.model.0.conv.weight", "enc_content.model.0.conv.weight",
                       "mlp.model.0.fc.weight"), what)
    first = tensors["enc_content.model.0.conv.weight"]
    if first.shape[1] != 3:
        raise CheckpointError(f"{what} for {first.shape[1]}-channel pictures: FUNIT's networks are RGB only")
    n_downs_content = _downsamplings(tensors, "enc_content")
    mlp = tensors["mlp.model.0.fc.weight"]
    return dict(nf=int(first.shape[0]), nf_mlp=int(mlp.shape[0]), latent_dim=int(mlp.shape[1]),
                n_mlp_blks=count_indexed(tensors, r"mlp\.model\.(\d+)\."),
                n_res_blks=count_indexed(tensors, rf"enc_content\.model\.{n_downs_content + 1}\.model\.(\d+)\."),
                n_downs_content=n_downs_content, n_downs_class=_downsamplings(tensors, "enc_class_model"))


# ------------------------------------------------------------------------------------------ descriptor


@dataclass
class MultimodalInfo:
    """What a node needs to know about a MUNIT / FUNIT model.

    ``kwargs`` are the generator's constructor arguments (for MUNIT those of domain A; ``channels``
    holds each domain's picture channels, the one setting in which the two may differ)."""

    kind: str  # "munit" or "funit"
    kwargs: dict
    source: str = "NVlabs"  # or "GANForge"
    domains: tuple[str, str] = MUNIT_DOMAINS  # display names of domains A and B
    channels: dict[str, int] = field(default_factory=dict)  # MUNIT: picture channels of "A" and "B"
    notes: list[str] = field(default_factory=list)

    @property
    def style_dim(self) -> int:
        """Length of a style code (FUNIT: of a class code)."""
        return self.kwargs["style_dim" if self.kind == "munit" else "latent_dim"]

    @property
    def content_channels(self) -> int:
        if self.kind == "munit":
            return self.kwargs["dim"] * 2 ** self.kwargs["n_downsample"]
        return self.kwargs["nf"] * 2 ** self.kwargs["n_downs_content"]

    @property
    def size_multiple(self) -> int:
        """Picture sides must be multiples of this (the content encoder's total stride)."""
        return 2 ** self.kwargs["n_downsample" if self.kind == "munit" else "n_downs_content"]

    def generator_kwargs(self, domain: str = "A") -> dict:
        """Constructor arguments of one domain's generator (MUNIT) or of the generator (FUNIT)."""
        if self.kind == "funit":
            return dict(self.kwargs)
        return {**self.kwargs, "input_dim": self.channels.get(domain, self.kwargs["input_dim"])}

    def describe(self, name: str) -> str:
        k = self.kwargs
        if self.kind == "munit":
            a, b = (self.channels.get(d, k["input_dim"]) for d in MUNIT_DOMAINS)
            body = (f"MUNIT dim {k['dim']}, {k['n_downsample']} downsamplings, {k['n_res']} residual blocks, "
                    f"style {k['style_dim']}, MLP {k['mlp_dim']}, {self.domains[0]} {a} / {self.domains[1]} {b} "
                    "channels")
        else:
            body = (f"FUNIT nf {k['nf']}, {k['n_downs_content']} content / {k['n_downs_class']} class "
                    f"downsamplings, {k['n_res_blks']} residual blocks, class code {k['latent_dim']}, "
                    f"MLP {k['nf_mlp']}")
        return f"{name}: {body}, sides multiples of {self.size_multiple} ({self.source})"


# ------------------------------------------------------------------------------------------ recognition


def _stored(kind: str, stored: dict) -> MultimodalInfo:
    return MultimodalInfo(kind, dict(stored["kwargs"]), "GANForge", tuple(stored.get("domains", MUNIT_DOMAINS)),
                          {str(k): int(v) for k, v in stored.get("channels", {}).items()})


def _munit_pair_info(dicts: Mapping[str, Mapping[str, torch.Tensor]], name: str) -> MultimodalInfo:
    found = {domain: munit_kwargs(dicts[key]) for domain, key in _FILE_KEYS.items()}
    shared = [{k: v for k, v in kwargs.items() if k != "input_dim"} for kwargs in found.values()]
    if shared[0] != shared[1]:
        raise CheckpointError(f"{name}: its generators a and b have different settings ({shared[0]} vs {shared[1]});"
                              " MUNIT trains both from one configuration")
    return MultimodalInfo("munit", found["A"], channels={d: kw["input_dim"] for d, kw in found.items()})


def _optimizer_kind(content: Mapping) -> str | None:
    """"munit" (Adam: MUNIT's trainer) or "funit" (RMSprop: FUNIT's) for an ``optimizer.pt``."""
    states = [content.get(key) for key in ("gen", "dis")]
    if not all(isinstance(s, Mapping) and {"state", "param_groups"} <= set(s) for s in states):
        return None
    groups = states[0]["param_groups"]
    group = groups[0] if isinstance(groups, list | tuple) and groups and isinstance(groups[0], Mapping) else {}
    if "betas" in group:
        return "munit"
    if "alpha" in group:
        return "funit"
    return None


def _generator_file(name: str) -> str:
    return re.sub(r"^dis_", "gen_", name) if name.startswith("dis_") else "the gen_<iteration>.pt beside it"


def recognise_multimodal(file: CheckpointFile, name: str) -> registry.Recognition | None:
    """Claim MUNIT / FUNIT generator files (NVlabs ``gen_*.pt``, the released ``edges2shoes.pt``,
    GANForge safetensors), and name their discriminator and optimizer files (roles
    "discriminator" / "optimizer", with a hint to load the generator file instead). None for any
    other file; :class:`~..checkpoint.CheckpointError` for a MUNIT pair that cannot be one."""
    own = registry.own_file(file, KINDS)
    if own is not None:
        info = _stored(*own)
        return registry.Recognition("translation", info.kind, FOLDER, info.describe(name),
                                    {**info.kwargs, "channels": info.channels})
    content = file.content
    if not isinstance(content, Mapping):
        return None
    dicts = registry.state_dicts(file)

    def starts(key: str, prefix: str) -> bool:
        return key in dicts and any(k.startswith(prefix) for k in dicts[key])

    if starts("a", "enc_style.") and starts("b", "enc_style."):
        info = _munit_pair_info(dicts, name)
        return registry.Recognition("translation", "munit", FOLDER,
                                    "an NVlabs MUNIT generator pair: " + info.describe(name).split(": ", 1)[1],
                                    {**info.kwargs, "channels": info.channels})
    if starts("a", "cnns.") and starts("b", "cnns."):
        tensors = dicts["a"]
        config = dict(input_dim=int(tensors["cnns.0.0.conv.weight"].shape[1]),
                      dim=int(tensors["cnns.0.0.conv.weight"].shape[0]),
                      n_layer=count_indexed(tensors, r"cnns\.0\.(\d+)\.conv\.weight"),
                      num_scales=count_indexed(tensors, r"cnns\.(\d+)\."))
        return registry.Recognition(
            "translation", "munit", FOLDER,
            f"an NVlabs MUNIT discriminator pair ({config['num_scales']} scales, {config['n_layer']} layers)", config,
            role="discriminator",
            hint=f"a discriminator file only judges pictures during training; load {_generator_file(name)} instead")
    code = "gen_test" if "gen_test" in dicts else "gen"
    if starts(code, "enc_class_model."):
        kwargs = funit_kwargs(dicts[code])
        info = MultimodalInfo("funit", kwargs)
        average = "" if code == "gen_test" else " (no gen_test: its training weights, not the moving average)"
        return registry.Recognition("translation", "funit", FOLDER,
                                    "an NVlabs FUNIT few-shot generator: " + info.describe(name).split(": ", 1)[1]
                                    + average, kwargs)
    if starts("dis", "cnn_f."):
        tensors = dicts["dis"]
        blocks = {key.split(".")[1] for key in tensors if ".conv_0." in key}
        config = {"nf": int(tensors["cnn_f.0.conv.weight"].shape[0]), "n_res_blks": len(blocks)}
        if "cnn_c.0.conv.weight" in tensors:
            config["num_classes"] = int(tensors["cnn_c.0.conv.weight"].shape[0])
        return registry.Recognition(
            "translation", "funit", FOLDER,
            f"an NVlabs FUNIT discriminator ({config['n_res_blks']} residual blocks, "
            f"{config.get('num_classes', '?')} classes)", config,
            role="discriminator",
            hint=f"a discriminator file only judges pictures during training; load {_generator_file(name)} instead")
    kind = _optimizer_kind(content)
    if kind is not None:
        return registry.Recognition(
            "translation", kind, FOLDER, f"an NVlabs {kind.upper()} optimizer state (optimizer.pt)", {},
            role="optimizer",
            hint="optimizer.pt only resumes training; load a gen_<iteration>.pt file from the same folder instead")
    return None


# ------------------------------------------------------------------------------------------ models


def _check_pictures(x: torch.Tensor, channels: int, multiple: int | None, what: str) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"{what} takes pictures [N, {channels}, H, W] in [-1, 1], not {list(x.shape)}")
    if multiple is not None and (x.shape[2] % multiple or x.shape[3] % multiple):
        raise ValueError(f"{what} needs picture sides that are multiples of {multiple}, not "
                         f"{x.shape[2]}×{x.shape[3]}; resize or crop the pictures")


def _like(x: torch.Tensor, network: torch.nn.Module) -> torch.Tensor:
    """``x`` on the network's device and in its dtype."""
    weight = next(network.parameters())
    return x.to(device=weight.device, dtype=weight.dtype)


def _check_content(content: torch.Tensor, channels: int, what: str) -> None:
    if content.dim() != 4 or content.shape[1] != channels:
        raise ValueError(f"{what} decodes content codes [N, {channels}, h, w], not {list(content.shape)}")


@dataclass
class MunitModel:
    """A MUNIT pair: ``generators["A"]`` encodes and decodes domain A pictures, ``["B"]`` domain B.
    Translating A→B is ``decode("B", encode_content("A", x), style)`` with a style of domain B
    (``encode_style("B", picture)`` or :meth:`random_style`)."""

    generators: dict[str, AdaINGen]
    info: MultimodalInfo

    def generator(self, domain: str) -> AdaINGen:
        """The generator of ``domain``: "A" / "B" or the domain's display name."""
        key = domain.upper() if domain.upper() in self.generators else None
        if key is None and domain in self.info.domains:
            key = MUNIT_DOMAINS[self.info.domains.index(domain)]
        if key is None or key not in self.generators:
            raise ValueError(f"no domain {domain!r} (A = {self.info.domains[0]}, B = {self.info.domains[1]})")
        return self.generators[key]

    def _channels(self, domain: str) -> int:
        return self.generator(domain).enc_content.model[0].conv.in_channels

    def encode_content(self, domain: str, x: torch.Tensor) -> torch.Tensor:
        """Pictures of ``domain`` [N, C, H, W] in [-1, 1] (sides multiples of ``size_multiple``) →
        content codes [N, content_channels, H/size_multiple, W/size_multiple]."""
        _check_pictures(x, self._channels(domain), self.info.size_multiple, f"MUNIT domain {domain}")
        network = self.generator(domain)
        return network.encode_content(_like(x, network))

    def encode_style(self, domain: str, x: torch.Tensor) -> torch.Tensor:
        """Pictures of ``domain`` (any size: the code is pooled over the picture) → style codes
        [N, style_dim, 1, 1]."""
        _check_pictures(x, self._channels(domain), None, f"MUNIT domain {domain}")
        network = self.generator(domain)
        return network.encode_style(_like(x, network))

    def decode(self, domain: str, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Pictures of ``domain`` in [-1, 1] from content codes and styles of ``domain`` ([N,
        style_dim, 1, 1] or [N, style_dim]): the i-th content with the i-th style, or one content
        with every style, or every content with one style."""
        _check_content(content, self.info.content_channels, "MUNIT")
        network = self.generator(domain)
        return network.decode(_like(content, network), _like(style, network))

    def random_style(self, n: int, seed: int, device: torch.device | str | None = None) -> torch.Tensor:
        """``n`` styles drawn from N(0, I), the prior MUNIT samples from: [n, style_dim, 1, 1],
        drawn on the CPU from ``seed`` so that every device gets the same codes."""
        weight = next(self.generators["A"].parameters())
        codes = torch.randn(n, self.info.style_dim, 1, 1, generator=torch.Generator().manual_seed(seed))
        return codes.to(device=weight.device if device is None else device, dtype=weight.dtype)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> MunitModel:
        for network in self.generators.values():
            network.to(device=device, dtype=dtype)
        return self


@dataclass
class FunitModel:
    """A FUNIT few-shot translator: ``generator`` holds the ``gen_test`` (moving-average) weights.
    Translating is ``decode(encode_content(x), class_code(pictures_of_the_target_class))``."""

    generator: FewShotGen
    info: MultimodalInfo

    def encode_content(self, x: torch.Tensor) -> torch.Tensor:
        """Pictures [N, 3, H, W] in [-1, 1] (sides multiples of ``size_multiple``) → content codes."""
        _check_pictures(x, 3, self.info.size_multiple, "FUNIT")
        return self.generator.encode_content(_like(x, self.generator))

    def encode_class(self, x: torch.Tensor) -> torch.Tensor:
        """Pictures of one class (any size) → one code per picture [N, latent_dim, 1, 1]."""
        _check_pictures(x, 3, None, "FUNIT")
        return self.generator.encode_class(_like(x, self.generator))

    def class_code(self, x: torch.Tensor) -> torch.Tensor:
        """The class code of K example pictures [K, 3, H, W]: the plain mean of their codes, as the
        original's test_k_shot.py computes it: [1, latent_dim, 1, 1]."""
        codes = self.encode_class(x)
        return codes.sum(dim=0, keepdim=True) / codes.shape[0]

    def decode(self, content: torch.Tensor, class_code: torch.Tensor) -> torch.Tensor:
        """Pictures in [-1, 1] from content codes and a class code [1, latent_dim, 1, 1] (applied
        to every content; a batch of codes pairs with the contents one to one)."""
        _check_content(content, self.info.content_channels, "FUNIT")
        return self.generator.decode(_like(content, self.generator), _like(class_code, self.generator))

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> FunitModel:
        self.generator.to(device=device, dtype=dtype)
        return self


# ------------------------------------------------------------------------------------------ loading


def _clean(tensors: Mapping[str, torch.Tensor], name: str, notes: list[str]) -> dict[str, torch.Tensor]:
    """The tensors without PyTorch-0.3 content-encoder statistics, and with any missing dummy AdaIN
    buffer filled in (neither is ever read)."""
    out = {key: value for key, value in tensors.items() if not _LEGACY_NORM.match(key)}
    dropped = len(tensors) - len(out)
    if dropped:
        log.info("%s: dropped %d content-encoder InstanceNorm statistics (PyTorch-0.3 file; never used)",
                 name, dropped)
        note = "dropped the content encoder's InstanceNorm statistics of a PyTorch-0.3 file (never used)"
        if note not in notes:
            notes.append(note)
    pattern = re.compile(r"^(dec\.model\.0\.model\.\d+\.model\.\d+\.)conv\.bias$")
    for key, value in tensors.items():
        if (match := pattern.match(key)) is not None:
            prefix = match.group(1) + "norm."
            out.setdefault(prefix + "running_mean", torch.zeros_like(value))
            out.setdefault(prefix + "running_var", torch.ones_like(value))
    return out


def _read(path: Path, expected: str, kind: str) -> tuple[CheckpointFile, registry.Recognition]:
    file = read_checkpoint(path, expected)
    found = recognise_multimodal(file, path.name)
    if found is None:
        other = registry.recognise_file(file, path.name)
        if other is None:
            raise CheckpointError(registry.unclaimed_message(file, path.name))
        raise CheckpointError(f"{path.name} is {other.summary}, not {expected}")
    if found.architecture != kind:
        loader = "load_funit" if found.architecture == "funit" else "load_munit"
        raise CheckpointError(f"{path.name} is {found.summary}, not {expected}: open it as {found.architecture.upper()}"
                              f" ({loader})")
    if found.role != "generator":
        raise CheckpointError(f"{path.name} is {found.summary}, not {expected}: {found.hint}")
    return file, found


def _prefixed(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def load_munit(path: str | os.PathLike, device: torch.device | str | None = None,
               dtype: torch.dtype | None = None) -> MunitModel:
    """A MUNIT pair from an NVlabs ``gen_*.pt`` / ``edges2shoes.pt`` (any PyTorch version's file) or
    a GANForge ``.safetensors``. Nothing in the file is executed; the networks come back in eval
    mode without gradients."""
    path = Path(path)
    file, _ = _read(path, "a MUNIT generator file (NVlabs gen_*.pt / edges2shoes.pt or a GANForge .safetensors)",
                    "munit")
    own = registry.own_file(file, KINDS)
    if own is not None:
        info = _stored(*own)
        tensors = {domain: _prefixed(file.content, f"{domain}.") for domain in MUNIT_DOMAINS}
    else:
        dicts = registry.state_dicts(file)
        info = _munit_pair_info(dicts, path.name)
        tensors = {domain: dicts[key] for domain, key in _FILE_KEYS.items()}
    generators = {domain: build_network(AdaINGen, info.generator_kwargs(domain),
                                        _clean(tensors[domain], path.name, info.notes), path.name,
                                        f"a MUNIT generator (domain {domain})")
                  for domain in MUNIT_DOMAINS}
    return MunitModel(generators, info).to(device, dtype)


def load_funit(path: str | os.PathLike, device: torch.device | str | None = None,
               dtype: torch.dtype | None = None) -> FunitModel:
    """A FUNIT generator from an NVlabs ``gen_*.pt`` (its ``gen_test`` weights, the moving average
    the original tests with; ``gen`` with a note when a file lacks them) or a GANForge
    ``.safetensors``. Nothing in the file is executed; eval mode, no gradients."""
    path = Path(path)
    file, _ = _read(path, "a FUNIT generator file (NVlabs gen_*.pt or a GANForge .safetensors)", "funit")
    own = registry.own_file(file, KINDS)
    if own is not None:
        info = _stored(*own)
        tensors = _prefixed(file.content, _OWN_PREFIX_FUNIT)
    else:
        dicts = registry.state_dicts(file)
        code = "gen_test" if "gen_test" in dicts else "gen"
        tensors = dicts[code]
        info = MultimodalInfo("funit", funit_kwargs(tensors))
        if code == "gen":
            info.notes.append("the file has no gen_test (the moving average the original tests with); "
                              "using its training weights gen")
    generator = build_network(FewShotGen, info.kwargs, _clean(tensors, path.name, info.notes), path.name,
                              "a FUNIT generator")
    return FunitModel(generator, info).to(device, dtype)


# ------------------------------------------------------------------------------------------ new models, saving


def _complete(factory: type, kwargs: Mapping) -> dict:
    defaults = {name: p.default for name, p in inspect.signature(factory).parameters.items()}
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {factory.__name__} settings {unknown} (known: {sorted(defaults)})")
    return {**defaults, **kwargs}


def create_munit(kwargs: Mapping, domains: tuple[str, str] = MUNIT_DOMAINS) -> MunitModel:
    """A new MUNIT pair with :class:`~.munit.AdaINGen` settings ``kwargs`` (the original's ``gen:``
    block; ``input_dim_a`` / ``input_dim_b`` give the domains different channel counts), initialised
    as the original's trainer does ("kaiming"), in training mode."""
    kwargs = dict(kwargs)
    channels = {domain: kwargs.pop(f"input_dim_{key}", None) for domain, key in _FILE_KEYS.items()}
    kwargs = _complete(AdaINGen, kwargs)
    channels = {domain: int(kwargs["input_dim"] if c is None else c) for domain, c in channels.items()}
    kwargs["input_dim"] = channels["A"]
    info = MultimodalInfo("munit", kwargs, "GANForge", tuple(domains), channels)
    generators = {domain: init_weights(AdaINGen(**info.generator_kwargs(domain)), "kaiming")
                  for domain in MUNIT_DOMAINS}
    return MunitModel(generators, info)


def create_funit(kwargs: Mapping) -> FunitModel:
    """A new FUNIT generator with :class:`~.munit.FewShotGen` settings ``kwargs``, initialised as
    the original's trainer does ("kaiming"), in training mode."""
    kwargs = _complete(FewShotGen, kwargs)
    return FunitModel(init_weights(FewShotGen(**kwargs), "kaiming"), MultimodalInfo("funit", kwargs, "GANForge"))


def save_multimodal(model: MunitModel | FunitModel, path: str | os.PathLike) -> None:
    """Self-describing safetensors (``A.*`` / ``B.*`` for MUNIT, ``gen_test.*`` for FUNIT) that
    :func:`load_munit` / :func:`load_funit` read back. Refuses to replace an existing file."""
    info = model.info
    if isinstance(model, MunitModel):
        tensors = {f"{domain}.{k}": v for domain in MUNIT_DOMAINS
                   for k, v in model.generators[domain].state_dict().items()}
        stored = {"kwargs": info.kwargs, "domains": list(info.domains),
                  "channels": {d: int(model._channels(d)) for d in MUNIT_DOMAINS}}
    else:
        tensors = {_OWN_PREFIX_FUNIT + k: v for k, v in model.generator.state_dict().items()}
        stored = {"kwargs": info.kwargs}
    save_safetensors(tensors, path, info.kind, stored)
