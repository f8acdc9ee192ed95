"""The import map: imports point only DOWN the layers, and no modules import each other in a
circle.

Every module's imports are read with ``ast`` - including imports inside functions and under
``TYPE_CHECKING``, since a lazy import is still a dependency - and resolved to the module they
name. A failure lists every offending arrow, so the fix is plain to see.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "minicoil"
SKIP_DIRS = {"models", "__pycache__"}  # shipped model folders hold no source

#: Layer of each top-level module or subpackage of ``minicoil``, bottom (1) up.
LAYERS: dict[str, int] = {
    # 1: pure building blocks and file formats
    "text": 1,
    "align": 1,
    "sparse": 1,
    "heads": 1,
    "backbone": 1,
    "data": 1,
    "io": 1,
    "config": 1,
    "vocab_io": 1,
    "defaults": 1,
    "memory": 1,
    "card": 1,  # not in the plan: it imports only config and io, so it sits beside them
    "stats": 1,  # not in the plan: CorpusStats (avg_len) imports nothing above layer 1
    "model_folder": 1,  # not in the plan: the model folder's files; imports layer 1 only
    # 2: the model
    "meaning": 2,
    "model": 2,
    # 3: what is built on the model
    "search": 3,
    "train": 3,
    "export": 3,
    # 4: what combines those
    "eval": 4,
    "retriever": 4,
    "serve": 4,
    # 5: the command line
    "cli": 5,
    # 6: the package facade (``minicoil/__init__.py`` re-exports lazily, e.g. Retriever)
    "": 6,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        if not SKIP_DIRS & set(path.relative_to(PACKAGE_ROOT).parts):
            yield path


MODULES = {module_name(p): p for p in source_files()}


def _resolve(name: str) -> str:
    """The deepest known module that ``name`` (a module or a module attribute) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_in(source: str, name: str, is_package: bool) -> set[str]:
    """Every ``minicoil`` module that the source of module ``name`` imports, anywhere in it."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` imports the submodule when there is one
            found.update(f"{base}.{alias.name}" for alias in node.names)
    resolved = {_resolve(n) for n in found if n == "minicoil" or n.startswith("minicoil.")}
    return {r for r in resolved if r and r != name}


def imported_modules(path: Path) -> set[str]:
    return imports_in(path.read_text("utf-8"), module_name(path), path.name == "__init__.py")


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    if top not in LAYERS:
        pytest.fail(f"{MODULES[module]}: module {top!r} has no layer; add it to LAYERS")
    return LAYERS[top]


def import_graph() -> dict[str, set[str]]:
    return {name: imported_modules(path) for name, path in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_imports_point_down() -> None:
    upward = [
        f"{src} (layer {layer_of(src)}) imports {dst} (layer {layer_of(dst)})"
        for src, targets in import_graph().items()
        for dst in sorted(targets)
        if layer_of(dst) > layer_of(src)
    ]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_find_cycles_finds_a_cycle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "modules that import each other in a circle:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_checker_sees_function_level_and_relative_imports() -> None:
    """The parser itself must catch what matters, or the checks above could never fail."""
    source = (
        "from . import jsonl\n"
        "from ..io import atomic_file\n"
        "import minicoil.text as t\n"
        "def f():\n"
        "    from minicoil.model import MiniCOIL\n"
    )
    assert imports_in(source, "minicoil.data.corpus", is_package=False) == {
        "minicoil.data.jsonl",
        "minicoil.io",
        "minicoil.text",
        "minicoil.model",
    }
    assert layer_of("minicoil.data.corpus") < layer_of("minicoil.model")
