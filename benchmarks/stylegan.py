"""StyleGAN generation speed and peak memory: GANForge, and NVlabs' implementation beside it.

    python benchmarks/stylegan.py                                  # ours, default sizes
    python benchmarks/stylegan.py --nvlabs /path/to/stylegan3      # + NVlabs on the same weights
    python benchmarks/stylegan.py --resolutions 256 --batches 1 8 --repeats 3

Each (implementation, resolution, batch) runs in a fresh process, so peak memory is its own
(CPU: peak resident set size of the process; CUDA: torch.cuda.max_memory_allocated). Weights are
random, config-F widths (channel_base 32768, channel_max 512), noise_mode 'const', fp32 on CPU.
NVlabs' code needs its repository on the path; it is never imported from this package.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import platform
import resource
import subprocess
import sys
import time

# name -> (NVlabs module family, constructor arguments beyond the common ones)
CONFIGS = {
    "sg2": ("stylegan2", dict(mapping_kwargs={"num_layers": 8}, channel_base=32768, channel_max=512)),
    "sg3t": ("stylegan3", dict(mapping_kwargs={"num_layers": 2}, channel_base=32768, channel_max=512)),
    "sg3r": ("stylegan3", dict(mapping_kwargs={"num_layers": 2}, channel_base=65536, channel_max=1024,
                               conv_kernel=1, use_radial_filters=True)),
}


def _provide_pkg_resources() -> None:
    """NVlabs' conv2d_gradfix imports pkg_resources.parse_version, which new setuptools dropped."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import types

        from packaging.version import parse

        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)


def measure(args: argparse.Namespace) -> dict:
    import torch

    torch.set_grad_enabled(False)
    device = torch.device(args.device)
    family, extra = CONFIGS[args.config]
    kwargs = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=args.resolution, img_channels=3,
                  num_fp16_res=4, conv_clamp=256, **extra)
    torch.manual_seed(0)
    if family == "stylegan2":
        from ganforge.models.stylegan.stylegan2 import Generator
    else:
        from ganforge.models.stylegan.stylegan3 import Generator

    ours = Generator(**kwargs)
    if args.impl == "nvlabs":
        sys.path.insert(0, args.nvlabs)
        _provide_pkg_resources()
        module = importlib.import_module(f"training.networks_{family}")
        network = module.Generator(**kwargs)
        network.load_state_dict(ours.state_dict())
    else:
        network = ours
    network = network.eval().to(device)
    z = torch.randn(args.batch, 512, device=device)
    call = lambda: network(z, None, noise_mode="const")  # noqa: E731
    call()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(args.repeats):
        call()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / args.repeats
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"images_per_s": args.batch / seconds, "seconds_per_call": seconds, "peak_mb": peak_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nvlabs", help="path of an NVlabs stylegan3 (or stylegan2-ada-pytorch) checkout")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS),
                        help="sg2 = StyleGAN2 config F, sg3t / sg3r = StyleGAN3 configs T / R")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all-sizes", action="store_true", help="also StyleGAN3 at 1024")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", default="ganforge", help=argparse.SUPPRESS)
    parser.add_argument("--resolution", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--config", default="sg2", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(measure(args)))
        return 0

    import torch

    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}, device {args.device}")
    impls = ["ganforge"] + (["nvlabs"] if args.nvlabs else [])
    columns = " ".join(f"{i + ' img/s':>15} {i + ' MB':>13}" for i in impls)
    print(f"{'config':>6} {'resolution':>10} {'batch':>5} {columns}" + ("   speed-up" if args.nvlabs else ""))
    for config, resolution, batch in itertools.product(args.configs, args.resolutions, args.batches):
        if config != "sg2" and resolution > 512 and not args.all_sizes:
            continue  # SG3 at 1024 on a small CPU takes minutes per image; --all-sizes includes it
        row = {}
        for impl in impls:
            command = [sys.executable, __file__, "--one", "--impl", impl, "--config", config,
                       "--resolution", str(resolution),
                       "--batch", str(batch), "--repeats", str(args.repeats), "--device", args.device,
                       "--threads", str(args.threads)] + (["--nvlabs", args.nvlabs] if args.nvlabs else [])
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            row[impl] = json.loads(done.stdout.strip().splitlines()[-1])
        cells = " ".join(f"{row[i]['images_per_s']:>15.3f} {row[i]['peak_mb']:>13.0f}" for i in impls)
        speedup = row["ganforge"]["images_per_s"] / row["nvlabs"]["images_per_s"] if args.nvlabs else 0
        ratio = f"   {speedup:>8.2f}x" if args.nvlabs else ""
        print(f"{config:>6} {resolution:>10} {batch:>5} {cells}{ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
