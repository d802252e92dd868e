"""Label maps for SPADE / pix2pixHD: palettes (built-in and JSON), colours -> classes with tolerance
and an unknown-colour report, masks, instance edges, the one-hot layout of the released models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.models.translation.labels import (
    DONTCARE,
    LAYOUTS,
    PALETTES,
    LabelError,
    PaletteError,
    UnknownColoursError,
    class_histogram,
    colour_hex,
    colourise,
    dataset_labels,
    default_palette,
    describe_classes,
    instance_edges,
    instance_ids_from_image,
    labels_from_colours,
    labels_from_masks,
    layout_for_channels,
    one_hot_semantics,
    palette_for_channels,
    palette_from_json,
    resize_labels,
)

ADE = PALETTES["ade20k"]
SKY, TREE = 2, 4  # ADE20K classes (raw 3 and 5)


def picture(colours: list[list[tuple[int, int, int]]]) -> torch.Tensor:
    """Rows of (r, g, b) -> a uint8 IMAGE [1, H, W, 3]."""
    return torch.tensor(colours, dtype=torch.uint8).unsqueeze(0)


# ----------------------------------------------------------------------------------- palettes


def test_built_in_palettes_hold_the_published_data():
    assert len(ADE) == 151 and ADE.label_nc == 150
    assert ADE.colour_of(0) == (120, 120, 120) and ADE.class_name(0) == "wall"
    assert ADE.colour_of(SKY) == (6, 230, 230) and ADE.class_name(149) == "flag"
    assert ADE.colour_of(DONTCARE) == (0, 0, 0)
    coco = PALETTES["cocostuff"]
    assert coco.label_nc == 182 and coco.class_name(0) == "person" and coco.class_name(156) == "sky-other"
    assert coco.class_name(181) == "wood" and coco.class_name(DONTCARE).startswith("unlabeled")
    assert [coco.class_name(c) for c in coco.unused] == [
        "street sign", "hat", "shoe", "eye glasses", "plate", "mirror", "window", "desk", "door", "blender",
        "hair brush"]
    # SPADE's visualisation colormap (labelcolormap(label_nc + 2)): bit-interleaved colour of class + 1.
    spade = {0: (128, 0, 0), 1: (0, 128, 0), 6: (128, 128, 128), 7: (64, 0, 0), 149: (0, 224, 128),
             150: (128, 224, 128), 181: (0, 224, 192), 182: (128, 224, 192)}
    for class_id, colour in spade.items():
        assert PALETTES["cocostuff"].colours[class_id] == colour
        if class_id <= 150:
            assert PALETTES["ade20k-spade"].colours[class_id] == colour
    assert PALETTES["ade20k-spade"].class_ids[150] == DONTCARE
    assert PALETTES["cocostuff"].class_ids[182] == DONTCARE
    city = PALETTES["cityscapes"]
    assert len(city) == 34 and city.label_nc == 35
    assert city.colour_of(26) == (0, 0, 142) and city.class_name(26) == "car"
    assert city.colour_of(7) == (128, 64, 128) and city.class_name(33) == "bicycle"
    assert PALETTES["cityscapes-spade"].colour_of(26) != city.colour_of(26)


def test_duplicate_colours_are_listed_and_read_as_their_first_class():
    assert ADE.duplicates() == [((140, 140, 140), [6, 48])]  # road and skyscraper
    assert PALETTES["cityscapes"].duplicates() == [((0, 0, 0), [0, 1, 2, 3, 4]), ((153, 153, 153), [17, 18])]
    for name in ("ade20k-spade", "ade20k-index", "cocostuff", "cocostuff-index", "cityscapes-spade",
                 "cityscapes-index"):
        assert PALETTES[name].duplicates() == [], name


def test_palette_for_channels_suggests_the_released_models_conventions():
    assert palette_for_channels(184).name == "cocostuff"
    assert palette_for_channels(151).name == "ade20k"
    assert palette_for_channels(36).name == "cityscapes"
    assert palette_for_channels(3) is None and layout_for_channels(3) is None
    for semantic_nc, layout in LAYOUTS.items():
        assert layout.semantic_nc == semantic_nc
        assert PALETTES[layout.palette].label_nc == layout.label_nc
    assert layout_for_channels(151).use_instance is False and layout_for_channels(36).contain_dontcare is False


@pytest.mark.parametrize("name", list(PALETTES))
def test_colourise_round_trip(name):
    """labels -> colours -> labels is the identity, except that a class whose colour another class
    listed earlier has (Cityscapes 1..4 black, 18 polegroup; ADE20K 48 skyscraper) reads as that one."""
    palette = PALETTES[name]
    classes = sorted(set(palette.class_ids))
    labels = torch.tensor(classes).reshape(1, 1, -1).repeat(2, 3, 1)
    colours = colourise(labels, palette)
    assert colours.shape == (2, 3, len(classes), 3) and colours.dtype == torch.float32
    back = labels_from_colours(colours, palette, tolerance=0).labels
    read_as = {cid: palette.class_ids[palette.colours.index(palette.colour_of(cid))] for cid in classes}
    expected = labels.clone().apply_(lambda c: read_as[c])
    assert torch.equal(back, expected)
    changed = {c: r for c, r in read_as.items() if c != r}
    assert changed == {"ade20k": {48: 6}, "cityscapes": {1: 0, 2: 0, 3: 0, 4: 0, 18: 17}}.get(name, {})


def test_colourise_draws_dont_care_and_unpainted_classes_in_the_fallback():
    labels = torch.tensor([[[DONTCARE, 34, 26]]])  # Cityscapes has no don't-care colour and no class 34
    preview = colourise(labels, "cityscapes", fallback=(10, 20, 30))
    assert (preview[0, 0] * 255).round().tolist() == [[10, 20, 30], [10, 20, 30], [0, 0, 142]]
    assert (colourise(labels.clamp(min=0), "ade20k-spade")[0, 0, 0] * 255).round().tolist() == [128, 0, 0]


# -------------------------------------------------------------------------------- JSON palettes


def test_json_palette_list_form():
    palette = palette_from_json(json.dumps([
        {"name": "sky", "colour": "#87CEEB", "class": 156},
        {"name": "sea", "color": [54, 62, 167], "class": 154},
        {"colour": "000000", "class": None},
        {"name": "void", "colour": [1.0, 2.0, 3.0], "class": -1},
    ]), name="mine")
    assert palette.name == "mine"
    assert palette.colours == ((135, 206, 235), (54, 62, 167), (0, 0, 0), (1, 2, 3))
    assert palette.class_ids == (156, 154, DONTCARE, DONTCARE)
    assert palette.class_name(156) == "sky" and palette.class_name(7) == "class 7"
    labels = labels_from_colours(picture([[(135, 206, 235), (0, 0, 0), (54, 62, 167)]]), palette).labels
    assert labels.tolist() == [[[156, DONTCARE, 154]]]


def test_json_palette_mapping_form_and_built_in_export():
    palette = palette_from_json({"#ff0000": 1, "#00ff00": 2, "#000000": None})
    assert palette.colours == ((255, 0, 0), (0, 255, 0), (0, 0, 0)) and palette.class_ids == (1, 2, DONTCARE)
    for name in ("cityscapes", "ade20k"):
        again = palette_from_json(PALETTES[name].to_json())  # repeated colours are written once
        assert len(again) == len(set(PALETTES[name].colours))
        labels = torch.arange(-1, PALETTES[name].label_nc).reshape(1, 1, -1)
        colours = colourise(labels.clamp(min=0 if name == "cityscapes" else -1), PALETTES[name])
        assert torch.equal(labels_from_colours(colours, again).labels, labels_from_colours(colours, name).labels)


@pytest.mark.parametrize(("bad", "message"), [
    ("[{\"colour\": \"#ff0000\", \"class\": 1,}]", "not valid JSON"),
    ([{"colour": "#ff00", "class": 1}], "entry 0: colour '#ff00' is not \"#rrggbb\""),
    ([{"name": "sky", "colour": [0.5, 0.8, 0.9], "class": 1}], "multiply by 255"),
    ([{"colour": [300, 0, 0], "class": 1}], "outside 0..255"),
    ([{"colour": [1, 2], "class": 1}], "three numbers"),
    ([{"name": "sky", "colour": "#87ceeb"}], "entry 0 ('sky'): no \"class\""),
    ([{"class": 3}], "no \"colour\""),
    ([{"colour": "#87ceeb", "class": "3"}], "write 3 without quotes"),
    ([{"colour": "#87ceeb", "class": -2}], "negative"),
    ([{"colour": "#87ceeb", "class": 1.5}], "whole number"),
    ([{"colour": "#87ceeb", "class": 1, "label": 2}], "unknown key(s) 'label'"),
    ([{"colour": "#87ceeb", "class": 1}, {"colour": [135, 206, 235], "class": 2}],
     "#87ceeb is given for class 1 (entry 0) and class 2 (entry 1)"),
    ({"#87ceeb": {"class": 1}}, "use the list form"),
    ([], "empty"),
    ("42", "not int"),
    (["#87ceeb"], "expected an object"),
])
def test_bad_json_palettes_say_what_to_fix(bad, message):
    with pytest.raises(PaletteError) as error:
        palette_from_json(bad)
    assert message in str(error.value)


def test_json_palette_may_repeat_a_colour_for_the_same_class():
    palette = palette_from_json([{"colour": "#010203", "class": 4}, {"colour": [1, 2, 3], "class": 4}])
    assert palette.duplicates() == []


# ------------------------------------------------------------------------ colours -> classes


def edge_picture(blend: list[float], noise: int = 0, seed: int = 0) -> torch.Tensor:
    """8 rows: sky on the left, tree on the right, with anti-aliased columns between them
    (``blend`` is the share of tree in each), plus optional +-noise as a JPEG would add."""
    sky, tree = np.array(ADE.colour_of(SKY), float), np.array(ADE.colour_of(TREE), float)
    columns = [sky] * 4 + [sky * (1 - w) + tree * w for w in blend] + [tree] * 4
    rows = np.stack([np.stack(columns)] * 8)
    if noise:
        rows = rows + np.random.default_rng(seed).integers(-noise, noise + 1, rows.shape)
    return torch.from_numpy(np.clip(np.round(rows), 0, 255)).to(torch.uint8).unsqueeze(0)


def test_tolerance_absorbs_noise_and_slight_blends():
    noisy = edge_picture([], noise=3)
    with pytest.raises(UnknownColoursError):
        labels_from_colours(noisy, ADE, tolerance=0)
    labels = labels_from_colours(noisy, ADE, tolerance=3).labels
    assert labels[0, :, :4].eq(SKY).all() and labels[0, :, 4:].eq(TREE).all()
    # A column of 5% tree is 11 from sky (max per channel): read as sky once the tolerance covers it.
    slight = edge_picture([0.05])
    with pytest.raises(UnknownColoursError):
        labels_from_colours(slight, ADE, tolerance=8)
    assert labels_from_colours(slight, ADE, tolerance=12).labels[0, :, 4].eq(SKY).all()
    # ADE20K's colours are dense: 12% tree is 27 from sky but nearer river (11, 200, 200), so a
    # tolerance that reaches sky also reaches river, and the nearer one wins.
    assert labels_from_colours(edge_picture([0.12]), ADE, tolerance=28).labels[0, :, 4].eq(60).all()


def test_anti_aliased_edges_take_a_neighbour_not_a_third_class():
    image = edge_picture([0.25, 0.5, 0.75], noise=2)
    with pytest.raises(UnknownColoursError) as error:
        labels_from_colours(image, ADE, tolerance=4)
    assert error.value.result.unknown_pixels == 24
    # The nearest colour of a sky/tree blend is another class (computer, coffee table, awning).
    nearest = labels_from_colours(image, ADE, tolerance=4, unknown="nearest").labels
    assert not nearest[0, :, 4:7].eq(SKY).any() and not nearest[0, :, 4:7].eq(TREE).any()
    neighbour = labels_from_colours(image, ADE, tolerance=4, unknown="neighbour")
    assert set(neighbour.labels.unique().tolist()) == {SKY, TREE}
    assert neighbour.labels[0, :, :4].eq(SKY).all() and neighbour.labels[0, :, 7:].eq(TREE).all()
    assert neighbour.filled_from_neighbours == 24 and "24 took the class of a neighbouring pixel" in neighbour.summary()
    dontcare = labels_from_colours(image, ADE, tolerance=4, unknown="dontcare").labels
    assert dontcare[0, :, 4:7].eq(DONTCARE).all() and dontcare[0, :, :4].eq(SKY).all()


def test_neighbour_fill_stops_growing_and_falls_back_to_nearest():
    image = torch.zeros(1, 40, 40, 3, dtype=torch.uint8)
    image[..., :] = torch.tensor(ADE.colour_of(SKY), dtype=torch.uint8)
    image[0, :, 2:39] = torch.tensor([5, 215, 116], dtype=torch.uint8)  # a 37-pixel-wide foreign band
    result = labels_from_colours(image, ADE, tolerance=0, unknown="neighbour")
    assert result.unknown_pixels == 40 * 37 and result.filled_from_neighbours == 40 * 32
    assert result.labels[0, :, 18:23].eq(64).all()  # the middle is too far: nearest colour (coffee table)
    assert "took the nearest palette colour's class" in result.summary()


def test_unknown_colours_are_reported_with_counts_and_positions():
    image = torch.zeros(2, 50, 60, 3, dtype=torch.uint8)
    image[..., :] = torch.tensor(ADE.colour_of(SKY), dtype=torch.uint8)
    image[1, 40:44, 12:17] = torch.tensor([0x7f, 0x00, 0x7f], dtype=torch.uint8)  # 20 pixels, first (12, 40)
    image[0, 6, 5:8] = torch.tensor([60, 2, 3], dtype=torch.uint8)  # 3 pixels, first (5, 6)
    for k in range(5):  # five more single stray colours
        image[0, 30 + k, 50] = torch.tensor([200, 0, 10 * k], dtype=torch.uint8)
    with pytest.raises(UnknownColoursError) as error:
        labels_from_colours(image.float() / 255, ADE)
    result = error.value.result
    assert result.unknown_colours == 7 and result.unknown_pixels == 28
    first, second = result.unknown[:2]
    assert (first.colour, first.pixel_count, first.picture, first.x, first.y) == ((127, 0, 127), 20, 1, 12, 40)
    assert (second.colour, second.pixel_count, second.picture, second.x, second.y) == ((60, 2, 3), 3, 0, 5, 6)
    message = str(error.value)
    assert "28 of 6000 pixels" in message and "7 colours not within 8 of the ade20k palette" in message
    assert "#7f007f at (12, 40) in picture 1, 20 pixels" in message
    assert "#3c0203 at (5, 6) in picture 0, 3 pixels" in message
    assert "and 2 more" in message and "Raise the tolerance" in message
    assert message == result.summary()
    assert "nearest: " in message
    # The same picture in "dontcare" mode: the report stays, the pixels are -1.
    result = labels_from_colours(image, ADE, unknown="dontcare")
    assert result.labels[1, 40:44, 12:17].eq(DONTCARE).all() and result.unknown_colours == 7
    assert labels_from_colours(image[:, :5], ADE).summary().startswith("every colour is in the ade20k palette")


def test_picture_inputs_float_alpha_and_unknown_mode_checked():
    rgba = torch.zeros(1, 2, 2, 4)
    rgba[..., :3] = torch.tensor(ADE.colour_of(TREE)) / 255
    rgba[..., 3] = 0.5
    assert labels_from_colours(rgba, "ade20k").labels.eq(TREE).all()
    with pytest.raises(LabelError, match="choose one of error, dontcare, nearest, neighbour"):
        labels_from_colours(rgba, ADE, unknown="ignore")
    with pytest.raises(PaletteError, match="no built-in palette 'ade'"):
        labels_from_colours(rgba, "ade")


def test_index_pictures_follow_the_dataset_conventions():
    grey = torch.tensor([0, 1, 3, 150, 255], dtype=torch.uint8).reshape(1, 1, 5, 1)
    assert labels_from_colours(grey[..., :4, :], "ade20k-index").labels.tolist() == [[[DONTCARE, 0, 2, 149]]]
    coco = labels_from_colours(torch.tensor([0, 181, 255], dtype=torch.uint8).reshape(1, 1, 3, 1), "cocostuff-index")
    assert coco.labels.tolist() == [[[0, 181, DONTCARE]]]
    city = labels_from_colours(torch.tensor([7, 26, 33], dtype=torch.uint8).reshape(1, 1, 3, 1), "cityscapes-index")
    assert city.labels.tolist() == [[[7, 26, 33]]]


def test_a_large_picture_maps_through_its_distinct_colours():
    classes = torch.randint(0, 182, (1, 16, 32), generator=torch.Generator().manual_seed(0))
    labels = resize_labels(classes, (1024, 2048))
    result = labels_from_colours(colourise(labels, "cocostuff"), "cocostuff")
    assert torch.equal(result.labels, labels)


# ---------------------------------------------------------------------------------- masks


def test_masks_later_ones_win_and_background_fills_the_rest():
    masks = torch.zeros(3, 4, 6)
    masks[0, :, :4] = 1.0
    masks[1, :, 2:] = 0.8
    masks[2, 0, :] = 0.4  # below the threshold
    labels = labels_from_masks(masks, [5, 9, 11])
    assert labels.shape == (1, 4, 6)
    assert labels[0, 1].tolist() == [5, 5, 9, 9, 9, 9]  # overlap columns 2..3 go to the later mask
    labels = labels_from_masks(masks.unsqueeze(1), [5, 9, 11], background=0, threshold=0.3)
    assert labels[0, 0].tolist() == [11] * 6 and labels[0, 1].tolist() == [5, 5, 9, 9, 9, 9]
    masks[:, :, 5] = 0
    assert labels_from_masks(masks, [5, 9, 11])[0, :, 5].eq(DONTCARE).all()
    with pytest.raises(LabelError, match="3 masks but 2 classes"):
        labels_from_masks(masks, [1, 2])


# ------------------------------------------------------------------------------- instances


def test_instance_edges_match_a_per_pixel_loop():
    ids = torch.randint(0, 3, (2, 9, 11), generator=torch.Generator().manual_seed(3))
    edges = instance_edges(ids)
    assert edges.shape == (2, 1, 9, 11) and edges.dtype == torch.float32
    N, H, W = ids.shape
    expected = torch.zeros(N, 1, H, W)
    for n in range(N):
        for y in range(H):
            for x in range(W):
                for dy, dx in ((0, -1), (0, 1), (-1, 0), (1, 0)):
                    v, u = y + dy, x + dx
                    if 0 <= v < H and 0 <= u < W and ids[n, v, u] != ids[n, y, x]:
                        expected[n, 0, y, x] = 1.0
    assert torch.equal(edges, expected)
    assert 0 < edges.mean() < 1


def test_instance_ids_from_a_coloured_picture():
    image = torch.zeros(1, 3, 4, 3)
    image[0, :, 2:] = torch.tensor([0.2, 0.4, 0.6])
    ids = instance_ids_from_image(image)
    assert ids.dtype == torch.long and ids.unique().numel() == 2
    assert instance_edges(ids)[0, 0].tolist() == [[0, 1, 1, 0]] * 3


# ---------------------------------------------------------------------------------- one-hot


def test_one_hot_coco_layout_dontcare_then_edges():
    labels = torch.tensor([[[0, 181, DONTCARE], [7, 7, 7]]])
    edges = instance_edges(torch.tensor([[[1, 1, 2], [1, 1, 1]]]))
    semantics, notes = one_hot_semantics(labels, 182, True, edges, use_instance=True)
    assert semantics.shape == (1, 184, 2, 3) and notes == []
    assert semantics[0, 0, 0, 0] == 1 and semantics[0, 181, 0, 1] == 1 and semantics[0, 182, 0, 2] == 1
    assert torch.equal(semantics[0, 183], edges[0, 0])
    assert torch.equal(semantics[:, :183].sum(1), torch.ones(1, 2, 3))


def test_one_hot_ade20k_layout_has_no_edge_channel():
    labels = torch.tensor([[[DONTCARE, 149]]])
    semantics, notes = one_hot_semantics(labels, 150, True, edges=torch.ones(1, 1, 1, 2))
    assert semantics.shape == (1, 151, 1, 2) and semantics[0, 150, 0, 0] == 1 and semantics[0, 149, 0, 1] == 1
    assert notes == ["instance edges were given but this model takes none; they were ignored"]


def test_one_hot_cityscapes_layout_edges_last_and_no_dontcare():
    labels = torch.tensor([[[26, 7], [0, 33]]])
    semantics, notes = one_hot_semantics(labels, 35, False, use_instance=True)
    assert semantics.shape == (1, 36, 2, 2) and semantics[0, 35].eq(0).all()
    assert semantics[0, 26, 0, 0] == 1 and semantics[0, 0, 1, 0] == 1
    assert len(notes) == 1 and "edge channel is all zeros" in notes[0]
    with pytest.raises(LabelError) as error:
        one_hot_semantics(torch.tensor([[[26, DONTCARE]]]), 35, False, use_instance=True)
    message = str(error.value)
    assert "1 pixel is \"don't care\" (first at (1, 0) in picture 0)" in message
    assert "no don't-care channel" in message and "map those colours to a class" in message


def test_one_hot_names_classes_the_model_does_not_have():
    labels = torch.zeros(2, 4, 5, dtype=torch.long)
    labels[1, 2, 3] = 181
    labels[1, 3, :] = 150
    with pytest.raises(LabelError) as error:
        one_hot_semantics(labels, 150, True)
    message = str(error.value)
    assert "150 (5 pixels, first at (0, 3) in picture 1)" in message
    assert "181 (1 pixel, first at (3, 2) in picture 1)" in message
    assert "the model has 150 classes (0..149)" in message and "'ade20k' for ADE20K models" in message


def test_one_hot_edges_must_match_the_labels():
    with pytest.raises(LabelError, match="same size"):
        one_hot_semantics(torch.zeros(1, 4, 4, dtype=torch.long), 35, False, torch.zeros(1, 1, 8, 8), True)


# ------------------------------------------------------------------------------- the rest


def test_resize_labels_picks_the_pixels_pil_nearest_picks():
    generator = torch.Generator().manual_seed(5)
    for (h, w), (oh, ow) in [((300, 200), (64, 77)), ((37, 53), (256, 256)), ((256, 512), (100, 33))]:
        labels = torch.randint(0, 182, (1, h, w), generator=generator)
        pil = np.asarray(Image.fromarray(labels[0].numpy().astype(np.uint8)).resize((ow, oh), Image.NEAREST))
        resized = resize_labels(labels, (oh, ow))
        assert resized.dtype == torch.long and np.array_equal(resized[0].numpy(), pil)
    assert resize_labels(torch.zeros(2, 1, 5, 5, dtype=torch.long), 3).shape == (2, 1, 3, 3)


def test_histogram_and_description():
    labels = torch.tensor([[[SKY, SKY, SKY, TREE], [DONTCARE, SKY, TREE, TREE]]])
    assert class_histogram(labels) == {DONTCARE: 1, SKY: 4, TREE: 3}
    assert describe_classes(labels, ADE, limit=2) == "sky 50.0%, tree 37.5%, and 1 more classes"
    assert colour_hex((6, 230, 230)) == "#06e6e6"


def test_dataset_numbering_and_a_default_palette_for_any_class_count():
    values = torch.tensor([[[0, 1, 150, 255]]])
    assert dataset_labels(values, "ade20k").tolist() == [[[DONTCARE, 0, 149, 254]]]
    assert dataset_labels(values, "coco-stuff").tolist() == [[[0, 1, 150, DONTCARE]]]
    assert dataset_labels(values, "cityscapes").tolist() == dataset_labels(values).tolist() == values.tolist()
    with pytest.raises(LabelError, match="choose one of raw, ade20k, coco-stuff, cityscapes"):
        dataset_labels(values, "voc")
    palette = default_palette(300)
    assert len(set(palette.colours)) == 301 and palette.colour_of(DONTCARE) == (0, 0, 0)
    assert palette.colours[:182] == PALETTES["cocostuff"].colours[:182] and palette.name_of(5) == "class 5"
    labels = torch.arange(-1, 300).reshape(1, 1, -1)
    assert torch.equal(labels_from_colours(colourise(labels, palette), palette, tolerance=0).labels, labels)
