"""The translation members of the zoo, trained on scikit-learn's digits, and their measurements.

* ``digits-cyclegan-thin2bold`` (CycleGAN, unpaired): domain A is the plain digits, domain B the
  thick-stroked restyling (``digits(32, "bold")``, a 3x3 max filter). The training digits are
  shuffled and split in two: A draws from one half, B from the bold versions of the *other* half,
  so no digit is ever seen in both styles.
* ``digits-pix2pix-edges2digit`` (pix2pix, paired): A is an edge map of each digit (morphological
  gradient: 3x3 max-pool minus 3x3 min-pool, scaled so each map's brightest edge is white), B the
  digit itself, like edges2shoes' line drawings.

* ``digits-munit-thin-bold`` (MUNIT, unpaired, multimodal): domain A is the plain digits, domain B
  the same kind of digits written in many strokes: each thickened by a random amount (a blend
  towards the 3x3 max filter), slanted by a random shear and inked a little lighter or darker
  (:func:`stroke_styles`). Which digit it is makes the content; the stroke is the style, so one
  thin digit decodes into many bold ones. A and B come from disjoint halves, as for the CycleGAN.

* ``digits-spade-layout`` (SPADE, semantic synthesis): a 64x64 page of up to four digits, each
  in its own 32x32 quarter, and its label map: paper is class 0, and the box around each digit's
  ink is labelled with the digit (class d + 1). Painting a box with the colour of "7" asks for a
  7 that fills the box. The labels say *what* goes *where*, and the network has to invent the
  strokes: the lesson of semantic synthesis (a class layout in, a picture out), which a pixel
  mask of the ink would not teach (it would already be the picture).

* ``digits-funit-strokes`` (FUNIT, few-shot): a *class* is a way of writing (stroke weight, slant,
  ink: :data:`STROKE_CLASSES`, each applying one fixed :class:`Stroke` to every training digit), the
  *content* is which digit and its shape. Three classes are never seen in training
  (:data:`UNSEEN_CLASSES`, new combinations such as bold + left slant + light ink): five example
  pictures of one give its class code, and the held-out digits are translated into it.

The last 360 digits (20% of 1,797) are held out from all of them. The measurements run the saved files
in "eval" mode on them; the independent classifier (:func:`.evaluate.classify_digits`) reads the
results; ink is the mean of (x + 1) / 2 over the picture (0: blank paper, 1: all ink).
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

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
    "digits-munit-thin-bold": dict(kind="munit", ngf=16, ndf=16, steps=3000, batch=8, seed=63,
                                   domains=("thin", "bold"), lr=2e-4,
                                   munit={"generator": {"style_dim": 8, "n_res": 3, "mlp_dim": 64},
                                          "discriminator": {"n_layer": 3, "num_scales": 2}}),
}
STYLE_RANGES = {"thickness": (0.3, 1.0), "slant": (-0.2, 0.2), "ink": (0.85, 1.0)}
MUNIT_GOALS = {
    "class_rate_at_least": 0.90,  # A->B with random styles: the classifier reads the digit's class
    # styles differ: mean pairwise L1 between the K bold versions of one digit, at least half of what
    # the same digit's real restylings differ by
    "diversity_share_of_real_at_least": 0.5,
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


def stroke_styles(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each ``[N, 1, H, W]`` digit (in [-1, 1]) rewritten in a random stroke: thickened by a blend
    towards its 3x3 max filter, slanted by a horizontal shear, inked lighter or darker
    (:data:`STYLE_RANGES`)."""
    count = images.shape[0]

    def draw(name: str) -> torch.Tensor:
        low, high = STYLE_RANGES[name]
        return (low + (high - low) * torch.rand(count, generator=generator))[:, None, None, None]

    thickness, slant, ink = draw("thickness"), draw("slant"), draw("ink")
    x = (images + 1) / 2
    x = x + thickness * (F.max_pool2d(x, 3, 1, 1) - x)
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 1] = slant[:, 0, 0, 0]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros") * ink
    return x.clamp(0, 1) * 2 - 1


