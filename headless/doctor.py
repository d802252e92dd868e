"""``python -m ganforge doctor``: what a user needs to know when something is off.

It looks, never changes anything and never downloads: which ComfyUI would run GANForge (and its
version), torch and the devices it can use, the model folders GANForge lists and what each file in
them is (named by the model registry, which never runs code from a file, so a file in the wrong
folder is pointed out with the folder it belongs in), the zoo, the web frontend, the locales, and
the Python packages the pack needs. Each problem comes with a fix; the exit status is 1 when there
is one. Without ComfyUI, or without torch, it reports what it can.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .embedded import (
    COMFYUI_VERSION,
    PACK_ROOT,
    ComfyUIError,
    default_embedded_dir,
    is_ready,
    pack_is_installed,
    user_comfyui_dir,
)


@dataclass(frozen=True)
class ModelFolder:
    """A ComfyUI model folder GANForge lists: ``key`` as in folder_paths / extra_model_paths.yaml,
    ``directory`` under models/. ``shared``: ComfyUI's own loaders use it too, so files GANForge
    does not recognise are normal there."""

    key: str
    directory: str
    what: str
    shared: bool = False
    extensions: tuple[str, ...] = (".safetensors", ".pth", ".pt")


# The folders the nodes register (nodes/*.py: register_model_folder and ComfyUI's upscale_models).
MODEL_FOLDERS = (
    ModelFolder("stylegan", "stylegan", "StyleGAN2 / 2-ADA / 3 generators (NVlabs .pkl, rosinality .pt, GANForge)",
                extensions=(".pkl", ".pt", ".pth", ".safetensors")),
    ModelFolder("upscale_models", "upscale_models", "ESRGAN family (ComfyUI's own folder)", shared=True,
                extensions=(".safetensors", ".pth", ".pt", ".ckpt", ".pkl", ".bin", ".sft")),
    ModelFolder("sr3", "sr3", "SR3 diffusion super-resolution (*_gen.pth + JSON config, GANForge)",
                extensions=(".pth", ".pt", ".safetensors", ".json")),
    ModelFolder("vqgan", "vqgan", "taming VQGAN (.ckpt + .yaml, GANForge)",
                extensions=(".ckpt", ".safetensors", ".pt", ".pth", ".yaml")),
    ModelFolder("ganforge_clip", "clip", "OpenCLIP / OpenAI CLIP for guidance (shared with ComfyUI's text encoders)",
                shared=True, extensions=(".bin", ".pt", ".pth", ".safetensors")),
    ModelFolder("clip_vision", "clip_vision", "OpenCLIP-layout files (ComfyUI's own folder)", shared=True,
                extensions=(".bin", ".pt", ".pth", ".safetensors")),
    ModelFolder("translation", "translation", "pix2pix / CycleGAN generators (junyanz .pth, GANForge)"),
    ModelFolder("perceptual", "perceptual", "torchvision VGG16 weights for projection (vgg16-397923af.pth)"),
)
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
MODEL_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".pkl", ".bin", ".sft")
# family -> the folders its files may sit in besides Recognition.folder
ALSO_ACCEPTED = {"clip": {"clip_vision"}}
# import name -> pip name, for the pack's own requirements (requirements.txt) and ComfyUI's PyAV
REQUIRED_MODULES = {"numpy": "numpy", "PIL": "pillow", "safetensors": "safetensors", "einops": "einops",
                    "kornia": "kornia", "open_clip": "open-clip-torch", "yaml": "pyyaml", "av": "av"}
LOCALE_FILES = ("nodeDefs.json", "main.json")


@dataclass
class Finding:
    """One line of the report. ``level``: ok, info or problem (a problem has a fix)."""

    section: str
    level: str
    message: str
    fix: str = ""
    detail: dict = field(default_factory=dict)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def add(self, section: str, level: str, message: str, fix: str = "", **detail) -> Finding:
        if section not in self.sections:
            self.sections.append(section)
        finding = Finding(section, level, message, fix, detail)
        self.findings.append(finding)
        return finding

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "problem"]

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def to_json(self) -> str:
        return json.dumps({"ok": not self.problems, "findings": [asdict(f) for f in self.findings]}, indent=2,
                          default=str)

    def to_text(self) -> str:
        marks = {"ok": "ok  ", "info": "    ", "problem": "!!  "}
        lines = []
        for section in self.sections:
            lines.append(section)
            for finding in self.findings:
                if finding.section == section:
                    indent = "    " if "file" in finding.detail or "member" in finding.detail else ""
                    lines.append(f"  {marks[finding.level]}{indent}{finding.message}")
        problems = self.problems
        lines.append("")
        if not problems:
            lines.append("Nothing needs fixing.")
        else:
            lines.append(f"{len(problems)} thing{'s' if len(problems) > 1 else ''} to fix:")
            for number, finding in enumerate(problems, 1):
                lines.append(f"  {number}. {finding.message}")
                lines.append(f"     fix: {finding.fix}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# ComfyUI


@dataclass
class ComfyUIFound:
    path: Path | None
    source: str  # "COMFYUI_DIR", "the ComfyUI containing this pack", "embedded", or "" (none)


def find_comfyui(report: Report) -> ComfyUIFound:
    """The ComfyUI ``ganforge run`` would use, without installing anything."""
    section = "ComfyUI"
    try:
        user = user_comfyui_dir()
    except ComfyUIError as error:
        report.add(section, "problem", str(error),
                   "set COMFYUI_DIR to the folder holding ComfyUI's main.py, or unset it to use the embedded one")
        return ComfyUIFound(None, "")
    if user is not None:
        source = "COMFYUI_DIR" if os.environ.get("COMFYUI_DIR") else "the ComfyUI containing this pack"
        return ComfyUIFound(user, source)
    embedded = default_embedded_dir()
    if is_ready(embedded):
        return ComfyUIFound(embedded, "embedded")
    report.add(section, "problem", "no ComfyUI found: COMFYUI_DIR is not set, this pack is not inside a ComfyUI's "
               f"custom_nodes, and the embedded ComfyUI {COMFYUI_VERSION} is not installed ({embedded})",
               "install GANForge into ComfyUI/custom_nodes, set COMFYUI_DIR, or run `python -m ganforge comfy install`")
    return ComfyUIFound(None, "")


def comfyui_version(path: Path) -> str | None:
    """ComfyUI's version from comfyui_version.py (or its pyproject.toml)."""
    for name, pattern in (("comfyui_version.py", r"__version__\s*=\s*['\"]([^'\"]+)"),
                          ("pyproject.toml", r"(?m)^version\s*=\s*['\"]([^'\"]+)")):
        try:
            match = re.search(pattern, (path / name).read_text(encoding="utf-8"))
        except OSError:
            continue
        if match:
            return match.group(1)
    return None


