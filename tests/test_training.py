"""Training: the loop learns, checkpoints load, resuming equals an unbroken run, bad data is named."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.models.stylegan import load_stylegan, save_stylegan
from ganforge.models.stylegan.stylegan2 import Generator
from ganforge.models.training.data import digits, image_folder
from ganforge.models.training.discriminator import Discriminator
from ganforge.models.training.trainer import (
    TrainConfig,
    load_training_state,
    new_state,
    one_hot,
    save_training_state,
    train,
)

G_KWARGS = dict(z_dim=16, c_dim=10, w_dim=16, img_resolution=16, img_channels=1, mapping_kwargs={"num_layers": 2},
                channel_base=256, channel_max=32, num_fp16_res=0, conv_clamp=None)


def tiny_state(config: TrainConfig):
    torch.manual_seed(0)
    G = Generator(**G_KWARGS)
    G.architecture = "stylegan2"
    return new_state(G, Discriminator(16, 1, 10, channel_base=256, channel_max=32), config)


@pytest.fixture(scope="module")
def data():
    images, labels = digits(16)
    return images[:96], one_hot(labels[:96], 10)


def test_digits_data():
    images, labels = digits(32)
    assert images.shape == (1797, 1, 32, 32) and labels.shape == (1797,)
    assert images.min() >= -1 and images.max() <= 1 and set(labels.tolist()) == set(range(10))
    bold, _ = digits(32, "bold")
    assert bold.mean() > images.mean()  # thicker strokes: more ink


def test_a_few_steps_teach_the_discriminator_and_write_a_loadable_checkpoint(data, tmp_path):
    config = TrainConfig(steps=30, batch_size=16, seed=3)
    state = train(tiny_state(config), *data, config)
    losses = [record["loss_D"] for record in state.history]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5  # the discriminator learns to tell them apart
    assert state.step == 30 and all(r["r1"] > 0 for r in state.history[::4])
    save_stylegan(state.G_ema, tmp_path / "g.safetensors")
    loaded = load_stylegan(tmp_path / "g.safetensors")
    z, c = torch.randn(2, 16), torch.eye(10)[[1, 7]]
    with torch.no_grad():
        assert torch.equal(loaded(z, c), state.G_ema(z, c))


def test_resuming_equals_an_unbroken_run(data, tmp_path):
    config = TrainConfig(steps=6, batch_size=8, seed=5)
    straight = train(tiny_state(config), *data, TrainConfig(steps=12, batch_size=8, seed=5))
    first = train(tiny_state(config), *data, config)
    save_training_state(first, config, tmp_path / "run.pt")
    resumed = train(load_training_state(tmp_path / "run.pt", config), *data, config)
    assert resumed.step == 12
    for (name, a), b in zip(straight.G_ema.state_dict().items(), resumed.G_ema.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_bad_training_data_is_named(tmp_path):
    with pytest.raises(ValueError, match="no readable pictures"):
        image_folder(tmp_path, 32)
    Image.new("RGB", (40, 30), "red").save(tmp_path / "a.png")
    Image.new("RGB", (64, 64), "blue").save(tmp_path / "b.jpg")
    (tmp_path / "c.png").write_bytes(b"not a picture")
    images, notices = image_folder(tmp_path, 32)
    assert images.shape == (2, 3, 32, 32)
    assert any("c.png" in n for n in notices) and any("resized to 32px" in n for n in notices)
    config = TrainConfig(steps=1)
    with pytest.raises(ValueError, match="at least 2 images"):
        train(tiny_state(config), images[:1, :1, :16, :16], one_hot(torch.tensor([0]), 10), config)
    (tmp_path / "other.pt").write_bytes(b"PK\x03\x04 broken")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a GANForge training state"):
        load_training_state(tmp_path / "other.pt", config)


def test_dcgan_trains_saves_and_serves_the_stylegan_contract(data, tmp_path):
    from ganforge.models.dcgan import Generator as DCGANGenerator

    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=16, c_dim=10, img_resolution=16, img_channels=1, channels=16)
    G.architecture = "dcgan"
    config = TrainConfig(steps=8, batch_size=16, seed=2)
    state = train(new_state(G, Discriminator(16, 1, 10, channel_base=256, channel_max=32), config), *data, config)
    save_stylegan(state.G_ema, tmp_path / "dcgan.safetensors")
    loaded = load_stylegan(tmp_path / "dcgan.safetensors")
    assert loaded.architecture == "dcgan" and loaded.num_ws == 1
    z, c = torch.randn(3, 16), torch.eye(10)[[0, 4, 9]]
    with torch.no_grad():
        ws = loaded.mapping(z, c, truncation_psi=0.5)
        assert ws.shape == (3, 1, loaded.w_dim)
        image = loaded.synthesis(ws, noise_mode="const")
        assert image.shape == (3, 1, 16, 16) and image.abs().max() <= 1
        assert torch.equal(image, state.G_ema(z, c, truncation_psi=0.5))


def test_resume_of_another_shape_is_refused_and_nothing_is_replaced(tmp_path):
    from ganforge.models.training.session import TrainingError, run_training

    quiet = {"report": lambda line: None, "channels": 1, "batch": 4}
    facts = run_training("digits", tmp_path / "small.safetensors", resolution=16, steps=2, **quiet)
    with pytest.raises(TrainingError, match="trains 16px"):
        run_training("digits", tmp_path / "big.safetensors", resolution=32, steps=1, resume=facts["state"], **quiet)
    assert not (tmp_path / "big.safetensors").exists()
    before = (tmp_path / "small.safetensors").read_bytes()
    with pytest.raises(TrainingError, match="never replaced"):
        run_training("digits", tmp_path / "small.safetensors", resolution=16, steps=1, **quiet)
    assert (tmp_path / "small.safetensors").read_bytes() == before


def test_finetune_gives_the_new_discriminator_a_head_start(tmp_path, data):
    config = TrainConfig(steps=3, batch_size=8, seed=1, d_warmup_steps=2)
    state = tiny_state(config)
    g_before = {k: v.clone() for k, v in state.G.state_dict().items()}
    d_before = {k: v.clone() for k, v in state.D.state_dict().items()}
    seen = []
    train(state, *data, TrainConfig(steps=2, batch_size=8, seed=1, d_warmup_steps=2),
          on_step=lambda s, record: seen.append(record))
    assert all(torch.equal(v, g_before[k]) for k, v in state.G.state_dict().items())  # G waited
    assert any(not torch.equal(v, d_before[k]) for k, v in state.D.state_dict().items())  # D learned
    assert [r["step"] for r in seen] == [1, 2] and all(math.isnan(r["loss_G"]) for r in seen)  # no G step
    train(state, *data, TrainConfig(steps=1, batch_size=8, seed=1, d_warmup_steps=2))
    assert any(not torch.equal(v, g_before[k]) for k, v in state.G.state_dict().items())  # then G learns


def test_cut_mix_gives_each_digit_its_share_of_the_ink():
    from ganforge.models.training.vqgan_clip import cut_mix

    ink = torch.tensor([0.2, 0.5, 0.9, 0.7, 0.4, 0.3])  # each picture's own level tells its pixels apart
    pictures = ink.view(-1, 1, 1, 1).expand(-1, 1, 32, 32).clone()
    labels = torch.tensor([6, 4, 1, 2, 7, 0])
    mixed, soft = cut_mix(pictures, labels, share=0.5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(soft.sum(1), torch.ones(6))
    assert torch.equal(mixed[3:], pictures[3:]) and torch.equal(soft[3:], F.one_hot(labels[3:], 10).float())
    for picture, shares in zip(mixed[:3], soft[:3], strict=True):
        expected = torch.zeros(10)
        for level, digit in zip(ink.tolist(), labels.tolist(), strict=True):
            expected[digit] = picture[picture == level].sum() / picture.sum()
        assert torch.allclose(shares, expected, atol=1e-6)
    assert (soft[:3].max(1).values < 1).any(), "some box should have come from another digit"
    _, soft = cut_mix(torch.zeros(2, 1, 32, 32), labels[:2], share=1.0, generator=torch.Generator())
    assert torch.equal(soft, F.one_hot(labels[:2], 10).float()), "a picture without ink keeps its own label"
