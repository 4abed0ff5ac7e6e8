"""Every package has a face: other packages and the benchmarks import only what a package's
``__init__`` exports (``__all__``), never from its modules, and dependencies point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
#: The layers, from the command line down to the core: a package imports only its own layer
#: or lower ones (``lvwall.cli`` and ``lvwall.commands`` at the top).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("lvwall.commands", "lvwall.benchmark"),
    ("lvwall.serve", "lvwall.experiment"),
    ("lvwall.explain", "lvwall.regional"),
    ("lvwall.measure",),
    ("lvwall.infer", "lvwall.wall", "lvwall.quality", "lvwall.train"),
    ("lvwall.model", "lvwall.data"),
)


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    """The top-level package of ``module`` (``lvwall.data`` for ``lvwall.data.camus``), or
    the module itself for a root module (``lvwall.errors``)."""
    return ".".join(module.split(".")[:2])


def _is_package(module: str) -> bool:
    return (SRC.joinpath(*module.split(".")) / "__init__.py").is_file()


def _exports(package: str) -> set[str]:
    init = SRC.joinpath(*package.split(".")) / "__init__.py"
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            getattr(target, "id", "") == "__all__" for target in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module, names, line)`` of every ``from lvwall.X import ...`` in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module, [alias.name for alias in node.names], node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lvwall.")
    ]


def _past_the_face(path: Path, importer: str | None) -> list[str]:
    """Imports in ``path`` that reach into another package (``importer`` ``None``: the
    file belongs to no package, as a benchmark)."""
    found = []
    for module, names, line in _imports(path):
        package = _package(module)
        if (importer is not None and _package(importer) == package) or not _is_package(package):
            continue
        if module != package:
            found.append(f"{path.relative_to(ROOT)}:{line} imports from {module}")
            continue
        hidden = sorted(set(names) - _exports(package))
        if hidden:
            found.append(f"{path.relative_to(ROOT)}:{line}: {package} does not export {hidden}")
    return found


SOURCES = sorted((SRC / "lvwall").rglob("*.py"))
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: _module(path))
def test_packages_import_each_other_through_their_faces(path: Path) -> None:
    assert _past_the_face(path, _module(path)) == []


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda path: path.name)
def test_benchmarks_use_the_public_faces(path: Path) -> None:
    assert _past_the_face(path, None) == []


def _layer(package: str) -> int | None:
    return next((index for index, layer in enumerate(LAYERS) if package in layer), None)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: _module(path))
def test_dependencies_point_down(path: Path) -> None:
    here = _layer(_package(_module(path)))
    if here is None:
        return
    upward = [
        f"{module} (line {line})"
        for module, _, line in _imports(path)
        if (there := _layer(_package(module))) is not None and there < here
    ]
    assert upward == []


def test_every_exported_name_exists() -> None:
    import importlib

    for init in sorted((SRC / "lvwall").rglob("__init__.py")):
        package = importlib.import_module(_module(init))
        missing = [name for name in getattr(package, "__all__", []) if not hasattr(package, name)]
        assert missing == [], f"{_module(init)} exports missing names {missing}"
