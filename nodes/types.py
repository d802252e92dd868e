"""GANForge's socket types, defined once. Type strings are part of saved workflows: never rename."""

from __future__ import annotations

from comfy_api.latest import io

CATEGORY = "GANForge"

# A list of integer seeds, in order (parsed from "1,5,10-20").
Seeds = io.Custom("GANFORGE_SEEDS")
