"""Super-resolution nodes: ESRGAN-family upscalers (tiled), SR3 diffusion, and cascades of both."""

from __future__ import annotations

import logging
import time

import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils
import folder_paths
import torch
import torch.nn.functional as F
from comfy_api.latest import io

from ..imaging import image_to_nchw, image_to_pil, nchw_to_image
from ..models.checkpoint import CheckpointError
from ..models.superres import SRInfo, blend_networks, load_superres
from ..models.superres.cascade import plan_chain
from ..models.superres.tiling import TileOutOfMemory
from ..models.superres.upscale import SR3_SAMPLERS, UpscaleResult, choose_tile, super_resolve, upscale
from ..seeds import MAX_SEED
from .errors import NodeInputError, check_finite
from .folders import model_path, register_model_folder
from .types import CATEGORY, SR3, Upscaler, precision_dtype, precision_input
from .values import SR3Settings, UpscalerModel

log = logging.getLogger("ganforge")
SUBCATEGORY = f"{CATEGORY}/Super-resolution"
ESRGAN_FOLDER = "upscale_models"  # ComfyUI's own folder for ESRGAN-family files
SR3_FOLDER = "sr3"
FROM_FILE = "from the file"
# An untiled pass may use at most this share of the free memory before the picture is tiled.
MEMORY_SHARE = 0.25
AUTO_TILE = 512

register_model_folder(SR3_FOLDER, {".pth", ".pt", ".safetensors", ".json"})


def _wrap(node: str, network: torch.nn.Module, name: str, precision: str, default_half: bool) -> UpscalerModel:
    half = default_half and mm.get_torch_device().type == "cuda"
    dtype = precision_dtype(node, precision, torch.float16 if half else torch.float32)
    network = network.to(dtype)
    return UpscalerModel(network, name, _patcher(network))


