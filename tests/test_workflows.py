"""Every example workflow: converted like the frontend does, and executed through the real server."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
from PIL import Image

from ganforge.headless.embedded import PACK_ROOT
from ganforge.headless.workflow import is_ui_format, ui_to_api

pytestmark = pytest.mark.server
WORKFLOWS = PACK_ROOT / "workflows"
FILES = sorted(WORKFLOWS.glob("*.json"))


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", "run", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_there_are_workflows():
    assert FILES, "workflows/ has no example workflow"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_workflow_has_api_twin_and_thumbnail(path: Path):
    assert is_ui_format(json.loads(path.read_text())), f"{path.name} must be in UI format"
    assert (WORKFLOWS / "api" / path.name).is_file(), f"{path.name} has no API twin in workflows/api/"
    thumbnail = path.with_suffix(".jpg")
    assert thumbnail.is_file(), f"{path.name} has no thumbnail {thumbnail.name}"
    with Image.open(thumbnail) as picture:
        assert picture.format == "JPEG" and min(picture.size) >= 64


def _frontend_twins():
    spec = importlib.util.spec_from_file_location("frontend_twins", PACK_ROOT / "scripts" / "frontend_twins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_workflow_file_is_tidy(path: Path):
    """No null where the frontend's schema wants a field absent (its "Invalid workflow against zod schema"
    alert), and a saved view that shows the whole graph: `python scripts/frontend_twins.py --tidy-only`."""
    workflow = json.loads(path.read_text())
    assert _frontend_twins().tidy_workflow(workflow) == workflow, \
        f"{path.name} is not tidy: run `python scripts/frontend_twins.py --tidy-only {path}`"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_conversion_equals_the_frontend_twin(comfy, path: Path):
    twin = json.loads((WORKFLOWS / "api" / path.name).read_text())
    assert ui_to_api(json.loads(path.read_text()), comfy.object_info) == twin


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_workflow_runs_and_writes_images(comfy, path: Path, tmp_path: Path):
    result = run_cli(str(path), "--server", comfy.url, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    written = sorted(tmp_path.iterdir())
    assert written, result.stderr
    for file in written:
        if file.suffix in (".mp4", ".webm"):
            with av.open(str(file)) as container:
                assert sum(1 for _ in container.decode(video=0)) > 1
        else:
            with Image.open(file) as picture:
                picture.load()
                assert picture.size[0] > 0


def test_seed_makes_runs_repeatable_and_different(comfy, tmp_path: Path):
    path = str(WORKFLOWS / "noise_contact_sheet.json")
    outputs = []
    for seed, folder in ((5, "a"), (5, "b"), (6, "c")):
        result = run_cli(path, "--server", comfy.url, "--seed", str(seed), "--out", str(tmp_path / folder))
        assert result.returncode == 0, result.stderr
        (file,) = (tmp_path / folder).glob("*.png")
        with Image.open(file) as picture:
            outputs.append(picture.tobytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_files_in_out_are_never_replaced(comfy, tmp_path: Path):
    path = str(WORKFLOWS / "noise_contact_sheet.json")
    for _ in range(2):
        assert run_cli(path, "--server", comfy.url, "--out", str(tmp_path), "--set", "1.seeds=\"1-2\"").returncode == 0
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(files) == 2 and len(set(files)) == 2


def test_validation_error_exits_nonzero_naming_the_node(comfy, tmp_path: Path):
    result = run_cli(str(WORKFLOWS / "noise_contact_sheet.json"), "--server", comfy.url,
                     "--set", "4.columns=-5", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "node 4 (GANForge Image Grid)" in result.stderr and "columns" in result.stderr
    assert "Traceback" not in result.stderr


def test_execution_error_exits_nonzero_naming_the_node(comfy, tmp_path: Path):
    result = run_cli(str(WORKFLOWS / "noise_contact_sheet.json"), "--server", comfy.url,
                     "--set", "1.seeds=\"one to six\"", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "node 1 (GANForge Seed List) failed" in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.png"))


def test_cli_starts_and_stops_its_own_server(tmp_path: Path):
    """The README's main job (scripts/demo.sh runs the showcase): no --server, so the embedded ComfyUI
    is started and stopped; one large labelled picture comes out."""
    result = run_cli(str(WORKFLOWS / "showcase.json"), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "ComfyUI is ready at http://127.0.0.1:" in result.stderr
    (picture,) = tmp_path.glob("*.png")
    with Image.open(picture) as image:
        assert image.width >= 1024 and image.height >= 512
    leftover = subprocess.run(["pgrep", "-f", f"ganforge-run-.*comfyui|--output-directory {tmp_path}"],
                              capture_output=True, text=True, check=False)
    assert leftover.stdout.strip() == ""


def test_run_uploads_a_local_picture_named_on_the_command_line(comfy, tmp_path: Path):
    picture = tmp_path / "my digit.png"
    Image.new("L", (40, 30), 0).save(picture)  # an off-size blank page: resized by the node
    result = run_cli(str(WORKFLOWS / "stylegan_projection.json"), "--server", comfy.url, "--out",
                     str(tmp_path / "out"), "--set", f"2.image={json.dumps(str(picture))}", "--set", "4.steps=5")
    assert result.returncode == 0, result.stderr
    assert f"uploaded {picture}" in result.stderr
    assert (comfy.input / "my digit.png").read_bytes() == picture.read_bytes()


def test_vqgan_clip_workflow_paints_the_digit_it_is_asked_for(comfy):
    """The zoo's VQGAN-CLIP graph (as in vqgan_clip_text.json) for every digit, four seeds each: the
    independent classifier must read the requested digit in at least 70% of the pictures."""
    import numpy as np
    import torch

    from ganforge.models.training.evaluate import classify_digits
    from ganforge.models.training.vqgan_clip import prompt_for

    graph = json.loads((WORKFLOWS / "api" / "vqgan_clip_text.json").read_text())
    solver = next(k for k, v in graph.items() if v["class_type"] == "GANForgeVQGANCLIP")
    prompts = graph[solver]["inputs"]["prompts"][0]
    graph = {k: v for k, v in graph.items() if v["class_type"] not in ("GANForgeImageGrid", "GANForgeUpscaleImage",
                                                                        "SaveImage", "GANForgeLoadUpscaler")}
    graph["99"] = {"class_type": "PreviewImage", "inputs": {"images": [solver, 0]}}
    graph[solver]["inputs"]["batch_size"] = 4
    hits = []
    for digit in range(10):
        graph[prompts]["inputs"]["text"] = prompt_for(digit)
        outcome = comfy.client.execute(graph, timeout=600)
        assert outcome.status == "success", outcome.error
        pictures = []
        for record in outcome.outputs["99"]["images"]:
            from io import BytesIO

            with Image.open(BytesIO(comfy.client.view(record["filename"], record["subfolder"], record["type"]))) as p:
                pictures.append(torch.from_numpy(np.array(p.convert("L"), dtype=np.float32) / 127.5 - 1)[None])
        hits += list(classify_digits(torch.stack(pictures)) == digit)
    assert np.mean(hits) >= 0.7, np.mean(hits)
