"""Node translations (locales/<lang>/nodeDefs.json, main.json): complete, in step with the node
schemas, and served by ComfyUI at /api/i18n, where the frontend fetches them."""

from __future__ import annotations

import importlib.util
import json
import urllib.request
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "de", "ru")
REGENERATE = "run scripts/node_locales.py (it regenerates locales/en/nodeDefs.json from the node schemas)"


def _generator():
    spec = importlib.util.spec_from_file_location("node_locales", PACK / "scripts" / "node_locales.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


node_locales = _generator()


def _load(language: str, name: str = "nodeDefs.json") -> dict:
    path = PACK / "locales" / language / name
    assert path.is_file(), f"{path} is missing"
    return json.loads(path.read_text(encoding="utf-8"))


# --- no server -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_files_are_json_in_the_frontends_shape(language):
    defs = _load(language)
    assert defs, f"locales/{language}/nodeDefs.json is empty"
    for node_id, entry in defs.items():
        assert node_id.startswith("GANForge"), f"{language}: {node_id} is not a GANForge node"
        assert isinstance(entry.get("display_name"), str) and entry["display_name"].strip(), node_id
        for part in ("inputs", "outputs"):
            for key, item in entry.get(part, {}).items():
                assert set(item) <= {"name", "tooltip"}, f"{language} {node_id}.{part}.{key}: {sorted(item)}"
                assert "." not in key, f"{node_id}.{part}.{key}: the frontend replaces dots by underscores"
        assert all(index.isdigit() for index in entry.get("outputs", {})), f"{node_id}: outputs are keyed by index"


@pytest.mark.parametrize("language", ["de", "ru"])
def test_translation_covers_english_and_is_translated(language):
    english, other = _load("en"), _load(language)
    assert node_locales.gaps(english, other) == []
    # a copied English file would pass the coverage check: the descriptions must differ
    same = [n for n, e in english.items() if e.get("description") and other[n].get("description") == e["description"]]
    assert not same, f"{language}: untranslated descriptions: {same}"
    alphabet = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя") if language == "ru" else set("äöüß")
    text = json.dumps(other, ensure_ascii=False).lower()
    assert alphabet & set(text), f"locales/{language} does not look like {language}"


def test_generator_builds_entries_from_object_info():
    info = {
        "GANForgeX": {
            "display_name": "GANForge X", "description": "Does x.",
            "input": {"required": {"a.b": ["INT", {"tooltip": "A."}]}, "optional": {"c": ["IMAGE", {}]}},
            "input_order": {"required": ["a.b"], "optional": ["c"]},
            "output": ["IMAGE", "INT"], "output_name": ["IMAGE", "count"], "output_tooltips": ["Out.", None],
        },
        "KSampler": {"display_name": "KSampler", "input": {}, "output": []},
    }
    assert node_locales.node_defs(info) == {"GANForgeX": {
        "display_name": "GANForge X", "description": "Does x.",
        "inputs": {"a_b": {"name": "a.b", "tooltip": "A."}, "c": {"name": "c"}},
        "outputs": {"0": {"name": "IMAGE", "tooltip": "Out."}, "1": {"name": "count"}}}}
    stale = {"GANForgeX": {"display_name": "X", "description": "x",
                           "inputs": {"a_b": {"name": "a"}, "old": {"name": "o"}},
                           "outputs": {"0": {"name": "i", "tooltip": "t"}}},
             "GANForgeGone": {"display_name": "g"}}
    assert node_locales.gaps(node_locales.node_defs(info), stale) == [
        "GANForgeX: inputs.a_b has no tooltip", "GANForgeX: inputs.c has no name",
        "GANForgeX: inputs.old is not in the schema (renamed or removed?)", "GANForgeX: outputs.1 has no name",
        "GANForgeGone: not a node any more (renamed or removed?)"]


# --- against the real server ---------------------------------------------------------------------


@pytest.mark.server
def test_every_node_has_english_german_and_russian_entries(comfy):
    ours = {node_id: info for node_id, info in comfy.object_info.items() if node_id.startswith("GANForge")}
    assert ours, "no GANForge nodes on the server"
    for language in LANGUAGES:
        defs = _load(language)
        missing = sorted(set(map(node_locales.i18n_key, ours)) - set(defs))
        assert not missing, f"locales/{language}/nodeDefs.json lacks {missing}: " + (
            REGENERATE if language == "en" else f"translate them (scripts/node_locales.py lists what {language} lacks)")
        for node_id, info in ours.items():
            entry = defs[node_locales.i18n_key(node_id)]
            for section in ("required", "optional"):
                for name in (info.get("input_order") or {}).get(section, []):
                    item = entry.get("inputs", {}).get(node_locales.i18n_key(name), {})
                    assert str(item.get("name") or "").strip(), f"{language}: {node_id} input {name} has no name"
            for index in range(len(info.get("output", []))):
                item = entry.get("outputs", {}).get(str(index), {})
                assert str(item.get("name") or "").strip(), f"{language}: {node_id} output {index} has no name"


@pytest.mark.server
def test_category_translations_touch_only_our_own_categories(comfy):
    """main.json's nodeCategories is merged into the frontend's global table: it may translate only
    category segments of GANForge nodes that no other node uses, so core categories stay as they are."""
    ours, others = set(), set()
    for node_id, info in comfy.object_info.items():
        (ours if node_id.startswith("GANForge") else others).update(info.get("category", "").split("/"))
    for language in ("de", "ru"):
        categories = _load(language, "main.json").get("nodeCategories", {})
        assert set(categories) <= ours - others, f"{language}: {sorted(set(categories) - (ours - others))}"
    assert "Super-resolution" in ours - others


@pytest.mark.server
def test_english_matches_the_node_schemas(comfy):
    expected = node_locales.node_defs(comfy.object_info)
    actual = _load("en")
    changed = sorted(n for n in set(expected) | set(actual) if expected.get(n) != actual.get(n))
    assert not changed, f"locales/en/nodeDefs.json differs from the node schemas for {changed}: {REGENERATE}"
    assert (PACK / "locales" / "en" / "nodeDefs.json").read_text(encoding="utf-8") == node_locales.dump(expected), \
        f"locales/en/nodeDefs.json is not in the generated form: {REGENERATE}"


@pytest.mark.server
def test_server_serves_the_translations_where_the_frontend_fetches_them(comfy):
    # The frontend (1.32.9) calls api.getCustomNodesI18n(): GET /api/i18n, then merges each
    # language into its messages; ComfyUI builds the answer from custom_nodes/*/locales/<lang>/.
    with urllib.request.urlopen(f"{comfy.url}/api/i18n", timeout=30) as response:
        assert response.status == 200
        served = json.load(response)
    for language in LANGUAGES:
        assert language in served, f"/api/i18n has no {language!r}: {sorted(served)}"
        node_defs = served[language].get("nodeDefs", {})
        for node_id, entry in _load(language).items():
            assert node_defs.get(node_id) == entry, f"/api/i18n serves another {language} entry for {node_id}"
    assert served["de"]["nodeCategories"]["Super-resolution"] == _load("de", "main.json")["nodeCategories"][
        "Super-resolution"]
    assert served["de"]["nodeDefs"]["GANForgeMapping"]["display_name"] == "GANForge Mapping (Z nach W)"
