"""StyleGAN2 engine: parity with NVlabs' implementation, safe loading, conversion."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from stylegan_pickles import fake_modules, write_nvlabs_pickle, write_rosinality_checkpoint

from ganforge.models.checkpoint import CheckpointError
from ganforge.models.stylegan import StyleGAN2Generator, load_stylegan, save_stylegan

DATA = Path(__file__).parent / "data"
CONFIGS = ["skip", "resnet", "orig", "conditional", "fp16_clamp"]
# Stored outputs of NVlabs' networks_stylegan2.Generator on these weights (made by our own code):
# see the parity note in the StyleGAN engine issue. fp32 CPU differences are about 1e-6.
TOLERANCE = 1e-4


@pytest.mark.parametrize("config", CONFIGS)
def test_images_match_the_nvlabs_implementation(config):
    generator = load_stylegan(DATA / f"stylegan2_{config}.safetensors")
    reference = np.load(DATA / f"stylegan2_{config}_nvlabs.npz")
    z, c = torch.from_numpy(reference["z"]), torch.from_numpy(reference["c"])
    with torch.no_grad():
        for mode in ("const", "none"):
            for psi, cutoff in ((1, None), (0.6, 3)):
                expected = torch.from_numpy(reference[f"{mode}_psi{psi}_cut{cutoff}"])
                for fused in (True, False):
                    image = generator(z, c, truncation_psi=psi, truncation_cutoff=cutoff, noise_mode=mode,
                                      fused_modconv=fused)
                    assert image.shape == expected.shape
                    assert (image - expected).abs().max().item() < TOLERANCE, (config, mode, psi, fused)
        ws = generator.mapping(z, c, truncation_psi=0.6, truncation_cutoff=3)
        assert torch.allclose(ws, torch.from_numpy(reference["ws_psi0.6_cut3"]), atol=1e-5)


def test_call_contract_and_noise_modes():
    generator = load_stylegan(DATA / "stylegan2_skip.safetensors")
    assert (generator.z_dim, generator.c_dim, generator.w_dim) == (16, 0, 16)
    assert (generator.num_ws, generator.img_resolution, generator.img_channels) == (6, 16, 3)
    z = torch.randn(2, 16)
    ws = generator.mapping(z, None)
    assert ws.shape == (2, 6, 16)
    const = generator.synthesis(ws)  # 'const' is the default
    assert torch.equal(const, generator.synthesis(ws, noise_mode="const"))
    torch.manual_seed(1)
    random_a = generator.synthesis(ws, noise_mode="random")
    torch.manual_seed(1)
    random_b = generator.synthesis(ws, noise_mode="random")
    assert torch.equal(random_a, random_b) and not torch.equal(random_a, const)
    with pytest.raises(ValueError, match="noise_mode"):
        generator.synthesis(ws, noise_mode="loud")


def test_nvlabs_pickle_loads_exactly(tmp_path):
    source = load_stylegan(DATA / "stylegan2_conditional.safetensors")
    kwargs = dict(source.init_kwargs)
    # stylegan2-ada-pytorch nests the synthesis arguments; the stylegan3 repo keeps them flat.
    nested = {k: kwargs[k] for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")}
    nested["synthesis_kwargs"] = {k: v for k, v in kwargs.items() if k not in nested}
    for name, init_kwargs in (("flat.pkl", kwargs), ("nested.pkl", nested)):
        write_nvlabs_pickle(tmp_path / name, source, init_kwargs)
        loaded = load_stylegan(tmp_path / name)
        assert list(loaded.state_dict()) == list(source.state_dict())
        z, c = torch.randn(2, 16), torch.eye(4)[[0, 3]]
        assert torch.equal(loaded(z, c, truncation_psi=0.5), source(z, c, truncation_psi=0.5))


def test_module_source_inside_a_pickle_is_never_run(tmp_path):
    marker = tmp_path / "ran.txt"
    source = load_stylegan(DATA / "stylegan2_skip.safetensors")
    hostile_src = f"open({str(marker)!r}, 'w').write('the module source was executed')\n"
    write_nvlabs_pickle(tmp_path / "g.pkl", source, source.init_kwargs, module_src=hostile_src)
    loaded = load_stylegan(tmp_path / "g.pkl")
    assert not marker.exists()
    z = torch.randn(1, 16)
    assert torch.equal(loaded(z), source(z))


class _Hostile:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_pickle_that_calls_os_system_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as handle:
        pickle.dump({"G_ema": _Hostile(f"touch {marker}")}, handle, protocol=4)
    with pytest.raises(CheckpointError, match=r"evil\.pkl.*system.*nothing from the file was run"):
        load_stylegan(path)
    assert not marker.exists()


def test_truncated_and_foreign_files_get_clear_errors(tmp_path):
    source = load_stylegan(DATA / "stylegan2_skip.safetensors")
    write_nvlabs_pickle(tmp_path / "g.pkl", source, source.init_kwargs)
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes((tmp_path / "g.pkl").read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"truncated\.pkl is truncated or corrupt"):
        load_stylegan(truncated)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes\.txt is not a model file GANForge can read \(expected an NVlabs"):
        load_stylegan(text)
    other = tmp_path / "other.pkl"
    with open(other, "wb") as handle:
        pickle.dump({"weights": [1, 2, 3]}, handle, protocol=4)
    with pytest.raises(CheckpointError, match="not an NVlabs StyleGAN network pickle"):
        load_stylegan(other)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_stylegan(tmp_path / "missing.pkl")


def test_weights_that_do_not_fit_the_arguments_are_reported(tmp_path):
    source = load_stylegan(DATA / "stylegan2_skip.safetensors")
    kwargs = dict(source.init_kwargs, channel_max=16)
    write_nvlabs_pickle(tmp_path / "g.pkl", source, kwargs)
    with pytest.raises(CheckpointError, match="of another shape"):
        load_stylegan(tmp_path / "g.pkl")


def test_convert_round_trip_and_no_overwrite(tmp_path):
    source = load_stylegan(DATA / "stylegan2_resnet.safetensors")
    write_nvlabs_pickle(tmp_path / "g.pkl", source, source.init_kwargs)
    target = tmp_path / "g.safetensors"
    command = [sys.executable, "-m", "ganforge", "convert", str(tmp_path / "g.pkl"), str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    converted = load_stylegan(target)
    z = torch.randn(3, 16)
    assert torch.equal(converted(z, truncation_psi=0.7), source(z, truncation_psi=0.7))
    before = target.read_bytes()
    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "never replaced" in again.stderr
    assert target.read_bytes() == before
    with pytest.raises(FileExistsError):
        save_stylegan(converted, target)


def test_default_construction_matches_reference_key_listing():
    """Config F at 1024 has NVlabs' 182 keys with the same shapes (built on the meta device)."""
    listing = DATA / "nvlabs_keys" / "keys_sg2_1024.txt"  # names and shapes of NVlabs' released file
    expected = {}
    for line in listing.read_text().splitlines():
        name, rest = line.split(" ", 1)
        shape = rest.rsplit(" ", 1)[0]
        expected[name] = tuple(int(v) for v in shape.strip("[]").split(",") if v.strip())
    with torch.device("meta"):
        generator = StyleGAN2Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
    ours = {name: tuple(t.shape) for name, t in generator.state_dict().items()}
    assert ours == expected
    assert generator.num_ws == 18
    assert sum(p.numel() for p in generator.parameters()) == 30_370_060


