"""Training FUNIT on pictures of several classes, with the original recipe (NVlabs/FUNIT ``Trainer``,
``FUNITModel``, ``GPPatchMcResDis``, ``configs/funit_animals.yaml``).

FUNIT learns to translate between *classes* it is shown: a content picture ``xa`` (class ``la``) and a
class picture ``xb`` (class ``lb``) are drawn independently each step. The generator decodes the
content code of ``xa`` with the class code of ``xb`` (the translation ``xt``) and with the class
code of ``xa`` itself (the reconstruction ``xr``). The discriminator has one output map per training
class and is read at the class a picture claims to belong to (``xt`` is judged as class ``lb``).

Each step, as the original's ``train.py``:

1. the discriminator: hinge loss on the real class picture (``relu(1 - D(xb)[lb])``, x ``gan_w``),
   plus the real-data gradient penalty ``10 * sum(dD(xb)/dxb ^ 2) / batch`` (``calc_grad2``; the 10
   is hard-coded in the original, not scaled by ``gan_w``), then the hinge loss on the translation
   (``relu(1 + D(xt)[lb])``, x ``gan_w``), ``xt`` made by ``gen`` without gradients;
2. the generator: ``gan_w * (adversarial(xt as lb) + adversarial(xr as la)) / 2`` (adversarial =
   ``-mean D``), ``+ r_w * L1(xr, xa)``, ``+ fm_w *`` (L1 between the discriminator's spatially
   averaged features of ``xr`` and ``xa``, plus the same for ``xt`` and ``xb``);
3. ``gen_test`` (what inference and the saved file use) moves towards ``gen``:
   ``p_test = 0.999 * p_test + 0.001 * p``, parameters only.

RMSprop (lr 1e-4 for both, weight decay 1e-4, alpha 0.99), a constant rate (the original builds
schedulers only for an ``lr_policy`` its config does not set, and never steps them), Kaiming
initialisation for both networks, ``gen_test`` starting as a copy of ``gen``.

The discriminator is the original's, key for key (``cnn_f.*``, ``cnn_c.*``: a released
``dis_*.pt`` loads into it), computing what the original computes. Its LeakyReLUs run in place,
and that changes the arithmetic (checked by running the original's blocks): the identity shortcut
of a residual block adds LeakyReLU(x), not x; and the features ``forward`` returns, which feature
matching compares, have been through the classifier head's LeakyReLU. Both are kept.

Left out or changed, and why: the original feeds images in shuffled epochs from two loaders; here
each step draws its pictures uniformly with replacement from the project's per-step seeds (so a
resumed run equals an unbroken one bit for bit). Its pictures are resized so the short side is
140 px (keeping the aspect) and randomly cropped to 128; here they are resized to a square
``load_size`` (default ``crop_size * 140 / 128``) by the project's loader, then randomly cropped
and flipped. The original hands ``lr_gen`` to the discriminator's optimiser and ``lr_dis`` to the
generator's (both are 1e-4 in its config, so nothing changes); here each goes to its own network.
Multi-GPU, TensorBoard logging and image dumps are not part of the recipe.

Reached through :func:`~.training.run_translation_training` with ``kind="funit"``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..training.loop import gan_steps, set_learning_rate, write_state_file
from .multimodal import FunitModel, MultimodalInfo, create_funit, save_multimodal
from .munit import FewShotGen, init_weights

STATE_FORMAT = "ganforge-funit-training-1"
LOAD_RATIO = 140 / 128  # funit_animals.yaml: new_size 140, crops of 128
MAX_WIDTH = 1024  # the discriminator's widths stop doubling here
SLOPE = 0.2  # LeakyReLU slope of the discriminator


@dataclass
class FunitConfig:
    """The original's hyperparameters (``configs/funit_animals.yaml``, ``trainer.py``,
    ``funit_model.py``). ``steps`` is this run's length (the original's ``max_iter`` is 100,000)."""

    steps: int = 200
    batch_size: int = 64
    lr_gen: float = 1e-4
    lr_dis: float = 1e-4
    weight_decay: float = 1e-4
    alpha: float = 0.99  # RMSprop's smoothing constant (PyTorch's default, which the original keeps)
    gan_w: float = 1.0  # adversarial weight (both networks)
    fm_w: float = 1.0  # feature matching: discriminator features of xr vs xa and of xt vs xb
    r_w: float = 0.1  # L1 reconstruction of the content picture from its own class code
    reg_w: float = 10.0  # real-data gradient penalty (a constant in the original's funit_model.py)
    ema_beta: float = 0.999  # gen_test = beta * gen_test + (1 - beta) * gen after every generator step
    seed: int = 0


def generator_defaults(**overrides) -> dict:
    """:class:`~.munit.FewShotGen` kwargs of ``funit_animals.yaml`` (``gen:``), with ``overrides``."""
    return {"nf": 64, "n_res_blks": 2, "nf_mlp": 256, "latent_dim": 64, "n_mlp_blks": 3, "n_downs_content": 3,
            "n_downs_class": 4, **overrides}


def discriminator_defaults(num_classes: int = 119, **overrides) -> dict:
    """:class:`GPPatchMcResDis` kwargs of ``funit_animals.yaml`` (``dis:``); ``num_classes`` is
    the number of training classes (119 animal kinds there)."""
    return {"nf": 64, "n_res_blks": 10, "num_classes": num_classes, **overrides}


# ---------------------------------------------------------------------------------------------
# the discriminator


class ActFirstConv(nn.Module):
    """The original's ``Conv2dBlock`` with ``activation_first``: LeakyReLU (when ``activate``), then
    a padded convolution; its only keys are ``conv.weight`` (and ``conv.bias``)."""

    def __init__(self, fin: int, fout: int, kernel: int, padding: int = 0, activate: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        self.activate = activate
        self.conv = nn.Conv2d(fin, fout, kernel, 1, padding, bias=bias,
                              padding_mode="reflect" if padding else "zeros")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.leaky_relu(x, SLOPE) if self.activate else x)


class ActFirstResBlock(nn.Module):
    """The original's ``ActFirstResBlock`` (no norm): ``shortcut + conv_1(conv_0(x))`` with
    activation-first 3x3 convolutions; a 1x1 ``conv_s`` without bias where the width changes."""

    def __init__(self, fin: int, fout: int) -> None:
        super().__init__()
        hidden = min(fin, fout)
        self.conv_0 = ActFirstConv(fin, hidden, 3, 1)
        self.conv_1 = ActFirstConv(hidden, fout, 3, 1)
        self.conv_s = ActFirstConv(fin, fout, 1, activate=False, bias=False) if fin != fout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The original's conv_0 applies its LeakyReLU in place on x, which the identity shortcut
        # is: so that shortcut carries LeakyReLU(x). A learned shortcut reads x before that.
        shortcut = self.conv_s(x) if self.conv_s is not None else F.leaky_relu(x, SLOPE)
        return shortcut + self.conv_1(self.conv_0(x))


class GPPatchMcResDis(nn.Module):
    """FUNIT's multi-class patch discriminator (``dis``), with the original's keys: ``cnn_f`` is a
    reflect-padded 7x7 convolution, then ``n_res_blks / 2 - 1`` times two residual blocks
    (the second doubling the width, up to 1024) followed by reflect padding and a 3x3 average
    pooling of stride 2, then two more residual blocks; ``cnn_c`` is a LeakyReLU and a 1x1
    convolution to one logit map per class.

    ``forward(x, labels)`` returns (each picture's logit map for its own label ``[N, h, w]``, the
    features ``[N, C, h, w]`` the generator's feature matching compares)."""

    def __init__(self, nf: int = 64, n_res_blks: int = 10, num_classes: int = 119) -> None:
        super().__init__()
        if n_res_blks < 2 or n_res_blks % 2:
            raise ValueError(f"the FUNIT discriminator's n_res_blks must be an even number from 2, not {n_res_blks}")
        self.num_classes = num_classes
        layers: list[nn.Module] = [ActFirstConv(3, nf, 7, 3, activate=False)]
        for _ in range(n_res_blks // 2 - 1):
            wider = min(nf * 2, MAX_WIDTH)
            layers += [ActFirstResBlock(nf, nf), ActFirstResBlock(nf, wider), nn.ReflectionPad2d(1),
                       nn.AvgPool2d(kernel_size=3, stride=2)]
            nf = wider
        wider = min(nf * 2, MAX_WIDTH)
        layers += [ActFirstResBlock(nf, nf), ActFirstResBlock(nf, wider)]
        self.cnn_f = nn.Sequential(*layers)
        self.cnn_c = nn.Sequential(ActFirstConv(wider, num_classes, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[0] != labels.shape[0]:
            raise ValueError(f"{x.shape[0]} pictures and {labels.shape[0]} labels")
        features = self.cnn_f(x)
        logits = self.cnn_c(features)
        # cnn_c's LeakyReLU runs in place in the original, so the features it returns are activated
        features = F.leaky_relu(features, SLOPE)
        return logits[torch.arange(x.shape[0], device=x.device), labels], features


# ---------------------------------------------------------------------------------------------
# losses (the original's calc_dis_real_loss, calc_dis_fake_loss, calc_gen_loss, calc_grad2)


def dis_real_loss(response: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hinge loss of real pictures, ``mean(relu(1 - D))``, and the share judged real (D >= 0)."""
    return F.relu(1.0 - response).mean(), (response >= 0).float().mean()


def dis_fake_loss(response: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hinge loss of generated pictures, ``mean(relu(1 + D))``, and the share judged fake (D < 0)."""
    return F.relu(1.0 + response).mean(), (response < 0).float().mean()


def gen_adversarial_loss(response: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's adversarial loss, ``-mean(D)``, and the share judged real (D >= 0)."""
    return -response.mean(), (response >= 0).float().mean()


def real_gradient_penalty(response: torch.Tensor, pictures: torch.Tensor) -> torch.Tensor:
    """``sum((d mean(D) / d pictures) ^ 2) / batch`` on real pictures (with a graph, so that it
    trains the discriminator): the original's ``calc_grad2``."""
    gradient, = torch.autograd.grad(response.mean(), pictures, create_graph=True, retain_graph=True)
    return gradient.pow(2).sum() / pictures.shape[0]


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class FunitData:
    """Training pictures of several classes: ``pictures`` ``[N, 3, H, W]`` (uint8 from files, or
    float in [-1, 1] from tensors), ``labels`` ``[N]`` (the class index of each), class ``names``."""

    pictures: torch.Tensor
    labels: torch.Tensor
    names: list[str]
    crop_size: int
    flip: bool = True
    notices: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from .training import TranslationTrainingError

        if len(self.names) < 2:
            raise TranslationTrainingError(f"FUNIT learns from several classes; found {len(self.names)}")
        if min(self.pictures.shape[-2:]) < self.crop_size:
            raise TranslationTrainingError(f"the pictures are {self.pictures.shape[-1]}x{self.pictures.shape[-2]} px, "
                                           f"smaller than the {self.crop_size} px crops training takes")

    def counts(self) -> dict[str, int]:
        """Pictures per class."""
        return {name: int((self.labels == i).sum()) for i, name in enumerate(self.names)}

    def sample(self, generator: torch.Generator,
               count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``count`` content pictures and ``count`` class pictures, each drawn uniformly from all
        pictures (two independent draws, as the original's two loaders over one list), randomly
        cropped and flipped: (xa, la, xb, lb), pictures as float32 in [-1, 1]."""
        xa, la = self._draw(generator, count)
        xb, lb = self._draw(generator, count)
        return xa, la, xb, lb

    def _draw(self, generator: torch.Generator, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(0, self.pictures.shape[0], (count,), generator=generator)
        height, width = self.pictures.shape[-2:]
        size = self.crop_size
        top = torch.randint(0, height - size + 1, (count,), generator=generator)
        left = torch.randint(0, width - size + 1, (count,), generator=generator)
        flip = torch.rand(count, generator=generator) > 0.5 if self.flip else torch.zeros(count, dtype=torch.bool)
        out = []
        for i, y, x, mirrored in zip(index.tolist(), top.tolist(), left.tolist(), flip.tolist(), strict=True):
            picture = self.pictures[i, :, y:y + size, x:x + size]
            out.append(picture.flip(-1) if mirrored else picture)
        batch = torch.stack(out)
        batch = batch.float() / 127.5 - 1 if batch.dtype == torch.uint8 else batch.float()
        return batch, self.labels[index]


def _rgb(x: torch.Tensor, name: str) -> torch.Tensor:
    from .training import TranslationTrainingError

    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise TranslationTrainingError(f"class {name}: give pictures [N, 3, H, W] (or [N, 1, H, W]) in [-1, 1], "
                                       f"not {list(x.shape)}")
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x  # FUNIT's networks are RGB only


def load_funit_data(classes: str | os.PathLike | Sequence | Mapping, crop_size: int = 128,
                    load_size: int | None = None, preprocess: str = "resize_and_crop",
                    flip: bool = True) -> FunitData:
    """The training data of a FUNIT run. ``classes`` is a root folder holding one sub-folder of
    pictures per class (``root/<class name>/*.png``; the sub-folders in name order are the classes),
    a list of class folders, a list of picture tensors (one ``[N, C, H, W]`` per class, float in
    [-1, 1] or uint8 0..255; gray ones are repeated to RGB) or a mapping class name -> folder or
    tensor.

    ``preprocess`` as for the other kinds: "resize_and_crop" (square ``load_size``, default
    ``crop_size * 140 / 128`` as FUNIT's 140 / 128, then random crops), "crop" or "none". Tensors
    are taken as they are (only cropped and flipped)."""
    from .training import TranslationTrainingError, picture_domain, resolve_load_size

    load_size = resolve_load_size(preprocess, crop_size, load_size, LOAD_RATIO)
    if isinstance(classes, str | os.PathLike):
        root = Path(classes)
        if not root.is_dir():
            raise TranslationTrainingError(f"FUNIT needs a folder holding one sub-folder per class; {root} is not a "
                                           "folder")
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not folders:
            raise TranslationTrainingError(f"FUNIT needs one sub-folder of pictures per class inside {root}; it "
                                           "has no sub-folders")
        named: dict[str, object] = {p.name: p for p in folders}
    elif isinstance(classes, Mapping):
        named = {str(k): v for k, v in classes.items()}
    else:
        named = {}
        for i, entry in enumerate(classes):
            name = Path(entry).name if isinstance(entry, str | os.PathLike) else f"class {i}"
            named[name if name not in named else f"{name} ({i})"] = entry
    pictures, labels, notices = [], [], []
    for index, (name, entry) in enumerate(named.items()):
        if isinstance(entry, torch.Tensor):
            x = _rgb(entry, name)
        else:
            x, found = picture_domain(entry, 3, load_size, f"FUNIT class {name}")
            notices += found
        pictures.append(x)
        labels.append(torch.full((x.shape[0],), index, dtype=torch.long))
    kinds = {x.dtype == torch.uint8 for x in pictures}
    sizes = {tuple(x.shape[-2:]) for x in pictures}
    if len(kinds) > 1:
        raise TranslationTrainingError("give every class as tensors, or every class as folders")
    if len(sizes) > 1:
        raise TranslationTrainingError(f"the classes' pictures have {len(sizes)} sizes ({sorted(sizes)}); without "
                                       "resizing (preprocess 'crop' or 'none') they must all be the same size")
    stacked = torch.cat(pictures)
    if preprocess == "none" and tuple(stacked.shape[-2:]) != (crop_size, crop_size):
        raise TranslationTrainingError(f"preprocess 'none' trains on whole pictures, but they are "
                                       f"{stacked.shape[-1]}x{stacked.shape[-2]} px, not {crop_size}x{crop_size}")
    return FunitData(stacked, torch.cat(labels), list(named), crop_size, flip, notices)


# ---------------------------------------------------------------------------------------------
# state and steps


@dataclass
class FunitState:
    """Everything a resumed run needs: ``generator`` (the original's ``gen``, trained),
    ``average`` (``gen_test``, its moving average), the discriminator, the optimisers, the step."""

    generator: FewShotGen
    average: FewShotGen
    discriminator: GPPatchMcResDis
    kwargs: dict
    d_kwargs: dict
    class_names: list[str]
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    step: int = 0
    history: list[dict] = field(default_factory=list)

    @property
    def model(self) -> FunitModel:
        """The ``gen_test`` weights as a :class:`~.multimodal.FunitModel` (what is saved)."""
        return FunitModel(self.average, MultimodalInfo("funit", dict(self.kwargs), "GANForge"))


def _assemble(generator: FewShotGen, average: FewShotGen, discriminator: GPPatchMcResDis, kwargs: dict,
              d_kwargs: dict, class_names: list[str], config: FunitConfig) -> FunitState:
    g_optimizer = torch.optim.RMSprop(generator.parameters(), lr=config.lr_gen, alpha=config.alpha,
                                      weight_decay=config.weight_decay)
    d_optimizer = torch.optim.RMSprop(discriminator.parameters(), lr=config.lr_dis, alpha=config.alpha,
                                      weight_decay=config.weight_decay)
    generator.train().requires_grad_(True)
    discriminator.train().requires_grad_(True)
    average.train().requires_grad_(False)  # only ever moved by the average
    return FunitState(generator, average, discriminator, kwargs, d_kwargs, list(class_names), g_optimizer,
                      d_optimizer)


def new_funit_state(kwargs: Mapping, d_kwargs: Mapping, config: FunitConfig, class_names: Sequence[str],
                    device: torch.device | str | None = None) -> FunitState:
    """Fresh networks, initialised as the original (Kaiming, ``gen_test`` a copy of ``gen``) from
    ``config.seed`` without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = create_funit(kwargs)
        discriminator = init_weights(GPPatchMcResDis(**d_kwargs), "kaiming")
    generator = model.generator.to(device)
    return _assemble(generator, copy.deepcopy(generator), discriminator.to(device), model.info.kwargs,
                     dict(d_kwargs), list(class_names), config)


@torch.no_grad()
def update_average(average: nn.Module, network: nn.Module, beta: float) -> None:
    """``average``'s parameters = ``beta * average + (1 - beta) * network`` (buffers untouched)."""
    current = dict(network.named_parameters())
    for name, parameter in average.named_parameters():
        parameter.copy_(beta * parameter + (1.0 - beta) * current[name])


def _spatial_mean(features: torch.Tensor) -> torch.Tensor:
    return features.mean(dim=(2, 3))


def funit_step(state: FunitState, xa: torch.Tensor, la: torch.Tensor, xb: torch.Tensor, lb: torch.Tensor,
               config: FunitConfig) -> dict:
    """One discriminator update, one generator update and the ``gen_test`` average, in the
    original's order. Returns the losses (the original's names) and accuracies."""
    gen, dis = state.generator, state.discriminator

    # discriminator: real hinge + gradient penalty on the class pictures, then fake hinge on
    # translations; three backward passes, as the original accumulates them
    dis.requires_grad_(True)
    state.d_optimizer.zero_grad(set_to_none=True)
    real = xb.detach().requires_grad_(True)
    response_real, _ = dis(real, lb)
    loss_real, accuracy_real = dis_real_loss(response_real)
    (config.gan_w * loss_real).backward(retain_graph=True)
    loss_reg = real_gradient_penalty(response_real, real)
    (config.reg_w * loss_reg).backward()
    with torch.no_grad():
        xt = gen.decode(gen.encode_content(xa), gen.encode_class(xb))
    response_fake, _ = dis(xt, lb)
    loss_fake, accuracy_fake = dis_fake_loss(response_fake)
    (config.gan_w * loss_fake).backward()
    state.d_optimizer.step()

    # generator. The original leaves the discriminator's gradients on (they are cleared before its
    # next update); switching them off changes nothing the generator sees and saves the work.
    dis.requires_grad_(False)
    state.g_optimizer.zero_grad(set_to_none=True)
    content_a = gen.encode_content(xa)
    class_a, class_b = gen.encode_class(xa), gen.encode_class(xb)
    xt = gen.decode(content_a, class_b)  # translation: xa's content in xb's class
    xr = gen.decode(content_a, class_a)  # reconstruction: xa's content in its own class
    response_t, features_t = dis(xt, lb)
    response_r, features_r = dis(xr, la)
    loss_adv_t, accuracy_t = gen_adversarial_loss(response_t)
    loss_adv_r, accuracy_r = gen_adversarial_loss(response_r)
    with torch.no_grad():  # targets of the feature matching
        _, features_b = dis(xb, lb)
        _, features_a = dis(xa, la)
    loss_recon_c = F.l1_loss(_spatial_mean(features_r), _spatial_mean(features_a))
    loss_recon_s = F.l1_loss(_spatial_mean(features_t), _spatial_mean(features_b))
    loss_recon_x = F.l1_loss(xr, xa)
    loss_adv = 0.5 * (loss_adv_t + loss_adv_r)
    total = config.gan_w * loss_adv + config.r_w * loss_recon_x + config.fm_w * (loss_recon_c + loss_recon_s)
    total.backward()
    state.g_optimizer.step()
    update_average(state.average, gen, config.ema_beta)
    return {"dis_real_adv": loss_real.item(), "dis_fake_adv": loss_fake.item(), "dis_reg": loss_reg.item(),
            "dis_acc": 0.5 * (accuracy_real.item() + accuracy_fake.item()), "gen_adv": loss_adv.item(),
            "gen_recon_x": loss_recon_x.item(), "gen_recon_c": loss_recon_c.item(),
            "gen_recon_s": loss_recon_s.item(), "gen_acc": 0.5 * (accuracy_t.item() + accuracy_r.item())}


def train_funit(state: FunitState, data, config: FunitConfig, until: int | None = None,
                on_step: Callable[[FunitState, dict], None] | None = None) -> FunitState:
    """Train from ``state.step`` up to ``until`` (default ``config.steps``). ``data`` has
    ``sample(rng, count) -> (xa, la, xb, lb)`` (a :class:`FunitData`, or any sampler of that
    shape). ``on_step(state, record)`` runs after each step (raise from it to stop)."""
    until = config.steps if until is None else until
    device = next(state.generator.parameters()).device

    def learning_rates(index: int) -> dict[str, float]:
        # constant; set every step so that a resumed run takes the recipe's rates, not the stored ones
        set_learning_rate(state.g_optimizer, config.lr_gen)
        set_learning_rate(state.d_optimizer, config.lr_dis)
        return {}

    def step(rng: torch.Generator) -> dict:
        xa, la, xb, lb = (x.to(device) for x in data.sample(rng, config.batch_size))
        return funit_step(state, xa, la, xb, lb, config)

    gan_steps(state, until, config.seed, device, step, learning_rates, on_step)
    return state


def save_funit_state(state: FunitState, config: FunitConfig, path: str | os.PathLike) -> None:
    """Everything needed to resume, readable with ``torch.load(weights_only=True)``; the networks
    under the original's names (``gen``, ``gen_test``, ``dis``)."""
    write_state_file({
        "format": STATE_FORMAT, "kwargs": state.kwargs, "d_kwargs": state.d_kwargs,
        "class_names": state.class_names, "gen": state.generator.state_dict(),
        "gen_test": state.average.state_dict(), "dis": state.discriminator.state_dict(),
        "g_optimizer": state.g_optimizer.state_dict(), "d_optimizer": state.d_optimizer.state_dict(),
        "step": state.step, "config": asdict(config),
    }, path)


def restore_funit_state(data: dict, config: FunitConfig | None = None,
                        device: torch.device | str | None = None) -> tuple[FunitState, FunitConfig]:
    """The state saved by :func:`save_funit_state` (contents already read)."""
    config = config or FunitConfig(**data["config"])
    with torch.random.fork_rng(devices=[]):  # fresh weights are overwritten; keep the caller's random state
        generator, average = FewShotGen(**data["kwargs"]), FewShotGen(**data["kwargs"])
        discriminator = GPPatchMcResDis(**data["d_kwargs"])
    for network, key in ((generator, "gen"), (average, "gen_test"), (discriminator, "dis")):
        network.load_state_dict(data[key])
        network.to(device)
    state = _assemble(generator, average, discriminator, data["kwargs"], data["d_kwargs"], data["class_names"],
                      config)
    state.g_optimizer.load_state_dict(data["g_optimizer"])
    state.d_optimizer.load_state_dict(data["d_optimizer"])
    state.step = int(data["step"])
    return state, config


@torch.no_grad()
def funit_preview(model: FunitModel, content: torch.Tensor, class_pictures: torch.Tensor) -> torch.Tensor:
    """``content`` pictures (NCHW, [-1, 1]) translated into the class of the K ``class_pictures``
    (their mean class code, as the original's test_k_shot.py); training flags are restored."""
    flags = [(m, m.training) for m in model.generator.modules()]
    try:
        model.generator.eval()
        return model.decode(model.encode_content(content), model.class_code(class_pictures))
    finally:
        for module, training in flags:
            module.training = training


# ---------------------------------------------------------------------------------------------
# files in, files out


def run_funit_training(classes: str | os.PathLike | Sequence | Mapping, out: str | os.PathLike, *, steps: int,
                       batch: int | None, seed: int | None, generator: dict, discriminator: dict, crop_size: int,
                       load_size: int | None, preprocess: str, flip: bool, schedule_steps: int | None,
                       resume: str | os.PathLike | None, state_path: Path, device, report: Callable[[str], None],
                       on_step: Callable[[int, int, dict, FunitModel], None] | None, report_every: int,
                       recipe: dict) -> dict:
    """The ``kind="funit"`` branch of :func:`~.training.run_translation_training` (which checks
    the output paths). ``classes``: see :func:`load_funit_data`. ``discriminator`` may leave out
    ``num_classes`` (it is the number of classes found). Writes ``out`` (the ``gen_test`` weights,
    GANForge safetensors that :func:`~.multimodal.load_funit` reads) and the resumable state;
    returns facts like :func:`~.munit_training.run_munit_training`."""
    from .training import RunProgress, TranslationTrainingError, check_resumable, read_resume_state, run_config

    stored = read_resume_state(resume, STATE_FORMAT, "`ganforge train-translation funit`") if resume else None
    # FUNIT's rate is constant: the planned length only documents the run
    config, notices = run_config(FunitConfig, recipe, steps=steps, schedule_steps=schedule_steps, seed=seed,
                                 batch=batch, stored=stored and stored["config"], what="FUNIT ",
                                 default_batch=FunitConfig.batch_size)
    kwargs = stored["kwargs"] if stored else generator
    multiple = 2 ** kwargs["n_downs_content"]
    if crop_size % multiple:
        raise TranslationTrainingError(f"FUNIT with {kwargs['n_downs_content']} content downsamplings needs sides "
                                       f"that are multiples of {multiple}; {crop_size} is not")
    data = load_funit_data(classes, crop_size, load_size, preprocess, flip)
    notices += data.notices
    if resume:
        state, config = restore_funit_state(stored, config, device)
        if len(data.names) != state.d_kwargs["num_classes"]:
            raise TranslationTrainingError(f"{Path(resume).name} trains {state.d_kwargs['num_classes']} classes; "
                                           f"{len(data.names)} were given")
        if data.names != state.class_names:
            notices.append(f"the classes are named {data.names}, the saved run's {state.class_names}: they are "
                           "matched by position")
        check_resumable(state, steps, resume)
    else:
        d_kwargs = {**discriminator, "num_classes": discriminator.get("num_classes") or len(data.names)}
        if d_kwargs["num_classes"] < len(data.names):
            raise TranslationTrainingError(f"the discriminator judges {d_kwargs['num_classes']} classes; "
                                           f"{len(data.names)} were given")
        state = new_funit_state(kwargs, d_kwargs, config, data.names, device)
    for notice in notices:
        report(f"notice: {notice}")
    progress = RunProgress(state, steps, config.batch_size, report, report_every, on_step, lambda state: state.model)
    train_funit(state, data, config, until=steps, on_step=progress)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    save_funit_state(state, config, state_path)
    save_multimodal(state.model, out)
    return {**progress.facts(state, out, state_path), "junyanz": [], "kind": "funit", "architecture": "funit",
            "kwargs": state.kwargs, "discriminator": state.d_kwargs, "classes": data.counts(),
            "pictures": int(data.pictures.shape[0]), "crop_size": crop_size, "config": asdict(config),
            "notices": notices}
