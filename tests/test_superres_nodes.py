"""The super-resolution nodes through the real server, on small checkpoints the tests write."""

from __future__ import annotations

import json
import shutil
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.models.superres import load_superres, save_superres
from ganforge.models.superres.esrgan import RRDBNet, SRVGGNetCompact
from ganforge.models.superres.upscale import upscale

pytestmark = pytest.mark.server
DATA = Path(__file__).parent / "data"


def _random_state(network: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=generator) * 0.05 for k, v in network.state_dict().items()}


@pytest.fixture(scope="module")
def models(comfy) -> dict[str, Path]:
    upscalers = comfy.models / "upscale_models"
    sr3 = comfy.models / "sr3"
    for folder in (upscalers, sr3):
        folder.mkdir(parents=True, exist_ok=True)
    # Real-ESRGAN-style files: a BasicSR x2 RRDBNet (pixel-unshuffle) and two compact x4 "twins".
    torch.save({"params_ema": _random_state(RRDBNet(num_feat=16, num_block=1, unshuffle=2), 1)},
               upscalers / "tiny_x2.pth")
    torch.save({"params": _random_state(SRVGGNetCompact(num_feat=8, num_conv=2), 2)}, upscalers / "general_x4.pth")
    torch.save({"params": _random_state(SRVGGNetCompact(num_feat=8, num_conv=2), 3)}, upscalers / "wdn_x4.pth")
    shutil.copy(DATA / "stylegan2_skip.safetensors", upscalers / "not_an_upscaler.safetensors")
    # SR3: our file (factor 4 inside), and the original layout whose JSON gives the factor and groups.
    shutil.copy(DATA / "sr3_rgb_attn.safetensors", sr3 / "sr3_x4.safetensors")
    network = load_superres(DATA / "sr3_gray_affine.safetensors")
    state = {f"denoise_fn.{k}": v for k, v in network.state_dict().items()}
    state["betas"] = torch.from_numpy(network.schedule.betas).float()
    torch.save(state, sr3 / "I100_E1_gen.pth")
    (sr3 / "sr_gray_8_32.json").write_text(json.dumps({
        "datasets": {"train": {"l_resolution": 8, "r_resolution": 32}},
        "model": {"unet": {"norm_groups": 8, "dropout": 0.0}}}))
    (sr3 / "sr_no_factor.json").write_text(json.dumps({"model": {"unet": {"norm_groups": 8}}}))
    return {"upscale_models": upscalers, "sr3": sr3}


