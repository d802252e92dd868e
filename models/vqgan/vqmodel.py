"""taming-transformers' VQGAN autoencoder (``VQModel``, ``GumbelVQ``, ``EMAVQ``) with its parameter
names, so official checkpoints load unchanged.

Pictures are NCHW in -1..1 (taming's convention). The encoder downsamples by
``2 ** (len(ch_mult) - 1)`` (the "f16" of vqgan_imagenet_f16_1024); attention blocks sit at the
levels listed in ``attn_levels`` (taming's configs name resolutions instead: see
:func:`attn_levels_from_resolutions`) and always in the middle.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


def attn_levels_from_resolutions(resolution: int, levels: int, attn_resolutions: Sequence[int]) -> list[int]:
    """The levels (0 = full resolution) where taming puts attention, given the config's nominal
    ``resolution`` and ``attn_resolutions`` (it compares the nominal size, not the input's)."""
    return [level for level in range(levels) if resolution // 2 ** level in set(attn_resolutions)]


class ResnetBlock(nn.Module):
    """GroupNorm, swish, 3x3 conv, twice; a 1x1 ``nin_shortcut`` when the width changes."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = _norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = _norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all positions, with 1x1 q/k/v/proj_out convolutions."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = _norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        h = self.norm(x)
        q, k, v = (conv(h).reshape(b, 1, c, height * width).transpose(2, 3) for conv in (self.q, self.k, self.v))
        # PyTorch's fused attention: the same softmax(q k^T / sqrt(c)) v without the hw x hw matrix
        # in memory where a memory-efficient kernel exists.
        h = F.scaled_dot_product_attention(q, k, v).transpose(2, 3).reshape(b, c, height, width)
        return x + self.proj_out(h)


class Downsample(nn.Module):
    """Stride-2 3x3 conv after padding one pixel right and bottom (taming's asymmetric padding),
    or 2x2 average pooling without a conv."""

    def __init__(self, channels: int, with_conv: bool) -> None:
        super().__init__()
        if with_conv:
            self.conv = nn.Conv2d(channels, channels, 3, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "conv"):
            return self.conv(F.pad(x, (0, 1, 0, 1)))
        return F.avg_pool2d(x, 2, 2)


class Upsample(nn.Module):
    """Nearest x2, then a 3x3 conv (when ``with_conv``)."""

    def __init__(self, channels: int, with_conv: bool) -> None:
        super().__init__()
        if with_conv:
            self.conv = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x) if hasattr(self, "conv") else x


class _Middle(nn.Module):
    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels, dropout)
        self.attn_1 = AttnBlock(channels)
        self.block_2 = ResnetBlock(channels, channels, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


class _Level(nn.Module):
    """One resolution of the encoder (``down.N``) or decoder (``up.N``)."""

    def __init__(self, in_channels: int, out_channels: int, blocks: int, attention: bool, dropout: float) -> None:
        super().__init__()
        self.block = nn.ModuleList(ResnetBlock(in_channels if i == 0 else out_channels, out_channels, dropout)
                                   for i in range(blocks))
        self.attn = nn.ModuleList(AttnBlock(out_channels) for _ in range(blocks if attention else 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, block in enumerate(self.block):
            x = block(x)
            if len(self.attn):
                x = self.attn[i](x)
        return x


class Encoder(nn.Module):
    def __init__(self, *, ch: int, ch_mult: Sequence[int], num_res_blocks: int, attn_levels: Sequence[int],
                 in_channels: int, z_channels: int, double_z: bool = False, resamp_with_conv: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, 3, 1, 1)
        self.down = nn.ModuleList()
        width = ch
        for level, mult in enumerate(ch_mult):
            down = _Level(width, ch * mult, num_res_blocks, level in attn_levels, dropout)
            width = ch * mult
            if level != len(ch_mult) - 1:
                down.downsample = Downsample(width, resamp_with_conv)
            self.down.append(down)
        self.mid = _Middle(width, dropout)
        self.norm_out = _norm(width)
        self.conv_out = nn.Conv2d(width, 2 * z_channels if double_z else z_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for down in self.down:
            h = down(h)
            if hasattr(down, "downsample"):
                h = down.downsample(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class Decoder(nn.Module):
    def __init__(self, *, ch: int, out_ch: int, ch_mult: Sequence[int], num_res_blocks: int,
                 attn_levels: Sequence[int], z_channels: int, resamp_with_conv: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        width = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, width, 3, 1, 1)
        self.mid = _Middle(width, dropout)
        levels: list[nn.Module] = []
        for level in reversed(range(len(ch_mult))):
            up = _Level(width, ch * ch_mult[level], num_res_blocks + 1, level in attn_levels, dropout)
            width = ch * ch_mult[level]
            if level != 0:
                up.upsample = Upsample(width, resamp_with_conv)
            levels.insert(0, up)
        self.up = nn.ModuleList(levels)  # indexed by level, run from the coarsest
        self.norm_out = _norm(width)
        self.conv_out = nn.Conv2d(width, out_ch, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for up in reversed(self.up):
            h = up(h)
            if hasattr(up, "upsample"):
                h = up.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def nearest_codes(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook row for each position of ``z`` [N, C, H, W] -> [N, H, W], with
    taming's distance expansion ``|z|^2 + |e|^2 - 2 z.e`` (so near-ties resolve as they do there)."""
    flat = z.movedim(1, -1).reshape(-1, z.shape[1])
    distance = (flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1)
                - 2 * torch.einsum("bd,dn->bn", flat, codebook.t()))
    return distance.argmin(1).view(z.shape[0], *z.shape[2:])


def straight_through(z: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """``z_q`` forward, the identity's gradient backward (taming's ``z + (z_q - z).detach()``)."""
    return z + (z_q - z).detach()


class VectorQuantizer(nn.Module):
    """taming's ``VectorQuantizer2`` (also the EMA variant's ``embedding``): nearest codebook row."""

    def __init__(self, n_embed: int, embed_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_embed, embed_dim)

    @property
    def codebook(self) -> torch.Tensor:
        return self.embedding.weight

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        return nearest_codes(z, self.codebook)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return straight_through(z, self.lookup(self.codes(z)))

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [N, H, W] -> quantized latent [N, embed_dim, H, W]."""
        return self.codebook[codes].movedim(-1, 1)


class GumbelQuantize(nn.Module):
    """taming's ``GumbelQuantize``: a 1x1 ``proj`` gives logits over the codebook ``embed``.

    taming draws Gumbel noise even in eval mode, so its encoding is random; here the code is the
    logits' argmax, the noise-free choice (what its hard sample converges to as tau -> 0).
    """

    def __init__(self, num_hiddens: int, embed_dim: int, n_embed: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(num_hiddens, n_embed, 1)
        self.embed = nn.Embedding(n_embed, embed_dim)

    @property
    def codebook(self) -> torch.Tensor:
        return self.embed.weight

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        return self.proj(z).argmax(1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.lookup(self.codes(z))

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        return self.codebook[codes].movedim(-1, 1)


class VQModel(nn.Module):
    """Encoder, ``quant_conv``, quantizer, ``post_quant_conv``, decoder.

    ``encode(x)`` is taming's ``encode(x)[0]`` (the quantized latent), ``decode(z_q)`` its
    ``decode``. ``gumbel`` selects the Gumbel quantizer (``GumbelVQ`` checkpoints).
    """

    def __init__(self, *, embed_dim: int, n_embed: int, ch: int, ch_mult: Sequence[int], num_res_blocks: int,
                 attn_levels: Sequence[int], z_channels: int, in_channels: int = 3, out_ch: int = 3,
                 double_z: bool = False, resamp_with_conv: bool = True, dropout: float = 0.0,
                 gumbel: bool = False) -> None:
        super().__init__()
        shape = dict(ch=ch, ch_mult=list(ch_mult), num_res_blocks=num_res_blocks, attn_levels=list(attn_levels),
                     z_channels=z_channels, resamp_with_conv=resamp_with_conv, dropout=dropout)
        self.encoder = Encoder(in_channels=in_channels, double_z=double_z, **shape)
        self.decoder = Decoder(out_ch=out_ch, **shape)
        self.quantize = GumbelQuantize(z_channels, embed_dim, n_embed) if gumbel else VectorQuantizer(n_embed,
                                                                                                      embed_dim)
        self.quant_conv = nn.Conv2d(z_channels, embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, z_channels, 1)
        self.factor = 2 ** (len(ch_mult) - 1)
        self.embed_dim, self.n_embed, self.gumbel = embed_dim, n_embed, gumbel

    @property
    def codebook(self) -> torch.Tensor:
        """[n_embed, embed_dim]: the vectors a quantized latent is made of."""
        return self.quantize.codebook

    def encode_prequant(self, x: torch.Tensor) -> torch.Tensor:
        """The latent before quantization (after ``quant_conv``)."""
        return self.quant_conv(self.encoder(x))

    def encode_codes(self, x: torch.Tensor) -> torch.Tensor:
        """Codebook indices [N, H/f, W/f]."""
        return self.quantize.codes(self.encode_prequant(x))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantize(self.encode_prequant(x))

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(z_q))

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decode(self.quantize.lookup(codes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
