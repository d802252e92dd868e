"""The VQGAN and CLIP-guidance nodes through the real server, on small files the tests write in
the official layouts (a Lightning .ckpt with its yaml, an OpenCLIP state_dict)."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from test_guidance import TINY_CLIP
from test_vqgan import write_lightning_ckpt

from ganforge.models.guidance.clip import build_clip
from ganforge.models.vqgan import load_vqgan

pytestmark = pytest.mark.server
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def files(comfy) -> dict[str, Path]:
    vqgan = comfy.models / "vqgan"
    clip = comfy.models / "clip"
    vision = comfy.models / "clip_vision"
    for folder in (vqgan, clip, vision):
        folder.mkdir(parents=True, exist_ok=True)
    ckpt, config = write_lightning_ckpt("f4_attn", vqgan)
    ckpt.rename(vqgan / "tiny_f4.ckpt")
    config.rename(vqgan / "tiny_f4.yaml")
    wrong = yaml.safe_load((vqgan / "tiny_f4.yaml").read_text())
    wrong["model"]["params"]["n_embed"] = 16384
    (vqgan / "imagenet_16384.yaml").write_text(yaml.safe_dump(wrong))
    torch.manual_seed(0)
    torch.save(build_clip(TINY_CLIP).state_dict(), clip / "tiny_clip.bin")
    torch.save({"vision_model.embeddings.patch_embedding.weight": torch.zeros(4, 3, 8, 8)}, vision / "hf_vision.bin")
    Image.fromarray((np.random.default_rng(1).random((32, 32, 3)) * 255).astype(np.uint8)).save(
        comfy.input / "tiny_init.png")
    return {"vqgan": vqgan}


def _image(comfy, outcome, node: str, index: int = 0) -> np.ndarray:
    record = outcome.outputs[node]["images"][index]
    data = comfy.client.view(record["filename"], record["subfolder"], record["type"])
    return np.asarray(Image.open(BytesIO(data))).astype(np.float64) / 255


def _base(prompt: str = "a handwritten seven") -> dict:
    return {
        "1": {"class_type": "GANForgeLoadVQGAN", "inputs": {"model_name": "tiny_f4.ckpt", "config": "tiny_f4.yaml"}},
        "2": {"class_type": "GANForgeLoadCLIP", "inputs": {"model_name": "tiny_clip.bin", "architecture": "auto",
                                                           "activation": "auto"}},
        "3": {"class_type": "GANForgeCLIPTextPrompts", "inputs": {"clip": ["2", 0], "text": prompt}},
        "4": {"class_type": "GANForgeCLIPGuide", "inputs": {"clip": ["2", 0], "cutn": 4, "cut_pow": 1.0,
                                                            "cut_method": "latest", "augments": "Af Ji",
                                                            "noise": 0.1}},
    }


def _vqgan_clip(seed: int = 0, iterations: int = 8, init: str = "random codes", width: int = 32, **extra) -> dict:
    graph = _base()
    graph["5"] = {"class_type": "GANForgeVQGANCLIP", "inputs": {
        "vqgan": ["1", 0], "guide": ["4", 0], "prompts": ["3", 0], "width": width, "height": 32, "init": init,
        "batch_size": 1, "optimizer": "Adam", "learning_rate": 0.2, "iterations": iterations, "tv_weight": 0.0,
        "init_weight": 0.0, "seed": seed, "preview_every": 2, "keep_every": 4, **extra}}
    graph["9"] = {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}}
    graph["10"] = {"class_type": "PreviewImage", "inputs": {"images": ["5", 1]}}
    return graph


def _losses(outcome, node: str) -> list[tuple[float, float]]:
    return [tuple(map(float, re.search(r"loss ([\d.]+) -> ([\d.]+)", line).groups()))
            for line in outcome.outputs[node]["text"]]


def test_encode_decode_matches_the_library(comfy, files):
    graph = {
        "1": {"class_type": "GANForgeLoadVQGAN", "inputs": {"model_name": "tiny_f4.ckpt", "config": "infer from "
                                                                                                    "the checkpoint"}},
        "2": {"class_type": "LoadImage", "inputs": {"image": "tiny_init.png"}},
        "3": {"class_type": "GANForgeVQGANEncode", "inputs": {"vqgan": ["1", 0], "image": ["2", 0]}},
        "4": {"class_type": "GANForgeVQGANDecode", "inputs": {"vqgan": ["1", 0], "latent": ["3", 0]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}},
    }
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "success", outcome.error
    model = load_vqgan(files["vqgan"] / "tiny_f4.ckpt")
    x = torch.from_numpy(np.array(Image.open(comfy.input / "tiny_init.png"))).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        expected = model(x / 255 * 2 - 1).clamp(-1, 1).add(1).div(2)[0].permute(1, 2, 0).numpy()
    assert np.abs(_image(comfy, outcome, "9")[..., :3] - expected).max() <= 1 / 255 + 1e-6


def test_vqgan_clip_lowers_the_loss_previews_and_repeats(comfy, files):
    events = []
    first = comfy.client.execute(_vqgan_clip(seed=3), timeout=300, on_event=lambda k, d: events.append((k, d)))
    assert first.status == "success", first.error
    (start, end), = _losses(first, "5")
    assert end < start
    progress = [d["value"] for k, d in events if k == "progress" and d.get("node") == "5"]
    assert progress == list(range(1, 9))
    assert len(first.outputs["10"]["images"]) == 2  # keep_every 4 of 8 steps
    again = comfy.client.execute(_vqgan_clip(seed=3), timeout=300)
    other = comfy.client.execute(_vqgan_clip(seed=4), timeout=300)
    assert np.array_equal(_image(comfy, first, "9"), _image(comfy, again, "9"))
    assert not np.array_equal(_image(comfy, first, "9"), _image(comfy, other, "9"))


def test_image_and_noise_prompts_and_an_init_image(comfy, files):
    graph = _vqgan_clip(init="image", iterations=4)
    graph["6"] = {"class_type": "LoadImage", "inputs": {"image": "tiny_init.png"}}
    graph["7"] = {"class_type": "GANForgeCLIPImagePrompt", "inputs": {"clip": ["2", 0], "image": ["6", 0],
                                                                      "weight": 0.5, "add_to": ["3", 0]}}
    graph["8"] = {"class_type": "GANForgeCLIPNoisePrompt", "inputs": {"clip": ["2", 0], "seeds": "3:-0.2",
                                                                      "add_to": ["7", 0]}}
    graph["5"]["inputs"].update(prompts=["8", 0], init_image=["6", 0], init_weight=1.0, tv_weight=0.1,
                                optimizer="AdamW")
    outcome = comfy.client.execute(graph, timeout=300)
    assert outcome.status == "success", outcome.error
    assert _image(comfy, outcome, "9").shape[:2] == (32, 32)


def test_clip_guided_stylegan_and_zoom_video(comfy, files):
    graph = _base()
    graph.update({
        "20": {"class_type": "GANForgeLoadStyleGAN", "inputs": {"model_name": "digits-sg2-cond.safetensors",
                                                                "precision": "auto"}},
        "21": {"class_type": "GANForgeSampleZ", "inputs": {"model": ["20", 0], "seed": 0, "batch_size": 2,
                                                           "seed_list": ""}},
        "22": {"class_type": "GANForgeStyleGANClass", "inputs": {"model": ["20", 0], "classes": "7"}},
        "23": {"class_type": "GANForgeMapping", "inputs": {"model": ["20", 0], "z": ["21", 0], "label": ["22", 0],
                                                           "truncation_psi": 0.7, "truncation_cutoff": 0,
                                                           "truncation_center": "class"}},
        "24": {"class_type": "GANForgeStyleGANCLIP", "inputs": {
            "model": ["20", 0], "w": ["23", 0], "guide": ["4", 0], "prompts": ["3", 0], "latent_space": "W",
            "noise_mode": "const", "optimizer": "Adam", "learning_rate": 0.05, "iterations": 6, "tv_weight": 0.0,
            "init_weight": 0.0, "seed": 0, "preview_every": 3, "keep_every": 0}},
        "25": {"class_type": "GANForgeSynthesis", "inputs": {"model": ["20", 0], "w": ["24", 2], "noise_mode": "const",
                                                             "noise_seed": 0, "translate_x": 0, "translate_y": 0,
                                                             "rotate": 0}},
        "26": {"class_type": "PreviewImage", "inputs": {"images": ["25", 0]}},
        "27": {"class_type": "PreviewImage", "inputs": {"images": ["24", 0]}},
        "30": {"class_type": "GANForgeVQGANCLIPZoomVideo", "inputs": {
            "vqgan": ["1", 0], "guide": ["4", 0], "story": "a one ^ a seven", "width": 32, "height": 32,
            "frames_per_segment": 2, "iterations_per_frame": 1, "zoom": 1.05, "rotate": 2.0, "shift_x": 1.0,
            "shift_y": 0.0, "optimizer": "Adam", "learning_rate": 0.1, "seed": 0}},
        "31": {"class_type": "PreviewImage", "inputs": {"images": ["30", 0]}},
    })
    outcome = comfy.client.execute(graph, timeout=600)
    assert outcome.status == "success", outcome.error
    assert len(_losses(outcome, "24")) == 2
    # the W output re-renders to the node's own picture
    assert np.abs(_image(comfy, outcome, "26") - _image(comfy, outcome, "27")).max() <= 1 / 255 + 1e-6
    assert len(outcome.outputs["31"]["images"]) == 4


@pytest.mark.parametrize(("change", "node_type", "words"), [
    (lambda g: g["3"]["inputs"].update(text=" | "), "GANForgeCLIPTextPrompts", "the prompt is empty"),
    (lambda g: g["3"]["inputs"].update(text="a:0"), "GANForgeVQGANCLIP", "every prompt weight is 0"),
    (lambda g: g["1"]["inputs"].update(config="imagenet_16384.yaml"), "GANForgeLoadVQGAN",
     "n_embed 16384 in the config but 96 in the checkpoint"),
    (lambda g: g["2"]["inputs"].update(model_name="clip_vision/hf_vision.bin"), "GANForgeLoadCLIP",
     "Hugging Face transformers' CLIP layout"),
    (lambda g: g["5"]["inputs"].update(init="image"), "GANForgeVQGANCLIP", "no init_image is connected"),
    (lambda g: g["4"]["inputs"].update(augments="Af Qq"), "GANForgeCLIPGuide", "unknown augmentation code"),
])
def test_bad_input_is_named_and_the_server_keeps_serving(comfy, files, change, node_type, words):
    graph = _vqgan_clip(iterations=2)
    change(graph)
    refused = comfy.client.execute(graph, timeout=120)
    assert refused.status == "error" and refused.error["node_type"] == node_type, refused.error
    assert words in refused.error["exception_message"] and "Fix:" in refused.error["exception_message"]
    fine = comfy.client.execute(_vqgan_clip(iterations=1, width=30), timeout=120)  # 30 is rounded to 32
    assert fine.status == "success", fine.error
    assert _image(comfy, fine, "9").shape[:2] == (32, 32)
