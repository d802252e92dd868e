"""What every StyleGAN generator shares: the mapping network in front of a synthesis network.

A family subclasses :class:`StyleGANGenerator` and names its synthesis network; the call
contract is NVlabs': ``G(z, c, truncation_psi, truncation_cutoff, noise_mode=...)``,
``G.mapping(z, c, ...)`` -> ws ``[N, num_ws, w_dim]``, ``G.synthesis(ws, ...)`` -> NCHW in about [-1, 1].
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ..precision import PrecisionMixin
from .mapping import MappingNetwork


class StyleGANGenerator(PrecisionMixin, nn.Module):
    """Mapping + synthesis, with the constructor arguments kept in ``init_kwargs`` for saving."""

    synthesis_network: ClassVar[type[nn.Module]]
    mapping_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
                 mapping_kwargs: dict | None = None, **synthesis_kwargs: Any) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = self.synthesis_network(w_dim, img_resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        mapping_kwargs = {**self.mapping_defaults, **(mapping_kwargs or {})}
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **mapping_kwargs)
        self.init_kwargs = dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_resolution,
                                img_channels=img_channels, mapping_kwargs=mapping_kwargs, **synthesis_kwargs)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, update_emas: bool = False, noise_mode: str = "const",
                **synthesis_kwargs: Any) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                          update_emas=update_emas)
        return self.synthesis(ws, noise_mode=noise_mode, update_emas=update_emas, **synthesis_kwargs)
