"""Projection (NVlabs projector semantics), the perceptual distance and the plot it reports."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch

from ganforge.imaging import fit_square, plot_curves
from ganforge.models.checkpoint import CheckpointError
from ganforge.models.perceptual import PerceptualDistance, VGG16Features, load_vgg16
from ganforge.models.stylegan import load_stylegan
from ganforge.models.stylegan.latents import load_w_png, w_to_png_text, z_from_seeds
from ganforge.models.stylegan.projection import (
    ProjectionConfig,
    learning_rate,
    multiscale_pixel_distance,
    noise_regularization,
    project,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def generator():
    return load_stylegan(DATA / "stylegan2_skip.safetensors").eval()  # 16 px, 6 ws


def target_of(generator, seed: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        ws = generator.mapping(z_from_seeds([seed], generator.z_dim), None)
        return generator.synthesis(ws, noise_mode="const"), ws


def test_learning_rate_follows_the_nvlabs_ramps():
    config = ProjectionConfig()
    assert learning_rate(0.0, config) == 0.0
    assert learning_rate(0.025, config) == pytest.approx(0.05)  # half way up the 5% ramp
    assert learning_rate(0.5, config) == pytest.approx(0.1)
    assert learning_rate(0.875, config) == pytest.approx(0.05)  # half way down the cosine (last 25%)


def test_noise_regularization_prefers_white_noise():
    white = [torch.randn(32, 32, generator=torch.Generator().manual_seed(0))]
    smooth = [torch.nn.functional.interpolate(torch.randn(1, 1, 4, 4), size=32, mode="bilinear")[0, 0]]
    smooth = [smooth[0] / smooth[0].std()]
    assert noise_regularization(smooth) > 100 * noise_regularization(white)


def test_projection_recovers_a_generated_latent_and_leaves_the_model_alone(generator):
    # Without noise inputs every picture of the model has an exact W: projection must find it.
    quiet = load_stylegan(DATA / "stylegan2_skip.safetensors").eval()
    with torch.no_grad():
        for name, parameter in quiet.named_parameters():
            if name.endswith("noise_strength"):
                parameter.zero_()
    target, true_ws = target_of(quiet)
    before = {k: v.clone() for k, v in quiet.state_dict().items()}
    with torch.no_grad():
        start = multiscale_pixel_distance(quiet.synthesis(quiet.mapping.w_avg.reshape(1, 1, -1)
                                                          .repeat(1, quiet.num_ws, 1)), target)
    seen = []
    result = project(quiet, target, multiscale_pixel_distance, ProjectionConfig(steps=300, w_avg_samples=2000),
                     on_step=lambda step, total, loss, ws: seen.append((step, total, ws.shape)))
    assert seen[0] == (1, 300, (1, quiet.num_ws, quiet.w_dim)) and len(seen) == 300
    assert torch.equal(result.ws, result.ws[:, :1].expand_as(result.ws))  # W: one vector for all layers
    with torch.no_grad():
        final = multiscale_pixel_distance(quiet.synthesis(result.ws, noise_mode="const"), target)
    assert float(final) < 1e-3 * float(start)
    start_error = (quiet.mapping.w_avg - true_ws[0, 0]).norm()
    assert (result.ws[0, 0] - true_ws[0, 0]).norm() < 0.05 * start_error
    assert all(torch.equal(v, before[k]) for k, v in quiet.state_dict().items())


def test_projection_is_repeatable_with_a_seed(generator):
    target, _ = target_of(generator)
    config = ProjectionConfig(steps=20, w_avg_samples=500, seed=3)
    first, second = (project(generator, target, multiscale_pixel_distance, config) for _ in range(2))
    assert torch.equal(first.ws, second.ws) and first.losses == second.losses
    other = project(generator, target, multiscale_pixel_distance, ProjectionConfig(steps=20, w_avg_samples=500))
    assert not torch.equal(other.ws, first.ws)


def test_w_plus_projection_gives_each_layer_its_own_vector(generator):
    target, _ = target_of(generator, 12)
    result = project(generator, target, multiscale_pixel_distance,
                     ProjectionConfig(steps=30, w_plus=True, w_avg_samples=500))
    assert not torch.equal(result.ws[:, 0], result.ws[:, -1])
    assert len(result.losses) == 30 and all(math.isfinite(v) for v in result.losses)


def test_projection_refuses_a_target_of_another_size(generator):
    with pytest.raises(ValueError, match=r"target must be \[1, 3, 16, 16\]"):
        project(generator, torch.zeros(1, 3, 32, 32), multiscale_pixel_distance, ProjectionConfig(steps=1))


def test_vgg16_loads_torchvision_layout_and_measures(tmp_path: Path):
    torch.manual_seed(0)
    vgg = VGG16Features()
    state = {**vgg.state_dict(), "classifier.0.weight": torch.zeros(4, 4)}  # a full torchvision file
    torch.save(state, tmp_path / "vgg16.pth")
    loaded = load_vgg16(tmp_path / "vgg16.pth")
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), vgg.state_dict().values(),
                                                 strict=True))
    distance = PerceptualDistance(loaded)
    a, b = torch.rand(2, 3, 40, 40) * 2 - 1, torch.rand(2, 3, 40, 40) * 2 - 1
    assert torch.allclose(distance(a, a), torch.zeros(2))
    assert (distance(a, b) > 0).all()
    gray = torch.rand(1, 1, 40, 40) * 2 - 1
    assert torch.allclose(distance(gray, gray.expand(-1, 3, -1, -1)), torch.zeros(1))


def test_vgg16_loader_refuses_torchscript_and_other_files(tmp_path: Path):
    with warnings.catch_warnings():  # torch.jit is deprecated, yet its files are still out there
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(torch.nn.Conv2d(3, 4, 3))
    scripted.save(str(tmp_path / "vgg16.pt"))
    with pytest.raises(CheckpointError, match="TorchScript program"):
        load_vgg16(tmp_path / "vgg16.pt")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not a torchvision VGG16"):
        load_vgg16(tmp_path / "other.pth")


def test_latent_travels_in_png_text(tmp_path: Path):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    ws = torch.randn(1, 6, 32)
    info = PngInfo()
    info.add_text("ganforge_w", w_to_png_text(ws))
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png", pnginfo=info)
    assert torch.equal(load_w_png(tmp_path / "a.png", 6), ws)
    with pytest.raises(ValueError, match="this model needs"):
        load_w_png(tmp_path / "a.png", 8)


def test_fit_square_crops_and_resizes_with_a_notice():
    x = torch.rand(1, 3, 30, 20)
    fitted, notice = fit_square(x, 16)
    assert fitted.shape == (1, 3, 16, 16) and "centre-cropped" in notice
    same, none = fit_square(torch.rand(1, 3, 16, 16), 16)
    assert none is None and same.shape == (1, 3, 16, 16)


def test_plot_is_an_image_with_a_line():
    plot = plot_curves([("image 1", [4.0, 2.0, 1.0, 0.5]), ("image 2", [3.0, 1.0])], width=320, height=160)
    assert plot.shape == (1, 160, 320, 3)
    assert (plot < 0.9).any(dim=-1).sum() > 200  # axes, text and lines drawn on white
