"""UI -> API conversion, held to the official frontend's own ``graphToPrompt`` (no server needed).

``tests/data/templates`` holds what frontend 1.32.9 (served by ComfyUI 0.3.75) made, in Chromium, of
every ComfyUI workflow template, of the hand-made cases in ``cases/`` (nested subgraphs, group nodes,
old files) and of one node of every type, plus that server's ``/object_info``
(``scripts/template_twins.py`` records them). The templates themselves come from the installed
``comfyui-workflow-templates`` packages, which ComfyUI's requirements install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ganforge.headless.node_packs import provider
from ganforge.headless.ui_widgets import process_dynamic_prompt
from ganforge.headless.workflow import (
    WorkflowError,
    apply_overrides,
    apply_seed,
    ui_to_api,
    widget_layout,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "templates"
FRONTEND_TYPES = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}


def _script():
    spec = importlib.util.spec_from_file_location("template_twins", ROOT / "scripts" / "template_twins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


twins = _script()


@cache
def recording() -> dict:
    return twins.read_xz(DATA / twins.PROMPTS_FILE)


@cache
def object_info() -> dict:
    return twins.read_xz(DATA / twins.OBJECT_INFO_FILE)


@cache
def template_files() -> dict[str, Path]:
    return dict(twins.iter_template_files())


def missing_types(workflow: dict, info: dict) -> set[str]:
    """Node types a template runs that this ComfyUI lacks (in subgraphs too; muted and bypassed
    nodes do not run)."""
    definitions = (workflow.get("definitions") or {}).get("subgraphs") or []
    ids = {item["id"] for item in definitions}
    nodes = list(workflow["nodes"]) + [node for item in definitions for node in item["nodes"]]
    return {node["type"] for node in nodes if node.get("mode") not in (2, 4)
            and node["type"] not in info and node["type"] not in ids and node["type"] not in FRONTEND_TYPES}


# ---------------------------------------------------------------------------------------------
# The recording and the installed templates

def test_recording_matches_the_installed_templates():
    document = recording()
    assert document["frontend"] == "1.32.9" and document["comfyui"] == "0.3.75"
    files = template_files()
    assert len(files) >= 150, (
        "the comfyui-workflow-templates packages are missing or incomplete (ComfyUI's requirements install "
        f"them: pip install comfyui-workflow-templates=={document['packages']['comfyui-workflow-templates']})")
    assert set(files) == set(document["templates"]), "regenerate: python scripts/template_twins.py"
    changed = [name for name, path in files.items()
               if hashlib.sha256(path.read_bytes()).hexdigest() != document["templates"][name]["sha256"]]
    assert not changed, f"templates changed since the recording ({changed[:5]}): python scripts/template_twins.py"


TEMPLATE_IDS = sorted(recording()["templates"])


@pytest.mark.parametrize("name", TEMPLATE_IDS)
def test_template_converts_like_the_frontend(name: str):
    """Identical to the frontend's graphToPrompt; a template naming node types this ComfyUI lacks
    (ComfyUI's audio nodes without torchaudio, custom packs) is refused, naming them and who
    provides them."""
    path = template_files().get(name)
    assert path is not None, f"template {name} is not installed"
    workflow = json.loads(path.read_text(encoding="utf-8"))
    recorded = recording()["templates"][name]
    assert "output" in recorded, recorded.get("error")
    lacking = missing_types(workflow, object_info())
    if lacking:
        assert any("class_type" not in node for node in recorded["output"].values()), \
            "the frontend had every node type, so the converter should too"
        with pytest.raises(WorkflowError) as refused:
            ui_to_api(workflow, object_info())
        message = str(refused.value)
        for node_type in lacking:
            assert node_type in message
            known = provider(node_type)
            assert known is not None, f"say which pack provides {node_type}"
            assert known in message
        return
    notices: list[str] = []
    assert ui_to_api(workflow, object_info(), notices) == recorded["output"]
    # the only remark a template earns: a muted or bypassed node of a type this ComfyUI lacks
    assert all("muted or bypassed" in notice for notice in notices), notices


# ---------------------------------------------------------------------------------------------
# Every node type, and the hand-made cases

# Node types whose frontend output a headless conversion cannot (or should not) reproduce.
NODE_TYPE_EXCEPTIONS = {
    # its combo's value comes from the server's file list, fetched after the node is made
    "LoadImageOutput": "remote combo",
    # the frontend renders a 3-D scene / grabs a webcam frame when queueing: refused here
    "Load3D": "browser only",
    "WebcamCapture": "browser only",
}


def test_every_node_type_converts_like_the_frontend():
    """One node of each type, without widget values and with a marker per value position: the
    same prompt inputs (positions, defaults, frontend-only widgets) and titles as the frontend."""
    info = object_info()
    differences = []
    for kind, entry in recording()["node_types"].items():
        if kind in NODE_TYPE_EXCEPTIONS:
            continue
        assert "output" in entry, f"{kind}: the frontend failed ({entry.get('error')})"
        converted = ui_to_api(twins.node_types_workflow([kind]), info)
        if converted != entry["output"]:
            differences.append(f"{kind}: {converted} != {entry['output']}")
    assert not differences, "\n".join(differences[:10])
    assert len(recording()["node_types"]) == len(info)


@pytest.mark.parametrize("kind", sorted(k for k, v in NODE_TYPE_EXCEPTIONS.items() if v == "browser only"))
def test_browser_only_nodes_are_refused(kind: str):
    with pytest.raises(WorkflowError, match=f"{kind}.*in the browser"):
        ui_to_api(twins.node_types_workflow([kind]), object_info())


CASES = sorted(recording()["cases"])


def test_cases_are_recorded():
    assert {path.stem for path in (DATA / "cases").glob("*.json")} == set(CASES)
    for name in CASES:
        path = DATA / "cases" / f"{name}.json"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == recording()["cases"][name]["sha256"], \
            f"{path.name} changed: python scripts/template_twins.py --parts cases"


@pytest.mark.parametrize("name", CASES)
def test_case_converts_like_the_frontend(name: str):
    """Nested subgraphs (promoted widgets at two levels, definitions in either order, reroutes and
    primitives into instances, muted and bypassed inner nodes and instances), group nodes, an old
    file (widget inputs first, renamed node types, forceInput migration, dynamic prompts, file
    name %replacements%, links from muted and bypassed nodes into widget inputs)."""
    workflow = json.loads((DATA / "cases" / f"{name}.json").read_text(encoding="utf-8"))
    assert ui_to_api(workflow, object_info()) == recording()["cases"][name]["output"]


# ---------------------------------------------------------------------------------------------
# Bad input

def ui(nodes, links=(), **extra):
    return {"last_node_id": 99, "last_link_id": 99, "nodes": list(nodes), "links": list(links), "groups": [],
            "config": {}, "extra": {}, "version": 0.4, **extra}


def node(nid, kind, inputs=(), outputs=(), widgets=None, mode=0, **extra):
    data = {"id": nid, "type": kind, "pos": [0, 0], "size": [100, 100], "flags": {}, "order": 0, "mode": mode,
            "inputs": list(inputs), "outputs": list(outputs), "properties": {}, **extra}
    if widgets is not None:
        data["widgets_values"] = widgets
    return data


LATENT = [node(1, "EmptyLatentImage", outputs=[{"name": "LATENT", "type": "LATENT", "links": [1]}],
               widgets=[64, 64, 1]),
          node(2, "SaveLatent", inputs=[{"name": "samples", "type": "LATENT", "link": 1}], widgets=["x"])]
LATENT_LINKS = [[1, 1, 0, 2, 0, "LATENT"]]


def test_missing_node_types_are_listed_with_their_packs():
    workflow = ui([*LATENT, node(3, "LoadAudio", widgets=["a.wav", None, None]), node(4, "DWPreprocessor"),
                   node(5, "Power Lora Loader (rgthree)"), node(6, "SomethingNobodyKnows"),
                   node(7, "LoadAudio")], LATENT_LINKS)
    with pytest.raises(WorkflowError) as refused:
        ui_to_api(workflow, object_info())
    message = str(refused.value)
    assert "4 node type(s)" in message
    assert "LoadAudio (node 3, node 7): provided by ComfyUI core" in message and "torchaudio" in message
    assert "DWPreprocessor (node 4): provided by comfyui_controlnet_aux" in message
    assert "rgthree-comfy" in message
    assert "SomethingNobodyKnows (node 6): unknown pack" in message


def test_missing_node_types_inside_subgraphs_are_located():
    workflow = json.loads((DATA / "cases" / "subgraphs_modes.json").read_text())
    workflow["definitions"]["subgraphs"][0]["nodes"][0]["type"] = "VHS_VideoCombine"
    with pytest.raises(WorkflowError, match=r"VHS_VideoCombine \(node 1 in subgraph 'Inner'\): provided by "
                                            r"ComfyUI-VideoHelperSuite"):
        ui_to_api(workflow, object_info())


def test_muted_or_bypassed_nodes_of_missing_types_are_left_out_with_a_notice():
    workflow = ui([*LATENT, node(3, "LoadAudio", mode=2), node(4, "Mystery", mode=4)], LATENT_LINKS)
    notices: list[str] = []
    api = ui_to_api(workflow, object_info(), notices)
    assert set(api) == {"1", "2"}
    assert any("LoadAudio" in notice for notice in notices) and any("Mystery" in notice for notice in notices)


def test_subgraph_without_definition_is_refused():
    workflow = json.loads((DATA / "cases" / "subgraphs_modes.json").read_text())
    del workflow["definitions"]
    with pytest.raises(WorkflowError, match=r"(?s)subgraph\(s\) whose definition.*b2b2b2b2-0000-4000-8000-000000000002 "
                                            r"\(node 10, node 11, node 12\)"):
        ui_to_api(workflow, object_info())


def test_group_node_without_definition_is_refused():
    workflow = json.loads((DATA / "cases" / "group_node.json").read_text())
    workflow["extra"]["groupNodes"] = {}
    with pytest.raises(WorkflowError, match=r"(?s)group node .*workflow>Upscale pair.* extra\.groupNodes"):
        ui_to_api(workflow, object_info())


def test_group_node_naming_missing_types_is_refused_with_them():
    workflow = json.loads((DATA / "cases" / "group_node.json").read_text())
    workflow["extra"]["groupNodes"]["Upscale pair"]["nodes"][2]["type"] = "ImageResizeKJ"
    with pytest.raises(WorkflowError, match=r"ImageResizeKJ \(group node 8\): provided by ComfyUI-KJNodes"):
        ui_to_api(workflow, object_info())


def test_newer_frontend_fields_are_ignored_with_a_notice():
    workflow = json.loads((DATA / "cases" / "subgraphs_nested.json").read_text())
    expected = recording()["cases"]["subgraphs_nested"]["output"]
    workflow["future_layout"] = {"lanes": 3}
    workflow["version"] = 2
    workflow["nodes"][0]["pinnedWidgets"] = ["width"]
    workflow["nodes"][1]["pinnedWidgets"] = []
    workflow["definitions"]["subgraphs"][0]["blueprint"] = True
    notices: list[str] = []
    assert ui_to_api(workflow, object_info(), notices) == expected
    text = "\n".join(notices)
    assert "top-level field 'future_layout'" in text
    assert "node field 'pinnedWidgets'" in text and "node 1, node 2" in text
    assert "subgraph field 'blueprint'" in text and "subgraph 'Outer'" in text
    assert "schema version 2" in text


def test_malformed_files_are_refused_not_crashed():
    with pytest.raises(WorkflowError, match="not a UI-format workflow"):
        ui_to_api({"nodes": "no"}, object_info())
    workflow = ui([*LATENT, node(3, "SaveLatent", inputs=[{"name": "samples", "type": "LATENT", "link": 77}])],
                  LATENT_LINKS)  # a link the link table lacks: no input
    assert ui_to_api(workflow, object_info())["3"]["inputs"] == {"filename_prefix": "latents/ComfyUI"}
    with pytest.raises(WorkflowError, match="no node that ComfyUI can execute"):
        ui_to_api(ui([node(1, "Note", widgets=["hi"])]), object_info())


class _ObjectInfoServer(BaseHTTPRequestHandler):
    """Answers /object_info with the recorded definitions: enough for ``run`` to convert."""

    def do_GET(self):
        body = json.dumps(object_info()).encode() if self.path == "/object_info" else b"{}"
        self.send_response(200 if self.path == "/object_info" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ObjectInfoServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(("change", "expected"), [
    (lambda wf: wf["nodes"].append(node(9, "LoadAudio")), "LoadAudio (node 9): provided by ComfyUI core"),
    (lambda wf: wf.pop("definitions"), "whose definition it does not contain"),
])
def test_run_exits_1_with_the_message_and_writes_nothing(fake_server, tmp_path: Path, change, expected):
    workflow = json.loads((DATA / "cases" / "subgraphs_modes.json").read_text())
    change(workflow)
    path = tmp_path / "shared.json"
    path.write_text(json.dumps(workflow))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "ganforge", "run", str(path), "--server", fake_server,
                             "--out", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr and result.stderr.startswith("ganforge run: ")
    assert "Traceback" not in result.stderr
    assert not out.exists()


class _StubClient:
    """object_info from the recording; refuses whatever it is asked to run."""

    def object_info(self):
        return object_info()

    def execute(self, prompt, on_event=None, timeout=None):
        from ganforge.headless.client import PromptRejected

        self.prompt = prompt
        raise PromptRejected({"message": "stub server"}, {})


def test_run_prints_what_it_ignored_before_running(tmp_path: Path):
    from io import StringIO

    from ganforge.headless.runner import RunFailed, run_workflow

    workflow = json.loads((DATA / "cases" / "subgraphs_nested.json").read_text())
    workflow["nodes"][0]["pinnedWidgets"] = ["width"]
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(workflow))
    client, stream = _StubClient(), StringIO()
    with pytest.raises(RunFailed, match="stub server"):
        run_workflow(str(path), client, tmp_path / "out", stream=stream)
    assert "note: ignored node field 'pinnedWidgets' (not known to frontend 1.32.9): node 1" in stream.getvalue()
    assert client.prompt == recording()["cases"]["subgraphs_nested"]["output"]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# Pieces

def test_widget_layout_follows_the_frontend():
    info = object_info()
    assert widget_layout(info["KSampler"], "KSampler") == [
        ("seed", True, True), ("control_after_generate", True, False), ("steps", True, True), ("cfg", True, True),
        ("sampler_name", True, True), ("scheduler", True, True), ("denoise", True, True)]
    # the upload button comes last (an extension appends it); the preview text has no value slot
    assert widget_layout(info["LoadImage"], "LoadImage") == [("image", True, True), ("upload", True, False)]
    assert widget_layout(info["PreviewAny"], "PreviewAny") == [("preview", False, True)]


def test_dynamic_prompts_choose_one_option_and_drop_comments():
    first = process_dynamic_prompt("a {red|{dark|light} blue} car // note\n/* x */\\{kept\\}", lambda o: o[-1])
    assert first == "a light blue car \n{kept}"
    assert process_dynamic_prompt("{a|b|c}", lambda o: o[0]) == "a"


def test_overrides_and_seed():
    api = {"1": {"class_type": "Source", "inputs": {"seed": 1, "mode": "a"}},
           "2": {"class_type": "Sink", "inputs": {"seed": ["1", 0]}}}
    changed = apply_overrides(api, ["1.mode=b", "1.note=\"x y\"", "1.count=5"])
    assert changed["1"]["inputs"] == {"seed": 1, "mode": "b", "note": "x y", "count": 5}
    assert api["1"]["inputs"]["mode"] == "a"  # the original is not modified
    seeded, names = apply_seed(api, 77)
    assert seeded["1"]["inputs"]["seed"] == 77 and seeded["2"]["inputs"]["seed"] == ["1", 0]
    assert names == ["1.seed"]
    with pytest.raises(WorkflowError, match="no node 9"):
        apply_overrides(api, ["9.seed=1"])
    with pytest.raises(WorkflowError, match=r"NODE_ID\.INPUT=VALUE"):
        apply_overrides(api, ["seed=1"])
