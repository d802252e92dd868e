"""StyleGAN nodes: load, sample Z, class, mapping, synthesis, style mixing, walks, layer blending."""

from __future__ import annotations

import json
import logging
import os

import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io, ui
from PIL.PngImagePlugin import PngInfo

from ..imaging import image_to_pil, make_grid, nchw_to_image
from ..models.checkpoint import CheckpointError
from ..models.stylegan import load_stylegan, save_stylegan
from ..models.stylegan.blend import blend_generators
from ..models.stylegan.latents import (
    EASINGS,
    STYLE_PRESETS,
    W_PNG_KEY,
    class_vector,
    load_w_npz,
    load_w_png,
    mix_styles,
    parse_class_mix,
    save_w_npz,
    style_layer_range,
    truncate,
    w_to_png_text,
    walk,
    z_from_seeds,
)
from ..models.stylegan.stylegan3 import make_input_transform
from ..seeds import MAX_SEED, parse_seed_list
from .errors import NodeInputError, check_finite
from .folders import free_path, model_path, output_file, register_model_folder, workflow_metadata
from .types import CATEGORY, PRECISIONS, ClassLabel, StyleGAN, W, Z, precision_input
from .values import StyleGANModel, WLatents, ZLatents

log = logging.getLogger("ganforge")
FOLDER = "stylegan"
EXTENSIONS = {".pkl", ".pt", ".pth", ".safetensors"}
SUBCATEGORY = f"{CATEGORY}/StyleGAN"
NOISE_MODES = ("const", "random", "none")
CHUNK = 4  # images per synthesis call: a progress step, a preview, an interrupt check


register_model_folder(FOLDER, EXTENSIONS)


def device_generator(model: StyleGANModel) -> tuple[torch.nn.Module, torch.device]:
    """The generator, loaded on ComfyUI's device through its model management."""
    if model.patcher is not None:
        mm.load_models_gpu([model.patcher])
    generator = model.generator
    return generator, next(generator.parameters()).device


def _check_w(node: str, model: StyleGANModel, w: WLatents) -> None:
    g = model.generator
    if w.ws.ndim != 3 or w.ws.shape[1:] != (g.num_ws, g.w_dim):
        origin = f" (it came from {w.source})" if w.source else ""
        raise NodeInputError(node, f"the W latent has {w.num_ws} layers of {w.ws.shape[-1]} values{origin}, but "
                             f"{model.name} takes {g.num_ws} layers of {g.w_dim}.",
                             "map a Z with this model's own Mapping node, or use a latent made for this model.")
    check_finite(node, w.ws, "W latent")


