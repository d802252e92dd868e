"""A UI-format workflow read the way the ComfyUI frontend (1.32.9) loads it.

``load_graph`` turns the saved JSON into plain objects: the root graph and each subgraph
definition (``definitions.subgraphs``), their nodes, links and subgraph inputs/outputs, with what
``app.loadGraphData`` does on the way: node types renamed, a node's input slots rebuilt from its
definition (matched by name, so links follow their input), widget values assigned to widgets by
position. It also says what it could not use (a missing definition, node types this ComfyUI lacks)
and which fields it did not understand (a file from a newer frontend): the caller decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ui_groups import PREFIX, SEPARATOR, GroupDefinition, group_info, load_groups
from .ui_widgets import (
    RENAMED_TYPES,
    Widget,
    assign_values,
    default_title,
    migrate_values,
    node_sockets,
    node_widgets,
)

SUBGRAPH_INPUT_ID, SUBGRAPH_OUTPUT_ID = -10, -20
MODE_NEVER, MODE_BYPASS = 2, 4
COMMENT_TYPES = {"Note", "MarkdownNote"}
FRONTEND_TYPES = COMMENT_TYPES | {"Reroute", "PrimitiveNode"}

# Fields of frontend 1.32.9's workflow schema (platform/workflow/validation/schemas/workflowSchema.ts);
# anything else is reported as ignored.
GRAPH_FIELDS = {"id", "revision", "last_node_id", "last_link_id", "nodes", "links", "floatingLinks", "groups",
                "config", "extra", "version", "models", "state", "reroutes", "definitions", "subgraphs"}
SUBGRAPH_FIELDS = {"id", "revision", "version", "state", "config", "name", "inputNode", "outputNode", "inputs",
                   "outputs", "widgets", "nodes", "links", "floatingLinks", "groups", "reroutes", "extra",
                   "definitions", "category", "description"}
NODE_FIELDS = {"id", "type", "pos", "size", "flags", "order", "mode", "inputs", "outputs", "properties",
               "widgets_values", "color", "bgcolor", "boxcolor", "shape", "title", "showAdvanced", "locked",
               "last_serialization", "has_errors", "index"}
KNOWN_VERSIONS = (0.4, 1)


@dataclass
class Link:
    id: Any
    origin_id: Any
    origin_slot: int
    target_id: Any
    target_slot: int
    type: Any = None


@dataclass
class Slot:
    """An input slot of a node: its name, type, link and (for widget inputs) the widget's name."""

    name: str
    type: Any = None
    link: Any = None
    widget: str | None = None


@dataclass
class Node:
    id: Any
    type: str
    kind: str  # "comfy", "missing", "subgraph", "reroute", "primitive", "comment", "group"
    mode: int
    title: str
    inputs: list[Slot]
    outputs: list[dict]
    widgets: list[Widget]
    properties: dict
    raw: dict
    graph: Graph | None = None
    group: GroupDefinition | None = None  # the definition of a group node

    @property
    def virtual(self) -> bool:
        return self.kind in ("subgraph", "reroute", "primitive", "comment", "group")

    def widget(self, name: str | None) -> Widget | None:
        return next((w for w in self.widgets if w.name == name), None) if name else None


@dataclass
class Graph:
    """The root graph or a subgraph definition."""

    id: str | None
    name: str
    nodes: dict[Any, Node] = field(default_factory=dict)
    links: dict[Any, Link] = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)  # a subgraph's inputs: name, type, linkIds
    outputs: list[dict] = field(default_factory=list)
    root: Graph | None = None

    def node(self, node_id: Any) -> Node | None:
        found = self.nodes.get(node_id)
        if found is None and not isinstance(node_id, int) and str(node_id).lstrip("-").isdigit():
            found = self.nodes.get(int(node_id))
        if found is None and isinstance(node_id, int):
            found = self.nodes.get(str(node_id))
        return found


@dataclass
class Problems:
    """What the conversion could not use. ``missing``: node type -> where it is used;
    ``ignored``: a field the frontend does not know -> where; ``notes``: other remarks."""

    missing: dict[str, list[str]] = field(default_factory=dict)
    missing_definitions: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, GroupDefinition] = field(default_factory=dict)
    group_names: set[str] = field(default_factory=set)  # every group stored in extra.groupNodes
    group_data: dict[str, dict] = field(default_factory=dict)
    ignored: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ignore(self, what: str, where: str) -> None:
        self.ignored.setdefault(what, []).append(where)


