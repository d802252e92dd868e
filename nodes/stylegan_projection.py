"""Project Image: optimise W / W+ until the generator reproduces a picture (NVlabs projector)."""

from __future__ import annotations

import functools
import logging
import os

import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io

from ..imaging import fit_square, image_to_nchw, image_to_pil, nchw_to_image, plot_curves
from ..models.checkpoint import CheckpointError
from ..models.perceptual import PerceptualDistance, load_vgg16
from ..models.stylegan.projection import ProjectionConfig, multiscale_pixel_distance, project
from ..seeds import MAX_SEED
from .errors import NodeInputError, check_finite
from .folders import register_model_folder
from .stylegan import SUBCATEGORY, device_generator
from .types import ClassLabel, StyleGAN, W
from .values import StyleGANModel, WLatents

log = logging.getLogger("ganforge")
PERCEPTUAL_FOLDER = "perceptual"
PIXEL = "pixel (multi-scale, no network)"
NODE = "GANForge Project Image"


register_model_folder(PERCEPTUAL_FOLDER, {".pth", ".pt", ".safetensors"})  # torchvision VGG16 weights


@functools.lru_cache(maxsize=1)
def _perceptual(path: str, mtime: float, device: str) -> PerceptualDistance:
    with torch.inference_mode(False):  # its weights must be able to join autograd
        return PerceptualDistance(load_vgg16(path, device))


