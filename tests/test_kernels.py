"""The ops against their obvious references, over many shapes and settings."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.kernels.bias_act import bias_act
from ganforge.kernels.conv2d_resample import conv2d_resample, modulated_conv2d
from ganforge.kernels.filter_design import lowpass_filter
from ganforge.kernels.filtered_lrelu import filtered_lrelu, filtered_lrelu_reference
from ganforge.kernels.upfirdn2d import setup_filter, upfirdn2d, upfirdn2d_reference, upsample2d

TAPS = {"blur4": [1, 3, 3, 1], "blur3": [1, 2, 1], "long8": [1, 4, 6, 4, 1, 2, 3, 1]}


@pytest.mark.parametrize("taps", TAPS, ids=str)
@pytest.mark.parametrize("separable", [False, True])
def test_fast_upfirdn2d_equals_reference(taps, separable):
    torch.manual_seed(0)
    f = setup_filter(TAPS[taps], separable=separable)
    cases = itertools.product([1, 2, 4], [1, 2], [0, 1, -1, [2, 1, 0, -1], [3, 0]], [False, True], [1.0, 3.0])
    checked = 0
    for up, down, padding, flip, gain in cases:
        x = torch.randn(2, 3, 9, 11)
        try:
            expected = upfirdn2d_reference(x, f, up, down, padding, flip, gain)
        except RuntimeError:  # the padded buffer is smaller than the filter: invalid for both
            continue
        got = upfirdn2d(x, f, up, down, padding, flip, gain)
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, atol=1e-5), (up, down, padding, flip, gain)
        checked += 1
    assert checked > 100


def test_reference_matches_the_definition_on_a_tiny_case():
    # Upsampling x by 2 inserts zeros ([1, 0, 2, 0]); one pixel of left padding and a 1x2 box
    # filter then repeat each sample; gain scales the 2-D filter once.
    x = torch.tensor([[[[1.0, 2.0]]]])
    box = torch.tensor([[1.0, 1.0]])
    out = upfirdn2d_reference(x, box, up=[2, 1], padding=[1, 0, 0, 0])
    assert out.flatten().tolist() == [1.0, 1.0, 2.0, 2.0]
    doubled = upfirdn2d_reference(x, box, up=[2, 1], padding=[1, 0, 0, 0], gain=3.0)
    assert doubled.flatten().tolist() == [3.0, 3.0, 6.0, 6.0]


def test_non_separable_filters_take_the_reference_path():
    torch.manual_seed(1)
    f = torch.randn(4, 4)
    x = torch.randn(1, 2, 8, 8)
    assert torch.equal(upfirdn2d(x, f, up=2, padding=[1, 2, 1, 2]), upfirdn2d_reference(x, f, 2, 1, [1, 2, 1, 2]))


@pytest.mark.parametrize("act, alpha, gain, clamp", [
    ("linear", None, None, None), ("lrelu", None, None, 0.5), ("lrelu", 0.1, 2.0, None), ("relu", None, 1.0, 1.0),
    ("tanh", None, None, None), ("swish", None, None, None),
])
def test_bias_act_is_bias_then_activation_then_gain_then_clamp(act, alpha, gain, clamp):
    torch.manual_seed(2)
    x, b = torch.randn(2, 5, 3, 3), torch.randn(5)
    y = x + b.view(1, -1, 1, 1)
    expected = {
        "linear": y, "lrelu": F.leaky_relu(y, 0.2 if alpha is None else alpha), "relu": F.relu(y),
        "tanh": torch.tanh(y), "swish": torch.sigmoid(y) * y,
    }[act]
    default_gain = math.sqrt(2) if act in ("lrelu", "relu", "swish") else 1.0
    expected = expected * (default_gain if gain is None else gain)
    if clamp is not None:
        expected = expected.clamp(-clamp, clamp)
    assert torch.allclose(bias_act(x, b, act=act, alpha=alpha, gain=gain, clamp=clamp), expected, atol=1e-6)


def test_upsampling_conv_equals_upsample_then_conv():
    torch.manual_seed(3)
    f = setup_filter([1, 3, 3, 1])
    x, w = torch.randn(2, 4, 6, 6), torch.randn(5, 4, 3, 3)
    # Transposed-conv path vs. the explicit composition: FIR upsample (with pads that keep the
    # footprint of the 3x3 kernel), then a plain correlation... both as defined by the reference op.
    fast = conv2d_resample(x, w, f, up=2, padding=1, flip_weight=False)
    padded = upfirdn2d_reference(x, f, up=2, padding=[3, 2, 3, 2], gain=4)
    slow = F.conv2d(padded, w.flip([2, 3]))
    assert fast.shape == slow.shape == (2, 5, 12, 12)
    assert torch.allclose(fast, slow, atol=1e-4)


def test_plain_and_downsampling_conv():
    torch.manual_seed(4)
    f = setup_filter([1, 3, 3, 1])
    x, w = torch.randn(1, 3, 8, 8), torch.randn(6, 3, 3, 3)
    assert torch.allclose(conv2d_resample(x, w, padding=1), F.conv2d(x, w, padding=1), atol=1e-5)
    down = conv2d_resample(x, w, f, down=2, padding=1)
    slow = F.conv2d(upfirdn2d_reference(x, f, padding=[2, 2, 2, 2]), w, stride=2)
    assert torch.allclose(down, slow, atol=1e-5)
    assert upsample2d(x, f).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("up, demodulate", [(1, True), (2, True), (1, False)])
def test_fused_and_unfused_modulated_conv_agree(up, demodulate):
    torch.manual_seed(5)
    f = setup_filter([1, 3, 3, 1])
    x, weight, styles = torch.randn(3, 4, 5, 5), torch.randn(6, 4, 3, 3), torch.randn(3, 4)
    noise = torch.randn(3, 1, 5 * up, 5 * up)
    kwargs = dict(noise=noise, up=up, padding=1, resample_filter=f, demodulate=demodulate, flip_weight=up == 1)
    fused = modulated_conv2d(x, weight, styles, fused_modconv=True, **kwargs)
    unfused = modulated_conv2d(x, weight, styles, fused_modconv=False, **kwargs)
    assert torch.allclose(fused, unfused, atol=1e-4)
    if demodulate and up == 1:
        # Demodulation makes each output channel's effective weights unit-norm per sample.
        single = modulated_conv2d(x[:1], weight, styles[:1], padding=1, resample_filter=f)
        w = weight * styles[0].view(1, -1, 1, 1)
        w = w / w.square().sum(dim=[1, 2, 3], keepdim=True).add(1e-8).sqrt()
        assert torch.allclose(single, F.conv2d(x[:1], w, padding=1), atol=1e-4)


@pytest.mark.parametrize("up, down", [(2, 2), (4, 2), (2, 1), (1, 2), (1, 1)])
@pytest.mark.parametrize("radial", [False, True])
def test_fast_filtered_lrelu_equals_reference(up, down, radial):
    torch.manual_seed(6)
    fu = lowpass_filter(6 * up, 3.0, 2.5, 16 * up) if up > 1 else None
    fd = lowpass_filter(6 * down, 3.0, 2.5, 16 * up, radial=radial) if down > 1 else None
    x, b = torch.randn(2, 3, 10, 12), torch.randn(3)
    for padding, gain, slope, clamp in itertools.product([[5, 4, 5, 4], [11, 12, 9, 10], 7], [1.0, math.sqrt(2)],
                                                         [0.2, 1.0], [None, 0.5]):
        expected = filtered_lrelu_reference(x, fu, fd, b, up, down, padding, gain, slope, clamp)
        got = filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp)
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, atol=1e-5), (padding, gain, slope, clamp)


def test_filtered_lrelu_is_bias_up_lrelu_down():
    # Without filters and factors, the op is bias_act with lrelu; padding crops or extends.
    torch.manual_seed(7)
    x, b = torch.randn(1, 2, 4, 4), torch.randn(2)
    plain = filtered_lrelu_reference(x, b=b, gain=2.0, slope=0.1, clamp=0.7)
    assert torch.allclose(plain, bias_act(x, b, act="lrelu", alpha=0.1, gain=2.0, clamp=0.7))
    with pytest.raises(ValueError, match="leaves no output"):
        filtered_lrelu(x, padding=-3)


def test_lowpass_design_matches_scipy():
    import numpy as np
    import scipy.signal as scipy_signal  # a dev dependency: the design it replaces at run time
    import scipy.special

    for numtaps, cutoff, width, fs in [(12, 2, 2.3, 16), (24, 5.6, 3.1, 32), (12, 128, 50.0, 512)]:
        expected = scipy_signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        assert np.abs(lowpass_filter(numtaps, cutoff, width, fs).numpy() - expected).max() < 1e-7
        x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
        r = np.hypot(*np.meshgrid(x, x))
        jinc = scipy.special.j1(2 * cutoff * np.pi * r) / (np.pi * r)
        window = np.kaiser(numtaps, scipy_signal.kaiser_beta(scipy_signal.kaiser_atten(numtaps, width / (fs / 2))))
        radial = jinc * np.outer(window, window)
        radial /= radial.sum()
        assert np.abs(lowpass_filter(numtaps, cutoff, width, fs, radial=True).numpy() - radial).max() < 1e-7
    assert lowpass_filter(1, 1.0, 1.0, 4) is None
