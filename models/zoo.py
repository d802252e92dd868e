"""The GANForge zoo: small models trained by our own code on data that ships with Python packages,
so every example workflow paints something meaningful on a machine without internet.

One registry: a member names its file, the ComfyUI folder it belongs to, and the recipe that
trains it (``python -m ganforge zoo train NAME``). Other families add members with
:func:`register`. The trained files live in ``zoo/<folder>/<name>.safetensors`` inside the pack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

ZOO_DIR = Path(__file__).resolve().parent.parent / "zoo"
Progress = Callable[[int, int, dict], None]


@dataclass(frozen=True)
class ZooMember:
    name: str
    folder: str  # the ComfyUI model folder it appears in, e.g. "stylegan"
    description: str
    recipe: Callable[[Path, Progress | None], dict]  # writes the file, returns facts to record

    @property
    def path(self) -> Path:
        return ZOO_DIR / self.folder / f"{self.name}.safetensors"


REGISTRY: dict[str, ZooMember] = {}


def register(member: ZooMember) -> ZooMember:
    if member.name in REGISTRY:
        raise ValueError(f"zoo member {member.name!r} is registered twice")
    REGISTRY[member.name] = member
    return member


def folders() -> dict[str, Path]:
    """ComfyUI folder name -> the zoo folder holding its members."""
    return {member.folder: ZOO_DIR / member.folder for member in REGISTRY.values()}


# ---------------------------------------------------------------------------------------------
# digits: a conditional StyleGAN2 (class = digit) and its bold-stroked child, for layer blending

DIGITS_RESOLUTION = 32
DIGITS_STEPS = {"digits-sg2-cond": 3000, "digits-sg2-bold": 700}
DIGITS_D_WARMUP = {"digits-sg2-cond": 0, "digits-sg2-bold": 150}
# The mode-seeking term. From scratch: 0 collapsed each class to one picture (99% legible, no
# variety), 1.0 gave variety but 72% legible digits, 0.3 real-like variety at 91%. The child keeps
# its parent's variety without it (with 0.3 it smeared its strokes: 80%). See the zoo manifest.
DIGITS_DIVERSITY = {"digits-sg2-cond": 0.3, "digits-sg2-bold": 0.0}


def _train_digits(out: Path, progress: Progress | None, name: str, data: str, seed: int,
                  parent: Path | None) -> dict:
    import tempfile

    from .training.session import run_training

    def on_step(state, record):
        if progress is not None:
            progress(record["step"], steps, record)

    steps, warmup = DIGITS_STEPS[name], DIGITS_D_WARMUP[name]
    if parent is not None and not parent.is_file():
        raise FileNotFoundError(f"{name} is fine-tuned from {parent}, which is missing: train its parent first")
    with tempfile.TemporaryDirectory() as scratch:  # the resumable state is not part of the zoo
        facts = run_training(data, out, resolution=DIGITS_RESOLUTION, steps=steps, batch=32, seed=seed, channels=1,
                             finetune=str(parent) if parent else None, report=lambda line: None, on_step=on_step,
                             state_path=Path(scratch) / "state.pt", diversity_weight=DIGITS_DIVERSITY[name],
                             d_warmup_steps=warmup)
    return {"data": data, "steps": steps, "d_warmup_steps": warmup, "seed": seed, "batch_size": 32,
            "diversity_weight": DIGITS_DIVERSITY[name], "seconds": facts["seconds"],
            "parent": parent.name if parent else None, "torch": torch.__version__}


register(ZooMember(
    "digits-sg2-cond", "stylegan",
    "Conditional StyleGAN2, 32 px gray, class = digit 0-9, trained on scikit-learn's digits.",
    lambda out, progress: _train_digits(out, progress, "digits-sg2-cond", "digits", 2024, None)))
# The child keeps its parent's shapes and classes and learns thick strokes. Its discriminator is new,
# so it gets 150 steps alone first: without them it never told thin from thick and G did not move.
register(ZooMember(
    "digits-sg2-bold", "stylegan",
    "digits-sg2-cond fine-tuned on bold (thick-stroked) digits: the child for layer blending.",
    lambda out, progress: _train_digits(out, progress, "digits-sg2-bold", "digits-bold", 7,
                                        REGISTRY["digits-sg2-cond"].path)))


# ---------------------------------------------------------------------------------------------
# super-resolution: two ESRGAN-architecture upscalers and a small SR3, trained on scikit-learn's
# sample photos and crisp-stroked digits (models/training/superres.py); the cascade example
# chains them after the digits StyleGAN.

SR_RECIPES = {
    # The x2 member has ESRGAN's own x2 layout (one upsampling stage): Real-ESRGAN's x2 packs the input
    # with pixel-unshuffle, which cannot start as a smooth enlargement (see start_as_bilinear).
    "photos-digits-rrdb-x4": dict(architecture="rrdbnet", kwargs=dict(num_feat=32, num_block=2, num_grow_ch=32),
                                  steps=2500, batch=16, hr_patch=48, lr=1e-3, seed=41),
    "photos-digits-rrdb-x2": dict(architecture="rrdbnet", kwargs=dict(num_feat=32, num_block=2, num_grow_ch=32,
                                                                      num_upsample=1),
                                  steps=2500, batch=16, hr_patch=32, lr=1e-3, seed=42),
    "photos-digits-sr3-x4": dict(architecture="sr3", kwargs=dict(in_channel=6, out_channel=3, inner_channel=32,
                                                                 norm_groups=8, channel_mults=[1, 2, 2, 4],
                                                                 attn_levels=[], res_blocks=1),
                                 steps=3000, batch=16, hr_patch=32, lr=5e-4, seed=43, factor=4, digit_share=0.75,
                                 digit_resolution=128, max_blur=2.0),
}
EVAL_DIGITS = 40
SR3_EVAL_STEPS = 50


def _train_superres(out: Path, progress: Progress | None, name: str) -> dict:
    from .superres import save_superres
    from .superres.loader import create_superres
    from .training import superres as sr

    recipe = dict(SR_RECIPES[name])
    architecture, kwargs = recipe.pop("architecture"), recipe.pop("kwargs")
    factor = recipe.pop("factor", 0)
    torch.manual_seed(recipe["seed"])
    network = create_superres(architecture, kwargs, factor=factor)

    def on_step(step: int, steps: int, loss: float) -> None:
        if progress is not None:
            progress(step, steps, {"step": step, "loss": loss})

    train = sr.train_sr3 if architecture == "sr3" else sr.train_upscaler
    facts = train(network, on_step=on_step, **recipe)
    save_superres(network, out)
    scale = round(network.info.scale)
    if architecture == "sr3":
        run = sr.sr3_upscale_fn(network, SR3_EVAL_STEPS)
    else:
        def run(x: torch.Tensor) -> torch.Tensor:
            return network(x)
    _, photos = sr.sample_photos()
    _, digits = sr.crisp_digits(64)
    facts["measured"] = {"held_out_photos": sr.measure_gain(run, photos, scale).as_dict(),
                         f"held_out_digits_64px_first_{EVAL_DIGITS}": sr.measure_gain(run, list(digits[:EVAL_DIGITS]),
                                                                                  scale).as_dict()}
    if architecture == "sr3":
        facts["measured"]["sampler"] = f"DDIM, {SR3_EVAL_STEPS} steps, seed 0"
    facts.update(architecture=architecture, kwargs=kwargs, torch=torch.__version__)
    return facts


for _name, _recipe in SR_RECIPES.items():
    register(ZooMember(
        _name, "sr3" if _recipe["architecture"] == "sr3" else "upscale_models",
        f"{'SR3 diffusion' if _recipe['architecture'] == 'sr3' else 'RRDBNet (ESRGAN)'} x"
        f"{_recipe.get('factor') or (4 if 'x4' in _name else 2)}, trained on scikit-learn's sample photos and "
        "crisp digits.",
        lambda out, progress, _name=_name: _train_superres(out, progress, _name)))


# ---------------------------------------------------------------------------------------------
# VQGAN + CLIP: a digits VQGAN and a digits CLIP (models/training/vqgan_clip.py), so that the
# VQGAN-CLIP workflows paint the digit a prompt names without any download.

VQGAN_CLIP_SEEDS = {"digits-vqgan-f4": 51, "digits-clip": 52}
GUIDED_RATE_SEEDS = 10  # VQGAN-CLIP runs per digit for the classifier measurement


def _train_digits_vqgan(out: Path, progress: Progress | None) -> dict:
    from .training import vqgan_clip
    from .vqgan import save_vqgan

    def on_step(step: int, steps: int, loss: float) -> None:
        if progress is not None:
            progress(step, steps, {"step": step, "loss": loss})

    model, facts = vqgan_clip.train_digits_vqgan(seed=VQGAN_CLIP_SEEDS["digits-vqgan-f4"], on_step=on_step)
    save_vqgan(model, out)
    return {**facts, "torch": torch.__version__}


def _train_digits_clip(out: Path, progress: Progress | None) -> dict:
    from .guidance import save_clip
    from .training import vqgan_clip
    from .vqgan import load_vqgan

    vqgan_path = REGISTRY["digits-vqgan-f4"].path
    if not vqgan_path.is_file():
        raise FileNotFoundError(f"digits-clip is measured with {vqgan_path}, which is missing: train it first")

    def on_step(step: int, steps: int, loss: float) -> None:
        if progress is not None:
            progress(step, steps, {"step": step, "loss": loss})

    clip, facts = vqgan_clip.train_digits_clip(seed=VQGAN_CLIP_SEEDS["digits-clip"], on_step=on_step)
    # The embeddings of the 49,408 BPE tokens are most of the file; half precision halves it.
    clip.model.token_embedding.half()
    save_clip(clip, out)
    from .guidance import load_clip

    saved = load_clip(out)
    facts["guided_digit_rate"] = vqgan_clip.guided_digit_rate(load_vqgan(vqgan_path), saved, seeds=GUIDED_RATE_SEEDS)
    return {**facts, "token_embedding": "float16", "torch": torch.__version__}


register(ZooMember("digits-vqgan-f4", "vqgan",
                   "VQGAN (taming VQModel, f4, 128 codes), 32 px gray, trained on scikit-learn's digits.",
                   _train_digits_vqgan))
register(ZooMember("digits-clip", "ganforge_clip",
                   "A small CLIP (ViT 32 px + text transformer, open_clip) trained on the digits and captions "
                   "like 'a handwritten seven'.", _train_digits_clip))


# ---------------------------------------------------------------------------------------------
# image-to-image translation: a CycleGAN (thin <-> bold strokes, trained unpaired) and a pix2pix
# (edge maps -> digits), models/training/translation_digits.py; measured on 360 held-out digits.

for _name, _description in (
        ("digits-cyclegan-thin2bold", "CycleGAN (ResNet 6 blocks, ngf 8), 32 px gray, both directions: plain digits "
                                      "<-> thick-stroked digits, trained unpaired on scikit-learn's digits."),
        ("digits-pix2pix-edges2digit", "pix2pix (U-Net unet_32, ngf 8), 32 px gray: a digit's edge map (outline) -> "
                                       "the filled digit, trained on scikit-learn's digits."),
        ("digits-munit-thin-bold", "MUNIT (dim 16, style_dim 8), 32 px gray: plain digits (A) <-> digits in many "
                                   "strokes (B: thickness, slant, ink); content = which digit, style = the stroke.")):
    register(ZooMember(_name, "translation", _description,
                       lambda out, progress, _name=_name: _train_translation(out, progress, _name)))


def _train_spade_layout(out: Path, progress: Progress | None) -> dict:
    from .training.translation_digits import train_spade_member

    return train_spade_member(out, progress)


register(ZooMember("digits-spade-layout", "translation",
                   "SPADE (ngf 8, 11 classes), 64x64 gray pages: a label map of boxes, each labelled with a digit "
                   "(paper = class 0, digit d = class d + 1) -> handwritten digits filling their boxes.",
                   _train_spade_layout))


def _train_funit_strokes(out: Path, progress: Progress | None) -> dict:
    from .training.translation_digits import train_funit_member

    return train_funit_member(out, progress)


register(ZooMember("digits-funit-strokes", "translation",
                   "FUNIT (nf 16, class code 32), 32 px gray as RGB, few-shot: a class is a way of writing (stroke "
                   "weight, slant, ink), the content is the digit; 5 pictures of a writing never seen in training "
                   "give its class code.", _train_funit_strokes))


def _train_translation(out: Path, progress: Progress | None, name: str) -> dict:
    from .training.translation_digits import train_member

    return train_member(name, out, progress)
