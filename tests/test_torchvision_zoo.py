"""torchvision's classification models, from torchvision's own source, against PyTorch.

The model definitions are not copied here: tests/zoo_loader.py reads them out of the
torchvision wheel at test time and runs them twice, once with `torch` meaning tinyconv (the
imports aliased, as a user would) and once against PyTorch. All copies get identical weights
(constant-initialised ones made random so that they matter), then must agree on

- eval mode (running statistics; dropout and stochastic depth off): every output, the
  cross-entropy loss, the gradient of every parameter, the parameters after an SGD step;
- train mode (batch statistics): every output (GoogLeNet's auxiliary heads included), the
  loss, every gradient, the BatchNorm running statistics and `num_batches_tracked`, and the
  parameters after two SGD steps (momentum, weight decay) and after two Adam steps.

In float64 every number matches PyTorch's to 1e-7 (relative to the tensor's largest value).
In float32 (eval mode) each library's result is compared with its own float64 result:
tinyconv's error must stay within F32_FACTOR of PyTorch's.

Dropout and stochastic depth draw random masks, which two libraries cannot share, so in train
mode their probability is set to 0 (they stay in the graph).

Not here: the models built from attention layers (ViT, Swin, MaxViT). Deep variants of the
families below run with TINYCONV_ZOO_FULL=1. Without the torchvision wheel (see
zoo_loader.find_wheel) the module skips; CI downloads it and sets TINYCONV_TORCHVISION_WHEEL,
and with TINYCONV_REQUIRE_TORCH such a skip is a failure.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")

from zoo_loader import ZooPackage, wheel_or_skip  # noqa: E402

import tinyconv  # noqa: E402

WHEEL = wheel_or_skip("the torchvision model-zoo comparison needs its source")

F64_TOL = 1e-7
# tinyconv's float32 error may be this many times PyTorch's own float32 error (both measured
# against PyTorch's float64 result on the same weights and inputs): the two sum in different
# orders, so their rounding differs, but not by orders of magnitude.
F32_FACTOR = 10.0


@dataclass(frozen=True)
class Spec:
    builder: str  # torchvision.models.<module>.<builder>
    module: str
    size: int  # input height = width
    kwargs: dict[str, Any] = field(default_factory=dict)
    batch: int = 4
    channels: int = 3
    # hidden layers hard-wired at 4096 wide (VGG, AlexNet) are narrowed
    shrink_classifier: bool = False
    # whether float32 gradients are compared (see GoogLeNet's entry for when they are not)
    f32_grads: bool = True
    # builds the model from the loaded torchvision module instead of calling `builder`
    make: Callable[[Any], Any] | None = None
    # how many times PyTorch's float32 error tinyconv's may be (see ShuffleNetV2's entry)
    f32_factor: float = F32_FACTOR

    @property
    def id(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.kwargs.items() if k != "num_classes")
        return self.builder + (f"[{extra}]" if extra else "")


def _resnext_shallow(resnet: Any, **kwargs: Any) -> Any:
    """resnext50_32x4d's blocks (Bottleneck, 32 groups of width 4), one per stage."""
    return resnet.ResNet(resnet.Bottleneck, [1, 1, 1, 1], groups=32, width_per_group=4, **kwargs)


def _efficientnet_v2_shallow(efficientnet: Any, **kwargs: Any) -> Any:
    """efficientnet_v2_s's stages (FusedMBConv, then MBConv) with at most two blocks each,
    built as efficientnet_v2_s builds its network."""
    setting, last_channel = efficientnet._efficientnet_conf("efficientnet_v2_s")
    for stage in setting:
        stage.num_layers = min(stage.num_layers, 2)
    norm = functools.partial(efficientnet.nn.BatchNorm2d, eps=1e-03)
    return efficientnet.EfficientNet(
        setting, 0.2, last_channel=last_channel, norm_layer=norm, **kwargs
    )


def _convnext_shallow(convnext: Any, **kwargs: Any) -> Any:
    """convnext_tiny's stages (widths 96..768, LayerNorm2d, layer scale, stochastic depth 0.1)
    with one block each instead of 3, 3, 9, 3."""
    widths = [(96, 192), (192, 384), (384, 768), (768, None)]
    setting = [convnext.CNBlockConfig(i, o, 1) for i, o in widths]
    return convnext.ConvNeXt(setting, stochastic_depth_prob=0.1, **kwargs)


