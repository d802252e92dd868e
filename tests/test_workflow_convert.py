"""UI -> API conversion against hand-written node definitions (no server needed)."""

import pytest

from ganforge.headless.workflow import (
    WorkflowError,
    apply_overrides,
    apply_seed,
    ui_to_api,
    widget_layout,
)

INFO = {
    "Source": {
        "input": {"required": {"seed": ["INT", {}], "mode": [["a", "b"], {}]},
                  "optional": {"note": ["STRING", {"multiline": True}]}},
        "input_order": {"required": ["seed", "mode"], "optional": ["note"]},
        "output": ["IMAGE"], "display_name": "Source",
    },
    "Sink": {
        "input": {"required": {"image": ["IMAGE", {}], "count": ["INT", {"control_after_generate": True}],
                               "strength": ["FLOAT", {}], "linked": ["INT", {"forceInput": True}]}},
        "input_order": {"required": ["image", "count", "strength", "linked"]},
        "output": [], "display_name": "Sink",
    },
    "Upload": {
        "input": {"required": {"image": [["x.png"], {"image_upload": True}], "flag": ["BOOLEAN", {}]}},
        "output": ["IMAGE", "MASK"], "display_name": "Upload",
    },
    "Filter": {
        "input": {"required": {"image": ["IMAGE", {}]}}, "output": ["IMAGE"], "display_name": "Filter",
    },
}


def node(nid, kind, inputs=(), widgets=None, mode=0, outputs=()):
    return {"id": nid, "type": kind, "mode": mode, "inputs": list(inputs), "outputs": list(outputs),
            "widgets_values": widgets if widgets is not None else []}


def test_widget_layout_counts_control_and_upload_values():
    assert widget_layout(INFO["Source"]) == [("seed", 2), ("mode", 1), ("note", 1)]
    assert widget_layout(INFO["Sink"]) == [("count", 2), ("strength", 1)]
    assert widget_layout(INFO["Upload"]) == [("image", 2), ("flag", 1)]


def test_positional_widgets_links_and_titles():
    workflow = {
        "nodes": [
            node(1, "Source", widgets=[42, "randomize", "b", "hello"]),
            {**node(2, "Sink", inputs=[{"name": "image", "type": "IMAGE", "link": 7},
                                       {"name": "linked", "type": "INT", "link": None}],
                    widgets=[3, "fixed", 0.5]), "title": "My sink"},
            node(3, "Note", widgets=["a comment"]),
        ],
        "links": [[7, 1, 0, 2, 0, "IMAGE"]],
    }
    api = ui_to_api(workflow, INFO)
    assert api == {
        "1": {"class_type": "Source", "inputs": {"seed": 42, "mode": "b", "note": "hello"},
              "_meta": {"title": "Source"}},
        "2": {"class_type": "Sink", "inputs": {"count": 3, "strength": 0.5, "image": ["1", 0]},
              "_meta": {"title": "My sink"}},
    }


def test_reroute_primitive_mute_and_bypass():
    workflow = {
        "nodes": [
            node(1, "Source", widgets=[1, "fixed", "a", ""]),
            node(2, "Reroute", inputs=[{"name": "", "type": "*", "link": 10}]),
            node(3, "Filter", inputs=[{"name": "image", "type": "IMAGE", "link": 11}], mode=4),
            node(4, "PrimitiveNode", widgets=[9, "fixed"]),
            node(5, "Sink", inputs=[{"name": "image", "type": "IMAGE", "link": 12},
                                    {"name": "count", "type": "INT", "link": 13, "widget": {"name": "count"}}],
                 widgets=[1, "fixed", 0.25]),
            node(6, "Filter", inputs=[{"name": "image", "type": "IMAGE", "link": 14}], mode=2),
            node(7, "Filter", inputs=[{"name": "image", "type": "IMAGE", "link": 15}]),
        ],
        "links": [
            [10, 1, 0, 2, 0, "IMAGE"],   # source -> reroute
            [11, 2, 0, 3, 0, "IMAGE"],   # reroute -> bypassed filter
            [12, 3, 0, 5, 0, "IMAGE"],   # bypassed filter -> sink
            [13, 4, 0, 5, 1, "INT"],     # primitive -> sink.count
            [14, 1, 0, 6, 0, "IMAGE"],   # source -> muted filter
            [15, 6, 0, 7, 0, "IMAGE"],   # muted filter -> filter 7 (loses its input)
        ],
    }
    api = ui_to_api(workflow, INFO)
    assert set(api) == {"1", "5", "7"}
    assert api["5"]["inputs"] == {"image": ["1", 0], "count": 9, "strength": 0.25}
    assert api["7"]["inputs"] == {}


def test_unknown_node_type_is_named():
    with pytest.raises(WorkflowError, match="node 4 has type 'Mystery'"):
        ui_to_api({"nodes": [node(4, "Mystery")], "links": []}, INFO)


def test_overrides_and_seed():
    api = {"1": {"class_type": "Source", "inputs": {"seed": 1, "mode": "a"}},
           "2": {"class_type": "Sink", "inputs": {"seed": ["1", 0]}}}
    changed = apply_overrides(api, ["1.mode=b", "1.note=\"x y\"", "1.count=5"])
    assert changed["1"]["inputs"] == {"seed": 1, "mode": "b", "note": "x y", "count": 5}
    assert api["1"]["inputs"]["mode"] == "a"  # the original is not modified
    seeded, names = apply_seed(api, 77)
    assert seeded["1"]["inputs"]["seed"] == 77 and seeded["2"]["inputs"]["seed"] == ["1", 0]
    assert names == ["1.seed"]
    with pytest.raises(WorkflowError, match="no node 9"):
        apply_overrides(api, ["9.seed=1"])
    with pytest.raises(WorkflowError, match=r"NODE_ID\.INPUT=VALUE"):
        apply_overrides(api, ["seed=1"])
