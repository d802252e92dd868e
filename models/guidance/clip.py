"""CLIP through open_clip, loaded from local files only and never by running them.

Accepted: OpenCLIP checkpoints (``open_clip_pytorch_model.bin`` / ``.safetensors``), OpenAI
weights converted to a state_dict (same names), and GANForge's own safetensors (the zoo's small
CLIP), which carry their open_clip configuration. The architecture comes from an open_clip model
name, or, for ViT models, from the tensor shapes (OpenAI's 64-wide attention heads).

OpenAI's weights were trained with QuickGELU, most OpenCLIP (LAION) weights with GELU; the
weights cannot tell, so ``quick_gelu=None`` decides by the model name ("-quickgelu"), the file
name ("openai") or OpenAI's leftover keys, and says what it chose in ``ClipModel.notes``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import registry
from ..checkpoint import (
    ARCH_KEY,
    KWARGS_KEY,
    CheckpointError,
    count_indexed,
    read_checkpoint,
    save_safetensors,
    unwrap_state_dict,
)

ARCHITECTURE = "clip"
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
_OPENAI_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")


@dataclass
class ClipModel:
    """An open_clip ``CLIP`` in eval mode without gradients, with what feeding it needs."""

    model: torch.nn.Module
    config: dict  # embed_dim, vision_cfg, text_cfg, quick_gelu (open_clip's CLIP arguments)
    name: str
    mean: tuple[float, ...] = OPENAI_MEAN
    std: tuple[float, ...] = OPENAI_STD
    notes: list[str] = field(default_factory=list)

    @property
    def image_size(self) -> int:
        size = self.config["vision_cfg"]["image_size"]
        return int(size[0] if isinstance(size, Sequence) else size)

    @property
    def embed_dim(self) -> int:
        return int(self.config["embed_dim"])

    @property
    def context_length(self) -> int:
        return int(self.config["text_cfg"].get("context_length", 77))

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """open_clip's BPE tokenizer (bundled with open_clip: no download), cut to the context."""
        from open_clip.tokenizer import SimpleTokenizer

        tokenizer = _TOKENIZERS.get(self.context_length)
        if tokenizer is None:
            tokenizer = _TOKENIZERS[self.context_length] = SimpleTokenizer(context_length=self.context_length)
        return tokenizer(list(texts))

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """[N, embed_dim] text embeddings (not normalised)."""
        with torch.no_grad():
            return self.model.encode_text(self.tokenize(texts).to(self.device)).float()

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """NCHW 0..1 at the model's size -> the model's input normalisation."""
        mean = torch.tensor(self.mean, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
        return (images - mean) / std

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """NCHW 0..1 (any size: resized to the model's) -> [N, embed_dim]; differentiable."""
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bicubic",
                                   align_corners=False, antialias=True)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        dtype = next(self.model.parameters()).dtype
        return self.model.encode_image(self.normalize(images).to(dtype)).float()


_TOKENIZERS: dict[int, Any] = {}


