"""Multimodal translation nodes: MUNIT (content + style codes) and FUNIT (few-shot class codes).

A picture splits into a content code (what is where) and a style code (how it looks); the
decoder of a domain puts any content into that domain with any style. Codes travel on their own
sockets (``ContentCode``, ``StyleCode``), so one content can meet many styles downstream.
"""

from __future__ import annotations

import comfy.model_management as mm
import comfy.utils
import torch
import torch.nn.functional as F
from comfy_api.latest import io

from ..imaging import image_to_nchw, make_grid, nchw_to_image
from ..models.checkpoint import CheckpointError
from ..models.superres.tiling import pad_centred
from ..models.translation.multimodal import load_funit, load_munit
from ..seeds import parse_seed_list
from .errors import NodeInputError, check_finite
from .folders import model_path
from .translation import FOLDER
from .types import CATEGORY, ContentCode, Funit, Munit, StyleCode, precision_dtype, precision_input
from .values import ContentCode as ContentValue
from .values import MultimodalHandle
from .values import StyleCode as StyleValue
from .vqgan import patcher_for

SUBCATEGORY = f"{CATEGORY}/Translation/MUNIT & FUNIT"
DOMAINS = ["A", "B"]
CHUNK = 8  # pictures decoded per call: progress and interrupts between chunks, bounded memory


def _load(node: str, loader, model_name: str, precision: str, what: str) -> MultimodalHandle:
    path = model_path(node, FOLDER, model_name)
    dtype = precision_dtype(node, precision)
    try:
        model = loader(path, dtype=dtype)
    except CheckpointError as error:
        raise NodeInputError(node, f"{error}.", f"choose {what}.") from None
    networks = model.generators if hasattr(model, "generators") else {"gen": model.generator}
    return MultimodalHandle(model, model_name, patcher_for(torch.nn.ModuleDict(networks)))


def _ready(handle: MultimodalHandle) -> tuple[torch.device, torch.dtype]:
    if handle.patcher is not None:
        mm.load_models_gpu([handle.patcher])
    networks = handle.model.generators.values() if hasattr(handle.model, "generators") else [handle.model.generator]
    parameter = next(next(iter(networks)).parameters())
    return parameter.device, parameter.dtype


def _pictures(node: str, image: torch.Tensor, channels: int, what: str = "image") -> torch.Tensor:
    check_finite(node, image, what)
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        raise NodeInputError(node, f"expected an IMAGE [batch, height, width, 1/3/4 channels] as {what}, got "
                             f"{list(image.shape)}.", "connect an image output (Load Image, a generator, ...).")
    return image_to_nchw(image, channels=channels)


def _check_kind(node: str, handle: MultimodalHandle, code, what: str) -> None:
    if code.kind != handle.kind:
        raise NodeInputError(node, f"the {what} comes from a {code.kind.upper()} model ({code.model}), but the "
                             f"model connected is {handle.kind.upper()} ({handle.name}).",
                             f"make the {what} with the same model.")


def _check_style(node: str, handle: MultimodalHandle, style: StyleValue) -> None:
    _check_kind(node, handle, style, "style code")
    style_dim = handle.model.info.style_dim
    if style.codes.shape[1] != style_dim:
        raise NodeInputError(node, f"the style codes have {style.codes.shape[1]} numbers each ({style.model}); "
                             f"{handle.name} takes {style_dim}.", "make the style codes with the same model.")


def _check_content(node: str, handle: MultimodalHandle, content: ContentValue) -> None:
    _check_kind(node, handle, content, "content code")
    channels = handle.model.info.content_channels
    if content.codes.shape[1] != channels:
        raise NodeInputError(node, f"the content codes have {content.codes.shape[1]} channels ({content.model}); "
                             f"{handle.name} takes {channels}.", "encode the content with the same model.")


def _domain_name(handle: MultimodalHandle, domain: str) -> str:
    names = handle.model.info.domains
    label = names[DOMAINS.index(domain)] if domain in DOMAINS else domain
    return domain if label == domain else f"{domain} ({label})"


