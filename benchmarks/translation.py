"""Image-to-image translation speed, peak memory and agreement: GANForge beside the original networks.

    python benchmarks/translation.py --junyanz /path/to/pytorch-CycleGAN-and-pix2pix
    python benchmarks/translation.py --junyanz ... --configs cyclegan --sizes 256 --repeats 5
    python benchmarks/translation.py --spade /path/to/SPADE --munit /path/to/MUNIT \
        --pix2pixhd /path/to/pix2pixHD --configs spade munit pix2pixhd
    python benchmarks/translation.py --junyanz ... --device cuda --precision fp16

Configurations, batch 1 as the originals' ``test.py`` run them:

- ``cyclegan``: ResNet-9 (ngf 64, instance norm, no dropout) at each of ``--sizes``;
- ``pix2pix``: U-Net-256 (ngf 64, batch norm, dropout) at each of ``--unet-sizes``, in the two test
  modes: "official" (the original test.py: BatchNorm on the picture's own statistics, dropout on,
  drawn after ``torch.manual_seed``) and "eval" (running statistics, no dropout);
- ``spade``: SPADE COCO-Stuff (ngf 64, 184 semantic channels: 182 classes, don't-care and instance
  edges; "normal" upsampling, spectral norm, sync-batch parameter-free norm) in eval mode as its
  test.py, at each of ``--spade-sizes``, on a random one-hot label map (classes in blobs, instance
  edges in the last channel);
- ``munit``: MUNIT edges2shoes (dim 64, style_dim 8, 2 downsamplings, 4 residual blocks, mlp_dim 256,
  relu, reflect padding) at each of ``--munit-sizes``: one picture of domain A encoded and decoded
  into domain B with ``--munit-styles`` random styles, one decode call per style as its test.py; the
  time is given per style (the content encoding included, shared out);
- ``pix2pixhd``: both of ``pix2pixhd-local``, label2city 1024p (local enhancer: ngf 32, 4 global
  downsamplings, 9 global and 3 local residual blocks, instance norm, 36 input channels) at
  ``--hd-size``, and ``pix2pixhd-global``, label2city 512p (the global generator, ngf 64) at half of
  ``--hd-size`` each side; on a random Cityscapes label map (35 classes and instance edges).

One random, well-scaled set of weights per configuration (batch-norm running statistics measured on
random inputs, spectral norms' u and v converged unit vectors) is built by the original network and
written as the original saves it (junyanz ``save_networks`` and NVlabs ``util.save_network``: the
state_dict in a ``.pth``; MUNIT's trainer: ``{'a': gen_a, 'b': gen_b}`` state_dicts in a ``.pt``).
Three paths then run it, each in its own process: ``original`` (the original code, imported from
the checkout given with ``--junyanz`` / ``--spade`` / ``--munit`` / ``--pix2pixhd``, never from this
package: built as its options build it, ``load_state_dict``, ``torch.no_grad`` as its test.py), the
GANForge API (``load_translation`` + ``translate``; ``load_semantic`` + ``SemanticModel.synthesize``;
``load_munit`` + ``MunitModel.encode_content`` / ``decode``: fed the CPU float32 input as a node
feeds it, under ``torch.no_grad``) and ``bare`` (GANForge's loaded network called directly on the
input already on the device, under ``torch.no_grad``). Timings are per call after one warm-up call;
the table gives the median. ``--rounds`` runs every process that many times, interleaved, against
drift on a busy machine. Without ``--junyanz`` pix2pix and CycleGAN are measured on GANForge's paths
only; the NVlabs configurations need their checkout (its network writes the weights).

Memory: "peak MB" is the process's peak resident set (Linux: its VmHWM, before and after the reset
below; not ru_maxrss, which a child inherits from its parent's peak; CUDA: torch's peak
allocation), loading included; "forward MB" is the peak resident set during the warm-up and timed calls above the
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
import contextlib
import gc
import importlib.util
import io
import itertools
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import types
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from harness import peak_memory_mb, run_child, seconds_per_call

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
CONFIGS = {
    "cyclegan": dict(family="junyanz", label="CycleGAN ResNet-9", netG="resnet_9blocks", norm="instance",
                     use_dropout=False, modes=("eval",)),
    "pix2pix": dict(family="junyanz", label="pix2pix U-Net-256", netG="unet_256", norm="batch", use_dropout=True,
                    modes=("official", "eval")),
    # SPADE's coco options: label_nc 182, contain_dontcare_label, instance maps; norm_G, ngf and
    # num_upsampling_layers its defaults
    "spade": dict(family="spade", label="SPADE COCO-Stuff", ngf=64, semantic_nc=184, instance=True,
                  upsampling="normal", norm_G="spectralspadesyncbatch3x3", modes=("eval",)),
    # configs/edges2shoes_folder.yaml; input_dim_a = input_dim_b = 3
    "munit": dict(family="munit", label="MUNIT edges2shoes", modes=("eval",),
                  gen=dict(dim=64, mlp_dim=256, style_dim=8, activ="relu", n_downsample=2, n_res=4,
                           pad_type="reflect")),
    # pix2pixHD's scripts/test_1024p.sh (--netG local --ngf 32) and test_512p.sh; label_nc 35 +
    # instance edges, n_downsample_global 4, n_blocks_global 9, n_blocks_local 3, instance norm
    "pix2pixhd-local": dict(family="pix2pixhd", label="pix2pixHD 1024p local", netG="local", input_nc=36, ngf=32,
                            n_downsample_global=4, n_blocks_global=9, n_local_enhancers=1, n_blocks_local=3,
                            norm="instance", modes=("eval",)),
    "pix2pixhd-global": dict(family="pix2pixhd", label="pix2pixHD 512p global", netG="global", input_nc=36,
                             ngf=64, n_downsample_global=4, n_blocks_global=9, n_local_enhancers=1,
                             n_blocks_local=3, norm="instance", modes=("eval",)),
}
GROUPS = {"pix2pixhd": ("pix2pixhd-local", "pix2pixhd-global")}
CHECKOUTS = {  # family -> (option, what is expected there, the file that must be there)
    "junyanz": ("--junyanz", "junyanz/pytorch-CycleGAN-and-pix2pix", "models/networks.py"),
    "spade": ("--spade", "NVlabs/SPADE", "models/networks/generator.py"),
    "munit": ("--munit", "NVlabs/MUNIT", "networks.py"),
    "pix2pixhd": ("--pix2pixhd", "NVIDIA/pix2pixHD", "models/networks.py"),
}
API_NAMES = {"junyanz": "translate", "spade": "synthesize", "pix2pixhd": "synthesize", "munit": "encode+decode"}
WEIGHT_FILES = {"junyanz": "latest_net_G.pth", "spade": "latest_net_G.pth", "pix2pixhd": "latest_net_G.pth",
                "munit": "gen_01000000.pt"}
IMPLS = ("original", "api", "bare")
DROPOUT_SEED = 7
WEIGHT_SEED = 0
INPUT_SEED = 1
STYLE_SEED = 10  # MUNIT test.py's default --seed


def _size(text: str) -> tuple[int, int]:
    """"256" → (256, 256); "512x1024" → (512, 1024) (height × width)."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) not in (1, 2):
        raise SystemExit(f"size {text!r}: give a side (256) or height x width (512x1024)")
    height, width = (int(parts[0]), int(parts[-1]))
    return height, width


