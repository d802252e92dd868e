"""Group nodes: the frontend's older way of packing nodes into one (``extra.groupNodes``).

A group node instance (type ``workflow>NAME``) stands for copies of the nodes stored under
``extra.groupNodes[NAME]``; the frontend (1.32.9, extensions/core/groupNode.ts) builds a node
definition from them (``GroupNodeConfig``): the inner inputs not linked inside the group become
the group's inputs and widgets, named after the inner input (prefixed by the inner node's title
when the name repeats), and the inner outputs not only used inside become its outputs. When
converting, each inner node runs as ``GROUP_ID:INDEX``; its widget values are the group's widget
values, and its linked inputs point at whatever node is linked to the group input (taken as is:
no reroute, bypass or primitive is followed there) or at the inner node it is linked to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ui_widgets import WIDGET_TYPES, frontend_inputs, spec_options, spec_type

PREFIX, SEPARATOR = "workflow", ">"


@dataclass
class GroupDefinition:
    name: str
    data: dict
    nodes: list[dict]
    required: dict[str, Any] = field(default_factory=dict)  # the group node's inputs, in order
    outputs: list[Any] = field(default_factory=list)
    links_from: dict = field(default_factory=dict)  # inner index -> slot -> [links]
    links_to: dict = field(default_factory=dict)  # inner index -> slot -> link
    external_from: dict = field(default_factory=dict)
    old_to_new_input: dict = field(default_factory=dict)  # inner index -> inner slot -> group input
    old_to_new_widget: dict = field(default_factory=dict)  # inner index -> inner input -> group widget
    new_to_old_widget: dict = field(default_factory=dict)  # group widget -> (inner index, inner input)
    new_to_old_output: dict = field(default_factory=dict)  # group output -> (inner index, inner output)

    @property
    def type(self) -> str:
        return f"{PREFIX}{SEPARATOR}{self.name}"


def _index_links(group: GroupDefinition) -> None:
    for link in group.data.get("links") or []:
        if not isinstance(link, list) or len(link) < 4 or link[0] is None:
            continue
        source, source_slot, target, target_slot = link[:4]
        group.links_from.setdefault(source, {}).setdefault(source_slot, []).append(link)
        group.links_to.setdefault(target, {})[target_slot] = link
    for item in group.data.get("external") or []:
        if isinstance(item, list) and len(item) >= 3:
            group.external_from.setdefault(item[0], {})[item[1]] = item[2]


def _input_config(group: GroupDefinition, index: int, node: dict, input_name: str, seen: dict,
                  config: Any, extra: dict | None = None) -> tuple[str, Any, dict | None]:
    """GroupNodeConfig.getInputConfig: the group input's name and definition."""
    custom = (((group.data.get("config") or {}).get(str(index)) or {}).get("input") or {}).get(input_name)
    label = next((i.get("label") for i in node.get("inputs") or [] if isinstance(i, dict)
                  and i.get("name") == input_name and i.get("label")), None)
    name = (custom or {}).get("name") or label or input_name
    key, prefix = name, ""
    if (node.get("type") == "PrimitiveNode" and node.get("title")) or name in seen:
        prefix = f"{node.get('title') or node.get('type')} "
        key = name = f"{prefix}{input_name}"
        if name in seen:
            name = f"{prefix}{seen[name]} {input_name}"
    seen[key] = seen.get(key, 1) + 1
    if input_name in ("seed", "noise_seed"):
        extra = {**(extra or {}), "control_after_generate": f"{prefix}control_after_generate"}
    if extra:
        config = [spec_type(config) if not isinstance(config[0], list) else config[0],
                  {**spec_options(config), **extra}]
    return name, config, custom


