"""Training and measuring small super-resolution models on pictures that ship with scikit-learn:
its two sample photos (china, flower) and its handwritten digits, rendered with crisp strokes.

The bottom 136 rows of each photo (trees and a pagoda roof; petals) and the last 297 digits are
held out for measuring. Low-resolution inputs are made by bicubic downsampling with antialiasing
(the classic "bicubic degradation").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..superres.sr3 import NoiseSchedule
from ..superres.upscale import downscale, enlarge, super_resolve
from .loop import StepReport, fit

HELD_OUT_ROWS = 136  # of 427: the bottom third of each sample photo
HELD_OUT_DIGITS = 297  # the last ones of scikit-learn's 1,797


def sample_photos() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """scikit-learn's two sample photos as CHW 0..1: (training parts, held-out bottom thirds)."""
    from sklearn.datasets import load_sample_images  # a zoo dependency, not needed to run the pack

    photos = [torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255.0
              for image in load_sample_images().images]
    cut = photos[0].shape[-2] - HELD_OUT_ROWS
    return [p[:, :cut] for p in photos], [p[:, cut:] for p in photos]


def crisp_digits(resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits at ``resolution`` with sharp stroke edges (bicubic enlargement, then a
    steep contrast curve), as RGB 0..1: (training, held-out)."""
    from sklearn.datasets import load_digits

    x = torch.from_numpy(load_digits().images.astype(np.float32) / 16.0)[:, None]
    x = F.interpolate(x, size=(resolution, resolution), mode="bicubic", align_corners=False)
    x = torch.sigmoid((x - 0.45) * 14.0).expand(-1, 3, -1, -1).contiguous()
    return x[:-HELD_OUT_DIGITS], x[-HELD_OUT_DIGITS:]


class PatchSampler:
    """Random HR training patches: photo crops and crisp digits (``digit_share`` of each batch),
    randomly flipped and rotated by multiples of 90 degrees. Digits are rendered at
    ``digit_resolution`` (default: the patch size, a whole digit per patch) and cropped to the
    patch size, which sets the stroke width the network learns: a cascade stage that enlarges a
    32-pixel digit x4 needs digits rendered at 128."""

    def __init__(self, size: int, digit_share: float = 0.25, seed: int = 0, digit_resolution: int = 0) -> None:
        self.size = size
        self.photos, _ = sample_photos()
        self.digits, _ = crisp_digits(max(digit_resolution, size))
        self.digit_share = digit_share
        self.generator = torch.Generator().manual_seed(seed)

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.generator))

    def _crop(self, picture: torch.Tensor) -> torch.Tensor:
        if picture.shape[1:] == (self.size, self.size):
            return picture
        top = self._randint(picture.shape[1] - self.size + 1)
        left = self._randint(picture.shape[2] - self.size + 1)
        return picture[:, top:top + self.size, left:left + self.size]

    def batch(self, count: int) -> torch.Tensor:
        patches = []
        for _ in range(count):
            if torch.rand(1, generator=self.generator).item() < self.digit_share:
                patch = self._crop(self.digits[self._randint(len(self.digits))])
            else:
                patch = self._crop(self.photos[self._randint(len(self.photos))])
            patch = torch.rot90(patch, self._randint(4), dims=(1, 2))
            patches.append(patch.flip(2) if self._randint(2) else patch)
        return torch.stack(patches)


def start_as_bilinear(network: torch.nn.Module) -> None:
    """Set an RRDBNet (without pixel-unshuffle) so that it starts as bilinear enlargement: three
    feature channels carry the colours, the trunk's residual starts at zero, and each nearest x2
    step is followed by the [1/4, 1/2, 1/4] kernel, which makes it exactly bilinear x2. RRDBNet
    has no skip from input to output; from PyTorch's initialisation a short training run does not
    even reach bicubic quality."""
    if network.unshuffle != 1:
        raise ValueError("only RRDBNets without pixel-unshuffle start as bilinear enlargement")
    taps = torch.tensor([0.25, 0.5, 0.25])
    with torch.no_grad():
        network.conv_body.weight.zero_()
        network.conv_body.bias.zero_()
        convs = [getattr(network, f"conv_up{i}") for i in range(1, network.num_upsample + 1)]
        for conv, kernel in [(network.conv_first, None), *[(c, taps[:, None] * taps[None, :]) for c in convs],
                             (network.conv_hr, None), (network.conv_last, None)]:
            if conv is network.conv_first:
                conv.weight[:3].zero_()
                conv.bias[:3].zero_()
            else:
                conv.weight.zero_()
                conv.bias.zero_()
            for colour in range(3):
                if kernel is None:
                    conv.weight[colour, colour, 1, 1] = 1.0
                else:
                    conv.weight[colour, colour] = kernel


def train_upscaler(network: torch.nn.Module, steps: int, batch: int = 16, hr_patch: int = 64, lr: float = 2e-4,
                   seed: int = 0, digit_share: float = 0.25, digit_resolution: int = 0,
                   on_step: StepReport | None = None) -> dict:
    """Train an ESRGAN-family network with the L1 loss (the PSNR-oriented stage of ESRGAN); an
    RRDBNet starts as bilinear enlargement (:func:`start_as_bilinear`)."""
    torch.manual_seed(seed)
    if network.info.architecture == "rrdbnet":
        start_as_bilinear(network)
    scale = round(network.info.scale)
    sampler = PatchSampler(hr_patch, digit_share, seed, digit_resolution)

    def batch_loss() -> torch.Tensor:
        hr = sampler.batch(batch)
        return F.l1_loss(network(downscale(hr, scale)), hr)

    optimizer = torch.optim.Adam(network.parameters(), lr=lr, betas=(0.9, 0.99))
    seconds = fit(network, optimizer, steps, lr, batch_loss, on_step)
    return {"steps": steps, "batch": batch, "hr_patch": hr_patch, "lr": lr, "seed": seed, "loss": "l1",
            "init": "bilinear" if network.info.architecture == "rrdbnet" else "pytorch", "seconds": seconds}


def blur(hr: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Gaussian blur with one sigma (in pixels) per picture; sigma 0 leaves a picture as it is."""
    radius = max(1, math.ceil(3 * float(sigmas.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=hr.dtype)
    taps = torch.exp(-offsets[None] ** 2 / (2 * sigmas[:, None].clamp(min=1e-3) ** 2))
    taps = taps / taps.sum(1, keepdim=True)  # [N, K]; sigma ~0 gives a unit impulse
    n, c, h, w = hr.shape
    x = F.pad(hr.reshape(1, n * c, h, w), (radius,) * 4, mode="reflect")
    kernel = taps.repeat_interleave(c, 0)
    x = F.conv2d(x, kernel[:, None, None, :], groups=n * c)
    x = F.conv2d(x, kernel[:, None, :, None], groups=n * c)
    return x.reshape(n, c, h, w)


def train_sr3(network: torch.nn.Module, steps: int, batch: int = 16, hr_patch: int = 32, lr: float = 2e-4,
              seed: int = 0, digit_share: float = 0.25, digit_resolution: int = 0, max_blur: float = 0.0,
              on_step: StepReport | None = None) -> dict:
    """Train SR3's denoiser as the original does: a continuous noise level drawn between two
    neighbouring timesteps' sqrt(alpha_bar), the L1 distance to the true noise. With ``max_blur``
    the low-resolution input is made from the picture blurred by a random sigma up to it (in HR
    pixels), so the model also sharpens soft inputs (a GAN's low-resolution render, say)."""
    torch.manual_seed(seed)
    factor = round(network.info.scale)
    schedule: NoiseSchedule = network.schedule
    levels = np.sqrt(np.append(1.0, schedule.alphas_cumprod))
    sampler = PatchSampler(hr_patch, digit_share, seed, digit_resolution)
    generator = torch.Generator().manual_seed(seed + 1)

    def batch_loss() -> torch.Tensor:
        hr = sampler.batch(batch)
        soft = blur(hr, torch.rand(batch, generator=generator) * max_blur) if max_blur > 0 else hr
        condition = enlarge(downscale(soft, factor), factor) * 2 - 1
        hr = hr * 2 - 1
        t = torch.randint(1, schedule.num_timesteps + 1, (batch,), generator=generator).numpy()
        u = torch.rand(batch, generator=generator, dtype=torch.float64).numpy()
        gamma = torch.from_numpy(levels[t - 1] + (levels[t] - levels[t - 1]) * u).float().view(-1, 1, 1, 1)
        noise = torch.randn(hr.shape, generator=generator)
        noisy = gamma * hr + (1 - gamma ** 2).sqrt() * noise
        return F.l1_loss(network(torch.cat([condition, noisy], dim=1), gamma.flatten()), noise)

    seconds = fit(network, torch.optim.Adam(network.parameters(), lr=lr), steps, lr, batch_loss, on_step)
    return {"steps": steps, "batch": batch, "hr_patch": hr_patch, "lr": lr, "seed": seed, "loss": "l1 on noise",
            "digit_share": digit_share, "digit_resolution": digit_resolution or hr_patch, "max_blur": max_blur,
            "seconds": seconds}


# ---------------------------------------------------------------------------------------------
# measuring

def _luma(x: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma in 16..235 / 255, the channel SR papers measure on."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b)[:, None] / 255.0


def psnr(a: torch.Tensor, b: torch.Tensor, border: int = 0) -> float:
    """PSNR in dB on luma, ``border`` pixels cropped from each side (as SR papers do)."""
    a, b = _luma(a.clamp(0, 1)), _luma(b.clamp(0, 1))
    if border:
        a, b = a[..., border:-border, border:-border], b[..., border:-border, border:-border]
    mse = F.mse_loss(a, b).item()
    return 10 * math.log10(1.0 / mse) if mse > 0 else float("inf")


def ssim(a: torch.Tensor, b: torch.Tensor, border: int = 0) -> float:
    """SSIM on luma (Wang et al.: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03)."""
    a, b = _luma(a.clamp(0, 1)).double(), _luma(b.clamp(0, 1)).double()
    if border:
        a, b = a[..., border:-border, border:-border], b[..., border:-border, border:-border]
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-coords ** 2 / (2 * 1.5 ** 2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None]

    def blur(x):
        return F.conv2d(x, window)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return value.mean().item()


@dataclass
class Gain:
    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float

    def as_dict(self) -> dict:
        return {"psnr": round(self.psnr, 2), "ssim": round(self.ssim, 4), "bicubic_psnr": round(self.bicubic_psnr, 2),
                "bicubic_ssim": round(self.bicubic_ssim, 4), "psnr_gain_db": round(self.psnr - self.bicubic_psnr, 2)}


def measure_gain(upscale_fn: Callable[[torch.Tensor], torch.Tensor], pictures: list[torch.Tensor],
                 scale: int) -> Gain:
    """Mean PSNR / SSIM of ``upscale_fn`` (NCHW 0..1 -> NCHW 0..1) and of bicubic enlargement
    against the originals, after bicubic downscaling by ``scale``. Sides are cut to multiples of 8x scale."""
    ours, base = [], []
    unit = 8 * scale
    for picture in pictures:
        hr = picture[None] if picture.ndim == 3 else picture
        hr = hr[..., :hr.shape[-2] // unit * unit, :hr.shape[-1] // unit * unit]
        lr = downscale(hr, scale)
        with torch.no_grad():
            sr = upscale_fn(lr).clamp(0, 1)
        bicubic = enlarge(lr, scale)
        ours.append((psnr(sr, hr, scale), ssim(sr, hr, scale)))
        base.append((psnr(bicubic, hr, scale), ssim(bicubic, hr, scale)))
    mean = np.mean(ours, axis=0), np.mean(base, axis=0)
    return Gain(float(mean[0][0]), float(mean[0][1]), float(mean[1][0]), float(mean[1][1]))


def sr3_upscale_fn(network: torch.nn.Module, steps: int = 50, seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """NCHW 0..1 -> enlarged NCHW 0..1 by SR3 with the DDIM sampler (for :func:`measure_gain`)."""
    return lambda lr: super_resolve(network, lr, "ddim", steps, generator=torch.Generator().manual_seed(seed)).image