def split() -> dict[str, torch.Tensor]:
    """Training and held-out digits: plain, bold, edges and labels."""
    plain, labels = digits(RESOLUTION, "plain")
    bold, _ = digits(RESOLUTION, "bold")
    edges = edge_map(plain)
    cut = plain.shape[0] - HELD_OUT
    return {"train_plain": plain[:cut], "train_bold": bold[:cut], "train_edges": edges[:cut],
            "train_labels": labels[:cut], "held_plain": plain[cut:], "held_bold": bold[cut:],
            "held_edges": edges[cut:], "held_labels": labels[cut:]}


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


@torch.no_grad()
def measure_munit(model, styles: int = 8, seed: int = 0) -> dict:
    """Held-out measurements of a thin -> many-strokes MUNIT: class kept, styles that differ."""
    data = split()
    labels, thin = data["held_labels"], data["held_plain"]
    count = thin.shape[0]
    content = model.encode_content("A", thin).repeat_interleave(styles, 0)
    codes = model.random_style(count * styles, seed, "cpu")
    bold = model.decode("B", content, codes).view(count, styles, *thin.shape[1:])
    real = stroke_styles(thin.repeat_interleave(styles, 0), torch.Generator().manual_seed(seed))
    real = real.view(count, styles, *thin.shape[1:])

    def pairwise_l1(x: torch.Tensor) -> float:
        flat = x.flatten(2)
        distances = (flat[:, :, None] - flat[:, None]).abs().mean(-1)
        return float(distances.sum() / (count * styles * (styles - 1)))

    ink_per_style = ((bold + 1) / 2).mean(dim=(2, 3, 4))
    diversity, real_diversity = pairwise_l1(bold), pairwise_l1(real)
    own_style = model.decode("B", model.encode_content("B", data["held_bold"]),
                             model.encode_style("B", data["held_bold"]))
    return {
        "held_out_digits": HELD_OUT, "styles_per_digit": styles,
        "thin2bold_class_rate": _rate(bold.flatten(0, 1), labels.repeat_interleave(styles)),
        "classifier_on_real_restyled": _rate(real.flatten(0, 1), labels.repeat_interleave(styles)),
        "style_diversity_pairwise_l1": round(diversity, 4),
        "real_restyling_pairwise_l1": round(real_diversity, 4),
        "diversity_share_of_real": round(diversity / max(real_diversity, 1e-9), 4),
        "ink_std_across_styles": round(float(ink_per_style.std(dim=1).mean()), 4),
        "ink": {"thin_input": round(ink(thin), 4), "thin2bold": round(ink(bold), 4)},
        "bold_reconstruction_l1": round(float((own_style - data["held_bold"]).abs().mean()), 4),
    }


def munit_training_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Domain A (plain digits) and B (restyled digits) from disjoint halves of the training digits."""
    data = split()
    half_a, half_b = unpaired_halves(data["train_plain"].shape[0], seed)
    restyled = stroke_styles(data["train_plain"][half_b], torch.Generator().manual_seed(seed))
    return data["train_plain"][half_a], restyled


PAGE = 64  # side of a layout page: 2 x 2 quarters of RESOLUTION
LAYOUT_CLASSES = 11  # paper + the ten digits
SPADE_GOALS = {
    "region_class_rate_at_least": 0.90,  # the classifier reads each labelled box's digit in its quarter
    "paper_ink_at_most": 0.05,  # mean ink on paper (outside every box)
}


def ink_boxes(images: torch.Tensor, threshold: float = 0.25, grow: int = 1) -> torch.Tensor:
    """``[N, 1, H, W]`` masks (0 / 1) of each digit's ink bounding box, grown by ``grow`` px."""
    ink_mask = (images + 1) / 2 > threshold
    rows, columns = ink_mask.any(dim=3)[:, 0], ink_mask.any(dim=2)[:, 0]
    height, width = images.shape[-2:]
    boxes = torch.zeros(images.shape[0], 1, height, width)
    for i in range(images.shape[0]):
        ys, xs = rows[i].nonzero()[:, 0], columns[i].nonzero()[:, 0]
        if len(ys) == 0:
            continue
        top, bottom = max(int(ys[0]) - grow, 0), min(int(ys[-1]) + grow + 1, height)
        left, right = max(int(xs[0]) - grow, 0), min(int(xs[-1]) + grow + 1, width)
        boxes[i, 0, top:bottom, left:right] = 1
    return boxes


