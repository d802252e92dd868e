"""``load_superres(path)``: recognise a super-resolution checkpoint from its tensors and build our
network for it, safely. One registry of detectors, spandrel-style: each names the keys it needs,
infers the constructor arguments from shapes, and the result carries a descriptor (:class:`SRInfo`).

Recognised: ESRGAN (original names), BasicSR / Real-ESRGAN RRDBNet (x1, x2, x4, also the
``params_ema`` / ``params`` wrappers), Real-ESRGAN SRVGGNetCompact, SR3 (Janspiry ``*_gen.pth``),
and GANForge's own ``.safetensors`` of any of them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import registry
from ..checkpoint import (
    ARCH_KEY,
    KWARGS_KEY,
    CheckpointError,
    build_network,
    read_checkpoint,
    save_safetensors,
    unwrap_state_dict,
)
from .esrgan import RRDBNet, SRVGGNetCompact, compact_kwargs, esrgan_to_basicsr, is_old_esrgan, rrdbnet_kwargs
from .sr3 import NoiseSchedule, SR3UNet, make_betas

log = logging.getLogger("ganforge")

SR3_DEFAULT_SCHEDULE = {"schedule": "linear", "n_timestep": 2000, "linear_start": 1e-6, "linear_end": 1e-2}
_SR3_BUFFERS = ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
                "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
                "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
                "posterior_mean_coef1", "posterior_mean_coef2")


@dataclass
class SRInfo:
    """What a node needs to know about a super-resolution network, in one place."""

    architecture: str  # "rrdbnet", "compact" or "sr3"
    scale: float  # output size / input size (SR3: the factor it was trained for, 0 if unknown)
    in_channels: int
    out_channels: int
    size_multiple: int  # input sides must be multiples of this (the tiler pads)
    kwargs: dict  # constructor arguments (our safetensors store them)
    source: str  # the layout the file was in, for messages
    notes: list[str] = field(default_factory=list)

    @property
    def is_diffusion(self) -> bool:
        return self.architecture == "sr3"

    def describe(self, name: str) -> str:
        scale = f"x{self.scale:g}" if self.scale else "factor unknown"
        channels = {1: "gray", 3: "RGB", 4: "RGBA"}.get(self.in_channels, f"{self.in_channels} channels")
        return f"{name}: {self.architecture} ({self.source}), {scale}, {channels}"


@dataclass(frozen=True)
class Detector:
    """One architecture: which keys show it, and how to build it from the tensors."""

    architecture: str
    matches: Callable[[Mapping[str, torch.Tensor]], bool]
    prepare: Callable[[dict[str, torch.Tensor], str, dict], tuple[dict[str, torch.Tensor], SRInfo]]


def _has_all(*keys: str) -> Callable[[Mapping[str, torch.Tensor]], bool]:
    return lambda tensors: all(key in tensors for key in keys)


def _prepare_rrdbnet(tensors: dict[str, torch.Tensor], name: str, config: dict) -> tuple[dict, SRInfo]:
    source = "BasicSR / Real-ESRGAN"
    if is_old_esrgan(tensors):
        try:
            tensors = esrgan_to_basicsr(tensors, name)
        except ValueError as error:
            raise CheckpointError(str(error)) from None
        source = "ESRGAN"
    kwargs = rrdbnet_kwargs(tensors)
    scale = 2 ** kwargs["num_upsample"] / kwargs["unshuffle"]
    return tensors, SRInfo("rrdbnet", scale, kwargs["num_in_ch"], kwargs["num_out_ch"], kwargs["unshuffle"],
                           kwargs, source)


def _prepare_compact(tensors: dict[str, torch.Tensor], name: str, config: dict) -> tuple[dict, SRInfo]:
    alternating = [tensors[key].ndim for key in sorted((k for k in tensors if k.endswith(".weight")),
                                                       key=lambda k: int(k.split(".")[1]))]
    if alternating[1::2][:-1] and any(ndim != 1 for ndim in alternating[1:-1:2]):
        raise CheckpointError(f"{name}: an SRVGGNetCompact without PReLU weights between its convolutions "
                              "(relu / leaky-relu variants) is not supported")
    kwargs = compact_kwargs(tensors)
    return tensors, SRInfo("compact", float(kwargs["upscale"]), kwargs["num_in_ch"], kwargs["num_out_ch"], 1,
                           kwargs, "Real-ESRGAN SRVGGNetCompact")


def sr3_unet_kwargs(tensors: Mapping[str, torch.Tensor], norm_groups: int = 32, dropout: float = 0.0) -> dict:
    """The SR3 UNet's constructor arguments from its tensors (``norm_groups`` and ``dropout``
    leave no trace in the shapes: they come from the config)."""
    first = tensors["downs.0.weight"]
    inner = int(first.shape[0])
    mults: list[int] = []
    attn_levels: list[int] = []
    res_blocks = 0
    level_blocks = 0
    affine = False
    index = 1
    while f"downs.{index}.conv.weight" in tensors or f"downs.{index}.res_block.block1.block.3.weight" in tensors:
        if f"downs.{index}.conv.weight" in tensors:  # a downsampling conv closes the level
            res_blocks = res_blocks or level_blocks
            level_blocks = 0
        else:
            out = int(tensors[f"downs.{index}.res_block.block1.block.3.weight"].shape[0])
            if level_blocks == 0:
                mults.append(out // inner)
            if f"downs.{index}.attn.qkv.weight" in tensors and len(mults) - 1 not in attn_levels:
                attn_levels.append(len(mults) - 1)
            affine = tensors[f"downs.{index}.res_block.noise_func.noise_func.0.weight"].shape[0] == 2 * out
            level_blocks += 1
        index += 1
    return {"in_channel": int(first.shape[1]), "out_channel": int(tensors["final_conv.block.3.weight"].shape[0]),
            "inner_channel": inner, "norm_groups": norm_groups, "channel_mults": mults, "attn_levels": attn_levels,
            "res_blocks": res_blocks or level_blocks, "dropout": dropout, "use_affine_level": affine}


def _prepare_sr3(tensors: dict[str, torch.Tensor], name: str, config: dict) -> tuple[dict, SRInfo]:
    prefix = "denoise_fn."
    schedule = {key: tensors.pop(key) for key in _SR3_BUFFERS if key in tensors}
    unet = {key[len(prefix):] if key.startswith(prefix) else key: value for key, value in tensors.items()}
    notes = []
    if "norm_groups" not in config:
        notes.append("the file does not record the GroupNorm group count; assumed 32 (the original's default). "
                     "A model trained with another count needs its JSON config")
    kwargs = sr3_unet_kwargs(unet, int(config.get("norm_groups", 32)), float(config.get("dropout", 0.0)))
    if "schedule.betas" in unet:  # our own files
        betas = unet.pop("schedule.betas").double().numpy()
    elif "betas" in schedule:
        betas = schedule["betas"].double().numpy()
    else:
        betas = make_betas(**config.get("beta_schedule", SR3_DEFAULT_SCHEDULE))
        if "beta_schedule" not in config:
            notes.append("no noise schedule in the file; using the original's linear 2000 steps, 1e-6 to 1e-2")
    factor = float(config.get("factor", 0))
    info = SRInfo("sr3", factor, kwargs["out_channel"], kwargs["out_channel"], 2 ** (len(kwargs["channel_mults"]) - 1),
                  {"unet": kwargs, "factor": factor}, "SR3 (Janspiry)", notes)
    unet["schedule.betas"] = torch.from_numpy(betas)
    return unet, info


DETECTORS: list[Detector] = [
    Detector("rrdbnet", lambda t: is_old_esrgan(t) or _has_all("conv_first.weight", "body.0.rdb1.conv1.weight",
                                                                "conv_last.weight")(t), _prepare_rrdbnet),
    Detector("compact", lambda t: "body.0.weight" in t and "body.1.weight" in t and t["body.1.weight"].ndim == 1,
             _prepare_compact),
    Detector("sr3", lambda t: "denoise_fn.downs.0.weight" in t or _has_all("downs.0.weight",
                                                                         "noise_level_mlp.1.weight")(t),
             _prepare_sr3),
]
FACTORIES: dict[str, Callable[..., torch.nn.Module]] = {"rrdbnet": RRDBNet, "compact": SRVGGNetCompact,
                                                        "sr3": SR3UNet}


def read_sr3_json(path: str | os.PathLike) -> dict:
    """The settings of a Janspiry JSON config (which has ``//`` comments) that loading needs."""
    text = "\n".join(line.split("//")[0] for line in Path(path).read_text().splitlines())
    try:
        opt = json.loads(text)
        unet, diffusion = opt["model"]["unet"], opt["model"].get("diffusion", {})
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise CheckpointError(f"{Path(path).name} is not an SR3 JSON config ({error})") from None
    config: dict = {"norm_groups": unet.get("norm_groups") or 32, "dropout": unet.get("dropout", 0.0)}
    schedule = opt["model"].get("beta_schedule", {})
    if "val" in schedule or "train" in schedule:
        config["beta_schedule"] = {k: v for k, v in schedule.get("val", schedule.get("train")).items()
                                   if k in ("schedule", "n_timestep", "linear_start", "linear_end")}
    train = opt.get("datasets", {}).get("train", {})
    if train.get("l_resolution") and train.get("r_resolution"):
        config["factor"] = train["r_resolution"] / train["l_resolution"]
    config["image_size"] = diffusion.get("image_size")
    return config


def load_superres(path: str | os.PathLike, config: dict | str | os.PathLike | None = None,
                  device: torch.device | str | None = None) -> torch.nn.Module:
    """Load an ESRGAN-family or SR3 network. Nothing in the file is executed.

    ``config`` (SR3 only): a Janspiry JSON path or a dict (``norm_groups``, ``beta_schedule``,
    ``factor``). The network comes back in eval mode without gradients, with ``.info`` (an
    :class:`SRInfo`) and, for SR3, ``.schedule`` (a :class:`NoiseSchedule`).
    """
    name = Path(path).name
    if config is not None and not isinstance(config, dict):
        config = read_sr3_json(config)
    file = read_checkpoint(path, "a .pth / .pt / .safetensors with weights")
    tensors = file.content if file.kind == "safetensors" else unwrap_state_dict(file.content, name)
    metadata = file.metadata
    if ARCH_KEY in metadata:
        architecture = metadata[ARCH_KEY]
        if architecture not in FACTORIES:
            raise CheckpointError(f"{name} is a GANForge {architecture!r} file, not a super-resolution network")
        kwargs = json.loads(metadata[KWARGS_KEY])
        merged = {**kwargs.get("unet", {}), **(config or {})} if architecture == "sr3" else {}
        tensors, info = next(d for d in DETECTORS if d.architecture == architecture).prepare(tensors, name, merged)
        if architecture == "sr3":
            info.scale = float((config or {}).get("factor", kwargs.get("factor", 0)))
            info.notes = []
        info.source = "GANForge"
    else:
        detector = next((d for d in DETECTORS if d.matches(tensors)), None)
        if detector is None:
            sample = ", ".join(sorted(tensors)[:6])
            raise CheckpointError(f"{name} is not a super-resolution network GANForge knows (ESRGAN / Real-ESRGAN "
                                  f"RRDBNet, SRVGGNetCompact or SR3); its first keys are: {sample}")
        tensors, info = detector.prepare(dict(tensors), name, dict(config or {}))
    betas = tensors.pop("schedule.betas", None)
    unet_kwargs = info.kwargs["unet"] if info.architecture == "sr3" else info.kwargs
    try:
        network = build_network(FACTORIES[info.architecture], unet_kwargs, tensors, name,
                                f"an {info.architecture} network")
    except CheckpointError as error:
        if info.notes:  # a guessed setting is the likely cause
            raise CheckpointError(f"{error}; {'; '.join(info.notes)}") from None
        raise
    network.info = info
    if betas is not None:
        network.schedule = NoiseSchedule(betas.double().numpy())
    for note in info.notes:
        log.info("%s: %s", name, note)
    return network.to(device) if device is not None else network


def create_superres(architecture: str, kwargs: dict, betas=None, factor: float = 0.0) -> torch.nn.Module:
    """A new (randomly initialised) network with its descriptor, e.g. to train. ``kwargs`` are the
    constructor arguments; SR3 also takes its noise schedule's ``betas`` and the ``factor`` it is for."""
    network = FACTORIES[architecture](**kwargs)
    if architecture == "rrdbnet":
        scale, multiple = 2 ** network.num_upsample / network.unshuffle, network.unshuffle
        channels = (kwargs.get("num_in_ch", 3), kwargs.get("num_out_ch", 3))
    elif architecture == "compact":
        scale, multiple, channels = network.scale, 1, (kwargs.get("num_in_ch", 3), kwargs.get("num_out_ch", 3))
    else:
        scale, multiple, channels = factor, network.size_multiple, (network.out_channel, network.out_channel)
        network.schedule = NoiseSchedule(make_betas(**SR3_DEFAULT_SCHEDULE) if betas is None else betas)
        kwargs = {"unet": kwargs, "factor": factor}
    network.info = SRInfo(architecture, float(scale), channels[0], channels[1], multiple, dict(kwargs), "GANForge")
    return network


def save_superres(network: torch.nn.Module, path: str | os.PathLike) -> None:
    """Save a network loaded or built by GANForge as self-describing safetensors."""
    info: SRInfo = network.info
    tensors = dict(network.state_dict())
    kwargs = dict(info.kwargs)
    if info.architecture == "sr3":
        tensors["schedule.betas"] = torch.from_numpy(network.schedule.betas)
        kwargs = {"unet": kwargs["unet"], "factor": info.scale}
    save_safetensors(tensors, path, info.architecture, kwargs)


def blend_networks(a: torch.nn.Module, b: torch.nn.Module, weight_a: float) -> torch.nn.Module:
    """Real-ESRGAN's network interpolation ("denoise strength"): every parameter is
    ``weight_a * a + (1 - weight_a) * b``. Both must be the same architecture and size."""
    if a.info.architecture != b.info.architecture or a.info.kwargs != b.info.kwargs:
        raise ValueError(f"only networks of one architecture and size blend ({a.info.architecture} "
                         f"{a.info.kwargs} vs {b.info.architecture} {b.info.kwargs})")
    import copy

    blended = copy.deepcopy(a)
    other = b.state_dict()
    with torch.no_grad():
        for key, value in blended.state_dict().items():
            if value.is_floating_point():
                value.copy_(weight_a * value + (1.0 - weight_a) * other[key].to(value))
    blended.info = copy.deepcopy(a.info)
    return blended


def _recognise(file, name: str) -> registry.Recognition | None:
    """The model registry's super-resolution recogniser (see ``models/registry.py``)."""
    if file.kind == "safetensors" and ARCH_KEY in file.metadata:
        if (own := registry.own_file(file, FACTORIES)) is None:
            return None
        architecture, config = own
        folder = "sr3" if architecture == "sr3" else "upscale_models"
        return registry.Recognition("superres", architecture, folder, f"a GANForge {architecture} network", config)
    try:
        tensors = unwrap_state_dict(file.content, name)
    except CheckpointError:
        return None
    detector = next((d for d in DETECTORS if d.matches(tensors)), None)
    if detector is None:
        return None
    _, info = detector.prepare(dict(tensors), name, {})
    folder = "sr3" if info.is_diffusion else "upscale_models"
    return registry.Recognition("superres", info.architecture, folder, f"a super-resolution network: "
                                f"{info.describe(name).split(': ', 1)[1]}", info.kwargs)


registry.register("superres", _recognise, "ESRGAN / BasicSR RRDBNet (conv_first, body.N.rdb1), SRVGGNetCompact "
                  "(body.N with PReLU), Janspiry SR3 (denoise_fn.downs), or GANForge .safetensors of those")
