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


@command
def _inspect(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inspect", help="name a model file's family, configuration and folder",
                                   description="Read a model file safely (nothing in it runs) and say which GANForge "
                                   "family it belongs to, its configuration and the ComfyUI model folder it goes in; "
                                   "for a file no family recognises, what it holds and what each family looks for.")
    parser.add_argument("file")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(handler=_inspect_main)


def _inspect_main(args: argparse.Namespace) -> int:
    import json

    from .models import registry
    from .models.checkpoint import CheckpointError, read_checkpoint

    try:
        file = read_checkpoint(args.file, "a model file: .safetensors, .pth, .pt, .ckpt, .bin or .pkl")
        found = registry.recognise_file(file, args.file)
    except CheckpointError as error:
        print(f"ganforge inspect: {error}", file=sys.stderr)
        return 1
    if found is None:
        looks = registry.describe_content(file)
        if args.json:
            print(json.dumps({"file": args.file, "family": None, "holds": looks,
                              "families_expect": {f.name: f.expects for f in registry.families().values()}}))
        else:
            print(f"{args.file}: no GANForge family recognises this file.\nIt holds:")
            print("\n".join(f"  {line}" for line in looks))
            print("What each family looks for:")
            print("\n".join(f"  {f.name}: {f.expects}" for f in registry.families().values()))
        return 1
    if args.json:
        print(json.dumps({"file": args.file, "family": found.family, "architecture": found.architecture,
                          "role": found.role, "folder": f"models/{found.folder}", "loadable": found.loadable,
                          "summary": found.summary, "config": found.config, "hint": found.hint}, default=str))
        return 0
    print(f"{args.file}: {found.summary}")
    print(f"  family: {found.family} ({found.architecture}, {found.role})")
    print(f"  folder: models/{found.folder}")
    if found.config:
        print(f"  configuration: {json.dumps(found.config, default=str)}")
    if not found.loadable:
        print("  GANForge recognises this file but cannot load it yet.")
    if found.hint:
        print(f"  note: {found.hint}")
    return 0