def compose_pages(images: torch.Tensor, classes: torch.Tensor,
                  present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pages of 2 x 2 digits: ``images`` ``[P * 4, 1, 32, 32]`` in [-1, 1], ``classes`` ``[P * 4]``,
    ``present`` ``[P * 4]`` (bool: the quarter holds its digit, else stays paper). Returns label maps
    ``[P, 64, 64]`` (int64: 0 paper, d + 1 digit d) and pages ``[P, 3, 64, 64]`` in [-1, 1]."""
    pages = images.shape[0] // 4
    digits_in = torch.where(present[:, None, None, None], images, torch.full_like(images, -1.0))
    labels = (ink_boxes(digits_in)[:, 0] * (classes + 1)[:, None, None].float()).long()

    def tile(x: torch.Tensor) -> torch.Tensor:  # [P * 4, ...h, w] -> [P, ...2h, 2w], quarters row by row
        x = x.reshape(pages, 2, 2, *x.shape[1:])
        return torch.cat([torch.cat([x[:, r, 0], x[:, r, 1]], -1) for r in range(2)], -2)

    return tile(labels), tile(digits_in).expand(-1, 3, -1, -1).contiguous()


def layout_sampler(images: torch.Tensor, classes: torch.Tensor):
    """``sample(rng, count)`` for SPADE training: ``count`` random pages of the given digits, as
    (one-hot label maps ``[count, 11, 64, 64]``, pages ``[count, 3, 64, 64]``)."""

    def sample(rng: torch.Generator, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(0, images.shape[0], (count * 4,), generator=rng)
        present = torch.rand(count * 4, generator=rng) < 0.75
        labels, pages = compose_pages(images[index], classes[index], present)
        return F.one_hot(labels, LAYOUT_CLASSES).permute(0, 3, 1, 2).float(), pages

    return sample


def held_out_pages() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 360 held-out digits as 90 full pages: (label maps, pages, classes [90 * 4])."""
    data = split()
    labels, pages = compose_pages(data["held_plain"], data["held_labels"], torch.ones(HELD_OUT, dtype=torch.bool))
    return labels, pages, data["held_labels"]


def quarters(pages: torch.Tensor) -> torch.Tensor:
    """``[P, C, 64, 64]`` -> ``[P * 4, 1, 32, 32]`` gray quarters, row by row."""
    gray = pages.mean(1, keepdim=True)
    top, bottom = gray[..., :RESOLUTION, :], gray[..., RESOLUTION:, :]
    parts = [top[..., :RESOLUTION], top[..., RESOLUTION:], bottom[..., :RESOLUTION], bottom[..., RESOLUTION:]]
    return torch.stack(parts, 1).flatten(0, 1)


@torch.no_grad()
def measure_spade(model) -> dict:
    """Held-out measurements of the layout SPADE: does each box get its digit, does paper stay paper."""
    labels, pages, classes = held_out_pages()
    semantics = F.one_hot(labels, LAYOUT_CLASSES).permute(0, 3, 1, 2).float()
    drawn = torch.cat([model.synthesize(part) for part in semantics.split(30)])
    paper = (labels == 0)[:, None].float()
    ink_on = ((drawn.mean(1, keepdim=True) + 1) / 2)
    return {
        "held_out_digits": HELD_OUT, "pages": int(labels.shape[0]),
        "region_class_rate": _rate(quarters(drawn), classes),
        "classifier_on_real_pages": _rate(quarters(pages), classes),
        "paper_ink": round(float((ink_on * paper).sum() / paper.sum()), 4),
        "box_ink": round(float((ink_on * (1 - paper)).sum() / (1 - paper).sum()), 4),
        "real_box_ink": round(float((((pages.mean(1, keepdim=True) + 1) / 2) * (1 - paper)).sum()
                                    / (1 - paper).sum()), 4),
        "l1_to_real_pages": round(float((drawn - pages).abs().mean()), 4),
    }


SPADE_RECIPE = {"generator": {"semantic_nc": LAYOUT_CLASSES, "ngf": 8, "upsampling": "normal", "hidden": 32},
                "discriminator": {"ndf": 16, "n_layers": 3, "num_d": 2}, "steps": 2500, "batch": 8, "seed": 64,
                "lr": 2e-4}


def train_spade_member(out: Path, progress: Progress | None = None) -> dict:
    """Train ``digits-spade-layout`` into ``out`` and measure it (one CPU thread, see :func:`train_member`)."""
    from ..translation.semantic import create_spade, load_semantic, save_semantic
    from ..translation.spade_training import SpadeConfig, folded_state, new_spade_state, train_spade

    recipe = SPADE_RECIPE
    data = split()
    sample = layout_sampler(data["train_plain"], data["train_labels"])
    config = SpadeConfig(steps=recipe["steps"], batch_size=recipe["batch"], lr=recipe["lr"], seed=recipe["seed"])
    kwargs = {**recipe["generator"], "param_free_norm": "batch"}
    discriminator = {"input_nc": LAYOUT_CLASSES + 3, **recipe["discriminator"]}
    layout = {"label_nc": LAYOUT_CLASSES, "contain_dontcare": False, "use_instance": False, "dataset": "digits-layout"}

    def on_step(state, record: dict) -> None:
        if progress is not None:
            progress(record["step"], config.steps, {k: v for k, v in record.items() if k != "lr"})

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        state = new_spade_state(kwargs, discriminator, config)
        train_spade(state, sample, config, on_step=on_step)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - started
    model = create_spade(kwargs, layout)
    model.network.load_state_dict(folded_state(state.generator, kwargs))
    save_semantic(model.to(dtype=torch.float16), out)  # half precision keeps the zoo small; measured as stored
    last = state.history[-10:]
    return {
        "kind": "spade", "architecture": "spade", "kwargs": kwargs, "discriminator": discriminator,
        "recipe": {**config.__dict__}, "steps": config.steps, "batch_size": config.batch_size, "seed": config.seed,
        "layout": layout, "seconds": round(seconds, 1),
        "images_per_second": round(config.steps * config.batch_size / max(seconds, 1e-9), 1), "threads": 1,
        "note": "seconds and images/s on one CPU thread of a 2-core machine shared with other work",
        "final_losses": {k: round(sum(r[k] for r in last) / len(last), 4) for k in last[0] if k not in ("step", "lr")},
        "measured": measure_spade(load_semantic(out)), "goals": SPADE_GOALS,
        "data": "scikit-learn digits at 32 px, the last 360 held out; 64x64 pages of up to four digits (each "
                "quarter holds a random training digit with p = 0.75); label 0 paper, d + 1 the ink box of digit d; "
                "stored in float16",
        "torch": torch.__version__,
    }


def train_member(name: str, out: Path, progress: Progress | None = None) -> dict:
    """Train a translation zoo member into ``out`` and measure it; returns the manifest facts.

    Runs on one CPU thread: the networks are small, a second thread mostly waits, and one thread
    keeps the arithmetic (and so the file) the same from machine to machine."""
    from ..translation.training import run_translation_training

    recipe = dict(RECIPES[name])
    kind = recipe.pop("kind")
    data = split()
    if kind == "munit":
        a, b = munit_training_data(recipe["seed"])
    elif kind == "cyclegan":
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
            trained = Path(scratch) / "trained.safetensors" if kind == "munit" else out
            facts = run_translation_training(kind, a, b, trained, input_nc=1, output_nc=1, crop_size=RESOLUTION,
                                             preprocess="none", flip=False, report=lambda line: None,
                                             on_step=on_step, state_path=Path(scratch) / "state.pt", **recipe)
            if kind == "munit":  # stored in half precision to keep the zoo small; measured as stored
                from ..translation.multimodal import load_munit, save_multimodal

                save_multimodal(load_munit(trained).to(dtype=torch.float16), out)
    finally:
        torch.set_num_threads(threads)
    measured = measure_member(out)
    return {
        "kind": kind, "architecture": facts["architecture"], "kwargs": facts["kwargs"],
        "discriminator": facts["discriminator"], "recipe": facts["config"], "steps": facts["steps"],
        "batch_size": recipe["batch"], "seed": recipe["seed"], "domains": list(recipe["domains"]),
        "training_pictures": facts["pictures"], "seconds": facts["seconds"],
        "images_per_second": facts["images_per_second"], "threads": 1,
        "note": "seconds and images/s on one CPU thread of a 2-core machine shared with other work",
        "total_seconds_with_measurement": round(time.perf_counter() - started, 1),
        "final_losses": facts["final_losses"], "measured": measured,
        "goals": MUNIT_GOALS if kind == "munit" else GOALS,
        "data": "scikit-learn digits at 32 px; the last 360 held out" + {
            "cyclegan": "; A and B from disjoint halves of the training digits (unpaired)",
            "munit": "; A plain, B restyled strokes (thickness, slant, ink: stroke_styles), from disjoint halves; "
             "stored in float16",
            "pix2pix": "; A = edge map (3x3 morphological gradient, normalised), B = the digit"}[kind],
        "torch": torch.__version__,
    }


def measure_member(path: str | Path) -> dict:
    """The held-out measurements of a translation zoo file (what ``zoo eval`` prints)."""
    from ..registry import recognise
    from ..translation import load_translation
    from ..translation.multimodal import load_munit
    from ..translation.semantic import load_semantic

    architecture = recognise(path)[0].architecture
    if architecture == "funit":
        from ..translation.multimodal import load_funit

        return measure_funit(load_funit(path))
    if architecture == "munit":
        return measure_munit(load_munit(path))
    if architecture == "spade":
        return measure_spade(load_semantic(path))
    translator = load_translation(path, mode="eval")
    return measure_cyclegan(translator) if translator.info.kind == "cyclegan" else measure_pix2pix(translator)


# ---------------------------------------------------------------------------------------------
# digits-funit-strokes (FUNIT, few-shot): a class is a way of writing, the content is the digit


class Stroke(NamedTuple):
    """A way of writing a digit: ``weight`` "thin" (3x3 min filter), "regular" or "bold" (3x3 max
    filter), ``slant`` (horizontal shear: + leans right, the top moves right by slant x half the
    side), ``ink`` (how dark the darkest stroke is: 1 full, 0.6 light)."""

    weight: str
    slant: float
    ink: float


# Shears of 0.2 leave the classifier reading 91-100% of the truly restyled held-out digits (at full
# contrast; 0.3 dropped slanted bold ones to 77%), so a class rate goal of 90% stays fair.
SLANT, LIGHT = 0.2, 0.6
# The training classes: every weight, slant and ink is seen, but only in these combinations.
STROKE_CLASSES = {
    "plain": Stroke("regular", 0.0, 1.0), "thin": Stroke("thin", 0.0, 1.0), "bold": Stroke("bold", 0.0, 1.0),
    "slant-left": Stroke("regular", -SLANT, 1.0), "slant-right": Stroke("regular", SLANT, 1.0),
    "light": Stroke("regular", 0.0, LIGHT), "bold-right": Stroke("bold", SLANT, 1.0),
    "thin-left": Stroke("thin", -SLANT, 1.0), "bold-light": Stroke("bold", 0.0, LIGHT),
    "right-light": Stroke("regular", SLANT, LIGHT),
}
# Never seen in training: new combinations, given to the model only as K example pictures.
UNSEEN_CLASSES = {
    "bold-left-light": Stroke("bold", -SLANT, LIGHT), "thin-right-light": Stroke("thin", SLANT, LIGHT),
    "bold-left": Stroke("bold", -SLANT, 1.0),
}
SHOTS = 5  # K: example pictures of a class that give its class code
SHOT_SEED = 5  # which training digits serve as the examples
FUNIT_RECIPE = {
    # about 0.3-0.45 s a step on one busy CPU thread: 2000 steps fit in 15 minutes
    "ngf": 16, "ndf": 16, "steps": 2000, "batch": 8, "seed": 65,
    # the original's beta 0.999 would leave 0.999^2000 = 14% of the random initial weights in gen_test
    # after this short run; 0.998 leaves 1.8%. Everything else is the original's (RMSprop 1e-4, ...)
    "ema_beta": 0.998,
    "funit": {"generator": {"nf_mlp": 64, "latent_dim": 32, "n_mlp_blks": 3, "n_res_blks": 2, "n_downs_content": 2,
                            "n_downs_class": 3},
              "discriminator": {"n_res_blks": 6}},
}
FUNIT_GOALS = {
    # unseen classes, K = 5: the classifier reads the content digit (each picture at full contrast)
    "unseen_class_rate_at_least": 0.90,
    # unseen classes: most translations are nearer (L1) the true restyling of their digit in the
    # target class than the untranslated input is (leaving the picture alone does not count)
    "unseen_closer_to_target_share_at_least": 0.5,
}


def restyle(images: torch.Tensor, stroke: Stroke) -> torch.Tensor:
    """``[N, 1, H, W]`` digits in [-1, 1] written in ``stroke`` (fixed, not random: a class)."""
    x = (images + 1) / 2
    if stroke.weight == "bold":
        x = F.max_pool2d(x, 3, 1, 1)
    elif stroke.weight == "thin":
        x = -F.max_pool2d(-x, 3, 1, 1)
    elif stroke.weight != "regular":
        raise ValueError(f"unknown stroke weight {stroke.weight!r} (thin, regular, bold)")
    if stroke.slant:
        theta = torch.zeros(x.shape[0], 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, 0, 1] = stroke.slant
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    return (x * stroke.ink).clamp(0, 1) * 2 - 1


def full_contrast(images: torch.Tensor) -> torch.Tensor:
    """Each picture's ink scaled so that its darkest stroke is full ink: how light a class writes
    is its style, which the classifier (trained on full-ink digits) was never taught to ignore."""
    x = (images.float() + 1) / 2
    return x / x.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6) * 2 - 1


