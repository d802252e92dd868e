"""MUNIT, FUNIT and semantic-synthesis nodes through the real server, on NVlabs-layout files the
tests write (small random networks: the pictures are noise, the numbers must equal the library's)."""

from __future__ import annotations

import json
from collections import OrderedDict
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from translation_reference import fill_weights

from ganforge.models.superres.tiling import pad_centred
from ganforge.models.translation import labels as label_tools
from ganforge.models.translation.multimodal import load_funit, load_munit
from ganforge.models.translation.munit import AdaINGen, FewShotGen
from ganforge.models.translation.pix2pixhd import GlobalGenerator
from ganforge.models.translation.semantic import create_spade, load_semantic, save_semantic

pytestmark = pytest.mark.server
PALETTE = {"#ffffff": 0, "#ff0000": 1, "#00ff00": 2, "#0000ff": 3, "#ffff00": 4}


def _pair(style_dim: int, seed: int) -> dict:
    generator = AdaINGen(input_dim=3, dim=4, style_dim=style_dim, n_downsample=2, n_res=1, mlp_dim=8)
    return OrderedDict(fill_weights(generator.state_dict(), seed))


@pytest.fixture(scope="module")
def models(comfy) -> Path:
    folder = comfy.models / "translation"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"a": _pair(4, 11), "b": _pair(4, 12)}, folder / "gen_00001000.pt")
    torch.save({"a": _pair(2, 13), "b": _pair(2, 14)}, folder / "other_munit.pt")
    funit = FewShotGen(nf=4, nf_mlp=8, latent_dim=4, n_mlp_blks=3, n_res_blks=1, n_downs_content=2, n_downs_class=3)
    weights = OrderedDict(fill_weights(funit.state_dict(), 15))
    torch.save({"gen": weights, "gen_test": weights}, folder / "funit_gen.pt")
    with torch.random.fork_rng():
        spade = create_spade({"semantic_nc": 5, "ngf": 2, "upsampling": "normal", "param_free_norm": "instance"},
                             {"label_nc": 5, "contain_dontcare": False, "use_instance": False}, seed=3)
    save_semantic(spade, folder / "tiny_spade.safetensors")
    hd = GlobalGenerator(input_nc=6, output_nc=3, ngf=2, n_downsampling=3, n_blocks=1)
    torch.save(OrderedDict(fill_weights(hd.state_dict(), 16)), folder / "hd_net_G.pth")
    return folder


@pytest.fixture(scope="module")
def pictures(comfy) -> np.ndarray:
    pixels = (np.random.default_rng(1).random((2, 22, 30, 3)) * 255).astype(np.uint8)
    for i, picture in enumerate(pixels):
        Image.fromarray(picture).save(comfy.input / f"munit_{i}.png")
    painted = np.full((40, 52, 3), 255, np.uint8)
    painted[4:20, 6:30] = (255, 0, 0)
    painted[22:38, 20:50] = (0, 0, 255)
    painted[5:15, 34:48] = (255, 255, 0)
    Image.fromarray(painted).save(comfy.input / "painted_labels.png")
    stray = painted.copy()
    stray[30, 3] = (128, 7, 200)
    Image.fromarray(stray).save(comfy.input / "stray_colour.png")
    return pixels


def image_of(comfy, outcome, node: str = "9") -> np.ndarray:
    records = outcome.outputs[node]["images"]
    return np.stack([np.asarray(Image.open(BytesIO(comfy.client.view(r["filename"], r["subfolder"], r["type"])))
                                .convert("RGB")).astype(np.float64) / 255 for r in records])


def _nchw(picture: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(picture.astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1


def _to_unit(x: torch.Tensor) -> np.ndarray:
    return ((x.permute(0, 2, 3, 1).numpy() + 1) / 2).clip(0, 1)


def munit_graph(model: str = "gen_00001000.pt", style: dict | None = None, decode_domain: str = "from style") -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "munit_0.png"}},
        "2": {"class_type": "GANForgeLoadMUNIT", "inputs": {"model_name": model, "precision": "auto"}},
        "3": {"class_type": "GANForgeMUNITEncodeContent", "inputs": {"munit": ["2", 0], "image": ["1", 0],
                                                                     "domain": "A"}},
        "4": style or {"class_type": "GANForgeMUNITRandomStyle",
                       "inputs": {"munit": ["2", 0], "seeds": "1-3", "domain": "B", "scale": 1.0}},
        "5": {"class_type": "GANForgeMUNITDecode", "inputs": {"munit": ["2", 0], "content": ["3", 0],
                                                              "style": ["4", 0], "domain": decode_domain}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    }


