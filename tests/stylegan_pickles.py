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
def _fake_persistence_module():
    package, module = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    saved = {name: sys.modules.get(name) for name in ("torch_utils", "torch_utils.persistence")}
    sys.modules.update({"torch_utils": package, "torch_utils.persistence": module})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = value


def write_nvlabs_pickle(path, generator: torch.nn.Module, init_kwargs: dict, module_src: str | None = None) -> None:
    tree = persistent_tree(generator, init_kwargs, **({"module_src": module_src} if module_src else {}))
    data = {"G": tree, "D": None, "G_ema": tree, "augment_pipe": None, "training_set_kwargs": None}
    with _fake_persistence_module(), open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=4)
