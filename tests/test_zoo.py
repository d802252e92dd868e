"""The digits zoo: present, loadable, recognisable, and closer to real digits than chance."""

from __future__ import annotations

import json

import pytest
import torch

from ganforge.models.stylegan import load_stylegan
from ganforge.models.training.data import digits
from ganforge.models.training.evaluate import (
    class_accuracy,
    digit_features,
    frechet_distance,
    sample_per_class,
)
from ganforge.models.zoo import REGISTRY, ZOO_DIR

STYLEGAN_MEMBERS = [name for name, member in REGISTRY.items() if member.folder == "stylegan"]


@pytest.fixture(scope="module")
def parent():
    return load_stylegan(REGISTRY["digits-sg2-cond"].path)


@pytest.mark.parametrize("name", STYLEGAN_MEMBERS)
def test_members_are_committed_small_and_recorded(name):
    member = REGISTRY[name]
    assert member.path.is_file(), f"{member.path} is missing: python -m ganforge zoo train {name}"
    assert member.path.stat().st_size < 10 * 2**20
    manifest = json.loads((ZOO_DIR / "manifest.json").read_text())
    assert {"steps", "seed", "seconds"} <= set(manifest[name])


def test_all_zoo_files_together_stay_under_30_mb():
    assert sum(p.stat().st_size for p in ZOO_DIR.rglob("*.safetensors")) < 30 * 2**20


@pytest.mark.parametrize("name", STYLEGAN_MEMBERS)
def test_the_classifier_recognises_the_requested_digit(name):
    generator = load_stylegan(REGISTRY[name].path)
    assert class_accuracy(generator, per_class=100, seed=1) >= 0.90


def test_samples_are_closer_to_real_digits_than_an_untrained_generator(parent):
    real, _ = digits(32)
    real_features = digit_features(real)
    samples, _ = sample_per_class(parent, 180, seed=2)
    untrained = type(parent)(**parent.init_kwargs).eval()
    with torch.no_grad():
        noise, _ = sample_per_class(untrained, 180, seed=2)
    trained_fd = frechet_distance(digit_features(samples), real_features)
    assert trained_fd < 0.1 * frechet_distance(digit_features(noise), real_features)
