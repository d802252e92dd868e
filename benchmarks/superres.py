"""Super-resolution speed, peak memory and agreement: GANForge beside ComfyUI's built-in path.

    python benchmarks/superres.py                           # RRDBNet x4 (23 blocks, 64 features)
    python benchmarks/superres.py --size 640x400 --tile 512 --precision fp16 --device cuda
    python benchmarks/superres.py --sr3                     # also SR3 steps/s (16->128 config)
    python benchmarks/superres.py --sr3 --janspiry /path/to/Image-Super-Resolution-via-Iterative-Refinement

ComfyUI's path is what its "Upscale Image (using Model)" node runs: spandrel's network and
``comfy.utils.tiled_scale`` (tile 512, overlap 32). GANForge's path is GANForge Upscale Image:
our network and our tiler. Both get the same random weights and picture, in separate processes
(CPU peak memory = the process's peak resident set; CUDA: torch.cuda.max_memory_allocated).
Agreement: each tiled output against the untiled network output (``--reference``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

from harness import peak_memory_mb, run_child, seconds_per_call

ROOT = Path(__file__).resolve().parent.parent
COMFYUI = ROOT / ".comfyui" / "ComfyUI-0.3.75"
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def _weights(path: Path, blocks: int, features: int) -> None:
    import torch

    from ganforge.models.superres.esrgan import RRDBNet

    torch.manual_seed(0)
    network = RRDBNet(num_feat=features, num_block=blocks, num_grow_ch=32)
    with torch.no_grad():  # PyTorch's initialisation, with the last layer centred so the output lies in 0..1
        network.conv_last.weight.mul_(0.5)
        network.conv_last.bias.fill_(0.7)
    torch.save({"params_ema": network.state_dict()}, path)


def measure(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    torch.set_grad_enabled(False)
    device = torch.device(args.device)
    dtype = getattr(torch, DTYPES[args.precision])
    width, height = (int(v) for v in args.size.split("x"))
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1))
    if args.impl == "comfyui":
        sys.path.insert(0, str(args.comfyui))
        import comfy.utils
        from spandrel import ModelLoader

        descriptor = ModelLoader().load_from_file(args.weights).eval().to(device)
        descriptor.model.to(dtype)

        def run() -> torch.Tensor:
            return comfy.utils.tiled_scale(x.to(device), lambda a: descriptor(a.to(dtype)).float(),
                                           tile_x=args.tile, tile_y=args.tile, overlap=args.overlap,
                                           upscale_amount=descriptor.scale, output_device=device)
    else:
        from ganforge.models.superres import load_superres
        from ganforge.models.superres.upscale import upscale

        network = load_superres(args.weights).to(device=device, dtype=dtype)
        tile = 0 if args.impl == "untiled" else args.tile

        def run() -> torch.Tensor:
            return upscale(network, x, tile=tile, overlap=args.overlap).image

    if device.type == "cuda":
        run()  # warm-up (kernel selection)
    last: dict = {}
    seconds = seconds_per_call(lambda: last.update(out=run()), args.repeats, device)
    np.save(args.out, last["out"].clamp(0, 1).float().cpu().numpy())
    return {"megapixels_per_s": width * height / 1e6 / seconds, "seconds": seconds, "peak_mb": peak_memory_mb(device)}


def measure_sr3(args: argparse.Namespace) -> dict:
    """One denoising step of SR3's 16->128 network (the published config) at 128x128, batch 1."""
    import torch

    from ganforge.models.superres.sr3 import SR3UNet

    torch.set_grad_enabled(False)
    device = torch.device(args.device)
    kwargs = dict(in_channel=6, out_channel=3, inner_channel=64, norm_groups=32, channel_mults=[1, 2, 4, 8, 8],
                  res_blocks=2)
    torch.manual_seed(0)
    ours = SR3UNet(attn_levels=[3], **kwargs)
    if args.impl == "janspiry":
        sys.path.insert(0, args.janspiry)
        from model.sr3_modules.unet import UNet

        network = UNet(attn_res=[16], image_size=128, channel_mults=kwargs.pop("channel_mults"),
                       **{k: v for k, v in kwargs.items()})
        network.load_state_dict(ours.state_dict())
    else:
        network = ours
    network = network.eval().to(device)
    x = torch.randn(1, 6, 128, 128, device=device)
    level = torch.full((1, 1), 0.5, device=device)
    network(x, level)
    seconds = seconds_per_call(lambda: network(x, level), args.repeats, device)
    return {"steps_per_s": 1 / seconds, "peak_mb": peak_memory_mb(device)}


def _child(args: argparse.Namespace, impl: str, **extra) -> dict:
    arguments = ["--one", "--impl", impl, "--device", args.device, "--repeats", str(args.repeats), "--size",
                 args.size, "--tile", str(args.tile), "--overlap", str(args.overlap), "--precision", args.precision,
                 "--comfyui", str(args.comfyui)]
    for key, value in extra.items():
        arguments += [f"--{key}", str(value)]
    if args.janspiry:
        arguments += ["--janspiry", args.janspiry]
    return run_child(__file__, arguments)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x400", help="input WxH (default 640x400: two tiles of 512)")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=23)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--precision", choices=list(DTYPES), default="fp32")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--reference", action="store_true", help="also run untiled and compare both to it")
    parser.add_argument("--sr3", action="store_true", help="also SR3 denoising steps/s")
    parser.add_argument("--janspiry", help="a checkout of Janspiry's SR3 for its UNet beside ours")
    parser.add_argument("--comfyui", default=str(COMFYUI), help="the ComfyUI folder (default: the embedded one)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_sr3(args) if args.impl in ("sr3", "janspiry") else measure(args)))
        return 0

    import numpy as np
    import torch

    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}, device {args.device}, {args.precision}")
    with tempfile.TemporaryDirectory() as scratch:
        weights = Path(scratch) / "rrdb.pth"
        _weights(weights, args.blocks, args.features)
        impls = ["ganforge", "comfyui"] + (["untiled"] if args.reference else [])
        rows = {}
        for impl in impls:
            out = Path(scratch) / f"{impl}.npy"
            rows[impl] = _child(args, impl, weights=weights, out=out)
            rows[impl]["image"] = np.load(out)
        print(f"RRDBNet x4 ({args.blocks} blocks, {args.features} features), input {args.size}, tile {args.tile}, "
              f"overlap {args.overlap}")
        print(f"{'path':>10} {'MP/s (input)':>13} {'s/picture':>10} {'peak MB':>9} {'max |diff| vs untiled':>22}")
        for impl in impls:
            diff = (f"{np.abs(rows[impl]['image'] - rows['untiled']['image']).max():.2e}"
                    if args.reference else "-")
            row = rows[impl]
            print(f"{impl:>10} {row['megapixels_per_s']:>13.4f} {row['seconds']:>10.1f} {row['peak_mb']:>9.0f} "
                  f"{diff:>22}")
        both = np.abs(rows["ganforge"]["image"] - rows["comfyui"]["image"]).max()
        speed = rows["ganforge"]["megapixels_per_s"] / rows["comfyui"]["megapixels_per_s"]
        print(f"GANForge / ComfyUI speed: {speed:.2f}x; max |GANForge - ComfyUI| = {both:.2e}")
    if args.sr3:
        print("SR3 UNet, 16->128 config (64 channels, mults 1 2 4 8 8, attention at 16 px), 128x128, batch 1")
        for impl in ["sr3"] + (["janspiry"] if args.janspiry else []):
            row = _child(args, impl)
            print(f"{impl:>10} {row['steps_per_s']:>8.3f} steps/s {row['peak_mb']:>9.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