SPECS = [
    Spec("resnet18", "resnet", 32, {"num_classes": 10}),
    Spec("resnext_shallow", "resnet", 32, {"num_classes": 10}, make=_resnext_shallow),
    Spec("alexnet", "alexnet", 64, {"num_classes": 10}, shrink_classifier=True),
    Spec("vgg11", "vgg", 32, {"num_classes": 10}, shrink_classifier=True),
    Spec("vgg11_bn", "vgg", 32, {"num_classes": 10}, shrink_classifier=True),
    Spec("squeezenet1_0", "squeezenet", 32, {"num_classes": 10}),
    Spec("squeezenet1_1", "squeezenet", 32, {"num_classes": 10}),
    Spec("densenet121", "densenet", 32, {"num_classes": 10}),
    # This DenseNet's float32 gradients are not compared, for the reason GoogLeNet's and
    # Inception-v3's are not (below): in its float64 run (its own weights and input) one input of
    # denseblock3.denselayer23.relu1 is 4.8e-7 (its layer's largest is 5.3), below float32's
    # resolution, so the rounding of the convolutions before it decides which side of zero it
    # falls on, and with it a whole gradient entry (norm1.bias there then differs by 3%, every
    # gradient upstream by ~6e-4). OpenBLAS's Haswell kernel's rounding made it -2.7e-7, its
    # SkylakeX kernel's and PyTorch's kept it positive (tinyconv's checkpointed and plain
    # DenseNet give the same float32 gradients bit for bit either way). Its float64 gradients
    # are compared to 1e-7 as for all.
    Spec(
        "densenet121",
        "densenet",
        32,
        {"num_classes": 10, "memory_efficient": True},
        f32_grads=False,
    ),
    # GoogLeNet's float32 gradients are not compared: in this input's float64 run, 7 of the
    # 7680 3x3 max-pool windows after inception3b hold two values whose relative gap (6e-8 to
    # 8e-7) is below float32's resolution, so which of the two receives the gradient is
    # decided by rounding (tinyconv's float32 rounding ties two of them, PyTorch's happens to
    # keep their float64 order). Its float64 gradients are compared to 1e-7 as for all.
    Spec(
        "googlenet",
        "googlenet",
        32,
        {"num_classes": 10, "aux_logits": True, "init_weights": True},
        f32_grads=False,
    ),
    # The auxiliary head needs 299x299 input (its 5x5 convolution runs on Mixed_6e's map / 3),
    # so it is compared on its own, on the 17x17 map it gets at that size.
    Spec("InceptionAux", "inception", 17, {"in_channels": 768, "num_classes": 10}, channels=768),
    # Inception-v3's float32 gradients are not compared either: its activations reach 1e5 (the
    # logits 4e7), so float32 rounds them by ~0.03 absolutely, and in the float64 run one
    # input of Mixed_6e.branch7x7dbl_3's ReLU is -0.076. Which side of zero float32 puts it
    # on decides a whole gradient entry: OpenBLAS's Haswell kernel's rounding made it
    # 4.9e-05 (2% of every gradient upstream then differs), its SkylakeX kernel's and
    # PyTorch's kept it negative. Its float64 gradients are compared to 1e-7 as for all.
    Spec(
        "inception_v3",
        "inception",
        75,
        {"num_classes": 10, "aux_logits": False, "init_weights": True},
        f32_grads=False,
    ),
    Spec("mobilenet_v2", "mobilenetv2", 32, {"num_classes": 10}),
    Spec("mobilenet_v3_small", "mobilenetv3", 32, {"num_classes": 10}),
    Spec("efficientnet_b0", "efficientnet", 32, {"num_classes": 10}),
    Spec(
        "efficientnet_v2_shallow",
        "efficientnet",
        32,
        {"num_classes": 10},
        make=_efficientnet_v2_shallow,
    ),
    # ShuffleNetV2's last BatchNorm weight gradients in a branch cancel to 1/20 of the bias
    # gradients beside them, so both libraries' float32 errors there are rounding of that
    # cancellation: PyTorch's 3.4e-7 at 1 thread, 7.5e-7 at 2 (stage3.4.branch2.6.weight),
    # tinyconv's 3.7e-6 with OpenBLAS's Haswell kernel (within 10x on its SkylakeX kernel)
    Spec("shufflenet_v2_x0_5", "shufflenetv2", 32, {"num_classes": 10}, f32_factor=20.0),
    Spec("mnasnet0_5", "mnasnet", 32, {"num_classes": 10}),
    Spec("regnet_x_400mf", "regnet", 32, {"num_classes": 10}, batch=8),
    Spec("regnet_y_400mf", "regnet", 32, {"num_classes": 10}),
    Spec("convnext_shallow", "convnext", 32, {"num_classes": 10}, make=_convnext_shallow),
]

