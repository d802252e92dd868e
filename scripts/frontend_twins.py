"""Regenerate workflow API twins with the real ComfyUI frontend (a developer tool, not run in CI).

For each UI-format workflow the script loads it into the web UI of a ComfyUI server with this pack
(headless Chromium driven by Playwright), then writes

* the UI file back as the frontend serialises it (``app.graph.serialize()``), so committed files
  are exactly what a person gets from "Save", and
* its API twin (``(await app.graphToPrompt()).output``): the frontend's own UI -> API conversion,
  the ground truth the test suite holds our converter to.

Needs Debian's chromium and ``pip install playwright`` (no browser download: the system one is used).

    python scripts/frontend_twins.py                      # workflows/*.json -> workflows/api/
    python scripts/frontend_twins.py tests/data/ui/*.json --api-dir tests/data/api
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


def main() -> int:
    from playwright.sync_api import sync_playwright

    from ganforge.headless.embedded import ensure_comfyui
    from ganforge.headless.server import ComfyServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--api-dir", type=Path, default=None, help="default: <file's folder>/api")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshots", type=Path, default=None, help="also save a canvas screenshot per file")
    parser.add_argument("--models", type=Path, default=None,
                        help="a models folder to offer the server (so model dropdowns hold the workflows' files)")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "workflows").glob("*.json"))

    with tempfile.TemporaryDirectory() as base:
        if args.models:
            shutil.copytree(args.models, Path(base) / "models")
        server = ComfyServer(ensure_comfyui(), log_path=Path(base) / "log.txt", cpu=True,
                             base_directory=Path(base))
        with server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(server.url)
            page.wait_for_function("window.app && window.app.graph", timeout=120_000)
            for path in files:
                workflow = json.loads(path.read_text())
                result = page.evaluate(
                    """async (wf) => {
                        await window.app.loadGraphData(wf, true, true, null);
                        const prompt = await window.app.graphToPrompt();
                        return {ui: window.app.graph.serialize(), api: prompt.output};
                    }""",
                    workflow,
                )
                path.write_text(json.dumps(result["ui"], indent=2) + "\n")
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
