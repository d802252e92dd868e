"""Label maps for semantic image synthesis (SPADE / GauGAN, pix2pixHD).

A semantic generator takes a one-hot map ``[N, semantic_nc, H, W]``: channels ``0..label_nc-1``
are the classes, then one "don't care" channel when the model has one (``contain_dontcare``),
then the instance-edge channel last when the model uses instances. This module turns what a
person has into that map:

* a colour-coded label picture (painted in a palette's colours, or a dataset's colour or index
  PNG) -> class indices, :func:`labels_from_colours`, with a report of every colour that is not
  in the palette (which, how many pixels, where);
* ComfyUI MASK batches, one mask per class -> class indices, :func:`labels_from_masks`;
* an instance picture (one colour per object) -> instance ids -> the edge map,
  :func:`instance_ids_from_image` and :func:`instance_edges`;
* class indices -> the one-hot input, :func:`one_hot_semantics`.

Class indices are ``LongTensor [N, H, W]``; ``-1`` (:data:`DONTCARE`) means "don't care" (it
goes to the model's don't-care channel). The released models' conventions (facts §4):

=========== ======== ================ ============ ===========
dataset     label_nc contain_dontcare instance     semantic_nc
=========== ======== ================ ============ ===========
COCO-Stuff  182      yes (raw 255)    yes          184
ADE20K      150      yes (raw 0)      no           151
Cityscapes  35       no               yes          36
=========== ======== ================ ============ ===========

Palette sources (colours and names are data, copied as published):

* ADE20K, ``"ade20k"``: the SceneParsing benchmark's 150 colours (CSAIL ``color150``), as
  published in text by mmsegmentation,
  https://github.com/open-mmlab/mmsegmentation/blob/main/mmseg/datasets/ade.py (``palette``
  and ``classes``). The same colours are what the ADE20K segmentation preprocessors of
  ControlNet (UniFormer, OneFormer) draw, so they are what a ComfyUI user usually has. The
  palette repeats one colour: (140, 140, 140) is both 6 "road" and 48 "skyscraper"; a colour
  picture cannot tell them apart and reads as "road" (:meth:`Palette.duplicates`). ADE20K's
  raw 0 ("other", the don't-care class) has no colour there; black is used for it here.
* COCO-Stuff, ``"cocostuff"``: names from https://github.com/nightrome/cocostuff/blob/master/labels.txt
  (ids 1..182; SPADE's class i is COCO-Stuff id i+1, raw 255 "unlabeled" is don't care, as in
  SPADE's ``util/coco.py``). COCO-Stuff publishes no colour for all 182 classes (its
  stuffthingmaps are index PNGs; cocostuffapi's ``getCMap`` paints every thing class black), so
  the colours are SPADE's own visualisation colormap (see "*-spade" below).
* Cityscapes, ``"cityscapes"``: labelIds 0..33 with their names and colours from cityscapesScripts,
  https://github.com/mcordts/cityscapesScripts/blob/master/cityscapesscripts/helpers/labels.py
  (``gtFine_color.png``; also pix2pixHD's and SPADE's ``labelcolormap(35)``). Ids 0..4 share
  black and 17/18 (pole, polegroup) share grey, so those read as 0 and 17. "license plate" has
  id -1 (never written into labelIds pictures; its colour is the car's) and is left out; channel
  34 of the 35 has no dataset class.
* ``"<dataset>-spade"``: the colours SPADE's visualiser gives its input labels
  (https://github.com/NVlabs/SPADE/blob/master/util/visualizer.py calls
  ``util.tensor2label(t, label_nc + 2)``, and ``util/util.py`` ``labelcolormap(N)`` for that N is
  the bit-interleaving colormap of id = class + 1: bit 3k+c of id sets bit 7-k of channel c).
  For Cityscapes that differs from the official colours; ``"cocostuff"`` is this colormap.
* ``"<dataset>-index"``: the grey value of an index PNG (ADE20K SceneParsing annotations,
  COCO-Stuff stuffthingmaps, Cityscapes ``*_labelIds.png``) read through the dataset's
  convention: ADE20K v -> v-1 with 0 -> don't care; COCO-Stuff v -> v with 255 -> don't care;
  Cityscapes v -> v.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import torch

DONTCARE = -1
"""The class index meaning "don't care" (the model's don't-care channel)."""

UNKNOWN_MODES = ("error", "dontcare", "nearest", "neighbour")
NEIGHBOUR_STEPS = 16
"""How far (pixels) ``unknown="neighbour"`` grows known classes into unknown colours."""

RGB = tuple[int, int, int]


class PaletteError(ValueError):
    """A palette (usually a user's JSON) is malformed; the message says what and how to fix it."""


class LabelError(ValueError):
    """Labels do not fit a model or an operation; the message says what and how to fix it."""


def colour_hex(colour: Sequence[int]) -> str:
    """(r, g, b) -> ``"#rrggbb"``."""
    r, g, b = (int(c) for c in colour)
    return f"#{r:02x}{g:02x}{b:02x}"


def _where(picture: int, x: int, y: int) -> str:
    return f"({x}, {y}) in picture {picture}"


# --------------------------------------------------------------------------------------------
# Palettes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    """Colours and the model class each one means.

    ``class_ids[i]`` is the class (model channel) of ``colours[i]``; ``-1`` (or None) is "don't
    care". A colour listed twice reads as its first class (see :meth:`duplicates`). ``label_nc``
    is the class count of the models the palette is made for (None for a user palette);
    ``unused`` lists classes the dataset never annotates (a model trained on it has not seen them).
    """

    name: str
    colours: tuple[RGB, ...]
    class_ids: tuple[int, ...]
    names: tuple[str, ...] = ()
    label_nc: int | None = None
    source: str = ""
    unused: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        colours = tuple(tuple(int(c) for c in colour) for colour in self.colours)
        class_ids = tuple(DONTCARE if c is None else int(c) for c in self.class_ids)
        names = tuple(str(n) for n in self.names) or tuple("" for _ in colours)
        if not colours:
            raise PaletteError(f"palette {self.name!r} has no colours")
        if len(class_ids) != len(colours) or len(names) != len(colours):
            raise PaletteError(f"palette {self.name!r}: {len(colours)} colours, {len(class_ids)} class ids and "
                               f"{len(names)} names; give one class id and one name per colour")
        for colour in colours:
            if len(colour) != 3 or not all(0 <= c <= 255 for c in colour):
                raise PaletteError(f"palette {self.name!r}: colour {colour} is not three 0..255 values")
        if any(c < DONTCARE for c in class_ids):
            raise PaletteError(f"palette {self.name!r}: class ids are 0 or more, or -1 for don't care")
        object.__setattr__(self, "colours", colours)
        object.__setattr__(self, "class_ids", class_ids)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "unused", tuple(int(c) for c in self.unused))

    def __len__(self) -> int:
        return len(self.colours)

    def class_name(self, class_id: int) -> str:
        """The name of a class (its first entry's), "don't care" for -1, else ``"class N"``."""
        for cid, name in zip(self.class_ids, self.names, strict=True):
            if cid == class_id and name:
                return name
        return "don't care" if class_id == DONTCARE else f"class {class_id}"

    name_of = class_name

    def colour_of(self, class_id: int) -> RGB | None:
        """The first colour listed for ``class_id`` (None when the palette has none)."""
        for colour, cid in zip(self.colours, self.class_ids, strict=True):
            if cid == class_id:
                return colour
        return None

    def duplicates(self) -> list[tuple[RGB, list[int]]]:
        """Colours listed for more than one class: (colour, classes); the first class is the one read."""
        seen: dict[RGB, list[int]] = {}
        for colour, cid in zip(self.colours, self.class_ids, strict=True):
            seen.setdefault(colour, [])
            if cid not in seen[colour]:
                seen[colour].append(cid)
        return [(colour, cids) for colour, cids in seen.items() if len(cids) > 1]

    @cached_property
    def _lookup(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Distinct colours ``[P, 3]`` (int32) and their classes ``[P]``, first entry winning."""
        first: dict[RGB, int] = {}
        for colour, cid in zip(self.colours, self.class_ids, strict=True):
            first.setdefault(colour, cid)
        return (torch.tensor(list(first), dtype=torch.int32),
                torch.tensor(list(first.values()), dtype=torch.long))

    def to_json(self) -> str:
        """The palette in the list form :func:`palette_from_json` reads (a start for a user's own);
        a colour listed twice is written once, with the class it reads as."""
        entries, seen = [], set()
        for colour, cid, name in zip(self.colours, self.class_ids, self.names, strict=True):
            if colour not in seen:  # a repeated colour reads as its first class; the JSON keeps that one
                seen.add(colour)
                entries.append({"name": name, "colour": colour_hex(colour), "class": None if cid == DONTCARE else cid})
        return json.dumps(entries, indent=1)


_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def _parse_colour(value: Any, where: str) -> RGB:
    if isinstance(value, str):
        match = _HEX.fullmatch(value.strip())
        if not match:
            raise PaletteError(f"{where}: colour {value!r} is not \"#rrggbb\"; write it like \"#87ceeb\" "
                               "or as [r, g, b] with 0..255 integers")
        digits = match.group(1)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    if isinstance(value, (list, tuple)):
        if len(value) != 3 or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value):
            raise PaletteError(f"{where}: colour {value!r} must be three numbers [r, g, b] (0..255) or \"#rrggbb\"")
        if any(isinstance(c, float) and not c.is_integer() for c in value):
            hint = " (these look like 0..1 values: multiply by 255)" if all(0 <= c <= 1 for c in value) else ""
            raise PaletteError(f"{where}: colour {list(value)} has fractions; colours are 0..255 integers{hint}")
        if not all(0 <= c <= 255 for c in value):
            raise PaletteError(f"{where}: colour {list(value)} is outside 0..255")
        r, g, b = (int(c) for c in value)
        return r, g, b
    raise PaletteError(f"{where}: colour {value!r} must be \"#rrggbb\" or [r, g, b]")


def _parse_class(value: Any, where: str) -> int:
    if value is None:
        return DONTCARE
    if isinstance(value, bool) or not isinstance(value, int):
        hint = f" (write {value} without quotes)" if isinstance(value, str) and value.strip().isdigit() else ""
        raise PaletteError(f"{where}: class {value!r} must be a whole number (the model channel), "
                           f"or null / -1 for don't care{hint}")
    if value < DONTCARE:
        raise PaletteError(f"{where}: class {value} is negative; classes are 0 or more, or -1 / null for don't care")
    return value


_ENTRY_KEYS = {"name", "colour", "color", "class"}


def palette_from_json(text_or_obj: str | bytes | list | dict, name: str = "custom") -> Palette:
    """A user's palette from JSON (text or the parsed object), in either form::

        [{"name": "sky", "colour": "#87ceeb", "class": 156}, {"colour": [0, 0, 0], "class": null}, ...]
        {"#87ceeb": 156, "#000000": null, ...}

    ``class`` is the model channel; null or -1 means "don't care". ``color`` is accepted for
    ``colour``. Raises :class:`PaletteError` saying which entry is wrong and how to write it.
    """
    data = text_or_obj
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as error:
            raise PaletteError(f"the palette is not valid JSON ({error.msg} at line {error.lineno}, column "
                               f"{error.colno}); expected a list like [{{\"name\": \"sky\", \"colour\": \"#87ceeb\", "
                               f"\"class\": 156}}] or a mapping like {{\"#87ceeb\": 156}}") from None
    colours: list[RGB] = []
    class_ids: list[int] = []
    names: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"entry {key!r}"
            if isinstance(value, dict):
                raise PaletteError(f"{where}: in the mapping form each colour maps to a class number "
                                   f"({{\"#87ceeb\": 156}}); use the list form for names")
            colours.append(_parse_colour(key, where))
            class_ids.append(_parse_class(value, where))
            names.append("")
    elif isinstance(data, list):
        for index, entry in enumerate(data):
            where = f"entry {index}"
            if not isinstance(entry, dict):
                raise PaletteError(f"{where}: expected an object like {{\"name\": \"sky\", \"colour\": \"#87ceeb\", "
                                   f"\"class\": 156}}, got {entry!r}")
            if "name" in entry:
                where += f" ({entry['name']!r})"
            extra = sorted(set(entry) - _ENTRY_KEYS)
            if extra:
                raise PaletteError(f"{where}: unknown key(s) {', '.join(map(repr, extra))}; an entry has "
                                   "\"name\" (optional), \"colour\" (or \"color\") and \"class\"")
            colour = entry.get("colour", entry.get("color"))
            if colour is None:
                raise PaletteError(f"{where}: no \"colour\"; add one like \"colour\": \"#87ceeb\"")
            if "class" not in entry:
                raise PaletteError(f"{where}: no \"class\"; add the model channel it means, e.g. \"class\": 156 "
                                   "(null for don't care)")
            colours.append(_parse_colour(colour, where))
            class_ids.append(_parse_class(entry["class"], where))
            names.append(str(entry.get("name") or ""))
    else:
        raise PaletteError(f"the palette must be a JSON list of entries or a mapping of colours to classes, "
                           f"not {type(data).__name__}")
    if not colours:
        raise PaletteError("the palette is empty; give at least one colour and its class")
    seen: dict[RGB, tuple[int, int]] = {}
    for index, (colour, cid) in enumerate(zip(colours, class_ids, strict=True)):
        if colour in seen and seen[colour][1] != cid:
            other, other_class = seen[colour]
            raise PaletteError(f"colour {colour_hex(colour)} is given for class {other_class} (entry {other}) and "
                               f"class {cid} (entry {index}); a colour can mean one class only")
        seen.setdefault(colour, (index, cid))
    return Palette(name, tuple(colours), tuple(class_ids), tuple(names))


def _spade_colour(class_id: int) -> RGB:
    """SPADE's visualisation colour of a class: the bit-interleaved colour of ``class_id + 1``."""
    code, rgb = class_id + 1, [0, 0, 0]
    for level in range(7):
        for channel in range(3):
            rgb[channel] |= ((code >> (3 * level + channel)) & 1) << (7 - level)
    return rgb[0], rgb[1], rgb[2]


def _split(text: str, separator: str) -> tuple[str, ...]:
    return tuple(text.split(separator))


_ADE20K_NAMES = _split(
    "wall|building|sky|floor|tree|ceiling|road|bed|windowpane|grass|cabinet|sidewalk|person|earth|door|table|"
    "mountain|plant|curtain|chair|car|water|painting|sofa|shelf|house|sea|mirror|rug|field|armchair|seat|fence|"
    "desk|rock|wardrobe|lamp|bathtub|railing|cushion|base|box|column|signboard|chest of drawers|counter|sand|sink|"
    "skyscraper|fireplace|refrigerator|grandstand|path|stairs|runway|case|pool table|pillow|screen door|stairway|"
    "river|bridge|bookcase|blind|coffee table|toilet|flower|book|hill|bench|countertop|stove|palm|kitchen island|"
    "computer|swivel chair|boat|bar|arcade machine|hovel|bus|towel|light|truck|tower|chandelier|awning|streetlight|"
    "booth|television receiver|airplane|dirt track|apparel|pole|land|bannister|escalator|ottoman|bottle|buffet|"
    "poster|stage|van|ship|fountain|conveyer belt|canopy|washer|plaything|swimming pool|stool|barrel|basket|"
    "waterfall|tent|bag|minibike|cradle|oven|ball|food|step|tank|trade name|microwave|pot|animal|bicycle|lake|"
    "dishwasher|screen|blanket|sculpture|hood|sconce|vase|traffic light|tray|ashcan|fan|pier|crt screen|plate|"
    "monitor|bulletin board|shower|radiator|glass|clock|flag"
, "|")

_ADE20K_COLOURS = _split(
    "787878 b47878 06e6e6 503232 04c803 787850 8c8c8c cc05ff e6e6e6 04fa07 "
    "e005ff ebff07 96053d 787846 08ff33 ff0652 8fff8c ccff04 ff3307 cc4603 "
    "0066c8 3de6fa ff0633 0b66ff ff0747 ff09e0 0907e6 dcdcdc ff095c 7009ff "
    "08ffd6 07ffe0 ffb806 0aff47 ff290a 07ffff e0ff08 6608ff ff3d06 ffc207 "
    "ff7a08 00ff14 ff0829 ff0599 0633ff eb0cff a09614 00a3ff 8c8c8c fa0a0f "
    "14ff00 1fff00 ff1f00 ffe000 99ff00 0000ff ff4700 00ebff 00adff 1f00ff "
    "0bc8c8 ff5200 00fff5 003dff 00ff70 00ff85 ff0000 ffa300 ff6600 c2ff00 "
    "008fff 33ff00 0052ff 00ff29 00ffad 0a00ff adff00 00ff99 ff5c00 ff00ff "
    "ff00f5 ff0066 ffad00 ff0014 ffb8b8 001fff 00ff3d 0047ff ff00cc 00ffc2 "
    "00ff52 000aff 0070ff 3300ff 00c2ff 007aff 00ffa3 ff9900 00ff0a ff7000 "
    "8fff00 5200ff a3ff00 ffeb00 08b8aa 8500ff 00ff5c b800ff ff001f 00b8ff "
    "00d6ff ff0070 5cff00 00e0ff 70e0ff 46b8a0 a300ff 9900ff 47ff00 ff00a3 "
    "ffcc00 ff008f 00ffeb 85ff00 ff00eb f500ff ff007a fff500 0abed4 d6ff00 "
    "00ccff 1400ff ffff00 0099ff 0029ff 00ffcc 2900ff 29ff00 ad00ff 00f5ff "
    "4700ff 7a00ff 00ffb8 005cff b8ff00 0085ff ffd600 19c2c2 66ff00 5c00ff"
, " ")

# COCO-Stuff ids 1..182 (SPADE class = id - 1).
_COCOSTUFF_NAMES = _split(
    "person|bicycle|car|motorcycle|airplane|bus|train|truck|boat|traffic light|fire hydrant|street sign|stop sign|"
    "parking meter|bench|bird|cat|dog|horse|sheep|cow|elephant|bear|zebra|giraffe|hat|backpack|umbrella|shoe|"
    "eye glasses|handbag|tie|suitcase|frisbee|skis|snowboard|sports ball|kite|baseball bat|baseball glove|"
    "skateboard|surfboard|tennis racket|bottle|plate|wine glass|cup|fork|knife|spoon|bowl|banana|apple|sandwich|"
    "orange|broccoli|carrot|hot dog|pizza|donut|cake|chair|couch|potted plant|bed|mirror|dining table|window|desk|"
    "toilet|door|tv|laptop|mouse|remote|keyboard|cell phone|microwave|oven|toaster|sink|refrigerator|blender|book|"
    "clock|vase|scissors|teddy bear|hair drier|toothbrush|hair brush|banner|blanket|branch|bridge|building-other|"
    "bush|cabinet|cage|cardboard|carpet|ceiling-other|ceiling-tile|cloth|clothes|clouds|counter|cupboard|curtain|"
    "desk-stuff|dirt|door-stuff|fence|floor-marble|floor-other|floor-stone|floor-tile|floor-wood|flower|fog|"
    "food-other|fruit|furniture-other|grass|gravel|ground-other|hill|house|leaves|light|mat|metal|mirror-stuff|moss|"
    "mountain|mud|napkin|net|paper|pavement|pillow|plant-other|plastic|platform|playingfield|railing|railroad|river|"
    "road|rock|roof|rug|salad|sand|sea|shelf|sky-other|skyscraper|snow|solid-other|stairs|stone|straw|"
    "structural-other|table|tent|textile-other|towel|tree|vegetable|wall-brick|wall-concrete|wall-other|wall-panel|"
    "wall-stone|wall-tile|wall-wood|water-other|waterdrops|window-blind|window-other|wood"
, "|")
# The 11 COCO thing ids without any segmentation (COCO-Stuff README): street sign, hat, shoe,
# eye glasses, plate, mirror, window, desk, door, blender, hair brush (ids 12 26 29 30 45 66 68 69 71 83 91).
_COCOSTUFF_UNUSED = (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)

_CITYSCAPES = (
    ("unlabeled", (0, 0, 0)), ("ego vehicle", (0, 0, 0)), ("rectification border", (0, 0, 0)),
    ("out of roi", (0, 0, 0)), ("static", (0, 0, 0)), ("dynamic", (111, 74, 0)), ("ground", (81, 0, 81)),
    ("road", (128, 64, 128)), ("sidewalk", (244, 35, 232)), ("parking", (250, 170, 160)),
    ("rail track", (230, 150, 140)), ("building", (70, 70, 70)), ("wall", (102, 102, 156)),
    ("fence", (190, 153, 153)), ("guard rail", (180, 165, 180)), ("bridge", (150, 100, 100)),
    ("tunnel", (150, 120, 90)), ("pole", (153, 153, 153)), ("polegroup", (153, 153, 153)),
    ("traffic light", (250, 170, 30)), ("traffic sign", (220, 220, 0)), ("vegetation", (107, 142, 35)),
    ("terrain", (152, 251, 152)), ("sky", (70, 130, 180)), ("person", (220, 20, 60)), ("rider", (255, 0, 0)),
    ("car", (0, 0, 142)), ("truck", (0, 0, 70)), ("bus", (0, 60, 100)), ("caravan", (0, 0, 90)),
    ("trailer", (0, 0, 110)), ("train", (0, 80, 100)), ("motorcycle", (0, 0, 230)), ("bicycle", (119, 11, 32)),
)

_SOURCES = {
    "ade20k": "SceneParsing/CSAIL color150 as in mmsegmentation mmseg/datasets/ade.py (ControlNet's ADE20K "
              "segmentors draw these); black = raw 0 'other' (don't care)",
    "cocostuff": "SPADE's visualisation colormap (util/util.py labelcolormap, N = label_nc + 2); names from "
                 "nightrome/cocostuff labels.txt ids 1..182",
    "cityscapes": "cityscapesScripts helpers/labels.py colours of labelIds 0..33 (gtFine_color.png; pix2pixHD)",
    "spade": "SPADE's visualisation colormap (util/util.py labelcolormap, N = label_nc + 2)",
    "index": "grey value of the dataset's index PNG",
}


def _grey(v: int) -> RGB:
    return v, v, v


def _built_in() -> dict[str, Palette]:
    ade_classes = list(range(150))
    ade_names = list(_ADE20K_NAMES)
    coco_classes = list(range(182))
    city_classes = list(range(len(_CITYSCAPES)))
    city_names = [name for name, _ in _CITYSCAPES]
    dc = "don't care"
    palettes = [
        Palette("ade20k", [_parse_colour(h, "ade20k") for h in _ADE20K_COLOURS] + [(0, 0, 0)],
                [*ade_classes, DONTCARE], [*ade_names, "other (don't care)"], 150, _SOURCES["ade20k"]),
        Palette("ade20k-spade", [_spade_colour(c) for c in range(151)], [*ade_classes, DONTCARE],
                [*ade_names, dc], 150, _SOURCES["spade"]),
        Palette("ade20k-index", [_grey(v) for v in range(151)], [DONTCARE, *ade_classes], [dc, *ade_names], 150,
                _SOURCES["index"] + ": v -> v-1, 0 -> don't care (SceneParsing annotations)"),
        Palette("cocostuff", [_spade_colour(c) for c in range(183)], [*coco_classes, DONTCARE],
                [*_COCOSTUFF_NAMES, "unlabeled (don't care)"], 182, _SOURCES["cocostuff"], _COCOSTUFF_UNUSED),
        Palette("cocostuff-index", [_grey(v) for v in [*coco_classes, 255]], [*coco_classes, DONTCARE],
                [*_COCOSTUFF_NAMES, "unlabeled (don't care)"], 182,
                _SOURCES["index"] + ": v -> v, 255 -> don't care (stuffthingmaps)", _COCOSTUFF_UNUSED),
        Palette("cityscapes", [colour for _, colour in _CITYSCAPES], city_classes, city_names, 35,
                _SOURCES["cityscapes"]),
        Palette("cityscapes-spade", [_spade_colour(c) for c in city_classes], city_classes, city_names, 35,
                _SOURCES["spade"]),
        Palette("cityscapes-index", [_grey(v) for v in city_classes], city_classes, city_names, 35,
                _SOURCES["index"] + ": v -> v (gtFine_labelIds.png)"),
        # the zoo's digits-spade-layout model: paper, then a box labelled with each digit
        Palette("digits-layout", [_parse_colour(h, "digits-layout") for h in _DIGITS_LAYOUT_COLOURS],
                list(range(11)), ["paper", *(f"digit {d}" for d in range(10))], 11,
                "GANForge's digits-spade-layout zoo model"),
    ]
    return {palette.name: palette for palette in palettes}


# White paper and ten well-separated colours, one per digit 0-9 (classes 1-10).
_DIGITS_LAYOUT_COLOURS = ("#ffffff", "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
                          "#bfef45", "#9a6324", "#800000")


PALETTES: dict[str, Palette] = _built_in()
"""The built-in palettes by name (see the module docstring for what each is and where it is from)."""


class SemanticLayout(NamedTuple):
    """How a released model's input channels split (facts §4)."""

    dataset: str
    label_nc: int
    contain_dontcare: bool
    use_instance: bool
    palette: str

    @property
    def semantic_nc(self) -> int:
        return self.label_nc + int(self.contain_dontcare) + int(self.use_instance)


LAYOUTS: dict[int, SemanticLayout] = {
    184: SemanticLayout("COCO-Stuff", 182, True, True, "cocostuff"),
    151: SemanticLayout("ADE20K", 150, True, False, "ade20k"),
    36: SemanticLayout("Cityscapes", 35, False, True, "cityscapes"),
}


def layout_for_channels(semantic_nc: int) -> SemanticLayout | None:
    """The dataset convention for a model's input channel count (184, 151, 36), else None."""
    return LAYOUTS.get(int(semantic_nc))


def palette_for_channels(semantic_nc: int) -> Palette | None:
    """The built-in palette suggested for a model with ``semantic_nc`` input channels, else None."""
    layout = layout_for_channels(semantic_nc)
    return PALETTES[layout.palette] if layout else None


INDEX_CONVENTIONS = ("raw", "ade20k", "coco-stuff", "cityscapes")


def dataset_labels(values: torch.Tensor, convention: str = "raw") -> torch.Tensor:
    """Class indices ``[N, H, W]`` from the stored values of a dataset's index picture: ``"raw"`` and
    ``"cityscapes"`` (labelIds) as stored; ``"ade20k"`` v -> v-1 with 0 ("other") -> don't care;
    ``"coco-stuff"`` 255 ("unlabeled") -> don't care. The values are whole numbers (e.g. a gray
    IMAGE's ``round(v * 255)``), ``[N, H, W]`` or ``[H, W]``."""
    if convention not in INDEX_CONVENTIONS:
        raise LabelError(f"unknown numbering {convention!r}; choose one of {', '.join(INDEX_CONVENTIONS)}")
    labels = _as_labels(values).clone()
    if convention == "ade20k":
        labels -= 1  # 0 ("other") becomes -1, don't care
    elif convention == "coco-stuff":
        labels[labels == 255] = DONTCARE
    return labels


def default_palette(class_count: int) -> Palette:
    """A palette for previews of ``class_count`` classes: SPADE's visualisation colours (distinct
    for any count up to 2**21 - 1), with black for don't care."""
    count = max(int(class_count), 1)
    return Palette(f"spade-{count}", [*(_spade_colour(c) for c in range(count)), (0, 0, 0)],
                   [*range(count), DONTCARE], [*(f"class {c}" for c in range(count)), "don't care"], None,
                   _SOURCES["spade"])


# --------------------------------------------------------------------------------------------
# Colours -> labels
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnknownColour:
    """A colour of the picture that is not within tolerance of any palette colour."""

    colour: RGB
    pixel_count: int
    picture: int
    x: int
    y: int
    nearest_class: int
    nearest_colour: RGB
    distance: int  # max per-channel distance (0..255) to ``nearest_colour``

    def describe(self) -> str:
        return f"{colour_hex(self.colour)} at {_where(self.picture, self.x, self.y)}, {_pixels(self.pixel_count)}"


@dataclass
class LabelResult:
    """Class indices read from a picture, and what could not be read.

    ``labels`` is ``[N, H, W]`` long with -1 for don't care (and for unknown colours under
    ``unknown="dontcare"``). ``unknown`` lists up to 64 unknown colours, most pixels first;
    ``unknown_colours`` / ``unknown_pixels`` count all of them.
    """

    labels: torch.Tensor
    palette: Palette
    tolerance: float
    mode: str
    unknown: list[UnknownColour] = field(default_factory=list)
    unknown_colours: int = 0
    unknown_pixels: int = 0
    filled_from_neighbours: int = 0

    def summary(self, limit: int = 5) -> str:
        """One paragraph: which unknown colours, how many pixels, where, and what was done."""
        if not self.unknown_colours:
            return f"every colour is in the {self.palette.name} palette (tolerance {self.tolerance:g})"
        total = self.labels.numel()
        head = (f"{self.unknown_pixels} of {total} pixels ({100 * self.unknown_pixels / total:.2f}%) have "
                f"{self.unknown_colours} colour{'s' if self.unknown_colours != 1 else ''} not within "
                f"{self.tolerance:g} of the {self.palette.name} palette: ")
        shown = [colour.describe() + f" (nearest: {self.palette.class_name(colour.nearest_class)} "
                 f"{colour_hex(colour.nearest_colour)}, {colour.distance} away)" for colour in self.unknown[:limit]]
        more = self.unknown_colours - len(shown)
        text = head + "; ".join(shown) + (f"; and {more} more" if more > 0 else "") + ". "
        if self.mode == "dontcare":
            text += "They were marked don't care."
        elif self.mode == "nearest":
            text += "They took the nearest palette colour's class."
        elif self.mode == "neighbour":
            rest = self.unknown_pixels - self.filled_from_neighbours
            text += f"{self.filled_from_neighbours} took the class of a neighbouring pixel"
            text += f"; {rest} (more than {NEIGHBOUR_STEPS} pixels from any known colour) took the nearest " \
                    "palette colour's class." if rest else "."
        else:
            text += ("Raise the tolerance (anti-aliased or JPEG edges), pick unknown='neighbour' / 'nearest' / "
                     "'dontcare', choose the palette the picture was painted with, or add the colours to a "
                     "JSON palette.")
        return text


class UnknownColoursError(LabelError):
    """``unknown="error"`` and the picture has colours outside the palette; ``.result`` has the report."""

    def __init__(self, result: LabelResult) -> None:
        super().__init__(result.summary())
        self.result = result


def _as_uint8_rgb(image: torch.Tensor) -> torch.Tensor:
    """[N,H,W,C] or [H,W,C] float 0..1 / uint8 -> uint8 [N,H,W,3] (alpha dropped, grey repeated)."""
    image = image.detach().cpu()
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        raise LabelError(f"expected a picture [N, H, W, 3] (ComfyUI IMAGE), got shape {tuple(image.shape)}")
    image = image[..., :3] if image.shape[-1] == 4 else image
    image = image.expand(*image.shape[:-1], 3) if image.shape[-1] == 1 else image
    if image.dtype == torch.uint8:
        return image
    if image.is_floating_point():
        # The same rounding as imaging.image_to_uint8.
        return (image.float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
    return image.clamp(0, 255).to(torch.uint8)


def _pack(rgb: torch.Tensor) -> torch.Tensor:
    rgb = rgb.to(torch.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack(keys: torch.Tensor) -> torch.Tensor:
    keys = keys.to(torch.int32)
    return torch.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], dim=-1)


def _match(colours: torch.Tensor, palette: torch.Tensor, tolerance: float, chunk: int = 65536):
    """For each colour ``[U,3]``: the palette entry nearest (euclidean) among those within
    ``tolerance`` (max per-channel), or -1; plus the overall nearest entry and its max distance.

    Squared distances come from one matrix product (exact: small integers in float32). Only the
    few colours whose nearest entry is outside the tolerance but might have another entry inside
    it (squared distance <= 3·tolerance²) are checked against every entry."""
    pal = palette.float()
    pal_norm = pal.square().sum(dim=1)
    within_best, nearest, nearest_distance = [], [], []
    for start in range(0, colours.shape[0], chunk):
        part = colours[start:start + chunk].float()
        # |u - p|² - |u|², one fused product: the same order of entries for each colour.
        scores = torch.addmm(pal_norm, part, pal.T, alpha=-2.0)
        near = scores.argmin(dim=1)
        cheb = (part - pal[near]).abs().amax(dim=1)
        best = torch.where(cheb <= tolerance, near, -1)
        near_d2 = scores.gather(1, near[:, None])[:, 0] + part.square().sum(dim=1)
        maybe = ((best < 0) & (near_d2 <= 3 * tolerance**2)).nonzero()[:, 0]
        if maybe.numel():
            full = (part[maybe, None, :] - pal[None]).abs().amax(dim=-1) <= tolerance
            masked = torch.where(full, scores[maybe], float("inf"))
            best[maybe] = torch.where(full.any(dim=1), masked.argmin(dim=1), -1)
        within_best.append(best)
        nearest.append(near)
        nearest_distance.append(cheb.long())
    return torch.cat(within_best), torch.cat(nearest), torch.cat(nearest_distance)


def _grow_into(labels: torch.Tensor, unknown: torch.Tensor, steps: int) -> torch.Tensor:
    """Fill unknown pixels from known 4-neighbours (left, up, right, down first), ``steps`` rounds.
    Returns the still-unknown mask; ``labels`` is filled in place."""
    for _ in range(steps):
        if not unknown.any():
            break
        known = ~unknown
        fill = torch.zeros_like(unknown)
        for dim, shift in ((2, 1), (1, 1), (2, -1), (1, -1)):
            # The neighbour's value at each pixel: roll, then mask the wrapped row/column.
            neighbour = labels.roll(shift, dims=dim)
            neighbour_known = known.roll(shift, dims=dim)
            edge = [slice(None)] * 3
            edge[dim] = slice(0, 1) if shift == 1 else slice(-1, None)
            neighbour_known[tuple(edge)] = False
            take = unknown & ~fill & neighbour_known
            labels[take] = neighbour[take]
            fill |= take
        if not fill.any():
            break
        unknown = unknown & ~fill
    return unknown


def labels_from_colours(image: torch.Tensor, palette: Palette | str, tolerance: float = 8,
                        unknown: str = "error") -> LabelResult:
    """Class indices ``[N, H, W]`` of a colour-coded label picture.

    Each pixel takes the class of the nearest palette colour among those within ``tolerance``
    (max per-channel distance, 0..255 units; exact colours always win). A colour further than
    that from every palette colour is *unknown*, and ``unknown`` says what happens:

    * ``"error"``: raise :class:`UnknownColoursError`, whose message (``result.summary()``) names
      up to 5 colours, their pixel counts and one position each;
    * ``"dontcare"``: mark them -1;
    * ``"nearest"``: the nearest palette colour's class, however far;
    * ``"neighbour"``: the class of an adjacent known pixel, grown up to 16 pixels, then nearest
      (best for anti-aliased edges: the blend between two regions takes one of the two sides,
      where the nearest colour can be a third class).

    Works on the distinct colours (``torch.unique`` of packed 24-bit colours) then indexes, so a
    1024×2048 picture takes a fraction of a second. ``image`` is ComfyUI IMAGE ``[N,H,W,3]``
    float 0..1 or uint8 (alpha is dropped).
    """
    if unknown not in UNKNOWN_MODES:
        raise LabelError(f"unknown={unknown!r}; choose one of {', '.join(UNKNOWN_MODES)}")
    if isinstance(palette, str):
        palette = get_palette(palette)
    if tolerance < 0:
        raise LabelError(f"tolerance {tolerance} is negative; it is the largest per-channel distance (0..255)")
    rgb = _as_uint8_rgb(image)
    N, H, W, _ = rgb.shape
    keys = _pack(rgb).reshape(-1)
    distinct, inverse, counts = torch.unique(keys, return_inverse=True, return_counts=True)
    pal_colours, pal_classes = palette._lookup
    best, nearest, distance = _match(_unpack(distinct), pal_colours, float(tolerance))
    known = best >= 0
    classes = torch.where(known, pal_classes[best.clamp(min=0)], pal_classes[nearest])
    labels = classes[inverse].reshape(N, H, W)
    result = LabelResult(labels, palette, float(tolerance), unknown)
    if bool(known.all()):
        return result

    missing = (~known).nonzero()[:, 0]
    missing = missing[counts[missing].argsort(descending=True, stable=True)]
    first = torch.full((distinct.numel(),), keys.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(keys.numel()), reduce="amin")
    for index in missing[:64].tolist():
        place = int(first[index])
        picture, rest = divmod(place, H * W)
        y, x = divmod(rest, W)
        colour = tuple(int(c) for c in _unpack(distinct[index]).tolist())
        result.unknown.append(UnknownColour(
            colour, int(counts[index]), picture, x, y, int(pal_classes[nearest[index]]),
            tuple(int(c) for c in pal_colours[nearest[index]].tolist()), int(distance[index])))
    result.unknown_colours = int(missing.numel())
    result.unknown_pixels = int(counts[missing].sum())
    if unknown == "error":
        raise UnknownColoursError(result)
    unknown_mask = (~known)[inverse].reshape(N, H, W)
    if unknown == "dontcare":
        labels[unknown_mask] = DONTCARE
    elif unknown == "neighbour":
        labels[unknown_mask] = DONTCARE
        left = _grow_into(labels, unknown_mask.clone(), NEIGHBOUR_STEPS)
        result.filled_from_neighbours = result.unknown_pixels - int(left.sum())
        labels[left] = classes[inverse.reshape(N, H, W)[left]]
    return result


def get_palette(name: str) -> Palette:
    """A built-in palette by name; the error lists the names."""
    try:
        return PALETTES[name]
    except KeyError:
        raise PaletteError(f"no built-in palette {name!r}; choose one of {', '.join(PALETTES)} or give a JSON "
                           "palette") from None


# --------------------------------------------------------------------------------------------
# Masks, instances
# --------------------------------------------------------------------------------------------


def labels_from_masks(masks: torch.Tensor, classes: Sequence[int], background: int | None = None,
                      threshold: float = 0.5) -> torch.Tensor:
    """Class indices ``[1, H, W]`` from one mask per class (a ComfyUI MASK batch ``[K, H, W]``, or
    ``[K, 1, H, W]``): a pixel above ``threshold`` in mask k has ``classes[k]``. Where masks
    overlap, the **later** mask wins (paint order). Pixels in no mask get ``background``
    (None: -1, don't care)."""
    if masks.ndim == 2:
        masks = masks.unsqueeze(0)
    if masks.ndim == 4 and masks.shape[1] == 1:
        masks = masks[:, 0]
    if masks.ndim != 3:
        raise LabelError(f"expected masks [K, H, W] (a MASK batch, one mask per class), got {tuple(masks.shape)}")
    classes = [int(c) for c in classes]
    if len(classes) != masks.shape[0]:
        raise LabelError(f"{masks.shape[0]} masks but {len(classes)} classes; give one class per mask, in order")
    bad = [c for c in [*classes, DONTCARE if background is None else int(background)] if c < DONTCARE]
    if bad:
        raise LabelError(f"class {bad[0]} is negative; classes are 0 or more, or -1 for don't care")
    fill = DONTCARE if background is None else int(background)
    labels = torch.full(masks.shape[1:], fill, dtype=torch.long)
    for mask, class_id in zip(masks, classes, strict=True):
        labels[mask.float() > threshold] = class_id
    return labels.unsqueeze(0)


def instance_ids_from_image(image: torch.Tensor) -> torch.Tensor:
    """Instance ids ``[N, H, W]`` (long) of a coloured instance picture: each distinct colour is one
    instance (the id is the packed 24-bit colour). ``image`` is ``[N,H,W,3]`` float 0..1 or uint8."""
    return _pack(_as_uint8_rgb(image)).long()


def instance_edges(instance_ids: torch.Tensor) -> torch.Tensor:
    """The SPADE / pix2pixHD edge map ``[N, 1, H, W]`` float: 1 where a pixel's instance id differs
    from its left, right, upper or lower neighbour (both sides of each boundary are marked)."""
    ids = instance_ids
    if ids.ndim == 4 and ids.shape[1] == 1:
        ids = ids[:, 0]
    if ids.ndim == 2:
        ids = ids.unsqueeze(0)
    if ids.ndim != 3:
        raise LabelError(f"expected instance ids [N, H, W], got {tuple(instance_ids.shape)}")
    edges = torch.zeros(ids.shape, dtype=torch.bool, device=ids.device)
    horizontal = ids[:, :, 1:] != ids[:, :, :-1]
    vertical = ids[:, 1:, :] != ids[:, :-1, :]
    edges[:, :, 1:] |= horizontal
    edges[:, :, :-1] |= horizontal
    edges[:, 1:, :] |= vertical
    edges[:, :-1, :] |= vertical
    return edges.unsqueeze(1).float()


# --------------------------------------------------------------------------------------------
# Labels -> model input, previews
# --------------------------------------------------------------------------------------------


def _as_labels(labels: torch.Tensor) -> torch.Tensor:
    if labels.ndim == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim == 2:
        labels = labels.unsqueeze(0)
    if labels.ndim != 3:
        raise LabelError(f"expected labels [N, H, W], got shape {tuple(labels.shape)}")
    if labels.is_floating_point() and not bool((labels == labels.round()).all()):
        raise LabelError("labels hold fractions; class indices are whole numbers (a picture needs "
                         "labels_from_colours first)")
    return labels.long()


def _offenders(labels: torch.Tensor, bad: torch.Tensor, limit: int = 5) -> str:
    values, counts = torch.unique(labels[bad], return_counts=True)
    order = counts.argsort(descending=True, stable=True)[:limit]
    parts = []
    W = labels.shape[-1]
    H = labels.shape[-2]
    flat = labels.reshape(-1)
    for i in order.tolist():
        value = int(values[i])
        place = int((flat == value).nonzero()[0, 0])
        picture, rest = divmod(place, H * W)
        y, x = divmod(rest, W)
        parts.append(f"{value} ({_pixels(int(counts[i]))}, first at {_where(picture, x, y)})")
    more = values.numel() - len(parts)
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def one_hot_semantics(labels: torch.Tensor, label_nc: int, contain_dontcare: bool,
                      edges: torch.Tensor | None = None, use_instance: bool = False
                      ) -> tuple[torch.Tensor, list[str]]:
    """The generator input ``[N, semantic_nc, H, W]`` float and notes for the person.

    Channels: classes ``0..label_nc-1``; then don't care (label -1) when ``contain_dontcare``;
    then the instance edges (``[N,1,H,W]`` or ``[N,H,W]``, from :func:`instance_edges`) when
    ``use_instance``. ``semantic_nc = label_nc + contain_dontcare + use_instance``.

    Raises :class:`LabelError` for -1 labels on a model without a don't-care channel and for
    classes the model does not have (naming them, their pixel counts and a position). Returns
    notes (a list of sentences, empty when all is as asked): a model with instances given no
    edges gets an all-zero edge channel, edges given to a model without one are ignored.
    """
    labels = _as_labels(labels)
    notes: list[str] = []
    N, H, W = labels.shape
    out_of_range = (labels >= label_nc) | (labels < DONTCARE)
    if bool(out_of_range.any()):
        raise LabelError(f"labels hold classes this model does not have: {_offenders(labels, out_of_range)}; "
                         f"the model has {label_nc} classes (0..{label_nc - 1}). Read the picture with the palette "
                         f"made for this model ({_suggest(label_nc)}) or remap "
                         "those classes")
    dontcare = labels == DONTCARE
    if bool(dontcare.any()) and not contain_dontcare:
        count = int(dontcare.sum())
        place = int(dontcare.reshape(-1).nonzero()[0, 0])
        picture, rest = divmod(place, H * W)
        y, x = divmod(rest, W)
        verb = "is" if count == 1 else "are"
        raise LabelError(f"{_pixels(count)} {verb} \"don't care\" (first at {_where(picture, x, y)}) but this model "
                         f"has no don't-care channel ({label_nc} classes, contain_dontcare off, as Cityscapes models): "
                         "map those colours to a class (e.g. 0 'unlabeled' for Cityscapes) or read the picture with "
                         "unknown='neighbour' or 'nearest' instead of 'dontcare'")
    channels = label_nc + int(contain_dontcare) + int(use_instance)
    index = torch.where(dontcare, label_nc, labels)
    semantics = torch.zeros(N, channels, H, W, dtype=torch.float32, device=labels.device)
    semantics[:, :label_nc + int(contain_dontcare)].scatter_(1, index.unsqueeze(1), 1.0)
    if use_instance:
        if edges is None:
            notes.append("this model also takes instance edges and none were given, so the edge channel is all "
                         "zeros (objects of one class that touch merge); connect an instance picture for edges")
        else:
            edges = edges.float()
            if edges.ndim == 3:
                edges = edges.unsqueeze(1)
            if edges.ndim != 4 or edges.shape[1] != 1 or edges.shape[-2:] != (H, W) or edges.shape[0] not in (1, N):
                raise LabelError(f"instance edges have shape {tuple(edges.shape)} but the labels are {N}×{H}×{W}; "
                                 "make the instance picture the same size as the label picture "
                                 "(resize_labels on the instance ids, then instance_edges)")
            semantics[:, -1:] = edges.to(semantics.device)
    elif edges is not None:
        notes.append("instance edges were given but this model takes none; they were ignored")
    return semantics, notes


def _suggest(label_nc: int) -> str:
    for layout in LAYOUTS.values():
        if layout.label_nc == label_nc:
            return f"'{layout.palette}' for {layout.dataset} models"
    return f"a JSON palette whose classes are 0..{label_nc - 1}"


def _pixels(count: int) -> str:
    return f"{count} pixel{'' if count == 1 else 's'}"


def colourise(labels: torch.Tensor, palette: Palette | str, fallback: RGB = (0, 0, 0)) -> torch.Tensor:
    """A preview ``[N, H, W, 3]`` float 0..1 (ComfyUI IMAGE) of class indices in a palette's colours:
    each class gets its first colour; don't care gets the palette's don't-care colour if it has
    one, else ``fallback`` (black), and so do classes the palette has no colour for."""
    if isinstance(palette, str):
        palette = get_palette(palette)
    labels = _as_labels(labels)
    top = max(int(labels.max()) if labels.numel() else 0, max(palette.class_ids))
    table = torch.tensor(fallback, dtype=torch.uint8).repeat(top + 2, 1)  # row 0 is -1
    filled = torch.zeros(top + 2, dtype=torch.bool)
    for colour, cid in zip(palette.colours, palette.class_ids, strict=True):
        if not filled[cid + 1]:
            table[cid + 1] = torch.tensor(colour, dtype=torch.uint8)
            filled[cid + 1] = True
    index = (labels.clamp(min=DONTCARE) + 1).cpu()
    return table[index].float() / 255.0


def class_histogram(labels: torch.Tensor) -> dict[int, int]:
    """Pixels per class (-1 is don't care), by class index."""
    values, counts = torch.unique(_as_labels(labels), return_counts=True)
    return {int(v): int(c) for v, c in zip(values.tolist(), counts.tolist(), strict=True)}


def describe_classes(labels: torch.Tensor, palette: Palette | str, limit: int = 8) -> str:
    """The largest classes by share of pixels, named, e.g. ``"sky 41.2%, sea 30.0%, ..."``."""
    if isinstance(palette, str):
        palette = get_palette(palette)
    histogram = class_histogram(labels)
    total = sum(histogram.values()) or 1
    ranked = sorted(histogram.items(), key=lambda item: -item[1])
    parts = [f"{palette.class_name(cid)} {100 * count / total:.1f}%" for cid, count in ranked[:limit]]
    more = len(ranked) - len(parts)
    return ", ".join(parts) + (f", and {more} more classes" if more > 0 else "")


def _nearest_positions(size_in: int, size_out: int) -> torch.Tensor:
    """PIL's NEAREST sample positions: start at half a step, add the step in double precision and
    truncate (so exact half-way ties fall where PIL's rounding puts them)."""
    step, place, positions = size_in / size_out, size_in / size_out * 0.5, []
    for _ in range(size_out):
        positions.append(min(int(place), size_in - 1))
        place += step
    return torch.tensor(positions, dtype=torch.long)


def resize_labels(labels: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Class indices (or instance ids) resized with nearest neighbour, never blended, picking the
    same pixels as PIL's ``resize(..., NEAREST)``, which SPADE's and pix2pixHD's data loaders use
    (output pixel i samples input pixel ``floor((i + 0.5) * in / out)``). ``size`` is (height,
    width) or one side for a square; keeps the input's rank ([N,H,W] or [N,1,H,W]) and dtype."""
    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if labels.ndim not in (3, 4):
        raise LabelError(f"expected labels [N, H, W] or [N, 1, H, W], got {tuple(labels.shape)}")
    if height < 1 or width < 1:
        raise LabelError(f"cannot resize labels to {height}×{width}")
    if tuple(labels.shape[-2:]) == (height, width):
        return labels
    rows = _nearest_positions(labels.shape[-2], height).to(labels.device)
    cols = _nearest_positions(labels.shape[-1], width).to(labels.device)
    return labels.index_select(-2, rows).index_select(-1, cols)


__all__ = [
    "DONTCARE",
    "INDEX_CONVENTIONS",
    "LAYOUTS",
    "PALETTES",
    "UNKNOWN_MODES",
    "LabelError",
    "LabelResult",
    "Palette",
    "PaletteError",
    "SemanticLayout",
    "UnknownColour",
    "UnknownColoursError",
    "class_histogram",
    "colour_hex",
    "colourise",
    "dataset_labels",
    "default_palette",
    "describe_classes",
    "get_palette",
    "instance_edges",
    "instance_ids_from_image",
    "labels_from_colours",
    "labels_from_masks",
    "layout_for_channels",
    "one_hot_semantics",
    "palette_for_channels",
    "palette_from_json",
    "resize_labels",
]
