"""CLIP guidance nodes: load CLIP, text / image / noise prompts, guide settings, and the optimisers
VQGAN-CLIP, CLIP-guided StyleGAN and the VQGAN-CLIP zoom video (story mode)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io

from ..imaging import image_to_nchw, image_to_pil, nchw_to_image, plot_curves
from ..models.checkpoint import CheckpointError
from ..models.guidance import (
    AUGMENTATIONS,
    CUT_METHODS,
    OPTIMIZERS,
    ClipGuide,
    Cutouts,
    GuidanceResult,
    StyleGANLatent,
    Targets,
    VQGANLatent,
    guide,
    load_clip,
    parse_augments,
    parse_prompts,
    parse_story,
    text_targets,
)
from ..models.guidance.motion import zoom_step
from ..models.guidance.targets import image_targets, noise_targets
from ..seeds import MAX_SEED
from .errors import NodeInputError, check_finite
from .folders import model_path, register_model_folder
from .stylegan import _check_w, device_generator
from .types import CLIP, VQGAN, ClipEmbeds, ClipGuideSettings, StyleGAN, VQLatent, W
from .values import ClipHandle, GuideSettings, StyleGANModel, VQGANModel, WLatents
from .values import VQLatent as VQLatentValue
from .vqgan import SUBCATEGORY, check_latent, fit_to_factor, on_device, patcher_for, vqgan_on_device

log = logging.getLogger("ganforge")
CLIP_FOLDER = "ganforge_clip"  # models/clip, kept apart from ComfyUI's text encoders
VISION_FOLDER = "clip_vision"
AUTO = "auto"
INITS = ("random codes", "noise", "image", "latent")

register_model_folder(CLIP_FOLDER, {".bin", ".pt", ".pth", ".safetensors"}, directory="clip")


def _clip_files() -> list[str]:
    return ([f for f in folder_paths.get_filename_list(CLIP_FOLDER)]
            + [f"{VISION_FOLDER}/{f}" for f in folder_paths.get_filename_list(VISION_FOLDER)])


def _clip_path(node: str, name: str) -> str:
    if name.startswith(f"{VISION_FOLDER}/"):
        return model_path(node, VISION_FOLDER, name[len(VISION_FOLDER) + 1:])
    return model_path(node, CLIP_FOLDER, name, shown_as="models/clip")


def _open_clip_names() -> list[str]:
    try:
        import open_clip

        return open_clip.list_models()
    except ImportError:
        return []


class LoadCLIP(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLoadCLIP",
            display_name="GANForge Load CLIP",
            category=SUBCATEGORY,
            description="Load an OpenCLIP model (both encoders) from models/clip, or a compatible file from "
                        "models/clip_vision: OpenCLIP checkpoints, OpenAI weights converted to a state_dict, "
                        "GANForge .safetensors. Nothing inside the file is executed; nothing is downloaded.",
            inputs=[
                io.Combo.Input("model_name", options=_clip_files(), tooltip="e.g. open_clip_pytorch_model.bin."),
                io.Combo.Input("architecture", options=[AUTO, *_open_clip_names()], default=AUTO,
                               tooltip="The open_clip model name it was trained as (e.g. ViT-B-32). auto reads a "
                                       "ViT's shape from the weights."),
                io.Combo.Input("activation", options=[AUTO, "gelu", "quickgelu"], default=AUTO,
                               tooltip="OpenAI's weights use QuickGELU, LAION's GELU; the weights cannot tell. "
                                       "auto decides by the names and says what it chose in info."),
            ],
            outputs=[CLIP.Output("clip", tooltip="For prompts and CLIP Guide."),
                     io.String.Output("info", tooltip="What was loaded, and the activation chosen.")],
        )

    @classmethod
    def execute(cls, model_name: str, architecture: str, activation: str) -> io.NodeOutput:
        node = "GANForge Load CLIP"
        quick = None if activation == AUTO else activation == "quickgelu"
        with torch.inference_mode(False):
            try:
                clip = load_clip(_clip_path(node, model_name), architecture, quick)
            except CheckpointError as error:
                raise NodeInputError(node, f"{error}.", "choose an OpenCLIP checkpoint with both encoders.") from None
        for note in clip.notes:
            log.info("%s: %s", model_name, note)
        info = (f"{model_name}: CLIP {clip.image_size}px, {clip.embed_dim}-d embeddings; "
                + "; ".join(clip.notes))
        return io.NodeOutput(ClipHandle(clip, patcher_for(clip.model)), info)


def _clip_on_device(handle: ClipHandle):
    on_device(handle.clip.model, handle.patcher)
    return handle.clip


def _combined(add_to: Targets | None, new: Targets) -> Targets:
    return new if add_to is None else add_to + new


class CLIPTextPrompts(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeCLIPTextPrompts",
            display_name="GANForge CLIP Text Prompts",
            category=SUBCATEGORY,
            description="Text prompts in the VQGAN-CLIP syntax: 'a red fox | snow:0.5 | blurry:-1'. Each may end "
                        "in :weight (negative pushes away) and :weight:stop.",
            inputs=[
                CLIP.Input("clip", tooltip="The CLIP that will judge the pictures (the guide's own)."),
                io.String.Input("text", multiline=True, default="a handwritten seven",
                                tooltip="Prompts separated by |, each optionally text:weight or text:weight:stop."),
                ClipEmbeds.Input("add_to", optional=True, tooltip="Prompts to add these to."),
            ],
            outputs=[ClipEmbeds.Output("prompts", tooltip="For VQGAN-CLIP, CLIP-guided StyleGAN or add_to.")],
        )

    @classmethod
    def execute(cls, clip: ClipHandle, text: str, add_to: Targets | None = None) -> io.NodeOutput:
        node = "GANForge CLIP Text Prompts"
        try:
            specs = parse_prompts(text)
        except ValueError as error:
            raise NodeInputError(node, f"{error}.", "write weights as text:0.5 or text:0.5:0.1.") from None
        if not specs or not any(s.text for s in specs):
            raise NodeInputError(node, "the prompt is empty.", "write at least one prompt, e.g. 'a red fox'.")
        return io.NodeOutput(_combined(add_to, text_targets(_clip_on_device(clip), specs)))


class CLIPImagePrompt(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeCLIPImagePrompt",
            display_name="GANForge CLIP Image Prompt",
            category=SUBCATEGORY,
            description="Pictures as prompts: guidance pulls towards what CLIP sees in them (style, content).",
            inputs=[
                CLIP.Input("clip", tooltip="The CLIP that will judge the pictures (the guide's own)."),
                io.Image.Input("image", tooltip="Each picture of the batch becomes one prompt."),
                io.Float.Input("weight", default=1.0, min=-100.0, max=100.0, step=0.05,
                               tooltip="Negative pushes away."),
                ClipEmbeds.Input("add_to", optional=True, tooltip="Prompts to add these to."),
            ],
            outputs=[ClipEmbeds.Output("prompts", tooltip="For VQGAN-CLIP, CLIP-guided StyleGAN or add_to.")],
        )

    @classmethod
    def execute(cls, clip: ClipHandle, image: torch.Tensor, weight: float,
                add_to: Targets | None = None) -> io.NodeOutput:
        check_finite("GANForge CLIP Image Prompt", image, "image")
        model = _clip_on_device(clip)
        pictures = image_to_nchw(image, (0.0, 1.0), channels=3)
        return io.NodeOutput(_combined(add_to, image_targets(model, pictures, weight)))


class CLIPNoisePrompt(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeCLIPNoisePrompt",
            display_name="GANForge CLIP Noise Prompt",
            category=SUBCATEGORY,
            description="Random directions in CLIP's space as prompts ('seed:weight | seed:weight'), to add "
                        "variety or push away from a random look.",
            inputs=[
                CLIP.Input("clip", tooltip="The CLIP that will judge the pictures (the guide's own)."),
                io.String.Input("seeds", default="0:0.5", tooltip="Seeds with optional :weight, separated by |."),
                ClipEmbeds.Input("add_to", optional=True, tooltip="Prompts to add these to."),
            ],
            outputs=[ClipEmbeds.Output("prompts", tooltip="For VQGAN-CLIP, CLIP-guided StyleGAN or add_to.")],
        )

    @classmethod
    def execute(cls, clip: ClipHandle, seeds: str, add_to: Targets | None = None) -> io.NodeOutput:
        node = "GANForge CLIP Noise Prompt"
        try:
            targets = noise_targets(parse_prompts(seeds), clip.clip.embed_dim)
        except ValueError as error:
            raise NodeInputError(node, f"{error}.", "write seeds like '12:0.5 | 7'.") from None
        if not len(targets):
            raise NodeInputError(node, "no seed given.", "write at least one seed, e.g. '0:0.5'.")
        return io.NodeOutput(_combined(add_to, targets))


class CLIPGuide(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        codes = ", ".join(f"{code} {what}" for code, (what, _) in AUGMENTATIONS.items())
        return io.Schema(
            node_id="GANForgeCLIPGuide",
            display_name="GANForge CLIP Guide",
            category=SUBCATEGORY,
            description="How guidance shows the picture to CLIP: how many cutouts per step, how they are cut, "
                        "and which random augmentations they get.",
            inputs=[
                CLIP.Input("clip", tooltip="The CLIP that will judge the pictures (the guide's own)."),
                io.Int.Input("cutn", default=32, min=1, max=256, tooltip="Cutouts per step: more is steadier and "
                             "slower."),
                io.Float.Input("cut_pow", default=1.0, min=0.0, max=10.0, step=0.1,
                               tooltip="original method: above 1 favours small cutouts (detail), below 1 large."),
                io.Combo.Input("cut_method", options=list(CUT_METHODS), default="latest",
                               tooltip="latest: the whole picture, augmented per cutout; original: random crops "
                                       "sized by cut_pow."),
                io.String.Input("augments", default="Af Pe Ji Er",
                                tooltip=f"Augmentation codes for the latest method ({codes})."),
                io.Float.Input("noise", default=0.1, min=0.0, max=1.0, step=0.01,
                               tooltip="latest method: up to this much Gaussian noise per cutout."),
            ],
            outputs=[ClipGuideSettings.Output("guide", tooltip="For VQGAN-CLIP, guided StyleGAN, zoom videos.")],
        )

    @classmethod
    def execute(cls, clip: ClipHandle, cutn: int, cut_pow: float, cut_method: str, augments: str,
                noise: float) -> io.NodeOutput:
        try:
            codes = tuple(parse_augments(augments))
        except ValueError as error:
            raise NodeInputError("GANForge CLIP Guide", f"{error}.", "use the codes listed in the tooltip, "
                                 "separated by spaces.") from None
        return io.NodeOutput(GuideSettings(clip, cutn, cut_pow, cut_method, codes, noise))


def _optimiser_inputs(lr: float, iterations: int) -> list:
    return [
        io.Combo.Input("optimizer", options=list(OPTIMIZERS), default="Adam", tooltip="torch's optimiser."),
        io.Float.Input("learning_rate", default=lr, min=0.0001, max=10.0, step=0.001, tooltip="Step size."),
        io.Int.Input("iterations", default=iterations, min=1, max=100000, tooltip="Optimiser steps."),
        io.Float.Input("tv_weight", default=0.0, min=0.0, max=100.0, step=0.01,
                       tooltip="Total-variation loss: smooths the picture."),
        io.Float.Input("init_weight", default=0.0, min=0.0, max=100.0, step=0.01,
                       tooltip="Keeps the latent near where it started (the init image, say)."),
        io.Int.Input("seed", default=0, min=0, max=MAX_SEED, tooltip="Cutouts, augmentations and random init."),
        io.Int.Input("preview_every", default=10, min=0, max=10000, tooltip="Show the picture every N steps "
                     "(0: never)."),
        io.Int.Input("keep_every", default=0, min=0, max=10000, tooltip="Also output every N-th step's picture "
                     "as frames, for a video (0: only the final picture)."),
    ]


class _Progress:
    def __init__(self, items: int, iterations: int, preview_every: int) -> None:
        self.items, self.iterations, self.preview_every = items, iterations, preview_every
        self.bar = comfy.utils.ProgressBar(items * iterations)
        self.item = 0

    def __call__(self, step: int, total: int, loss: float, render: Callable[[], torch.Tensor]) -> None:
        mm.throw_exception_if_processing_interrupted()
        preview = None
        if self.preview_every and (step % self.preview_every == 0 or step == total):
            preview = ("JPEG", image_to_pil(nchw_to_image(render()[-1:].cpu(), (0.0, 1.0)))[0], 512)
        self.bar.update_absolute(self.item * self.iterations + step, self.items * self.iterations, preview)


def _run(node: str, settings: GuideSettings, targets: Targets, latent, progress: Callable, optimizer: str,
         learning_rate: float, iterations: int, tv_weight: float, init_weight: float, seed: int,
         keep_every: int) -> GuidanceResult:
    clip = _clip_on_device(settings.clip)
    if targets.embeds.shape[1] != clip.embed_dim:
        raise NodeInputError(node, f"the prompts have {targets.embeds.shape[1]} dimensions but the guide's CLIP "
                             f"has {clip.embed_dim}.", "make prompts with the same CLIP as the guide.")
    cutouts = Cutouts(clip.image_size, settings.cutn, settings.cut_pow, settings.method, settings.augments,
                      settings.noise)
    try:
        return guide(latent, ClipGuide(clip, cutouts), targets, iterations=iterations, optimizer=optimizer,
                     lr=learning_rate, tv_weight=tv_weight, init_weight=init_weight, seed=seed,
                     keep_every=keep_every, on_step=progress)
    except FloatingPointError as error:
        raise NodeInputError(node, f"{error}.", "lower learning_rate.") from None
    except ValueError as error:
        raise NodeInputError(node, f"{error}.", "check the prompts connected to 'prompts'.") from None


def _summary(results: list[GuidanceResult], seed: int) -> list[str]:
    """One line per picture: the prompt loss at the first and the last step."""
    return [f"seed {seed + i}: loss {r.losses[0]:.4f} -> {r.losses[-1]:.4f} in {len(r.losses)} steps"
            for i, r in enumerate(results)]


def _outputs(results: list[GuidanceResult], keep_every: int, seed: int) -> tuple[torch.Tensor, torch.Tensor,
                                                                                 torch.Tensor]:
    images = torch.cat([r.image.cpu() for r in results])
    if keep_every:
        frames = torch.cat([torch.cat(r.frames) for r in results if r.frames] or [images])
    else:
        frames = images
    plot = plot_curves([(f"seed {seed + i}", r.losses) for i, r in enumerate(results)], log_scale=False)
    return nchw_to_image(images, (0.0, 1.0)), nchw_to_image(frames, (0.0, 1.0)), plot


def random_code_latent(network: torch.nn.Module, height: int, width: int, seed: int) -> torch.Tensor:
    """A latent of uniformly random codebook entries (VQGAN-CLIP's default start)."""
    codes = torch.randint(network.n_embed, (1, height, width), generator=torch.Generator().manual_seed(seed))
    return network.codebook.detach().cpu()[codes].movedim(-1, 1)


class VQGANCLIP(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeVQGANCLIP",
            display_name="GANForge VQGAN-CLIP",
            category=SUBCATEGORY,
            description="Paint with a VQGAN while CLIP judges: the latent is optimised towards the prompts, "
                        "quantised to the codebook at every step. Starts from random codes, noise, a picture or "
                        "a latent; one picture per seed of the batch.",
            inputs=[
                VQGAN.Input("vqgan", tooltip="The VQGAN that paints."),
                ClipGuideSettings.Input("guide", tooltip="From GANForge CLIP Guide."),
                ClipEmbeds.Input("prompts", tooltip="Text, image and noise prompts, chained with add_to."),
                io.Int.Input("width", default=256, min=8, max=4096, step=8, tooltip="Rounded to the VQGAN factor."),
                io.Int.Input("height", default=256, min=8, max=4096, step=8, tooltip="Rounded to the VQGAN factor."),
                io.Combo.Input("init", options=list(INITS), default="random codes",
                               tooltip="Where the latent starts: random codebook entries, encoded noise, the "
                                       "encoded init_image (its size wins), or init_latent."),
                io.Int.Input("batch_size", default=1, min=1, max=64, tooltip="Pictures, from seed, seed+1, ..."),
                *_optimiser_inputs(0.1, 200),
                io.Image.Input("init_image", optional=True, tooltip="The picture init=image starts from."),
                VQLatent.Input("init_latent", optional=True, tooltip="The latent init=latent starts from."),
            ],
            outputs=[io.Image.Output("image", tooltip="The final picture of each seed."),
                     io.Image.Output("frames", tooltip="Every keep_every-th step (for a video)."),
                     VQLatent.Output("latent", tooltip="The final latents (VQGAN Decode, or a later start)."),
                     io.Image.Output("loss_plot", tooltip="The prompt loss over the steps.")],
        )

    @classmethod
    def execute(cls, vqgan: VQGANModel, guide: GuideSettings, prompts: Targets, width: int, height: int, init: str,
                batch_size: int, optimizer: str, learning_rate: float, iterations: int, tv_weight: float,
                init_weight: float, seed: int, preview_every: int, keep_every: int,
                init_image: torch.Tensor | None = None, init_latent: VQLatentValue | None = None) -> io.NodeOutput:
        node = "GANForge VQGAN-CLIP"
        network, device = vqgan_on_device(vqgan)
        factor = network.factor
        if init == "image" and init_image is None:
            raise NodeInputError(node, "init is 'image' but no init_image is connected.",
                                 "connect a picture to init_image, or choose another init.")
        if init == "latent" and init_latent is None:
            raise NodeInputError(node, "init is 'latent' but no init_latent is connected.",
                                 "connect a VQGAN Encode output, or choose another init.")
        starts = cls._starts(node, vqgan, network, device, init, width, height, batch_size, seed, init_image,
                             init_latent, factor)
        progress = _Progress(len(starts), iterations, preview_every)
        results = []
        for index, z in enumerate(starts):
            progress.item = index
            with torch.inference_mode(False):
                latent = VQGANLatent(network, z.to(device))
            results.append(_run(node, guide, prompts, latent, progress, optimizer, learning_rate, iterations,
                                tv_weight, init_weight, seed + index, keep_every))
        image, frames, plot = _outputs(results, keep_every, seed)
        z = torch.cat([r.latent.cpu() for r in results])
        return io.NodeOutput(image, frames, VQLatentValue(z, vqgan.name), plot, ui={"text": _summary(results, seed)})

    @staticmethod
    def _starts(node, vqgan, network, device, init, width, height, batch_size, seed, init_image, init_latent,
                factor) -> list[torch.Tensor]:
        channels = network.kwargs["in_channels"]
        if init == "latent":
            check_latent(node, vqgan, init_latent)
            return [z[None] for z in init_latent.z]
        if init == "image":
            check_finite(node, init_image, "init image")
            pictures, _ = fit_to_factor(node, image_to_nchw(init_image, channels=channels), factor)
            with torch.no_grad():
                zs = [network.encode(p[None].to(device)).cpu() for p in pictures]
            return [zs[i % len(zs)] for i in range(max(batch_size, len(zs)))]
        size = fit_to_factor(node, torch.zeros(1, 1, height, width), factor)[0].shape[-2:]
        h, w = size[0] // factor, size[1] // factor
        if init == "random codes":
            return [random_code_latent(network, h, w, seed + i) for i in range(batch_size)]
        starts = []
        for i in range(batch_size):
            noise = torch.rand(1, channels, *size, generator=torch.Generator().manual_seed(seed + i)) * 2 - 1
            with torch.no_grad():
                starts.append(network.encode(noise.to(device)).cpu())
        return starts


class StyleGANCLIP(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeStyleGANCLIP",
            display_name="GANForge CLIP-guided StyleGAN",
            category=SUBCATEGORY,
            description="Steer StyleGAN latents towards text or image prompts: each W of the batch is optimised "
                        "in W (one vector, stays natural) or W+ (one per layer, reaches further).",
            inputs=[
                StyleGAN.Input("model", tooltip="The generator to steer."),
                W.Input("w", tooltip="Starting latents (e.g. from Mapping; truncation keeps them tame)."),
                ClipGuideSettings.Input("guide", tooltip="From GANForge CLIP Guide."),
                ClipEmbeds.Input("prompts", tooltip="Text, image and noise prompts, chained with add_to."),
                io.Combo.Input("latent_space", options=["W+", "W"], default="W+",
                               tooltip="W+: each layer moves freely; W: one vector for all layers."),
                io.Combo.Input("noise_mode", options=["const", "none"], default="const",
                               tooltip="StyleGAN2 per-pixel noise while optimising."),
                *_optimiser_inputs(0.02, 100),
            ],
            outputs=[io.Image.Output("image", tooltip="The final picture of each latent."),
                     io.Image.Output("frames", tooltip="Every keep_every-th step (for a video)."),
                     W.Output("guided_w", tooltip="The steered W+ latents (for Synthesis, walks, mixing)."),
                     io.Image.Output("loss_plot", tooltip="The prompt loss over the steps.")],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, w: WLatents, guide: GuideSettings, prompts: Targets, latent_space: str,
                noise_mode: str, optimizer: str, learning_rate: float, iterations: int, tv_weight: float,
                init_weight: float, seed: int, preview_every: int, keep_every: int) -> io.NodeOutput:
        node = "GANForge CLIP-guided StyleGAN"
        _check_w(node, model, w)
        generator, device = device_generator(model)
        autograd_generator = on_device(generator, None)[0]
        progress = _Progress(w.ws.shape[0], iterations, preview_every)
        results = []
        for index in range(w.ws.shape[0]):
            progress.item = index
            with torch.inference_mode(False):
                latent = StyleGANLatent(autograd_generator, w.ws[index:index + 1].clone().to(device),
                                        per_layer=latent_space == "W+", noise_mode=noise_mode)
            results.append(_run(node, guide, prompts, latent, progress, optimizer, learning_rate, iterations,
                                tv_weight, init_weight, seed + index, keep_every))
        image, frames, plot = _outputs(results, keep_every, seed)
        ws = torch.cat([r.latent.cpu().expand(-1, w.num_ws, -1) for r in results]).contiguous()
        return io.NodeOutput(image, frames, WLatents(ws, model.name, [f"guided {i + 1}" for i in range(len(ws))]),
                             plot, ui={"text": _summary(results, seed)})


class VQGANCLIPZoomVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeVQGANCLIPZoomVideo",
            display_name="GANForge VQGAN-CLIP Zoom Video",
            category=SUBCATEGORY,
            description="A zooming video painted by VQGAN-CLIP. Each frame: a few optimiser steps, then the "
                        "picture is zoomed / turned / shifted and re-encoded for the next. Story mode: prompt "
                        "sets separated by ^ take turns, frames_per_segment frames each.",
            inputs=[
                VQGAN.Input("vqgan", tooltip="The VQGAN that paints."),
                ClipGuideSettings.Input("guide", tooltip="From GANForge CLIP Guide."),
                io.String.Input("story", multiline=True, default="a handwritten one ^ a handwritten seven",
                                tooltip="Text prompts (a | b:0.5) per segment, segments separated by ^."),
                io.Int.Input("width", default=256, min=8, max=4096, step=8, tooltip="Rounded to the VQGAN factor."),
                io.Int.Input("height", default=256, min=8, max=4096, step=8, tooltip="Rounded to the VQGAN factor."),
                io.Int.Input("frames_per_segment", default=12, min=1, max=10000, tooltip="Frames per story segment."),
                io.Int.Input("iterations_per_frame", default=10, min=1, max=10000,
                             tooltip="Optimiser steps per frame (the first frame gets 5x as many)."),
                io.Float.Input("zoom", default=1.02, min=0.5, max=2.0, step=0.005, tooltip="Per frame; >1 zooms in."),
                io.Float.Input("rotate", default=0.0, min=-45.0, max=45.0, step=0.1, tooltip="Degrees per frame."),
                io.Float.Input("shift_x", default=0.0, min=-64.0, max=64.0, step=0.5, tooltip="Pixels per frame."),
                io.Float.Input("shift_y", default=0.0, min=-64.0, max=64.0, step=0.5, tooltip="Pixels per frame."),
                io.Combo.Input("optimizer", options=list(OPTIMIZERS), default="Adam", tooltip="torch's optimiser."),
                io.Float.Input("learning_rate", default=0.1, min=0.0001, max=10.0, step=0.001, tooltip="Step size."),
                io.Int.Input("seed", default=0, min=0, max=MAX_SEED, tooltip="Random codes, cutouts, augmentations."),
                ClipEmbeds.Input("extra_prompts", optional=True, tooltip="Image or noise prompts for every segment."),
                io.Image.Input("init_image", optional=True, tooltip="The first frame's start (else random codes)."),
            ],
            outputs=[io.Image.Output("frames", tooltip="The video frames, for GANForge Save Video.")],
        )

    @classmethod
    def execute(cls, vqgan: VQGANModel, guide: GuideSettings, story: str, width: int, height: int,
                frames_per_segment: int, iterations_per_frame: int, zoom: float, rotate: float, shift_x: float,
                shift_y: float, optimizer: str, learning_rate: float, seed: int,
                extra_prompts: Targets | None = None, init_image: torch.Tensor | None = None) -> io.NodeOutput:
        node = "GANForge VQGAN-CLIP Zoom Video"
        try:
            segments = parse_story(story)
        except ValueError as error:
            raise NodeInputError(node, f"{error}.", "write prompts like 'a | b:0.5 ^ c'.") from None
        if not segments:
            raise NodeInputError(node, "the story is empty.", "write at least one prompt.")
        network, device = vqgan_on_device(vqgan)
        clip = _clip_on_device(guide.clip)
        targets = [_combined(extra_prompts, text_targets(clip, specs)) if any(s.text for s in specs)
                   else extra_prompts for specs in segments]
        if any(t is None for t in targets):
            raise NodeInputError(node, "a story segment has no text prompt.", "remove the empty segment.")
        if init_image is not None:
            z = VQGANCLIP._starts(node, vqgan, network, device, "image", width, height, 1, seed, init_image, None,
                                  network.factor)[0]
        else:
            z = VQGANCLIP._starts(node, vqgan, network, device, "random codes", width, height, 1, seed, None, None,
                                  network.factor)[0]
        total = len(segments) * frames_per_segment
        first = iterations_per_frame * 5
        progress = _Progress(1, first + (total - 1) * iterations_per_frame, 0)
        done = 0
        frames = []

        def on_step(step, steps, loss, render):
            mm.throw_exception_if_processing_interrupted()
            progress.bar.update_absolute(done + step, progress.iterations)

        for index in range(total):
            steps = first if index == 0 else iterations_per_frame
            with torch.inference_mode(False):
                latent = VQGANLatent(network, z.to(device))
            result = _run(node, guide, targets[index // frames_per_segment], latent, on_step, optimizer,
                          learning_rate, steps, 0.0, 0.0, seed + index, 0)
            done += steps
            picture = result.image
            frames.append(picture.cpu())
            progress.bar.update_absolute(done, progress.iterations,
                                         ("JPEG", image_to_pil(nchw_to_image(picture.cpu(), (0.0, 1.0)))[0], 512))
            moved = zoom_step(picture, zoom, rotate, shift_x, shift_y)
            with torch.no_grad():
                z = network.encode(moved * 2 - 1).cpu()
        return io.NodeOutput(nchw_to_image(torch.cat(frames), (0.0, 1.0)))


NODES = [LoadCLIP, CLIPTextPrompts, CLIPImagePrompt, CLIPNoisePrompt, CLIPGuide, VQGANCLIP, StyleGANCLIP,
         VQGANCLIPZoomVideo]
