"""Where nodes write files: a free name in a folder, never an existing file replaced."""

from __future__ import annotations

import os
from collections.abc import Callable

import folder_paths


def free_path(folder: str, name: Callable[[int], str], counter: int = 1) -> str:
    """The first ``folder/name(counter)``, ``name(counter + 1)``, ... that does not exist yet
    (the folder is created): files are never replaced."""
    os.makedirs(folder, exist_ok=True)
    while os.path.exists(path := os.path.join(folder, name(counter))):
        counter += 1
    return path


def output_file(filename_prefix: str, extension: str, width: int = 0, height: int = 0) -> tuple[str, str]:
    """A new file in ComfyUI's output folder named like Save Image names its pictures
    (``prefix_00001_.ext``, the prefix may hold a subfolder and %date%-style fields).
    Returns the full path and the subfolder relative to the output folder."""
    folder, stem, counter, subfolder, _ = folder_paths.get_save_image_path(
        filename_prefix, folder_paths.get_output_directory(), width, height)
    return free_path(folder, lambda i: f"{stem}_{i:05}_.{extension}", counter), subfolder
