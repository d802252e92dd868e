"""The API prompt of a loaded UI graph: the ComfyUI frontend's ``graphToPrompt`` (1.32.9).

Subgraph instances are flattened into their inner nodes, whose ids are the path of instance ids
(``"12:5"``, ``"12:7:3"``); each input is resolved the way ``ExecutableNodeDTO`` does it: through
reroutes, out of a subgraph to the instance's input (or its promoted widget), into a subgraph
instance to the node behind its output, past bypassed nodes (the first input of a matching type),
and stopping at muted nodes, whose links are then dropped. Primitive nodes first copy their value
into the widgets they feed (``applyToGraph``), and each instance's promoted widget values are
copied into the widgets they stand for (``SubgraphNode.serialize``), as the frontend does before
converting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ui_graph import MODE_BYPASS, MODE_NEVER, SUBGRAPH_INPUT_ID, Graph, Node, Problems, build_node
from .ui_widgets import UNDEFINED, Widget, assign_values, serialize_value, text_replacements

REPLACE_PROPERTY = "Run widget replace on values"


class ConversionError(ValueError):
    """The graph cannot be converted (the frontend would fail on it too)."""


@dataclass
class Resolved:
    origin_id: str
    origin_slot: int
    widget_value: Any = UNDEFINED  # set when the input resolves to a subgraph instance's widget


@dataclass
class Executable:
    """ExecutableNodeDTO: a node at one place in the flattened graph."""

    node: Node
    path: tuple  # ids of the subgraph instances around it, outermost first
    instance: Node | None  # the subgraph instance that contains it
    group: Node | None = None  # the group node it is part of (then path ends with its id)
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = ":".join(str(part) for part in (*self.path, self.node.id))

    @property
    def graph(self) -> Graph:
        return self.node.graph


def js_equal(a: Any, b: Any) -> bool:
    """JavaScript's loose ``==`` for slot types (strings, numbers, null)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return str(a) == str(b)


def valid_connection(a: Any, b: Any) -> bool:
    """LiteGraph.isValidConnection."""
    a = 0 if a in ("", "*") else a
    b = 0 if b in ("", "*") else b
    if not a or not b or js_equal(a, b):
        return True
    a, b = str(a).lower(), str(b).lower()
    if "," not in a and "," not in b:
        return a == b
    return any(valid_connection(x, y) for x in a.split(",") for y in b.split(","))


