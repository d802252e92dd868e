"""Small pure functions on StyleGAN latents: seeds -> z, classes, truncation, style mixing, walks.

W latents are always ``[N, num_ws, w_dim]`` (a plain W is the same vector repeated per layer), so
every function here serves W and W+ alike.
"""

from __future__ import annotations

import base64
import io
import itertools
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import torch

EASINGS = ("linear", "smoothstep", "cosine")
STYLE_PRESETS = ("coarse", "middle", "fine")


def z_from_seeds(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """One z per seed, exactly as NVlabs' ``generate.py``: ``RandomState(seed).randn(1, z_dim)``."""
    rows = [np.random.RandomState(int(seed)).randn(1, z_dim) for seed in seeds]
    return torch.from_numpy(np.concatenate(rows, axis=0)).to(torch.float32)


def class_vector(c_dim: int, weights: Mapping[int, float]) -> torch.Tensor:
    """A label ``[c_dim]``: one-hot for one class, a normalised weighted mix for several.

    Raises ``ValueError`` for an index outside the model's classes or weights that sum to zero.
    """
    c = torch.zeros(c_dim)
    for index, weight in weights.items():
        if not 0 <= index < c_dim:
            raise ValueError(f"class {index} is outside 0..{c_dim - 1}")
        c[index] += float(weight)
    total = float(c.sum())
    if total == 0:
        raise ValueError("the class weights sum to zero")
    return c / total


def parse_class_mix(text: str) -> dict[int, float]:
    """``"3"`` or ``"3:0.7, 5:0.3"`` -> ``{3: 0.7, 5: 0.3}`` (a bare index weighs 1)."""
    weights: dict[int, float] = {}
    for item in text.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        index_text, _, weight_text = item.partition(":")
        try:
            index, weight = int(index_text), float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            raise ValueError(f"cannot read '{item}' as class or class:weight") from None
        weights[index] = weights.get(index, 0.0) + weight
    if not weights:
        raise ValueError("no class given")
    return weights


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """NVlabs' truncation trick: ``w_avg.lerp(w, psi)`` on the first ``cutoff`` layers (all if None).

    ``w_avg`` is ``[w_dim]`` or one per sample ``[N, w_dim]`` (e.g. per-class centres).
    """
    if psi == 1:
        return ws
    cutoff = ws.shape[1] if cutoff is None else cutoff
    head = ws[:, :cutoff]
    centre = w_avg.to(ws).reshape(-1, 1, ws.shape[-1]).expand_as(head)
    out = ws.clone()
    out[:, :cutoff] = torch.lerp(centre, head, psi)
    return out


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """W_a with layers ``[start, end)`` taken from W_b (batch sizes equal, or one of them 1)."""
    if ws_a.shape[1:] != ws_b.shape[1:]:
        raise ValueError(f"latents of shapes {tuple(ws_a.shape)} and {tuple(ws_b.shape)} cannot be mixed")
    batch = max(ws_a.shape[0], ws_b.shape[0])
    if ws_a.shape[0] not in (1, batch) or ws_b.shape[0] not in (1, batch):
        raise ValueError(f"batch sizes {ws_a.shape[0]} and {ws_b.shape[0]} do not match")
    out = ws_a.expand(batch, -1, -1).clone()
    out[:, start:end] = ws_b.expand(batch, -1, -1)[:, start:end]
    return out


def style_layer_range(preset: str, num_ws: int, img_resolution: int, family: str = "stylegan2") -> tuple[int, int]:
    """Layer range ``[start, end)`` of the 'coarse', 'middle' or 'fine' styles.

    StyleGAN2 uses the paper's split by resolution (coarse 4-8 px, middle 16-32 px, fine 64 px and
    up: two ws per resolution); StyleGAN3, whose layers have no single resolution, and models
    below 64 px split the layers in the same proportions as a 1024-px model (4 / 4 / 10 of 18).
    """
    if preset not in STYLE_PRESETS:
        raise ValueError(f"unknown style preset {preset!r}: use one of {STYLE_PRESETS}")
    if family == "stylegan2" and img_resolution >= 64:
        bounds = (0, 4, 8, num_ws)
    else:
        coarse = max(1, round(num_ws * 4 / 18))
        middle = min(num_ws - 1, max(coarse + 1, round(num_ws * 8 / 18)))
        bounds = (0, coarse, middle, num_ws)
    index = STYLE_PRESETS.index(preset)
    return bounds[index], bounds[index + 1]


def ease(t: torch.Tensor, easing: str) -> torch.Tensor:
    """Map 0..1 to 0..1: 'linear', 'smoothstep' (3t^2 - 2t^3) or 'cosine' (half a cosine)."""
    if easing == "linear":
        return t
    if easing == "smoothstep":
        return t * t * (3 - 2 * t)
    if easing == "cosine":
        return (1 - torch.cos(t * math.pi)) / 2
    raise ValueError(f"unknown easing {easing!r}: use one of {EASINGS}")


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation along the last axis (for Gaussian z); falls back to lerp when parallel."""
    a_unit, b_unit = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_unit * b_unit).sum(-1, keepdim=True).clamp(-1, 1))
    sin_omega = torch.sin(omega)
    safe = sin_omega.abs() > 1e-6
    t = t.reshape(-1, *([1] * (a.ndim - 1)))
    spherical = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.where(safe, sin_omega, 1.0)
    return torch.where(safe, spherical, torch.lerp(a, b, t))


def walk(keyframes: torch.Tensor, frames_per_segment: int, loop: bool = False, easing: str = "linear",
         spherical: bool = False) -> torch.Tensor:
    """Frames through ``keyframes`` (first axis) in order: ``frames_per_segment`` per segment.

    Each segment starts at its keyframe and stops before the next; without ``loop`` the last
    keyframe ends the walk, with ``loop`` the walk returns towards the first. ``spherical`` uses
    slerp (for z), otherwise lerp (for W / W+).
    """
    if keyframes.shape[0] < 2:
        raise ValueError("a walk needs at least two keyframes")
    if frames_per_segment < 1:
        raise ValueError("frames_per_segment must be at least 1")
    stops = torch.cat([keyframes, keyframes[:1]]) if loop else keyframes
    t = ease(torch.arange(frames_per_segment, dtype=torch.float32) / frames_per_segment, easing)
    frames = []
    for a, b in itertools.pairwise(stops):
        a_batch, b_batch = a.expand(len(t), *a.shape), b.expand(len(t), *b.shape)
        if spherical:
            frames.append(slerp(a_batch, b_batch, t.to(a)))
        else:
            frames.append(torch.lerp(a_batch, b_batch, t.to(a).reshape(-1, *([1] * a.ndim))))
    if not loop:
        frames.append(stops[-1:])
    return torch.cat(frames)


def save_w_npz(ws: torch.Tensor, path) -> None:
    """Write W+ as NVlabs' projector does (``projected_w.npz``, key ``w``, ``[N, num_ws, w_dim]`` float32)."""
    np.savez(path, w=ws.detach().float().cpu().numpy())


# The PNG text chunk that carries a picture's W+ (base64 of the same .npz bytes save_w_npz writes).
W_PNG_KEY = "ganforge_w"


def w_to_png_text(ws: torch.Tensor) -> str:
    """One picture's W+ ``[1, num_ws, w_dim]`` as text for a PNG chunk (lossless float32)."""
    buffer = io.BytesIO()
    save_w_npz(ws, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def load_w_png(path: str | os.PathLike, num_ws: int) -> torch.Tensor:
    """The W+ a PNG carries in its ``ganforge_w`` chunk, as ``[1, num_ws, w_dim]``. Raises ``ValueError``
    when the picture has none or it does not fit ``num_ws``."""
    from PIL import Image

    with Image.open(path) as picture:
        text = getattr(picture, "text", {}).get(W_PNG_KEY)
    if text is None:
        raise ValueError("carries no GANForge latent (only PNGs written by GANForge Save Image with a W input do)")
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError(f"its {W_PNG_KEY} text is not valid base64") from None
    return load_w_npz(io.BytesIO(data), num_ws)


def load_w_npz(path, num_ws: int) -> torch.Tensor:
    """Read ``w`` from an ``.npz`` (never unpickling) as ``[N, num_ws, w_dim]``. Accepted: W+ batches
    ``[N, num_ws, w_dim]`` (NVlabs' projector), one W+ ``[num_ws, w_dim]``, plain W ``[N, w_dim]``
    (repeated over the layers). Raises ``ValueError`` naming the shape that does not fit."""
    with np.load(path, allow_pickle=False) as data:
        if "w" not in data.files:
            raise ValueError(f"has no array 'w' (found {', '.join(data.files) or 'nothing'})")
        w = torch.from_numpy(np.asarray(data["w"], dtype=np.float32))
    if w.ndim == 2:
        w = w.unsqueeze(0) if w.shape[0] == num_ws else w.unsqueeze(1).repeat(1, num_ws, 1)
    if w.ndim != 3 or w.shape[1] != num_ws:
        raise ValueError(f"its 'w' has shape {tuple(w.shape)}; this model needs [N, {num_ws}, w_dim]")
    return w
