"""Kaiser-windowed low-pass FIR design, as StyleGAN3 builds its filters.

``lowpass_filter(numtaps, cutoff, width, fs)`` gives the taps of ``scipy.signal.firwin`` with
``width`` (Kaiser window, unit gain at DC); ``radial=True`` gives StyleGAN3-R's radially symmetric
2-D filter (a jinc windowed by the outer product of the same Kaiser window). Written with numpy
and torch only, so the pack needs no scipy. Loading a checkpoint never calls this: the filters
are stored in the file; it is for building networks from their arguments.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def kaiser_attenuation(numtaps: int, width: float) -> float:
    """Stop-band attenuation (dB) of a Kaiser FIR of ``numtaps`` with normalised transition ``width``."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def kaiser_beta(attenuation: float) -> float:
    """Kaiser's empirical beta for a given attenuation in dB."""
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    return 0.0


def lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False) -> torch.Tensor | None:
    """float32 taps (1-D, or 2-D when ``radial``); ``None`` for a single tap (no filtering)."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, not {numtaps}")
    if numtaps == 1:
        return None
    nyquist = fs / 2
    window = np.kaiser(numtaps, kaiser_beta(kaiser_attenuation(numtaps, width / nyquist)))
    if not radial:
        m = np.arange(numtaps) - (numtaps - 1) / 2
        taps = (cutoff / nyquist) * np.sinc((cutoff / nyquist) * m) * window
        return torch.as_tensor(taps / taps.sum(), dtype=torch.float32, device="cpu")
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = torch.as_tensor(np.hypot(*np.meshgrid(x, x)), dtype=torch.float64, device="cpu")
    jinc = torch.special.bessel_j1(2 * cutoff * math.pi * r) / (math.pi * r)
    taps = jinc.numpy() * np.outer(window, window)
    return torch.as_tensor(taps / taps.sum(), dtype=torch.float32, device="cpu")
