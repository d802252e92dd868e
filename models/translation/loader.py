"""``load_translation(path)``: a pix2pix / CycleGAN generator (or a CycleGAN pair) from a junyanz
``.pth`` or a GANForge ``.safetensors``, recognised by the model registry, built with the
original's parameter names, and returned as a :class:`Translator` (networks + descriptor).

A junyanz CycleGAN run writes ``<epoch>_net_G_A.pth`` (A->B) and ``<epoch>_net_G_B.pth`` (B->A);
given one of them, the other is loaded too when it sits beside it. Our own files hold one
direction (``G.*``) or both (``G_A.*``, ``G_B.*``).
"""

from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .. import registry
from ..checkpoint import CheckpointError, CheckpointFile, build_network, save_safetensors
from .networks import NLayerDiscriminator, ResnetGenerator, UnetGenerator, set_inference_mode
from .recognise import (
    FOLDER,
    add_missing_batch_counters,
    drop_legacy_statistics,
    junyanz_generator,
    patchgan_kwargs,
)

log = logging.getLogger("ganforge")
ARCHITECTURE = "translation"  # our safetensors' architecture name
FACTORIES: dict[str, type[nn.Module]] = {"resnet": ResnetGenerator, "unet": UnetGenerator,
                                         "patchgan": NLayerDiscriminator}
DIRECTIONS = ("A->B", "B->A")
# Where the other translation families load (for messages about a file given to the wrong loader).
LOADERS = {"munit": "load it with GANForge Load MUNIT (load_munit)",
           "funit": "load it with GANForge Load FUNIT (load_funit)",
           "spade": "load it with GANForge Load Semantic Synthesis (load_semantic)",
           "pix2pixhd-global": "load it with GANForge Load Semantic Synthesis (load_semantic)",
           "pix2pixhd-local": "load it with GANForge Load Semantic Synthesis (load_semantic)"}


@dataclass
class TranslationInfo:
    """What a node needs to know about a translator, in one place."""

    architecture: str  # "resnet" or "unet"
    kwargs: dict  # constructor arguments of each generator
    source: str  # "junyanz" or "GANForge"
    kind: str = "pix2pix"  # "pix2pix" (one direction) or "cyclegan" (a pair)
    domains: tuple[str, str] = ("A", "B")  # names of the two picture domains, for labels
    dropout_known: bool = True  # False: a U-Net file, whose dropout the keys cannot show
    notes: list[str] = field(default_factory=list)

    @property
    def input_nc(self) -> int:
        return self.kwargs["input_nc"]

    @property
    def output_nc(self) -> int:
        return self.kwargs["output_nc"]

    @property
    def size_multiple(self) -> int:
        return 2 ** self.kwargs["num_downs"] if self.architecture == "unet" else 4

    def describe(self, name: str) -> str:
        k = self.kwargs
        body = (f"ResNet {k['n_blocks']} blocks" if self.architecture == "resnet"
                else f"U-Net {k['num_downs']} levels (unet_{2 ** k['num_downs']})")
        dropout = "dropout" if k["use_dropout"] else "no dropout"
        pair = ", both directions" if self.kind == "cyclegan" else ""
        return (f"{name}: {self.kind} {body}, ngf {k['ngf']}, {k['norm']} norm, {dropout}, "
                f"{k['input_nc']}→{k['output_nc']} channels{pair} ({self.source})")


@dataclass
class Translator:
    """One generator per direction ("A->B", and for a CycleGAN pair "B->A") and their descriptor."""

    networks: dict[str, nn.Module]
    info: TranslationInfo

    def network(self, direction: str = "A->B") -> nn.Module:
        if direction not in self.networks:
            raise ValueError(f"this translator has no {direction} direction (it has {', '.join(self.networks)})")
        return self.networks[direction]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Translator:
        for network in self.networks.values():
            network.to(device=device, dtype=dtype)
        return self


def _stored_info(stored: dict) -> TranslationInfo:
    """The descriptor our safetensors' metadata holds."""
    return TranslationInfo(stored["architecture"], stored["kwargs"], "GANForge", stored.get("kind", "pix2pix"),
                           tuple(stored.get("domains", ("A", "B"))))


def _recognise(file: CheckpointFile, name: str) -> registry.Recognition | None:
    """junyanz generators and discriminators here; MUNIT / FUNIT and SPADE / pix2pixHD files by
    their own modules' recognisers."""
    from .multimodal import recognise_multimodal
    from .semantic import recognise_semantic

    found = _recognise_junyanz(file, name)
    for recogniser in (recognise_multimodal, recognise_semantic):
        if found is None:
            found = recogniser(file, name)
    return found