# The full-depth models behind the shallow entries above (same block code, many more blocks):
# minutes of float64 training on a 2-core machine, so they run when TINYCONV_ZOO_FULL=1.
if os.environ.get("TINYCONV_ZOO_FULL", "0") not in ("", "0"):
    SPECS += [
        Spec("resnext50_32x4d", "resnet", 32, {"num_classes": 10}),
        Spec("resnet50", "resnet", 32, {"num_classes": 10}),
        Spec("efficientnet_v2_s", "efficientnet", 32, {"num_classes": 10}),
        Spec("convnext_tiny", "convnext", 32, {"num_classes": 10}),
    ]


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    # PyTorch's thread pool on a shared 2-core machine mostly waits for cores; one thread
    # makes its side of the comparison several times faster here (the numbers do not change).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def packages() -> dict[str, ZooPackage]:
    return {"torch": ZooPackage(WHEEL, "torch"), "tinyconv": ZooPackage(WHEEL, "tinyconv")}


# --- the loader ----------------------------------------------------------------------------


def test_loader_runs_torchvision_source_against_each_library(packages: dict) -> None:
    import sys

    before = set(sys.modules)
    mods = {lib: pkg.module("torchvision.ops.misc") for lib, pkg in packages.items()}
    # nothing of the private packages leaks into sys.modules (the real torch stays untouched)
    leaked = {n for n in set(sys.modules) - before if "torchvision" in n or "_tinyconv_zoo" in n}
    assert not leaked
    assert mods["tinyconv"] is not mods["torch"]
    assert mods["tinyconv"].torch.Tensor is tinyconv.Tensor
    assert mods["torch"].torch is torch
    blocks = {lib: m.Conv2dNormActivation(3, 8, kernel_size=3, stride=2) for lib, m in mods.items()}
    assert isinstance(blocks["tinyconv"], tinyconv.nn.Module)
    assert isinstance(blocks["torch"], torch.nn.Module)
    assert [type(c).__name__ for c in blocks["tinyconv"]] == ["Conv2d", "BatchNorm2d", "ReLU"]
    # the same module twice is one module; `torch.fx` is the loader's stand-in on tinyconv's
    # side (tinyconv has no FX graph capture) and the real one on PyTorch's
    assert packages["tinyconv"].module("torchvision.ops.misc") is mods["tinyconv"]
    sd = packages["tinyconv"].module("torchvision.ops.stochastic_depth")
    assert sd.torch.fx.wrap("x") == "x"
    # a torchvision-internal helper the loader replaces, and one it loads from the wheel
    assert packages["tinyconv"].module("torchvision.utils")._make_ntuple(3, 2) == (3, 3)
    assert packages["torch"].module("torchvision._utils").sequence_to_str(["a", "b"]) == "'a', 'b'"


# --- building twin models -----------------------------------------------------------------


def _build(pkg: ZooPackage, spec: Spec) -> Any:
    module = pkg.module(f"torchvision.models.{spec.module}")
    builder = (
        getattr(module, spec.builder) if spec.make is None else functools.partial(spec.make, module)
    )
    if not spec.shrink_classifier:
        return builder(**spec.kwargs)
    real_nn = module.nn
    module.nn = _NarrowLinears(real_nn)
    try:
        return builder(**spec.kwargs)
    finally:
        module.nn = real_nn