@pytest.fixture(scope="module")
def picture(comfy) -> np.ndarray:
    rng = np.random.default_rng(0)
    pixels = (rng.random((20, 28, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(comfy.input / "small.png")
    return pixels


def image_of(comfy, outcome, node: str) -> np.ndarray:
    record = outcome.outputs[node]["images"][0]
    data = comfy.client.view(record["filename"], record["subfolder"], record["type"])
    return np.asarray(Image.open(BytesIO(data)).convert("RGB")).astype(np.float64) / 255


def upscale_graph(model: str, tile: int = 0, overlap: int = 8, outscale: float = 0.0) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "small.png"}},
        "2": {"class_type": "GANForgeLoadUpscaler", "inputs": {"model_name": model, "precision": "auto"}},
        "3": {"class_type": "GANForgeUpscaleImage", "inputs": {"image": ["1", 0], "upscaler": ["2", 0], "tile": tile,
                                                               "overlap": overlap, "outscale": outscale,
                                                               "alpha": "model"}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }


def library_upscale(path: Path, pixels: np.ndarray, **kwargs) -> np.ndarray:
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        return upscale(load_superres(path), x, **kwargs).image[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("model", ["tiny_x2.pth", "general_x4.pth"])
def test_upscale_node_matches_the_library_tiled_and_whole(comfy, models, picture, model):
    expected = library_upscale(models["upscale_models"] / model, picture)
    for tile in (0, 16):
        outcome = comfy.client.execute(upscale_graph(model, tile=tile, overlap=8), timeout=120)
        assert outcome.status == "success", outcome.error
        got = image_of(comfy, outcome, "9")
        assert got.shape == expected.shape
        # 8-bit rounding; tiles of 16 with an overlap of 8 on random weights add a little more
        assert np.abs(got - expected).max() <= (1 / 255 + 1e-6 if tile == 0 else 0.02)


def test_outscale_gives_the_exact_size(comfy, models, picture):
    outcome = comfy.client.execute(upscale_graph("general_x4.pth", outscale=2.5), timeout=120)
    assert outcome.status == "success", outcome.error
    assert image_of(comfy, outcome, "9").shape == (50, 70, 3)


def test_blend_with_strength_one_is_the_first_model(comfy, models, picture):
    graph = upscale_graph("general_x4.pth")
    graph["4"] = {"class_type": "GANForgeLoadUpscaler", "inputs": {"model_name": "wdn_x4.pth", "precision": "auto"}}
    graph["5"] = {"class_type": "GANForgeBlendUpscalers", "inputs": {"a": ["2", 0], "b": ["4", 0], "strength": 1.0}}
    graph["3"]["inputs"]["upscaler"] = ["5", 0]
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "success", outcome.error
    expected = library_upscale(models["upscale_models"] / "general_x4.pth", picture)
    assert np.abs(image_of(comfy, outcome, "9") - expected).max() <= 1 / 255 + 1e-6

    graph["4"]["inputs"]["model_name"] = "tiny_x2.pth"
    refused = comfy.client.execute(graph, timeout=120)
    assert refused.status == "error" and refused.error["node_type"] == "GANForgeBlendUpscalers"
    assert "Fix:" in refused.error["exception_message"]


def test_comfyui_upscale_model_works_in_our_nodes(comfy, models, picture):
    graph = upscale_graph("tiny_x2.pth")
    graph["2"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "tiny_x2.pth"}}
    graph["4"] = {"class_type": "GANForgeUpscalerFromComfy", "inputs": {"upscale_model": ["2", 0]}}
    graph["3"]["inputs"]["upscaler"] = ["4", 0]
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "success", outcome.error
    expected = library_upscale(models["upscale_models"] / "tiny_x2.pth", picture)
    assert np.abs(image_of(comfy, outcome, "9") - expected).max() <= 1 / 255 + 1e-6


def sr3_graph(model: str, config: str = "from the file", factor: float = 0.0, seed: int = 0, steps: int = 4) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "small.png"}},
        "2": {"class_type": "GANForgeLoadSR3", "inputs": {"model_name": model, "config": config, "factor": factor,
                                                          "precision": "auto"}},
        "3": {"class_type": "GANForgeSR3Upscale", "inputs": {"image": ["1", 0], "sr3": ["2", 0], "sampler": "ddim",
                                                             "steps": steps, "eta": 0.0, "seed": seed,
                                                             "preview_every": 2}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }


