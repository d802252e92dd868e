"""Record the official frontend's API conversion of ComfyUI's own templates (a developer tool, not run in CI).

ComfyUI's workflow templates (the ``comfyui-workflow-templates*`` packages that ComfyUI's
requirements install, ~190 UI-format files written by the ComfyUI team) are what people open
first and share most, so the headless converter (``headless/workflow.py``) is held to the
frontend's own conversion of every one of them. This script starts a ComfyUI server with this
pack, opens each template in the real web UI (headless Chromium driven by Playwright) the way the
template browser does (``app.loadGraphData(json, true, true, name)``) and records
``(await app.graphToPrompt()).output``, serialised in the page with ``JSON.stringify`` as the
frontend does when it queues (so ``undefined`` fields vanish instead of reaching Python as null).

It writes, next to each other under ``tests/data/templates/``:

* ``graph_to_prompt.json.xz``: versions (frontend, ComfyUI, templates packages) and the frontend's
  API output (or the error it raised) for: each template (with the sha256 of its file); each
  hand-made workflow in ``cases/`` (nested subgraphs, group nodes, old files; with its sha256);
  one node of every type the server has, without and with widget values (``node_types``);
* ``object_info.json.xz``: that server's ``/object_info``, so the test converts all of them
  against the very node definitions the frontend had, with no server.

The template files themselves are not copied: the test reads them from the installed package
and checks their sha256 against the recording. Only Load3D's recorded output changes from one
recording to the next (it holds a rendered scene's file names).

Needs Debian's chromium and ``pip install playwright`` (no browser download: the system one is used).

    python scripts/template_twins.py                       # everything (about 2 minutes)
    python scripts/template_twins.py --parts cases         # after adding or changing a file in cases/
    python scripts/template_twins.py --only default --only image_qwen_image   # print, write nothing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "data" / "templates"
PROMPTS_FILE = "graph_to_prompt.json.xz"
OBJECT_INFO_FILE = "object_info.json.xz"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEMPLATE_DISTRIBUTIONS = ("comfyui-workflow-templates", "comfyui-workflow-templates-core",
                          "comfyui-workflow-templates-media-api", "comfyui-workflow-templates-media-image",
                          "comfyui-workflow-templates-media-other", "comfyui-workflow-templates-media-video",
                          "comfyui-frontend-package")

# What the template browser does (useTemplateWorkflows.loadWorkflowTemplate), minus the dialogs
# for missing nodes and models (they change nothing in the graph), then what "Queue" sends.
CONVERT_IN_PAGE = """async ([name, wf]) => {
    await window.app.loadGraphData(wf, true, true, name,
        {openSource: 'template', showMissingNodesDialog: false, showMissingModelsDialog: false});
    const prompt = await window.app.graphToPrompt();
    return JSON.stringify(prompt.output);
}"""


# One node of every type the server offers, twice: with no widgets_values (the frontend fills in
# its defaults) and with a marker per value position ("#0", "#1", ...; more than any node has
# widgets), so the recording says, for every node type, which value position lands in which
# prompt input, which inputs the frontend adds or drops, and the title an untitled node gets.
# The test rebuilds these workflows with node_types_workflow (it imports this script).
MARKERS = [f"#{i}" for i in range(48)]


PROBE_BATCH = 24


def node_types_workflow(kinds: list[str]) -> dict:
    """A UI-format workflow with, for the k-th of ``kinds``, node 2k+1 without widgets_values and
    node 2k+2 with :data:`MARKERS`."""
    nodes = []
    for number, kind in enumerate(kinds):
        for offset, values in ((1, None), (2, MARKERS)):
            node_id = 2 * number + offset
            node = {"id": node_id, "type": kind, "pos": [400 * number, 300 * offset], "size": [100, 100],
                    "flags": {}, "order": node_id - 1, "mode": 0, "inputs": [], "outputs": [], "properties": {}}
            if values is not None:
                node["widgets_values"] = values
            nodes.append(node)
    return {"last_node_id": len(nodes), "last_link_id": 0, "nodes": nodes, "links": [], "groups": [],
            "config": {}, "extra": {}, "version": 0.4}


def record_node_types(page, kinds: list[str]) -> dict:
    """{kind: {"output": {"1": fresh node, "2": marked node}} or {"error": ...}}, in batches of
    :data:`PROBE_BATCH` types per graph; a batch that fails is redone one type at a time."""
    recorded = {}
    for start in range(0, len(kinds), PROBE_BATCH):
        batch = kinds[start:start + PROBE_BATCH]
        result = json.loads(page.evaluate(CONVERT_MANY_IN_PAGE, [["batch", node_types_workflow(batch)]]))["batch"]
        if "error" in result and len(batch) > 1:
            for kind in batch:
                recorded.update(record_node_types(page, [kind]))
            continue
        for number, kind in enumerate(batch):
            if "error" in result:
                recorded[kind] = result
            else:
                recorded[kind] = {"output": {str(offset): result["output"][str(2 * number + offset)]
                                             for offset in (1, 2) if str(2 * number + offset) in result["output"]}}
    return recorded


CONVERT_MANY_IN_PAGE = """async (cases) => {
    const out = {};
    for (const [name, wf] of cases) {
        try {
            await window.app.loadGraphData(wf, true, false, name,
                {showMissingNodesDialog: false, showMissingModelsDialog: false});
            out[name] = {output: (await window.app.graphToPrompt()).output};
        } catch (error) {
            out[name] = {error: String(error).split('\\n')[0]};
        }
    }
    return JSON.stringify(out);
}"""


def iter_template_files():
    """(template id, path) of every UI-format workflow in the installed templates packages."""
    import comfyui_workflow_templates_core as templates

    for entry in templates.iter_templates():
        for asset in entry.assets:
            if not asset.filename.endswith(".json"):
                continue
            path = Path(templates.get_asset_path(entry.template_id, asset.filename))
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("nodes"), list):
                yield entry.template_id, path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_xz(path: Path, value) -> None:
    # Key order is kept: the order of a node definition's inputs is part of what the frontend reads.
    text = json.dumps(value, indent=None, ensure_ascii=False, separators=(",", ":"))
    path.write_bytes(lzma.compress(text.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))


def read_xz(path: Path):
    return json.loads(lzma.decompress(path.read_bytes()).decode("utf-8"))


def versions() -> dict:
    found = {}
    for name in TEMPLATE_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


PARTS = ("templates", "node_types", "cases")


def record_case(page, name: str, workflow: dict) -> dict:
    """The frontend's output for one workflow, or the error it raised (a fact too)."""
    try:
        return {"output": json.loads(page.evaluate(CONVERT_IN_PAGE, [name, workflow]))}
    except Exception as error:
        return {"error": str(error).splitlines()[0]}