def _size_text(size: tuple[int, int]) -> str:
    return str(size[0]) if size[0] == size[1] else f"{size[0]}×{size[1]}"


def _checkout(args: argparse.Namespace, family: str) -> str | None:
    return getattr(args, family)


def _checked(checkout: str, family: str) -> Path:
    option, what, inside = CHECKOUTS[family]
    path = Path(checkout) / inside
    if not path.is_file():
        raise SystemExit(f"{option} {checkout}: no {inside} there (a checkout of {what} is expected)")
    return path


def _load_file(name: str, path: Path):
    """A module of the original code, loaded from its file (no package import)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------ the original networks


def _junyanz_networks(checkout: str):
    """The original ``models/networks.py`` as a module, loaded from its file (no package import)."""
    return _load_file("junyanz_networks", _checked(checkout, "junyanz"))


def _original_junyanz(checkout: str, config: dict):
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


def _original_spade(checkout: str, config: dict, size: tuple[int, int]):
    """SPADE's ``SPADEGenerator`` from an ``opt`` namespace as its option parser gives it for the
    size (crop_size = width, aspect_ratio = width / height). Imported without
    ``models/networks/__init__.py`` (which pulls in the losses, util and dill); the missing
    ``sync_batchnorm`` submodule is torch's BatchNorm2d, the same keys and the same eval maths."""
    import torch

    root = _checked(checkout, "spade").parents[2]
    if "models.networks.generator" not in sys.modules:
        for name, folder in (("models", root / "models"), ("models.networks", root / "models" / "networks")):
            package = types.ModuleType(name)
            package.__path__ = [str(folder)]
            sys.modules[name] = package
        sync = types.ModuleType("models.networks.sync_batchnorm")
        sync.SynchronizedBatchNorm2d = torch.nn.BatchNorm2d
        sys.modules["models.networks.sync_batchnorm"] = sync
        sys.path.insert(0, str(root))
        try:
            importlib.import_module("models.networks.generator")
        finally:
            sys.path.remove(str(root))
    height, width = size
    opt = argparse.Namespace(ngf=config["ngf"], semantic_nc=config["semantic_nc"], use_vae=False, z_dim=256,
                             norm_G=config["norm_G"], num_upsampling_layers=config["upsampling"],
                             crop_size=width, aspect_ratio=width / height)
    return sys.modules["models.networks.generator"].SPADEGenerator(opt)


