"""The command line: ``python -m ganforge <command>`` (also the ``ganforge`` script)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

# Each command module adds its subparser; later families append theirs here.
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def command(register: Callable[[argparse._SubParsersAction], None]):
    """Decorator for a function that adds one subcommand (with ``set_defaults(handler=...)``)."""
    _COMMANDS.append(register)
    return register


@command
def _comfy(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("comfy", help="the embedded ComfyUI: install it or show where it is")
    parser.add_argument("action", choices=["install", "path"])
    parser.set_defaults(handler=_comfy_main)


def _comfy_main(args: argparse.Namespace) -> int:
    from .headless.embedded import ComfyUIError, ensure_comfyui

    try:
        path = ensure_comfyui(quiet=args.action == "path")
    except ComfyUIError as error:
        print(f"ganforge comfy: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


@command
def _run(subparsers: argparse._SubParsersAction) -> None:
    from .headless.runner import add_run_arguments

    parser = subparsers.add_parser(
        "run", help="run a workflow (UI or API format) headless and save its images",
        description="Run a ComfyUI workflow file headless. Without --server an embedded ComfyUI is "
        "started on a free loopback port and stopped afterwards.",
    )
    add_run_arguments(parser)


@command
def _convert(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("convert", help="convert a model file to GANForge .safetensors",
                                   description="Read a supported checkpoint safely (no code from it runs) and "
                                   "write weights + architecture metadata as .safetensors.")
    parser.add_argument("source")
    parser.add_argument("target", help="the .safetensors file to write (never replaces an existing file)")
    parser.set_defaults(handler=_convert_main)


def _convert_main(args: argparse.Namespace) -> int:
    from .models.checkpoint import CheckpointError
    from .models.stylegan import load_stylegan, save_stylegan

    if not args.target.endswith(".safetensors"):
        print("ganforge convert: the target must end in .safetensors", file=sys.stderr)
        return 2
    try:
        network = load_stylegan(args.source)
        save_stylegan(network, args.target)
    except (CheckpointError, FileExistsError) as error:
        print(f"ganforge convert: {error}", file=sys.stderr)
        return 1
    print(f"{args.target}: {network.architecture}, {network.img_resolution}px, num_ws {network.num_ws}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganforge", description="GANForge command line")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
