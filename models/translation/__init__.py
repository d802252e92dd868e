"""Image-to-image translation: pix2pix and CycleGAN (junyanz names), loading, inference, training."""

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
    "save_translation",
    "set_inference_mode",
    "translate",
]
