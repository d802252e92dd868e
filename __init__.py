"""GANForge: classic generative models as exact, fast, safe ComfyUI nodes.

The folder is two things at once:

* a plain Python library, ``import ganforge`` (``ganforge.models``, ``ganforge.kernels``),
  which never imports ComfyUI;
* a ComfyUI custom-node pack: ComfyUI calls :func:`comfy_entrypoint`, which is the only
  place that reaches into :mod:`ganforge.nodes` (and therefore into ComfyUI).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# ComfyUI serves this folder at /extensions/<pack>/ (node help pages live in web/docs).
WEB_DIRECTORY = "./web"

_SUBMODULES = ("headless", "imaging", "kernels", "models", "seeds")


def __getattr__(name: str) -> Any:
    # Subpackages load on first use so that `python -m ganforge run` starts without torch.
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def comfy_entrypoint():
    """ComfyUI's V3 entry point: returns the extension that lists GANForge's nodes."""
    from .nodes import GANForgeExtension

    return GANForgeExtension()


__all__ = ["WEB_DIRECTORY", "__version__", "comfy_entrypoint"]