class PromptBuilder:
    def __init__(self, root: Graph, definitions: dict[str, Graph], object_info: dict | None = None) -> None:
        self.root = root
        self.definitions = definitions
        self.object_info = object_info or {}
        self.executables: dict[str, Executable] = {}

    # -- before converting: promoted widgets, primitives, serialisation -------------------------

    def promote_widgets(self) -> None:
        """SubgraphNode._internalConfigureAfterSlots: an instance gets, for each of its inputs,
        a copy of the first inner widget that input feeds; the instance's saved widgets_values
        then go to those copies (and, with proxyWidgets, by name). The frontend configures the
        definitions in the order the file lists them, then the root graph: an instance inside a
        definition listed before its own definition finds no inner links yet and gets no widgets."""
        configured: set[str] = set()
        for graph in (*self.definitions.values(), self.root):
            for node in graph.nodes.values():
                if node.kind != "subgraph":
                    continue
                definition = self.definitions[node.type]
                node.widgets = []
                if node.type not in configured and graph is not self.root:
                    continue
                for slot in node.inputs:
                    widget = next(_inner_widgets(definition, slot.name), None)
                    if widget is not None:
                        promoted = widget.copy()
                        promoted.name = slot.name
                        node.widgets.append(promoted)
                        slot.widget = slot.name
                values = node.raw.get("widgets_values")
                assign_values(node.widgets, values)
                proxies = node.properties.get("proxyWidgets")
                if isinstance(proxies, list) and isinstance(values, list):
                    for index, value in enumerate(values):
                        entry = proxies[index] if index < len(proxies) else None
                        if isinstance(entry, list) and len(entry) == 2 and str(entry[0]) == "-1" \
                                and value is not None:
                            widget = node.widget(entry[1])
                            if widget is not None:
                                widget.set(value)
            if graph is not self.root:
                configured.add(graph.id)

    def apply_primitives(self) -> None:
        """PrimitiveNode.applyToGraph: the primitive's value goes into every widget it feeds."""
        for graph in (self.root, *self.definitions.values()):
            for node in graph.nodes.values():
                if node.kind != "primitive":
                    continue
                # its output's links, as the link table has them (the frontend's link fixer adds
                # the ones a hand-edited file forgot to list on the node)
                listed = node.outputs[0].get("links") if node.outputs else None
                outputs = list(listed) if isinstance(listed, list) else []
                outputs += [link.id for link in graph.links.values()
                            if link.origin_id == node.id and link.origin_slot == 0 and link.id not in outputs]
                if not outputs:
                    continue
                values = node.raw.get("widgets_values")
                if not isinstance(values, list) or not values:
                    continue  # the primitive's widget took its value from its first target
                value = values[0]
                if value and node.properties.get(REPLACE_PROPERTY) and isinstance(value, str):
                    value = text_replacements(value, self.all_nodes())
                for link_id in outputs:
                    link = graph.links.get(link_id)
                    target = graph.node(link.target_id) if link else None
                    if target is None or link.target_slot >= len(target.inputs):
                        continue
                    widget = target.widget(target.inputs[link.target_slot].widget)
                    if widget is not None:
                        widget.set(value)

    def sync_promoted_widgets(self) -> None:
        """SubgraphNode.serialize (graphToPrompt serialises the graph first): each instance's
        promoted widget values are written into every inner widget its input feeds."""
        used = [self.root, *self.definitions.values()]
        for graph in used:
            for node in graph.nodes.values():
                if node.kind != "subgraph":
                    continue
                definition = self.definitions[node.type]
                for widget in node.widgets:
                    if any(s.name == widget.name for s in node.inputs):
                        for target in _inner_widgets(definition, widget.name):
                            target.set(widget.value)

    def all_nodes(self) -> list[tuple[dict, str, list[Widget]]]:
        found = []

        def visit(graph: Graph, seen: tuple) -> None:
            for node in graph.nodes.values():
                if node.kind == "subgraph" and node.type not in seen:
                    visit(self.definitions[node.type], (*seen, node.type))
                found.append((node.properties, node.title, node.widgets))

        visit(self.root, ())
        return found

    # -- flattening -----------------------------------------------------------------------------

    def flatten(self, graph: Graph, path: tuple, instance: Node | None, seen: tuple) -> None:
        for node in graph.nodes.values():
            executable = Executable(node, path, instance)
            self.executables[executable.id] = executable
            if node.kind == "subgraph":
                if node.type in seen:
                    raise ConversionError(f"subgraph '{node.title}' (node {executable.id}) contains itself")
                self.flatten(self.definitions[node.type], (*path, node.id), node, (*seen, node.type))
            elif node.kind == "group":
                self.flatten_group(executable)

    def flatten_group(self, executable: Executable) -> None:
        """GroupNodeHandler.getInnerNodes: fresh copies of the group's nodes (ids are their
        indexes), whose widgets take the group node's widget values (updateInnerWidgets)."""
        group_node = executable.node
        group = group_node.group
        inner_graph = Graph(None, f"group node {executable.id}", root=self.root)
        inner_nodes = []
        for index, data in enumerate(group.nodes):
            inner = build_node({**data, "id": index}, inner_graph, self.object_info, {}, Problems(),
                               f" in group node {executable.id}")
            inner_graph.nodes[index] = inner
            inner_nodes.append(inner)
        for new_name, (index, old_name) in group.new_to_old_widget.items():
            widget = group_node.widget(new_name)
            target = inner_nodes[index].widget(old_name) if inner_nodes[index] else None
            if widget is not None and target is not None:
                target.set(widget.value)
        for inner in inner_nodes:
            if inner is not None:
                child = Executable(inner, (*executable.path, group_node.id), executable.instance, group_node)
                self.executables[child.id] = child

    def at(self, path: tuple, node_id: Any) -> Executable | None:
        return self.executables.get(":".join(str(part) for part in (*path, node_id)))

    # -- resolution -----------------------------------------------------------------------------

    def resolve_group_child_input(self, dto: Executable, slot: int) -> Resolved | None:
        """ExecutableGroupNodeChildDTO.resolveInput: the node linked to the group input (as is)
        or the inner node linked inside the group."""
        if len(dto.id.split(":")) > 2:
            raise ConversionError(f"node {dto.id}: group nodes inside subgraphs are not supported (the web UI "
                                  "refuses them too); convert the group node to a subgraph")
        group_node, group = dto.group, dto.group.group
        index = dto.node.id
        external = group.old_to_new_input.get(index, {}).get(slot)
        if external is not None:
            if external >= len(group_node.inputs) or group_node.inputs[external].link is None:
                return None
            link = group_node.graph.links.get(group_node.inputs[external].link)
            origin = group_node.graph.node(link.origin_id) if link else None
            if origin is None:
                return None
            return Resolved(str(origin.id), link.origin_slot)
        link = group.links_to.get(index, {}).get(slot)
        if not link or link[0] >= len(group.nodes) or group.nodes[link[0]].get("type") == "PrimitiveNode":
            return None
        return Resolved(f"{group_node.id}:{link[0]}", link[1])

    def resolve_group_output(self, dto: Executable, slot: int) -> Resolved | None:
        """ExecutableGroupNodeDTO.resolveOutput (not bypassed): the inner node behind the output,
        past reroutes inside the group."""
        group = dto.node.group
        if slot not in group.new_to_old_output:
            raise ConversionError(f"group node {dto.id} has no output {slot}")
        index, output_slot = group.new_to_old_output[slot]
        origin_slot = None
        while 0 <= index < len(group.nodes) and group.nodes[index].get("type") == "Reroute":
            link = group.links_to.get(index, {}).get(0)
            if not link:
                return None
            index, origin_slot = link[0], link[1]
        return Resolved(f"{dto.id}:{index}", output_slot if origin_slot is None else origin_slot)

    def resolve_input(self, dto: Executable, slot: int, visited: set, wanted: Any = None) -> Resolved | None:
        if dto.group is not None:
            return self.resolve_group_child_input(dto, slot)
        key = (dto.instance.type if dto.instance else None, dto.id, "I", slot)
        if key in visited:
            raise ConversionError(f"node {dto.id} ({dto.node.title}): a circular link reaches its input {slot}")
        visited.add(key)
        if slot >= len(dto.node.inputs):
            return None
        link_id = dto.node.inputs[slot].link
        if link_id is None:
            return None
        link = dto.graph.links.get(link_id)
        if link is None:
            return None
        if dto.instance is not None and link.origin_id == SUBGRAPH_INPUT_ID:
            return self.resolve_from_instance(dto.instance, dto.path[:-1], link.origin_slot, visited)
        origin = self.at(dto.path, link.origin_id)
        if origin is None:
            return None
        return self.resolve_output(origin, link.origin_slot, wanted if wanted is not None else
                                   dto.node.inputs[slot].type, visited)

    def resolve_from_instance(self, instance: Node, path: tuple, index: int, visited: set) -> Resolved | None:
        """A link from a subgraph's input: continue outside, at the instance's input ``index``
        (``path``: where the instance is), or take the instance's promoted widget value."""
        if index >= len(instance.inputs):
            return None
        slot = instance.inputs[index]
        if slot.link is None:
            widget = instance.widget(slot.widget)
            if widget is None:
                return None
            return Resolved(":".join(str(part) for part in (*path, instance.id)), -1, widget.value)
        outer_link = instance.graph.links.get(slot.link)
        if outer_link is None:
            return None
        return self.resolve_input(self.at(path, instance.id), outer_link.target_slot, visited)

    def resolve_output(self, dto: Executable, slot: int, wanted: Any, visited: set) -> Resolved | None:
        key = (dto.instance.type if dto.instance else None, dto.id, "O", slot)
        if key in visited:
            raise ConversionError(f"node {dto.id} ({dto.node.title}): a circular link reaches its output {slot}")
        visited.add(key)
        node = dto.node
        if node.kind == "group":
            if node.mode == MODE_BYPASS:  # the first input of exactly the wanted type, this slot first
                for index in (slot, *range(len(node.inputs))):
                    if index < len(node.inputs) and node.inputs[index].type == wanted:
                        return self.resolve_input(dto, index, visited)
                return None
            return self.resolve_group_output(dto, slot)
        if node.mode == MODE_BYPASS:
            index = self.bypass_index(node, slot, wanted)
            return None if index < 0 else self.resolve_input(dto, index, visited)
        if node.kind == "subgraph":
            return self.resolve_instance_output(dto, slot, wanted, visited)
        if node.virtual:
            if slot >= len(node.inputs) or node.inputs[slot].link is None:
                return None
            link = dto.graph.links.get(node.inputs[slot].link)
            if link is None:
                return None
            target = self.at(dto.path, link.target_id)
            return None if target is None else self.resolve_input(target, link.target_slot, visited, wanted)
        return Resolved(dto.id, slot)

    def resolve_instance_output(self, dto: Executable, slot: int, wanted: Any, visited: set) -> Resolved | None:
        definition = self.definitions[dto.node.type]
        if slot >= len(definition.outputs):
            return None
        link_ids = definition.outputs[slot].get("linkIds") or []
        link = definition.links.get(link_ids[0]) if link_ids else None
        if link is None:
            return None
        inner_path = (*dto.path, dto.node.id)
        if link.origin_id == SUBGRAPH_INPUT_ID:  # an input wired straight to an output
            return self.resolve_from_instance(dto.node, dto.path, link.origin_slot, visited)
        inner = self.at(inner_path, link.origin_id)
        if inner is None:
            raise ConversionError(f"subgraph '{definition.name}': its output {slot} comes from node "
                                  f"{link.origin_id}, which it does not have")
        return self.resolve_output(inner, link.origin_slot, wanted, visited)

    @staticmethod
    def bypass_index(node: Node, slot: int, wanted: Any) -> int:
        """ExecutableNodeDTO.#getBypassSlotIndex: which input a bypassed node passes to ``slot``."""
        inputs = node.inputs
        if wanted in ("*", ""):
            return slot if len(inputs) > slot else (0 if inputs else -1)
        if slot >= len(node.outputs):
            return -1
        output_type = node.outputs[slot].get("type")
        opposite = inputs[slot] if slot < len(inputs) else None
        if opposite is not None and valid_connection(opposite.type, output_type) \
                and valid_connection(opposite.type, wanted):
            return slot
        for index, candidate in enumerate(inputs):
            if js_equal(candidate.type, wanted):
                return index
        for index, candidate in enumerate(inputs):
            if valid_connection(candidate.type, output_type) and valid_connection(candidate.type, wanted):
                return index
        return -1

    # -- the prompt -----------------------------------------------------------------------------

    def build(self) -> dict[str, dict]:
        self.promote_widgets()
        self.apply_primitives()
        self.sync_promoted_widgets()
        self.flatten(self.root, (), None, ())
        everything = self.all_nodes()
        output: dict[str, dict] = {}
        for dto in self.executables.values():
            node = dto.node
            if node.virtual or node.mode in (MODE_NEVER, MODE_BYPASS):
                continue
            inputs: dict[str, Any] = {}
            for widget in node.widgets:
                if not widget.name or not widget.prompt:
                    continue
                value = serialize_value(widget, lambda text: text_replacements(text, everything))
                if value is not UNDEFINED:
                    inputs[widget.name] = {"__value__": value} if isinstance(value, list) else value
            for index, slot in enumerate(node.inputs):
                resolved = self.resolve_input(dto, index, set())
                if resolved is None:
                    continue
                if resolved.origin_slot == -1:
                    value = resolved.widget_value
                    if value is UNDEFINED:
                        inputs.pop(slot.name, None)
                    else:
                        inputs[slot.name] = {"__value__": value} if isinstance(value, list) else value
                    continue
                inputs[slot.name] = [resolved.origin_id, int(resolved.origin_slot)]
            output[dto.id] = {"inputs": inputs, "class_type": node.type, "_meta": {"title": node.title}}
        for entry in output.values():
            for name, value in list(entry["inputs"].items()):
                if isinstance(value, list) and len(value) == 2 and value[0] not in output:
                    del entry["inputs"][name]
        return output


def graph_to_prompt(root: Graph, definitions: dict[str, Graph], object_info: dict | None = None) -> dict[str, dict]:
    return PromptBuilder(root, definitions, object_info).build()


def _inner_widgets(definition, input_name: str):
    """The inner widgets a subgraph input named ``input_name`` feeds, in the order of its links."""
    sub_input = next((i for i in definition.inputs if i.get("name") == input_name), None)
    for link_id in (sub_input or {}).get("linkIds") or []:
        link = definition.links.get(link_id)
        inner = definition.node(link.target_id) if link else None
        if inner is None or link.target_slot >= len(inner.inputs):
            continue
        widget = inner.widget(inner.inputs[link.target_slot].widget)
        if widget is not None:
            yield widget
