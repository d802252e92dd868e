"""ComfyUI nodes: thin wrappers over ganforge.models / ganforge.kernels. Only this package imports ComfyUI."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from . import image_tools, stylegan

NODE_MODULES = [image_tools, stylegan]


class GANForgeExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [node for module in NODE_MODULES for node in module.NODES]
