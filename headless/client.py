"""A small client for ComfyUI's HTTP + websocket API (``server.py`` in ComfyUI)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp


class PromptRejected(RuntimeError):
    """The server refused the graph at validation (HTTP 400)."""

    def __init__(self, error: dict, node_errors: dict) -> None:
        self.error = error or {}
        self.node_errors = node_errors or {}
        super().__init__(self.error.get("message", "the prompt was rejected"))


@dataclass
class ExecutionOutcome:
    """How one prompt ended: ``status`` is success, error or interrupted."""

    prompt_id: str
    status: str
    error: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)


class ComfyClient:
    """Talks to one ComfyUI server; ``url`` like ``http://127.0.0.1:8188``."""

    def __init__(self, url: str, client_id: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = timeout

    # -- plain HTTP ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def get_json(self, path: str) -> Any:
        status, body = self._request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        return json.loads(body)

    def object_info(self) -> dict:
        return self.get_json("/object_info")

    def history(self, prompt_id: str) -> dict:
        return self.get_json(f"/history/{prompt_id}").get(prompt_id, {})

    def view(self, filename: str, subfolder: str = "", kind: str = "output") -> bytes:
        query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": kind})
        status, body = self._request("GET", f"/view?{query}")
        if status != 200:
            raise RuntimeError(f"could not fetch {kind}/{subfolder}/{filename}: HTTP {status}")
        return body

    def upload_image(self, path: str | Path, name: str | None = None) -> str:
        """Put a picture in the server's input folder (``POST /upload/image``, never overwriting);
        returns the name to give a LoadImage-style input (the server renames on a clash)."""
        path = Path(path)
        boundary = uuid.uuid4().hex
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name or path.name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = (f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ninput'
                f"\r\n--{boundary}--\r\n").encode()
        request = urllib.request.Request(self.url + "/upload/image", data=head + path.read_bytes() + tail,
                                         method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"could not upload {path.name}: HTTP {error.code} {error.read()[:200]!r}") from None
        return f"{answer['subfolder']}/{answer['name']}" if answer.get("subfolder") else answer["name"]

    def submit(self, prompt: dict, extra_data: dict | None = None) -> str:
        """Queue an API-format graph; returns its prompt_id or raises :class:`PromptRejected`."""
        payload = {"prompt": prompt, "client_id": self.client_id, "extra_data": extra_data or {}}
        status, body = self._request("POST", "/prompt", payload)
        try:
            answer = json.loads(body)
        except json.JSONDecodeError:
            raise RuntimeError(f"POST /prompt answered {status}: {body[:300]!r}") from None
        if status != 200:
            raise PromptRejected(answer.get("error", {}), answer.get("node_errors", {}))
        if answer.get("node_errors"):
            raise PromptRejected({"message": "node errors"}, answer["node_errors"])
        return answer["prompt_id"]

    def interrupt(self, prompt_id: str | None = None) -> None:
        """Stop the running prompt and drop ours from the queue if it has not started."""
        if prompt_id:
            self._request("POST", "/queue", {"delete": [prompt_id]})
        self._request("POST", "/interrupt", {"prompt_id": prompt_id} if prompt_id else {})

    # -- websocket ----------------------------------------------------------------------------
    def execute(
        self,
        prompt: dict,
        on_event: Callable[[str, dict], None] | None = None,
        extra_data: dict | None = None,
        timeout: float | None = None,
    ) -> ExecutionOutcome:
        """Submit a graph and follow it over the websocket until it ends."""
        return asyncio.run(self._execute(prompt, on_event, extra_data, timeout))

    async def _execute(self, prompt, on_event, extra_data, timeout) -> ExecutionOutcome:
        ws_url = self.url.replace("http", "ws", 1) + f"/ws?clientId={self.client_id}"
        async with aiohttp.ClientSession() as session, session.ws_connect(ws_url, heartbeat=30) as ws:
            # Connect first so no message of our prompt is missed, then submit.
            prompt_id = await asyncio.to_thread(self.submit, prompt, extra_data)
            outcome = await asyncio.wait_for(self._follow(ws, prompt_id, on_event), timeout)
        outcome.outputs = (await self._finished_history(prompt_id)).get("outputs", {})
        return outcome

    async def _finished_history(self, prompt_id: str, patience: float = 30.0) -> dict:
        # The server announces success from inside the executor, a moment before it files the
        # prompt's history: poll until the entry appears.
        deadline = asyncio.get_running_loop().time() + patience
        while True:
            entry = await asyncio.to_thread(self.history, prompt_id)
            if entry or asyncio.get_running_loop().time() > deadline:
                return entry
            await asyncio.sleep(0.05)

    async def _follow(self, ws, prompt_id: str, on_event) -> ExecutionOutcome:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
                continue  # binary frames are live previews
            event = json.loads(message.data)
            kind, data = event.get("type", ""), event.get("data", {}) or {}
            if data.get("prompt_id") not in (None, prompt_id):
                continue
            if on_event is not None:
                on_event(kind, data)
            if kind == "execution_error":
                return ExecutionOutcome(prompt_id, "error", error=data)
            if kind == "execution_interrupted":
                return ExecutionOutcome(prompt_id, "interrupted", error=data)
            if kind == "execution_success" or (kind == "executing" and data.get("node") is None
                                                and data.get("prompt_id") == prompt_id):
                return ExecutionOutcome(prompt_id, "success")
        raise RuntimeError("the server closed the websocket before the prompt finished")


def output_files(outputs: dict, kinds: tuple[str, ...] = ("output",)) -> list[tuple[str, dict]]:
    """(node_id, file record) for every file a prompt's outputs list, of the given types."""
    found = []
    for node_id, node_output in outputs.items():
        for values in node_output.values():
            if not isinstance(values, list):
                continue
            for item in values:
                if isinstance(item, dict) and "filename" in item and item.get("type", "output") in kinds:
                    found.append((node_id, item))
    return found
