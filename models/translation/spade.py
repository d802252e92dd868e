"""SPADE (GauGAN) generator and its VAE style encoder with the parameter names of NVlabs/SPADE.

The original wraps the residual blocks' convolutions (and all of the encoder's) in torch's
spectral norm, so its files hold ``weight_orig``, ``weight_u`` and ``weight_v`` where a plain
convolution holds ``weight``. At test time (eval mode) torch's spectral norm runs no power
iteration: it divides ``weight_orig`` by ``σ = u·(W v)`` computed from the *stored* u and v, the
same number on every call. :func:`fold_spectral_norm` does that division once, so the modules here
hold the plain ``weight`` the original computes at each forward; :func:`file_layout` gives back the
names and shapes the original's file has.

Sizes: the original fixes the output size in its options (``crop_size``, ``aspect_ratio``); here
it follows the input, a latent grid of ``H / 2**k × W / 2**k`` (k = 5, 6, 7 for "normal", "more",
"most"), which is the original's grid for an input of its native size. The VAE variant has no
such freedom: its ``fc`` layer fixes the number of latent cells, see
:meth:`SPADEGenerator.latent_grid`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLINGS = {"normal": 5, "more": 6, "most": 7}  # number of ×2 upsamplings after the latent grid
PARAM_FREE_NORMS = ("batch", "instance")
HIDDEN = 128  # width of every SPADE module's shared embedding (fixed in the original; ours reads it off the file)
ENCODER_NORMS = ("instance", "batch", "none")
ENCODER_SIZE = 256  # the encoder resizes every picture to this square


# ------------------------------------------------------------------------------------------ spectral norm


def fold_spectral_norm(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state_dict with every spectral-normed ``X.weight_orig`` / ``X.weight_u`` / ``X.weight_v``
    replaced by the ``X.weight`` torch's spectral norm uses in eval mode, ``weight_orig / σ`` with
    ``σ = u · (W_mat v)`` and ``W_mat = weight_orig.reshape(out, -1)``: the same operations in the
    same precision, so the folded weight is the one the original computes.

    Files of torch 0.4 (``weight_orig``, ``weight_u`` and the computed ``weight``, no ``weight_v``)
    use the σ torch's compatibility hook derives for them, ``mean(weight_orig / weight)``.
    Other entries pass unchanged; the order of the keys is kept.
    """
    folded: dict[str, torch.Tensor] = {}
    # a module's key prefix, "" for a bare module's own state
    spectral = {key[: -len("weight_orig")] for key in tensors if key.rpartition(".")[2] == "weight_orig"}
    for key, value in tensors.items():
        head, _, leaf = key.rpartition(".")
        prefix = f"{head}." if head else ""
        if prefix not in spectral:
            folded[key] = value
            continue
        if leaf in ("weight_u", "weight_v") or (leaf == "weight" and f"{prefix}weight_v" not in tensors):
            continue
        if leaf != "weight_orig":
            folded[key] = value
            continue
        # float32 at least: torch would run a half-precision file's σ in half precision, which
        # only loses accuracy; float32 files take exactly the original's operations
        original = value.float() if value.dtype in (torch.float16, torch.bfloat16) else value
        if f"{prefix}weight_v" in tensors:
            u, v = (tensors[f"{prefix}weight_{n}"].to(original.dtype) for n in "uv")
            sigma = torch.dot(u, torch.mv(original.reshape(original.shape[0], -1), v))
        elif f"{prefix}weight" in tensors:
            sigma = (original / tensors[f"{prefix}weight"].to(original.dtype)).mean()
        else:
            raise ValueError(f"{key} has neither {prefix}weight_v nor {prefix}weight: not a spectral-norm state")
        folded[f"{prefix}weight"] = original / sigma
    return folded


