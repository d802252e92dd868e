"""Write pickles in NVlabs' persistence layout from our own networks (test helper, data only).

The layout is plain data: a global reference to ``torch_utils.persistence._reconstruct_persistent_obj``
called with ``meta = {type, version, module_src, class_name, state}``, where ``state`` is the
module's ``__dict__`` (``_parameters``, ``_buffers``, ``_modules`` of nested records, ``_init_kwargs``).
"""

from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections import OrderedDict

import torch


def _reconstruct_persistent_obj(meta):  # a stand-in; only its name is written into the pickle
    raise AssertionError("never called while writing")


class _Persistent:
    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


def persistent_tree(module: torch.nn.Module, init_kwargs: dict | None = None,
                    module_src: str = "# NVlabs module source would be here\n") -> _Persistent:
    modules = OrderedDict((name, persistent_tree(child, module_src=module_src) if child is not None else None)
                          for name, child in module._modules.items())
    state = {
        "training": False,
        "_parameters": OrderedDict((k, v) for k, v in module._parameters.items()),
        "_buffers": OrderedDict((k, v) for k, v in module._buffers.items()),
        "_non_persistent_buffers_set": set(module._non_persistent_buffers_set),
        "_modules": modules,
        "_init_args": (),
        "_init_kwargs": dict(init_kwargs or {}),
    }
    meta = {"type": "class", "version": 6, "module_src": module_src, "class_name": type(module).__name__,
            "state": state}
    return _Persistent(meta)


@contextlib.contextmanager
def fake_modules(modules: dict[str, types.ModuleType]):
    """Install modules under the given names for a moment, so pickle can write globals that name them."""
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = value


def _fake_persistence_module():
    package, module = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    return fake_modules({"torch_utils": package, "torch_utils.persistence": module})


def write_nvlabs_pickle(path, generator: torch.nn.Module, init_kwargs: dict, module_src: str | None = None) -> None:
    tree = persistent_tree(generator, init_kwargs, **({"module_src": module_src} if module_src else {}))
    data = {"G": tree, "D": None, "G_ema": tree, "augment_pipe": None, "training_set_kwargs": None}
    with _fake_persistence_module(), open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=4)


def write_rosinality_checkpoint(path, generator: torch.nn.Module, with_latent_avg: bool = True,
                                legacy_format: bool = False) -> None:
    """A ``torch.save`` file in rosinality/stylegan2-pytorch's layout from a skip-architecture SG2 of ours."""
    sd = generator.state_dict()
    synthesis = generator.synthesis
    g: dict[str, torch.Tensor] = {}
    for index in range(generator.mapping.num_layers):  # style.0 is the PixelNorm
        g[f"style.{index + 1}.weight"] = sd[f"mapping.fc{index}.weight"]
        g[f"style.{index + 1}.bias"] = sd[f"mapping.fc{index}.bias"]
    g["input.input"] = sd["synthesis.b4.const"][None]
    blur = torch.outer(*[torch.tensor([1.0, 3, 3, 1])] * 2)
    blur = blur / blur.sum()
    convs = [("conv1", "synthesis.b4.conv1")]
    rgbs = [("to_rgb1", "synthesis.b4.torgb")]
    for k, res in enumerate(synthesis.block_resolutions[1:]):
        convs += [(f"convs.{2 * k}", f"synthesis.b{res}.conv0"), (f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1")]
        rgbs.append((f"to_rgbs.{k}", f"synthesis.b{res}.torgb"))
        g[f"convs.{2 * k}.conv.blur.kernel"] = blur * 4
        g[f"to_rgbs.{k}.upsample.kernel"] = blur * 4
    for i, (ros, ours) in enumerate(convs):
        g[f"{ros}.conv.weight"] = sd[f"{ours}.weight"][None]
        g[f"{ros}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        g[f"{ros}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        g[f"{ros}.noise.weight"] = sd[f"{ours}.noise_strength"].reshape(1)
        g[f"{ros}.activate.bias"] = sd[f"{ours}.bias"]
        g[f"noises.noise_{i}"] = sd[f"{ours}.noise_const"][None, None]
    for ros, ours in rgbs:
        g[f"{ros}.conv.weight"] = sd[f"{ours}.weight"][None]
        g[f"{ros}.conv.modulation.weight"] = sd[f"{ours}.affine.weight"]
        g[f"{ros}.conv.modulation.bias"] = sd[f"{ours}.affine.bias"]
        g[f"{ros}.bias"] = sd[f"{ours}.bias"].reshape(1, -1, 1, 1)
    data = {"g_ema": g}
    if with_latent_avg:
        data["latent_avg"] = sd["mapping.w_avg"]
    else:  # training checkpoints: no latent_avg, the arguments in an argparse.Namespace
        import argparse

        data["args"] = argparse.Namespace(size=generator.img_resolution, n_mlp=generator.mapping.num_layers)
    torch.save(data, path, _use_new_zipfile_serialization=not legacy_format)
