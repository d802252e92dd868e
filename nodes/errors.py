"""Errors a person can act on: which node, what is wrong, how to fix it."""

from __future__ import annotations


class NodeInputError(ValueError):
    """Bad input to a node. ComfyUI shows the message in the UI and sends it to API clients."""

    def __init__(self, node: str, problem: str, fix: str = "") -> None:
        message = f"{node}: {problem}"
        if fix:
            message += f" Fix: {fix}"
        super().__init__(message)