def slant_of(images: torch.Tensor) -> torch.Tensor:
    """Each picture's slant from its ink moments: the horizontal shift of the ink per row, against
    the vertical position (both in half-sides, the unit of :attr:`Stroke.slant`; + leans right)."""
    weights = ((images.float() + 1) / 2).clamp(min=0)[:, 0]
    side = weights.shape[-1]
    coords = (torch.arange(side, dtype=torch.float32) + 0.5) / side * 2 - 1
    total = weights.sum(dim=(1, 2)).clamp(min=1e-6)
    u = (weights * coords[None, None, :]).sum(dim=(1, 2)) / total  # columns
    v = (weights * coords[None, :, None]).sum(dim=(1, 2)) / total  # rows, downwards
    du, dv = coords[None, None, :] - u[:, None, None], coords[None, :, None] - v[:, None, None]
    return -(weights * du * dv).sum(dim=(1, 2)) / (weights * dv * dv).sum(dim=(1, 2)).clamp(min=1e-6)


APPEARANCE = {  # the statistics of a way of writing, each a mean over the pictures
    "ink": ink,
    "darkest_stroke": lambda x: float(((x.float() + 1) / 2).amax(dim=(1, 2, 3)).mean()),
    "slant": lambda x: float(slant_of(x).mean()),
}


