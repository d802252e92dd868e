"""``python -m ganforge run``: execute a workflow file headless and save its images."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from .client import ComfyClient, ExecutionOutcome, PromptRejected, output_files
from .embedded import ComfyUIError, ensure_comfyui
from .server import ComfyServer, ServerError
from .workflow import (
    WorkflowError,
    apply_overrides,
    apply_seed,
    is_ui_format,
    load_workflow,
    ui_to_api,
    upload_inputs,
)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", help="a workflow .json in UI format (as saved by the web UI) or API format")
    parser.add_argument("--server", metavar="URL", help="use this running ComfyUI instead of starting one")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NODE_ID.INPUT=VALUE",
                        help="change one input, e.g. --set 3.seed=7 or --set '4.labels=\"a,b\"' (repeatable)")
    parser.add_argument("--seed", type=int, help="set every seed / noise_seed input that is not linked")
    parser.add_argument("--out", default="ganforge-output", help="folder for the output images")
    parser.add_argument("--previews", action="store_true", help="also save the preview (temp) images")
    parser.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    parser.set_defaults(handler=run_main)


class ProgressPrinter:
    """Shows which node runs and its progress bar, from the server's websocket events."""

    def __init__(self, titles: dict[str, str], stream: TextIO = sys.stderr) -> None:
        self.titles = titles
        self.stream = stream
        self.live = stream.isatty()
        self.last_fraction: dict[str, float] = {}

    def __call__(self, kind: str, data: dict) -> None:
        if kind == "executing" and data.get("node") is not None:
            node = str(data["node"])
            self._line(f"node {node} {self.titles.get(node, '')}".rstrip())
        elif kind == "execution_cached" and data.get("nodes"):
            self._line(f"cached: nodes {', '.join(map(str, data['nodes']))}")
        elif kind == "progress":
            node, value, total = str(data.get("node")), data.get("value", 0), max(1, data.get("max", 1))
            fraction = value / total
            if self.live:
                bar = "#" * int(30 * fraction)
                self.stream.write(f"\r  [{bar:<30}] {value}/{total}")
                if value >= total:
                    self.stream.write("\n")
                self.stream.flush()
            elif fraction - self.last_fraction.get(node, -1.0) >= 0.25 or value >= total:
                self.last_fraction[node] = fraction
                self._line(f"  {value}/{total}")

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def describe_rejection(error: PromptRejected, titles: dict[str, str]) -> str:
    lines = [f"the server refused the workflow: {error.error.get('message', '')}".rstrip()]
    if error.error.get("details"):
        lines.append(f"  {error.error['details']}")
    for node_id, report in error.node_errors.items():
        name = titles.get(str(node_id), report.get("class_type", ""))
        for item in report.get("errors", []):
            detail = item.get("details") or ""
            lines.append(f"  node {node_id} ({name}): {item.get('message', '')}{': ' + detail if detail else ''}")
    return "\n".join(lines)


def describe_failure(outcome: ExecutionOutcome, titles: dict[str, str]) -> str:
    data = outcome.error
    node_id = str(data.get("node_id", "?"))
    name = titles.get(node_id) or data.get("node_type", "")
    message = (data.get("exception_message") or "").strip()
    return f"node {node_id} ({name}) failed: {data.get('exception_type', 'error')}: {message}"


def unique_path(folder: Path, name: str) -> Path:
    """A path in ``folder`` named like ``name`` that does not exist yet (files are never replaced)."""
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    counter = 1
    while candidate.exists():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


def stage_inputs(prompt: dict, info: dict, client: ComfyClient, workflow_dir: Path,
                 stream: TextIO = sys.stderr) -> dict:
    """Upload the pictures a graph's upload inputs (LoadImage and the like) name when they are
    files here: an existing path, or a name in ``inputs/`` beside the workflow. Returns the graph
    with the names the server gave them; other values are left for the server to check."""
    staged = {}
    for node_id, node in prompt.items():
        uploads = upload_inputs(info.get(node.get("class_type"), {}))
        for name, value in node.get("inputs", {}).items():
            if name not in uploads or not isinstance(value, str):
                continue
            candidates = (Path(value).expanduser(), workflow_dir / "inputs" / value)
            local = next((path for path in candidates if path.is_file()), None)
            if local is None:
                continue
            uploaded = client.upload_image(local)
            print(f"uploaded {local} as input {uploaded}", file=stream)
            staged.setdefault(node_id, {**node, "inputs": dict(node["inputs"])})["inputs"][name] = uploaded
    return {**prompt, **staged}