def clip_config_from_tensors(tensors: Mapping[str, torch.Tensor], name: str = "the file") -> dict:
    """open_clip CLIP arguments for a ViT CLIP state_dict in OpenAI's layout (64-wide heads)."""
    if any(key.startswith(("vision_model.", "text_model.")) for key in tensors):
        raise CheckpointError(f"{name} is in Hugging Face transformers' CLIP layout (like ComfyUI's clip_vision "
                              "files); GANForge needs an OpenCLIP / OpenAI-layout file with both towers "
                              "(e.g. open_clip_pytorch_model.bin)")
    if "visual.conv1.weight" not in tensors or "token_embedding.weight" not in tensors:
        if any(key.startswith("visual.layer1.") for key in tensors):
            raise CheckpointError(f"{name} is a ResNet CLIP; choose its open_clip model name (e.g. RN50) instead "
                                  "of auto")
        missing = "the text tower" if "visual.conv1.weight" in tensors else "visual.conv1.weight"
        raise CheckpointError(f"{name} is not a complete CLIP checkpoint (no {missing}); guidance needs the image "
                              "and the text encoders")
    width = tensors["visual.conv1.weight"].shape[0]
    patch = tensors["visual.conv1.weight"].shape[-1]
    grid = round((tensors["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    text_width = tensors["ln_final.weight"].shape[0]
    vision_layers = count_indexed(tensors, r"visual\.transformer\.resblocks\.(\d+)\.")
    text_layers = count_indexed(tensors, r"transformer\.resblocks\.(\d+)\.")
    return {
        "embed_dim": int(tensors["text_projection"].shape[1]),
        "vision_cfg": {"layers": vision_layers, "width": int(width),
                       "patch_size": int(patch), "image_size": int(patch * grid), "head_width": 64,
                       "mlp_ratio": tensors["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0] / width},
        "text_cfg": {"context_length": int(tensors["positional_embedding"].shape[0]),
                     "vocab_size": int(tensors["token_embedding.weight"].shape[0]), "width": int(text_width),
                     "heads": max(1, text_width // 64), "layers": text_layers,
                     "mlp_ratio": tensors["transformer.resblocks.0.mlp.c_fc.weight"].shape[0] / text_width},
    }


def build_clip(config: Mapping[str, Any]) -> torch.nn.Module:
    """An open_clip CLIP from its arguments (``embed_dim``, ``vision_cfg``, ``text_cfg``, ``quick_gelu``)."""
    from open_clip.model import CLIP

    return CLIP(config["embed_dim"], vision_cfg=dict(config["vision_cfg"]), text_cfg=dict(config["text_cfg"]),
                quick_gelu=bool(config.get("quick_gelu", False)))


def _decide_quick_gelu(model_name: str, file_name: str, tensors: Mapping[str, Any], config: Mapping,
                       quick_gelu: bool | None, notes: list[str]) -> bool:
    if quick_gelu is not None:
        return quick_gelu
    if config.get("quick_gelu") or model_name.lower().endswith("quickgelu"):
        notes.append("QuickGELU (the model name says so)")
        return True
    if "openai" in file_name.lower() or any(key in tensors for key in _OPENAI_EXTRA_KEYS):
        notes.append("QuickGELU: OpenAI weights (by the file name / its keys); choose gelu if that is wrong")
        return True
    notes.append("GELU (OpenCLIP's default); choose quickgelu for OpenAI-trained weights")
    return False


def load_clip(path: str | os.PathLike, model_name: str = "auto", quick_gelu: bool | None = None,
              device: torch.device | str | None = None) -> ClipModel:
    """Load a CLIP checkpoint from a local file (see the module notes)."""
    name = Path(path).name
    file = read_checkpoint(path, "an OpenCLIP .bin / .pt / .safetensors")
    notes: list[str] = []
    if file.kind == "safetensors" and ARCH_KEY in file.metadata:
        if file.metadata[ARCH_KEY] != ARCHITECTURE:
            raise CheckpointError(f"{name} is a GANForge {file.metadata[ARCH_KEY]!r} file, not a CLIP model")
        stored = json.loads(file.metadata[KWARGS_KEY])
        tensors, config = file.content, stored["config"]
        mean, std = tuple(stored.get("mean", OPENAI_MEAN)), tuple(stored.get("std", OPENAI_STD))
    else:
        tensors = unwrap_state_dict(file.content, name)
        mean, std = OPENAI_MEAN, OPENAI_STD
        if model_name in ("", "auto"):
            config = clip_config_from_tensors(tensors, name)
        else:
            import open_clip

            config = open_clip.get_model_config(model_name)
            if config is None:
                raise CheckpointError(f"{model_name!r} is not an open_clip model name (see open_clip.list_models())")
            config = dict(config)
        config["quick_gelu"] = _decide_quick_gelu(model_name, name, tensors, config, quick_gelu, notes)
        tensors = {k: v for k, v in tensors.items() if k not in _OPENAI_EXTRA_KEYS}
    try:
        model = build_clip(config)
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(f"{name}: open_clip cannot build this configuration ({error})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        detail = "; ".join(f"{label}: {', '.join(keys[:4])}" for label, keys in
                           (("missing", missing), ("unexpected", unexpected), ("other shapes", wrong)) if keys)
        raise CheckpointError(f"{name} does not fit the CLIP {model_name or 'auto'} ({detail}); choose the model "
                              "name it was trained as, or auto")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.eval().requires_grad_(False)
    if device is not None:
        model.to(device)
    return ClipModel(model, config, name, mean, std, notes)


def save_clip(clip: ClipModel, path: str | os.PathLike) -> None:
    """Save with the configuration and normalisation in the metadata (refuses to overwrite)."""
    save_safetensors(clip.model.state_dict(), path, ARCHITECTURE,
                     {"config": clip.config, "mean": list(clip.mean), "std": list(clip.std)})


def _recognise(file, name: str) -> registry.Recognition | None:
    """The model registry's CLIP recogniser (see ``models/registry.py``)."""
    if file.kind == "safetensors" and ARCH_KEY in file.metadata:
        if (own := registry.own_file(file, [ARCHITECTURE])) is None:
            return None
        config = own[1]["config"]
    else:
        try:
            tensors = unwrap_state_dict(file.content, name)
        except CheckpointError:
            return None
        if any(key.startswith(("vision_model.", "text_model.")) for key in tensors):
            return registry.Recognition("clip", "hf-clip", "clip", "a CLIP in Hugging Face transformers' layout",
                                        loadable=False, hint="GANForge needs an OpenCLIP / OpenAI-layout file "
                                        "(e.g. open_clip_pytorch_model.bin)")
        if "visual.conv1.weight" not in tensors or "token_embedding.weight" not in tensors:
            return None
        config = clip_config_from_tensors(tensors, name)
    vision = config["vision_cfg"]
    summary = (f"a CLIP (ViT, {vision['layers']} layers, width {vision['width']}, {vision['image_size']}px, "
               f"embedding {config['embed_dim']})")
    return registry.Recognition("clip", "clip", "clip", summary, config)


registry.register("clip", _recognise, "an OpenCLIP / OpenAI-layout CLIP (visual.conv1, token_embedding) or a "
                  "GANForge clip .safetensors")
