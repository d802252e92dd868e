"""Super-resolution library: ESRGAN-family parity with spandrel (ComfyUI's loader), SR3 parity
with the reference implementation (stored vectors), samplers, tiling, channels, blending, files."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ganforge.models.checkpoint import CheckpointError
from ganforge.models.superres import blend_networks, load_superres, save_superres
from ganforge.models.superres.cascade import plan_chain
from ganforge.models.superres.esrgan import RRDBNet, SRVGGNetCompact
from ganforge.models.superres.loader import create_superres, read_sr3_json
from ganforge.models.superres.sr3 import NoiseSchedule, ddim_timesteps, make_betas, sample_ddim, sample_ddpm
from ganforge.models.superres.tiling import tile_layout
from ganforge.models.superres.upscale import choose_tile, estimate_cost, upscale

DATA = Path(__file__).parent / "data"


def _random_weights(network: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=generator) * 0.05 for k, v in network.state_dict().items()}


def _old_esrgan_names(state: dict[str, torch.Tensor], num_upsample: int) -> dict[str, torch.Tensor]:
    """BasicSR names -> the original ESRGAN repository's sequential names."""
    trunk = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    index = {"conv_first": 0, "conv_hr": 3 * num_upsample + 2, "conv_last": 3 * num_upsample + 4}
    index.update({f"conv_up{i}": 3 * i for i in range(1, num_upsample + 1)})
    old = {}
    for key, value in state.items():
        if key.startswith("body."):
            _, block, rdb, conv, kind = key.split(".")
            old[f"model.1.sub.{block}.RDB{rdb[-1]}.{conv}.0.{kind}"] = value
        elif key.startswith("conv_body."):
            old[f"model.1.sub.{trunk}.{key.split('.')[1]}"] = value
        else:
            name, kind = key.split(".")
            old[f"model.{index[name]}.{kind}"] = value
    return old


SPANDREL_CASES = {
    "basicsr_x4_params_ema": (RRDBNet, dict(num_feat=16, num_block=2), "params_ema", False),
    "basicsr_x2_unshuffle": (RRDBNet, dict(num_feat=16, num_block=2, unshuffle=2), "params_ema", False),
    "basicsr_x1_unshuffle": (RRDBNet, dict(num_feat=16, num_block=2, unshuffle=4), "params", False),
    "esrgan_original_names": (RRDBNet, dict(num_feat=16, num_block=3), None, True),
    "compact_x4": (SRVGGNetCompact, dict(num_feat=16, num_conv=4, upscale=4), "params", False),
    "compact_x2": (SRVGGNetCompact, dict(num_feat=8, num_conv=2, upscale=2), None, False),
}