def _encode(handle: MultimodalHandle, pictures: torch.Tensor, encoder) -> torch.Tensor:
    """``encoder`` over NCHW ``pictures`` in chunks on the model's device, with progress and
    interrupts between chunks; the codes come back as float32 on the CPU."""
    device, dtype = _ready(handle)
    bar = comfy.utils.ProgressBar(len(pictures))
    codes = []
    with torch.no_grad():
        for start in range(0, len(pictures), CHUNK):
            mm.throw_exception_if_processing_interrupted()
            part = pictures[start:start + CHUNK].to(device, dtype)
            codes.append(encoder(part).float().cpu())
            bar.update_absolute(start + len(part), len(pictures))
    return torch.cat(codes)


def _pairs(node: str, n: int, m: int, first: str, second: str) -> list[tuple[int, int]]:
    """(i, j) index pairs: N with N in order, or one of either shared by all of the other."""
    if n != m and 1 not in (n, m):
        raise NodeInputError(node, f"{n} {first} and {m} {second} do not pair up.",
                             "give as many of each, or one of either; for every combination of MUNIT codes use "
                             "MUNIT Style Grid.")
    return [(i if n > 1 else 0, i if m > 1 else 0) for i in range(max(n, m))]


def _decode_pairs(node: str, handle: MultimodalHandle, content: ContentValue, style: StyleValue,
                  pairs: list[tuple[int, int]]) -> torch.Tensor:
    """Decode (content i, style j) for each pair, in chunks; NCHW in [-1, 1] cropped to the
    content pictures' size."""
    device, dtype = _ready(handle)
    model = handle.model
    bar = comfy.utils.ProgressBar(len(pairs))
    height, width = content.size
    outputs = []
    with torch.no_grad():
        for start in range(0, len(pairs), CHUNK):
            mm.throw_exception_if_processing_interrupted()
            chunk = pairs[start:start + CHUNK]
            codes = content.codes[[i for i, _ in chunk]].to(device, dtype)
            styles = style.codes[[j for _, j in chunk]].to(device, dtype)[..., None, None]
            if handle.kind == "munit":
                y = model.decode(style.domain, codes, styles)
            else:
                y = model.decode(codes, styles)
            top, left = content.offset
            outputs.append(y.float()[..., top:top + height, left:left + width].cpu())
            bar.update_absolute(start + len(chunk), len(pairs))
    return torch.cat(outputs)


class LoadMUNIT(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLoadMUNIT",
            display_name="GANForge Load MUNIT",
            category=SUBCATEGORY,
            description="Load a MUNIT generator pair from models/translation: NVlabs gen_*.pt / edges2shoes.pt "
                        "(both domains A and B, PyTorch 0.3 files included) or a GANForge .safetensors. MUNIT splits "
                        "a picture into a content code (shared by both domains) and a style code (per domain).",
            inputs=[
                io.Combo.Input("model_name", options=_model_list(),
                               tooltip="A MUNIT generator file (gen_*.pt, not dis_*.pt or optimizer.pt)."),
                precision_input("auto: fp32 (exactly the original); fp16 / bf16 halve memory on GPUs."),
            ],
            outputs=[Munit.Output("munit", tooltip="For the MUNIT encode, style and decode nodes."),
                     io.String.Output("info", tooltip="Sizes of the codes and the domains.")],
        )

    @classmethod
    def execute(cls, model_name: str, precision: str = "auto") -> io.NodeOutput:
        handle = _load("GANForge Load MUNIT", load_munit, model_name, precision,
                       "a MUNIT generator file (gen_*.pt or edges2shoes.pt, or a GANForge MUNIT .safetensors)")
        text = [handle.describe(), *handle.model.info.notes]
        return io.NodeOutput(handle, "\n".join(text), ui={"text": text})


