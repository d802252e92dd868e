"""A restricted unpickler: model pickles become plain data, and no code from the file ever runs.

Plain ``pickle.load`` executes whatever a file asks for; NVlabs' own loader even ``exec``s the
module source stored inside its pickles. Here every global a pickle names is looked up in an
explicit table:

* tensor and array rebuilding (storages are read with ``torch.load(weights_only=True)``) and a
  few containers map to real, data-only functions;
* classes of the research code bases (``torch_utils.*``, ``dnnlib.*``, ``training.*``, Lightning
  callbacks, ...) become :class:`InertObject` records that keep their arguments and state;
  NVlabs' persistence hook becomes a :class:`PersistentRecord` whose ``module_src`` is only text;
* anything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) is refused with
  :class:`UnsafePickleError` naming the global, before anything is called.
"""

from __future__ import annotations

import collections
import io
import pickle
from typing import Any, BinaryIO

import numpy as np
import torch


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global outside the allow-list; nothing was executed."""


class PersistentRecord:
    """What NVlabs' ``_reconstruct_persistent_obj(meta)`` would have built, as inert data."""

    def __init__(self, meta: dict) -> None:
        self.meta = dict(meta)
        self.class_name: str = self.meta.get("class_name", "")
        self.state: dict = dict(self.meta.get("state") or {})

    @property
    def module_src(self) -> str:
        return self.meta.get("module_src", "")

    def __repr__(self) -> str:
        return f"PersistentRecord({self.class_name})"


class InertObject:
    """Stand-in for an instance of a research-code class: stores what it was built from."""

    _global_name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<inert {self._global_name}>"


class AttributeDict(dict):
    """Stand-in for ``dnnlib.EasyDict`` (a dict with attribute access)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.update(state)


def _load_storage(data: bytes) -> Any:
    return torch.load(io.BytesIO(data), weights_only=True)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, torch.storage.TypedStorage | torch.UntypedStorage):
        raise UnsafePickleError("a tensor was to be rebuilt from something that is not a storage")
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
                                           collections.OrderedDict())


def _rebuild_parameter(data, requires_grad, backward_hooks=None, *_):
    return torch.nn.Parameter(data, requires_grad)


def _numpy_scalar(dtype, data=None):
    return np._core.multiarray.scalar(dtype, data) if hasattr(np, "_core") else np.core.multiarray.scalar(dtype, data)


def _numpy_reconstruct(subtype, shape, dtype_code):
    if subtype is not np.ndarray:
        raise UnsafePickleError("only plain numpy arrays may be rebuilt")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("dnnlib.util", "EasyDict"): AttributeDict,
    ("dnnlib", "EasyDict"): AttributeDict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): PersistentRecord,
}
for _dtype_name in ("float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool"):
    SAFE_GLOBALS[("torch", _dtype_name)] = getattr(torch, _dtype_name)

# Research code whose classes may appear (and become inert records), never executed.
INERT_MODULE_PREFIXES = ("torch_utils.", "dnnlib.", "training.", "metrics.", "pytorch_lightning.", "lightning.",
                         "lightning_fabric.", "omegaconf.", "taming.", "main")


def is_inert_module(module: str, prefixes: tuple[str, ...] = INERT_MODULE_PREFIXES) -> bool:
    """Whether classes of ``module`` may appear in a model file as inert records."""
    return module == "main" or module.startswith(prefixes)


def inert_class(global_name: str) -> type[InertObject]:
    """A stand-in class for ``global_name`` ("module.Class") whose instances only keep their data."""
    return type(global_name.rsplit(".", 1)[-1], (InertObject,), {"_global_name": global_name})


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, inert_prefixes: tuple[str, ...] = INERT_MODULE_PREFIXES) -> None:
        super().__init__(file)
        self.inert_prefixes = inert_prefixes

    def find_class(self, module: str, name: str) -> Any:
        found = SAFE_GLOBALS.get((module, name))
        if found is not None:
            return found
        if is_inert_module(module, self.inert_prefixes):
            return inert_class(f"{module}.{name}")
        raise UnsafePickleError(
            f"the file asks to call {module}.{name}, which a model file has no reason to use; "
            "refusing to load it (nothing from the file was run)"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("persistent ids (torch.save's legacy format) are not expected in this file")


def restricted_load(file: BinaryIO) -> Any:
    """Unpickle ``file`` with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(file).load()