def link_from(data: Any) -> Link | None:
    """A link saved as an array (schema 0.4) or as an object (schema 1, subgraphs)."""
    if isinstance(data, list | tuple) and len(data) >= 5:
        return Link(data[0], data[1], data[2], data[3], data[4], data[5] if len(data) > 5 else None)
    if isinstance(data, dict) and "id" in data:
        return Link(data["id"], data.get("origin_id"), data.get("origin_slot", 0), data.get("target_id"),
                    data.get("target_slot", 0), data.get("type"))
    return None


def node_kind(kind: str, object_info: dict, definitions: dict, groups: dict | None = None) -> str:
    if kind in definitions:
        return "subgraph"
    if groups and kind in groups:
        return "group"
    if kind == "Reroute":
        return "reroute"
    if kind == "PrimitiveNode":
        return "primitive"
    if kind in COMMENT_TYPES:
        return "comment"
    if kind in object_info:
        return "comfy"
    return "missing"


def slot_from(data: Any) -> Slot:
    data = data if isinstance(data, dict) else {}
    widget = data.get("widget")
    return Slot(str(data.get("name", "")), data.get("type"), data.get("link"),
                widget.get("name") if isinstance(widget, dict) else None)


def merge_slots(defined: list[dict], saved: list) -> list[Slot]:
    """The frontend's ComfyNode.configure: the definition's slots in its order, each taking the
    saved slot of the same name (its link), then saved slots the definition lacks."""
    by_name = {}
    for item in saved:
        if isinstance(item, dict):
            by_name[str(item.get("name", ""))] = item
    slots = []
    for spec in defined:
        saved_slot = by_name.get(spec["name"])
        slot = slot_from(saved_slot) if saved_slot else Slot(spec["name"])
        slot.type = spec["type"]
        if "widget" in spec:
            slot.widget = spec["widget"]["name"]
        slots.append(slot)
    names = {spec["name"] for spec in defined}
    slots += [slot_from(item) for item in saved if isinstance(item, dict) and str(item.get("name", "")) not in names]
    return slots


def build_node(data: dict, graph: Graph, object_info: dict, definitions: dict, problems: Problems,
               where: str) -> Node | None:
    if not isinstance(data, dict) or "id" not in data:
        problems.notes.append(f"a node without an id{where} was skipped")
        return None
    kind = data.get("type")
    kind = RENAMED_TYPES.get(kind, kind) if isinstance(kind, str) else str(kind)
    if problems.group_names and where == "" and kind.startswith(f"{PREFIX}/"):  # replaceLegacySeparators
        kind = f"{PREFIX}{SEPARATOR}{kind[len(PREFIX) + 1:]}"
    category = node_kind(kind, object_info, definitions, problems.groups)
    for key in data:
        if key not in NODE_FIELDS:
            problems.ignore(f"node field '{key}'", f"node {data['id']}{where}")
    mode = data.get("mode") if isinstance(data.get("mode"), int) else 0
    saved_inputs = data.get("inputs") if isinstance(data.get("inputs"), list) else []
    saved_outputs = data.get("outputs") if isinstance(data.get("outputs"), list) else []
    widgets: list[Widget] = []
    title = data.get("title") or ""
    group = problems.groups.get(kind) if category == "group" else None
    if category in ("comfy", "group"):
        info = object_info[kind] if group is None else group_info(group)
        inputs = merge_slots(node_sockets(kind, info), saved_inputs)
        widgets = node_widgets(kind, info)
        values = data.get("widgets_values")
        if isinstance(values, list):
            values = migrate_values(kind, info, widgets, values)
        assign_values(widgets, values)
        if kind in ("KSampler", "KSamplerAdvanced"):  # loadGraphData's patch of old sampler names
            sampler = next((w for w in widgets if w.name == "sampler_name"), None)
            if sampler is not None and isinstance(sampler.value, str) and sampler.value.startswith("sample_"):
                sampler.set(sampler.value[7:])
        title = title or default_title(kind, info)
        outputs = [{"type": out} for out in info.get("output") or []]
        outputs += [o for o in saved_outputs[len(outputs):] if isinstance(o, dict)]
        for output, saved in zip(outputs, saved_outputs, strict=False):
            if isinstance(saved, dict) and isinstance(saved.get("links"), list):
                output["links"] = saved["links"]
    elif category == "subgraph":
        definition = definitions[kind]
        inputs = merge_slots([{"name": i["name"], "type": i.get("type")} for i in definition.inputs], saved_inputs)
        outputs = [{"type": o.get("type")} for o in definition.outputs]
        title = title or definition.name
    else:
        inputs = [slot_from(item) for item in saved_inputs]
        outputs = [o for o in saved_outputs if isinstance(o, dict)]
        if category == "reroute" and not inputs:
            inputs = [Slot("", "*")]
        if category == "missing":
            problems.missing.setdefault(kind, []).append(f"node {data['id']}{where}")
    properties = data.get("properties") if isinstance(data.get("properties"), dict) else {}
    return Node(data["id"], kind, category, mode, title, inputs, outputs, widgets, properties, data, graph, group)


