#!/usr/bin/env bash
# The main job: sets up .venv and the embedded ComfyUI when missing, then runs the StyleGAN example
# workflow headless on the embedded defaults and writes its images to ./ganforge-output
# (or the folder given as the first argument). Existing files there are never replaced.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$GANFORGE_ROOT"
out=${1:-ganforge-output}
"$GANFORGE_PY" -m ganforge run workflows/stylegan_truncation_grid.json --out "$out"
echo "pictures are in $(cd "$out" && pwd)"
