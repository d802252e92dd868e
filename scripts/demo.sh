#!/usr/bin/env bash
# The main job: sets up .venv and the embedded ComfyUI when missing, then runs the showcase workflow
# headless on the bundled zoo (StyleGAN2 style mixing -> CycleGAN thin -> bold -> ESRGAN x4, one
# labelled picture) and writes it to ./ganforge-output (or the folder given as the first argument).
# Existing files there are never replaced.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$GANFORGE_ROOT"
out=${1:-ganforge-output}
"$GANFORGE_PY" -m ganforge run workflows/showcase.json --out "$out"
echo "the picture is in $(cd "$out" && pwd)"
