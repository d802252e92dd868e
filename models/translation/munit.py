"""MUNIT (``AdaINGen``, ``MsImageDis``) and FUNIT (``FewShotGen``) with the parameter names of
NVlabs/MUNIT and NVlabs/FUNIT, so their ``gen_*.pt`` / ``dis_*.pt`` files load 1:1.

Both generators are the same auto-encoder: a style (FUNIT: class) encoder that pools a picture to a
code, a content encoder (instance norm, downsamplings, residual blocks), an MLP that turns the code
into the affine parameters of the decoder's adaptive instance norms, and a decoder (AdaIN residual
blocks, nearest ×2 upsampling + 5×5 convolutions, a 7×7 tanh output). The one architectural
difference is the norm of the decoder's upsampling convolutions: MUNIT's own :class:`LayerNorm`
(``gamma`` / ``beta`` keys), FUNIT's parameter-free instance norm.

What differs from the originals, on purpose:

- The AdaIN parameters are passed to the decoder as an argument instead of being assigned to the
  norm modules before each call, with one (weight, bias) per picture, so a batch of contents
  decodes with a batch of styles (or one content with many styles) in one call; the original can
  decode one style per call only. The results equal the original's one-by-one outputs.
- The encoders are separate calls: the original's ``encode`` always runs both, and its test script
  throws one result away (the style of the content picture, the content of the style picture).
- The AdaIN modules still register the original's ``running_mean`` / ``running_var`` buffers, so
  the files load strictly, but nothing reads them: they never influenced the original's output
  either (it normalises with batch statistics and discards its updated copies).
- Reflection padding is the convolutions' ``padding_mode`` rather than a separate module: PyTorch
  pads the same way before the same convolution, and the layer indices do not change because the
  original keeps its padding inside each block.
- Without gradients, the decoder's nearest ×2 upsampling and the 5×5 convolution after it run as
  one convolution of the small picture with 3×3 kernels folded from the 5×5 one (see
  :class:`_UpsampledConvKernels`): the same pictures (sums in another order), a third of the
  multiply-adds and no 4× upsampled copy. Training keeps the plain upsampling and convolution.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = ("relu", "lrelu", "tanh", "none")
PAD_TYPES = ("reflect", "zero")
INITS = ("kaiming", "gaussian", "xavier", "orthogonal", "default")

AdaINParams = list[tuple[torch.Tensor, torch.Tensor]]  # (weight, bias) per AdaIN layer, each [N, C]


def _activation(name: str) -> nn.Module | None:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "lrelu":
        return nn.LeakyReLU(0.2, inplace=True)
    if name == "tanh":
        return nn.Tanh()
    if name == "none":
        return None
    raise ValueError(f"unknown activation {name!r} ({', '.join(ACTIVATIONS)})")


def _padding_mode(pad_type: str) -> str:
    if pad_type not in PAD_TYPES:
        raise ValueError(f"unknown pad_type {pad_type!r} ({', '.join(PAD_TYPES)})")
    return "reflect" if pad_type == "reflect" else "zeros"


class AdaptiveInstanceNorm2d(nn.Module):
    """Instance norm whose per-picture scale and shift come from outside (the style MLP):
    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with each picture's and channel's mean and
    biased variance over H×W.

    ``running_mean`` / ``running_var`` exist only because the original's files carry them."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``weight`` and ``bias`` are ``[N, C]``; a batch of 1 on either side is shared by the other's."""
        n, channels, height, width = max(x.shape[0], weight.shape[0]), *x.shape[1:]
        x = x.expand(n, -1, -1, -1)
        weight, bias = weight.expand(n, -1), bias.expand(n, -1)
        # The batch norm kernel on a (1, N·C, H, W) view gives every picture and channel its own
        # statistics: the original's arithmetic, bit for bit, and PyTorch's fastest CPU path for it.
        # Without running statistics nothing is updated (the original updates throw-away copies).
        y = F.batch_norm(x.reshape(1, n * channels, height, width), None, None, weight.reshape(-1),
                         bias.reshape(-1), True, 0.0, self.eps)
        return y.view(n, channels, height, width)

    def extra_repr(self) -> str:
        return str(self.num_features)


class LayerNorm(nn.Module):
    """MUNIT's layer norm: each picture normalised by its mean and *unbiased* standard deviation
    over C×H×W, with ``eps`` added to the standard deviation (not to the variance, which is what
    ``nn.LayerNorm`` / ``nn.GroupNorm(1)`` do), then a per-channel ``gamma`` / ``beta``."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.gamma = nn.Parameter(torch.empty(num_features).uniform_())  # the original's initialisation
        self.beta = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std, mean = torch.std_mean(x.flatten(1), dim=1, correction=1)
        scale = self.gamma[None, :] / (std[:, None] + self.eps)  # [N, C]
        shift = self.beta[None, :] - mean[:, None] * scale
        return torch.addcmul(shift[:, :, None, None], x, scale[:, :, None, None])


