"""Pure PyTorch networks and their checkpoint loaders. Never imports ComfyUI."""