def pack_comfy_metadata() -> dict:
    """The pack's own [tool.comfy] table (requires-comfyui, Icon, ...)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return {}
    try:
        data = tomllib.loads((PACK_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("tool", {}).get("comfy", {})


def version_satisfies(version: str, specifier: str) -> bool | None:
    """Whether ``version`` meets ``specifier`` (None: cannot tell, packaging is missing)."""
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import InvalidVersion, Version
    except ImportError:
        return None
    try:
        return Version(version) in SpecifierSet(specifier)
    except (InvalidSpecifier, InvalidVersion):
        return None


def check_comfyui(report: Report, found: ComfyUIFound) -> None:
    section = "ComfyUI"
    if found.path is None:
        return
    version = comfyui_version(found.path)
    where = {"COMFYUI_DIR": "set by COMFYUI_DIR",
             "embedded": "the embedded one (no COMFYUI_DIR, and this pack is not in a ComfyUI's custom_nodes)"}
    report.add(section, "ok", f"ComfyUI {version or '(version unknown)'} at {found.path}: "
               f"{where.get(found.source, found.source)}", path=str(found.path), source=found.source, version=version)
    required = pack_comfy_metadata().get("requires-comfyui")
    if version and required:
        met = version_satisfies(version, required)
        if met is False:
            report.add(section, "problem", f"ComfyUI {version} is outside what GANForge is tested with "
                       f"(requires-comfyui {required!r})", f"update ComfyUI (git pull in {found.path}, or ComfyUI-"
                       "Manager's Update ComfyUI), or run GANForge with the embedded ComfyUI (unset COMFYUI_DIR)")
        elif met:
            report.add(section, "ok", f"meets GANForge's requires-comfyui {required!r}")
    if found.source == "COMFYUI_DIR" and not pack_is_installed(found.path):
        report.add(section, "info", f"GANForge is not in {found.path / 'custom_nodes'}: `ganforge run` adds it for its "
                   "own servers, but ComfyUI started by hand will not show the GANForge nodes until it is linked "
                   f"there (ln -s {PACK_ROOT} {found.path / 'custom_nodes' / 'ganforge'})")
    check_frontend(report, found.path)


def check_frontend(report: Report, comfyui: Path | None) -> None:
    section = "ComfyUI"
    wanted = None
    if comfyui is not None:
        try:
            match = re.search(r"(?m)^comfyui-frontend-package\s*==\s*([\w.]+)",
                              (comfyui / "requirements.txt").read_text(encoding="utf-8"))
            wanted = match.group(1) if match else None
        except OSError:
            pass
    try:
        installed = importlib.metadata.version("comfyui-frontend-package")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    fix = (f"in ComfyUI's Python: pip install -r {comfyui / 'requirements.txt'}" if comfyui is not None
           else "pip install comfyui-frontend-package (ComfyUI's requirements.txt names the version)")
    if installed is None:
        if comfyui is not None:
            report.add(section, "problem", "the web frontend (comfyui-frontend-package) is not installed in this "
                       f"Python ({sys.executable})", fix)
        else:
            report.add(section, "info", "the web frontend (comfyui-frontend-package) is not installed in this Python")
        return
    if wanted and installed != wanted:
        report.add(section, "problem", f"frontend {installed} installed, but this ComfyUI asks for {wanted}: the web "
                   "UI may break", fix, frontend=installed, wanted=wanted)
    else:
        report.add(section, "ok", f"frontend (comfyui-frontend-package) {installed}"
                   + (", as this ComfyUI asks" if wanted else ""), frontend=installed)


# ---------------------------------------------------------------------------------------------
# Python, torch, devices


def check_python(report: Report) -> None:
    section = "Python and packages"
    report.add(section, "ok", f"Python {platform.python_version()} at {sys.executable} ({platform.platform()})")
    missing = [pip for module, pip in REQUIRED_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        report.add(section, "problem", f"missing Python packages: {', '.join(missing)}",
                   f"in ComfyUI's Python: pip install -r {PACK_ROOT / 'requirements.txt'} (it never touches torch)")
    else:
        report.add(section, "ok", f"the pack's requirements are installed ({', '.join(REQUIRED_MODULES.values())})")


def check_torch(report: Report) -> bool:
    """torch, its build and devices. Returns whether torch imports."""
    section = "torch and devices"
    try:
        import torch
    except Exception as error:  # ImportError, or a broken CUDA library raising OSError
        report.add(section, "problem", f"torch does not import in {sys.executable}: {error}",
                   "install the torch build for your GPU as ComfyUI's README says (https://pytorch.org/get-started)")
        return False
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else (
        f"ROCm {torch.version.hip}" if getattr(torch.version, "hip", None) else "CPU-only build")
    extras = []
    for name in ("torchvision", "torchaudio"):
        try:
            extras.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            extras.append(f"no {name}")
    report.add(section, "ok", f"torch {torch.__version__} ({build}); {', '.join(extras)}", torch=torch.__version__)
    if importlib.util.find_spec("torchvision") is None:
        report.add(section, "problem", "torchvision is missing (open_clip and ComfyUI need it)",
                   "install the torchvision that matches your torch (https://pytorch.org/get-started)")
    devices = []
    try:
        if torch.cuda.is_available():
            for index in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(index)
                devices.append(f"cuda:{index} {props.name} ({props.total_memory / 2**30:.0f} GiB)")
        elif torch.version.cuda:
            report.add(section, "info", "torch is built for CUDA but sees no GPU (no NVIDIA GPU, or its driver is "
                       "missing or too old)")
    except Exception as error:  # a broken driver raises RuntimeError on the first CUDA call
        report.add(section, "problem", f"CUDA is present but fails: {error}",
                   "update the NVIDIA driver, or install the torch build that matches it")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps (Apple GPU)")
    devices.append(f"cpu ({torch.get_num_threads()} threads)")
    report.add(section, "ok", f"devices: {'; '.join(devices)}", devices=devices)
    if len(devices) == 1:
        report.add(section, "info", "CPU only: the zoo models run fine; published StyleGAN / SR3 / VQGAN-CLIP "
                   "models are slow on a CPU")
    return True


# ---------------------------------------------------------------------------------------------
# Model folders


def model_directories(models_dir: Path | None, extra_configs: Iterable[Path]) -> dict[str, list[Path]]:
    """Folder key -> its directories: models/<directory> first, then extra_model_paths.yaml entries
    (read as ComfyUI's utils/extra_config.py reads them)."""
    folders: dict[str, list[Path]] = {f.key: [] for f in MODEL_FOLDERS}
    if models_dir is not None:
        for folder in MODEL_FOLDERS:
            folders[folder.key].append(models_dir / folder.directory)
    for config in extra_configs:
        for key, path in _extra_paths(config):
            if key in folders and path not in folders[key]:
                folders[key].append(path)
    return folders


def _extra_paths(config: Path) -> list[tuple[str, Path]]:
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    found = []
    for conf in data.values():
        if not isinstance(conf, dict):
            continue
        conf = dict(conf)
        base = conf.pop("base_path", None)
        conf.pop("is_default", None)
        if base:
            base = Path(os.path.expandvars(os.path.expanduser(str(base))))
            if not base.is_absolute():
                base = (config.parent / base).resolve()
        for key, value in conf.items():
            for line in str(value).split("\n"):
                if not line.strip():
                    continue
                path = Path(base) / line if base else Path(line)
                if not path.is_absolute():
                    path = config.parent / path
                found.append((key, Path(os.path.normpath(path))))
    return found


def describe_file(path: Path, folder: ModelFolder, directory: Path | None = None) -> tuple[str, str, str]:
    """(level, message, fix) for one file in ``folder``: its family by the registry, or why not."""
    from ..models import registry
    from ..models.checkpoint import CheckpointError, read_checkpoint

    name = path.name
    if folder.key == "perceptual":
        from ..models.perceptual import load_vgg16

        try:
            load_vgg16(path)
        except Exception as error:  # CheckpointError says what it is; anything else: a damaged file
            return "problem", f"{name}: {error}", "put torchvision's ImageNet VGG16 (vgg16-397923af.pth) here"
        return "ok", f"{name}: torchvision VGG16 weights", ""
    try:
        file = read_checkpoint(path, "a model file: .safetensors, .pth, .pt, .ckpt, .bin or .pkl")
        found = registry.recognise_file(file, name)
    except CheckpointError as error:
        if folder.shared:
            return "info", f"{name}: not a GANForge model (ComfyUI's own loaders may use it)", ""
        return "problem", f"{name}: {error}", f"remove it from models/{folder.directory}, or convert it"
    except Exception as error:  # a damaged file: keep going, say which one
        return "problem", f"{name}: could not be read ({type(error).__name__}: {error})", "replace the file"
    if found is None:
        if folder.shared:
            return "info", f"{name}: not a GANForge model (ComfyUI's own loaders may use it)", ""
        holds = "; ".join(registry.describe_content(file, 3))
        return ("problem", f"{name}: no GANForge family recognises this file (it holds {holds})",
                f"`python -m ganforge inspect {path}` says what each family looks for; remove the file from "
                f"models/{folder.directory} if it is not a {folder.what} file")
    accepted = {found.folder, *ALSO_ACCEPTED.get(found.family, ())}
    if folder.directory not in accepted:
        return ("problem", f"{name}: {found.summary} (family {found.family}) is in the wrong folder: it belongs in "
                f"models/{found.folder}, not models/{folder.directory}",
                f"move {path} to {(directory or path.parent).parent / found.folder}/ (ComfyUI's models/{found.folder})")
    if found.role != "generator":
        return ("problem", f"{name}: {found.summary}: a {found.role}, which no GANForge loader uses",
                f"move {name} out of models/{folder.directory} (only generators belong there)")
    if not found.loadable:
        note = f" ({found.hint})" if found.hint else ""
        return "info", f"{name}: {found.summary}; GANForge recognises it but cannot load it yet{note}", ""
    return "ok", f"{name}: {found.summary} [{found.family}/{found.architecture}]", ""


def check_model_folders(report: Report, models_dir: Path | None, extra_configs: Iterable[Path],
                        inspect_files: bool = True, max_size_mb: float = 4096) -> None:
    section = "Model folders"
    directories = model_directories(models_dir, list(extra_configs))
    if models_dir is None and not any(directories.values()):
        report.add(section, "info", "no ComfyUI models folder known (give --base-directory or --models)")
        return
    report.add(section, "info", f"models folder: {models_dir}" if models_dir else "models folder: none, only "
               "extra_model_paths.yaml entries")
    for folder in MODEL_FOLDERS:
        for directory in directories[folder.key]:
            shown = f"{folder.key} -> {directory}" if folder.key != folder.directory else str(directory)
            if not directory.is_dir():
                report.add(section, "info", f"{shown}: not there yet ({folder.what})", folder=folder.key,
                           directory=str(directory))
                continue
            files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith(".")
                           and p.suffix.lower() in (*MODEL_SUFFIXES, *CONFIG_SUFFIXES))
            report.add(section, "info", f"{shown}: {len(files)} model file{'s' if len(files) != 1 else ''} "
                       f"({folder.what})", folder=folder.key, directory=str(directory))
            for path in files:
                relative = path.relative_to(directory)
                if path.suffix.lower() in CONFIG_SUFFIXES:
                    report.add(section, "info", f"{relative}: configuration file", file=str(path))
                    continue
                if path.suffix.lower() not in folder.extensions:
                    if folder.shared:  # ComfyUI's own loaders list more kinds here (.sft, .ckpt, ...)
                        report.add(section, "info", f"{relative}: not listed by GANForge's loaders", file=str(path))
                    else:
                        report.add(section, "problem", f"models/{folder.directory}/{relative}: the GANForge loader "
                                   f"does not list {path.suffix} files (it lists {', '.join(folder.extensions)})",
                                   f"`python -m ganforge inspect {path}` says what it is and where it belongs",
                                   file=str(path))
                    continue
                size_mb = path.stat().st_size / 2**20
                if not inspect_files or size_mb > max_size_mb:
                    why = "not inspected" if not inspect_files else f"{size_mb:.0f} MB, not inspected"
                    report.add(section, "info", f"{relative}: {why}", file=str(path))
                    continue
                level, message, fix = describe_file(path, folder, directory)
                prefix = f"models/{folder.directory}/" if level == "problem" else ""
                report.add(section, level, prefix + message, fix, file=str(path))


