"""The pack inside a real ComfyUI 0.3.75 server: registration, errors, and recovery."""

from __future__ import annotations

import pytest

from ganforge.headless.client import PromptRejected
from ganforge.headless.embedded import PACK_ROOT

pytestmark = pytest.mark.server

OUR_NODES = {"GANForgeSeedList", "GANForgeImageGrid", "GANForgeLoadStyleGAN", "GANForgeSaveStyleGAN",
             "GANForgeSampleZ", "GANForgeStyleGANClass", "GANForgeMapping", "GANForgeSynthesis",
             "GANForgeStyleMixing", "GANForgeLatentWalk", "GANForgeZWalk", "GANForgeBlendStyleGAN",
             "GANForgeTrainStyleGAN", "GANForgeSaveLatent", "GANForgeLoadLatent", "GANForgeSaveVideo",
             "GANForgeSaveImage", "GANForgeProjectImage", "GANForgeLoadUpscaler", "GANForgeUpscaleImage",
             "GANForgeBlendUpscalers", "GANForgeUpscalerFromComfy", "GANForgeLoadSR3", "GANForgeSR3Upscale",
             "GANForgeSR3AsUpscaler", "GANForgeCascadeUpscale", "GANForgeLoadVQGAN", "GANForgeVQGANEncode",
             "GANForgeVQGANDecode", "GANForgeLoadCLIP", "GANForgeCLIPTextPrompts", "GANForgeCLIPImagePrompt",
             "GANForgeCLIPNoisePrompt", "GANForgeCLIPGuide", "GANForgeVQGANCLIP", "GANForgeStyleGANCLIP",
             "GANForgeVQGANCLIPZoomVideo"}


def test_pack_imports_cleanly(comfy):
    # ComfyUI's own audio nodes fail without torchaudio; only our pack's lines matter here.
    lines = comfy.server.log_text().splitlines()
    ours = [line for line in lines if line.rstrip().endswith("custom_nodes/ganforge")]
    assert ours, "the custom-node import summary does not list the pack"
    assert not any("IMPORT FAILED" in line for line in ours), ours
    assert not any("Cannot import" in line and "custom_nodes/ganforge" in line for line in lines)


def test_object_info_lists_every_node_with_category_and_tooltips(comfy):
    ours = {name: info for name, info in comfy.object_info.items() if name.startswith("GANForge")}
    assert set(ours) >= OUR_NODES
    for name, info in ours.items():
        assert info["category"].startswith("GANForge"), name
        assert info["display_name"].startswith("GANForge "), name
        assert info["description"], name
        for group in ("required", "optional"):
            for input_name, spec in info["input"].get(group, {}).items():
                options = spec[1] if len(spec) > 1 else {}
                assert options.get("tooltip"), f"{name}.{input_name} has no tooltip"
        assert all(info["output_tooltips"]), f"{name} has an output without a tooltip"
        assert (PACK_ROOT / "web" / "docs" / f"{name}.md").is_file(), f"{name} has no help page in web/docs"


def grid_graph(seeds: str) -> dict:
    return {
        "1": {"class_type": "GANForgeSeedList", "inputs": {"seeds": seeds}},
        "2": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 24, "batch_size": ["1", 2],
                                                      "color": 0x3366CC}},
        "3": {"class_type": "GANForgeImageGrid", "inputs": {"images": ["2", 0], "columns": 2, "padding": 2,
                                                             "background": 1.0, "labels": ["1", 3]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "test/grid"}},
    }


def test_a_graph_runs_and_the_grid_has_the_expected_size(comfy):
    outcome = comfy.client.execute(grid_graph("4-6"), timeout=120)
    assert outcome.status == "success", outcome.error
    record = outcome.outputs["4"]["images"][0]
    from io import BytesIO

    from PIL import Image

    picture = Image.open(BytesIO(comfy.client.view(record["filename"], record["subfolder"])))
    caption = max(10, min(32, 32 // 8))
    assert picture.size == (2 * 32 + 3 * 2, 2 * (24 + caption) + 3 * 2)


def test_broken_graph_is_rejected_naming_the_node(comfy):
    graph = grid_graph("1-2")
    del graph["3"]["inputs"]["images"]
    with pytest.raises(PromptRejected) as caught:
        comfy.client.submit(graph)
    assert "3" in caught.value.node_errors
    assert caught.value.node_errors["3"]["class_type"] == "GANForgeImageGrid"


def test_node_exception_is_an_execution_error_and_the_server_keeps_serving(comfy):
    outcome = comfy.client.execute(grid_graph("7-x"), timeout=120)
    assert outcome.status == "error"
    assert outcome.error["node_id"] == "1"
    assert outcome.error["node_type"] == "GANForgeSeedList"
    message = outcome.error["exception_message"]
    assert "GANForge Seed List" in message and "'7-x'" in message and "Fix:" in message
    again = comfy.client.execute(grid_graph("1-3"), timeout=120)
    assert again.status == "success", again.error
