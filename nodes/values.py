"""The values that travel on GANForge's custom sockets (see ``types.py``).

Plain containers, no ComfyUI import: a latent remembers the shape it must meet, so a node
receiving it can say exactly what does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class StyleGANModel:
    """A generator with its file name and ComfyUI's model patcher (so ComfyUI can evict it)."""

    generator: torch.nn.Module
    name: str
    patcher: object | None = None
    force_fp32: bool = False

    @property
    def architecture(self) -> str:
        return self.generator.architecture

    def describe(self) -> str:
        g = self.generator
        classes = f"{g.c_dim} classes" if g.c_dim else "unconditional"
        return f"{self.name}: {self.architecture}, {g.img_resolution}px, {g.num_ws} ws x {g.w_dim}, {classes}"


@dataclass
class ZLatents:
    z: torch.Tensor  # [N, z_dim], float32, CPU
    seeds: list[int] = field(default_factory=list)

    def labels(self) -> list[str]:
        return [f"seed {seed}" for seed in self.seeds] if len(self.seeds) == len(self.z) else []


@dataclass
class WLatents:
    ws: torch.Tensor  # [N, num_ws, w_dim], float32, CPU
    source: str = ""  # the model it was made with, for messages
    labels: list[str] = field(default_factory=list)

    @property
    def num_ws(self) -> int:
        return self.ws.shape[1]


@dataclass
class SR3Settings:
    """How an SR3 model samples when it serves as an upscaler."""

    sampler: str = "ddim"
    steps: int = 50
    eta: float = 0.0
    seed: int = 0


@dataclass
class UpscalerModel:
    """A super-resolution network (``network.info`` describes it) with its file name, ComfyUI's
    model patcher, and for SR3 the sampler settings."""

    network: torch.nn.Module
    name: str
    patcher: object | None = None
    sr3: SR3Settings | None = None

    @property
    def scale(self) -> float:
        return self.network.info.scale

    def describe(self) -> str:
        text = self.network.info.describe(self.name)
        if self.sr3 is not None:
            text += f", {self.sr3.sampler} {self.sr3.steps if self.sr3.sampler == 'ddim' else 'all'} steps"
        return text


@dataclass
class VQGANModel:
    """A VQGAN with its file name and ComfyUI's model patcher."""

    network: torch.nn.Module
    name: str
    patcher: object | None = None

    def describe(self) -> str:
        n = self.network
        kind = "Gumbel " if n.gumbel else ""
        return (f"{self.name}: {kind}VQGAN f{n.factor}, codebook {n.n_embed} x {n.embed_dim}, "
                f"{n.kwargs['in_channels']} channel(s)")


@dataclass
class VQLatent:
    z: torch.Tensor  # [N, embed_dim, h, w], float32, CPU
    source: str = ""  # the model it belongs to, for messages


@dataclass
class ClipHandle:
    """A ClipModel (ganforge.models.guidance) with ComfyUI's model patcher."""

    clip: object
    patcher: object | None = None


@dataclass
class GuideSettings:
    """How guidance looks at a picture: CLIP and its cutouts."""

    clip: ClipHandle
    cutn: int = 32
    cut_pow: float = 1.0
    method: str = "latest"
    augments: tuple[str, ...] = ("Af", "Pe", "Ji", "Er")
    noise: float = 0.1


@dataclass
class TranslatorModel:
    """A ganforge.models.translation.Translator with its file name and ComfyUI's model patcher."""

    translator: object
    name: str
    patcher: object | None = None

    def describe(self) -> str:
        return self.translator.info.describe(self.name)


@dataclass
class MultimodalHandle:
    """A ganforge MunitModel or FunitModel with its file name and ComfyUI's model patcher."""

    model: object
    name: str
    patcher: object | None = None

    @property
    def kind(self) -> str:
        return self.model.info.kind

    def describe(self) -> str:
        return self.model.info.describe(self.name)


@dataclass
class ContentCode:
    """Content codes of N pictures: what a MUNIT / FUNIT content encoder keeps of them.

    ``size`` is the pictures' size before padding to the network's multiple, so that a decoder
    can crop its output back to it."""

    codes: torch.Tensor  # [N, C, h, w]
    model: str  # the file whose content encoder made them
    kind: str  # "munit" or "funit"
    domain: str  # the domain of the encoded pictures ("A" / "B"; "" for FUNIT)
    size: tuple[int, int]  # (height, width) of the pictures
    offset: tuple[int, int] = (0, 0)  # (top, left) of the pictures inside the padded ones


@dataclass
class StyleCode:
    """Style codes [N, style_dim] (MUNIT) or FUNIT class codes, and where they came from."""

    codes: torch.Tensor  # [N, dim]
    model: str
    kind: str  # "munit" or "funit"
    domain: str  # the domain whose pictures the style describes, i.e. the decoder it belongs to
    labels: list[str] = field(default_factory=list)  # one per code, for grids ("seed 3", "picture 1", ...)


@dataclass
class LabelMap:
    """Class indices of N pictures for semantic synthesis, with optional instance edges."""

    labels: torch.Tensor  # [N, H, W] int64; -1 = don't care
    palette: object | None = None  # a ganforge.models.translation.labels.Palette, for previews
    edges: torch.Tensor | None = None  # [N, 1, H, W] float 0/1: instance boundaries
    notes: list[str] = field(default_factory=list)


@dataclass
class SemanticHandle:
    """A ganforge SemanticModel (SPADE or pix2pixHD) with its file name and ComfyUI's model patcher."""

    model: object
    name: str
    patcher: object | None = None

    def describe(self) -> str:
        return self.model.info.describe(self.name)