class MUNITEncodeContent(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeMUNITEncodeContent",
            display_name="GANForge MUNIT Encode Content",
            category=SUBCATEGORY,
            description="The content code of each picture: its layout, which any domain's decoder can redraw in "
                        "any style. Any size (padded to the network's multiple; decoding crops back).",
            inputs=[
                Munit.Input("munit", tooltip="From GANForge Load MUNIT."),
                io.Image.Input("image", tooltip="Pictures of the domain chosen below (a batch is fine)."),
                io.Combo.Input("domain", options=DOMAINS, default="A",
                               tooltip="The domain the pictures belong to: its content encoder reads them."),
            ],
            outputs=[ContentCode.Output("content", tooltip="For MUNIT Decode or Style Grid.")],
        )

    @classmethod
    def execute(cls, munit: MultimodalHandle, image: torch.Tensor, domain: str) -> io.NodeOutput:
        node = "GANForge MUNIT Encode Content"
        info = munit.model.info
        x = _pictures(node, image, info.generator_kwargs(domain)["input_dim"])
        padded, offset = pad_centred(x, info.size_multiple)
        codes = _encode(munit, padded, lambda part: munit.model.encode_content(domain, part))
        value = ContentValue(codes, munit.name, "munit", domain, tuple(x.shape[-2:]), offset)
        text = f"{len(codes)} content code(s) {list(codes.shape[1:])} from domain {_domain_name(munit, domain)}"
        return io.NodeOutput(value, ui={"text": [text]})


class MUNITEncodeStyle(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeMUNITEncodeStyle",
            display_name="GANForge MUNIT Encode Style",
            category=SUBCATEGORY,
            description="The style code of each picture (how it looks: colours, texture, stroke). To translate A "
                        "pictures in the style of a B picture, encode the B picture here with domain B.",
            inputs=[
                Munit.Input("munit", tooltip="From GANForge Load MUNIT."),
                io.Image.Input("image", tooltip="Example pictures of the domain chosen below."),
                io.Combo.Input("domain", options=DOMAINS, default="B",
                               tooltip="The domain the pictures belong to; their style decodes into this domain."),
            ],
            outputs=[StyleCode.Output("style", tooltip="For MUNIT Decode, Style Interpolation or Style Grid.")],
        )

    @classmethod
    def execute(cls, munit: MultimodalHandle, image: torch.Tensor, domain: str) -> io.NodeOutput:
        node = "GANForge MUNIT Encode Style"
        info = munit.model.info
        x = _pictures(node, image, info.generator_kwargs(domain)["input_dim"])
        padded, _ = pad_centred(x, info.size_multiple)
        codes = _encode(munit, padded, lambda part: munit.model.encode_style(domain, part)).flatten(1)
        labels = [f"style of picture {i}" for i in range(len(codes))]
        value = StyleValue(codes, munit.name, "munit", domain, labels)
        text = f"{len(codes)} style code(s) of domain {_domain_name(munit, domain)}"
        return io.NodeOutput(value, ui={"text": [text]})


class MUNITRandomStyle(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeMUNITRandomStyle",
            display_name="GANForge MUNIT Random Style",
            category=SUBCATEGORY,
            description="Style codes drawn from MUNIT's prior N(0, I), from which the original test.py draws its "
                        "random styles. Each seed always gives the same style, on any device (GANForge's own seeding: "
                        "the original's --seed numbers give other styles).",
            inputs=[
                Munit.Input("munit", tooltip="From GANForge Load MUNIT (for the style size)."),
                io.String.Input("seeds", default="0-7", tooltip="Seeds, e.g. '1,5,10-20': one style each."),
                io.Combo.Input("domain", options=DOMAINS, default="B",
                               tooltip="The domain the styles decode into."),
                io.Float.Input("scale", default=1.0, min=0.0, max=4.0, step=0.05,
                               tooltip="Multiplies the codes: below 1 gives tamer, more typical styles; above 1 "
                                       "more unusual ones (1: the prior)."),
            ],
            outputs=[StyleCode.Output("style", tooltip="For MUNIT Decode, Style Interpolation or Style Grid.")],
        )

    @classmethod
    def execute(cls, munit: MultimodalHandle, seeds: str, domain: str, scale: float = 1.0) -> io.NodeOutput:
        node = "GANForge MUNIT Random Style"
        try:
            seed_list = parse_seed_list(seeds)
        except ValueError as error:
            raise NodeInputError(node, f"{error}.", "write seeds like '0-7' or '1,5,10-20'.") from None
        codes = torch.cat([munit.model.random_style(1, seed, "cpu") for seed in seed_list]).flatten(1) * scale
        value = StyleValue(codes, munit.name, "munit", domain, [f"seed {seed}" for seed in seed_list])
        return io.NodeOutput(value)


