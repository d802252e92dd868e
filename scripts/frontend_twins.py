"""Regenerate workflow API twins with the real ComfyUI frontend (a developer tool, not run in CI).

For each UI-format workflow the script loads it into the web UI of a ComfyUI server with this pack
(headless Chromium driven by Playwright), then writes

* the UI file back as the frontend's "Save" writes it (``JSON.stringify(app.graph.serialize())``),
  tidied by :func:`tidy_workflow` (no null-for-absent fields, a saved view that shows the whole
  graph), so committed files open without the frontend's schema alert, and
* its API twin (``(await app.graphToPrompt()).output``): the frontend's own UI -> API conversion,
  the ground truth the test suite holds our converter to.

Needs Debian's chromium and ``pip install playwright`` (no browser download: the system one is used).

    python scripts/frontend_twins.py                      # workflows/*.json -> workflows/api/
    python scripts/frontend_twins.py tests/data/ui/*.json --api-dir tests/data/api
    python scripts/frontend_twins.py --tidy-only          # only tidy the UI files (no browser, no twins)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# ---------------------------------------------------------------------------------------------
# Tidying a UI-format workflow
#
# Playwright hands JavaScript's `undefined` to Python as None, so a graph serialised through
# `page.evaluate` came back with explicit nulls for every field the frontend leaves out
# (`floatingLinks`, `definitions`, `extra.reroutes`, `outputs[j].slot_index`, slot `label`, `shape`,
# ...). The frontend's zod schema reads null as a wrong type there ("Invalid workflow against zod
# schema" alert, frontend 1.32.9). `main` now serialises in the page as "Save" does (undefined
# fields vanish in JSON.stringify); `drop_nulls` repairs files written the old way.

# Where null is the value itself, as the frontend writes it: an input without a link, an output
# without links (the schema declares both nullable).
NULL_MEANS_NULL = frozenset({"link", "links"})
# A node's own data, opaque to the frontend's schema: kept exactly as the node wrote it.
OPAQUE = frozenset({"widgets_values", "properties"})


def drop_nulls(value):
    """``value`` without the dict keys whose value is null, recursively (in nested dicts and
    lists), except ``link``/``links`` and whatever is inside ``widgets_values``/``properties``.
    A null container (``"definitions": null``, ``"floatingLinks": null``) thus disappears too.
    List items are never removed: a null inside a list keeps its position."""
    if isinstance(value, dict):
        return {key: item if key in OPAQUE else drop_nulls(item)
                for key, item in value.items() if item is not None or key in NULL_MEANS_NULL}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


# The saved view (`extra.ds`). The frontend shows a file with `screen = (canvas + offset) * scale`,
# the canvas element filling the browser window under the menus. The view is chosen for a
# full-HD browser page (1920x1080 CSS pixels) and anchored at the top-left corner of the free
# area, so a larger window shows the whole graph too and a smaller one always shows its top-left
# part (press "." in the UI to fit any window). Chrome measured in frontend 1.32.9 with its
# first-run banner: banner + workflow tabs + the breadcrumb and run-button boxes cover the top
# 135 px, the sidebar the left 59 px, the minimap and zoom bar a 260x262 px box at the bottom
# right. The scale never exceeds 1 and stays >= 0.6 for our graphs, so titles and widgets are
# drawn in full (below 8/14 = 0.57 the frontend draws nodes without text).
REFERENCE_PAGE = (1920, 1080)
FREE_AREA_MARGINS = {"left": 59 + 16, "top": 135 + 8, "right": 16, "bottom": 16}
MINIMAP_BOX = (260, 262)  # width, height at the bottom-right corner
NODE_TITLE_HEIGHT = 30  # LiteGraph.NODE_TITLE_HEIGHT: the title bar sits above `pos`


def _xy(value) -> tuple[float, float]:
    return (value[0], value[1]) if isinstance(value, list | tuple) else (value["0"], value["1"])


def graph_boxes(workflow: dict) -> list[tuple[float, float, float, float]]:
    """Canvas rectangles (x0, y0, x1, y1) of every node (title bar included) and group."""
    boxes = []
    for node in workflow.get("nodes") or []:
        (x, y), (w, h) = _xy(node["pos"]), _xy(node["size"])
        if (node.get("flags") or {}).get("collapsed"):
            h = 0
        boxes.append((x, y - NODE_TITLE_HEIGHT, x + w, y + h))
    for group in workflow.get("groups") or []:
        x, y, w, h = group["bounding"]
        boxes.append((x, y, x + w, y + h))
    return boxes


def fit_view(workflow: dict, page: tuple[int, int] = REFERENCE_PAGE) -> dict:
    """The `extra.ds` that shows every node and group of ``workflow`` in the free area of ``page``."""
    boxes = graph_boxes(workflow)
    if not boxes:
        return {"scale": 1, "offset": [0, 0]}
    width, height = page
    left, top = FREE_AREA_MARGINS["left"], FREE_AREA_MARGINS["top"]
    right, bottom = width - FREE_AREA_MARGINS["right"], height - FREE_AREA_MARGINS["bottom"]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    scale = min(1.0, (right - left) / max(x1 - x0, 1), (bottom - top) / max(y1 - y0, 1))
    minimap = (width - MINIMAP_BOX[0], height - MINIMAP_BOX[1])

    def hidden_by_minimap(s: float) -> bool:
        return any(left + (b[2] - x0) * s > minimap[0] and top + (b[3] - y0) * s > minimap[1] for b in boxes)

    while hidden_by_minimap(scale):  # shrinking moves every box up and left, away from the minimap
        scale *= 0.98
    scale = round(scale, 4)
    return {"scale": scale, "offset": [round(left / scale - x0, 2), round(top / scale - y0, 2)]}


def tidy_workflow(workflow: dict) -> dict:
    """``workflow`` without null-for-absent fields and with a saved view showing the whole graph."""
    tidy = drop_nulls(workflow)
    if isinstance(tidy.get("extra"), dict):
        tidy["extra"] = {**tidy["extra"], "ds": fit_view(tidy)}
    else:
        tidy["extra"] = {"ds": fit_view(tidy)}
    return tidy


def write_workflow(path: Path, workflow: dict) -> None:
    path.write_text(json.dumps(workflow, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--api-dir", type=Path, default=None, help="default: <file's folder>/api")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshots", type=Path, default=None, help="also save a canvas screenshot per file")
    parser.add_argument("--models", type=Path, default=None,
                        help="a models folder to offer the server (so model dropdowns hold the workflows' files)")
    parser.add_argument("--tidy-only", action="store_true",
                        help="only rewrite the UI files through tidy_workflow (no server, no browser, no twins)")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "workflows").glob("*.json"))

    if args.tidy_only:
        for path in files:
            write_workflow(path, tidy_workflow(json.loads(path.read_text())))
            print(f"{path} tidied")
        return 0

    from playwright.sync_api import sync_playwright

    from ganforge.headless.embedded import ensure_comfyui
    from ganforge.headless.server import ComfyServer

    with tempfile.TemporaryDirectory() as base:
        if args.models:
            shutil.copytree(args.models, Path(base) / "models")
        server = ComfyServer(ensure_comfyui(), log_path=Path(base) / "log.txt", cpu=True,
                             base_directory=Path(base))
        with server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": REFERENCE_PAGE[0], "height": REFERENCE_PAGE[1]})
            page.goto(server.url)
            page.wait_for_function("window.app && window.app.graph", timeout=120_000)
            for path in files:
                workflow = json.loads(path.read_text())
                # JSON.stringify in the page, as "Save" does: fields the frontend leaves undefined
                # vanish there (returned as objects they would reach Python as None).
                result = page.evaluate(
                    """async (wf) => {
                        await window.app.loadGraphData(wf, true, true, null);
                        const prompt = await window.app.graphToPrompt();
                        return JSON.stringify({ui: window.app.graph.serialize(), api: prompt.output});
                    }""",
                    workflow,
                )
                result = json.loads(result)
                write_workflow(path, tidy_workflow(result["ui"]))
                api_dir = args.api_dir or path.parent / "api"
                api_dir.mkdir(parents=True, exist_ok=True)
                (api_dir / path.name).write_text(json.dumps(result["api"], indent=2) + "\n")
                if args.screenshots:
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(args.screenshots / f"{path.stem}.png"))
                print(f"{path} -> {api_dir / path.name}")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