def build_group(name: str, data: dict, object_info: dict) -> GroupDefinition | None:
    """The group node definition the frontend registers, or None when an inner node type is
    missing (the frontend then registers nothing)."""
    nodes = [node for node in data.get("nodes") or [] if isinstance(node, dict)]
    if any(node.get("type") not in object_info and node.get("type") not in ("PrimitiveNode", "Reroute")
           for node in nodes):
        return None
    group = GroupDefinition(name, data, nodes)
    _index_links(group)
    seen_inputs: dict[str, int] = {}
    seen_outputs: set[str] = set()
    count = 0
    deferred = []
    for index, node in enumerate(nodes):
        kind = node.get("type")
        if kind not in object_info:
            continue  # primitives and reroutes inside groups: not supported here
        inputs = {name: spec for name, (spec, _optional) in frontend_inputs(kind, object_info[kind]).items()}
        converted: dict[int, str] = {}
        slots: list[str] = []
        widget_map = group.old_to_new_widget.setdefault(index, {})
        for input_name, spec in inputs.items():
            if spec_type(spec) in WIDGET_TYPES:
                position = next((i for i, item in enumerate(node.get("inputs") or [])
                                 if isinstance(item, dict) and item.get("name") == input_name
                                 and (item.get("widget") or {}).get("name") == input_name), -1)
                if position > -1:
                    converted[position] = input_name
                    widget_map[input_name] = None
                else:
                    new_name, config, _ = _input_config(group, index, node, input_name, seen_inputs, spec)
                    group.required[new_name] = config
                    widget_map[input_name] = new_name
                    group.new_to_old_widget[new_name] = (index, input_name)
            else:
                slots.append(input_name)
        links_to = group.links_to.get(index, {})
        input_map = group.old_to_new_input.setdefault(index, {})
        for slot, input_name in enumerate(slots):
            if links_to.get(slot):
                continue
            new_name, config, custom = _input_config(group, index, node, input_name, seen_inputs, inputs[input_name])
            if (custom or {}).get("visible") is False:
                continue
            group.required[new_name] = config
            input_map[slot] = count
            count += 1
        deferred.append((index, node, inputs, slots, converted, links_to, input_map, widget_map))
        definition = object_info[kind]
        for output_id, output_type in enumerate(definition.get("output") or []):
            linked = group.links_from.get(index, {}).get(output_id)
            has_link = bool(linked) and not group.external_from.get(index, {}).get(output_id)
            custom = ((((data.get("config") or {}).get(str(index)) or {}).get("output") or {}).get(str(output_id))
                      or {})
            visible = custom.get("visible", not has_link)
            if not visible:
                continue
            group.new_to_old_output[len(group.outputs)] = (index, output_id)
            group.outputs.append(output_type)
            label = custom.get("name") or (definition.get("output_name") or [None] * (output_id + 1))[output_id] \
                or output_type
            name = label
            if name in seen_outputs:
                name = f"{node.get('title') or kind} {label}"
                if name in seen_outputs:
                    name = f"{node.get('title') or kind} {index} {label}"
            seen_outputs.add(name)
    for index, node, inputs, slots, converted, links_to, input_map, widget_map in deferred:
        # JavaScript sorts the positions as text
        for i, input_name in enumerate(converted[key] for key in sorted(converted, key=str)):
            if links_to.get(len(slots) + i):
                continue
            new_name, config, _ = _input_config(group, index, node, input_name, seen_inputs, inputs[input_name],
                                                {"defaultInput": True})
            group.required[new_name] = config
            group.new_to_old_widget[new_name] = (index, input_name)
            widget_map[input_name] = new_name
            input_map[len(slots) + i] = count
            count += 1
    return group


def group_info(group: GroupDefinition) -> dict:
    """The group node's definition in /object_info form (no input_order: insertion order)."""
    return {"input": {"required": dict(group.required)}, "output": list(group.outputs), "display_name": group.name}


def load_groups(workflow: dict, object_info: dict) -> dict[str, GroupDefinition]:
    """{node type: group definition} of the group nodes the frontend would register."""
    extra = workflow.get("extra") if isinstance(workflow.get("extra"), dict) else {}
    stored = extra.get("groupNodes") if isinstance(extra.get("groupNodes"), dict) else {}
    groups = {}
    for name, data in stored.items():
        if isinstance(data, dict):
            group = build_group(name, data, object_info)
            if group is not None:
                groups[group.type] = group
    return groups
