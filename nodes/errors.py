"""Errors a person can act on: which node, what is wrong, how to fix it."""

from __future__ import annotations

import torch


class NodeInputError(ValueError):
    """Bad input to a node. ComfyUI shows the message in the UI and sends it to API clients."""

    def __init__(self, node: str, problem: str, fix: str = "") -> None:
        message = f"{node}: {problem}"
        if fix:
            message += f" Fix: {fix}"
        super().__init__(message)


def check_finite(node: str, tensor: torch.Tensor, what: str) -> None:
    """Refuse NaN or infinite values in ``tensor`` (``what`` names it in the message)."""
    if not torch.isfinite(tensor).all():
        raise NodeInputError(node, f"there are NaN or infinite values in the {what}.",
                             "check the nodes before this one (an interpolation or projection that diverged).")
