"""SPADE (GauGAN) and pix2pixHD: the originals' names and shapes at the released sizes, exact parity
with the original networks (vectors made outside this repository by
/work/ref/make_nvlabs_semantic_refs.py from NVlabs/SPADE and NVIDIA/pix2pixHD on the weights
below), spectral-norm folding, recognition, any-size synthesis, our safetensors."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from translation_reference import fill_weights

from ganforge.models import registry
from ganforge.models.checkpoint import CheckpointError, CheckpointFile
from ganforge.models.translation.pix2pixhd import GlobalGenerator, LocalEnhancer
from ganforge.models.translation.semantic import (
    create_spade,
    load_semantic,
    pix2pixhd_kwargs,
    recognise_semantic,
    save_semantic,
    spade_kwargs,
)
from ganforge.models.translation.spade import ConvEncoder, SPADEGenerator, file_layout, fold_spectral_norm

DATA = Path(__file__).parent / "data"
KEYS = DATA / "nvlabs_translation_keys"

# ----------------------------------------------------------------------------- configurations and weights
#
# name -> the original's options (SPADE: norm_G as its option string; crop_size = width and
# aspect_ratio = width / height, so its latent grid is the input's). Widths are small: parity
# does not depend on them.
SPADE_CONFIGS: dict[str, dict] = {
    "spade_normal_syncbatch": dict(semantic_nc=8, ngf=4, upsampling="normal", norm_G="spectralspadesyncbatch3x3",
                                   size=(32, 64), batch=2, instance=True),
    "spade_more_wide": dict(semantic_nc=10, ngf=4, upsampling="more", norm_G="spectralspadesyncbatch3x3",
                            size=(64, 128), batch=1, instance=True),
    "spade_most": dict(semantic_nc=6, ngf=4, upsampling="most", norm_G="spectralspadebatch3x3", size=(128, 128),
                       batch=1, instance=False),
    "spade_instance": dict(semantic_nc=9, ngf=4, upsampling="normal", norm_G="spectralspadeinstance3x3",
                           size=(64, 64), batch=1, instance=True),
    "spade_plain_batch5x5": dict(semantic_nc=6, ngf=4, upsampling="normal", norm_G="spadebatch5x5", size=(64, 32),
                                 batch=2, instance=False),
    "spade_vae": dict(semantic_nc=7, ngf=4, upsampling="normal", norm_G="spectralspadesyncbatch3x3", size=(32, 64),
                      batch=2, instance=True, use_vae=True, z_dim=256, norm_E="spectralinstance",
                      image_size=(40, 48)),
}
PIX2PIXHD_CONFIGS: dict[str, dict] = {
    "pix2pixhd_global_d3": dict(netG="global", input_nc=6, ngf=4, n_downsample_global=3, n_blocks_global=2,
                                size=(40, 56), batch=2),
    "pix2pixhd_global_d4": dict(netG="global", input_nc=8, ngf=4, n_downsample_global=4, n_blocks_global=3,
                                size=(64, 48), batch=1),
    "pix2pixhd_global_d2": dict(netG="global", input_nc=5, ngf=4, n_downsample_global=2, n_blocks_global=2,
                                size=(28, 36), batch=2),
    "pix2pixhd_local": dict(netG="local", input_nc=7, ngf=4, n_downsample_global=3, n_blocks_global=2,
                            n_local_enhancers=1, n_blocks_local=2, size=(48, 64), batch=1),
    "pix2pixhd_local2": dict(netG="local", input_nc=6, ngf=4, n_downsample_global=2, n_blocks_global=1,
                             n_local_enhancers=2, n_blocks_local=1, size=(32, 48), batch=2),
}
SEMANTICS_SEED = 11
STYLE_SEED = 5  # the VAE config's random style code and picture
STORED_PIXELS = 16384  # outputs larger than this are stored at every other row and column


def spade_network(config: dict) -> SPADEGenerator:
    """Our generator for a SPADE config (on the current default device)."""
    norm = config["norm_G"].replace("spectral", "")
    height, width = config["size"]
    kwargs = dict(semantic_nc=config["semantic_nc"], ngf=config["ngf"], upsampling=config["upsampling"],
                  param_free_norm="instance" if "instance" in norm else "batch", kernel_size=int(norm[-1]),
                  spectral=config["norm_G"].startswith("spectral"))
    if config.get("use_vae"):
        multiple = 2 ** {"normal": 5, "more": 6, "most": 7}[config["upsampling"]]
        kwargs.update(use_vae=True, z_dim=config["z_dim"], latent_cells=(height // multiple) * (width // multiple))
    return SPADEGenerator(**kwargs)


def pix2pixhd_network(config: dict) -> GlobalGenerator | LocalEnhancer:
    common = dict(input_nc=config["input_nc"], output_nc=3, ngf=config["ngf"])
    if config["netG"] == "global":
        return GlobalGenerator(n_downsampling=config["n_downsample_global"], n_blocks=config["n_blocks_global"],
                               **common)
    return LocalEnhancer(n_downsample_global=config["n_downsample_global"], n_blocks_global=config["n_blocks_global"],
                         n_local_enhancers=config["n_local_enhancers"], n_blocks_local=config["n_blocks_local"],
                         **common)


def reference_state(layout: list[tuple[str, tuple[int, ...]]], seed: int = 1234) -> OrderedDict:
    """A file's state for the (key, shape) layout: :func:`fill_weights` values, with each spectral
    norm's u and v brought to the state training leaves (unit vectors after three power
    iterations on ``weight_orig``), so that σ is the weight's largest singular value."""
    zeros = {k: torch.zeros(s, dtype=torch.long if k.endswith("num_batches_tracked") else torch.float32)
             for k, s in layout}
    state = OrderedDict(fill_weights(zeros, seed))
    for key in [k for k in state if k.endswith(".weight_orig")]:
        prefix = key[: -len("_orig")]
        matrix = state[key].reshape(state[key].shape[0], -1)
        u = F.normalize(state[f"{prefix}_u"], dim=0)
        for _ in range(3):
            v = F.normalize(matrix.t() @ u, dim=0)
            u = F.normalize(matrix @ v, dim=0)
        state[f"{prefix}_u"], state[f"{prefix}_v"] = u, v
    return state


