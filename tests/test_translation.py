"""pix2pix / CycleGAN: junyanz names and shapes, exact parity with the original networks, the
model registry, inference at any size, tiles, seeds, pairs, export."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from translation_reference import CONFIGS, DROPOUT_SEED, fill_weights, make_input

from ganforge.models import registry
from ganforge.models.checkpoint import CheckpointError
from ganforge.models.translation import (
    NLayerDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    create_translator,
    export_junyanz,
    load_translation,
    save_translation,
    set_inference_mode,
    translate,
)

DATA = Path(__file__).parent / "data"


def build(config: dict) -> torch.nn.Module:
    kind, size = config["netG"].split("_")
    common = dict(input_nc=config["input_nc"], output_nc=config["output_nc"], ngf=config["ngf"],
                  norm=config["norm"], use_dropout=config["use_dropout"])
    if kind == "resnet":
        return ResnetGenerator(n_blocks=int(size.replace("blocks", "")), **common)
    return UnetGenerator(num_downs=int(math.log2(int(size))), **common)


def official_file(tmp_path: Path, name: str, state: dict, legacy: bool = False) -> Path:
    """A generator file as the original's save_networks writes it (a plain OrderedDict)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(OrderedDict(state), path, _use_new_zipfile_serialization=not legacy)
    return path


def read_listing(name: str) -> list[tuple[str, list[int]]]:
    rows = []
    for line in (DATA / "junyanz_keys" / f"{name}.txt").read_text().splitlines():
        key, rest = line.split(" ", 1)
        rows.append((key, [int(n) for n in rest[rest.index("[") + 1:rest.index("]")].split(",") if n.strip()]))
    return rows


LISTINGS = {
    "cyclegan_resnet_9blocks_instance_nodropout": dict(n_blocks=9, norm="instance", use_dropout=False),
    "cyclegan_resnet_9blocks_instance_dropout": dict(n_blocks=9, norm="instance", use_dropout=True),
    "cyclegan_resnet_6blocks_instance_nodropout": dict(n_blocks=6, norm="instance", use_dropout=False),
    "resnet_9blocks_batch_nodropout": dict(n_blocks=9, norm="batch", use_dropout=False),
    "pix2pix_unet_256_batch_dropout": dict(num_downs=8, norm="batch", use_dropout=True),
    "pix2pix_unet_128_batch_dropout": dict(num_downs=7, norm="batch", use_dropout=True),
    "unet_256_instance": dict(num_downs=8, norm="instance", use_dropout=False),
}


@pytest.mark.parametrize("listing", sorted(LISTINGS))
def test_names_and_shapes_match_the_released_configurations(listing: str):
    kwargs = LISTINGS[listing]
    with torch.device("meta"):
        network = ResnetGenerator(**kwargs) if "n_blocks" in kwargs else UnetGenerator(**kwargs)
    ours = [(k, list(v.shape)) for k, v in network.state_dict().items()]
    assert ours == read_listing(listing)


@pytest.mark.parametrize("listing", sorted(LISTINGS))
def test_the_registry_reads_the_configuration_off_the_keys(listing: str):
    tensors = {key: torch.zeros(shape) for key, shape in read_listing(listing)}
    from ganforge.models.translation.recognise import junyanz_generator

    architecture, kwargs = junyanz_generator(tensors)
    expected = LISTINGS[listing]
    assert architecture == ("resnet" if "n_blocks" in expected else "unet")
    for key, value in expected.items():
        if not (key == "use_dropout" and architecture == "unet"):  # a U-Net file cannot show dropout
            assert kwargs[key] == value, key
    assert kwargs["ngf"] == 64 and kwargs["input_nc"] == 3 and kwargs["output_nc"] == 3


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-format"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_exact_parity_with_the_original_networks(name: str, legacy: bool, tmp_path: Path):
    """Files in the original layout load and reproduce the original networks' outputs (vectors made
    by junyanz's networks.py on the same weights): eval mode, and the official test mode (batch
    statistics, dropout drawn from torch's generator after ``torch.manual_seed``)."""
    config = CONFIGS[name]
    reference = np.load(DATA / f"junyanz_{name}.npz")
    state = fill_weights(build(config).state_dict())
    assert list(state) == list(reference["keys"])  # the original's key order, too
    path = official_file(tmp_path, "latest_net_G.pth", state, legacy)
    translator = load_translation(path, use_dropout=config["use_dropout"])
    kwargs = translator.info.kwargs
    assert (kwargs["input_nc"], kwargs["output_nc"], kwargs["ngf"], kwargs["norm"], kwargs["use_dropout"]) == \
        (config["input_nc"], config["output_nc"], config["ngf"], config["norm"], config["use_dropout"])
    network = translator.network()
    x = make_input(config)
    with torch.no_grad():
        set_inference_mode(network, "eval")
        out_eval = network(x)
        set_inference_mode(network, "official")
        torch.manual_seed(DROPOUT_SEED)
        out_official = network(x)
    assert (out_eval - torch.from_numpy(reference["eval"])).abs().max().item() <= 1e-5
    assert (out_official - torch.from_numpy(reference["train"])).abs().max().item() <= 1e-5
    assert all(not p.requires_grad for p in network.parameters())


