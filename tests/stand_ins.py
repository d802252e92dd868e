"""Small stand-ins for the digits zoo's StyleGAN files, under the names the example workflows use.

Until the digits zoo ships its trained models, the tests (and the developer tools that render
workflows) put random-weight generators of the right kind under those names: a conditional
StyleGAN2 and a "child" of the same architecture with other weights, for layer blending.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.models.stylegan import load_stylegan, save_stylegan

DATA = Path(__file__).parent / "data"
PARENT, CHILD = "digits-sg2-cond.safetensors", "digits-sg2-bold.safetensors"


def install_stand_in_models(models_dir: Path) -> Path:
    """Write the stand-ins into ``models_dir/stylegan`` (existing files are left alone)."""
    folder = Path(models_dir) / "stylegan"
    folder.mkdir(parents=True, exist_ok=True)
    parent = load_stylegan(DATA / "stylegan2_conditional.safetensors")
    if not (folder / PARENT).exists():
        save_stylegan(parent, folder / PARENT)
    if not (folder / CHILD).exists():
        generator = torch.Generator().manual_seed(2024)
        with torch.no_grad():
            for name, tensor in parent.state_dict().items():
                if name.startswith("synthesis.") and tensor.is_floating_point() and "filter" not in name:
                    scale = tensor.abs().mean().clamp(min=0.05) * 0.5
                    tensor.add_(torch.randn(tensor.shape, generator=generator) * scale)
        save_stylegan(parent, folder / CHILD)
    return folder


if __name__ == "__main__":  # python tests/stand_ins.py MODELS_DIR
    import sys

    print(install_stand_in_models(Path(sys.argv[1])))
