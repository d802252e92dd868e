"""The digits VQGAN and the digits CLIP of the zoo, and the measurement that says whether
VQGAN-CLIP with them paints the digit a prompt asks for.

* VQGAN: taming's VQModel (f4: 32 px pictures become 8x8 codes from a 128-entry codebook),
  trained on scikit-learn's digits with L1 reconstruction, the codebook and commitment terms, and
  unused codes restarted from encoder outputs.
* CLIP: an open_clip CLIP (a small ViT and text transformer, open_clip's own BPE tokenizer)
  trained contrastively on the digits and captions such as "a handwritten seven" or "the digit 7".
  Its pictures are augmented the way guidance cutouts are, so that what it learned holds for them,
  and part of each batch is ink-weighted CutMix, so that a stroke from another digit counts
  against a caption (guidance otherwise finds strokes the CLIP ignores).
* :func:`guided_digit_rate`: for each digit, VQGAN-CLIP runs from several seeds with the prompt
  "a handwritten <digit>"; the independent SVC classifier (:mod:`.evaluate`) reads the results.

The last 297 digits are held out from both models' training.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..guidance import ClipGuide, ClipModel, Cutouts, VQGANLatent, guide, parse_prompts, text_targets
from ..guidance.clip import build_clip
from ..vqgan import create_vqgan
from ..vqgan.vqmodel import VQModel, straight_through
from .data import digits
from .evaluate import classify_digits
from .loop import StepReport, fit

HELD_OUT = 297
RESOLUTION = 32
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CAPTIONS = ["a handwritten {word}", "the digit {digit}", "the number {word}", "a picture of a {word}",
            "a drawing of the digit {word}", "handwritten {digit}", "{word}", "a {word}"]
VQGAN_KWARGS = dict(embed_dim=32, n_embed=128, ch=32, ch_mult=[1, 2, 2], num_res_blocks=1, attn_levels=[],
                    z_channels=32, in_channels=1, out_ch=1)
CLIP_CONFIG = {"embed_dim": 64, "quick_gelu": False,
               "vision_cfg": {"layers": 3, "width": 128, "patch_size": 4, "image_size": RESOLUTION, "head_width": 32},
               "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 1, "layers": 2}}


def prompt_for(digit: int) -> str:
    return f"a handwritten {WORDS[digit]}"


def _split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    x, y = digits(RESOLUTION)
    return x[:-HELD_OUT], y[:-HELD_OUT], x[-HELD_OUT:], y[-HELD_OUT:]


def _shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Random translation by up to ``pixels`` (background filled), per picture."""
    padded = F.pad(x, (pixels,) * 4, value=-1.0)
    out = torch.empty_like(x)
    offsets = torch.randint(0, 2 * pixels + 1, (x.shape[0], 2), generator=generator)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        out[i] = padded[i, :, dy:dy + x.shape[-2], dx:dx + x.shape[-1]]
    return out


def train_digits_vqgan(steps: int = 1500, batch: int = 32, lr: float = 1e-3, seed: int = 0,
                       on_step: StepReport | None = None) -> tuple[VQModel, dict]:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train, _, held, _ = _split()
    model = create_vqgan(**VQGAN_KWARGS)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.9))
    used = torch.zeros(model.n_embed, dtype=torch.bool)
    latest: dict[str, torch.Tensor] = {}

    def batch_loss() -> torch.Tensor:
        x = _shift(train[torch.randint(len(train), (batch,), generator=generator)], generator)
        h = latest["h"] = model.encode_prequant(x)
        codes = model.quantize.codes(h)
        used[codes.unique()] = True
        z_q = model.quantize.lookup(codes)
        reconstruction = model.decode(straight_through(h, z_q))
        return F.l1_loss(reconstruction, x) + F.mse_loss(z_q, h.detach()) + 0.25 * F.mse_loss(h, z_q.detach())

    def restart_unused_codes(step: int) -> None:
        if step % 100 == 0 and step < steps * 0.8:
            dead = (~used).nonzero().flatten()
            if len(dead):
                pool = latest["h"].detach().movedim(1, -1).reshape(-1, model.embed_dim)
                with torch.no_grad():
                    model.codebook[dead] = pool[torch.randint(len(pool), (len(dead),), generator=generator)]
            used.zero_()

    seconds = fit(model, optimizer, steps, lr, batch_loss, on_step, warmup=100, after_step=restart_unused_codes)
    with torch.no_grad():
        codes = model.encode_codes(held)
        error = F.l1_loss(model.decode_codes(codes), held).item()
    facts = {"steps": steps, "batch": batch, "lr": lr, "seed": seed, "kwargs": VQGAN_KWARGS,
             "held_out_l1": round(error, 4), "codes_in_use_held_out": int(codes.unique().numel()),
             "seconds": seconds}
    return model, facts


def _augment(x: torch.Tensor) -> torch.Tensor:
    """The kinds of change guidance cutouts make: affine and perspective warps, erasing, noise."""
    import kornia.augmentation as K

    warp = torch.nn.Sequential(
        K.RandomAffine(degrees=15, translate=0.1, scale=(0.85, 1.15), shear=5, p=0.7, padding_mode="zeros"),
        K.RandomPerspective(distortion_scale=0.4, p=0.5),
        K.RandomErasing(scale=(0.02, 0.1), ratio=(0.3, 3.3), p=0.3))
    x = warp(x)
    return x + torch.rand(x.shape[0], 1, 1, 1) * 0.1 * torch.randn_like(x)