def _norm(name: str, channels: int) -> nn.Module | None:
    if name == "none":
        return None
    if name == "in":
        return nn.InstanceNorm2d(channels)
    if name == "ln":
        return LayerNorm(channels)
    if name == "adain":
        return AdaptiveInstanceNorm2d(channels)
    if name == "bn":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"unknown norm {name!r} (none, in, ln, adain, bn)")


# A 5-tap kernel k0..k4 (padding 2) run over a nearest ×2 upsampled line reads, for the output
# pixel 2m (even) the low-resolution pixels m-1, m-1, m, m, m+1 and for 2m+1 (odd) m-1, m, m, m+1,
# m+1: on the small picture, a 3-tap kernel per output parity whose taps are sums of the 5 taps.
# _PHASE_TAPS[parity, low-resolution tap (m-1, m, m+1), 5×5 tap] says which of them each one sums.
_PHASE_TAPS = ((1, 1, 0, 0, 0), (0, 0, 1, 1, 0), (0, 0, 0, 0, 1)), ((1, 0, 0, 0, 0), (0, 1, 1, 0, 0), (0, 0, 0, 1, 1))
# Reflection padding of the *upsampled* line puts low-resolution pixels 1, 0 before its start (and
# H-1, H-2 after its end), which no padding of the small line can give both border outputs at once:
# replicate padding (pixel 0 before, H-1 after) is right for every output but the first and the
# last. The first reads pixels 1, 0, 0, 0, 1, a 2-tap kernel over (pixel 0, pixel 1); the last, by
# symmetry, the same kernel over (pixel H-1, pixel H-2).
_EDGE_TAPS = ((0, 1, 1, 1, 0), (1, 0, 0, 0, 1))


def _upsampled_reflection(n: int) -> torch.Tensor:
    """The low-resolution pixel that each position -2 … 2n+1 of a line of ``n`` pixels, nearest ×2
    upsampled and then reflection-padded by 2, shows."""
    position = torch.arange(-2, 2 * n + 2).abs()
    position = torch.where(position > 2 * n - 1, 2 * (2 * n - 1) - position, position)
    return position // 2


_EdgeIndex = tuple[torch.Tensor, torch.Tensor]  # (rows, columns) of the pixels gathered


@functools.lru_cache(maxsize=32)
def _edge_indices(height: int, width: int) -> tuple[_EdgeIndex, _EdgeIndex]:
    """The pixels of an ``H×W`` picture that the edge outputs of :class:`_UpsampledConvKernels`
    read, as (row, column) index pairs in the order of its edge kernels' taps.

    Rows: ``[row tap (2), column tap (5), line (first, last), output column (2W)]``, the row taps
    being rows (0, 1) for the first line and (H-1, H-2) for the last. Columns, the corners left
    out (the rows have them): ``[row tap (5), column tap (2), line, output row 1 … 2H-2]``."""
    rows, columns = _upsampled_reflection(height), _upsampled_reflection(width)
    edge_rows = torch.tensor([[0, 1], [height - 1, height - 2]])  # [line, tap]
    column_taps = columns.unfold(0, 5, 1)  # [2W, 5]: output column o reads positions o-2 … o+2
    row_lines = torch.broadcast_tensors(edge_rows.T[:, None, :, None], column_taps.T[None, :, None, :])
    edge_columns = torch.tensor([[0, 1], [width - 1, width - 2]])
    row_taps = rows.unfold(0, 5, 1)[1:-1]  # [2H-2, 5]
    column_lines = torch.broadcast_tensors(row_taps.T[:, None, None, :], edge_columns.T[None, :, :, None])
    return ((row_lines[0].flatten(), row_lines[1].flatten()),
            (column_lines[0].flatten(), column_lines[1].flatten()))


