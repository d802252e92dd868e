"""The widgets the ComfyUI frontend (1.32.9) gives a node, read from its ``/object_info`` definition.

A UI-format workflow stores widget values by position (``widgets_values``); which position belongs
to which input, which widgets never reach the prompt, and what an absent value defaults to are
decided by the frontend's widget constructors and a few of its extensions. This module is that
knowledge, and nothing else: ``node_widgets`` lists a node type's widgets in the frontend's
order, ``assign_values`` is ``LGraphNode.configure``'s positional assignment (with the
frontend's migration of old ``forceInput`` values), ``prompt_value`` is a widget's
``serializeValue``. ``tests/test_workflow_convert.py`` holds all of it to the frontend's own
output for one node of every type (``tests/data/templates``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from itertools import zip_longest
from typing import Any

SEED_NAMES = ("seed", "noise_seed")
# Input types with a widget constructor: the core ones (scripts/widgets.ts ComfyWidgets) and those
# the core extensions register (load3d, saveMesh, uploadAudio, webcamCapture).
CORE_WIDGET_TYPES = {"INT", "FLOAT", "BOOLEAN", "STRING", "MARKDOWN", "COMBO", "IMAGEUPLOAD", "COLOR",
                     "IMAGECOMPARE", "CHART", "GALLERIA", "TEXTAREA"}
EXTENSION_WIDGET_TYPES = {"LOAD_3D", "PREVIEW_3D", "AUDIO_UI", "AUDIOUPLOAD", "AUDIO_RECORD", "WEBCAM"}
WIDGET_TYPES = CORE_WIDGET_TYPES | EXTENSION_WIDGET_TYPES
MEDIA_UPLOAD_FLAGS = ("image_upload", "video_upload", "animated_image_upload")
UPLOAD_FLAGS = (*MEDIA_UPLOAD_FLAGS, "audio_upload")
AUDIO_UI_NODES = {"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus"}
# Comfy.SaveImageExtraOutput: these nodes' filename_prefix goes through the %search & replace%.
SAVE_NODE_TYPES = {"SaveImage", "SaveVideo", "SaveAnimatedWEBP", "SaveWEBM", "SaveAudio", "SaveGLB",
                   "SaveAnimatedPNG", "CLIPSave", "VAESave", "ModelSave", "LoraSave", "SaveLatent"}
# Node types whose inputs the frontend computes in the browser when queueing (a 3-D scene render,
# a webcam frame): a headless conversion cannot produce them.
BROWSER_ONLY = {"Load3D": "renders its 3-D scene in the browser",
                "WebcamCapture": "captures a webcam frame in the browser"}
# Display names the frontend's bundled English locale gives differently from /object_info; an
# untitled node is titled with these (the frontend writes no title when it equals this one).
FRONTEND_TITLES = {"EmptyHunyuanLatentVideo": "EmptyHunyuanLatentVideo", "Load3D": "Load 3D",
                   "Preview3D": "Preview 3D", "PreviewAny": "Preview Any"}
# loadGraphData renames these node types before anything else.
RENAMED_TYPES = {"T2IAdapterLoader": "ControlNetLoader", "ConditioningAverage ": "ConditioningAverage",
                 "SDV_img2vid_Conditioning": "SVD_img2vid_Conditioning", "Load3DAnimation": "Load3D",
                 "Preview3DAnimation": "Preview3D"}


class Undefined:
    """JavaScript's ``undefined``: a widget value that JSON leaves out of the prompt."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = Undefined()


@dataclass
class Widget:
    """One widget of a node, as the frontend makes it.

    ``slot``: it takes a ``widgets_values`` position (``widget.serialize !== false``);
    ``prompt``: it becomes a prompt input (``widget.options.serialize !== false``);
    ``role``: how ``serializeValue`` changes the value on the way into the prompt.
    """

    name: str
    value: Any = UNDEFINED
    slot: bool = True
    prompt: bool = True
    role: str = ""  # "", "dynamic", "filename", "upload", "blank"
    options: dict = field(default_factory=dict)
    initial: Any = UNDEFINED  # an upload combo's value when the node was made, as text
    assigned: bool = False  # whether a value was set after the node was made

    def copy(self) -> Widget:
        return Widget(self.name, self.value, self.slot, self.prompt, self.role, self.options, self.initial,
                      self.assigned)

    def set(self, value: Any) -> None:
        self.value, self.assigned = value, True


def spec_type(spec: Any) -> str:
    kind = spec[0] if isinstance(spec, list | tuple) and spec else spec
    return "COMBO" if isinstance(kind, list | tuple) else str(kind)


