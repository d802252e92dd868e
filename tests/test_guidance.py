"""CLIP guidance: prompt syntax, spherical loss, cutouts, CLIP loading, and the optimiser on VQGAN
and StyleGAN latents (the loss falls; a seed repeats a run)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganforge.models.checkpoint import CheckpointError
from ganforge.models.guidance import (
    AUGMENTATIONS,
    ClipGuide,
    Cutouts,
    StyleGANLatent,
    Targets,
    VQGANLatent,
    guide,
    load_clip,
    parse_prompts,
    parse_story,
    save_clip,
    text_targets,
)
from ganforge.models.guidance.clip import ClipModel, build_clip
from ganforge.models.guidance.cutouts import ColorJitter
from ganforge.models.guidance.prompts import PromptSpec, prompt_loss, spherical_distance
from ganforge.models.guidance.targets import image_targets, noise_targets
from ganforge.models.stylegan import load_stylegan
from ganforge.models.vqgan import load_vqgan

DATA = Path(__file__).parent / "data"
ZOO = Path(__file__).parent.parent / "zoo"
TINY_CLIP = {"embed_dim": 32, "quick_gelu": False,
             "vision_cfg": {"layers": 1, "width": 64, "patch_size": 8, "image_size": 32, "head_width": 64},
             "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1}}


@pytest.fixture(scope="module")
def tiny_clip() -> ClipModel:
    torch.manual_seed(0)
    model = build_clip(TINY_CLIP).eval().requires_grad_(False)
    return ClipModel(model, TINY_CLIP, "tiny")


def test_prompt_syntax() -> None:
    assert parse_prompts("a red fox | snow:0.5 | text:-1:0.2") == [
        PromptSpec("a red fox"), PromptSpec("snow", 0.5), PromptSpec("text", -1.0, 0.2)]
    assert parse_prompts("photo: a cat:2") == [PromptSpec("photo: a cat", 2.0)]
    assert parse_prompts(" | ") == []
    assert [len(s) for s in parse_story("a | b ^ c ^ ")] == [2, 1]


def test_spherical_distance_and_stop() -> None:
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 3.0], [2.0, 0.0]])
    assert torch.allclose(spherical_distance(a, b), torch.tensor([[math.pi ** 2 / 8, 0.0]]))
    x = torch.tensor([[1.0, 0.2]], requires_grad=True)
    loss = prompt_loss(x, torch.tensor([[1.0, 0.0]]), torch.tensor([2.0]), torch.tensor([0.5]))
    assert loss.item() == pytest.approx(2 * 0.5)  # the stop distance, since the true one is smaller
    loss.backward()
    assert x.grad.abs().sum() > 0  # the gradient still flows, as in the original


def test_cutouts_every_code_and_method() -> None:
    picture = torch.rand(1, 3, 48, 40)
    for method in ("latest", "original"):
        torch.manual_seed(0)
        views = Cutouts(24, cutn=5, cut_pow=1.0, method=method, augments=list(AUGMENTATIONS))(picture)
        assert views.shape == (5, 3, 24, 24) and torch.isfinite(views).all()
    with pytest.raises(ValueError, match="unknown augmentation code"):
        Cutouts(24, augments=["Zz"])


def test_color_jitter_keeps_range_and_grey() -> None:
    x = torch.rand(8, 3, 16, 16)
    torch.manual_seed(1)
    y = ColorJitter(0.1, 0.1, 0.1, 0.1, p=1.0)(x)
    assert y.min() >= 0 and y.max() <= 1 and not torch.equal(x, y)
    assert torch.equal(ColorJitter(p=0.0)(x), x)
    grey = torch.full((2, 3, 4, 4), 0.5)
    assert torch.allclose(ColorJitter(0.0, 0.0, 0.5, 0.5, p=1.0)(grey), grey, atol=1e-6)  # no chroma to turn


def test_clip_files(tiny_clip: ClipModel, tmp_path: Path) -> None:
    torch.save(tiny_clip.model.state_dict(), tmp_path / "open_clip_pytorch_model.bin")
    loaded = load_clip(tmp_path / "open_clip_pytorch_model.bin")
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(loaded.encode_image(x), tiny_clip.encode_image(x))
    assert torch.equal(loaded.encode_text(["a seven"]), tiny_clip.encode_text(["a seven"]))
    assert not loaded.config["quick_gelu"] and "GELU" in loaded.notes[0]
    save_clip(loaded, tmp_path / "ours.safetensors")
    again = load_clip(tmp_path / "ours.safetensors")
    assert torch.equal(again.encode_image(x), tiny_clip.encode_image(x))
    torch.save({"vision_model.embeddings.patch_embedding.weight": torch.zeros(1)}, tmp_path / "clip_vision.bin")
    with pytest.raises(CheckpointError, match="Hugging Face transformers' CLIP layout"):
        load_clip(tmp_path / "clip_vision.bin")
    visual = {k: v for k, v in tiny_clip.model.state_dict().items() if k.startswith("visual.")}
    torch.save(visual, tmp_path / "visual.bin")
    with pytest.raises(CheckpointError, match="not a complete CLIP checkpoint"):
        load_clip(tmp_path / "visual.bin")


def test_targets(tiny_clip: ClipModel) -> None:
    targets = text_targets(tiny_clip, parse_prompts("a | b:-0.5")) + image_targets(tiny_clip, torch.rand(2, 3, 32, 32))
    targets = targets + noise_targets(parse_prompts("3:0.2"), tiny_clip.embed_dim)
    assert targets.embeds.shape == (5, 32) and targets.weights.tolist() == pytest.approx([1, -0.5, 1, 1, 0.2])
    again = noise_targets(parse_prompts("3"), tiny_clip.embed_dim)
    assert torch.equal(again.embeds[0], targets.embeds[4])


def _vqgan_run(tiny_clip: ClipModel, seed: int, iterations: int = 12):
    vqgan = load_vqgan(DATA / "vqgan_f4_attn.safetensors")
    z = torch.randn(1, 48, 8, 8, generator=torch.Generator().manual_seed(4)) * 0.1
    latent = VQGANLatent(vqgan, z)
    targets = text_targets(tiny_clip, parse_prompts("a handwritten seven"))
    return guide(latent, ClipGuide(tiny_clip, Cutouts(32, cutn=4, augments=["Af", "Ji"])), targets,
                 iterations=iterations, lr=0.2, seed=seed, keep_every=4, tv_weight=0.1), latent


def test_vqgan_guidance_lowers_the_loss_and_repeats(tiny_clip: ClipModel) -> None:
    result, latent = _vqgan_run(tiny_clip, seed=3)
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < first, result.losses
    assert result.image.shape == (1, 3, 32, 32) and len(result.frames) == 3
    assert (result.latent >= latent.low - 1e-6).all() and (result.latent <= latent.high + 1e-6).all()
    again, _ = _vqgan_run(tiny_clip, seed=3)
    assert torch.equal(again.image, result.image)
    other, _ = _vqgan_run(tiny_clip, seed=4)
    assert not torch.equal(other.image, result.image)


def test_stylegan_guidance_lowers_the_loss(tiny_clip: ClipModel) -> None:
    generator = load_stylegan(ZOO / "stylegan" / "digits-sg2-bold.safetensors")
    label = torch.nn.functional.one_hot(torch.tensor([7]), generator.c_dim).float() if generator.c_dim else None
    w = generator.mapping(torch.randn(1, generator.z_dim, generator=torch.Generator().manual_seed(0)), label)
    targets = text_targets(tiny_clip, parse_prompts("a handwritten seven"))
    for per_layer in (True, False):
        result = guide(StyleGANLatent(generator, w, per_layer=per_layer),
                       ClipGuide(tiny_clip, Cutouts(32, cutn=4, augments=[])), targets, iterations=10, lr=0.05,
                       seed=0, init_weight=0.1)
        assert sum(result.losses[-3:]) < sum(result.losses[:3]), result.losses
        assert result.latent.shape[1] == (w.shape[1] if per_layer else 1)


def test_guidance_refuses_what_cannot_work(tiny_clip: ClipModel) -> None:
    vqgan = load_vqgan(DATA / "vqgan_f4_attn.safetensors")
    latent = VQGANLatent(vqgan, torch.zeros(1, 48, 8, 8))
    cut = ClipGuide(tiny_clip, Cutouts(32, cutn=2))
    with pytest.raises(ValueError, match="nothing to guide towards"):
        guide(latent, cut, Targets.empty(32), iterations=1)
    zero = text_targets(tiny_clip, parse_prompts("a:0"))
    with pytest.raises(ValueError, match="every prompt weight is 0"):
        guide(latent, cut, zero, iterations=1)
    with pytest.raises(ValueError, match="unknown optimizer 'Adamm'; choose one of"):
        guide(latent, cut, text_targets(tiny_clip, parse_prompts("a")), iterations=1, optimizer="Adamm")
