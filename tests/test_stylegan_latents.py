"""Latent helpers and layer blending, against their definitions and NVlabs' mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.models.stylegan import load_stylegan
from ganforge.models.stylegan.blend import blend_generators, blend_weight
from ganforge.models.stylegan.latents import (
    class_vector,
    mix_styles,
    parse_class_mix,
    slerp,
    style_layer_range,
    truncate,
    walk,
    z_from_seeds,
)

DATA = Path(__file__).parent / "data"


def test_z_from_seeds_is_nvlabs_generate_py():
    z = z_from_seeds([0, 42], 512)
    assert z.dtype == torch.float32 and z.shape == (2, 512)
    assert np.array_equal(z[1].numpy(), np.random.RandomState(42).randn(512).astype(np.float32))


def test_class_mix_parsing_and_normalisation():
    assert parse_class_mix("3") == {3: 1.0}
    assert parse_class_mix("3:0.7, 5:0.3") == {3: 0.7, 5: 0.3}
    assert torch.allclose(class_vector(6, {3: 0.7, 5: 0.3}), torch.tensor([0, 0, 0, 0.7, 0, 0.3]))
    assert torch.equal(class_vector(4, {2: 5.0}), torch.tensor([0.0, 0, 1, 0]))
    with pytest.raises(ValueError, match=r"outside 0\.\.3"):
        class_vector(4, {4: 1.0})
    with pytest.raises(ValueError, match="sum to zero"):
        class_vector(4, {1: 1.0, 2: -1.0})
    with pytest.raises(ValueError, match="'x:1'"):
        parse_class_mix("x:1")


def test_truncate_equals_the_mapping_networks_own_truncation():
    generator = load_stylegan(DATA / "stylegan2_conditional.safetensors")
    z, c = torch.randn(3, 16), torch.eye(4)[[0, 1, 3]]
    with torch.no_grad():
        plain = generator.mapping(z, c)
        for psi, cutoff in ((0.5, None), (0.7, 3), (1.0, None)):
            expected = generator.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
            assert torch.equal(truncate(plain, generator.mapping.w_avg, psi, cutoff), expected)
    centres = torch.randn(3, 16)  # one centre per sample
    out = truncate(plain, centres, 0.0, 2)
    assert torch.equal(out[:, :2], centres[:, None].expand(-1, 2, -1)) and torch.equal(out[:, 2:], plain[:, 2:])


def test_mix_styles_and_presets():
    a, b = torch.zeros(2, 18, 4), torch.ones(1, 18, 4)
    mixed = mix_styles(a, b, 4, 8)
    assert mixed.shape == (2, 18, 4) and mixed[:, 4:8].eq(1).all() and mixed[:, :4].eq(0).all()
    assert mixed[:, 8:].eq(0).all() and a.eq(0).all()
    with pytest.raises(ValueError, match="batch sizes"):
        mix_styles(torch.zeros(2, 18, 4), torch.zeros(3, 18, 4), 0, 4)
    assert [style_layer_range(p, 18, 1024) for p in ("coarse", "middle", "fine")] == [(0, 4), (4, 8), (8, 18)]
    assert [style_layer_range(p, 16, 1024, "stylegan3") for p in ("coarse", "middle", "fine")] == \
        [(0, 4), (4, 7), (7, 16)]
    assert [style_layer_range(p, 8, 32) for p in ("coarse", "middle", "fine")] == [(0, 2), (2, 4), (4, 8)]


def test_walk_visits_keyframes_in_order():
    keys = torch.tensor([[0.0], [4.0], [8.0]])
    frames = walk(keys, 4, loop=False)
    assert frames.flatten().tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    looped = walk(keys, 2, loop=True)
    assert looped.flatten().tolist() == [0, 2, 4, 6, 8, 4]
    eased = walk(keys[:2], 4, easing="smoothstep").flatten()
    assert eased[0] == 0 and eased[-1] == 4 and 0 < eased[1] < 1  # slow start
    with pytest.raises(ValueError, match="two keyframes"):
        walk(keys[:1], 3)


def test_slerp_stays_on_the_sphere_between_orthogonal_vectors():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    mid = slerp(a, b, torch.tensor([0.5]))
    assert torch.allclose(mid, torch.tensor([[2**-0.5, 2**-0.5]]))
    same = slerp(a, a, torch.tensor([0.3]))
    assert torch.allclose(same, a)


def test_blend_takes_low_layers_from_one_and_high_from_the_other():
    low = load_stylegan(DATA / "stylegan2_skip.safetensors")  # blocks 4, 8, 16
    high = load_stylegan(DATA / "stylegan2_skip.safetensors")
    with torch.no_grad():
        for tensor in high.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(1.0)
    blended = blend_generators(low, high, swap_resolution=8, width=0.0)
    state, state_low, state_high = blended.state_dict(), low.state_dict(), high.state_dict()
    assert torch.equal(state["synthesis.b4.conv1.weight"], state_low["synthesis.b4.conv1.weight"])
    assert torch.equal(state["synthesis.b8.conv0.weight"], state_high["synthesis.b8.conv0.weight"])
    assert torch.equal(state["synthesis.b16.torgb.weight"], state_high["synthesis.b16.torgb.weight"])
    assert torch.equal(state["mapping.fc0.weight"], state_low["mapping.fc0.weight"])
    assert blend_weight(4, 8, 0.0) == 0.0 and blend_weight(8, 8, 0.0) == 1.0
    assert 0 < blend_weight(4, 8, 0.5) < 0.5 < blend_weight(8, 8, 0.5) < 1
    other = load_stylegan(DATA / "stylegan3_t.safetensors")
    with pytest.raises(ValueError, match="differ in architecture"):
        blend_generators(low, other, 8)


def test_npz_latents_round_trip_in_nvlabs_layout(tmp_path):
    from ganforge.models.stylegan.latents import load_w_npz, save_w_npz

    ws = torch.randn(2, 6, 16)
    save_w_npz(ws, tmp_path / "projected_w.npz")
    with np.load(tmp_path / "projected_w.npz", allow_pickle=False) as data:
        assert data.files == ["w"] and data["w"].shape == (2, 6, 16)
    assert torch.equal(load_w_npz(tmp_path / "projected_w.npz", 6), ws)
    np.savez(tmp_path / "one.npz", w=ws[0].numpy())  # one W+ without the batch axis
    assert torch.equal(load_w_npz(tmp_path / "one.npz", 6), ws[:1])
    np.savez(tmp_path / "plain.npz", w=ws[:, 0].numpy())  # plain W, repeated over the layers
    assert torch.equal(load_w_npz(tmp_path / "plain.npz", 6), ws[:, :1].repeat(1, 6, 1))
    with pytest.raises(ValueError, match=r"\[N, 18, w_dim\]"):
        load_w_npz(tmp_path / "projected_w.npz", 18)
    np.savez(tmp_path / "other.npz", z=ws.numpy())
    with pytest.raises(ValueError, match="no array 'w'"):
        load_w_npz(tmp_path / "other.npz", 6)
