"""VQGAN nodes: load a taming-transformers VQGAN, encode pictures to its latent, decode latents."""

from __future__ import annotations

import logging
import os

import comfy.model_management as mm
import comfy.model_patcher
import folder_paths
import torch
import torch.nn.functional as F
from comfy_api.latest import io

from ..imaging import image_to_nchw, nchw_to_image
from ..models.checkpoint import CheckpointError
from ..models.vqgan import load_vqgan
from .errors import NodeInputError, check_finite
from .folders import model_path, register_model_folder
from .types import CATEGORY, VQGAN, VQLatent
from .values import VQGANModel
from .values import VQLatent as VQLatentValue

log = logging.getLogger("ganforge")
FOLDER = "vqgan"
SUBCATEGORY = f"{CATEGORY}/VQGAN + CLIP"
INFER = "infer from the checkpoint"

register_model_folder(FOLDER, {".ckpt", ".safetensors", ".pt", ".pth", ".yaml"})


def autograd_ready(module: torch.nn.Module) -> torch.nn.Module:
    """Replace weights that are inference tensors (ComfyUI runs nodes in inference mode, so a
    network moved between devices there gets them) by ordinary copies, so guidance and projection
    can backpropagate through the network."""
    with torch.inference_mode(False):
        for sub in module.modules():
            for name, value in list(sub._parameters.items()):
                if value is not None and value.is_inference():
                    sub._parameters[name] = torch.nn.Parameter(value.clone(), requires_grad=False)
            for name, value in list(sub._buffers.items()):
                if value is not None and value.is_inference():
                    sub._buffers[name] = value.clone()
    return module


def patcher_for(network: torch.nn.Module) -> comfy.model_patcher.ModelPatcher:
    return comfy.model_patcher.ModelPatcher(network, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def on_device(network: torch.nn.Module, patcher) -> tuple[torch.nn.Module, torch.device]:
    """The network on ComfyUI's compute device, ready for autograd."""
    if patcher is not None:
        mm.load_models_gpu([patcher])
    return autograd_ready(network), next(network.parameters()).device


def vqgan_on_device(model: VQGANModel) -> tuple[torch.nn.Module, torch.device]:
    return on_device(model.network, model.patcher)


def fit_to_factor(node: str, x: torch.Tensor, factor: int) -> tuple[torch.Tensor, str]:
    """Resize NCHW so both sides are multiples of ``factor`` (nearest multiple, at least one)."""
    height, width = x.shape[-2:]
    target = (max(factor, round(height / factor) * factor), max(factor, round(width / factor) * factor))
    if target == (height, width):
        return x, ""
    notice = (f"{node}: {width}x{height} is not a multiple of the VQGAN's factor {factor}; resized to "
              f"{target[1]}x{target[0]}")
    log.warning(notice)
    return F.interpolate(x, size=target, mode="bicubic", align_corners=False, antialias=True), notice


def check_latent(node: str, model: VQGANModel, latent: VQLatentValue) -> None:
    n = model.network
    if latent.z.ndim != 4 or latent.z.shape[1] != n.embed_dim:
        origin = f" (it came from {latent.source})" if latent.source else ""
        raise NodeInputError(node, f"the latent has {latent.z.shape[1] if latent.z.ndim == 4 else '?'} channels"
                             f"{origin}, but {model.name} uses {n.embed_dim}.",
                             "encode with the same VQGAN that decodes.")
    check_finite(node, latent.z, "VQGAN latent")


class LoadVQGAN(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        files = folder_paths.get_filename_list(FOLDER)
        return io.Schema(
            node_id="GANForgeLoadVQGAN",
            display_name="GANForge Load VQGAN",
            category=SUBCATEGORY,
            description="Load a taming-transformers VQGAN (VQModel or GumbelVQ) from models/vqgan: the Lightning "
                        ".ckpt with its .yaml, or a GANForge .safetensors. Nothing inside the files is executed.",
            inputs=[
                io.Combo.Input("model_name", options=[f for f in files if not f.endswith(".yaml")],
                               tooltip="The checkpoint (e.g. vqgan_imagenet_f16_16384.ckpt)."),
                io.Combo.Input("config", options=[INFER, *[f for f in files if f.endswith(".yaml")]], default=INFER,
                               tooltip="The .yaml that came with it; it is checked against the weights. Without "
                                       "one the configuration is read off the tensor shapes."),
            ],
            outputs=[
                VQGAN.Output("vqgan", tooltip="For VQGAN Encode / Decode and VQGAN-CLIP."),
                io.Int.Output("factor", tooltip="How many pixels one latent position covers per side."),
                io.String.Output("info", tooltip="A one-line description."),
            ],
        )

    @classmethod
    def execute(cls, model_name: str, config: str) -> io.NodeOutput:
        node = "GANForge Load VQGAN"
        path = model_path(node, FOLDER, model_name)
        config_path = None if config == INFER else model_path(node, FOLDER, config)
        with torch.inference_mode(False):
            try:
                network = load_vqgan(path, config_path)
            except CheckpointError as error:
                raise NodeInputError(node, f"{error}.", "choose a taming VQGAN .ckpt (and its own .yaml, or "
                                     f"'{INFER}').") from None
        model = VQGANModel(network, os.path.basename(model_name), patcher_for(network))
        return io.NodeOutput(model, network.factor, model.describe())


class VQGANEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeVQGANEncode",
            display_name="GANForge VQGAN Encode",
            category=SUBCATEGORY,
            description="Pictures to quantized VQGAN latents (each position snapped to its nearest codebook "
                        "vector). Sides that are not multiples of the factor are resized to the nearest multiple.",
            inputs=[VQGAN.Input("vqgan", tooltip="The VQGAN to encode with."),
                    io.Image.Input("image", tooltip="RGB, RGBA or gray; a batch is fine.")],
            outputs=[VQLatent.Output("latent", tooltip="For VQGAN Decode, or as VQGAN-CLIP's starting point.")],
        )

    @classmethod
    def execute(cls, vqgan: VQGANModel, image: torch.Tensor) -> io.NodeOutput:
        node = "GANForge VQGAN Encode"
        check_finite(node, image, "image")
        network, device = vqgan_on_device(vqgan)
        x = image_to_nchw(image, channels=network.kwargs["in_channels"])
        x, _ = fit_to_factor(node, x, network.factor)
        with torch.no_grad():
            z = torch.cat([network.encode(item[None].to(device)).cpu() for item in x])
        return io.NodeOutput(VQLatentValue(z, vqgan.name))


class VQGANDecode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeVQGANDecode",
            display_name="GANForge VQGAN Decode",
            category=SUBCATEGORY,
            description="VQGAN latents to pictures.",
            inputs=[VQGAN.Input("vqgan", tooltip="The VQGAN the latent belongs to."),
                    VQLatent.Input("latent", tooltip="Made for this VQGAN.")],
            outputs=[io.Image.Output("image", tooltip="One picture per latent.")],
        )

    @classmethod
    def execute(cls, vqgan: VQGANModel, latent: VQLatentValue) -> io.NodeOutput:
        node = "GANForge VQGAN Decode"
        check_latent(node, vqgan, latent)
        network, device = vqgan_on_device(vqgan)
        with torch.no_grad():
            images = [nchw_to_image(network.decode(z[None].to(device)).cpu()) for z in latent.z]
        return io.NodeOutput(torch.cat(images))


NODES = [LoadVQGAN, VQGANEncode, VQGANDecode]
