"""Projection speed: optimisation steps per second of GANForge's projector (NVlabs' schedule).

    python benchmarks/projection.py                       # the zoo digits model and SG2 config-F 256
    python benchmarks/projection.py --steps 50 --device cuda

Models: the zoo's digits-sg2-cond (32 px, as the example workflow projects) and a random-weight
StyleGAN2 config-F at 256 px (the size of NVlabs' projector input), each with the pixel distance
and with the VGG16 perceptual distance (random VGG16 weights: the speed is the same as with
ImageNet weights). Statistics of W (10,000 samples) are computed once per projection and counted
separately from the steps.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch


def run_one(generator: torch.nn.Module, distance, steps: int, device: torch.device) -> dict:
    from ganforge.models.stylegan.projection import ProjectionConfig, project

    c = torch.eye(generator.c_dim)[:1].to(device) if generator.c_dim else None
    with torch.no_grad():
        target = generator(torch.randn(1, generator.z_dim, device=device), c)
    stamps = []
    started = time.perf_counter()
    project(generator, target, distance, ProjectionConfig(steps=steps), c,
            on_step=lambda step, total, loss, ws: stamps.append(time.perf_counter()))
    # The first step's time includes the W statistics; steps/s is measured from step 1 to the end.
    return {"setup_s": round(stamps[0] - started, 2),
            "steps_per_s": round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 2)}


def main() -> int:
    from ganforge.models.perceptual import PerceptualDistance, VGG16Features
    from ganforge.models.stylegan import load_stylegan
    from ganforge.models.stylegan.projection import multiscale_pixel_distance
    from ganforge.models.stylegan.stylegan2 import Generator
    from ganforge.models.zoo import REGISTRY

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    models = {
        "digits-sg2-cond 32": load_stylegan(REGISTRY["digits-sg2-cond"].path, device),
        "sg2-F 256": Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
                               mapping_kwargs={"num_layers": 8}, channel_base=32768, channel_max=512,
                               num_fp16_res=4, conv_clamp=256).to(device).eval(),
    }
    distances = {"pixel": multiscale_pixel_distance, "vgg16": PerceptualDistance(VGG16Features().to(device))}
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, device {device}, {args.steps} steps")
    print("| model | distance | steps/s | W statistics + first step (s) |")
    print("|---|---|---|---|")
    for (model_name, generator), (distance_name, distance) in (
            (m, d) for m in models.items() for d in distances.items()):
        result = run_one(generator, distance, args.steps, device)
        print(f"| {model_name} | {distance_name} | {result['steps_per_s']} | {result['setup_s']} |", flush=True)
        print(json.dumps({"model": model_name, "distance": distance_name, **result}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
