"""Training speed: images per second of GANForge's StyleGAN2 training loop (digits zoo configuration).

    python benchmarks/train.py                     # CPU, and CUDA when present
    python benchmarks/train.py --steps 40 --batch 32 --resolution 32

One warm-up step, then ``--steps`` timed steps (each step: one discriminator update with R1 every
4th step, one generator update, the EMA). Prints a table; never part of the tests.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch


def measure(device: str, steps: int, batch: int, resolution: int) -> float:
    from ganforge.models.stylegan.stylegan2 import Generator
    from ganforge.models.training.data import digits
    from ganforge.models.training.discriminator import Discriminator
    from ganforge.models.training.session import small_stylegan2_kwargs
    from ganforge.models.training.trainer import TrainConfig, new_state, one_hot, train

    torch.manual_seed(0)
    images, labels = digits(resolution)
    G = Generator(**small_stylegan2_kwargs(resolution, 1, 10)).to(device)
    G.architecture = "stylegan2"
    D = Discriminator(resolution, 1, 10, channel_base=32 * resolution, channel_max=64).to(device)
    state = new_state(G, D, TrainConfig(steps=1, batch_size=batch))
    train(state, images, one_hot(labels, 10), TrainConfig(steps=1, batch_size=batch))
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    train(state, images, one_hot(labels, 10), TrainConfig(steps=steps, batch_size=batch))
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--resolution", type=int, default=32)
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"# {machine}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'device':>6} {'resolution':>10} {'batch':>5} {'images/s':>9} {'steps/s':>8}")
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        rate = measure(device, args.steps, args.batch, args.resolution)
        print(f"{device:>6} {args.resolution:>10} {args.batch:>5} {rate:>9.1f} {rate / args.batch:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
