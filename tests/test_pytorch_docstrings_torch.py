"""PyTorch 2.13's own `>>>` docstring examples, run under PyTorch and under tinyconv.

The examples are read from the installed torch at test time (doctest's parser), never copied
here. Each docstring in DOCSTRINGS runs twice in a fresh namespace: with torch, and with its
imports mapped to tinyconv (`import torch` -> `import tinyconv as torch`, `torch.nn.functional`
-> `tinyconv.nn.functional`, ...), both seeded with manual_seed(0). Every example must then
print the same text (the library's name and object addresses aside; numbers may differ in
the last printed digit, as float32 rounding can) and raise or not in both. The list holds the
docstrings whose examples matched when it was made: a change that breaks one fails here."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import math
import re
import warnings

import pytest

import tinyconv

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

# module -> the names in it whose docstrings are checked (see the module docstring)
DOCSTRINGS: dict[str, list[str]] = {
    "torch": [
        "cat",
        "channel_shuffle",
        "cholesky",
        "conv1d",
        "conv2d",
        "conv_transpose1d",
        "conv_transpose2d",
        "hsplit",
        "inner",
        "kron",
        "logdet",
        "max",
        "min",
        "msort",
        "qr",
        "tril",
        "triu",
        "Tensor.element_size",
        "Tensor.expand",
        "Tensor.fill_diagonal_",
        "Tensor.index_add_",
        "Tensor.index_copy_",
        "Tensor.index_fill_",
        "Tensor.index_reduce_",
        "Tensor.item",
        "Tensor.masked_scatter",
        "Tensor.masked_scatter_",
        "Tensor.new_full",
        "Tensor.new_ones",
        "Tensor.new_tensor",
        "Tensor.new_zeros",
        "Tensor.permute",
        "Tensor.put_",
        "Tensor.register_hook",
        "Tensor.register_post_accumulate_grad_hook",
        "Tensor.repeat",
        "Tensor.resize_",
        "Tensor.scatter_add_",
        "Tensor.scatter_reduce_",
        "Tensor.shape",
        "Tensor.size",
        "Tensor.stride",
        "Tensor.tolist",
        "Tensor.unfold",
        "abs",
        "acos",
        "acosh",
        "add",
        "addbmm",
        "addcdiv",
        "addcmul",
        "addmm",
        "addmv",
        "addr",
        "all",
        "allclose",
        "amax",
        "amin",
        "aminmax",
        "any",
        "arange",
        "argmax",
        "argmin",
        "argsort",
        "argwhere",
        "as_strided",
        "as_strided_scatter",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "atleast_1d",
        "atleast_2d",
        "atleast_3d",
        "avg_pool1d",
        "baddbmm",
        "bernoulli",
        "bincount",
        "bitwise_and",
        "bitwise_left_shift",
        "bitwise_not",
        "bitwise_or",
        "bitwise_right_shift",
        "bitwise_xor",
        "block_diag",
        "bmm",
        "broadcast_tensors",
        "broadcast_to",
        "bucketize",
        "can_cast",
        "cdist",
        "ceil",
        "chain_matmul",
        "chunk",
        "clamp",
        "column_stack",
        "combinations",
        "copysign",
        "corrcoef",
        "cos",
        "cosh",
        "cosine_similarity",
        "count_nonzero",
        "cov",
        "cross",
        "cummax",
        "cummin",
        "cumprod",
        "cumsum",
        "cumulative_trapezoid",
        "deg2rad",
        "diag",
        "diag_embed",
        "diagflat",
        "diagonal",
        "diagonal_scatter",
        "diff",
        "dist",
        "div",
        "dot",
        "dsplit",
        "dstack",
        "einsum",
        "enable_grad",
        "eq",
        "equal",
        "exp",
        "eye",
        "flatten",
        "flip",
        "fliplr",
        "flipud",
        "float_power",
        "floor",
        "floor_divide",
        "fmod",
        "frac",
        "frexp",
        "frombuffer",
        "full",
        "full_like",
        "gather",
        "gcd",
        "ge",
        "get_default_dtype",
        "gradient",
        "gt",
        "heaviside",
        "histc",
        "histogram",
        "hstack",
        "hypot",
        "index_select",
        "is_nonzero",
        "is_tensor",
        "isclose",
        "isin",
        "kthvalue",
        "lcm",
        "ldexp",
        "le",
        "lerp",
        "lgamma",
        "linspace",
        "log",
        "log10",
        "log1p",
        "log2",
        "logaddexp",
        "logcumsumexp",
        "logical_and",
        "logical_not",
        "logical_or",
        "logical_xor",
        "logspace",
        "logsumexp",
        "lt",
        "lu",
        "lu_solve",
        "masked_select",
        "matmul",
        "maximum",
        "mean",
        "median",
        "minimum",
        "mm",
        "mode",
        "moveaxis",
        "movedim",
        "mul",
        "multinomial",
        "mv",
        "nanmean",
        "narrow",
        "ne",
        "neg",
        "nextafter",
        "no_grad",
        "nonzero",
        "nonzero_static",
        "norm",
        "normal",
        "numel",
        "ones",
        "ones_like",
        "outer",
        "permute",
        "pixel_shuffle",
        "pixel_unshuffle",
        "poisson",
        "positive",
        "pow",
        "prod",
        "promote_types",
        "quantile",
        "rad2deg",
        "rand",
        "randint",
        "randn",
        "randperm",
        "range",
        "ravel",
        "reciprocal",
        "remainder",
        "renorm",
        "repeat_interleave",
        "reshape",
        "result_type",
        "roll",
        "rot90",
        "round",
        "rsqrt",
        "searchsorted",
        "select_scatter",
        "set_default_tensor_type",
        "set_grad_enabled",
        "set_printoptions",
        "sign",
        "signbit",
        "sin",
        "sinh",
        "slice_scatter",
        "sort",
        "split",
        "sqrt",
        "square",
        "squeeze",
        "stack",
        "std",
        "std_mean",
        "sub",
        "sum",
        "svd",
        "swapaxes",
        "swapdims",
        "t",
        "take",
        "take_along_dim",
        "tan",
        "tanh",
        "tensor_split",
        "tile",
        "topk",
        "trace",
        "transpose",
        "trapezoid",
        "triangular_solve",
        "tril_indices",
        "triu_indices",
        "trunc",
        "unbind",
        "unflatten",
        "unique",
        "unique_consecutive",
        "unravel_index",
        "unsqueeze",
        "vander",
        "var",
        "var_mean",
        "vsplit",
        "vstack",
        "where",
        "zeros",
        "zeros_like",
    ],
    "torch.testing": ["assert_close"],
    "torch.nn": [
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
        "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d",
        "AvgPool2d",
        "BCEWithLogitsLoss",
        "BatchNorm1d",
        "ConstantPad1d",
        "ConstantPad3d",
        "Conv1d",
        "ConvTranspose1d",
        "Dropout2d",
        "Dropout3d",
        "EmbeddingBag",
        "GaussianNLLLoss",
        "InstanceNorm1d",
        "KLDivLoss",
        "LPPool1d",
        "LPPool2d",
        "LSTMCell",
        "LayerNorm",
        "MaxPool2d",
        "MaxUnpool1d",
        "MultiLabelSoftMarginLoss",
        "ReflectionPad2d",
        "ReplicationPad2d",
        "Unfold",
        "ZeroPad3d",
        "MaxUnpool3d",
        "AdaptiveAvgPool1d",
        "AdaptiveMaxPool1d",
        "AlphaDropout",
        "AvgPool1d",
        "BCELoss",
        "Bilinear",
        "CELU",
        "ChannelShuffle",
        "CircularPad1d",
        "CircularPad2d",
        "ConstantPad2d",
        "CosineEmbeddingLoss",
        "CosineSimilarity",
        "Dropout",
        "Dropout1d",
        "ELU",
        "Embedding",
        "Embedding.from_pretrained",
        "EmbeddingBag.from_pretrained",
        "Flatten",
        "Fold",
        "GELU",
        "GLU",
        "GroupNorm",
        "Hardshrink",
        "Hardsigmoid",
        "Hardswish",
        "Hardtanh",
        "HingeEmbeddingLoss",
        "HuberLoss",
        "Identity",
        "L1Loss",
        "LazyLinear.cls_to_become",
        "LeakyReLU",
        "LogSigmoid",
        "LogSoftmax",
        "MSELoss",
        "MarginRankingLoss",
        "MaxPool1d",
        "Mish",
        "Module.apply",
        "Module.modules",
        "Module.named_modules",
        "MultiLabelMarginLoss",
        "MultiMarginLoss",
        "PReLU",
        "PairwiseDistance",
        "PixelShuffle",
        "PixelUnshuffle",
        "PoissonNLLLoss",
        "RMSNorm",
        "RReLU",
        "ReLU",
        "ReLU6",
        "ReflectionPad1d",
        "ReflectionPad3d",
        "ReplicationPad1d",
        "SELU",
        "Sequential.append",
        "Sequential.extend",
        "Sequential.insert",
        "SiLU",
        "Sigmoid",
        "SmoothL1Loss",
        "SoftMarginLoss",
        "Softmax",
        "Softmax2d",
        "Softmin",
        "Softplus",
        "Softshrink",
        "Softsign",
        "Tanh",
        "Tanhshrink",
        "Threshold",
        "TripletMarginLoss",
        "Upsample",
        "UpsamplingBilinear2d",
        "UpsamplingNearest2d",
        "ZeroPad1d",
        "ZeroPad2d",
    ],
    "torch.nn.functional": [
        "conv1d",
        "conv2d",
        "conv_transpose1d",
        "cross_entropy",
        "ctc_loss",
        "gumbel_softmax",
        "nll_loss",
        "DType",
        "DType.as_integer_ratio",
        "DType.bit_count",
        "DType.bit_length",
        "avg_pool1d",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "channel_shuffle",
        "conv_transpose2d",
        "cosine_similarity",
        "embedding",
        "embedding_bag",
        "handle_torch_function",
        "one_hot",
        "pad",
        "pixel_shuffle",
        "pixel_unshuffle",
    ],
    "torch.nn.init": [
        "calculate_gain",
        "constant_",
        "dirac_",
        "eye_",
        "kaiming_normal_",
        "kaiming_uniform_",
        "normal_",
        "ones_",
        "orthogonal_",
        "trunc_normal_",
        "uniform_",
        "xavier_normal_",
        "xavier_uniform_",
        "zeros_",
    ],
    "torch.nn.utils": [
        "remove_spectral_norm",
        "remove_weight_norm",
        "spectral_norm",
        "weight_norm",
    ],
    "torch.nn.utils.parametrizations": ["spectral_norm", "weight_norm"],
    "torch.optim.lr_scheduler": [
        "Counter",
        "Counter.elements",
        "Counter.most_common",
        "Counter.subtract",
        "Counter.update",
    ],
    "torch.distributions": [
        "Bernoulli",
        "Binomial",
        "Categorical",
        "Cauchy",
        "ContinuousBernoulli",
        "CumulativeDistributionTransform.sign",
        "FisherSnedecor",
        "GeneralizedPareto",
        "Gumbel",
        "HalfCauchy",
        "InverseGamma",
        "Kumaraswamy",
        "LKJCholesky",
        "LogisticNormal",
        "LowRankMultivariateNormal",
        "Multinomial",
        "OneHotCategorical",
        "Pareto",
        "RelaxedBernoulli",
        "RelaxedOneHotCategorical",
        "StudentT",
        "VonMises",
        "Weibull",
        "Wishart",
    ],
    # (not solve_triangular's nor lu_solve's: their examples print allclose(X @ A, B) at the
    # default tolerance for random triangular systems, a verdict on the edge that each
    # machine's LAPACK rounding decides, PyTorch's own included; test_linalg* checks both)
    "torch.linalg": [
        "qr",
        "tensorinv",
        "LinAlgError",
        "cross",
        "det",
        "inv_ex",
        "lstsq",
        "lu_factor",
        "matrix_exp",
        "matrix_power",
        "slogdet",
        "svd",
        "svdvals",
        "tensorsolve",
        "vecdot",
    ],
    "torch.fft": ["fftfreq", "ifftshift", "rfftfreq"],
    "torch.special": [
        "digamma",
        "entr",
        "erf",
        "erfc",
        "erfcx",
        "erfinv",
        "exp2",
        "expit",
        "expm1",
        "gammainc",
        "gammaincc",
        "gammaln",
        "i0",
        "i0e",
        "i1",
        "i1e",
        "log_ndtr",
        "log_softmax",
        "logit",
        "multigammaln",
        "ndtr",
        "ndtri",
        "polygamma",
        "sinc",
        "softmax",
        "xlog1py",
        "xlogy",
        "zeta",
    ],
    "torch.autograd.functional": ["hessian", "hvp", "jacobian", "vhp", "vjp"],
    "torch.utils.data": ["BatchSampler", "WeightedRandomSampler", "default_collate"],
}

_IMPORTS = [
    (
        re.compile(r"^(\s*)import torch\.nn\.functional as (\w+)"),
        r"\1import tinyconv.nn.functional as \2",
    ),
    (re.compile(r"^(\s*)import torch\.(\S+) as (\w+)"), r"\1import tinyconv.\2 as \3"),
    (re.compile(r"^(\s*)import torch as (\w+)"), r"\1import tinyconv as \2"),
    (re.compile(r"^(\s*)import torch\b(.*)$"), r"\1import tinyconv as torch"),
    (re.compile(r"^(\s*)from torch(\.\S*)? import"), r"\1from tinyconv\2 import"),
]
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?|nan|inf)")


def _to_tinyconv(source: str) -> str:
    lines = []
    for line in source.split("\n"):
        for pattern, repl in _IMPORTS:
            line = pattern.sub(repl, line)
        lines.append(line)
    return "\n".join(lines)


def _examples(doc: str) -> list[str]:
    """The examples' sources, continuation lines written as '>>>' joined to their block."""
    out: list[str] = []
    for ex in doctest.DocTestParser().get_examples(doc):
        if out and (ex.source[:1] in " \t" or out[-1].rstrip().endswith(":")):
            out[-1] += ex.source
        else:
            out.append(ex.source)
    return out


