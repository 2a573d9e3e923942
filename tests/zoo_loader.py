"""Load torchvision's model definitions from its wheel, with `torch` pointing at tinyconv.

The model-zoo test (tests/test_torchvision_zoo.py) runs torchvision's own model source, not
a copy of it: the `.py` files are read out of the torchvision wheel (a zip) at test time and
executed as modules of a private package. Every module of that package gets a custom
`__import__` (through its own `__builtins__`), which

- resolves `torchvision.*` and relative imports inside the private package (nothing is put
  into `sys.modules`, so the real torch and the tests that use it are not disturbed, and two
  packages, one per backend, live side by side in the same process);
- maps `torch`, `torch.nn`, `torch.nn.functional`, `torch.utils.checkpoint`, `torch.jit`, ...
  to the matching `tinyconv` modules when the backend is tinyconv, exactly what a user does
  by changing the imports; the PyTorch-side models come from the same source with the
  imports left alone;
- replaces the few torchvision-internal helpers that have nothing to do with the models'
  numbers and would drag in PIL or the network (usage logging, the transform presets that
  the weight enums name, the weight downloader) by the small shims below.
- gives `import PIL` a stand-in package with just what torchvision.transforms touches while
  it loads (the `Image` class for its type tests, Pillow's filter constants), so that
  tests/test_transforms_torchvision.py can run torchvision's transforms on tensors without
  Pillow; any PIL operation raises.

The one torch name the tinyconv backend cannot map is `torch.fx`: FX is PyTorch's graph
capture, which tinyconv (eager only) does not have. torchvision calls
`torch.fx.wrap("stochastic_depth")` when the module loads, to keep that function a leaf
in FX traces; the tinyconv-side `torch.fx` here is a shim whose `wrap` leaves its argument
alone (model code never calls anything else of FX).

The wheel is found through the environment variable TINYCONV_TORCHVISION_WHEEL (a wheel
file, or a directory holding one, which is what `pip download torchvision --no-deps -d DIR`
leaves), else in `<repo>/.wheels/` and `/work/tv/`.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import enum
import importlib
import itertools
import linecache
import os
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

TORCHVISION_VERSION = "0.28.0"  # the release CI downloads beside torch 2.13.0
WHEEL_ENV = "TINYCONV_TORCHVISION_WHEEL"
_REPO = Path(__file__).resolve().parent.parent
_LOCAL_DIRS = (_REPO / ".wheels", Path("/work/tv"))


def find_wheel() -> Path | None:
    """The torchvision wheel to read model source from, or None when there is none."""
    candidates: list[Path] = []
    env = os.environ.get(WHEEL_ENV)
    if env:
        candidates.append(Path(env))
    candidates.extend(_LOCAL_DIRS)
    for place in candidates:
        if place.is_file() and place.suffix == ".whl":
            return place
        if place.is_dir():
            wheels = sorted(place.glob(f"torchvision-{TORCHVISION_VERSION}-*.whl"))
            wheels = wheels or sorted(place.glob("torchvision-*.whl"))
            if wheels:
                return wheels[-1]
    return None


def wheel_or_skip(purpose: str) -> Path:
    """The wheel, or a module-level pytest skip that says how to get it (a skip whose reason
    names torch, so CI, with TINYCONV_REQUIRE_TORCH=1, counts it as a failure)."""
    import pytest

    wheel = find_wheel()
    if wheel is None:
        pytest.skip(
            f"torchvision wheel not found (set {WHEEL_ENV}, or `pip download "
            f"torchvision=={TORCHVISION_VERSION} --no-deps -d .wheels`): {purpose}",
            allow_module_level=True,
        )
    return wheel


# --- shims for torchvision internals that are not model code -------------------------------


def _log_api_usage_once(obj: Any) -> None:
    """torchvision's usage logger is a no-op unless a logger is subscribed; so is this."""


def _make_ntuple(x: Any, n: int) -> tuple:
    """An iterable becomes a tuple; anything else is repeated n times (torchvision's rule)."""
    if isinstance(x, collections.abc.Iterable):
        return tuple(x)
    return tuple(itertools.repeat(x, n))


class _InterpolationMode(enum.Enum):
    # The weight enums name a resize mode for their preprocessing presets; the names suffice.
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