class _NarrowLinears:
    """The `nn` a VGG/AlexNet module sees while it is built: the library's own, except that
    Linear layers 4096 wide are made 64 wide. Their classifiers, Linear(.., 4096),
    Linear(4096, 4096), Linear(4096, k), hold >100M parameters: too many to initialise and
    train in float64 in a test. The layers are a subclass of the library's nn.Linear that
    only changes the widths it is given."""

    def __init__(self, nn: Any) -> None:
        self._nn = nn

        class Linear(nn.Linear):
            def __init__(self, in_features: int, out_features: int, *args: Any, **kw: Any) -> None:
                narrow = lambda n: 64 if n == 4096 else n  # noqa: E731
                super().__init__(narrow(in_features), narrow(out_features), *args, **kw)

        self.Linear = Linear

    def __getattr__(self, name: str) -> Any:
        return getattr(self._nn, name)


def _perturbed_state(model: Any, seed: int) -> dict[str, np.ndarray]:
    """The PyTorch model's state as float64 arrays, with constant-initialised tensors (BN's
    weight 1 / bias 0 / running stats, zeroed biases) made random so that they matter."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, t in model.state_dict().items():
        arr = np.array(t.detach().numpy(), dtype=np.float64 if t.is_floating_point() else None)
        if t.is_floating_point() and arr.size and np.ptp(arr) == 0:
            noise = 0.1 * rng.standard_normal(arr.shape)
            arr = arr + (np.abs(noise) if name.endswith("running_var") else noise)
        state[name] = arr
    return state


def _load(model: Any, state: dict[str, np.ndarray], lib: str, dtype: str) -> Any:
    model.to(getattr(_lib(lib), dtype))
    # Into the model's own state_dict, which carries its _metadata (the layout versions that
    # MNASNet's _load_from_state_dict checks), as a checkpoint saved from it would.
    entries = model.state_dict()
    for k, v in state.items():
        entries[k] = torch.from_numpy(v.copy()) if lib == "torch" else v
    model.load_state_dict(entries)
    return model


def _set_dropout(model: Any, p: float | None, saved: dict) -> None:
    # Dropout/StochasticDepth draw random masks, which the two libraries cannot share.
    for name, m in model.named_modules():
        if type(m).__name__ in ("Dropout", "StochasticDepth"):
            if p is None:
                m.p = saved.get(name, m.p)
            else:
                saved.setdefault(name, m.p)
                m.p = p


# --- running the same steps in both libraries -------------------------------------------


def _lib(lib: str) -> Any:
    return torch if lib == "torch" else tinyconv


def _np(t: Any) -> np.ndarray:
    # A copy: the optimiser steps write into the parameters after they are recorded.
    return np.array(t.detach().numpy(), copy=True)


def _outputs(out: Any) -> list:
    # GoogLeNet/Inception return (logits, aux...) namedtuples in train mode with aux_logits.
    if isinstance(out, tuple):
        return [o for o in out if o is not None]
    return [out]


class _Twin:
    """One model per (library, dtype), built from the same source and the same weights,
    stepped through the same phases; each phase returns its numbers per model."""

    def __init__(self, packages: dict, spec: Spec, runs: dict[str, tuple[str, str]]) -> None:
        seed = sum(map(ord, spec.id))
        self.runs = runs  # name -> (library, dtype)
        self.models = {}
        for name, (lib, _) in runs.items():
            _lib(lib).manual_seed(seed)  # the initial weights are replaced; the seed makes
            self.models[name] = _build(packages[lib], spec)  # the reference's run repeatable
        reference = next(n for n, (lib, _) in runs.items() if lib == "torch")
        self.state = _perturbed_state(self.models[reference], seed)
        for name, (lib, dtype) in runs.items():
            _load(self.models[name], self.state, lib, dtype)
        rng = np.random.default_rng(seed + 1)
        self.x = rng.standard_normal((spec.batch, spec.channels, spec.size, spec.size))
        self.y = rng.integers(0, spec.kwargs.get("num_classes", 1000), spec.batch)
        self.optimizers: dict[str, Any] = {}
        self._dropout: dict[str, dict] = {name: {} for name in runs}

    def each(self, fn: Any) -> dict[str, dict[str, np.ndarray]]:
        return {
            name: fn(_lib(lib), self.models[name], name, dtype)
            for name, (lib, dtype) in self.runs.items()
        }

    def train(self) -> None:
        for name, model in self.models.items():
            model.train()
            _set_dropout(model, 0.0, self._dropout[name])

    def eval(self) -> None:
        for name, model in self.models.items():
            _set_dropout(model, None, self._dropout[name])
            model.eval()

    def forward_backward(self, tag: str) -> dict:
        def run(L: Any, model: Any, name: str, dtype: str) -> dict:
            outs = _outputs(model(L.tensor(self.x, dtype=getattr(L, dtype))))
            loss = sum(L.nn.functional.cross_entropy(o, L.tensor(self.y)) for o in outs)
            model.zero_grad()
            loss.backward()
            rec = {f"{tag} output {i}": _np(o) for i, o in enumerate(outs)}
            rec[f"{tag} loss"] = _np(loss)
            # None where no gradient reached (the aux heads in eval mode): None in both.
            rec.update(
                {
                    f"{tag} grad {n}": None if p.grad is None else _np(p.grad)
                    for n, p in model.named_parameters()
                }
            )
            rec.update({f"{tag} buffer {n}": _np(b) for n, b in model.named_buffers()})
            return rec

        return self.each(run)

    def step(self, tag: str, optimizer: str, **options: Any) -> dict:
        def run(L: Any, model: Any, name: str, dtype: str) -> dict:
            key = (name, optimizer)
            if key not in self.optimizers:
                self.optimizers[key] = getattr(L.optim, optimizer)(model.parameters(), **options)
            self.optimizers[key].step()
            return {f"{tag} {n}": _np(p) for n, p in model.named_parameters()}

        return self.each(run)

    def evaluate(self, tag: str) -> dict:
        def run(L: Any, model: Any, name: str, dtype: str) -> dict:
            with L.no_grad():
                outs = _outputs(model(L.tensor(self.x, dtype=getattr(L, dtype))))
            return {f"{tag} output {i}": _np(o) for i, o in enumerate(outs)}

        return self.each(run)

    def keep(self, *names: str) -> None:
        """Go on with these runs only."""
        self.runs = {n: self.runs[n] for n in names}
        self.models = {n: self.models[n] for n in names}

    def resync(self, source: str) -> None:
        """Copy `source`'s parameters and buffers into the other models (their optimiser
        state stays their own). These networks are ill-conditioned at test sizes (BatchNorm
        over a few values): a 1e-12 change of the weights moves PyTorch's own output by
        ~1e-9, so each step is compared from the same starting point."""
        state = {
            k: np.array(v.detach().numpy(), copy=True)
            for k, v in self.models[source].state_dict().items()
        }
        for name, (lib, dtype) in self.runs.items():
            if name != source:
                _load(self.models[name], state, lib, dtype)


def _scale(ref: np.ndarray) -> float:
    return max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-30)


def _grad_floor(ref: dict[str, np.ndarray]) -> float:
    # A gradient that is zero in exact arithmetic (a bias right before a BatchNorm) is pure
    # rounding noise, ~1e-17 here: its error is measured against the largest gradient of the
    # model in the same pass (times 1e-6), not against its own noise.
    grads = [
        np.max(np.abs(v)) for k, v in ref.items() if " grad " in k and v is not None and v.size
    ]
    return 1e-6 * max(grads, default=0.0)


def _compare_f64(records: dict, spec: Spec) -> None:
    t, c = records["torch64"], records["tinyconv64"]
    problems = [f"different records: {sorted(set(t) ^ set(c))}"] if set(t) != set(c) else []
    floor = _grad_floor(t)
    for key in t.keys() & c.keys():
        if t[key] is None or c[key] is None:
            if (t[key] is None) != (c[key] is None):
                problems.append(f"{key}: a gradient in one library only")
            continue
        a, b = np.asarray(c[key]), np.asarray(t[key])
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{key}: tinyconv {a.dtype}{a.shape}, torch {b.dtype}{b.shape}")
            continue
        scale = max(_scale(b), floor) if " grad " in key else _scale(b)
        err = float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
        if err > F64_TOL * scale:
            problems.append(f"{key}: max error {err:.3g} (scale {scale:.3g})")
    assert not problems, f"{spec.id} float64:\n" + "\n".join(sorted(problems)[:20])


def _compare_f32(records: dict, spec: Spec) -> None:
    """Each library's float32 result against its own float64 result (which the float64
    comparison ties together to 1e-7): tinyconv's float32 error must be within F32_FACTOR of
    PyTorch's. Against its own float64 run, not PyTorch's: GoogLeNet's stride-1 max pooling
    copies values to neighbouring pixels and its 1x1 convolutions keep the copies equal in
    tinyconv (bit for bit) but not in PyTorch (its vectorised kernels round positions
    differently), so a later max pool breaks those ties differently in the two libraries;
    either choice is a correct gradient, and within one library float32 and float64 agree."""
    problems = []
    floor = _grad_floor(records["torch64"])
    for key, ref_t in records["torch64"].items():
        ref_c, t32, c32 = (
            records["tinyconv64"][key],
            records["torch32"][key],
            records["tinyconv32"][key],
        )
        if any(v is None for v in (ref_t, ref_c, t32, c32)):
            if any(v is not None for v in (ref_t, ref_c, t32, c32)):
                problems.append(f"{key}: a gradient in one run only")
            continue
        if not np.issubdtype(ref_t.dtype, np.floating) or not ref_t.size:
            continue
        if " grad " in key and not spec.f32_grads:
            continue
        if c32.dtype != np.float32 or c32.shape != ref_t.shape:
            problems.append(f"{key}: tinyconv gives {c32.dtype}{c32.shape}")
            continue
        scale = max(_scale(ref_t), floor) if " grad " in key else _scale(ref_t)
        # Relative error in the 2-norm: the worst single element of an ill-conditioned
        # network's float32 result is a noisy statistic, the norm of the error is stable.
        norm = max(float(np.linalg.norm(ref_t)), scale * 1e-30)
        err_torch = float(np.linalg.norm(t32 - ref_t)) / norm
        err_tc = float(np.linalg.norm(c32 - ref_c)) / norm
        # 1e-6: below that both are float32's own rounding of the float64 result.
        if err_tc > max(spec.f32_factor * err_torch, 1e-6):
            problems.append(f"{key}: tinyconv rel. error {err_tc:.3g}, torch {err_torch:.3g}")
    assert not problems, f"{spec.id} float32:\n" + "\n".join(sorted(problems)[:20])


SGD = {"lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4}
# Adam's step is g / (sqrt(v) + eps) ~ sign(g) at first: for tiny gradient entries its
# sensitivity to rounding in g is lr / eps. eps = 1e-3 keeps that at 1 (with PyTorch's default
# 1e-8 it is 1e5, and the comparison would measure rounding, not Adam).
ADAM = {"lr": 1e-3, "eps": 1e-3}


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_zoo_model_matches_torch(packages: dict, spec: Spec) -> None:
    runs = {
        "torch64": ("torch", "float64"),
        "tinyconv64": ("tinyconv", "float64"),
        "torch32": ("torch", "float32"),
        "tinyconv32": ("tinyconv", "float32"),
    }
    twin = _Twin(packages, spec, runs)
    # Eval mode (running statistics; dropout and stochastic depth off): float64 and float32.
    # float32 is only compared here: with BatchNorm's batch statistics over the few values
    # per channel of a test batch, these networks are too ill-conditioned for float32 to mean
    # anything (PyTorch's own float32 gradients are off by >100% there).
    twin.eval()
    records = twin.forward_backward("eval")
    _compare_f64(records, spec)
    _compare_f32(records, spec)
    records = twin.step("after SGD step on eval gradients", "SGD", **SGD)
    _compare_f64(records, spec)
    if spec.f32_grads:  # (the step's weights are made from those float32 gradients)
        _compare_f32(records, spec)

    # Train mode (batch statistics, running-stat updates), float64.
    twin.keep("torch64", "tinyconv64")
    twin.resync("torch64")
    twin.optimizers.clear()
    twin.train()
    _compare_f64(twin.forward_backward("train"), spec)
    # Two steps on the same gradients (the second one uses the momentum buffer / Adam's
    # moments); each optimiser starts from the same weights.
    for i in (1, 2):
        _compare_f64(twin.step(f"after SGD step {i}", "SGD", **SGD), spec)
    twin.resync("torch64")
    for i in (1, 2):
        _compare_f64(twin.step(f"after Adam step {i}", "Adam", **ADAM), spec)
