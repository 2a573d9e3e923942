"""nn modules against PyTorch 2.13: norm layers initialise through reset_parameters(), layer
constructors check `device`, trunc_normal_ fills in memory order, the private bases PyTorch's
subclasses use (_BatchNorm._check_input_dim, _InstanceNorm, _ConvNd's positional signature,
_conv_forward, _ConvTransposeNd._output_padding, LazyModuleMixin, _DropoutNd, _WeightedLoss,
the pooling and padding bases), lazy modules loaded from a checkpoint, Module.modules and
_named_members, conv reprs, __constants__, and the exact types PyTorch returns and raises."""

from __future__ import annotations

import copy
import importlib
import inspect
import math

import numpy as np
import pytest
from torch_compare import assert_same

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

LIBS = (tinyconv, torch)


def _both(name: str) -> tuple:
    """tinyconv's and PyTorch's object at the dotted path `name` under the top package."""
    out = []
    for lib in LIBS:
        obj = lib
        for part in name.split("."):
            obj = getattr(obj, part)
        out.append(obj)
    return tuple(out)


def _load_from_torch(mine, ref) -> None:
    """mine takes ref's state (a PyTorch module's tensors, copied)."""
    mine.load_state_dict(
        {k: tinyconv.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()}
    )


def _raised(fn) -> BaseException:
    with pytest.raises(BaseException) as info:
        fn()
    return info.value


# -- 1. norm layers initialise through reset_parameters() -------------------------------------

NORMS = {
    "BatchNorm1d": (3,),
    "BatchNorm2d": (3,),
    "BatchNorm3d": (3,),
    "SyncBatchNorm": (3,),
    "InstanceNorm1d": (3, 1e-5, 0.1, True, True),
    "InstanceNorm2d": (3, 1e-5, 0.1, True, True),
    "InstanceNorm3d": (3, 1e-5, 0.1, True, True),
    "LayerNorm": ((3,),),
    "GroupNorm": (1, 3),
    "RMSNorm": ((3,),),
}


def _state(module) -> dict:
    return {k: v.detach().numpy().tolist() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_a_subclass_reset_parameters_sets_the_initial_values(name):
    def reset_parameters(self):
        type(self).__mro__[1].reset_parameters(self)  # the layer's own, then gamma 2
        self.weight.data.fill_(2.0)

    got, want = (
        type("Tweaked", (cls,), {"reset_parameters": reset_parameters})(*NORMS[name])
        for cls in _both(f"nn.{name}")
    )
    assert _state(got) == _state(want)
    assert got.weight.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("name", sorted(NORMS))
def test_the_default_initial_values_are_pytorchs(name):
    got, want = (cls(*NORMS[name]) for cls in _both(f"nn.{name}"))
    assert _state(got) == _state(want)


@pytest.mark.parametrize("name", ["BatchNorm2d", "InstanceNorm2d"])
def test_a_subclass_reset_running_stats_runs_at_init(name):
    def reset_running_stats(self):
        type(self).__mro__[1].reset_running_stats(self)
        self.running_var.fill_(3.0)

    got, want = (
        type("Tweaked", (cls,), {"reset_running_stats": reset_running_stats})(*NORMS[name])
        for cls in _both(f"nn.{name}")
    )
    assert _state(got) == _state(want)
    assert got.running_var.tolist() == [3.0, 3.0, 3.0]


def _zero_gamma_bn(lib):
    # ResNet's "zero-init the last BN" written as a subclass
    class ZeroGammaBN(lib.nn.BatchNorm2d):
        def reset_parameters(self):
            super().reset_parameters()
            lib.nn.init.zeros_(self.weight)

    return ZeroGammaBN


def test_zero_gamma_batchnorm_pattern_gives_pytorchs_numbers():
    outs = []
    for lib in LIBS:
        x = lib.tensor(np.arange(24.0).reshape(2, 3, 2, 2), dtype=lib.float32)
        outs.append(_zero_gamma_bn(lib)(3)(x))
    assert_same(*outs, dtype="float32")
    assert not outs[0].detach().numpy().any()


# -- 2. device= in layer constructors ------------------------------------------------------------

DEVICE_LAYERS = {
    "Linear": lambda nn, d: nn.Linear(2, 3, device=d),
    "Bilinear": lambda nn, d: nn.Bilinear(2, 2, 3, device=d),
    "Conv1d": lambda nn, d: nn.Conv1d(2, 3, 3, device=d),
    "Conv2d": lambda nn, d: nn.Conv2d(2, 3, 3, device=d),
    "Conv3d": lambda nn, d: nn.Conv3d(2, 3, 3, device=d),
    "ConvTranspose2d": lambda nn, d: nn.ConvTranspose2d(2, 3, 3, device=d),
    "BatchNorm2d": lambda nn, d: nn.BatchNorm2d(3, device=d),
    "InstanceNorm2d": lambda nn, d: nn.InstanceNorm2d(3, affine=True, device=d),
    "LayerNorm": lambda nn, d: nn.LayerNorm(3, device=d),
    "GroupNorm": lambda nn, d: nn.GroupNorm(1, 3, device=d),
    "RMSNorm": lambda nn, d: nn.RMSNorm(3, device=d),
    "Embedding": lambda nn, d: nn.Embedding(4, 2, device=d),
    "EmbeddingBag": lambda nn, d: nn.EmbeddingBag(4, 2, device=d),
    "PReLU": lambda nn, d: nn.PReLU(device=d),
    "LSTM": lambda nn, d: nn.LSTM(2, 3, device=d),
    "GRUCell": lambda nn, d: nn.GRUCell(2, 3, device=d),
    "MultiheadAttention": lambda nn, d: nn.MultiheadAttention(4, 2, device=d),
    "TransformerEncoderLayer": lambda nn, d: nn.TransformerEncoderLayer(4, 2, 8, device=d),
    "LazyLinear": lambda nn, d: nn.LazyLinear(3, device=d),
    "LazyConv2d": lambda nn, d: nn.LazyConv2d(3, 3, device=d),
    "LazyBatchNorm2d": lambda nn, d: nn.LazyBatchNorm2d(device=d),
}


@pytest.mark.parametrize("device", ["meta", "cuda", "cuda:0", "bogus"])
@pytest.mark.parametrize("name", sorted(DEVICE_LAYERS))
def test_a_device_tinyconv_has_not_raises_as_its_tensor_factories_before_any_draw(name, device):
    want = _raised(lambda: tinyconv.empty(2, device=device))
    tinyconv.manual_seed(0)
    got = _raised(lambda: DEVICE_LAYERS[name](tinyconv.nn, device))
    assert type(got) is type(want)
    assert repr(device) in str(got)
    # nothing was drawn: the generator is where the seed left it
    tinyconv.manual_seed(0)
    expected = tinyconv.rand(3).tolist()
    tinyconv.manual_seed(0)
    _raised(lambda: DEVICE_LAYERS[name](tinyconv.nn, device))
    assert tinyconv.rand(3).tolist() == expected


def test_a_device_pytorch_lacks_raises_the_same_type_in_both():
    # PyTorch's CPU build: 'cuda' asserts, a bad string is a RuntimeError
    for device, kind in (("cuda", AssertionError), ("bogus", RuntimeError)):
        for lib in LIBS:
            err = _raised(lambda lib=lib, device=device: lib.nn.Linear(2, 3, device=device))
            assert isinstance(err, kind)


@pytest.mark.parametrize("name", sorted(DEVICE_LAYERS))
def test_the_cpu_device_gives_pytorchs_layer(name):
    for device in ("cpu", None):
        states = []
        for lib in LIBS:
            lib.manual_seed(0)
            dev = lib.device(device) if device else None
            states.append(DEVICE_LAYERS[name](lib.nn, dev).state_dict())
        got, want = states
        assert list(got) == list(want)
        for k in want:
            if not torch.nn.parameter.is_lazy(want[k]):  # (a lazy module's are in neither)
                np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), 1e-6, 1e-7)