def _rosinality_source() -> torch.nn.Module:
    """A generator in rosinality's configuration: skip, no clamp, no fp16, mapping lr 0.01."""
    torch.manual_seed(11)
    kwargs = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3,
                  mapping_kwargs={"num_layers": 3, "lr_multiplier": 0.01}, channel_base=256, channel_max=32,
                  num_fp16_res=0, conv_clamp=None, architecture="skip")
    source = StyleGAN2Generator(**kwargs).eval().requires_grad_(False)
    with torch.no_grad():
        for name, tensor in source.state_dict().items():
            if "noise_strength" in name or name.endswith(".bias") or name.endswith("w_avg"):
                tensor.copy_(torch.randn_like(tensor) * 0.3)
    return source


@pytest.mark.parametrize("legacy_format", [False, True])
def test_rosinality_checkpoint_loads_exactly(tmp_path, legacy_format):
    source = _rosinality_source()
    write_rosinality_checkpoint(tmp_path / "ffhq.pt", source, legacy_format=legacy_format)
    loaded = load_stylegan(tmp_path / "ffhq.pt")
    assert loaded.init_kwargs["channel_base"] == 256 and loaded.init_kwargs["channel_max"] == 32
    assert loaded.num_ws == source.num_ws == 8
    z = torch.randn(3, 16)
    with torch.no_grad():
        for mode in ("const", "none"):
            expected = source(z, truncation_psi=0.6, truncation_cutoff=4, noise_mode=mode)
            assert torch.equal(loaded(z, truncation_psi=0.6, truncation_cutoff=4, noise_mode=mode), expected)


