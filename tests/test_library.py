"""`import ganforge` is a plain library: no ComfyUI, and the CLI starts without torch."""

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_library_never_imports_comfyui():
    loaded = _modules_after("import ganforge, ganforge.models, ganforge.kernels, ganforge.imaging, ganforge.seeds")
    assert not {m for m in loaded if m == "comfy" or m.startswith(("comfy.", "comfy_api", "folder_paths"))}


def test_cli_help_starts_without_torch():
    loaded = _modules_after("from ganforge.cli import build_parser; build_parser()")
    assert "torch" not in loaded


def test_cli_lists_its_commands():
    result = subprocess.run([sys.executable, "-m", "ganforge", "--help"], capture_output=True, text=True, check=True)
    assert "run" in result.stdout and "comfy" in result.stdout
