"""Training pix2pix and CycleGAN on your own pictures, with the original recipes.

junyanz/pytorch-CycleGAN-and-pix2pix, reproduced (``models/pix2pix_model.py``,
``models/cycle_gan_model.py``, ``util/image_pool.py``, ``models/networks.py``, the train options):

* **pix2pix** (paired): G is ``unet_256`` with batch norm and dropout; D is the 70x70 PatchGAN
  (``NLayerDiscriminator``, 3 layers) and sees ``cat(A, B)``. Loss: GAN + 100 * L1(G(A), B).
  The pix2pix model sets ``gan_mode='vanilla'`` (the cross-entropy GAN loss on logits) and
  ``pool_size=0`` (no history); each step updates D first, then G.
* **CycleGAN** (unpaired): two ``resnet_9blocks`` generators with instance norm and no dropout
  (G_A: A→B, G_B: B→A), two PatchGANs (D_A judges domain B, D_B domain A). Loss: least-squares
  GAN (``gan_mode='lsgan'``, the train options' default) + cycle 10 * L1 in each direction +
  identity 0.5 * 10 * L1 (G_A(B) ≈ B, G_B(A) ≈ A); D sees fakes through a 50-picture history pool
  (once full, each fake is with p = 0.5 swapped for a stored one). Each step updates both G, then
  both D.
* Both: Adam lr 2e-4, betas (0.5, 0.999); the learning rate is constant, then decays linearly
  towards 0 over the last ``decay_steps`` (the original's n_epochs / n_epochs_decay, counted in
  steps, half and half by default); each D loss is halved; weights start from N(0, 0.02)
  (:func:`~.loader.init_weights`). Pictures are resized to ``load_size`` (286 for 256 crops),
  randomly cropped to ``crop_size`` and randomly flipped, the same crop and flip for both halves
  of a pix2pix pair.

Everything random (batches, crops, flips, the pool, dropout) draws from generators reset at every
step from (seed, step), and the pool is part of the saved state, so a run resumed from its state
file continues exactly (bit for bit) like an unbroken run. :func:`run_translation_training` is
what ``python -m ganforge train-translation`` and the Train Translator node call.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import nn

from ..training.data import open_picture, picture_files, picture_to_uint8
from ..training.loop import gan_steps, one_rate, read_state_file, write_state_file
from .loader import DIRECTIONS, Translator, create_translator, export_junyanz, init_weights, save_translation
from .networks import NORMS, BatchNorm2d, NLayerDiscriminator, set_inference_mode
from .translate import translate

KINDS = ("pix2pix", "cyclegan")
GAN_MODES = ("vanilla", "lsgan")
PREPROCESS = ("resize_and_crop", "crop", "none")
STATE_FORMAT = "ganforge-translation-training-1"
DEFAULTS = {  # the original's per-model defaults
    "pix2pix": {"architecture": "unet_256", "norm": "batch", "dropout": True, "gan_mode": "vanilla", "pool_size": 0},
    "cyclegan": {"architecture": "resnet_9blocks", "norm": "instance", "dropout": False, "gan_mode": "lsgan",
                 "pool_size": 50},
}
AB, BA = DIRECTIONS  # "A->B", "B->A"
LOAD_RATIO = 286 / 256  # the original resizes to 286 and crops 256


class TranslationTrainingError(ValueError):
    """A translation training run that cannot start: bad pictures or folders, bad settings, an
    unusable resume file, an output that exists."""


# ---------------------------------------------------------------------------------------------
# generators by the original's names


def generator_kwargs(name: str, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, norm: str = "batch",
                     use_dropout: bool = False) -> tuple[str, dict]:
    """("resnet" | "unet", constructor kwargs) for a junyanz ``--netG`` name: ``resnet_9blocks``,
    ``resnet_6blocks`` (any count), ``unet_256``, ``unet_128`` (any power of two from 32)."""
    if norm not in NORMS:
        raise TranslationTrainingError(f"unknown norm {norm!r} ({', '.join(NORMS)})")
    if match := re.fullmatch(r"resnet_(\d+)blocks", name):
        return "resnet", dict(input_nc=input_nc, output_nc=output_nc, ngf=ngf, norm=norm, use_dropout=use_dropout,
                              n_blocks=int(match.group(1)), padding="reflect")
    if (match := re.fullmatch(r"unet_(\d+)", name)) and (size := int(match.group(1))) >= 32 \
            and size & (size - 1) == 0:
        return "unet", dict(input_nc=input_nc, output_nc=output_nc, num_downs=size.bit_length() - 1, ngf=ngf,
                            norm=norm, use_dropout=use_dropout)
    raise TranslationTrainingError(f"unknown generator {name!r}: resnet_<N>blocks (resnet_9blocks, resnet_6blocks) "
                                   "or unet_<size> with a power of two from 32 (unet_256, unet_128, unet_32)")


def size_multiple(architecture: str, kwargs: dict) -> int:
    return 2 ** kwargs["num_downs"] if architecture == "unet" else 4


def patchgan_output_side(side: int, n_layers: int) -> int:
    """The side of the PatchGAN's logit map for ``side`` px pictures (4x4 convolutions, padding 1)."""
    for stride in [2] * n_layers + [1, 1]:
        side = (side + 2 - 4) // stride + 1
    return side


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class TranslationData:
    """Training pictures of the two domains, at ``load_size``, cropped and flipped as batches are drawn.

    ``a`` is ``[N, C_in, H, W]``, ``b`` is ``[M, C_out, H, W]``: uint8 (0..255, from files) or
    float in [-1, 1] (tensors given directly). Paired data (pix2pix) has ``b[i]`` belonging to
    ``a[i]``; unpaired data (CycleGAN) draws A and B independently."""

    a: torch.Tensor
    b: torch.Tensor
    paired: bool
    crop_size: int
    flip: bool = True
    notices: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.paired and self.a.shape[0] != self.b.shape[0]:
            raise TranslationTrainingError(f"paired data needs as many B pictures as A pictures "
                                           f"({self.a.shape[0]} vs {self.b.shape[0]})")
        for name, x in (("A", self.a), ("B", self.b)):
            if x.shape[0] == 0:
                raise TranslationTrainingError(f"domain {name} holds no pictures")
            if min(x.shape[-2:]) < self.crop_size:
                raise TranslationTrainingError(f"the {name} pictures are {x.shape[-1]}x{x.shape[-2]} px, smaller than "
                                               f"the {self.crop_size} px crops training takes")

    def sample(self, generator: torch.Generator, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` (A, B) pictures as float32 in [-1, 1]: random pictures (the same index for
        both domains when paired), each randomly cropped and flipped (the same way for a pair)."""
        index_a = torch.randint(0, self.a.shape[0], (count,), generator=generator)
        index_b = index_a if self.paired else torch.randint(0, self.b.shape[0], (count,), generator=generator)
        place_a = self._placements(self.a, count, generator)
        place_b = place_a if self.paired else self._placements(self.b, count, generator)
        return self._take(self.a, index_a, place_a), self._take(self.b, index_b, place_b)

    def _placements(self, x: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
        height, width = x.shape[-2:]
        top = torch.randint(0, height - self.crop_size + 1, (count,), generator=generator)
        left = torch.randint(0, width - self.crop_size + 1, (count,), generator=generator)
        flip = torch.rand(count, generator=generator) > 0.5 if self.flip else torch.zeros(count, dtype=torch.bool)
        return torch.stack([top, left, flip.long()], 1)

    def _take(self, x: torch.Tensor, index: torch.Tensor, places: torch.Tensor) -> torch.Tensor:
        size, out = self.crop_size, []
        for i, (top, left, flip) in zip(index.tolist(), places.tolist(), strict=True):
            picture = x[i, :, top:top + size, left:left + size]
            out.append(picture.flip(-1) if flip else picture)
        batch = torch.stack(out)
        return batch.float() / 127.5 - 1 if batch.dtype == torch.uint8 else batch.float()


def resolve_load_size(preprocess: str, crop_size: int, load_size: int | None, ratio: float) -> int | None:
    """The size pictures are resized to before cropping: ``load_size``, by default ``crop_size *
    ratio`` (the recipe's own: 286 / 256 for junyanz, 140 / 128 for FUNIT), for "resize_and_crop";
    None (pictures as they are) for "crop" and "none"."""
    if preprocess not in PREPROCESS:
        raise TranslationTrainingError(f"unknown preprocess {preprocess!r} ({', '.join(PREPROCESS)})")
    if preprocess != "resize_and_crop":
        return None
    load_size = load_size or round(crop_size * ratio)
    if load_size < crop_size:
        raise TranslationTrainingError(f"load size {load_size} is smaller than the crop size {crop_size}")
    return load_size


def _examples(paths: list[Path], count: int = 4) -> str:
    shown = ", ".join(p.name for p in paths[:count])
    return shown + (f" and {len(paths) - count} more" if len(paths) > count else "")


def _folder_pictures(folder: Path, what: str) -> list[Path]:
    try:
        files = picture_files(folder, recursive=False)
    except ValueError:
        raise TranslationTrainingError(f"{what}: {folder} is not a folder") from None
    if not files:
        raise TranslationTrainingError(f"{what}: {folder} holds no pictures (.png, .jpg, .webp, ...)")
    return files


def _open(path: Path, channels: int, notices: list[str]) -> Image.Image | None:
    try:
        return open_picture(path, channels)
    except (UnidentifiedImageError, OSError) as error:
        notices.append(f"skipped {path.name}: {error}")
        return None


def _resized(picture: Image.Image, load_size: int | None, channels: int) -> torch.Tensor:
    picture = picture.convert("RGB" if channels == 3 else "L")
    if load_size:  # the original resizes to a square, whatever the aspect (transforms.Resize([s, s]))
        picture = picture.resize((load_size, load_size), Image.BICUBIC)
    return picture_to_uint8(picture)


def _stack(pictures: list[torch.Tensor], names: list[str], what: str) -> torch.Tensor:
    sizes: dict[tuple[int, int], list[str]] = {}
    for picture, name in zip(pictures, names, strict=True):
        sizes.setdefault((picture.shape[-1], picture.shape[-2]), []).append(name)
    if len(sizes) > 1:
        listed = "; ".join(f"{w}x{h}: {', '.join(n[:3])}{' ...' if len(n) > 3 else ''}"
                           for (w, h), n in sorted(sizes.items()))
        raise TranslationTrainingError(f"{what} holds pictures of {len(sizes)} sizes ({listed}); without resizing "
                                       "(preprocess 'crop' or 'none') they must all be the same size: resize them, or "
                                       "use preprocess 'resize_and_crop'")
    return torch.stack(pictures)


def aligned_folder(folder: str | os.PathLike, input_nc: int = 3, output_nc: int = 3, load_size: int | None = 286,
                   ) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """junyanz's ``aligned`` data: each picture is A (left half) and B (right half) side by side.
    Returns A, B (uint8, each half resized to ``load_size`` unless it is None) and notices."""
    folder, notices = Path(folder), []
    if (folder / "train").is_dir() and not picture_files(folder, recursive=False):
        folder = folder / "train"  # the original's datasets/<name>/train layout
        notices.append(f"using {folder} (the training pictures of the data set)")
    files = _folder_pictures(folder, "pix2pix aligned folder")
    odd = []
    a, b, names = [], [], []
    for path in files:
        picture = _open(path, 3, notices)
        if picture is None:
            continue
        if picture.width % 2:
            odd.append(f"{path.name} ({picture.width}x{picture.height})")
            continue
        half = picture.width // 2
        a.append(_resized(picture.crop((0, 0, half, picture.height)), load_size, input_nc))
        b.append(_resized(picture.crop((half, 0, picture.width, picture.height)), load_size, output_nc))
        names.append(path.name)
    if odd:
        raise TranslationTrainingError(f"{len(odd)} picture(s) in {folder} have an odd width, so they cannot be split "
                                       f"into A (left half) and B (right half) of equal size: {', '.join(odd[:4])}"
                                       f"{' ...' if len(odd) > 4 else ''}")
    if not a:
        raise TranslationTrainingError(f"pix2pix aligned folder: {folder} holds no readable pictures")
    return _stack(a, names, str(folder)), _stack(b, names, str(folder)), notices


def paired_folders(folder_a: str | os.PathLike, folder_b: str | os.PathLike, input_nc: int = 3, output_nc: int = 3,
                   load_size: int | None = 286) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """pix2pix pairs from two folders: A and B pictures pair up by file name (without suffix)."""
    folder_a, folder_b, notices = Path(folder_a), Path(folder_b), []
    sides = {}
    for folder, what in ((folder_a, "pix2pix folder A"), (folder_b, "pix2pix folder B")):
        by_name: dict[str, Path] = {}
        for path in _folder_pictures(folder, what):
            if path.stem in by_name:
                raise TranslationTrainingError(f"{folder} holds {by_name[path.stem].name} and {path.name}: one picture "
                                               "per name, so that A and B pair up by name")
            by_name[path.stem] = path
        sides[folder] = by_name
    names_a, names_b = sides[folder_a], sides[folder_b]
    only_a = [names_a[n] for n in sorted(set(names_a) - set(names_b))]
    only_b = [names_b[n] for n in sorted(set(names_b) - set(names_a))]
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} in {folder_a} have no partner in {folder_b} ({_examples(only_a)})")
        if only_b:
            parts.append(f"{len(only_b)} in {folder_b} have no partner in {folder_a} ({_examples(only_b)})")
        raise TranslationTrainingError("pix2pix needs pairs: A and B pictures pair up by file name, but "
                                       + "; ".join(parts))
    a, b, names = [], [], []
    for name in sorted(names_a):
        picture_a = _open(names_a[name], input_nc, notices)
        picture_b = _open(names_b[name], output_nc, notices)
        if picture_a is None or picture_b is None:
            notices.append(f"the pair {name} was left out")
            continue
        if load_size is None and picture_a.size != picture_b.size:
            raise TranslationTrainingError(f"the pair {name} has A {picture_a.width}x{picture_a.height} and B "
                                           f"{picture_b.width}x{picture_b.height} px; without resizing a pair must "
                                           "have one size")
        a.append(_resized(picture_a, load_size, input_nc))
        b.append(_resized(picture_b, load_size, output_nc))
        names.append(name)
    if not a:
        raise TranslationTrainingError(f"{folder_a} and {folder_b} hold no readable pairs")
    return _stack(a, names, str(folder_a)), _stack(b, names, str(folder_b)), notices


def picture_domain(folder: str | os.PathLike, channels: int = 3, load_size: int | None = 286,
                   what: str = "folder") -> tuple[torch.Tensor, list[str]]:
    """Every picture of one (unaligned) domain folder, uint8, resized to ``load_size`` unless None."""
    folder, notices = Path(folder), []
    pictures, names = [], []
    for path in _folder_pictures(folder, what):
        picture = _open(path, channels, notices)
        if picture is not None:
            pictures.append(_resized(picture, load_size, channels))
            names.append(path.name)
    if not pictures:
        raise TranslationTrainingError(f"{what}: {folder} holds no readable pictures")
    return _stack(pictures, names, str(folder)), notices


def load_translation_data(kind: str, a: str | os.PathLike | torch.Tensor, b: str | os.PathLike | torch.Tensor | None,
                          input_nc: int = 3, output_nc: int = 3, crop_size: int = 256, load_size: int | None = None,
                          preprocess: str = "resize_and_crop", flip: bool = True) -> TranslationData:
    """The training data of a ``kind`` run.

    pix2pix: ``a`` is an aligned folder (A|B side by side; a folder with ``A`` and ``B`` inside
    counts as two folders), or ``a`` and ``b`` are two folders whose pictures pair up by name.
    CycleGAN: ``a`` and ``b`` are the two domain folders, or ``a`` holds ``trainA`` and ``trainB``.
    Tensors (NCHW in [-1, 1]) are taken as they are (only cropped and flipped).

    ``preprocess``: "resize_and_crop" (resize to ``load_size``, default ``crop_size``·286/256, then
    random crops: the original's default), "crop" (random crops of the pictures as they are) or
    "none" (whole pictures; ``crop_size`` must be their size).
    """
    if kind not in KINDS:
        raise TranslationTrainingError(f"unknown kind {kind!r} ({' or '.join(KINDS)})")
    load_size = resolve_load_size(preprocess, crop_size, load_size, LOAD_RATIO)
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            raise TranslationTrainingError("give both domains as tensors, or both as folders")
        return TranslationData(a, b, kind == "pix2pix", crop_size, flip)
    a = Path(a)
    if kind == "pix2pix":
        if b is None and (a / "A").is_dir() and (a / "B").is_dir():
            a, b = a / "A", a / "B"
        if b is None:
            pictures_a, pictures_b, notices = aligned_folder(a, input_nc, output_nc, load_size)
        else:
            pictures_a, pictures_b, notices = paired_folders(a, b, input_nc, output_nc, load_size)
    else:
        if b is None:
            if not ((a / "trainA").is_dir() and (a / "trainB").is_dir()):
                raise TranslationTrainingError(f"CycleGAN needs two folders of pictures: give folders A and B, or a "
                                               f"folder with trainA and trainB inside ({a} has not both)")
            a, b = a / "trainA", a / "trainB"
        pictures_a, notices = picture_domain(a, input_nc, load_size, "CycleGAN folder A")
        pictures_b, notices_b = picture_domain(b, output_nc, load_size, "CycleGAN folder B")
        notices += notices_b
    if preprocess == "none":
        for name, x in (("A", pictures_a), ("B", pictures_b)):
            if tuple(x.shape[-2:]) != (crop_size, crop_size):
                raise TranslationTrainingError(f"preprocess 'none' trains on whole pictures, but the {name} pictures "
                                               f"are {x.shape[-1]}x{x.shape[-2]} px, not {crop_size}x{crop_size}")
    return TranslationData(pictures_a, pictures_b, kind == "pix2pix", crop_size, flip, notices)


# ---------------------------------------------------------------------------------------------
# the recipes


@dataclass
class TranslationConfig:
    """The training recipe; ``None`` fields take the original's default for ``kind``."""

    kind: str = "pix2pix"
    steps: int = 200  # where the learning-rate schedule ends: the total steps of the run
    decay_steps: int | None = None  # the last ones decay the rate linearly towards 0 (default: half)
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    gan_mode: str | None = None  # "vanilla" for pix2pix, "lsgan" for CycleGAN
    pool_size: int | None = None  # 0 for pix2pix, 50 for CycleGAN
    lambda_l1: float = 100.0  # pix2pix: weight of L1(G(A), B)
    lambda_a: float = 10.0  # CycleGAN: weight of the A→B→A cycle
    lambda_b: float = 10.0  # CycleGAN: weight of the B→A→B cycle
    lambda_identity: float = 0.5  # CycleGAN: identity weight, as a share of lambda_a / lambda_b
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TranslationTrainingError(f"unknown kind {self.kind!r} ({' or '.join(KINDS)})")
        self.gan_mode = self.gan_mode or DEFAULTS[self.kind]["gan_mode"]
        self.pool_size = DEFAULTS[self.kind]["pool_size"] if self.pool_size is None else self.pool_size
        if self.gan_mode not in GAN_MODES:
            raise TranslationTrainingError(f"unknown gan_mode {self.gan_mode!r} ({' or '.join(GAN_MODES)})")
        if self.steps < 1 or self.batch_size < 1 or self.pool_size < 0:
            raise TranslationTrainingError("steps and batch size must be positive and the pool size not negative")
        if self.decay_steps is not None and not 0 <= self.decay_steps <= self.steps:
            raise TranslationTrainingError(f"decay_steps must be between 0 and steps ({self.steps})")

    def lr_at(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based): the original's "linear" policy,
        ``1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)``, in steps."""
        decay = self.steps // 2 if self.decay_steps is None else self.decay_steps
        return self.lr * (1.0 - max(0, step + 1 - (self.steps - decay)) / (decay + 1))


def gan_loss(prediction: torch.Tensor, real: bool, mode: str) -> torch.Tensor:
    """The original's ``GANLoss``: "lsgan" = MSE to 1 / 0, "vanilla" = cross-entropy on logits."""
    target = torch.full_like(prediction, 1.0 if real else 0.0)
    if mode == "lsgan":
        return F.mse_loss(prediction, target)
    return F.binary_cross_entropy_with_logits(prediction, target)


class ImagePool:
    """The original's history of generated pictures: until ``size`` are stored, each new fake is
    stored and returned; then each is, with p = 0.5, returned as it is, or swapped for a random
    stored one (which is returned and replaced by the new one)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image[None]
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand((), generator=generator).item() > 0.5:
                slot = int(torch.randint(0, self.size, (), generator=generator))
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.cat(out)

    def state(self) -> torch.Tensor:
        return torch.cat(self.images) if self.images else torch.zeros(0)

    def load(self, stored: torch.Tensor, device: torch.device) -> None:
        self.images = [image[None].to(device) for image in stored] if stored.numel() else []


@dataclass
class TranslationState:
    """Everything a resumed run needs: generators, discriminators, optimisers, pools, the step."""

    translator: Translator
    discriminators: dict[str, nn.Module]  # "D" (pix2pix), or "D_A" (judges B) and "D_B" (judges A)
    d_kwargs: dict
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    pools: dict[str, ImagePool]  # "fake_AB" (pix2pix), or "fake_A" and "fake_B"
    step: int = 0
    history: list[dict] = field(default_factory=list)

    @property
    def generators(self) -> dict[str, nn.Module]:
        """The generators under the original's names (G, or G_A and G_B)."""
        networks = self.translator.networks
        return {"G_A": networks[AB], "G_B": networks[BA]} if BA in networks else {"G": networks[AB]}


def _discriminator_inputs(kind: str, kwargs: dict) -> dict[str, int]:
    if kind == "pix2pix":
        return {"D": kwargs["input_nc"] + kwargs["output_nc"]}
    return {"D_A": kwargs["output_nc"], "D_B": kwargs["input_nc"]}


def _assemble(translator: Translator, discriminators: dict[str, nn.Module], d_kwargs: dict,
              config: TranslationConfig) -> TranslationState:
    generators = list(translator.networks.values())
    betas = (config.beta1, 0.999)
    g_optimizer = torch.optim.Adam(itertools.chain(*(g.parameters() for g in generators)), lr=config.lr, betas=betas)
    d_optimizer = torch.optim.Adam(itertools.chain(*(d.parameters() for d in discriminators.values())), lr=config.lr,
                                   betas=betas)
    names = ("fake_AB",) if config.kind == "pix2pix" else ("fake_A", "fake_B")
    for network in [*generators, *discriminators.values()]:
        network.train().requires_grad_(True)
    return TranslationState(translator, discriminators, d_kwargs, g_optimizer, d_optimizer,
                            {name: ImagePool(config.pool_size) for name in names})


def new_translation_state(architecture: str, kwargs: dict, config: TranslationConfig, ndf: int = 64,
                          n_layers: int = 3, domains: tuple[str, str] = ("A", "B"),
                          device: torch.device | str | None = None) -> TranslationState:
    """Fresh networks (initialised N(0, 0.02) from ``config.seed``, without touching the global
    random state) and optimisers for ``config.kind``."""
    d_kwargs = {"ndf": ndf, "n_layers": n_layers, "norm": kwargs["norm"]}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        translator = create_translator(architecture, kwargs, config.kind, domains)
        discriminators = {name: init_weights(NLayerDiscriminator(channels, **d_kwargs))
                          for name, channels in _discriminator_inputs(config.kind, kwargs).items()}
    translator.to(device)
    for network in discriminators.values():
        network.to(device)
    return _assemble(translator, discriminators, d_kwargs, config)


def _pix2pix_step(state: TranslationState, real_a: torch.Tensor, real_b: torch.Tensor, config: TranslationConfig,
                  rng: torch.Generator) -> dict:
    G, D = state.translator.networks[AB], state.discriminators["D"]
    fake_b = G(real_a)
    # D: real pairs vs. generated pairs (through the pool, which pix2pix leaves empty by default)
    D.requires_grad_(True)
    state.d_optimizer.zero_grad(set_to_none=True)
    fake_ab = state.pools["fake_AB"].query(torch.cat([real_a, fake_b], 1), rng)
    loss_d_fake = gan_loss(D(fake_ab.detach()), False, config.gan_mode)
    loss_d_real = gan_loss(D(torch.cat([real_a, real_b], 1)), True, config.gan_mode)
    loss_d = (loss_d_fake + loss_d_real) * 0.5
    loss_d.backward()
    state.d_optimizer.step()
    # G: fool D, and stay close to B
    D.requires_grad_(False)
    state.g_optimizer.zero_grad(set_to_none=True)
    loss_g_gan = gan_loss(D(torch.cat([real_a, fake_b], 1)), True, config.gan_mode)
    loss_g_l1 = F.l1_loss(fake_b, real_b) * config.lambda_l1
    (loss_g_gan + loss_g_l1).backward()
    state.g_optimizer.step()
    return {"G_GAN": loss_g_gan.item(), "G_L1": loss_g_l1.item(), "D_real": loss_d_real.item(),
            "D_fake": loss_d_fake.item()}


def _cyclegan_step(state: TranslationState, real_a: torch.Tensor, real_b: torch.Tensor, config: TranslationConfig,
                   rng: torch.Generator) -> dict:
    G_A, G_B = state.translator.networks[AB], state.translator.networks[BA]
    D_A, D_B = state.discriminators["D_A"], state.discriminators["D_B"]
    mode = config.gan_mode
    fake_b = G_A(real_a)
    rec_a = G_B(fake_b)
    fake_a = G_B(real_b)
    rec_b = G_A(fake_a)
    # both G
    D_A.requires_grad_(False)
    D_B.requires_grad_(False)
    state.g_optimizer.zero_grad(set_to_none=True)
    loss_idt_a = loss_idt_b = torch.zeros((), device=real_a.device)
    if config.lambda_identity > 0:
        loss_idt_a = F.l1_loss(G_A(real_b), real_b) * config.lambda_b * config.lambda_identity
        loss_idt_b = F.l1_loss(G_B(real_a), real_a) * config.lambda_a * config.lambda_identity
    loss_g_a = gan_loss(D_A(fake_b), True, mode)
    loss_g_b = gan_loss(D_B(fake_a), True, mode)
    loss_cycle_a = F.l1_loss(rec_a, real_a) * config.lambda_a
    loss_cycle_b = F.l1_loss(rec_b, real_b) * config.lambda_b
    (loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b).backward()
    state.g_optimizer.step()
    # both D, on fakes from the history pools
    D_A.requires_grad_(True)
    D_B.requires_grad_(True)
    state.d_optimizer.zero_grad(set_to_none=True)
    losses = {}
    for name, D, real, fake, pool in (("D_A", D_A, real_b, fake_b, "fake_B"), ("D_B", D_B, real_a, fake_a, "fake_A")):
        fake = state.pools[pool].query(fake, rng)
        loss = (gan_loss(D(real), True, mode) + gan_loss(D(fake.detach()), False, mode)) * 0.5
        loss.backward()
        losses[name] = loss.item()
    state.d_optimizer.step()
    return {"G_A": loss_g_a.item(), "G_B": loss_g_b.item(), "cycle_A": loss_cycle_a.item(),
            "cycle_B": loss_cycle_b.item(), "idt_A": loss_idt_a.item(), "idt_B": loss_idt_b.item(), **losses}


def train_translation(state: TranslationState, data: TranslationData, config: TranslationConfig,
                      until: int | None = None,
                      on_step: Callable[[TranslationState, dict], None] | None = None) -> TranslationState:
    """Train from ``state.step`` up to step ``until`` (default ``config.steps``). ``on_step(state,
    record)`` runs after each step, outside the step's random state (raise from it to stop)."""
    until = config.steps if until is None else until
    if config.kind == "cyclegan" and config.lambda_identity > 0 \
            and state.translator.info.input_nc != state.translator.info.output_nc:
        raise TranslationTrainingError("the identity loss needs as many input as output channels; set "
                                       "lambda_identity to 0")
    device = next(state.translator.networks[AB].parameters()).device
    step_fn = _pix2pix_step if config.kind == "pix2pix" else _cyclegan_step

    def step(rng: torch.Generator) -> dict:
        # batches, crops, flips and the pool draw from rng; dropout from the (forked, seeded) global state
        real_a, real_b = (x.to(device) for x in data.sample(rng, config.batch_size))
        return step_fn(state, real_a, real_b, config, rng)

    gan_steps(state, until, config.seed, device, step, one_rate(config.lr_at, state.g_optimizer, state.d_optimizer),
              on_step)
    return state


def save_translation_state(state: TranslationState, config: TranslationConfig, path: str | os.PathLike) -> None:
    """Everything needed to resume, in a file ``torch.load(weights_only=True)`` reads (no code)."""
    info = state.translator.info
    write_state_file({
        "format": STATE_FORMAT,
        "kind": config.kind,
        "architecture": info.architecture,
        "kwargs": info.kwargs,
        "domains": list(info.domains),
        "d_kwargs": state.d_kwargs,
        "generators": {name: network.state_dict() for name, network in state.generators.items()},
        "discriminators": {name: network.state_dict() for name, network in state.discriminators.items()},
        "g_optimizer": state.g_optimizer.state_dict(),
        "d_optimizer": state.d_optimizer.state_dict(),
        "pools": {name: pool.state() for name, pool in state.pools.items()},
        "step": state.step,
        "config": asdict(config),
    }, path)


def read_translation_state(path: str | os.PathLike) -> dict:
    """The raw contents of a translation state file (checked to be one)."""
    return read_state_file(path, STATE_FORMAT, "`ganforge train-translation`")


def load_translation_state(path: str | os.PathLike, config: TranslationConfig | None = None,
                           device: torch.device | str | None = None) -> tuple[TranslationState, TranslationConfig]:
    """Rebuild the state saved by :func:`save_translation_state`, and its config (or ``config``)."""
    return restore_translation_state(read_translation_state(path), config, device, Path(path).name)


def restore_translation_state(data: dict, config: TranslationConfig | None = None,
                              device: torch.device | str | None = None,
                              name: str = "the state") -> tuple[TranslationState, TranslationConfig]:
    """:func:`load_translation_state` from the contents of a state file."""
    config = config or TranslationConfig(**data["config"])
    if config.kind != data["kind"]:
        raise TranslationTrainingError(f"{name} trains {data['kind']}, not {config.kind}")
    with torch.random.fork_rng(devices=[]):  # the fresh weights are overwritten; keep the caller's random state
        translator = create_translator(data["architecture"], data["kwargs"], data["kind"], tuple(data["domains"]))
        discriminators = {name: NLayerDiscriminator(channels, **data["d_kwargs"])
                          for name, channels in _discriminator_inputs(data["kind"], data["kwargs"]).items()}
    state = _assemble(translator, discriminators, data["d_kwargs"], config)
    for name, network in [*state.generators.items(), *discriminators.items()]:
        stored = data["generators"] if name.startswith("G") else data["discriminators"]
        network.load_state_dict(stored[name])
        network.to(device)
    device = next(translator.networks[AB].parameters()).device
    state.g_optimizer.load_state_dict(data["g_optimizer"])
    state.d_optimizer.load_state_dict(data["d_optimizer"])
    for name, pool in state.pools.items():
        pool.load(data["pools"][name], device)
    state.step = int(data["step"])
    return state, config


# ---------------------------------------------------------------------------------------------
# previews


@contextmanager
def inference(translator: Translator, mode: str = "eval") -> Iterator[Translator]:
    """The translator of a running training, for a preview: networks in inference ``mode``, no
    gradients; afterwards exactly as they were (training mode, BatchNorm statistics untouched)."""
    saved = [(module, module.training, module.__dict__.get("batch_statistics"))
             for network in translator.networks.values() for module in network.modules()]
    try:
        for network in translator.networks.values():
            set_inference_mode(network, mode)
        with torch.no_grad():
            yield translator
    finally:
        for module, training, batch_statistics in saved:
            module.training = training
            if isinstance(module, BatchNorm2d):
                if batch_statistics is None:
                    module.__dict__.pop("batch_statistics", None)
                else:
                    module.batch_statistics = batch_statistics


def preview(translator: Translator, pictures: torch.Tensor, direction: str = AB, mode: str = "eval",
            seed: int = 0) -> torch.Tensor:
    """``pictures`` (NCHW, [-1, 1]) translated by a translator in training, leaving the training
    untouched (see :func:`inference`)."""
    with inference(translator, mode):
        return translate(translator.network(direction), translator.info, pictures, seed=seed).image


# ---------------------------------------------------------------------------------------------
# files in, files out


def _junyanz_targets(kind: str, folder: Path) -> list[Path]:
    names = ("G_A", "G_B") if kind == "cyclegan" else ("G",)
    return [folder / f"latest_net_{name}.pth" for name in names]


# ---------------------------------------------------------------------------------------------
# what the run_* functions of every translation recipe share


def run_config(config_type: type, recipe: dict, *, steps: int, schedule_steps: int | None, seed: int | None,
               batch: int | None, stored: dict | None, what: str, default_batch: int = 1,
               **fixed) -> tuple[Any, list[str]]:
    """The recipe of a run and notices for a person: a fresh ``config_type(**fixed, **recipe)``, or
    on resume the saved run's settings (``stored``: its config dict) with ``recipe`` on top.

    ``steps`` is where this run stops; the schedule spans ``schedule_steps`` (default ``steps``,
    and on resume the saved run's own span unless the run now goes past it). A seed or batch size
    other than the saved run's is taken, with a notice that the continuation then differs from an
    unbroken run. Unknown recipe settings are refused by name (``what`` names the recipe)."""
    known = {f.name for f in fields(config_type)} - {"kind", "steps", "seed", "batch_size"}
    unknown = set(recipe) - known
    if unknown:
        raise TranslationTrainingError(f"unknown {what}recipe setting(s) {', '.join(sorted(unknown))} "
                                       f"(known: {', '.join(sorted(known))})")
    if stored is None:
        config = config_type(**fixed, steps=schedule_steps or steps, batch_size=batch or default_batch,
                             seed=seed or 0, **recipe)
        return config, []
    notices = []
    schedule = schedule_steps or max(steps, stored["steps"])
    settings = {**stored, **recipe, "steps": schedule}
    for name, given in (("seed", seed), ("batch_size", batch)):
        if given is not None and given != settings[name]:
            notices.append(f"{name} {given} differs from the saved run's {settings[name]}: the continuation "
                           "differs from an unbroken run")
            settings[name] = given
    if stored["steps"] != schedule:
        notices.append(f"the schedule now spans {schedule} steps (the saved run planned {stored['steps']}): the "
                       "continuation differs from one unbroken run where the learning rate follows the schedule")
    return config_type(**settings), notices


def read_resume_state(path: str | os.PathLike, format_name: str, made_by: str) -> dict:
    """A saved training state to resume from, or a :class:`TranslationTrainingError` saying why not."""
    try:
        return read_state_file(path, format_name, made_by)
    except (ValueError, RuntimeError, OSError) as error:
        raise TranslationTrainingError(f"cannot resume from {path}: {error}") from None


def check_resumable(state, steps: int, resume: str | os.PathLike) -> None:
    if state.step >= steps:
        raise TranslationTrainingError(f"{Path(resume).name} is already at step {state.step}; ask for more steps "
                                       "than that (steps counts from the start of training)")


class RunProgress:
    """Reports a run's steps (every ``report_every``, and the last), times it, and calls the
    caller's ``on_step(step, steps, record, model)``; ``model_of(state)`` gives what that receives."""

    def __init__(self, state, steps: int, batch_size: int, report: Callable[[str], None], report_every: int,
                 on_step: Callable | None, model_of: Callable) -> None:
        self.steps, self.batch_size, self.report, self.report_every = steps, batch_size, report, report_every
        self.on_step, self.model_of = on_step, model_of
        self.start_step = state.step
        self.started = time.perf_counter()

    def __call__(self, state, record: dict) -> None:
        step = record["step"]
        if self.report_every and (step % self.report_every == 0 or step == self.steps):
            losses = ", ".join(f"{k} {v:.3f}" for k, v in record.items() if k not in ("step", "lr"))
            self.report(f"step {step}/{self.steps}: {losses} ({self.rate(state):.1f} images/s)")
        if self.on_step is not None:
            self.on_step(step, self.steps, record, self.model_of(state))

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def rate(self, state) -> float:
        return (state.step - self.start_step) * self.batch_size / max(self.seconds(), 1e-9)

    def facts(self, state, out: Path, state_path: Path) -> dict:
        """What every run returns about itself (files, steps, time, the last losses), reported."""
        seconds, rate = self.seconds(), self.rate(state)
        self.report(f"wrote {out} ({state.step} steps, {seconds:.1f} s, {rate:.1f} images/s)")
        last = state.history[-10:]
        return {"out": str(out), "state": str(state_path), "steps": state.step,
                "steps_run": state.step - self.start_step, "seconds": round(seconds, 1),
                "images_per_second": round(rate, 1),
                "final_losses": {k: round(sum(r[k] for r in last) / len(last), 4) for k in last[0]
                                 if k not in ("step", "lr")} if last else {}}


def _run_munit(a, b, out, *, ngf: int, ndf: int, input_nc: int, export_junyanz_dir, munit: dict | None,
               **settings) -> dict:
    from .munit_training import discriminator_defaults, generator_defaults, run_munit_training

    if export_junyanz_dir is not None:
        raise TranslationTrainingError("MUNIT has no pytorch-CycleGAN-and-pix2pix layout to export to")
    munit = munit or {}
    unknown = set(munit) - {"generator", "discriminator"}
    if unknown:
        raise TranslationTrainingError(f"munit settings take 'generator' and 'discriminator', not {sorted(unknown)}")
    generator = generator_defaults(input_nc, dim=ngf, **munit.get("generator", {}))
    discriminator = discriminator_defaults(input_nc, dim=ndf, **munit.get("discriminator", {}))
    return run_munit_training(a, b, out, generator=generator, discriminator=discriminator, **settings)


def _run_funit(a, b, out, *, ngf: int, ndf: int, input_nc: int, export_junyanz_dir, funit: dict | None,
               **settings) -> dict:
    from .funit_training import discriminator_defaults, generator_defaults, run_funit_training

    if export_junyanz_dir is not None:
        raise TranslationTrainingError("FUNIT has no pytorch-CycleGAN-and-pix2pix layout to export to")
    if b is not None:
        raise TranslationTrainingError("FUNIT takes one root folder holding one sub-folder per class (or a list of "
                                       "classes), not two domains")
    if input_nc != 3:
        raise TranslationTrainingError("FUNIT's networks are RGB only (input_nc 3); gray pictures are read as RGB")
    funit = funit or {}
    unknown = set(funit) - {"generator", "discriminator"}
    if unknown:
        raise TranslationTrainingError(f"funit settings take 'generator' and 'discriminator', not {sorted(unknown)}")
    generator = generator_defaults(nf=ngf, **funit.get("generator", {}))
    discriminator = {**discriminator_defaults(nf=ndf), "num_classes": None, **funit.get("discriminator", {})}
    return run_funit_training(a, out, generator=generator, discriminator=discriminator, **settings)


def run_translation_training(
        kind: str, a: str | os.PathLike | torch.Tensor | list | dict, b: str | os.PathLike | torch.Tensor | None,
        out: str | os.PathLike, *, steps: int = 200, batch: int | None = None, seed: int | None = None,
        architecture: str | None = None, ngf: int = 64, ndf: int = 64, n_layers_d: int = 3, norm: str | None = None,
        dropout: bool | None = None, input_nc: int = 3, output_nc: int = 3, crop_size: int = 256,
        load_size: int | None = None, preprocess: str = "resize_and_crop", flip: bool = True,
        domains: tuple[str, str] = ("A", "B"), schedule_steps: int | None = None,
        resume: str | os.PathLike | None = None, state_path: str | os.PathLike | None = None,
        export_junyanz_dir: str | os.PathLike | None = None,
        device: torch.device | str | None = None, report: Callable[[str], None] = print,
        on_step: Callable[[int, int, dict, Translator], None] | None = None, report_every: int = 100,
        munit: dict | None = None, funit: dict | None = None, **recipe) -> dict:
    """Train a pix2pix or CycleGAN translator and write ``out`` (GANForge .safetensors, both
    directions for CycleGAN), the resumable state (default ``<out stem>.training.pt`` beside it)
    and, with ``export_junyanz_dir``, the original's ``latest_net_G.pth`` (``_G_A`` / ``_G_B``) for
    its test.py. Returns facts (files, steps, seconds, images/s, ...).

    ``steps`` is the step count the run ends at, counted from the start of training (a resumed
    run continues from its saved step up to ``steps``); the learning rate decays over the end of
    ``schedule_steps`` (default ``steps``). To stop and resume a run that should end like an
    unbroken one, give the first part the final ``schedule_steps``. Data, see
    :func:`load_translation_data`; ``architecture`` is a junyanz ``--netG`` name; ``None``
    settings take the original's defaults for ``kind`` (pix2pix: unet_256, batch norm, dropout,
    vanilla GAN loss, batch 1; CycleGAN: resnet_9blocks, instance norm, no dropout, LSGAN, a
    50-picture pool, batch 1); ``recipe`` overrides :class:`TranslationConfig` fields (``lr``,
    ``lambda_l1``, ``gan_mode``, ``decay_steps``, ...). On resume the saved run's settings are used.

    ``on_step(step, steps, record, translator)`` runs after every step: show a preview with
    :func:`preview`; raise from it to interrupt (nothing is written then). Images/s counts
    training examples: pairs for pix2pix, (A, B) couples for CycleGAN. No existing file is ever
    replaced.

    ``kind="munit"`` trains MUNIT on two unpaired sets (:mod:`.munit_training`): ``ngf`` / ``ndf``
    are the generator's and discriminators' ``dim``, ``munit`` may hold ``generator`` and
    ``discriminator`` dicts of further constructor settings (style_dim, n_res, n_layer, ...), and
    ``recipe`` overrides :class:`~.munit_training.MunitConfig` fields; ``on_step`` then receives the
    MunitModel.

    ``kind="funit"`` trains FUNIT on pictures of several classes (:mod:`.funit_training`): ``a``
    is a root folder with one sub-folder of pictures per class (or a list of class folders or
    picture tensors, see :func:`~.funit_training.load_funit_data`) and ``b`` is None; ``ngf`` /
    ``ndf`` are the generator's and discriminator's ``nf``; ``funit`` may hold ``generator`` and
    ``discriminator`` dicts (latent_dim, n_downs_content, n_res_blks, ...); ``recipe`` overrides
    :class:`~.funit_training.FunitConfig` fields; the batch defaults to the original's 64 and
    ``load_size`` to ``crop_size * 140 / 128``; ``domains`` is not used; ``on_step`` receives the
    FunitModel of the moving-average weights, which are also what ``out`` holds.
    """
    if kind not in (*KINDS, "munit", "funit"):
        raise TranslationTrainingError(f"unknown kind {kind!r} ({', '.join(KINDS)}, munit or funit)")
    out = Path(out)
    state_path = Path(state_path) if state_path else out.with_name(out.stem + ".training.pt")
    targets = [out, state_path]
    if export_junyanz_dir is not None:
        targets += _junyanz_targets(kind, Path(export_junyanz_dir))
    for path in targets:
        if path.exists():
            raise TranslationTrainingError(f"{path} exists and is never replaced; choose another output name")
    if kind == "munit":
        return _run_munit(a, b, out, steps=steps, batch=batch, seed=seed, ngf=ngf, ndf=ndf, input_nc=input_nc,
                          crop_size=crop_size, load_size=load_size, preprocess=preprocess, flip=flip, domains=domains,
                          schedule_steps=schedule_steps, resume=resume, state_path=state_path,
                          export_junyanz_dir=export_junyanz_dir, device=device, report=report, on_step=on_step,
                          report_every=report_every, munit=munit, recipe=recipe)
    if kind == "funit":
        return _run_funit(a, b, out, steps=steps, batch=batch, seed=seed, ngf=ngf, ndf=ndf, input_nc=input_nc,
                          crop_size=crop_size, load_size=load_size, preprocess=preprocess, flip=flip,
                          schedule_steps=schedule_steps, resume=resume, state_path=state_path,
                          export_junyanz_dir=export_junyanz_dir, device=device, report=report, on_step=on_step,
                          report_every=report_every, funit=funit, recipe=recipe)
    stored = read_resume_state(resume, STATE_FORMAT, "`ganforge train-translation`") if resume else None
    if stored is not None and stored["kind"] != kind:
        raise TranslationTrainingError(f"{Path(resume).name} trains {stored['kind']}, not {kind}")
    config, notices = run_config(TranslationConfig, recipe, steps=steps, schedule_steps=schedule_steps, seed=seed,
                                 batch=batch, stored=stored and stored["config"], what="", kind=kind)
    if resume:
        arch, kwargs = stored["architecture"], stored["kwargs"]
        if architecture is not None:
            wanted = generator_kwargs(architecture, kwargs["input_nc"], kwargs["output_nc"], kwargs["ngf"],
                                      kwargs["norm"], kwargs["use_dropout"])
            if wanted[0] != arch or any(wanted[1][k] != kwargs.get(k) for k in ("n_blocks", "num_downs")
                                        if k in wanted[1]):
                raise TranslationTrainingError(f"{Path(resume).name} trains a {arch} generator "
                                               f"({kwargs}), not {architecture}")
        n_layers_d = stored["d_kwargs"]["n_layers"]
    else:
        defaults = DEFAULTS[kind]
        arch, kwargs = generator_kwargs(architecture or defaults["architecture"], input_nc, output_nc, ngf,
                                        norm or defaults["norm"],
                                        defaults["dropout"] if dropout is None else dropout)
    if steps > config.steps:
        raise TranslationTrainingError(f"steps {steps} lie past the schedule's end ({config.steps})")
    multiple = size_multiple(arch, kwargs)
    if crop_size % multiple:
        raise TranslationTrainingError(f"the {arch} generator needs sides that are multiples of {multiple}; "
                                       f"{crop_size} is not (try {max(multiple, crop_size // multiple * multiple)})")
    if patchgan_output_side(crop_size, n_layers_d) < 1:
        raise TranslationTrainingError(f"{crop_size} px crops are too small for the {n_layers_d}-layer PatchGAN "
                                       "discriminator; use larger pictures or fewer discriminator layers")
    if kind == "cyclegan" and config.lambda_identity > 0 and kwargs["input_nc"] != kwargs["output_nc"]:
        raise TranslationTrainingError("the CycleGAN identity loss needs as many input as output channels; "
                                       "set lambda_identity to 0")
    data = load_translation_data(kind, a, b, kwargs["input_nc"], kwargs["output_nc"], crop_size, load_size,
                                 preprocess, flip)
    for name, x, channels in (("A", data.a, kwargs["input_nc"]), ("B", data.b, kwargs["output_nc"])):
        if x.shape[1] != channels:
            raise TranslationTrainingError(f"the {name} pictures have {x.shape[1]} channel(s); the network takes "
                                           f"{channels}")
    notices += data.notices
    for notice in notices:
        report(f"notice: {notice}")
    if resume:
        state, config = restore_translation_state(stored, config, device, Path(resume).name)
        check_resumable(state, steps, resume)
    else:
        state = new_translation_state(arch, kwargs, config, ndf, n_layers_d, domains, device)
    progress = RunProgress(state, steps, config.batch_size, report, report_every, on_step,
                           lambda state: state.translator)
    train_translation(state, data, config, until=steps, on_step=progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    save_translation_state(state, config, state_path)
    save_translation(state.translator, out)
    exported = export_junyanz(state.translator, export_junyanz_dir) if export_junyanz_dir is not None else []
    return {**progress.facts(state, out, state_path), "junyanz": [str(p) for p in exported], "kind": kind,
            "architecture": arch, "kwargs": kwargs, "discriminator": state.d_kwargs,
            "pictures": {"A": int(data.a.shape[0]), "B": int(data.b.shape[0])}, "crop_size": crop_size,
            "config": asdict(config), "notices": notices}


__all__ = ["DEFAULTS", "GAN_MODES", "KINDS", "ImagePool", "TranslationConfig", "TranslationData",
           "TranslationState", "TranslationTrainingError", "aligned_folder", "gan_loss", "generator_kwargs",
           "inference", "load_translation_data", "load_translation_state", "new_translation_state", "paired_folders",
           "picture_domain", "preview", "run_translation_training", "save_translation_state", "train_translation"]
