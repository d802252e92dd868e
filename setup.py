"""Package discovery for setuptools; everything else about the package is in pyproject.toml.

The repository root *is* the package ``ganforge`` (and the ComfyUI custom-node folder), mapped by
``package-dir = {"ganforge" = "."}``. pyproject's ``[tool.setuptools.packages.find]`` cannot put a
prefix on what it finds (it would find ``models``, not ``ganforge.models``), so the discovery is
here: every folder below the root that holds a Python module becomes a subpackage, at any depth
(a new ``models/<family>/`` ships without editing any list). Folders that are not the library
(tests, benchmarks, scripts, data, build output, dot-folders such as .venv and .comfyui) are left
out, and so is this file.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
NOT_PACKAGES = frozenset({"tests", "benchmarks", "scripts", "build", "dist", "zoo", "workflows", "web",
                          "node_modules"})


def subpackages(folder: Path = ROOT, name: str = "ganforge") -> list[str]:
    """``ganforge.<sub>...`` for every folder under ``folder`` holding a ``*.py``, sorted."""
    found = []
    for child in sorted(folder.iterdir()):
        if (not child.is_dir() or not child.name.isidentifier() or child.name == "__pycache__"
                or (folder == ROOT and child.name in NOT_PACKAGES)):
            continue  # dot-folders and names such as ganforge-output or x.egg-info are not identifiers
        package = f"{name}.{child.name}"
        if any(child.glob("*.py")):
            found.append(package)
        found += subpackages(child, package)
    return found


class BuildPy(build_py):
    """The root's modules are the package's, except this build script."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        if package == "ganforge":
            modules = [entry for entry in modules if entry[1] != "setup"]
        return modules


setup(packages=["ganforge", *subpackages()], cmdclass={"build_py": BuildPy})