def _recognise_junyanz(file: CheckpointFile, name: str) -> registry.Recognition | None:
    if (own := registry.own_file(file, [ARCHITECTURE])) is not None:
        info = _stored_info(own[1])
        return registry.Recognition("translation", info.architecture, FOLDER, info.describe(name),
                                    {"kind": info.kind, **info.kwargs})
    dicts = registry.state_dicts(file)
    flat = dicts.get("")
    if flat is None and len(dicts) == 1 and next(iter(dicts)) in ("state_dict", "model", "params"):
        flat = next(iter(dicts.values()))
    if flat is not None:
        flat = {re.sub(r"^module\.", "", k): v for k, v in flat.items()}
        found = junyanz_generator(flat)
        if found is not None:
            architecture, kwargs = found
            info = TranslationInfo(architecture, kwargs, "junyanz", dropout_known=architecture == "resnet")
            kind = "CycleGAN / pix2pix"
            return registry.Recognition("translation", architecture, FOLDER,
                                        f"a junyanz {kind} generator: " + info.describe(name).split(": ", 1)[1],
                                        kwargs)
        try:
            kwargs = patchgan_kwargs(flat)
        except Exception:
            kwargs = None
        if kwargs is not None:
            return registry.Recognition(
                "translation", "patchgan", FOLDER,
                f"a junyanz PatchGAN discriminator ({kwargs['n_layers']} layers, {kwargs['input_nc']} input "
                f"channels, {kwargs['norm']} norm)", kwargs, role="discriminator",
                hint="a discriminator (the *_net_D file) only judges pictures during training; load the matching "
                     "*_net_G file (for CycleGAN *_net_G_A / *_net_G_B) instead")
    return None


registry.register("translation", _recognise,
                  "a junyanz pix2pix / CycleGAN generator state_dict (model.1 7x7 conv + model.N.conv_block "
                  "ResNet blocks, or nested model.model.* U-Net levels); an NVlabs MUNIT / FUNIT gen_*.pt (a/b or "
                  "gen/gen_test dicts of enc_content.*, dec.*, mlp.*); a SPADE latest_net_G.pth (fc + head_0.* "
                  "SPADE blocks) or a pix2pixHD one (model.* with 3+ downsamplings, model1_* enhancers); or a "
                  "GANForge translation .safetensors")


def _build(architecture: str, kwargs: dict, tensors: dict[str, torch.Tensor], name: str) -> nn.Module:
    tensors, dropped = drop_legacy_statistics(dict(tensors), kwargs.get("norm", ""))
    if dropped:
        log.info("%s: dropped %d InstanceNorm running statistics (2018-era file; never used at test time)",
                 name, dropped)
    tensors = add_missing_batch_counters(tensors)
    network = build_network(FACTORIES[architecture], kwargs, tensors, name, f"a junyanz {architecture} generator")
    return network


def partner_file(path: Path) -> tuple[Path, str] | None:
    """The other half of a junyanz CycleGAN pair beside ``path`` and the direction ``path`` has."""
    match = re.fullmatch(r"(.*_net_G_)([AB])(\.pth?)", path.name)
    if match is None:
        return None
    other = path.with_name(f"{match.group(1)}{'B' if match.group(2) == 'A' else 'A'}{match.group(3)}")
    return (other, "A->B" if match.group(2) == "A" else "B->A") if other.is_file() else None


