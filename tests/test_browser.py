"""The pack in the real ComfyUI frontend, as a person meets it: Debian's chromium driven by Playwright
against the session's one ComfyUI server (the ``comfy`` fixture).

Every example workflow opens from the template browser (Templates > Extensions > ganforge) and as a
file (``app.loadGraphData``, what opening or dropping a file does) with no alert (the frontend's own
zod validation runs in the page on every load and reports through its toast store, which the test
listens to), no console error from the pack, and its whole graph in view of a full-HD page. Beyond
opening: the nodes are in the node library with their help pages; templates run from the Run button
and their pictures appear on their Save Image nodes; a long node shows its progress bar and live
previews; a bad input puts our message in the error dialog and outlines the failing node, and the
server runs the next graph; the German UI shows the pack's German names; and, over all of it, no
console error beyond the frontend's own known ones (tests/browser_ui.py lists them).

Needs /usr/bin/chromium (or $GANFORGE_CHROMIUM) and the ``playwright`` module, never Playwright's
own browser download. Under CI (CI=true) the set-up installs whichever is missing and fails loudly
when it cannot; elsewhere the tests are skipped with a reason that says how to enable them.
Screenshots (each opened template, each run, the progress, the error, the German node) go to a folder
in pytest's temporary folder, named at the end of the session.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import browser_ui as ui
import pytest
from PIL import Image

from ganforge.headless.embedded import PACK_LINK_NAME, PACK_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.server]

WORKFLOWS = sorted((PACK_ROOT / "workflows").glob("*.json"))
CHROMIUM = Path(os.environ.get("GANFORGE_CHROMIUM", "/usr/bin/chromium"))
ENABLE = ("to enable them: `sudo apt-get install -y chromium` and `.venv/bin/python -m pip install playwright` "
          "(no `playwright install`: the system chromium is used), or run with CI=true and the set-up installs both")


def _load_frontend_twins():
    spec = importlib.util.spec_from_file_location("frontend_twins", PACK_ROOT / "scripts" / "frontend_twins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TWINS = _load_frontend_twins()  # the page size and chrome margins the workflows' saved views are made for


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _install(what: str, command: list[str]) -> None:
    if os.geteuid() != 0 and command[0] == "apt-get":
        if shutil.which("sudo") is None:
            pytest.fail(f"CI: {what} is missing and cannot be installed: not root and no sudo", pytrace=False)
        command = ["sudo", "-n", *command]
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if result.returncode != 0:
        pytest.fail(f"CI: installing {what} failed ({' '.join(command)} -> {result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")  # the session's scope, so that it runs before (and skips) the server's
def sync_playwright():
    """Playwright's sync entry point, once chromium and the module are there (installed under CI)."""
    has_chromium = CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)
    has_playwright = importlib.util.find_spec("playwright") is not None
    missing = [name for name, there in ((str(CHROMIUM), has_chromium), ("the playwright module", has_playwright))
               if not there]
    if missing and not in_ci():
        pytest.skip(f"BROWSER TESTS SKIPPED: {' and '.join(missing)} missing; {ENABLE}")
    if not has_chromium:
        _install("chromium", ["apt-get", "update"])
        _install("chromium", ["apt-get", "install", "-y", "--no-install-recommends", "chromium"])
        if not CHROMIUM.is_file():
            pytest.fail(f"CI: apt-get installed chromium but {CHROMIUM} is still missing", pytrace=False)
    if not has_playwright:
        _install("playwright", [sys.executable, "-m", "pip", "install", "playwright"])
        importlib.invalidate_caches()
    return importlib.import_module("playwright.sync_api").sync_playwright


