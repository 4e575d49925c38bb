"""The package's layers only call downward (docs/internals.md, GUIDE.md section 1).

core (Tensor, autograd engine, dtypes) <- ops (every differentiable op and its facades) <-
library surfaces (nn, optim, utils.data, distributed, func, onnx, vision, ...) <- applications
(the command line and its jobs). Every ``import`` in ``src/numtorch``, at module level or inside
a function, is checked; the few deliberate exceptions are listed with the reason they stay.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

CORE, OPS, LIBRARY, APPS = range(4)
LAYER_NAMES = ("core", "ops", "library", "applications")

#: numtorch's top-level names (modules and packages) by layer.
LAYERS = {
    # "": the numtorch namespace itself, imported for its core names (dtypes, factories)
    CORE: {"_tensor", "_dtype", "_size", "_device", "_tensor_str", "_fperr", "_threads",
           "_malloc", "_creation", "_autocast_state", "_type_info", "random", "autograd", "types",
           "backends", "version", "utils.hooks", ""},
    OPS: {"ops", "_foreach", "linalg", "special", "fft"},
    LIBRARY: {"nn", "optim", "utils", "distributed", "func", "onnx", "datasets", "vision",
              "multiprocessing", "serialization", "distributions", "amp", "cpu", "testing",
              "accelerator", "cuda"},
    APPS: {"apps", "cli", "__main__",
           # the old names of numtorch.apps.run, numtorch.apps.compat, numtorch.utils.viz
           "run", "compat", "viz"},
}

#: (importing module, imported module): why this upward import stays (each is deferred
#: inside the function that needs it).
EXCEPTIONS = {
    # torch.autograd.functional is a library surface that lives in autograd/ as in torch
    ("numtorch.autograd.functional", "numtorch.ops.shape"),
    # Tensor.share_memory_ hands the storage to the shared-memory allocator
    ("numtorch._tensor", "numtorch.multiprocessing._shm"),
    # a view whose base changed in place regenerates its history through the view ops
    ("numtorch._tensor", "numtorch.ops._views"),
    # a process started by mp.spawn under `numtorch run` serves `import torch` as its parent does
    ("numtorch.multiprocessing._mpi_spawn", "numtorch.apps.compat"),
}


def _layer(module):
    """The layer of ``module``: that of its longest dotted prefix named in :data:`LAYERS`
    (``utils.hooks`` is core while the rest of ``utils`` is a library surface)."""
    parts = module.split(".")[1:]
    for n in range(len(parts), -1, -1):
        name = ".".join(parts[:n])
        for layer, names in LAYERS.items():
            if name in names:
                return layer
    raise AssertionError(f"{module}: top-level name {parts[0]!r} has no layer in this test")


def _imports(path, module):
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from package import x``: x is a module of its own, or a name of the package
            for a in node.names:
                sub = SRC.joinpath(*target.split("."), a.name)
                is_module = sub.is_dir() or sub.with_suffix(".py").is_file()
                yield f"{target}.{a.name}" if is_module else target


def _modules():
    for path in sorted((SRC / "numtorch").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts == ("numtorch",):
            continue  # the namespace re-exports every layer, as torch/__init__.py does
        yield path, ".".join(parts)


def test_every_import_goes_down_the_layers():
    upward = []
    for path, module in _modules():
        own = _layer(module)
        for target in _imports(path, module):
            if not target.startswith("numtorch"):
                continue
            if _layer(target) > own and (module, target) not in EXCEPTIONS:
                upward.append(f"{module} ({LAYER_NAMES[own]}) imports {target} "
                              f"({LAYER_NAMES[_layer(target)]})")
    assert upward == []


def test_the_exceptions_still_exist():
    """An exception that no longer happens is removed from the list, so it cannot hide one."""
    found = {(module, target) for path, module in _modules() for target in _imports(path, module)}
    assert EXCEPTIONS <= found


def test_moved_modules_keep_their_old_names():
    """run/compat (the ``numtorch run`` job, now in apps/) and viz (now utils/viz.py) are still
    importable by their old names, as the same module objects, and numtorch.summary is
    utils/summary.py's function."""
    import importlib

    import numtorch
    for old, new in (("numtorch.run", "numtorch.apps.run"),
                     ("numtorch.compat", "numtorch.apps.compat"),
                     ("numtorch.viz", "numtorch.utils.viz")):
        assert importlib.import_module(old) is importlib.import_module(new)
    assert numtorch.viz.make_dot is importlib.import_module("numtorch.utils.viz").make_dot
    assert numtorch.summary is importlib.import_module("numtorch.utils.summary").summary
