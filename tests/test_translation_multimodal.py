"""MUNIT / FUNIT: NVlabs names and shapes, parity with the original networks, the original's file
layouts (gen / dis / optimizer, PyTorch-0.3 files), recognition, our safetensors, input checks.

The vectors in ``tests/data/{munit,funit}_*.npz`` were made by the original NVlabs networks.py
(run outside this repository by make_nvlabs_multimodal_refs.py) filled by
``translation_reference.fill_weights`` (LayerNorm gammas + 1); each holds its configuration, the
input pixels, the codes, the outputs of the original's one-style-per-call decoding and its key order.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from translation_reference import fill_weights

from ganforge.models.checkpoint import CheckpointError, CheckpointFile, read_checkpoint
from ganforge.models.translation.multimodal import (
    FunitModel,
    MultimodalInfo,
    MunitModel,
    create_funit,
    create_munit,
    funit_kwargs,
    load_funit,
    load_munit,
    munit_kwargs,
    recognise_multimodal,
    save_multimodal,
)
from ganforge.models.translation.munit import AdaINGen, Conv2dBlock, FewShotGen, MsImageDis

DATA = Path(__file__).parent / "data"
LISTINGS = DATA / "nvlabs_translation_keys"
TOL = 1e-5
MUNIT_CONFIGS = ("munit_small", "munit_deep", "munit_zero_lrelu")


def read_listing(name: str) -> list[tuple[str, list[int]]]:
    rows = []
    for line in (LISTINGS / f"{name}.txt").read_text().splitlines():
        key, rest = line.split(" ", 1)
        rows.append((key, [int(n) for n in rest[rest.index("[") + 1:rest.index("]")].split(",") if n.strip()]))
    return rows


def reference(name: str) -> tuple[dict, dict]:
    data = np.load(DATA / f"{name}.npz")
    return json.loads(str(data["config"])), {key: data[key] for key in data.files}


def pictures(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u8).to(torch.float32) / 127.5 - 1


def weights(network: torch.nn.Module, seed: int) -> OrderedDict:
    """The script's weights: fill_weights by key name, LayerNorm gammas around 1."""
    state = fill_weights(network.state_dict(), seed)
    return OrderedDict((k, v + 1 if k.endswith(".gamma") else v) for k, v in state.items())


def munit_generators(config: dict) -> dict[str, AdaINGen]:
    gens = {}
    for domain in "ab":
        network = AdaINGen(input_dim=config[f"input_dim_{domain}"], **config["gen"])
        network.load_state_dict(weights(network, config["seeds"][domain]))
        gens[domain] = network.eval().requires_grad_(False)
    return gens


def munit_file(tmp_path: Path, config: dict, name: str = "gen_00001000.pt", legacy: bool = False,
               pytorch03: bool = False) -> Path:
    """A gen_*.pt as MUNIT's trainer.save writes it ({'a': ..., 'b': ...} of OrderedDicts); with
    ``pytorch03`` the content encoder's InstanceNorm statistics a PyTorch-0.3 file carries."""
    content = {}
    for domain, network in munit_generators(config).items():
        state = network.state_dict()
        if pytorch03:
            extra = OrderedDict()
            for key, value in state.items():
                if key.startswith("enc_content.") and key.endswith(".conv.weight"):
                    prefix = key[:-len("conv.weight")] + "norm."
                    extra[prefix + "running_mean"] = torch.full((value.shape[0],), 0.3)
                    extra[prefix + "running_var"] = torch.full((value.shape[0],), 2.0)
            state = OrderedDict({**extra, **state})
        content[domain] = state
    path = tmp_path / name
    torch.save(content, path, _use_new_zipfile_serialization=not legacy)
    return path


def funit_file(tmp_path: Path, config: dict, keys: tuple[str, ...] = ("gen", "gen_test"),
               name: str = "gen_00001000.pt") -> Path:
    content = {}
    for key in keys:
        network = FewShotGen(**config["gen"])
        content[key] = weights(network, config["seeds"][key])
    path = tmp_path / name
    torch.save(content, path)
    return path