def build_graph(data: dict, graph: Graph, object_info: dict, definitions: dict, problems: Problems,
                where: str) -> None:
    links = data.get("links") if isinstance(data.get("links"), list) else []
    for item in links:
        link = link_from(item)
        if link is None:
            problems.notes.append(f"a malformed link{where} was skipped")
            continue
        graph.links[link.id] = link
    for item in data.get("nodes") if isinstance(data.get("nodes"), list) else []:
        node = build_node(item, graph, object_info, definitions, problems, where)
        if node is not None:
            graph.nodes[node.id] = node
    # fixLinkInputSlots: a link's target slot is the index of the input that holds it.
    for node in graph.nodes.values():
        for index, slot in enumerate(node.inputs):
            link = graph.links.get(slot.link) if slot.link else None
            if link is not None:
                link.target_slot = index


def load_graph(workflow: dict, object_info: dict) -> tuple[Graph, dict[str, Graph], Problems]:
    """The root graph, the subgraph definitions by id, and what could not be used."""
    problems = Problems()
    for key in workflow:
        if key not in GRAPH_FIELDS:
            problems.ignore(f"top-level field '{key}'", "the workflow")
    version = workflow.get("version")
    if version is not None and version not in KNOWN_VERSIONS:
        problems.notes.append(f"schema version {version!r} is newer than this converter knows (0.4, 1): "
                              "converted as version 1")
    root = Graph(None, "the workflow")
    root.root = root
    problems.groups = load_groups(workflow, object_info)
    extra = workflow.get("extra") if isinstance(workflow.get("extra"), dict) else {}
    problems.group_data = extra.get("groupNodes") if isinstance(extra.get("groupNodes"), dict) else {}
    problems.group_names = set(problems.group_data)

    definitions: dict[str, Graph] = {}
    saved_definitions = list(collect_definitions(workflow))
    for item in saved_definitions:
        if not item.get("id"):
            problems.notes.append("a subgraph definition without an id was skipped")
            continue
        for key in item:
            if key not in SUBGRAPH_FIELDS:
                problems.ignore(f"subgraph field '{key}'", f"subgraph '{item.get('name') or item['id']}'")
        definitions.setdefault(item["id"], Graph(item["id"], str(item.get("name") or item["id"]),
                                                 inputs=[i for i in item.get("inputs") or [] if isinstance(i, dict)],
                                                 outputs=[o for o in item.get("outputs") or [] if isinstance(o, dict)],
                                                 root=root))
    built = set()
    for item in saved_definitions:
        if item.get("id") in definitions and item["id"] not in built:
            built.add(item["id"])
            graph = definitions[item["id"]]
            build_graph(item, graph, object_info, definitions, problems, f" in subgraph '{graph.name}'")
    build_graph(workflow, root, object_info, definitions, problems, "")
    for graph in (root, *definitions.values()):
        for node in graph.nodes.values():
            if node.kind == "missing" and looks_like_subgraph_id(node.type):
                places = problems.missing.pop(node.type, [])
                problems.missing_definitions.setdefault(node.type, []).extend(places)
    return root, definitions, problems


def collect_definitions(data: dict):
    """Every subgraph definition: ``definitions.subgraphs`` of the workflow and, nested, of each
    definition."""
    definitions = data.get("definitions") if isinstance(data.get("definitions"), dict) else {}
    for item in definitions.get("subgraphs") or []:
        if isinstance(item, dict):
            yield item
            yield from collect_definitions(item)


def looks_like_subgraph_id(kind: str) -> bool:
    """A subgraph instance's type is its definition's UUID."""
    parts = kind.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdefABCDEF" for c in kind.replace("-", ""))
