"""Training pix2pix / CycleGAN: resume equals an unbroken run bit for bit, the files load (ours and
the junyanz export), bad pictures and folders are named, the CLI works end to end, nothing is
replaced."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from ganforge.models.training.loop import read_state_file
from ganforge.models.translation import DIRECTIONS, load_translation, translate
from ganforge.models.translation.networks import ResnetGenerator, UnetGenerator
from ganforge.models.translation.training import (
    STATE_FORMAT,
    ImagePool,
    TranslationConfig,
    TranslationData,
    TranslationTrainingError,
    generator_kwargs,
    inference,
    load_translation_data,
    new_translation_state,
    preview,
    run_translation_training,
    train_translation,
)

QUIET = {"report": lambda line: None}
TINY = {"ngf": 4, "ndf": 4, "input_nc": 1, "output_nc": 1, "crop_size": 32, "batch": 2, "seed": 3, **QUIET}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The networks here are tiny: a second thread only adds synchronisation (5x slower on a busy 2-core runner)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pictures():
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(6, 1, 36, 36, generator=generator) * 2 - 1
    return a, -a.flip(-2)


def states_equal(first: str, second: str) -> None:
    one, two = (read_state_file(p, STATE_FORMAT, "test") for p in (first, second))
    assert one["step"] == two["step"]
    for group in ("generators", "discriminators", "pools"):
        for name, value in one[group].items():
            tensors = value.items() if isinstance(value, dict) else [("", value)]
            for key, tensor in tensors:
                other = two[group][name][key] if key else two[group][name]
                assert torch.equal(tensor, other), (group, name, key)
    for optimizer in ("g_optimizer", "d_optimizer"):
        for index, values in one[optimizer]["state"].items():
            for key, tensor in values.items():
                assert torch.equal(tensor, two[optimizer]["state"][index][key]), (optimizer, index, key)


@pytest.mark.parametrize(("kind", "architecture", "settings"), [
    # unet_64 has one 8*ngf level with dropout (pix2pix's default), drawn from the global random state
    ("pix2pix", "unet_64", {"crop_size": 64}),
    # a 2-picture history pool: full after the first step, swapping from the second on
    ("cyclegan", "resnet_2blocks", {"pool_size": 2}),
])
def test_resume_continues_exactly_like_an_unbroken_run(tmp_path, pictures, kind, architecture, settings):
    a, b = (torch.nn.functional.interpolate(x, size=72) if architecture == "unet_64" else x for x in pictures)
    run = {**TINY, **settings, "architecture": architecture}
    before = torch.random.get_rng_state()
    whole = run_translation_training(kind, a, b, tmp_path / "whole.safetensors", steps=5, **run)
    assert torch.equal(torch.random.get_rng_state(), before), "training leaves the global random state alone"
    first = run_translation_training(kind, a, b, tmp_path / "first.safetensors", steps=3, schedule_steps=5, **run)
    resumed = run_translation_training(kind, a, b, tmp_path / "resumed.safetensors", steps=5, resume=first["state"],
                                       **{k: v for k, v in run.items() if k not in ("batch", "seed")})
    assert (first["steps"], resumed["steps"], resumed["steps_run"]) == (3, 5, 2)
    states_equal(whole["state"], resumed["state"])
    ours = [load_translation(tmp_path / f"{name}.safetensors", mode="eval") for name in ("whole", "resumed")]
    for direction, network in ours[0].networks.items():
        for (key, value), other in zip(network.state_dict().items(), ours[1].networks[direction].state_dict().values(),
                                       strict=True):
            assert torch.equal(value, other), key
    if kind == "cyclegan":
        pools = read_state_file(whole["state"], STATE_FORMAT, "test")["pools"]
        assert {name: tuple(pool.shape) for name, pool in pools.items()} == {"fake_A": (2, 1, 32, 32),
                                                                             "fake_B": (2, 1, 32, 32)}


@pytest.mark.parametrize(("kind", "architecture", "factory"), [
    ("pix2pix", "unet_32", UnetGenerator),
    ("cyclegan", "resnet_2blocks", ResnetGenerator),
])
def test_trained_files_load_and_the_junyanz_export_gives_the_same_output(tmp_path, pictures, kind, architecture,
                                                                       factory):
    a, b = pictures
    export = tmp_path / "junyanz"
    facts = run_translation_training(kind, a, b, tmp_path / "t.safetensors", steps=2, architecture=architecture,
                                     export_junyanz_dir=export, **TINY)
    assert facts["images_per_second"] > 0 and facts["steps"] == 2
    ours = load_translation(tmp_path / "t.safetensors", mode="eval")
    assert ours.info.kind == kind and ours.info.kwargs == facts["kwargs"]
    names = ["latest_net_G_A.pth", "latest_net_G_B.pth"] if kind == "cyclegan" else ["latest_net_G.pth"]
    assert sorted(p.name for p in export.iterdir()) == names
    fresh_keys = list(factory(**facts["kwargs"]).state_dict())
    for name in names:
        raw = torch.load(export / name, weights_only=True)
        assert list(raw) == fresh_keys  # a plain state_dict with the original's names, in its order
    theirs = load_translation(export / names[0], mode="eval")  # a G_A brings its G_B partner along
    assert set(theirs.networks) == set(ours.networks)
    x = a[:2, :, :32, :32]
    for direction in ours.networks:
        mine = translate(ours.network(direction), ours.info, x).image
        original = translate(theirs.network(direction), theirs.info, x).image
        assert torch.equal(mine, original), direction


def write_pictures(folder, names, size=(32, 32), mode="L", seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    for name in names:
        channels = 3 if mode == "RGB" else 1
        array = torch.randint(0, 256, (size[1], size[0], channels), generator=generator, dtype=torch.uint8)
        Image.fromarray(array.squeeze(-1).numpy(), mode).save(folder / name)


def test_aligned_pictures_split_into_a_and_b_and_pairs_crop_and_flip_together(tmp_path):
    folder = tmp_path / "aligned"
    folder.mkdir()
    for i in range(3):
        left = Image.new("L", (40, 40), 10 * i)
        picture = Image.new("L", (80, 40))
        picture.paste(left, (0, 0))
        picture.paste(Image.linear_gradient("L").resize((40, 40)), (40, 0))
        picture.save(folder / f"{i}.png")
    data = load_translation_data("pix2pix", folder, None, 1, 1, crop_size=32, preprocess="crop")
    assert data.a.shape == data.b.shape == (3, 1, 40, 40) and data.paired
    assert [int(data.a[i].float().mean()) for i in range(3)] == [0, 10, 20]
    # B is a vertical gradient; the same crop of A and B: B's rows say where the crop started
    paired = TranslationData(data.b, data.b, True, 32)
    one, two = paired.sample(torch.Generator().manual_seed(1), 8)
    assert torch.equal(one, two)
    load = load_translation_data("pix2pix", folder, None, 1, 1, crop_size=32)  # resize_and_crop, 286/256
    assert load.a.shape[-1] == 36


def test_bad_folders_are_named(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TranslationTrainingError, match="holds no pictures"):
        load_translation_data("pix2pix", empty, None)
    with pytest.raises(TranslationTrainingError, match="is not a folder"):
        load_translation_data("cyclegan", tmp_path / "missing", empty)
    a, b = tmp_path / "a", tmp_path / "b"
    write_pictures(a, ["1.png", "2.png", "3.png", "only_a.png"])
    write_pictures(b, ["1.jpg", "2.png", "3.png", "only_b.png"])
    with pytest.raises(TranslationTrainingError, match=r"pair up by file name.*only_a\.png.*only_b\.png"):
        load_translation_data("pix2pix", a, b, 1, 1, 32)
    (a / "only_a.png").unlink()
    (b / "only_b.png").unlink()
    assert load_translation_data("pix2pix", a, b, 1, 1, 32).a.shape == (3, 1, 36, 36)  # 1.png pairs with 1.jpg
    odd = tmp_path / "odd"
    write_pictures(odd, ["x.png"], size=(65, 32))
    with pytest.raises(TranslationTrainingError, match=r"odd width.*x\.png \(65x32\)"):
        load_translation_data("pix2pix", odd, None, 1, 1, 32)
    mixed = tmp_path / "mixed"
    write_pictures(mixed, ["small.png"], size=(64, 32))
    write_pictures(mixed, ["big.png"], size=(96, 48), seed=1)
    load_translation_data("pix2pix", mixed, None, 1, 1, 32)  # resized: sizes do not matter
    with pytest.raises(TranslationTrainingError, match="pictures of 2 sizes"):
        load_translation_data("pix2pix", mixed, None, 1, 1, 32, preprocess="crop")
    with pytest.raises(TranslationTrainingError, match="trainA and trainB"):
        load_translation_data("cyclegan", a, None)
    with pytest.raises(TranslationTrainingError, match="smaller than the 64 px crops"):
        load_translation_data("cyclegan", a, b, 1, 1, 64, preprocess="crop")


def test_bad_settings_are_named_and_nothing_is_replaced(tmp_path, pictures):
    a, b = pictures
    with pytest.raises(TranslationTrainingError, match="multiples of 32"):
        run_translation_training("pix2pix", a, b, tmp_path / "x.safetensors", architecture="unet_32",
                                 **{**TINY, "crop_size": 36})
    with pytest.raises(TranslationTrainingError, match="unknown generator"):
        run_translation_training("pix2pix", a, b, tmp_path / "x.safetensors", architecture="unet_33", **TINY)
    with pytest.raises(TranslationTrainingError, match="too small for the 3-layer PatchGAN"):
        run_translation_training("cyclegan", a[..., :16, :16], b[..., :16, :16], tmp_path / "x.safetensors",
                                 architecture="resnet_1blocks", **{**TINY, "crop_size": 16})
    facts = run_translation_training("cyclegan", a, b, tmp_path / "c.safetensors", steps=1,
                                     architecture="resnet_1blocks", **TINY)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(TranslationTrainingError, match="never replaced"):
        run_translation_training("cyclegan", a, b, tmp_path / "c.safetensors", steps=1, architecture="resnet_1blocks",
                                 **TINY)
    with pytest.raises(TranslationTrainingError, match="trains cyclegan, not pix2pix"):
        run_translation_training("pix2pix", a, b, tmp_path / "p.safetensors", steps=2, resume=facts["state"], **TINY)
    with pytest.raises(TranslationTrainingError, match="already at step 1"):
        run_translation_training("cyclegan", a, b, tmp_path / "r.safetensors", steps=1, resume=facts["state"], **TINY)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(TranslationTrainingError, match="not a GANForge training state"):
        run_translation_training("cyclegan", a, b, tmp_path / "r.safetensors", steps=2, resume=tmp_path / "other.pt",
                                 **TINY)
    (tmp_path / "other.pt").unlink()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_an_interrupt_leaves_no_files(tmp_path, pictures):
    def stop(step, total, record, translator):
        assert total == 4 and translator.info.kind == "pix2pix"
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_translation_training("pix2pix", *pictures, tmp_path / "out" / "t.safetensors", steps=4,
                                 architecture="unet_32", export_junyanz_dir=tmp_path / "out", on_step=stop, **TINY)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_preview_leaves_the_training_untouched(pictures):
    config = TranslationConfig(kind="pix2pix", steps=4, batch_size=2)
    architecture, kwargs = generator_kwargs("unet_64", 1, 1, 4, "batch", True)
    state = new_translation_state(architecture, kwargs, config, ndf=4)
    a, b = (torch.nn.functional.interpolate(x, size=64) for x in pictures)
    data = TranslationData(a, b, True, 64)
    train_translation(state, data, config, until=1)
    network = state.translator.networks[DIRECTIONS[0]]
    before = {k: v.clone() for k, v in network.state_dict().items()}
    picture = preview(state.translator, a[:2])
    assert picture.shape == (2, 1, 64, 64)
    assert network.training and all(m.training for m in network.modules())
    assert all(torch.equal(v, before[k]) for k, v in network.state_dict().items())
    with inference(state.translator):
        assert not network.training
    assert network.training


def test_the_recipes_are_the_originals():
    pix2pix, cyclegan = TranslationConfig(kind="pix2pix"), TranslationConfig(kind="cyclegan")
    assert (pix2pix.gan_mode, pix2pix.pool_size, pix2pix.lambda_l1) == ("vanilla", 0, 100.0)
    assert (cyclegan.gan_mode, cyclegan.pool_size, cyclegan.lambda_a, cyclegan.lambda_identity) == ("lsgan", 50, 10.0,
                                                                                                     0.5)
    # 100 constant + 100 decaying "epochs": 1 - max(0, epoch + 1 - 100) / 101
    schedule = TranslationConfig(steps=200, lr=1.0)
    assert [schedule.lr_at(s) for s in (0, 99, 100, 199)] == [1.0, 1.0, 1 - 1 / 101, 1 - 100 / 101]
    pool, generator = ImagePool(2), torch.Generator().manual_seed(0)
    first = torch.zeros(2, 1, 2, 2)
    assert torch.equal(pool.query(first, generator), first) and len(pool.images) == 2
    returned = torch.cat([pool.query(torch.full((1, 1, 2, 2), float(i + 1)), generator) for i in range(40)])
    assert (returned == 0).any() and (returned != 0).any()  # stored ones come back about half the time


def test_the_cli_trains_exports_and_refuses_to_replace(tmp_path, capsys):
    from ganforge.cli import main

    aligned = tmp_path / "aligned"
    write_pictures(aligned, [f"{i}.png" for i in range(3)], size=(64, 32), mode="RGB")
    out = tmp_path / "model.safetensors"
    common = ["--size", "32", "--load-size", "32", "--ngf", "4", "--ndf", "4", "--batch", "2"]
    assert main(["train-translation", "pix2pix", str(aligned), "--out", str(out), "--steps", "2", "--arch", "unet_32",
                 "--export-junyanz", str(tmp_path / "junyanz"), *common]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["steps"] == 2 and facts["images_per_second"] > 0
    assert load_translation(out).info.kwargs["num_downs"] == 5
    assert load_translation(tmp_path / "junyanz" / "latest_net_G.pth").info.kwargs["ngf"] == 4
    before = out.read_bytes()
    assert main(["train-translation", "pix2pix", str(aligned), "--out", str(out), "--steps", "2", *common]) == 1
    assert "never replaced" in capsys.readouterr().err and out.read_bytes() == before
    root = tmp_path / "horses"
    write_pictures(root / "trainA", ["a1.png", "a2.png"], mode="RGB")
    write_pictures(root / "trainB", ["b1.png", "b2.png", "b3.png"], mode="RGB", seed=1)
    assert main(["train-translation", "cyclegan", str(root), "--out", str(tmp_path / "cycle.safetensors"),
                 "--steps", "1", "--arch", "resnet_1blocks", *common]) == 0
    assert json.loads(capsys.readouterr().out)["pictures"] == {"A": 2, "B": 3}
    assert main(["train-translation", "cyclegan", str(root / "trainA"), "--out", str(tmp_path / "x.safetensors"),
                 *common]) == 1
    assert "trainA and trainB" in capsys.readouterr().err


MUNIT_TINY = {"ngf": 4, "ndf": 4, "input_nc": 1, "crop_size": 32, "batch": 2, "seed": 4, **QUIET,
              "munit": {"generator": {"style_dim": 2, "n_res": 1, "mlp_dim": 8},
                        "discriminator": {"n_layer": 2, "num_scales": 2}}}


def test_munit_resumes_exactly_and_its_file_loads(tmp_path, pictures):
    from ganforge.models.translation.multimodal import load_munit
    from ganforge.models.translation.munit_training import STATE_FORMAT as MUNIT_STATE

    a, b = pictures
    whole = run_translation_training("munit", a, b, tmp_path / "whole.safetensors", steps=4, **MUNIT_TINY)
    first = run_translation_training("munit", a, b, tmp_path / "first.safetensors", steps=2, schedule_steps=4,
                                     **MUNIT_TINY)
    resumed = run_translation_training("munit", a, b, tmp_path / "resumed.safetensors", steps=4,
                                       resume=first["state"], **{k: v for k, v in MUNIT_TINY.items()
                                                                 if k not in ("batch", "seed")})
    assert (whole["steps"], resumed["steps_run"]) == (4, 2)
    one, two = (read_state_file(facts["state"], MUNIT_STATE, "test") for facts in (whole, resumed))
    for group in ("generators", "discriminators"):
        for domain, tensors in one[group].items():
            for key, tensor in tensors.items():
                assert torch.equal(tensor, two[group][domain][key]), (group, domain, key)
    model = load_munit(tmp_path / "whole.safetensors")
    assert (model.info.style_dim, model.info.kwargs["dim"], model.info.kwargs["n_res"]) == (2, 4, 1)
    assert {"recon_x_a", "recon_s_b", "recon_c_a", "gen_adv_b", "dis_a"} <= set(whole["final_losses"])
    with torch.no_grad():
        content = model.encode_content("A", a[:2, :, :32, :32])
        assert model.decode("B", content, model.random_style(2, 0, "cpu")).shape == (2, 1, 32, 32)


def test_munit_recipe_is_the_originals_and_bad_settings_are_named(tmp_path, pictures):
    from ganforge.models.translation.munit_training import MunitConfig

    config = MunitConfig()
    assert (config.lr, config.beta1, config.beta2, config.weight_decay, config.step_size, config.gamma) == \
        (1e-4, 0.5, 0.999, 1e-4, 100_000, 0.5)
    assert (config.gan_w, config.recon_x_w, config.recon_s_w, config.recon_c_w, config.recon_x_cyc_w) == \
        (1, 10, 1, 1, 0)
    assert MunitConfig(step_size=10).lr_at(25) == pytest.approx(1e-4 * 0.25)
    a, b = pictures
    with pytest.raises(TranslationTrainingError, match="lambda_l1"):
        run_translation_training("munit", a, b, tmp_path / "x.safetensors", steps=1, lambda_l1=5, **MUNIT_TINY)
    with pytest.raises(TranslationTrainingError, match="no pytorch-CycleGAN-and-pix2pix layout"):
        run_translation_training("munit", a, b, tmp_path / "x.safetensors", steps=1, export_junyanz_dir=tmp_path,
                                 **MUNIT_TINY)
    with pytest.raises(TranslationTrainingError, match="multiples of 4"):
        run_translation_training("munit", a, b, tmp_path / "x.safetensors", steps=1,
                                 **{**MUNIT_TINY, "crop_size": 30})
    assert not (tmp_path / "x.safetensors").exists()


FUNIT_TINY = {"ngf": 4, "ndf": 4, "crop_size": 16, "preprocess": "crop", "batch": 2, "seed": 5, **QUIET,
              "funit": {"generator": {"nf_mlp": 8, "latent_dim": 4, "n_res_blks": 1, "n_downs_content": 2,
                                      "n_downs_class": 2},
                        "discriminator": {"n_res_blks": 4}}}


@pytest.fixture(scope="module")
def stroke_classes():
    """Three small classes: gray pictures (repeated to RGB by the loader) of 20 px, cropped to 16."""
    generator = torch.Generator().manual_seed(1)
    return [torch.rand(4, 1, 20, 20, generator=generator) * 2 - 1 for _ in range(3)]


def test_funit_resumes_exactly_and_its_file_holds_the_moving_average(tmp_path, stroke_classes):
    from ganforge.models.translation.funit_training import STATE_FORMAT as FUNIT_STATE
    from ganforge.models.translation.multimodal import load_funit

    before = torch.random.get_rng_state()
    whole = run_translation_training("funit", stroke_classes, None, tmp_path / "whole.safetensors", steps=4,
                                     **FUNIT_TINY)
    assert torch.equal(torch.random.get_rng_state(), before), "training leaves the global random state alone"
    first = run_translation_training("funit", stroke_classes, None, tmp_path / "first.safetensors", steps=2,
                                     **FUNIT_TINY)
    resumed = run_translation_training("funit", stroke_classes, None, tmp_path / "resumed.safetensors", steps=4,
                                       resume=first["state"], **{k: v for k, v in FUNIT_TINY.items()
                                                                 if k not in ("batch", "seed")})
    assert (whole["steps"], resumed["steps_run"]) == (4, 2)
    one, two = (read_state_file(facts["state"], FUNIT_STATE, "test") for facts in (whole, resumed))
    for group in ("gen", "gen_test", "dis"):
        for key, tensor in one[group].items():
            assert torch.equal(tensor, two[group][key]), (group, key)
    for optimizer in ("g_optimizer", "d_optimizer"):
        for index, values in one[optimizer]["state"].items():
            for key, tensor in values.items():
                assert torch.equal(tensor, two[optimizer]["state"][index][key]), (optimizer, index, key)
    # the file is gen_test (the average the original tests with), not the training weights
    model = load_funit(tmp_path / "whole.safetensors")
    stored = model.generator.state_dict()
    assert all(torch.equal(stored[key], one["gen_test"][key]) for key in one["gen_test"])
    assert not all(torch.equal(one["gen"][key], one["gen_test"][key]) for key in one["gen"])
    assert (model.info.kwargs["nf"], model.info.kwargs["latent_dim"], whole["discriminator"]["num_classes"]) == \
        (4, 4, 3)
    assert whole["classes"] == {"class 0": 4, "class 1": 4, "class 2": 4}
    assert {"dis_real_adv", "dis_fake_adv", "dis_reg", "gen_adv", "gen_recon_x", "gen_recon_c",
            "gen_recon_s"} <= set(whole["final_losses"])
    with torch.no_grad():
        content = model.encode_content(torch.zeros(2, 3, 16, 16))
        code = model.class_code(stroke_classes[0][:3].expand(-1, 3, -1, -1))
        assert model.decode(content, code).shape == (2, 3, 16, 16)


def test_funit_recipe_and_discriminator_are_the_originals():
    from pathlib import Path

    from ganforge.models.translation.funit_training import (
        ActFirstResBlock,
        FunitConfig,
        GPPatchMcResDis,
        discriminator_defaults,
        generator_defaults,
    )
    from ganforge.models.translation.multimodal import create_funit

    config = FunitConfig()  # configs/funit_animals.yaml, trainer.py, funit_model.py
    assert (config.batch_size, config.lr_gen, config.lr_dis, config.weight_decay, config.alpha) == \
        (64, 1e-4, 1e-4, 1e-4, 0.99)
    assert (config.gan_w, config.fm_w, config.r_w, config.reg_w, config.ema_beta) == (1, 1, 0.1, 10, 0.999)
    assert generator_defaults() == {"nf": 64, "n_res_blks": 2, "nf_mlp": 256, "latent_dim": 64, "n_mlp_blks": 3,
                                    "n_downs_content": 3, "n_downs_class": 4}
    with torch.device("meta"):  # the released configuration, shapes only
        dis = GPPatchMcResDis(**discriminator_defaults())
        gen = create_funit(generator_defaults()).generator
    for network, listing in ((dis, "funit_GPPatchMcResDis_animals"), (gen, "funit_FewShotGen_animals")):
        rows = []
        for line in (Path(__file__).parent / "data" / "nvlabs_translation_keys" / f"{listing}.txt").read_text() \
                .splitlines():
            key, rest = line.split(" ", 1)
            rows.append((key, [int(n) for n in rest[rest.index("[") + 1:rest.index("]")].split(",") if n.strip()]))
        ours = [(key, list(tensor.shape)) for key, tensor in network.state_dict().items()
                if not key.endswith(("running_mean", "running_var"))]
        assert ours == [row for row in rows if not row[0].endswith(("running_mean", "running_var"))], listing
    # the original's in-place LeakyReLUs: an identity shortcut carries LeakyReLU(x), and the features
    # returned for feature matching have been through the classifier head's LeakyReLU
    block = ActFirstResBlock(2, 2)
    torch.nn.init.zeros_(block.conv_1.conv.weight)
    torch.nn.init.zeros_(block.conv_1.conv.bias)
    x = torch.randn(1, 2, 4, 4)
    assert torch.equal(block(x), torch.nn.functional.leaky_relu(x, 0.2))
    small = GPPatchMcResDis(nf=4, n_res_blks=4, num_classes=3)
    logits, features = small(torch.randn(2, 3, 16, 16), torch.tensor([0, 2]))
    assert logits.shape == (2, 8, 8) and features.shape == (2, 16, 8, 8) and (features.min() < 0)
    with pytest.raises(ValueError, match="even"):
        GPPatchMcResDis(n_res_blks=5)



def test_funit_cli_trains_on_class_folders_and_names_bad_input(tmp_path, capsys, stroke_classes):
    from ganforge.cli import main
    from ganforge.models.translation.multimodal import load_funit

    root = tmp_path / "strokes"
    for index, name in enumerate(("bold", "thin")):
        write_pictures(root / name, [f"{i}.png" for i in range(3)], size=(36, 36), mode="L", seed=index)
    out = tmp_path / "funit.safetensors"
    assert main(["train-translation", "funit", str(root), "--out", str(out), "--steps", "1", "--batch", "2",
                 "--size", "32", "--ngf", "4", "--ndf", "4", "--style-dim", "4", "--n-res", "1",
                 "--n-downsample", "2"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["classes"] == {"bold": 3, "thin": 3} and facts["discriminator"]["num_classes"] == 2
    assert facts["config"]["batch_size"] == 2
    assert load_funit(out).info.kwargs["n_downs_content"] == 2
    assert main(["train-translation", "funit", str(root / "bold"), str(root / "thin"), "--out",
                 str(tmp_path / "x.safetensors")]) == 1
    assert "one ROOT folder" in capsys.readouterr().err
    with pytest.raises(TranslationTrainingError, match="no sub-folders"):
        run_translation_training("funit", root / "bold", None, tmp_path / "x.safetensors", steps=1, **FUNIT_TINY)
    with pytest.raises(TranslationTrainingError, match="several classes"):
        run_translation_training("funit", stroke_classes[:1], None, tmp_path / "x.safetensors", steps=1,
                                 **FUNIT_TINY)
    with pytest.raises(TranslationTrainingError, match="RGB only"):
        run_translation_training("funit", stroke_classes, None, tmp_path / "x.safetensors", steps=1, input_nc=1,
                                 **FUNIT_TINY)
    with pytest.raises(TranslationTrainingError, match="multiples of 4"):
        run_translation_training("funit", stroke_classes, None, tmp_path / "x.safetensors", steps=1,
                                 **{**FUNIT_TINY, "crop_size": 14})
    assert not (tmp_path / "x.safetensors").exists()


def test_spade_trains_and_its_folded_generator_paints_as_the_spectral_one():
    from ganforge.models.training.translation_digits import layout_sampler, split
    from ganforge.models.translation.spade import SPADEGenerator
    from ganforge.models.translation.spade_training import (
        SpadeConfig,
        folded_state,
        new_spade_state,
        restore_spade_state,
        spade_state_dict,
        train_spade,
    )

    data = split()
    sample = layout_sampler(data["train_plain"][:40], data["train_labels"][:40])
    kwargs = {"semantic_nc": 11, "ngf": 2, "hidden": 8, "upsampling": "normal", "param_free_norm": "batch"}
    d_kwargs = {"input_nc": 14, "ndf": 4, "n_layers": 2, "num_d": 2}
    config = SpadeConfig(steps=3, batch_size=2, seed=5)
    whole = new_spade_state(kwargs, d_kwargs, config)
    train_spade(whole, sample, config)
    part = new_spade_state(kwargs, d_kwargs, config)
    train_spade(part, sample, config, until=1)
    resumed, _ = restore_spade_state(spade_state_dict(part, config))
    train_spade(resumed, sample, config)
    for key, value in whole.generator.state_dict().items():
        assert torch.equal(value, resumed.generator.state_dict()[key]), key
    assert {"G_GAN", "G_feat", "D"} <= set(whole.history[-1])
    plain = SPADEGenerator(**kwargs)
    plain.load_state_dict(folded_state(whole.generator, kwargs))
    semantics, _ = sample(torch.Generator().manual_seed(1), 2)
    with torch.no_grad():
        expected = whole.generator.eval()(semantics)
        assert (plain.eval()(semantics) - expected).abs().max() < 1e-5