def _run(lib, module: str, sources: list[str]) -> list[tuple[str, str]]:
    """(outcome, printed text) per example: outcome 'ok' or the exception's type name."""
    import_name = module if lib is torch else "tinyconv" + module[len("torch") :]
    mod = importlib.import_module(import_name)
    ns = {k: v for k, v in vars(mod).items() if not k.startswith("_")}
    ns.update(torch=lib, nn=lib.nn, F=lib.nn.functional, math=math)
    lib.manual_seed(0)
    results = []
    try:
        for src in sources:
            if lib is tinyconv:
                src = _to_tinyconv(src)
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        code = compile(src, "<doc>", "single")
                    except SyntaxError:
                        code = compile(src, "<doc>", "exec")
                    exec(code, ns)
                text = _ADDRESS.sub("", buf.getvalue())
                text = text.replace("tinyconv._rng.Generator", "torch._C.Generator")
                results.append(("ok", text.replace("tinyconv.", "torch.")))
            except Exception as e:  # noqa: BLE001  (the outcome is compared)
                results.append((type(e).__name__.lstrip("_"), ""))
    finally:  # (some examples change global settings: the rest of the suite needs them back)
        lib.set_default_dtype(lib.float32)
        lib.set_grad_enabled(True)
        lib.set_printoptions(profile="default")
    return results