def max_diff(ours: torch.Tensor, theirs: np.ndarray) -> float:
    return (ours - torch.from_numpy(theirs)).abs().max().item()


# ------------------------------------------------------------------------------------------ names and shapes


def test_names_and_shapes_match_the_released_configurations():
    with torch.device("meta"):
        munit, funit = AdaINGen(), FewShotGen()
    for network, listing in ((munit, "munit_AdaINGen_edges2shoes"), (funit, "funit_FewShotGen_animals")):
        assert [(k, list(v.shape)) for k, v in network.state_dict().items()] == read_listing(listing)


def test_the_released_configurations_are_read_off_the_keys():
    def meta(listing: str) -> dict[str, torch.Tensor]:
        return {key: torch.empty(shape, device="meta") for key, shape in read_listing(listing)}

    assert munit_kwargs(meta("munit_AdaINGen_edges2shoes")) == dict(
        input_dim=3, dim=64, style_dim=8, n_downsample=2, n_res=4, activ="relu", pad_type="reflect", mlp_dim=256,
        n_mlp=3)
    assert funit_kwargs(meta("funit_FewShotGen_animals")) == dict(
        nf=64, nf_mlp=256, latent_dim=64, n_mlp_blks=3, n_res_blks=2, n_downs_content=3, n_downs_class=4)
    found = recognise_multimodal(CheckpointFile("torch-zip", {"dis": meta("funit_GPPatchMcResDis_animals")}, {}),
                                 "dis_00100000.pt")
    assert (found.architecture, found.role) == ("funit", "discriminator")
    assert "gen_00100000.pt" in found.hint
    with pytest.raises(CheckpointError, match="FUNIT"):
        munit_kwargs(meta("funit_FewShotGen_animals"))
    with pytest.raises(CheckpointError, match="MUNIT"):
        funit_kwargs(meta("munit_AdaINGen_edges2shoes"))


@pytest.mark.parametrize("name", MUNIT_CONFIGS)
def test_key_order_is_the_originals(name: str):
    config, ref = reference(name)
    gens = munit_generators(config)
    assert list(gens["a"].state_dict()) == list(ref["keys_a"])
    assert list(gens["b"].state_dict()) == list(ref["keys_b"])
    if "dis" in config:
        dis = MsImageDis(config["input_dim_a"], **config["dis"])
        assert list(dis.state_dict()) == list(ref["dis_keys"])


# ------------------------------------------------------------------------------------------ parity


def check_munit_parity(model: MunitModel, config: dict, ref: dict) -> dict[str, float]:
    worst = {"content": 0.0, "style": 0.0, "decode": 0.0}
    with torch.no_grad():
        for size in range(len(config["sizes"])):
            for domain in "ab":
                x = pictures(ref[f"x_{domain}_{size}"])
                worst["content"] = max(worst["content"], max_diff(model.encode_content(domain.upper(), x),
                                                                  ref[f"content_{domain}_{size}"]))
                worst["style"] = max(worst["style"], max_diff(model.encode_style(domain.upper(), x),
                                                              ref[f"style_{domain}_{size}"]))
            for source, target in ("ab", "ba"):
                # one call for the batch; the original decoded one style per call
                y = model.decode(target.upper(), torch.from_numpy(ref[f"content_{source}_{size}"]),
                                 torch.from_numpy(ref[f"style_{target}_{size}"]))
                worst["decode"] = max(worst["decode"], max_diff(y, ref[f"{source}2{target}_{size}"]))
        styles = model.random_style(config["n_random"], config["style_seed"])
        assert styles.shape == (config["n_random"], config["gen"]["style_dim"], 1, 1)
        y = model.decode("B", torch.from_numpy(ref["content_a_0"][:1]), styles)  # one content, every style
        worst["random"] = max_diff(y, ref["a2b_random"])
    return worst


@pytest.mark.parametrize(("name", "variant"), [("munit_small", "zip"), ("munit_small", "legacy-format"),
                                               ("munit_small", "pytorch03"), ("munit_deep", "pytorch03")])