def run_workflow(
    workflow_path: str,
    client: ComfyClient,
    out: Path,
    overrides: list[str] = (),
    seed: int | None = None,
    previews: bool = False,
    timeout: float | None = None,
    stream: TextIO = sys.stderr,
) -> list[Path]:
    """Run one workflow on a server and save its images; raises on rejection or failure."""
    workflow = load_workflow(workflow_path)
    info = client.object_info()
    notices: list[str] = []
    prompt = ui_to_api(workflow, info, notices) if is_ui_format(workflow) else workflow
    for notice in notices:  # understood but left out (e.g. fields from a newer web UI)
        print(f"note: {notice}", file=stream)
    prompt = apply_overrides(prompt, list(overrides))
    if seed is not None:
        prompt, changed = apply_seed(prompt, seed)
        if not changed:
            print("note: --seed given, but the workflow has no unlinked seed input", file=stream)
    prompt = stage_inputs(prompt, info, client, Path(workflow_path).resolve().parent, stream)
    titles = {nid: node.get("_meta", {}).get("title") or info.get(node["class_type"], {}).get(
        "display_name", node["class_type"]) for nid, node in prompt.items()}
    try:
        outcome = client.execute(prompt, on_event=ProgressPrinter(titles, stream), timeout=timeout)
    except PromptRejected as error:
        raise RunFailed(describe_rejection(error, titles)) from None
    if outcome.status == "interrupted":
        raise RunFailed("the run was interrupted", code=130)
    if outcome.status != "success":
        raise RunFailed(describe_failure(outcome, titles))
    kinds = ("output", "temp") if previews else ("output",)
    saved = []
    out.mkdir(parents=True, exist_ok=True)
    for _node_id, record in output_files(outcome.outputs, kinds):
        data = client.view(record["filename"], record.get("subfolder", ""), record.get("type", "output"))
        path = unique_path(out, Path(record["filename"]).name)
        path.write_bytes(data)
        saved.append(path)
    return saved


class RunFailed(RuntimeError):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def run_main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    client: ComfyClient | None = None
    with contextlib.ExitStack() as stack:
        try:
            if args.server:
                client = ComfyClient(args.server)
            else:
                comfyui = ensure_comfyui()
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ganforge-run-")))
                print(f"starting ComfyUI from {comfyui} ...", file=sys.stderr)
                started = time.monotonic()
                server = ComfyServer(comfyui, log_path=scratch / "comfyui.log", output_directory=scratch / "output")
                stack.enter_context(server)
                print(f"ComfyUI is ready at {server.url} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
                client = ComfyClient(server.url)
            saved = run_workflow(args.workflow, client, out, args.overrides, args.seed, args.previews, args.timeout)
        except KeyboardInterrupt:
            print("\ninterrupted: asking the server to stop", file=sys.stderr)
            if client is not None:
                with contextlib.suppress(Exception):
                    client.interrupt()
            return 130
        except (WorkflowError, ComfyUIError, ServerError, RunFailed) as error:
            print(f"ganforge run: {error}", file=sys.stderr)
            return getattr(error, "code", 1)
        except TimeoutError:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.interrupt()
            print(f"ganforge run: no result within {args.timeout} s; interrupted", file=sys.stderr)
            return 1
    if not saved:
        print("the workflow ran but saved nothing (does it end in a Save Image or Save Video node?)", file=sys.stderr)
        return 0
    for path in saved:
        print(path)
    print(f"{len(saved)} file(s) written to {out.resolve()}", file=sys.stderr)
    return 0