def test_legacy_instance_norm_statistics_are_dropped(tmp_path: Path):
    """2018-era CycleGAN files carry InstanceNorm running statistics (the released horse2zebra
    layout): they load, and the output is the instance-norm output."""
    config = CONFIGS["resnet9_instance"]
    network = build(config)
    state = fill_weights(network.state_dict())
    legacy = OrderedDict()
    for key, value in state.items():
        legacy[key] = value
        if key.endswith("weight") and value.ndim == 4 and not key.startswith(("model.26",)):
            prefix = key.rsplit(".", 2)[0] + "." + str(int(key.rsplit(".", 2)[1]) + 1)
            channels = value.shape[1] if ".19." in key or ".22." in key else value.shape[0]
            legacy[f"{prefix}.running_mean"] = torch.randn(channels)
            legacy[f"{prefix}.running_var"] = torch.rand(channels) + 0.5
            legacy[f"{prefix}.num_batches_tracked"] = torch.tensor(1000)
    listing_keys = [k for k, _ in read_listing("cyclegan_resnet_9blocks_instance_legacy_running_stats")]
    assert sorted({k.rsplit(".", 1)[1] for k in listing_keys} - {"weight", "bias"}) == \
        sorted({k.rsplit(".", 1)[1] for k in legacy} - {"weight", "bias"})
    path = official_file(tmp_path, "horse2zebra.pth", legacy)
    translator = load_translation(path)
    reference = np.load(DATA / "junyanz_resnet9_instance.npz")
    with torch.no_grad():
        out = translator.network()(make_input(config))
    assert (out - torch.from_numpy(reference["eval"])).abs().max().item() <= 1e-5


def test_old_batchnorm_files_without_batch_counters_load(tmp_path: Path):
    state = fill_weights(build(CONFIGS["unet32_batch"]).state_dict())
    state = OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    translator = load_translation(official_file(tmp_path, "old_net_G.pth", state))
    assert translator.info.kwargs["norm"] == "batch"


def _resnet_file(tmp_path: Path, name: str, **kwargs) -> Path:
    network = ResnetGenerator(**{**dict(ngf=4, n_blocks=2), **kwargs})
    return official_file(tmp_path, name, fill_weights(network.state_dict()))


def test_a_cyclegan_pair_loads_both_directions(tmp_path: Path):
    a = _resnet_file(tmp_path, "latest_net_G_A.pth")
    network_b = ResnetGenerator(ngf=4, n_blocks=2)
    official_file(tmp_path, "latest_net_G_B.pth", fill_weights(network_b.state_dict(), seed=5))
    for path in (a, tmp_path / "latest_net_G_B.pth"):
        translator = load_translation(path)
        assert translator.info.kind == "cyclegan" and set(translator.networks) == {"A->B", "B->A"}
        x = torch.rand(1, 3, 16, 16) * 2 - 1
        with torch.no_grad():
            backward = translator.network("B->A")(x)
        network_b.load_state_dict(fill_weights(network_b.state_dict(), seed=5))
        with torch.no_grad():
            assert torch.equal(backward, network_b.eval()(x))
    lonely = _resnet_file(tmp_path / "alone", "latest_net_G.pth")
    translator = load_translation(lonely)
    assert translator.info.kind == "pix2pix"
    with pytest.raises(ValueError, match="no B->A"):
        translator.network("B->A")