def spec_options(spec: Any) -> dict:
    return spec[1] if isinstance(spec, list | tuple) and len(spec) > 1 and isinstance(spec[1], dict) else {}


def combo_values(spec: Any) -> list:
    if isinstance(spec, list | tuple) and spec and isinstance(spec[0], list | tuple):
        return list(spec[0])
    return list(spec_options(spec).get("options") or [])


def frontend_inputs(kind: str, info: dict) -> dict[str, tuple[Any, bool]]:
    """{name: (spec, optional)} of a definition as the frontend sees it: required then optional,
    in the server's order, plus the inputs the core extensions add (upload buttons, audio player,
    3-D view)."""
    inputs = info.get("input") or {}
    required = dict(inputs.get("required") or {})
    optional = dict(inputs.get("optional") or {})
    if kind in AUDIO_UI_NODES:
        required["audioUI"] = ["AUDIO_UI", {}]
    for name, spec in list(required.items()):  # Comfy.UploadImage: the first media combo
        options = spec_options(spec)
        if any(options.get(flag) is True for flag in MEDIA_UPLOAD_FLAGS) and spec_type(spec) == "COMBO":
            required["upload"] = ["IMAGEUPLOAD", {**options, "imageInputName": name}]
            break
    if spec_options(required.get("audio")).get("audio_upload") is True:
        required["upload"] = ["AUDIOUPLOAD", {}]
    if kind in ("Preview3D", "SaveGLB"):
        required["image"] = ["PREVIEW_3D"]
    specs = {name: (spec, False) for name, spec in required.items()}
    for name, spec in optional.items():
        specs.setdefault(name, (spec, True))
    return specs


def ordered_inputs(kind: str, info: dict) -> list[tuple[str, Any]]:
    """(name, spec) in the order the frontend creates sockets and widgets: ``input_order``
    (required, then optional), then whatever it does not name (getOrderedInputSpecs)."""
    specs = frontend_inputs(kind, info)
    order = info.get("input_order")
    if not order:
        return [(name, spec) for name, (spec, _optional) in specs.items()]
    ordered: list[tuple[str, Any]] = []
    for group, optional in (("required", False), ("optional", True)):
        for name in order.get(group) or []:
            if name in specs and specs[name][1] == optional and name not in dict(ordered):
                ordered.append((name, specs[name][0]))
    done = {name for name, _ in ordered}
    ordered += [(name, spec) for name, (spec, _optional) in specs.items() if name not in done]
    return ordered


def has_widget(spec: Any) -> bool:
    return spec_type(spec) in WIDGET_TYPES and not spec_options(spec).get("forceInput")


def combo_default(spec: Any) -> Any:
    options = spec_options(spec)
    if options.get("default"):
        return options["default"]
    values = combo_values(spec)
    if values:
        return values[0]
    if options.get("remote"):
        return "Loading..."
    return UNDEFINED


def widgets_for(kind: str, name: str, spec: Any) -> list[Widget]:
    """The widgets one input makes (the widget constructor of its type)."""
    wtype, options = spec_type(spec), spec_options(spec)
    default = options.get("default")
    if wtype == "INT":
        widgets = [Widget(name, 0 if default is None else default)]
        control = options.get("control_after_generate")
        if control is None:
            control = name in SEED_NAMES
        if control:
            widgets.append(Widget("control_after_generate", "randomize", prompt=False))
        return widgets
    if wtype == "FLOAT":
        return [Widget(name, 0 if default is None else default)]
    if wtype == "BOOLEAN":
        return [Widget(name, False if default is None else default)]
    if wtype in ("STRING", "MARKDOWN", "TEXTAREA", "COLOR"):
        role = "dynamic" if wtype == "STRING" and options.get("dynamicPrompts") is True else ""
        if name == "filename_prefix" and kind in SAVE_NODE_TYPES:
            role = "filename"
        return [Widget(name, "" if default is None else default, role=role)]
    if wtype == "COMBO":
        widgets = [Widget(name, combo_default(spec), options=options)]
        remote = options.get("remote")
        if isinstance(remote, dict):  # useRemoteWidget: a toggle always, a refresh button if asked
            widgets.append(Widget("Auto-refresh after generation", False, prompt=False))
            if remote.get("refresh_button"):
                widgets.append(Widget("refresh", "refresh"))
        if options.get("control_after_generate"):
            widgets.append(Widget("control_after_generate", "randomize", prompt=False))
            widgets.append(Widget("control_filter_list", "", prompt=False))
        return widgets
    if wtype == "IMAGEUPLOAD":
        return [Widget(name, "image", prompt=False)]
    if wtype == "AUDIOUPLOAD":
        return [Widget(name, "", prompt=False)]
    if wtype == "AUDIO_UI":
        return [Widget("audioUI", "", slot=False)]
    if wtype == "PREVIEW_3D":
        return [Widget("image", "", role="blank")]
    if wtype in ("LOAD_3D", "WEBCAM"):  # BROWSER_ONLY: conversion refuses these nodes
        return [Widget(name, "")]
    return [Widget(name)]  # IMAGECOMPARE, CHART, GALLERIA, AUDIO_RECORD: value set by the browser


