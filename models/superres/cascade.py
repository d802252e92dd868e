"""Choosing a chain of upscalers that reaches a requested total factor (a cascade, as in
cascaded diffusion models: each stage enlarges the previous stage's output)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def plan_chain(scales: Sequence[float], factor: float, max_stages: int = 4) -> list[int]:
    """Indices into ``scales`` (each model may be used more than once), in the order the models
    are given, whose product reaches ``factor``: the fewest stages first, then the smallest
    overshoot (the result is resized down to the exact factor afterwards). Models of scale 1
    or less never help and are not used. ``factor`` <= 1 needs no stage."""
    if factor <= 1:
        return []
    usable = [i for i, scale in enumerate(scales) if scale > 1]
    if not usable:
        raise ValueError("none of the models enlarges (all have scale 1)")
    for stages in range(1, max_stages + 1):
        reaching = [(math.prod(scales[i] for i in combo), combo)
                    for combo in itertools.combinations_with_replacement(usable, stages)
                    if math.prod(scales[i] for i in combo) >= factor - 1e-9]
        if reaching:
            return list(min(reaching, key=lambda pair: pair[0])[1])
    best = max(scales[i] for i in usable) ** max_stages
    raise ValueError(f"x{factor:g} needs more than {max_stages} stages with these models (at most x{best:g})")