def _patcher(network: torch.nn.Module) -> comfy.model_patcher.ModelPatcher:
    """ComfyUI's handle for moving the network to the compute device and back."""
    return comfy.model_patcher.ModelPatcher(network, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def _on_device(model: UpscalerModel) -> torch.device:
    if model.patcher is not None:
        mm.load_models_gpu([model.patcher])
    return next(model.network.parameters()).device


def _free_memory(device: torch.device) -> int:
    if device.type == "cpu":
        import psutil

        return psutil.virtual_memory().available
    return mm.get_free_memory(device)


class _StageProgress:
    """One ComfyUI progress bar across the stages of a cascade; checks for interrupts."""

    RESOLUTION = 1000

    def __init__(self, stages: int) -> None:
        self.stages = max(stages, 1)
        self.bar = comfy.utils.ProgressBar(self.stages * self.RESOLUTION)
        self.stage = 0

    def update(self, done: int, total: int, preview=None) -> None:
        mm.throw_exception_if_processing_interrupted()
        value = self.stage * self.RESOLUTION + int(self.RESOLUTION * done / max(total, 1))
        self.bar.update_absolute(value, self.stages * self.RESOLUTION, preview)


def run_upscaler(node: str, model: UpscalerModel, x: torch.Tensor, tile: int, overlap: int, alpha: str,
                 progress: _StageProgress, preview_every: int = 0) -> UpscaleResult:
    """One stage: NCHW 0..1 on the CPU -> the model's output, NCHW 0..1 on the CPU."""
    device = _on_device(model)
    if model.sr3 is not None:
        settings = model.sr3

        def on_step(step: int, total: int, x0: torch.Tensor) -> None:
            preview = None
            if preview_every and (step % preview_every == 0 or step == total):
                preview = ("JPEG", image_to_pil(nchw_to_image(x0[-1:]))[0], 512)
            progress.update(step, total, preview)

        generator = torch.Generator(device=device).manual_seed(settings.seed)
        try:
            return _cpu(super_resolve(model.network, x, settings.sampler, settings.steps, settings.eta, generator,
                                      on_step))
        except ValueError as error:
            raise NodeInputError(node, f"{model.name}: {error}.", "load it with its JSON config or set the "
                                 "factor on GANForge Load SR3.") from None
    notices = []
    if tile == 0 and device.type == "cpu":
        tile, notice = choose_tile(model.network, *x.shape[-2:], _free_memory(device), MEMORY_SHARE, AUTO_TILE)
        if notice:
            notices.append(notice)
            log.warning("%s: %s", node, notice)
    started = time.perf_counter()

    def on_tile(done: int, total: int) -> None:
        if done == 1 and total > 1:
            eta = (time.perf_counter() - started) * (total - 1)
            log.info("%s: %s, tile 1 of %d done; about %.0f s to go", node, model.name, total, eta)
        progress.update(done, total)

    try:
        result = upscale(model.network, x, tile, overlap, None, alpha, on_tile)
    except TileOutOfMemory as error:
        raise NodeInputError(node, f"{model.name}: {error}.", "free memory (unload other models) or use a "
                             "smaller picture.") from None
    result.notices[:0] = notices
    if result.tile != tile:
        log.warning("%s: %s", node, "; ".join(result.notices))
    return _cpu(result)


def _cpu(result: UpscaleResult) -> UpscaleResult:
    result.image = result.image.float().cpu()
    return result


def _to_nchw(node: str, image: torch.Tensor) -> torch.Tensor:
    check_finite(node, image, "image")
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        raise NodeInputError(node, f"expected an IMAGE [batch, height, width, 1/3/4 channels], got "
                             f"{list(image.shape)}.", "connect an image output (Load Image, a generator, ...).")
    return image_to_nchw(image, value_range=(0.0, 1.0))


def _resize_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if x.shape[-2:] == (height, width):
        return x
    shrinking = height < x.shape[-2]
    return F.interpolate(x, size=(height, width), mode="bicubic", antialias=shrinking).clamp_(0, 1)


TILE_TOOLTIP = ("Tile size in input pixels; 0 = the whole picture at once (on the CPU a picture too big for "
                "memory is tiled at 512 automatically, with a notice). A tile that runs out of memory is halved.")
OVERLAP_TOOLTIP = ("Input pixels shared by neighbouring tiles; their outputs are blended across it so no seams "
                   "show (32 matches the untiled result closely).")


class LoadUpscaler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLoadUpscaler",
            display_name="GANForge Load Upscaler (ESRGAN family)",
            category=SUBCATEGORY,
            description="Load an ESRGAN, Real-ESRGAN / BasicSR RRDBNet (x1, x2, x4, x8) or SRVGGNetCompact "
                        "(realesr-general, animevideo) file from models/upscale_models. Nothing inside the file "
                        "is executed.",
            inputs=[
                io.Combo.Input("model_name", options=folder_paths.get_filename_list(ESRGAN_FOLDER),
                               tooltip="A .pth / .safetensors in models/upscale_models."),
                precision_input("auto: fp16 on CUDA (as Real-ESRGAN does), fp32 elsewhere."),
            ],
            outputs=[
                Upscaler.Output("upscaler", tooltip="For GANForge Upscale Image and GANForge Cascade Upscale."),
                io.Float.Output("scale", tooltip="How many times larger the output is."),
                io.String.Output("info", tooltip="Architecture, scale and channels."),
            ],
        )

    @classmethod
    def execute(cls, model_name: str, precision: str) -> io.NodeOutput:
        node = "GANForge Load Upscaler"
        try:
            network = load_superres(model_path(node, ESRGAN_FOLDER, model_name))
        except CheckpointError as error:
            raise NodeInputError(node, f"{error}.", "choose an ESRGAN-family file (SR3 models load with GANForge "
                                 "Load SR3).") from None
        if network.info.is_diffusion:
            raise NodeInputError(node, f"{model_name} is an SR3 diffusion model.",
                                 "put it in models/sr3 and load it with GANForge Load SR3.")
        model = _wrap(node, network, model_name, precision, default_half=True)
        return io.NodeOutput(model, model.scale, model.describe())


class UpscalerFromComfy(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeUpscalerFromComfy",
            display_name="GANForge Upscaler from UPSCALE_MODEL",
            category=SUBCATEGORY,
            description="Use a model loaded by ComfyUI's Load Upscale Model (any architecture spandrel knows: "
                        "SwinIR, HAT, DAT, ...) in GANForge's tiled Upscale Image and Cascade Upscale.",
            inputs=[io.UpscaleModel.Input("upscale_model", tooltip="From ComfyUI's Load Upscale Model.")],
            outputs=[Upscaler.Output("upscaler", tooltip="The same network as a GANForge upscaler.")],
        )

    @classmethod
    def execute(cls, upscale_model) -> io.NodeOutput:
        network = _SpandrelNetwork(upscale_model)
        patcher = _patcher(network)
        return io.NodeOutput(UpscalerModel(network, f"{upscale_model.architecture.name} (UPSCALE_MODEL)", patcher))


