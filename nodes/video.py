"""Save Video: an IMAGE batch (one frame per item, e.g. a latent walk) as mp4, webm, webp or gif."""

from __future__ import annotations

import os

import comfy.model_management as mm
import comfy.utils
from comfy_api.latest import io, ui

from ..imaging import image_to_uint8
from ..video import VIDEO_FORMATS, write_video
from .errors import NodeInputError, check_finite
from .folders import output_file, workflow_metadata
from .types import CATEGORY


class SaveVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="GANForgeSaveVideo",
            display_name="GANForge Save Video",
            category=f"{CATEGORY}/video",
            description="Write an image batch as a video, one frame per image, in the output folder: mp4 (H.264) "
                        "or webm (VP9) through PyAV, or animated webp / gif. The workflow is stored in mp4 and "
                        "webm files like ComfyUI's own Save Video does.",
            inputs=[
                io.Image.Input("images", tooltip="The frames, in order (e.g. from GANForge Synthesis after a walk)."),
                io.Float.Input("fps", default=24.0, min=1.0, max=120.0, step=1.0, tooltip="Frames per second."),
                io.Combo.Input("format", options=list(VIDEO_FORMATS), default="mp4",
                               tooltip="mp4 plays everywhere; webm is open; webp and gif are animated pictures "
                                       "(gif has 256 colours)."),
                io.Int.Input("quality", default=85, min=1, max=100,
                             tooltip="1 smallest file ... 100 best (webp: lossless). 85 looks transparent."),
                io.String.Input("filename_prefix", default="ganforge/video",
                                tooltip="Name in the output folder; a counter is added and existing files are "
                                        "never replaced."),
            ],
            outputs=[io.String.Output("path", tooltip="The written file.")],
            hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, images, fps: float, format: str, quality: int, filename_prefix: str) -> io.NodeOutput:
        node = "GANForge Save Video"
        if format not in VIDEO_FORMATS:
            raise NodeInputError(node, f"unknown format {format!r}.", f"choose one of {', '.join(VIDEO_FORMATS)}.")
        check_finite(node, images, "frames")
        frames = image_to_uint8(images, channels=3)
        path, subfolder = output_file(filename_prefix, VIDEO_FORMATS[format].extension,
                                      frames.shape[2], frames.shape[1])
        metadata = workflow_metadata(cls.hidden)
        progress = comfy.utils.ProgressBar(len(frames))

        def on_frame(done: int, total: int) -> None:
            mm.throw_exception_if_processing_interrupted()  # the partial file is removed
            progress.update_absolute(done, total)

        write_video(frames, path, fps, format, quality, metadata, on_frame)
        saved = ui.SavedResult(os.path.basename(path), subfolder, io.FolderType.output)
        shown = ui.SavedImages([saved], is_animated=True) if VIDEO_FORMATS[format].animated_image \
            else ui.PreviewVideo([saved])
        return io.NodeOutput(path, ui=shown)


NODES = [SaveVideo]
