"""Semantic image synthesis nodes: label maps in, pictures out (SPADE / GauGAN, pix2pixHD).

A label map says which class each pixel is. It comes from a painted colour picture (a palette
maps colours to classes), from a dataset's index picture, or from one MASK per class; instance
edges can be added. The synthesiser draws a picture of the label map's size.
"""

from __future__ import annotations

import json

import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io

from ..imaging import image_to_nchw, nchw_to_image
from ..models.checkpoint import CheckpointError
from ..models.translation import labels as label_tools
from ..models.translation.semantic import load_semantic
from ..seeds import MAX_SEED
from .errors import NodeInputError, check_finite
from .folders import model_path
from .translation import FOLDER
from .types import CATEGORY, LabelMap, SemanticSynth, precision_dtype, precision_input
from .values import LabelMap as LabelValue
from .values import SemanticHandle
from .vqgan import patcher_for

SUBCATEGORY = f"{CATEGORY}/Translation/Semantic synthesis"
CUSTOM = "custom (JSON)"
LAYOUTS = {"auto": None, "classes only": {"contain_dontcare": False, "use_instance": False},
           **{f"{layout.dataset} ({channels})": {"label_nc": layout.label_nc, "dataset": layout.dataset,
                                                  "contain_dontcare": layout.contain_dontcare,
                                                  "use_instance": layout.use_instance}
              for channels, layout in label_tools.LAYOUTS.items()}}
UPSAMPLING = ["auto", "normal", "more", "most"]
INDEX_CONVENTIONS = {
    "as stored": "raw",
    "ade20k (0 = other)": "ade20k",
    "coco-stuff (255 = unlabeled)": "coco-stuff",
    "cityscapes labelIds": "cityscapes",
}
NONE = "none"
UNKNOWN = {"error": "error", "neighbour": "neighbour", "nearest": "nearest", "don't care": "dontcare"}


def _palette(node: str, name: str, text: str):
    if name != CUSTOM:
        return label_tools.PALETTES[name]
    try:
        return label_tools.palette_from_json(text)
    except (label_tools.PaletteError, ValueError, json.JSONDecodeError) as error:
        raise NodeInputError(node, f"the custom palette is not valid: {error}",
                             'write a JSON list like [{"name": "sky", "colour": "#87ceeb", "class": 156}] or a map '
                             'like {"#87ceeb": 156}.') from None


def _image(node: str, image: torch.Tensor, what: str) -> torch.Tensor:
    check_finite(node, image, what)
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        raise NodeInputError(node, f"expected an IMAGE [batch, height, width, channels] as {what}, got "
                             f"{list(image.shape)}.", "connect a Load Image output.")
    return image


def _preview(value: LabelValue) -> torch.Tensor:
    palette = value.palette or label_tools.default_palette(int(value.labels.max()) + 1)
    return label_tools.colourise(value.labels, palette)