class _SpandrelNetwork(torch.nn.Module):
    """ComfyUI's spandrel descriptor behind GANForge's network contract (``.info``, NCHW 0..1)."""

    def __init__(self, descriptor) -> None:
        super().__init__()
        self.model = descriptor.model
        self.descriptor = descriptor
        multiple = getattr(descriptor.size_requirements, "multiple_of", 1) or 1
        self.info = SRInfo(descriptor.architecture.name.lower(), float(descriptor.scale), descriptor.input_channels,
                           descriptor.output_channels, multiple, {}, "spandrel")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.descriptor(x)


class BlendUpscalers(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeBlendUpscalers",
            display_name="GANForge Blend Upscalers (denoise strength)",
            category=SUBCATEGORY,
            description="Real-ESRGAN's denoise strength: interpolate the weights of two networks of the same "
                        "architecture and size, e.g. realesr-general-x4v3 (a) and realesr-general-wdn-x4v3 (b).",
            inputs=[
                Upscaler.Input("a", tooltip="Weight 'strength' (realesr-general-x4v3: denoises)."),
                Upscaler.Input("b", tooltip="Weight 1 - strength (realesr-general-wdn-x4v3: keeps noise)."),
                io.Float.Input("strength", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="1: only a; 0: only b (Real-ESRGAN's -dn)."),
            ],
            outputs=[Upscaler.Output("upscaler", tooltip="The blended network.")],
        )

    @classmethod
    def execute(cls, a: UpscalerModel, b: UpscalerModel, strength: float) -> io.NodeOutput:
        node = "GANForge Blend Upscalers"
        if a.sr3 is not None or b.sr3 is not None or a.network.info.source == "spandrel":
            raise NodeInputError(node, "only ESRGAN-family networks loaded by GANForge blend.",
                                 "connect two GANForge Load Upscaler outputs.")
        try:
            network = blend_networks(a.network, b.network.to(next(a.network.parameters())), strength)
        except ValueError as error:
            raise NodeInputError(node, f"{error}.", "blend two files of the same model family and size "
                                 "(like realesr-general-x4v3 with its -wdn twin).") from None
        patcher = _patcher(network)
        return io.NodeOutput(UpscalerModel(network, f"{strength:g}*{a.name} + {1 - strength:g}*{b.name}", patcher))


class UpscaleImage(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeUpscaleImage",
            display_name="GANForge Upscale Image",
            category=SUBCATEGORY,
            description="Enlarge pictures with an upscaler, in feathered overlapping tiles, to any final scale. "
                        "RGBA keeps its alpha; gray stays gray.",
            inputs=[
                io.Image.Input("image", tooltip="The pictures to enlarge."),
                Upscaler.Input("upscaler", tooltip="From GANForge Load Upscaler (or the SR3 / UPSCALE_MODEL "
                               "adapters)."),
                io.Int.Input("tile", default=512, min=0, max=8192, step=8, tooltip=TILE_TOOLTIP),
                io.Int.Input("overlap", default=32, min=0, max=512, tooltip=OVERLAP_TOOLTIP),
                io.Float.Input("outscale", default=0.0, min=0.0, max=64.0, step=0.05,
                               tooltip="Final enlargement; 0 = the model's own scale. Otherwise the model's output "
                                       "is resized to exactly this factor (Real-ESRGAN's --outscale)."),
                io.Combo.Input("alpha", options=["model", "bicubic"], default="model",
                               tooltip="How an alpha channel is enlarged: by the network (as gray) or bicubically."),
            ],
            outputs=[io.Image.Output("upscaled", tooltip="The enlarged pictures.")],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, upscaler: UpscalerModel, tile: int, overlap: int, outscale: float,
                alpha: str) -> io.NodeOutput:
        node = "GANForge Upscale Image"
        if tile and overlap * 2 > tile:
            raise NodeInputError(node, f"the overlap ({overlap}) is more than half the tile ({tile}).",
                                 "use a larger tile or a smaller overlap (tile 512, overlap 32 is a good start).")
        x = _to_nchw(node, image)
        result = run_upscaler(node, upscaler, x, tile, overlap, alpha, _StageProgress(1))
        y = result.image
        if outscale:
            y = _resize_to(y, max(1, round(x.shape[-2] * outscale)), max(1, round(x.shape[-1] * outscale)))
        text = [f"{upscaler.describe()}: {x.shape[-1]}x{x.shape[-2]} -> {y.shape[-1]}x{y.shape[-2]}", *result.notices]
        return io.NodeOutput(nchw_to_image(y, value_range=(0.0, 1.0)), ui={"text": text})


