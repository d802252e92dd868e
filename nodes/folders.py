"""ComfyUI's folders as the nodes use them: model folders to read from, and new files written
where nothing is ever replaced (with the workflow stored in them, as ComfyUI's savers do)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import folder_paths
from comfy.cli_args import args

from .errors import NodeInputError


def register_model_folder(name: str, extensions: Iterable[str], directory: str = "") -> None:
    """``models/<directory or name>`` (plus any paths extra_model_paths.yaml gives the key ``name``),
    listing ``extensions``."""
    folder_paths.add_model_folder_path(name, os.path.join(folder_paths.models_dir, directory or name),
                                       is_default=True)
    folder_paths.folder_names_and_paths[name][1].update(extensions)


def model_path(node: str, folder: str, name: str, shown_as: str = "") -> str:
    """The full path of ``name`` in the model folder ``folder``, or an error naming the node, the
    file and where to put it (``shown_as``: the folder as a person sees it, default models/<folder>)."""
    try:
        return folder_paths.get_full_path_or_raise(folder, name)
    except FileNotFoundError:
        where = shown_as or f"models/{folder}"
        raise NodeInputError(node, f"'{name}' is not in {where}.",
                             f"put the file into ComfyUI/{where} and refresh.") from None


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


def workflow_metadata(hidden) -> dict[str, object]:
    """What ComfyUI's savers store in a file: the prompt and the UI workflow (``extra_pnginfo``),
    nothing when the server runs with --disable-metadata. ``hidden`` is a V3 node's ``cls.hidden``."""
    if args.disable_metadata:
        return {}
    metadata = dict(hidden.extra_pnginfo or {})
    if hidden.prompt is not None:
        metadata["prompt"] = hidden.prompt
    return metadata
