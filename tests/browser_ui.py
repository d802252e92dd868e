"""What tests/test_browser.py does in the page as a person would: open the node library and a node's help,
open a template, build a small graph, press Run and follow the run as the frontend sees it.

The run is followed through the frontend's own websocket client (``app.api``): every message it
dispatches is recorded in the page (``window.__ganforgeRun``), previews as the node they are for.
"""

from __future__ import annotations

import re

# The frontend's own doings that these tests allow (frontend 1.32.9 against a bare server, offline).
KNOWN_FRONTEND_EVENTS = [
    # On start: optional files and folders a fresh user directory lacks, and the frontend setting a
    # setting it has not registered (its settings store calls onChange with no definition).
    re.compile(r"^HTTP 404: \S+/(api/userdata/user\.css|user\.css|api/userdata/comfy\.templates\.json)$"),
    re.compile(r"^HTTP 404: \S+/api/userdata\?dir=(workflows|subgraphs%2F)&"),
    re.compile(r"^console error: Failed to load resource: the server responded with a status of 404 \(Not Found\) "
               r"\(at \S+/(api/userdata/user\.css|user\.css|api/userdata/comfy\.templates\.json|"
               r"api/userdata\?dir=(workflows|subgraphs%2F)&\S*)\)$"),
    re.compile(r"^console error: TypeError: Cannot read properties of undefined \(reading 'id'\)\s+at onChange "
               r"\(\S+/assets/index-\w+\.js"),
    # The node help page: the frontend asks for the page in the UI's language first
    # (docs/<node>/<locale>.md) and falls back to docs/<node>.md, the pack's page.
    re.compile(r"^HTTP 404: \S+/extensions/ganforge/docs/GANForge\w+/[a-z]{2}(-\w+)?\.md$"),
    re.compile(r"^console error: Failed to load resource: the server responded with a status of 404 \(Not Found\) "
               r"\(at \S+/extensions/ganforge/docs/GANForge\w+/[a-z]{2}(-\w+)?\.md\)$"),
    # Frontend 1.32.9 has no German messages of its own (the pack's German node names still show).
    re.compile(r'^console warning: Locale "de" is not supported'),
]


def unexpected(events: list[str]) -> list[str]:
    return [event for event in events if not any(known.search(event) for known in KNOWN_FRONTEND_EVENTS)]


RECORD_RUNS = """() => {
  if (window.__ganforgeRun) return;
  window.__ganforgeRun = [];
  const types = ['execution_start', 'execution_cached', 'executing', 'progress', 'executed', 'execution_success',
                 'execution_error', 'execution_interrupted', 'b_preview_with_metadata'];
  for (const type of types) window.app.api.addEventListener(type, ({detail}) => window.__ganforgeRun.push(
    type === 'b_preview_with_metadata' ? {type, node: String(detail.displayNodeId), bytes: detail.blob.size}
                                       : {type, ...(detail && typeof detail === 'object' ? detail : {node: detail})}));
}"""

# A new blank workflow (the tab bar's +) with nodes made as the node library or search box makes them,
# widget values set and links drawn, placed in a row inside the visible canvas.
BUILD_GRAPH = """async ({nodes, links}) => {
  const app = window.app;
  await app.extensionManager.command.execute('Comfy.NewBlankWorkflow');
  const ds = app.canvas.ds, box = app.canvas.canvas.getBoundingClientRect();
  const view = [110 - box.left, 190 - box.top];  // the first node's corner in the page: clear of the chrome
  const made = {};
  let x = 0;
  const y = 0;
  for (const [key, type, widgets] of nodes) {
    const node = LiteGraph.createNode(type);
    node.pos = [x, y];
    x += node.size[0] + 60;
    app.graph.add(node);
    for (const [name, value] of Object.entries(widgets)) {
      const widget = node.widgets.find(w => w.name === name);
      if (!widget) throw new Error(`${type} has no widget ${name}`);
      widget.value = value;
    }
    made[key] = node;
  }
  for (const [from, output, to, input] of links) made[from].connect(output, made[to], made[to].findInputSlot(input));
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  ds.scale = 1;  // the view of a new workflow, not one fitted to its first node
  ds.offset = view;
  app.canvas.setDirty(true, true);
  return Object.fromEntries(Object.entries(made).map(([key, node]) => [key, node.id]));
}"""

# What a person sees of one node: its title, progress bar (the green bar LiteGraph draws while
# node.progress is set), its pictures (outputs, or live previews as blob: URLs) and its outlines.
NODE_VIEW = """(id) => {
  const node = window.app.graph.getNodeById(id);
  const strokes = Object.entries(node.strokeStyles ?? {}).map(([name, style]) => [name, style.call(node)])
    .filter(([, style]) => style).map(([name, style]) => ({name, ...style}));
  return {title: node.title, progress: node.progress ?? null, strokes,
          images: (node.imgs ?? []).map(img => ({src: img.src, complete: img.complete,
                                                 width: img.naturalWidth, height: img.naturalHeight})),
          inputs: node.inputs.map(input => input.localized_name ?? input.label ?? input.name),
          widgets: (node.widgets ?? []).map(widget => widget.label ?? widget.name)};
}"""


def record_runs(page) -> None:
    page.evaluate(RECORD_RUNS)


def run_events(page, since: int = 0) -> list[dict]:
    return page.evaluate("(since) => window.__ganforgeRun.slice(since)", since)


def press_run(page) -> int:
    """Press the Run button; the index in the run record where this run's messages start."""
    since = page.evaluate("() => window.__ganforgeRun.length")
    page.get_by_role("button", name="Run", exact=True).first.click()
    return since


END = ("execution_success", "execution_error", "execution_interrupted")


def wait_for_the_end(page, since: int, timeout_s: float) -> list[dict]:
    """The messages of the run started at ``since`` up to its end (success, error or interruption: the last)."""
    page.wait_for_function("([since, end]) => window.__ganforgeRun.slice(since).some(e => end.includes(e.type))",
                           arg=[since, list(END)], timeout=timeout_s * 1000)
    events = run_events(page, since)
    return events[:next(i for i, event in enumerate(events) if event["type"] in END) + 1]


def node_view(page, node_id) -> dict:
    return page.evaluate(NODE_VIEW, node_id)


def build_graph(page, nodes: list, links: list) -> dict[str, int]:
    """``nodes``: (key, type, {widget: value}); ``links``: (from key, output index, to key, input name)."""
    return page.evaluate(BUILD_GRAPH, {"nodes": nodes, "links": links})