def instance_edges(instances: torch.Tensor) -> torch.Tensor:
    """1 where a pixel's instance differs from a 4-neighbour's (both sides of each boundary)."""
    edge = torch.zeros(instances.shape, dtype=torch.bool)
    horizontal = instances[..., :, 1:] != instances[..., :, :-1]
    vertical = instances[..., 1:, :] != instances[..., :-1, :]
    edge[..., :, 1:] |= horizontal
    edge[..., :, :-1] |= horizontal
    edge[..., 1:, :] |= vertical
    edge[..., :-1, :] |= vertical
    return edge.float()


def make_semantics(batch: int, channels: int, size: tuple[int, int], instance: bool,
                   seed: int = SEMANTICS_SEED) -> torch.Tensor:
    """One-hot class regions (8-pixel cells), and instance edges in the last channel if asked."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    classes = channels - int(instance)
    cells = (batch, 1, max(1, height // 8), max(1, width // 8))
    labels = F.interpolate(torch.randint(0, classes, cells, generator=generator).float(), size=size).long()
    semantics = torch.zeros(batch, classes, height, width).scatter_(1, labels, 1.0)
    if instance:
        ids = torch.randint(0, 3, (batch, 1, max(1, height // 4), max(1, width // 4)), generator=generator)
        ids = F.interpolate(ids.float(), size=size).long()
        semantics = torch.cat([semantics, instance_edges(labels * 3 + ids)], 1)
    return semantics


def style_inputs(config: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(picture [1, 3, h, w] in [-1, 1], random style code [1, z_dim]) of the VAE config."""
    generator = torch.Generator().manual_seed(STYLE_SEED)
    picture = torch.rand(1, 3, *config["image_size"], generator=generator) * 2 - 1
    return picture, torch.randn(1, config["z_dim"], generator=generator)


