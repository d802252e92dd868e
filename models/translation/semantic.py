"""Semantic image synthesis: SPADE (GauGAN, NVlabs/SPADE) and pix2pixHD (NVIDIA/pix2pixHD) files
recognised from their keys, loaded with the original's parameter names, and run at any size.

What the files show and what they do not:

- SPADE: the number of semantic channels, ngf, VAE or not (and the style code's size), "most"
  upsampling (``up_4``), the SPADE kernel and the parameter-free norm (batch statistics or
  instance). Not shown: "normal" vs "more" upsampling (the same parameters; "more" is assumed for
  36 channels, Cityscapes, else "normal") and how the channels split into classes, don't-care and
  instance edges (the dataset convention for 184 / 151 / 36 channels, else all classes).
- pix2pixHD: everything of the generator (global or local enhancer, widths, depths, norm); the
  channel split again by convention (36: 35 Cityscapes classes + instance edges).

Both are overridable at load. The released files are plain state_dicts (``util.save_network``);
SPADE's spectral norm is folded once at load (:func:`~.spade.fold_spectral_norm`), 2018-era
pix2pixHD files' InstanceNorm running statistics (never used) are dropped.
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
import torch.nn.functional as F
from torch import nn

from .. import registry
from ..checkpoint import CheckpointError, CheckpointFile, build_network, read_checkpoint, save_safetensors
from .pix2pixhd import GlobalGenerator, LocalEnhancer
from .recognise import add_missing_batch_counters, junyanz_generator
from .spade import HIDDEN, UPSAMPLINGS, ConvEncoder, SPADEGenerator, fold_spectral_norm

log = logging.getLogger("ganforge")

FOLDER = "translation"
ARCHITECTURE = "semantic"  # our safetensors' architecture name
ARCHITECTURES = ("spade", "pix2pixhd-global", "pix2pixhd-local")
FACTORIES: dict[str, type[nn.Module]] = {"spade": SPADEGenerator, "pix2pixhd-global": GlobalGenerator,
                                         "pix2pixhd-local": LocalEnhancer, "spade-encoder": ConvEncoder}
_RUNNING = (".running_mean", ".running_var", ".num_batches_tracked")

# semantic_nc -> (dataset, label_nc, contain_dontcare, use_instance): the released models' options
SPADE_DATASETS = {184: ("COCO-Stuff", 182, True, True), 151: ("ADE20K", 150, True, False),
                  36: ("Cityscapes", 35, False, True)}
PIX2PIXHD_DATASETS = {36: ("Cityscapes", 35, False, True)}


class NotSemantic(Exception):
    """Internal: the tensors are not a network of this module."""


# ------------------------------------------------------------------------------------------ shapes → kwargs


def _weight(tensors: Mapping[str, torch.Tensor], prefix: str) -> torch.Tensor:
    """A convolution's weight, folded or not (only the shape is used)."""
    for key in (f"{prefix}.weight", f"{prefix}.weight_orig"):
        if key in tensors:
            return tensors[key]
    raise NotSemantic(prefix)