# ---------------------------------------------------------------------------------------------
# Zoo, locales


def check_zoo(report: Report) -> None:
    from ..models.zoo import REGISTRY, ZOO_DIR

    section = "Zoo (bundled models)"
    missing = [m for m in REGISTRY.values() if not m.path.is_file()]
    report.add(section, "ok" if not missing else "info",
               f"{len(REGISTRY) - len(missing)} of {len(REGISTRY)} members present in {ZOO_DIR}")
    for member in REGISTRY.values():
        if member.path.is_file():
            report.add(section, "info", f"{member.folder}/{member.path.name}", member=member.name)
    for member in missing:
        report.add(section, "problem", f"zoo member {member.name} is missing ({member.path}): the example workflows "
                   "that use it fail", f"restore the file (git checkout -- zoo, or reinstall the pack), or retrain "
                   f"it: python -m ganforge zoo train {member.name}", member=member.name)


def check_locales(report: Report) -> None:
    section = "Web UI"
    web = PACK_ROOT / "web"
    report.add(section, "ok" if web.is_dir() else "problem", f"web folder {web} (help pages, icon)"
               if web.is_dir() else f"the web folder {web} is missing", "" if web.is_dir() else "reinstall the pack")
    locales = PACK_ROOT / "locales"
    languages = sorted(p.name for p in locales.iterdir() if (p / "nodeDefs.json").is_file()) if locales.is_dir() else []
    broken = []
    for language in languages:
        for name in LOCALE_FILES:
            file = locales / language / name
            if file.is_file():
                try:
                    json.loads(file.read_text(encoding="utf-8"))
                except ValueError:
                    broken.append(f"{language}/{name}")
    if broken:
        report.add(section, "problem", f"unreadable translation files: {', '.join(broken)}",
                   "reinstall the pack (the files are JSON)")
    elif languages:
        report.add(section, "ok", f"node translations: {', '.join(languages)} (the UI language is Settings > Comfy > "
                   "Locale, or the browser's language)")
    else:
        report.add(section, "info", "no node translations (locales/) found")