def test_munit_files_reproduce_the_original(name: str, variant: str, tmp_path: Path):
    config, ref = reference(name)
    path = munit_file(tmp_path, config, legacy=variant == "legacy-format", pytorch03=variant == "pytorch03")
    model = load_munit(path)
    assert model.info.kwargs == {"input_dim": config["input_dim_a"], **config["gen"], "n_mlp": 3}
    assert model.info.channels == {"A": config["input_dim_a"], "B": config["input_dim_b"]}
    assert bool(model.info.notes) == (variant == "pytorch03")
    worst = check_munit_parity(model, config, ref)
    assert max(worst.values()) <= TOL, worst
    assert all(not p.requires_grad for g in model.generators.values() for p in g.parameters())
    assert not any(g.training for g in model.generators.values())


def test_munit_zero_padding_and_leaky_relu_match_the_original():
    """Settings no file shows (the networks themselves, built with them)."""
    config, ref = reference("munit_zero_lrelu")
    gens = munit_generators(config)
    info = MultimodalInfo("munit", {"input_dim": 3, **config["gen"], "n_mlp": 3}, channels={"A": 3, "B": 3})
    worst = check_munit_parity(MunitModel({"A": gens["a"], "B": gens["b"]}, info), config, ref)
    assert max(worst.values()) <= TOL, worst


def test_munit_discriminator_matches_the_original():
    config, ref = reference("munit_small")
    dis = MsImageDis(config["input_dim_a"], **config["dis"])
    dis.load_state_dict(fill_weights(dis.state_dict(), config["seeds"]["dis"] + ord("a")))
    with torch.no_grad():
        outputs = dis(pictures(ref["dis_x"]))
    assert len(outputs) == config["dis"]["num_scales"]
    for i, output in enumerate(outputs):
        assert max_diff(output, ref[f"dis_out_{i}"]) <= TOL


def test_funit_file_reproduces_the_original(tmp_path: Path):
    config, ref = reference("funit_small")
    model = load_funit(funit_file(tmp_path, config))
    assert model.info.kwargs == config["gen"] and not model.info.notes
    content_pictures, class_pictures = pictures(ref["x_content"]), pictures(ref["x_class"])
    with torch.no_grad():
        content = model.encode_content(content_pictures)
        codes = model.encode_class(class_pictures)
        code = model.class_code(class_pictures)
        y = model.decode(content, code)  # one class code for the batch; the original decoded one by one
    assert code.shape == (1, config["gen"]["latent_dim"], 1, 1)
    for ours, theirs in ((content, "content"), (codes, "class_codes"), (code, "class_code"), (y, "output")):
        assert max_diff(ours, ref[theirs]) <= TOL, theirs


def test_funit_without_gen_test_uses_gen_with_a_note(tmp_path: Path):
    config, ref = reference("funit_small")
    model = load_funit(funit_file(tmp_path, config, keys=("gen",)))
    assert any("gen_test" in note for note in model.info.notes)
    with torch.no_grad():
        assert max_diff(model.encode_class(pictures(ref["x_class"])), ref["class_codes_gen"]) <= TOL


# ------------------------------------------------------------------------------------------ file details


def test_pytorch03_statistics_are_dropped_and_dummy_buffers_ignored(tmp_path: Path):
    config, ref = reference("munit_small")
    plain = load_munit(munit_file(tmp_path, config))
    old = load_munit(munit_file(tmp_path, config, name="edges2shoes.pt", pytorch03=True))
    assert not any(".norm.running" in k for k in old.generators["A"].state_dict() if k.startswith("enc_content."))
    # the dummy AdaIN buffers: any values, or none at all, give the same pictures
    content = torch.load(munit_file(tmp_path, config, name="gen_00002000.pt"), weights_only=True)
    for domain, state in content.items():
        for key in list(state):
            if key.startswith("dec.model.0.") and key.endswith("running_mean"):
                state[key] = torch.full_like(state[key], 1e6)
            elif key.startswith("dec.model.0.") and key.endswith("running_var") and domain == "b":
                del state[key]
            elif key.endswith("running_var"):
                state[key] = torch.full_like(state[key], -5.0)
    torch.save(content, tmp_path / "gen_odd.pt")
    odd = load_munit(tmp_path / "gen_odd.pt")
    x = pictures(ref["x_a_0"])
    with torch.no_grad():
        outputs = [m.decode("B", m.encode_content("A", x), m.encode_style("B", pictures(ref["x_b_0"])))
                   for m in (plain, old, odd)]
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])


