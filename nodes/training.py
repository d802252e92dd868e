"""Training node: a small StyleGAN2 on an IMAGE batch or a folder, inside ComfyUI's process."""

from __future__ import annotations

import os

import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io

from ..imaging import image_to_nchw, image_to_pil, make_grid, nchw_to_image
from ..models.training.session import TrainingError, run_training
from .errors import NodeInputError
from .stylegan import FOLDER
from .types import CATEGORY

PREVIEW_EVERY = 50


class TrainStyleGAN(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeTrainStyleGAN",
            display_name="GANForge Train StyleGAN",
            category=f"{CATEGORY}/train",
            description="Train (or fine-tune) a small StyleGAN2 on your pictures with differentiable augmentation, "
                        "R1 and an EMA generator. Writes models/stylegan/<name>.safetensors for Load StyleGAN.",
            inputs=[
                io.String.Input("data", default="digits",
                                tooltip="A folder of pictures (absolute, or inside ComfyUI's input folder), or "
                                        "'digits' / 'digits-bold' (scikit-learn's handwritten digits)."),
                io.String.Input("name", default="my-stylegan", tooltip="Output file name (no extension); an "
                                "existing file is never replaced."),
                io.Combo.Input("resolution", options=["16", "32", "64", "128"], default="32",
                               tooltip="Square training size; pictures are centre-cropped and resized."),
                io.Int.Input("steps", default=500, min=1, max=1_000_000, tooltip="Training steps."),
                io.Int.Input("batch_size", default=32, min=2, max=256, tooltip="Pictures per step."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Makes the run repeatable."),
                io.Combo.Input("architecture", options=["stylegan2", "dcgan"], default="stylegan2",
                               tooltip="stylegan2: a small StyleGAN2; dcgan: the classic simple GAN (faster, "
                                       "plainer pictures). Both work with the StyleGAN nodes."),
                io.String.Input("finetune_from", default="", optional=True,
                                tooltip="Optional: a file in models/stylegan to start from (fine-tuning)."),
                io.Image.Input("images", optional=True,
                               tooltip="Optional: train on this IMAGE batch instead of 'data'."),
            ],
            outputs=[io.String.Output("path", tooltip="The trained generator's file."),
                     io.Image.Output("samples", tooltip="A grid of samples from the final generator.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, data: str, name: str, resolution: str, steps: int, batch_size: int, seed: int,
                architecture: str = "stylegan2", finetune_from: str = "",
                images: torch.Tensor | None = None) -> io.NodeOutput:
        node = "GANForge Train StyleGAN"
        source = data.strip()
        if images is not None:
            source = image_to_nchw(images.clone(), channels=3)
        elif source not in ("digits", "digits-bold") and not os.path.isabs(source):
            source = os.path.join(folder_paths.get_input_directory(), source)
        gray = isinstance(source, str) and source in ("digits", "digits-bold")
        folder = folder_paths.get_folder_paths(FOLDER)[0]
        out = os.path.join(folder, f"{os.path.basename(name.strip()) or 'my-stylegan'}.safetensors")
        parent = folder_paths.get_full_path(FOLDER, finetune_from) if finetune_from.strip() else None
        if finetune_from.strip() and parent is None:
            raise NodeInputError(node, f"'{finetune_from}' is not in models/{FOLDER}.", "give a file name from there.")
        progress = comfy.utils.ProgressBar(steps)
        def on_step(state, record) -> None:
            mm.throw_exception_if_processing_interrupted()
            preview = None
            if record["step"] % PREVIEW_EVERY == 0 or record["step"] == steps:
                preview = ("JPEG", image_to_pil(_samples(state.G_ema, seed))[0], 512)
            progress.update_absolute(record["step"], steps, preview)

        # Training needs gradients: ComfyUI runs nodes in inference mode.
        with torch.inference_mode(False), torch.enable_grad():
            try:
                facts = run_training(source, out, resolution=int(resolution), steps=steps, batch=batch_size,
                                     seed=seed, channels=1 if gray else 3,
                                     finetune=parent, report=lambda line: None, on_step=on_step,
                                     architecture=architecture)
            except TrainingError as error:
                raise NodeInputError(node, f"{error}.", "check the data folder, the name and the fine-tune file.") \
                    from None
            from ..models.stylegan import load_stylegan

            grid = _samples(load_stylegan(out), seed)
        return io.NodeOutput(facts["out"], grid, ui={"text": [facts["out"]]})


def _samples(generator: torch.nn.Module, seed: int) -> torch.Tensor:
    """A 4x4 grid of samples from fixed seeded z (classes cycling for conditional models) as an IMAGE."""
    with torch.no_grad():
        z = torch.randn(16, generator.z_dim, generator=torch.Generator().manual_seed(seed))
        c = torch.eye(generator.c_dim)[torch.arange(len(z)) % generator.c_dim] if generator.c_dim else None
        device = next(generator.parameters()).device
        images = generator(z.to(device), None if c is None else c.to(device), truncation_psi=1.0)
    return make_grid(nchw_to_image(images), 4, [], padding=1)


NODES = [TrainStyleGAN]