class LoadSR3(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        files = folder_paths.get_filename_list(SR3_FOLDER)
        return io.Schema(
            node_id="GANForgeLoadSR3",
            display_name="GANForge Load SR3",
            category=SUBCATEGORY,
            description="Load an SR3 diffusion super-resolution model from models/sr3: the original PyTorch "
                        "reimplementation's *_gen.pth (with its JSON config beside it) or GANForge .safetensors.",
            inputs=[
                io.Combo.Input("model_name", options=[f for f in files if not f.endswith(".json")],
                               tooltip="A *_gen.pth or .safetensors in models/sr3."),
                io.Combo.Input("config", options=[FROM_FILE, *[f for f in files if f.endswith(".json")]],
                               default=FROM_FILE, tooltip="The JSON config it was trained with (e.g. "
                               "sr_sr3_16_128.json): gives the GroupNorm groups, the schedule and the factor. "
                               "GANForge files carry all of that."),
                io.Float.Input("factor", default=0.0, min=0.0, max=64.0, step=1.0,
                               tooltip="Enlargement it was trained for; 0 = from the file or the config."),
                precision_input("auto: fp32; fp16 / bf16 are faster on GPUs."),
            ],
            outputs=[
                SR3.Output("sr3", tooltip="For GANForge SR3 Upscale and GANForge SR3 as Upscaler."),
                io.Float.Output("scale", tooltip="The enlargement factor it is used with."),
                io.String.Output("info", tooltip="A description of the model."),
            ],
        )

    @classmethod
    def execute(cls, model_name: str, config: str, factor: float, precision: str) -> io.NodeOutput:
        node = "GANForge Load SR3"
        config_path = None if config == FROM_FILE else model_path(node, SR3_FOLDER, config)
        try:
            network = load_superres(model_path(node, SR3_FOLDER, model_name), config_path)
        except CheckpointError as error:
            raise NodeInputError(node, f"{error}.", "choose an SR3 *_gen.pth (with its JSON config) or a GANForge "
                                 "SR3 .safetensors.") from None
        if not network.info.is_diffusion:
            raise NodeInputError(node, f"{model_name} is an {network.info.architecture} upscaler, not SR3.",
                                 "load it with GANForge Load Upscaler (from models/upscale_models).")
        if factor:
            network.info.scale = float(factor)
        if not network.info.scale:
            raise NodeInputError(node, f"{model_name} does not say which enlargement it was trained for.",
                                 "choose its JSON config, or set 'factor' (8 for 16->128, 4 for 32->128).")
        model = _wrap(node, network, model_name, precision, default_half=False)
        return io.NodeOutput(model, model.scale, "; ".join([model.describe(), *network.info.notes]))


def sampler_inputs() -> list:
    """SR3's sampler settings, as inputs (built per schema: nodes do not share input objects)."""
    return [
    io.Combo.Input("sampler", options=list(SR3_SAMPLERS), default="ddim",
                   tooltip="ddim: 'steps' network evaluations (fast); ddpm: the original's ancestral sampler over "
                           "every timestep of the schedule (2000 for the published models)."),
    io.Int.Input("steps", default=50, min=1, max=10000, tooltip="DDIM steps (ignored by ddpm)."),
    io.Float.Input("eta", default=0.0, min=0.0, max=1.0, step=0.05,
                   tooltip="DDIM noise: 0 deterministic for a seed, 1 close to the ancestral sampler."),
    io.Int.Input("seed", default=0, min=0, max=MAX_SEED, control_after_generate=True,
                 tooltip="Seed of the starting noise: the same seed gives the same picture."),
    ]


class SR3Upscale(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSR3Upscale",
            display_name="GANForge SR3 Upscale",
            category=SUBCATEGORY,
            description="Super-resolution by iterative refinement: start from noise and denoise it, conditioned "
                        "on the bicubic enlargement of your picture. Watch the estimate sharpen in the preview.",
            inputs=[
                io.Image.Input("image", tooltip="The low-resolution pictures."),
                SR3.Input("sr3", tooltip="From GANForge Load SR3."),
                *sampler_inputs(),
                io.Int.Input("preview_every", default=5, min=0, max=10000,
                             tooltip="Show the current estimate every N steps (0: never)."),
            ],
            outputs=[io.Image.Output("upscaled", tooltip="The enlarged pictures.")],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, sr3: UpscalerModel, sampler: str, steps: int, eta: float, seed: int,
                preview_every: int) -> io.NodeOutput:
        node = "GANForge SR3 Upscale"
        model = UpscalerModel(sr3.network, sr3.name, sr3.patcher, SR3Settings(sampler, steps, eta, seed))
        x = _to_nchw(node, image)
        result = run_upscaler(node, model, x, 0, 0, "bicubic", _StageProgress(1), preview_every)
        text = [f"{model.describe()}: {x.shape[-1]}x{x.shape[-2]} -> {result.image.shape[-1]}x"
                f"{result.image.shape[-2]}", *result.notices]
        return io.NodeOutput(nchw_to_image(result.image, value_range=(0.0, 1.0)), ui={"text": text})


class SR3AsUpscaler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSR3AsUpscaler",
            display_name="GANForge SR3 as Upscaler",
            category=SUBCATEGORY,
            description="Fix an SR3 model's sampler settings so it can be a stage of GANForge Cascade Upscale "
                        "(or run by GANForge Upscale Image).",
            inputs=[SR3.Input("sr3", tooltip="From GANForge Load SR3."), *sampler_inputs()],
            outputs=[Upscaler.Output("upscaler", tooltip="The SR3 model with these settings.")],
        )

    @classmethod
    def execute(cls, sr3: UpscalerModel, sampler: str, steps: int, eta: float, seed: int) -> io.NodeOutput:
        return io.NodeOutput(UpscalerModel(sr3.network, sr3.name, sr3.patcher, SR3Settings(sampler, steps, eta, seed)))