# ---------------------------------------------------------------------------------------------


def diagnose(base_directory: Path | None = None, models_dir: Path | None = None,
             extra_model_paths: Iterable[Path] = (), inspect_files: bool = True,
             max_size_mb: float = 4096) -> Report:
    """The whole report. ``base_directory`` is ComfyUI's --base-directory (its models/ is used);
    ``models_dir`` overrides the models folder; by default the found ComfyUI's models/ and its
    extra_model_paths.yaml are used."""
    report = Report()
    found = find_comfyui(report)
    check_comfyui(report, found)
    if found.path is None:
        check_frontend(report, None)
    check_python(report)
    has_torch = check_torch(report)
    configs = [Path(p) for p in extra_model_paths]
    if models_dir is None:
        root = base_directory or found.path
        models_dir = Path(root) / "models" if root is not None else None
        if found.path is not None and not configs and (found.path / "extra_model_paths.yaml").is_file():
            configs.append(found.path / "extra_model_paths.yaml")
    for config in configs:
        if not config.is_file():
            report.add("Model folders", "problem", f"extra model paths file {config} does not exist",
                       "give the path of an existing extra_model_paths.yaml")
    configs = [c for c in configs if c.is_file()]
    if has_torch:
        check_model_folders(report, Path(models_dir) if models_dir else None, configs, inspect_files, max_size_mb)
        check_zoo(report)
    else:
        report.add("Model folders", "info", "not inspected: reading model files needs torch")
    check_locales(report)
    return report


def add_doctor_arguments(parser) -> None:
    parser.add_argument("--base-directory", type=Path, help="ComfyUI's --base-directory, if you start it with one "
                        "(its models/ folder is checked)")
    parser.add_argument("--models", type=Path, help="check this models folder instead")
    parser.add_argument("--extra-model-paths-config", type=Path, action="append", default=[], metavar="YAML",
                        help="an extra_model_paths.yaml ComfyUI is started with (may repeat; default: the one in "
                        "the ComfyUI folder, if any)")
    parser.add_argument("--quick", action="store_true", help="list model files without reading them")
    parser.add_argument("--max-size-mb", type=float, default=4096, help="files larger than this are listed, not read")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def doctor_main(args) -> int:
    report = diagnose(base_directory=args.base_directory, models_dir=args.models,
                      extra_model_paths=args.extra_model_paths_config, inspect_files=not args.quick,
                      max_size_mb=args.max_size_mb)
    print(report.to_json() if args.json else report.to_text())
    return report.exit_code