# -- 3. trunc_normal_ fills in memory order ------------------------------------------------------

LAYOUTS = {
    "contiguous": lambda lib: lib.empty(6, 4),
    "transposed": lambda lib: lib.empty(6, 4).t(),
    "large transposed": lambda lib: lib.empty(40, 30).t(),
    "channels_last": lambda lib: lib.empty(2, 3, 4, 5).to(memory_format=lib.channels_last),
    "sliced": lambda lib: lib.empty(8, 12)[:, ::2],
    "transposed and sliced": lambda lib: lib.empty(12, 8).t()[:, ::2],
    "permuted": lambda lib: lib.empty(4, 5, 6).permute(2, 0, 1),
}
# the normal sampler (mass > 0.3), with redraws; the uniform-rejection sampler, narrow bounds
BOUNDS = [
    {},
    {"a": -0.5, "b": 0.5},
    {"a": 1.0, "b": 1.3},
    {"mean": 0.5, "std": 0.2, "a": 0.4, "b": 0.41},
]


@pytest.mark.parametrize("bounds", BOUNDS, ids=str)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_trunc_normal_on_any_layout_gives_pytorchs_numbers(layout, bounds):
    got, want = [], []
    for lib, out in zip(LIBS, (got, want), strict=True):
        lib.manual_seed(0)
        t = LAYOUTS[layout](lib)
        lib.nn.init.trunc_normal_(t, **bounds)
        out.append(t.numpy().copy())
        out.append(lib.rand(1).item())  # the generator ends where PyTorch's does
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-7)
    assert got[1] == want[1]


# -- 4. _check_input_dim: _BatchNorm's and _InstanceNorm's subclasses --------------------------


def _my_batchnorm(lib):
    class MyBN(lib.nn.modules.batchnorm._BatchNorm):
        def _check_input_dim(self, input):
            if input.dim() != 4:
                raise ValueError(f"expected 4D input (got {input.dim()}D input)")

    return MyBN


def test_a_batchnorm_subclass_checks_with_its_own_check_input_dim():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    outs = [_my_batchnorm(lib)(3)(lib.tensor(x, dtype=lib.float32)) for lib in LIBS]
    assert_same(*outs, dtype="float32")
    for lib in LIBS:
        err = _raised(lambda lib=lib: _my_batchnorm(lib)(3)(lib.ones(2, 3)))
        assert isinstance(err, ValueError) and str(err) == "expected 4D input (got 2D input)"


@pytest.mark.parametrize(
    "name, bad",
    [
        ("BatchNorm1d", (2, 3, 4, 4)),
        ("BatchNorm2d", (2, 3, 4)),
        ("BatchNorm3d", (2, 3, 4, 4)),
        ("SyncBatchNorm", (3,)),
        ("InstanceNorm1d", (3,)),
        ("InstanceNorm2d", (2, 3)),
        ("InstanceNorm3d", (2, 3, 4)),
    ],
)
def test_check_input_dim_raises_pytorchs_value_error(name, bad):
    errors = []
    for lib, cls in zip(LIBS, _both(f"nn.{name}"), strict=True):
        errors.append(_raised(lambda cls=cls, lib=lib: cls(3)._check_input_dim(lib.ones(*bad))))
        # forward checks through it too
        errors.append(_raised(lambda cls=cls, lib=lib: cls(3)(lib.ones(*bad))))
    for err in errors:
        assert isinstance(err, ValueError)
    assert str(errors[0]).startswith(str(errors[2])) and str(errors[1]).startswith(str(errors[3]))