class MUNITDecode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeMUNITDecode",
            display_name="GANForge MUNIT Decode",
            category=SUBCATEGORY,
            description="Draw content codes with style codes through the decoder of the styles' domain. A content "
                        "code from A with a B style is the A->B translation; with an A style it reconstructs. N "
                        "contents and N styles pair up; one of either is shared by all.",
            inputs=[
                Munit.Input("munit", tooltip="From GANForge Load MUNIT."),
                ContentCode.Input("content", tooltip="From MUNIT Encode Content."),
                StyleCode.Input("style", tooltip="From MUNIT Encode Style, Random Style or Style Interpolation."),
                io.Combo.Input("domain", options=["from style", *DOMAINS], default="from style",
                               tooltip="The decoder to use. 'from style': the domain the style codes belong to "
                                       "(the only one they fit)."),
            ],
            outputs=[io.Image.Output("image", tooltip="The decoded pictures, the size of the content pictures.")],
        )

    @classmethod
    def execute(cls, munit: MultimodalHandle, content: ContentValue, style: StyleValue,
                domain: str = "from style") -> io.NodeOutput:
        node = "GANForge MUNIT Decode"
        _check_content(node, munit, content)
        _check_style(node, munit, style)
        if domain != "from style" and domain != style.domain:
            raise NodeInputError(node, f"the style codes belong to domain {_domain_name(munit, style.domain)}; "
                                 f"decoding into {_domain_name(munit, domain)} needs a style of that domain.",
                                 f"set domain to 'from style', or make styles with domain {domain}.")
        pairs = _pairs(node, len(content.codes), len(style.codes), "content codes", "style codes")
        y = _decode_pairs(node, munit, content, style, pairs)
        return io.NodeOutput(nchw_to_image(y), ui={"text": [
            f"{len(pairs)} picture(s) decoded into domain {_domain_name(munit, style.domain)}"]})


class StyleInterpolation(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeStyleCodeInterpolation",
            display_name="GANForge Style Code Interpolation (MUNIT / FUNIT)",
            category=SUBCATEGORY,
            description="Codes along the straight line between two style codes (the first code of each input): "
                        "MUNIT styles for a smooth change of look, or FUNIT class codes for a morph between "
                        "two classes.",
            inputs=[
                StyleCode.Input("style_a", tooltip="Where the line starts."),
                StyleCode.Input("style_b", tooltip="Where it ends (same model and domain)."),
                io.Int.Input("steps", default=8, min=2, max=256, tooltip="Codes on the line, both ends included."),
            ],
            outputs=[StyleCode.Output("style", tooltip="steps codes, from style_a to style_b.")],
        )

    @classmethod
    def execute(cls, style_a: StyleValue, style_b: StyleValue, steps: int) -> io.NodeOutput:
        node = "GANForge Style Code Interpolation"
        if (style_a.kind, style_a.codes.shape[1]) != (style_b.kind, style_b.codes.shape[1]):
            raise NodeInputError(node, f"style_a ({style_a.kind}, {style_a.codes.shape[1]} numbers, {style_a.model}) "
                                 f"and style_b ({style_b.kind}, {style_b.codes.shape[1]} numbers, {style_b.model}) do "
                                 "not come from the same kind of model.", "make both styles with one model.")
        if style_a.domain != style_b.domain:
            raise NodeInputError(node, f"style_a belongs to domain {style_a.domain} and style_b to {style_b.domain}.",
                                 "make both styles for the same domain.")
        t = torch.linspace(0, 1, steps)[:, None]
        codes = torch.lerp(style_a.codes[:1].float(), style_b.codes[:1].float(), t)
        labels = [f"t={float(v):.2f}" for v in t[:, 0]]
        return io.NodeOutput(StyleValue(codes, style_a.model, style_a.kind, style_a.domain, labels))


