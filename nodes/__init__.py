"""ComfyUI nodes: thin wrappers over ganforge.models / ganforge.kernels. Only this package imports ComfyUI."""

from __future__ import annotations

import folder_paths
from comfy_api.latest import ComfyExtension, io

from ..models import zoo
from . import (
    clip_guidance,
    image_tools,
    multimodal,
    semantic,
    stylegan,
    stylegan_projection,
    superres,
    training,
    translation,
    video,
    vqgan,
)

NODE_MODULES = [image_tools, stylegan, stylegan_projection, superres, training, video, vqgan, clip_guidance,
                translation, multimodal, semantic]


def register_zoo_folders() -> None:
    """The pack's own zoo files appear in the model dropdowns beside the user's (after them)."""
    for folder, path in zoo.folders().items():
        folder_paths.add_model_folder_path(folder, str(path))


register_zoo_folders()


class GANForgeExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [node for module in NODE_MODULES for node in module.NODES]
