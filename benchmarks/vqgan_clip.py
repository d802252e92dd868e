"""VQGAN-CLIP iterations per second and peak memory: GANForge beside nerdyrodent/VQGAN-CLIP.

    python benchmarks/vqgan_clip.py                                  # ours: 256 and 512 px, cutn 32 and 64
    python benchmarks/vqgan_clip.py --nerdyrodent /path/to/VQGAN-CLIP --iterations 3
    python benchmarks/vqgan_clip.py --sizes 256 --cutn 32 --device cuda

Both run the same random weights: a VQGAN with the f16-1024 configuration (taming's
``vqgan_imagenet_f16_1024.yaml``) and a CLIP with ViT-B/32's shapes (QuickGELU), the prompt
"a watercolour lighthouse", Adam at lr 0.1, cutouts by the "latest" method with the augmentations
Af Pe Ji Er, starting from the same random codes. nerdyrodent's side runs its own functions from
its ``generate.py`` (MakeCutouts, vector_quantize, Prompt, synth, ascend_txt, train; read from the
file and executed here, nothing of it is kept) with taming-transformers' modules and OpenAI's CLIP
model code, which its README has you clone into its folder (``taming-transformers/``, ``CLIP/``;
``--taming`` / ``--openai-clip`` point elsewhere). Each measurement runs in its own process; CPU
peak memory is that process's peak resident set, CUDA's torch.cuda.max_memory_allocated.
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import sys
import tempfile
from pathlib import Path

from harness import peak_memory_mb, run_child, seconds_per_call

ROOT = Path(__file__).resolve().parent.parent
F16_1024 = dict(embed_dim=256, n_embed=1024, ch=128, ch_mult=[1, 1, 2, 2, 4], num_res_blocks=2, attn_levels=[4],
                z_channels=256, in_channels=3, out_ch=3)
TAMING_DDCONFIG = dict(double_z=False, z_channels=256, resolution=256, in_channels=3, out_ch=3, ch=128,
                       ch_mult=[1, 1, 2, 2, 4], num_res_blocks=2, attn_resolutions=[16], dropout=0.0)
PROMPT = "a watercolour lighthouse"
AUGMENTS = ["Af", "Pe", "Ji", "Er"]
NERDY_NAMES = {"sinc", "lanczos", "ramp", "resample", "ReplaceGrad", "replace_grad", "ClampWithGrad",
               "clamp_with_grad", "vector_quantize", "Prompt", "MakeCutouts", "synth", "ascend_txt", "train"}


def write_weights(folder: Path) -> None:
    """Random weights (PyTorch's initialisation, seeded) in both layouts' names (they agree)."""
    import torch

    from ganforge.models.guidance.clip import build_clip
    from ganforge.models.vqgan.vqmodel import VQModel

    torch.manual_seed(0)
    vqgan = VQModel(**F16_1024)
    with torch.no_grad():
        vqgan.codebook.uniform_(-1.0 / 1024, 1.0 / 1024)  # taming's codebook initialisation
    torch.save(vqgan.state_dict(), folder / "vqgan.pt")
    import open_clip

    config = dict(open_clip.get_model_config("ViT-B-32"))
    config["quick_gelu"] = True
    torch.save(build_clip(config).state_dict(), folder / "clip.pt")


def _nerdyrodent_functions(path: Path, namespace: dict) -> None:
    """Execute the few top-level definitions of generate.py that the loop needs, in ``namespace``."""
    tree = ast.parse((path / "generate.py").read_text())
    keep = []
    for node in tree.body:
        names = ({node.name} if isinstance(node, ast.FunctionDef | ast.ClassDef) else
                 {t.id for t in node.targets if isinstance(t, ast.Name)} if isinstance(node, ast.Assign) else set())
        if names & NERDY_NAMES:
            if isinstance(node, ast.FunctionDef):
                node.decorator_list = []
            keep.append(node)
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(path / "generate.py"), "exec"), namespace)


def measure(args: argparse.Namespace) -> dict:
    import torch

    device = torch.device(args.device)
    folder = Path(args.weights)
    tokens_of = __import__("open_clip").tokenizer.SimpleTokenizer()
    size, cutn = args.size, args.cutn
    side = size // 16
    codes = torch.randint(1024, (side * side,), generator=torch.Generator().manual_seed(1))
    if args.impl == "ganforge":
        from ganforge.models.guidance import ClipGuide, Cutouts, VQGANLatent, guide, load_clip, text_targets
        from ganforge.models.guidance.prompts import PromptSpec
        from ganforge.models.vqgan import load_vqgan

        vqgan = load_vqgan(folder / "vqgan.pt").to(device)
        clip = load_clip(folder / "clip.pt", quick_gelu=True, device=device)
        targets = text_targets(clip, [PromptSpec(PROMPT)])
        z = vqgan.codebook.detach()[codes].view(1, side, side, -1).movedim(-1, 1)
        latent = VQGANLatent(vqgan, z)
        cutouts = Cutouts(clip.image_size, cutn, method="latest", augments=AUGMENTS)

        def run(iterations: int) -> None:
            guide(latent, ClipGuide(clip, cutouts), targets, iterations=iterations, lr=0.1, seed=0)
    else:
        path = Path(args.nerdyrodent)
        sys.path.insert(0, args.taming or str(path / "taming-transformers"))
        sys.path.insert(0, args.openai_clip or str(path / "CLIP"))
        import kornia.augmentation as K
        import torch.nn.functional as F
        from clip.model import build_model
        from taming.modules.diffusionmodules.model import Decoder, Encoder
        from taming.modules.vqvae.quantize import VectorQuantizer2
        from torch import nn, optim
        from torchvision import transforms

        class VQModel(nn.Module):  # taming's VQModel without Lightning: the same modules and decode
            def __init__(self) -> None:
                super().__init__()
                self.encoder, self.decoder = Encoder(**TAMING_DDCONFIG), Decoder(**TAMING_DDCONFIG)
                self.quantize = VectorQuantizer2(1024, 256, beta=0.25)
                self.quant_conv = nn.Conv2d(256, 256, 1)
                self.post_quant_conv = nn.Conv2d(256, 256, 1)

            def decode(self, quant):
                return self.decoder(self.post_quant_conv(quant))

        model = VQModel()
        model.load_state_dict(torch.load(folder / "vqgan.pt", weights_only=True))
        model = model.eval().requires_grad_(False).to(device)  # as its load_vqgan_model does
        perceptor = build_model(torch.load(folder / "clip.pt", weights_only=True)).float()
        perceptor = perceptor.eval().requires_grad_(False).to(device)
        namespace = {"torch": torch, "nn": nn, "F": F, "K": K, "math": __import__("math"), "optim": optim,
                     "args": argparse.Namespace(augments=[AUGMENTS], init_weight=0, make_video=False,
                                                display_freq=10**9),
                     "gumbel": False, "model": model, "perceptor": perceptor, "i": 0, "checkin": lambda *a: None,
                     "normalize": transforms.Normalize(mean=[0.48145466, 0.4578275, 0.40821073],
                                                       std=[0.26862954, 0.26130258, 0.27577711])}
        _nerdyrodent_functions(path, namespace)
        namespace["make_cutouts"] = namespace["MakeCutouts"](perceptor.visual.input_resolution, cutn)
        text = tokens_of([PROMPT]).to(device)
        namespace["pMs"] = [namespace["Prompt"](perceptor.encode_text(text).float()).to(device)]
        weight = model.quantize.embedding.weight
        z = (F.one_hot(codes.to(device), 1024).float() @ weight).view(1, side, side, 256).permute(0, 3, 1, 2)
        namespace["z"] = z.detach().clone().requires_grad_(True)
        namespace["z_min"] = weight.min(dim=0).values[None, :, None, None]
        namespace["z_max"] = weight.max(dim=0).values[None, :, None, None]
        namespace["opt"] = optim.Adam([namespace["z"]], lr=0.1)
        torch.manual_seed(0)

        def run(iterations: int) -> None:
            for step in range(1, iterations + 1):
                namespace["train"](step)

    run(1)  # warm-up
    seconds = seconds_per_call(lambda: run(args.iterations), 1, device) / args.iterations
    return {"iterations_per_s": 1 / seconds, "peak_mb": peak_memory_mb(device)}


def _child(args: argparse.Namespace, impl: str, size: int, cutn: int, weights: Path) -> dict:
    arguments = ["--one", "--impl", impl, "--device", args.device, "--iterations", str(args.iterations), "--size",
                 str(size), "--cutn", str(cutn), "--weights", str(weights)]
    for option in ("nerdyrodent", "taming", "openai_clip"):
        if getattr(args, option):
            arguments += [f"--{option.replace('_', '-')}", getattr(args, option)]
    return run_child(__file__, arguments)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512", help="square picture sides (multiples of 16)")
    parser.add_argument("--cutns", default="32,64")
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations after one warm-up")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--nerdyrodent", help="a checkout of nerdyrodent/VQGAN-CLIP to run beside ours")
    parser.add_argument("--taming", help="taming-transformers checkout (default: <nerdyrodent>/taming-transformers)")
    parser.add_argument("--openai-clip", dest="openai_clip", help="openai/CLIP checkout (default: <nerdyrodent>/CLIP)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cutn", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args)))
        return 0

    import torch

    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}, device {args.device}; VQGAN f16-1024, CLIP ViT-B/32 shapes, Adam lr 0.1, "
          f"latest cutouts {' '.join(AUGMENTS)}, {args.iterations} timed iterations")
    impls = ["ganforge"] + (["nerdyrodent"] if args.nerdyrodent else [])
    print(f"{'size':>5} {'cutn':>5} " + " ".join(f"{impl + ' it/s':>16} {impl + ' MB':>15}" for impl in impls)
          + ("   speed ratio" if len(impls) > 1 else ""))
    with tempfile.TemporaryDirectory() as scratch:
        write_weights(Path(scratch))
        for size in (int(s) for s in args.sizes.split(",")):
            for cutn in (int(c) for c in args.cutns.split(",")):
                rows = {impl: _child(args, impl, size, cutn, Path(scratch)) for impl in impls}
                line = f"{size:>5} {cutn:>5} " + " ".join(
                    f"{rows[i]['iterations_per_s']:>16.3f} {rows[i]['peak_mb']:>15.0f}" for i in impls)
                if len(impls) > 1:
                    line += f"   {rows['ganforge']['iterations_per_s'] / rows['nerdyrodent']['iterations_per_s']:.2f}x"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