def _my_instance_norm(lib):
    # a 2-D instance norm of (C, H, W) or (N, C, H, W) written on the private base
    class MyIN(lib.nn.modules.instancenorm._InstanceNorm):
        def _check_input_dim(self, input):
            if input.dim() not in (3, 4):
                raise ValueError("expected 3D or 4D input")

        def _get_no_batch_dim(self):
            return 3

    return MyIN


def test_instance_norm_base_as_pytorchs():
    for lib in LIBS:
        base = lib.nn.modules.instancenorm._InstanceNorm
        assert issubclass(lib.nn.InstanceNorm2d, base)
        assert issubclass(lib.nn.modules.instancenorm._NormBase, lib.nn.Module)
        with pytest.raises(NotImplementedError):
            base(3)._check_input_dim(lib.ones(2, 3, 4))
    for name in ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"):
        got, want = (cls(3)._get_no_batch_dim() for cls in _both(f"nn.{name}"))
        assert got == want

    outs = []
    for lib in LIBS:
        x = lib.tensor(np.random.default_rng(1).standard_normal((3, 4, 5)), dtype=lib.float32)
        outs.append(_my_instance_norm(lib)(3, affine=True)(x))
    assert_same(*outs, dtype="float32")


def test_check_input_dim_is_each_layers_own_method():
    for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d"):
        got, want = (cls(2)._check_input_dim for cls in _both(f"nn.{name}"))
        assert got.__qualname__ == want.__qualname__ == f"{name}._check_input_dim"
    for lib in LIBS:
        with pytest.raises(NotImplementedError):
            lib.nn.modules.batchnorm._NormBase(2)._check_input_dim(lib.ones(2, 2))


@pytest.mark.parametrize("name", ["LazyBatchNorm1d", "LazyBatchNorm3d", "LazyInstanceNorm2d"])
def test_a_lazy_norm_checks_the_input_of_the_layer_it_becomes(name):
    errors = [
        _raised(lambda cls=cls, lib=lib: cls()._check_input_dim(lib.ones(2, 2, 2, 2, 2, 2)))
        for cls, lib in zip(_both(f"nn.{name}"), LIBS, strict=True)
    ]
    assert all(isinstance(e, ValueError) for e in errors)
    assert str(errors[0]).startswith(str(errors[1]))


# -- 5 and 9. _ConvNd's signature, _conv_forward, _ConvTransposeNd, conv reprs --------------------


def _std_conv2d(lib):
    F = lib.nn.functional

    class StdConv2d(lib.nn.Conv2d):  # timm's weight standardisation
        def forward(self, x):
            w = F.batch_norm(
                self.weight.reshape(1, self.out_channels, -1),
                None,
                None,
                training=True,
                momentum=0.0,
                eps=1e-6,
            ).reshape_as(self.weight)
            return self._conv_forward(x, w, self.bias)

    return StdConv2d


def test_weight_standardised_conv_through_conv_forward_gives_pytorchs_numbers():
    x = np.random.default_rng(2).standard_normal((2, 2, 7, 7))
    outs = []
    for lib in LIBS:
        lib.manual_seed(3)
        conv = _std_conv2d(lib)(
            2, 4, 3, padding=1, padding_mode="reflect", dilation=2, dtype=lib.float64
        )
        outs.append(conv(lib.tensor(x, dtype=lib.float64)))
    assert_same(*outs)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, "same", "valid"])
def test_conv_forward_and_reversed_padding_as_pytorch(rank, mode, padding):
    x = np.random.default_rng(rank).standard_normal((1, 2) + (9,) * rank)
    outs, pads = [], []
    for lib in LIBS:
        cls = getattr(lib.nn, f"Conv{rank}d")
        lib.manual_seed(0)
        conv = cls(2, 3, 4, padding=padding, padding_mode=mode, dilation=2, dtype=lib.float64)
        outs.append(conv._conv_forward(lib.tensor(x), conv.weight, None))
        pads.append(list(conv._reversed_padding_repeated_twice))
    assert_same(*outs)
    assert pads[0] == pads[1]


def _my_conv(lib):
    _pair = lib.nn.modules.utils._pair

    class MyConv(lib.nn.modules.conv._ConvNd):
        def __init__(self, i, o, k):
            super().__init__(
                i, o, _pair(k), _pair(1), _pair(0), _pair(1), False, _pair(0), 1, True, "zeros"
            )

    return MyConv


def test_convnd_takes_pytorchs_positional_arguments():
    got, want = (_my_conv(lib)(2, 3, 3) for lib in LIBS)
    assert repr(got) == repr(want) == "MyConv(2, 3, kernel_size=(3, 3), stride=(1, 1))"
    assert tuple(got.weight.shape) == tuple(want.weight.shape)
    for name in ("_ConvNd", "_ConvTransposeNd"):
        ours, theirs = _both(f"nn.modules.conv.{name}")
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(theirs).parameters
        )


