"""The pix2pix / CycleGAN networks with the parameter names of junyanz/pytorch-CycleGAN-and-pix2pix.

Module indices inside each ``nn.Sequential`` are part of the file format (``model.10.conv_block.5``),
so the layer lists below keep the original's order, including parameter-free layers (padding,
activations, dropout) whose position shifts the indices of what follows them.

Test-time behaviour is a property of the network, not of ``train()``/``eval()``: the original
``test.py`` leaves BatchNorm in training mode (per-picture statistics) and dropout on unless
``--eval`` is given. :func:`set_inference_mode` chooses "official" (that) or "eval" (running
statistics, no dropout) without touching the stored running statistics.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "instance", "none")
INFERENCE_MODES = ("official", "eval")


# ------------------------------------------------------------------------------------- CPU inference paths
#
# Under ``torch.no_grad`` / ``torch.inference_mode`` on the CPU in float32, some layers take a faster
# route to the same result (benchmarks/translation.py measures them against the original networks):
#
# - channels-last oneDNN kernels where they give the very same numbers as the NCHW ones but run
#   faster: the ResNet's first 7x7 convolution (few input channels) and the transposed convolutions
#   on large pictures; the result is turned back to NCHW by a blocked 2-D transpose, several times
#   faster than PyTorch's generic copy of that permutation, so the normalisations that follow
#   (whose NCHW kernels the output must match) see the layout they expect;
# - the U-Net's inner levels (at most 16x16 pixels, up to 32 MB of weights each) as one matrix
#   product on the weights as stored, instead of oneDNN reordering those weights on every call:
#   the same sums in another order, so not bit-identical (the ResNet paths are): measured within
#   7.7e-6 of the original's outputs over 72 random U-Net configurations (sizes, widths, norms,
#   channels, batch 1 and 2, both test modes), about 1e-6 with the zoo's trained weights;
# - in-place residual sums and leaky ReLUs.
#
# Training (gradients on) always takes PyTorch's plain path, and so do other devices and dtypes.


def _fast_inference(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled()


def _to_nchw(y: torch.Tensor) -> torch.Tensor:
    """``y`` (channels-last) as a contiguous NCHW tensor, one 2-D transpose per picture."""
    if y.is_contiguous():
        return y
    n, c, h, w = y.shape
    out = torch.empty((n, c, h, w), dtype=y.dtype, device=y.device)
    for i in range(n):
        out[i].view(c, h * w).copy_(y[i].permute(1, 2, 0).reshape(h * w, c).t())
    return out


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters) with the CPU inference paths above: ``channels_last`` runs
    oneDNN's channels-last kernel; inputs of at most ``matmul_pixels`` pixels run as unfold + one
    matrix product."""

    channels_last = False
    matmul_pixels = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _fast_inference(x) and self.padding_mode == "zeros" and self.groups == 1:
            if x.shape[-2] * x.shape[-1] <= self.matmul_pixels:
                n = x.shape[0]
                height, width = (
                    (size + 2 * p - k) // s + 1
                    for size, p, k, s in zip(x.shape[-2:], self.padding, self.kernel_size, self.stride, strict=True))
                columns = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
                y = torch.matmul(self.weight.view(self.out_channels, -1), columns)
                if self.bias is not None:
                    y += self.bias.view(1, -1, 1)
                return y.view(n, self.out_channels, height, width)
            if self.channels_last:
                return _to_nchw(super().forward(x.contiguous(memory_format=torch.channels_last)))
        return super().forward(x)


class ConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (same parameters) with the CPU inference paths above: inputs of at
    least ``channels_last_pixels`` pixels run oneDNN's channels-last kernel; inputs of at most
    ``matmul_pixels`` pixels run as one matrix product + fold (col2im)."""

    channels_last_pixels = 64 * 64
    matmul_pixels = 0

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if _fast_inference(x) and output_size is None and self.groups == 1 and self.dilation == (1, 1):
            pixels = x.shape[-2] * x.shape[-1]
            if pixels <= self.matmul_pixels:
                n, channels, height, width = x.shape
                size = [(s - 1) * st - 2 * p + k + op for s, st, p, k, op in
                        zip((height, width), self.stride, self.padding, self.kernel_size, self.output_padding,
                            strict=True)]
                # (x^T W)^T rather than W^T x: MKL streams the stored weights 2-3x faster this way round
                columns = torch.matmul(x.reshape(n, channels, pixels).transpose(1, 2),
                                       self.weight.view(channels, -1)).transpose(1, 2)
                y = F.fold(columns, size, self.kernel_size, padding=self.padding, stride=self.stride)
                if self.bias is not None:
                    y += self.bias.view(1, -1, 1, 1)
                return y
            if pixels >= self.channels_last_pixels:
                return _to_nchw(super().forward(x.contiguous(memory_format=torch.channels_last)))
        return super().forward(x, output_size)


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same state_dict) that can use the batch's statistics at inference
    without updating its running statistics, as the original test.py effectively does."""

    batch_statistics = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batch_statistics and not self.training:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return super().forward(x)