def test_a_discriminator_file_is_named_as_such(tmp_path: Path):
    discriminator = NLayerDiscriminator(6, ndf=8, n_layers=3, norm="batch")
    path = official_file(tmp_path, "latest_net_D.pth", discriminator.state_dict())
    found, _ = registry.recognise(path)
    assert (found.family, found.role, found.config["n_layers"], found.config["input_nc"]) == \
        ("translation", "discriminator", 3, 6)
    with pytest.raises(CheckpointError, match=r"discriminator.*_net_G"):
        load_translation(path)


def test_other_families_are_named_not_loaded(tmp_path: Path):
    stylegan = Path(__file__).parent / "data" / "stylegan2_skip.safetensors"
    with pytest.raises(CheckpointError, match="stylegan2 generator"):
        load_translation(stylegan)
    from ganforge.models.translation.munit import AdaINGen

    munit = tmp_path / "gen_00100000.pt"
    pair = AdaINGen(dim=4, style_dim=2, n_downsample=1, n_res=1, mlp_dim=8).state_dict()
    torch.save({"a": pair, "b": pair}, munit)
    with pytest.raises(CheckpointError, match=r"MUNIT generator pair.*Load MUNIT"):
        load_translation(munit)
    spade = tmp_path / "latest_net_G.pth"
    torch.save({"fc.weight": torch.zeros(16, 184, 3, 3),
                "head_0.norm_0.mlp_shared.0.weight": torch.zeros(8, 184, 3, 3)}, spade)
    with pytest.raises(CheckpointError, match=r"SPADE generator.*184 semantic channels.*Load Semantic Synthesis"):
        load_translation(spade)
    unknown = tmp_path / "mystery.pth"
    torch.save({"layer.weight": torch.zeros(3, 3)}, unknown)
    with pytest.raises(CheckpointError, match=r"family recognises.*layer\.weight: tensor \[3, 3\]"):
        load_translation(unknown)


def test_every_zoo_file_is_recognised_by_its_family():
    from ganforge.models.zoo import REGISTRY

    folders = {"ganforge_clip": "clip"}
    for member in REGISTRY.values():
        if member.path.is_file():
            found, _ = registry.recognise(member.path)
            assert found.loadable and found.folder == folders.get(member.folder, member.folder), member.name