class ProjectImage(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeProjectImage",
            display_name="GANForge Project Image (to W)",
            category=SUBCATEGORY,
            description="Find the latent whose picture reproduces yours (NVlabs projector: start at the mean W, "
                        "noise ramp, cosine learning-rate ramp, noise regularisation). Each image of the batch is "
                        "projected in turn; pictures of another size are centre-cropped and resized.",
            inputs=[
                StyleGAN.Input("model", tooltip="The generator to project into."),
                io.Image.Input("image", tooltip="The picture(s) to reproduce."),
                io.Combo.Input("latent_space", options=["W", "W+"], default="W",
                               tooltip="W: one vector for all layers (NVlabs, stays editable). W+: one per layer "
                                       "(closer reconstructions, less well-behaved edits)."),
                io.Int.Input("steps", default=1000, min=1, max=100000, tooltip="Optimisation steps per picture "
                             "(NVlabs uses 1000)."),
                io.Combo.Input("distance", options=[PIXEL, *folder_paths.get_filename_list(PERCEPTUAL_FOLDER)],
                               default=PIXEL, tooltip="How pictures are compared: torchvision VGG16 weights from "
                               "models/perceptual (LPIPS-style, like NVlabs), or pixels over several scales."),
                io.Float.Input("learning_rate", default=0.1, min=0.0001, max=10.0, step=0.001,
                               tooltip="Peak learning rate of the ramp (NVlabs: 0.1)."),
                io.Float.Input("noise_regularization", default=1e5, min=0.0, max=1e8, step=1000.0,
                               tooltip="Keeps the optimised noise maps white (NVlabs: 1e5)."),
                io.Int.Input("seed", default=0, min=0, max=MAX_SEED, tooltip="Seed of the noise maps and the "
                             "exploration noise: the same seed gives the same result."),
                io.Int.Input("preview_every", default=50, min=0, max=100000,
                             tooltip="Show target | current every N steps (0: no previews)."),
                ClassLabel.Input("label", optional=True, tooltip="For conditional models: the class to project "
                                 "into."),
            ],
            outputs=[
                W.Output("w", tooltip="The projected W+ latents, one per picture."),
                io.Image.Output("reconstruction", tooltip="The generator's picture of each latent."),
                io.Image.Output("loss_plot", tooltip="The distance over the steps, one curve per picture."),
            ],
        )

    @classmethod
    def execute(cls, model: StyleGANModel, image, latent_space: str, steps: int, distance: str,
                learning_rate: float, noise_regularization: float, seed: int, preview_every: int,
                label: torch.Tensor | None = None) -> io.NodeOutput:
        generator, device = device_generator(model)
        if generator.c_dim and label is None:
            raise NodeInputError(NODE, f"{model.name} is conditional ({generator.c_dim} classes).",
                                 "connect a GANForge StyleGAN Class node to 'label'.")
        if not generator.c_dim and label is not None:
            raise NodeInputError(NODE, f"{model.name} is unconditional.", "disconnect 'label'.")
        check_finite(NODE, image, "image")
        try:
            target = image_to_nchw(image.clone(), channels=generator.img_channels)
        except ValueError as error:
            raise NodeInputError(NODE, f"{error}.", "give an RGB, RGBA or gray picture.") from None
        target, notice = fit_square(target, generator.img_resolution)
        if notice:
            log.warning("%s: %s", NODE, notice)
        config = ProjectionConfig(steps=steps, w_plus=latent_space == "W+", initial_learning_rate=learning_rate,
                                  regularize_noise_weight=noise_regularization, seed=seed)
        count = target.shape[0]
        progress = comfy.utils.ProgressBar(count * steps)
        c = None if label is None else label.reshape(1, -1).clone().to(device)

        results = []
        with torch.inference_mode(False), torch.enable_grad():
            measure = cls._distance(distance, device)
            for index in range(count):
                one = target[index:index + 1].clone()

                def on_step(step: int, total: int, loss: float, ws: torch.Tensor, one=one, index=index) -> None:
                    mm.throw_exception_if_processing_interrupted()
                    preview = None
                    if preview_every and (step % preview_every == 0 or step == total):
                        preview = ("JPEG", _side_by_side(generator, one, ws), 512)
                    progress.update_absolute(index * steps + step, count * steps, preview)

                try:
                    results.append(project(generator, one, measure, config, c, on_step))
                except FloatingPointError as error:
                    raise NodeInputError(NODE, f"{error}.", "lower learning_rate.") from None
        ws = torch.cat([result.ws for result in results]).cpu()
        with torch.no_grad():
            reconstruction = torch.cat([generator.synthesis(w[None].to(device), noise_mode="const") for w in ws])
        plot = plot_curves([(f"image {i + 1}", result.losses) for i, result in enumerate(results)])
        text = [f"{model.name}: {count} picture(s) projected into {latent_space}; final distance "
                + ", ".join(f"{result.losses[-1]:.4g}" for result in results)] + ([notice] if notice else [])
        return io.NodeOutput(WLatents(ws, model.name, [f"projected {i + 1}" for i in range(count)]),
                             nchw_to_image(reconstruction), plot, ui={"text": text})

    @staticmethod
    def _distance(choice: str, device: torch.device):
        if choice == PIXEL:
            return multiscale_pixel_distance
        path = folder_paths.get_full_path(PERCEPTUAL_FOLDER, choice)
        if path is None:
            raise NodeInputError(NODE, f"'{choice}' is not in models/{PERCEPTUAL_FOLDER}.",
                                 f"put torchvision's vgg16-397923af.pth there, or choose '{PIXEL}'.")
        try:
            return _perceptual(path, os.path.getmtime(path), str(device))
        except CheckpointError as error:
            raise NodeInputError(NODE, f"{error}.", f"choose another file or '{PIXEL}'.") from None


def _side_by_side(generator: torch.nn.Module, target: torch.Tensor, ws: torch.Tensor):
    """Target | current reconstruction as one PIL picture, enlarged to about 256 px high."""
    with torch.no_grad():
        current = generator.synthesis(ws.to(target.device), noise_mode="const")
    pair = torch.cat([target, current.to(target.dtype)], dim=-1)
    scale = max(1, 256 // pair.shape[-2])
    if scale > 1:
        pair = torch.nn.functional.interpolate(pair, scale_factor=scale, mode="nearest")
    return image_to_pil(nchw_to_image(pair))[0]


NODES = [ProjectImage]