def load_translation(path: str | os.PathLike, device: torch.device | str | None = None,
                     dtype: torch.dtype | None = None, use_dropout: bool | None = None,
                     mode: str = "official", with_partner: bool = True) -> Translator:
    """Load a pix2pix / CycleGAN generator (and its CycleGAN partner, see the module notes).

    Nothing in the file is executed. ``use_dropout`` overrides the U-Net default (on, as pix2pix
    trains; a U-Net file cannot show it). ``mode`` is the test-time behaviour
    (:func:`~.networks.set_inference_mode`); the networks come back without gradients.
    ``with_partner`` False loads only this file of a junyanz CycleGAN pair.
    """
    path = Path(path)
    name = path.name
    found, file = registry.recognise(path)
    if found.family != "translation" or found.role != "generator" or not found.loadable \
            or found.architecture not in FACTORIES:
        what = found.hint or LOADERS.get(found.architecture, f"load it with the {found.family} nodes")
        raise CheckpointError(f"{name} is {found.summary}, not a pix2pix / CycleGAN generator: {what}")
    if (own := registry.own_file(file, [ARCHITECTURE])) is not None:
        info = _stored_info(own[1])
        prefixes = {"A->B": "G_A.", "B->A": "G_B."} if info.kind == "cyclegan" else {"A->B": "G."}
        networks = {direction: _build(info.architecture, info.kwargs,
                                      {k[len(p):]: v for k, v in file.content.items() if k.startswith(p)}, name)
                    for direction, p in prefixes.items()}
    else:
        tensors = next(iter(registry.state_dicts(file).values()))
        tensors = {re.sub(r"^module\.", "", k): v for k, v in tensors.items()}
        architecture, kwargs = found.architecture, dict(found.config)  # the registry read them off the keys
        if use_dropout is not None and architecture == "unet":
            kwargs["use_dropout"] = use_dropout
        info = TranslationInfo(architecture, kwargs, "junyanz", dropout_known=architecture == "resnet")
        networks = {"A->B": _build(architecture, kwargs, tensors, name)}
        partner = partner_file(path) if with_partner else None
        if partner is not None:
            other_path, direction = partner
            other = load_translation(other_path, use_dropout=use_dropout, mode=mode, with_partner=False)
            if other.info.kwargs != kwargs:
                raise CheckpointError(f"{name} and {other_path.name} look like a CycleGAN pair but differ "
                                      f"({kwargs} vs {other.info.kwargs})")
            mine = networks["A->B"]
            networks = {"A->B": mine, "B->A": other.networks["A->B"]} if direction == "A->B" else \
                {"A->B": other.networks["A->B"], "B->A": mine}
            info.kind = "cyclegan"
            info.notes.append(f"loaded with its partner {other_path.name}")
        if architecture == "unet" and use_dropout is None:
            info.notes.append("U-Net files cannot show whether dropout was used; assumed on (pix2pix's default)")
    translator = Translator(networks, info)
    for network in networks.values():
        set_inference_mode(network, mode)
    return translator.to(device, dtype)


def create_translator(architecture: str, kwargs: dict, kind: str = "pix2pix",
                      domains: tuple[str, str] = ("A", "B")) -> Translator:
    """New generators (one, or two for CycleGAN) with the original's N(0, 0.02) initialisation."""
    directions = DIRECTIONS if kind == "cyclegan" else DIRECTIONS[:1]
    kwargs = complete_kwargs(architecture, kwargs)
    networks = {direction: init_weights(FACTORIES[architecture](**kwargs)) for direction in directions}
    return Translator(networks, TranslationInfo(architecture, dict(kwargs), "GANForge", kind, domains))


def complete_kwargs(architecture: str, kwargs: dict) -> dict:
    """``kwargs`` with every constructor default filled in, so a descriptor names all settings."""
    import inspect

    defaults = {name: p.default for name, p in inspect.signature(FACTORIES[architecture]).parameters.items()}
    return {**defaults, **kwargs}


def init_weights(network: nn.Module, gain: float = 0.02) -> nn.Module:
    """The original's "normal" initialisation: conv weights N(0, gain), biases 0, norm scales N(1, gain)."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(module.weight, 0.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return network


def _prefixes(translator: Translator) -> dict[str, str]:
    return {"A->B": "G_A.", "B->A": "G_B."} if translator.info.kind == "cyclegan" else {"A->B": "G."}


def save_translation(translator: Translator, path: str | os.PathLike) -> None:
    """Self-describing safetensors with every direction (refuses to replace a file)."""
    tensors = {prefix + k: v for direction, prefix in _prefixes(translator).items()
               for k, v in translator.networks[direction].state_dict().items()}
    info = translator.info
    save_safetensors(tensors, path, ARCHITECTURE, {"architecture": info.architecture, "kwargs": info.kwargs,
                                                   "kind": info.kind, "domains": list(info.domains)})


def export_junyanz(translator: Translator, folder: str | os.PathLike, epoch: str = "latest") -> list[Path]:
    """Write the generators as the original's ``save_networks`` does (``<epoch>_net_G.pth``, or
    ``_net_G_A`` / ``_net_G_B`` for a pair: plain OrderedDicts of CPU tensors), so the original
    ``test.py`` loads them. Existing files are never replaced."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = {"A->B": "G_A", "B->A": "G_B"} if translator.info.kind == "cyclegan" else {"A->B": "G"}
    targets = {direction: folder / f"{epoch}_net_{label}.pth" for direction, label in names.items()}
    for target in targets.values():
        if target.exists():
            raise FileExistsError(f"{target} exists; choose another folder (files are never replaced)")
    for direction, target in targets.items():
        state = OrderedDict((k, (v.float() if v.is_floating_point() else v).detach().cpu().clone())
                            for k, v in translator.networks[direction].state_dict().items())
        partial = target.with_name(target.name + ".partial")
        torch.save(state, partial)
        os.replace(partial, target)
    return list(targets.values())