def _original_munit(checkout: str, config: dict) -> dict:
    """MUNIT's two ``AdaINGen`` (gen_a, gen_b) as its trainer builds them."""
    networks = _load_file("munit_networks", _checked(checkout, "munit"))
    return {domain: networks.AdaINGen(3, dict(config["gen"])) for domain in "ab"}


def _original_pix2pixhd(checkout: str, config: dict):
    """pix2pixHD's generator as its test.py builds it: ``define_G(netG_input_nc, output_nc, ngf,
    netG, n_downsample_global, n_blocks_global, n_local_enhancers, n_blocks_local, norm)``."""
    networks = _load_file("pix2pixhd_networks", _checked(checkout, "pix2pixhd"))
    with contextlib.redirect_stdout(io.StringIO()):  # define_G prints the network
        return networks.define_G(config["input_nc"], 3, config["ngf"], config["netG"], config["n_downsample_global"],
                                 config["n_blocks_global"], config["n_local_enhancers"], config["n_blocks_local"],
                                 config["norm"])


def _our_junyanz(config: dict):
    from ganforge.models.translation import ResnetGenerator, UnetGenerator

    kind, size = config["netG"].split("_")
    if kind == "resnet":
        return ResnetGenerator(3, 3, 64, norm=config["norm"], use_dropout=config["use_dropout"],
                               n_blocks=int(size.replace("blocks", "")))
    return UnetGenerator(3, 3, {128: 7, 256: 8}[int(size)], 64, norm=config["norm"],
                         use_dropout=config["use_dropout"])


# -------------------------------------------------------------------------------------------- weights


def _fill(network, generator, gain: float = 1.0) -> None:
    """Weights scaled by gain/sqrt(fan-in), so activations stay near unit size through the depth;
    norm weights (``weight``, MUNIT's LayerNorm ``gamma``) near 1, biases near 0."""
    import torch

    with torch.no_grad():
        for name, value in network.named_parameters():
            if value.ndim >= 2:
                value.copy_(torch.randn(value.shape, generator=generator) * gain / math.sqrt(value[0].numel()))
            elif name.endswith(("weight", "gamma")):
                value.copy_(1 + 0.1 * torch.randn(value.shape, generator=generator))
            else:
                value.copy_(0.1 * torch.randn(value.shape, generator=generator))