def norm_layer(norm: str) -> Callable[[int], nn.Module]:
    """The original's norm factory: affine BatchNorm with running statistics, InstanceNorm
    without affine parameters or running statistics, or nothing."""
    if norm == "batch":
        return lambda channels: BatchNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "instance":
        return lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"unknown norm {norm!r} ({', '.join(NORMS)})")


class ResnetBlock(nn.Module):
    """x + (pad, conv3x3, norm, ReLU, [dropout], pad, conv3x3, norm)(x)."""

    def __init__(self, dim: int, norm: str, use_dropout: bool, padding: str = "reflect") -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), norm == "instance"
        layers: list[nn.Module] = []
        for second in (False, True):
            if padding == "reflect":
                layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias)]
            else:  # "zero": the convolution pads, so there is no padding module
                layers += [nn.Conv2d(dim, dim, 3, padding=1, bias=bias)]
            layers.append(make_norm(dim))
            if not second:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return x + self.conv_block(x)
        return self.conv_block(x).add_(x)  # the same sum, without a new tensor


class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, ``n_blocks`` residual blocks at 4·ngf, two transposed
    upsamplings, c7s1-output with tanh. Input and output NCHW in [-1, 1]; sides multiples of 4."""

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, norm: str = "instance",
                 use_dropout: bool = False, n_blocks: int = 9, padding: str = "reflect") -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), norm == "instance"
        first = Conv2d(input_nc, ngf, 7, bias=bias)
        first.channels_last = True
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), first, make_norm(ngf), nn.ReLU(True)]
        for i in range(2):
            width = ngf * 2 ** i
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1, bias=bias), make_norm(width * 2),
                       nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm, use_dropout, padding) for _ in range(n_blocks)]
        for i in range(2):
            width = ngf * 2 ** (2 - i)
            layers += [ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       make_norm(width // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.size_multiple = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


# U-Net convolutions whose input has at most this many pixels run as one matrix product (measured
# on the CPU: faster up to these sizes, slower above, where unfold / fold cost more than they save).
MATMUL_PIXELS_DOWN = 8 * 8
MATMUL_PIXELS_UP = 16 * 16


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: down (LeakyReLU, conv4x4 s2, norm), the inner levels, up (ReLU,
    transposed conv4x4 s2, norm), and the level's input concatenated to its output.

    The original's first LeakyReLU works in place on the level's input, so the skip connection
    carries ``leaky_relu(x)``, not ``x``; the same is done here, explicitly."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False,
                 norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm, bias = norm_layer(norm), norm == "instance"
        input_nc = outer_nc if input_nc is None else input_nc
        down = Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        down.matmul_pixels = MATMUL_PIXELS_DOWN
        up = ConvTranspose2d(inner_nc if innermost else inner_nc * 2, outer_nc, 4, 2, 1, bias=bias or outermost)
        up.matmul_pixels = MATMUL_PIXELS_UP
        if outermost:
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, make_norm(outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, make_norm(inner_nc), submodule, nn.ReLU(True), up,
                      make_norm(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        x = F.leaky_relu(x, 0.2, inplace=not torch.is_grad_enabled())  # x is the outer level's temporary
        return torch.cat([x, self.model[1:](x)], 1)


class UnetGenerator(nn.Module):
    """The U-Net of pix2pix with ``num_downs`` levels (8: unet_256, 7: unet_128). Input and output
    NCHW in [-1, 1]; sides multiples of 2**num_downs."""

    def __init__(self, input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"a U-Net needs at least 5 levels, not {num_downs}")
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout)
        for outer in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * outer, ngf * outer * 2, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                             norm=norm)
        self.size_multiple = 2 ** num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """The PatchGAN discriminator (70x70 receptive field with ``n_layers`` 3): a map of real/fake
    logits, one per overlapping patch."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            out = ndf * min(2 ** n, 8)
            layers += [nn.Conv2d(width, out, 4, stride, 1, bias=bias), make_norm(out), nn.LeakyReLU(0.2, True)]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def set_inference_mode(network: nn.Module, mode: str) -> nn.Module:
    """Put a generator in eval mode and choose how its BatchNorm and dropout behave: "official"
    (batch statistics, dropout on: the original test.py) or "eval" (running statistics, no
    dropout: deterministic). Instance norm behaves the same either way."""
    if mode not in INFERENCE_MODES:
        raise ValueError(f"unknown mode {mode!r} ({', '.join(INFERENCE_MODES)})")
    network.eval()
    for module in network.modules():
        if isinstance(module, BatchNorm2d):
            module.batch_statistics = mode == "official"
        elif isinstance(module, nn.Dropout):
            module.train(mode == "official")
    return network


def is_stochastic(network: nn.Module) -> bool:
    """Whether the network's output depends on random draws in its current mode (dropout on)."""
    return any(isinstance(m, nn.Dropout) and m.training for m in network.modules())
