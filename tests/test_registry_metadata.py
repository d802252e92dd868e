"""Comfy Registry metadata ([tool.comfy] in pyproject.toml, docs.comfy.org/registry/specifications)
and ComfyUI-Manager's convention that requirements.txt never touches torch."""

from __future__ import annotations

import re
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ganforge.headless.embedded import COMFYUI_VERSION, default_embedded_dir, is_ready

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")
specifiers = pytest.importorskip("packaging.specifiers")

PACK = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((PACK / "pyproject.toml").read_text(encoding="utf-8"))
COMFY = PYPROJECT["tool"]["comfy"]
TORCH = {"torch", "torchvision", "torchaudio"}


def test_publisher_and_display_name():
    assert re.fullmatch(r"[a-z][a-z0-9-]*", COMFY["PublisherId"]), COMFY["PublisherId"]
    assert COMFY["DisplayName"] == "GANForge"
    assert PYPROJECT["project"]["urls"]["Repository"].startswith("https://github.com/")


def test_icon_is_a_url_to_a_square_svg_in_web():
    # The registry wants a URL (SVG, PNG, JPG or GIF; square; at most 400 x 400): the raw file in
    # the repository named by [project.urls] Repository.
    repository = PYPROJECT["project"]["urls"]["Repository"].removeprefix("https://github.com/").rstrip("/")
    match = re.fullmatch(rf"https://raw\.githubusercontent\.com/{re.escape(repository)}/[\w.-]+/(web/.+)",
                         COMFY["Icon"])
    assert match, f"Icon {COMFY['Icon']!r} is not a raw URL into {repository}"
    icon = PACK / match.group(1)
    assert icon.is_file() and icon.suffix == ".svg", icon
    root = ET.fromstring(icon.read_text(encoding="utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width, height = float(root.get("width")), float(root.get("height"))
    assert width == height <= 400
    assert root.get("viewBox").split() == ["0", "0", root.get("width"), root.get("height")]


def test_requires_comfyui_admits_the_tested_version():
    required = COMFY["requires-comfyui"]
    assert COMFYUI_VERSION in specifiers.SpecifierSet(required), (required, COMFYUI_VERSION)
    assert "0.3.74" not in specifiers.SpecifierSet(required)  # the V3 node API GANForge uses is tested on 0.3.75


def test_web_and_includes():
    assert COMFY["web"] == "web" and (PACK / "web").is_dir()
    assert isinstance(COMFY["includes"], list)


def test_requirements_never_touch_torch():
    names = set()
    for line in (PACK / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    assert names, "requirements.txt lists nothing"
    assert not names & TORCH, f"requirements.txt names {sorted(names & TORCH)}: ComfyUI owns the torch install"
    assert not any(n.startswith("--") or "://" in n for n in names), "no index URLs or options in requirements.txt"


def test_comfyuis_own_parser_reads_the_metadata():
    comfyui = default_embedded_dir()
    if not is_ready(comfyui):
        pytest.skip("the embedded ComfyUI is not installed (python -m ganforge comfy install)")
    sys.path.insert(0, str(comfyui))
    try:
        from comfy_config import config_parser
    except ImportError as error:
        pytest.skip(f"ComfyUI's comfy_config does not import here: {error}")
    finally:
        sys.path.remove(str(comfyui))
    config = config_parser.extract_node_configuration(str(PACK))
    assert config.project.supported_comfyui_version == COMFY["requires-comfyui"]
    assert config.tool_comfy.publisher_id == COMFY["PublisherId"]
    assert config.tool_comfy.icon == COMFY["Icon"]
    assert config.tool_comfy.web == "web"


@pytest.mark.server
def test_the_server_serves_web(comfy):
    icon = COMFY["Icon"].rsplit("/web/", 1)[1]
    with urllib.request.urlopen(f"{comfy.url}/extensions/ganforge/{icon}", timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("image/svg+xml")
        assert response.read() == (PACK / "web" / icon).read_bytes()