def cut_mix(pictures: torch.Tensor, labels: torch.Tensor, share: float, generator: torch.Generator
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """CutMix weighted by ink: in the first ``share`` of the batch, a random box (at most half of
    each side) is taken from another picture of the batch at the same place. Pictures are 0..1
    ink; the soft label [N, 10] gives each source digit its share of the composite's ink, so a
    six with a four's stroke pasted on is partly a four. Without this the CLIP ignores strokes
    that do not belong, and guidance exploits that (sixes grew a four's upper-right bar)."""
    count = int(len(pictures) * share)
    soft = F.one_hot(labels, 10).float()
    if count == 0:
        return pictures, soft
    mixed = pictures.clone()
    donors = torch.randint(len(pictures), (count,), generator=generator)
    side = pictures.shape[-1]
    for i, donor in enumerate(donors.tolist()):
        h, w = torch.randint(side // 4, side // 2 + 1, (2,), generator=generator).tolist()
        top = int(torch.randint(side - h + 1, (1,), generator=generator))
        left = int(torch.randint(side - w + 1, (1,), generator=generator))
        box = (..., slice(top, top + h), slice(left, left + w))
        mixed[i][box] = pictures[donor][box]
        pasted = mixed[i][box].sum()
        kept = mixed[i].sum() - pasted
        total = pasted + kept
        if total > 1e-6:  # a composite without ink keeps its own label rather than none
            soft[i] = F.one_hot(labels[i], 10) * kept / total + F.one_hot(labels[donor], 10) * pasted / total
    return mixed, soft


def train_digits_clip(steps: int = 1200, batch: int = 128, lr: float = 5e-4, seed: int = 0, mix_share: float = 0.5,
                      on_step: StepReport | None = None) -> tuple[ClipModel, dict]:
    """Contrastive training against the ten digits' captions: an image's caption must beat the
    other nine digits' (a random wording per digit and step), and each caption must pick out the
    images of its digit among the batch. ``mix_share`` of each batch is ink-weighted CutMix
    (:func:`cut_mix`), which only the image side learns from."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train, labels, held, held_labels = _split()
    clip = ClipModel(build_clip(CLIP_CONFIG), CLIP_CONFIG, "digits-clip")
    model = clip.model
    tokens = {(d, t): clip.tokenize([template.format(word=WORDS[d], digit=d)])[0]
              for d in range(10) for t, template in enumerate(CAPTIONS)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)

    def batch_loss() -> torch.Tensor:
        index = torch.randint(len(train), (batch,), generator=generator)
        target = labels[index]
        pictures, soft = cut_mix((train[index] + 1) / 2, target, mix_share, generator)
        pictures = _augment(pictures).clamp(0, 1)
        wording = torch.randint(len(CAPTIONS), (10,), generator=generator).tolist()
        text = torch.stack([tokens[(d, wording[d])] for d in range(10)])
        image_embeds = F.normalize(clip.encode_image(pictures), dim=-1)
        text_embeds = F.normalize(model.encode_text(text), dim=-1)
        logits = model.logit_scale.exp().clamp(max=100) * image_embeds @ text_embeds.t()
        image_loss = F.cross_entropy(logits, soft)
        pure = slice(int(batch * mix_share), None)
        mine = F.one_hot(target[pure], 10).bool()
        text_logits = logits[pure].t()
        text_loss = -(torch.logsumexp(text_logits.masked_fill(~mine.t(), -1e9), 1)
                      - torch.logsumexp(text_logits, 1))[mine.any(0)].mean()
        return (image_loss + text_loss) / 2

    seconds = fit(model, optimizer, steps, lr, batch_loss, on_step, warmup=100)
    facts = {"steps": steps, "batch": batch, "lr": lr, "seed": seed, "mix_share": mix_share, "config": CLIP_CONFIG,
             "held_out_zero_shot_accuracy": round(zero_shot_accuracy(clip, held, held_labels), 4),
             "seconds": seconds}
    return clip, facts


@torch.no_grad()
def zero_shot_accuracy(clip: ClipModel, pictures: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of pictures ([-1, 1]) whose nearest caption "a handwritten <digit>" is the right one."""
    texts = F.normalize(clip.encode_text([prompt_for(d) for d in range(10)]), dim=-1)
    images = F.normalize(clip.encode_image((pictures + 1) / 2), dim=-1)
    return float(((images @ texts.t()).argmax(1) == labels).float().mean())


def guided_digit_rate(vqgan: VQModel, clip: ClipModel, seeds: int = 10, iterations: int = 100, cutn: int = 16,
                      lr: float = 0.1, digits_wanted: list[int] | None = None) -> dict:
    """VQGAN-CLIP with "a handwritten <digit>" from random codes, ``seeds`` runs per digit; the
    share the independent classifier reads as the digit asked for (overall and per digit)."""
    per_digit = {}
    cutouts = Cutouts(clip.image_size, cutn=cutn)
    for digit in digits_wanted if digits_wanted is not None else range(10):
        targets = text_targets(clip, parse_prompts(prompt_for(digit)))
        pictures = []
        for seed in range(seeds):
            codes = torch.randint(vqgan.n_embed, (1, RESOLUTION // vqgan.factor, RESOLUTION // vqgan.factor),
                                  generator=torch.Generator().manual_seed(seed))
            latent = VQGANLatent(vqgan, vqgan.quantize.lookup(codes))
            result = guide(latent, ClipGuide(clip, cutouts), targets, iterations=iterations, lr=lr, seed=seed)
            pictures.append(result.image)
        read = classify_digits(torch.cat(pictures) * 2 - 1)
        per_digit[digit] = float(np.mean(read == digit))
    return {"rate": round(float(np.mean(list(per_digit.values()))), 3),
            "per_digit": {str(d): round(r, 2) for d, r in per_digit.items()},
            "seeds_per_digit": seeds, "iterations": iterations, "cutn": cutn, "lr": lr, "optimizer": "Adam",
            "cut_method": "latest", "augments": "Af Pe Ji Er"}
