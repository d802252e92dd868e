"""Workflow files: telling UI from API format, converting UI to API, and command-line overrides.

The UI format (what people save and share) stores widget values *positionally* in
``widgets_values``; only the node definitions in ``/object_info`` say which value belongs to
which input. This module follows the rules of the ComfyUI frontend's own ``graphToPrompt``:

* widget inputs are the INT/FLOAT/STRING/BOOLEAN/COMBO inputs in ``input_order`` (required,
  then optional) that are not ``forceInput``; each seed-like widget (``control_after_generate``,
  or an INT named seed/noise_seed) is followed by its control value ("fixed", "randomize", ...),
  and an image/video/audio upload combo by the upload button's value;
* a linked input takes the link, whatever its widget value says;
* Reroute nodes are followed upstream; a PrimitiveNode gives its value to each target;
* muted nodes (mode 2) disappear with their links; bypassed nodes (mode 4) pass their
  inputs through to their outputs by matching type;
* Note and MarkdownNote are comments and disappear.
"""

from __future__ import annotations

import json
from typing import Any

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
SEED_NAMES = {"seed", "noise_seed"}
UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload")
COMMENT_TYPES = {"Note", "MarkdownNote"}
MODE_MUTED, MODE_BYPASS = 2, 4


class WorkflowError(ValueError):
    """A workflow file that cannot be converted or overridden; the message says why."""


def is_ui_format(workflow: dict) -> bool:
    return isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list) and "links" in workflow


def is_api_format(workflow: dict) -> bool:
    return (
        isinstance(workflow, dict)
        and bool(workflow)
        and all(isinstance(node, dict) and "class_type" in node for node in workflow.values())
    )


