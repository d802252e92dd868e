"""The wheel (`pip install .`): it holds every module of the checkout and the pack's data, and the
installed copy imports and loads its zoo with no checkout in sight.

Offline and without build isolation: the wheel is built by the dev environment's setuptools from a
copy of the checkout (so the checkout gets no build/ or egg-info), installed into a fresh virtual
environment, which borrows torch and the other dependencies from the dev environment through a
``.pth`` line, but imports ``ganforge`` only from its own site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = ("headless", "kernels", "models", "nodes")  # the root's own *.py are modules too
NOT_MODULES = {"setup.py"}  # the build script lives in the root but is no module of the package
NOT_SHIPPED = ("ganforge/tests/", "ganforge/benchmarks/", "ganforge/scripts/", "ganforge/setup.py")
PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def checkout_modules() -> set[str]:
    """Every module of the checkout as its path in the wheel (``ganforge/models/zoo.py``)."""
    files = [path for path in ROOT.glob("*.py") if path.name not in NOT_MODULES]
    for folder in PACKAGE_DIRS:
        files += [path for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts]
    return {"ganforge/" + path.relative_to(ROOT).as_posix() for path in files}


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".*", "build", "dist", "*.egg-info", "__pycache__", "ganforge-output"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--wheel-dir", str(work / "dist"), str(source)], env={**os.environ, **PIP_ENV})
    (built,) = (work / "dist").glob("ganforge-*.whl")
    return built


def test_the_wheel_holds_every_module_and_the_pack_data(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(checkout_modules() - names)
    assert not missing, f"the wheel lacks modules of the checkout (is a folder missing in setup.py?): {missing}"
    data = [*ROOT.glob("zoo/*/*.safetensors"), ROOT / "zoo" / "manifest.json", *ROOT.glob("workflows/*.json"),
            *ROOT.glob("workflows/*.jpg"), *ROOT.glob("workflows/api/*.json"), *ROOT.glob("web/docs/*.md")]
    missing = sorted({"ganforge/" + path.relative_to(ROOT).as_posix() for path in data} - names)
    assert not missing, f"the wheel lacks the pack's data files: {missing}"
    stray = sorted(name for name in names if name.startswith(NOT_SHIPPED))
    assert not stray, f"the wheel ships what is not the library: {stray[:10]}"


# Runs in the fresh environment: import every library module (nodes/ needs ComfyUI, __main__ runs
# the CLI), then load every zoo file with its family's loader, all from the installed copy.
CHECK_INSTALLED = r"""
import importlib, json, sys
from pathlib import Path

venv, checkout = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
assert all(Path(entry or ".").resolve() != checkout for entry in sys.path), sys.path
import ganforge

root = Path(ganforge.__file__).resolve().parent
assert root.is_relative_to(venv), f"ganforge imported from {root}, not from the new environment {venv}"
imported = []
for path in sorted(root.rglob("*.py")):
    parts = path.relative_to(root).with_suffix("").parts
    if parts[0] == "nodes" or parts == ("__main__",):
        continue
    name = ".".join(("ganforge", *(part for part in parts if part != "__init__")))
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().is_relative_to(root), (name, module.__file__)
    imported.append(name)

from ganforge.models import zoo

# Each zoo folder's loader (`module:function`, taking the path and device=).
LOADERS = {"stylegan": "ganforge.models.stylegan:load_stylegan",
           "upscale_models": "ganforge.models.superres:load_superres",
           "sr3": "ganforge.models.superres:load_superres",
           "vqgan": "ganforge.models.vqgan:load_vqgan",
           "ganforge_clip": "ganforge.models.guidance:load_clip",
           "translation": "ganforge.models.translation:load_translation_model"}
assert Path(zoo.ZOO_DIR).resolve().is_relative_to(root), zoo.ZOO_DIR
# The zoo files of the installed copy: what the registry names (if trained) and whatever lies there.
files = {member.path.resolve(): member.folder for member in zoo.REGISTRY.values() if member.path.is_file()}
files.update({path.resolve(): path.parent.name for path in Path(zoo.ZOO_DIR).glob("*/*.safetensors")})
loaded = []
for path, folder in sorted(files.items()):
    assert folder in LOADERS, f"no loader known for zoo folder {folder!r}: add it to LOADERS in tests/test_packaging.py"
    module, function = LOADERS[folder].split(":")
    getattr(importlib.import_module(module), function)(path, device="cpu")
    loaded.append(path.relative_to(root).as_posix())
print(json.dumps({"ganforge": str(root), "imported": imported, "loaded": loaded}))
"""


def test_the_installed_wheel_imports_and_loads_the_zoo_without_the_checkout(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet",
         str(wheel)], env={**os.environ, **PIP_ENV})
    site = Path(run([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    # torch & co. from the dev environment, after the new site-packages. A path line does not run
    # that folder's own .pth files, so the dev environment's editable `ganforge` stays out.
    borrowed = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "zz-dev-environment.pth").write_text("".join(f"{path}\n" for path in borrowed))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    result = run([str(python), "-I", "-c", CHECK_INSTALLED, str(venv), str(ROOT)], cwd=tmp_path, env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["ganforge"]).is_relative_to(venv.resolve())
    expected = {".".join(part for part in name.removesuffix(".py").split("/") if part != "__init__")
                for name in checkout_modules()
                if not name.startswith("ganforge/nodes/") and name != "ganforge/__main__.py"}
    assert set(report["imported"]) == expected, sorted(expected.symmetric_difference(report["imported"]))
    zoo_files = sorted(path.relative_to(ROOT).as_posix() for path in ROOT.glob("zoo/*/*.safetensors"))
    assert sorted(report["loaded"]) == zoo_files