def stored(output: torch.Tensor) -> torch.Tensor:
    """What the reference file keeps of an output (every other pixel of large ones)."""
    return output if output.numel() <= STORED_PIXELS else output[..., ::2, ::2]


# ----------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These networks are tiny: one thread runs them fastest, and on a busy machine a second
    thread's synchronisation made this file ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)



def read_listing(name: str) -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in (KEYS / f"{name}.txt").read_text().splitlines():
        key, rest = line.split(" ", 1)
        rows.append((key, tuple(int(n) for n in rest[rest.index("[") + 1:rest.index("]")].split(",") if n.strip())))
    return rows


def meta_state(rows: list[tuple[str, tuple[int, ...]]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(s, device="meta") for k, s in rows}


def original_file(path: Path, state: dict) -> Path:
    """A file as the originals' save_network writes it: torch.save of a plain state_dict."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(OrderedDict(state), path)
    return path


def state_layout(network: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in network.state_dict().items()]


def file_state(network: torch.nn.Module) -> OrderedDict:
    with torch.device("meta"):
        layout = file_layout(network)
    return reference_state(layout)


def reference(name: str) -> dict:
    with np.load(DATA / f"{name}.npz") as data:
        return {k: data[k] for k in data.files}


def close(ours: torch.Tensor, theirs: np.ndarray) -> float:
    return (ours - torch.from_numpy(theirs)).abs().max().item()


# -------------------------------------------------------------------------------------- names and shapes

LISTINGS = {
    "spade_G_coco": dict(semantic_nc=184),
    "spade_G_ade20k": dict(semantic_nc=151),
    "spade_G_cityscapes": dict(semantic_nc=36, upsampling="more"),
    "spade_G_coco_most": dict(semantic_nc=184, upsampling="most"),
    "spade_G_coco_use_vae": dict(semantic_nc=184, use_vae=True, latent_shape=(8, 8)),
}
DATASETS = {184: "COCO-Stuff", 151: "ADE20K", 36: "Cityscapes"}


@pytest.mark.parametrize("listing", sorted(LISTINGS))
def test_spade_file_keys_match_the_released_configurations(listing: str):
    with torch.device("meta"):
        network = SPADEGenerator(**LISTINGS[listing])
    assert file_layout(network) == read_listing(listing)
    kwargs = spade_kwargs(meta_state(read_listing(listing)))
    expected = {**dict(ngf=64, upsampling="normal", use_vae=False, param_free_norm="batch", kernel_size=3,
                       spectral=True), **LISTINGS[listing]}
    if expected["use_vae"]:
        expected.update(latent_cells=64, z_dim=256)
        del expected["latent_shape"]
    assert kwargs == expected
    found = recognise_semantic(CheckpointFile("torch-zip", meta_state(read_listing(listing)), {}), "latest_net_G.pth")
    assert (found.architecture, found.role, found.config["layout"]["dataset"]) == \
        ("spade", "generator", DATASETS[kwargs["semantic_nc"]])


def test_spade_encoder_keys_match_the_released_configuration():
    with torch.device("meta"):
        encoder = ConvEncoder(ndf=64)
    assert file_layout(encoder) == read_listing("spade_E_convencoder_crop256")
    found = recognise_semantic(CheckpointFile("torch-zip", meta_state(read_listing("spade_E_convencoder_crop256")),
                                              {}), "latest_net_E.pth")
    assert (found.architecture, found.role, found.config) == \
        ("spade-encoder", "encoder", dict(ndf=64, z_dim=256, norm="instance", spectral=True))
    assert "style encoder" in found.hint and "net_G" in found.hint


@pytest.mark.parametrize("listing, architecture, kwargs", [
    ("pix2pixHD_label2city_1024p_local_ngf32", "pix2pixhd-local",
     dict(input_nc=36, output_nc=3, ngf=32, n_downsample_global=4, n_blocks_global=9, n_local_enhancers=1,
          n_blocks_local=3, norm="instance")),
    ("pix2pixHD_label2city_512p_global_ngf64", "pix2pixhd-global",
     dict(input_nc=36, output_nc=3, ngf=64, n_downsampling=4, n_blocks=9, norm="instance")),
])
def test_pix2pixhd_keys_match_the_released_configurations(listing: str, architecture: str, kwargs: dict):
    factory = LocalEnhancer if architecture == "pix2pixhd-local" else GlobalGenerator
    with torch.device("meta"):
        network = factory(**kwargs)
    assert [(k, tuple(v.shape)) for k, v in network.state_dict().items()] == read_listing(listing)
    assert pix2pixhd_kwargs(meta_state(read_listing(listing))) == (architecture, kwargs)
    found = recognise_semantic(CheckpointFile("torch-zip", meta_state(read_listing(listing)), {}), "latest_net_G.pth")
    assert found.architecture == architecture and found.config["layout"] == \
        dict(label_nc=35, contain_dontcare=False, use_instance=True, dataset="Cityscapes")


# ------------------------------------------------------------------------------------------------ parity


def test_folding_is_torch_spectral_norm_in_eval_mode():
    """σ from the stored u and v, no power iteration: the weight eval-mode spectral norm uses."""
    torch.manual_seed(0)
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(6, 5, 3))
    conv.train()
    conv(torch.randn(1, 6, 8, 8))  # one power iteration moves u and v off their start
    state = conv.state_dict()
    conv.eval()
    x = torch.randn(2, 6, 9, 9)
    with torch.no_grad():
        expected = conv(x)
    folded = fold_spectral_norm(state)
    assert list(folded) == ["bias", "weight"]
    assert torch.equal(folded["weight"], conv.weight)
    plain = torch.nn.Conv2d(6, 5, 3)
    plain.load_state_dict(folded)
    with torch.no_grad():
        assert torch.equal(plain(x), expected)
    # torch 0.4 files: weight_orig, weight_u and the computed weight, no weight_v
    old = {"bias": state["bias"], "weight_orig": state["weight_orig"], "weight_u": state["weight_u"],
           "weight": conv.weight.detach().clone()}
    assert (fold_spectral_norm(old)["weight"] - conv.weight).abs().max().item() <= 1e-6


@pytest.mark.parametrize("name", sorted(SPADE_CONFIGS))
def test_spade_parity_with_the_original(name: str, tmp_path: Path):
    """Files in the original layout (spectral u, v and BN statistics included) load and reproduce
    the original SPADE generator's eval-mode outputs (and for the VAE its encoder's)."""
    config, expected = SPADE_CONFIGS[name], reference(f"{name}")
    state = file_state(spade_network(config))
    assert list(state) == list(expected["keys"])  # the original's names and order
    path = original_file(tmp_path / "run" / "latest_net_G.pth", state)
    if config.get("use_vae"):
        with torch.device("meta"):
            encoder_layout = file_layout(ConvEncoder(ndf=config["ngf"]))
        encoder_state = reference_state(encoder_layout)
        assert list(encoder_state) == list(expected["encoder_keys"])
        original_file(path.with_name("latest_net_E.pth"), encoder_state)
    model = load_semantic(path, upsampling=config["upsampling"])
    semantics = make_semantics(config["batch"], config["semantic_nc"], config["size"], config["instance"])
    assert torch.equal(semantics, torch.from_numpy(expected["semantics"]))
    if config.get("use_vae"):
        assert model.encoder is not None and any("beside the generator" in n for n in model.info.notes)
        picture, random_code = style_inputs(config)
        mu, logvar = model.encode_style(picture)
        assert close(mu, expected["mu"]) <= 1e-5 and close(logvar, expected["logvar"]) <= 1e-5
        out = model.synthesize(semantics, torch.cat([torch.from_numpy(expected["mu"]), random_code]))
    else:
        out = model.synthesize(semantics)
    assert out.shape == (config["batch"], 3, *config["size"])
    assert close(stored(out), expected["out"]) <= 1e-5


@pytest.mark.parametrize("name", sorted(PIX2PIXHD_CONFIGS))
def test_pix2pixhd_parity_with_the_original(name: str, tmp_path: Path):
    config, expected = PIX2PIXHD_CONFIGS[name], reference(name)
    state = reference_state(state_layout(pix2pixhd_network(config)))
    assert list(state) == list(expected["keys"])
    semantics = make_semantics(config["batch"], config["input_nc"], config["size"], True)
    assert torch.equal(semantics, torch.from_numpy(expected["semantics"]))
    path = original_file(tmp_path / "latest_net_G.pth", state)
    if config["n_downsample_global"] == 2 and config["netG"] == "global":
        # two downsamplings: junyanz's instance-norm ResNet to the key, which that family claims and loads
        from ganforge.models.translation import load_translation, set_inference_mode

        assert recognise_semantic(registry.read_checkpoint(path, ""), path.name) is None
        with torch.no_grad():
            out = set_inference_mode(load_translation(path).network(), "eval")(semantics)
    else:
        model = load_semantic(path)
        assert model.info.architecture == f"pix2pixhd-{config['netG']}"
        out = model.synthesize(semantics)
    assert close(stored(out), expected["out"]) <= 1e-5


def test_old_pix2pixhd_files_with_instance_norm_statistics_load(tmp_path: Path):
    network = pix2pixhd_network(PIX2PIXHD_CONFIGS["pix2pixhd_local"])
    legacy = reference_state(state_layout(network))
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.InstanceNorm2d):
            legacy[f"{name}.running_mean"] = torch.randn(module.num_features)
            legacy[f"{name}.running_var"] = torch.rand(module.num_features) + 0.5
    model = load_semantic(original_file(tmp_path / "latest_net_G.pth", legacy))
    expected = reference("pix2pixhd_local")
    assert close(stored(model.synthesize(torch.from_numpy(expected["semantics"]))), expected["out"]) <= 1e-5
    # any size: padded to the multiple (here 16, and twice that at least), cropped back
    assert model.info.size_multiple == 16
    assert model.synthesize(make_semantics(2, 7, (33, 20), True)).shape == (2, 3, 33, 20)
    assert model.synthesize(make_semantics(1, 7, (9, 9), True)).shape == (1, 3, 9, 9)


# ---------------------------------------------------------------------------------------------- any size


@pytest.fixture(scope="module")
def spade_path(tmp_path_factory) -> Path:
    name = "spade_normal_syncbatch"  # 8 channels, normal upsampling: multiples of 32
    return original_file(tmp_path_factory.mktemp("spade") / "latest_net_G.pth",
                         file_state(spade_network(SPADE_CONFIGS[name])))


@pytest.fixture(scope="module")
def spade_model(spade_path: Path):
    return load_semantic(spade_path)


def test_any_size_is_padded_by_edge_replication_and_cropped_back(spade_model):
    semantics = make_semantics(1, 8, (45, 70), True)
    out = spade_model.synthesize(semantics)
    assert out.shape == (1, 3, 45, 70)
    padded = F.pad(semantics, (0, 96 - 70, 0, 64 - 45), mode="replicate")
    with torch.no_grad():
        assert torch.equal(out, spade_model.network(padded)[..., :45, :70])
    assert spade_model.synthesize(make_semantics(1, 8, (5, 3), True)).shape == (1, 3, 5, 3)


def test_training_path_matches_the_inference_path(spade_model):
    """With gradients on, the plain operations (the original's, to the bit); without, the in-place
    and channels-last ones: within 1e-5."""
    semantics = make_semantics(1, 8, (64, 64), True)
    with torch.no_grad():
        fast = spade_model.network(semantics)
    plain = spade_model.network(semantics.requires_grad_())
    assert plain.requires_grad and (fast - plain.detach()).abs().max().item() <= 1e-5


def test_the_vae_grid_follows_the_file_and_the_aspect(tmp_path: Path):
    config = SPADE_CONFIGS["spade_vae"]  # 2 latent cells: 1×2 for landscape maps, 2×1 for portrait ones
    model = load_semantic(original_file(tmp_path / "latest_net_G.pth", file_state(spade_network(config))))
    assert model.encoder is None and any("no style encoder" in n for n in model.info.notes)
    assert model.synthesize(make_semantics(2, 7, (30, 60), True), seed=3).shape == (2, 3, 30, 60)
    assert model.synthesize(make_semantics(1, 7, (64, 20), True), seed=3).shape == (1, 3, 64, 20)
    first = model.synthesize(make_semantics(2, 7, (32, 64), True), seed=3)
    assert torch.equal(first, model.synthesize(make_semantics(2, 7, (32, 64), True), z=model.random_z(2, 3)))
    with pytest.raises(ValueError, match=r"paints 32×64 pictures .* at most 32×64"):
        model.synthesize(make_semantics(1, 7, (40, 64), True))
    with pytest.raises(ValueError, match="no style encoder"):
        model.encode_style(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"style code must be \[2, 256\]"):
        model.synthesize(make_semantics(2, 7, (32, 64), True), z=torch.zeros(2, 16))


def test_wrong_inputs_are_refused_with_the_layout(spade_model, spade_path: Path):
    with pytest.raises(ValueError, match=r"\[N, 8, H, W\] with 8 semantic channels \(8 classes\); got .*\[1, 3, 32"):
        spade_model.synthesize(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="no style code"):
        spade_model.synthesize(torch.zeros(1, 8, 32, 32), z=torch.zeros(1, 256))
    with pytest.raises(ValueError, match="makes 9 channels; the network takes 8"):
        load_semantic(spade_path, layout=dict(label_nc=8, use_instance=True))
    with pytest.raises(ValueError, match="has no up_4 block"):
        load_semantic(spade_path, upsampling="most")
    laid = load_semantic(spade_path, layout=dict(label_nc=6, contain_dontcare=True, use_instance=True))
    assert laid.info.layout_text() == "8 semantic channels (6 classes + don't-care + instance edges)"
    more = load_semantic(spade_path, upsampling="more")
    assert more.info.size_multiple == 64 and more.synthesize(torch.zeros(1, 8, 64, 64)).shape == (1, 3, 64, 64)
    assert "'normal' and 'more' upsampling have the same weights" in " ".join(spade_model.info.notes)


def test_released_channel_counts_take_their_dataset_layout():
    for semantic_nc, (upsampling, text) in {
            184: ("normal", "COCO-Stuff layout: 182 classes + don't-care + instance edges"),
            151: ("normal", "ADE20K layout: 150 classes + don't-care"),
            36: ("more", "Cityscapes layout: 35 classes + instance edges")}.items():
        with torch.device("meta"):
            state = SPADEGenerator(semantic_nc, ngf=2).state_dict()
        found = recognise_semantic(CheckpointFile("torch-zip", state, {}), "latest_net_G.pth")
        assert found.config["upsampling"] == upsampling and text in found.summary


# ------------------------------------------------------------------------------------------- recognition


def test_discriminators_and_encoders_are_named_not_loaded(tmp_path: Path, spade_path: Path):
    spade_d = original_file(tmp_path / "spade" / "latest_net_D.pth", {
        "discriminator_0.model0.0.weight": torch.zeros(8, 11, 4, 4), "discriminator_0.model0.0.bias": torch.zeros(8),
        "discriminator_0.model1.0.0.weight_orig": torch.zeros(16, 8, 4, 4)})
    hd_d = original_file(tmp_path / "hd" / "latest_net_D.pth", {
        "scale0_layer0.0.weight": torch.zeros(8, 39, 4, 4), "scale0_layer0.0.bias": torch.zeros(8),
        "scale1_layer4.0.weight": torch.zeros(1, 64, 4, 4)})
    for path, architecture in ((spade_d, "spade-discriminator"), (hd_d, "pix2pixhd-discriminator")):
        found = recognise_semantic(registry.read_checkpoint(path, ""), path.name)
        assert (found.architecture, found.role) == (architecture, "discriminator")
        with pytest.raises(CheckpointError, match=r"discriminator.*_net_G\.pth"):
            load_semantic(path)
    encoder = original_file(tmp_path / "latest_net_E.pth", file_state(ConvEncoder(ndf=4)))
    with pytest.raises(CheckpointError, match="style encoder of a SPADE VAE model"):
        load_semantic(encoder)
    with pytest.raises(CheckpointError, match="not a SPADE VAE generator"):
        load_semantic(spade_path, encoder_path=encoder)
    spade_hd = meta_state(read_listing("spade_repo_Pix2PixHDGenerator_cityscapes"))
    found = recognise_semantic(CheckpointFile("torch-zip", spade_hd, {}), "latest_net_G.pth")
    assert (found.architecture, found.loadable) == ("spade-pix2pixhd", False)
    feature_encoder = GlobalGenerator(3, 3, ngf=4, n_downsampling=2, n_blocks=0)  # pix2pixHD's net_E layout
    found = recognise_semantic(CheckpointFile("torch-zip", feature_encoder.state_dict(), {}), "latest_net_E.pth")
    assert (found.architecture, found.role, found.loadable) == ("pix2pixhd-encoder", "encoder", False)


def test_junyanz_and_other_files_are_not_claimed():
    from ganforge.models.translation.networks import ResnetGenerator, UnetGenerator

    with torch.device("meta"):
        networks = (ResnetGenerator(n_blocks=3), ResnetGenerator(norm="batch"), ResnetGenerator(use_dropout=True),
                    UnetGenerator(num_downs=5))
    for network in networks:
        assert recognise_semantic(CheckpointFile("torch-zip", network.state_dict(), {}), "latest_net_G.pth") is None
    other = CheckpointFile("torch-zip", {"model.1.weight": torch.zeros(4, 3, 7, 7)}, {})
    assert recognise_semantic(other, "x.pth") is None
    stylegan = DATA / "stylegan2_skip.safetensors"
    assert recognise_semantic(registry.read_checkpoint(stylegan, ""), stylegan.name) is None
    with pytest.raises(CheckpointError, match="stylegan2 generator"):
        load_semantic(stylegan)


def test_safetensors_round_trip(spade_model, tmp_path: Path):
    save_semantic(spade_model, tmp_path / "spade.safetensors")
    with pytest.raises(FileExistsError):
        save_semantic(spade_model, tmp_path / "spade.safetensors")
    found = recognise_semantic(registry.read_checkpoint(tmp_path / "spade.safetensors", ""), "spade.safetensors")
    assert (found.architecture, found.config["layout"]["label_nc"]) == ("spade", 8)
    loaded = load_semantic(tmp_path / "spade.safetensors")
    assert loaded.info.source == "GANForge" and loaded.info.kwargs == spade_model.info.kwargs
    assert loaded.info.layout_text() == spade_model.info.layout_text()
    semantics = make_semantics(1, 8, (32, 32), True)
    assert torch.equal(loaded.synthesize(semantics), spade_model.synthesize(semantics))
    vae = create_spade(dict(semantic_nc=5, ngf=2, use_vae=True, z_dim=8, latent_shape=(1, 2)),
                       layout=dict(label_nc=4, use_instance=True, dataset="toy"), encoder=True, seed=0)
    save_semantic(vae, tmp_path / "vae.safetensors")
    again = load_semantic(tmp_path / "vae.safetensors")
    assert again.encoder is not None and again.info.dataset == "toy" and again.info.encoder_kwargs["ndf"] == 2
    picture = torch.rand(1, 3, 30, 50) * 2 - 1
    assert torch.equal(again.encode_style(picture)[0], vae.encode_style(picture)[0])
    z = vae.sample_style(*vae.encode_style(picture), seed=1)
    assert torch.equal(again.synthesize(torch.zeros(1, 5, 32, 64), z), vae.synthesize(torch.zeros(1, 5, 32, 64), z))
    metadata = json.loads(registry.read_checkpoint(tmp_path / "vae.safetensors", "").metadata["ganforge.kwargs"])
    assert metadata["kwargs"]["latent_shape"] == [1, 2] and metadata["upsampling"] == "normal"
