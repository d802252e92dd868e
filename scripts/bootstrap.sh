#!/usr/bin/env bash
# Set up what the demo and the tests need, when it is missing:
#   .venv/      a virtual environment with torch 2.14.1 + torchvision 0.29.1 and this pack (editable)
#   .comfyui/   the embedded ComfyUI 0.3.75 (skipped when COMFYUI_DIR points at your own ComfyUI)
# Source it (it exports GANFORGE_PY) or run it. Safe to repeat: finished steps are skipped.
set -euo pipefail
GANFORGE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${GANFORGE_VENV:-$GANFORGE_ROOT/.venv}
BASE_PYTHON=${PYTHON:-python3}
TORCH_PINS="torch==2.14.1 torchvision==0.29.1"

say() { printf '[ganforge] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    "$BASE_PYTHON" -m venv "$VENV"
fi
GANFORGE_PY="$VENV/bin/python"
export GANFORGE_PY

# Re-install only when the dependency list or this script changed.
wanted=$(cat "$GANFORGE_ROOT/pyproject.toml" "$GANFORGE_ROOT/scripts/bootstrap.sh" | sha256sum | cut -d' ' -f1)
stamp="$VENV/.ganforge-deps"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing $TORCH_PINS and the pack's dependencies (a few minutes on a fresh machine)"
    # shellcheck disable=SC2086
    "$GANFORGE_PY" -m pip install --quiet $TORCH_PINS
    "$GANFORGE_PY" -m pip install --quiet -e "$GANFORGE_ROOT[dev]"
    echo "$wanted" > "$stamp"
fi

"$GANFORGE_PY" -m ganforge comfy install