CONVS = [
    ("Conv1d", (2, 4, 3)),
    ("Conv2d", (2, 4, 3)),
    ("Conv3d", (2, 4, 3)),
    ("ConvTranspose1d", (2, 4, 3)),
    ("ConvTranspose2d", (2, 4, 3)),
    ("ConvTranspose3d", (2, 4, 3)),
    ("LazyConv2d", (4, 3)),
    ("LazyConvTranspose2d", (4, 3)),
]


@pytest.mark.parametrize("name, args", CONVS)
def test_conv_modules_have_transposed_and_output_padding(name, args):
    got, want = (cls(*args) for cls in _both(f"nn.{name}"))
    assert got.transposed is want.transposed
    assert got.output_padding == want.output_padding
    assert got.__constants__ == want.__constants__


@pytest.mark.parametrize("kind", ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("extra", [0, 1, 2])
def test_conv_transpose_output_size_as_pytorch(kind, batched, extra):
    rank = int(kind[-2])
    shape = ((1,) if batched else ()) + (2,) + (4,) * rank
    x = np.random.default_rng(4).standard_normal(shape)
    outs = []
    for lib in LIBS:
        lib.manual_seed(0)
        conv = getattr(lib.nn, kind)(2, 3, 3, stride=3, padding=1, dtype=lib.float64)
        spatial = [10 + extra] * rank
        full = list(shape[:-rank]) + spatial  # (the whole shape is taken too)
        full[-rank - 1] = 3
        outs.append(conv(lib.tensor(x), output_size=full if extra == 1 else spatial))
        padding = conv._output_padding(
            lib.tensor(x), spatial, conv.stride, conv.padding, conv.kernel_size, rank, None
        )
        assert list(padding) == [extra] * rank
    assert_same(*outs)


def test_conv_transpose_output_size_past_the_stride_raises_in_both():
    # PyTorch's module allows sizes up to stride - 1 past the smallest, whatever the dilation
    for lib in LIBS:
        conv = lib.nn.ConvTranspose2d(2, 2, 3, dilation=2)
        with pytest.raises(ValueError):
            conv(lib.ones(1, 2, 4, 4), output_size=(9, 9))
        assert tuple(conv(lib.ones(1, 2, 4, 4), output_size=(8, 8)).shape) == (1, 2, 8, 8)
        with pytest.raises(ValueError):
            conv(lib.ones(1, 2, 4, 4), output_size=(1, 8, 8))  # neither 2 nor 4 sizes


OPTIONS = [
    {},
    {"stride": 2, "output_padding": 1, "dilation": 2},
    {"padding": 1, "dilation": 2, "groups": 2, "bias": False},
    {"stride": (2, 3), "output_padding": (1, 0), "groups": 2},
]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_conv_transpose_repr_field_order_as_pytorch(options):
    got, want = (cls(2, 4, 3, **options) for cls in _both("nn.ConvTranspose2d"))
    assert repr(got) == repr(want)


@pytest.mark.parametrize(
    "options",
    [{"padding": "same", "dilation": 2, "padding_mode": "reflect"}, {"padding": 2, "groups": 2}],
    ids=str,
)
def test_conv_repr_as_pytorch(options):
    got, want = (cls(2, 4, 3, **options) for cls in _both("nn.Conv2d"))
    assert repr(got) == repr(want)


# -- 6. lazy modules: LazyModuleMixin, state_dict and load_state_dict ------------------------------

LAZY = [
    ("LazyLinear", (3,), "Linear", (4, 3), (2, 4)),
    ("LazyConv2d", (4, 3), "Conv2d", (2, 4, 3), (1, 2, 5, 5)),
    ("LazyConvTranspose1d", (4, 3), "ConvTranspose1d", (2, 4, 3), (1, 2, 5)),
    ("LazyBatchNorm2d", (), "BatchNorm2d", (3,), (2, 3, 2, 2)),
]


@pytest.mark.parametrize("lazy, args, real, real_args, shape", LAZY)
def test_loading_a_checkpoint_into_a_lazy_module_as_pytorch(lazy, args, real, real_args, shape):
    torch.manual_seed(0)
    source = getattr(torch.nn, real)(*real_args)
    for p in source.parameters():  # (values a default init would not give)
        torch.nn.init.uniform_(p, -1, 1)
    got, want = (getattr(lib.nn, lazy)(*args) for lib in LIBS)
    want.load_state_dict(source.state_dict())
    _load_from_torch(got, source)
    # materialised from the checkpoint, still the lazy class with its attributes until called
    assert type(got).__name__ == type(want).__name__ == lazy
    assert repr(got) == repr(want)
    assert not got.has_uninitialized_params() and not want.has_uninitialized_params()
    x = np.random.default_rng(5).standard_normal(shape)
    outs = [m(lib.tensor(x, dtype=lib.float32)) for m, lib in zip((got, want), LIBS, strict=True)]
    assert_same(*outs, dtype="float32")
    assert type(got).__name__ == type(want).__name__ == real
    assert repr(got) == repr(want)


def test_a_lazy_instance_norm_loaded_from_a_checkpoint_refuses_input_as_pytorchs():
    # (its num_features stays 0 in PyTorch, which its affine forward then checks)
    source = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    got, want = (lib.nn.LazyInstanceNorm1d() for lib in LIBS)
    want.load_state_dict(source.state_dict())
    _load_from_torch(got, source)
    assert repr(got) == repr(want) and tuple(got.weight.shape) == (3,)
    errors = [
        _raised(lambda m=m, lib=lib: m(lib.ones(2, 3, 4)))
        for m, lib in zip((got, want), LIBS, strict=True)
    ]
    assert all(isinstance(e, ValueError) for e in errors)
    assert "match num_features (0), but got: 3" in str(errors[0])


def test_loading_into_a_lazy_module_inside_a_container_and_partially():
    ref = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.ReLU())
    got = tinyconv.nn.Sequential(tinyconv.nn.LazyLinear(3), tinyconv.nn.ReLU())
    _load_from_torch(got, ref)
    assert tuple(got[0].weight.shape) == (3, 5)
    for lib in LIBS:
        part = lib.nn.LazyLinear(3)
        keys = part.load_state_dict({"weight": lib.ones(3, 4)}, strict=False)
        assert keys.missing_keys == ["bias"] and keys.unexpected_keys == []
        assert type(part.weight).__name__ == "Parameter"
        assert type(part.bias).__name__ == "UninitializedParameter"
        with pytest.raises(RuntimeError, match="Missing key"):
            lib.nn.LazyLinear(3).load_state_dict({"weight": lib.ones(3, 4)})
        # an uninitialised checkpoint leaves the module uninitialised
        empty = lib.nn.LazyLinear(3)
        empty.load_state_dict(lib.nn.LazyLinear(3).state_dict())
        assert empty.has_uninitialized_params()


