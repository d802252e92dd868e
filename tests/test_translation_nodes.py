"""The translation nodes through the real server, on junyanz-layout files the tests write."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from translation_reference import fill_weights

from ganforge.models.translation import NLayerDiscriminator, ResnetGenerator, UnetGenerator, load_translation, translate

pytestmark = pytest.mark.server
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def models(comfy) -> Path:
    folder = comfy.models / "translation"
    (folder / "pair").mkdir(parents=True, exist_ok=True)
    torch.save(OrderedDict(fill_weights(ResnetGenerator(ngf=4, n_blocks=2).state_dict(), 1)),
               folder / "pair" / "latest_net_G_A.pth")
    torch.save(OrderedDict(fill_weights(ResnetGenerator(ngf=4, n_blocks=2).state_dict(), 2)),
               folder / "pair" / "latest_net_G_B.pth")
    unet = UnetGenerator(3, 3, num_downs=6, ngf=4, norm="batch", use_dropout=True)
    torch.save(OrderedDict(fill_weights(unet.state_dict(), 3)), folder / "facades_net_G.pth")
    torch.save(NLayerDiscriminator(6, ndf=4).state_dict(), folder / "facades_net_D.pth")
    shutil.copy(DATA / "stylegan2_skip.safetensors", folder / "a_stylegan.safetensors")
    return folder


@pytest.fixture(scope="module")
def picture(comfy) -> np.ndarray:
    pixels = (np.random.default_rng(0).random((22, 30, 4)) * 255).astype(np.uint8)  # RGBA, odd size
    Image.fromarray(pixels, "RGBA").save(comfy.input / "translate_me.png")
    return pixels


def graph(model: str, direction: str = "A->B", mode: str = "eval", seed: int = 0, tile: int = 0,
          overlap: int = 8) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "translate_me.png"}},
        "2": {"class_type": "GANForgeLoadTranslator", "inputs": {"model_name": model, "dropout": "auto",
                                                                 "precision": "auto"}},
        "3": {"class_type": "GANForgeTranslateImage", "inputs": {"image": ["1", 0], "translator": ["2", 0],
                                                                 "direction": direction, "mode": mode, "seed": seed,
                                                                 "tile": tile, "overlap": overlap}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }


def image_of(comfy, outcome, node: str = "9") -> np.ndarray:
    record = outcome.outputs[node]["images"][0]
    data = comfy.client.view(record["filename"], record["subfolder"], record["type"])
    return np.asarray(Image.open(BytesIO(data)).convert("RGB")).astype(np.float64) / 255


@pytest.mark.parametrize("direction", ["A->B", "B->A"])
def test_a_cyclegan_pair_translates_both_ways_like_the_library(comfy, models, picture, direction):
    outcome = comfy.client.execute(graph("pair/latest_net_G_A.pth", direction), timeout=120)
    assert outcome.status == "success", outcome.error
    got = image_of(comfy, outcome)
    translator = load_translation(models / "pair" / "latest_net_G_A.pth", mode="eval")
    # LoadImage drops the alpha channel itself: the node sees RGB.
    x = torch.from_numpy(picture[..., :3].astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    with torch.no_grad():
        expected = translate(translator.network(direction), translator.info, x).image
    expected = ((expected[0].permute(1, 2, 0).numpy() + 1) / 2).clip(0, 1)
    assert got.shape == (22, 30, 3)
    assert np.abs(got - expected).max() <= 1 / 255 + 1e-6


def test_pix2pix_official_mode_follows_the_seed(comfy, models, picture):
    outputs = []
    for seed in (1, 1, 2):
        outcome = comfy.client.execute(graph("facades_net_G.pth", mode="official", seed=seed), timeout=120)
        assert outcome.status == "success", outcome.error
        outputs.append(image_of(comfy, outcome))
    assert np.array_equal(outputs[0], outputs[1]) and not np.array_equal(outputs[0], outputs[2])
    assert outputs[0].shape == (22, 30, 3)  # padded to 64 and cropped back


def test_bad_inputs_name_the_node_and_the_fix_and_the_server_keeps_serving(comfy, models, picture):
    cases = [
        (graph("facades_net_D.pth"), "GANForgeLoadTranslator", "discriminator"),
        (graph("a_stylegan.safetensors"), "GANForgeLoadTranslator", "stylegan2 generator"),
        (graph("facades_net_G.pth", direction="B->A"), "GANForgeTranslateImage", "translates only A->B"),
        (graph("pair/latest_net_G_A.pth", tile=16, overlap=12), "GANForgeTranslateImage", "more than half the tile"),
    ]
    for prompt, node_type, words in cases:
        outcome = comfy.client.execute(prompt, timeout=120)
        assert outcome.status == "error", words
        assert outcome.error["node_type"] == node_type
        message = outcome.error["exception_message"]
        assert words in message and "Fix:" in message, message
        assert "Traceback" not in message
    outcome = comfy.client.execute(graph("pair/latest_net_G_B.pth"), timeout=120)
    assert outcome.status == "success", outcome.error


def train_graph(**inputs) -> dict:
    settings = dict(kind="cyclegan", data_a="digits", data_b="", name="tiny-thin2bold", architecture="resnet_6blocks",
                    ngf=4, size=32, steps=3, batch_size=2, seed=1, preview_every=1, export_junyanz=True)
    settings.update(inputs)
    return {
        "1": {"class_type": "GANForgeTrainTranslator", "inputs": settings},
        "2": {"class_type": "LoadImage", "inputs": {"image": "translate_me.png"}},
        "3": {"class_type": "GANForgeTranslateImage", "inputs": {"image": ["2", 0], "translator": ["1", 0],
                                                                 "direction": "B->A", "mode": "eval", "seed": 0,
                                                                 "tile": 0, "overlap": 8}},
        "8": {"class_type": "PreviewImage", "inputs": {"images": ["1", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }


def test_train_translator_writes_a_loadable_pair_and_never_replaces(comfy, models, picture):
    first = comfy.client.execute(train_graph(), timeout=300)
    assert first.status == "success", first.error
    written = models / "tiny-thin2bold.safetensors"
    translator = load_translation(written)
    assert translator.info.kind == "cyclegan" and translator.info.kwargs["n_blocks"] == 6
    assert image_of(comfy, first, "9").shape == (22, 30, 3)  # the gray network on an RGB picture, both ways
    assert image_of(comfy, first, "8").shape[0] > 32  # A pictures over their translation
    exported = sorted((comfy.output / "ganforge" / "tiny-thin2bold_junyanz").glob("*.pth"))
    assert [p.name for p in exported] == ["latest_net_G_A.pth", "latest_net_G_B.pth"]
    before = written.read_bytes()
    second = comfy.client.execute(train_graph(seed=2), timeout=300)
    assert second.status == "success", second.error
    assert written.read_bytes() == before and (models / "tiny-thin2bold_2.safetensors").is_file()


def test_train_translator_bad_data_is_a_clear_error(comfy, models, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for inputs, words in (({"data_a": str(empty), "kind": "pix2pix"}, "empty"),
                          ({"data_a": ""}, "data_a is empty")):
        outcome = comfy.client.execute(train_graph(**inputs), timeout=120)
        assert outcome.status == "error"
        assert outcome.error["node_type"] == "GANForgeTrainTranslator"
        message = outcome.error["exception_message"]
        assert words in message.lower() or words in message, message
        assert "Fix:" in message
