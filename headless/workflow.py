"""Workflow files: telling UI from API format, converting UI to API, and command-line overrides.

The UI format (what people save and share) stores widget values *positionally* in
``widgets_values``; only the node definitions in ``/object_info`` say which value belongs to
which input. ``ui_to_api`` converts it the way the ComfyUI frontend's own ``graphToPrompt``
(frontend 1.32.9, the one ComfyUI 0.3.75 serves) does, and is held to that frontend's output on
all of ComfyUI's workflow templates (``tests/test_workflow_convert.py``):

* ``ui_widgets``: which widgets a node type has, in which order, which of them take a
  ``widgets_values`` position or reach the prompt, their defaults and how they serialise;
* ``ui_graph``: the file read as the frontend loads it (subgraph definitions, links, input slots
  matched by name, type renames), plus what it could not use;
* ``ui_prompt``: the flattening and link resolution: subgraphs (nested, promoted widgets, links
  into and out of them), reroutes, primitives, muted and bypassed nodes;
* ``node_packs``: who provides a node type this ComfyUI lacks.
"""

from __future__ import annotations

import json
from typing import Any

from .node_packs import describe_missing
from .ui_graph import MODE_BYPASS, MODE_NEVER, Graph, Problems, load_graph
from .ui_groups import PREFIX, SEPARATOR
from .ui_prompt import ConversionError, graph_to_prompt
from .ui_widgets import BROWSER_ONLY, SEED_NAMES, node_widgets
from .ui_widgets import upload_inputs as upload_inputs

__all__ = ["WorkflowError", "apply_overrides", "apply_seed", "is_api_format", "is_ui_format", "load_workflow",
           "parse_override", "ui_to_api", "upload_inputs", "widget_layout"]


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


def widget_layout(info: dict, kind: str = "") -> list[tuple[str, bool, bool]]:
    """[(widget name, takes a widgets_values position, reaches the prompt)] of a node definition,
    in the frontend's order."""
    return [(widget.name, widget.slot, widget.prompt) for widget in node_widgets(kind, info)]


def ui_to_api(workflow: dict, object_info: dict, notices: list[str] | None = None) -> dict:
    """Convert a UI-format workflow to the API format the server executes, as the web UI does.

    Raises :class:`WorkflowError` when the workflow cannot run here (node types this ComfyUI
    lacks, a subgraph without its definition, ...). What was understood but left out (fields
    from a newer frontend, muted nodes of unknown types) is appended to ``notices``."""
    if not is_ui_format(workflow):
        raise WorkflowError("not a UI-format workflow (it has no 'nodes' and 'links')")
    try:
        root, definitions, problems = load_graph(workflow, object_info)
        refuse_what_cannot_run(root, definitions, problems, object_info)
        prompt = graph_to_prompt(root, definitions, object_info)
    except ConversionError as error:
        raise WorkflowError(str(error)) from None
    except (KeyError, TypeError, AttributeError, IndexError) as error:  # a malformed file
        raise WorkflowError(f"the workflow file is malformed where the converter expected more "
                            f"({type(error).__name__}: {error})") from None
    if not prompt:
        raise WorkflowError("the workflow has no node that ComfyUI can execute")
    if notices is not None:
        notices += describe_notices(problems)
    return prompt


def executed_nodes(root: Graph, definitions: dict[str, Graph]):
    """(node, where) of every node that takes part in a run: in the root graph and in the
    definitions of the subgraphs used (nested included), muted and bypassed ones left out."""
    seen: set[str] = set()

    def visit(graph: Graph, where: str):
        for node in graph.nodes.values():
            if node.mode in (MODE_NEVER, MODE_BYPASS):
                continue
            yield node, where
            if node.kind == "subgraph" and node.type not in seen:
                seen.add(node.type)
                yield from visit(definitions[node.type], f" in subgraph '{definitions[node.type].name}'")

    yield from visit(root, "")


GROUP_PREFIX = f"{PREFIX}{SEPARATOR}"


def workflow_groups(problems: Problems, name: str) -> dict:
    return problems.group_data.get(name) or {}


def group_inner_types(data: dict) -> list[str]:
    return [node.get("type") for node in data.get("nodes") or [] if isinstance(node, dict)
            and node.get("type") not in ("PrimitiveNode", "Reroute")]


def refuse_what_cannot_run(root: Graph, definitions: dict[str, Graph], problems: Problems,
                           object_info: dict) -> None:
    if problems.missing_definitions:
        lines = [f"  {kind} ({', '.join(places)})" for kind, places in problems.missing_definitions.items()]
        raise WorkflowError("the workflow uses subgraph(s) whose definition it does not contain (its "
                            "'definitions.subgraphs' lacks them; save it again from the web UI):\n" + "\n".join(lines))
    missing: dict[str, list[str]] = {}
    for node, where in executed_nodes(root, definitions):
        group_name = node.type[len(GROUP_PREFIX):] if node.type.startswith(GROUP_PREFIX) else None
        if node.kind == "missing" and group_name in problems.group_names:
            # the frontend registers a group node only when it has all of its inner node types
            for inner in group_inner_types(workflow_groups(problems, group_name)):
                if inner not in object_info:
                    missing.setdefault(inner, []).append(f"group node {node.id}{where}")
        elif node.kind == "missing" and group_name is not None:
            raise WorkflowError(f"node {node.id}{where} is a group node ('{node.type}') whose definition is not "
                                "in the workflow's extra.groupNodes: save it again from the web UI")
        elif node.kind == "missing":
            missing.setdefault(node.type, []).append(f"node {node.id}{where}")
        elif node.type in BROWSER_ONLY:
            raise WorkflowError(f"node {node.id}{where} ({node.type}) {BROWSER_ONLY[node.type]} when the web UI "
                                "queues it: a headless run cannot do that; run it from the web UI")
    if missing:
        raise WorkflowError(describe_missing(missing))


def describe_notices(problems: Problems) -> list[str]:
    notices = list(problems.notes)
    for what, places in problems.ignored.items():
        shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        notices.append(f"ignored {what} (not known to frontend 1.32.9): {shown}")
    skipped = {kind: places for kind, places in problems.missing.items()}
    for kind, places in skipped.items():
        notices.append(f"node type '{kind}' is not installed; its muted or bypassed node(s) are left out "
                       f"({', '.join(places[:3])})")
    return notices


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