def _same_text(got: str, want: str) -> bool:
    """Equal, or equal but for numbers that agree to their printed rounding."""
    if got == want:
        return True
    if _NUMBER.sub("#", got) != _NUMBER.sub("#", want):
        return False
    for a, b in zip(_NUMBER.findall(got), _NUMBER.findall(want), strict=True):
        fa, fb = float(a), float(b)
        if fa == fb or (fa != fa and fb != fb):
            continue
        if abs(fa - fb) > 1e-5 + 2e-3 * max(abs(fa), abs(fb)):
            return False
    return True


def _docstring(module: str, name: str) -> str:
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj.__doc__


CASES = [(m, n) for m, names in DOCSTRINGS.items() for n in names]


@pytest.mark.parametrize("module, name", CASES, ids=[f"{m}.{n}" for m, n in CASES])
def test_docstring_examples_match_pytorch(module, name):
    sources = _examples(_docstring(module, name))
    assert sources, f"{module}.{name} has no examples in this torch version"
    want = _run(torch, module, sources)
    got = _run(tinyconv, module, sources)
    for src, (gk, gt), (wk, wt) in zip(sources, got, want, strict=True):
        assert gk == wk, f">>> {src}tinyconv: {gk}, PyTorch: {wk}"
        assert _same_text(gt, wt), f">>> {src}tinyconv printed:\n{gt}\nPyTorch printed:\n{wt}"