class LabelMapFromColours(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLabelMapFromColours",
            display_name="GANForge Label Map from Colours",
            category=SUBCATEGORY,
            description="Read a painted segmentation picture (GauGAN style: each class painted in its colour) as "
                        "a label map. Each pixel takes the class of the nearest palette colour within the "
                        "tolerance; colours not in the palette are reported with where they are.",
            inputs=[
                io.Image.Input("image", tooltip="The painted or colour-coded segmentation picture(s)."),
                io.Combo.Input("palette", options=[*label_tools.PALETTES, CUSTOM], default=_default_palette(),
                               tooltip="Which colour means which class, in the model's numbering: ade20k and "
                                       "cityscapes are the datasets' official colour codes, cocostuff and the "
                                       "*-spade ones SPADE's own visualisation colours, *-index the gray values of "
                                       "index pictures, digits-layout the zoo's digits-spade-layout; custom: the "
                                       "JSON below."),
                io.String.Input("palette_json", default="", multiline=True,
                                tooltip='For custom, in the model\'s class numbers (here COCO-Stuff\'s, where 156 '
                                        'is sky): [{"name": "sky", "colour": "#87ceeb", "class": 156}, ...] or '
                                        '{"#87ceeb": 156, ...}. Class -1 means "don\'t care".'),
                io.Float.Input("tolerance", default=12.0, min=0.0, max=255.0, step=1.0,
                               tooltip="How far (0-255 per channel) a pixel may be from its palette colour. Keep "
                                       "it small: ADE20K's 150 colours lie close together."),
                io.Combo.Input("unknown", options=list(UNKNOWN), default="error",
                               tooltip="Pixels farther than the tolerance from every colour. error: stop and list "
                                       "them; neighbour: take the class of the region next to them (soft brush edges "
                                       "and resized pictures blend two regions' colours); nearest: the closest "
                                       "palette colour however far; don't care: leave them to the model."),
            ],
            outputs=[LabelMap.Output("label_map", tooltip="For Synthesize from Labels."),
                     io.Image.Output("preview", tooltip="The label map in the palette's colours.")],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, palette: str, palette_json: str = "", tolerance: float = 12.0,
                unknown: str = "error") -> io.NodeOutput:
        node = "GANForge Label Map from Colours"
        image = _image(node, image, "image")
        chosen = _palette(node, palette, palette_json)
        if image.shape[-1] == 1:
            raise NodeInputError(node, "the picture is gray, so it holds class numbers, not colours.",
                                 "use GANForge Label Map from Indices for gray (index) label pictures.")
        try:
            result = label_tools.labels_from_colours(image[..., :3], chosen, tolerance, unknown=UNKNOWN[unknown])
        except label_tools.UnknownColoursError as error:
            raise NodeInputError(node, f"colours that are not in the {chosen.name} palette (within {tolerance:g}): "
                                 f"{error.result.summary()}.", "fix those pixels, raise the tolerance, choose another "
                                 "palette, or set unknown to 'neighbour' (soft brush edges), 'nearest' or "
                                 "\"don't care\".") from None
        notes = [f"unknown colours ({unknown}): {result.summary()}"] if result.unknown else []
        value = LabelValue(result.labels, chosen, None, notes)
        return io.NodeOutput(value, _preview(value), ui={"text": [_describe(value), *notes]})


class LabelMapFromIndices(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLabelMapFromIndices",
            display_name="GANForge Label Map from Indices",
            category=SUBCATEGORY,
            description="Read a gray index picture (a dataset's label PNG: each pixel's value is its class number) "
                        "as a label map, with the dataset's numbering turned into the model's.",
            inputs=[
                io.Image.Input("image", tooltip="A gray label picture (values 0-255 are class numbers)."),
                io.Combo.Input("numbering", options=list(INDEX_CONVENTIONS), default="as stored",
                               tooltip="ADE20K label PNGs count from 1 (0 = other: don't care); COCO-Stuff marks "
                                       "unlabeled pixels 255; Cityscapes *_labelIds.png are used as stored."),
                io.Combo.Input("palette", options=list(label_tools.PALETTES), default=_default_palette(),
                               tooltip="Only for the preview's colours."),
            ],
            outputs=[LabelMap.Output("label_map", tooltip="For Synthesize from Labels."),
                     io.Image.Output("preview", tooltip="The label map in the palette's colours.")],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, numbering: str, palette: str) -> io.NodeOutput:
        node = "GANForge Label Map from Indices"
        image = _image(node, image, "image")
        channels = image[..., :3]
        if image.shape[-1] >= 3 and (channels - channels[..., :1]).abs().amax() > 1 / 512:
            raise NodeInputError(node, "the picture has colours, so it is not an index picture.",
                                 "use GANForge Label Map from Colours for colour-coded label pictures.")
        values = (image[..., 0] * 255).round().long()
        labels = label_tools.dataset_labels(values, INDEX_CONVENTIONS[numbering])
        value = LabelValue(labels, label_tools.PALETTES[palette])
        return io.NodeOutput(value, _preview(value), ui={"text": [_describe(value)]})