@pytest.mark.parametrize("case", SPANDREL_CASES)
def test_esrgan_family_matches_spandrel(case, tmp_path):
    """Same file, same picture: our network and spandrel's (what ComfyUI's own loader uses) agree."""
    from spandrel import ModelLoader

    factory, kwargs, wrapper, old_names = SPANDREL_CASES[case]
    state = _random_weights(factory(**kwargs))
    if old_names:
        state = _old_esrgan_names(state, 2)
    path = tmp_path / "model.pth"
    torch.save({wrapper: state} if wrapper else state, path)
    ours = load_superres(path)
    theirs = ModelLoader().load_from_file(path)
    assert ours.info.scale == theirs.scale
    x = torch.rand(2, 3, 20, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs.model.eval()(x)
        got = ours(x)
    assert got.shape == expected.shape == (2, 3, 20 * theirs.scale, 28 * theirs.scale)
    assert (got - expected).abs().max().item() < 1e-5


@pytest.mark.parametrize("num_upsample", [1, 3])
def test_original_esrgan_x2_and_x8_layouts(num_upsample, tmp_path):
    network = RRDBNet(num_feat=8, num_block=1, num_grow_ch=4, num_upsample=num_upsample)
    state = _random_weights(network)
    network.load_state_dict(state)
    torch.save(_old_esrgan_names(state, num_upsample), tmp_path / "old.pth")
    loaded = load_superres(tmp_path / "old.pth")
    assert loaded.info.scale == 2 ** num_upsample and loaded.info.source == "ESRGAN"
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(loaded(x), network(x), atol=1e-6)


@pytest.mark.parametrize("name", ["rgb_attn", "gray_affine"])
def test_sr3_matches_the_reference_implementation(name):
    """Stored outputs of Janspiry's UNet and p_sample_loop (seed 11) on these weights (made by our
    code): the noise prediction and the whole ancestral sampling agree."""
    network = load_superres(DATA / f"sr3_{name}.safetensors")
    reference = np.load(DATA / f"sr3_{name}_janspiry.npz")
    with torch.no_grad():
        eps = network(torch.from_numpy(reference["x"]), torch.from_numpy(reference["level"]))
    assert (eps - torch.from_numpy(reference["eps"])).abs().max().item() < 1e-5
    condition = torch.from_numpy(reference["condition"])
    with torch.no_grad():
        sample = sample_ddpm(network, condition, network.schedule, torch.Generator().manual_seed(11))
    # The reference returns the batch's last picture; it drew its noise from torch's global generator.
    assert (sample[-1] - torch.from_numpy(reference["sample_last"])).abs().max().item() < 1e-5
    assert network.schedule.num_timesteps == 10 and network.info.scale == 4


class _Oracle(torch.nn.Module):
    """A denoiser that knows the answer: it returns exactly the noise that separates x_t from ``target``."""

    out_channel = 3

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.target = target

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        x_t = x[:, 3:]
        gamma = level.reshape(-1, 1, 1, 1)
        return (x_t - gamma * self.target) / (1 - gamma ** 2).sqrt()


@pytest.mark.parametrize("sampler", ["ddpm", "ddim-1", "ddim-7", "ddim-50-eta1"])
def test_samplers_recover_the_picture_with_a_perfect_denoiser(sampler):
    target = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    schedule = NoiseSchedule(make_betas("linear", 50, 1e-4, 0.1))
    condition = torch.zeros_like(target)
    steps: list[int] = []
    generator = torch.Generator().manual_seed(3)
    if sampler == "ddpm":
        out = sample_ddpm(_Oracle(target), condition, schedule, generator, lambda s, n, x0: steps.append(s))
    else:
        _, count, *eta = sampler.split("-")
        out = sample_ddim(_Oracle(target), condition, schedule, int(count), 1.0 if eta else 0.0, generator,
                          lambda s, n, x0: steps.append(s))
    assert (out - target).abs().max().item() < 1e-4
    assert steps == list(range(1, len(steps) + 1)) and len(steps) in (50, 1, 7)


def test_ddim_timesteps_cover_both_ends():
    assert ddim_timesteps(2000, 5) == [1999, 1499, 1000, 500, 0]
    assert ddim_timesteps(10, 100) == list(range(9, -1, -1))
    assert ddim_timesteps(10, 1) == [9]


def test_sr3_sampling_is_seeded():
    network = load_superres(DATA / "sr3_gray_affine.safetensors")
    condition = torch.zeros(1, 1, 16, 16)
    runs = [sample_ddim(network, condition, network.schedule, 4, generator=torch.Generator().manual_seed(s))
            for s in (1, 1, 2)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_sr3_json_config_with_comments(tmp_path):
    config = tmp_path / "sr_sr3_64_512.json"
    config.write_text("""{
      "datasets": {"train": {"l_resolution": 64, "r_resolution": 512}},  // like the original's
      "model": {"unet": {"norm_groups": 16, "dropout": 0},
                "beta_schedule": {"val": {"schedule": "linear", "n_timestep": 2000,
                                          "linear_start": 1e-6, "linear_end": 1e-2}},
                "diffusion": {"image_size": 512}}
    }""")
    settings = read_sr3_json(config)
    assert settings["norm_groups"] == 16 and settings["factor"] == 8
    assert settings["beta_schedule"]["n_timestep"] == 2000


def _trained_like(architecture: str, kwargs: dict) -> torch.nn.Module:
    network = create_superres(architecture, kwargs)
    network.load_state_dict(_random_weights(network))
    return network.eval().requires_grad_(False)


# Tiles of 48 with 16 pixels of overlap on random weights; the worst pixel of the whole picture.
TILE_TOLERANCE = {"x4": 1e-4, "x2-unshuffle": 5e-3, "compact": 1e-3}


@pytest.mark.parametrize("case", TILE_TOLERANCE)
def test_tiled_output_equals_untiled(case):
    architecture, kwargs = {"x4": ("rrdbnet", dict(num_feat=16, num_block=2, num_grow_ch=8)),
                            "x2-unshuffle": ("rrdbnet", dict(num_feat=16, num_block=2, num_grow_ch=8, unshuffle=2)),
                            "compact": ("compact", dict(num_feat=16, num_conv=4))}[case]
    network = _trained_like(architecture, kwargs)
    x = torch.rand(1, 3, 70, 90, generator=torch.Generator().manual_seed(4))
    whole = upscale(network, x).image
    ticks: list[tuple[int, int]] = []
    tiled = upscale(network, x, tile=48, overlap=16, on_tile=lambda done, total: ticks.append((done, total)))
    assert tiled.image.shape == whole.shape == (1, 3, 70 * network.info.scale, 90 * network.info.scale)
    assert (tiled.image - whole).abs().max().item() < TILE_TOLERANCE[case]
    assert len(ticks) == ticks[-1][1] == ticks[-1][0] > 1


def test_tile_layout_uses_the_fewest_equal_tiles():
    assert tile_layout(100, 40, 10) == (40, [0, 30, 60])
    assert tile_layout(40, 40, 10) == (40, [0])
    assert tile_layout(640, 512, 32) == (336, [0, 304])  # two balanced tiles, not 512 + 512
    size, starts = tile_layout(1000, 256, 32, multiple=4)
    assert size % 4 == 0 and all(s % 4 == 0 for s in starts) and starts[-1] == 1000 - size
    assert all(b - a <= size - 32 for a, b in itertools.pairwise(starts))


def test_channels_alpha_gray_and_outscale():
    network = _trained_like("compact", dict(num_feat=8, num_conv=2, upscale=2))
    rgba = torch.rand(2, 4, 10, 12)
    result = upscale(network, rgba, alpha="bicubic")
    assert result.image.shape == (2, 4, 20, 24) and any("alpha" in n for n in result.notices)
    assert upscale(network, rgba).image.shape == (2, 4, 20, 24)
    gray = upscale(network, torch.rand(1, 1, 10, 12))
    assert gray.image.shape == (1, 1, 20, 24)
    exact = upscale(network, torch.rand(1, 3, 10, 12), outscale=3.5)
    assert exact.image.shape == (1, 3, 35, 42)
    assert exact.image.min() >= 0 and exact.image.max() <= 1


class _NeedsSmallTiles(torch.nn.Module):
    """Doubles the size; pretends memory runs out for inputs larger than 40 pixels a side."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))
        self.info = create_superres("compact", dict(num_feat=4, num_conv=1, upscale=2)).info

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if max(x.shape[-2:]) > 40:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest") * self.weight


def test_out_of_memory_halves_the_tile():
    x = torch.rand(1, 3, 100, 100)
    result = upscale(_NeedsSmallTiles(), x, tile=80, overlap=4)
    assert result.tile == 40 and len(result.notices) == 1 and "out of memory" in result.notices[0]
    assert torch.allclose(result.image, torch.nn.functional.interpolate(x, scale_factor=2), atol=1e-6)


def test_cost_estimate_grows_with_area():
    network = _trained_like("rrdbnet", dict(num_feat=16, num_block=1, num_grow_ch=8))
    small, large = estimate_cost(network, 64, 64), estimate_cost(network, 128, 128)
    assert large.gflop == pytest.approx(4 * small.gflop) and large.peak_bytes == pytest.approx(4 * small.peak_bytes)
    # conv_first alone: 64*64 pixels * 16 outputs * 27 inputs multiply-adds
    assert small.gflop > 2 * 64 * 64 * 16 * 27 / 1e9


def test_a_picture_too_big_for_memory_is_tiled_with_a_notice():
    network = _trained_like("rrdbnet", dict(num_feat=16, num_block=1, num_grow_ch=8))
    need = estimate_cost(network, 4000, 3000).peak_bytes
    assert choose_tile(network, 4000, 3000, free_bytes=8 * need) == (0, None)
    tile, notice = choose_tile(network, 4000, 3000, free_bytes=2 * need)
    assert tile == 512 and "3000x4000" in notice and "GiB" in notice and "GFLOP" in notice


def test_blending_interpolates_weights():
    a = _trained_like("compact", dict(num_feat=8, num_conv=2))
    b = create_superres("compact", dict(num_feat=8, num_conv=2))
    for weight in (0.0, 0.3, 1.0):
        blended = blend_networks(a, b, weight)
        for key, value in blended.state_dict().items():
            expected = weight * a.state_dict()[key] + (1 - weight) * b.state_dict()[key]
            assert torch.allclose(value, expected, atol=1e-7)
    with pytest.raises(ValueError, match="one architecture and size"):
        blend_networks(a, create_superres("compact", dict(num_feat=8, num_conv=3)), 0.5)


@pytest.mark.parametrize("architecture", ["rrdbnet", "compact", "sr3"])
def test_our_files_round_trip(architecture, tmp_path):
    kwargs = {"rrdbnet": dict(num_feat=8, num_block=1, num_grow_ch=4, unshuffle=2),
              "compact": dict(num_feat=8, num_conv=2, upscale=3),
              "sr3": dict(in_channel=2, out_channel=1, inner_channel=8, norm_groups=4, channel_mults=[1, 2],
                          attn_levels=[1], res_blocks=1)}[architecture]
    network = create_superres(architecture, kwargs, factor=4)
    save_superres(network, tmp_path / "model.safetensors")
    loaded = load_superres(tmp_path / "model.safetensors")
    assert loaded.info.architecture == architecture and loaded.info.scale == network.info.scale
    assert loaded.info.size_multiple == network.info.size_multiple
    for key, value in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    with pytest.raises(FileExistsError):
        save_superres(network, tmp_path / "model.safetensors")


def test_unknown_and_hostile_files_are_refused(tmp_path):
    save_file({"synthesis.b4.const": torch.zeros(4, 4, 4)}, str(tmp_path / "stylegan.safetensors"))
    with pytest.raises(CheckpointError, match=r"not a super-resolution network.*synthesis\.b4\.const"):
        load_superres(tmp_path / "stylegan.safetensors")

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"params_ema": Evil()}, protocol=2))
    with pytest.raises(CheckpointError, match="print"):
        load_superres(tmp_path / "evil.pth")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a model file"):
        load_superres(tmp_path / "notes.txt")


def test_cascade_plan_reaches_the_factor_with_the_fewest_stages():
    assert plan_chain([4.0, 2.0], 8) == [0, 1]
    assert plan_chain([4.0, 2.0], 16) == [0, 0]
    assert plan_chain([2.0], 6) == [0, 0, 0]  # 8, then resized down to 6
    assert plan_chain([4.0, 2.0], 2) == [1]
    assert plan_chain([4.0, 2.0], 3) == [0]  # overshoot by the least among one-stage plans
    with pytest.raises(ValueError, match="at most"):
        plan_chain([2.0], 1000, max_stages=4)


@pytest.mark.parametrize("num_upsample", [1, 2])
def test_training_starts_rrdbnet_as_bilinear_enlargement(num_upsample):
    from ganforge.models.training.superres import start_as_bilinear

    network = create_superres("rrdbnet", dict(num_feat=8, num_block=1, num_grow_ch=4, num_upsample=num_upsample))
    start_as_bilinear(network)
    x = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    expected = x
    for _ in range(num_upsample):
        expected = torch.nn.functional.interpolate(expected, scale_factor=2, mode="bilinear", align_corners=False)
    with torch.no_grad():
        got = network(x)
    border = 2 ** num_upsample  # the convolutions pad with zeros where bilinear repeats the edge
    inner = (..., slice(border, -border), slice(border, -border))
    assert torch.allclose(got[inner], expected[inner], atol=1e-6)
    with pytest.raises(ValueError, match="pixel-unshuffle"):
        start_as_bilinear(create_superres("rrdbnet", dict(num_feat=8, num_block=1, num_grow_ch=4, unshuffle=2)))


def test_bfloat16_networks_stay_close_to_float32():
    network = _trained_like("rrdbnet", dict(num_feat=16, num_block=1, num_grow_ch=8))
    x = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(2))
    full = upscale(network, x).image
    half = upscale(network.to(torch.bfloat16), x, tile=16, overlap=4).image
    assert half.dtype == torch.float32 and (half - full).abs().max().item() < 0.03
