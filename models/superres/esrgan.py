"""The ESRGAN family: RRDBNet (ESRGAN, Real-ESRGAN, BasicSR) and SRVGGNetCompact (Real-ESRGAN's
realesr-general / animevideo models), with BasicSR's parameter names.

Both take and return NCHW pictures in 0..1. Original ESRGAN files use other names
(``model.0``, ``model.1.sub.N.RDB1.conv1.0``, ...); :func:`esrgan_to_basicsr` renames them.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2, inplace=not torch.is_grad_enabled())


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convolutions; the last one's output is scaled by 0.2 and added."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(_lrelu(conv(torch.cat(features, 1))))
        return self.conv5(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks, their sum scaled by 0.2 and added."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator. ``num_upsample`` nearest x2 + conv stages (BasicSR: always 2, named
    ``conv_up1``, ``conv_up2``; original ESRGAN x2/x8 files have 1 or 3); ``unshuffle`` 2 or 4 packs
    the input with pixel-unshuffle first (Real-ESRGAN's x2 and x1 models). The scale is
    ``2**num_upsample / unshuffle``."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_block: int = 23,
                 num_grow_ch: int = 32, num_upsample: int = 2, unshuffle: int = 1) -> None:
        super().__init__()
        self.unshuffle = unshuffle
        self.num_upsample = num_upsample
        self.conv_first = nn.Conv2d(num_in_ch * unshuffle * unshuffle, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        for index in range(1, num_upsample + 1):
            setattr(self, f"conv_up{index}", nn.Conv2d(num_feat, num_feat, 3, 1, 1))
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    @property
    def scale(self) -> float:
        return 2 ** self.num_upsample / self.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for index in range(1, self.num_upsample + 1):
            conv = getattr(self, f"conv_up{index}")
            feat = _lrelu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(_lrelu(self.conv_hr(feat)))


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact network: a plain stack of 3x3 convolutions with PReLU at low
    resolution, a pixel shuffle, and the nearest-upsampled input added."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16,
                 upscale: int = 4) -> None:
        super().__init__()
        self.upscale = upscale
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)

    @property
    def scale(self) -> float:
        return float(self.upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        out = F.pixel_shuffle(out, self.upscale)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


# ---------------------------------------------------------------------------------------------
# recognising the files

_OLD_RDB = re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$")
_OLD_TOP = re.compile(r"^model\.(\d+)\.(weight|bias)$")


def is_old_esrgan(keys) -> bool:
    return "model.0.weight" in keys and any(_OLD_RDB.match(key) for key in keys)


def esrgan_to_basicsr(tensors: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """Original ESRGAN names -> BasicSR names (``model.1.sub.N`` is the trunk conv, then per
    upsampling stage Upsample/conv/LReLU, then the HR conv and the last conv)."""
    renamed: dict[str, torch.Tensor] = {}
    blocks = {int(m.group(1)) for key in tensors if (m := _OLD_RDB.match(key))}
    trunk = max(blocks) + 1
    top = sorted({int(m.group(1)) for key in tensors if (m := _OLD_TOP.match(key))} - {0})
    if len(top) < 2:
        raise ValueError(f"{name}: an ESRGAN file needs an HR conv and a last conv after the trunk")
    *ups, hr, last = top
    names = {0: "conv_first", hr: "conv_hr", last: "conv_last"}
    names.update({index: f"conv_up{i + 1}" for i, index in enumerate(ups)})
    for key, tensor in tensors.items():
        if m := _OLD_RDB.match(key):
            renamed[f"body.{m.group(1)}.rdb{m.group(2)}.conv{m.group(3)}.{m.group(4)}"] = tensor
        elif key.startswith(f"model.1.sub.{trunk}."):
            renamed["conv_body." + key.rsplit(".", 1)[1]] = tensor
        elif (m := _OLD_TOP.match(key)) and int(m.group(1)) in names:
            renamed[f"{names[int(m.group(1))]}.{m.group(2)}"] = tensor
        else:
            raise ValueError(f"{name}: unexpected key {key!r} for an ESRGAN (RRDBNet) file")
    return renamed


def rrdbnet_kwargs(tensors: dict[str, torch.Tensor]) -> dict:
    """RRDBNet's constructor arguments from BasicSR-named tensors."""
    num_feat, in_packed = tensors["conv_first.weight"].shape[:2]
    num_out_ch = tensors["conv_last.weight"].shape[0]
    num_block = 1 + max(int(key.split(".")[1]) for key in tensors if key.startswith("body."))
    num_upsample = sum(1 for key in tensors if re.fullmatch(r"conv_up\d+\.weight", key))
    ratio = in_packed // num_out_ch if in_packed % num_out_ch == 0 else 1
    unshuffle = {1: 1, 4: 2, 16: 4}.get(ratio, 1)
    return {"num_in_ch": int(in_packed // unshuffle ** 2), "num_out_ch": int(num_out_ch), "num_feat": int(num_feat),
            "num_block": int(num_block), "num_grow_ch": int(tensors["body.0.rdb1.conv1.weight"].shape[0]),
            "num_upsample": int(num_upsample), "unshuffle": int(unshuffle)}


def compact_kwargs(tensors: dict[str, torch.Tensor]) -> dict:
    """SRVGGNetCompact's constructor arguments from its tensors."""
    convs = sorted(int(key.split(".")[1]) for key in tensors if key.startswith("body.") and tensors[key].ndim == 4)
    first, last = tensors[f"body.{convs[0]}.weight"], tensors[f"body.{convs[-1]}.weight"]
    num_in_ch = int(first.shape[1])
    num_out_ch = num_in_ch
    upscale = round((last.shape[0] / num_out_ch) ** 0.5)
    return {"num_in_ch": num_in_ch, "num_out_ch": num_out_ch, "num_feat": int(first.shape[0]),
            "num_conv": len(convs) - 2, "upscale": upscale}