def test_sr3_node_is_seeded_and_reports_progress(comfy, models, picture):
    events = []
    first = comfy.client.execute(sr3_graph("sr3_x4.safetensors", seed=5), timeout=180,
                                 on_event=lambda kind, data: events.append((kind, data)))
    assert first.status == "success", first.error
    steps = [data["value"] for kind, data in events if kind == "progress" and data.get("node") == "3"]
    assert len(steps) == 4 and steps == sorted(steps)
    again = comfy.client.execute(sr3_graph("sr3_x4.safetensors", seed=5, steps=4), timeout=180)
    other = comfy.client.execute(sr3_graph("sr3_x4.safetensors", seed=6, steps=4), timeout=180)
    a, b, c = (image_of(comfy, outcome, "9") for outcome in (first, again, other))
    assert a.shape == (80, 112, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_original_sr3_layout_needs_its_config(comfy, models, picture):
    outcome = comfy.client.execute(sr3_graph("I100_E1_gen.pth", config="sr_gray_8_32.json"), timeout=180)
    assert outcome.status == "success", outcome.error
    assert image_of(comfy, outcome, "9").shape == (80, 112, 3)  # x4 from the JSON: 32 / 8
    refused = comfy.client.execute(sr3_graph("I100_E1_gen.pth"), timeout=120)
    assert refused.status == "error" and refused.error["node_type"] == "GANForgeLoadSR3"
    message = refused.error["exception_message"]
    assert "JSON config" in message and "divisible" in message and "Fix:" in message  # 32 groups guessed
    refused = comfy.client.execute(sr3_graph("I100_E1_gen.pth", config="sr_no_factor.json"), timeout=120)
    message = refused.error["exception_message"]
    assert "which enlargement" in message and "'factor'" in message
    given = comfy.client.execute(sr3_graph("I100_E1_gen.pth", config="sr_no_factor.json", factor=2.0), timeout=180)
    assert given.status == "success" and image_of(comfy, given, "9").shape == (40, 56, 3)


def test_cascade_chains_sr3_and_esrgan_to_the_factor(comfy, models, picture):
    graph = sr3_graph("sr3_x4.safetensors")
    del graph["3"]
    graph["4"] = {"class_type": "GANForgeSR3AsUpscaler", "inputs": {"sr3": ["2", 0], "sampler": "ddim", "steps": 2,
                                                                    "eta": 0.0, "seed": 0}}
    graph["5"] = {"class_type": "GANForgeLoadUpscaler", "inputs": {"model_name": "tiny_x2.pth", "precision": "auto"}}
    graph["6"] = {"class_type": "GANForgeCascadeUpscale", "inputs": {
        "image": ["1", 0], "factor": 8.0, "upscaler_1": ["4", 0], "upscaler_2": ["5", 0], "tile": 0, "overlap": 8,
        "max_stages": 4}}
    graph["9"]["inputs"]["images"] = ["6", 0]
    outcome = comfy.client.execute(graph, timeout=180)
    assert outcome.status == "success", outcome.error
    assert image_of(comfy, outcome, "9").shape == (160, 224, 3)
    chain = " ".join(outcome.outputs["6"]["text"])
    assert "sr3_x4.safetensors x4 -> 112x80" in chain and "tiny_x2.pth x2 -> 224x160" in chain

    graph["6"]["inputs"]["factor"] = 6.0
    outcome = comfy.client.execute(graph, timeout=180)
    assert outcome.status == "success", outcome.error
    assert image_of(comfy, outcome, "9").shape == (120, 168, 3)
    assert "resized to 168x120" in " ".join(outcome.outputs["6"]["text"])


@pytest.mark.parametrize("graph_change, node_type, words", [
    ({"2": {"model_name": "not_an_upscaler.safetensors"}}, "GANForgeLoadUpscaler", "not a super-resolution"),
    ({"3": {"tile": 16, "overlap": 12}}, "GANForgeUpscaleImage", "more than half the tile"),
])
def test_bad_inputs_name_the_node_and_the_fix(comfy, models, picture, graph_change, node_type, words):
    graph = upscale_graph("general_x4.pth")
    for node, inputs in graph_change.items():
        graph[node]["inputs"].update(inputs)
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "error"
    assert outcome.error["node_type"] == node_type
    message = outcome.error["exception_message"]
    assert words in message and "Fix:" in message
    assert comfy.client.execute(upscale_graph("general_x4.pth"), timeout=120).status == "success"


def test_an_sr3_file_in_the_upscaler_loader_points_to_the_sr3_loader(comfy, models, picture):
    shutil.copy(DATA / "sr3_gray_affine.safetensors", models["upscale_models"] / "misplaced_sr3.safetensors")
    outcome = comfy.client.execute(upscale_graph("misplaced_sr3.safetensors"), timeout=120)
    assert outcome.status == "error" and "GANForge Load SR3" in outcome.error["exception_message"]


def test_saved_zoo_style_file_loads_in_comfyui_own_loader(comfy, models, picture, tmp_path):
    """Our .safetensors use BasicSR's names, so ComfyUI's Load Upscale Model (spandrel) reads them."""
    network = load_superres(models["upscale_models"] / "tiny_x2.pth")
    save_superres(network, models["upscale_models"] / "ours_x2.safetensors")
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "small.png"}},
        "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "ours_x2.safetensors"}},
        "3": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "success", outcome.error
    expected = library_upscale(models["upscale_models"] / "tiny_x2.pth", picture)
    assert np.abs(image_of(comfy, outcome, "9") - expected).max() <= 1 / 255 + 1e-6
