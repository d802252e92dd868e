"""VQGAN (taming-transformers' VQModel and GumbelVQ): encoder, codebook, decoder."""

from .loader import create_vqgan, load_vqgan, read_vqgan_config, save_vqgan
from .vqmodel import VQModel

__all__ = ["VQModel", "create_vqgan", "load_vqgan", "read_vqgan_config", "save_vqgan"]