def node_widgets(kind: str, info: dict) -> list[Widget]:
    """All widgets of a node type, in the frontend's order."""
    widgets: list[Widget] = []
    for name, spec in ordered_inputs(kind, info):
        if has_widget(spec):
            widgets += widgets_for(kind, name, spec)
        if spec_type(spec) == "IMAGEUPLOAD":  # the upload button wraps its combo's value
            options = spec_options(spec)
            combo = next((w for w in widgets if w.name == options.get("imageInputName")), None)
            if combo is not None:
                combo.role, combo.initial = "upload", js_string(combo.value)
                combo.options = {**combo.options, "image_folder": options.get("image_folder"),
                                 "allow_batch": options.get("allow_batch")}
    if kind == "PreviewAny":  # Comfy.PreviewAny: a read-only text view, saved nowhere, sent empty
        widgets.append(Widget("preview", "", slot=False))
    return widgets


def node_sockets(kind: str, info: dict) -> list[dict]:
    """The input slots a node type gets: sockets without a widget first, then one per widget
    input (with ``widget``), each in input order (the frontend's #addInputs)."""
    specs = ordered_inputs(kind, info)
    sockets = [{"name": name, "type": spec_type(spec)} for name, spec in specs if not has_widget(spec)]
    sockets += [{"name": name, "type": spec_type(spec), "widget": {"name": name}}
                for name, spec in specs if has_widget(spec) and spec_type(spec) not in ("AUDIO_UI",)]
    return sockets


def migrate_values(kind: str, info: dict, widgets: list[Widget], values: list) -> list:
    """migrateWidgetsValues: a file from before forceInput inputs stopped having a value slot
    carries one value per such input; when the count says so, those values are dropped."""
    names = {widget.name for widget in widgets}
    originals = [(name, spec) for name, (spec, _optional) in frontend_inputs(kind, info).items()
                 if name in names or spec_options(spec).get("forceInput")]
    count = sum(2 if spec_options(spec).get("control_after_generate") or name in SEED_NAMES else 1
                for name, spec in originals)
    if count != len(values):
        return values
    return [value for original, value in zip_longest(originals, values)
            if original is None or not spec_options(original[1]).get("forceInput")]


def assign_values(widgets: list[Widget], values: Any) -> None:
    """LGraphNode.configure: ``widgets_values[i]`` goes to the i-th widget that has a slot."""
    if isinstance(values, dict):  # some packs save their widgets by name
        for widget in widgets:
            if widget.name in values:
                widget.set(values[widget.name])
        return
    if not isinstance(values, list):
        return
    slotted = [widget for widget in widgets if widget.slot]
    for widget, value in zip(slotted, values, strict=False):
        widget.set(value)


def serialize_value(widget: Widget, replace) -> Any:
    """The value a widget puts into the prompt (its ``serializeValue``, else its value).
    ``replace`` applies the %search & replace% of save nodes' file names."""
    value = widget.value
    if widget.role == "blank":
        return ""
    if widget.role == "dynamic" and isinstance(value, str):
        return process_dynamic_prompt(value)
    if widget.role == "filename" and isinstance(value, str):
        return replace(value)
    if widget.role == "upload":
        return upload_value(widget)
    return value


def js_truthy(value: Any) -> bool:
    if value is UNDEFINED or value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == value and value != 0
    return True