def file_layout(network: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of the file the original writes for ``network``, in its order: the modules
    named in ``network.spectral_modules`` carry ``bias`` (if any), ``weight_orig``, ``weight_u``
    [out] and ``weight_v`` [in·kh·kw] instead of ``weight``, the order torch's spectral norm leaves
    them in. Works on the meta device."""
    spectral = set(getattr(network, "spectral_modules", ()))
    rows: list[tuple[str, tuple[int, ...]]] = []
    for name, module in network.named_modules():
        local = [(k, tuple(v.shape)) for k, v in module.state_dict(keep_vars=True).items() if "." not in k]
        if name in spectral:
            weight = dict(local)["weight"]
            local = [(k, s) for k, s in local if k != "weight"]
            parameters = [(k, s) for k, s in local if k in module._parameters] + [("weight_orig", weight)]
            buffers = [(k, s) for k, s in local if k not in module._parameters]
            local = parameters + buffers + [("weight_u", (weight[0],)), ("weight_v", (math.prod(weight[1:]),))]
        rows += [(f"{name}.{k}" if name else k, s) for k, s in local]
    return rows


# --------------------------------------------------------------------------------------------- generator


def _fast(x: torch.Tensor) -> bool:
    """In-place arithmetic is safe when no gradient is recorded."""
    return not torch.is_grad_enabled()


# CPU float32 inference runs the blocks of at least this many pixels channels-last, where the
# SPADE modules' convolutions of the semantic map and of the 128-channel embedding dominate:
# oneDNN's channels-last kernels were measured 1.2x faster there than NCHW (one thread, CPU time;
# more on two threads), the same sums in another order (within 2e-6 of the original's pictures
# over the parity configurations). The small low-resolution blocks keep NCHW and the original's
# exact sums: with instance norm over a handful of pixels, rounding differences grow by the
# inverse of a tiny standard deviation.
CHANNELS_LAST_PIXELS = 64 * 64


def _channels_last(x: torch.Tensor) -> bool:
    """Whether this forward may run its large blocks channels-last (see ``CHANNELS_LAST_PIXELS``)."""
    return x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled()


def _nearest(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``F.interpolate(x, size, mode="nearest")``. Shrinking by a whole factor picks pixels
    ``f·i`` (torch's ``floor(i · in / out)`` is exact then), so a strided copy gives the very same
    values without the full-size copy torch's kernel makes for large factors."""
    height, width = x.shape[-2:]
    if (height, width) == tuple(size):
        return x
    if height % size[0] == 0 and width % size[1] == 0:
        return x[..., :: height // size[0], :: width // size[1]].contiguous()
    return F.interpolate(x, size=size, mode="nearest")


class SPADE(nn.Module):
    """Spatially-adaptive normalisation: a parameter-free norm of ``x`` scaled by ``1 + γ`` and
    shifted by ``β``, both convolved from the semantic map at ``x``'s size."""

    def __init__(self, norm_nc: int, semantic_nc: int, kernel_size: int = 3, param_free_norm: str = "batch",
                 hidden: int = HIDDEN) -> None:
        super().__init__()
        if param_free_norm == "batch":  # the original's SynchronizedBatchNorm2d has BatchNorm2d's state and maths
            self.param_free_norm: nn.Module = nn.BatchNorm2d(norm_nc, affine=False)
        elif param_free_norm == "instance":
            self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
        else:
            raise ValueError(f"unknown parameter-free norm {param_free_norm!r} ({', '.join(PARAM_FREE_NORMS)})")
        padding = kernel_size // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(semantic_nc, hidden, kernel_size, padding=padding), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, kernel_size, padding=padding)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, kernel_size, padding=padding)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        """``segmap`` already at ``x``'s height and width (the block resizes it once for its norms)."""
        normalized = self.param_free_norm(x)
        if not _fast(x):
            actv = self.mlp_shared(segmap)
            return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)
        actv = F.relu_(self.mlp_shared[0](segmap))
        gamma = self.mlp_gamma(actv)
        beta = self.mlp_beta(actv)
        del actv
        # (γ + 1) is (1 + γ) to the bit; multiplying then adding keeps the original's two roundings
        return normalized.mul_(gamma.add_(1)).add_(beta)


class SPADEResnetBlock(nn.Module):
    """norm → leaky ReLU(0.2) → conv, twice, plus a shortcut that is learned (norm_s, 1×1 conv_s
    without bias) when the width changes."""

    def __init__(self, fin: int, fout: int, semantic_nc: int, kernel_size: int = 3,
                 param_free_norm: str = "batch", hidden: int = HIDDEN) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        middle = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, middle, 3, padding=1)
        self.conv_1 = nn.Conv2d(middle, fout, 3, padding=1)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
        self.norm_0 = SPADE(fin, semantic_nc, kernel_size, param_free_norm, hidden)
        self.norm_1 = SPADE(middle, semantic_nc, kernel_size, param_free_norm, hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, semantic_nc, kernel_size, param_free_norm, hidden)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x
        if _fast(x):
            dx = self.conv_0(F.leaky_relu_(self.norm_0(x, segmap), 0.2))
            dx = self.conv_1(F.leaky_relu_(self.norm_1(dx, segmap), 0.2))
            return dx.add_(shortcut)  # shortcut + dx, the same sum
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return shortcut + dx


