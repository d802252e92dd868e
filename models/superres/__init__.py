"""Super-resolution: the ESRGAN family (RRDBNet, SRVGGNetCompact), SR3 diffusion, tiling, cascades."""

from .loader import SRInfo, blend_networks, load_superres, save_superres

__all__ = ["SRInfo", "blend_networks", "load_superres", "save_superres"]
