"""pix2pix / CycleGAN speed, peak memory and agreement: GANForge beside the original junyanz networks.

    python benchmarks/translation.py --junyanz /path/to/pytorch-CycleGAN-and-pix2pix
    python benchmarks/translation.py --junyanz ... --configs cyclegan --sizes 256 --repeats 5
    python benchmarks/translation.py --junyanz ... --device cuda --precision fp16

Configurations, batch 1 as the original ``test.py`` runs them:

- ``cyclegan``: ResNet-9 (ngf 64, instance norm, no dropout) at each of ``--sizes``;
- ``pix2pix``: U-Net-256 (ngf 64, batch norm, dropout) at each of ``--unet-sizes``, in the two test
  modes: "official" (the original test.py: BatchNorm on the picture's own statistics, dropout on,
  drawn after ``torch.manual_seed``) and "eval" (running statistics, no dropout).

One random, well-scaled set of weights per configuration (batch-norm running statistics measured on
random pictures) is written as the original's ``save_networks`` writes it (an OrderedDict in a
``.pth``). Three paths then run it, each in its own process: ``original`` (junyanz's
``models/networks.py``, imported from the checkout given with ``--junyanz``, never from this package:
the network built as ``define_G`` builds it, ``load_state_dict``, ``torch.no_grad`` as test.py),
``translate`` (GANForge: ``load_translation`` + ``translate``, under ``torch.no_grad`` as the
Translate Image node runs it) and ``bare`` (GANForge's network called directly on the NCHW tensor,
under ``torch.no_grad``). Timings are per call after one warm-up call; the table gives the median.
``--rounds`` runs every process that many times, interleaved, against drift on a busy machine.

Memory: "peak MB" is the process's peak resident set (CUDA: torch's peak allocation), loading
included; "forward MB" is the peak resident set during the warm-up and timed calls above the
resident set right after loading (Linux: the high-water mark reset through /proc/self/clear_refs;
CUDA: peak allocation above the allocation before the first call), so caches made by the first
call count. Both include what glibc's heap keeps after a free, which depends on the order of
allocations more than on their sizes; "live MB" (CPU only) is the forward MB of one more process
per path whose glibc maps every buffer above 64 KiB on its own (MALLOC_MMAP_THRESHOLD_=65536), so
that its resident set follows the memory actually in use, oneDNN's buffers included (not timed).
max |diff|: each GANForge output against the original's output of the same mode.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from harness import peak_memory_mb, run_child, seconds_per_call

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
CONFIGS = {
    "cyclegan": dict(netG="resnet_9blocks", norm="instance", use_dropout=False, modes=("eval",)),
    "pix2pix": dict(netG="unet_256", norm="batch", use_dropout=True, modes=("official", "eval")),
}
IMPLS = ("original", "translate", "bare")
DROPOUT_SEED = 7
WEIGHT_SEED = 0


def _junyanz_networks(checkout: str):
    """The original ``models/networks.py`` as a module, loaded from its file (no package import)."""
    path = Path(checkout) / "models" / "networks.py"
    if not path.is_file():
        raise SystemExit(f"--junyanz {checkout}: no models/networks.py there (a checkout of "
                         "junyanz/pytorch-CycleGAN-and-pix2pix is expected)")
    spec = importlib.util.spec_from_file_location("junyanz_networks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _original_network(checkout: str, config: dict):
    """The original generator as ``define_G`` builds it (without ``init_net``, which would move it
    to a GPU and re-draw the weights that are loaded over anyway)."""
    networks = _junyanz_networks(checkout)
    norm_layer = networks.get_norm_layer(config["norm"])
    kind, size = config["netG"].split("_")
    if kind == "resnet":
        return networks.ResnetGenerator(3, 3, 64, norm_layer=norm_layer, use_dropout=config["use_dropout"],
                                        n_blocks=int(size.replace("blocks", "")))
    return networks.UnetGenerator(3, 3, {128: 7, 256: 8}[int(size)], 64, norm_layer=norm_layer,
                                  use_dropout=config["use_dropout"])


def _our_network(config: dict):
    from ganforge.models.translation import ResnetGenerator, UnetGenerator

    kind, size = config["netG"].split("_")
    if kind == "resnet":
        return ResnetGenerator(3, 3, 64, norm=config["norm"], use_dropout=config["use_dropout"],
                               n_blocks=int(size.replace("blocks", "")))
    return UnetGenerator(3, 3, {128: 7, 256: 8}[int(size)], 64, norm=config["norm"],
                         use_dropout=config["use_dropout"])


def _weights(path: Path, config: dict, checkout: str | None) -> None:
    """Weights scaled by 1/sqrt(fan-in), so activations stay near unit size through the depth, and
    batch-norm running statistics averaged over random pictures (so eval mode is realistic), saved
    as the original's save_networks saves them."""
    import math

    import torch

    network = _original_network(checkout, config) if checkout else _our_network(config)
    generator = torch.Generator().manual_seed(WEIGHT_SEED)
    with torch.no_grad():
        for name, value in network.named_parameters():
            if value.ndim >= 2:
                value.copy_(torch.randn(value.shape, generator=generator) / math.sqrt(value[0].numel()))
            elif name.endswith("weight"):
                value.copy_(1 + 0.1 * torch.randn(value.shape, generator=generator))
            else:
                value.copy_(0.1 * torch.randn(value.shape, generator=generator))
        batch_norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        if batch_norms:
            for module in batch_norms:
                module.reset_running_stats()
                module.momentum = None  # a plain average over the calibration calls
            network.train()
            torch.manual_seed(WEIGHT_SEED)  # dropout is on while calibrating: the same draws every run
            for _ in range(4):
                network(_picture(256, generator))
            for module in batch_norms:
                module.momentum = 0.1
    torch.save(OrderedDict((k, v.detach().cpu()) for k, v in network.state_dict().items()), path)


