"""`python -m ganforge doctor` against a temporary ComfyUI base folder (no server needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ganforge import cli
from ganforge.headless import doctor
from ganforge.models.zoo import REGISTRY

PACK = Path(__file__).resolve().parent.parent
STYLEGAN = REGISTRY["digits-sg2-cond"].path
UPSCALER = REGISTRY["photos-digits-rrdb-x2"].path


@pytest.fixture
def base(tmp_path):
    """A ComfyUI --base-directory: a StyleGAN where it belongs, an upscaler in the StyleGAN folder."""
    if not (STYLEGAN.is_file() and UPSCALER.is_file()):
        pytest.skip("the zoo files are missing (python -m ganforge zoo train ...)")
    stylegan = tmp_path / "models" / "stylegan"
    stylegan.mkdir(parents=True)
    shutil.copy(STYLEGAN, stylegan / "digits.safetensors")
    shutil.copy(UPSCALER, stylegan / "misplaced-upscaler.safetensors")
    (stylegan / "put_stylegan_files_here").touch()  # ComfyUI's placeholder files are not model files
    return tmp_path


def _by_file(report: doctor.Report) -> dict[str, doctor.Finding]:
    return {Path(f.detail["file"]).name: f for f in report.findings if "file" in f.detail}


def test_a_file_in_the_wrong_folder_is_named_with_where_it_belongs(base):
    report = doctor.diagnose(base_directory=base)
    files = _by_file(report)
    misplaced = files["misplaced-upscaler.safetensors"]
    assert misplaced.level == "problem"
    assert "belongs in models/upscale_models, not models/stylegan" in misplaced.message
    assert misplaced.fix.startswith(f"move {base / 'models' / 'stylegan' / 'misplaced-upscaler.safetensors'} to "
                                    f"{base / 'models' / 'upscale_models'}/")
    good = files["digits.safetensors"]
    assert good.level == "ok" and "[stylegan/stylegan2]" in good.message
    assert "put_stylegan_files_here" not in files
    assert misplaced in report.problems and report.exit_code == 1
    text = report.to_text()
    assert "things to fix" in text or "thing to fix" in text
    assert f"fix: {misplaced.fix}" in text


def test_unknown_files_are_problems_only_in_folders_that_are_ganforges_alone(base):
    tensors = {"foo.weight": torch.zeros(3, 3)}
    (base / "models" / "vqgan").mkdir()
    save_file(tensors, base / "models" / "vqgan" / "mystery.safetensors")
    (base / "models" / "upscale_models").mkdir()
    save_file(tensors, base / "models" / "upscale_models" / "4x-swinir.safetensors")  # spandrel's, say
    files = _by_file(doctor.diagnose(base_directory=base))
    assert files["mystery.safetensors"].level == "problem"
    assert "no GANForge family recognises this file" in files["mystery.safetensors"].message
    assert "ganforge inspect" in files["mystery.safetensors"].fix
    assert files["4x-swinir.safetensors"].level == "info"


def test_extra_model_paths_are_searched(tmp_path):
    if not UPSCALER.is_file():
        pytest.skip("the zoo files are missing")
    elsewhere = tmp_path / "my-gans"
    elsewhere.mkdir()
    shutil.copy(UPSCALER, elsewhere / "x2.safetensors")
    config = tmp_path / "extra_model_paths.yaml"
    config.write_text(f"mine:\n  base_path: {tmp_path}\n  stylegan: my-gans\n")
    report = doctor.diagnose(models_dir=tmp_path / "models", extra_model_paths=[config])
    finding = _by_file(report)["x2.safetensors"]
    assert finding.level == "problem" and "belongs in models/upscale_models" in finding.message


def test_a_clean_models_folder_has_nothing_to_fix_there(base):
    (base / "models" / "stylegan" / "misplaced-upscaler.safetensors").unlink()
    report = doctor.diagnose(base_directory=base)
    assert [f.message for f in report.problems if f.section == "Model folders"] == []


def test_without_comfyui_it_still_reports_what_it_can(base, monkeypatch, tmp_path):
    monkeypatch.delenv("COMFYUI_DIR", raising=False)
    monkeypatch.setenv("GANFORGE_COMFYUI_HOME", str(tmp_path / "nothing-installed"))
    monkeypatch.setattr(doctor, "user_comfyui_dir", lambda: None)  # even when this checkout sits in custom_nodes
    report = doctor.diagnose(base_directory=base)
    assert any(f.section == "ComfyUI" and f.level == "problem" and "no ComfyUI found" in f.message
               for f in report.findings)
    sections = set(report.sections)
    assert {"torch and devices", "Model folders", "Zoo (bundled models)"} <= sections
    assert "misplaced-upscaler.safetensors" in _by_file(report)


def test_a_wrong_comfyui_dir_is_a_problem_with_a_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("COMFYUI_DIR", str(tmp_path))
    report = doctor.diagnose(models_dir=tmp_path / "models", inspect_files=False)
    problem = next(f for f in report.problems if f.section == "ComfyUI")
    assert "has no main.py" in problem.message and "COMFYUI_DIR" in problem.fix


def test_the_command_prints_the_finding_and_exits_1(base, capsys):
    result = subprocess.run([sys.executable, "-m", "ganforge", "doctor", "--base-directory", str(base)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "misplaced-upscaler.safetensors" in result.stdout
    assert "belongs in models/upscale_models" in result.stdout
    assert cli.main(["doctor", "--base-directory", str(base), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert any(f["level"] == "problem" and f["detail"].get("file", "").endswith("misplaced-upscaler.safetensors")
               for f in data["findings"])


def test_nothing_wrong_means_exit_0():
    report = doctor.Report()
    report.add("ComfyUI", "ok", "fine")
    report.add("Model folders", "info", "a note")
    assert report.exit_code == 0 and "Nothing needs fixing." in report.to_text()