def test_inspect_names_family_configuration_and_folder(tmp_path: Path):
    path = _resnet_file(tmp_path, "latest_net_G.pth", norm="batch")
    result = subprocess.run([sys.executable, "-m", "ganforge", "inspect", str(path)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "family: translation (resnet, generator)" in result.stdout
    assert "folder: models/translation" in result.stdout and '"norm": "batch"' in result.stdout
    unknown = tmp_path / "mystery.pth"
    torch.save({"layer.weight": torch.zeros(3, 3)}, unknown)
    result = subprocess.run([sys.executable, "-m", "ganforge", "inspect", str(unknown)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
    assert "no GANForge family recognises" in result.stdout and "layer.weight: tensor [3, 3]" in result.stdout
    assert "translation: a junyanz pix2pix" in result.stdout and "stylegan: " in result.stdout


# ---------------------------------------------------------------------------------------------- inference


def _loaded(tmp_path: Path, network: torch.nn.Module, mode: str = "eval"):
    path = official_file(tmp_path, "latest_net_G.pth", fill_weights(network.state_dict()))
    return load_translation(path, mode=mode)


def test_any_size_is_padded_and_cropped_back_never_resized(tmp_path: Path):
    translator = _loaded(tmp_path, ResnetGenerator(ngf=4, n_blocks=2))
    x = torch.rand(2, 3, 37, 53) * 2 - 1
    result = translate(translator.network(), translator.info, x)
    assert result.image.shape == (2, 3, 37, 53) and not result.notices
    unet = _loaded(tmp_path / "u", UnetGenerator(3, 3, num_downs=5, ngf=4, norm="batch"))
    small = translate(unet.network(), unet.info, torch.rand(1, 3, 20, 40) * 2 - 1)
    assert small.image.shape == (1, 3, 20, 40)
    assert any("smaller than the network's minimum of 32" in n for n in small.notices)


def test_channels_are_converted_with_a_notice(tmp_path: Path):
    translator = _loaded(tmp_path, ResnetGenerator(ngf=4, n_blocks=2))
    gray = translate(translator.network(), translator.info, torch.zeros(1, 1, 16, 16))
    rgba = translate(translator.network(), translator.info, torch.zeros(1, 4, 16, 16))
    assert "repeated to RGB" in gray.notices[0] and "alpha channel was dropped" in rgba.notices[0]
    assert gray.image.shape[1] == rgba.image.shape[1] == 3


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_tiles_match_the_whole_picture_without_instance_norm(norm: str, tmp_path: Path):
    """ResNet-2 with random weights: 128 px tiles overlapping by 64 stay within 3e-3 of the untiled
    picture when nothing is normalised per tile (eval-mode batch norm, or none). (Measured with
    random weights: 1.7e-3; ResNet-9 needs tile 256 / overlap 128 for 1.6e-3; see the closing note.)"""
    translator = _loaded(tmp_path, ResnetGenerator(ngf=4, n_blocks=2, norm=norm))
    x = torch.rand(1, 3, 192, 320, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        whole = translate(translator.network(), translator.info, x).image
        tiled = translate(translator.network(), translator.info, x, tile=128, overlap=64)
    assert not tiled.notices
    assert (whole - tiled.image).abs().max().item() < 3e-3


def test_tiling_with_instance_norm_says_tiles_are_normalised_alone(tmp_path: Path):
    translator = _loaded(tmp_path, ResnetGenerator(ngf=4, n_blocks=2, norm="instance"))
    result = translate(translator.network(), translator.info, torch.rand(1, 3, 96, 96) * 2 - 1, tile=48)
    assert any("each tile is normalised on its own" in n for n in result.notices)


def test_official_mode_is_seeded_and_eval_is_deterministic(tmp_path: Path):
    network = UnetGenerator(1, 1, num_downs=6, ngf=4, norm="batch", use_dropout=True)
    translator = _loaded(tmp_path, network, mode="official")
    x = torch.rand(3, 1, 64, 64) * 2 - 1
    info = translator.info
    with torch.no_grad():
        first = translate(translator.network(), info, x, seed=3).image
        again = translate(translator.network(), info, x, seed=3).image
        other = translate(translator.network(), info, x, seed=4).image
        alone = translate(translator.network(), info, x[1:2], seed=4).image
        set_inference_mode(translator.network(), "eval")
        eval_a = translate(translator.network(), info, x, seed=1).image
        eval_b = translate(translator.network(), info, x, seed=2).image
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(first[1:2], alone)  # picture i uses seed + i, whatever the batch
    assert torch.equal(eval_a, eval_b) and not torch.equal(eval_a, first)


def test_save_and_export_round_trip(tmp_path: Path):
    translator = create_translator("resnet", dict(input_nc=1, output_nc=1, ngf=4, n_blocks=2, norm="instance"),
                                   kind="cyclegan", domains=("thin", "bold"))
    save_translation(translator, tmp_path / "pair.safetensors")
    with pytest.raises(FileExistsError):
        save_translation(translator, tmp_path / "pair.safetensors")
    loaded = load_translation(tmp_path / "pair.safetensors")
    assert loaded.info.kind == "cyclegan" and loaded.info.domains == ("thin", "bold")
    files = export_junyanz(translator, tmp_path / "checkpoints")
    assert [f.name for f in files] == ["latest_net_G_A.pth", "latest_net_G_B.pth"]
    with pytest.raises(FileExistsError):
        export_junyanz(translator, tmp_path / "checkpoints")
    exported = load_translation(files[1])
    x = torch.rand(1, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        for direction in ("A->B", "B->A"):
            expected = set_inference_mode(translator.networks[direction], "eval")(x)
            assert torch.equal(loaded.network(direction)(x), expected)
            assert torch.equal(exported.network(direction)(x), expected)
    raw = torch.load(files[0], weights_only=True)
    assert type(raw) is OrderedDict and list(raw) == list(translator.networks["A->B"].state_dict())
