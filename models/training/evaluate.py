"""Measuring the digits models: an independent classifier and a Fréchet distance.

The classifier is scikit-learn's SVC trained on the real 8x8 digits; generated 32 px samples are
area-downsampled back to 8x8 and scaled to the data's 0..16 range before it reads them. The
Fréchet distance compares the Gaussian statistics of real and generated digits in that 64-value
8x8 pixel space (the role Inception features play in FID; no network download needed).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F


@lru_cache(maxsize=1)
def _classifier():
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    bunch = load_digits()
    return SVC(gamma=0.001, C=10.0).fit(bunch.data, bunch.target)


def digit_features(images: torch.Tensor) -> np.ndarray:
    """``[N, 1, R, R]`` images in [-1, 1] -> ``[N, 64]`` 8x8 values in 0..16 (the classifier's input)."""
    x = F.adaptive_avg_pool2d(images.float().mean(dim=1, keepdim=True), 8)
    return ((x.clamp(-1, 1) + 1) * 8).flatten(1).cpu().numpy()


def classify_digits(images: torch.Tensor) -> np.ndarray:
    """The digit the independent classifier sees in each image."""
    return _classifier().predict(digit_features(images))


@torch.no_grad()
def sample_per_class(generator: torch.nn.Module, per_class: int, seed: int = 0, psi: float = 1.0,
                     batch: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` samples of each class (z from ``seed``), and their requested classes."""
    c_dim = generator.c_dim
    wanted = torch.arange(c_dim).repeat_interleave(per_class)
    z = torch.randn(len(wanted), generator.z_dim, generator=torch.Generator().manual_seed(seed))
    c = F.one_hot(wanted, c_dim).float()
    images = torch.cat([generator(z[i:i + batch], c[i:i + batch], truncation_psi=psi)
                        for i in range(0, len(wanted), batch)])
    return images, wanted


def class_accuracy(generator: torch.nn.Module, per_class: int = 100, seed: int = 0, psi: float = 1.0) -> float:
    """Share of conditional samples the classifier reads as the class that was asked for."""
    images, wanted = sample_per_class(generator, per_class, seed, psi)
    return float((classify_digits(images) == wanted.numpy()).mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``a`` and ``b``."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr sqrt(A B) = Tr sqrt(sqrt(A) B sqrt(A)), whose argument is symmetric positive semi-definite.
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(cross).sum())