class StyleGrid(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeMUNITStyleGrid",
            display_name="GANForge MUNIT Style Grid",
            category=SUBCATEGORY,
            description="Every content with every style: one row per style (labelled), one column per content. "
                        "The content pictures can head the columns.",
            inputs=[
                Munit.Input("munit", tooltip="From GANForge Load MUNIT."),
                ContentCode.Input("content", tooltip="M content codes (columns)."),
                StyleCode.Input("style", tooltip="N style codes (rows)."),
                io.Image.Input("content_image", optional=True,
                               tooltip="Optional: the encoded pictures, shown as the first row."),
            ],
            outputs=[io.Image.Output("grid", tooltip="One labelled picture of N rows and M columns."),
                     io.Image.Output("images", tooltip="The N x M pictures as a batch, style by style.")],
        )

    @classmethod
    def execute(cls, munit: MultimodalHandle, content: ContentValue, style: StyleValue,
                content_image: torch.Tensor | None = None) -> io.NodeOutput:
        node = "GANForge MUNIT Style Grid"
        _check_content(node, munit, content)
        _check_style(node, munit, style)
        columns, rows = len(content.codes), len(style.codes)
        if rows * columns > 1024:
            raise NodeInputError(node, f"{rows} styles x {columns} contents is {rows * columns} pictures.",
                                 "use at most 1024 (fewer seeds or pictures).")
        pairs = [(i, j) for j in range(rows) for i in range(columns)]
        images = nchw_to_image(_decode_pairs(node, munit, content, style, pairs))
        labels = list(style.labels) or [f"style {j}" for j in range(rows)]
        tiles, names = [], []
        if content_image is not None:
            shown = content_image if len(content_image) == columns else content_image[:1].expand(columns, -1, -1, -1)
            tiles.append(_fit(shown, images.shape[1:3], images.shape[-1]))
            names += ["content"] + [""] * (columns - 1)
        for j in range(rows):
            tiles.append(images[j * columns:(j + 1) * columns])
            names += [labels[j]] + [""] * (columns - 1)
        grid = make_grid(torch.cat(tiles), columns, names, padding=2)
        return io.NodeOutput(grid, images, ui={"text": [f"{rows} style(s) x {columns} content(s), decoded into "
                                                      f"domain {_domain_name(munit, style.domain)}"]})


def _fit(image: torch.Tensor, size: tuple[int, int], channels: int) -> torch.Tensor:
    """A picture at a grid tile's size and channel count (for showing it beside decoded ones)."""
    x = image.movedim(-1, 1).float()
    if tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    if x.shape[1] != channels:
        x = x[:, :3].mean(1, keepdim=True) if channels == 1 else x[:, :1].expand(-1, 3, -1, -1) \
            if x.shape[1] == 1 else x[:, :3]
    return x.movedim(1, -1)


class LoadFUNIT(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLoadFUNIT",
            display_name="GANForge Load FUNIT",
            category=SUBCATEGORY,
            description="Load a FUNIT few-shot generator from models/translation: NVlabs gen_*.pt / animal149_gen.pt "
                        "(its gen_test weights, the averaged ones the original tests with) or a GANForge "
                        ".safetensors. FUNIT redraws a picture as a class it may never have seen, from a few "
                        "examples.",
            inputs=[
                io.Combo.Input("model_name", options=_model_list(),
                               tooltip="A FUNIT generator file (gen_*.pt, not dis_*.pt or optimizer.pt)."),
                precision_input("auto: fp32 (exactly the original); fp16 / bf16 halve memory on GPUs."),
            ],
            outputs=[Funit.Output("funit", tooltip="For FUNIT Class Code and FUNIT Translate."),
                     io.String.Output("info", tooltip="Sizes of the codes.")],
        )

    @classmethod
    def execute(cls, model_name: str, precision: str = "auto") -> io.NodeOutput:
        handle = _load("GANForge Load FUNIT", load_funit, model_name, precision,
                       "a FUNIT generator file (gen_*.pt, or a GANForge FUNIT .safetensors)")
        text = [handle.describe(), *handle.model.info.notes]
        return io.NodeOutput(handle, "\n".join(text), ui={"text": text})