def funit_training_classes() -> dict[str, torch.Tensor]:
    """The training classes: every training digit written in each of :data:`STROKE_CLASSES`,
    uint8 ``[1437, 1, 32, 32]`` per class (0 paper, 255 full ink)."""
    plain = split()["train_plain"]
    return {name: ((restyle(plain, stroke) + 1) * 127.5).round().to(torch.uint8)
            for name, stroke in STROKE_CLASSES.items()}


def _three(images: torch.Tensor) -> torch.Tensor:
    return images.expand(-1, 3, -1, -1)  # FUNIT is RGB only: gray in, the channel mean out


@torch.no_grad()
def measure_funit(model, shots: int = SHOTS) -> dict:
    """Few-shot measurements of the strokes FUNIT (computed in float32 from the stored weights).

    For each class, ``shots`` training digits written in it give the class code; the 360
    held-out plain digits are translated into it (gray as RGB in, the channel mean out) and
    compared with the same digits truly written in that class (the classes are parametric, so
    the right answer exists). Per class: the classifier's rate at full contrast (also raw, and on
    the true restylings: the ceiling), mean L1 of the translation to its true restyling and to its
    input, the share of translations nearer their true restyling than the input is (so neither
    copying the input nor a blur of the right ink counts), mean ink, darkest stroke and slant of
    translations / true restylings / inputs (:data:`APPEARANCE`) and the share of each gap between
    input and class the translation closed. The unseen classes are summarised together, beside
    the best stand-in the seen classes offer (the seen class whose true restyling is nearest the
    unseen target in L1): a model that only reproduced seen classes could at best score that, so
    coming nearer takes combining what was learned."""
    from ..translation.multimodal import FunitModel

    generator = model.generator
    if next(generator.parameters()).dtype != torch.float32:  # the same figures from a float16 or float32 load
        model = FunitModel(copy.deepcopy(generator).float(), model.info)
    data = split()
    plain, labels = data["held_plain"], data["held_labels"]
    examples = data["train_plain"][torch.randperm(data["train_plain"].shape[0],
                                                  generator=torch.Generator().manual_seed(SHOT_SEED))[:shots]]
    content = model.encode_content(_three(plain))

    def picture_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x - y).abs().mean(dim=(1, 2, 3))

    def one_class(stroke: Stroke) -> tuple[dict, torch.Tensor, torch.Tensor]:
        code = model.class_code(_three(restyle(examples, stroke)))
        translated = model.decode(content, code).float().mean(dim=1, keepdim=True)
        true = restyle(plain, stroke)
        to_true, to_input = picture_l1(translated, true), picture_l1(translated, plain)
        baseline = picture_l1(plain, true)  # what leaving the picture as it is would score
        pictures = {"translation": translated, "true": true, "input": plain}
        statistics = {stat: {name: round(measure(x), 4) for name, x in pictures.items()}
                      for stat, measure in APPEARANCE.items()}
        record = {
            "class_rate": _rate(full_contrast(translated), labels), "class_rate_raw": _rate(translated, labels),
            "classifier_on_true_restyling": _rate(full_contrast(true), labels),
            "l1_to_true_restyling": round(float(to_true.mean()), 4), "l1_to_input": round(float(to_input.mean()), 4),
            "l1_input_to_true_restyling": round(float(baseline.mean()), 4),
            "closer_to_target_share": round(float((to_true < baseline).float().mean()), 4),
            **statistics,
            # how much of the way from the input's statistic to the class's the translation went
            # (1: all of it, 0: none), for the statistics the class changes
            "gap_closed": {stat: round((v["translation"] - v["input"]) / (v["true"] - v["input"]), 4)
                           for stat, v in statistics.items() if abs(v["true"] - v["input"]) >= 0.02},
        }
        return record, translated, to_true < baseline

    seen = {name: one_class(stroke)[0] for name, stroke in STROKE_CLASSES.items()}
    unseen, closer, translations = {}, [], []
    for name, stroke in UNSEEN_CLASSES.items():
        unseen[name], translated, nearer = one_class(stroke)
        translations.append(translated)
        closer.append(nearer)
    stand_ins = {}  # what a perfect model of the seen classes alone could offer: the nearest one
    for name, stroke in UNSEEN_CLASSES.items():
        target = restyle(plain, stroke)
        distances = {other: picture_l1(restyle(plain, s), target) for other, s in STROKE_CLASSES.items()}
        best = min(distances, key=lambda other: float(distances[other].mean()))
        stand_ins[name] = {"seen_class": best, "l1_to_true_restyling": round(float(distances[best].mean()), 4),
                           "closer_to_target_share": round(float((distances[best] < picture_l1(plain, target))
                                                                 .float().mean()), 4)}
    return {
        "held_out_digits": HELD_OUT, "shots": shots, "inputs": "held-out plain digits",
        "unseen_class_rate": _rate(full_contrast(torch.cat(translations)), labels.repeat(len(UNSEEN_CLASSES))),
        "unseen_closer_to_target_share": round(float(torch.cat(closer).float().mean()), 4),
        "unseen_l1_to_true_restyling": round(sum(r["l1_to_true_restyling"] for r in unseen.values()) / len(unseen), 4),
        "unseen_l1_to_input": round(sum(r["l1_to_input"] for r in unseen.values()) / len(unseen), 4),
        "unseen_l1_input_to_true_restyling": round(sum(r["l1_input_to_true_restyling"] for r in unseen.values())
                                                   / len(unseen), 4),
        "seen_class_rate": round(sum(r["class_rate"] for r in seen.values()) / len(seen), 4),
        # plain is left out: its true restyling is the input itself
        "seen_closer_to_target_share": round(sum(r["closer_to_target_share"] for n, r in seen.items() if n != "plain")
                                             / (len(seen) - 1), 4),
        "best_seen_stand_in": stand_ins, "unseen": unseen, "seen": seen,
    }