def upload_value(widget: Widget) -> Any:
    """A media combo's value as its upload widget exposes it (useImageUploadWidget's value
    transform): an annotated path (``name [output]`` for files from the output folder); when a
    value was set but is empty, the file the node was made with."""
    folder = widget.options.get("image_folder") or "input"
    value = widget.value if widget.assigned else widget.initial

    def annotated(item: Any) -> str:
        if isinstance(item, str):
            needs = folder != "input" and not re.search(r"\[(input|output|temp)\]", item, re.IGNORECASE)
            return item + (f" [{folder}]" if needs else "")
        if isinstance(item, dict):
            path = f"{item.get('subfolder')}/{item.get('filename') or ''}" if item.get("subfolder") \
                else str(item.get("filename") or "")
            kind = item.get("type")
            needs = kind and folder != "input" and not re.search(r"\[(input|output|temp)\]", kind, re.IGNORECASE)
            return path + (f" [{folder}]" if needs else "")
        return ""

    if not js_truthy(value):
        return widget.initial
    if isinstance(value, list):
        return [annotated(item) for item in value] if widget.options.get("allow_batch") else annotated(value[0])
    return annotated(value)


def js_string(value: Any) -> str:
    """JavaScript's template-literal conversion of a value."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    return str(value)


def process_dynamic_prompt(text: str, chooser=random.choice) -> str:
    """The frontend's dynamic prompts: C-style comments removed, ``{a|b|c}`` replaced by one
    choice (nested, with ``\\`` escapes), escaped braces and bars unescaped."""
    text = re.sub(r"/\*[\s\S]*?\*/|//.*", "", text)
    position = 0

    def escape() -> str:
        nonlocal position
        char = text[position] if position < len(text) else "undefined"
        position += 1
        return "\\" + char

    def choice_block() -> str:
        nonlocal position
        options, choice, depth = [], "", 0
        while position < len(text):
            char = text[position]
            position += 1
            if char == "\\":
                choice += escape()
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                if not depth:
                    break
                depth -= 1
            elif char == "|" and not depth:
                options.append(choice)
                choice = ""
                continue
            choice += char
        options.append(choice)
        return process_dynamic_prompt(chooser(options), chooser)

    result = ""
    while position < len(text):
        char = text[position]
        position += 1
        if char == "\\":
            result += escape()
        elif char == "{":
            result += choice_block()
        else:
            result += char
    return re.sub(r"\\([{}|])", r"\1", result)


_DATE_PARTS = {"d": lambda d: d.day, "M": lambda d: d.month, "h": lambda d: d.hour, "m": lambda d: d.minute,
               "s": lambda d: d.second}


def format_date(text: str, when: datetime) -> str:
    def one(match: re.Match) -> str:
        token = match.group(0)
        if token == "yy":
            return str(when.year)[2:]
        if token == "yyyy":
            return str(when.year)
        if token[0] in _DATE_PARTS:
            return str(_DATE_PARTS[token[0]](when)).rjust(len(token), "0")
        return token

    return re.sub(r"dd?|MM?|hh?|mm?|ss?|yyy?y?", one, text)


def text_replacements(value: str, nodes: list, now: datetime | None = None) -> str:
    """applyTextReplacements: ``%date:FORMAT%`` and ``%Node.widget%`` (a node named by its
    "Node name for S&R" property, else by title) in a file name. ``nodes``: (properties, title,
    widgets) of every node of the workflow, subgraphs included."""
    def one(match: re.Match) -> str:
        text = match.group(1)
        parts = text.split(".")
        if len(parts) != 2:
            if parts[0].startswith("date:"):
                return format_date(parts[0][5:], now or datetime.now())
            return match.group(0)
        found = [n for n in nodes if (n[0] or {}).get("Node name for S&R") == parts[0]] or \
                [n for n in nodes if n[1] == parts[0]]
        if not found:
            return match.group(0)
        widget = next((w for w in found[0][2] if w.name == parts[1]), None)
        if widget is None:
            return match.group(0)
        shown = "" if widget.value is None or widget.value is UNDEFINED else js_string(widget.value)
        return re.sub(r'[/?<>\\:*|"\x00-\x1F\x7F]', "_", shown)

    return re.sub(r"%([^%]+)%", one, value)


def upload_inputs(info: dict) -> set[str]:
    """Names of a node definition's inputs that take an uploaded file from the input folder."""
    names = set()
    for group in ("required", "optional"):
        for name, spec in ((info.get("input") or {}).get(group) or {}).items():
            if spec_type(spec) == "COMBO" and any(spec_options(spec).get(flag) for flag in UPLOAD_FLAGS):
                names.add(name)
    return names


def default_title(kind: str, info: dict) -> str:
    """The title of an untitled node: the frontend's English display name."""
    if kind in FRONTEND_TITLES:
        return FRONTEND_TITLES[kind]
    name = info.get("display_name")
    return kind if name is None else name