def _picture(size: int, generator=None):
    """A smooth random picture in [-1, 1] (batch 1, RGB): blurred noise plus a colour ramp."""
    import torch
    import torch.nn.functional as F

    noise = torch.rand(1, 3, size // 8, size // 8, generator=generator)
    smooth = F.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False)
    ramp = torch.linspace(-0.5, 0.5, size).view(1, 1, 1, size)
    return (smooth * 2 - 1 + ramp).clamp(-1, 1)


# ---------------------------------------------------------------------------------------- one process


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
        return True
    except OSError:
        return False


def measure(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    device = torch.device(args.device)
    dtype = getattr(torch, DTYPES[args.precision])
    config = CONFIGS[args.config]
    x = _picture(args.size, torch.Generator().manual_seed(1))
    official = args.mode == "official"
    if args.impl == "original":
        network = _original_network(args.junyanz, config)
        state = torch.load(args.weights, map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        del state
        network.to(device=device, dtype=dtype)
        network.train(official)  # test.py leaves the networks in training mode unless --eval
        x_in = x.to(device=device, dtype=dtype)

        def run() -> torch.Tensor:
            with torch.no_grad():
                if official:
                    torch.manual_seed(DROPOUT_SEED)
                return network(x_in)
    else:
        from ganforge.models.translation import load_translation, translate

        translator = load_translation(args.weights, device=device, dtype=dtype, mode=args.mode,
                                      use_dropout=config["use_dropout"])
        network, info = translator.network(), translator.info
        if args.impl == "translate":
            def run() -> torch.Tensor:
                with torch.no_grad():  # as the Translate Image node
                    return translate(network, info, x, seed=DROPOUT_SEED).image
        else:
            x_in = x.to(device=device, dtype=dtype)

            def run() -> torch.Tensor:
                with torch.no_grad():
                    if official:
                        torch.manual_seed(DROPOUT_SEED)
                    return network(x_in)

    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2**20
        reset = True
    else:
        reset = _reset_peak_rss()
        before = _status_mb("VmRSS") if reset else None
    last: dict = {}
    last["out"] = run()  # warm-up: oneDNN / cuDNN primitive selection, lazily built caches
    seconds = [seconds_per_call(lambda: last.update(out=run()), 1, device) for _ in range(args.repeats)]
    if device.type == "cuda":
        forward = torch.cuda.max_memory_allocated() / 2**20 - before
    else:
        high = _status_mb("VmHWM") if reset else None
        forward = high - before if reset and high is not None and before is not None else None
    np.save(args.out, last["out"].float().cpu().numpy())
    return {"seconds": seconds, "peak_mb": peak_memory_mb(device), "forward_mb": forward}


# -------------------------------------------------------------------------------------------- the table


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _child(args: argparse.Namespace, impl: str, config: str, size: int, mode: str, weights: Path, out: Path,
           live: bool = False) -> dict:
    arguments = ["--one", "--impl", impl, "--config", config, "--size", str(size), "--mode", mode,
                 "--device", args.device, "--precision", args.precision,
                 "--repeats", "1" if live else str(args.repeats), "--weights", str(weights), "--out", str(out)]
    if args.junyanz:
        arguments += ["--junyanz", args.junyanz]
    if not live:
        return run_child(__file__, arguments)
    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"  # the child's glibc maps each buffer on its own
    try:
        return run_child(__file__, arguments)
    finally:
        del os.environ["MALLOC_MMAP_THRESHOLD_"]


def _rows(args: argparse.Namespace, impls: Sequence[str], name: str, size: int, mode: str, weights: Path,
          scratch: Path) -> dict[str, dict]:
    """Every path's median seconds, memory and output for one configuration, size and mode."""
    import numpy as np

    rows = {impl: {"seconds": [], "peak_mb": 0.0, "forward_mb": None, "live_mb": None} for impl in impls}
    for _ in range(args.rounds):  # interleaved, so that a busy spell of the machine hits every path alike
        for impl in impls:
            row, measured = rows[impl], _child(args, impl, name, size, mode, weights, scratch / f"{impl}.npy")
            row["seconds"] += measured["seconds"]
            row["peak_mb"] = max(row["peak_mb"], measured["peak_mb"])
            if measured["forward_mb"] is not None:
                row["forward_mb"] = max(row["forward_mb"] or 0.0, measured["forward_mb"])
            row["out"] = np.load(scratch / f"{impl}.npy")
    for impl in impls:
        rows[impl]["median"] = statistics.median(rows[impl]["seconds"])
        if args.device == "cpu":
            rows[impl]["live_mb"] = _child(args, impl, name, size, mode, weights, scratch / "live.npy",
                                           live=True)["forward_mb"]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junyanz", help="a checkout of junyanz/pytorch-CycleGAN-and-pix2pix (its "
                        "models/networks.py runs beside ours); without it only GANForge is measured")
    parser.add_argument("--configs", default="cyclegan,pix2pix", help="comma-separated: cyclegan, pix2pix")
    parser.add_argument("--sizes", default="256,512", help="picture sides for CycleGAN ResNet-9 (multiples of 4)")
    parser.add_argument("--unet-sizes", default="256", help="picture sides for pix2pix U-Net-256 (multiples of 256)")
    parser.add_argument("--modes", default="official,eval", help="pix2pix test modes to run")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per process (after one warm-up)")
    parser.add_argument("--rounds", type=int, default=1, help="processes per path, interleaved; the median is "
                        "taken over all their calls")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", choices=list(DTYPES), default="fp32")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args)))
        return 0

    import numpy as np
    import torch

    impls = IMPLS if args.junyanz else IMPLS[1:]
    print(f"# {_cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"device {args.device}, {args.precision}, batch 1, median of {args.repeats * args.rounds} calls")
    print("| network | size | mode | path | images/s | s/image | peak MB | forward MB | live MB | "
          "max abs diff vs original |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|", flush=True)
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for name in args.configs.split(","):
            config = CONFIGS[name]
            weights = scratch / f"{name}_latest_net_G.pth"
            _weights(weights, config, args.junyanz)
            sizes = [int(s) for s in (args.sizes if name == "cyclegan" else args.unet_sizes).split(",")]
            modes = [m for m in config["modes"] if m in args.modes.split(",")] if name == "pix2pix" else ["eval"]
            label = "CycleGAN ResNet-9" if name == "cyclegan" else "pix2pix U-Net-256"
            for size, mode in itertools.product(sizes, modes):
                rows = _rows(args, impls, name, size, mode, weights, scratch)
                shown = "eval = official" if name == "cyclegan" else mode
                for impl, row in rows.items():
                    diff = (f"{np.abs(row['out'] - rows['original']['out']).max():.2e}"
                            if "original" in rows and impl != "original" else "-")
                    forward, live = (f"{row[k]:.0f}" if row[k] is not None else "-" for k in ("forward_mb", "live_mb"))
                    print(f"| {label} | {size} | {shown} | {impl} | {1 / row['median']:.3f} | {row['median']:.3f} | "
                          f"{row['peak_mb']:.0f} | {forward} | {live} | {diff} |", flush=True)
                if "original" in rows:
                    base = rows["original"]["median"]
                    ratios += [f"{label} {size} {shown}, {impl}: {base / rows[impl]['median']:.2f}x the "
                               "original's speed" for impl in impls[1:]]
    if ratios:
        print()
        print("\n".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