FUNIT_SIZE_TOOLTIP = ("Each class picture is resized to this square before encoding, as the original test_k_shot.py "
                      "does (128 for the released animals model); 0 keeps the pictures' size.")


class FUNITClassCode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeFUNITClassCode",
            display_name="GANForge FUNIT Class Code",
            category=SUBCATEGORY,
            description="The code of a class from K example pictures: the mean of their class codes, as the "
                        "original does. A handful (1-5) of pictures of a new animal, say, is enough.",
            inputs=[
                Funit.Input("funit", tooltip="From GANForge Load FUNIT."),
                io.Image.Input("images", tooltip="K pictures of the target class (a batch)."),
                io.Int.Input("size", default=128, min=0, max=2048, step=8, tooltip=FUNIT_SIZE_TOOLTIP),
            ],
            outputs=[StyleCode.Output("class_code", tooltip="For FUNIT Translate.")],
        )

    @classmethod
    def execute(cls, funit: MultimodalHandle, images: torch.Tensor, size: int = 128) -> io.NodeOutput:
        node = "GANForge FUNIT Class Code"
        info = funit.model.info
        x = _pictures(node, images, 3, "images")
        if size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        padded, _ = pad_centred(x, info.size_multiple)
        device, dtype = _ready(funit)
        with torch.no_grad():
            code = funit.model.class_code(padded.to(device, dtype)).float().cpu().flatten(1)
        value = StyleValue(code, funit.name, "funit", "", [f"class of {len(x)} picture(s)"])
        return io.NodeOutput(value, ui={"text": [f"class code from {len(x)} picture(s)"]})


class FUNITTranslate(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeFUNITTranslate",
            display_name="GANForge FUNIT Translate",
            category=SUBCATEGORY,
            description="Redraw each picture as the class of the class code, keeping its pose and layout "
                        "(the content). Any size: padded to the network's multiple and cropped back. N pictures and "
                        "N class codes pair up; one of either is shared by all (one picture through a class "
                        "morph from Style Code Interpolation, say).",
            inputs=[
                Funit.Input("funit", tooltip="From GANForge Load FUNIT."),
                io.Image.Input("image", tooltip="The pictures to translate (a batch is fine)."),
                StyleCode.Input("class_code", tooltip="From FUNIT Class Code."),
            ],
            outputs=[io.Image.Output("translated", tooltip="The translated pictures, the size of the input.")],
        )

    @classmethod
    def execute(cls, funit: MultimodalHandle, image: torch.Tensor, class_code: StyleValue) -> io.NodeOutput:
        node = "GANForge FUNIT Translate"
        _check_style(node, funit, class_code)
        info = funit.model.info
        x = _pictures(node, image, 3)
        padded, offset = pad_centred(x, info.size_multiple)
        codes = _encode(funit, padded, funit.model.encode_content)
        content = ContentValue(codes, funit.name, "funit", "", tuple(x.shape[-2:]), offset)
        y = _decode_pairs(node, funit, content, class_code, _pairs(node, len(codes), len(class_code.codes),
                                                                   "pictures", "class codes"))
        return io.NodeOutput(nchw_to_image(y))


def _model_list() -> list[str]:
    import folder_paths

    return folder_paths.get_filename_list(FOLDER)


NODES = [LoadMUNIT, MUNITEncodeContent, MUNITEncodeStyle, MUNITRandomStyle, MUNITDecode, StyleInterpolation,
         StyleGrid, LoadFUNIT, FUNITClassCode, FUNITTranslate]