class Frontend:
    """The page, and what it reported: console errors, uncaught errors, failed local requests, dialogs."""

    def __init__(self, page, url: str, screenshots: Path) -> None:
        self.page, self.url, self.screenshots = page, url, screenshots
        self.events: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.events.append(f"uncaught: {error} {error.stack or ''}"))
        page.on("response", lambda r: r.status >= 400 and r.url.startswith(url) and self.events.append(
            f"HTTP {r.status}: {r.url}"))
        page.on("dialog", self._dialog)
        # Offline and deterministic: only the local server is reached (the frontend also asks
        # api.comfy.org about releases and about every node it shows).
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())

    def _console(self, message) -> None:
        where = message.location.get("url", "")
        # A load failing off the server is one of the requests refused below, not the pack's doing.
        if message.type in ("error", "warning") and not (where.startswith("http") and not where.startswith(self.url)):
            self.events.append(f"console {message.type}: {message.text} (at {where})")

    def _dialog(self, dialog) -> None:
        self.events.append(f"browser dialog: {dialog.message}")
        dialog.dismiss()

    def pack_errors(self, since: int = 0) -> list[str]:
        """Events naming the pack (its node ids, its module, its files under the server's URLs), less the
        frontend's known doings (e.g. asking for a help page in the UI's language before the pack's own)."""
        return [event for event in ui.unexpected(self.events[since:]) if "ganforge" in event.lower()]

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def alerts(self) -> list[str]:
        """Toasts of severity warn/error added since the last :meth:`clear_toasts`, and alert dialogs."""
        toasts = self.page.evaluate("() => window.__ganforgeToasts")
        return [f"{toast['severity']}: {toast['summary']}: {toast['detail']}" for toast in toasts
                if toast["severity"] in ("warn", "error")] + [
            event for event in self.events if event.startswith("browser dialog")]

    def clear_toasts(self) -> None:
        self.page.evaluate("() => { window.__ganforgeToasts = []; window.app.extensionManager.toast.removeAll() }")
        self.events = [event for event in self.events if not event.startswith("browser dialog")]

    def settle(self) -> None:
        """Wait until the canvas has drawn the loaded graph (node bounds are set while drawing)."""
        self.page.wait_for_function(
            """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() =>
                   done(window.app.graph.nodes.every(node => node.boundingRect[2] > 0)))))""")


def _tell(config, line: str) -> None:
    """A line on the terminal, past pytest's output capture (so that -q shows it too)."""
    reporter, capture = (config.pluginmanager.get_plugin(name) for name in ("terminalreporter", "capturemanager"))
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(line)


