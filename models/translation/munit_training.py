"""Training MUNIT on two unpaired picture sets, with the original recipe (NVlabs/MUNIT ``MUNIT_Trainer``).

Each step first updates the two multi-scale LSGAN discriminators on cross-domain translations
(content of one domain, a random N(0, I) style of the other), then both generators on:
within-domain reconstruction (L1, x10), the cross cycle on the codes (the translation's content
code against the source's, its style code against the random style; x1 each), an optional explicit
cycle back to the picture (``recon_x_cyc_w``, 0 in the shipped configs) and the adversarial loss.
Adam (lr 1e-4, betas 0.5 / 0.999, weight decay 1e-4) with the learning rate halved every
``step_size`` steps; Kaiming initialisation for the generators, N(0, 0.02) for the discriminators.
The domain-invariant VGG loss of the original (``vgg_w``, 0 in the shipped configs) is left out:
it needs VGG16 weights that nothing here downloads.

Reached through :func:`~.training.run_translation_training` with ``kind="munit"``: the same data
loading, the same per-step seeding (a resumed run continues like an unbroken one), the same files
(our .safetensors, a resumable state beside it).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..training.loop import gan_steps, one_rate, write_state_file
from .multimodal import MunitModel, create_munit, save_multimodal
from .munit import MsImageDis, init_weights

STATE_FORMAT = "ganforge-munit-training-1"
DOMAINS = ("A", "B")


@dataclass
class MunitConfig:
    """The original's hyperparameters (``configs/edges2shoes_folder.yaml``)."""

    steps: int = 200
    batch_size: int = 1
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 1e-4
    step_size: int = 100_000  # the learning rate is multiplied by gamma every step_size steps
    gamma: float = 0.5
    gan_w: float = 1.0
    recon_x_w: float = 10.0
    recon_s_w: float = 1.0
    recon_c_w: float = 1.0
    recon_x_cyc_w: float = 0.0
    seed: int = 0

    def lr_at(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


def generator_defaults(input_dim: int = 3, **overrides) -> dict:
    """AdaINGen kwargs: the shipped configs' generator, with ``overrides``."""
    return {"input_dim": input_dim, "dim": 64, "style_dim": 8, "n_downsample": 2, "n_res": 4, "mlp_dim": 256,
            "activ": "relu", "pad_type": "reflect", **overrides}


def discriminator_defaults(input_dim: int = 3, **overrides) -> dict:
    """MsImageDis kwargs of the shipped configs."""
    return {"input_dim": input_dim, "dim": 64, "n_layer": 4, "num_scales": 3, "norm": "none", "activ": "lrelu",
            "pad_type": "reflect", "gan_type": "lsgan", **overrides}


def lsgan_discriminator_loss(outputs_fake: list[torch.Tensor], outputs_real: list[torch.Tensor]) -> torch.Tensor:
    """Sum over scales of mean(D(fake)^2) + mean((D(real) - 1)^2)."""
    return sum((fake ** 2).mean() + ((real - 1) ** 2).mean()
               for fake, real in zip(outputs_fake, outputs_real, strict=True))


def lsgan_generator_loss(outputs_fake: list[torch.Tensor]) -> torch.Tensor:
    """Sum over scales of mean((D(fake) - 1)^2)."""
    return sum(((fake - 1) ** 2).mean() for fake in outputs_fake)


@dataclass
class MunitState:
    """Everything a resumed run needs."""

    model: MunitModel
    discriminators: dict[str, nn.Module]  # "A" judges domain A, "B" domain B
    d_kwargs: dict
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    step: int = 0
    history: list[dict] = field(default_factory=list)


def _assemble(model: MunitModel, discriminators: dict[str, nn.Module], d_kwargs: dict,
              config: MunitConfig) -> MunitState:
    betas = (config.beta1, config.beta2)
    generators = list(model.generators.values())
    g_optimizer = torch.optim.Adam(itertools.chain(*(g.parameters() for g in generators)), lr=config.lr, betas=betas,
                                   weight_decay=config.weight_decay)
    d_optimizer = torch.optim.Adam(itertools.chain(*(d.parameters() for d in discriminators.values())), lr=config.lr,
                                   betas=betas, weight_decay=config.weight_decay)
    for network in [*generators, *discriminators.values()]:
        network.train().requires_grad_(True)
    return MunitState(model, discriminators, d_kwargs, g_optimizer, d_optimizer)


def new_munit_state(kwargs: dict, d_kwargs: dict, config: MunitConfig, domains: tuple[str, str] = DOMAINS,
                    device: torch.device | str | None = None) -> MunitState:
    """Fresh networks, initialised from ``config.seed`` without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = create_munit(kwargs, domains)
        discriminators = {d: init_weights(MsImageDis(**d_kwargs), "gaussian") for d in DOMAINS}
    model.to(device)
    for network in discriminators.values():
        network.to(device)
    return _assemble(model, discriminators, d_kwargs, config)


def munit_step(state: MunitState, x_a: torch.Tensor, x_b: torch.Tensor, config: MunitConfig,
               rng: torch.Generator) -> dict:
    """One discriminator update, then one generator update, as ``MUNIT_Trainer``."""
    model, dis = state.model, state.discriminators
    style_dim = model.info.style_dim
    device = x_a.device

    def random_styles(count: int) -> torch.Tensor:
        return torch.randn(count, style_dim, 1, 1, generator=rng).to(device)

    # discriminators: real pictures against translations with random styles
    for network in dis.values():
        network.requires_grad_(True)
    state.d_optimizer.zero_grad(set_to_none=True)
    with torch.no_grad():
        s_a, s_b = random_styles(x_a.shape[0]), random_styles(x_b.shape[0])
        x_ba = model.decode("A", model.encode_content("B", x_b), s_a)
        x_ab = model.decode("B", model.encode_content("A", x_a), s_b)
    loss_dis_a = lsgan_discriminator_loss(dis["A"](x_ba), dis["A"](x_a))
    loss_dis_b = lsgan_discriminator_loss(dis["B"](x_ab), dis["B"](x_b))
    (config.gan_w * (loss_dis_a + loss_dis_b)).backward()
    state.d_optimizer.step()

    # generators
    for network in dis.values():
        network.requires_grad_(False)
    state.g_optimizer.zero_grad(set_to_none=True)
    s_a, s_b = random_styles(x_a.shape[0]), random_styles(x_b.shape[0])
    c_a, s_a_prime = model.encode_content("A", x_a), model.encode_style("A", x_a)
    c_b, s_b_prime = model.encode_content("B", x_b), model.encode_style("B", x_b)
    x_a_recon, x_b_recon = model.decode("A", c_a, s_a_prime), model.decode("B", c_b, s_b_prime)
    x_ba, x_ab = model.decode("A", c_b, s_a), model.decode("B", c_a, s_b)
    c_b_recon, s_a_recon = model.encode_content("A", x_ba), model.encode_style("A", x_ba)
    c_a_recon, s_b_recon = model.encode_content("B", x_ab), model.encode_style("B", x_ab)
    losses = {
        "recon_x_a": F.l1_loss(x_a_recon, x_a), "recon_x_b": F.l1_loss(x_b_recon, x_b),
        "recon_s_a": F.l1_loss(s_a_recon, s_a), "recon_s_b": F.l1_loss(s_b_recon, s_b),
        "recon_c_a": F.l1_loss(c_a_recon, c_a), "recon_c_b": F.l1_loss(c_b_recon, c_b),
        "gen_adv_a": lsgan_generator_loss(dis["A"](x_ba)), "gen_adv_b": lsgan_generator_loss(dis["B"](x_ab)),
    }
    total = (config.gan_w * (losses["gen_adv_a"] + losses["gen_adv_b"])
             + config.recon_x_w * (losses["recon_x_a"] + losses["recon_x_b"])
             + config.recon_s_w * (losses["recon_s_a"] + losses["recon_s_b"])
             + config.recon_c_w * (losses["recon_c_a"] + losses["recon_c_b"]))
    if config.recon_x_cyc_w > 0:
        losses["cyc_x_a"] = F.l1_loss(model.decode("A", c_a_recon, s_a_prime), x_a)
        losses["cyc_x_b"] = F.l1_loss(model.decode("B", c_b_recon, s_b_prime), x_b)
        total = total + config.recon_x_cyc_w * (losses["cyc_x_a"] + losses["cyc_x_b"])
    total.backward()
    state.g_optimizer.step()
    return {"dis_a": loss_dis_a.item(), "dis_b": loss_dis_b.item(), **{k: v.item() for k, v in losses.items()}}


def train_munit(state: MunitState, data, config: MunitConfig, until: int | None = None,
                on_step: Callable[[MunitState, dict], None] | None = None) -> MunitState:
    """Train from ``state.step`` up to ``until`` (default ``config.steps``); ``data`` is a
    :class:`~.training.TranslationData` (unpaired). ``on_step(state, record)`` runs after each step
    (raise from it to stop)."""
    until = config.steps if until is None else until
    device = next(state.model.generators["A"].parameters()).device

    def step(rng: torch.Generator) -> dict:
        x_a, x_b = (x.to(device) for x in data.sample(rng, config.batch_size))
        return munit_step(state, x_a, x_b, config, rng)

    gan_steps(state, until, config.seed, device, step, one_rate(config.lr_at, state.g_optimizer, state.d_optimizer),
              on_step)
    return state


def save_munit_state(state: MunitState, config: MunitConfig, path: str | os.PathLike) -> None:
    """Everything needed to resume, readable with ``torch.load(weights_only=True)``."""
    info = state.model.info
    write_state_file({
        "format": STATE_FORMAT, "kwargs": info.kwargs, "d_kwargs": state.d_kwargs, "domains": list(info.domains),
        "generators": {d: g.state_dict() for d, g in state.model.generators.items()},
        "discriminators": {d: n.state_dict() for d, n in state.discriminators.items()},
        "g_optimizer": state.g_optimizer.state_dict(), "d_optimizer": state.d_optimizer.state_dict(),
        "step": state.step, "config": asdict(config),
    }, path)


def restore_munit_state(data: dict, config: MunitConfig | None = None,
                        device: torch.device | str | None = None) -> tuple[MunitState, MunitConfig]:
    """The state saved by :func:`save_munit_state` (contents already read)."""
    config = config or MunitConfig(**data["config"])
    with torch.random.fork_rng(devices=[]):  # fresh weights are overwritten; keep the caller's random state
        model = create_munit(data["kwargs"], tuple(data["domains"]))
        discriminators = {d: MsImageDis(**data["d_kwargs"]) for d in DOMAINS}
    for d in DOMAINS:
        model.generators[d].load_state_dict(data["generators"][d])
        discriminators[d].load_state_dict(data["discriminators"][d])
    model.to(device)
    for network in discriminators.values():
        network.to(device)
    state = _assemble(model, discriminators, data["d_kwargs"], config)
    state.g_optimizer.load_state_dict(data["g_optimizer"])
    state.d_optimizer.load_state_dict(data["d_optimizer"])
    state.step = int(data["step"])
    return state, config


@torch.no_grad()
def munit_preview(model: MunitModel, pictures: torch.Tensor, styles: int = 3, seed: int = 0) -> torch.Tensor:
    """``pictures`` of domain A translated to B with ``styles`` random styles each (NCHW, [-1, 1],
    picture by picture: [N * styles]); the networks' training flags are restored afterwards."""
    flags = [(m, m.training) for g in model.generators.values() for m in g.modules()]
    try:
        for generator in model.generators.values():
            generator.eval()
        device = next(model.generators["A"].parameters()).device
        content = model.encode_content("A", pictures.to(device))
        codes = model.random_style(styles, seed, device)
        content = content.repeat_interleave(styles, 0)
        return model.decode("B", content, codes.repeat(pictures.shape[0], 1, 1, 1))
    finally:
        for module, training in flags:
            module.training = training


def run_munit_training(a, b, out: str | os.PathLike, *, steps: int, batch: int | None, seed: int | None,
                       generator: dict, discriminator: dict, crop_size: int, load_size: int | None,
                       preprocess: str, flip: bool, domains: tuple[str, str], schedule_steps: int | None,
                       resume: str | os.PathLike | None, state_path: Path, device, report: Callable[[str], None],
                       on_step: Callable[[int, int, dict, MunitModel], None] | None, report_every: int,
                       recipe: dict) -> dict:
    """The ``kind="munit"`` branch of :func:`~.training.run_translation_training` (which checks
    the output paths and reads the pictures through the same data loader)."""
    from .training import (
        RunProgress,
        TranslationTrainingError,
        check_resumable,
        load_translation_data,
        read_resume_state,
        run_config,
    )

    stored = read_resume_state(resume, STATE_FORMAT, "`ganforge train-translation munit`") if resume else None
    config, notices = run_config(MunitConfig, recipe, steps=steps, schedule_steps=schedule_steps, seed=seed,
                                 batch=batch, stored=stored and stored["config"], what="MUNIT ")
    kwargs = stored["kwargs"] if stored else generator
    multiple = 2 ** kwargs["n_downsample"]
    if crop_size % multiple:
        raise TranslationTrainingError(f"MUNIT with {kwargs['n_downsample']} downsamplings needs sides that are "
                                       f"multiples of {multiple}; {crop_size} is not")
    channels = kwargs["input_dim"]
    data = load_translation_data("cyclegan", a, b, channels, channels, crop_size, load_size, preprocess, flip)
    for name, x in (("A", data.a), ("B", data.b)):
        if x.shape[1] != channels:
            raise TranslationTrainingError(f"the {name} pictures have {x.shape[1]} channel(s); the network takes "
                                           f"{channels}")
    notices += data.notices
    for notice in notices:
        report(f"notice: {notice}")
    if resume:
        state, config = restore_munit_state(stored, config, device)
        check_resumable(state, steps, resume)
    else:
        state = new_munit_state(kwargs, discriminator, config, domains, device)
    progress = RunProgress(state, steps, config.batch_size, report, report_every, on_step, lambda state: state.model)
    train_munit(state, data, config, until=steps, on_step=progress)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_munit_state(state, config, state_path)
    for generator_network in state.model.generators.values():
        generator_network.eval().requires_grad_(False)
    save_multimodal(state.model, out)
    return {**progress.facts(state, out, state_path), "junyanz": [], "kind": "munit", "architecture": "munit",
            "kwargs": kwargs, "discriminator": state.d_kwargs,
            "pictures": {"A": int(data.a.shape[0]), "B": int(data.b.shape[0])}, "crop_size": crop_size,
            "config": asdict(config), "notices": notices}