class _Preset:
    """Stands in for the preprocessing presets (`ImageClassification`, ...) that the weight
    enums hold as `partial(...)`; the tests build models without pretrained weights, so a
    preset is only ever constructed, never applied to an image."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("zoo_loader: image preprocessing presets are not loaded")


def _load_state_dict_from_url(url: str, *args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(f"zoo_loader: the zoo tests use no downloaded weights (asked for {url})")


def _no_pil(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("zoo_loader: PIL is not available (tinyconv's tests use no PIL images)")


class _NoPILImage:
    """Stands in for `PIL.Image.Image`: never instantiated, so `isinstance(x, Image.Image)`
    (torchvision's test for a PIL image) is False for every input the tests pass."""


def _pil_shim() -> types.ModuleType:
    """A `PIL` package with what torchvision.transforms touches while it loads: the Image
    class (for type tests and annotations), Pillow's integer filter and transpose constants
    (defaults of the PIL-path functions) and the submodule names it imports."""
    pil = types.ModuleType("PIL")
    pil.__version__ = "0.0 (zoo_loader shim)"
    image = types.ModuleType("PIL.Image")
    image.Image = _NoPILImage
    constants = {"NEAREST": 0, "LANCZOS": 1, "BILINEAR": 2, "BICUBIC": 3, "BOX": 4, "HAMMING": 5}
    constants |= {"FLIP_LEFT_RIGHT": 0, "FLIP_TOP_BOTTOM": 1, "AFFINE": 0, "PERSPECTIVE": 2}
    image.__dict__.update(constants, fromarray=_no_pil, frombuffer=_no_pil, merge=_no_pil)
    pil.Image = image
    for sub in ("ImageEnhance", "ImageOps", "ImageColor", "ImageDraw", "ImageFont"):
        setattr(pil, sub, types.ModuleType(f"PIL.{sub}"))
    return pil


def _fx_wrap(fn_or_name: Any) -> Any:
    # FX's `wrap` marks a function as a leaf for FX tracing; tinyconv has no FX tracer.
    return fn_or_name


_SHIMS: dict[str, dict[str, Any]] = {
    "torchvision.utils": {
        "_log_api_usage_once": _log_api_usage_once,
        "_make_ntuple": _make_ntuple,
        "_Image_fromarray": _no_pil,
    },
    "torchvision.transforms._presets": {
        "ImageClassification": _Preset,
        "ObjectDetection": _Preset,
        "SemanticSegmentation": _Preset,
        "VideoClassification": _Preset,
        "OpticalFlow": _Preset,
        "InterpolationMode": _InterpolationMode,
    },
    "torchvision._internally_replaced_utils": {
        "load_state_dict_from_url": _load_state_dict_from_url,
    },
}
# Packages whose real __init__ imports the whole library (datasets, io, PIL, compiled ops):
# they become empty packages whose submodules load on demand.
_EMPTY_PACKAGES = ("torchvision", "torchvision.models", "torchvision.ops", "torchvision.transforms")


class _TinyconvAsTorch(types.ModuleType):
    """What `import torch` binds in the tinyconv backend: tinyconv itself, by delegation,
    plus the `fx` shim (so `torch.fx.wrap(...)` after `import torch.fx` finds it)."""

    def __init__(self, tinyconv: types.ModuleType, fx: types.ModuleType) -> None:
        super().__init__("torch")
        self.__dict__["_tinyconv"] = tinyconv
        self.__dict__["fx"] = fx

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_tinyconv"], name)


class ZooPackage:
    """A private copy of torchvision's model code, run against `backend` ("torch" or
    "tinyconv"). `module("torchvision.models.resnet")` returns the loaded module."""

    def __init__(self, wheel: Path, backend: str) -> None:
        if backend not in ("torch", "tinyconv"):
            raise ValueError(f"ZooPackage: backend must be 'torch' or 'tinyconv', got {backend!r}")
        self.wheel = Path(wheel)
        self.backend = backend
        self._zip = zipfile.ZipFile(self.wheel)
        self._names = set(self._zip.namelist())
        self._modules: dict[str, types.ModuleType] = {}
        self._builtins = dict(builtins.__dict__, __import__=self._import)
        self._pil = _pil_shim()
        if backend == "tinyconv":
            tinyconv = importlib.import_module("tinyconv")
            fx = types.ModuleType("torch.fx")
            fx.wrap = _fx_wrap
            self._torch_top: types.ModuleType = _TinyconvAsTorch(tinyconv, fx)
            self._fx = fx
        else:
            self._torch_top = importlib.import_module("torch")

    # -- module loading --------------------------------------------------------------------

    def module(self, name: str) -> types.ModuleType:
        """Load (once) and return the private module `name`, e.g. 'torchvision.models.vgg'."""
        if name in self._modules:
            return self._modules[name]
        parent_name, _, leaf = name.rpartition(".")
        parent = self.module(parent_name) if parent_name else None
        mod = types.ModuleType(name)
        self._modules[name] = mod
        try:
            if name in _SHIMS:
                mod.__dict__.update(_SHIMS[name])
                mod.__package__ = parent_name
            else:
                self._execute(mod, name)
        except BaseException:
            del self._modules[name]
            raise
        if parent is not None:
            setattr(parent, leaf, mod)
        return mod

    def _execute(self, mod: types.ModuleType, name: str) -> None:
        base = name.replace(".", "/")
        is_package = f"{base}/__init__.py" in self._names
        if not is_package and f"{base}.py" not in self._names:
            raise ModuleNotFoundError(f"zoo_loader: {name} is not in {self.wheel.name}")
        mod.__package__ = name if is_package else name.rpartition(".")[0]
        if is_package:
            mod.__path__ = []  # marks a package; submodules come through self.module
            if name in _EMPTY_PACKAGES:
                mod.__dict__["_exports"] = self._exports(f"{base}/__init__.py")
                return
            member = f"{base}/__init__.py"
        else:
            member = f"{base}.py"
        source = self._zip.read(member).decode("utf-8")
        filename = f"{self.wheel}/{member} [{self.backend}]"
        # Tracebacks through the loaded code show its lines.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        mod.__file__ = filename
        mod.__builtins__ = self._builtins
        # `dataclasses` looks the defining module up in sys.modules while it builds a class,
        # so the module is there (under a name no real module has) while its code runs.
        private = f"_tinyconv_zoo_{id(self):x}.{name}"
        mod.__name__ = private
        sys.modules[private] = mod
        try:
            exec(compile(source, filename, "exec"), mod.__dict__)
        finally:
            del sys.modules[private]
            mod.__name__ = name

    def _exports(self, init_member: str) -> dict[str, str]:
        """Name -> submodule for the `from .sub import name` lines of a package's __init__,
        so that `from torchvision.ops import StochasticDepth` loads just ops/stochastic_depth."""
        tree = ast.parse(self._zip.read(init_member).decode("utf-8"))
        return {
            alias.asname or alias.name: node.module
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
            for alias in node.names
        }

    # -- the import hook -------------------------------------------------------------------

    def _import(
        self,
        name: str,
        globals: dict | None = None,
        locals: dict | None = None,
        fromlist: tuple | list | None = (),
        level: int = 0,
    ) -> Any:
        if level:
            package = (globals or {}).get("__package__") or ""
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - (level - 1)])
            return self._import_private(f"{base}.{name}" if name else base, fromlist, False)
        if name == "torchvision" or name.startswith("torchvision."):
            return self._import_private(name, fromlist, True)
        if name == "torch" or name.startswith("torch."):
            return self._import_torch(name, globals, locals, fromlist)
        if name == "PIL" or name.startswith("PIL."):  # torchvision.transforms imports Pillow
            return self._pil.Image if name == "PIL.Image" and fromlist else self._pil
        return builtins.__import__(name, globals, locals, fromlist, level)

    def _import_private(self, full: str, fromlist: Any, absolute: bool) -> types.ModuleType:
        mod = self.module(full)
        for item in fromlist or ():
            if item == "*" or hasattr(mod, item) or not hasattr(mod, "__path__"):
                continue
            submodule = mod.__dict__.get("_exports", {}).get(item)
            if submodule is None:
                self.module(f"{full}.{item}")
            else:
                setattr(mod, item, getattr(self.module(f"{full}.{submodule}"), item))
        if fromlist or not absolute:
            return mod
        return self.module(full.partition(".")[0])

    def _import_torch(self, name: str, globals: Any, locals: Any, fromlist: Any) -> Any:
        if self.backend == "torch":
            return builtins.__import__(name, globals, locals, fromlist, 0)
        if name == "torch.fx" or name.startswith("torch.fx."):
            return self._fx if fromlist else self._torch_top
        mapped = "tinyconv" + name[len("torch") :]
        mod = importlib.import_module(mapped)
        for item in fromlist or ():
            if item != "*" and not hasattr(mod, item) and hasattr(mod, "__path__"):
                importlib.import_module(f"{mapped}.{item}")
        return mod if fromlist else self._torch_top
