"""The package imports only downward.

Layers, lowest first (a module may import its own layer and the ones below it):

0 kernels     tinyconv/kernels/                    pure NumPy maths: no Tensor, no graph
1 engine      tinyconv/autograd/, tensor.py and the private core modules (_dtype, _indexing,
              _tensor_math, _tensor_extra, _args, _printing, _inplace, _rng, _return_types):
              Tensor, Function,
              backprop
2 functional  tinyconv/nn/functional/, torch_functions.py (torch.cat, torch.where, ...),
              creation.py, testing.py, special.py, linalg.py, fft.py, random.py: functions of
              Tensors
3 nn/optim    tinyconv/nn/ (but functional), tinyconv/optim/
4 rest        everything else (viz, explain, serialization, utils, datasets, transforms, jit,
              exercises, the top-level tinyconv/__init__.py)

Every `import` and `from` statement at any depth (inside functions too) is checked; package
`__init__.py` files that only gather the public API of the layers below are checked like any
other module, so they too may only point down (a gatherer sits in the layer of its package).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tinyconv"

LAYERS = ["kernels", "engine", "functional", "nn/optim", "rest"]

# Longest prefix wins: module name (dotted, relative to tinyconv) -> layer.
LAYER_OF_PREFIX = {
    "kernels": "kernels",
    "autograd": "engine",
    "tensor": "engine",
    "_dtype": "engine",
    "_indexing": "engine",
    "_tensor_math": "engine",
    "_tensor_extra": "engine",
    "_args": "engine",
    "_printing": "engine",
    "_inplace": "engine",
    "_tensor_gaps": "engine",
    "_rng": "engine",
    "_errors": "engine",
    "_storage": "engine",
    "_histogram": "engine",
    "_return_types": "engine",
    "_process_group": "engine",  # (the default process group's state: torch.distributed)
    "nn.functional": "functional",
    "torch_functions": "functional",
    "torch_functions_more": "functional",
    "torch_functions_nn": "functional",
    "_foreach": "functional",  # (torch._foreach_*: tensor methods over lists)
    "special": "functional",
    "linalg": "functional",
    "fft": "functional",
    "creation": "functional",
    "random": "functional",
    "testing": "functional",
    "nn": "nn/optim",
    "optim": "nn/optim",
    "distributions": "nn/optim",
    "_compiled": "nn/optim",  # (torch.compile's OptimizedModule: an nn.Module)
    "": "rest",
}


def layer_of(module: str) -> str:
    """Layer of a dotted module name relative to tinyconv ('' is tinyconv itself)."""
    best = ""
    for prefix in LAYER_OF_PREFIX:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return LAYER_OF_PREFIX[best]


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _is_module(dotted: str) -> bool:
    base = PACKAGE.joinpath(*dotted.split(".")) if dotted else PACKAGE
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module relative to tinyconv) for every tinyconv import in the file."""
    name, is_package = _module_name(path)
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "tinyconv" or alias.name.startswith("tinyconv."):
                    found.append(
                        (
                            node.lineno,
                            alias.name[len("tinyconv.") :] if alias.name != "tinyconv" else "",
                        )
                    )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level > 1:
                    parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            elif node.module and (node.module == "tinyconv" or node.module.startswith("tinyconv.")):
                base = node.module[len("tinyconv.") :] if node.module != "tinyconv" else ""
            else:
                continue
            for alias in node.names:
                # `from pkg import sub` imports the submodule when there is one
                sub = f"{base}.{alias.name}" if base else alias.name
                found.append((node.lineno, sub if _is_module(sub) else base))
        elif isinstance(node, ast.Call):
            # importlib.import_module("tinyconv.x") / (".x", ...) counts as an import too
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                target = node.args[0].value
                if target.startswith("tinyconv"):
                    found.append((node.lineno, target[len("tinyconv.") :]))
                elif target.startswith("."):
                    found.append((node.lineno, f"{package}{target}"))
    return found


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name, _ = _module_name(path)
        here = layer_of(name)
        for line, target in imported_modules(path):
            there = layer_of(target)
            if LAYERS.index(there) > LAYERS.index(here):
                rel = path.relative_to(PACKAGE.parent)
                problems.append(
                    f"{rel}:{line}: {here} layer imports tinyconv.{target} ({there} layer)".replace(
                        "tinyconv. ", "tinyconv "
                    )
                )
    return problems


def test_every_import_points_down() -> None:
    problems = upward_imports()
    assert not problems, "imports that point up:\n" + "\n".join(problems)


def test_layer_map_covers_the_package() -> None:
    # A new top-level module must be placed on purpose: only the known 'rest' modules may
    # fall through to the catch-all.
    rest = {"viz", "explain", "serialization", "_torch_format", "utils", "datasets", "jit"}
    rest |= {"transforms"}
    rest |= {"func"}
    rest |= {"functional"}  # torch.functional's names, gathered from the top level
    rest |= {"exercises", "amp", ""}
    rest |= {"_C"}  # (torch._C: the hooks library code calls, answering as untraced PyTorch)
    # (torch.backends, torch.cuda, torch.compiler, ...: switches and device queries)
    rest |= {"backends", "cuda", "cpu", "distributed", "compiler", "_dynamo"}
    rest |= {"version", "torch_version"}  # (constants and the version str: torch.version)
    rest |= {"types"}  # (type aliases only: torch.types)
    rest |= {"profiler"}  # torch.profiler: re-exports the engine's autograd.profiler
    rest |= {"hub"}  # (torch.hub: downloads and the checkpoint reader, serialization)
    for path in PACKAGE.rglob("*.py"):
        name, _ = _module_name(path)
        if layer_of(name) == "rest":
            assert name.split(".")[0] in rest, f"{name}: put it in LAYER_OF_PREFIX"


def test_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # The check must be able to fail: an engine module importing nn is reported, with
    # its line, at any depth (inside a function) and in relative form.
    fake = tmp_path / "tinyconv"
    (fake / "autograd").mkdir(parents=True)
    (fake / "nn").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "nn" / "__init__.py").write_text("")
    (fake / "nn" / "module.py").write_text("")
    (fake / "autograd" / "__init__.py").write_text("")
    (fake / "autograd" / "trace.py").write_text(
        "def f():\n    from ..nn.module import Parameter\n    return Parameter\n"
    )
    globals()["PACKAGE"], saved = fake, PACKAGE
    try:
        problems = upward_imports()
    finally:
        globals()["PACKAGE"] = saved
    expected = (
        "tinyconv/autograd/trace.py:2: engine layer imports tinyconv.nn.module (nn/optim layer)"
    )
    assert problems == [expected]