@pytest.mark.parametrize("lazy", ["LazyLinear", "LazyConv2d", "LazyBatchNorm2d"])
def test_an_uninitialised_lazy_modules_state_dict_as_pytorch(lazy):
    args = {"LazyLinear": (3,), "LazyConv2d": (4, 3), "LazyBatchNorm2d": ()}[lazy]
    got, want = (getattr(lib.nn, lazy)(*args) for lib in LIBS)
    for keep_vars in (False, True):
        kinds = [
            {k: type(v).__name__ for k, v in m.state_dict(keep_vars=keep_vars).items()}
            for m in (got, want)
        ]
        assert kinds[0] == kinds[1]
    with pytest.raises(ValueError):
        sum(p.numel() for p in got.parameters())


@pytest.mark.parametrize("lazy", ["LazyLinear", "LazyConv2d", "LazyBatchNorm1d"])
def test_parameters_to_vector_of_an_uninitialised_lazy_module_raises_value_error(lazy):
    args = (3, 3) if lazy == "LazyConv2d" else (3,)
    for lib in LIBS:
        m = getattr(lib.nn, lazy)(*args)
        with pytest.raises(ValueError, match="uninitialized parameter"):
            lib.nn.utils.parameters_to_vector(m.parameters())


def test_uninitialised_tensors_answer_what_pytorchs_do():
    for lib in LIBS:
        m = lib.nn.LazyLinear(3)
        p = m.weight
        assert tuple(p.size()) == (0,) and p.dtype == lib.float32 and p.requires_grad
        assert lib.nn.parameter.is_lazy(p) and not lib.nn.parameter.is_lazy(lib.ones(1))
        with pytest.raises(RuntimeError):
            _ = p.shape
        for method, args in (("detach", ()), ("view", (-1,)), ("sum", ()), ("zero_", ())):
            with pytest.raises(ValueError):
                getattr(p, method)(*args)
        clone = copy.deepcopy(m)
        assert clone.has_uninitialized_params() and repr(clone.weight) == repr(p)
        buf = lib.nn.LazyBatchNorm2d().running_mean
        assert type(buf).__name__ == "UninitializedBuffer" and repr(buf) == "<UninitializedBuffer>"


@pytest.mark.parametrize(
    "name",
    [
        "LazyLinear",
        "LazyConv1d",
        "LazyConv2d",
        "LazyConv3d",
        "LazyConvTranspose2d",
        "LazyBatchNorm2d",
        "LazyInstanceNorm2d",
    ],
)
def test_lazy_modules_are_lazy_module_mixins(name):
    for lib, cls in zip(LIBS, _both(f"nn.{name}"), strict=True):
        assert issubclass(cls, lib.nn.modules.lazy.LazyModuleMixin)
        assert cls.cls_to_become.__name__ == name[4:]


