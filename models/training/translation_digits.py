"""The translation members of the zoo, trained on scikit-learn's digits, and their measurements.

* ``digits-cyclegan-thin2bold`` (CycleGAN, unpaired): domain A is the plain digits, domain B the
  thick-stroked restyling (``digits(32, "bold")``, a 3x3 max filter). The training digits are
  shuffled and split in two: A draws from one half, B from the bold versions of the *other* half,
  so no digit is ever seen in both styles.
* ``digits-pix2pix-edges2digit`` (pix2pix, paired): A is an edge map of each digit (morphological
  gradient: 3x3 max-pool minus 3x3 min-pool, scaled so each map's brightest edge is white), B the
  digit itself, like edges2shoes' line drawings.

The last 360 digits (20% of 1,797) are held out from both. The measurements run the saved files
in "eval" mode on them; the independent classifier (:func:`.evaluate.classify_digits`) reads the
results; ink is the mean of (x + 1) / 2 over the picture (0: blank paper, 1: all ink).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from .data import digits
from .evaluate import classify_digits

HELD_OUT = 360  # the last 20% of the 1,797 digits
RESOLUTION = 32
GOALS = {
    "class_rate_at_least": 0.90,  # both members: the classifier reads the digit's class after translation
    "ink_factor_at_least": 1.20,  # thin→bold: mean ink of the output / of the input (real bold digits: 1.31)
    "round_trip_l1_at_most": 0.06,  # thin→bold→thin: mean |x' - x| in [-1, 1] units
}
RECIPES = {
    "digits-cyclegan-thin2bold": dict(kind="cyclegan", architecture="resnet_6blocks", ngf=8, ndf=16, steps=2000,
                                      batch=8, seed=61, domains=("thin", "bold")),
    "digits-pix2pix-edges2digit": dict(kind="pix2pix", architecture="unet_32", ngf=8, ndf=16, steps=2000, batch=8,
                                       seed=62, domains=("edges", "digit")),
}
Progress = Callable[[int, int, dict], None]


def ink(images: torch.Tensor) -> float:
    """Mean ink: (x + 1) / 2 averaged over the pictures (0 blank paper, 1 all ink)."""
    return float(((images.float() + 1) / 2).mean())


def edge_map(images: torch.Tensor) -> torch.Tensor:
    """Outlines of ``[N, 1, H, W]`` pictures in [-1, 1]: morphological gradient (3x3 max minus 3x3
    min), each map scaled so its strongest edge is 1, back in [-1, 1]."""
    x = (images + 1) / 2
    gradient = F.max_pool2d(x, 3, 1, 1) + F.max_pool2d(-x, 3, 1, 1)
    gradient = gradient / gradient.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
    return gradient * 2 - 1


def split() -> dict[str, torch.Tensor]:
    """Training and held-out digits: plain, bold, edges and labels."""
    plain, labels = digits(RESOLUTION, "plain")
    bold, _ = digits(RESOLUTION, "bold")
    edges = edge_map(plain)
    cut = plain.shape[0] - HELD_OUT
    return {"train_plain": plain[:cut], "train_bold": bold[:cut], "train_edges": edges[:cut],
            "held_plain": plain[cut:], "held_bold": bold[cut:], "held_edges": edges[cut:], "held_labels": labels[cut:]}


def unpaired_halves(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of two disjoint, shuffled halves of ``count`` training digits (A and B)."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    return order[: count // 2], order[count // 2:]


def _rate(images: torch.Tensor, labels: torch.Tensor) -> float:
    return round(float((classify_digits(images) == labels.numpy()).mean()), 4)


@torch.no_grad()
def measure_cyclegan(translator) -> dict:
    """Held-out measurements of a thin↔bold CycleGAN (eval mode)."""
    from ..translation import DIRECTIONS, set_inference_mode, translate

    data = split()
    labels = data["held_labels"]
    forward, backward = (set_inference_mode(translator.network(d), "eval") for d in DIRECTIONS)
    thin, bold = data["held_plain"], data["held_bold"]
    to_bold = translate(forward, translator.info, thin).image
    round_trip = translate(backward, translator.info, to_bold).image
    to_thin = translate(backward, translator.info, bold).image
    return {
        "held_out_digits": HELD_OUT,
        "thin2bold_class_rate": _rate(to_bold, labels),
        "bold2thin_class_rate": _rate(to_thin, labels),
        "round_trip_class_rate": _rate(round_trip, labels),
        "classifier_on_inputs": {"thin": _rate(thin, labels), "bold": _rate(bold, labels)},
        "ink": {"thin_input": round(ink(thin), 4), "thin2bold": round(ink(to_bold), 4),
                "real_bold": round(ink(bold), 4)},
        "ink_factor_thin2bold": round(ink(to_bold) / ink(thin), 4),
        "ink_factor_real_bold": round(ink(bold) / ink(thin), 4),
        "round_trip_l1": round(float((round_trip - thin).abs().mean()), 4),
        # the held-out digits' real bold versions (never used: training is unpaired) as a reference
        "thin2bold_l1_to_real_bold": round(float((to_bold - bold).abs().mean()), 4),
        "bold2thin_l1_to_real_thin": round(float((to_thin - thin).abs().mean()), 4),
        "identity_l1_thin_vs_bold": round(float((thin - bold).abs().mean()), 4),
    }


@torch.no_grad()
def measure_pix2pix(translator) -> dict:
    """Held-out measurements of an edges→digit pix2pix (eval mode)."""
    from ..translation import set_inference_mode, translate

    data = split()
    labels = data["held_labels"]
    network = set_inference_mode(translator.network(), "eval")
    painted = translate(network, translator.info, data["held_edges"]).image
    return {
        "held_out_digits": HELD_OUT,
        "edges2digit_class_rate": _rate(painted, labels),
        "classifier_on_edge_maps": _rate(data["held_edges"], labels),
        "l1_to_real_digit": round(float((painted - data["held_plain"]).abs().mean()), 4),
        "ink": {"output": round(ink(painted), 4), "real_digit": round(ink(data["held_plain"]), 4)},
    }


def train_member(name: str, out: Path, progress: Progress | None = None) -> dict:
    """Train a translation zoo member into ``out`` and measure it; returns the manifest facts.

    Runs on one CPU thread: the networks are small, a second thread mostly waits, and one thread
    keeps the arithmetic (and so the file) the same from machine to machine."""
    from ..translation.training import run_translation_training

    recipe = dict(RECIPES[name])
    kind = recipe.pop("kind")
    data = split()
    if kind == "cyclegan":
        half_a, half_b = unpaired_halves(data["train_plain"].shape[0], recipe["seed"])
        a, b = data["train_plain"][half_a], data["train_bold"][half_b]
    else:
        a, b = data["train_edges"], data["train_plain"]

    def on_step(step: int, total: int, record: dict, translator) -> None:
        if progress is not None:
            progress(step, total, {k: v for k, v in record.items() if k != "lr"})

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as scratch:  # the resumable state is not part of the zoo
            facts = run_translation_training(kind, a, b, out, input_nc=1, output_nc=1, crop_size=RESOLUTION,
                                             preprocess="none", flip=False, report=lambda line: None,
                                             on_step=on_step, state_path=Path(scratch) / "state.pt", **recipe)
    finally:
        torch.set_num_threads(threads)
    measured = measure_member(out)
    return {
        "kind": kind, "architecture": recipe["architecture"], "kwargs": facts["kwargs"],
        "discriminator": facts["discriminator"], "recipe": facts["config"], "steps": facts["steps"],
        "batch_size": recipe["batch"], "seed": recipe["seed"], "domains": list(recipe["domains"]),
        "training_pictures": facts["pictures"], "seconds": facts["seconds"],
        "images_per_second": facts["images_per_second"], "threads": 1,
        "note": "seconds and images/s on one CPU thread of a 2-core machine shared with other work",
        "total_seconds_with_measurement": round(time.perf_counter() - started, 1),
        "final_losses": facts["final_losses"], "measured": measured, "goals": GOALS,
        "data": "scikit-learn digits at 32 px; the last 360 held out" + (
            "; A and B from disjoint halves of the training digits (unpaired)" if kind == "cyclegan" else
            "; A = edge map (3x3 morphological gradient, normalised), B = the digit"),
        "torch": torch.__version__,
    }


def measure_member(path: str | Path) -> dict:
    """The held-out measurements of a translation zoo file (what ``zoo eval`` prints)."""
    from ..translation import load_translation

    translator = load_translation(path, mode="eval")
    return measure_cyclegan(translator) if translator.info.kind == "cyclegan" else measure_pix2pix(translator)
