"""The one place where image tensors change layout, range or type.

ComfyUI's IMAGE is float32 ``[B, H, W, C]`` in 0..1 on the CPU; the networks work in NCHW,
GANs in ``[-1, 1]``. Every node converts through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont


def nchw_to_image(x: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """NCHW network output in ``value_range`` -> ComfyUI IMAGE (``[B,H,W,C]``, 0..1, float32, CPU).

    Values are clamped to the range. One-channel images are repeated to RGB, because
    ComfyUI's image nodes expect three (or four) channels.
    """
    lo, hi = value_range
    x = ((x.detach().float() - lo) / (hi - lo)).clamp(0.0, 1.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.movedim(1, -1).contiguous().cpu()


def image_to_nchw(
    image: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0), channels: int | None = None
) -> torch.Tensor:
    """ComfyUI IMAGE -> NCHW float in ``value_range``; ``channels`` drops alpha or averages to gray."""
    x = image.movedim(-1, 1).float()
    if channels is not None and x.shape[1] != channels:
        if channels == 1:
            x = x[:, :3].mean(dim=1, keepdim=True)
        elif channels == 3 and x.shape[1] == 4:
            x = x[:, :3]
        elif channels == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        else:
            raise ValueError(f"cannot turn an image with {x.shape[1]} channels into {channels}")
    lo, hi = value_range
    return x * (hi - lo) + lo


def nchw_to_uint8(x: torch.Tensor) -> np.ndarray:
    """NVlabs' conversion of a [-1, 1] NCHW image to uint8 NHWC: ``(x * 127.5 + 128).clamp(0, 255)``."""
    return (x.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def image_to_uint8(image: torch.Tensor, channels: int | None = None) -> np.ndarray:
    """ComfyUI IMAGE -> uint8 ``[B, H, W, C]`` (rounded); ``channels=3`` drops alpha or repeats gray."""
    if channels == 3 and image.shape[-1] != 3:
        image = image[..., :3] if image.shape[-1] == 4 else image[..., :1].expand(*image.shape[:-1], 3)
    return (image.clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


def image_to_pil(image: torch.Tensor) -> list[Image.Image]:
    """ComfyUI IMAGE -> a list of PIL images (8 bits per channel)."""
    arrays = image_to_uint8(image)
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arrays]


def pil_to_image(images: Sequence[Image.Image]) -> torch.Tensor:
    """PIL images of one size -> ComfyUI IMAGE (RGB)."""
    arrays = [np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0 for im in images]
    return torch.from_numpy(np.stack(arrays))


def make_grid(
    image: torch.Tensor,
    columns: int = 0,
    labels: Sequence[str] = (),
    padding: int = 2,
    background: float = 1.0,
    label_height: int = 0,
) -> torch.Tensor:
    """Tile a ComfyUI IMAGE batch into one picture, row by row, with optional captions.

    ``columns=0`` picks a near-square layout. Labels are drawn under each tile (a missing or
    empty label leaves the space blank); ``label_height=0`` sizes the caption from the tile.
    Returns a ComfyUI IMAGE of batch 1 with the input's channel count.
    """
    if image.ndim != 4 or image.shape[0] == 0:
        raise ValueError(f"expected an IMAGE batch [B,H,W,C] with B >= 1, got shape {tuple(image.shape)}")
    count, height, width, channels = image.shape
    columns = columns if columns > 0 else int(np.ceil(np.sqrt(count)))
    columns = min(columns, count)
    rows = int(np.ceil(count / columns))
    labels = [str(label) for label in labels]
    caption = 0
    if any(labels):
        caption = label_height if label_height > 0 else max(10, min(32, width // 8))
    cell_h, cell_w = height + caption, width
    grid = torch.full(
        (rows * cell_h + (rows + 1) * padding, columns * cell_w + (columns + 1) * padding, channels),
        float(background),
        dtype=torch.float32,
    )
    for index in range(count):
        r, c = divmod(index, columns)
        top, left = padding + r * (cell_h + padding), padding + c * (cell_w + padding)
        grid[top : top + height, left : left + width] = image[index].float()
        if caption and index < len(labels) and labels[index]:
            strip = _caption(labels[index], width, caption, background, channels)
            grid[top + height : top + cell_h, left : left + width] = strip
    return grid.unsqueeze(0)


def _caption(text: str, width: int, height: int, background: float, channels: int) -> torch.Tensor:
    """A caption strip ``[height, width, channels]``: dark text on light, light on dark."""
    shade = round(background * 255)
    ink = 0 if shade >= 128 else 255
    strip = Image.new("L", (width, height), color=shade)
    draw = ImageDraw.Draw(strip)
    font = _font(max(8, int(height * 0.8)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = max(0, (width - (right - left)) // 2 - left)
    y = max(0, (height - (bottom - top)) // 2 - top)
    draw.text((x, y), text, fill=ink, font=font)
    values = torch.from_numpy(np.asarray(strip, dtype=np.float32) / 255.0)
    return values.unsqueeze(-1).expand(-1, -1, channels)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # scalable when Pillow has FreeType
    except (TypeError, OSError):
        return ImageFont.load_default()


def plot_curves(curves: Sequence[tuple[str, Sequence[float]]], width: int = 640, height: int = 320,
                log_scale: bool = True) -> torch.Tensor:
    """Line plots of one or more series (e.g. the loss of each projected image) as a ComfyUI IMAGE
    ``[1, height, width, 3]``: step on x, value on y (log scale when every value is positive),
    the y range and the final value of each series written on the picture."""
    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
    series = [(name, np.asarray(values, dtype=np.float64)) for name, values in curves if len(values)]
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    font = _font(12)
    left, right, top, bottom = 56, width - 12, 12, height - 24
    draw.rectangle((left, top, right, bottom), outline=(90, 90, 90))
    if series:
        values = np.concatenate([v[np.isfinite(v)] for _, v in series] or [np.zeros(1)])
        log_scale = log_scale and values.size > 0 and bool((values > 0).all())
        scale = np.log10 if log_scale else (lambda v: v)
        lo, hi = (float(scale(values.min())), float(scale(values.max()))) if values.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        longest = max(len(v) for _, v in series)
        for index, (name, v) in enumerate(series):
            xs = left + (right - left) * np.arange(len(v)) / max(longest - 1, 1)
            ys = bottom - (bottom - top) * (scale(np.where(np.isfinite(v), v, values.max())) - lo) / (hi - lo)
            colour = colours[index % len(colours)]
            draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=colour, width=2)
            draw.text((left + 8, top + 4 + 14 * index), f"{name}: {v[-1]:.4g}", fill=colour, font=font)
        top_label, bottom_label = (10**hi, 10**lo) if log_scale else (hi, lo)
        draw.text((4, top), f"{top_label:.3g}", fill=(0, 0, 0), font=font)
        draw.text((4, bottom - 12), f"{bottom_label:.3g}", fill=(0, 0, 0), font=font)
        draw.text((left, bottom + 6), "step 1", fill=(0, 0, 0), font=font)
        draw.text((right - 60, bottom + 6), f"step {longest}", fill=(0, 0, 0), font=font)
    return pil_to_image([picture])


def fit_square(x: torch.Tensor, size: int) -> tuple[torch.Tensor, str | None]:
    """NCHW pictures -> ``size`` x ``size``: centre-cropped to a square, then resized (area when
    shrinking, bicubic with antialiasing when enlarging). Returns the pictures and a notice saying
    what changed (None when they already fit)."""
    height, width = x.shape[-2:]
    if (height, width) == (size, size):
        return x, None
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    x = x[..., top:top + side, left:left + side]
    if side > size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="area")
    elif side < size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bicubic", antialias=True,
                                            align_corners=False)
    cropped = " centre-cropped and" if height != width else ""
    return x, f"the {width}x{height} picture was{cropped} resized to {size}x{size}"
