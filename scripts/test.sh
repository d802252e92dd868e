#!/usr/bin/env bash
# The test suite: sets up .venv and the embedded ComfyUI when missing, then runs pytest
# (unit tests and integration tests through a real ComfyUI server). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$GANFORGE_ROOT"
"$GANFORGE_PY" -m ruff check .
exec "$GANFORGE_PY" -m pytest "$@"