class _UpsampledConvKernels:
    """A 5×5, stride-1, padding-2 convolution of a nearest ×2 upsampled picture, run on the
    picture itself: one convolution with four 3×3 kernels per output channel (one per output
    parity, ``pixel_shuffle`` interleaves them), 9 multiply-adds per output pixel instead of 25 and
    no 4× upsampled copy (nor its padded copy). Zero padding of the upsampled picture is zero
    padding of the small one, so that case is complete. With reflection padding the small picture
    is padded by replication, which leaves the first and last output rows and columns wrong; those
    four lines are computed again, each pixel from the 2×5 (5×2) low-resolution pixels it reads
    through the reflection (gathered by index) and a kernel folded the same way (the three middle
    taps, the two outer ones): two gathers and two matrix products, whatever the size.

    The folded sums are formed in float64 and rounded once, so the only difference from the plain
    path is the order of the convolution's sums (≈1e-7 relative in float32). The kernels are built
    from the convolution's weights at construction; :meth:`current` says whether they still are
    those weights (same storage, no in-place change since)."""

    def __init__(self, conv: nn.Conv2d) -> None:
        weight, bias = conv.weight.detach(), None if conv.bias is None else conv.bias.detach()
        # aliases of the weights folded: they keep that storage alive, so a pointer match below can
        # only mean the same tensor, and they share its version counter
        self._weight, self._bias = weight, bias
        self._versions = self._versions_of(weight, bias)
        self.reflect = conv.padding_mode == "reflect"
        out_dim, in_dim = weight.shape[:2]
        wide = weight.double()
        taps = torch.tensor(_PHASE_TAPS, dtype=torch.float64, device=weight.device)
        # [out, row parity, column parity, in, 3, 3] → pixel_shuffle's channel order out·4 + 2·row + column
        phases = torch.einsum("ipk,jql,ockl->oijcpq", taps, taps, wide)
        self.phases = phases.reshape(4 * out_dim, in_dim, 3, 3).to(weight.dtype).contiguous()
        self.phase_bias = None if bias is None else bias.repeat_interleave(4)
        self.bias = None if bias is None else bias[:, None]
        if self.reflect:
            edge = torch.tensor(_EDGE_TAPS, dtype=torch.float64, device=weight.device)
            # [out, in·2·5] in _edge_indices' tap order: rows folded for the first / last row,
            # columns folded for the first / last column
            self.row_edge = torch.einsum("ak,ockl->ocal", edge, wide).reshape(out_dim, -1).to(weight.dtype)
            self.column_edge = torch.einsum("bl,ockl->ockb", edge, wide).reshape(out_dim, -1).to(weight.dtype)

    @staticmethod
    def _versions_of(weight: torch.Tensor, bias: torch.Tensor | None) -> tuple[int, int] | None:
        if weight.is_inference() or (bias is not None and bias.is_inference()):
            return None  # inference tensors keep no version counter: such kernels are never reused
        return weight._version, -1 if bias is None else bias._version

    @staticmethod
    def applies(conv: nn.Conv2d, x: torch.Tensor) -> bool:
        """Whether ``conv`` of ``x`` upsampled can run folded: inference (no gradient recorded,
        the plain path stays for training), a float32 / float64 4-D picture of the weights' dtype,
        the decoder's 5×5 convolution, and sides of at least 2 where reflected (the upsampled
        picture must be wider than the padding; the plain path raises the original's error)."""
        if torch.is_grad_enabled() or x.dim() != 4 or x.dtype not in (torch.float32, torch.float64):
            return False
        if x.dtype != conv.weight.dtype or x.device != conv.weight.device:
            return False
        if (conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups) != ((5, 5), (1, 1), (2, 2),
                                                                                          (1, 1), 1):
            return False
        if conv.padding_mode == "reflect":
            return min(x.shape[2:]) >= 2
        return conv.padding_mode == "zeros"

    def current(self, conv: nn.Conv2d) -> bool:
        """Whether these kernels were folded from ``conv``'s present weights."""
        weight, bias = conv.weight, conv.bias
        if self._versions is None or (bias is None) != (self._bias is None):
            return False
        if weight.data_ptr() != self._weight.data_ptr() or weight.shape != self._weight.shape:
            return False
        if bias is not None and (bias.data_ptr() != self._bias.data_ptr() or bias.shape != self._bias.shape):
            return False
        return self._versions_of(weight, bias) == self._versions

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution of ``x`` upsampled ×2 (nearest): ``[N, out, 2H, 2W]``."""
        if not self.reflect:
            return F.pixel_shuffle(F.conv2d(x, self.phases, self.phase_bias, padding=1), 2)
        height, width = x.shape[2:]
        y = F.pixel_shuffle(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.phases, self.phase_bias), 2)
        row_lines, column_lines = _edge_indices(height, width)
        y[:, :, ::2 * height - 1] = self._edge_lines(x, self.row_edge, row_lines, 2 * width)
        y[:, :, 1:-1, ::2 * width - 1] = self._edge_lines(x, self.column_edge, column_lines,
                                                          2 * height - 2).transpose(2, 3)
        return y

    def _edge_lines(self, x: torch.Tensor, kernel: torch.Tensor, index: _EdgeIndex, length: int) -> torch.Tensor:
        """Two edge lines of ``length`` outputs, ``[N, out, 2, length]``, from the picture ``x``:
        the pixels each output reads gathered by ``index`` (one gather, whatever ``x``'s memory
        layout), times ``kernel``."""
        n = x.shape[0]
        rows, columns = (i.to(x.device) for i in index)
        taps = x[:, :, rows, columns].reshape(n, kernel.shape[1], 2 * length)  # [N, in·10, 2·length]
        lines = torch.matmul(kernel, taps)  # [N, out, 2·length]
        if self.bias is not None:
            lines += self.bias
        return lines.view(n, -1, 2, length)


class Conv2dBlock(nn.Module):
    """Convolution (with its padding), norm, activation: the originals' ``Conv2dBlock`` with keys
    ``norm.*`` then ``conv.weight`` / ``conv.bias`` (the original registers the norm first)."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int, padding: int = 0, norm: str = "none",
                 activation: str = "relu", pad_type: str = "zero") -> None:
        super().__init__()
        self.norm = _norm(norm, out_dim)
        self.activation = _activation(activation)
        self.conv = nn.Conv2d(in_dim, out_dim, kernel, stride, padding, padding_mode=_padding_mode(pad_type))

    def forward(self, x: torch.Tensor, adain: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        return self._after_conv(self.conv(x), adain)

    def forward_upsampled(self, x: torch.Tensor) -> torch.Tensor | None:
        """``forward(nearest ×2 upsampled x)`` through the folded kernels of
        :class:`_UpsampledConvKernels` where they apply; ``None`` where they do not (gradients
        recorded, another convolution or dtype, a picture too small to reflect), so that the caller
        runs its own upsampling module and :meth:`forward` instead."""
        if not _UpsampledConvKernels.applies(self.conv, x):
            return None
        kernels = getattr(self, "_folded", None)
        if kernels is None or not kernels.current(self.conv):
            kernels = _UpsampledConvKernels(self.conv)
            # a plain attribute, not a buffer: no state_dict key, and rebuilt when the weights change
            self._folded = kernels
        return self._after_conv(kernels(x), None)

    def _after_conv(self, x: torch.Tensor, adain: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        if isinstance(self.norm, AdaptiveInstanceNorm2d):
            if adain is None:
                raise ValueError("an AdaIN block needs its (weight, bias) from the style code")
            x = self.norm(x, *adain)
        elif self.norm is not None:
            x = self.norm(x)
        if self.activation is not None:
            x = self.activation(x)
        return x


class ResBlock(nn.Module):
    """``x + (conv3×3-norm-act, conv3×3-norm)(x)``."""

    def __init__(self, dim: int, norm: str, activation: str, pad_type: str) -> None:
        super().__init__()
        self.model = nn.Sequential(Conv2dBlock(dim, dim, 3, 1, 1, norm, activation, pad_type),
                                   Conv2dBlock(dim, dim, 3, 1, 1, norm, "none", pad_type))

    def forward(self, x: torch.Tensor, adain: AdaINParams | None = None) -> torch.Tensor:
        first, second = self.model
        out = second(first(x, adain[0] if adain else None), adain[1] if adain else None)
        if torch.is_grad_enabled():
            return out + x
        return out.add_(x)  # out is this block's own temporary (and already of the broadcast batch)


class ResBlocks(nn.Module):
    """``num_blocks`` residual blocks; with AdaIN, two (weight, bias) pairs per block in order."""

    def __init__(self, num_blocks: int, dim: int, norm: str, activation: str, pad_type: str) -> None:
        super().__init__()
        self.model = nn.Sequential(*(ResBlock(dim, norm, activation, pad_type) for _ in range(num_blocks)))

    def forward(self, x: torch.Tensor, adain: AdaINParams | None = None) -> torch.Tensor:
        for i, block in enumerate(self.model):
            x = block(x, adain[2 * i:2 * i + 2] if adain else None)
        return x


class LinearBlock(nn.Module):
    """``fc`` then the activation (the style MLP has no norm)."""

    def __init__(self, in_dim: int, out_dim: int, activation: str = "relu") -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.activation = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc(x)
        return x if self.activation is None else self.activation(x)


class MLP(nn.Module):
    """Style code → AdaIN parameters: ``n_blk`` linear layers, no activation after the last."""

    def __init__(self, in_dim: int, out_dim: int, dim: int, n_blk: int, activation: str = "relu") -> None:
        super().__init__()
        if n_blk < 2:
            raise ValueError(f"the style MLP needs at least 2 layers, not {n_blk}")
        layers = [LinearBlock(in_dim, dim, activation)]
        layers += [LinearBlock(dim, dim, activation) for _ in range(n_blk - 2)]
        layers.append(LinearBlock(dim, out_dim, "none"))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.flatten(1))


class StyleEncoder(nn.Module):
    """c7s1-dim, two stride-2 4×4 convolutions doubling the width, ``n_downsample - 2`` more at that
    width, global average pooling, 1×1 convolution to the code: ``[N, style_dim, 1, 1]``. No norm.
    MUNIT's ``enc_style`` (``n_downsample`` 4) and FUNIT's ``enc_class_model``."""

    def __init__(self, n_downsample: int, input_dim: int, dim: int, style_dim: int, activation: str,
                 pad_type: str) -> None:
        super().__init__()
        if n_downsample < 2:
            raise ValueError(f"the style encoder needs at least 2 downsamplings, not {n_downsample}")
        layers: list[nn.Module] = [Conv2dBlock(input_dim, dim, 7, 1, 3, "none", activation, pad_type)]
        for i in range(n_downsample):
            out = dim * 2 if i < 2 else dim
            layers.append(Conv2dBlock(dim, out, 4, 2, 1, "none", activation, pad_type))
            dim = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1)]
        self.model = nn.Sequential(*layers)
        self.output_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ContentEncoder(nn.Module):
    """c7s1-dim, ``n_downsample`` stride-2 4×4 convolutions doubling the width, ``n_res`` residual
    blocks; instance norm (no parameters) throughout. Output ``[N, dim·2^n, H/2^n, W/2^n]``."""

    def __init__(self, n_downsample: int, n_res: int, input_dim: int, dim: int, activation: str,
                 pad_type: str) -> None:
        super().__init__()
        layers: list[nn.Module] = [Conv2dBlock(input_dim, dim, 7, 1, 3, "in", activation, pad_type)]
        for _ in range(n_downsample):
            layers.append(Conv2dBlock(dim, dim * 2, 4, 2, 1, "in", activation, pad_type))
            dim *= 2
        layers.append(ResBlocks(n_res, dim, "in", activation, pad_type))
        self.model = nn.Sequential(*layers)
        self.output_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Decoder(nn.Module):
    """AdaIN residual blocks, ``n_upsample`` × (nearest ×2, conv5×5 + ``up_norm``), c7s1-output tanh.
    ``up_norm`` is "ln" for MUNIT and "in" for FUNIT."""

    def __init__(self, n_upsample: int, n_res: int, dim: int, output_dim: int, up_norm: str, activation: str,
                 pad_type: str) -> None:
        super().__init__()
        layers: list[nn.Module] = [ResBlocks(n_res, dim, "adain", activation, pad_type)]
        for _ in range(n_upsample):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       Conv2dBlock(dim, dim // 2, 5, 1, 2, up_norm, activation, pad_type)]
            dim //= 2
        layers.append(Conv2dBlock(dim, output_dim, 7, 1, 3, "none", "tanh", pad_type))
        self.model = nn.Sequential(*layers)
        # the AdaIN layers' widths in the order the MLP's output feeds them (module order)
        self.adain_widths = [m.num_features for m in self.modules() if isinstance(m, AdaptiveInstanceNorm2d)]

    @property
    def num_adain_params(self) -> int:
        return 2 * sum(self.adain_widths)

    def split_adain(self, params: torch.Tensor) -> AdaINParams:
        """The MLP output ``[N, P]`` as (weight, bias) per AdaIN layer: each layer takes the next
        2·C entries, the first C its bias (mean), the next C its weight (std)."""
        pairs: AdaINParams = []
        offset = 0
        for width in self.adain_widths:
            bias = params[:, offset:offset + width]
            weight = params[:, offset + width:offset + 2 * width]
            pairs.append((weight, bias))
            offset += 2 * width
        return pairs

    def forward(self, content: torch.Tensor, adain_params: torch.Tensor) -> torch.Tensor:
        layers = list(self.model)
        x = layers[0](content, self.split_adain(adain_params))
        for upsample, block in zip(layers[1:-1:2], layers[2:-1:2], strict=True):
            y = block.forward_upsampled(x)  # the upsampling folded into the convolution (inference)
            x = block(upsample(x)) if y is None else y
        return layers[-1](x)


def _style_batch(style: torch.Tensor, style_dim: int) -> torch.Tensor:
    if style.dim() not in (2, 4) or style.shape[1] != style_dim or (style.dim() == 4 and style.shape[2:] != (1, 1)):
        raise ValueError(f"a style code here is [N, {style_dim}, 1, 1] (or [N, {style_dim}]), "
                         f"not {list(style.shape)}")
    return style.flatten(1)


def _decode(dec: Decoder, mlp: MLP, content: torch.Tensor, code: torch.Tensor, code_dim: int) -> torch.Tensor:
    code = _style_batch(code, code_dim)
    if content.shape[0] != code.shape[0] and 1 not in (content.shape[0], code.shape[0]):
        raise ValueError(f"{content.shape[0]} content codes and {code.shape[0]} style codes: give as many of "
                         "each, or one of either")
    return dec(content, mlp(code))


class AdaINGen(nn.Module):
    """MUNIT's generator of one domain (``gen_a`` / ``gen_b``): ``enc_style``, ``enc_content``,
    ``dec``, ``mlp``. The arguments are the original's ``gen:`` settings plus ``input_dim`` (the
    domain's picture channels) and ``n_mlp`` (the original fixes 3)."""

    def __init__(self, input_dim: int = 3, dim: int = 64, style_dim: int = 8, n_downsample: int = 2, n_res: int = 4,
                 activ: str = "relu", pad_type: str = "reflect", mlp_dim: int = 256, n_mlp: int = 3) -> None:
        super().__init__()
        self.style_dim = style_dim
        self.size_multiple = 2 ** n_downsample
        self.enc_style = StyleEncoder(4, input_dim, dim, style_dim, activ, pad_type)
        self.enc_content = ContentEncoder(n_downsample, n_res, input_dim, dim, activ, pad_type)
        self.dec = Decoder(n_downsample, n_res, self.enc_content.output_dim, input_dim, "ln", activ, pad_type)
        self.mlp = MLP(style_dim, self.dec.num_adain_params, mlp_dim, n_mlp, activ)

    def encode_style(self, x: torch.Tensor) -> torch.Tensor:
        """Pictures ``[N, input_dim, H, W]`` in [-1, 1] → style codes ``[N, style_dim, 1, 1]``."""
        return self.enc_style(x)

    def encode_content(self, x: torch.Tensor) -> torch.Tensor:
        """Pictures → content codes ``[N, dim·2^n_downsample, H/2^n, W/2^n]``."""
        return self.enc_content(x)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(content, style), as the original's ``encode``."""
        return self.encode_content(x), self.encode_style(x)

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Content codes and style codes (as many of each, or one of either) → pictures in [-1, 1]."""
        return _decode(self.dec, self.mlp, content, style, self.style_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction: the pictures decoded from their own content and style."""
        content, style = self.encode(x)
        return self.decode(content, style)


class FewShotGen(nn.Module):
    """FUNIT's generator (``gen`` / ``gen_test``): ``enc_class_model``, ``enc_content``, ``dec``,
    ``mlp``; the arguments are the original's ``gen:`` settings. RGB only, as the original."""

    def __init__(self, nf: int = 64, nf_mlp: int = 256, latent_dim: int = 64, n_mlp_blks: int = 3,
                 n_res_blks: int = 2, n_downs_content: int = 3, n_downs_class: int = 4) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.size_multiple = 2 ** n_downs_content
        self.enc_class_model = StyleEncoder(n_downs_class, 3, nf, latent_dim, "relu", "reflect")
        self.enc_content = ContentEncoder(n_downs_content, n_res_blks, 3, nf, "relu", "reflect")
        self.dec = Decoder(n_downs_content, n_res_blks, self.enc_content.output_dim, 3, "in", "relu", "reflect")
        self.mlp = MLP(latent_dim, self.dec.num_adain_params, nf_mlp, n_mlp_blks, "relu")

    def encode_class(self, x: torch.Tensor) -> torch.Tensor:
        """Pictures of one class → one code per picture ``[N, latent_dim, 1, 1]``."""
        return self.enc_class_model(x)

    def encode_content(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc_content(x)

    def decode(self, content: torch.Tensor, class_code: torch.Tensor) -> torch.Tensor:
        """Content codes and class codes (as many of each, or one of either) → pictures in [-1, 1]."""
        return _decode(self.dec, self.mlp, content, class_code, self.latent_dim)

    def forward(self, one_image: torch.Tensor, model_set: torch.Tensor) -> torch.Tensor:
        """The original's few-shot translation: ``one_image`` decoded with the mean code of the
        ``model_set`` pictures."""
        code = self.encode_class(model_set).mean(dim=0, keepdim=True)
        return self.decode(self.encode_content(one_image), code)


class MsImageDis(nn.Module):
    """MUNIT's multi-scale discriminator: ``num_scales`` PatchGANs (keys ``cnns.<scale>.*``), each
    fed a 3×3 average-pooled (stride 2) copy of the previous scale's input. The defaults are the
    shipped configurations' ``dis:`` settings. ``forward`` returns one logit map per scale."""

    def __init__(self, input_dim: int = 3, dim: int = 64, n_layer: int = 4, num_scales: int = 3, norm: str = "none",
                 activ: str = "lrelu", pad_type: str = "reflect", gan_type: str = "lsgan") -> None:
        super().__init__()
        if gan_type not in ("lsgan", "nsgan"):
            raise ValueError(f"unknown gan_type {gan_type!r} (lsgan, nsgan)")
        self.gan_type = gan_type
        self.cnns = nn.ModuleList(self._scale(input_dim, dim, n_layer, norm, activ, pad_type)
                                  for _ in range(num_scales))

    @staticmethod
    def _scale(input_dim: int, dim: int, n_layer: int, norm: str, activ: str, pad_type: str) -> nn.Sequential:
        layers: list[nn.Module] = [Conv2dBlock(input_dim, dim, 4, 2, 1, "none", activ, pad_type)]
        for _ in range(n_layer - 1):
            layers.append(Conv2dBlock(dim, dim * 2, 4, 2, 1, norm, activ, pad_type))
            dim *= 2
        layers.append(nn.Conv2d(dim, 1, 1))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for i, cnn in enumerate(self.cnns):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(cnn(x))
        return outputs


def init_weights(network: nn.Module, init: str = "kaiming") -> nn.Module:
    """The originals' ``weights_init``: every convolution's and linear layer's weight drawn by
    ``init`` (MUNIT and FUNIT train generators with "kaiming", MUNIT's discriminators with
    "gaussian", N(0, 0.02)), biases zero. Norm parameters keep their construction values."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r} ({', '.join(INITS)})")
    for module in network.modules():
        if not isinstance(module, nn.Conv2d | nn.Linear):
            continue
        if init == "kaiming":
            nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
        elif init == "gaussian":
            nn.init.normal_(module.weight, 0.0, 0.02)
        elif init == "xavier":
            nn.init.xavier_normal_(module.weight, gain=2 ** 0.5)
        elif init == "orthogonal":
            nn.init.orthogonal_(module.weight, gain=2 ** 0.5)
        if module.bias is not None:  # zeroed even with "default", as the original does
            nn.init.zeros_(module.bias)
    return network