def _lazy_scale(lib):
    class LazyScale(lib.nn.modules.lazy.LazyModuleMixin, lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = lib.nn.UninitializedParameter()

        def initialize_parameters(self, x):
            if self.has_uninitialized_params():
                with lib.no_grad():
                    self.scale.materialize((x.shape[-1],))
                    self.scale.fill_(2.0)

        def forward(self, x):
            return x * self.scale

    return LazyScale


def test_a_user_lazy_module_on_the_mixin():
    outs = []
    for lib in LIBS:
        m = _lazy_scale(lib)()
        outs.append(m(lib.ones(2, 3)))
        outs.append(m(lib.ones(2, 3)))  # (initialised once)
        assert type(m).__name__ == "LazyScale" and not m.has_uninitialized_params()
    assert_same(outs[0], outs[2], dtype="float32")
    assert outs[1].tolist() == [[2.0] * 3] * 2


# -- 7. isinstance relations and importable private bases -------------------------------------

SUBMODULES = [
    "activation",
    "batchnorm",
    "conv",
    "dropout",
    "instancenorm",
    "lazy",
    "linear",
    "loss",
    "normalization",
    "padding",
    "pooling",
    "rnn",
    "sparse",
]
# PyTorch 2.13 classes tinyconv does not have (yet), and the deprecated _ConvTransposeMixin
NOT_HERE = {
    "_ConvTransposeMixin",
    "LinearCrossEntropyLoss",
    "NLLLoss2d",
    "CrossMapLRN2d",
    "FractionalMaxPool3d",
}


def _public_classes() -> list[str]:
    return [
        n
        for n in dir(torch.nn)
        if inspect.isclass(getattr(torch.nn, n)) and inspect.isclass(getattr(tinyconv.nn, n, None))
    ]


def test_every_pair_of_nn_classes_is_related_as_in_pytorch():
    names = _public_classes()
    assert len(names) > 150
    wrong = [
        (a, b)
        for a in names
        for b in names
        if issubclass(getattr(tinyconv.nn, a), getattr(tinyconv.nn, b))
        != issubclass(getattr(torch.nn, a), getattr(torch.nn, b))
    ]
    assert wrong == []


@pytest.mark.parametrize("sub", SUBMODULES)
def test_the_private_bases_are_real_bases_under_pytorchs_module_paths(sub):
    theirs = importlib.import_module(f"torch.nn.modules.{sub}")
    ours = importlib.import_module(f"tinyconv.nn.modules.{sub}")
    names = _public_classes()
    checked = 0
    for n, T in vars(theirs).items():
        if not inspect.isclass(T) or T.__module__ != theirs.__name__ or n in NOT_HERE:
            continue
        if not (issubclass(T, torch.nn.Module) or n == "LazyModuleMixin"):
            continue
        C = getattr(ours, n)
        for p in names:
            assert issubclass(getattr(tinyconv.nn, p), C) == issubclass(getattr(torch.nn, p), T), (
                n,
                p,
            )
        checked += 1
    assert checked


@pytest.mark.parametrize(
    "child, base",
    [
        ("Dropout", "modules.dropout._DropoutNd"),
        ("AlphaDropout", "modules.dropout._DropoutNd"),
        ("CrossEntropyLoss", "modules.loss._WeightedLoss"),
        ("NLLLoss", "modules.loss._WeightedLoss"),
        ("BCELoss", "modules.loss._WeightedLoss"),
        ("MultiMarginLoss", "modules.loss._WeightedLoss"),
        ("MultiLabelSoftMarginLoss", "modules.loss._WeightedLoss"),
        ("MSELoss", "modules.loss._Loss"),
        ("ReLU6", "Hardtanh"),
        ("ZeroPad1d", "ConstantPad1d"),
        ("ZeroPad2d", "ConstantPad2d"),
        ("ZeroPad3d", "ConstantPad3d"),
        ("ZeroPad2d", "modules.padding._ConstantPadNd"),
        ("ReflectionPad2d", "modules.padding._ReflectionPadNd"),
        ("ReplicationPad3d", "modules.padding._ReplicationPadNd"),
        ("CircularPad1d", "modules.padding._CircularPadNd"),
        ("MaxPool1d", "modules.pooling._MaxPoolNd"),
        ("AvgPool3d", "modules.pooling._AvgPoolNd"),
        ("AdaptiveAvgPool1d", "modules.pooling._AdaptiveAvgPoolNd"),
        ("AdaptiveMaxPool3d", "modules.pooling._AdaptiveMaxPoolNd"),
        ("LPPool2d", "modules.pooling._LPPoolNd"),
        ("MaxUnpool3d", "modules.pooling._MaxUnpoolNd"),
        ("ConvTranspose1d", "modules.conv._ConvTransposeNd"),
        ("LazyBatchNorm1d", "modules.batchnorm._LazyNormBase"),
    ],
)
def test_pytorchs_subclass_relations_hold(child, base):
    (c_child, t_child), (c_base, t_base) = _both(f"nn.{child}"), _both(f"nn.{base}")
    assert issubclass(c_child, c_base) and issubclass(t_child, t_base)


def test_relu6_is_a_hardtanh_with_pytorchs_numbers_and_gradient():
    x = [-1.0, 0.0, 3.0, 6.0, 7.0]
    outs, grads = [], []
    for lib in LIBS:
        m = lib.nn.ReLU6(inplace=True)
        assert (m.min_val, m.max_val, m.inplace) == (0.0, 6.0, True)
        assert repr(m) == "ReLU6(inplace=True)"
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.ReLU6()(t)
        y.sum().backward()
        outs.append(y)
        grads.append(t.grad.tolist())
    assert_same(*outs, dtype="float32")
    assert grads[0] == grads[1]


@pytest.mark.parametrize("name", ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad2d"])
def test_zero_and_constant_pads_as_pytorch(name):
    args = (1,) if name.startswith("Zero") else (1, 0.5)
    got, want = (cls(*args) for cls in _both(f"nn.{name}"))
    assert repr(got) == repr(want) and got.padding == want.padding and got.value == want.value


# -- 8. modules(remove_duplicate=...) and _named_members ---------------------------------------


def _shared(lib):
    relu = lib.nn.ReLU()
    lin = lib.nn.Linear(2, 2)
    return lib.nn.Sequential(relu, lin, lib.nn.Sequential(relu, lin))


@pytest.mark.parametrize("remove_duplicate", [True, False])
def test_modules_remove_duplicate_as_pytorch(remove_duplicate):
    got, want = (
        [type(m).__name__ for m in _shared(lib).modules(remove_duplicate=remove_duplicate)]
        for lib in LIBS
    )
    assert got == want
    assert len(got) == (4 if remove_duplicate else 6)


@pytest.mark.parametrize("remove_duplicate", [True, False])
@pytest.mark.parametrize("recurse", [True, False])
def test_named_members_takes_pytorchs_arguments(recurse, remove_duplicate):
    got, want = (
        [
            name
            for name, _ in _shared(lib)._named_members(
                lambda m: m._parameters.items(),
                prefix="net",
                recurse=recurse,
                remove_duplicate=remove_duplicate,
            )
        ]
        for lib in LIBS
    )
    assert got == want


def test_module_init_refuses_arguments_with_pytorchs_messages():
    class Net(tinyconv.nn.Module):
        pass

    class TorchNet(torch.nn.Module):
        pass

    for args, kwargs in (((1,), {}), ((), {"foo": 1}), ((1, 2), {"foo": 1})):
        got = _raised(lambda a=args, k=kwargs: Net(*a, **k))
        want = _raised(lambda a=args, k=kwargs: TorchNet(*a, **k))
        assert type(got) is type(want) is TypeError
        assert str(got).replace("Net", "TorchNet", 1) == str(want)


def test_call_super_init_passes_arguments_down_the_mro():
    for lib in LIBS:

        class Named:
            def __init__(self, name="?"):
                self.name = name

        class Mod(lib.nn.Module, Named):
            call_super_init = True

        assert Mod(name="x").name == "x" and Mod().training
        assert lib.nn.Module.call_super_init is False and lib.nn.Module.dump_patches is False
        with pytest.raises(TypeError):
            lib.nn.Module(1)


# -- 10. names PyTorch code reaches for -------------------------------------------------------


def test_every_nn_class_has_pytorchs_constants():
    checked = 0
    for n in _public_classes():
        T = getattr(torch.nn, n)
        if issubclass(T, torch.nn.Module):
            assert getattr(getattr(tinyconv.nn, n), "__constants__", None) == getattr(
                T, "__constants__", None
            ), n
            checked += 1
    assert checked > 150
    assert not hasattr(tinyconv.nn.Module, "__constants__")  # (PyTorch's has none)


def test_embedding_fill_padding_idx_with_zero():
    for lib in LIBS:
        for cls in (lib.nn.Embedding, lib.nn.EmbeddingBag):
            m = cls(4, 2, padding_idx=1)
            with lib.no_grad():
                m.weight.fill_(3.0)
            m._fill_padding_idx_with_zero()
            assert m.weight.tolist() == [[3.0, 3.0], [0.0, 0.0], [3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.LSTM(3, 4, num_layers=2, bidirectional=True),
        lambda nn: nn.LSTM(3, 4, proj_size=2),
        lambda nn: nn.GRU(3, 4, bias=False),
        lambda nn: nn.RNN(3, 4, num_layers=3),
    ],
)
def test_rnn_all_weights_names_as_pytorch(make):
    got, want = (make(lib.nn) for lib in LIBS)
    assert got._all_weights == want._all_weights
    assert [[tuple(p.shape) for p in ps] for ps in got.all_weights] == [
        [tuple(p.shape) for p in ps] for ps in want.all_weights
    ]


def test_init_and_utils_private_helpers_as_pytorch():
    for mode in ("fan_in", "fan_out", "FAN_OUT"):
        got, want = (
            f(lib.empty(3, 4, 5), mode)
            for f, lib in zip(_both("nn.init._calculate_correct_fan"), LIBS, strict=True)
        )
        assert got == want
    errors = [
        _raised(lambda f=f, lib=lib: f(lib.empty(3, 4), "fan"))
        for f, lib in zip(_both("nn.init._calculate_correct_fan"), LIBS, strict=True)
    ]
    assert all(isinstance(e, ValueError) for e in errors) and str(errors[0]) == str(errors[1])
    for name in ("_reverse_repeat_tuple",):
        got, want = (f((1, 2, 3), 2) for f in _both(f"nn.modules.utils.{name}"))
        assert got == want == (3, 3, 2, 2, 1, 1)
    for name in ("_single", "_pair", "_triple", "_quadruple"):
        got, want = _both(f"nn.modules.utils.{name}")
        assert got(2) == want(2) and got([1, 2]) == want([1, 2])


@pytest.mark.parametrize("rank", [2, 3])
def test_convert_conv_weight_memory_format_as_pytorch(rank):
    strides = []
    for lib in LIBS:
        nn = lib.nn
        conv, convt = getattr(nn, f"Conv{rank}d"), getattr(nn, f"ConvTranspose{rank}d")
        net = nn.Sequential(
            conv(2, 3, 3), nn.ReLU(), nn.Sequential(convt(3, 2, 3)), nn.Linear(2, 2)
        )
        fmt = lib.channels_last if rank == 2 else lib.channels_last_3d
        convert = getattr(nn.utils, f"convert_conv{rank}d_weight_memory_format")
        before = [p.detach().numpy().copy() for p in net.parameters()]
        assert convert(net, fmt) is net
        strides.append([p.stride() for p in net.parameters()])
        for b, p in zip(before, net.parameters(), strict=True):
            np.testing.assert_array_equal(b, p.detach().numpy())
    assert strides[0] == strides[1]


# -- 11. return types and exception classes ----------------------------------------------------

GAINS = [
    ("linear", None),
    ("conv1d", None),
    ("conv2d", None),
    ("conv3d", None),
    ("conv_transpose1d", None),
    ("conv_transpose2d", None),
    ("conv_transpose3d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("relu", 3),
    ("selu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0),
    ("leaky_relu", 1),
    ("leaky_relu", 0.2),
    ("leaky_relu", math.sqrt(5)),
]


@pytest.mark.parametrize("nonlinearity, param", GAINS)
def test_calculate_gain_returns_pytorchs_value_and_type(nonlinearity, param):
    got, want = (f(nonlinearity, param) for f in _both("nn.init.calculate_gain"))
    assert type(got) is type(want) and got == want


@pytest.mark.parametrize(
    "nonlinearity, param", [("leaky_relu", True), ("leaky_relu", "x"), ("foo", None)]
)
def test_calculate_gain_raises_pytorchs_value_error(nonlinearity, param):
    errors = [_raised(lambda f=f: f(nonlinearity, param)) for f in _both("nn.init.calculate_gain")]
    assert all(type(e) is ValueError for e in errors)
    assert str(errors[0]) == str(errors[1])


@pytest.mark.parametrize("cls", ["Embedding", "EmbeddingBag"])
@pytest.mark.parametrize("padding_idx", [5, -5])
def test_a_padding_idx_outside_the_table_asserts_as_pytorch(cls, padding_idx):
    got, want = (_raised(lambda c=c: c(3, 2, padding_idx=padding_idx)) for c in _both(f"nn.{cls}"))
    assert isinstance(got, AssertionError) and isinstance(want, AssertionError)
    assert isinstance(got, ValueError)  # (what tinyconv raised before)
    assert type(got).__name__ == "AssertionError"


def test_an_lstm_hx_of_the_wrong_length_raises_as_pytorch():
    for lib in LIBS:
        lstm, x, h = lib.nn.LSTM(3, 4), lib.zeros(2, 1, 3), lib.zeros(1, 1, 4)
        assert isinstance(_raised(lambda m=lstm, x=x, h=h: m(x, (h,))), IndexError)
        assert isinstance(_raised(lambda m=lstm, x=x, h=h: m(x, (h, h, h))), RuntimeError)
        out, (hn, cn) = lstm(x, [h, h])  # (a list is a tuple here)
        assert tuple(out.shape) == (2, 1, 4)
    # (still the TypeError tinyconv raised before)
    lstm, x, h = tinyconv.nn.LSTM(3, 4), tinyconv.zeros(2, 1, 3), tinyconv.zeros(1, 1, 4)
    assert isinstance(_raised(lambda: lstm(x, (h,))), TypeError)
    assert isinstance(_raised(lambda: lstm(x, (h, h, h))), TypeError)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1, 1, 1), (1, 1)])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_of_an_unsupported_rank_is_not_implemented_as_pytorch(shape, mode):
    errors = [
        _raised(lambda lib=lib: lib.nn.Upsample(scale_factor=2, mode=mode)(lib.zeros(*shape)))
        for lib in LIBS
    ]
    assert all(isinstance(e, NotImplementedError) for e in errors)
    assert str(errors[0]).startswith(str(errors[1]))


def test_orthogonal_of_half_is_not_implemented_as_pytorch():
    errors, draws = [], []
    for lib in LIBS:
        lib.manual_seed(0)
        errors.append(
            _raised(lambda lib=lib: lib.nn.init.orthogonal_(lib.empty(3, 3, dtype=lib.float16)))
        )
        draws.append(lib.rand(1).item())  # the normals were drawn first, as in PyTorch
    assert all(isinstance(e, NotImplementedError) for e in errors)
    assert str(errors[0]) == str(errors[1]) and draws[0] == draws[1]


def test_dtype_conversion_replaces_buffers_as_pytorch():
    # parameters keep their identity, buffers become new tensors (an old reference keeps
    # the old dtype) in both libraries
    import tinyconv

    for lib in (torch, tinyconv):
        bn = lib.nn.BatchNorm2d(2)
        weight, mean = bn.weight, bn.running_mean
        bn.double()
        assert bn.weight is weight and bn.weight.dtype == lib.float64
        assert bn.running_mean is not mean and mean.dtype == lib.float32
        assert bn.running_mean.dtype == lib.float64 and bn.num_batches_tracked.dtype == lib.int64


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"batch_first": True},
        {"batch_first": True, "norm_first": True},
        {"batch_first": True, "activation": "gelu"},
        {"batch_first": True, "bias": False},
        {"batch_first": True, "activation": abs},
    ],
)
def test_transformer_encoder_nested_tensor_warning_as_pytorch(kwargs):
    import warnings

    import tinyconv

    seen = []
    for lib in (torch, tinyconv):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            enc = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16, **kwargs), 2)
        texts = [str(w.message) for w in caught if "nested" in str(w.message)]
        seen.append((texts, enc.use_nested_tensor, enc.layers[0].activation_relu_or_gelu))
    assert seen[1] == seen[0]


# -- parity hunt: always_call forward hooks run when a pre-hook or a later hook raises ---------


@pytest.mark.parametrize("where", ["pre_hook", "pre_hook_kwargs", "forward", "forward_hook"])
def test_always_call_forward_hooks_run_after_any_error_as_pytorch(where):
    import tinyconv

    def program(lib):
        seen = []
        lin = lib.nn.Linear(2, 2)

        def boom(*args):
            raise KeyError("boom")

        if where == "pre_hook":
            lin.register_forward_pre_hook(boom)
        elif where == "pre_hook_kwargs":
            lin.register_forward_pre_hook(boom, with_kwargs=True)
        elif where == "forward":
            lin.forward = boom

        def always(tag):
            # the result so far: None if forward raised, else forward's output
            return lambda m, i, o: seen.append((tag, None if o is None else tuple(o.shape)))

        lin.register_forward_hook(always("first"), always_call=True)
        if where == "forward_hook":
            lin.register_forward_hook(boom)
        lin.register_forward_hook(always("second"), always_call=True)
        lin.register_forward_hook(lambda m, i, o: seen.append("not always"))
        with pytest.raises(KeyError):
            lin(lib.ones(2))
        return seen

    assert program(tinyconv) == program(torch)
