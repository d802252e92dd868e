"""Training data: scikit-learn's bundled handwritten digits, and folders of your own pictures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def digits(resolution: int = 32, variant: str = "plain") -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 8x8 digits of scikit-learn, upsampled to ``resolution``, as ``[-1, 1]`` gray images
    ``[N, 1, R, R]`` and integer labels. ``variant='bold'`` thickens the strokes (a 3x3 max filter
    at the target size) for the zoo's fine-tuned child."""
    from sklearn.datasets import load_digits  # a dev / zoo dependency, not needed to run the pack

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False).clamp(0, 1)
    if variant == "bold":
        x = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
    elif variant != "plain":
        raise ValueError(f"unknown digits variant {variant!r} (plain or bold)")
    return x * 2 - 1, torch.from_numpy(bunch.target.astype(np.int64))


def image_folder(folder: str | os.PathLike, resolution: int, channels: int = 3) -> tuple[torch.Tensor, list[str]]:
    """Every readable picture in ``folder`` (recursively), centre-cropped and resized to
    ``resolution``, as ``[-1, 1]`` NCHW. Returns the images and notices about what was skipped or
    resized. Raises ``ValueError`` when nothing usable is found."""
    notices, pictures, sizes = [], [], set()
    for path in picture_files(folder):
        try:
            picture = open_picture(path, channels)
        except (UnidentifiedImageError, OSError) as error:
            notices.append(f"skipped {path.name}: {error}")
            continue
        sizes.add(picture.size)
        side = min(picture.size)
        left, top = (picture.width - side) // 2, (picture.height - side) // 2
        picture = picture.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.LANCZOS)
        array = np.asarray(picture, dtype=np.float32) / 127.5 - 1
        pictures.append(torch.from_numpy(array.reshape(resolution, resolution, channels)).permute(2, 0, 1))
    if not pictures:
        raise ValueError(f"{folder} holds no readable pictures ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if sizes != {(resolution, resolution)}:
        notices.append(f"pictures of {len(sizes)} size(s) were centre-cropped and resized to {resolution}px")
    return torch.stack(pictures), notices


def picture_files(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """The picture files (by suffix) in ``folder``, sorted; ``ValueError`` if it is not a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def open_picture(path: str | os.PathLike, channels: int = 3) -> Image.Image:
    """A picture file read completely and converted to RGB (3 channels) or gray (1). Raises
    ``UnidentifiedImageError`` / ``OSError`` for a file that is not a readable picture."""
    with Image.open(path) as picture:
        return picture.convert("RGB" if channels == 3 else "L")


def picture_to_uint8(picture: Image.Image) -> torch.Tensor:
    """A PIL picture as a ``[C, H, W]`` uint8 tensor (C = 1 for gray, 3 for RGB)."""
    array = np.asarray(picture, dtype=np.uint8)
    return torch.from_numpy(array.reshape(picture.height, picture.width, -1).copy()).permute(2, 0, 1).contiguous()
