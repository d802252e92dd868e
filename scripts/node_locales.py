"""Write locales/en/nodeDefs.json from the live node schemas, and check the other languages.

ComfyUI serves every custom node's ``locales/<lang>/main.json`` and ``nodeDefs.json`` (merged
under the key ``nodeDefs``) at ``/api/i18n`` (app/custom_node_manager.py); the frontend merges
them into its messages and looks up ``nodeDefs.<node id>.display_name``, ``.description``,
``.inputs.<input>.name`` / ``.tooltip`` and ``.outputs.<index>.name`` / ``.tooltip``.

The English file is generated, never edited: it mirrors what ``/object_info`` says about every
``GANForge*`` node, so a schema change without regenerating fails tests/test_locales.py. German
and Russian (locales/de, locales/ru) are written by hand from it; this script lists what they lack.

    .venv/bin/python scripts/node_locales.py               # start the embedded ComfyUI, write en, report
    .venv/bin/python scripts/node_locales.py --server URL  # use a running server with the pack
    .venv/bin/python scripts/node_locales.py --check       # write nothing; exit 1 if en is stale or a
                                                           # language lacks something
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

PACK_ROOT = Path(__file__).resolve().parent.parent
LOCALES = PACK_ROOT / "locales"
PREFIX = "GANForge"
LANGUAGES = ("en", "de", "ru")


def i18n_key(name: str) -> str:
    """The frontend's normalizeI18nKey: dots would split the message path."""
    return name.replace(".", "_")


def node_defs(object_info: dict, prefix: str = PREFIX) -> dict:
    """The English nodeDefs entries of every node whose id starts with ``prefix``, in the server's order."""
    defs = {}
    for node_id, info in object_info.items():
        if not node_id.startswith(prefix):
            continue
        entry: dict = {"display_name": info.get("display_name") or node_id}
        if info.get("description"):
            entry["description"] = info["description"]
        inputs = {}
        order = info.get("input_order") or {section: list(info["input"].get(section, {}))
                                             for section in ("required", "optional")}
        for section in ("required", "optional"):
            for name in order.get(section, []):
                spec = info["input"][section][name]
                options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                item = {"name": options.get("display_name") or name}
                if options.get("tooltip"):
                    item["tooltip"] = options["tooltip"]
                inputs[i18n_key(name)] = item
        if inputs:
            entry["inputs"] = inputs
        outputs = {}
        tooltips = info.get("output_tooltips") or []
        for index, output_type in enumerate(info.get("output", [])):
            names = info.get("output_name") or []
            item = {"name": names[index] if index < len(names) and names[index] else str(output_type)}
            if index < len(tooltips) and tooltips[index]:
                item["tooltip"] = tooltips[index]
            outputs[str(index)] = item
        if outputs:
            entry["outputs"] = outputs
        defs[i18n_key(node_id)] = entry
    return defs


def gaps(english: dict, other: dict) -> list[str]:
    """What ``other`` (a translation) lacks against ``english``, and what it has that English no
    longer has (renamed or removed nodes, inputs, outputs)."""
    found = []
    for node_id, entry in english.items():
        theirs = other.get(node_id)
        if not isinstance(theirs, dict):
            found.append(f"{node_id}: missing")
            continue
        for key in ("display_name", "description"):
            if key in entry and not str(theirs.get(key) or "").strip():
                found.append(f"{node_id}: no {key}")
        for part in ("inputs", "outputs"):
            mine, their_part = entry.get(part, {}), theirs.get(part) or {}
            for name, item in mine.items():
                translated = their_part.get(name)
                if not isinstance(translated, dict) or not str(translated.get("name") or "").strip():
                    found.append(f"{node_id}: {part}.{name} has no name")
                elif "tooltip" in item and not str(translated.get("tooltip") or "").strip():
                    found.append(f"{node_id}: {part}.{name} has no tooltip")
            found += [f"{node_id}: {part}.{name} is not in the schema (renamed or removed?)"
                      for name in their_part if name not in mine]
    found += [f"{node_id}: not a node any more (renamed or removed?)" for node_id in other if node_id not in english]
    return found


def locale_path(language: str, name: str = "nodeDefs.json") -> Path:
    return LOCALES / language / name


def load(language: str, name: str = "nodeDefs.json") -> dict:
    path = locale_path(language, name)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def dump(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def object_info_from(url: str) -> dict:
    with urllib.request.urlopen(f"{url.rstrip('/')}/object_info", timeout=120) as response:
        return json.load(response)


def object_info_from_embedded() -> dict:
    """Start the embedded ComfyUI (CPU, an isolated base folder with the pack linked in) and read it."""
    from ganforge.headless.embedded import ensure_comfyui
    from ganforge.headless.server import ComfyServer

    base = Path(tempfile.mkdtemp(prefix="ganforge-locales-"))
    try:
        with ComfyServer(ensure_comfyui(quiet=True), log_path=base / "comfyui.log", cpu=True,
                         base_directory=base) as server:
            return object_info_from(server.url)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="a running ComfyUI with GANForge (default: start the embedded one)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when something is out of date")
    args = parser.parse_args(argv)

    info = object_info_from(args.server) if args.server else object_info_from_embedded()
    english = node_defs(info)
    if not english:
        print(f"no {PREFIX}* nodes in /object_info: is the pack loaded?", file=sys.stderr)
        return 1
    status = 0
    current = locale_path("en").read_text(encoding="utf-8") if locale_path("en").is_file() else ""
    if current != dump(english):
        if args.check:
            print("locales/en/nodeDefs.json is out of date: run scripts/node_locales.py", file=sys.stderr)
            status = 1
        else:
            locale_path("en").parent.mkdir(parents=True, exist_ok=True)
            locale_path("en").write_text(dump(english), encoding="utf-8")
            print(f"wrote {locale_path('en').relative_to(PACK_ROOT)}: {len(english)} nodes")
    else:
        print(f"locales/en/nodeDefs.json is up to date ({len(english)} nodes)")
    languages = sorted(p.name for p in LOCALES.iterdir() if p.is_dir() and p.name != "en") if LOCALES.is_dir() else []
    for language in languages:
        missing = gaps(english, load(language))
        if missing:
            status = 1 if args.check else status
            print(f"locales/{language}/nodeDefs.json: {len(missing)} to translate or remove:")
            print("\n".join(f"  {line}" for line in missing))
        else:
            print(f"locales/{language}/nodeDefs.json: complete")
    return status


if __name__ == "__main__":
    sys.exit(main())
