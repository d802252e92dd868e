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