class SPADEGenerator(nn.Module):
    """The SPADE generator: ``fc`` (a 3×3 convolution of the label map at the latent grid, or with
    ``use_vae`` a linear layer of the style code), SPADE residual blocks ``head_0``,
    ``G_middle_0``, ``G_middle_1``, ``up_0`` … ``up_3`` (``up_4`` for "most") with nearest ×2
    upsamplings between them, leaky ReLU, ``conv_img`` and tanh.

    Input: the semantic map, NCHW float (one-hot classes, don't-care, instance edges), sides
    multiples of :attr:`size_multiple` (VAE variant: see :meth:`latent_grid`). Output NCHW in
    [-1, 1] of the same size.

    ``spectral`` says whether the original file stores the residual blocks' convolutions
    spectral-normed (see :func:`file_layout`); the module itself always holds folded weights.
    ``latent_shape`` (sh, sw) fixes the VAE grid; without it only ``latent_cells`` = sh·sw is known.
    """

    def __init__(self, semantic_nc: int, ngf: int = 64, upsampling: str = "normal", use_vae: bool = False,
                 z_dim: int = 256, latent_cells: int | None = None, latent_shape: tuple[int, int] | None = None,
                 param_free_norm: str = "batch", kernel_size: int = 3, spectral: bool = True,
                 hidden: int = HIDDEN) -> None:
        super().__init__()
        if upsampling not in UPSAMPLINGS:
            raise ValueError(f"unknown upsampling {upsampling!r} ({', '.join(UPSAMPLINGS)})")
        if semantic_nc < 1 or ngf < 1 or (upsampling == "most" and ngf < 2):
            raise ValueError(f"semantic_nc {semantic_nc} and ngf {ngf} must be positive (ngf at least 2 for 'most', "
                             "whose last block has ngf / 2 channels)")
        self.semantic_nc, self.ngf, self.upsampling, self.use_vae, self.z_dim = \
            semantic_nc, ngf, upsampling, use_vae, z_dim
        self.latent_shape = tuple(latent_shape) if latent_shape is not None else None
        if use_vae:
            if self.latent_shape is not None:
                cells = self.latent_shape[0] * self.latent_shape[1]
                if latent_cells is not None and latent_cells != cells:
                    raise ValueError(f"latent_shape {self.latent_shape} has {cells} cells, not {latent_cells}")
                latent_cells = cells
            if not latent_cells:
                raise ValueError("the VAE variant needs latent_cells (sh·sw) or latent_shape (sh, sw)")
            self.latent_cells = latent_cells
            self.fc: nn.Module = nn.Linear(z_dim, 16 * ngf * latent_cells)
        else:
            self.latent_cells = None
            self.fc = nn.Conv2d(semantic_nc, 16 * ngf, 3, padding=1)
        block = dict(semantic_nc=semantic_nc, kernel_size=kernel_size, param_free_norm=param_free_norm, hidden=hidden)
        self.head_0 = SPADEResnetBlock(16 * ngf, 16 * ngf, **block)
        self.G_middle_0 = SPADEResnetBlock(16 * ngf, 16 * ngf, **block)
        self.G_middle_1 = SPADEResnetBlock(16 * ngf, 16 * ngf, **block)
        self.up_0 = SPADEResnetBlock(16 * ngf, 8 * ngf, **block)
        self.up_1 = SPADEResnetBlock(8 * ngf, 4 * ngf, **block)
        self.up_2 = SPADEResnetBlock(4 * ngf, 2 * ngf, **block)
        self.up_3 = SPADEResnetBlock(2 * ngf, ngf, **block)
        final = ngf
        if upsampling == "most":
            self.up_4 = SPADEResnetBlock(ngf, ngf // 2, **block)
            final = ngf // 2
        self.conv_img = nn.Conv2d(final, 3, 3, padding=1)
        self.size_multiple = 2 ** UPSAMPLINGS[upsampling]
        self.spectral_modules = [f"{name}.{conv}" for name, child in self.named_children()
                                 if isinstance(child, SPADEResnetBlock)
                                 for conv in ("conv_0", "conv_1", "conv_s") if hasattr(child, conv)] \
            if spectral else []

    def latent_grid(self, height: int, width: int) -> tuple[int, int]:
        """(sh, sw) of the latent grid for a ``height``×``width`` semantic map.

        Without VAE: the map's size divided by :attr:`size_multiple` (which must divide it). With
        VAE the grid is fixed by ``fc``: ``latent_shape`` if known, else the factorisation
        sh·sw = ``latent_cells`` whose aspect is closest to the map's (the original computes
        sw = crop_size / 2**k and sh = round(sw / aspect_ratio)). The output is then
        sh·2**k × sw·2**k whatever the map's size: the SPADE modules resize the map to each layer.
        """
        if not self.use_vae:
            if height % self.size_multiple or width % self.size_multiple:
                raise ValueError(f"a {height}×{width} semantic map: both sides must be multiples of "
                                 f"{self.size_multiple} for '{self.upsampling}' upsampling (pad it)")
            return height // self.size_multiple, width // self.size_multiple
        if self.latent_shape is not None:
            return self.latent_shape  # type: ignore[return-value]
        cells = self.latent_cells or 0
        pairs = [(sh, cells // sh) for sh in range(1, cells + 1) if cells % sh == 0]
        aspect = math.log(width / height)
        return min(pairs, key=lambda p: (abs(math.log(p[1] / p[0]) - aspect), p[0]))

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The picture's size for a ``height``×``width`` semantic map."""
        sh, sw = self.latent_grid(height, width)
        return sh * self.size_multiple, sw * self.size_multiple

    def forward(self, segmap: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """The picture for ``segmap`` (and with ``use_vae`` the style code ``z`` [N, z_dim])."""
        if segmap.ndim != 4 or segmap.shape[1] != self.semantic_nc:
            raise ValueError(f"expected a semantic map of shape [N, {self.semantic_nc}, H, W], "
                             f"got {list(segmap.shape)}")
        sh, sw = self.latent_grid(*segmap.shape[-2:])
        channels_last = _channels_last(segmap)
        if self.use_vae:
            if z is None:
                raise ValueError("the VAE variant needs a style code z (see random_z or encode_style)")
            if z.shape != (segmap.shape[0], self.z_dim):
                raise ValueError(f"z must have shape [{segmap.shape[0]}, {self.z_dim}], got {list(z.shape)}")
            x = self.fc(z).view(-1, 16 * self.ngf, sh, sw)
        else:
            x = self.fc(_nearest(segmap, (sh, sw)))
        resized: dict[tuple[int, int], torch.Tensor] = {}  # the map at each feature size, made once

        def run(block: SPADEResnetBlock, x: torch.Tensor) -> torch.Tensor:
            size = (x.shape[-2], x.shape[-1])
            if size not in resized:
                resized[size] = _nearest(segmap, size)
                if channels_last and size[0] * size[1] >= CHANNELS_LAST_PIXELS:
                    resized[size] = resized[size].contiguous(memory_format=torch.channels_last)
            if channels_last and size[0] * size[1] >= CHANNELS_LAST_PIXELS:
                x = x.contiguous(memory_format=torch.channels_last)  # a no-op once converted
            return block(x, resized[size])

        def up(x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, scale_factor=2, mode="nearest")

        x = up(run(self.head_0, x))
        x = run(self.G_middle_0, x)
        if self.upsampling != "normal":
            x = up(x)
        x = up(run(self.G_middle_1, x))
        x = up(run(self.up_0, x))
        x = up(run(self.up_1, x))
        x = up(run(self.up_2, x))
        x = run(self.up_3, x)
        if self.upsampling == "most":
            x = run(self.up_4, up(x))
        if _fast(x):
            return torch.tanh_(self.conv_img(F.leaky_relu_(x, 0.2))).contiguous()
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


# ----------------------------------------------------------------------------------------------- encoder


class ConvEncoder(nn.Module):
    """SPADE's VAE style encoder (``net_E``): the picture resized to 256×256 (bilinear), six 3×3
    stride-2 convolutions (spectral-normed in the file, no bias; instance norm) with leaky ReLU
    (0.2), and two linear layers giving the style code's mean and log-variance.

    ``norm`` is the original's ``norm_E`` without its "spectral" prefix: "instance" (its default),
    "batch" (affine, running statistics) or "none" (the convolution alone, with its bias).
    """

    def __init__(self, ndf: int = 64, z_dim: int = 256, norm: str = "instance", spectral: bool = True) -> None:
        super().__init__()
        if norm not in ENCODER_NORMS:
            raise ValueError(f"unknown encoder norm {norm!r} ({', '.join(ENCODER_NORMS)})")
        self.norm, self.z_dim = norm, z_dim
        widths = [3, ndf, ndf * 2, ndf * 4, ndf * 8, ndf * 8, ndf * 8]
        self.spectral_modules: list[str] = []
        for i in range(1, 7):
            conv = nn.Conv2d(widths[i - 1], widths[i], 3, stride=2, padding=1, bias=norm == "none")
            if norm == "none":
                layer: nn.Module = conv
            else:
                layer = nn.Sequential(conv, nn.BatchNorm2d(widths[i], affine=True) if norm == "batch"
                                      else nn.InstanceNorm2d(widths[i], affine=False))
            setattr(self, f"layer{i}", layer)
            if spectral:
                self.spectral_modules.append(f"layer{i}" if norm == "none" else f"layer{i}.0")
        self.fc_mu = nn.Linear(ndf * 8 * 4 * 4, z_dim)
        self.fc_var = nn.Linear(ndf * 8 * 4 * 4, z_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each [N, z_dim], for pictures NCHW in [-1, 1] of any size."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"the style encoder takes RGB pictures [N, 3, H, W], got {list(image.shape)}")
        x = image
        if tuple(x.shape[-2:]) != (ENCODER_SIZE, ENCODER_SIZE):
            x = F.interpolate(x, size=(ENCODER_SIZE, ENCODER_SIZE), mode="bilinear", align_corners=False)
        inplace = _fast(x)
        x = self.layer1(x)
        for i in range(2, 7):
            x = getattr(self, f"layer{i}")(F.leaky_relu(x, 0.2, inplace=inplace))
        x = F.leaky_relu(x, 0.2, inplace=inplace).reshape(x.shape[0], -1)
        return self.fc_mu(x), self.fc_var(x)
