"""Writing frame sequences as video files: mp4 (H.264) and webm (VP9) through PyAV, animated webp
and gif through Pillow. No ComfyUI import; the Save Video node and the CLI call this.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class VideoFormat:
    extension: str
    codec: str | None  # PyAV encoder; None for the formats Pillow writes
    animated_image: bool  # shown by ComfyUI as an (animated) image rather than a video


VIDEO_FORMATS: dict[str, VideoFormat] = {
    "mp4": VideoFormat("mp4", "libx264", False),
    "webm": VideoFormat("webm", "libvpx-vp9", False),
    "webp": VideoFormat("webp", None, True),
    "gif": VideoFormat("gif", None, True),
}


def _even(frames: np.ndarray) -> np.ndarray:
    """Pad to even height and width by repeating the last row / column: 4:2:0 video needs it."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames


def write_video(frames: np.ndarray, path: str | os.PathLike, fps: float = 24.0, format: str = "mp4",
                quality: int = 85, metadata: dict[str, object] | None = None,
                on_frame: Callable[[int, int], None] | None = None) -> None:
    """Write ``frames`` (uint8 ``[N, H, W, 3]``) to ``path`` in ``format`` at ``fps``.

    ``quality`` runs from 1 (smallest file) to 100 (best; lossless for webp). ``metadata`` values
    are stored as JSON in the container's tags (mp4 and webm). ``on_frame(i, n)`` is called after
    each frame is encoded; raising from it stops the writing and removes the partial file.
    """
    if format not in VIDEO_FORMATS:
        raise ValueError(f"unknown video format {format!r}; choose one of {', '.join(VIDEO_FORMATS)}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"expected uint8 frames [N, H, W, 3] with N >= 1, got {frames.dtype} {frames.shape}")
    if not 0 < fps <= 240:
        raise ValueError(f"fps must be in (0, 240], not {fps}")
    quality = min(max(int(quality), 1), 100)
    spec = VIDEO_FORMATS[format]
    path = os.fspath(path)
    try:
        if spec.codec is None:
            _write_animated_image(frames, path, fps, format, quality, on_frame)
        else:
            _write_av(frames, path, fps, spec.codec, quality, metadata or {}, on_frame)
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise


def _write_av(frames: np.ndarray, path: str, fps: float, codec: str, quality: int, metadata: dict,
              on_frame: Callable[[int, int], None] | None) -> None:
    import av

    frames = _even(frames)
    # Constant rate factor (x264 0..51, VP9 0..63; lower is better). The square root keeps the
    # useful range wide: quality 85 gives x264's visually transparent crf 20.
    top = 51 if codec == "libx264" else 63
    crf = round(top * (1 - quality / 100) ** 0.5)
    # mp4 keeps only a few standard tags unless told to write arbitrary ones.
    options = {"movflags": "use_metadata_tags"} if path.lower().endswith(".mp4") else {}
    with av.open(path, mode="w", options=options) as container:
        for key, value in metadata.items():
            container.metadata[key] = value if isinstance(value, str) else json.dumps(value)
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)} if codec == "libx264" else {"crf": str(crf), "b": "0"}
        for index, array in enumerate(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")))
            if on_frame is not None:
                on_frame(index + 1, len(frames))
        container.mux(stream.encode())


def _write_animated_image(frames: np.ndarray, path: str, fps: float, format: str, quality: int,
                          on_frame: Callable[[int, int], None] | None) -> None:
    pictures = []
    for index, array in enumerate(frames):
        pictures.append(Image.fromarray(array))
        if on_frame is not None:
            on_frame(index + 1, len(frames))
    duration = max(round(1000 / fps), 1)  # milliseconds per frame; gif stores hundredths
    options: dict[str, object] = {"save_all": True, "append_images": pictures[1:], "duration": duration, "loop": 0}
    if format == "webp":
        options.update(lossless=quality == 100, quality=quality, method=4)
    pictures[0].save(path, format=format.upper(), **options)
