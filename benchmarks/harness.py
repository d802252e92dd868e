"""What the benchmark scripts share: timing a call, peak memory, and one measurement per process."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence


def seconds_per_call(run: Callable[[], object], repeats: int, device) -> float:
    """Mean seconds of ``run()`` over ``repeats`` calls (CUDA synchronised; peak memory reset first)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / repeats


def peak_memory_mb(device) -> float:
    """CUDA: torch's peak allocation; CPU: this process's peak resident set."""
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(script: str, arguments: Sequence[str]) -> dict:
    """Run ``script`` with ``arguments`` in a fresh interpreter (so peaks do not mix) and return the
    JSON object it prints last."""
    done = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])
