"""Start and stop a real ComfyUI server process on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .embedded import link_pack, pack_is_installed


class ServerError(RuntimeError):
    """The server did not start, or died."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cuda_or_mps_available(python: str) -> bool:
    """Ask the server's Python (not ours: it may be another environment) whether it has a GPU."""
    probe = "import torch,sys; m=getattr(torch.backends,'mps',None); " \
            "sys.exit(0 if torch.cuda.is_available() or (m is not None and m.is_available()) else 1)"
    return subprocess.run([python, "-c", probe], capture_output=True, check=False).returncode == 0


class ComfyServer:
    """A ComfyUI ``main.py`` child process with this pack loaded; a context manager.

    ``base_directory`` isolates everything (models, custom_nodes, input, output, temp, user)
    in one folder, as the tests want; the pack is then linked into its ``custom_nodes``.
    Without it the ComfyUI folder's own layout is used and the pack is added through an
    extra_model_paths file unless that ComfyUI already has it. The log goes to ``log_path``.
    """

    def __init__(
        self,
        comfyui: Path,
        log_path: Path,
        python: str | None = None,
        port: int | None = None,
        cpu: bool | None = None,
        base_directory: Path | None = None,
        output_directory: Path | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float = 300.0,
    ) -> None:
        self.comfyui = Path(comfyui)
        self.log_path = Path(log_path)
        self.python = python or sys.executable
        self.port = port or free_port()
        self.cpu = cpu
        self.base_directory = base_directory
        self.output_directory = output_directory
        self.extra_args = extra_args or []
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [
            self.python, "main.py", "--listen", "127.0.0.1", "--port", str(self.port),
            "--disable-auto-launch", "--dont-print-server", "--database-url", "sqlite:///:memory:",
        ]
        cpu = self.cpu if self.cpu is not None else not cuda_or_mps_available(self.python)
        if cpu:
            args.append("--cpu")
        if self.base_directory is not None:
            base = Path(self.base_directory)
            for sub in ("custom_nodes", "input", "output", "temp", "user", "models"):
                (base / sub).mkdir(parents=True, exist_ok=True)
            link_pack(base / "custom_nodes")
            args += ["--base-directory", str(base)]
        elif not pack_is_installed(self.comfyui):
            extra = self.log_path.with_suffix(".extra_model_paths.yaml")
            links = self.log_path.with_suffix(".custom_nodes")
            link_pack(links)
            extra.write_text(f"ganforge:\n  custom_nodes: {json.dumps(str(links))}\n")
            args += ["--extra-model-paths-config", str(extra)]
        if self.output_directory is not None:
            args += ["--output-directory", str(self.output_directory)]
        return args + self.extra_args

    def start(self) -> ComfyServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                self.command(), cwd=self.comfyui, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"ComfyUI exited with code {self.process.returncode} while starting; "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            if self._answers():
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerError(f"ComfyUI did not answer within {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/system_stats", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server and everything it started (its whole process group)."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> ComfyServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