def spade_kwargs(tensors: Mapping[str, torch.Tensor], upsampling: str | None = None) -> dict:
    """:class:`~.spade.SPADEGenerator` arguments read off a SPADE generator state_dict (spectral
    or folded). ``upsampling`` chooses "normal" or "more", which the keys cannot show (default:
    "more" for 36 channels, Cityscapes, else "normal"); "most" is read from the ``up_4`` keys."""
    fc, shared = tensors.get("fc.weight"), tensors.get("head_0.norm_0.mlp_shared.0.weight")
    if fc is None or shared is None or shared.ndim != 4 or fc.ndim not in (2, 4):
        raise NotSemantic("no fc / head_0 SPADE keys")
    semantic_nc, kernel_size = int(shared.shape[1]), int(shared.shape[-1])
    most = any(key.startswith("up_4.") for key in tensors)
    if upsampling is None:
        upsampling = "most" if most else ("more" if semantic_nc == 36 else "normal")
    elif upsampling not in UPSAMPLINGS:
        raise ValueError(f"unknown upsampling {upsampling!r} ({', '.join(UPSAMPLINGS)})")
    elif most != (upsampling == "most"):
        raise ValueError(f"the file {'has' if most else 'has no'} up_4 block, so its upsampling "
                         f"{'is' if most else 'cannot be'} 'most' (asked for {upsampling!r})")
    kwargs: dict = dict(semantic_nc=semantic_nc, upsampling=upsampling, kernel_size=kernel_size,
                        param_free_norm="batch" if "head_0.norm_0.param_free_norm.running_mean" in tensors
                        else "instance",
                        spectral="head_0.conv_0.weight_orig" in tensors or "head_0.conv_0.weight" not in tensors)
    if shared.shape[0] != HIDDEN:  # the SPADE modules' embedding width: 128 in every released file
        kwargs["hidden"] = int(shared.shape[0])
    if fc.ndim == 4:
        if fc.shape[0] % 16 or fc.shape[1] != semantic_nc:
            raise NotSemantic("fc does not fit the SPADE layout")
        kwargs.update(ngf=int(fc.shape[0]) // 16, use_vae=False)
    else:
        try:
            width = int(_weight(tensors, "head_0.conv_0").shape[1])
        except NotSemantic:
            width = int(tensors["head_0.norm_0.mlp_gamma.weight"].shape[0]) if \
                "head_0.norm_0.mlp_gamma.weight" in tensors else 0
        if width == 0 or width % 16 or fc.shape[0] % width:
            raise NotSemantic("fc does not fit the SPADE VAE layout")
        kwargs.update(ngf=width // 16, use_vae=True, z_dim=int(fc.shape[1]), latent_cells=int(fc.shape[0]) // width)
    return kwargs


def encoder_kwargs(tensors: Mapping[str, torch.Tensor]) -> dict:
    """:class:`~.spade.ConvEncoder` arguments read off a SPADE ``net_E`` state_dict."""
    if "fc_mu.weight" not in tensors or "fc_var.weight" not in tensors:
        raise NotSemantic("no fc_mu / fc_var")
    sequential = any(k.startswith("layer1.0.") for k in tensors)
    first = _weight(tensors, "layer1.0" if sequential else "layer1")
    if first.ndim != 4 or first.shape[1] != 3:
        raise NotSemantic("layer1 is not an RGB convolution")
    if not any(k.startswith("layer6.") for k in tensors):
        # the original builds no layer6 for crop_size < 256 and then fails in forward (8×8 features
        # for a 4×4 fc): no such file can come out of training
        raise NotSemantic("no layer6")
    norm = ("batch" if "layer1.1.running_mean" in tensors else "instance") if sequential else "none"
    return dict(ndf=int(first.shape[0]), z_dim=int(tensors["fc_mu.weight"].shape[0]), norm=norm,
                spectral=any(k.endswith(".weight_orig") for k in tensors))


def _top_weights(tensors: Mapping[str, torch.Tensor], prefix: str) -> list[int]:
    """Indices of ``prefix.N.weight`` entries (convolutions directly in the Sequential)."""
    pattern = re.compile(rf"{re.escape(prefix)}\.(\d+)\.weight")
    return sorted(int(m.group(1)) for key in tensors if (m := pattern.fullmatch(key)))


def _blocks(tensors: Mapping[str, torch.Tensor], prefix: str) -> list[int]:
    """Indices of the residual blocks in ``prefix``."""
    pattern = re.compile(rf"{re.escape(prefix)}\.(\d+)\.conv_block\.")
    return sorted({int(m.group(1)) for key in tensors if (m := pattern.match(key))})


def _same_layout(factory: type[nn.Module], kwargs: dict, tensors: Mapping[str, torch.Tensor]) -> bool:
    """Whether ``tensors`` (less unused InstanceNorm statistics) are exactly ``factory(**kwargs)``'s state."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in factory(**kwargs).state_dict().items()}
    have = {k: tuple(v.shape) for k, v in tensors.items()
            if not (kwargs.get("norm") == "instance" and k.endswith(_RUNNING))}
    if kwargs.get("norm") == "batch":
        have.update({k: () for k in expected if k.endswith(".num_batches_tracked")})  # pre-0.4.1 files
    return have == expected


def pix2pixhd_kwargs(tensors: Mapping[str, torch.Tensor]) -> tuple[str, dict]:
    """("pix2pixhd-global" | "pix2pixhd-local", constructor kwargs) read off a pix2pixHD generator
    state_dict, checked against the network they build."""
    first = tensors.get("model.1.weight")
    if first is None or first.ndim != 4 or first.shape[-1] != 7:
        raise NotSemantic("no 7×7 model.1")
    local = sorted(int(m.group(1)) for key in tensors if (m := re.match(r"model(\d+)_1\.1\.weight$", key)))
    n_local = len(local)
    if local != list(range(1, n_local + 1)):
        raise NotSemantic("local enhancers are not numbered 1..n")
    convs, blocks = _top_weights(tensors, "model"), _blocks(tensors, "model")
    # top-level weights: the first conv, n downsamplings, n transposed convs (and the output conv)
    top = len(convs) - (1 if n_local else 2)
    n_down = top // 2
    norm = "batch" if "model.2.weight" in tensors and "model.2.running_mean" in tensors else "instance"
    input_nc = int(first.shape[1])
    if n_local:
        last = f"model{n_local}_2"
        n_blocks_local = len(_blocks(tensors, last))
        output = tensors.get(f"{last}.{n_blocks_local + 4}.weight")
        if output is None or int(first.shape[0]) % 2 ** n_local:
            raise NotSemantic("no local output convolution")
        architecture = "pix2pixhd-local"
        kwargs = dict(input_nc=input_nc, output_nc=int(output.shape[0]), ngf=int(first.shape[0]) >> n_local,
                      n_downsample_global=n_down, n_blocks_global=len(blocks), n_local_enhancers=n_local,
                      n_blocks_local=n_blocks_local, norm=norm)
    else:
        if not blocks:
            raise NotSemantic("no residual blocks")
        architecture = "pix2pixhd-global"
        kwargs = dict(input_nc=input_nc, output_nc=int(tensors[f"model.{convs[-1]}.weight"].shape[0]),
                      ngf=int(first.shape[0]), n_downsampling=n_down, n_blocks=len(blocks), norm=norm)
    try:
        fits = _same_layout(FACTORIES[architecture], kwargs, tensors)
    except (ValueError, RuntimeError):
        fits = False
    if not fits:
        raise NotSemantic("the keys do not match the network they describe")
    return architecture, kwargs


# ------------------------------------------------------------------------------------------------ descriptor


@dataclass
class SemanticInfo:
    """What a node needs to know about a semantic synthesis model, in one place."""

    architecture: str  # "spade", "pix2pixhd-global" or "pix2pixhd-local"
    kwargs: dict  # constructor arguments of the generator
    semantic_nc: int  # input channels = label_nc + contain_dontcare + use_instance
    label_nc: int  # one-hot class channels, first
    contain_dontcare: bool  # channel label_nc is "don't care"
    use_instance: bool  # the last channel is the instance-edge map
    upsampling: str | None = None  # SPADE: "normal", "more" or "most"
    dataset: str | None = None  # the dataset whose convention the layout follows, if known
    source: str = "NVlabs"  # "NVlabs" (SPADE), "NVIDIA" (pix2pixHD) or "GANForge"
    layout_known: bool = False  # False: the channel split is the convention for the channel count
    upsampling_known: bool = True  # False: "normal" / "more" assumed
    encoder_kwargs: dict | None = None  # the VAE style encoder's, when one is loaded
    notes: list[str] = field(default_factory=list)

    @property
    def use_vae(self) -> bool:
        return bool(self.kwargs.get("use_vae", False))

    @property
    def z_dim(self) -> int | None:
        return self.kwargs.get("z_dim") if self.use_vae else None

    @property
    def size_multiple(self) -> int:
        """Sides of the semantic map the network takes are multiples of this."""
        k = self.kwargs
        if self.architecture == "spade":
            return 2 ** UPSAMPLINGS[k["upsampling"]]
        if self.architecture == "pix2pixhd-local":
            return 2 ** (k["n_downsample_global"] + k["n_local_enhancers"])
        return 2 ** k["n_downsampling"]

    def layout_text(self) -> str:
        parts = [f"{self.label_nc} classes"]
        if self.contain_dontcare:
            parts.append("don't-care")
        if self.use_instance:
            parts.append("instance edges")
        where = f"{self.dataset} layout: " if self.dataset else ""
        return f"{self.semantic_nc} semantic channels ({where}{' + '.join(parts)})"

    def describe(self, name: str) -> str:
        k = self.kwargs
        if self.architecture == "spade":
            assumed = "" if self.upsampling_known else ", assumed"
            body = (f"SPADE generator, ngf {k['ngf']}, {self.upsampling} upsampling{assumed}, "
                    f"{k['param_free_norm']}-norm SPADE {k['kernel_size']}×{k['kernel_size']}")
            if self.use_vae:
                body += f", VAE style code of {k['z_dim']}" + (" with its encoder" if self.encoder_kwargs else "")
        elif self.architecture == "pix2pixhd-local":
            body = (f"pix2pixHD local enhancer ×{k['n_local_enhancers']}, ngf {k['ngf']}, global "
                    f"{k['n_downsample_global']} downsamplings / {k['n_blocks_global']} blocks, "
                    f"{k['n_blocks_local']} local blocks, {k['norm']} norm")
        else:
            body = (f"pix2pixHD global generator, ngf {k['ngf']}, {k['n_downsampling']} downsamplings, "
                    f"{k['n_blocks']} blocks, {k['norm']} norm")
        return f"{name}: {body}, {self.layout_text()} ({self.source})"


def default_layout(architecture: str, semantic_nc: int) -> tuple[str | None, int, bool, bool]:
    """(dataset, label_nc, contain_dontcare, use_instance) by the released models' conventions;
    other channel counts are all classes."""
    table = SPADE_DATASETS if architecture == "spade" else PIX2PIXHD_DATASETS
    return table.get(semantic_nc, (None, semantic_nc, False, False))


def _apply_layout(info: SemanticInfo, layout: Mapping | None) -> SemanticInfo:
    """``info`` with the channel split of ``layout`` (label_nc, contain_dontcare, use_instance,
    optional dataset), checked against the channel count."""
    if layout is None:
        return info
    unknown = set(layout) - {"label_nc", "contain_dontcare", "use_instance", "dataset"}
    if unknown:
        raise ValueError(f"unknown layout entries {sorted(unknown)} (label_nc, contain_dontcare, use_instance, "
                         "dataset)")
    dontcare = bool(layout.get("contain_dontcare", False))
    instance = bool(layout.get("use_instance", False))
    label_nc = int(layout.get("label_nc", info.semantic_nc - dontcare - instance))
    if label_nc < 1 or label_nc + dontcare + instance != info.semantic_nc:
        raise ValueError(f"the layout {label_nc} classes{' + dontcare' if dontcare else ''}"
                         f"{' + instance edges' if instance else ''} makes {label_nc + dontcare + instance} channels; "
                         f"the network takes {info.semantic_nc}")
    info.label_nc, info.contain_dontcare, info.use_instance = label_nc, dontcare, instance
    info.dataset, info.layout_known = layout.get("dataset"), True
    return info


def _info(architecture: str, kwargs: dict, upsampling_given: bool = False) -> SemanticInfo:
    semantic_nc = kwargs["semantic_nc"] if architecture == "spade" else kwargs["input_nc"]
    dataset, label_nc, dontcare, instance = default_layout(architecture, semantic_nc)
    upsampling = kwargs.get("upsampling")
    info = SemanticInfo(architecture, dict(kwargs), semantic_nc, label_nc, dontcare, instance, upsampling, dataset,
                        "NVlabs" if architecture == "spade" else "NVIDIA",
                        upsampling_known=upsampling_given or upsampling in (None, "most"))
    if dataset is None:
        info.notes.append(f"{semantic_nc} channels match no released dataset: all are taken as classes "
                          "(give a layout if the map has don't-care or instance-edge channels)")
    else:
        info.notes.append(f"the channel layout is {dataset}'s convention for {semantic_nc} channels (the file "
                          "cannot show it)")
    if not info.upsampling_known:
        info.notes.append(f"'normal' and 'more' upsampling have the same weights; '{upsampling}' assumed")
    return info


def _stored_info(stored: Mapping) -> SemanticInfo:
    """The descriptor our safetensors' metadata holds."""
    info = SemanticInfo(stored["architecture"], dict(stored["kwargs"]), stored["semantic_nc"], stored["label_nc"],
                        stored["contain_dontcare"], stored["use_instance"], stored.get("upsampling"),
                        stored.get("dataset"), "GANForge", layout_known=True,
                        encoder_kwargs=stored.get("encoder_kwargs"))
    return info


# ----------------------------------------------------------------------------------------------- recognition


def _flat_state(file: CheckpointFile) -> dict[str, torch.Tensor] | None:
    dicts = registry.state_dicts(file)
    flat = dicts.get("")
    if flat is None and len(dicts) == 1 and next(iter(dicts)) in ("state_dict", "model", "params"):
        flat = next(iter(dicts.values()))
    if flat is None:
        return None
    return {re.sub(r"^module\.", "", k): v for k, v in flat.items()}


_D_HINT = ("a discriminator (the *_net_D.pth file) only judges pictures during training; load the generator "
           "saved beside it (*_net_G.pth) instead")


def recognise_semantic(file: CheckpointFile, name: str) -> registry.Recognition | None:
    """Claim SPADE / pix2pixHD generators (role "generator"), SPADE's VAE style encoder (role
    "encoder"), their discriminators (role "discriminator") and GANForge's semantic safetensors.
    junyanz pix2pix / CycleGAN files are left alone (a pix2pixHD global generator with two
    downsamplings *is* junyanz's instance-norm ResNet, and loads as one)."""
    if (own := registry.own_file(file, [ARCHITECTURE])) is not None:
        info = _stored_info(own[1])
        return registry.Recognition("translation", info.architecture, FOLDER, info.describe(name),
                                    {**info.kwargs, "layout": _layout_dict(info)})
    flat = _flat_state(file)
    if not flat:
        return None
    if "fc.weight" in flat and "head_0.norm_0.mlp_shared.0.weight" in flat:
        try:
            kwargs = spade_kwargs(flat)
        except (NotSemantic, KeyError, IndexError):
            semantic = flat["head_0.norm_0.mlp_shared.0.weight"].shape[1]
            return registry.Recognition("translation", "spade", FOLDER,
                                        f"an NVlabs SPADE generator for {semantic} label channels whose other keys "
                                        "do not fit SPADE's layout", loadable=False)
        info = _info("spade", kwargs)
        summary = "an NVlabs " + info.describe(name).split(": ", 1)[1]
        return registry.Recognition("translation", "spade", FOLDER, summary, {**kwargs, "layout": _layout_dict(info)})
    if "fc_mu.weight" in flat and any(k.startswith("layer1.") for k in flat):
        try:
            kwargs = encoder_kwargs(flat)
        except (NotSemantic, KeyError):
            kwargs = None
        if kwargs is not None:
            return registry.Recognition(
                "translation", "spade-encoder", FOLDER,
                f"an NVlabs SPADE VAE style encoder (net_E, ndf {kwargs['ndf']}, style code of {kwargs['z_dim']})",
                kwargs, role="encoder",
                hint="the style encoder of a SPADE VAE model: load the generator (*_net_G.pth) and pick this file as "
                     "its style encoder (it is found on its own when it sits beside the generator)")
    if any(k.startswith("discriminator_0.model0.") for k in flat):
        return registry.Recognition("translation", "spade-discriminator", FOLDER,
                                    "an NVlabs SPADE multiscale discriminator (net_D)", role="discriminator",
                                    hint=_D_HINT)
    first_d = flat.get("scale0_layer0.0.weight", flat.get("layer0.0.weight"))
    if first_d is not None and first_d.ndim == 4 and first_d.shape[-1] == 4 and \
            all(re.match(r"(scale\d+_)?layer\d+\.\d+\.", k) for k in flat):
        return registry.Recognition("translation", "pix2pixhd-discriminator", FOLDER,
                                    "an NVIDIA pix2pixHD multiscale discriminator (net_D)", role="discriminator",
                                    hint=_D_HINT)
    spade_hd = flat.get("model.1.0.weight_orig")
    if spade_hd is not None and spade_hd.ndim == 4 and spade_hd.shape[-1] == 7:
        return registry.Recognition(
            "translation", "spade-pix2pixhd", FOLDER,
            f"an NVlabs SPADE-repository pix2pixHD-style generator (--netG pix2pixhd, spectral instance norm, "
            f"{spade_hd.shape[1]} semantic channels)", loadable=False,
            hint="the SPADE repository's own pix2pixHD baseline is not supported; its SPADE generators "
                 "(--netG spade) and NVIDIA pix2pixHD files are")
    if "model.1.weight" not in flat or junyanz_generator(flat) is not None:
        return None
    try:
        architecture, kwargs = pix2pixhd_kwargs(flat)
    except NotSemantic:
        return _pix2pixhd_encoder(flat)
    info = _info(architecture, kwargs)
    return registry.Recognition("translation", architecture, FOLDER,
                                "an NVIDIA " + info.describe(name).split(": ", 1)[1],
                                {**kwargs, "layout": _layout_dict(info)})


def _pix2pixhd_encoder(flat: Mapping[str, torch.Tensor]) -> registry.Recognition | None:
    """pix2pixHD's feature encoder (net_E): a global generator without residual blocks."""
    first = flat["model.1.weight"]
    convs = _top_weights(flat, "model")
    if _blocks(flat, "model") or first.ndim != 4 or first.shape[-1] != 7 or len(convs) < 2 or len(convs) % 2:
        return None
    n_down = (len(convs) - 2) // 2
    kwargs = dict(input_nc=int(first.shape[1]), output_nc=int(flat[f"model.{convs[-1]}.weight"].shape[0]),
                  ngf=int(first.shape[0]), n_downsampling=n_down, n_blocks=0,
                  norm="batch" if "model.2.weight" in flat else "instance")
    try:
        if not _same_layout(GlobalGenerator, kwargs, flat):
            return None
    except (ValueError, RuntimeError):
        return None
    return registry.Recognition("translation", "pix2pixhd-encoder", FOLDER,
                                f"an NVIDIA pix2pixHD feature encoder (net_E, {kwargs['output_nc']} feature channels)",
                                kwargs, role="encoder", loadable=False,
                                hint="pix2pixHD's feature encoder (trained with --instance_feat / --label_feat) is not "
                                     "used by GANForge; load the generator (*_net_G.pth) instead")


def _layout_dict(info: SemanticInfo) -> dict:
    return dict(label_nc=info.label_nc, contain_dontcare=info.contain_dontcare, use_instance=info.use_instance,
                dataset=info.dataset)


# ------------------------------------------------------------------------------------------------ the model


@dataclass
class SemanticModel:
    """A semantic synthesis generator (and a SPADE VAE's style encoder) with its descriptor."""

    network: nn.Module
    info: SemanticInfo
    encoder: ConvEncoder | None = None

    def _place(self) -> tuple[torch.device, torch.dtype]:
        parameter = next(self.network.parameters())
        return parameter.device, parameter.dtype

    def check_semantics(self, semantics: torch.Tensor) -> None:
        """Raise a ValueError naming the layout when ``semantics`` has the wrong shape."""
        if semantics.ndim != 4 or semantics.shape[1] != self.info.semantic_nc or not semantics.is_floating_point():
            got = f"{semantics.dtype} {list(semantics.shape)}"
            raise ValueError(f"this model takes float semantic maps [N, {self.info.semantic_nc}, H, W] with "
                             f"{self.info.layout_text()}; got {got}")

    def synthesize(self, semantics: torch.Tensor, z: torch.Tensor | None = None,
                   seed: int | None = None) -> torch.Tensor:
        """The pictures, NCHW in [-1, 1] of the semantic maps' height and width, for
        ``semantics`` [N, semantic_nc, H, W] float (one-hot classes, don't-care, instance edges).

        Any size: the maps are padded at the bottom and right by repeating their edge pixels up
        to the network's multiple (:attr:`SemanticInfo.size_multiple`; for pix2pixHD at least
        twice that), never resized, and the pictures cropped back. A SPADE VAE model paints one
        fixed size (its latent grid, see :meth:`~.spade.SPADEGenerator.latent_grid`, chosen by
        the maps' aspect when the file does not fix it): maps up to that size are padded to it;
        larger ones are refused.

        ``z`` [N, z_dim] (or [z_dim], shared) is the VAE style code: from :meth:`encode_style`,
        or by default :meth:`random_z` with ``seed`` (torch's generator when ``seed`` is None).
        """
        self.check_semantics(semantics)
        device, dtype = self._place()
        semantics = semantics.to(device=device, dtype=dtype)
        n, _, height, width = semantics.shape
        multiple = self.info.size_multiple
        # pix2pixHD reflects by one pixel around its residual blocks: their maps need two pixels a side
        least = 2 * multiple if self.info.architecture.startswith("pix2pixhd") else multiple
        target = tuple(max(least, -(-side // multiple) * multiple) for side in (height, width))
        if self.info.use_vae:
            if z is None:
                z = self.random_z(n, seed)
            elif seed is not None:
                raise ValueError("give either a style code z or a seed, not both")
            z = z.reshape(1, -1).expand(n, -1) if z.ndim == 1 or z.shape[0] == 1 else z
            if z.shape != (n, self.info.z_dim):
                raise ValueError(f"the style code must be [{n}, {self.info.z_dim}], got {list(z.shape)}")
            z = z.to(device=device, dtype=dtype)
            target = self.network.output_size(height, width)
            if height > target[0] or width > target[1]:
                raise ValueError(f"this SPADE VAE model paints {target[0]}×{target[1]} pictures (its fc layer fixes "
                                 f"the latent grid); a {height}×{width} semantic map does not fit: give one of at "
                                 f"most {target[0]}×{target[1]}, ideally that size")
        elif z is not None:
            raise ValueError("this model has no style code (it is not a VAE model): leave z out")
        padded = semantics
        if target != (height, width):
            padded = F.pad(semantics, (0, target[1] - width, 0, target[0] - height), mode="replicate")
        with torch.no_grad():
            out = self.network(padded, z) if self.info.use_vae else self.network(padded)
        return out[..., :height, :width]

    def encode_style(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) [N, z_dim] of pictures NCHW in [-1, 1] (any size: resized to 256² as the
        original does); ``mu`` is the style code of the picture, :meth:`sample_style` draws around it."""
        if self.encoder is None:
            raise ValueError("this model has no style encoder" + (
                " (load the *_net_E.pth saved beside the generator)" if self.info.use_vae else
                " (only SPADE VAE models take a style)"))
        device, dtype = self._place()
        with torch.no_grad():
            return self.encoder(image.to(device=device, dtype=dtype))

    def sample_style(self, mu: torch.Tensor, logvar: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """mu + exp(logvar / 2)·ε, the original's reparameterisation, with ε from a CPU generator."""
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        eps = torch.randn(mu.shape, generator=generator).to(device=mu.device, dtype=mu.dtype)
        return eps.mul(torch.exp(0.5 * logvar)) + mu

    def random_z(self, n: int, seed: int | None = None) -> torch.Tensor:
        """[n, z_dim] standard normal style codes drawn on the CPU (the same on every device), on the model's device."""
        if not self.info.use_vae:
            raise ValueError("this model has no style code (it is not a VAE model)")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        device, dtype = self._place()
        return torch.randn(n, self.info.z_dim, generator=generator).to(device=device, dtype=dtype)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> SemanticModel:
        self.network.to(device=device, dtype=dtype)
        if self.encoder is not None:
            self.encoder.to(device=device, dtype=dtype)
        return self


# -------------------------------------------------------------------------------------------------- loading


def _prepare(architecture: str, tensors: dict[str, torch.Tensor], kwargs: dict, name: str) -> dict[str, torch.Tensor]:
    """The file's state as our modules hold it: spectral norm folded (SPADE), unused InstanceNorm
    statistics dropped and missing batch counters added (pix2pixHD)."""
    if architecture in ("spade", "spade-encoder"):
        tensors = fold_spectral_norm(tensors)
    elif kwargs.get("norm") == "instance":
        kept = {k: v for k, v in tensors.items() if not k.endswith(_RUNNING)}
        if len(kept) != len(tensors):
            log.info("%s: dropped %d InstanceNorm running statistics (never used at test time)", name,
                     len(tensors) - len(kept))
        tensors = kept
    return add_missing_batch_counters(dict(tensors))


def _what(architecture: str) -> str:
    return {"spade": "an NVlabs SPADE generator", "spade-encoder": "a SPADE style encoder",
            "pix2pixhd-global": "a pix2pixHD global generator",
            "pix2pixhd-local": "a pix2pixHD local enhancer"}[architecture]


def _not_semantic(file: CheckpointFile, name: str) -> CheckpointError:
    found = registry.recognise_file(file, name)
    if found is None:
        return CheckpointError(registry.unclaimed_message(file, name))
    what = found.hint or f"load it with the {found.family} nodes"
    return CheckpointError(f"{name} is {found.summary}, not a SPADE / pix2pixHD generator: {what}")


def partner_encoder(path: Path) -> Path | None:
    """The ``<epoch>_net_E.pth`` a SPADE VAE run saves beside ``<epoch>_net_G.pth``."""
    match = re.fullmatch(r"(.*_net_)G(\.pth?)", path.name)
    if match is None:
        return None
    other = path.with_name(f"{match.group(1)}E{match.group(2)}")
    return other if other.is_file() else None


def _load_encoder(path: Path, info: SemanticInfo) -> ConvEncoder:
    file = read_checkpoint(path, "a SPADE style encoder (*_net_E.pth)")
    found = recognise_semantic(file, path.name)
    if found is None or found.architecture != "spade-encoder":
        raise _not_semantic(file, path.name) if found is None else \
            CheckpointError(f"{path.name} is {found.summary}, not a SPADE style encoder (*_net_E.pth)")
    kwargs = dict(found.config)
    if kwargs["z_dim"] != info.z_dim:
        raise CheckpointError(f"{path.name} encodes styles of {kwargs['z_dim']} numbers; the generator takes "
                              f"{info.z_dim}")
    tensors = _prepare("spade-encoder", _flat_state(file) or {}, kwargs, path.name)
    info.encoder_kwargs = kwargs
    return build_network(ConvEncoder, kwargs, tensors, path.name, _what("spade-encoder"))


def load_semantic(path: str | os.PathLike, device: torch.device | str | None = None,
                  dtype: torch.dtype | None = None, upsampling: str | None = None, layout: Mapping | None = None,
                  encoder_path: str | os.PathLike | None = None) -> SemanticModel:
    """Load a SPADE or pix2pixHD generator (an original ``*_net_G.pth`` or our ``.safetensors``).

    Nothing in the file is executed; loading is strict (every key, every shape). ``upsampling``
    ("normal" / "more") and ``layout`` (``label_nc``, ``contain_dontcare``, ``use_instance``,
    ``dataset``) override what the file cannot show (see the module notes). A SPADE VAE
    generator's style encoder comes from ``encoder_path``, else from the ``*_net_E.pth`` beside
    it when there is one. The networks come back in eval mode without gradients.
    """
    path = Path(path)
    name = path.name
    file = read_checkpoint(path, "a SPADE / pix2pixHD generator (*_net_G.pth) or a GANForge .safetensors")
    found = recognise_semantic(file, name)
    if found is None:
        raise _not_semantic(file, name)
    if found.role != "generator" or not found.loadable:
        raise CheckpointError(f"{name} is {found.summary}, not a SPADE / pix2pixHD generator: "
                              f"{found.hint or 'GANForge cannot load it'}")
    encoder = None
    if (own := registry.own_file(file, [ARCHITECTURE])) is not None:
        info = _stored_info(own[1])
        if upsampling is not None and upsampling != info.upsampling:
            raise ValueError(f"{name} was saved with '{info.upsampling}' upsampling, which it keeps "
                             f"(asked for {upsampling!r})")
        parts = {p: {k[len(p):]: v for k, v in file.content.items() if k.startswith(p)} for p in ("G.", "E.")}
        network = build_network(FACTORIES[info.architecture], info.kwargs, parts["G."], name,
                                _what(info.architecture))
        if info.encoder_kwargs is not None:
            encoder = build_network(ConvEncoder, info.encoder_kwargs, parts["E."], name, _what("spade-encoder"))
    else:
        architecture = found.architecture
        tensors = _flat_state(file) or {}
        if architecture == "spade":
            kwargs = spade_kwargs(tensors, upsampling)
        else:
            if upsampling is not None:
                raise ValueError(f"{name} is a pix2pixHD generator; upsampling applies to SPADE only")
            kwargs = {k: v for k, v in found.config.items() if k != "layout"}
        info = _info(architecture, kwargs, upsampling_given=upsampling is not None)
        network = build_network(FACTORIES[architecture], kwargs, _prepare(architecture, tensors, kwargs, name),
                                name, _what(architecture))
    _apply_layout(info, layout)
    if encoder_path is not None or (info.use_vae and encoder is None and partner_encoder(path) is not None):
        if not info.use_vae:
            raise CheckpointError(f"{name} is not a SPADE VAE generator: it takes no style encoder")
        chosen = Path(encoder_path) if encoder_path is not None else partner_encoder(path)
        encoder = _load_encoder(chosen, info)  # type: ignore[arg-type]
        if encoder_path is None:
            info.notes.append(f"style encoder {chosen.name} loaded from beside the generator")  # type: ignore[union-attr]
    elif info.use_vae and encoder is None:
        info.notes.append("no style encoder: styles are random codes (give the *_net_E.pth to copy a picture's style)")
    return SemanticModel(network, info, encoder).to(device, dtype)


# ------------------------------------------------------------------------------------------ new and saving


def _xavier(network: nn.Module, gain: float = 0.02) -> nn.Module:
    """The original's default initialisation (``--init_type xavier``, ``--init_variance`` 0.02):
    convolution and linear weights xavier-normal with that gain, biases zero."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.xavier_normal_(module.weight, gain=gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d) and module.weight is not None:
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return network


def create_spade(kwargs: Mapping, layout: Mapping | None = None, encoder: bool = False,
                 seed: int | None = None) -> SemanticModel:
    """A new SPADE generator (``kwargs`` of :class:`~.spade.SPADEGenerator`; with ``encoder`` and
    ``use_vae`` also its style encoder of width ngf) with the original's initialisation."""
    if seed is not None:
        torch.manual_seed(seed)
    defaults = {n: p.default for n, p in inspect.signature(SPADEGenerator).parameters.items()
                if p.default is not inspect.Parameter.empty}
    kwargs = {**defaults, **kwargs}
    if kwargs.get("latent_shape") is not None:
        kwargs["latent_shape"] = list(kwargs["latent_shape"])
    network = _xavier(SPADEGenerator(**kwargs))
    info = _info("spade", kwargs, upsampling_given=True)
    info.source, info.notes = "GANForge", []
    _apply_layout(info, layout if layout is not None else _layout_dict(info))
    style = None
    if encoder:
        if not kwargs["use_vae"]:
            raise ValueError("only a VAE generator (use_vae) has a style encoder")
        info.encoder_kwargs = dict(ndf=kwargs["ngf"], z_dim=kwargs["z_dim"], norm="instance", spectral=True)
        style = _xavier(ConvEncoder(**info.encoder_kwargs))
    return SemanticModel(network.eval(), info, style.eval() if style is not None else None)


def save_semantic(model: SemanticModel, path: str | os.PathLike) -> None:
    """Self-describing safetensors (folded weights, ``G.*`` and the style encoder's ``E.*``) with
    the architecture, its arguments, the channel layout and the upsampling; refuses to replace a file."""
    info = model.info
    tensors = {f"G.{k}": v for k, v in model.network.state_dict().items()}
    if model.encoder is not None:
        tensors.update({f"E.{k}": v for k, v in model.encoder.state_dict().items()})
    kwargs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in info.kwargs.items()}
    save_safetensors(tensors, path, ARCHITECTURE, {
        "architecture": info.architecture, "kwargs": kwargs, "semantic_nc": info.semantic_nc,
        "label_nc": info.label_nc, "contain_dontcare": info.contain_dontcare, "use_instance": info.use_instance,
        "upsampling": info.upsampling, "dataset": info.dataset,
        "encoder_kwargs": info.encoder_kwargs if model.encoder is not None else None})