class CascadeUpscale(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeCascadeUpscale",
            display_name="GANForge Cascade Upscale",
            category=SUBCATEGORY,
            description="Reach a total enlargement by chaining the connected upscalers, like cascaded diffusion "
                        "models: the node picks the fewest stages whose product reaches the factor (a model may "
                        "repeat), runs them in the order of the inputs, and resizes to the exact factor.",
            inputs=[
                io.Image.Input("image", tooltip="The low-resolution pictures."),
                io.Float.Input("factor", default=8.0, min=1.0, max=64.0, step=0.5,
                               tooltip="The total enlargement."),
                Upscaler.Input("upscaler_1", tooltip="First in line: the stage that sees the smallest picture "
                               "(e.g. SR3)."),
                Upscaler.Input("upscaler_2", optional=True, tooltip="Next in line (e.g. an ESRGAN)."),
                Upscaler.Input("upscaler_3", optional=True, tooltip="Optional."),
                Upscaler.Input("upscaler_4", optional=True, tooltip="Optional."),
                io.Int.Input("tile", default=512, min=0, max=8192, step=8, tooltip=TILE_TOOLTIP),
                io.Int.Input("overlap", default=32, min=0, max=512, tooltip=OVERLAP_TOOLTIP),
                io.Int.Input("max_stages", default=4, min=1, max=8, tooltip="The longest chain allowed."),
            ],
            outputs=[
                io.Image.Output("upscaled", tooltip="The pictures at exactly 'factor' times the size."),
                io.String.Output("chain", tooltip="The stages that ran, with their sizes."),
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, factor: float, upscaler_1: UpscalerModel, tile: int, overlap: int,
                max_stages: int, upscaler_2: UpscalerModel | None = None, upscaler_3: UpscalerModel | None = None,
                upscaler_4: UpscalerModel | None = None) -> io.NodeOutput:
        node = "GANForge Cascade Upscale"
        if tile and overlap * 2 > tile:
            raise NodeInputError(node, f"the overlap ({overlap}) is more than half the tile ({tile}).",
                                 "use a larger tile or a smaller overlap.")
        models = [m for m in (upscaler_1, upscaler_2, upscaler_3, upscaler_4) if m is not None]
        try:
            plan = plan_chain([m.scale for m in models], factor, max_stages)
        except ValueError as error:
            raise NodeInputError(node, f"{error}.", "connect a model with a larger scale, raise max_stages, or "
                                 "ask for a smaller factor.") from None
        x = _to_nchw(node, image)
        height, width = x.shape[-2:]
        progress = _StageProgress(len(plan))
        steps = [f"{width}x{height}"]
        notices: list[str] = []
        for stage, index in enumerate(plan):
            progress.stage = stage
            result = run_upscaler(node, models[index], x, tile, overlap, "model", progress)
            x = result.image
            notices += result.notices
            steps.append(f"{models[index].name} x{models[index].scale:g} -> {x.shape[-1]}x{x.shape[-2]}")
        target = (max(1, round(height * factor)), max(1, round(width * factor)))
        if x.shape[-2:] != target:
            x = _resize_to(x, *target)
            steps.append(f"resized to {target[1]}x{target[0]}")
        chain = "; ".join(steps)
        return io.NodeOutput(nchw_to_image(x, value_range=(0.0, 1.0)), chain, ui={"text": [chain, *notices]})


NODES = [LoadUpscaler, UpscaleImage, BlendUpscalers, UpscalerFromComfy, LoadSR3, SR3Upscale, SR3AsUpscaler,
         CascadeUpscale]
