"""CLIP guidance: OpenCLIP loading, weighted prompts, cutouts and augmentations, and the optimiser
that steers a VQGAN or StyleGAN latent towards the prompts."""

from .clip import ClipModel, load_clip, save_clip
from .cutouts import AUGMENTATIONS, CUT_METHODS, Cutouts, parse_augments
from .optimize import OPTIMIZERS, ClipGuide, GuidanceResult, StyleGANLatent, VQGANLatent, guide
from .prompts import PromptSpec, parse_prompts, parse_story
from .targets import Targets, image_targets, noise_targets, text_targets

__all__ = [
           "AUGMENTATIONS",
           "CUT_METHODS",
           "OPTIMIZERS",
           "ClipGuide",
           "ClipModel",
           "Cutouts",
           "GuidanceResult",
           "PromptSpec",
           "StyleGANLatent",
           "Targets",
           "VQGANLatent",
           "guide",
           "image_targets",
           "load_clip",
           "noise_targets",
           "parse_augments",
           "parse_prompts",
           "parse_story",
           "save_clip",
           "text_targets",
]