def load_workflow(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        try:
            workflow = json.load(handle)
        except json.JSONDecodeError as error:
            raise WorkflowError(f"{path} is not valid JSON: {error}") from None
    if not (is_ui_format(workflow) or is_api_format(workflow)):
        raise WorkflowError(f"{path} is neither a ComfyUI UI-format nor an API-format workflow")
    return workflow


def _spec_entries(info: dict) -> list[tuple[str, list]]:
    """(name, spec) of every input in ComfyUI's order: input_order, required before optional."""
    inputs = info.get("input", {})
    order = info.get("input_order") or {key: list(inputs.get(key, {})) for key in ("required", "optional")}
    entries = []
    for group in ("required", "optional"):
        for name in order.get(group, []):
            spec = inputs.get(group, {}).get(name)
            if spec is not None:
                entries.append((name, spec))
    return entries


def _options(spec: list) -> dict:
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def _is_upload(kind: str | None, spec: list) -> bool:
    """A combo with an upload button (LoadImage's image and the like)."""
    return kind == "COMBO" and any(_options(spec).get(flag) for flag in UPLOAD_FLAGS)


def upload_inputs(info: dict) -> set[str]:
    """Names of a node definition's inputs that take an uploaded file from the input folder."""
    return {name for name, spec in _spec_entries(info) if _is_upload(_widget_kind(spec), spec)}


def _widget_kind(spec: list) -> str | None:
    kind = spec[0]
    options = _options(spec)
    if isinstance(kind, list):
        kind = "COMBO"
    if kind not in WIDGET_TYPES or options.get("forceInput"):
        return None
    return kind


def widget_layout(info: dict) -> list[tuple[str, int]]:
    """[(input name, number of widgets_values it occupies)] for a node definition."""
    layout = []
    for name, spec in _spec_entries(info):
        kind = _widget_kind(spec)
        if kind is None:
            continue
        extra = 0
        if _options(spec).get("control_after_generate") or (kind == "INT" and name in SEED_NAMES):
            extra += 1
        if _is_upload(kind, spec):
            extra += 1
        layout.append((name, 1 + extra))
    return layout


def widget_values(node: dict, info: dict) -> dict[str, Any]:
    """Map a UI node's widgets_values onto its widget input names."""
    values = node.get("widgets_values")
    if values is None:
        return {}
    if isinstance(values, dict):  # some packs save widgets by name
        return dict(values)
    mapped, position = {}, 0
    for name, width in widget_layout(info):
        if position < len(values):
            mapped[name] = values[position]
        position += width
    return mapped


def ui_to_api(workflow: dict, object_info: dict) -> dict:
    """Convert a UI-format workflow to the API format the server executes."""
    if not is_ui_format(workflow):
        raise WorkflowError("not a UI-format workflow (it has no 'nodes' and 'links')")
    if (workflow.get("definitions") or {}).get("subgraphs"):
        raise WorkflowError("subgraphs are not supported here: export the API format from the web UI")
    nodes = {node["id"]: node for node in workflow["nodes"]}
    links = {}
    for link in workflow.get("links", []):
        if isinstance(link, dict):
            link = [link["id"], link["origin_id"], link["origin_slot"], link["target_id"],
                    link["target_slot"], link.get("type")]
        links[link[0]] = link

    for node in nodes.values():
        kind = node.get("type")
        if kind in object_info or kind in COMMENT_TYPES or kind in ("Reroute", "PrimitiveNode"):
            continue
        if node.get("mode") in (MODE_MUTED, MODE_BYPASS):
            continue
        raise WorkflowError(f"node {node['id']} has type '{kind}', which this ComfyUI does not have "
                            "(a missing custom node pack?)")

    def source_of(link_id: int, seen: frozenset = frozenset()) -> Any:
        """Resolve a link to [node_id, slot], a literal value (primitive), or None (dropped)."""
        link = links.get(link_id)
        if link is None or link_id in seen:
            return None
        seen = seen | {link_id}
        origin = nodes.get(link[1])
        if origin is None:
            return None
        kind, mode = origin.get("type"), origin.get("mode", 0)
        if kind == "Reroute":
            upstream = (origin.get("inputs") or [{}])[0].get("link")
            return None if upstream is None else source_of(upstream, seen)
        if kind == "PrimitiveNode":
            values = origin.get("widgets_values") or []
            return ("value", values[0]) if values else None
        if mode == MODE_MUTED:
            return None
        if mode == MODE_BYPASS:
            wanted = link[5]
            candidates = origin.get("inputs") or []
            slot = link[2]
            ordered = ([candidates[slot]] if slot < len(candidates) else []) + candidates
            for candidate in ordered:
                if candidate.get("link") is not None and _types_match(candidate.get("type"), wanted):
                    return source_of(candidate["link"], seen)
            return None
        return [str(origin["id"]), link[2]]

    prompt: dict[str, dict] = {}
    for node_id, node in sorted(nodes.items(), key=lambda item: _sort_key(item[0])):
        kind = node.get("type")
        if kind not in object_info or node.get("mode", 0) in (MODE_MUTED, MODE_BYPASS):
            continue
        info = object_info[kind]
        inputs: dict[str, Any] = widget_values(node, info)
        for slot in node.get("inputs") or []:
            name = slot.get("name")
            if slot.get("widget"):
                name = slot["widget"].get("name", name)
            if slot.get("link") is None:
                continue
            resolved = source_of(slot["link"])
            if resolved is None:
                inputs.pop(name, None)
            elif isinstance(resolved, tuple):
                inputs[name] = resolved[1]
            else:
                inputs[name] = resolved
        title = node.get("title") or info.get("display_name") or kind
        prompt[str(node_id)] = {"inputs": inputs, "class_type": kind, "_meta": {"title": title}}
    if not prompt:
        raise WorkflowError("the workflow has no node that ComfyUI can execute")
    return prompt


def _types_match(have: Any, want: Any) -> bool:
    if have in (None, "*") or want in (None, "*"):
        return True
    have_set = set(str(have).split(","))
    want_set = set(str(want).split(","))
    return bool(have_set & want_set)


def _sort_key(node_id: Any) -> tuple[int, str]:
    text = str(node_id)
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def parse_override(text: str) -> tuple[str, str, Any]:
    """``"5.seed=42"`` -> ("5", "seed", 42). Values are JSON when they parse, else strings."""
    target, sep, raw = text.partition("=")
    node_id, dot, name = target.partition(".")
    if not sep or not dot or not node_id or not name:
        raise WorkflowError(f"--set {text!r}: write NODE_ID.INPUT=VALUE, e.g. --set 5.seed=42")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return node_id, name, value


def apply_overrides(prompt: dict, overrides: list[str]) -> dict:
    """Set inputs of an API graph from ``NODE_ID.INPUT=VALUE`` strings (a copy is returned)."""
    prompt = json.loads(json.dumps(prompt))
    for text in overrides:
        node_id, name, value = parse_override(text)
        if node_id not in prompt:
            raise WorkflowError(f"--set {text!r}: the workflow has no node {node_id} "
                                f"(nodes: {', '.join(sorted(prompt, key=_sort_key))})")
        prompt[node_id]["inputs"][name] = value
    return prompt


def apply_seed(prompt: dict, seed: int) -> tuple[dict, list[str]]:
    """Set every unlinked seed input to ``seed``; returns the copy and the changed inputs."""
    prompt = json.loads(json.dumps(prompt))
    changed = []
    for node_id, node in prompt.items():
        for name in SEED_NAMES:
            if name in node["inputs"] and not isinstance(node["inputs"][name], list):
                node["inputs"][name] = seed
                changed.append(f"{node_id}.{name}")
    return prompt, changed