def test_recognition_of_generator_discriminator_and_optimizer_files(tmp_path: Path):
    config, _ = reference("munit_small")
    gens = munit_generators(config)
    dis = {d: MsImageDis(config["input_dim_a"], **config["dis"]) for d in "ab"}
    torch.save({d: n.state_dict() for d, n in dis.items()}, tmp_path / "dis_00001000.pt")
    optimizers = {"gen": torch.optim.Adam([p for g in gens.values() for p in g.parameters()], betas=(0.5, 0.999)),
                  "dis": torch.optim.Adam([p for n in dis.values() for p in n.parameters()], betas=(0.5, 0.999))}
    torch.save({k: o.state_dict() for k, o in optimizers.items()}, tmp_path / "optimizer.pt")
    funit_config, _ = reference("funit_small")
    funit_dir = tmp_path / "funit"
    funit_dir.mkdir()
    funit_gen = funit_file(funit_dir, funit_config)
    rms = {k: torch.optim.RMSprop(FewShotGen(**funit_config["gen"]).parameters()) for k in ("gen", "dis")}
    torch.save({k: o.state_dict() for k, o in rms.items()}, funit_dir / "optimizer.pt")

    def recognise(path: Path):
        return recognise_multimodal(read_checkpoint(path, "a test file"), path.name)

    found = recognise(munit_file(tmp_path, config))
    assert (found.family, found.architecture, found.folder, found.role) == ("translation", "munit", "translation",
                                                                            "generator")
    assert found.config["style_dim"] == 8 and "MUNIT" in found.summary
    found = recognise(tmp_path / "dis_00001000.pt")
    assert (found.architecture, found.role) == ("munit", "discriminator") and "gen_00001000.pt" in found.hint
    assert found.config == {"input_dim": 3, "dim": 4, "n_layer": 4, "num_scales": 3}
    found = recognise(tmp_path / "optimizer.pt")
    assert (found.architecture, found.role) == ("munit", "optimizer") and "gen_" in found.hint
    found = recognise(funit_gen)
    assert (found.architecture, found.role) == ("funit", "generator") and found.config == funit_config["gen"]
    found = recognise(funit_dir / "optimizer.pt")
    assert (found.architecture, found.role) == ("funit", "optimizer")
    torch.save(OrderedDict(x=torch.zeros(2)), tmp_path / "other.pth")
    assert recognise(tmp_path / "other.pth") is None

    for loader, path, words in ((load_munit, tmp_path / "dis_00001000.pt", "gen_00001000.pt"),
                                (load_munit, tmp_path / "optimizer.pt", "only resumes training"),
                                (load_munit, funit_gen, "FUNIT"),
                                (load_funit, munit_file(tmp_path, config, name="gen_2.pt"), "MUNIT")):
        with pytest.raises(CheckpointError, match=words):
            loader(path)