def _broadcast(node: str, a: torch.Tensor, b: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise NodeInputError(node, f"batch sizes differ: {a.shape[0]} and {b.shape[0]} {what}.",
                             "give batches of one size, or a batch of one to use for every item.")
    n = max(a.shape[0], b.shape[0])
    return a.expand(n, *a.shape[1:]), b.expand(n, *b.shape[1:])


def synthesize(node: str, model: StyleGANModel, ws: torch.Tensor, noise_mode: str = "const", noise_seed: int = 0,
               transform: torch.Tensor | None = None) -> torch.Tensor:
    """W -> ComfyUI IMAGE in chunks, with progress, a preview per chunk and interrupt checks."""
    generator, device = device_generator(model)
    kwargs: dict = {"noise_mode": noise_mode, "force_fp32": model.force_fp32}
    if model.architecture == "stylegan3" and transform is not None:
        kwargs["transform"] = transform.to(device)
    if model.architecture == "stylegan2" and noise_mode == "random":
        kwargs["generator"] = torch.Generator(device=device).manual_seed(noise_seed)
    progress = comfy.utils.ProgressBar(ws.shape[0])
    images = []
    for start in range(0, ws.shape[0], CHUNK):
        mm.throw_exception_if_processing_interrupted()
        chunk = ws[start:start + CHUNK].to(device)
        with torch.no_grad():
            images.append(nchw_to_image(generator.synthesis(chunk, **kwargs)))
        done = start + chunk.shape[0]
        progress.update_absolute(done, ws.shape[0], ("JPEG", image_to_pil(images[-1][-1:])[0], 512))
    image = torch.cat(images)
    check_finite(node, image, "generated image")
    return image


class LoadStyleGAN(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLoadStyleGAN",
            display_name="GANForge Load StyleGAN",
            category=SUBCATEGORY,
            description="Load a StyleGAN2 / 2-ADA / 3 generator from models/stylegan: NVlabs .pkl, rosinality .pt "
                        "or GANForge .safetensors. Nothing inside the file is ever executed.",
            inputs=[
                io.Combo.Input("model_name", options=folder_paths.get_filename_list(FOLDER),
                               tooltip="A file in models/stylegan (or a stylegan folder from extra_model_paths)."),
                precision_input("auto: the fp16 layers the checkpoint marks run in fp16 on CUDA "
                                "(as NVlabs does); fp32: everything in fp32; fp16 / bf16: the whole "
                                "synthesis network in that type (fast on GPUs; slow on most CPUs). The "
                                "mapping network always runs in fp32."),
            ],
            outputs=[
                StyleGAN.Output("model", tooltip="The generator, for Mapping, Synthesis and the other nodes."),
                io.Int.Output("resolution", tooltip="Output image size in pixels."),
                io.Int.Output("num_ws", tooltip="Layers of a W+ latent for this model."),
                io.Int.Output("classes", tooltip="Number of classes (0: unconditional)."),
                io.String.Output("info", tooltip="A one-line description of the model."),
            ],
        )

    @classmethod
    def execute(cls, model_name: str, precision: str) -> io.NodeOutput:
        path = model_path("GANForge Load StyleGAN", FOLDER, model_name)
        # Loaded outside inference mode so that projection and guidance can backpropagate through it.
        with torch.inference_mode(False):
            try:
                generator = load_stylegan(path, dtype=PRECISIONS[precision])
            except CheckpointError as error:
                raise NodeInputError("GANForge Load StyleGAN", f"{error}.",
                                     "choose a StyleGAN2/3 generator file (NVlabs .pkl, rosinality .pt or "
                                     "GANForge .safetensors).") from None
        patcher = comfy.model_patcher.ModelPatcher(generator, load_device=mm.get_torch_device(),
                                                   offload_device=mm.unet_offload_device())
        model = StyleGANModel(generator, model_name, patcher, force_fp32=precision == "fp32")
        g = generator
        return io.NodeOutput(model, g.img_resolution, g.num_ws, g.c_dim, model.describe())


class SaveStyleGAN(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSaveStyleGAN",
            display_name="GANForge Save StyleGAN",
            category=SUBCATEGORY,
            description="Save a generator (e.g. a layer blend) as GANForge .safetensors into models/stylegan.",
            inputs=[
                StyleGAN.Input("model", tooltip="The generator to save."),
                io.String.Input("filename", default="blended", tooltip="File name without extension; an "
                                "existing file is never replaced (a number is added)."),
            ],
            outputs=[io.String.Output("path", tooltip="Where the file was written.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, model: StyleGANModel, filename: str) -> io.NodeOutput:
        stem = os.path.basename(filename.strip()) or "stylegan"
        path = free_path(folder_paths.get_folder_paths(FOLDER)[0],
                         lambda i: f"{stem}.safetensors" if i == 1 else f"{stem}_{i}.safetensors")
        save_stylegan(model.generator, path)
        return io.NodeOutput(path, ui={"text": [path]})


class SampleZ(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSampleZ",
            display_name="GANForge Sample Z",
            category=SUBCATEGORY,
            description="Random z latents from seeds, identical to NVlabs generate.py (numpy RandomState).",
            inputs=[
                StyleGAN.Input("model", tooltip="Gives the z size."),
                io.Int.Input("seed", default=0, min=0, max=MAX_SEED, control_after_generate=True,
                             tooltip="First seed; the batch uses seed, seed+1, ..."),
                io.Int.Input("batch_size", default=4, min=1, max=4096, tooltip="How many latents."),
                io.String.Input("seed_list", default="", optional=True,
                                tooltip="Optional '1,5,10-20': when given, these seeds replace seed and batch_size."),
            ],
            outputs=[
                Z.Output("z", tooltip="The z batch, one row per seed."),
                io.String.Output("labels", tooltip="'seed N' per item, for GANForge Image Grid."),
            ],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, seed: int, batch_size: int, seed_list: str = "") -> io.NodeOutput:
        if seed_list and seed_list.strip():
            try:
                seeds = parse_seed_list(seed_list)
            except ValueError as error:
                raise NodeInputError("GANForge Sample Z", f"{error}.", "write seeds like '1,5,10-20'.") from None
        else:
            seeds = [(seed + i) % (MAX_SEED + 1) for i in range(batch_size)]
        latents = ZLatents(z_from_seeds(seeds, model.generator.z_dim), seeds)
        return io.NodeOutput(latents, "\n".join(latents.labels()))


class StyleGANClass(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeStyleGANClass",
            display_name="GANForge StyleGAN Class",
            category=SUBCATEGORY,
            description="A class label for a conditional model: one class, or a weighted mix such as '3:0.7, 5:0.3'.",
            inputs=[
                StyleGAN.Input("model", tooltip="A conditional model (its class count bounds the indices)."),
                io.String.Input("classes", default="0", tooltip="A class index, or index:weight pairs separated "
                                "by commas; weights are normalised to sum to 1."),
            ],
            outputs=[ClassLabel.Output("label", tooltip="The label, for the Mapping node.")],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, classes: str) -> io.NodeOutput:
        c_dim = model.generator.c_dim
        if c_dim == 0:
            raise NodeInputError("GANForge StyleGAN Class", f"{model.name} is unconditional (it has no classes).",
                                 "leave the Mapping node's label input empty for this model.")
        try:
            return io.NodeOutput(class_vector(c_dim, parse_class_mix(classes)))
        except ValueError as error:
            raise NodeInputError("GANForge StyleGAN Class", f"{error} ({model.name} has classes 0..{c_dim - 1}).",
                                 "give an index such as '3' or a mix such as '3:0.7, 5:0.3'.") from None


class Mapping(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeMapping",
            display_name="GANForge Mapping (Z to W)",
            category=SUBCATEGORY,
            description="Map z (and a class) to W+ latents, with the truncation trick.",
            inputs=[
                StyleGAN.Input("model", tooltip="The generator whose mapping network to use."),
                Z.Input("z", tooltip="z latents from GANForge Sample Z."),
                io.Float.Input("truncation_psi", default=0.7, min=-2.0, max=2.0, step=0.05,
                               tooltip="1 = no truncation; smaller pulls towards the average (cleaner, less varied)."),
                io.Int.Input("truncation_cutoff", default=0, min=0, max=64,
                             tooltip="Truncate only the first N layers (0 = all layers)."),
                ClassLabel.Input("label", optional=True, tooltip="Class label for conditional models."),
                io.Combo.Input("truncation_center", options=["global", "class"], default="global", optional=True,
                               tooltip="Truncate towards the model's average W, or towards the average W of "
                                       "the given class (better for conditional models)."),
            ],
            outputs=[W.Output("w", tooltip="W+ latents [N, num_ws, w_dim].")],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, z: ZLatents, truncation_psi: float, truncation_cutoff: int,
                label: torch.Tensor | None = None, truncation_center: str = "global") -> io.NodeOutput:
        node = "GANForge Mapping"
        generator, device = device_generator(model)
        if z.z.shape[1] != generator.z_dim:
            raise NodeInputError(node, f"z has {z.z.shape[1]} values but {model.name} takes {generator.z_dim}.",
                                 "sample Z with this model.")
        check_finite(node, z.z, "z latent")
        c = _label_batch(node, model, label, z.z.shape[0])
        cutoff = truncation_cutoff or None
        with torch.no_grad():
            ws = generator.mapping(z.z.to(device), c.to(device))
            centre = generator.mapping.w_avg
            if truncation_center == "class" and truncation_psi != 1:
                if generator.c_dim == 0:
                    raise NodeInputError(node, f"truncation_center 'class' needs a conditional model; {model.name} "
                                         "is unconditional.", "use truncation_center 'global'.")
                # One estimate per distinct label, however many samples share it.
                labels, which = torch.unique(c, dim=0, return_inverse=True)
                centre = torch.stack([_class_center(generator, row, device) for row in labels])[which]
            ws = truncate(ws, centre, truncation_psi, cutoff)
        return io.NodeOutput(WLatents(ws.float().cpu(), model.name, z.labels()))


def _label_batch(node: str, model: StyleGANModel, label: torch.Tensor | None, batch: int) -> torch.Tensor:
    c_dim = model.generator.c_dim
    if label is None:
        if c_dim:
            raise NodeInputError(node, f"{model.name} is conditional ({c_dim} classes) and no label is connected.",
                                 "connect a GANForge StyleGAN Class node to 'label'.")
        return torch.zeros(batch, 0)
    if c_dim == 0:
        raise NodeInputError(node, f"a class label is connected but {model.name} is unconditional.",
                             "disconnect the label.")
    label = label.reshape(-1, label.shape[-1])
    if label.shape[1] != c_dim:
        raise NodeInputError(node, f"the label has {label.shape[1]} classes but {model.name} has {c_dim}.",
                             "make the label with this model.")
    return label.expand(batch, -1) if label.shape[0] == 1 else label


def _class_center(generator: torch.nn.Module, c: torch.Tensor, device: torch.device, samples: int = 2000):
    """The average W of one class: the mean of seeded samples (seed 123, as NVlabs' statistics)."""
    z = torch.randn(samples, generator.z_dim, generator=torch.Generator().manual_seed(123)).to(device)
    return generator.mapping(z, c.expand(samples, -1))[:, 0].mean(dim=0)


class Synthesis(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSynthesis",
            display_name="GANForge Synthesis (W to image)",
            category=SUBCATEGORY,
            description="Render W+ latents to images. StyleGAN3 models can be translated and rotated.",
            inputs=[
                StyleGAN.Input("model", tooltip="The generator."),
                W.Input("w", tooltip="W+ latents made for this model."),
                io.Combo.Input("noise_mode", options=list(NOISE_MODES), default="const",
                               tooltip="StyleGAN2 per-pixel noise: const (the model's fixed noise), random "
                                       "(seeded below) or none. StyleGAN3 has no noise inputs."),
                io.Int.Input("noise_seed", default=0, min=0, max=MAX_SEED, tooltip="Seed for noise_mode random."),
                io.Float.Input("translate_x", default=0.0, min=-4.0, max=4.0, step=0.01,
                               tooltip="StyleGAN3 only: shift, in units of half the image width."),
                io.Float.Input("translate_y", default=0.0, min=-4.0, max=4.0, step=0.01,
                               tooltip="StyleGAN3 only: shift, in units of half the image height."),
                io.Float.Input("rotate", default=0.0, min=-360.0, max=360.0, step=1.0,
                               tooltip="StyleGAN3 only: rotation in degrees."),
            ],
            outputs=[io.Image.Output("image", tooltip="One image per latent.")],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, w: WLatents, noise_mode: str, noise_seed: int, translate_x: float,
                translate_y: float, rotate: float) -> io.NodeOutput:
        node = "GANForge Synthesis"
        _check_w(node, model, w)
        transform = None
        if (translate_x, translate_y, rotate) != (0.0, 0.0, 0.0):
            if model.architecture != "stylegan3":
                log.warning("%s: translate and rotate apply to StyleGAN3 models only; %s is %s, so they are "
                            "ignored", node, model.name, model.architecture)
            transform = make_input_transform((translate_x, translate_y), rotate)
        return io.NodeOutput(synthesize(node, model, w.ws, noise_mode, noise_seed, transform))


class StyleMixing(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeStyleMixing",
            display_name="GANForge Style Mixing",
            category=SUBCATEGORY,
            description="Copy a range of layers from W_b into W_a for every pair (rows = W_a, columns = W_b), "
                        "and draw NVlabs' style-mixing grid with the sources on the edges.",
            inputs=[
                StyleGAN.Input("model", tooltip="The generator."),
                W.Input("w_a", tooltip="Rows: the latents that keep their other layers."),
                W.Input("w_b", tooltip="Columns: the latents whose layers are copied in."),
                io.Combo.Input("layers", options=[*STYLE_PRESETS, "custom"], default="coarse",
                               tooltip="coarse: pose and shape; middle: features; fine: colour and texture; "
                                       "custom: the start/end below."),
                io.Int.Input("start", default=0, min=0, max=64, tooltip="custom: first layer taken from W_b."),
                io.Int.Input("end", default=4, min=0, max=64, tooltip="custom: layers before this one are taken."),
                io.Combo.Input("noise_mode", options=list(NOISE_MODES), default="const",
                               tooltip="Noise for rendering the grid (StyleGAN2)."),
            ],
            outputs=[
                W.Output("w", tooltip="The mixed latents, row by row (len(w_a) x len(w_b))."),
                io.Image.Output("grid", tooltip="The grid: W_b images on top, W_a images on the left."),
            ],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, w_a: WLatents, w_b: WLatents, layers: str, start: int, end: int,
                noise_mode: str) -> io.NodeOutput:
        node = "GANForge Style Mixing"
        _check_w(node, model, w_a)
        _check_w(node, model, w_b)
        g = model.generator
        if layers != "custom":
            start, end = style_layer_range(layers, g.num_ws, g.img_resolution, model.architecture)
        if not 0 <= start < end <= g.num_ws:
            raise NodeInputError(node, f"layers {start}..{end} are not a range inside 0..{g.num_ws}.",
                                 f"choose 0 <= start < end <= {g.num_ws}.")
        rows, cols = w_a.ws.shape[0], w_b.ws.shape[0]
        mixed = mix_styles(w_a.ws.repeat_interleave(cols, dim=0), w_b.ws.repeat(rows, 1, 1), start, end)
        images = synthesize(node, model, torch.cat([w_b.ws, w_a.ws, mixed]), noise_mode)
        col_images, row_images, cells = images[:cols], images[cols:cols + rows], images[cols + rows:]
        blank = torch.ones_like(images[:1])
        tiles = [blank, col_images]
        for r in range(rows):
            tiles += [row_images[r:r + 1], cells[r * cols:(r + 1) * cols]]
        grid = make_grid(torch.cat(tiles), cols + 1, [], padding=0, background=1.0)
        labels = [f"{a} + layers {start}-{end - 1} of {b}" for a in (w_a.labels or [""] * rows)
                  for b in (w_b.labels or [""] * cols)]
        return io.NodeOutput(WLatents(mixed, model.name, labels), grid)


def _walk_inputs() -> list:
    """The inputs both walk nodes share."""
    return [
        io.Int.Input("frames_per_segment", default=24, min=1, max=10000,
                     tooltip="Frames from one keyframe to the next."),
        io.Boolean.Input("loop", default=False, tooltip="Return to the first keyframe at the end."),
        io.Combo.Input("easing", options=list(EASINGS), default="linear",
                       tooltip="How the motion speeds up and slows down between keyframes."),
    ]


def _checked_walk(node: str, keyframes: torch.Tensor, what: str, frames_per_segment: int, loop: bool, easing: str,
                  spherical: bool = False) -> torch.Tensor:
    check_finite(node, keyframes, what)
    if keyframes.shape[0] < 2:
        raise NodeInputError(node, f"the keyframe batch holds one {what}; a walk needs two or more.",
                             "sample at least two z (batch_size >= 2 in Sample Z) for the keyframes.")
    return walk(keyframes, frames_per_segment, loop, easing, spherical=spherical)


class LatentWalk(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLatentWalk",
            display_name="GANForge Latent Walk (W)",
            category=SUBCATEGORY,
            description="Interpolate linearly through a batch of W keyframes: one W per output frame, ready for "
                        "Synthesis and a video.",
            inputs=[
                W.Input("keyframes", tooltip="Two or more W latents, visited in batch order."),
                *_walk_inputs(),
            ],
            outputs=[W.Output("w", tooltip="One latent per frame.")],
        )

    @classmethod
    def execute(cls, keyframes: WLatents, frames_per_segment: int, loop: bool, easing: str) -> io.NodeOutput:
        frames = _checked_walk("GANForge Latent Walk", keyframes.ws, "W latent", frames_per_segment, loop, easing)
        return io.NodeOutput(WLatents(frames, keyframes.source))


class ZWalk(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeZWalk",
            display_name="GANForge Latent Walk (Z, slerp)",
            category=SUBCATEGORY,
            description="Interpolate spherically through a batch of z keyframes (slerp keeps z Gaussian-like).",
            inputs=[
                Z.Input("keyframes", tooltip="Two or more z latents, visited in batch order."),
                *_walk_inputs(),
            ],
            outputs=[Z.Output("z", tooltip="One z per frame, for the Mapping node.")],
        )

    @classmethod
    def execute(cls, keyframes: ZLatents, frames_per_segment: int, loop: bool, easing: str) -> io.NodeOutput:
        return io.NodeOutput(ZLatents(_checked_walk("GANForge Latent Walk (Z)", keyframes.z, "z latent",
                                                    frames_per_segment, loop, easing, spherical=True)))


class BlendStyleGAN(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeBlendStyleGAN",
            display_name="GANForge Layer Blend (two generators)",
            category=SUBCATEGORY,
            description="Resolution-dependent blending (toonify): layers below the swap resolution from the first "
                        "model, above it from the second, with a smooth transition.",
            inputs=[
                StyleGAN.Input("model_low", tooltip="Gives the low-resolution layers (structure) and the mapping."),
                StyleGAN.Input("model_high", tooltip="Gives the high-resolution layers (texture, colour); "
                               "same architecture, e.g. a fine-tuned child of model_low."),
                io.Int.Input("swap_resolution", default=16, min=4, max=4096,
                             tooltip="Layers at this resolution and above come from model_high."),
                io.Float.Input("blend_width", default=0.0, min=0.0, max=4.0, step=0.05,
                               tooltip="Width of the transition in octaves (0 = hard switch)."),
            ],
            outputs=[StyleGAN.Output("model", tooltip="The blended generator, usable by every StyleGAN node.")],
        )

    @classmethod
    def execute(cls, model_low: StyleGANModel, model_high: StyleGANModel, swap_resolution: int,
                blend_width: float) -> io.NodeOutput:
        try:
            with torch.inference_mode(False):
                blended = blend_generators(model_low.generator, model_high.generator, swap_resolution, blend_width)
        except ValueError as error:
            raise NodeInputError("GANForge Layer Blend", f"{model_low.name} and {model_high.name}: {error}.",
                                 "blend a model with a fine-tune of itself (same resolution and layers).") from None
        blended.architecture, blended.init_kwargs = model_low.generator.architecture, model_low.generator.init_kwargs
        name = f"{model_low.name}<{swap_resolution}>{model_high.name}"
        patcher = comfy.model_patcher.ModelPatcher(blended, load_device=mm.get_torch_device(),
                                                   offload_device=mm.unet_offload_device())
        return io.NodeOutput(StyleGANModel(blended, name, patcher, model_low.force_fp32))


class SaveLatent(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSaveLatent",
            display_name="GANForge Save Latent",
            category=SUBCATEGORY,
            description="Save W+ latents as .npz in the output folder, in NVlabs' projector format (key 'w').",
            inputs=[
                W.Input("w", tooltip="The latents to keep."),
                io.String.Input("filename_prefix", default="ganforge/latent", tooltip="Name in the output folder; "
                                "a counter is added and existing files are never replaced."),
            ],
            outputs=[io.String.Output("path", tooltip="The written file.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, w: WLatents, filename_prefix: str) -> io.NodeOutput:
        check_finite("GANForge Save Latent", w.ws, "W latent")
        path, subfolder = output_file(filename_prefix, "npz")
        save_w_npz(w.ws, path)
        return io.NodeOutput(path, ui={"text": [os.path.join(subfolder, os.path.basename(path))]})


class SaveImageWithLatent(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSaveImage",
            display_name="GANForge Save Image (with W)",
            category=SUBCATEGORY,
            description="Save images as PNG like Save Image (the workflow is embedded), and with a W input also each "
                        "picture's W+ latent, so GANForge Load Latent can turn the picture back into its latent.",
            inputs=[
                io.Image.Input("images", tooltip="The pictures to save."),
                io.String.Input("filename_prefix", default="ganforge/stylegan", tooltip="Name in the output folder; "
                                "a counter is added and existing files are never replaced."),
                W.Input("w", optional=True, tooltip="The latents the pictures were made from, one per picture."),
            ],
            outputs=[],
            hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, images, filename_prefix: str, w: WLatents | None = None) -> io.NodeOutput:
        node = "GANForge Save Image"
        if w is not None:
            check_finite(node, w.ws, "W latent")
            if w.ws.shape[0] != images.shape[0]:
                raise NodeInputError(node, f"{images.shape[0]} images but {w.ws.shape[0]} latents.",
                                     "connect the W that went into the Synthesis node that made these images.")
        results = []
        metadata = workflow_metadata(cls.hidden)
        for index, picture in enumerate(image_to_pil(images)):
            info = PngInfo()
            for key, value in metadata.items():
                info.add_text(key, json.dumps(value))
            if w is not None:
                info.add_text(W_PNG_KEY, w_to_png_text(w.ws[index:index + 1]))
                info.add_text("ganforge_model", w.source)
            path, subfolder = output_file(filename_prefix, "png", picture.width, picture.height)
            picture.save(path, pnginfo=info, compress_level=4)
            results.append(ui.SavedResult(os.path.basename(path), subfolder, io.FolderType.output))
        return io.NodeOutput(ui=ui.SavedImages(results))


LATENT_SUFFIXES = (".npz", ".png")


class LoadLatent(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        folder = folder_paths.get_input_directory()
        files = sorted(name for name in os.listdir(folder) if name.lower().endswith(LATENT_SUFFIXES)) \
            if os.path.isdir(folder) else []
        return io.Schema(
            node_id="GANForgeLoadLatent",
            display_name="GANForge Load Latent",
            category=SUBCATEGORY,
            description="Load W / W+ latents from the input folder: an .npz (NVlabs projected_w.npz or GANForge Save "
                        "Latent) or a PNG saved by GANForge Save Image with its W. Files are read as arrays only, "
                        "never unpickled.",
            inputs=[
                StyleGAN.Input("model", tooltip="The model the latents are for (checks their layer count)."),
                io.Combo.Input("latent_file", options=files, tooltip=".npz files and GANForge PNGs in ComfyUI's "
                               "input folder.", upload=io.UploadType.image),
            ],
            outputs=[W.Output("w", tooltip="The latents, [N, num_ws, w_dim].")],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, latent_file: str) -> io.NodeOutput:
        node = "GANForge Load Latent"
        path = os.path.join(folder_paths.get_input_directory(), os.path.basename(latent_file))
        try:
            if latent_file.lower().endswith(".png"):
                ws = load_w_png(path, model.generator.num_ws)
            else:
                ws = load_w_npz(path, model.generator.num_ws)
        except (OSError, ValueError) as error:
            raise NodeInputError(node, f"{latent_file}: {error}.", "choose an .npz written by GANForge Save Latent "
                                 "or NVlabs' projector, or a PNG from GANForge Save Image, for a model with this "
                                 "layer count.") from None
        latents = WLatents(ws, latent_file)
        _check_w(node, model, latents)
        return io.NodeOutput(latents)


NODES = [LoadStyleGAN, SaveStyleGAN, SampleZ, StyleGANClass, Mapping, Synthesis, StyleMixing, LatentWalk, ZWalk,
         BlendStyleGAN, SaveLatent, LoadLatent, SaveImageWithLatent]
