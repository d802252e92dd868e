"""GANForge's socket types, defined once. Type strings are part of saved workflows: never rename."""

from __future__ import annotations

import torch
from comfy_api.latest import io

CATEGORY = "GANForge"

# The weight types a loader offers; "auto" lets each family pick (see each loader's tooltip).
PRECISIONS = {"auto": None, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def precision_dtype(node: str, precision: str, default: torch.dtype = torch.float32) -> torch.dtype:
    """The dtype a loader's ``precision`` choice means on ComfyUI's device ("auto": ``default``);
    fp16 on a CPU is refused, naming ``node`` (its convolutions do not exist there)."""
    import comfy.model_management as mm

    from .errors import NodeInputError

    dtype = PRECISIONS[precision] or default
    if dtype == torch.float16 and mm.get_torch_device().type == "cpu":
        raise NodeInputError(node, "fp16 convolutions are not available on this CPU device.",
                             "choose auto, fp32 or bf16.")
    return dtype


def precision_input(tooltip: str) -> io.Combo.Input:
    """The ``precision`` combo of a loader node, with what "auto" means for that family."""
    return io.Combo.Input("precision", options=list(PRECISIONS), default="auto", tooltip=tooltip)

# A list of integer seeds, in order (parsed from "1,5,10-20").
Seeds = io.Custom("GANFORGE_SEEDS")

# A loaded StyleGAN2/3 generator (a StyleGANModel).
StyleGAN = io.Custom("GANFORGE_STYLEGAN")
# A batch of z latents [N, z_dim] with the seeds they came from (a ZLatents).
Z = io.Custom("GANFORGE_Z")
# A batch of W / W+ latents [N, num_ws, w_dim] that records its layer count (a WLatents).
W = io.Custom("GANFORGE_W")
# A class label [c_dim] (one-hot or a weighted mix) for conditional models.
ClassLabel = io.Custom("GANFORGE_CLASS")

# An image-to-image enlarger (an UpscalerModel): an ESRGAN-family network, ComfyUI's UPSCALE_MODEL
# wrapped, or an SR3 model with its sampler settings; the Upscale and Cascade nodes take any of them.
Upscaler = io.Custom("GANFORGE_UPSCALER")
# A loaded SR3 diffusion super-resolution model (an SR3Model).
SR3 = io.Custom("GANFORGE_SR3")

# A loaded taming VQGAN autoencoder (a VQGANModel).
VQGAN = io.Custom("GANFORGE_VQGAN")
# A batch of VQGAN latents [N, embed_dim, h, w] with the model they belong to (a VQLatent).
VQLatent = io.Custom("GANFORGE_VQ_LATENT")
# A loaded CLIP model (a ClipHandle).
CLIP = io.Custom("GANFORGE_CLIP")
# Weighted CLIP targets from text, image and noise prompts (a ganforge.models.guidance.Targets).
ClipEmbeds = io.Custom("GANFORGE_CLIP_EMBEDS")
# CLIP with cutout and augmentation settings: how guidance looks at a picture (a GuideSettings).
ClipGuideSettings = io.Custom("GANFORGE_CLIP_GUIDE")

# A loaded pix2pix / CycleGAN translator, one network per direction (a TranslatorModel).
Translator = io.Custom("GANFORGE_TRANSLATOR")

# Multimodal and semantic translation (MUNIT, FUNIT, SPADE, pix2pixHD).
# A loaded MUNIT generator pair: a content encoder, a style encoder and a decoder per domain (a MultimodalHandle).
Munit = io.Custom("GANFORGE_MUNIT")
# A loaded FUNIT few-shot generator (a MultimodalHandle).
Funit = io.Custom("GANFORGE_FUNIT")
# A loaded semantic synthesiser, SPADE (GauGAN) or pix2pixHD (a SemanticHandle).
SemanticSynth = io.Custom("GANFORGE_SEMANTIC")
# Content codes [N, C, h, w] with the model and domain they came from (a ContentCode).
ContentCode = io.Custom("GANFORGE_CONTENT")
# Style codes [N, style_dim] with their model, domain and labels (a StyleCode); FUNIT class codes too.
StyleCode = io.Custom("GANFORGE_STYLE")
# Class-index maps [N, H, W] (-1: don't care) with optional instance edges and their palette (a LabelMap).
LabelMap = io.Custom("GANFORGE_LABEL_MAP")