def test_our_safetensors_round_trip(tmp_path: Path):
    config, ref = reference("munit_deep")
    model = load_munit(munit_file(tmp_path, config))
    model.info.domains = ("sketch", "photo")
    save_multimodal(model, tmp_path / "munit.safetensors")
    with pytest.raises(FileExistsError):
        save_multimodal(model, tmp_path / "munit.safetensors")
    found = recognise_multimodal(read_checkpoint(tmp_path / "munit.safetensors", "x"), "munit.safetensors")
    assert (found.architecture, found.role) == ("munit", "generator") and "GANForge" in found.summary
    again = load_munit(tmp_path / "munit.safetensors")
    assert again.info.source == "GANForge" and again.info.domains == ("sketch", "photo")
    assert again.info.channels == {"A": 1, "B": 3}
    x = pictures(ref["x_a_0"])
    with torch.no_grad():
        style = model.random_style(2, 5)
        assert torch.equal(model.decode("photo", model.encode_content("sketch", x), style),
                           again.decode("B", again.encode_content("A", x), style))

    funit_config, _ = reference("funit_small")
    funit = load_funit(funit_file(tmp_path, funit_config))
    save_multimodal(funit, tmp_path / "funit.safetensors")
    funit_again = load_funit(tmp_path / "funit.safetensors")
    assert funit_again.info.kwargs == funit_config["gen"] and funit_again.info.source == "GANForge"
    for a, b in zip(funit.generator.state_dict().values(), funit_again.generator.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="FUNIT"):
        load_munit(tmp_path / "funit.safetensors")


def test_new_models_are_initialised_like_the_original_and_train():
    torch.manual_seed(0)
    model = create_munit(dict(dim=4, style_dim=3, n_downsample=2, n_res=1, mlp_dim=8, input_dim_b=1),
                         domains=("day", "night"))
    assert model.info.channels == {"A": 3, "B": 1} and model.info.source == "GANForge"
    conv = model.generators["A"].enc_content.model[2].conv
    assert torch.all(conv.bias == 0)
    expected = (2 / conv.weight[0].numel()) ** 0.5  # kaiming, fan_in, ReLU gain
    assert abs(conv.weight.std().item() / expected - 1) < 0.15
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    y = model.decode("night", model.encode_content("day", x), model.random_style(2, 0))
    assert y.shape == (2, 1, 16, 16) and y.requires_grad
    y.mean().backward()
    assert model.generators["B"].mlp.model[0].fc.weight.grad is not None
    funit = create_funit(dict(nf=4, nf_mlp=8, latent_dim=3, n_res_blks=1, n_downs_content=2, n_downs_class=2))
    assert isinstance(funit, FunitModel) and funit.info.size_multiple == 4


def test_inputs_are_checked(tmp_path: Path):
    config, _ = reference("munit_small")
    model = load_munit(munit_file(tmp_path, config))
    assert model.info.size_multiple == 4 and model.info.content_channels == 32 and model.info.style_dim == 8
    with torch.no_grad():
        with pytest.raises(ValueError, match="multiples of 4"):
            model.encode_content("A", torch.zeros(1, 3, 30, 32))
        with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
            model.encode_content("A", torch.zeros(1, 1, 32, 32))
        content = model.encode_content("A", torch.zeros(2, 3, 32, 32))
        assert model.encode_style("B", torch.zeros(1, 3, 30, 34)).shape == (1, 8, 1, 1)  # any size
        with pytest.raises(ValueError, match=r"\[N, 8, 1, 1\]"):
            model.decode("B", content, torch.zeros(2, 4, 1, 1))
        with pytest.raises(ValueError, match="as many"):
            model.decode("B", content, torch.zeros(3, 8, 1, 1))
        with pytest.raises(ValueError, match="no domain"):
            model.encode_style("C", torch.zeros(1, 3, 32, 32))
        funit = load_funit(funit_file(tmp_path, reference("funit_small")[0]))
        with pytest.raises(ValueError, match="multiples of 8"):
            funit.encode_content(torch.zeros(1, 3, 60, 64))
        with pytest.raises(ValueError, match=r"\[N, 8, 1, 1\]"):
            funit.decode(funit.encode_content(torch.zeros(1, 3, 64, 64)), torch.zeros(1, 3, 1, 1))
    assert "sides multiples of 4" in model.info.describe("gen.pt")


# ------------------------------------------------------------------------------------------ folded upsampling


