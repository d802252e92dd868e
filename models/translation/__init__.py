"""Image-to-image translation: pix2pix and CycleGAN (junyanz names), MUNIT and FUNIT (NVlabs), and
semantic synthesis (SPADE, pix2pixHD): loading, inference, training."""

import os

import torch

from .loader import (
    DIRECTIONS,
    TranslationInfo,
    Translator,
    create_translator,
    export_junyanz,
    load_translation,
    save_translation,
)
from .networks import INFERENCE_MODES, NLayerDiscriminator, ResnetGenerator, UnetGenerator, set_inference_mode
from .translate import TranslateResult, translate


def load_translation_model(path: str | os.PathLike, device: torch.device | str | None = None,
                           dtype: torch.dtype | None = None):
    """Any translation generator file, by the family the registry reads off it: a
    :class:`Translator` (pix2pix / CycleGAN), a ``MunitModel``, a ``FunitModel`` or a
    ``SemanticModel`` (SPADE / pix2pixHD). Other files raise ``CheckpointError`` naming them."""
    from .. import registry
    from .multimodal import load_funit, load_munit
    from .semantic import load_semantic

    found, _ = registry.recognise(path)
    loaders = {"munit": load_munit, "funit": load_funit, "spade": load_semantic, "pix2pixhd-global": load_semantic,
               "pix2pixhd-local": load_semantic}
    return loaders.get(found.architecture, load_translation)(path, device=device, dtype=dtype)


__all__ = [
    "DIRECTIONS",
    "INFERENCE_MODES",
    "NLayerDiscriminator",
    "ResnetGenerator",
    "TranslateResult",
    "TranslationInfo",
    "Translator",
    "UnetGenerator",
    "create_translator",
    "export_junyanz",
    "load_translation",
    "load_translation_model",
    "save_translation",
    "set_inference_mode",
    "translate",
]