def test_munit_random_styles_decode_like_the_library(comfy, models, pictures):
    outcome = comfy.client.execute(munit_graph(), timeout=120)
    assert outcome.status == "success", outcome.error
    got = image_of(comfy, outcome)
    model = load_munit(models / "gen_00001000.pt")
    x, (top, left) = pad_centred(_nchw(pictures[0]), 4)
    with torch.no_grad():
        content = model.encode_content("A", x)
        styles = torch.cat([model.random_style(1, seed, "cpu") for seed in (1, 2, 3)])
        expected = model.decode("B", content.expand(3, -1, -1, -1), styles)[..., top:top + 22, left:left + 30]
    assert got.shape == (3, 22, 30, 3)
    assert np.abs(got - _to_unit(expected)).max() <= 1 / 255 + 1e-6
    assert np.abs(got[0] - got[1]).mean() > 1e-3  # different seeds, different styles


def test_munit_style_from_a_picture_and_the_style_grid(comfy, models, pictures):
    graph = munit_graph(style={"class_type": "GANForgeMUNITEncodeStyle",
                               "inputs": {"munit": ["2", 0], "image": ["6", 0], "domain": "B"}})
    graph["6"] = {"class_type": "LoadImage", "inputs": {"image": "munit_1.png"}}
    graph["7"] = {"class_type": "GANForgeMUNITRandomStyle",
                  "inputs": {"munit": ["2", 0], "seeds": "0-3", "domain": "B", "scale": 1.0}}
    graph["8"] = {"class_type": "GANForgeMUNITStyleGrid", "inputs": {"munit": ["2", 0], "content": ["3", 0],
                                                                    "style": ["7", 0], "content_image": ["1", 0]}}
    graph["10"] = {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}}
    graph["11"] = {"class_type": "PreviewImage", "inputs": {"images": ["8", 1]}}
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "success", outcome.error
    model = load_munit(models / "gen_00001000.pt")
    x, (top, left) = pad_centred(_nchw(pictures[0]), 4)
    y, _ = pad_centred(_nchw(pictures[1]), 4)
    with torch.no_grad():
        expected = model.decode("B", model.encode_content("A", x), model.encode_style("B", y))
    got = image_of(comfy, outcome)
    assert np.abs(got - _to_unit(expected[..., top:top + 22, left:left + 30])).max() <= 1 / 255 + 1e-6
    assert image_of(comfy, outcome, "11").shape == (4, 22, 30, 3)  # 1 content x 4 styles
    grid = image_of(comfy, outcome, "10")
    assert grid.shape[0] == 1 and grid.shape[1] > 5 * 22  # the content picture and 4 styles, a row each


@pytest.mark.parametrize("case", ["style_dim", "domain", "counts"])
def test_munit_codes_that_do_not_fit_are_refused_with_a_clear_error(comfy, models, pictures, case):
    if case == "style_dim":
        graph = munit_graph(style={"class_type": "GANForgeMUNITRandomStyle",
                                   "inputs": {"munit": ["6", 0], "seeds": "1", "domain": "B", "scale": 1.0}})
        graph["6"] = {"class_type": "GANForgeLoadMUNIT", "inputs": {"model_name": "other_munit.pt",
                                                                     "precision": "auto"}}
        expected = "style codes have 2 numbers each"
    elif case == "domain":
        graph = munit_graph(decode_domain="A")
        expected = "belong to domain B"
    else:
        graph = munit_graph()
        graph["1"] = {"class_type": "ImageBatch", "inputs": {"image1": ["12", 0], "image2": ["12", 0]}}
        graph["12"] = {"class_type": "LoadImage", "inputs": {"image": "munit_0.png"}}
        expected = "2 content codes and 3 style codes do not pair up"
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "error"
    message = outcome.error["exception_message"]
    assert "GANForge MUNIT Decode" in message and expected in message, message
    assert comfy.client.get_json("/system_stats")  # the server keeps serving


def test_funit_class_code_from_a_batch_and_translate(comfy, models, pictures):
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "munit_0.png"}},
        "2": {"class_type": "LoadImage", "inputs": {"image": "munit_1.png"}},
        "3": {"class_type": "ImageBatch", "inputs": {"image1": ["1", 0], "image2": ["2", 0]}},
        "4": {"class_type": "GANForgeLoadFUNIT", "inputs": {"model_name": "funit_gen.pt", "precision": "auto"}},
        "5": {"class_type": "GANForgeFUNITClassCode", "inputs": {"funit": ["4", 0], "images": ["3", 0], "size": 0}},
        "6": {"class_type": "GANForgeFUNITTranslate", "inputs": {"funit": ["4", 0], "image": ["1", 0],
                                                                 "class_code": ["5", 0]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["6", 0]}},
    }
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "success", outcome.error
    model = load_funit(models / "funit_gen.pt")
    shots, _ = pad_centred(torch.cat([_nchw(p) for p in pictures]), 4)
    x, (top, left) = pad_centred(_nchw(pictures[0]), 4)
    with torch.no_grad():
        expected = model.decode(model.encode_content(x), model.class_code(shots))
    assert np.abs(image_of(comfy, outcome) - _to_unit(expected[..., top:top + 22, left:left + 30])).max() \
        <= 1 / 255 + 1e-6