@pytest.mark.parametrize("pad_type", ["reflect", "zero"])
@pytest.mark.parametrize("norm", ["ln", "in", "none"])
def test_folded_upsampling_equals_upsampling_then_convolving(pad_type: str, norm: str):
    """Inference runs nearest ×2 + the 5×5 convolution as folded 3×3 kernels of the small picture
    (the reflected border lines apart): the plain path's outputs, odd and even sides, a batch."""
    torch.manual_seed(0)
    block = Conv2dBlock(6, 5, 5, 1, 2, norm, "relu" if norm != "none" else "none", pad_type)
    torch.nn.init.normal_(block.conv.bias)
    if norm == "ln":
        torch.nn.init.normal_(block.norm.beta)
    upsample = torch.nn.Upsample(scale_factor=2, mode="nearest")
    for height, width in ((2, 2), (2, 3), (3, 2), (5, 7), (8, 6), (9, 4)):
        x = torch.randn(3, 6, height, width)
        with torch.no_grad():
            plain = block(upsample(x))
            folded = block.forward_upsampled(x)
        assert folded is not None and folded.shape == plain.shape == (3, 5, 2 * height, 2 * width)
        assert (folded - plain).abs().max() <= 1e-5 * plain.abs().max(), (height, width)
    # training keeps the plain path (no folded kernels in the graph), and a side of 1 cannot reflect
    assert block.forward_upsampled(x) is None
    with torch.no_grad():
        assert (block.forward_upsampled(torch.randn(1, 6, 1, 4)) is None) == (pad_type == "reflect")


def test_folded_kernels_follow_the_weights():
    """Folded once and reused, refolded when the weights change in place or are replaced; never in
    the state_dict."""
    torch.manual_seed(1)
    block = Conv2dBlock(4, 3, 5, 1, 2, "ln", "relu", "reflect")
    keys = list(block.state_dict())
    upsample = torch.nn.Upsample(scale_factor=2, mode="nearest")
    x = torch.randn(2, 4, 5, 6)

    def check() -> None:
        with torch.no_grad():
            plain, folded = block(upsample(x)), block.forward_upsampled(x)
        assert (folded - plain).abs().max() <= 1e-5 * plain.abs().max()

    check()
    kernels = block._folded
    check()
    assert block._folded is kernels
    with torch.no_grad():
        block.conv.weight.mul_(-2)  # in place
    check()
    assert block._folded is not kernels
    block.load_state_dict({k: torch.randn_like(v) for k, v in block.state_dict().items()})
    check()
    block.conv.bias = torch.nn.Parameter(torch.randn(3))  # replaced
    check()
    assert list(block.state_dict()) == keys


@pytest.mark.parametrize("pad_type", ["reflect", "zero"])
def test_decoding_folded_equals_the_plain_decoder(pad_type: str):
    """The whole decoders, MUNIT's (layer norm) and FUNIT's (instance norm, three upsamplings), with
    and without gradients: a batch of contents with a batch of styles, odd content sides."""
    torch.manual_seed(2)
    munit = AdaINGen(3, dim=4, style_dim=3, n_downsample=2, n_res=1, mlp_dim=8, pad_type=pad_type)
    munit.load_state_dict(weights(munit, 5))
    decoders = [(munit, torch.randn(2, 16, 5, 3), torch.randn(2, 3, 1, 1))]
    if pad_type == "reflect":  # FUNIT reflects only
        funit = FewShotGen(nf=4, nf_mlp=8, latent_dim=3, n_res_blks=1, n_downs_content=3, n_downs_class=2)
        funit.load_state_dict(weights(funit, 6))
        decoders.append((funit, torch.randn(3, 32, 2, 3), torch.randn(1, 3, 1, 1)))
    for network, content, code in decoders:
        network.eval().requires_grad_(False)
        plain = network.decode(content, code)  # gradients enabled: upsampling, then the 5×5 convolution
        with torch.no_grad():
            folded = network.decode(content, code)
        assert (folded - plain).abs().max() <= 1e-5, type(network).__name__
        assert all(hasattr(block, "_folded") for block in list(network.dec.model)[2:-1:2])  # it did fold