@command
def _train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a small StyleGAN2 on a folder of pictures",
                                   description="Train (or fine-tune, or resume) a small StyleGAN2 on your pictures "
                                   "with differentiable augmentation, R1 and an EMA generator. Writes OUT (the EMA "
                                   "generator, GANForge .safetensors, loadable by every node) and OUT.training.pt "
                                   "(everything needed to resume). Existing files are never replaced.")
    parser.add_argument("data", help="a folder of pictures (searched recursively), or 'digits' / 'digits-bold'")
    parser.add_argument("out", help="the .safetensors file to write")
    parser.add_argument("--resolution", type=int, default=32, help="square size in pixels (power of two)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=3, choices=[1, 3])
    parser.add_argument("--resume", help="a .training.pt file from an earlier run")
    parser.add_argument("--finetune", help="start the generator from this StyleGAN2 file (a fresh discriminator)")
    parser.add_argument("--arch", default="stylegan2", choices=["stylegan2", "dcgan"],
                        help="stylegan2 (default) or dcgan, the classic simple GAN")
    parser.set_defaults(handler=_train_main)


def _train_main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .models.training.session import TrainingError, run_training

    out = Path(args.out)
    try:
        facts = run_training(args.data, out, resolution=args.resolution, steps=args.steps, batch=args.batch,
                             seed=args.seed, channels=args.channels, resume=args.resume, finetune=args.finetune,
                             architecture=args.arch,
                             report=lambda line: print(line, file=sys.stderr, flush=True))
    except TrainingError as error:
        print(f"ganforge train: {error}", file=sys.stderr)
        return 1
    print(facts)
    return 0


@command
def _train_translation(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-translation", help="train a pix2pix, CycleGAN, MUNIT or FUNIT translator on your own pictures",
        description="Train (or resume) an image-to-image translator with the original recipes of "
        "junyanz/pytorch-CycleGAN-and-pix2pix. pix2pix (paired): one aligned folder (each picture A|B side by "
        "side) or two folders whose pictures pair up by file name. CycleGAN (unpaired): two folders, or one with "
        "trainA and trainB inside. MUNIT (unpaired, multimodal; the NVlabs recipe): as CycleGAN. FUNIT (few-shot, "
        "the NVlabs recipe): one ROOT folder holding one sub-folder of pictures per class. "
        "Writes OUT (GANForge .safetensors, loadable by Load Translator), "
        "OUT's stem + .training.pt (everything needed to resume) and, with --export-junyanz, the original's "
        "latest_net_G*.pth for its test.py. Existing files are never replaced.")
    parser.add_argument("kind", choices=["pix2pix", "cyclegan", "munit", "funit"])
    parser.add_argument("folders", nargs="+", metavar="FOLDER", help="pix2pix: ALIGNED or A B; cyclegan: A B, or ROOT "
                        "holding trainA and trainB; funit: ROOT holding one sub-folder per class")
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    parser.add_argument("--steps", type=int, default=200,
                        help="train until this many steps in all (a resumed run continues up to it)")
    parser.add_argument("--batch", type=int, help="pictures per step (default the original's: 1; FUNIT 64)")
    parser.add_argument("--size", type=int, default=256, help="side of the square crops training sees")
    parser.add_argument("--load-size", type=int, help="resize to this before cropping (default size*286/256; FUNIT "
                        "size*140/128)")
    parser.add_argument("--preprocess", default="resize_and_crop", choices=["resize_and_crop", "crop", "none"])
    parser.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--resume", help="a .training.pt file from an earlier run")
    parser.add_argument("--export-junyanz", metavar="DIR", help="also write latest_net_G.pth (CycleGAN: _G_A, _G_B) "
                        "here, for the original test.py")
    parser.add_argument("--arch", help="generator: resnet_9blocks, resnet_6blocks, unet_256, unet_128, unet_32, ... "
                        "(default: unet_256 for pix2pix, resnet_9blocks for CycleGAN)")
    parser.add_argument("--ngf", type=int, default=64, help="generator width")
    parser.add_argument("--ndf", type=int, default=64, help="discriminator width")
    parser.add_argument("--norm", choices=["batch", "instance", "none"], help="default: batch (pix2pix), instance "
                        "(CycleGAN)")
    parser.add_argument("--dropout", action=argparse.BooleanOptionalAction, help="default: on for pix2pix, off for "
                        "CycleGAN")
    parser.add_argument("--input-nc", type=int, default=3, choices=[1, 3], help="channels of A pictures")
    parser.add_argument("--output-nc", type=int, default=3, choices=[1, 3], help="channels of B pictures")
    parser.add_argument("--gan-mode", choices=["vanilla", "lsgan"], help="default: vanilla (pix2pix), lsgan (CycleGAN)")
    parser.add_argument("--schedule-steps", type=int, help="where the learning-rate schedule ends (default --steps); "
                        "give the final count when you mean to stop early and resume")
    parser.add_argument("--decay-steps", type=int, help="the last steps of the schedule that decay the learning rate "
                        "linearly (default half)")
    parser.add_argument("--style-dim", type=int, help="MUNIT: numbers in a style code (default 8); FUNIT: in a "
                        "class code (latent_dim, 64)")
    parser.add_argument("--n-res", type=int, help="MUNIT: residual blocks of the content encoder and decoder (4); "
                        "FUNIT: n_res_blks (2)")
    parser.add_argument("--n-downsample", type=int, help="MUNIT: downsamplings of the content encoder (2); FUNIT: "
                        "n_downs_content (3)")
    parser.add_argument("--device", help="cpu (default) or cuda")
    parser.set_defaults(handler=_train_translation_main)


def _train_translation_main(args: argparse.Namespace) -> int:
    import json

    from .models.translation.training import TranslationTrainingError, run_translation_training

    if len(args.folders) > 2:
        print("ganforge train-translation: give one or two folders", file=sys.stderr)
        return 1
    if args.kind == "funit" and len(args.folders) != 1:
        print("ganforge train-translation: FUNIT takes one ROOT folder holding one sub-folder per class",
              file=sys.stderr)
        return 1
    a, b = [*args.folders, None][:2]
    recipe = {k: v for k, v in (("gan_mode", args.gan_mode), ("decay_steps", args.decay_steps)) if v is not None}
    generator = {k: v for k, v in (("style_dim", args.style_dim), ("n_res", args.n_res),
                                   ("n_downsample", args.n_downsample)) if v is not None}
    if generator and args.kind not in ("munit", "funit"):
        print("ganforge train-translation: --style-dim, --n-res and --n-downsample are MUNIT / FUNIT settings",
              file=sys.stderr)
        return 1
    if args.kind == "munit":
        recipe["munit"] = {"generator": generator}
    if args.kind == "funit":  # the same settings under FUNIT's names
        names = {"style_dim": "latent_dim", "n_res": "n_res_blks", "n_downsample": "n_downs_content"}
        recipe["funit"] = {"generator": {names[k]: v for k, v in generator.items()}}
    try:
        facts = run_translation_training(
            args.kind, a, b, args.out, steps=args.steps, batch=args.batch, seed=args.seed, architecture=args.arch,
            ngf=args.ngf, ndf=args.ndf, norm=args.norm, dropout=args.dropout, input_nc=args.input_nc,
            output_nc=args.output_nc, crop_size=args.size, load_size=args.load_size, preprocess=args.preprocess,
            flip=not args.no_flip, schedule_steps=args.schedule_steps, resume=args.resume,
            export_junyanz_dir=args.export_junyanz, device=args.device,
            report=lambda line: print(line, file=sys.stderr, flush=True), **recipe)
    except (TranslationTrainingError, FileExistsError, FloatingPointError) as error:
        print(f"ganforge train-translation: {error}", file=sys.stderr)
        return 1
    print(json.dumps(facts))
    return 0


@command
def _zoo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("zoo", help="the bundled small models: list, retrain, measure",
                                   description="The zoo: small models trained by GANForge itself on data that "
                                   "ships with Python packages (training needs scikit-learn).")
    parser.add_argument("action", choices=["list", "train", "eval"])
    parser.add_argument("name", nargs="?", help="a zoo member (see `zoo list`)")
    parser.add_argument("--out", help="train: write here instead of the zoo folder")
    parser.set_defaults(handler=_zoo_main)


def _zoo_main(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from .models.zoo import REGISTRY, ZOO_DIR

    if args.action == "list":
        for member in REGISTRY.values():
            state = "present" if member.path.is_file() else "missing"
            print(f"{member.name:20} {member.folder:10} {state:8} {member.description}")
        return 0
    if args.name not in REGISTRY:
        print(f"ganforge zoo: unknown member {args.name!r}; known: {', '.join(REGISTRY)}", file=sys.stderr)
        return 2
    member = REGISTRY[args.name]
    if args.action == "eval" and member.folder == "translation":
        from .models.training.translation_digits import measure_member

        print(json.dumps({"name": member.name, **measure_member(member.path)}))
        return 0
    if args.action == "eval":
        from .models.stylegan import load_stylegan
        from .models.training.evaluate import class_accuracy

        print(json.dumps({"name": member.name, "class_accuracy": class_accuracy(load_stylegan(member.path))}))
        return 0
    out = Path(args.out) if args.out else member.path
    if out.exists():
        print(f"ganforge zoo: {out} exists and is never replaced; remove it or give --out", file=sys.stderr)
        return 1

    def progress(step: int, total: int, record: dict) -> None:
        if step % 100 == 0 or step == total:
            losses = ", ".join(f"{k} {v:.3f}" for k, v in record.items() if k != "step")
            print(f"[{member.name}] step {step}/{total}: {losses}", file=sys.stderr, flush=True)

    out.parent.mkdir(parents=True, exist_ok=True)  # a new family's zoo folder may not exist yet
    facts = member.recipe(out, progress)
    if not args.out:  # record how the committed file was made
        manifest_path = ZOO_DIR / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        manifest[member.name] = facts
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(json.dumps({"written": str(out), **facts}))
    return 0


@command
def _doctor(subparsers: argparse._SubParsersAction) -> None:
    from .headless.doctor import add_doctor_arguments, doctor_main

    parser = subparsers.add_parser("doctor", help="check the set-up: ComfyUI, torch and devices, model folders, zoo",
                                   description="Say what a user needs to know when something is off: which ComfyUI "
                                   "is used and its version, torch and its devices, the model folders GANForge lists "
                                   "and what each file in them is (files in the wrong folder are named), the zoo, the "
                                   "frontend. Changes nothing. Exit status 1 when something needs fixing.")
    add_doctor_arguments(parser)
    parser.set_defaults(handler=doctor_main)


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
