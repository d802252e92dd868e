"""StyleGAN generators (NVlabs parameter names and call contract) and their safe loaders."""

from .loader import load_stylegan, save_stylegan
from .stylegan2 import Generator as StyleGAN2Generator
from .stylegan3 import Generator as StyleGAN3Generator

__all__ = ["StyleGAN2Generator", "StyleGAN3Generator", "load_stylegan", "save_stylegan"]