def test_rosinality_training_checkpoint_gets_an_estimated_w_avg(tmp_path):
    source = _rosinality_source()
    write_rosinality_checkpoint(tmp_path / "010000.pt", source, with_latent_avg=False)
    loaded = load_stylegan(tmp_path / "010000.pt")
    z = torch.randn(4096, 16)
    with torch.no_grad():
        sample_mean = source.mapping(z, None)[:, 0].mean(dim=0)
    # The estimate (10,000 seeded samples) agrees with an independent sample mean.
    assert torch.allclose(loaded.mapping.w_avg, sample_mean, atol=0.05 * sample_mean.abs().max().item())
    assert not torch.allclose(loaded.mapping.w_avg, source.mapping.w_avg)


def test_foreign_torch_files_are_named(tmp_path):
    torch.save({"state_dict": {"conv.weight": torch.zeros(1)}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt is a torch\.save file but not a known StyleGAN"):
        load_stylegan(tmp_path / "other.pt")


def test_tensorflow_era_pickle_is_refused_by_name(tmp_path):
    """TF StyleGAN2 pickles are (G, D, Gs) of dnnlib.tflib Network objects; their build source must never run."""
    import types

    marker = tmp_path / "ran.txt"
    package = types.ModuleType("dnnlib")
    tflib, network = types.ModuleType("dnnlib.tflib"), types.ModuleType("dnnlib.tflib.network")

    class Network:
        def __getstate__(self):
            return {"version": 4, "name": "G_synthesis", "static_kwargs": {"resolution": 16},
                    "build_module_src": f"open({str(marker)!r}, 'w').write('ran')", "variables": []}

    Network.__module__, Network.__qualname__ = "dnnlib.tflib.network", "Network"
    network.Network = Network
    modules = {"dnnlib": package, "dnnlib.tflib": tflib, "dnnlib.tflib.network": network}
    with fake_modules(modules), open(tmp_path / "karras2019.pkl", "wb") as handle:
        pickle.dump((Network(), Network(), Network()), handle, protocol=2)
    with pytest.raises(CheckpointError, match=r"karras2019\.pkl is a TensorFlow-era StyleGAN pickle"):
        load_stylegan(tmp_path / "karras2019.pkl")
    assert not marker.exists()


LOW_PRECISION_CASES = [(name, torch.float16, 0.005) for name in ("stylegan2_skip", "stylegan2_fp16_clamp",
                                                                   "stylegan3_t", "stylegan3_r")] + \
    [(name, torch.bfloat16, 0.03) for name in ("stylegan2_skip", "stylegan3_t")]  # SG3-R bf16: 10 s on a CPU


@pytest.mark.parametrize(("name", "dtype", "tolerance"), LOW_PRECISION_CASES)
def test_whole_network_low_precision_stays_close_to_fp32(name, dtype, tolerance):
    reference = load_stylegan(DATA / f"{name}.safetensors")
    low = load_stylegan(DATA / f"{name}.safetensors", dtype=dtype)
    assert low.precision == dtype and reference.precision == torch.float32
    z = torch.randn(2, reference.z_dim, generator=torch.Generator().manual_seed(0))
    c = torch.eye(reference.c_dim)[:2] if reference.c_dim else None
    with torch.no_grad():
        want, got = reference(z, c), low(z, c)
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    assert (got - want).abs().max() <= tolerance * want.abs().max()
    assert not torch.equal(got, want)  # it did run in the lower precision
    low.set_precision(None)
    with torch.no_grad():
        assert torch.equal(low(z, c), want)
