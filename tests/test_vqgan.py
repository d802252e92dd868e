"""VQGAN: parity with taming-transformers on stored reference vectors, Lightning .ckpt + yaml
loading (never executing the file), config inference and checking, saving."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from ganforge.models.checkpoint import CheckpointError
from ganforge.models.vqgan import load_vqgan, read_vqgan_config, save_vqgan

DATA = Path(__file__).parent / "data"
# The configs the reference vectors were made with (taming's ddconfig names).
CONFIGS = {
    "f4_attn": dict(target="taming.models.vqgan.VQModel", n_embed=96, embed_dim=48,
                    ddconfig=dict(double_z=False, z_channels=64, resolution=32, in_channels=3, out_ch=3, ch=32,
                                  ch_mult=[1, 2, 2], num_res_blocks=1, attn_resolutions=[8], dropout=0.0)),
    "gumbel_gray": dict(target="taming.models.vqgan.GumbelVQ", n_embed=64, embed_dim=32,
                        ddconfig=dict(double_z=False, z_channels=32, resolution=16, in_channels=1, out_ch=1, ch=32,
                                      ch_mult=[1, 1], num_res_blocks=2, attn_resolutions=[16], dropout=0.0)),
}


def _lightning_module() -> type:
    """A class living in a pytorch_lightning module, as Lightning's callbacks do in a .ckpt."""
    names = ["pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint"]
    for name in names:
        sys.modules.setdefault(name, types.ModuleType(name))
    callback = type("ModelCheckpoint", (), {"__module__": names[-1]})
    sys.modules[names[-1]].ModelCheckpoint = callback
    return callback


def write_lightning_ckpt(name: str, folder: Path) -> tuple[Path, Path]:
    """The stored weights as taming's training writes them (Lightning .ckpt with loss weights,
    callback state and optimizer state), plus the yaml."""
    state = load_file(DATA / f"vqgan_{name}.safetensors")
    state["loss.discriminator.main.0.weight"] = torch.zeros(4, 3, 4, 4)
    state["loss.perceptual_loss.net.slice1.0.weight"] = torch.zeros(4, 3, 3, 3)
    callback = _lightning_module()
    checkpoint = {"epoch": 7, "global_step": 1234, "pytorch-lightning_version": "1.0.8", "state_dict": state,
                  "callbacks": {callback: {"best_model_score": torch.tensor(0.5)}},
                  "optimizer_states": [{"state": {}, "param_groups": [{"lr": 4.5e-6}]}], "lr_schedulers": []}
    ckpt = folder / "last.ckpt"
    torch.save(checkpoint, ckpt)
    config = CONFIGS[name]
    params = {k: v for k, v in config.items() if k != "target"}
    params["lossconfig"] = {"target": "taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator"}
    config_path = folder / "model.yaml"
    config_path.write_text(yaml.safe_dump({"model": {"base_learning_rate": 4.5e-6, "target": config["target"],
                                                     "params": params}}))
    return ckpt, config_path


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("with_yaml", [True, False])
def test_matches_taming(name: str, with_yaml: bool, tmp_path: Path) -> None:
    ckpt, config = write_lightning_ckpt(name, tmp_path)
    model = load_vqgan(ckpt, config if with_yaml else None)
    reference = np.load(DATA / f"vqgan_{name}_taming.npz")
    x = torch.from_numpy(reference["x"])
    with torch.no_grad():
        prequant = model.encode_prequant(x)
        codes = model.encode_codes(x)
        z_q = model.encode(x)
        decoded = model.decode(torch.from_numpy(reference["z_q"]))
        decoded_random = model.decode(torch.from_numpy(reference["z_random"]))
    assert (prequant - torch.from_numpy(reference["prequant"])).abs().max().item() < 1e-4
    assert torch.equal(codes, torch.from_numpy(reference["codes"]))
    assert (z_q - torch.from_numpy(reference["z_q"])).abs().max().item() < 1e-5
    assert (decoded - torch.from_numpy(reference["decoded"])).abs().max().item() < 1e-4
    assert (decoded_random - torch.from_numpy(reference["decoded_random"])).abs().max().item() < 1e-4
    assert model.gumbel == (name == "gumbel_gray")


def test_config_inferred_from_shapes_equals_the_yaml(tmp_path: Path) -> None:
    for name in CONFIGS:
        ckpt, config = write_lightning_ckpt(name, tmp_path)
        inferred = load_vqgan(ckpt).kwargs
        stated = read_vqgan_config(config)
        assert {k: v for k, v in inferred.items() if k != "dropout"} == \
            {k: v for k, v in stated.items() if k != "dropout"}


def test_mismatched_yaml_is_named(tmp_path: Path) -> None:
    ckpt, config = write_lightning_ckpt("f4_attn", tmp_path)
    wrong = yaml.safe_load(config.read_text())
    wrong["model"]["params"]["n_embed"] = 1024
    wrong["model"]["params"]["ddconfig"]["attn_resolutions"] = [16]
    with pytest.raises(CheckpointError, match=r"n_embed 1024 in the config but 96 in the checkpoint.*attn_levels"):
        load_vqgan(ckpt, wrong)
    with pytest.raises(CheckpointError, match="not a taming VQGAN config"):
        load_vqgan(ckpt, {"model": {"target": "ldm.models.autoencoder.AutoencoderKL", "params": {}}})


def test_code_in_a_ckpt_is_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    state = load_file(DATA / "vqgan_gumbel_gray.safetensors")
    torch.save({"state_dict": state, "hyper_parameters": Payload()}, tmp_path / "evil.ckpt")
    with pytest.raises(CheckpointError, match=r"asks to call posix\.system.*nothing from the file was run"):
        load_vqgan(tmp_path / "evil.ckpt")
    assert not marker.exists()


def test_other_files_get_clear_errors(tmp_path: Path) -> None:
    torch.save({"state_dict": {"conv_first.weight": torch.zeros(4, 3, 3, 3)}}, tmp_path / "esrgan.pth")
    with pytest.raises(CheckpointError, match=r"not a taming-transformers VQGAN: it has no encoder\.conv_in\.weight"):
        load_vqgan(tmp_path / "esrgan.pth")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a model file GANForge can read"):
        load_vqgan(tmp_path / "notes.txt")


def test_save_and_reload(tmp_path: Path) -> None:
    ckpt, _ = write_lightning_ckpt("gumbel_gray", tmp_path)
    model = load_vqgan(ckpt)
    save_vqgan(model, tmp_path / "ours.safetensors")
    again = load_vqgan(tmp_path / "ours.safetensors")
    x = torch.rand(1, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    with pytest.raises(FileExistsError):
        save_vqgan(model, tmp_path / "ours.safetensors")


def test_straight_through_gradient_reaches_z() -> None:
    model = load_vqgan(DATA / "vqgan_f4_attn.safetensors")  # taming's names in plain safetensors load too
    z = torch.randn(1, 48, 4, 4, requires_grad=True)
    model.decode(model.quantize(z)).square().mean().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