def semantic_graph(model: str, picture: str = "painted_labels.png", unknown: str = "error",
                   palette: dict | None = None) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": picture}},
        "2": {"class_type": "GANForgeLabelMapFromColours",
              "inputs": {"image": ["1", 0], "palette": "custom (JSON)", "palette_json": json.dumps(palette or PALETTE),
                         "tolerance": 12.0, "unknown": unknown}},
        "3": {"class_type": "GANForgeLoadSemanticSynth",
              "inputs": {"model_name": model, "layout": "auto", "upsampling": "auto", "style_encoder": "none",
                         "precision": "auto"}},
        "4": {"class_type": "GANForgeSynthesizeFromLabels",
              "inputs": {"model": ["3", 0], "label_map": ["2", 0], "seed": 0}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}},
        "10": {"class_type": "PreviewImage", "inputs": {"images": ["2", 1]}},
    }


def _painted_labels() -> torch.Tensor:
    labels = torch.zeros(1, 40, 52, dtype=torch.long)
    labels[0, 4:20, 6:30] = 1
    labels[0, 22:38, 20:50] = 3
    labels[0, 5:15, 34:48] = 4
    return labels


@pytest.mark.parametrize("model, channels", [("tiny_spade.safetensors", 5), ("hd_net_G.pth", 6)])
def test_a_painted_label_map_becomes_a_picture_of_its_size(comfy, models, pictures, model, channels):
    outcome = comfy.client.execute(semantic_graph(model), timeout=120)
    assert outcome.status == "success", outcome.error
    got = image_of(comfy, outcome)
    assert got.shape == (1, 40, 52, 3)
    synth = load_semantic(models / model)
    semantics, _ = label_tools.one_hot_semantics(_painted_labels(), synth.info.label_nc, synth.info.contain_dontcare,
                                                 None, synth.info.use_instance)
    assert semantics.shape[1] == channels
    expected = synth.synthesize(semantics)
    assert np.abs(got - _to_unit(expected)).max() <= 1 / 255 + 1e-6
    preview = image_of(comfy, outcome, "10")
    assert preview.shape == (1, 40, 52, 3) and np.allclose(preview[0, 10, 10], (1, 0, 0), atol=2 / 255)


def failure(comfy, graph: dict) -> str:
    outcome = comfy.client.execute(graph, timeout=120)
    assert outcome.status == "error"
    return outcome.error["exception_message"]


def test_label_map_errors_name_the_problem(comfy, models, pictures):
    message = failure(comfy, semantic_graph("tiny_spade.safetensors", "stray_colour.png"))
    assert "GANForge Label Map from Colours" in message and "#8007c8" in message.lower() and "(3, 30)" in message, \
        message
    outcome = comfy.client.execute(semantic_graph("tiny_spade.safetensors", "stray_colour.png", "neighbour"),
                                   timeout=120)
    assert outcome.status == "success", outcome.error
    message = failure(comfy, semantic_graph("tiny_spade.safetensors", palette={**PALETTE, "#0000ff": 7}))
    assert "GANForge Synthesize from Labels" in message and "7" in message, message
    graph = semantic_graph("tiny_spade.safetensors")
    graph["2"] = {"class_type": "GANForgeLabelMapFromIndices",
                  "inputs": {"image": ["1", 0], "numbering": "as stored", "palette": "ade20k"}}
    assert "Label Map from Colours" in failure(comfy, graph)
    message = failure(comfy, semantic_graph("gen_00001000.pt"))
    assert "MUNIT" in message and "Load Semantic Synthesis" in message, message
    assert comfy.client.get_json("/system_stats")


def test_discriminator_and_optimizer_files_are_named_by_the_loaders(comfy, models):
    from ganforge.models.translation.munit import MsImageDis

    dis = MsImageDis(input_dim=3, dim=4, n_layer=2, num_scales=2).state_dict()
    torch.save({"a": dis, "b": dis}, models / "dis_00001000.pt")
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))]).state_dict()
    torch.save({"gen": adam, "dis": adam}, models / "optimizer.pt")
    for file, expected in (("dis_00001000.pt", "discriminator"), ("optimizer.pt", "optimizer")):
        graph = munit_graph(model=file)
        message = failure(comfy, graph)
        assert "GANForge Load MUNIT" in message and expected in message and "gen_" in message, message
    assert comfy.client.get_json("/system_stats")