def _set_setting(comfy, name: str, value) -> None:
    request = urllib.request.Request(f"{comfy.url}/settings/{name}", data=json.dumps(value).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def frontend(sync_playwright, comfy, tmp_path_factory, request):
    # No first-run template dialog over the canvas: the tests open the template browser themselves.
    _set_setting(comfy, "Comfy.TutorialCompleted", True)
    _set_setting(comfy, "Comfy.Locale", "en")
    # The pictures the templates load, where a person would have uploaded them.
    comfy.input.mkdir(parents=True, exist_ok=True)
    for picture in (PACK_ROOT / "workflows" / "inputs").glob("*.png"):
        shutil.copy2(picture, comfy.input / picture.name)
    screenshots = tmp_path_factory.mktemp("browser-screenshots")
    request.addfinalizer(lambda: _tell(request.config, f"browser screenshots: {screenshots}"))
    width, height = TWINS.REFERENCE_PAGE
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=TWINS.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            frontend_ = Frontend(page, comfy.url, screenshots)
            page.goto(comfy.url)
            page.wait_for_function(
                """() => window.app && window.app.graph && window.app.extensionManager && window.LiteGraph &&
                         Object.keys(window.LiteGraph.registered_node_types).some(t => t.startsWith('GANForge'))""",
                timeout=120_000)
            page.evaluate(
                """() => { window.__ganforgeToasts = [];
                           window.app.extensionManager.toast.$onAction(({name, args}) => {
                             if (name === 'add') window.__ganforgeToasts.push(args[0]);
                             if (name === 'addAlert') window.__ganforgeToasts.push(
                               {severity: 'warn', summary: 'Alert', detail: String(args[0])});
                           }) }""")
            ui.record_runs(page)
            yield frontend_
        finally:
            browser.close()


def test_the_frontend_starts_with_the_pack_and_no_error_from_it(frontend, comfy):
    registered = set(frontend.page.evaluate("() => Object.keys(window.LiteGraph.registered_node_types)"))
    ours = {name for name in comfy.object_info if name.startswith("GANForge")}
    assert ours and ours <= registered, f"the frontend lacks nodes of the pack: {sorted(ours - registered)}"
    assert frontend.page.evaluate("() => window.app.extensionManager.setting.get('Comfy.Validation.Workflows')"), \
        "the frontend's workflow validation is off, so these tests would see no schema alert"
    assert not frontend.pack_errors(), frontend.pack_errors()


HELP_IN_THE_UI = ["GANForgeTranslateImage", "GANForgeTrainTranslator"]  # opened by hand; every page is fetched


def _first_paragraph(markdown: str) -> str:
    """The help page's first paragraph as the browser renders it (no markup, single spaces)."""
    paragraph = next(part for part in markdown.split("\n\n") if part.strip() and not part.startswith("#"))
    paragraph = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", paragraph)
    return " ".join(re.sub(r"[`*]", "", paragraph).split())


def test_the_nodes_are_in_the_node_library_with_their_help_pages(frontend, comfy):
    page = frontend.page
    frontend.clear_toasts()
    since = len(frontend.events)
    ours = {name: info["display_name"] for name, info in comfy.object_info.items() if name.startswith("GANForge")}
    page.locator(".side-tool-bar-container .node-library-tab-button").click()
    search = page.get_by_placeholder("Search Nodes...")
    search.fill("GANForge")
    leaves = ".node-lib-node-container .tree-leaf .node-label"
    # The search filters as one types: wait for it to settle on the pack's nodes (the assertion names any missing).
    with contextlib.suppress(Exception):
        page.wait_for_function("([leaves, count]) => document.querySelectorAll(leaves).length >= count",
                               arg=[leaves, len(ours)], timeout=10_000)
    listed = set(page.locator(leaves).all_inner_texts())
    assert set(ours.values()) <= listed, f"not in the node library: {sorted(set(ours.values()) - listed)}"
    try:
        for name in HELP_IN_THE_UI:
            search.fill(ours[name])
            leaf = page.locator(".p-tree-node-leaf").filter(
                has=page.locator(".node-label").get_by_text(ours[name], exact=True)).first
            leaf.hover()
            leaf.locator(".help-button").click()  # the (?) beside the node: "Learn more"
            help_page = page.locator(".node-help-content")
            help_page.wait_for()
            markdown = (PACK_ROOT / "web" / "docs" / f"{name}.md").read_text()
            page.wait_for_function("""(text) => document.querySelector('.node-help-content')
                                        ?.innerText.replace(/\\s+/g, ' ').includes(text)""",
                                   arg=_first_paragraph(markdown), timeout=10_000)
            assert help_page.locator("h1").first.inner_text() == ours[name]
            assert help_page.locator(".fallback-content").count() == 0, f"{name}: the frontend fell back"
            frontend.shot(f"help-{name}")
            page.locator(".node-help-content").locator("xpath=..").get_by_role("button").first.click()  # back
    finally:
        page.locator(".side-tool-bar-container .node-library-tab-button").click()  # close the sidebar
    # Every node's page, where the frontend's help service looks for it (custom nodes: /extensions/<pack>/docs/).
    pages = page.evaluate("""async (names) => Object.fromEntries(await Promise.all(names.map(async name => {
        const response = await fetch(window.app.api.fileURL(`/extensions/ganforge/docs/${name}.md`));
        return [name, response.ok ? (await response.text()).split('\\n')[0] : `HTTP ${response.status}`]; })))""",
                          sorted(ours))
    wrong = {name: first for name, first in pages.items() if first != f"# {ours[name]}"}
    assert not wrong, f"help pages missing or not headed by the node's name: {wrong}"
    assert not frontend.alerts(), frontend.alerts()
    assert not frontend.pack_errors(since), frontend.pack_errors(since)


def test_a_workflow_with_null_fields_raises_the_schema_alert(frontend):
    """The control: the way these tests look for the alert sees it when it comes."""
    workflow = json.loads(WORKFLOWS[0].read_text())
    workflow["floatingLinks"] = None
    workflow["nodes"][0]["outputs"][0]["slot_index"] = None
    frontend.clear_toasts()
    frontend.page.evaluate("async (wf) => { await window.app.loadGraphData(wf) }", workflow)
    alerts = frontend.alerts()
    assert any("Invalid workflow against zod schema" in alert and "floatingLinks" in alert for alert in alerts), alerts
    assert frontend.page.get_by_text("Invalid workflow against zod schema").first.is_visible()
    frontend.clear_toasts()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_the_workflow_file_opens_without_alert(frontend, path: Path):
    workflow = json.loads(path.read_text())
    frontend.clear_toasts()
    since = len(frontend.events)
    frontend.page.evaluate("async (wf) => { await window.app.loadGraphData(wf) }", copy.deepcopy(workflow))
    frontend.settle()
    assert not frontend.alerts(), f"{path.name}: {frontend.alerts()}"
    assert not frontend.pack_errors(since), f"{path.name}: {frontend.pack_errors(since)}"
    assert frontend.page.evaluate("() => window.app.graph.nodes.length") == len(workflow["nodes"])


# Where every node of the opened graph is: its rectangle in the page, and what is on top of its title
# bar and of its lower corners (the canvas itself, or one of the node's own DOM widgets).
NODES_IN_VIEW = """() => {
  const canvas = window.app.canvas, ds = canvas.ds, box = canvas.canvas.getBoundingClientRect();
  const ours = (x, y) => { const hit = document.elementFromPoint(x, y);
    return hit === canvas.canvas || !!hit?.closest('.dom-widget') ? null : `${hit?.tagName}.${hit?.className}`; };
  return window.app.graph.nodes.map(node => {
    const [x, y, w, h] = node.boundingRect;
    const x0 = box.left + (x + ds.offset[0]) * ds.scale, y0 = box.top + (y + ds.offset[1]) * ds.scale;
    const x1 = x0 + w * ds.scale, y1 = y0 + h * ds.scale, title = y0 + 0.5 * LiteGraph.NODE_TITLE_HEIGHT * ds.scale;
    const points = [[x0 + 6, title], [(x0 + x1) / 2, title], [x1 - 6, title], [x0 + 6, y1 - 6], [x1 - 6, y1 - 6]];
    const covered = points.map(([px, py]) => ours(px, py)).filter(Boolean);
    return {node: `${node.type} #${node.id}`, rect: [x0, y0, x1, y1].map(Math.round), covered,
            inside: x0 >= 0 && y0 >= 0 && x1 <= innerWidth && y1 <= innerHeight};
  });
}"""


def open_template(frontend: Frontend, stem: str) -> None:
    """Templates > Extensions > ganforge > the template, as a person opens it."""
    page = frontend.page
    page.locator(".side-tool-bar-container").get_by_text("Templates", exact=True).click()
    dialog = page.locator(".global-dialog")
    dialog.get_by_text(PACK_LINK_NAME, exact=True).first.click()  # Extensions > ganforge
    dialog.locator(f"[data-testid='template-workflow-{stem}']").click()
    dialog.wait_for(state="detached", timeout=30_000)  # the browser closes once the graph is loaded
    frontend.settle()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_the_template_opens_from_the_template_browser_in_view(frontend, path: Path):
    page = frontend.page
    frontend.clear_toasts()
    since = len(frontend.events)
    open_template(frontend, path.stem)
    shot = frontend.shot(path.stem)
    assert not frontend.alerts(), f"{path.name} (see {shot}): {frontend.alerts()}"
    assert not frontend.pack_errors(since), f"{path.name}: {frontend.pack_errors(since)}"
    assert page.evaluate("() => window.app.graph.nodes.length") == len(json.loads(path.read_text())["nodes"])
    out_of_view = [node for node in page.evaluate(NODES_IN_VIEW) if node["covered"] or not node["inside"]]
    assert not out_of_view, f"{path.name}: nodes not fully in view (see {shot}): {out_of_view}"


RUN_TEMPLATES = ["noise_contact_sheet", "translation_cyclegan_roundtrip", "showcase"]  # seconds each on a CPU
README_RUN = "translation_cyclegan_roundtrip"  # its screenshot is docs/screenshot_template_run.png


@pytest.mark.parametrize("stem", RUN_TEMPLATES)
def test_the_template_runs_and_its_picture_appears(frontend, comfy, stem: str):
    """Open from the template browser, press Run: the Save Image node shows the picture the server wrote."""
    page = frontend.page
    # A real run, not the server's cache of an earlier one (the headless tests run the same graphs).
    request = urllib.request.Request(f"{comfy.url}/api/free", data=b'{"free_memory": true}', method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()
    open_template(frontend, stem)
    frontend.clear_toasts()
    since = len(frontend.events)
    events = ui.wait_for_the_end(page, ui.press_run(page), timeout_s=120)
    assert events[-1]["type"] == "execution_success", f"{stem}: {events[-1]}"
    assert [event["nodes"] for event in events if event["type"] == "execution_cached"] == [[]], events[:3]
    saved = [(int(event["display_node"]), image) for event in events if event["type"] == "executed"
             for image in (event["output"] or {}).get("images", [])]
    assert saved, f"{stem}: no node reported a picture"
    for node_id, image in saved:
        page.wait_for_function(
            """([id, name]) => (window.app.graph.getNodeById(id).imgs ?? []).some(img =>
                 img.src.includes(`filename=${encodeURIComponent(name)}`) && img.complete && img.naturalWidth > 0)""",
            arg=[node_id, image["filename"]], timeout=15_000)
        shown = [picture for picture in ui.node_view(page, node_id)["images"] if image["filename"] in picture["src"]]
        with Image.open(comfy.output / image["subfolder"] / image["filename"]) as written:
            assert (shown[0]["width"], shown[0]["height"]) == written.size, f"{stem}: {shown} is not {image}"
    frontend.settle()
    if stem == README_RUN:  # the whole node, once the frontend's "1 job completed" note has gone (after 6 s)
        page.get_by_text(re.compile(r"jobs? completed")).wait_for(state="hidden", timeout=15_000)
    shot = frontend.shot(f"run-{stem}")
    in_view = {node["node"]: node for node in page.evaluate(NODES_IN_VIEW)}
    for node_id, _ in saved:
        node = next(node for name, node in in_view.items() if name.endswith(f" #{node_id}"))
        assert node["inside"], f"{stem}: the node with the picture is not in view (see {shot}): {node}"
        assert stem != README_RUN or not node["covered"], f"{stem}: the node is covered (see {shot}): {node}"
    assert not frontend.alerts(), f"{stem} (see {shot}): {frontend.alerts()}"
    assert not frontend.pack_errors(since), f"{stem}: {frontend.pack_errors(since)}"


def test_a_long_node_shows_its_progress_bar_and_live_previews(frontend, comfy):
    """Training a small pix2pix: while it runs, the node's bar (LiteGraph draws node.progress as a green
    bar on the node) moves between 0 and 1 and the node shows the live previews the server sends."""
    page = frontend.page
    frontend.clear_toasts()
    since = len(frontend.events)
    steps, every = 40, 5
    ids = ui.build_graph(page, [("train", "GANForgeTrainTranslator", {
        "kind": "pix2pix", "data_a": "digits", "name": "browser-progress", "architecture": "auto", "ngf": 4,
        "steps": steps, "batch_size": 8, "preview_every": every})], [])
    node = ids["train"]
    try:
        start = ui.press_run(page)
        seen, shot, deadline = [], None, time.monotonic() + 120
        while time.monotonic() < deadline:
            view, ended = page.evaluate(f"""(id) => [({ui.NODE_VIEW})(id), window.__ganforgeRun.slice({start})
                .some(e => ['execution_success', 'execution_error', 'execution_interrupted'].includes(e.type))]""",
                                        node)
            if ended:
                break
            seen.append(view)
            if shot is None and 0.3 < (view["progress"] or 0) < 0.9 and view["images"]:
                shot = frontend.shot("progress-train-translator")
            time.sleep(0.15)
        events = ui.wait_for_the_end(page, start, timeout_s=5)
    finally:
        for written in (comfy.models / "translation").glob("browser-progress*"):
            written.unlink()
    assert events[-1]["type"] == "execution_success", events[-1]
    sent = [event for event in events if event["type"] == "progress" and event["node"] == str(node)]
    previews = [event for event in events if event["type"] == "b_preview_with_metadata" and event["node"] == str(node)]
    assert len(sent) == steps and len(previews) >= steps // every - 1, (len(sent), len(previews))
    bars = [view["progress"] for view in seen if view["progress"] is not None]
    assert len([bar for bar in bars if 0 < bar < 1]) >= 3, f"the node's progress bar was not seen moving: {bars}"
    assert bars == sorted(bars), f"the progress bar went backwards: {bars}"
    live = {picture["src"] for view in seen for picture in view["images"]
            if picture["src"].startswith("blob:") and picture["width"] > 0}
    assert len(live) >= 2, f"the node showed {len(live)} live preview(s) while running"
    assert shot is not None, "no moment with the bar half-way and a preview on the node"
    assert ui.node_view(page, node)["progress"] is None, "the progress bar stayed after the run"
    assert not frontend.alerts(), frontend.alerts()
    assert not frontend.pack_errors(since), frontend.pack_errors(since)


def test_a_bad_input_outlines_the_node_and_shows_our_message(frontend):
    """B->A on a one-direction pix2pix file: the error dialog says what is wrong and how to fix it, the
    failing node is outlined, and after the fix the same server runs the graph."""
    page = frontend.page
    frontend.clear_toasts()
    since = len(frontend.events)
    ids = ui.build_graph(page, [
        ("picture", "LoadImage", {"image": "digit_edges.png"}),
        ("translator", "GANForgeLoadTranslator", {"model_name": "digits-pix2pix-edges2digit.safetensors"}),
        ("translate", "GANForgeTranslateImage", {"direction": "B->A", "mode": "eval"}),
        ("preview", "PreviewImage", {}),
    ], [("picture", 0, "translate", "image"), ("translator", 0, "translate", "translator"),
        ("translate", 0, "preview", "images")])
    events = ui.wait_for_the_end(page, ui.press_run(page), timeout_s=60)
    error = events[-1]
    assert error["type"] == "execution_error" and error["node_id"] == str(ids["translate"]), error
    message = error["exception_message"].strip()
    assert message.startswith("GANForge Translate Image:") and " Fix: " in message, message
    assert "Traceback" not in message
    dialog = page.locator(".global-dialog").filter(has_text="GANForge Translate Image:")
    dialog.wait_for(timeout=10_000)
    assert " ".join(message.split()) in " ".join(dialog.inner_text().split())
    outlined = {key: [stroke for stroke in ui.node_view(page, node_id)["strokes"] if stroke["name"] == "executionError"]
                for key, node_id in ids.items()}
    assert outlined["translate"] and not any(outlined[key] for key in ("picture", "translator", "preview")), outlined
    assert page.evaluate("() => window.app.lastExecutionError.node_id") == str(ids["translate"])
    shot = frontend.shot("error-translate-b-to-a")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=10_000)

    # As the message says: A->B. The server still serves, and the outline goes.
    page.evaluate("""(id) => { const node = window.app.graph.getNodeById(id);
                               node.widgets.find(w => w.name === 'direction').value = 'A->B'; }""", ids["translate"])
    events = ui.wait_for_the_end(page, ui.press_run(page), timeout_s=60)
    assert events[-1]["type"] == "execution_success", events[-1]
    page.wait_for_function("(id) => (window.app.graph.getNodeById(id).imgs ?? []).some(i => i.naturalWidth > 0)",
                           arg=ids["preview"], timeout=15_000)
    assert not [s for s in ui.node_view(page, ids["translate"])["strokes"] if s["name"] == "executionError"]
    assert not frontend.alerts(), f"(see {shot}) {frontend.alerts()}"
    assert not frontend.pack_errors(since), frontend.pack_errors(since)


def test_the_german_ui_shows_the_german_node_names(frontend, comfy):
    page = frontend.page
    german = json.loads((PACK_ROOT / "locales" / "de" / "nodeDefs.json").read_text())["GANForgeTranslateImage"]
    assert german["display_name"] == "GANForge Bild übersetzen"
    page.evaluate("async () => { await window.app.extensionManager.setting.set('Comfy.Locale', 'de') }")
    try:
        # The frontend loads the language's messages after the setting changes: new nodes then say it in German.
        page.wait_for_function("(name) => LiteGraph.createNode('GANForgeTranslateImage').title === name",
                               arg=german["display_name"], timeout=10_000)
        ids = ui.build_graph(page, [("translate", "GANForgeTranslateImage", {})], [])
        frontend.settle()
        view = ui.node_view(page, ids["translate"])
        assert view["title"] == german["display_name"], view
        wanted = {name: entry["name"] for name, entry in german["inputs"].items()}
        assert view["inputs"][:2] == [wanted["image"], wanted["translator"]], view  # the two sockets
        labels = set(view["widgets"])
        assert {wanted[name] for name in ("direction", "mode", "tile", "overlap")} <= labels, view
        frontend.shot("german-node")
        # The node library says it in German too, in the pack's German category.
        category = json.loads((PACK_ROOT / "locales" / "de" / "main.json").read_text())["nodeCategories"]["Translation"]
        page.locator(".side-tool-bar-container .node-library-tab-button").click()
        page.get_by_placeholder("Search Nodes...").fill("Bild übersetzen")
        library = page.locator(".node-lib-tree-explorer")
        library.locator(".node-label").get_by_text(german["display_name"], exact=True).wait_for()
        library.get_by_text(category, exact=True).wait_for()
        frontend.shot("german-node-library")
        page.locator(".side-tool-bar-container .node-library-tab-button").click()
    finally:
        page.evaluate("async () => { await window.app.extensionManager.setting.set('Comfy.Locale', 'en') }")


def test_no_error_in_the_browser_console(frontend):
    """Over everything above: no console error, uncaught error, failed request or browser dialog beyond the
    frontend's own known ones (browser_ui.KNOWN_FRONTEND_EVENTS), and no console warning naming the pack."""
    errors = [event for event in ui.unexpected(frontend.events)
              if not event.startswith("console warning") or "ganforge" in event.lower()]
    assert not errors, "\n".join(errors)
