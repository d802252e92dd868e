"""The pack in the real ComfyUI frontend, as a person meets it: Debian's chromium driven by Playwright
against the session's one ComfyUI server (the ``comfy`` fixture).

Every example workflow opens from the template browser (Templates > Extensions > ganforge) and as a
file (``app.loadGraphData``, what opening or dropping a file does) with no alert (the frontend's own
zod validation runs in the page on every load and reports through its toast store, which the test
listens to), no console error from the pack, and its whole graph in view of a full-HD page.

Needs /usr/bin/chromium (or $GANFORGE_CHROMIUM) and the ``playwright`` module, never Playwright's
own browser download. Under CI (CI=true) the set-up installs whichever is missing and fails loudly
when it cannot; elsewhere the tests are skipped with a reason that says how to enable them.
Screenshots of each opened template go to pytest's temporary folder (printed on failure).
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

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
        if message.type == "error" and not (where.startswith("http") and not where.startswith(self.url)):
            self.events.append(f"console error: {message.text} (at {where})")

    def _dialog(self, dialog) -> None:
        self.events.append(f"browser dialog: {dialog.message}")
        dialog.dismiss()

    def pack_errors(self, since: int = 0) -> list[str]:
        """Events naming the pack: its node ids, its module, its files under the server's URLs."""
        return [event for event in self.events[since:] if "ganforge" in event.lower()]

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


@pytest.fixture(scope="module")
def frontend(sync_playwright, comfy, tmp_path_factory):
    # No first-run template dialog over the canvas: the tests open the template browser themselves.
    request = urllib.request.Request(f"{comfy.url}/settings/Comfy.TutorialCompleted", data=b"true", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    screenshots = tmp_path_factory.mktemp("browser-screenshots")
    width, height = TWINS.REFERENCE_PAGE
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=TWINS.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            ui = Frontend(page, comfy.url, screenshots)
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
            yield ui
        finally:
            browser.close()


def test_the_frontend_starts_with_the_pack_and_no_error_from_it(frontend, comfy):
    registered = set(frontend.page.evaluate("() => Object.keys(window.LiteGraph.registered_node_types)"))
    ours = {name for name in comfy.object_info if name.startswith("GANForge")}
    assert ours and ours <= registered, f"the frontend lacks nodes of the pack: {sorted(ours - registered)}"
    assert frontend.page.evaluate("() => window.app.extensionManager.setting.get('Comfy.Validation.Workflows')"), \
        "the frontend's workflow validation is off, so these tests would see no schema alert"
    assert not frontend.pack_errors(), frontend.pack_errors()


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


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_the_template_opens_from_the_template_browser_in_view(frontend, path: Path):
    page = frontend.page
    frontend.clear_toasts()
    since = len(frontend.events)
    page.locator(".side-tool-bar-container").get_by_text("Templates", exact=True).click()
    dialog = page.locator(".global-dialog")
    dialog.get_by_text(PACK_LINK_NAME, exact=True).first.click()  # Extensions > ganforge
    dialog.locator(f"[data-testid='template-workflow-{path.stem}']").click()
    dialog.wait_for(state="detached", timeout=30_000)  # the browser closes once the graph is loaded
    frontend.settle()
    shot = frontend.screenshots / f"{path.stem}.png"
    page.screenshot(path=str(shot))
    assert not frontend.alerts(), f"{path.name} (see {shot}): {frontend.alerts()}"
    assert not frontend.pack_errors(since), f"{path.name}: {frontend.pack_errors(since)}"
    assert page.evaluate("() => window.app.graph.nodes.length") == len(json.loads(path.read_text())["nodes"])
    out_of_view = [node for node in page.evaluate(NODES_IN_VIEW) if node["covered"] or not node["inside"]]
    assert not out_of_view, f"{path.name}: nodes not fully in view (see {shot}): {out_of_view}"