class LabelMapFromMasks(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLabelMapFromMasks",
            display_name="GANForge Label Map from Masks",
            category=SUBCATEGORY,
            description="Build a label map from one MASK per class (from any mask node or painted in the mask "
                        "editor): where mask k is on, the pixel gets the k-th class. Later masks win where masks "
                        "overlap.",
            inputs=[
                io.Mask.Input("masks", tooltip="K masks of one size (a MASK batch)."),
                io.String.Input("classes", default="0",
                                tooltip="K class numbers in the model's numbering, comma-separated, one per mask in "
                                        "order (e.g. '156,168': sky and tree for a COCO-Stuff model)."),
                io.Int.Input("background", default=-1, min=-1, max=4095,
                             tooltip="The class of pixels no mask covers; -1: don't care."),
                io.Combo.Input("palette", options=list(label_tools.PALETTES), default=_default_palette(),
                               tooltip="Only for the preview's colours."),
            ],
            outputs=[LabelMap.Output("label_map", tooltip="For Synthesize from Labels."),
                     io.Image.Output("preview", tooltip="The label map in the palette's colours.")],
        )

    @classmethod
    def execute(cls, masks: torch.Tensor, classes: str, background: int, palette: str) -> io.NodeOutput:
        node = "GANForge Label Map from Masks"
        try:
            numbers = [int(part) for part in classes.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise NodeInputError(node, f"classes must be whole numbers separated by commas, got {classes!r}.",
                                 "write e.g. '156,168'.") from None
        masks = masks[None] if masks.ndim == 2 else masks
        if len(numbers) != masks.shape[0]:
            raise NodeInputError(node, f"{masks.shape[0]} mask(s) but {len(numbers)} class number(s).",
                                 "give one class number per mask, in the masks' order.")
        try:
            labels = label_tools.labels_from_masks(masks.float(), numbers, None if background < 0 else background)
        except label_tools.LabelError as error:
            raise NodeInputError(node, f"{error}", "use class numbers from 0 up (-1 only as the background: "
                                 "don't care).") from None
        value = LabelValue(labels, label_tools.PALETTES[palette])
        return io.NodeOutput(value, _preview(value), ui={"text": [_describe(value)]})


class InstanceEdges(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeInstanceEdges",
            display_name="GANForge Instance Edges",
            category=SUBCATEGORY,
            description="Add instance boundaries to a label map (SPADE's COCO-Stuff and Cityscapes models and "
                        "pix2pixHD use them to separate touching objects of one class, such as two cars): from an "
                        "instance picture (each object its own colour or number), or from the label map itself.",
            inputs=[
                LabelMap.Input("label_map", tooltip="The label map to add edges to."),
                io.Image.Input("instances", optional=True,
                               tooltip="Optional: a picture with each object in its own colour (or a gray "
                                       "instance-id picture), the size of the label map. Without it, each "
                                       "connected class region counts as one object."),
            ],
            outputs=[LabelMap.Output("with_edges", tooltip="The label map with its instance edges."),
                     io.Image.Output("edges", tooltip="The edges, white on black.")],
        )

    @classmethod
    def execute(cls, label_map: LabelValue, instances: torch.Tensor | None = None) -> io.NodeOutput:
        node = "GANForge Instance Edges"
        _check_label_map(node, label_map)
        if instances is None:
            ids = label_map.labels
        else:
            instances = _image(node, instances, "instances")
            if tuple(instances.shape[1:3]) != tuple(label_map.labels.shape[1:]):
                raise NodeInputError(node, f"the instance picture is {instances.shape[2]}x{instances.shape[1]}, the "
                                     f"label map {label_map.labels.shape[2]}x{label_map.labels.shape[1]}.",
                                     "use an instance picture of the label map's size.")
            if instances.shape[0] not in (1, label_map.labels.shape[0]):
                raise NodeInputError(node, f"{instances.shape[0]} instance pictures for {label_map.labels.shape[0]} "
                                     "label maps.", "give one instance picture, or one per label map.")
            ids = label_tools.instance_ids_from_image(instances[..., :3])
            ids = ids.expand(label_map.labels.shape[0], -1, -1) if ids.shape[0] == 1 else ids
        edges = label_tools.instance_edges(ids)
        value = LabelValue(label_map.labels, label_map.palette, edges, list(label_map.notes))
        return io.NodeOutput(value, nchw_to_image(edges, (0.0, 1.0)))


def _check_label_map(node: str, value: object) -> None:
    if isinstance(value, torch.Tensor):
        raise NodeInputError(node, "a picture was given where a label map is needed.",
                             "turn it into a label map first with Label Map from Colours (painted / colour-coded "
                             "pictures) or Label Map from Indices (gray index pictures).")
    if not isinstance(value, LabelValue):
        raise NodeInputError(node, f"expected a label map, got {type(value).__name__}.",
                             "connect a Label Map node's output.")


def _describe(value: LabelValue) -> str:
    palette = value.palette or label_tools.default_palette(int(value.labels.max()) + 1)
    n, height, width = value.labels.shape
    return f"{n} label map(s) {width}x{height}: {label_tools.describe_classes(value.labels, palette, 6)}"


class LoadSemanticSynth(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        files = folder_paths.get_filename_list(FOLDER)
        return io.Schema(
            node_id="GANForgeLoadSemanticSynth",
            display_name="GANForge Load Semantic Synthesis (SPADE / pix2pixHD)",
            category=SUBCATEGORY,
            description="Load a label-map-to-picture generator from models/translation: NVlabs SPADE (GauGAN) "
                        "latest_net_G.pth (COCO-Stuff, ADE20K, Cityscapes, with or without the VAE style encoder) "
                        "or NVIDIA pix2pixHD latest_net_G.pth (global or local enhancer), or a GANForge "
                        ".safetensors. Spectral norm is folded into the weights once at load.",
            inputs=[
                io.Combo.Input("model_name", options=files,
                               tooltip="A generator file (latest_net_G.pth; not net_D or net_E)."),
                io.Combo.Input("layout", options=list(LAYOUTS), default="auto",
                               tooltip="How the file's input channels split into classes, don't care and instance "
                                       "edges. auto: from the channel count (184 COCO-Stuff, 151 ADE20K, 36 "
                                       "Cityscapes); 'classes only': every channel is a class."),
                io.Combo.Input("upsampling", options=UPSAMPLING, default="auto",
                               tooltip="SPADE's num_upsampling_layers, which the file cannot show between normal "
                                       "and more. auto: more for 36 channels (Cityscapes), else normal; most is "
                                       "read from the file."),
                io.Combo.Input("style_encoder", options=[NONE, *files], default=NONE,
                               tooltip="For a SPADE VAE model: its latest_net_E.pth, to take the style from a "
                                       "picture. Not needed for seeded styles."),
                precision_input("auto: fp32 (exactly the original); fp16 / bf16 halve memory on GPUs."),
            ],
            outputs=[SemanticSynth.Output("model", tooltip="For Synthesize from Labels."),
                     io.String.Output("info", tooltip="Classes, layout, upsampling, style.")],
        )

    @classmethod
    def execute(cls, model_name: str, layout: str = "auto", upsampling: str = "auto", style_encoder: str = NONE,
                precision: str = "auto") -> io.NodeOutput:
        node = "GANForge Load Semantic Synthesis"
        path = model_path(node, FOLDER, model_name)
        encoder = None if style_encoder == NONE else model_path(node, FOLDER, style_encoder)
        dtype = precision_dtype(node, precision)
        try:
            model = load_semantic(path, dtype=dtype, upsampling=None if upsampling == "auto" else upsampling,
                                  layout=LAYOUTS[layout], encoder_path=encoder)
        except CheckpointError as error:
            raise NodeInputError(node, f"{error}.", "choose a SPADE or pix2pixHD generator file (latest_net_G.pth "
                                 "or a GANForge semantic .safetensors), and its net_E as the style encoder.") from None
        except ValueError as error:
            raise NodeInputError(node, f"{error}.", "set layout and upsampling to auto, or to what the model was "
                                 "trained with.") from None
        networks = {"G": model.network, **({"E": model.encoder} if model.encoder is not None else {})}
        handle = SemanticHandle(model, model_name, patcher_for(torch.nn.ModuleDict(networks)))
        text = [handle.describe(), *model.info.notes]
        return io.NodeOutput(handle, "\n".join(text), ui={"text": text})


class SynthesizeFromLabels(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSynthesizeFromLabels",
            display_name="GANForge Synthesize from Labels (SPADE / pix2pixHD)",
            category=SUBCATEGORY,
            description="Draw a picture from a label map, the size of the label map (any size and aspect: padded "
                        "to the network's multiple and cropped back). A SPADE VAE model paints one fixed size (up "
                        "to which smaller maps are padded) and takes its style from a picture (with the style "
                        "encoder) or from the seed.",
            inputs=[
                SemanticSynth.Input("model", tooltip="From GANForge Load Semantic Synthesis."),
                LabelMap.Input("label_map", tooltip="From a Label Map node (with Instance Edges for models that use "
                                                    "them)."),
                io.Int.Input("seed", default=0, min=0, max=MAX_SEED, control_after_generate=True,
                             tooltip="The style of a SPADE VAE model (picture i uses seed + i; with a style picture, "
                                     "the draw around its style, as the original); other models ignore it: their "
                                     "picture follows from the label map alone."),
                io.Image.Input("style_image", optional=True,
                               tooltip="Optional, SPADE VAE models with a style encoder: take the style from this "
                                       "picture (one for all, or one per label map)."),
            ],
            outputs=[io.Image.Output("image", tooltip="The synthesized pictures.")],
        )

    @classmethod
    def execute(cls, model: SemanticHandle, label_map: LabelValue, seed: int = 0,
                style_image: torch.Tensor | None = None) -> io.NodeOutput:
        node = "GANForge Synthesize from Labels"
        _check_label_map(node, label_map)
        synth = model.model
        info = synth.info
        notes: list[str] = []
        try:
            semantics, layout_notes = label_tools.one_hot_semantics(
                label_map.labels, info.label_nc, info.contain_dontcare, label_map.edges, info.use_instance)
        except ValueError as error:
            raise NodeInputError(node, f"{error}", f"{model.name} knows classes 0-{info.label_nc - 1}: use its "
                                 "dataset's palette or numbering (see Load Semantic Synthesis' info).") from None
        notes += layout_notes
        if style_image is not None and (not info.use_vae or synth.encoder is None):
            raise NodeInputError(node, "a style picture is connected, but the model has no style encoder.",
                                 "load a SPADE VAE model with its latest_net_E.pth as style_encoder, or disconnect "
                                 "style_image.")
        if model.patcher is not None:
            mm.load_models_gpu([model.patcher])
        parameter = next(synth.network.parameters())
        device, dtype = parameter.device, parameter.dtype
        count = semantics.shape[0]
        if style_image is not None:
            style_image = _image(node, style_image, "style_image")
            if style_image.shape[0] not in (1, count):
                raise NodeInputError(node, f"{style_image.shape[0]} style pictures for {count} label maps.",
                                     "give one style picture, or one per label map.")
        bar = comfy.utils.ProgressBar(count)
        outputs = []
        with torch.no_grad():
            for i in range(count):
                mm.throw_exception_if_processing_interrupted()
                z = None
                if info.use_vae:
                    if style_image is not None:
                        picture = image_to_nchw(style_image[min(i, style_image.shape[0] - 1)][None], channels=3)
                        mu, logvar = synth.encode_style(picture.to(device, dtype))
                        z = synth.sample_style(mu, logvar, seed + i)  # as the original: a draw around its code
                    else:
                        z = synth.random_z(1, seed + i).to(device, dtype)
                try:
                    y = synth.synthesize(semantics[i:i + 1].to(device, dtype), z)
                except ValueError as error:
                    raise NodeInputError(node, f"{error}.", "give a label map of a size the model paints.") from None
                outputs.append(y.float().cpu())
                bar.update_absolute(i + 1, count)
        image = nchw_to_image(torch.cat(outputs))
        _, height, width = label_map.labels.shape
        text = [f"{count} picture(s) {width}x{height} from {model.name}", *notes]
        return io.NodeOutput(image, ui={"text": text})


def _default_palette() -> str:
    return next(iter(label_tools.PALETTES))


NODES = [LabelMapFromColours, LabelMapFromIndices, LabelMapFromMasks, InstanceEdges, LoadSemanticSynth,
         SynthesizeFromLabels]