def _calibrate(network, inputs: Callable[[int], object], calls: int) -> None:
    """Batch-norm running statistics as a plain average over ``calls`` training-mode calls."""
    import torch

    batch_norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not batch_norms:
        return
    for module in batch_norms:
        module.reset_running_stats()
        module.momentum = None  # a plain average over the calibration calls
    network.train()
    torch.manual_seed(WEIGHT_SEED)  # dropout is on while calibrating: the same draws every run
    with torch.no_grad():
        for i in range(calls):
            network(inputs(i))
    for module in batch_norms:
        module.momentum = 0.1
    network.eval()


def _converge_spectral(network, generator) -> None:
    """Each spectral norm's u and v as training leaves them: unit vectors after power iterations
    on ``weight_orig``, so that σ = u·(W v) is the weight's largest singular value."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        for module in network.modules():
            if not (hasattr(module, "weight_orig") and hasattr(module, "weight_u")):
                continue
            matrix = module.weight_orig.reshape(module.weight_orig.shape[0], -1)
            u = F.normalize(torch.randn(matrix.shape[0], generator=generator), dim=0)
            for _ in range(30):
                v = F.normalize(matrix.t() @ u, dim=0)
                u = F.normalize(matrix @ v, dim=0)
            module.weight_u.copy_(u)
            module.weight_v.copy_(v)


def _munit_styles_scaled(gen) -> None:
    """The style MLP's last layer small around AdaIN scales of 1 and shifts of 0 (the parameters
    are [mean, std] per AdaIN layer, in the decoder's module order, as ``assign_adain_params``)."""
    import torch

    last = [m for m in gen.mlp.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.mul_(0.2)
        start = 0
        for module in gen.dec.modules():
            if module.__class__.__name__ == "AdaptiveInstanceNorm2d":
                features = module.num_features
                last.bias[start + features:start + 2 * features] += 1
                start += 2 * features


def _weights(path: Path, name: str, checkout: str | None, size: tuple[int, int]) -> None:
    """Random weights built and saved as the original saves them (see the module notes)."""
    import torch

    config = CONFIGS[name]
    family = config["family"]
    generator = torch.Generator().manual_seed(WEIGHT_SEED)
    if family == "junyanz":
        network = _original_junyanz(checkout, config) if checkout else _our_junyanz(config)
        _fill(network, generator)
        _calibrate(network, lambda i: _picture(256, generator), 4)
    elif family == "spade":
        network = _original_spade(checkout, config, size)
        _fill(network, generator)
        _converge_spectral(network, generator)
        _calibrate(network, lambda i: _semantics(config, size, seed=100 + i), 2)
    elif family == "pix2pixhd":
        network = _original_pix2pixhd(checkout, config)
        _fill(network, generator)
    else:
        generators = _original_munit(checkout, config)
        for gen in generators.values():
            _fill(gen, generator, gain=math.sqrt(2))  # MUNIT's "kaiming" init: relu layers without norms
            _munit_styles_scaled(gen)
        # the trainer's save: {'a': gen_a.state_dict(), 'b': gen_b.state_dict()}
        torch.save({domain: gen.state_dict() for domain, gen in generators.items()}, path)
        return
    torch.save(OrderedDict((k, v.detach().cpu()) for k, v in network.state_dict().items()), path)


# --------------------------------------------------------------------------------------------- inputs


def _picture(size: int | tuple[int, int], generator=None):
    """A smooth random picture in [-1, 1] (batch 1, RGB): blurred noise plus a colour ramp."""
    import torch
    import torch.nn.functional as F

    height, width = (size, size) if isinstance(size, int) else size
    noise = torch.rand(1, 3, height // 8, width // 8, generator=generator)
    smooth = F.interpolate(noise, size=(height, width), mode="bicubic", align_corners=False)
    ramp = torch.linspace(-0.5, 0.5, width).view(1, 1, 1, width)
    return (smooth * 2 - 1 + ramp).clamp(-1, 1)


def _semantics(config: dict, size: tuple[int, int], seed: int = INPUT_SEED, regions: int = 12):
    """A random semantic map [1, channels, H, W] as the originals' preprocessing gives it: one-hot
    classes (``regions`` distinct ones, in blobs: the strongest of as many smooth random fields
    at each pixel), and when the dataset has instance maps their edges in the last channel (each
    class blob split into up to three instances the same way)."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)
    channels = config.get("semantic_nc", config.get("input_nc"))
    instance = config.get("instance", True)
    classes = channels - int(instance)
    height, width = size
    cells = (max(2, height // 32), max(2, width // 32))

    def strongest(count: int):
        fields = torch.rand(1, count, *cells, generator=generator)
        return F.interpolate(fields, size=size, mode="bicubic", align_corners=False).argmax(1, keepdim=True)

    table = torch.randperm(classes, generator=generator)[:regions]
    labels = table[strongest(len(table))]
    semantics = torch.zeros(1, classes, height, width).scatter_(1, labels, 1.0)
    if not instance:
        return semantics
    ids = labels * 3 + strongest(3)
    edges = torch.zeros(ids.shape, dtype=torch.bool)
    horizontal, vertical = ids[..., :, 1:] != ids[..., :, :-1], ids[..., 1:, :] != ids[..., :-1, :]
    edges[..., :, 1:] |= horizontal
    edges[..., :, :-1] |= horizontal
    edges[..., 1:, :] |= vertical
    edges[..., :-1, :] |= vertical
    return torch.cat([semantics, edges.float()], 1)


def _random_styles(config: dict, count: int):
    """``count`` N(0, I) style codes [count, style_dim, 1, 1], as MUNIT's test.py draws them."""
    import torch

    return torch.randn(count, config["gen"]["style_dim"], 1, 1, generator=torch.Generator().manual_seed(STYLE_SEED))


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


def _junyanz_runner(args: argparse.Namespace, device, dtype) -> Callable:
    import torch

    config = CONFIGS[args.config]
    x = _picture(_size(args.size)[0], torch.Generator().manual_seed(INPUT_SEED))
    official = args.mode == "official"
    if args.impl == "original":
        network = _original_junyanz(args.junyanz, config)
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
        return run
    from ganforge.models.translation import load_translation, translate

    translator = load_translation(args.weights, device=device, dtype=dtype, mode=args.mode,
                                  use_dropout=config["use_dropout"])
    network, info = translator.network(), translator.info
    if args.impl == "api":
        def run() -> torch.Tensor:
            with torch.no_grad():  # as the Translate Image node
                return translate(network, info, x, seed=DROPOUT_SEED).image
        return run
    x_in = x.to(device=device, dtype=dtype)

    def run() -> torch.Tensor:
        with torch.no_grad():
            if official:
                torch.manual_seed(DROPOUT_SEED)
            return network(x_in)
    return run


def _semantic_runner(args: argparse.Namespace, device, dtype) -> Callable:
    """SPADE and pix2pixHD: the semantic map in, the picture out (eval mode, as their test.py)."""
    import torch

    config = CONFIGS[args.config]
    size = _size(args.size)
    semantics = _semantics(config, size)
    if args.impl == "original":
        if config["family"] == "spade":
            network = _original_spade(args.spade, config, size)
        else:
            network = _original_pix2pixhd(args.pix2pixhd, config)
        state = torch.load(args.weights, map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        del state
        network.to(device=device, dtype=dtype).eval()
    else:
        from ganforge.models.translation.semantic import load_semantic

        model = load_semantic(args.weights, device=device, dtype=dtype)
        if args.impl == "api":
            def run() -> torch.Tensor:
                with torch.no_grad():
                    return model.synthesize(semantics)
            return run
        network = model.network
    x_in = semantics.to(device=device, dtype=dtype)

    def run() -> torch.Tensor:
        with torch.no_grad():
            return network(x_in)
    return run


def _munit_runner(args: argparse.Namespace, device, dtype) -> Callable:
    """MUNIT a2b as its test.py: the content of one picture, decoded once per random style."""
    import torch

    config = CONFIGS[args.config]
    x = _picture(_size(args.size), torch.Generator().manual_seed(INPUT_SEED))
    styles = _random_styles(config, args.styles)
    if args.impl == "original":
        generators = _original_munit(args.munit, config)
        state = torch.load(args.weights, map_location="cpu", weights_only=True)
        for domain, gen in generators.items():
            gen.load_state_dict(state[domain])
            gen.to(device=device, dtype=dtype).eval()  # trainer.eval()
        del state
        x_in, styles_in = x.to(device=device, dtype=dtype), styles.to(device=device, dtype=dtype)

        def run() -> torch.Tensor:
            with torch.no_grad():
                content, _ = generators["a"].encode(x_in)  # test.py: content, _ = encode(image)
                return torch.cat([generators["b"].decode(content, styles_in[j].unsqueeze(0))
                                  for j in range(len(styles_in))])
        return run
    from ganforge.models.translation.multimodal import load_munit

    model = load_munit(args.weights, device=device, dtype=dtype)
    if args.impl == "api":
        def run() -> torch.Tensor:
            with torch.no_grad():
                content = model.encode_content("A", x)
                return torch.cat([model.decode("B", content, styles[j:j + 1]) for j in range(len(styles))])
        return run
    gen_a, gen_b = model.generators["A"], model.generators["B"]
    x_in, styles_in = x.to(device=device, dtype=dtype), styles.to(device=device, dtype=dtype)

    def run() -> torch.Tensor:
        with torch.no_grad():
            content = gen_a.encode_content(x_in)
            return torch.cat([gen_b.decode(content, styles_in[j:j + 1]) for j in range(len(styles_in))])
    return run


RUNNERS = {"junyanz": _junyanz_runner, "spade": _semantic_runner, "pix2pixhd": _semantic_runner,
           "munit": _munit_runner}


def measure(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    device = torch.device(args.device)
    dtype = getattr(torch, DTYPES[args.precision])
    run = RUNNERS[CONFIGS[args.config]["family"]](args, device, dtype)

    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2**20
        reset = True
    else:
        # this process's own high-water mark: ru_maxrss would carry the parent's over the exec
        loading = _status_mb("VmHWM")
        reset = _reset_peak_rss()
        before = _status_mb("VmRSS") if reset else None
    last: dict = {}
    last["out"] = run()  # warm-up: oneDNN / cuDNN primitive selection, lazily built caches
    seconds = [seconds_per_call(lambda: last.update(out=run()), 1, device) for _ in range(args.repeats)]
    peak = peak_memory_mb(device)
    if device.type == "cuda":
        forward = torch.cuda.max_memory_allocated() / 2**20 - before
    else:
        high = _status_mb("VmHWM")  # since the reset, or (no reset) since the start
        forward = high - before if reset and high is not None and before is not None else None
        if high is not None:
            peak = max(loading or 0.0, high)
    np.save(args.out, last["out"].float().cpu().numpy())
    return {"seconds": seconds, "peak_mb": peak, "forward_mb": forward}


# -------------------------------------------------------------------------------------------- the table


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _child(args: argparse.Namespace, impl: str, config: str, size: str, mode: str, weights: Path, out: Path,
           live: bool = False) -> dict:
    arguments = ["--one", "--impl", impl, "--config", config, "--size", size, "--mode", mode,
                 "--device", args.device, "--precision", args.precision, "--munit-styles", str(args.styles),
                 "--repeats", "1" if live else str(args.repeats), "--weights", str(weights), "--out", str(out)]
    for family, (option, _, _) in CHECKOUTS.items():
        if _checkout(args, family):
            arguments += [option, _checkout(args, family)]
    if not live:
        return run_child(__file__, arguments)
    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"  # the child's glibc maps each buffer on its own
    try:
        return run_child(__file__, arguments)
    finally:
        del os.environ["MALLOC_MMAP_THRESHOLD_"]


def _rows(args: argparse.Namespace, impls: Sequence[str], name: str, size: str, mode: str, weights: Path,
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


def _sizes(args: argparse.Namespace, name: str) -> list[str]:
    """The sizes (as the children take them: "H" or "HxW") a configuration runs at."""
    if name == "pix2pixhd-local":
        return [args.hd_size]
    if name == "pix2pixhd-global":  # the 512p model's pictures: half the 1024p ones each side
        height, width = _size(args.hd_size)
        return [f"{height // 2}x{width // 2}"]
    option = {"cyclegan": args.sizes, "pix2pix": args.unet_sizes, "spade": args.spade_sizes,
              "munit": args.munit_sizes}[name]
    return [s for s in option.split(",") if s]


def _note(args: argparse.Namespace, name: str, impls: Sequence[str]) -> str:
    config = CONFIGS[name]
    api = API_NAMES[config["family"]]
    notes = {
        "cyclegan": "ResNet-9, ngf 64, instance norm, no dropout; translate = load_translation + translate",
        "pix2pix": "U-Net-256, ngf 64, batch norm, dropout; official = test.py (batch statistics, dropout on "
                   f"after torch.manual_seed({DROPOUT_SEED})), eval = running statistics, no dropout",
        "spade": "ngf 64, 184 channels (182 classes + don't-care + instance edges), normal upsampling, spectral "
                 "norm (u, v stored; synthesize folds it at load), sync-batch = BatchNorm2d running statistics, "
                 f"eval as test.py; {api} = load_semantic + synthesize",
        "munit": f"dim 64, style_dim 8, 2 downsamplings, 4 res blocks, mlp_dim 256; a2b with {args.styles} random "
                 "styles, one decode call per style: the time of one picture (one content encoding + "
                 f"{args.styles} decodes) / {args.styles}, images/s counts pictures decoded; original = test.py's "
                 "gen_a.encode (content and an unused style code), GANForge paths encode the content only",
        "pix2pixhd-local": "label2city 1024p: local enhancer ngf 32, global ngf 64 on the half-size map, 4 "
                           f"downsamplings, 9 + 3 res blocks, instance norm, 36 channels; {api} = load_semantic "
                           "+ synthesize",
        "pix2pixhd-global": "label2city 512p: global generator ngf 64, 4 downsamplings, 9 res blocks, instance "
                            f"norm, 36 channels; {api} = load_semantic + synthesize",
    }
    paths = "" if "original" in impls else " (no original: its checkout not given)"
    return f"{config['label']}: {notes[name]}{paths}"


def _names(configs: Sequence[str]) -> list[str]:
    names = []
    for part in configs:
        for name in filter(None, part.split(",")):
            for one in GROUPS.get(name, (name,)):
                if one not in CONFIGS:
                    raise SystemExit(f"--configs: no configuration {name!r} ({', '.join([*CONFIGS, *GROUPS])})")
                if one not in names:
                    names.append(one)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junyanz", help="a checkout of junyanz/pytorch-CycleGAN-and-pix2pix (its "
                        "models/networks.py runs beside ours); without it only GANForge is measured")
    parser.add_argument("--spade", help="a checkout of NVlabs/SPADE (its models/networks/generator.py runs beside "
                        "ours); needed for --configs spade")
    parser.add_argument("--munit", help="a checkout of NVlabs/MUNIT (its networks.py runs beside ours); needed for "
                        "--configs munit")
    parser.add_argument("--pix2pixhd", help="a checkout of NVIDIA/pix2pixHD (its models/networks.py runs beside "
                        "ours); needed for --configs pix2pixhd")
    parser.add_argument("--configs", nargs="+", default=["cyclegan,pix2pix"],
                        help="configurations, comma- or space-separated: cyclegan, pix2pix, spade, munit, pix2pixhd "
                        "(= pix2pixhd-local and pix2pixhd-global)")
    parser.add_argument("--sizes", default="256,512", help="picture sides for CycleGAN ResNet-9 (multiples of 4)")
    parser.add_argument("--unet-sizes", default="256", help="picture sides for pix2pix U-Net-256 (multiples of 256)")
    parser.add_argument("--modes", default="official,eval", help="pix2pix test modes to run")
    parser.add_argument("--spade-sizes", default="256", help="label map sizes for SPADE, sides or HxW (multiples "
                        "of 32)")
    parser.add_argument("--munit-sizes", default="256", help="picture sides for MUNIT (multiples of 4)")
    parser.add_argument("--munit-styles", dest="styles", type=int, default=4, help="random styles MUNIT decodes "
                        "the picture with, one call each")
    parser.add_argument("--hd-size", default="1024x2048", help="HxW of the pix2pixHD 1024p local enhancer's label "
                        "maps (multiples of 64; e.g. 512x1024 for a quick run); the 512p global generator runs at "
                        "half of it each side")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per process (after one warm-up)")
    parser.add_argument("--rounds", type=int, default=1, help="processes per path, interleaved; the median is "
                        "taken over all their calls")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", choices=list(DTYPES), default="fp32")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args)))
        return 0

    names = _names(args.configs)
    for name in names:
        family = CONFIGS[name]["family"]
        if family != "junyanz" and not _checkout(args, family):
            option, what, _ = CHECKOUTS[family]
            raise SystemExit(f"--configs {name} needs {option} (a checkout of {what}): the original network "
                             "writes the weights both paths load")

    import numpy as np
    import torch

    print(f"# {_cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"device {args.device}, {args.precision}, batch 1, median of {args.repeats * args.rounds} calls")
    print("| network | size | mode | path | images/s | s/image | peak MB | forward MB | live MB | "
          "max abs diff vs original |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|", flush=True)
    ratios, notes = [], []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for name in names:
            config = CONFIGS[name]
            family, label = config["family"], config["label"]
            checkout = _checkout(args, family)
            impls = IMPLS if checkout else IMPLS[1:]
            shown_impl = {"original": "original", "api": API_NAMES[family], "bare": "bare"}
            per_call = args.styles if family == "munit" else 1  # pictures per timed call
            weights = scratch / f"{name}_{WEIGHT_FILES[family]}"
            sizes = _sizes(args, name)
            _weights(weights, name, checkout, _size(sizes[0]))
            modes = [m for m in config["modes"] if m in args.modes.split(",")] if name == "pix2pix" else ["eval"]
            for size, mode in itertools.product(sizes, modes):
                rows = _rows(args, impls, name, size, mode, weights, scratch)
                shown = mode if name == "pix2pix" else "eval = official"
                size_text = _size_text(_size(size))
                for impl, row in rows.items():
                    diff = (f"{np.abs(row['out'] - rows['original']['out']).max():.2e}"
                            if "original" in rows and impl != "original" else "-")
                    forward, live = (f"{row[k]:.0f}" if row[k] is not None else "-" for k in ("forward_mb", "live_mb"))
                    seconds = row["median"] / per_call
                    print(f"| {label} | {size_text} | {shown} | {shown_impl[impl]} | {1 / seconds:.3f} | "
                          f"{seconds:.3f} | {row['peak_mb']:.0f} | {forward} | {live} | {diff} |", flush=True)
                if "original" in rows:
                    base = rows["original"]["median"]
                    ratios += [f"{label} {size_text} {shown}, {shown_impl[impl]}: {base / rows[impl]['median']:.2f}x "
                               "the original's speed" for impl in impls[1:]]
            notes.append(_note(args, name, impls))
    print()
    print("\n".join(notes))
    if ratios:
        print()
        print("\n".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