def describe(entry: dict) -> str:
    return "error: " + entry["error"] if "error" in entry else f"{len(entry['output'])} nodes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--cases", type=Path, default=OUT_DIR / "cases",
                        help="hand-made UI workflows (subgraphs, group nodes, ...) recorded beside the templates")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="what to record (comma-separated, of %(default)s); the rest is kept from the "
                             "existing recording")
    parser.add_argument("--only", action="append", default=[],
                        help="convert only this template id (repeatable); prints, writes nothing")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        parser.error(f"--parts: unknown {sorted(parts - set(PARTS))}")

    from playwright.sync_api import sync_playwright

    from ganforge.headless.client import ComfyClient
    from ganforge.headless.embedded import COMFYUI_VERSION, ensure_comfyui
    from ganforge.headless.server import ComfyServer

    files = list(iter_template_files())
    if args.only:
        files = [(name, path) for name, path in files if name in args.only]
        parts = {"templates"}
    if not files:
        print("no templates found: is comfyui-workflow-templates installed?", file=sys.stderr)
        return 1
    previous = read_xz(args.out / PROMPTS_FILE) if (args.out / PROMPTS_FILE).is_file() else {}
    document = {
        "about": "(await app.graphToPrompt()).output of each ComfyUI template (and of the hand-made cases, and "
                 "of one node of every type), recorded by scripts/template_twins.py in the real frontend; "
                 "do not edit by hand",
        "comfyui": COMFYUI_VERSION,
        "packages": versions(),
        **{part: previous.get(part, {}) for part in PARTS},
    }

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ganforge-templates-") as base:
        # Load3D's definition creates input/3d the first time it is listed, so the first and later
        # /object_info answers would differ (folder combos list it): make it exist from the start.
        (Path(base) / "input" / "3d").mkdir(parents=True)
        server = ComfyServer(ensure_comfyui(), log_path=Path(base) / "log.txt", cpu=True,
                             base_directory=Path(base))
        with server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(server.url)
            page.wait_for_function("window.app && window.app.graph", timeout=120_000)
            object_info = ComfyClient(server.url).object_info()
            document["frontend"] = page.evaluate("window.__COMFYUI_FRONTEND_VERSION__ ?? null")
            if "templates" in parts:
                document["templates"] = {}
                for number, (name, path) in enumerate(files, 1):
                    entry = {"sha256": sha256(path), "bundle": path.parent.parent.name,
                             **record_case(page, name, json.loads(path.read_text(encoding="utf-8")))}
                    document["templates"][name] = entry
                    print(f"[{number}/{len(files)}] {name}: {describe(entry)}", file=sys.stderr)
            if "node_types" in parts:
                document["node_types"] = record_node_types(page, sorted(object_info))
                failed = [kind for kind, entry in document["node_types"].items() if "error" in entry]
                print(f"node types: {len(object_info)} recorded; the frontend failed on {failed}", file=sys.stderr)
            if "cases" in parts:
                document["cases"] = {}
                for path in sorted(args.cases.glob("*.json")):
                    entry = {"sha256": sha256(path),
                             **record_case(page, path.stem, json.loads(path.read_text(encoding="utf-8")))}
                    document["cases"][path.stem] = entry
                    print(f"case {path.stem}: {describe(entry)}", file=sys.stderr)
            browser.close()

    if args.only:
        print(json.dumps(document["templates"], indent=2))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    stored = args.out / OBJECT_INFO_FILE
    if parts != set(PARTS) and stored.is_file():
        # a partial recording keeps the stored definitions, which the other parts were made with
        if read_xz(stored) != object_info:
            print("warning: this server's /object_info differs from the stored one (kept); record all parts "
                  "to bring everything to this server", file=sys.stderr)
    else:
        write_xz(stored, object_info)
    write_xz(args.out / PROMPTS_FILE, document)
    print(f"recorded {', '.join(sorted(parts))} in {time.monotonic() - started:.0f} s -> "
          f"{args.out / PROMPTS_FILE}, {args.out / OBJECT_INFO_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
