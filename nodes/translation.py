"""Image-to-image translation nodes: pix2pix and CycleGAN (junyanz files or GANForge's own)."""

from __future__ import annotations

import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io

from ..imaging import image_to_nchw, nchw_to_image
from ..models.checkpoint import CheckpointError
from ..models.translation import DIRECTIONS, INFERENCE_MODES, load_translation, set_inference_mode, translate
from ..seeds import MAX_SEED
from .errors import NodeInputError, check_finite
from .folders import model_path, register_model_folder
from .types import CATEGORY, PRECISIONS, Translator, precision_input
from .values import TranslatorModel
from .vqgan import patcher_for

SUBCATEGORY = f"{CATEGORY}/Translation"
FOLDER = "translation"
DROPOUT_CHOICES = {"auto": None, "on": True, "off": False}

register_model_folder(FOLDER, {".pth", ".pt", ".safetensors"})

MODE_TOOLTIP = ("official: as the original test.py runs (BatchNorm on each picture's own statistics, dropout on: "
                "pix2pix's output varies with the seed). eval: running statistics, no dropout (deterministic). "
                "CycleGAN (instance norm, no dropout) gives the same picture either way.")


class LoadTranslator(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeLoadTranslator",
            display_name="GANForge Load Translator (pix2pix / CycleGAN)",
            category=SUBCATEGORY,
            description="Load a pix2pix or CycleGAN generator from models/translation: the original "
                        "pytorch-CycleGAN-and-pix2pix files (latest_net_G.pth; for CycleGAN latest_net_G_A.pth, "
                        "with its G_B partner beside it for the way back) or a GANForge .safetensors. The "
                        "architecture (ResNet / U-Net, depth, norm, dropout, channels) is read from the file; "
                        "nothing inside it is executed.",
            inputs=[
                io.Combo.Input("model_name", options=folder_paths.get_filename_list(FOLDER),
                               tooltip="A generator file in models/translation (not a *_net_D discriminator)."),
                io.Combo.Input("dropout", options=list(DROPOUT_CHOICES), default="auto",
                               tooltip="U-Net files cannot show whether they were trained with dropout. auto: on "
                                       "(pix2pix's default); off for a model trained with --no_dropout. ResNet "
                                       "files show it, so this is ignored for them."),
                precision_input("auto: fp32 (exactly the original); fp16 / bf16 halve memory on GPUs."),
            ],
            outputs=[
                Translator.Output("translator", tooltip="For GANForge Translate Image."),
                io.String.Output("info", tooltip="Architecture, norm, dropout, channels and directions."),
            ],
        )

    @classmethod
    def execute(cls, model_name: str, dropout: str = "auto", precision: str = "auto") -> io.NodeOutput:
        node = "GANForge Load Translator"
        path = model_path(node, FOLDER, model_name)
        dtype = PRECISIONS[precision] or torch.float32
        if dtype == torch.float16 and mm.get_torch_device().type == "cpu":
            raise NodeInputError(node, "fp16 convolutions are not available on this CPU device.",
                                 "choose auto, fp32 or bf16.")
        try:
            translator = load_translation(path, dtype=dtype, use_dropout=DROPOUT_CHOICES[dropout])
        except CheckpointError as error:
            raise NodeInputError(node, f"{error}.", "choose a pix2pix / CycleGAN generator file (latest_net_G.pth, "
                                 "latest_net_G_A.pth or a GANForge translation .safetensors).") from None
        holder = torch.nn.ModuleDict(translator.networks)
        model = TranslatorModel(translator, model_name, patcher_for(holder))
        text = [model.describe(), *translator.info.notes]
        return io.NodeOutput(model, "\n".join(text), ui={"text": text})


class TranslateImage(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeTranslateImage",
            display_name="GANForge Translate Image",
            category=SUBCATEGORY,
            description="Translate pictures with a pix2pix / CycleGAN generator (edges → photo, horse → zebra, "
                        "thin → bold, ...). Any size: pictures are padded to the network's multiple and cropped "
                        "back, never resized; large ones can run in feathered tiles.",
            inputs=[
                io.Image.Input("image", tooltip="The pictures to translate (a batch is fine)."),
                Translator.Input("translator", tooltip="From GANForge Load Translator."),
                io.Combo.Input("direction", options=list(DIRECTIONS), default=DIRECTIONS[0],
                               tooltip="A->B uses G_A (the file's direction); B->A needs a CycleGAN pair "
                                       "(the G_B file beside it, or a GANForge pair file)."),
                io.Combo.Input("mode", options=list(INFERENCE_MODES), default="official", tooltip=MODE_TOOLTIP),
                io.Int.Input("seed", default=0, min=0, max=MAX_SEED, control_after_generate=True,
                             tooltip="Seeds dropout in the official mode (picture i of the batch uses seed + i)."),
                io.Int.Input("tile", default=0, min=0, max=8192, step=4,
                             tooltip="0: each picture at once. Otherwise pictures larger than this run in "
                                     "overlapping tiles of at most this size (rounded up to the network's multiple). "
                                     "Instance / batch norm then normalise each tile on its own: tones can differ "
                                     "slightly."),
                io.Int.Input("overlap", default=128, min=0, max=1024,
                             tooltip="Pixels shared by neighbouring tiles, blended so that no seams show. A ResNet-9 "
                                     "sees about 100 px around each pixel: 128 keeps tiles within ~2e-3 of the whole "
                                     "picture (without instance norm)."),
            ],
            outputs=[io.Image.Output("translated", tooltip="The translated pictures, the same size as the input.")],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, translator: TranslatorModel, direction: str, mode: str, seed: int,
                tile: int = 0, overlap: int = 128) -> io.NodeOutput:
        node = "GANForge Translate Image"
        check_finite(node, image, "image")
        if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
            raise NodeInputError(node, f"expected an IMAGE [batch, height, width, 1/3/4 channels], got "
                                 f"{list(image.shape)}.", "connect an image output (Load Image, a generator, ...).")
        if direction not in translator.translator.networks:
            directions = ", ".join(translator.translator.networks)
            raise NodeInputError(node, f"{translator.name} translates only {directions}.",
                                 "choose A->B, or load a CycleGAN pair (its *_net_G_B.pth beside *_net_G_A.pth).")
        if tile and overlap * 2 > tile:
            raise NodeInputError(node, f"the overlap ({overlap}) is more than half the tile ({tile}).",
                                 "use a larger tile or a smaller overlap.")
        if translator.patcher is not None:
            mm.load_models_gpu([translator.patcher])
        network = set_inference_mode(translator.translator.network(direction), mode)
        bar = comfy.utils.ProgressBar(1)

        def on_tile(done: int, total: int) -> None:
            mm.throw_exception_if_processing_interrupted()
            bar.update_absolute(done, total)

        x = image_to_nchw(image)
        with torch.no_grad():
            result = translate(network, translator.translator.info, x, tile, overlap, seed, on_tile)
        text = [f"{translator.name} {direction} ({mode}): {x.shape[0]} picture(s) {x.shape[-1]}x{x.shape[-2]}",
                *result.notices]
        return io.NodeOutput(nchw_to_image(result.image), ui={"text": text})


NODES = [LoadTranslator, TranslateImage]
