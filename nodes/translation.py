"""Image-to-image translation nodes: pix2pix and CycleGAN (junyanz files or GANForge's own)."""

from __future__ import annotations

import os

import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io

from ..imaging import image_to_nchw, image_to_pil, make_grid, nchw_to_image
from ..models.checkpoint import CheckpointError
from ..models.translation import DIRECTIONS, INFERENCE_MODES, load_translation, set_inference_mode, translate
from ..models.translation.training import (
    TranslationTrainingError,
    load_translation_data,
    preview,
    run_translation_training,
)
from ..seeds import MAX_SEED
from .errors import NodeInputError, check_finite
from .folders import free_path, model_path, register_model_folder
from .types import CATEGORY, Translator, precision_dtype, precision_input
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
        dtype = precision_dtype(node, precision)
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


ARCHITECTURES = ["auto", "resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128", "unet_64", "unet_32"]
BUILT_IN = "digits"  # scikit-learn's digits: edges -> digit (pix2pix), thin -> bold (CycleGAN)
PREVIEW_PICTURES = 4


def _built_in_digits(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The zoo's training pictures (32 px gray, [-1, 1]): edge maps and digits for pix2pix, thin and
    bold digits from disjoint halves (unpaired) for CycleGAN."""
    from ..models.training.translation_digits import split, unpaired_halves

    data = split()
    if kind == "pix2pix":
        return data["train_edges"], data["train_plain"]
    half_a, half_b = unpaired_halves(data["train_plain"].shape[0], 0)
    return data["train_plain"][half_a], data["train_bold"][half_b]


def _folder(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    return text if os.path.isabs(text) else os.path.join(folder_paths.get_input_directory(), text)


class TrainTranslator(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeTrainTranslator",
            display_name="GANForge Train Translator (pix2pix / CycleGAN)",
            category=f"{CATEGORY}/train",
            description="Train pix2pix on paired pictures or CycleGAN on two unpaired sets, with the original "
                        "recipes (PatchGAN discriminator; pix2pix: L1 x100; CycleGAN: cycle x10, identity 0.5, a "
                        "50-picture history; Adam 2e-4, linear decay). Writes models/translation/<name>.safetensors "
                        "for Load Translator, a resumable state beside it, and optionally the original's "
                        "latest_net_G*.pth files.",
            inputs=[
                io.Combo.Input("kind", options=["pix2pix", "cyclegan"], default="pix2pix",
                               tooltip="pix2pix: paired pictures (A and its B). CycleGAN: two sets of pictures "
                                       "that need not correspond."),
                io.String.Input("data_a", default=BUILT_IN,
                                tooltip="pix2pix: a folder of A|B side-by-side pictures (the original's aligned "
                                        "layout), or the A folder with data_b the B folder (names pair up). "
                                        "CycleGAN: the A folder, or a folder holding trainA and trainB. Absolute, "
                                        "or inside ComfyUI's input folder. 'digits': scikit-learn's digits "
                                        "(edges -> digit, or thin -> bold)."),
                io.String.Input("data_b", default="", tooltip="The B folder, when data_a is the A folder."),
                io.String.Input("name", default="my-translator",
                                tooltip="Output file name (no extension). An existing file is never replaced: the "
                                        "run then writes name_2, name_3, ..."),
                io.Combo.Input("architecture", options=ARCHITECTURES, default="auto",
                               tooltip="The generator (the original's --netG). auto: unet_256 for pix2pix, "
                                       "resnet_9blocks for CycleGAN; for 'digits', the zoo's small networks."),
                io.Int.Input("ngf", default=64, min=4, max=256, step=4,
                             tooltip="Generator width (64 as the original; smaller trains faster on a CPU)."),
                io.Int.Input("size", default=256, min=32, max=2048, step=32,
                             tooltip="Training crop size (pictures are resized to size x 286/256 and cropped, "
                                     "as the original does). Ignored for 'digits' (32 px)."),
                io.Int.Input("steps", default=200, min=1, max=10_000_000, tooltip="Training steps."),
                io.Int.Input("batch_size", default=1, min=1, max=64, tooltip="Pictures per step (the original: 1)."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Makes the run repeatable."),
                io.Int.Input("preview_every", default=20, min=0, max=100_000,
                             tooltip="Show translated training pictures every this many steps (0: never)."),
                io.Boolean.Input("export_junyanz", default=False,
                                 tooltip="Also write latest_net_G.pth (CycleGAN: _G_A / _G_B) to the output folder, "
                                         "loadable by the original pytorch-CycleGAN-and-pix2pix test.py."),
                io.Image.Input("images_a", optional=True, tooltip="Optional: train on this IMAGE batch as A."),
                io.Image.Input("images_b", optional=True, tooltip="Optional: train on this IMAGE batch as B."),
            ],
            outputs=[Translator.Output("translator", tooltip="The trained translator, for Translate Image."),
                     io.String.Output("path", tooltip="The written .safetensors file."),
                     io.Image.Output("samples", tooltip="Training A pictures and their translation, row by row.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, kind: str, data_a: str, data_b: str, name: str, architecture: str, ngf: int, size: int,
                steps: int, batch_size: int, seed: int, preview_every: int, export_junyanz: bool = False,
                images_a: torch.Tensor | None = None, images_b: torch.Tensor | None = None) -> io.NodeOutput:
        node = "GANForge Train Translator"
        settings: dict = {"crop_size": size}
        if (images_a is None) != (images_b is None):
            raise NodeInputError(node, "only one of images_a / images_b is connected.",
                                 "connect both IMAGE batches, or neither (then data_a / data_b are read).")
        if images_a is not None:
            a, b = image_to_nchw(images_a, channels=3), image_to_nchw(images_b, channels=3)
            settings.update(preprocess="none", crop_size=min(a.shape[-1], a.shape[-2]))
        elif data_a.strip() == BUILT_IN:
            a, b = _built_in_digits(kind)
            settings.update(input_nc=1, output_nc=1, crop_size=32, preprocess="none", flip=False)
            if architecture == "auto":
                architecture = "unet_32" if kind == "pix2pix" else "resnet_6blocks"
        else:
            if _folder(data_a) is None:
                raise NodeInputError(node, "data_a is empty.", "give a folder of pictures, or 'digits'.")
            try:  # read once here (resized as the original does), so previews can show the pictures
                data = load_translation_data(kind, _folder(data_a), _folder(data_b), crop_size=size)
            except TranslationTrainingError as error:
                raise NodeInputError(node, f"{error}.", "check the data folders (see the tooltip).") from None
            a, b = data.a, data.b
            settings["preprocess"] = "crop"  # random crops of the resized pictures: the original's pipeline
        folder = folder_paths.get_folder_paths(FOLDER)[0]
        stem = os.path.basename(name.strip()) or "my-translator"
        # A second run with the same name gets a new file (name_2, ...): nothing is ever replaced.
        out = free_path(folder, lambda i: f"{stem}.safetensors" if i == 1 else f"{stem}_{i}.safetensors")
        export_dir = None
        if export_junyanz:
            export_dir = os.path.join(folder_paths.get_output_directory(), "ganforge",
                                      f"{os.path.basename(out)[:-len('.safetensors')]}_junyanz")
        shown = a[:PREVIEW_PICTURES, :, :size, :size]
        bar = comfy.utils.ProgressBar(steps)

        def on_step(step: int, total: int, record: dict, translator) -> None:
            mm.throw_exception_if_processing_interrupted()
            picture = None
            if preview_every and (step % preview_every == 0 or step == total):
                picture = ("JPEG", image_to_pil(_samples(translator, shown))[0], 512)
            bar.update_absolute(step, total, picture)

        # Training needs gradients: ComfyUI runs nodes in inference mode.
        with torch.inference_mode(False), torch.enable_grad():
            try:
                facts = run_translation_training(
                    kind, a, b, out, steps=steps, batch=batch_size, seed=seed,
                    architecture=None if architecture == "auto" else architecture, ngf=ngf,
                    export_junyanz_dir=export_dir, device=mm.get_torch_device(), report=lambda line: None,
                    on_step=on_step, **settings)
            except (TranslationTrainingError, FileExistsError, FloatingPointError) as error:
                raise NodeInputError(node, f"{error}.", "check the data folders, the size and the name.") from None
        translator = load_translation(out, mode="eval")
        samples = _samples(translator, shown)
        model = TranslatorModel(translator, os.path.basename(out), patcher_for(torch.nn.ModuleDict(
            translator.networks)))
        text = [f"{facts['out']}: {facts['steps']} steps, {facts['seconds']} s, {facts['images_per_second']} "
                "images/s", *facts["notices"], *[f"original layout: {p}" for p in facts["junyanz"]]]
        return io.NodeOutput(model, facts["out"], samples, ui={"text": text})


def _samples(translator, pictures: torch.Tensor) -> torch.Tensor:
    """A grid: the A pictures in the first row, their translation A->B in the second."""
    device = next(translator.networks["A->B"].parameters()).device
    pictures = pictures.to(device)
    translated = preview(translator, pictures)
    rows = torch.cat([nchw_to_image(pictures), nchw_to_image(translated)])
    return make_grid(rows, len(pictures), [], padding=1)


NODES = [LoadTranslator, TranslateImage, TrainTranslator]