def train_funit_member(out: Path, progress: Progress | None = None, steps: int | None = None) -> dict:
    """Train ``digits-funit-strokes`` into ``out`` (float16) and measure it; returns the manifest
    facts. One CPU thread, as :func:`train_member`. ``steps`` shortens the recipe for a trial."""
    from ..translation.multimodal import load_funit, save_multimodal
    from ..translation.training import run_translation_training

    recipe = {**FUNIT_RECIPE, "steps": steps or FUNIT_RECIPE["steps"]}
    classes = funit_training_classes()

    def on_step(step: int, total: int, record: dict, model) -> None:
        if progress is not None:
            progress(step, total, record)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as scratch:  # the resumable state is not part of the zoo
            trained = Path(scratch) / "trained.safetensors"
            facts = run_translation_training("funit", classes, None, trained, crop_size=RESOLUTION,
                                             preprocess="none", flip=False, report=lambda line: None,
                                             on_step=on_step, state_path=Path(scratch) / "state.pt", **recipe)
            # stored in half precision to keep the zoo small (the gen_test weights); measured as stored
            save_multimodal(load_funit(trained).to(dtype=torch.float16), out)
    finally:
        torch.set_num_threads(threads)
    measured = measure_member(out)
    return {
        "kind": "funit", "architecture": "funit", "kwargs": facts["kwargs"], "discriminator": facts["discriminator"],
        "recipe": facts["config"], "steps": facts["steps"], "batch_size": facts["config"]["batch_size"],
        "seed": facts["config"]["seed"], "classes": list(STROKE_CLASSES),
        "unseen_classes": {name: stroke._asdict() for name, stroke in UNSEEN_CLASSES.items()},
        "training_pictures": facts["classes"], "seconds": facts["seconds"],
        "images_per_second": facts["images_per_second"], "threads": 1,
        "note": "seconds and images/s on one CPU thread of a 2-core machine shared with other work",
        "total_seconds_with_measurement": round(time.perf_counter() - started, 1),
        "final_losses": facts["final_losses"], "measured": measured, "goals": FUNIT_GOALS,
        "data": "scikit-learn digits at 32 px, the last 360 held out; 10 training classes = every training digit "
                "written in one fixed stroke (weight thin / regular / bold, slant -0.2 / 0 / 0.2, ink 1 / 0.6), fed "
                "as RGB; 3 unseen classes (new combinations) seen only as 5 examples at measurement; stored in float16",
        "torch": torch.__version__,
    }
