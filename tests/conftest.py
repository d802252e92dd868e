"""Shared fixtures. ``comfy`` is one real ComfyUI server for the whole session, with this pack."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ganforge.headless.client import ComfyClient
from ganforge.headless.embedded import ensure_comfyui
from ganforge.headless.server import ComfyServer


class RunningComfy:
    """The server, a client for it, and its isolated folders (models, input, output)."""

    def __init__(self, server: ComfyServer, base: Path) -> None:
        self.server = server
        self.base = base
        self.url = server.url
        self.client = ComfyClient(server.url)
        self.models = base / "models"
        self.input = base / "input"
        self.output = base / "output"
        self._object_info: dict | None = None

    @property
    def object_info(self) -> dict:
        if self._object_info is None:
            self._object_info = self.client.object_info()
        return self._object_info


@pytest.fixture(scope="session")
def comfy(tmp_path_factory) -> RunningComfy:
    comfyui = ensure_comfyui(quiet=True)
    base = Path(tempfile.mkdtemp(prefix="ganforge-comfy-"))
    server = ComfyServer(comfyui, log_path=base / "comfyui.log", cpu=True, base_directory=base)
    try:
        server.start()
        yield RunningComfy(server, base)
    finally:
        server.stop()
        if os.environ.get("GANFORGE_KEEP_SERVER_DIR"):
            print(f"server folder kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
