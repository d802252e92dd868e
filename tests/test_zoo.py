"""The digits zoo: present, loadable, recognisable, and a working parent/child pair for blending."""

from __future__ import annotations

import json

import pytest
import torch

from ganforge.models.stylegan import load_stylegan
from ganforge.models.stylegan.blend import blend_generators
from ganforge.models.training.data import digits
from ganforge.models.training.evaluate import (
    class_accuracy,
    classify_digits,
    digit_features,
    frechet_distance,
    sample_per_class,
)
from ganforge.models.zoo import REGISTRY, ZOO_DIR

STYLEGAN_MEMBERS = [name for name, member in REGISTRY.items() if member.folder == "stylegan"]


@pytest.fixture(scope="module")
def parent():
    return load_stylegan(REGISTRY["digits-sg2-cond"].path)


@pytest.fixture(scope="module")
def child():
    return load_stylegan(REGISTRY["digits-sg2-bold"].path)


@pytest.mark.parametrize("name", STYLEGAN_MEMBERS)
def test_members_are_committed_small_and_recorded(name):
    member = REGISTRY[name]
    assert member.path.is_file(), f"{member.path} is missing: python -m ganforge zoo train {name}"
    assert member.path.stat().st_size < 10 * 2**20
    manifest = json.loads((ZOO_DIR / "manifest.json").read_text())
    assert {"steps", "seed", "seconds"} <= set(manifest[name])


def test_all_zoo_files_together_stay_under_30_mb():
    assert sum(p.stat().st_size for p in ZOO_DIR.rglob("*.safetensors")) < 30 * 2**20


@pytest.mark.parametrize("name", ["digits-sg2-cond", "digits-sg2-bold"])
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


def test_layer_blend_takes_shape_from_the_parent_and_strokes_from_the_child(parent, child):
    blended = blend_generators(parent, child, swap_resolution=16, width=0.0)
    images = {}
    for name, generator in (("parent", parent), ("child", child), ("blend", blended)):
        images[name], wanted = sample_per_class(generator, 50, seed=3)
    # Shape: the blend still draws the digit that was asked for (its coarse layers are the parent's).
    assert (classify_digits(images["blend"]) == wanted.numpy()).mean() >= 0.80
    # Style: its strokes are as heavy as the child's, not the parent's (ink = mean brightness).
    ink = {name: float((batch + 1).mean()) for name, batch in images.items()}
    assert abs(ink["blend"] - ink["child"]) < abs(ink["blend"] - ink["parent"])
